//! Kubelet steps: node leases, pod phases over time, container restarts and back-off,
//! static and mirror pods, a pod's shared sandbox and its death.
//!
//! Entry points: the step functions.

use anyhow::anyhow;
use cucumber::gherkin::Step;
use cucumber::{then, when};
use kube::api::DynamicObject;
use regex::Regex;

use super::{Outcome, docstring, field, list, name_of, nodes::ready_nodes};
use crate::targets::Fault;
use crate::world::KubeWorld;

#[then(expr = "every ready node renews its Lease in {string}")]
async fn leases_renewed(world: &mut KubeWorld, namespace: String) -> Outcome {
    let (_, nodes_api) = world.api("Node")?;
    let nodes = ready_nodes(&nodes_api.list(&Default::default()).await?.items);
    if nodes.is_empty() {
        fail!("no ready node to check");
    }
    let k = crate::kinds::resolve("Lease")?;
    let api = world.api_for(&k, Some(&namespace))?;
    for node in nodes {
        let first = api
            .get(&node)
            .await
            .map_err(|e| anyhow!("node {node:?} has no Lease in {namespace}: {e}"))?;
        let before = field(&first, "spec.renewTime");
        let what = format!("the Lease of node {node:?} to be renewed");
        let params = kube::api::ListParams::default();
        crate::wait::until(&api, &params, &what, world.timings.failover, |ls| {
            let now = field(ls.iter().find(|l| name_of(l) == node)?, "spec.renewTime");
            (now.is_some() && now != before).then_some(())
        })
        .await?;
    }
    Ok(())
}

#[then(expr = "the Pod {string} went through the phases {string}")]
async fn phases(world: &mut KubeWorld, pod: String, want: String) -> Outcome {
    let pod = world.expand(&pod);
    let want = list(&want);
    let phases_of = |log: &[crate::observe::Observation]| {
        let mut seen: Vec<String> = Vec::new();
        for o in log.iter().filter(|o| o.kind == "Pod" && o.name == pod) {
            let phase = o.field("/status/phase");
            if !phase.is_empty() && seen.last() != Some(&phase) {
                seen.push(phase);
            }
        }
        seen
    };
    // A fast kubelet may post Running and the next phase before a watch sees Pending:
    // the observed phases must be the wanted ones, in order, possibly skipping the first.
    let ok = |seen: &[String]| seen == want || (seen.len() + 1 == want.len() && want[1..] == *seen);
    if let Err(log) = world
        .log
        .wait_until(world.timings.expect, |log| {
            ok(&phases_of(log)).then_some(())
        })
        .await
    {
        fail!(
            "Pod {pod:?} went through {:?}, expected {want:?}",
            phases_of(&log)
        );
    }
    Ok(())
}

fn container_status<'a>(pod: &'a DynamicObject, container: &str) -> Option<&'a serde_json::Value> {
    pod.data
        .pointer("/status/containerStatuses")?
        .as_array()?
        .iter()
        .find(|c| c.get("name").and_then(|n| n.as_str()) == Some(container))
}

#[then(
    expr = "eventually the container {string} of the Pod {string} has restarted at least {int} time(s)"
)]
async fn restarted(world: &mut KubeWorld, container: String, pod: String, n: i64) -> Outcome {
    let pod = world.expand(&pod);
    let what = format!("container {container:?} of Pod {pod:?} to restart {n} times");
    world
        .wait_for("Pod", "", &what, world.timings.chain, |pods| {
            let p = pods.iter().find(|p| name_of(p) == pod)?;
            (container_status(p, &container)?
                .get("restartCount")?
                .as_i64()?
                >= n)
                .then_some(())
        })
        .await?;
    Ok(())
}

