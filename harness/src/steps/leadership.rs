//! Leadership steps: record who held a leader Lease over time, cut its holder off from
//! the API server, and check that every binding was made by the scheduler that held the
//! Lease when it made it: one active scheduler at a time, no split brain (chapter 11.6).
//!
//! Entry points: the step functions. The rule that judges a binding's author is pure, in
//! [`super::authorship`]; the Lease is recorded by a [`super::background`] job watching
//! it from before the fault.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use chrono::{DateTime, Utc};
use cucumber::{given, then, when};
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DynamicObject, ListParams, WatchEvent, WatchParams};
use serde_json::Value;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::authorship::{LeaseHistory, judge_bindings};
use super::background::{spawn, state};
use super::{Outcome, field, name_of};
use crate::kinds;
use crate::targets::Fault;
use crate::world::KubeWorld;

/// The event reason a scheduler records for each binding.
pub const REASON_SCHEDULED: &str = "Scheduled";

/// What the Lease recorder shares with the steps.
#[derive(Debug, Default)]
pub struct LeaseRecorder {
    history: Mutex<LeaseHistory>,
    changed: Notify,
}

impl LeaseRecorder {
    /// A copy of the history so far.
    pub fn history(&self) -> LeaseHistory {
        self.history.lock().map(|h| h.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut LeaseHistory)) {
        if let Ok(mut h) = self.history.lock() {
            f(&mut h);
        }
        self.changed.notify_waiters();
    }

