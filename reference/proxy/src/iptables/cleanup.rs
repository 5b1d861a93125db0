//! Removing everything iptables mode wrote, as upstream's `CleanupLeftovers`
//! (`kube-proxy --cleanup`, and what a proxy started in another mode does first): the
//! jumps from the built-in chains, then a flush and delete of kube-proxy's chains in the
//! nat and filter tables. Entry points: [`cleanup`], [`cleanup_input`] (pure).
//!
//! Where the reference differs: upstream leaves `KUBE-MARK-MASQ`, `KUBE-FIREWALL` and
//! `KUBE-PROXY-FIREWALL` to the kubelet that shares them; the reference kubelet writes
//! no iptables chains of its own, so these go too.

use crate::config::ProxyConfig;
use crate::iptables::apply::{ApplyError, JUMPS, chains_in_save, failure, run_tool};
use crate::iptables::hash::is_service_chain;
use crate::iptables::render::{
    KUBE_EXTERNAL_SERVICES, KUBE_FIREWALL, KUBE_FORWARD, KUBE_MARK_MASQ, KUBE_NODEPORTS,
    KUBE_POSTROUTING, KUBE_PROXY_FIREWALL, KUBE_SERVICES,
};

/// The fixed chains of each table that cleanup removes.
fn owned(table: &str) -> &'static [&'static str] {
    match table {
        "nat" => &[
            KUBE_SERVICES,
            KUBE_NODEPORTS,
            KUBE_POSTROUTING,
            KUBE_MARK_MASQ,
        ],
        _ => &[
            KUBE_SERVICES,
            KUBE_EXTERNAL_SERVICES,
            KUBE_FORWARD,
            KUBE_NODEPORTS,
            KUBE_PROXY_FIREWALL,
            KUBE_FIREWALL,
        ],
    }
}

/// The `iptables-restore --noflush` input that flushes and deletes kube-proxy's chains
/// among `existing` (the table's chains now), or None when there are none.
pub fn cleanup_input(table: &str, existing: &[String]) -> Option<String> {
    let doomed: Vec<&str> = existing
        .iter()
        .map(String::as_str)
        .filter(|c| owned(table).contains(c) || (table == "nat" && is_service_chain(c)))
        .collect();
    if doomed.is_empty() {
        return None;
    }
    let mut out = format!("*{table}\n");
    // Declaring a chain flushes it, so no rule references another when `-X` runs.
    for c in &doomed {
        out.push_str(&format!(":{c} - [0:0]\n"));
    }
    for c in &doomed {
        out.push_str(&format!("-X {c}\n"));
    }
    out.push_str("COMMIT\n");
    Some(out)
}

/// Removes iptables mode's jumps and chains with `config`'s binaries. Every step is
/// tried; the first failure is returned.
pub async fn cleanup(config: &ProxyConfig) -> Result<(), ApplyError> {
    let mut first_error = None;
    let bin = config.iptables_path.as_str();
    for j in JUMPS {
        let mut delete = vec!["-w", "-t", j.table, "-D", j.src];
        delete.extend(j.rule());
        // Several proxies sharing one machine may each have inserted a jump before
        // seeing the other's: delete until none is left (bounded, in case -D lies).
        for _ in 0..16 {
            match run_tool(bin, &delete, None).await {
                Ok(out) if out.success => continue,
                Ok(_) => break,
                Err(e) => {
                    first_error.get_or_insert(e);
                    break;
                }
            }
        }
    }
    for table in ["nat", "filter"] {
        let save = config.iptables_save_path.as_str();
        let existing = match run_tool(save, &["-t", table], None).await {
            Ok(out) if out.success => chains_in_save(&out.stdout),
            Ok(out) => {
                first_error.get_or_insert(failure(save, out));
                continue;
            }
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        let Some(input) = cleanup_input(table, &existing) else {
            continue;
        };
        let restore = config.iptables_restore_path.as_str();
        match run_tool(restore, &["-w", "--noflush"], Some(&input)).await {
            Ok(out) if out.success => {}
            Ok(out) => {
                first_error.get_or_insert(failure(restore, out));
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn nat_cleanup_removes_kube_proxys_chains_and_service_chains_only() {
        let existing = names(&[
            "PREROUTING",
            "DOCKER",
            "KUBE-SERVICES",
            "KUBE-POSTROUTING",
            "KUBE-SVC-AAAAAAAAAAAAAAAA",
            "KUBE-SEP-BBBBBBBBBBBBBBBB",
            "KUBE-KUBELET-CANARY",
        ]);
        assert_eq!(
            cleanup_input("nat", &existing).unwrap(),
            "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-POSTROUTING - [0:0]\n\
             :KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]\n:KUBE-SEP-BBBBBBBBBBBBBBBB - [0:0]\n\
             -X KUBE-SERVICES\n-X KUBE-POSTROUTING\n-X KUBE-SVC-AAAAAAAAAAAAAAAA\n\
             -X KUBE-SEP-BBBBBBBBBBBBBBBB\nCOMMIT\n"
        );
    }

    #[test]
    fn filter_cleanup_includes_kube_forward_and_nothing_else_is_touched() {
        let existing = names(&["FORWARD", "CNI-FORWARD", "KUBE-FORWARD", "KUBE-SVC-X"]);
        assert_eq!(
            cleanup_input("filter", &existing).unwrap(),
            "*filter\n:KUBE-FORWARD - [0:0]\n-X KUBE-FORWARD\nCOMMIT\n"
        );
        assert_eq!(cleanup_input("filter", &names(&["INPUT"])), None);
    }
}
