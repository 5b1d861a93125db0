//! The pod worker's decision, as a pure function: from a pod, its sandbox, what it
//! remembers of each container and the probe results, what to kill, create and start
//! next (upstream `kuberuntime_manager.go` computePodActions and
//! computeInitContainerActions). The worker only executes the answer; the crash-loop
//! and image-pull back-offs are the executor's, as upstream's SyncPod applies them.
//! Entry point: [`compute_pod_actions`].
//!
//! Upstream's legacy `NextInitContainerToStart` is the path for clusters with the
//! `LegacySidecarContainers` gate on; the reference only has the path that replaced
//! it ([`PodActions::init_containers_to_start`]). Upstream also restarts a running
//! container whose definition changed (its hash) and resizes containers in place;
//! the reference's pods are immutable past what the API allows, so neither applies.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Container, Pod};

use super::record::Record;
use crate::probe::{ProbeKind, ProbeResult};
use crate::runtime::ContainerState;
use crate::status::is_sidecar;

/// The pod's sandbox as the worker last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxState {
    /// No sandbox was ever created for the pod.
    None,
    /// The latest sandbox: its id, which attempt it was (0 for the first), and whether it
    /// is ready (its pause process lives).
    Latest {
        /// Runtime id.
        id: String,
        /// 0 for the pod's first sandbox, then 1, 2 ...
        attempt: u32,
        /// False once the pause process exited (or the sandbox was removed).
        ready: bool,
    },
}

/// Why a running container is killed (upstream `containerKillReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillReason {
    /// Its startup probe failed.
    StartupProbe,
    /// Its liveness probe failed.
    LivenessProbe,
}

impl KillReason {
    /// The probe behind the kill.
    pub fn probe(self) -> ProbeKind {
        match self {
            KillReason::StartupProbe => ProbeKind::Startup,
            KillReason::LivenessProbe => ProbeKind::Liveness,
        }
    }
}

/// One container to kill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerToKill {
    /// Container name.
    pub name: String,
    /// Runtime id of the instance.
    pub id: String,
    /// The message of its `Killing` event.
    pub message: String,
    /// Why.
    pub reason: KillReason,
}

/// What to do for a pod in one pass (upstream `podActions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodActions {
    /// Stop every running container (init, regular, ephemeral) and the sandbox.
    pub kill_pod: bool,
    /// Create a new sandbox (after killing the pod when one existed).
    pub create_sandbox: bool,
    /// The existing (or dead) sandbox's id.
    pub sandbox_id: Option<String>,
    /// The attempt number of the sandbox to create.
    pub attempt: u32,
    /// Indexes into `spec.initContainers` to start, in order.
    pub init_containers_to_start: Vec<usize>,
    /// Indexes into `spec.containers` to start, in order.
    pub containers_to_start: Vec<usize>,
    /// Running containers to kill first.
    pub containers_to_kill: Vec<ContainerToKill>,
    /// Indexes into `spec.ephemeralContainers` to start (each runs once, never again).
    pub ephemeral_containers_to_start: Vec<usize>,
    /// Initialization is complete (computeInitContainerActions' answer); the regular
    /// containers were examined.
    pub initialized: bool,
}

/// What a probe reports for a container (`None`: it has no such result yet).
pub type ProbeLookup<'a> = &'a dyn Fn(&str, ProbeKind) -> Option<ProbeResult>;

/// The state of a container's current instance, if it has one.
fn instance<'r>(
    records: &'r HashMap<String, Record>,
    name: &str,
) -> Option<(&'r str, &'r ContainerState)> {
    records
        .get(name)
        .and_then(|r| r.current.as_ref())
        .map(|i| (i.id.as_str(), &i.state))
}

fn exit_code(state: &ContainerState) -> Option<i32> {
    match state {
        ContainerState::Exited { exit_code, .. } => Some(*exit_code),
        _ => None,
    }
}

/// `restartPolicy` other than `Never` (upstream `shouldRestartOnFailure`).
fn restart_on_failure(policy: &str) -> bool {
    policy != "Never"
}

