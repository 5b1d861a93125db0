//! Scheduling steps: where a pod landed, why it could not land, and which scheduler
//! handled it.
//!
//! Entry points: the step functions; [`event_about`] for other modules.

use anyhow::anyhow;
use cucumber::then;
use kube::api::{DynamicObject, ListParams};

use super::{Outcome, condition, field, list, name_of};
use crate::diagnostics;
use crate::wait;
use crate::world::KubeWorld;

fn node_of(objs: &[DynamicObject], pod: &str) -> Option<String> {
    objs.iter()
        .find(|o| name_of(o) == pod)
        .and_then(|o| field(o, "spec.nodeName"))
        .filter(|n| !n.is_empty())
}

async fn scheduled_to(world: &KubeWorld, pod: &str) -> anyhow::Result<String> {
    let what = format!("Pod {pod:?} to be scheduled");
    world
        .wait_for("Pod", "", &what, world.timings.expect, |objs| {
            node_of(objs, pod)
        })
        .await
}

#[then(expr = "eventually the Pod {string} is scheduled to {string}")]
async fn scheduled(world: &mut KubeWorld, pod: String, node: String) -> Outcome {
    let (pod, node) = (world.expand(&pod), world.expand(&node));
    let got = scheduled_to(world, &pod).await?;
    if got != node {
        fail!(
            "Pod {pod:?} was scheduled to {got:?}, expected {node:?}\n{}",
            diagnostics::explain(world, "Pod", &pod).await
        );
    }
    Ok(())
}

#[then(expr = "eventually the Pod {string} is scheduled to one of {string}")]
async fn scheduled_one_of(world: &mut KubeWorld, pod: String, nodes: String) -> Outcome {
    let pod = world.expand(&pod);
    let allowed = list(&world.expand(&nodes));
    let got = scheduled_to(world, &pod).await?;
    if !allowed.contains(&got) {
        fail!("Pod {pod:?} was scheduled to {got:?}, expected one of {allowed:?}");
    }
    Ok(())
}

#[then(expr = "eventually the Pods {string} are scheduled to different nodes")]
async fn spread(world: &mut KubeWorld, pods: String) -> Outcome {
    let pods = list(&world.expand(&pods));
    let mut nodes = Vec::new();
    for p in &pods {
        nodes.push(scheduled_to(world, p).await?);
    }
    let mut unique = nodes.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != nodes.len() {
        fail!("Pods {pods:?} landed on {nodes:?}: some share a node");
    }
    Ok(())
}

#[then(expr = "eventually the Pod {string} is unschedulable with message {string}")]
async fn unschedulable(world: &mut KubeWorld, pod: String, message: String) -> Outcome {
    let (pod, message) = (world.expand(&pod), world.expand(&message));
    let what = format!("Pod {pod:?} to get PodScheduled=False/Unschedulable");
    let got = world
        .wait_for("Pod", "", &what, world.timings.expect, |objs| {
            let o = objs.iter().find(|o| name_of(o) == pod)?;
            let c = condition(o, "PodScheduled")?;
            (c.get("status")?.as_str()? == "False" && c.get("reason")?.as_str()? == "Unschedulable")
                .then(|| {
                    c.get("message")
                        .and_then(|m| m.as_str())
                        .unwrap_or("")
                        .to_string()
                })
        })
        .await?;
    // Some releases end the message with "..": compare without the trailing periods.
    if got.trim_end_matches('.') != message.trim_end_matches('.') {
        fail!("Pod {pod:?} is unschedulable with message\n  {got:?}\nexpected\n  {message:?}");
    }
    Ok(())
}

#[then(expr = "the Pod {string} is not scheduled by anyone")]
async fn left_alone(world: &mut KubeWorld, pod: String) -> Outcome {
    let pod = world.expand(&pod);
    let (_, api) = world.api("Pod")?;
    let what = format!("Pod {pod:?} to stay unscheduled");
    let outcome = wait::never(
        &api,
        &ListParams::default(),
        &what,
        world.timings.quiet,
        |objs| {
            objs.iter().find(|o| name_of(o) == pod).is_some_and(|o| {
                node_of(std::slice::from_ref(o), &pod).is_some()
                    || condition(o, "PodScheduled").is_some()
            })
        },
    )
    .await;
    match outcome {
        Ok(_) => Ok(()),
        Err(wait::Broken::Happened(objs)) => Err(anyhow!(
            "Pod {pod:?} was handled by a scheduler it did not ask for:\n{}",
            diagnostics::yaml_of(&objs)
        )
        .into()),
        Err(wait::Broken::Wait(e)) => Err(anyhow!(e).into()),
    }
}

/// Waits for an Event with `reason` about object `name` whose message starts with `prefix`.
pub async fn event_about(
    world: &KubeWorld,
    reason: &str,
    name: &str,
    prefix: &str,
) -> anyhow::Result<String> {
    let what = format!("an Event {reason:?} about {name:?} starting with {prefix:?}");
    world
        .wait_for("Event", "", &what, world.timings.expect, |events| {
            events.iter().find_map(|e| {
                let msg = field(e, "message").unwrap_or_default();
                (field(e, "reason").as_deref() == Some(reason)
                    && field(e, "involvedObject.name").as_deref() == Some(name)
                    && msg.starts_with(prefix))
                .then_some(msg)
            })
        })
        .await
}

#[then(expr = "eventually an Event {string} about {string} says {string}")]
async fn event_says(
    world: &mut KubeWorld,
    reason: String,
    name: String,
    message: String,
) -> Outcome {
    let (name, message) = (world.expand(&name), world.expand(&message));
    let got = event_about(world, &reason, &name, &message).await?;
    if got.trim_end_matches('.') != message.trim_end_matches('.') {
        fail!("Event {reason:?} about {name:?} says {got:?}, expected {message:?}");
    }
    Ok(())
}

#[then(expr = "eventually an Event {string} about {string} starts with {string}")]
async fn event_starts(
    world: &mut KubeWorld,
    reason: String,
    name: String,
    prefix: String,
) -> Outcome {
    let (name, prefix) = (world.expand(&name), world.expand(&prefix));
    event_about(world, &reason, &name, &prefix).await?;
    Ok(())
}
