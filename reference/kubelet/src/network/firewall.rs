//! What the CNI `firewall` plugin (iptables backend) installs for each pod, so that pods
//! are forwarded even where the `FORWARD` chain's policy is `DROP` (as on any machine
//! with Docker). Entry points: [`allow`] when a pod is wired, [`Allowed`] (removes the
//! pod's rules when dropped), [`remove_chains`] when the pod network stops.
//!
//! The shape is the plugin's: a `CNI-FORWARD` chain that the first rule of `FORWARD`
//! jumps to, whose first rule jumps to an empty `CNI-ADMIN` chain (where an
//! administrator's overrides go), then per pod IP two rules: replies to the pod
//! (`-d <ip>/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`) and everything the
//! pod sends (`-s <ip>/32 -j ACCEPT`). New connections *to* a pod are accepted through
//! the sender's rule: every pod is the sender's or the Service's DNAT target, and all
//! nodes share this machine's `FORWARD` chain. kube-proxy's `KUBE-FORWARD` chain only
//! accepts traffic it marked for masquerading, so it does not cover pod traffic.
//!
//! Where the reference differs: the plugin never deletes its chains; [`remove_chains`]
//! does, so that a stopped `refkube up` leaves the machine's tables as it found them.

use std::net::IpAddr;

use super::{NetworkError, output};

/// The chain holding the per-pod rules.
pub const CHAIN: &str = "CNI-FORWARD";
/// The chain an administrator fills with overrides; `CHAIN` jumps to it first.
pub const ADMIN_CHAIN: &str = "CNI-ADMIN";

/// `iptables` or `ip6tables`, for `ip`'s family.
pub fn binary(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "iptables"
    } else {
        "ip6tables"
    }
}

/// The rule of `FORWARD` that jumps to [`CHAIN`] (inserted first).
pub fn jump_rule() -> Vec<String> {
    strings(&[
        "-m",
        "comment",
        "--comment",
        "CNI firewall plugin rules",
        "-j",
        CHAIN,
    ])
}

/// The rule of [`CHAIN`] that jumps to [`ADMIN_CHAIN`] (inserted first).
pub fn admin_rule() -> Vec<String> {
    strings(&[
        "-m",
        "comment",
        "--comment",
        "CNI firewall plugin admin overrides",
        "-j",
        ADMIN_CHAIN,
    ])
}