    fn observe(&self, lease: &DynamicObject) {
        let holder = field(lease, "spec.holderIdentity").unwrap_or_default();
        let at = |path: &str| {
            field(lease, path)
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        let (acquired, renewed) = (at("spec.acquireTime"), at("spec.renewTime"));
        self.update(|h| h.observe(&holder, acquired, renewed, Utc::now()));
    }

    /// Re-checks the history after every change until `done` holds or `deadline` passes.
    async fn wait(
        &self,
        deadline: Duration,
        done: impl Fn(&LeaseHistory) -> bool,
    ) -> Result<(), LeaseHistory> {
        let end = Instant::now() + deadline;
        loop {
            let changed = self.changed.notified();
            if done(&self.history()) {
                return Ok(());
            }
            if tokio::time::timeout_at(end, changed).await.is_err() {
                return Err(self.history());
            }
        }
    }
}

/// Lists, then watches the Leases of the namespace, feeding the one named `name` to the
/// recorder; re-lists (with a note: terms in between may be missed) when the watch ends
/// badly. Runs until the scenario's teardown aborts it.
async fn record_lease(api: Api<DynamicObject>, name: String, rec: Arc<LeaseRecorder>) {
    let mut listed_once = false;
    loop {
        let list = match api.list(&ListParams::default()).await {
            Ok(l) => l,
            Err(e) => {
                rec.update(|h| h.note(format!("cannot list Leases: {e}")));
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        if listed_once {
            rec.update(|h| {
                h.note(format!(
                    "re-listed at {}: holders in between may be missing",
                    Utc::now().to_rfc3339()
                ));
            });
        }
        listed_once = true;
        if let Some(l) = list.items.iter().find(|l| name_of(l) == name) {
            rec.observe(l);
        }
        let mut rv = list.metadata.resource_version.unwrap_or_default();
        'watch: loop {
            let stream = match api.watch(&WatchParams::default().timeout(290), &rv).await {
                Ok(s) => s,
                Err(_) => break 'watch,
            };
            let mut stream = stream.boxed();
            loop {
                match stream.try_next().await {
                    Ok(Some(WatchEvent::Added(l) | WatchEvent::Modified(l))) => {
                        rv = l.metadata.resource_version.clone().unwrap_or(rv);
                        if name_of(&l) == name {
                            rec.observe(&l);
                        }
                    }
                    Ok(Some(WatchEvent::Deleted(l))) => {
                        rv = l.metadata.resource_version.clone().unwrap_or(rv);
                        if name_of(&l) == name {
                            rec.update(|h| {
                                h.note(format!("the Lease was deleted at {}", Utc::now()));
                                h.observe("", None, None, Utc::now());
                            });
                        }
                    }
                    Ok(Some(WatchEvent::Bookmark(b))) => rv = b.metadata.resource_version,
                    // Expired or broken: list again.
                    Ok(Some(WatchEvent::Error(_))) | Err(_) => break 'watch,
                    // The server closed the watch: resume from the last revision.
                    Ok(None) => continue 'watch,
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn job_name(namespace: &str, name: &str) -> String {
    format!("lease-recorder/{namespace}/{name}")
}

#[given(expr = "I record the holders of the Lease {string} in {string}")]
async fn record_holders(world: &mut KubeWorld, name: String, namespace: String) -> Outcome {
    let api = world.api_for(&kinds::resolve("Lease")?, Some(&namespace))?;
    let rec = Arc::new(LeaseRecorder::default());
    let job = record_lease(api, name.clone(), rec.clone());
    spawn(world, &job_name(&namespace, &name), rec.clone(), job);
    let deadline = world.timings.failover;
    rec.wait(deadline, |h| h.terms().iter().any(|t| !t.holder.is_empty()))
        .await
        .map_err(|h| {
            anyhow!(
                "the Lease {namespace}/{name} had no holder within {deadline:?}\n{}",
                h.describe()
            )
        })?;
    Ok(())
}

async fn holder_now(
    world: &KubeWorld,
    name: &str,
    namespace: &str,
) -> anyhow::Result<DynamicObject> {
    let api = world.api_for(&kinds::resolve("Lease")?, Some(namespace))?;
    api.get(name)
        .await
        .with_context(|| format!("reading the Lease {namespace}/{name}"))
}

#[when(expr = "I partition the current holder of the Lease {string} in {string}")]
async fn partition_holder(world: &mut KubeWorld, name: String, namespace: String) -> Outcome {
    let lease = holder_now(world, &name, &namespace).await?;
    let holder = field(&lease, "spec.holderIdentity").unwrap_or_default();
    if holder.is_empty() {
        fail!("nobody holds the Lease {namespace}/{name}, so there is no leader to partition");
    }
    let transitions = field(&lease, "spec.leaseTransitions").unwrap_or_else(|| "0".into());
    // The names `eventually another instance holds the Lease ...` reads.
    world.vars.insert(format!("{name}-holder"), holder.clone());
    world
        .vars
        .insert(format!("{name}-transitions"), transitions);
    world
        .vars
        .insert(format!("{name}-partitioned"), holder.clone());
    world
        .inject(Fault::Partition {
            component: name,
            instance: holder,
        })
        .await?;
    Ok(())
}

#[when(expr = "I heal the partitioned holder of the Lease {string} in {string}")]
async fn heal_holder(world: &mut KubeWorld, name: String, _namespace: String) -> Outcome {
    let instance = world
        .vars
        .get(&format!("{name}-partitioned"))
        .cloned()
        .ok_or_else(|| anyhow!("no holder of the Lease {name:?} was partitioned"))?;
    world
        .inject(Fault::Heal {
            component: name,
            instance,
        })
        .await?;
    Ok(())
}

/// The bound Pods of the scenario's namespace: `(name, uid)`.
async fn bound_pods(world: &KubeWorld) -> anyhow::Result<Vec<(String, String)>> {
    let (_, api) = world.api("Pod")?;
    Ok(api
        .list(&ListParams::default())
        .await
        .context("listing the scenario's Pods")?
        .items
        .iter()
        .filter(|p| field(p, "spec.nodeName").is_some_and(|n| !n.is_empty()))
        .map(|p| (name_of(p), p.metadata.uid.clone().unwrap_or_default()))
        .collect())
}

/// The `Scheduled` events about the Pod `(name, uid)` (by uid when the event has one).
fn scheduled_events(events: &[DynamicObject], pod: &(String, String)) -> Vec<Value> {
    events
        .iter()
        .filter(|e| field(e, "reason").as_deref() == Some(REASON_SCHEDULED))
        .filter(|e| {
            let uid = field(e, "involvedObject.uid").unwrap_or_default();
            field(e, "involvedObject.name").as_deref() == Some(pod.0.as_str())
                && (uid.is_empty() || uid == pod.1)
        })
        .filter_map(|e| serde_json::to_value(e).ok())
        .collect()
}

/// Checks, for every Pod the scenario's namespace holds on a node, that the instance
/// its `Scheduled` event names held the Lease when it bound. The rule ([`super::authorship::judge`]):
/// - the holder history is what the harness watched since `I record the holders of the
///   Lease`: one term per `(holderIdentity, acquireTime)`, lasting until the next term's
///   `acquireTime` (a release, `holderIdentity: ""`, is a term of nobody);
/// - the author is the event's `reportingInstance` (else `source.host`); it names the
///   holder whose identity, hostname (`<hostname>_<uuid>`) or
///   `<reportingComponent>-<hostname>` (upstream's events.k8s.io recorder) it equals, and
///   must name exactly one holder ever seen;
/// - the event's time (`eventTime`, else its whole-second timestamp sharpened by the
///   nanoseconds in its name) must fall in one of that holder's terms.
///
/// A Pod without a `Scheduled` event, or reported bound by two instances, fails too.
/// The history is first brought up to the Lease as it is now, so a term that began just
/// before the check is not missing.
#[then(
    expr = "every Pod was bound by the instance holding the Lease {string} in {string} at the time"
)]
async fn bound_by_holder(world: &mut KubeWorld, name: String, namespace: String) -> Outcome {
    let rec = state::<LeaseRecorder>(world, &job_name(&namespace, &name)).map_err(|e| {
        anyhow!(
            "{e}: start with \"Given I record the holders of the Lease {name:?} in {namespace:?}\""
        )
    })?;
    let current = field(
        &holder_now(world, &name, &namespace).await?,
        "spec.holderIdentity",
    )
    .unwrap_or_default();
    rec.wait(world.timings.expect, |h| {
        h.terms().last().is_some_and(|t| t.holder == current)
    })
    .await
    .map_err(|h| {
        anyhow!(
            "the recorded history never caught up with the current holder {current:?}\n{}",
            h.describe()
        )
    })?;
    let pods = bound_pods(world).await?;
    if pods.is_empty() {
        fail!("no Pod of the scenario is bound, so no binding can be checked");
    }
    let what = format!(
        "a {REASON_SCHEDULED} event about each of {} bound Pods",
        pods.len()
    );
    let events = world
        .wait_for("Event", "", &what, world.timings.expect, |events| {
            pods.iter()
                .all(|p| !scheduled_events(events, p).is_empty())
                .then(|| events.to_vec())
        })
        .await?;
    let bindings: Vec<(String, Vec<Value>)> = pods
        .iter()
        .map(|p| (p.0.clone(), scheduled_events(&events, p)))
        .collect();
    let history = rec.history();
    let problems = judge_bindings(&history, &bindings);
    if !problems.is_empty() {
        fail!(
            "{} of {} bindings were not made by the Lease's holder at the time:\n  {}\n{}",
            problems.len(),
            bindings.len(),
            problems.join("\n  "),
            history.describe()
        );
    }
    Ok(())
}