/// Whether a regular container that is not running should be started (upstream
/// `ShouldContainerBeRestarted`).
fn should_start(pod: &Pod, policy: &str, state: Option<&ContainerState>) -> bool {
    if pod.metadata.deletion_timestamp.is_some() {
        return false;
    }
    match state {
        None | Some(ContainerState::Created) => true,
        Some(ContainerState::Running { .. }) => false,
        Some(ContainerState::Exited { exit_code, .. }) => match policy {
            "Never" => false,
            "OnFailure" => *exit_code != 0,
            _ => true,
        },
    }
}

/// Decides the next actions for `pod` (upstream computePodActions).
pub fn compute_pod_actions(
    pod: &Pod,
    sandbox: &SandboxState,
    records: &HashMap<String, Record>,
    probes: ProbeLookup<'_>,
) -> PodActions {
    let spec = pod.spec.clone().unwrap_or_default();
    let policy = spec.restart_policy.as_deref().unwrap_or("Always");
    let (create, attempt, sandbox_id) = match sandbox {
        SandboxState::None => (true, 0, None),
        SandboxState::Latest { id, attempt, ready } => (
            !ready,
            if *ready { *attempt } else { attempt + 1 },
            Some(id.clone()),
        ),
    };
    let mut actions = PodActions {
        kill_pod: create,
        create_sandbox: create,
        sandbox_id,
        attempt,
        ..PodActions::default()
    };
    let inits = spec.init_containers.as_deref().unwrap_or_default();

    if create {
        // Everything is killed and starts over in the new sandbox, init containers first.
        let any_status = records.values().any(|r| r.current.is_some());
        if !restart_on_failure(policy) && attempt != 0 && any_status {
            // A pod that is never restarted gets no second sandbox: it is only killed.
            actions.create_sandbox = false;
            return actions;
        }
        let to_start: Vec<usize> = spec
            .containers
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                let succeeded =
                    instance(records, &c.name).and_then(|(_, s)| exit_code(s)) == Some(0);
                !(policy == "OnFailure" && succeeded)
            })
            .map(|(i, _)| i)
            .collect();
        let any_regular_ran = spec
            .containers
            .iter()
            .any(|c| instance(records, &c.name).is_some());
        if to_start.is_empty() && any_regular_ran {
            // Initialized and nothing left to run: kill, do not re-create.
            actions.create_sandbox = false;
            return actions;
        }
        if inits.is_empty() {
            actions.containers_to_start = to_start;
        } else {
            actions.init_containers_to_start = vec![0];
        }
        return actions;
    }

    // Ephemeral containers start even while the pod initializes, once each.
    for (i, e) in spec.ephemeral_containers.iter().flatten().enumerate() {
        if instance(records, &e.name).is_none() {
            actions.ephemeral_containers_to_start.push(i);
        }
    }

    actions.initialized = init_container_actions(
        inits,
        &spec.containers,
        policy,
        records,
        probes,
        &mut actions,
    );
    if actions.kill_pod || !actions.initialized {
        return actions;
    }

    let mut keep = 0;
    for (i, c) in spec.containers.iter().enumerate() {
        let current = instance(records, &c.name);
        let Some((id, ContainerState::Running { .. })) = current else {
            if should_start(pod, policy, current.map(|(_, s)| s)) {
                actions.containers_to_start.push(i);
            }
            continue;
        };
        let Some(reason) = failed_probe(c, probes) else {
            keep += 1;
            continue;
        };
        let kind = reason.probe().title().to_lowercase();
        let mut message = format!("Container {} failed {kind} probe", c.name);
        if restart_on_failure(policy) {
            message.push_str(", will be restarted");
            actions.containers_to_start.push(i);
        }
        actions.containers_to_kill.push(ContainerToKill {
            name: c.name.clone(),
            id: id.to_string(),
            message,
            reason,
        });
    }
    if keep == 0 && actions.containers_to_start.is_empty() {
        actions.kill_pod = true;
        // Sidecars alone do not keep a pod alive.
        actions.init_containers_to_start.clear();
    }
    actions
}

