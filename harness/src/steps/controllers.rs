//! Controller steps: replica counts, ownership, rollouts and rollbacks, conditions and
//! taints, Endpoints contents, creation order.
//!
//! Entry points: the step functions; [`pod_state`] names the pod states steps can wait for.

use anyhow::{Context as _, anyhow};
use cucumber::{then, when};
use kube::api::{DynamicObject, Patch, PatchParams};
use serde_json::json;

use super::{Outcome, condition, field, list, name_of, nodes::ready_nodes};
use crate::diagnostics;
use crate::world::KubeWorld;

/// Whether a pod is in a named state: `existing`, `scheduled`, `Pending`, `Running`,
/// `Succeeded`, `Failed`, `Ready`.
pub fn pod_state(pod: &DynamicObject, state: &str) -> bool {
    let phase = field(pod, "status.phase").unwrap_or_default();
    let ready = || {
        condition(pod, "Ready")
            .and_then(|c| c.get("status"))
            .and_then(|s| s.as_str())
            == Some("True")
    };
    match state {
        "existing" => true,
        "scheduled" => !field(pod, "spec.nodeName").unwrap_or_default().is_empty(),
        "Ready" | "ready" => ready(),
        other => phase == other,
    }
}

/// The Pods not being deleted: the ones a controller counts.
pub fn live(pods: &[DynamicObject]) -> Vec<&DynamicObject> {
    pods.iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect()
}

#[when(expr = "I scale the {word} {string} to {int} replica(s)")]
async fn scale(world: &mut KubeWorld, kind: String, name: String, n: i64) -> Outcome {
    let (_, api) = world.api(&kind)?;
    api.patch(
        &world.expand(&name),
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": n}})),
    )
    .await
    .with_context(|| format!("scaling {kind} {name:?} to {n}"))?;
    Ok(())
}

#[then(expr = "eventually {int} Pod(s) labelled {string} are {word}")]
async fn pods_in_state(
    world: &mut KubeWorld,
    n: usize,
    selector: String,
    state: String,
) -> Outcome {
    let what = format!("{n} Pods labelled {selector:?} to be {state}");
    world
        .wait_for("Pod", &selector, &what, world.timings.chain, |pods| {
            let live = live(pods);
            (live.len() == n && live.iter().all(|p| pod_state(p, &state))).then_some(())
        })
        .await?;
    Ok(())
}

#[then(expr = "eventually the Pod {string} is {word}")]
async fn pod_is(world: &mut KubeWorld, pod: String, state: String) -> Outcome {
    let pod = world.expand(&pod);
    let what = format!("Pod {pod:?} to be {state}");
    world
        .wait_for("Pod", "", &what, world.timings.chain, |pods| {
            pods.iter()
                .find(|p| name_of(p) == pod)
                .filter(|p| pod_state(p, &state))
                .map(|_| ())
        })
        .await?;
    Ok(())
}

/// The kind and name of the object's controlling owner.
pub fn controller_of(obj: &DynamicObject) -> Option<(String, String)> {
    obj.metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
        .map(|r| (r.kind.clone(), r.name.clone()))
}

#[then(expr = "eventually the {word} {string} is controlled by the {word} {string}")]
async fn controlled_by(
    world: &mut KubeWorld,
    kind: String,
    name: String,
    owner_kind: String,
    owner: String,
) -> Outcome {
    let (name, owner) = (world.expand(&name), world.expand(&owner));
    let what = format!("{kind} {name:?} to be controlled by {owner_kind} {owner:?}");
    world
        .wait_for(&kind, "", &what, world.timings.expect, |objs| {
            objs.iter()
                .find(|o| name_of(o) == name)
                .filter(|o| controller_of(o) == Some((owner_kind.clone(), owner.clone())))
                .map(|_| ())
        })
        .await?;
    Ok(())
}

#[then(expr = "eventually the {word} {string} has no controller")]
async fn no_controller(world: &mut KubeWorld, kind: String, name: String) -> Outcome {
    let name = world.expand(&name);
    let what = format!("{kind} {name:?} to be released by its controller");
    world
        .wait_for(&kind, "", &what, world.timings.expect, |objs| {
            objs.iter()
                .find(|o| name_of(o) == name)
                .filter(|o| controller_of(o).is_none())
                .map(|_| ())
        })
        .await?;
    Ok(())
}

