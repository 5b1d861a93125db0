//! What the pod worker remembers per container (current instance, restarts, last exit,
//! waiting reason) and how that becomes a `ContainerStatus`
//! (`kubelet_pods.go` convertToAPIContainerStatuses). Entry point: [`Record::api_status`].

use k8s_openapi::api::core::v1::{
    Container, ContainerState as ApiState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::probe::ProbeResult;
use crate::runtime::ContainerState;

/// Waiting reason of a container not created yet after initialization.
pub const CONTAINER_CREATING: &str = "ContainerCreating";
/// Waiting reason while init containers run.
pub const POD_INITIALIZING: &str = "PodInitializing";
/// Waiting reason while a crashed container backs off.
pub const CRASH_LOOP_BACK_OFF: &str = "CrashLoopBackOff";
/// Waiting reason after a failed pull.
pub const ERR_IMAGE_PULL: &str = "ErrImagePull";
/// Waiting reason while a failed pull backs off.
pub const IMAGE_PULL_BACK_OFF: &str = "ImagePullBackOff";

/// One run of a container.
#[derive(Debug)]
pub struct Instance {
    /// Runtime id.
    pub id: String,
    /// Last known state.
    pub state: ContainerState,
    /// When the worker saw it exit (monotonic, for back-off).
    pub exit_seen: Option<Instant>,
    /// Its probe tasks.
    pub probes: Vec<JoinHandle<()>>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop_probes();
    }
}

impl Instance {
    /// Stops the instance's probe tasks.
    pub fn stop_probes(&mut self) {
        for p in self.probes.drain(..) {
            p.abort();
        }
    }
    /// Whether it is running.
    pub fn running(&self) -> bool {
        matches!(self.state, ContainerState::Running { .. })
    }
    /// Its exit code, if it exited.
    pub fn exit_code(&self) -> Option<i32> {
        match self.state {
            ContainerState::Exited { exit_code, .. } => Some(exit_code),
            _ => None,
        }
    }
}

/// Per-container memory of the pod worker.
#[derive(Debug, Default)]
pub struct Record {
    /// The current instance.
    pub current: Option<Instance>,
    /// How many times the container was restarted.
    pub restart_count: i32,
    /// The previous instance's termination (`lastState.terminated`).
    pub last_termination: Option<ContainerStateTerminated>,
    /// A waiting reason and message overriding the default (`ErrImagePull`,
    /// `CrashLoopBackOff`, ...).
    pub waiting: Option<(String, String)>,
}

/// Builds `terminated` from an exited runtime state.
pub fn terminated(state: &ContainerState, container_id: &str) -> Option<ContainerStateTerminated> {
    match state {
        ContainerState::Exited {
            started_at,
            finished_at,
            exit_code,
        } => Some(ContainerStateTerminated {
            exit_code: *exit_code,
            reason: Some(
                if *exit_code == 0 {
                    "Completed"
                } else {
                    "Error"
                }
                .into(),
            ),
            started_at: Some(Time(*started_at)),
            finished_at: Some(Time(*finished_at)),
            container_id: Some(container_id.to_string()),
            ..ContainerStateTerminated::default()
        }),
        _ => None,
    }
}

fn waiting(reason: &str, message: Option<&str>) -> ApiState {
    ApiState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.to_string()),
            message: message.filter(|m| !m.is_empty()).map(str::to_string),
        }),
        ..ApiState::default()
    }
}

/// A fake but stable image digest, so `imageID` looks like a runtime's.
pub fn image_id(image: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest: String = Sha256::digest(image.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}@sha256:{digest}",
        crate::runtime::images::repository(image)
    )
}

