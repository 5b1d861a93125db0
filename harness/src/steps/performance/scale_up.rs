//! Network programming latency after a scale-up: from scaling a Service's backends up from
//! zero to the first request through its cluster IP that one of them answers. Upstream's
//! SLI (network_programming_latency.md) counts changes to a Service's list of Ready Pods as
//! well as to the Service itself; this is the first kind, seen from outside.
//!
//! Entry points: the step, and [`split`] (pure: one round's phases). Each round scales the
//! workload to zero, waits until none of its Pods is left and checks that nothing answers,
//! then scales it up and dials as the create case does ([`first_answer`]) while a watch
//! notes when a backend is seen Ready, so the figure splits into the Pod's start and the
//! programming after it.

use std::time::Duration;

use anyhow::Context as _;
use cucumber::gherkin::Step;
use cucumber::when;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;
use tokio::time::Instant;

use super::network::{answered, cluster_address, dial_path, first_answer};
use super::{millis, record, scaled, selector_of};
use crate::perf::Measurement;
use crate::steps::Outcome;
use crate::steps::controllers::{live, pod_state};
use crate::world::KubeWorld;

/// The measurement's name, as threshold steps write it.
pub const NAME: &str = "network programming latency after a scale-up";
/// Its phases, in order.
pub const PHASES: [&str; 2] = ["scale-up → backend Ready", "backend Ready → answered"];
/// How long the check that nothing answers before a scale-up waits for its one dial (a
/// dial to an address with no backend is refused at once; one to a stale rule may hang).
const PROBE: Duration = Duration::from_secs(2);

/// One round's phases in milliseconds, `[scale-up → backend Ready, backend Ready →
/// answered]`, summing to the round's latency. The watch may show the Pod Ready only after
/// the answer (it is a separate stream), so Ready is kept between the two ends; without it
/// the whole round counts as the first phase.
pub fn split(scaled_at: Instant, ready: Option<Instant>, answered_at: Instant) -> [f64; 2] {
    let answered_at = answered_at.max(scaled_at);
    let ready = ready.unwrap_or(answered_at).clamp(scaled_at, answered_at);
    [millis(ready - scaled_at), millis(answered_at - ready)]
}

async fn set_replicas(api: &Api<DynamicObject>, name: &str, n: i64) -> anyhow::Result<()> {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": n}})),
    )
    .await
    .with_context(|| format!("scaling {name:?} to {n}"))?;
    Ok(())
}

#[when(
    expr = "I scale the {word} {string} from 0 to {int} replica(s) {int} times and measure until the Pod {string} reaches the Service {string} through its cluster IP"
)]
#[allow(clippy::too_many_arguments)] // the step's parameters, as cucumber passes them
async fn scale_ups(
    world: &mut KubeWorld,
    kind: String,
    name: String,
    replicas: i64,
    stated: usize,
    pod: String,
    service: String,
    step: &Step,
) -> Outcome {
    if replicas < 1 {
        fail!("a scale-up needs at least 1 replica, not {replicas}");
    }
    let rounds = scaled(world, stated)?;
    let (_, api) = world.api(&kind)?;
    let name = world.expand(&name);
    let workload = api
        .get(&name)
        .await
        .with_context(|| format!("reading {kind} {name:?}"))?;
    let selector = selector_of(&workload).with_context(|| format!("{kind} {name:?}"))?;
    let svc = world.get("Service", &service).await?;
    let (ip, port) = cluster_address(&svc)?;
    let path = dial_path(world, &world.expand(&pod), &ip, &port);
    let client = world.client()?;
    let deadline = world.timings.chain;
    let (mut totals, mut starts, mut programming) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        // From zero backends, or the figure would time nothing.
        set_replicas(&api, &name, 0).await?;
        let gone = format!("no Pod labelled {selector:?} to be left");
        world
            .wait_for("Pod", &selector, &gone, deadline, |pods| {
                pods.is_empty().then_some(())
            })
            .await?;
        let probe = tokio::time::timeout(PROBE, answered(client.clone(), path.clone())).await;
        if probe.unwrap_or(false) {
            fail!(
                "before scale-up {round}, the Service {service:?} ({ip}:{port}) answered with no Pod labelled {selector:?}: nothing to measure"
            );
        }
        let scaled_at = Instant::now();
        set_replicas(&api, &name, replicas).await?;
        let ready = async {
            let what = format!("a Pod labelled {selector:?} to be Ready");
            world
                .wait_for("Pod", &selector, &what, deadline, |pods| {
                    live(pods)
                        .iter()
                        .any(|p| pod_state(p, "Ready"))
                        .then(Instant::now)
                })
                .await
                .ok()
        };
        let (ready_at, answered_at) = tokio::join!(ready, first_answer(&client, &path, deadline));
        let Some(answered_at) = answered_at else {
            fail!(
                "after scale-up {round} of {kind} {name:?} to {replicas}, no request from the Pod {pod:?} to the Service {service:?} ({ip}:{port}) was answered within {deadline:?}"
            );
        };
        let [start, program] = split(scaled_at, ready_at, answered_at);
        totals.push(millis(answered_at.saturating_duration_since(scaled_at)));
        starts.push(start);
        programming.push(program);
    }
    let m = Measurement::latency(NAME, totals)
        .phase(PHASES[0], &starts)
        .phase(PHASES[1], &programming)
        .at_line(step.position.line);
    record(world, m)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phases_split_the_round_at_the_ready_pod() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        assert_eq!(split(t0, Some(at(1200)), at(1500)), [1200.0, 300.0]);
        // Ready seen by the watch after the answer: it cannot have been later.
        assert_eq!(split(t0, Some(at(1800)), at(1500)), [1500.0, 0.0]);
        // No Ready seen at all: the whole round is the Pod's start.
        assert_eq!(split(t0, None, at(900)), [900.0, 0.0]);
    }
}