#[then(
    expr = "eventually every Pod labelled {string} is controlled by a ReplicaSet of the Deployment {string}"
)]
async fn pods_of_deployment(
    world: &mut KubeWorld,
    selector: String,
    deployment: String,
) -> Outcome {
    let (_, rs_api) = world.api("ReplicaSet")?;
    let rs: Vec<String> = rs_api
        .list(&Default::default())
        .await?
        .items
        .iter()
        .filter(|r| controller_of(r) == Some(("Deployment".into(), deployment.clone())))
        .map(name_of)
        .collect();
    if rs.is_empty() {
        fail!(
            "the Deployment {deployment:?} controls no ReplicaSet\n{}",
            diagnostics::explain(world, "ReplicaSet", "").await
        );
    }
    let what = format!("every Pod labelled {selector:?} to be controlled by one of {rs:?}");
    world
        .wait_for("Pod", &selector, &what, world.timings.expect, |pods| {
            (!pods.is_empty()
                && pods.iter().all(|p| {
                    controller_of(p).is_some_and(|(k, n)| k == "ReplicaSet" && rs.contains(&n))
                }))
            .then_some(())
        })
        .await?;
    Ok(())
}

#[then(expr = "eventually the {word} {string} has condition {string} with status {string}")]
async fn has_condition(
    world: &mut KubeWorld,
    kind: String,
    name: String,
    type_: String,
    status: String,
) -> Outcome {
    let name = world.expand(&name);
    let what = format!("{kind} {name:?} to have condition {type_}={status}");
    world
        .wait_for(&kind, "", &what, world.timings.failover, |objs| {
            let o = objs.iter().find(|o| name_of(o) == name)?;
            (condition(o, &type_)?.get("status")?.as_str()? == status).then_some(())
        })
        .await?;
    Ok(())
}

#[then(expr = "eventually the Node {string} has the taint {string}")]
async fn has_taint(world: &mut KubeWorld, node: String, taint: String) -> Outcome {
    let node = world.expand(&node);
    let (key, effect) = taint
        .split_once(':')
        .ok_or_else(|| anyhow!("a taint is key:Effect, got {taint:?}"))?;
    let what = format!("Node {node:?} to have taint {taint}");
    world
        .wait_for("Node", "", &what, world.timings.failover, |objs| {
            let n = objs.iter().find(|o| name_of(o) == node)?;
            n.data
                .pointer("/spec/taints")?
                .as_array()?
                .iter()
                .any(|t| {
                    t.get("key").and_then(|k| k.as_str()) == Some(key)
                        && t.get("effect").and_then(|e| e.as_str()) == Some(effect)
                })
                .then_some(())
        })
        .await?;
    Ok(())
}

#[then(expr = "eventually the DaemonSet {string} runs exactly one Pod on each ready node")]
async fn one_per_node(world: &mut KubeWorld, name: String) -> Outcome {
    let (_, nodes_api) = world.api("Node")?;
    let nodes = ready_nodes(&nodes_api.list(&Default::default()).await?.items);
    let what = format!("one Pod of DaemonSet {name:?} on each of {nodes:?}");
    world
        .wait_for("Pod", "", &what, world.timings.chain, |pods| {
            let mut on: Vec<String> = pods
                .iter()
                .filter(|p| controller_of(p) == Some(("DaemonSet".into(), name.clone())))
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .filter_map(|p| field(p, "spec.nodeName"))
                .collect();
            on.sort();
            (on == nodes).then_some(())
        })
        .await?;
    Ok(())
}

/// A Pod created before the previous one of an ordered set was Ready; the positions are
/// `(store revision, arrival)` in the harness's log.
#[derive(Debug, thiserror::Error)]
#[error("{pod:?} was created (at {created:?}) before {previous:?} was Ready (at {ready:?})")]
struct CreatedTooEarly {
    pod: String,
    created: Option<(Option<u64>, usize)>,
    previous: String,
    ready: Option<(Option<u64>, usize)>,
}

