//! The pod phase from container statuses: upstream `getPhase` in
//! `pkg/kubelet/kubelet_pods.go`. Entry point: [`pod_phase`].

use k8s_openapi::api::core::v1::{ContainerStatus, PodSpec};

use super::{find, is_sidecar};

/// `Pending`.
pub const PENDING: &str = "Pending";
/// `Running`.
pub const RUNNING: &str = "Running";
/// `Succeeded`.
pub const SUCCEEDED: &str = "Succeeded";
/// `Failed`.
pub const FAILED: &str = "Failed";

fn last_terminated_exit(s: &ContainerStatus) -> Option<i32> {
    s.last_state
        .as_ref()
        .and_then(|l| l.terminated.as_ref())
        .map(|t| t.exit_code)
}

/// Computes the phase of a pod with `spec` whose init containers report `init` and
/// regular containers report `regular`. `terminating` is upstream's `podIsTerminal`
/// workaround: a terminating pod with unstarted sidecars is not sent back to Pending.
pub fn pod_phase(
    spec: &PodSpec,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
    terminating: bool,
) -> &'static str {
    let init_containers = spec.init_containers.as_deref().unwrap_or_default();
    let mut pending_init = 0;
    let mut pending_sidecars = 0;
    let mut failed_init = 0;
    for c in init_containers.iter().filter(|c| !is_sidecar(c)) {
        let Some(s) = find(init, &c.name) else {
            pending_init += 1;
            continue;
        };
        let state = s.state.clone().unwrap_or_default();
        if state.running.is_some() {
            pending_init += 1;
        } else if let Some(t) = &state.terminated {
            if t.exit_code != 0 {
                failed_init += 1;
            }
        } else if state.waiting.is_some() {
            match last_terminated_exit(s) {
                Some(code) if code != 0 => failed_init += 1,
                Some(_) => {}
                None => pending_init += 1,
            }
        } else {
            pending_init += 1;
        }
    }

    let (mut unknown, mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0, 0);
    for c in init_containers.iter().filter(|c| is_sidecar(c)) {
        let Some(s) = find(init, &c.name) else {
            unknown += 1;
            continue;
        };
        let state = s.state.clone().unwrap_or_default();
        if state.running.is_some() {
            if s.started != Some(true) {
                pending_sidecars += 1;
            }
            running += 1;
        } else if state.terminated.is_some() {
            // Terminated sidecars are neither running nor stopped.
        } else if state.waiting.is_some() {
            if last_terminated_exit(s).is_none() {
                pending_sidecars += 1;
                waiting += 1;
            }
        } else {
            pending_sidecars += 1;
            unknown += 1;
        }
    }
    for c in &spec.containers {
        let Some(s) = find(regular, &c.name) else {
            unknown += 1;
            continue;
        };
        let state = s.state.clone().unwrap_or_default();
        if state.running.is_some() {
            running += 1;
        } else if let Some(t) = &state.terminated {
            stopped += 1;
            if t.exit_code == 0 {
                succeeded += 1;
            }
        } else if state.waiting.is_some() {
            if last_terminated_exit(s).is_some() {
                stopped += 1;
            } else {
                waiting += 1;
            }
        } else {
            unknown += 1;
        }
    }

    let policy = spec.restart_policy.as_deref().unwrap_or("Always");
    if failed_init > 0 && policy == "Never" {
        return FAILED;
    }
    if pending_init > 0 || (pending_sidecars > 0 && !terminating) || waiting > 0 {
        return PENDING;
    }
    if running > 0 && unknown == 0 {
        return RUNNING;
    }
    if running == 0 && stopped > 0 && unknown == 0 {
        if policy == "Always" {
            return RUNNING;
        }
        if stopped == succeeded {
            return SUCCEEDED;
        }
        if policy == "Never" {
            return FAILED;
        }
        return RUNNING;
    }
    PENDING
}

