//! The rollout strategies and scaling of the deployment simulation (`rolling.go`,
//! `recreate.go`, `sync.go` scale / cleanup / paused conditions).

use super::super::util::*;
use super::{PAUSED, RESUMED, Sim, Step, TIMED_OUT, deployment_complete, new_rs_new_replicas};
use crate::util::pods::phase;

impl Sim<'_> {
    /// `rolloutRolling`: scale up, else scale down, then status (and cleanup when complete).
    pub(super) fn rollout_rolling(&mut self) {
        let new = self.get_all_and_sync_revision(true);
        let olds = self.olds(new);
        if let Some(n) = new {
            if self.reconcile_new(n) {
                self.sync_rollout_status(new);
                return;
            }
            let active_olds = self.active(&olds);
            if self.reconcile_old(&active_olds, n) {
                self.sync_rollout_status(new);
                return;
            }
        }
        if deployment_complete(&self.d, &self.d.status.clone().unwrap_or_default()) {
            self.cleanup(&olds);
        }
        self.sync_rollout_status(new);
    }

    fn reconcile_new(&mut self, n: usize) -> bool {
        let replicas = d_replicas(&self.d);
        let current = rs_replicas(&self.rss[n]);
        if current == replicas {
            return false;
        }
        if current > replicas {
            return self.scale_and_record(n, replicas);
        }
        let all: Vec<&k8s_openapi::api::apps::v1::ReplicaSet> = self.rss.iter().collect();
        let count = new_rs_new_replicas(&self.d, &all, &self.rss[n]);
        self.scale_and_record(n, count)
    }

    fn reconcile_old(&mut self, active_olds: &[usize], n: usize) -> bool {
        if self.sum(active_olds, rs_replicas) == 0 {
            return false;
        }
        let all: Vec<usize> = (0..self.rss.len()).collect();
        let all_pods = self.sum(&all, rs_replicas);
        let min_available = d_replicas(&self.d) - max_unavailable(&self.d);
        let new_unavailable = rs_replicas(&self.rss[n]) - rs_available(&self.rss[n]);
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return false;
        }
        let cleaned = self.cleanup_unhealthy(active_olds, max_scaled_down);
        let mut with_new = active_olds.to_vec();
        with_new.push(n);
        let scaled = self.scale_down_old_for_rolling(&with_new, active_olds);
        cleaned + scaled > 0
    }

    fn sorted_by_creation(&self, idx: &[usize]) -> Vec<usize> {
        let mut v = idx.to_vec();
        v.sort_by(|a, b| by_creation(&self.rss[*a], &self.rss[*b]));
        v
    }

    /// `cleanupUnhealthyReplicas`: drop not-available replicas of old RSs, oldest first.
    fn cleanup_unhealthy(&mut self, olds: &[usize], max_cleanup: i32) -> i32 {
        let mut total = 0;
        for i in self.sorted_by_creation(olds) {
            if total >= max_cleanup {
                break;
            }
            let (replicas, available) = (rs_replicas(&self.rss[i]), rs_available(&self.rss[i]));
            if replicas == 0 || replicas == available {
                continue;
            }
            let count = (max_cleanup - total).min(replicas - available);
            self.scale_and_record(i, replicas - count);
            total += count;
        }
        total
    }

    /// `scaleDownOldReplicaSetsForRollingUpdate`: keep at least replicas - maxUnavailable
    /// available, scaling old RSs down oldest first.
    fn scale_down_old_for_rolling(&mut self, all: &[usize], olds: &[usize]) -> i32 {
        let min_available = d_replicas(&self.d) - max_unavailable(&self.d);
        let available = self.sum(all, rs_available);
        if available <= min_available {
            return 0;
        }
        let target = available - min_available;
        let mut total = 0;
        for i in self.sorted_by_creation(olds) {
            if total >= target {
                break;
            }
            let replicas = rs_replicas(&self.rss[i]);
            if replicas == 0 {
                continue;
            }
            let count = replicas.min(target - total);
            self.scale_and_record(i, replicas - count);
            total += count;
        }
        total
    }

    /// `rolloutRecreate`: old RSs to zero, wait for their pods, then the new RS.
    pub(super) fn rollout_recreate(&mut self) {
        let mut new = self.get_all_and_sync_revision(false);
        let olds = self.olds(new);
        let mut scaled_down = false;
        for i in self.active(&olds) {
            scaled_down |= self.scale_and_record(i, 0);
        }
        if scaled_down || self.old_pods_running(new, &olds) {
            self.sync_rollout_status(new);
            return;
        }
        if new.is_none() {
            new = self.get_all_and_sync_revision(true);
        }
        if let Some(n) = new {
            self.scale_and_record(n, d_replicas(&self.d));
        }
        if deployment_complete(&self.d, &self.d.status.clone().unwrap_or_default()) {
            let olds = self.olds(new);
            self.cleanup(&olds);
        }
        self.sync_rollout_status(new);
    }

    fn old_pods_running(&self, new: Option<usize>, olds: &[usize]) -> bool {
        if self.sum(olds, rs_actual) > 0 {
            return true;
        }
        let new_uid = new.and_then(|n| self.rss[n].metadata.uid.clone());
        self.pods_by_rs
            .iter()
            .filter(|(uid, _)| Some(*uid) != new_uid.as_ref())
            .any(|(_, pods)| {
                pods.iter()
                    .any(|p| !matches!(phase(p), "Failed" | "Succeeded"))
            })
    }

    /// `sync`: scaling or paused; no rollout progress.
    pub(super) fn sync(&mut self, paused: bool) {
        let new = self.get_all_and_sync_revision(false);
        self.scale(new);
        if paused {
            let olds = self.olds(new);
            self.cleanup(&olds);
        }
        self.sync_deployment_status(new);
    }

    /// `isScalingEvent`: an active RS was sized for a different spec.replicas.
    pub(super) fn is_scaling_event(&mut self) -> bool {
        let new = self.get_all_and_sync_revision(false);
        let mut all = self.olds(new);
        all.extend(new);
        let replicas = d_replicas(&self.d);
        self.active(&all)
            .iter()
            .any(|i| desired_annotation(&self.rss[*i]).is_some_and(|want| want != replicas))
    }

    /// `scale`: proportional scaling across active RSs.
    fn scale(&mut self, new: Option<usize>) {
        let replicas = d_replicas(&self.d);
        let olds = self.olds(new);
        if let Some(i) = self.active_or_latest(new, &olds) {
            if rs_replicas(&self.rss[i]) != replicas {
                self.scale_and_record(i, replicas);
            }
            return;
        }
        if let Some(n) = new
            && self.is_saturated(n)
        {
            for i in self.active(&olds) {
                self.scale_and_record(i, 0);
            }
            return;
        }
        if !is_rolling(&self.d) {
            return;
        }
        let mut all = olds.clone();
        all.extend(new);
        let mut all = self.active(&all);
        let current = self.sum(&all, rs_replicas);
        let allowed = if replicas > 0 {
            replicas + max_surge(&self.d)
        } else {
            0
        };
        let to_add = allowed - current;
        let up = to_add > 0;
        if to_add > 0 {
            all.sort_by(|a, b| by_size_newer(&self.rss[*a], &self.rss[*b]));
        } else if to_add < 0 {
            all.sort_by(|a, b| by_size_older(&self.rss[*a], &self.rss[*b]));
        }
        let mut added = 0;
        let mut sizes = Vec::with_capacity(all.len());
        for i in &all {
            let rs = &self.rss[*i];
            let proportion = if to_add != 0 {
                self.proportion(rs, to_add, added)
            } else {
                0
            };
            sizes.push(rs_replicas(rs) + proportion);
            added += proportion;
        }
        for (pos, i) in all.iter().enumerate() {
            let mut size = sizes[pos];
            if pos == 0 && to_add != 0 {
                size = (size + to_add - added).max(0);
            }
            self.scale_rs(*i, size, up);
        }
    }

    /// `GetProportion`.
    fn proportion(
        &self,
        rs: &k8s_openapi::api::apps::v1::ReplicaSet,
        to_add: i32,
        added: i32,
    ) -> i32 {
        if rs_replicas(rs) == 0 || to_add == 0 || to_add == added {
            return 0;
        }
        let fraction = self.fraction(rs);
        let allowed = to_add - added;
        if to_add > 0 {
            fraction.min(allowed)
        } else {
            fraction.max(allowed)
        }
    }

    /// `getReplicaSetFraction`.
    fn fraction(&self, rs: &k8s_openapi::api::apps::v1::ReplicaSet) -> i32 {
        let replicas = d_replicas(&self.d);
        if replicas == 0 {
            return -rs_replicas(rs);
        }
        let max = replicas + max_surge(&self.d);
        let annotated = match max_replicas_annotation(rs) {
            Some(n) if n != 0 => n,
            _ => self.d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0),
        };
        if annotated == 0 {
            return 0;
        }
        let size = f64::from(rs_replicas(rs) * max) / f64::from(annotated);
        #[allow(clippy::cast_possible_truncation)]
        let rounded = size.round() as i32;
        rounded - rs_replicas(rs)
    }

    /// `FindActiveOrLatest`.
    fn active_or_latest(&self, new: Option<usize>, olds: &[usize]) -> Option<usize> {
        if new.is_none() && olds.is_empty() {
            return None;
        }
        let mut olds_desc = olds.to_vec();
        olds_desc.sort_by(|a, b| by_creation(&self.rss[*b], &self.rss[*a]));
        let mut all = olds_desc.clone();
        all.extend(new);
        let active = self.active(&all);
        match active.len() {
            0 => new.or_else(|| olds_desc.first().copied()),
            1 => Some(active[0]),
            _ => None,
        }
    }

    /// `IsSaturated`.
    fn is_saturated(&self, n: usize) -> bool {
        let rs = &self.rss[n];
        let replicas = d_replicas(&self.d);
        desired_annotation(rs) == Some(replicas)
            && rs_replicas(rs) == replicas
            && rs_available(rs) == replicas
    }

    /// `cleanupDeployment`: delete old, empty RSs beyond revisionHistoryLimit, lowest
    /// revision first.
    pub(super) fn cleanup(&mut self, olds: &[usize]) {
        // apps/v1 defaults the limit to 10; MaxInt32 means "keep all".
        let limit = self
            .d
            .spec
            .as_ref()
            .and_then(|s| s.revision_history_limit)
            .unwrap_or(10);
        if limit == i32::MAX {
            return;
        }
        let mut cleanable: Vec<usize> = olds
            .iter()
            .copied()
            .filter(|i| self.rss[*i].metadata.deletion_timestamp.is_none())
            .collect();
        let diff = i32::try_from(cleanable.len()).unwrap_or(i32::MAX) - limit;
        if diff <= 0 {
            return;
        }
        cleanable.sort_by(|a, b| by_revision(&self.rss[*a], &self.rss[*b]));
        for i in cleanable
            .into_iter()
            .take(usize::try_from(diff).unwrap_or(0))
        {
            let rs = &self.rss[i];
            let observed = rs
                .status
                .as_ref()
                .and_then(|s| s.observed_generation)
                .unwrap_or(0);
            if rs_actual(rs) != 0
                || rs_replicas(rs) != 0
                || rs.metadata.generation.unwrap_or(0) > observed
            {
                continue;
            }
            self.steps.push(Step::DeleteRs {
                name: rs.metadata.name.clone().unwrap_or_default(),
            });
        }
    }

    /// `checkPausedConditions`.
    pub(super) fn check_paused_conditions(&mut self) {
        if progress_deadline(&self.d).is_none() {
            return;
        }
        let cond = get_condition(self.status(), "Progressing").cloned();
        if cond.as_ref().and_then(|c| c.reason.as_deref()) == Some(TIMED_OUT) {
            return;
        }
        let paused_exists = cond.as_ref().and_then(|c| c.reason.as_deref()) == Some(PAUSED);
        let paused = self.d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
        if paused && !paused_exists {
            self.set_progressing("Unknown", PAUSED, "Deployment is paused".into());
        } else if !paused && paused_exists {
            self.set_progressing("Unknown", RESUMED, "Deployment is resumed".into());
        }
    }
}
