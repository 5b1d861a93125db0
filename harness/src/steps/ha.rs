//! High-availability steps: leader election failover, node loss and node partitions,
//! API server replicas and store members stopped and started again, and what the
//! controllers created meanwhile.
//!
//! Entry points: the step functions; [`created_pods`] is the pure count behind "were
//! ever created". Faults are injected through the target. Partitioned scheduler leaders
//! are in [`super::leadership`], the store's majority in [`super::writer`] and
//! [`super::health`].

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use cucumber::{then, when};
use kube::api::{DynamicObject, ListParams, PostParams};

use super::controllers::{live, pod_state};
use super::{Outcome, field, name_of};
use crate::diagnostics;
use crate::kinds;
use crate::observe::Observation;
use crate::targets::Fault;
use crate::world::KubeWorld;

async fn lease(world: &KubeWorld, name: &str, namespace: &str) -> anyhow::Result<DynamicObject> {
    let api = world.api_for(&kinds::resolve("Lease")?, Some(namespace))?;
    api.get(name)
        .await
        .with_context(|| format!("reading the Lease {namespace}/{name}"))
}

fn transitions(l: &DynamicObject) -> i64 {
    field(l, "spec.leaseTransitions")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

#[then(expr = "the Lease {string} in {string} is held")]
async fn held(world: &mut KubeWorld, name: String, namespace: String) -> Outcome {
    let api = world.api_for(&kinds::resolve("Lease")?, Some(&namespace))?;
    let what = format!("the Lease {namespace}/{name} to have a holder");
    let holder = crate::wait::until(
        &api,
        &Default::default(),
        &what,
        world.timings.failover,
        |ls| {
            let l = ls.iter().find(|l| name_of(l) == name)?;
            field(l, "spec.holderIdentity").filter(|h| !h.is_empty())
        },
    )
    .await?;
    world.vars.insert(format!("{name}-holder"), holder);
    Ok(())
}

#[when(expr = "I stop the current holder of the Lease {string} in {string}")]
async fn stop_holder(world: &mut KubeWorld, name: String, namespace: String) -> Outcome {
    let l = lease(world, &name, &namespace).await?;
    let holder = field(&l, "spec.holderIdentity").unwrap_or_default();
    world.vars.insert(format!("{name}-holder"), holder.clone());
    world
        .vars
        .insert(format!("{name}-transitions"), transitions(&l).to_string());
    world
        .inject(Fault::StopComponent {
            component: name,
            instance: holder,
        })
        .await?;
    Ok(())
}

#[then(expr = "eventually another instance holds the Lease {string} in {string}")]
async fn new_holder(world: &mut KubeWorld, name: String, namespace: String) -> Outcome {
    let old = world
        .vars
        .get(&format!("{name}-holder"))
        .cloned()
        .ok_or_else(|| anyhow!("no earlier holder noted"))?;
    let before: i64 = world
        .vars
        .get(&format!("{name}-transitions"))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let api = world.api_for(&kinds::resolve("Lease")?, Some(&namespace))?;
    let what = format!(
        "a holder other than {old:?} with more than {before} transitions on {namespace}/{name}"
    );
    crate::wait::until(
        &api,
        &Default::default(),
        &what,
        world.timings.failover,
        |ls| {
            let l = ls.iter().find(|l| name_of(l) == name)?;
            let h = field(l, "spec.holderIdentity").unwrap_or_default();
            (!h.is_empty() && h != old && transitions(l) > before).then_some(())
        },
    )
    .await?;
    Ok(())
}

#[when(expr = "I lose the node {string}")]
async fn lose_node(world: &mut KubeWorld, node: String) -> Outcome {
    let node = world.expand(&node);
    world.inject(Fault::LoseNode { node }).await?;
    Ok(())
}

#[when(expr = "I lose the node running the Pod {string}")]
async fn lose_pod_node(world: &mut KubeWorld, pod: String) -> Outcome {
    let p = world.get("Pod", &pod).await?;
    let node = field(&p, "spec.nodeName")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| anyhow!("Pod {pod:?} is not on a node"))?;
    world.vars.insert("lost-node".into(), node.clone());
    world.inject(Fault::LoseNode { node }).await?;
    Ok(())
}

#[when(expr = "I stop API server replica {int}")]
async fn stop_apiserver(world: &mut KubeWorld, index: usize) -> Outcome {
    world.inject(Fault::StopApiServerReplica { index }).await?;
    Ok(())
}

#[when(expr = "I stop store member {int}")]
async fn stop_store(world: &mut KubeWorld, index: usize) -> Outcome {
    world.inject(Fault::StopStoreMember { index }).await?;
    Ok(())
}