/// The failed liveness (first) or startup probe of a running container, if any.
fn failed_probe(c: &Container, probes: ProbeLookup<'_>) -> Option<KillReason> {
    [KillReason::LivenessProbe, KillReason::StartupProbe]
        .into_iter()
        .find(|r| probes(&c.name, r.probe()) == Some(ProbeResult::Failure))
}

/// Whether a regular container was created or runs: then initialization ran before,
/// even if the init containers' records are gone.
fn any_regular_created(containers: &[Container], records: &HashMap<String, Record>) -> bool {
    containers.iter().any(|c| {
        matches!(
            instance(records, &c.name),
            Some((_, ContainerState::Created | ContainerState::Running { .. }))
        )
    })
}

/// The init containers' part (upstream computeInitContainerActions): walks them from
/// the last, since only the latest progress counts, adds to `actions` and returns
/// whether initialization is complete.
fn init_container_actions(
    inits: &[Container],
    containers: &[Container],
    policy: &str,
    records: &HashMap<String, Record>,
    probes: ProbeLookup<'_>,
    actions: &mut PodActions,
) -> bool {
    if inits.is_empty() {
        return true;
    }
    let mut initialized = any_regular_created(containers, records);
    let mut seen_progress = initialized;
    let mut to_start = Vec::new();
    for (i, c) in inits.iter().enumerate().rev() {
        let sidecar = is_sidecar(c);
        let last = i + 1 == inits.len();
        let Some((id, state)) = instance(records, &c.name) else {
            // Ran before but forgotten: only a sidecar needs to run again.
            if seen_progress && sidecar {
                to_start.push(i);
            }
            continue;
        };
        if seen_progress && !sidecar {
            continue;
        }
        match state {
            ContainerState::Created => to_start.push(i),
            ContainerState::Running { .. } if sidecar => {
                if c.startup_probe.is_some() {
                    match probes(&c.name, ProbeKind::Startup) {
                        Some(ProbeResult::Success) => {}
                        Some(ProbeResult::Failure) => {
                            actions.containers_to_kill.push(ContainerToKill {
                                name: c.name.clone(),
                                id: id.to_string(),
                                message: format!("Init container {} failed startup probe", c.name),
                                reason: KillReason::StartupProbe,
                            });
                            to_start.push(i);
                            seen_progress = true;
                            continue;
                        }
                        // Not started yet: wait for the probe.
                        _ => {
                            seen_progress = true;
                            continue;
                        }
                    }
                }
                if last {
                    initialized = true;
                } else if !seen_progress {
                    to_start.push(i + 1);
                }
                if c.liveness_probe.is_some()
                    && probes(&c.name, ProbeKind::Liveness) == Some(ProbeResult::Failure)
                {
                    actions.containers_to_kill.push(ContainerToKill {
                        name: c.name.clone(),
                        id: id.to_string(),
                        message: format!("Init container {} failed liveness probe", c.name),
                        reason: KillReason::LivenessProbe,
                    });
                    to_start.push(i);
                }
            }
            // A plain init container still running: wait for it.
            ContainerState::Running { .. } => {}
            ContainerState::Exited { exit_code, .. } => {
                if sidecar {
                    to_start.push(i);
                } else if *exit_code != 0 {
                    if !restart_on_failure(policy) {
                        actions.kill_pod = true;
                        actions.init_containers_to_start.clear();
                        return false;
                    }
                    to_start.push(i);
                } else if last {
                    initialized = true;
                } else {
                    to_start.push(i + 1);
                }
            }
        }
        seen_progress = true;
    }
    if !seen_progress {
        to_start.push(0);
    }
    to_start.reverse();
    actions.init_containers_to_start = to_start;
    initialized
}

#[cfg(test)]
#[path = "actions_tests.rs"]
mod tests;