impl Record {
    /// The API status of `container`. `default_waiting` applies when nothing ran yet;
    /// `startup`/`readiness` are the probe results (`None`: no such probe).
    pub fn api_status(
        &self,
        container: &Container,
        runtime: &str,
        default_waiting: &str,
        startup: Option<ProbeResult>,
        readiness: Option<ProbeResult>,
    ) -> ContainerStatus {
        let image = container.image.clone().unwrap_or_default();
        let mut status = ContainerStatus {
            name: container.name.clone(),
            image: image.clone(),
            image_id: String::new(),
            restart_count: self.restart_count,
            ready: false,
            started: Some(false),
            ..ContainerStatus::default()
        };
        let last = self.last_termination.clone();
        let (state, last_state) = match &self.current {
            Some(inst) => {
                let id = format!("{runtime}://{}", inst.id);
                status.container_id = Some(id.clone());
                status.image_id = image_id(&image);
                match &inst.state {
                    ContainerState::Running { started_at } => {
                        let started = startup.is_none_or(|r| r == ProbeResult::Success);
                        status.started = Some(started);
                        status.ready =
                            started && readiness.is_none_or(|r| r == ProbeResult::Success);
                        let running = ApiState {
                            running: Some(ContainerStateRunning {
                                started_at: Some(Time(*started_at)),
                            }),
                            ..ApiState::default()
                        };
                        (running, last)
                    }
                    exited @ ContainerState::Exited { .. } => match &self.waiting {
                        // Backing off before the next run: the exit moves to lastState.
                        Some((reason, message)) => {
                            (waiting(reason, Some(message)), terminated(exited, &id))
                        }
                        None => (
                            ApiState {
                                terminated: terminated(exited, &id),
                                ..ApiState::default()
                            },
                            last,
                        ),
                    },
                    ContainerState::Created => (waiting(CONTAINER_CREATING, None), last),
                }
            }
            None => {
                let (reason, message) = self
                    .waiting
                    .as_ref()
                    .map(|(r, m)| (r.as_str(), Some(m.as_str())))
                    .unwrap_or((default_waiting, None));
                (waiting(reason, message), last)
            }
        };
        status.state = Some(state);
        status.last_state = Some(ApiState {
            terminated: last_state,
            ..ApiState::default()
        });
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn container() -> Container {
        Container {
            name: "app".into(),
            image: Some("busybox".into()),
            ..Container::default()
        }
    }
    fn exited(code: i32) -> Instance {
        Instance {
            id: "abc".into(),
            state: ContainerState::Exited {
                started_at: Timestamp::UNIX_EPOCH,
                finished_at: Timestamp::UNIX_EPOCH,
                exit_code: code,
            },
            exit_seen: None,
            probes: vec![],
        }
    }

    #[test]
    fn a_container_that_never_ran_waits_with_the_default_reason() {
        let s = Record::default().api_status(&container(), "process", POD_INITIALIZING, None, None);
        let w = s.state.unwrap().waiting.unwrap();
        assert_eq!(w.reason.as_deref(), Some("PodInitializing"));
        assert_eq!(w.message, None);
        assert!(!s.ready);
    }

    #[test]
    fn a_backing_off_container_waits_and_shows_its_last_exit() {
        let rec = Record {
            current: Some(exited(3)),
            restart_count: 2,
            waiting: Some((
                CRASH_LOOP_BACK_OFF.into(),
                "back-off 20s restarting failed container=app pod=p_ns(u)".into(),
            )),
            ..Record::default()
        };
        let s = rec.api_status(&container(), "process", CONTAINER_CREATING, None, None);
        assert_eq!(
            s.state.unwrap().waiting.unwrap().reason.as_deref(),
            Some("CrashLoopBackOff")
        );
        let last = s.last_state.unwrap().terminated.unwrap();
        assert_eq!((last.exit_code, last.reason.as_deref()), (3, Some("Error")));
        assert_eq!(s.restart_count, 2);
        assert_eq!(s.container_id.as_deref(), Some("process://abc"));
    }

    #[test]
    fn a_finished_container_is_terminated_completed() {
        let rec = Record {
            current: Some(exited(0)),
            ..Record::default()
        };
        let t = rec
            .api_status(&container(), "sim", CONTAINER_CREATING, None, None)
            .state
            .unwrap()
            .terminated
            .unwrap();
        assert_eq!((t.exit_code, t.reason.as_deref()), (0, Some("Completed")));
    }

    #[test]
    fn readiness_requires_the_startup_probe_to_pass_first() {
        let rec = Record {
            current: Some(Instance {
                id: "x".into(),
                state: ContainerState::Running {
                    started_at: Timestamp::UNIX_EPOCH,
                },
                exit_seen: None,
                probes: vec![],
            }),
            ..Record::default()
        };
        let s = rec.api_status(
            &container(),
            "sim",
            CONTAINER_CREATING,
            Some(ProbeResult::Unknown),
            Some(ProbeResult::Success),
        );
        assert_eq!((s.started, s.ready), (Some(false), false));
        let s = rec.api_status(
            &container(),
            "sim",
            CONTAINER_CREATING,
            Some(ProbeResult::Success),
            None,
        );
        assert_eq!((s.started, s.ready), (Some(true), true));
    }
}
