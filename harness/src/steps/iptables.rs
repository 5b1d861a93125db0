//! Steps about kube-proxy's iptables mode as rules: the ruleset the reference's
//! kube-proxy renders for the live cluster state (what `refkube proxy --mode iptables
//! --dry-run` prints), read back chain by chain. Reference-only: another implementation
//! has no such renderer to ask.

use std::collections::{BTreeMap, BTreeSet};

use cucumber::then;

use super::controllers::pod_state;
use super::{Outcome, field};
use crate::world::KubeWorld;

/// The iptables-restore input the reference's kube-proxy renders for the cluster now.
async fn rendered(world: &KubeWorld) -> anyhow::Result<String> {
    let config = refkube_proxy::ProxyConfig::new("node-1")
        .mode(refkube_proxy::ProxyMode::Iptables)
        .dry_run(true);
    Ok(refkube_proxy::dry_run_render(&config, world.client()?).await?)
}

/// `-A CHAIN rest...` lines grouped by chain, in order.
fn rules(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("-A ")
            && let Some((chain, rule)) = rest.split_once(' ')
        {
            out.entry(chain.to_string())
                .or_default()
                .push(rule.to_string());
        }
    }
    out
}

/// The chain a rule jumps to (`-j NAME`).
fn jump(rule: &str) -> Option<&str> {
    rule.rsplit_once("-j ")
        .map(|(_, t)| t.split_whitespace().next().unwrap_or(t))
}

#[then(
    expr = "the iptables rules kube-proxy renders send the Service {string} port {int} to the Ready Pods labelled {string} on port {int}"
)]
async fn service_rules(
    world: &mut KubeWorld,
    service: String,
    port: u16,
    selector: String,
    target_port: u16,
) -> Outcome {
    let service = world.expand(&service);
    let spn = format!("{}/{}", world.namespace, service);
    let svc = world.get("Service", &service).await?;
    let ip = field(&svc, "spec.clusterIP").unwrap_or_default();
    let (_, pods_api) = world.api("Pod")?;
    let pods = pods_api
        .list(&kube::api::ListParams::default().labels(&world.expand(&selector)))
        .await?;
    let want: BTreeSet<String> = pods
        .items
        .iter()
        .filter(|p| pod_state(p, "Ready") && p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| field(p, "status.podIP"))
        .map(|pod_ip| format!("{pod_ip}:{target_port}"))
        .collect();
    let text = rendered(world).await?;
    let chains = rules(&text);
    let entry = format!("--comment \"{spn} cluster IP\"");
    let Some(svc_chain) = chains.get("KUBE-SERVICES").and_then(|r| {
        r.iter()
            .find(|r| r.contains(&entry) && r.contains(&format!("-d {ip} --dport {port}")))
            .and_then(|r| jump(r))
    }) else {
        fail!("no KUBE-SERVICES rule sends {ip}:{port} ({spn}) anywhere:\n{text}");
    };
    // The Service chain: a masquerade rule, then one jump per endpoint, the i-th of n
    // with probability 1/(n-i) and the last unconditional.
    let to_seps: Vec<&String> = chains
        .get(svc_chain)
        .into_iter()
        .flatten()
        .filter(|r| jump(r).is_some_and(|j| j.starts_with("KUBE-SEP-")))
        .collect();
    let n = to_seps.len();
    for (i, rule) in to_seps.iter().enumerate() {
        let expected = (i + 1 < n).then(|| format!("--probability {:.10}", 1.0 / (n - i) as f64));
        let ok = match &expected {
            Some(p) => rule.contains(p.as_str()),
            None => !rule.contains("--probability"),
        };
        if !ok {
            fail!("rule {i} of {n} in {svc_chain} should carry {expected:?}: {rule}");
        }
    }
    let got: BTreeSet<String> = to_seps
        .iter()
        .filter_map(|r| jump(r))
        .filter_map(|sep| chains.get(sep))
        .flatten()
        .filter_map(|r| {
            r.split_once("--to-destination ")
                .map(|(_, d)| d.trim().to_string())
        })
        .collect();
    if got != want {
        fail!("{svc_chain} DNATs to {got:?}, the Ready Pods are {want:?}:\n{text}");
    }
    Ok(())
}

#[then(expr = "the iptables rules kube-proxy renders reject traffic to the Service {string}")]
async fn reject_rule(world: &mut KubeWorld, service: String) -> Outcome {
    let spn = format!("{}/{}", world.namespace, world.expand(&service));
    let text = rendered(world).await?;
    let comment = format!("--comment \"{spn} has no endpoints\"");
    let found = rules(&text).get("KUBE-SERVICES").is_some_and(|r| {
        r.iter()
            .any(|r| r.contains(&comment) && jump(r) == Some("REJECT"))
    });
    if !found {
        fail!("no REJECT rule for {spn} without endpoints:\n{text}");
    }
    Ok(())
}