/// The two rules of [`CHAIN`] for one pod IP, in the plugin's order.
pub fn pod_rules(ip: IpAddr) -> [Vec<String>; 2] {
    let host = format!("{ip}/{}", if ip.is_ipv4() { 32 } else { 128 });
    [
        strings(&[
            "-d",
            &host,
            "-m",
            "conntrack",
            "--ctstate",
            "RELATED,ESTABLISHED",
            "-j",
            "ACCEPT",
        ]),
        strings(&["-s", &host, "-j", "ACCEPT"]),
    ]
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Runs `<binary> -w -t filter <verb> <chain> <rule...>`.
async fn iptables(
    bin: &str,
    verb: &str,
    chain: &str,
    extra: &[String],
) -> Result<String, NetworkError> {
    let mut args = vec!["-w", "-t", "filter", verb, chain];
    args.extend(extra.iter().map(String::as_str));
    output(format!("{bin} {}", args.join(" ")), bin, &args, None).await
}

/// Creates `chain` unless it exists.
async fn ensure_chain(bin: &str, chain: &str) -> Result<(), NetworkError> {
    match iptables(bin, "-N", chain, &[]).await {
        Err(NetworkError::Command { message, .. }) if message.contains("exists") => Ok(()),
        other => other.map(drop),
    }
}

/// Inserts `rule` first in `chain` unless it is already there.
async fn ensure_first(bin: &str, chain: &str, rule: &[String]) -> Result<(), NetworkError> {
    if iptables(bin, "-C", chain, rule).await.is_ok() {
        return Ok(());
    }
    let mut first = vec!["1".to_string()];
    first.extend(rule.iter().cloned());
    iptables(bin, "-I", chain, &first).await.map(drop)
}

/// Accepts the forwarding of `ip`'s traffic: the chains and jumps if missing, then the
/// pod's rules (once each). Dropping the returned [`Allowed`] removes the pod's rules.
pub async fn allow(ip: IpAddr) -> Result<Allowed, NetworkError> {
    // Check-then-insert is not atomic: the kubelets of one process (`refkube up`'s
    // nodes share the machine) take turns, or each would insert its own jumps.
    static SETUP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = SETUP.lock().await;
    let bin = binary(ip);
    ensure_chain(bin, CHAIN).await?;
    ensure_chain(bin, ADMIN_CHAIN).await?;
    ensure_first(bin, "FORWARD", &jump_rule()).await?;
    ensure_first(bin, CHAIN, &admin_rule()).await?;
    let allowed = Allowed { ip };
    for rule in pod_rules(ip) {
        if iptables(bin, "-C", CHAIN, &rule).await.is_err() {
            // On failure `allowed` is dropped, which removes what was added.
            iptables(bin, "-A", CHAIN, &rule).await?;
        }
    }
    Ok(allowed)
}

/// A pod IP whose rules are in [`CHAIN`]; dropping it deletes them (the plugin's DEL).
#[derive(Debug)]
pub struct Allowed {
    ip: IpAddr,
}

impl Drop for Allowed {
    fn drop(&mut self) {
        // Synchronous: a drop cannot await, and the rules must be gone before the IP is
        // handed to another pod. A missing rule or chain is the normal case after
        // `remove_chains`, so failures are ignored.
        let bin = binary(self.ip);
        for rule in pod_rules(self.ip) {
            let mut args = vec!["-w", "-t", "filter", "-D", CHAIN];
            args.extend(rule.iter().map(String::as_str));
            let _ = std::process::Command::new(bin)
                .args(&args)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

/// Removes the jump from `FORWARD` and both chains, for `family_of`'s IP family, once
/// they hold nothing but the plugin's own jump: rules for other pods (another pod
/// network on this machine using the same plugin) or an administrator's overrides keep
/// them. Missing pieces are not errors.
pub async fn remove_chains(family_of: IpAddr) {
    let bin = binary(family_of);
    let (Ok(ours), Ok(admin)) = (
        iptables(bin, "-S", CHAIN, &[]).await,
        iptables(bin, "-S", ADMIN_CHAIN, &[]).await,
    ) else {
        return;
    };
    if !only_the_admin_jump(&ours) || admin.lines().any(|l| l.starts_with("-A ")) {
        tracing::info!("the pod network's firewall chains hold other rules; left in place");
        return;
    }
    while iptables(bin, "-D", "FORWARD", &jump_rule()).await.is_ok() {}
    for chain in [CHAIN, ADMIN_CHAIN] {
        let _ = iptables(bin, "-F", chain, &[]).await;
    }
    for chain in [CHAIN, ADMIN_CHAIN] {
        if let Err(e) = iptables(bin, "-X", chain, &[]).await {
            tracing::warn!(error = %e, chain, "removing the pod network's firewall chain");
        }
    }
}

/// Whether `iptables -S CNI-FORWARD` lists no rule but the jump to [`ADMIN_CHAIN`].
fn only_the_admin_jump(listing: &str) -> bool {
    listing
        .lines()
        .filter(|l| l.starts_with("-A "))
        .all(|l| l.ends_with(&format!("-j {ADMIN_CHAIN}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pods_rules_are_the_firewall_plugins() {
        let [replies, sent] = pod_rules("10.244.1.7".parse().unwrap());
        assert_eq!(
            replies.join(" "),
            "-d 10.244.1.7/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
        );
        assert_eq!(sent.join(" "), "-s 10.244.1.7/32 -j ACCEPT");
        let [_, sent6] = pod_rules("fd00::7".parse().unwrap());
        assert_eq!(sent6.join(" "), "-s fd00::7/128 -j ACCEPT");
    }

    #[test]
    fn the_jumps_carry_the_plugins_comments() {
        assert_eq!(
            jump_rule().join(" "),
            "-m comment --comment CNI firewall plugin rules -j CNI-FORWARD"
        );
        assert_eq!(
            admin_rule().join(" "),
            "-m comment --comment CNI firewall plugin admin overrides -j CNI-ADMIN"
        );
        assert_eq!(binary("fd00::1".parse().unwrap()), "ip6tables");
    }

    #[test]
    fn the_chains_are_removable_only_without_other_pods_rules() {
        let empty = "-N CNI-FORWARD\n-A CNI-FORWARD -m comment --comment \"CNI firewall plugin admin overrides\" -j CNI-ADMIN\n";
        assert!(only_the_admin_jump(empty));
        let busy = format!("{empty}-A CNI-FORWARD -s 10.88.0.2/32 -j ACCEPT\n");
        assert!(!only_the_admin_jump(&busy));
    }
}