#[then(
    expr = "eventually the container {string} of the Pod {string} is waiting with reason {string} and a message matching {string}"
)]
async fn waiting(
    world: &mut KubeWorld,
    container: String,
    pod: String,
    reason: String,
    pattern: String,
) -> Outcome {
    let pod = world.expand(&pod);
    let re =
        Regex::new(&world.expand(&pattern)).map_err(|e| anyhow!("bad message pattern: {e}"))?;
    let what = format!("container {container:?} of Pod {pod:?} to wait with reason {reason:?}");
    let message = world
        .wait_for("Pod", "", &what, world.timings.chain, |pods| {
            let p = pods.iter().find(|p| name_of(p) == pod)?;
            let w = container_status(p, &container)?.pointer("/state/waiting")?;
            (w.get("reason")?.as_str()? == reason).then(|| {
                w.get("message")
                    .and_then(|m| m.as_str())
                    .unwrap_or("")
                    .to_string()
            })
        })
        .await?;
    if !re.is_match(&message) {
        fail!(
            "container {container:?} waits with message {message:?}, which does not match {pattern:?}"
        );
    }
    Ok(())
}

#[then(expr = "the container {string} of the Pod {string} recorded its last termination")]
async fn last_termination(world: &mut KubeWorld, container: String, pod: String) -> Outcome {
    let p = world.get("Pod", &pod).await?;
    let last = container_status(&p, &container)
        .and_then(|c| c.pointer("/lastState/terminated"))
        .ok_or_else(|| anyhow!("container {container:?} has no lastState.terminated"))?;
    for f in ["exitCode", "reason", "startedAt", "finishedAt"] {
        if last.get(f).is_none() {
            fail!("lastState.terminated of {container:?} lacks {f}: {last}");
        }
    }
    Ok(())
}

#[then(expr = "the Pod {string} kept the same IP across container restarts")]
async fn same_ip(world: &mut KubeWorld, pod: String) -> Outcome {
    let pod = world.expand(&pod);
    let mut ips: Vec<String> = world
        .log
        .causal()
        .iter()
        .filter(|o| o.kind == "Pod" && o.name == pod)
        .map(|o| o.field("/status/podIP"))
        .filter(|ip| !ip.is_empty())
        .collect();
    ips.dedup();
    if ips.len() != 1 {
        fail!(
            "Pod {pod:?} had the IPs {ips:?}; a container restart must keep the sandbox and its IP"
        );
    }
    Ok(())
}

#[when(expr = "I kill the pause process of the Pod {string}")]
async fn kill_sandbox(world: &mut KubeWorld, pod: String) -> Outcome {
    let p = world.get("Pod", &pod).await?;
    let uid = p
        .metadata
        .uid
        .clone()
        .ok_or_else(|| anyhow!("Pod {pod:?} has no uid"))?;
    let namespace = p.metadata.namespace.clone().unwrap_or_default();
    let pod = name_of(&p);
    world
        .inject(Fault::KillPodSandbox {
            namespace,
            pod,
            uid,
        })
        .await?;
    Ok(())
}

#[when(expr = "I place the static pod manifest {string} on the node {string}:")]
async fn place_static(world: &mut KubeWorld, file: String, node: String, step: &Step) -> Outcome {
    let manifest = world.expand(docstring(step)?);
    let node = world.expand(&node);
    world
        .inject(Fault::PlaceStaticPod {
            node,
            file,
            manifest,
        })
        .await?;
    Ok(())
}

#[when(expr = "I remove the static pod manifest {string} from the node {string}")]
async fn remove_static(world: &mut KubeWorld, file: String, node: String) -> Outcome {
    let node = world.expand(&node);
    world.inject(Fault::RemoveStaticPod { node, file }).await?;
    Ok(())
}

#[then(expr = "eventually the mirror Pod {string} exists, controlled by the Node {string}")]
async fn mirror(world: &mut KubeWorld, pod: String, node: String) -> Outcome {
    let (pod, node) = (world.expand(&pod), world.expand(&node));
    let what = format!("mirror Pod {pod:?} of node {node:?}");
    world
        .wait_for("Pod", "", &what, world.timings.chain, |pods| {
            let p = pods.iter().find(|p| name_of(p) == pod)?;
            let mirror = p
                .metadata
                .annotations
                .as_ref()?
                .contains_key("kubernetes.io/config.mirror");
            let owner = p
                .metadata
                .owner_references
                .as_ref()?
                .iter()
                .any(|r| r.kind == "Node" && r.name == node && r.controller == Some(true));
            (mirror && owner && field(p, "spec.nodeName").as_deref() == Some(node.as_str()))
                .then_some(())
        })
        .await?;
    Ok(())
}
