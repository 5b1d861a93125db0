//! Deployment status and the Progressing / Available conditions (`sync.go`
//! calculateStatus, `progress.go` syncRolloutStatus).

use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentStatus};

use super::super::util::*;
use super::{
    MIN_AVAILABLE, MIN_UNAVAILABLE, NEW_RS_AVAILABLE, RS_UPDATED, Sim, TIMED_OUT,
    deployment_complete, requeue_stuck,
};
use crate::util::time::plus_secs;

impl Sim<'_> {
    fn all_with(&self, new: Option<usize>) -> Vec<usize> {
        let mut all = self.olds(new);
        all.extend(new);
        all
    }

    /// `calculateStatus`.
    fn calculate_status(&self, new: Option<usize>) -> DeploymentStatus {
        let all = self.all_with(new);
        let available = self.sum(&all, rs_available);
        let total = self.sum(&all, rs_replicas);
        let old = self.d.status.clone().unwrap_or_default();
        let mut status = DeploymentStatus {
            observed_generation: Some(self.d.metadata.generation.unwrap_or(0)),
            replicas: Some(self.sum(&all, rs_actual)),
            updated_replicas: Some(new.map_or(0, |n| rs_actual(&self.rss[n]))),
            ready_replicas: Some(self.sum(&all, rs_ready)),
            available_replicas: Some(available),
            unavailable_replicas: Some((total - available).max(0)),
            collision_count: old.collision_count,
            conditions: old.conditions.clone(),
            terminating_replicas: old.terminating_replicas,
        };
        let cond = if available >= d_replicas(&self.d) - max_unavailable(&self.d) {
            new_condition(
                "Available",
                "True",
                MIN_AVAILABLE,
                "Deployment has minimum availability.",
                self.now,
            )
        } else {
            new_condition(
                "Available",
                "False",
                MIN_UNAVAILABLE,
                "Deployment does not have minimum availability.",
                self.now,
            )
        };
        set_condition(&mut status, cond);
        status
    }

    /// `syncDeploymentStatus`: counts and Available only.
    pub(super) fn sync_deployment_status(&mut self, new: Option<usize>) {
        let status = self.calculate_status(new);
        self.d.status = Some(status);
    }

    /// `syncRolloutStatus`: counts, Available, Progressing and ReplicaFailure.
    pub(super) fn sync_rollout_status(&mut self, new: Option<usize>) {
        let mut status = self.calculate_status(new);
        let deadline = progress_deadline(&self.d);
        if deadline.is_none() {
            remove_condition(&mut status, "Progressing");
        }
        let old = self.d.status.clone().unwrap_or_default();
        let current = get_condition(&old, "Progressing").cloned();
        let complete_already = status.replicas == status.updated_replicas
            && current.as_ref().and_then(|c| c.reason.as_deref()) == Some(NEW_RS_AVAILABLE);
        let subject = match new {
            Some(n) => format!(
                "ReplicaSet {:?}",
                self.rss[n].metadata.name.clone().unwrap_or_default()
            ),
            None => format!(
                "Deployment {:?}",
                self.d.metadata.name.clone().unwrap_or_default()
            ),
        };
        if let Some(deadline) = deadline
            && !complete_already
        {
            if deployment_complete(&self.d, &status) {
                let msg = format!("{subject} has successfully progressed.");
                set_condition(
                    &mut status,
                    new_condition("Progressing", "True", NEW_RS_AVAILABLE, &msg, self.now),
                );
            } else if progressing(&old, &status) {
                let msg = format!("{subject} is progressing.");
                let mut cond = new_condition("Progressing", "True", RS_UPDATED, &msg, self.now);
                if let Some(cur) = &current {
                    if cur.status == "True" {
                        cond.last_transition_time = cur.last_transition_time.clone();
                    }
                    remove_condition(&mut status, "Progressing");
                }
                set_condition(&mut status, cond);
            } else if self.timed_out(&status, deadline) {
                let msg = format!("{subject} has timed out progressing.");
                set_condition(
                    &mut status,
                    new_condition("Progressing", "False", TIMED_OUT, &msg, self.now),
                );
            }
        }
        match self.replica_failure(new) {
            Some(c) => set_condition(&mut status, c),
            None => remove_condition(&mut status, "ReplicaFailure"),
        }
        if crate::util::json::semantically_equal(&status, &old) {
            self.requeue = requeue_stuck(&self.d, &status, self.now);
        }
        self.d.status = Some(status);
    }

    /// `DeploymentTimedOut`.
    fn timed_out(&self, status: &DeploymentStatus, deadline: i32) -> bool {
        let Some(cond) = get_condition(status, "Progressing") else {
            return false;
        };
        match cond.reason.as_deref() {
            Some(NEW_RS_AVAILABLE) => false,
            Some(TIMED_OUT) => true,
            _ => cond
                .last_update_time
                .as_ref()
                .is_some_and(|t| plus_secs(t.0, i64::from(deadline)) < self.now),
        }
    }

    /// `getReplicaFailures`: the first ReplicaFailure of the new RS, else of an old one.
    fn replica_failure(&self, new: Option<usize>) -> Option<DeploymentCondition> {
        let mut order: Vec<usize> = new.into_iter().collect();
        order.extend(self.olds(new));
        order.iter().find_map(|i| {
            let c = self.rss[*i]
                .status
                .as_ref()?
                .conditions
                .as_ref()?
                .iter()
                .find(|c| c.type_ == "ReplicaFailure")?;
            Some(DeploymentCondition {
                type_: c.type_.clone(),
                status: c.status.clone(),
                reason: c.reason.clone(),
                message: c.message.clone(),
                last_update_time: c.last_transition_time.clone(),
                last_transition_time: c.last_transition_time.clone(),
            })
        })
    }
}

/// `DeploymentProgressing`: updated up, old down, ready up, or available up.
fn progressing(old: &DeploymentStatus, new: &DeploymentStatus) -> bool {
    let v = |x: Option<i32>| x.unwrap_or(0);
    let old_old = v(old.replicas) - v(old.updated_replicas);
    let new_old = v(new.replicas) - v(new.updated_replicas);
    v(new.updated_replicas) > v(old.updated_replicas)
        || new_old < old_old
        || v(new.ready_replicas) > v(old.ready_replicas)
        || v(new.available_replicas) > v(old.available_replicas)
}
