//! Leader failover time: from stopping the holder of a component's Lease to another
//! instance holding it, and to that instance's first useful action (a Pod scheduled, a Pod
//! created for a ReplicaSet). Upstream sets no SLO; its leader election makes a standby
//! wait out the Lease (15 s) and retry every 2 s, so a Lease can stay unheld for up to 17 s.
//!
//! Entry points: the steps. The stop is the target's `StopComponent` fault (the scenario
//! is tagged `@fault-stop-component`); the work that needs a leader is created right after
//! the stop, and both ends are watched.

use anyhow::{Context as _, anyhow};
use cucumber::gherkin::Step;
use cucumber::when;
use kube::api::{DynamicObject, ListParams};
use tokio::time::Instant;

use super::{millis, record, selector_of};
use crate::kinds;
use crate::perf::Measurement;
use crate::steps::common::create_all;
use crate::steps::{Outcome, docstring, field, name_of};
use crate::targets::Fault;
use crate::world::KubeWorld;

/// The Lease's part: stop → another holder.
pub const LEASE: &str = "Lease failover time";
/// The whole: stop → the new leader's first useful action.
pub const LEADER: &str = "leader failover time";

/// What the new leader must do to count as acting.
enum Action {
    /// The Pod of this name is bound to a node.
    Schedules(String),
    /// A Pod with these labels exists.
    CreatesPodLabelled(String),
}

/// Stops the Lease's holder, creates `manifest`, and measures both ends.
async fn measure(
    world: &mut KubeWorld,
    lease: &str,
    namespace: &str,
    manifest: &str,
    action: Action,
    line: usize,
) -> Outcome {
    let leases = world.api_for(&kinds::resolve("Lease")?, Some(namespace))?;
    let current = leases
        .get(lease)
        .await
        .with_context(|| format!("reading the Lease {namespace}/{lease}"))?;
    let holder = field(&current, "spec.holderIdentity").unwrap_or_default();
    if holder.is_empty() {
        fail!("nobody holds the Lease {namespace}/{lease}, so there is no leader to stop");
    }
    let stopped = Instant::now();
    world
        .inject(Fault::StopComponent {
            component: lease.to_string(),
            instance: holder.clone(),
        })
        .await?;
    create_all(world, manifest).await?;
    let deadline = world.timings.failover;
    let what = format!("a holder of {namespace}/{lease} other than {holder:?}");
    let all = ListParams::default();
    let new_holder = crate::wait::until(&leases, &all, &what, deadline, |ls| {
        let l = ls.iter().find(|l| name_of(l) == lease)?;
        let h = field(l, "spec.holderIdentity").unwrap_or_default();
        (!h.is_empty() && h != holder).then(Instant::now)
    });
    let acted = async {
        match &action {
            Action::Schedules(pod) => {
                let what = format!("the Pod {pod:?} to be scheduled");
                world
                    .wait_for("Pod", "", &what, deadline, |pods: &[DynamicObject]| {
                        pods.iter()
                            .find(|p| name_of(p) == *pod)
                            .filter(|p| field(p, "spec.nodeName").is_some_and(|n| !n.is_empty()))
                            .map(|_| Instant::now())
                    })
                    .await
            }
            Action::CreatesPodLabelled(selector) => {
                let what = format!("a Pod labelled {selector:?} to be created");
                world
                    .wait_for("Pod", selector, &what, deadline, |pods| {
                        (!pods.is_empty()).then(Instant::now)
                    })
                    .await
            }
        }
    };
    let (new_holder, acted) = tokio::join!(new_holder, acted);
    let new_holder = new_holder?;
    let acted = acted?;
    let to_holder = millis(new_holder.saturating_duration_since(stopped));
    let to_action = millis(acted.saturating_duration_since(stopped));
    record(
        world,
        Measurement::latency(LEASE, vec![to_holder]).at_line(line),
    )?;
    record(
        world,
        Measurement::latency(LEADER, vec![to_action])
            .phase("stop → new holder", &[to_holder.min(to_action)])
            .phase(
                "new holder → first action",
                &[(to_action - to_holder).max(0.0)],
            )
            .at_line(line),
    )?;
    Ok(())
}

/// The step's docstring and the single object it describes.
fn manifest_of(world: &KubeWorld, step: &Step) -> anyhow::Result<(String, DynamicObject)> {
    let text = docstring(step)?.to_string();
    let objs = crate::steps::common::parse_manifests(world, &text)?;
    match objs.as_slice() {
        [one] => Ok((text, one.clone())),
        _ => Err(anyhow!("the step needs exactly one manifest")),
    }
}

#[when(
    expr = "I stop the holder of the Lease {string} in {string} and measure the failover to the scheduling of this Pod:"
)]
async fn scheduler_failover(
    world: &mut KubeWorld,
    lease: String,
    namespace: String,
    step: &Step,
) -> Outcome {
    let (text, pod) = manifest_of(world, step)?;
    let name = pod
        .metadata
        .name
        .clone()
        .ok_or_else(|| anyhow!("the Pod needs a name"))?;
    let line = step.position.line;
    measure(
        world,
        &lease,
        &namespace,
        &text,
        Action::Schedules(name),
        line,
    )
    .await
}

#[when(
    expr = "I stop the holder of the Lease {string} in {string} and measure the failover to the first Pod of this ReplicaSet:"
)]
async fn controller_failover(
    world: &mut KubeWorld,
    lease: String,
    namespace: String,
    step: &Step,
) -> Outcome {
    let (text, rs) = manifest_of(world, step)?;
    let selector = selector_of(&rs).context("the ReplicaSet")?;
    let line = step.position.line;
    let action = Action::CreatesPodLabelled(selector);
    measure(world, &lease, &namespace, &text, action, line).await
}