/// Whether `phase` is terminal (terminal phases never revert).
pub fn is_terminal(phase: &str) -> bool {
    phase == SUCCEEDED || phase == FAILED
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
        ContainerStateWaiting,
    };

    fn spec(policy: &str, init: &[&str], regular: &[&str]) -> PodSpec {
        let c = |n: &&str| Container {
            name: n.to_string(),
            ..Container::default()
        };
        PodSpec {
            restart_policy: Some(policy.into()),
            init_containers: Some(init.iter().map(c).collect()),
            containers: regular.iter().map(c).collect(),
            ..PodSpec::default()
        }
    }
    fn running(n: &str) -> ContainerStatus {
        ContainerStatus {
            name: n.into(),
            state: Some(ContainerState {
                running: Some(ContainerStateRunning::default()),
                ..ContainerState::default()
            }),
            ..ContainerStatus::default()
        }
    }
    fn exited(n: &str, code: i32) -> ContainerStatus {
        ContainerStatus {
            name: n.into(),
            state: Some(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: code,
                    ..ContainerStateTerminated::default()
                }),
                ..ContainerState::default()
            }),
            ..ContainerStatus::default()
        }
    }
    fn waiting(n: &str, last_exit: Option<i32>) -> ContainerStatus {
        let mut s = ContainerStatus {
            name: n.into(),
            state: Some(ContainerState {
                waiting: Some(ContainerStateWaiting::default()),
                ..ContainerState::default()
            }),
            ..ContainerStatus::default()
        };
        if let Some(code) = last_exit {
            s.last_state = exited(n, code).state;
        }
        s
    }

    type Row = (
        &'static str,
        PodSpec,
        Vec<ContainerStatus>,
        Vec<ContainerStatus>,
        &'static str,
    );

    #[test]
    fn the_phase_table_matches_upstream_get_phase() {
        let rows: Vec<Row> = vec![
            (
                "no statuses yet",
                spec("Always", &[], &["a"]),
                vec![],
                vec![],
                PENDING,
            ),
            (
                "a container waiting",
                spec("Always", &[], &["a", "b"]),
                vec![],
                vec![running("a"), waiting("b", None)],
                PENDING,
            ),
            (
                "all running",
                spec("Always", &[], &["a", "b"]),
                vec![],
                vec![running("a"), running("b")],
                RUNNING,
            ),
            (
                "running with one unknown",
                spec("Always", &[], &["a", "b"]),
                vec![],
                vec![running("a")],
                PENDING,
            ),
            (
                "all exited, policy Always",
                spec("Always", &[], &["a"]),
                vec![],
                vec![exited("a", 1)],
                RUNNING,
            ),
            (
                "all exited 0, OnFailure",
                spec("OnFailure", &[], &["a", "b"]),
                vec![],
                vec![exited("a", 0), exited("b", 0)],
                SUCCEEDED,
            ),
            (
                "one failed, Never",
                spec("Never", &[], &["a", "b"]),
                vec![],
                vec![exited("a", 0), exited("b", 3)],
                FAILED,
            ),
            (
                "one failed, OnFailure",
                spec("OnFailure", &[], &["a"]),
                vec![],
                vec![exited("a", 3)],
                RUNNING,
            ),
            (
                "crash loop counts as stopped",
                spec("Always", &[], &["a"]),
                vec![],
                vec![waiting("a", Some(1))],
                RUNNING,
            ),
            (
                "init running",
                spec("Always", &["i"], &["a"]),
                vec![running("i")],
                vec![waiting("a", None)],
                PENDING,
            ),
            (
                "init failed, Never",
                spec("Never", &["i"], &["a"]),
                vec![exited("i", 1)],
                vec![waiting("a", None)],
                FAILED,
            ),
            (
                "init failed, Always keeps pending",
                spec("Always", &["i"], &["a"]),
                vec![waiting("i", Some(1))],
                vec![waiting("a", None)],
                PENDING,
            ),
            (
                "init done, app running",
                spec("Always", &["i"], &["a"]),
                vec![exited("i", 0)],
                vec![running("a")],
                RUNNING,
            ),
        ];
        for (name, spec, init, regular, want) in rows {
            assert_eq!(pod_phase(&spec, &init, &regular, false), want, "{name}");
        }
    }

    #[test]
    fn terminal_phases_are_succeeded_and_failed() {
        assert!(is_terminal(SUCCEEDED) && is_terminal(FAILED));
        assert!(!is_terminal(RUNNING) && !is_terminal(PENDING));
    }
}
