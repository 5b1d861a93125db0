//! The Deployment decision (`sync.go`, `rolling.go`, `recreate.go`, `progress.go`) as a
//! simulation: upstream's sequence of writes is replayed on in-memory copies of the
//! ReplicaSets, recording each write as a [`Step`] for the driver to carry out in order.
//! Entry point: [`plan`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::util::*;
use crate::runtime::events::PlannedEvent;
use crate::util::json::semantically_equal;
use crate::util::owner::Owner;
use crate::util::time::{Timestamp, duration_until, plus_secs};

pub use super::reasons;
use reasons::*;

/// Why a deployment cannot be planned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// `spec.strategy.type` is neither RollingUpdate nor Recreate.
    #[error("unexpected deployment strategy type: {0}")]
    UnknownStrategy(String),
}

/// One write, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Create this ReplicaSet (the new RS of the current template).
    CreateRs {
        /// The object to create.
        rs: Box<ReplicaSet>,
        /// `Scaled up replica set <rs> from 0 to <n>` when n > 0.
        event: Option<PlannedEvent>,
    },
    /// Write this ReplicaSet's spec.replicas, minReadySeconds and annotations.
    UpdateRs {
        /// The desired object (name and resourceVersion identify it).
        rs: Box<ReplicaSet>,
        /// The ScalingReplicaSet event when the size changed.
        event: Option<PlannedEvent>,
    },
    /// Delete an old ReplicaSet beyond revisionHistoryLimit.
    DeleteRs {
        /// Its name.
        name: String,
    },
    /// Set the deployment's `deployment.kubernetes.io/revision` annotation.
    SetRevision(String),
    /// Record an event.
    Event(PlannedEvent),
}

/// What to do about a deployment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Writes in order.
    pub steps: Vec<Step>,
    /// The status to write, if it changed.
    pub status: Option<DeploymentStatus>,
    /// Look again after this long (a progress-deadline check).
    pub requeue: Option<Duration>,
}

/// Inputs: the deployment, the ReplicaSets it owns (after adoption), their pods by RS UID.
#[derive(Debug)]
pub struct Input<'a> {
    /// The deployment.
    pub d: &'a Deployment,
    /// Owned ReplicaSets.
    pub rss: Vec<ReplicaSet>,
    /// Pods by owning RS UID (for Recreate's "old pods still running" check).
    pub pods_by_rs: &'a HashMap<String, Vec<Arc<Pod>>>,
    /// Current time (second precision, as stored).
    pub now: Timestamp,
}

struct Sim<'a> {
    d: Deployment,
    rss: Vec<ReplicaSet>,
    pods_by_rs: &'a HashMap<String, Vec<Arc<Pod>>>,
    steps: Vec<Step>,
    now: Timestamp,
    requeue: Option<Duration>,
}

/// Plans one sync of a deployment.
pub fn plan(input: Input<'_>) -> Result<Plan, PlanError> {
    let original = input.d.status.clone().unwrap_or_default();
    let mut sim = Sim {
        d: input.d.clone(),
        rss: input.rss,
        pods_by_rs: input.pods_by_rs,
        steps: Vec::new(),
        now: input.now,
        requeue: None,
    };
    sim.rss.sort_by(by_creation);
    sim.run()?;
    let status = sim.d.status.clone().unwrap_or_default();
    Ok(Plan {
        steps: sim.steps,
        status: (!semantically_equal(&status, &original)).then_some(status),
        requeue: sim.requeue,
    })
}

fn selects_all(d: &Deployment) -> bool {
    let sel = d.spec.as_ref().map(|s| &s.selector);
    sel.is_none_or(|s| {
        s.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
            && s.match_expressions.as_ref().is_none_or(Vec::is_empty)
    })
}