#[then(
    expr = "the Pods {string} were created in that order, each after the previous one was Ready"
)]
async fn ordered_creation(world: &mut KubeWorld, pods: String) -> Outcome {
    let pods = list(&world.expand(&pods));
    let verdict = |log: &[crate::observe::Observation]| -> Result<(), CreatedTooEarly> {
        let first = |name: &str, pred: &dyn Fn(&serde_json::Value) -> bool| {
            log.iter()
                .find(|o| o.kind == "Pod" && o.name == name && pred(&o.object))
                .map(|o| (o.revision(), o.seq))
        };
        for pair in pods.windows(2) {
            let ready = first(&pair[0], &|o| {
                o.pointer("/status/conditions")
                    .and_then(|c| c.as_array())
                    .is_some_and(|cs| {
                        cs.iter().any(|c| {
                            c.get("type").and_then(|t| t.as_str()) == Some("Ready")
                                && c.get("status").and_then(|s| s.as_str()) == Some("True")
                        })
                    })
            });
            let created = first(&pair[1], &|_| true);
            match (ready, created) {
                (Some(r), Some(c)) if r < c => {}
                _ => {
                    return Err(CreatedTooEarly {
                        pod: pair[1].clone(),
                        created,
                        previous: pair[0].clone(),
                        ready,
                    });
                }
            }
        }
        Ok(())
    };
    if let Err(log) = world
        .log
        .wait_until(world.timings.expect, |log| verdict(log).ok())
        .await
    {
        fail!(
            "{}",
            verdict(&log)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        );
    }
    Ok(())
}

fn ips_of(endpoints: &DynamicObject, list_name: &str) -> Vec<String> {
    let mut ips: Vec<String> = endpoints
        .data
        .pointer("/subsets")
        .and_then(|s| s.as_array())
        .into_iter()
        .flatten()
        .flat_map(|s| {
            s.get(list_name)
                .and_then(|a| a.as_array())
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|a| a.get("ip").and_then(|i| i.as_str()).map(str::to_string))
        .collect();
    ips.sort();
    ips
}

#[then(
    expr = "eventually the Endpoints {string} list exactly the IPs of the Ready Pods labelled {string}"
)]
async fn endpoints_match(world: &mut KubeWorld, name: String, selector: String) -> Outcome {
    let (_, pods_api) = world.api("Pod")?;
    let name = world.expand(&name);
    let selector = world.expand(&selector);
    // The Pods' readiness is what earlier steps waited for; the Endpoints must follow it.
    let pods = pods_api
        .list(&kube::api::ListParams::default().labels(&selector))
        .await?;
    let mut want: Vec<String> = pods
        .items
        .iter()
        .filter(|p| pod_state(p, "Ready") && p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| field(p, "status.podIP"))
        .collect();
    want.sort();
    let what = format!(
        "Endpoints {name:?} to list exactly {want:?} (the Ready Pods labelled {selector:?})"
    );
    world
        .wait_for("Endpoints", "", &what, world.timings.chain, |eps| {
            let ep = eps.iter().find(|e| name_of(e) == name)?;
            (ips_of(ep, "addresses") == want).then_some(())
        })
        .await?;
    Ok(())
}

#[then(expr = "eventually the Endpoints {string} list the IP of the Pod {string} as not ready")]
async fn endpoints_not_ready(world: &mut KubeWorld, name: String, pod: String) -> Outcome {
    let ip = field(&world.get("Pod", &pod).await?, "status.podIP")
        .ok_or_else(|| anyhow!("Pod {pod:?} has no IP"))?;
    let name = world.expand(&name);
    let what = format!("Endpoints {name:?} to list {ip} under notReadyAddresses");
    world
        .wait_for("Endpoints", "", &what, world.timings.chain, |eps| {
            let ep = eps.iter().find(|e| name_of(e) == name)?;
            (ips_of(ep, "notReadyAddresses").contains(&ip)
                && !ips_of(ep, "addresses").contains(&ip))
            .then_some(())
        })
        .await?;
    Ok(())
}
