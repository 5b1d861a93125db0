//! Rollout steps: changing a Deployment's template, rolling it back like `kubectl rollout
//! undo`, and checking maxSurge / maxUnavailable over the whole observed rollout.
//!
//! Entry points: the step functions.

use anyhow::anyhow;
use cucumber::{then, when};
use kube::api::{DynamicObject, Patch, PatchParams};
use serde_json::json;

use super::controllers::controller_of;
use super::{Outcome, field};
use crate::world::KubeWorld;

#[when(expr = "I set the image of the Deployment {string} to {string}")]
async fn set_image(world: &mut KubeWorld, name: String, image: String) -> Outcome {
    let d = world.get("Deployment", &name).await?;
    let container = field(&d, "spec.template.spec.containers.0.name")
        .ok_or_else(|| anyhow!("the Deployment has no container"))?;
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}});
    let (_, api) = world.api("Deployment")?;
    api.patch(&name, &PatchParams::default(), &Patch::Strategic(patch))
        .await?;
    Ok(())
}

/// `kubectl rollout undo`: copy the previous revision's pod template back into the
/// Deployment (without its `pod-template-hash` label).
#[when(expr = "I roll back the Deployment {string}")]
async fn roll_back(world: &mut KubeWorld, name: String) -> Outcome {
    let d = world.get("Deployment", &name).await?;
    let current: i64 =
        revision(&d).ok_or_else(|| anyhow!("the Deployment has no revision annotation yet"))?;
    let (_, rs_api) = world.api("ReplicaSet")?;
    let previous = rs_api
        .list(&Default::default())
        .await?
        .items
        .into_iter()
        .filter(|r| controller_of(r) == Some(("Deployment".into(), name.clone())))
        .filter(|r| revision(r).is_some_and(|v| v < current))
        .max_by_key(revision)
        .ok_or_else(|| anyhow!("no earlier revision of the Deployment {name:?} to roll back to"))?;
    let mut template = previous
        .data
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_default();
    if let Some(labels) = template
        .pointer_mut("/metadata/labels")
        .and_then(|l| l.as_object_mut())
    {
        labels.remove("pod-template-hash");
    }
    let (_, api) = world.api("Deployment")?;
    let patch = json!({"spec": {"template": template}});
    api.patch(&name, &PatchParams::default(), &Patch::Merge(patch))
        .await?;
    Ok(())
}

fn revision(obj: &DynamicObject) -> Option<i64> {
    obj.metadata
        .annotations
        .as_ref()?
        .get("deployment.kubernetes.io/revision")?
        .parse()
        .ok()
}

/// Replays the observed ReplicaSets of a Deployment: after every observed change, the sum
/// of `spec.replicas` and of `status.availableReplicas` over them.
fn rollout_totals(world: &KubeWorld, deployment: &str) -> Vec<(i64, i64)> {
    let mut current: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    let mut totals = Vec::new();
    for o in world
        .log
        .causal()
        .into_iter()
        .filter(|o| o.kind == "ReplicaSet")
    {
        let owner = o
            .object
            .pointer("/metadata/ownerReferences/0/name")
            .and_then(|v| v.as_str());
        if owner != Some(deployment) {
            continue;
        }
        if o.event == "DELETED" {
            current.remove(&o.name);
        } else {
            let n = |p: &str| o.object.pointer(p).and_then(|v| v.as_i64()).unwrap_or(0);
            current.insert(
                o.name.clone(),
                (n("/spec/replicas"), n("/status/availableReplicas")),
            );
        }
        totals.push(current.values().fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1)));
    }
    totals
}

#[then(
    expr = "during the rollout the ReplicaSets of {string} never wanted more than {int} Pods in total"
)]
async fn surge_bound(world: &mut KubeWorld, deployment: String, max: i64) -> Outcome {
    let totals = rollout_totals(world, &deployment);
    if let Some((wanted, _)) = totals.iter().find(|(w, _)| *w > max) {
        fail!(
            "the ReplicaSets of {deployment:?} wanted {wanted} Pods at once (max {max}); totals over time: {totals:?}"
        );
    }
    Ok(())
}

#[then(
    expr = "during the rollout the ReplicaSets of {string} never had fewer than {int} available Pods once they had that many"
)]
async fn availability_bound(world: &mut KubeWorld, deployment: String, min: i64) -> Outcome {
    let totals = rollout_totals(world, &deployment);
    let start = totals
        .iter()
        .position(|(_, a)| *a >= min)
        .unwrap_or(totals.len());
    if let Some((_, available)) = totals[start..].iter().find(|(_, a)| *a < min) {
        fail!(
            "only {available} Pods of {deployment:?} were available during the rollout (min {min}); totals: {totals:?}"
        );
    }
    Ok(())
}

/// Replays the observed Pods with `key=value`: after every observed change, how many
/// existed (created and not yet gone; a terminating Pod still counts, as it still runs).
fn pod_counts(world: &KubeWorld, selector: &str) -> Vec<usize> {
    let (key, value) = selector.split_once('=').unwrap_or((selector, ""));
    let mut live = std::collections::BTreeSet::new();
    let mut counts = Vec::new();
    for o in world.log.causal().into_iter().filter(|o| o.kind == "Pod") {
        let label = o
            .object
            .pointer(&format!("/metadata/labels/{}", key.replace('/', "~1")))
            .and_then(|v| v.as_str());
        if label != Some(value) {
            continue;
        }
        if o.event == "DELETED" {
            live.remove(&o.name);
        } else {
            live.insert(o.name.clone());
        }
        counts.push(live.len());
    }
    counts
}

#[then(expr = "the Pods labelled {string} never numbered more than {int}")]
async fn pod_count_bound(world: &mut KubeWorld, selector: String, max: usize) -> Outcome {
    let counts = pod_counts(world, &selector);
    if counts.is_empty() {
        fail!("no Pod labelled {selector:?} was observed");
    }
    if let Some(n) = counts.iter().find(|n| **n > max) {
        fail!(
            "{n} Pods labelled {selector:?} existed at once (max {max}); counts over time: {counts:?}"
        );
    }
    Ok(())
}
