//! Assembles the pod's status from the worker's records (upstream
//! `generateAPIPodStatus`): container statuses, phase, conditions, IPs, start time.

use k8s_openapi::api::core::v1::{ContainerStatus, HostIP, PodIP, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::Worker;
use super::containers::{DEADLINE_EXCEEDED, DEADLINE_MESSAGE, ephemeral_as_container};
use super::record::{CONTAINER_CREATING, POD_INITIALIZING, Record};
use crate::probe::ProbeKind;
use crate::status::conditions::{kubelet_condition_values, kubelet_conditions};
use crate::status::phase::{FAILED, SUCCEEDED, is_terminal, pod_phase};

impl Worker {
    fn container_statuses(&self, init: bool) -> Vec<ContainerStatus> {
        let spec = self.pod.spec.as_ref();
        let containers: &[k8s_openapi::api::core::v1::Container] = match spec {
            Some(s) if init => s.init_containers.as_deref().unwrap_or_default(),
            Some(s) => &s.containers,
            None => &[],
        };
        let default_waiting = if init || !self.initialized {
            POD_INITIALIZING
        } else {
            CONTAINER_CREATING
        };
        let empty = Record::default();
        containers
            .iter()
            .map(|c| {
                let rec = self.records.get(&c.name).unwrap_or(&empty);
                let default_waiting = if init && rec.current.is_none() && self.sandbox_ready() {
                    POD_INITIALIZING
                } else {
                    default_waiting
                };
                rec.api_status(
                    c,
                    self.deps.runtime.name(),
                    default_waiting,
                    self.probes.get(&c.name, ProbeKind::Startup),
                    self.probes.get(&c.name, ProbeKind::Readiness),
                )
            })
            .collect()
    }

    /// `ephemeralContainerStatuses`: only for the ephemeral containers the pod has,
    /// waiting as its regular containers would until they start.
    fn ephemeral_statuses(&self) -> Vec<ContainerStatus> {
        let spec = self.pod.spec.as_ref();
        let has_init = spec
            .and_then(|s| s.init_containers.as_ref())
            .is_some_and(|c| !c.is_empty());
        let default_waiting = if has_init {
            POD_INITIALIZING
        } else {
            CONTAINER_CREATING
        };
        let empty = Record::default();
        spec.and_then(|s| s.ephemeral_containers.as_ref())
            .into_iter()
            .flatten()
            .map(|e| {
                let c = ephemeral_as_container(e);
                let rec = self.records.get(&c.name).unwrap_or(&empty);
                rec.api_status(&c, self.deps.runtime.name(), default_waiting, None, None)
            })
            .collect()
    }

    /// Whether the pod has a sandbox whose pause process lives.
    fn sandbox_ready(&self) -> bool {
        self.sandbox.as_ref().is_some_and(|s| s.ready)
    }

    /// The status to write. `final_status`: the pod was stopped for deletion, so its
    /// phase becomes terminal (Succeeded if every container exited 0, else Failed).
    pub(super) fn build_status(&self, final_status: bool) -> PodStatus {
        let spec = self.pod.spec.clone().unwrap_or_default();
        let existing = self.pod.status.clone().unwrap_or_default();
        let init = self.container_statuses(true);
        let regular = self.container_statuses(false);
        let previous_phase = self
            .last_written
            .as_ref()
            .and_then(|s| s.phase.clone())
            .or(existing.phase.clone())
            .unwrap_or_else(|| "Pending".into());
        let mut phase = pod_phase(&spec, &init, &regular, final_status).to_string();
        if final_status && !is_terminal(&phase) {
            let all_succeeded = regular.iter().all(|s| {
                s.state
                    .as_ref()
                    .and_then(|st| st.terminated.as_ref())
                    .is_some_and(|t| t.exit_code == 0)
            });
            phase = if all_succeeded { SUCCEEDED } else { FAILED }.to_string();
        }
        if self.deadline_exceeded {
            phase = FAILED.to_string();
        }
        // Terminal phases never revert.
        if is_terminal(&previous_phase) {
            phase = previous_phase;
        }
        let mut regular = regular;
        if is_terminal(&phase) {
            for s in &mut regular {
                s.ready = false;
            }
        }
        let existing_conditions = existing.conditions.clone().unwrap_or_default();
        let values = kubelet_condition_values(
            &spec,
            self.sandbox_ready(),
            &init,
            &regular,
            &phase,
            &existing_conditions,
        );
        let now = Time(Timestamp::now());
        let previous_conditions = self
            .last_written
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or(existing_conditions);
        let conditions = kubelet_conditions(values, &previous_conditions, &now);
        let host_ip = self.deps.node_ip.to_string();
        let pod_ip = self.pod_ip.map(|ip| ip.to_string());
        PodStatus {
            phase: Some(phase),
            conditions: Some(conditions),
            host_ip: Some(host_ip.clone()),
            host_ips: Some(vec![HostIP { ip: host_ip }]),
            pod_ip: pod_ip.clone(),
            pod_ips: pod_ip.map(|ip| vec![PodIP { ip }]),
            start_time: Some(self.start_time.clone()),
            init_container_statuses: (!init.is_empty()).then_some(init),
            container_statuses: Some(regular),
            ephemeral_container_statuses: Some(self.ephemeral_statuses()).filter(|s| !s.is_empty()),
            qos_class: existing.qos_class.clone(),
            reason: self
                .deadline_exceeded
                .then(|| DEADLINE_EXCEEDED.to_string())
                .or(existing.reason.clone()),
            message: self
                .deadline_exceeded
                .then(|| DEADLINE_MESSAGE.to_string())
                .or(existing.message.clone()),
            nominated_node_name: existing.nominated_node_name.clone(),
            ..PodStatus::default()
        }
    }
}