impl Sim<'_> {
    fn status(&mut self) -> &mut DeploymentStatus {
        self.d.status.get_or_insert_with(Default::default)
    }

    fn run(&mut self) -> Result<(), PlanError> {
        if selects_all(&self.d) {
            self.steps.push(Step::Event(PlannedEvent::warning(
                SELECTING_ALL,
                "This deployment is selecting all pods. A non-empty selector is required.",
            )));
            let generation = self.d.metadata.generation.unwrap_or(0);
            if self.status().observed_generation.unwrap_or(0) < generation {
                self.status().observed_generation = Some(generation);
            }
            return Ok(());
        }
        if self.d.metadata.deletion_timestamp.is_some() {
            let new = self.get_all_and_sync_revision(false);
            self.sync_deployment_status(new);
            return Ok(());
        }
        self.check_paused_conditions();
        let paused = self.d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
        if paused || self.is_scaling_event() {
            self.sync(paused);
            return Ok(());
        }
        let strategy = self
            .d
            .spec
            .as_ref()
            .and_then(|s| s.strategy.as_ref())
            .and_then(|s| s.type_.clone())
            .unwrap_or_else(|| "RollingUpdate".into());
        match strategy.as_str() {
            "RollingUpdate" => self.rollout_rolling(),
            "Recreate" => self.rollout_recreate(),
            other => return Err(PlanError::UnknownStrategy(other.to_string())),
        }
        Ok(())
    }

    fn find_new(&self) -> Option<usize> {
        let template = self
            .d
            .spec
            .as_ref()
            .map(|s| s.template.clone())
            .unwrap_or_default();
        self.rss.iter().position(|rs| {
            rs.spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .is_some_and(|t| equal_ignore_hash(t, &template))
        })
    }

    fn olds(&self, new: Option<usize>) -> Vec<usize> {
        (0..self.rss.len()).filter(|i| Some(*i) != new).collect()
    }

    fn active(&self, idx: &[usize]) -> Vec<usize> {
        idx.iter()
            .copied()
            .filter(|i| rs_replicas(&self.rss[*i]) > 0)
            .collect()
    }

    fn sum(&self, idx: &[usize], f: fn(&ReplicaSet) -> i32) -> i32 {
        idx.iter().map(|i| f(&self.rss[*i])).sum()
    }

    fn set_revision(&mut self, rev: &str) -> bool {
        let ann = self
            .d
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new);
        if ann.get(REVISION).map(String::as_str) == Some(rev) {
            return false;
        }
        ann.insert(REVISION.into(), rev.into());
        self.steps.push(Step::SetRevision(rev.into()));
        true
    }

    fn set_progressing(&mut self, status: &str, reason: &str, message: String) {
        let cond = new_condition("Progressing", status, reason, &message, self.now);
        set_condition(self.status(), cond);
    }

    /// `getAllReplicaSetsAndSyncRevision`: returns the new RS index (creating it if asked).
    fn get_all_and_sync_revision(&mut self, create: bool) -> Option<usize> {
        let existing = self.find_new();
        let max_old = self
            .olds(existing)
            .iter()
            .map(|i| revision(&self.rss[*i]))
            .max()
            .unwrap_or(0);
        let new_revision = max_old + 1;
        let has_deadline = progress_deadline(&self.d).is_some();
        if let Some(i) = existing {
            let mut copy = self.rss[i].clone();
            let annotations_updated =
                set_new_rs_annotations(&self.d, &mut copy, new_revision, true);
            let min_ready = self.d.spec.as_ref().and_then(|s| s.min_ready_seconds);
            let spec = copy.spec.get_or_insert_with(Default::default);
            if annotations_updated || spec.min_ready_seconds != min_ready {
                spec.min_ready_seconds = min_ready;
                self.steps.push(Step::UpdateRs {
                    rs: Box::new(copy.clone()),
                    event: None,
                });
                self.rss[i] = copy;
                return Some(i);
            }
            let rev = copy
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(REVISION))
                .cloned()
                .unwrap_or_default();
            self.set_revision(&rev);
            if has_deadline && get_condition(self.status(), "Progressing").is_none() {
                let name = copy.metadata.name.clone().unwrap_or_default();
                self.set_progressing(
                    "True",
                    FOUND_NEW_RS,
                    format!("Found new replica set {name:?}"),
                );
            }
            return Some(i);
        }
        if !create {
            return None;
        }
        let rs = self.new_replica_set(new_revision);
        let replicas = rs_replicas(&rs);
        let name = rs.metadata.name.clone().unwrap_or_default();
        let event = (replicas > 0).then(|| {
            PlannedEvent::normal(
                SCALING_REPLICA_SET,
                format!("Scaled up replica set {name} from 0 to {replicas}"),
            )
        });
        self.steps.push(Step::CreateRs {
            rs: Box::new(rs.clone()),
            event,
        });
        self.rss.push(rs);
        self.set_revision(&new_revision.to_string());
        if has_deadline {
            self.set_progressing(
                "True",
                NEW_RS_CREATED,
                format!("Created new replica set {name:?}"),
            );
        }
        Some(self.rss.len() - 1)
    }

    fn new_replica_set(&self, new_revision: i64) -> ReplicaSet {
        let spec = self.d.spec.clone().unwrap_or_default();
        let mut template = spec.template.clone();
        let hash = compute_hash(
            &template,
            self.d.status.as_ref().and_then(|s| s.collision_count),
        );
        let mut labels = template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone())
            .unwrap_or_default();
        labels.insert(POD_TEMPLATE_HASH.into(), hash.clone());
        template
            .metadata
            .get_or_insert_with(Default::default)
            .labels = Some(labels.clone());
        let mut selector = spec.selector.clone();
        selector
            .match_labels
            .get_or_insert_with(BTreeMap::new)
            .insert(POD_TEMPLATE_HASH.into(), hash.clone());
        let d_name = self.d.metadata.name.clone().unwrap_or_default();
        let owner = Owner::new(
            "apps/v1",
            "Deployment",
            &d_name,
            self.d.metadata.uid.as_deref().unwrap_or_default(),
        );
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(format!("{d_name}-{hash}")),
                namespace: self.d.metadata.namespace.clone(),
                owner_references: Some(vec![owner.controller_ref()]),
                labels: Some(labels),
                creation_timestamp: Some(Time(self.now)),
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: spec.min_ready_seconds,
                selector,
                template: Some(template),
            }),
            status: None,
        };
        let mut all: Vec<&ReplicaSet> = self.rss.iter().collect();
        all.push(&rs);
        let replicas = new_rs_new_replicas(&self.d, &all, &rs);
        rs.spec.get_or_insert_with(Default::default).replicas = Some(replicas);
        set_new_rs_annotations(&self.d, &mut rs, new_revision, false);
        rs
    }

    /// `scaleReplicaSetAndRecordEvent`.
    fn scale_and_record(&mut self, i: usize, new_scale: i32) -> bool {
        let current = rs_replicas(&self.rss[i]);
        if current == new_scale {
            return false;
        }
        let up = current < new_scale;
        self.scale_rs(i, new_scale, up)
    }

    /// `scaleReplicaSet`: writes size and replica annotations; an event if the size changed.
    fn scale_rs(&mut self, i: usize, new_scale: i32, up: bool) -> bool {
        let mut copy = self.rss[i].clone();
        let old = rs_replicas(&copy);
        let size_changed = old != new_scale;
        let replicas = d_replicas(&self.d);
        let annotations_changed =
            set_replicas_annotations(&mut copy, replicas, replicas + max_surge(&self.d));
        if !size_changed && !annotations_changed {
            return false;
        }
        copy.spec.get_or_insert_with(Default::default).replicas = Some(new_scale);
        let name = copy.metadata.name.clone().unwrap_or_default();
        let event = size_changed.then(|| {
            let dir = if up { "up" } else { "down" };
            PlannedEvent::normal(
                SCALING_REPLICA_SET,
                format!("Scaled {dir} replica set {name} from {old} to {new_scale}"),
            )
        });
        self.steps.push(Step::UpdateRs {
            rs: Box::new(copy.clone()),
            event,
        });
        self.rss[i] = copy;
        size_changed
    }
}