#[when(expr = "the store is compacted")]
async fn compact(world: &mut KubeWorld) -> Outcome {
    world.inject(Fault::Compact).await?;
    Ok(())
}

#[when(expr = "I start API server replica {int}")]
async fn start_apiserver(world: &mut KubeWorld, index: usize) -> Outcome {
    world.inject(Fault::StartApiServerReplica { index }).await?;
    Ok(())
}

#[when(expr = "I start store member {int}")]
async fn start_store(world: &mut KubeWorld, index: usize) -> Outcome {
    world.inject(Fault::StartStoreMember { index }).await?;
    Ok(())
}

/// Creates a ConfigMap, retrying (clients retry against surviving replicas or a store
/// that regained its majority) until one write succeeds or `deadline` passes, then reads
/// it back.
async fn writes_and_reads_back(world: &KubeWorld, deadline: Duration) -> Outcome {
    let (_, api) = world.api("ConfigMap")?;
    let cm: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"generateName": "still-writable-"},
        "data": {"written": "after the fault"}
    }))?;
    let mut last = None;
    let attempts = async {
        loop {
            match api.create(&PostParams::default(), &cm).await {
                Ok(c) => return c,
                Err(e) => {
                    last = Some(e.to_string());
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    };
    let created = match tokio::time::timeout(deadline, attempts).await {
        Ok(c) => c,
        Err(_) => fail!(
            "no write succeeded within {deadline:?} after the fault; the last error: {}",
            last.unwrap_or_else(|| "none (no answer)".into())
        ),
    };
    // A GET whose connection the load balancer cut (it took the stopped replica out
    // while the handshake was under way) is retried, as client-go retries a GET on a
    // reset or EOF; an answer from an API server, such as a 404, is final.
    let name = name_of(&created);
    let read = async {
        loop {
            match api.get(&name).await {
                Err(e) if !matches!(e, kube::Error::Api(_)) => {
                    tracing::debug!(error = %e, "reading the write back: retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                answer => return answer,
            }
        }
    };
    let back = match tokio::time::timeout(deadline, read).await {
        Ok(answer) => answer.context("reading the write back")?,
        Err(_) => fail!("the write could not be read back within {deadline:?}"),
    };
    if field(&back, "data.written").as_deref() != Some("after the fault") {
        fail!("the write read back as {back:?}");
    }
    Ok(())
}

#[then(expr = "the API server still accepts writes and serves them back")]
async fn still_writes(world: &mut KubeWorld) -> Outcome {
    writes_and_reads_back(world, world.timings.failover).await
}

#[then(expr = "within {int} seconds the API server accepts writes and serves them back")]
async fn writes_again(world: &mut KubeWorld, secs: u64) -> Outcome {
    writes_and_reads_back(world, Duration::from_secs(secs)).await
}

#[when(expr = "I partition the node running one of the Pods labelled {string}")]
async fn partition_pod_node(world: &mut KubeWorld, selector: String) -> Outcome {
    let (_, api) = world.api("Pod")?;
    let selector = world.expand(&selector);
    let pods = api
        .list(&ListParams::default().labels(&selector))
        .await
        .with_context(|| format!("listing the Pods labelled {selector:?}"))?
        .items;
    let mut live = live(&pods);
    // The first by name, so a rerun picks the same way.
    live.sort_by_key(|p| name_of(p));
    let node = live
        .iter()
        .find_map(|p| field(p, "spec.nodeName").filter(|n| !n.is_empty()))
        .ok_or_else(|| anyhow!("no Pod labelled {selector:?} is on a node"))?;
    world.vars.insert("partitioned-node".into(), node.clone());
    world.inject(Fault::PartitionNode { node }).await?;
    Ok(())
}

#[when(expr = "I heal the node {string}")]
async fn heal_node(world: &mut KubeWorld, node: String) -> Outcome {
    let node = world.expand(&node);
    world.inject(Fault::HealNode { node }).await?;
    Ok(())
}

#[then(expr = "eventually {int} Pods labelled {string} are Running on nodes other than {string}")]
async fn running_elsewhere(
    world: &mut KubeWorld,
    n: usize,
    selector: String,
    node: String,
) -> Outcome {
    let node = world.expand(&node);
    let what = format!("{n} live Pods labelled {selector:?} Running, none of them on {node:?}");
    world
        .wait_for("Pod", &selector, &what, world.timings.chain, |pods| {
            let live = live(pods);
            (live.len() == n
                && live.iter().all(|p| {
                    pod_state(p, "Running") && field(p, "spec.nodeName").as_deref() != Some(&node)
                }))
            .then_some(())
        })
        .await?;
    Ok(())
}

#[then(expr = "eventually no Pod labelled {string} is on the node {string}")]
async fn none_on_node(world: &mut KubeWorld, selector: String, node: String) -> Outcome {
    let node = world.expand(&node);
    let what = format!("no Pod labelled {selector:?}, terminating or not, bound to {node:?}");
    world
        .wait_for("Pod", &selector, &what, world.timings.failover, |pods| {
            (!pods
                .iter()
                .any(|p| field(p, "spec.nodeName").as_deref() == Some(&node)))
            .then_some(())
        })
        .await?;
    Ok(())
}

#[then(expr = "eventually exactly {int} Pods labelled {string} exist, all Running")]
async fn exactly_running(world: &mut KubeWorld, n: usize, selector: String) -> Outcome {
    let what = format!("exactly {n} Pods labelled {selector:?}, none terminating, all Running");
    world
        .wait_for("Pod", &selector, &what, world.timings.chain, |pods| {
            (pods.len() == n
                && pods
                    .iter()
                    .all(|p| p.metadata.deletion_timestamp.is_none() && pod_state(p, "Running")))
            .then_some(())
        })
        .await?;
    Ok(())
}

/// The Pods labelled `key=value` the log saw appear, by uid (by name when the server
/// gave none): every Pod ever created, whether it still exists or not.
pub fn created_pods(log: &[Observation], key: &str, value: &str) -> BTreeSet<String> {
    let pointer = format!(
        "/metadata/labels/{}",
        key.replace('~', "~0").replace('/', "~1")
    );
    log.iter()
        .filter(|o| o.kind == "Pod")
        .filter(|o| o.object.pointer(&pointer).and_then(|v| v.as_str()) == Some(value))
        .map(|o| {
            let uid = o.field("/metadata/uid");
            if uid.is_empty() { o.name.clone() } else { uid }
        })
        .collect()
}

#[then(expr = "exactly {int} Pods labelled {string} were ever created")]
async fn ever_created(world: &mut KubeWorld, n: usize, selector: String) -> Outcome {
    let selector = world.expand(&selector);
    let (key, value) = selector
        .split_once('=')
        .ok_or_else(|| anyhow!("a selector here is key=value, got {selector:?}"))?;
    // The recorder may lag the steps: wait until it saw at least n, then count them all.
    let seen = world
        .log
        .wait_until(world.timings.expect, |log| {
            let created = created_pods(log, key, value);
            (created.len() >= n).then_some(created)
        })
        .await;
    let created = match seen {
        Ok(c) => c,
        Err(log) => fail!(
            "only {} Pods labelled {selector:?} were ever observed, expected {n}",
            created_pods(&log, key, value).len()
        ),
    };
    if created.len() > n {
        let names: BTreeSet<String> = world
            .log
            .snapshot()
            .iter()
            .filter(|o| o.kind == "Pod" && created.contains(&o.field("/metadata/uid")))
            .map(|o| o.name.clone())
            .collect();
        fail!(
            "{} Pods labelled {selector:?} were created, expected {n}: something was created twice; the Pods: {names:?}\n{}",
            created.len(),
            diagnostics::explain(world, "Pod", "").await
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(entries: &[(&str, &str, &str, &str)]) -> Vec<Observation> {
        let log = crate::observe::ObservationLog::default();
        for (i, (event, name, uid, app)) in entries.iter().enumerate() {
            log.record(
                "Pod",
                event,
                serde_json::json!({"metadata": {"name": name, "uid": uid, "resourceVersion": (i + 1).to_string(), "labels": {"app": app}}}),
            );
        }
        log.causal()
    }

    #[test]
    fn every_pod_ever_seen_counts_once_even_after_it_is_deleted() {
        let l = log(&[
            ("ADDED", "a", "u1", "steady"),
            ("MODIFIED", "a", "u1", "steady"),
            ("ADDED", "b", "u2", "steady"),
            ("DELETED", "b", "u2", "steady"),
            ("ADDED", "c", "u3", "other"),
        ]);
        let created = created_pods(&l, "app", "steady");
        assert_eq!(created.into_iter().collect::<Vec<_>>(), vec!["u1", "u2"]);
        assert!(created_pods(&l, "app", "none").is_empty());
    }

    #[test]
    fn a_pod_recreated_under_the_same_name_counts_twice() {
        let l = log(&[
            ("ADDED", "web-0", "u1", "steady"),
            ("DELETED", "web-0", "u1", "steady"),
            ("ADDED", "web-0", "u2", "steady"),
        ]);
        assert_eq!(created_pods(&l, "app", "steady").len(), 2);
    }
}
