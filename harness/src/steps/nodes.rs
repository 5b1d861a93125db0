//! Node steps: fake nodes the harness registers (and heart-beats, like kubemark's hollow
//! nodes) so the scheduler can be tested without kubelets, and waiting for real nodes.
//!
//! Entry points: the step functions; [`ready_nodes`] for other modules.

use std::time::Duration;

use anyhow::{Context as _, anyhow};
use chrono::Utc;
use cucumber::gherkin::Step;
use cucumber::{given, when};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::json;

use super::{Outcome, condition, name_of, table_rows};
use crate::kinds;
use crate::world::KubeWorld;

/// The names of the nodes whose Ready condition is True, sorted.
pub fn ready_nodes(nodes: &[DynamicObject]) -> Vec<String> {
    let mut names: Vec<String> = nodes
        .iter()
        .filter(|n| {
            condition(n, "Ready")
                .and_then(|c| c.get("status"))
                .and_then(|s| s.as_str())
                == Some("True")
        })
        .map(name_of)
        .collect();
    names.sort();
    names
}

/// Builds a Node from a table row: name, cpu, memory, pods, labels (k=v;k=v), taints
/// (k=v:Effect;...), unschedulable (yes/no).
fn node_from_row(headers: &[String], row: &[String]) -> anyhow::Result<Node> {
    let get = |h: &str| {
        headers
            .iter()
            .position(|x| x == h)
            .and_then(|i| row.get(i))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let name = get("name");
    if name.is_empty() {
        return Err(anyhow!("every node row needs a name"));
    }
    let or = |v: String, d: &str| if v.is_empty() { d.to_string() } else { v };
    let labels: serde_json::Map<String, serde_json::Value> = get("labels")
        .split(';')
        .filter(|s| !s.trim().is_empty())
        .filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), json!(v.trim())))
        })
        .chain([("kubernetes.io/hostname".to_string(), json!(name.clone()))])
        .collect();
    let taints: Vec<serde_json::Value> = get("taints")
        .split(';')
        .filter(|s| !s.trim().is_empty())
        .map(|t| {
            let (kv, effect) = t.split_once(':').unwrap_or((t, "NoSchedule"));
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            json!({"key": k.trim(), "value": v.trim(), "effect": effect.trim()})
        })
        .collect();
    let resources = json!({"cpu": or(get("cpu"), "4"), "memory": or(get("memory"), "8Gi"), "pods": or(get("pods"), "110")});
    let node = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {"unschedulable": get("unschedulable") == "yes", "taints": taints},
        "status": {"capacity": resources, "allocatable": resources, "conditions": ready_conditions()}
    });
    Ok(serde_json::from_value(node)?)
}

fn ready_conditions() -> serde_json::Value {
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!([{"type": "Ready", "status": "True", "reason": "KubeletReady",
            "message": "kubeproof fake node is posting ready status",
            "lastHeartbeatTime": now, "lastTransitionTime": now}])
}

/// Posts Ready status and renews the node's Lease every `period`, as a kubelet would.
async fn heartbeat(client: kube::Client, name: String, period: Duration) {
    let nodes: Api<Node> = Api::all(client.clone());
    let leases: Api<Lease> = Api::namespaced(client, "kube-node-lease");
    loop {
        let status = json!({"status": {"conditions": ready_conditions()}});
        let _ = nodes
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(status))
            .await;
        let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now}});
        if leases
            .patch(&name, &PatchParams::default(), &Patch::Merge(lease.clone()))
            .await
            .is_err()
            && let Ok(l) = serde_json::from_value::<Lease>(lease)
        {
            let _ = leases.create(&PostParams::default(), &l).await;
        }
        tokio::time::sleep(period).await;
    }
}

#[given(expr = "fake nodes:")]
async fn fake_nodes(world: &mut KubeWorld, step: &Step) -> Outcome {
    let headers = step
        .table
        .as_ref()
        .and_then(|t| t.rows.first().cloned())
        .ok_or_else(|| anyhow!("fake nodes need a table with a header row"))?;
    let client = world.client()?;
    let api: Api<Node> = Api::all(client.clone());
    for row in table_rows(step)? {
        let row: Vec<String> = row.iter().map(|c| world.expand(c)).collect();
        let node = node_from_row(&headers, &row)?;
        let name = node.metadata.name.clone().unwrap_or_default();
        api.create(&PostParams::default(), &node)
            .await
            .with_context(|| format!("registering fake node {name:?}"))?;
        world.owns_cluster_object(kinds::resolve("Node")?, &name);
        // Status is a subresource: set it explicitly, as a kubelet does after registering.
        let status = json!({"status": serde_json::to_value(&node.status)?});
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(status))
            .await
            .with_context(|| format!("posting status of fake node {name:?}"))?;
        let task = tokio::spawn(heartbeat(
            client.clone(),
            name.clone(),
            world.timings.heartbeat,
        ));
        world.tasks.insert(format!("heartbeat/{name}"), task);
    }
    Ok(())
}

#[when(expr = "I stop the heartbeats of the fake node {string}")]
async fn stop_heartbeats(world: &mut KubeWorld, node: String) -> Outcome {
    let node = world.expand(&node);
    let task = world
        .tasks
        .remove(&format!("heartbeat/{node}"))
        .ok_or_else(|| anyhow!("{node:?} is not a fake node of this scenario"))?;
    task.abort();
    Ok(())
}

#[given(expr = "the cluster has at least {int} ready node(s)")]
async fn at_least_ready(world: &mut KubeWorld, n: usize) -> Outcome {
    let what = format!("at least {n} Ready nodes");
    let names = world
        .wait_for("Node", "", &what, world.timings.chain, |nodes| {
            let ready = ready_nodes(nodes);
            (ready.len() >= n).then_some(ready)
        })
        .await?;
    // Scenarios name them {node-1}, {node-2}, ... in name order.
    for (i, name) in names.iter().enumerate() {
        world.vars.insert(format!("node-{}", i + 1), name.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_row_becomes_a_ready_node_with_labels_taints_and_resources() {
        let headers: Vec<String> = ["name", "cpu", "labels", "taints", "unschedulable"]
            .map(String::from)
            .to_vec();
        let row: Vec<String> = ["a", "2", "disk=ssd", "dedicated=db:NoSchedule", "yes"]
            .map(String::from)
            .to_vec();
        let node = serde_json::to_value(node_from_row(&headers, &row).unwrap()).unwrap();
        assert_eq!(node["metadata"]["labels"]["disk"], "ssd");
        assert_eq!(node["metadata"]["labels"]["kubernetes.io/hostname"], "a");
        assert_eq!(node["spec"]["taints"][0]["effect"], "NoSchedule");
        assert_eq!(node["spec"]["unschedulable"], true);
        assert_eq!(node["status"]["allocatable"]["cpu"], "2");
        assert_eq!(node["status"]["allocatable"]["memory"], "8Gi");
        assert_eq!(node["status"]["conditions"][0]["status"], "True");
    }
}