/// `NewRSNewReplicas`: how big the new RS may be now.
pub fn new_rs_new_replicas(d: &Deployment, all: &[&ReplicaSet], new: &ReplicaSet) -> i32 {
    let replicas = d_replicas(d);
    if !is_rolling(d) {
        return replicas;
    }
    let current: i32 = all.iter().map(|rs| rs_replicas(rs)).sum();
    let max_total = replicas + max_surge(d);
    if current >= max_total {
        return rs_replicas(new);
    }
    rs_replicas(new) + (max_total - current).min(replicas - rs_replicas(new))
}

/// The status after a failed new-RS creation (`ReplicaSetCreateError`), and its event.
pub fn create_error(
    d: &Deployment,
    rs_name: &str,
    err: &str,
    now: Timestamp,
) -> (Option<DeploymentStatus>, PlannedEvent) {
    let msg = format!("Failed to create new replica set {rs_name:?}: {err}");
    let status = progress_deadline(d).map(|_| {
        let mut s = d.status.clone().unwrap_or_default();
        set_condition(
            &mut s,
            new_condition("Progressing", "False", FAILED_RS_CREATE, &msg, now),
        );
        s
    });
    (status, PlannedEvent::warning(FAILED_RS_CREATE, msg))
}

/// When a stuck rollout must be looked at again (`requeueStuckDeployment`).
fn requeue_stuck(
    d: &Deployment,
    new_status: &DeploymentStatus,
    now: Timestamp,
) -> Option<Duration> {
    let deadline = progress_deadline(d)?;
    let cond = get_condition(d.status.as_ref()?, "Progressing")?;
    if deployment_complete(d, new_status) || cond.reason.as_deref() == Some(TIMED_OUT) {
        return None;
    }
    let last = cond.last_update_time.as_ref()?.0;
    let after = duration_until(plus_secs(last, i64::from(deadline)), now);
    Some(if after < Duration::from_secs(1) {
        Duration::from_secs(1)
    } else {
        after + Duration::from_secs(1)
    })
}

/// `DeploymentComplete`.
pub fn deployment_complete(d: &Deployment, s: &DeploymentStatus) -> bool {
    let r = d_replicas(d);
    s.updated_replicas.unwrap_or(0) == r
        && s.replicas.unwrap_or(0) == r
        && s.available_replicas.unwrap_or(0) == r
        && s.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

#[path = "plan_rollout.rs"]
mod rollout;
#[path = "plan_status.rs"]
mod status;

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
