//! Eviction steps: evict a Pod through the `pods/eviction` subresource (what `kubectl
//! drain` calls) and check what the API server answered, causes included; mark a Pod as a
//! disruption target that nobody deletes (the stale-condition cleanup).
//!
//! Entry points: the step functions. The last answer is kept in the scenario's vars:
//! `{evicted}` (the Pod's name), `eviction.code`, `eviction.reason`, `eviction.message`
//! and `eviction.causes` (`reason: message` lines).

use anyhow::Context as _;
use cucumber::{then, when};
use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, EvictParams, ListParams, PostParams};

use super::controllers::pod_state;
use super::{Outcome, condition};
use crate::world::KubeWorld;

#[when(expr = "I try to evict one of the Ready Pods labelled {string}")]
async fn try_evict(world: &mut KubeWorld, selector: String) -> Outcome {
    let (_, dynamic) = world.api("Pod")?;
    let selector = world.expand(&selector);
    let mut pods = dynamic
        .list(&ListParams::default().labels(&selector))
        .await
        .context("listing the Pods to evict")?
        .items;
    pods.retain(|p| p.metadata.deletion_timestamp.is_none() && pod_state(p, "Ready"));
    pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let Some(name) = pods.first().and_then(|p| p.metadata.name.clone()) else {
        fail!("no Ready Pod labelled {selector:?} to evict");
    };
    let api: Api<Pod> = Api::namespaced(world.client()?, &world.namespace);
    let (code, reason, message, causes) = match api.evict(&name, &EvictParams::default()).await {
        Ok(s) => (s.code, s.reason, s.message, String::new()),
        Err(kube::Error::Api(s)) => {
            let causes = s
                .details
                .as_ref()
                .map(|d| {
                    d.causes
                        .iter()
                        .map(|c| format!("{}: {}", c.reason, c.message))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
            (s.code, s.reason, s.message, causes)
        }
        Err(e) => return Err(anyhow::Error::new(e).context("evicting").into()),
    };
    world.vars.insert("evicted".into(), name);
    world.vars.insert("eviction.code".into(), code.to_string());
    world.vars.insert("eviction.reason".into(), reason);
    world.vars.insert("eviction.message".into(), message);
    world.vars.insert("eviction.causes".into(), causes);
    Ok(())
}

fn var<'a>(world: &'a KubeWorld, key: &str) -> &'a str {
    world.vars.get(key).map(String::as_str).unwrap_or_default()
}

#[then(expr = "the eviction is refused with {int} {word}: {string}")]
async fn refused(world: &mut KubeWorld, code: u16, reason: String, message: String) -> Outcome {
    let (got_code, got_reason) = (var(world, "eviction.code"), var(world, "eviction.reason"));
    let got_message = var(world, "eviction.message");
    if got_code != code.to_string() || got_reason != reason || got_message != message {
        fail!(
            "the eviction answered {got_code} {got_reason}: {got_message:?}, expected {code} {reason}: {message:?}"
        );
    }
    Ok(())
}

#[then(expr = "the eviction names the cause {string}")]
async fn cause(world: &mut KubeWorld, prefix: String) -> Outcome {
    let prefix = world.expand(&prefix);
    let causes = var(world, "eviction.causes");
    if !causes.lines().any(|c| c.starts_with(&prefix)) {
        fail!("no eviction cause starts with {prefix:?}; causes: {causes:?}");
    }
    Ok(())
}

#[then(expr = "the eviction is accepted")]
async fn accepted(world: &mut KubeWorld) -> Outcome {
    let code = var(world, "eviction.code");
    // Upstream answers a Status with code 201 (kube reads a Success body as 0).
    if code != "201" && code != "0" {
        fail!(
            "the eviction answered {code} {}: {:?}",
            var(world, "eviction.reason"),
            var(world, "eviction.message")
        );
    }
    Ok(())
}

/// Sets the Pod's `DisruptionTarget=True` condition, as an eviction or preemption would
/// have, but dated `minutes` back and without deleting the Pod: what the disruption
/// controller finds when a disruption never went through. Retries on conflicts with the
/// kubelet's own status writes.
#[when(
    expr = "I mark the Pod {string} as a disruption target with reason {string} {int} minutes ago"
)]
async fn mark(world: &mut KubeWorld, pod: String, reason: String, minutes: i64) -> Outcome {
    let pod = world.expand(&pod);
    let api: Api<Pod> = Api::namespaced(world.client()?, &world.namespace);
    let since = chrono::Utc::now() - chrono::Duration::minutes(minutes);
    let cond = PodCondition {
        type_: "DisruptionTarget".into(),
        status: "True".into(),
        reason: Some(reason),
        message: Some("marked by the suite".into()),
        last_transition_time: Some(Time(
            Timestamp::from_second(since.timestamp()).context("the mark's time")?,
        )),
        ..Default::default()
    };
    for _ in 0..5 {
        let mut p = api
            .get(&pod)
            .await
            .with_context(|| format!("reading Pod {pod:?}"))?;
        let conditions = p
            .status
            .get_or_insert_with(Default::default)
            .conditions
            .get_or_insert_with(Vec::new);
        conditions.retain(|c| c.type_ != cond.type_);
        conditions.push(cond.clone());
        match api.replace_status(&pod, &PostParams::default(), &p).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context("writing the Pod's status")
                    .into());
            }
        }
    }
    fail!("the Pod {pod:?}'s status kept changing under five writes")
}

#[then(expr = "the Pod {string} still has condition {string} with status {string}")]
async fn still_has(world: &mut KubeWorld, pod: String, type_: String, status: String) -> Outcome {
    let obj = world.get("Pod", &pod).await?;
    let got = condition(&obj, &type_)
        .and_then(|c| c.get("status"))
        .and_then(|s| s.as_str());
    if got != Some(status.as_str()) {
        fail!("the Pod {pod:?} has condition {type_} with status {got:?}, expected {status:?}");
    }
    Ok(())
}
