//! Table tests of [`compute_pod_actions`], case by case after upstream's
//! `kuberuntime_manager_test.go` (TestComputePodActions, ...WithInitContainers,
//! ...WithRestartableInitContainers, ...WithInitAndEphemeralContainers).

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Container, EphemeralContainer, Pod, PodSpec, Probe};
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::worker::record::Instance;

/// A container's state in a case.
#[derive(Clone, Copy)]
enum St {
    Running,
    Exited(i32),
    Created,
}

fn container(name: &str) -> Container {
    Container {
        name: name.into(),
        image: Some("busybox".into()),
        ..Container::default()
    }
}

fn sidecar(name: &str) -> Container {
    Container {
        restart_policy: Some("Always".into()),
        ..container(name)
    }
}

fn with_probes(mut c: Container) -> Container {
    c.liveness_probe = Some(Probe::default());
    c.startup_probe = Some(Probe::default());
    c
}

/// Three regular containers `foo1..3`, as upstream's cases use.
fn pod(policy: &str) -> Pod {
    Pod {
        spec: Some(PodSpec {
            restart_policy: Some(policy.into()),
            containers: vec![container("foo1"), container("foo2"), container("foo3")],
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}

/// As [`pod`], with three init containers `init1..3`.
fn init_pod(policy: &str) -> Pod {
    let mut p = pod(policy);
    if let Some(s) = p.spec.as_mut() {
        s.init_containers = Some(vec![
            container("init1"),
            container("init2"),
            container("init3"),
        ]);
    }
    p
}

/// As [`pod`], with one sidecar `init1` (with probes) and one plain init `init2`, or
/// (`only_sidecar`) the sidecar alone.
fn sidecar_pod(policy: &str, only_sidecar: bool) -> Pod {
    let mut p = pod(policy);
    if let Some(s) = p.spec.as_mut() {
        let mut inits = vec![with_probes(sidecar("init1"))];
        if !only_sidecar {
            inits.push(container("init2"));
        }
        s.init_containers = Some(inits);
    }
    p
}

/// As [`pod`], with ephemeral containers `debugger1..n` and optionally init containers.
fn ephemeral_pod(n: usize, inits: bool) -> Pod {
    let mut p = if inits {
        init_pod("Always")
    } else {
        pod("Always")
    };
    if let Some(s) = p.spec.as_mut() {
        s.ephemeral_containers = Some(
            (1..=n)
                .map(|i| EphemeralContainer {
                    name: format!("debugger{i}"),
                    image: Some("busybox".into()),
                    target_container_name: Some("foo1".into()),
                    ..EphemeralContainer::default()
                })
                .collect(),
        );
    }
    p
}

fn records(states: &[(&str, St)]) -> HashMap<String, Record> {
    states
        .iter()
        .map(|(name, st)| {
            let state = match *st {
                St::Running => ContainerState::Running {
                    started_at: Timestamp::UNIX_EPOCH,
                },
                St::Exited(exit_code) => ContainerState::Exited {
                    started_at: Timestamp::UNIX_EPOCH,
                    finished_at: Timestamp::UNIX_EPOCH,
                    exit_code,
                },
                St::Created => ContainerState::Created,
            };
            let rec = Record {
                current: Some(Instance {
                    id: format!("id-{name}"),
                    state,
                    exit_seen: None,
                    probes: vec![],
                }),
                ..Record::default()
            };
            (name.to_string(), rec)
        })
        .collect()
}

fn all_running(pod: &Pod) -> Vec<(String, St)> {
    let spec = pod.spec.clone().unwrap_or_default();
    spec.containers
        .iter()
        .map(|c| (c.name.clone(), St::Running))
        .collect()
}

fn ready() -> SandboxState {
    SandboxState::Latest {
        id: "sb".into(),
        attempt: 0,
        ready: true,
    }
}

fn dead() -> SandboxState {
    SandboxState::Latest {
        id: "sb".into(),
        attempt: 0,
        ready: false,
    }
}

/// The answer for a ready sandbox with nothing to do; cases change what they expect.
fn steady() -> PodActions {
    PodActions {
        sandbox_id: Some("sb".into()),
        initialized: true,
        ..PodActions::default()
    }
}

/// After a dead sandbox: kill everything and make attempt 1.
fn recreate() -> PodActions {
    PodActions {
        kill_pod: true,
        create_sandbox: true,
        attempt: 1,
        sandbox_id: Some("sb".into()),
        ..PodActions::default()
    }
}

fn kill(name: &str, reason: KillReason, message: &str) -> ContainerToKill {
    ContainerToKill {
        name: name.into(),
        id: format!("id-{name}"),
        message: message.into(),
        reason,
    }
}

struct Case {
    name: &'static str,
    pod: Pod,
    sandbox: SandboxState,
    containers: Vec<(String, St)>,
    probes: Vec<(&'static str, ProbeKind, ProbeResult)>,
    want: PodActions,
}

fn case(
    name: &'static str,
    pod: Pod,
    sandbox: SandboxState,
    containers: &[(&str, St)],
    want: PodActions,
) -> Case {
    Case {
        name,
        pod,
        sandbox,
        containers: containers
            .iter()
            .map(|(n, s)| (n.to_string(), *s))
            .collect(),
        probes: vec![],
        want,
    }
}

fn run(cases: Vec<Case>) {
    for c in cases {
        let named: Vec<(&str, St)> = c.containers.iter().map(|(n, s)| (n.as_str(), *s)).collect();
        let recs = records(&named);
        let lookup = |name: &str, kind: ProbeKind| {
            c.probes
                .iter()
                .find(|(n, k, _)| *n == name && *k == kind)
                .map(|(_, _, r)| *r)
        };
        let got = compute_pod_actions(&c.pod, &c.sandbox, &recs, &lookup);
        assert_eq!(got, c.want, "case {:?}", c.name);
    }
}

#[test]
fn regular_containers() {
    use St::*;
    let always = pod("Always");
    let running = all_running(&always);
    let running: Vec<(&str, St)> = running.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    let mut liveness = case(
        "kill and recreate the container if the liveness check has failed",
        pod("Always"),
        ready(),
        &running,
        PodActions {
            containers_to_start: vec![1],
            containers_to_kill: vec![kill(
                "foo2",
                KillReason::LivenessProbe,
                "Container foo2 failed liveness probe, will be restarted",
            )],
            ..steady()
        },
    );
    liveness.probes = vec![("foo2", ProbeKind::Liveness, ProbeResult::Failure)];
    let mut startup = case(
        "kill and recreate the container if the startup check has failed",
        pod("Always"),
        ready(),
        &running,
        PodActions {
            containers_to_start: vec![1],
            containers_to_kill: vec![kill(
                "foo2",
                KillReason::StartupProbe,
                "Container foo2 failed startup probe, will be restarted",
            )],
            ..steady()
        },
    );
    startup.probes = vec![("foo2", ProbeKind::Startup, ProbeResult::Failure)];
    let mut never_liveness = case(
        "with restartPolicy Never a container failing its liveness probe is killed, not restarted",
        pod("Never"),
        ready(),
        &running,
        PodActions {
            containers_to_kill: vec![kill(
                "foo1",
                KillReason::LivenessProbe,
                "Container foo1 failed liveness probe",
            )],
            ..steady()
        },
    );
    never_liveness.probes = vec![("foo1", ProbeKind::Liveness, ProbeResult::Failure)];
    let mut last_alive = case(
        "kill the pod when every container exited but one whose liveness probe failed (Never)",
        pod("Never"),
        ready(),
        &[("foo1", Exited(0)), ("foo2", Exited(1)), ("foo3", Running)],
        PodActions {
            kill_pod: true,
            containers_to_kill: vec![kill(
                "foo3",
                KillReason::LivenessProbe,
                "Container foo3 failed liveness probe",
            )],
            ..steady()
        },
    );
    last_alive.probes = vec![("foo3", ProbeKind::Liveness, ProbeResult::Failure)];
    run(vec![
        case(
            "everything is good; do nothing",
            pod("Always"),
            ready(),
            &running,
            steady(),
        ),
        case(
            "start the sandbox and all containers of a new pod",
            pod("Always"),
            SandboxState::None,
            &[],
            PodActions {
                kill_pod: true,
                create_sandbox: true,
                containers_to_start: vec![0, 1, 2],
                ..PodActions::default()
            },
        ),
        case(
            "restart exited containers if RestartPolicy == Always",
            pod("Always"),
            ready(),
            &[("foo1", Exited(0)), ("foo2", Exited(1)), ("foo3", Running)],
            PodActions {
                containers_to_start: vec![0, 1],
                ..steady()
            },
        ),
        case(
            "restart failed containers if RestartPolicy == OnFailure",
            pod("OnFailure"),
            ready(),
            &[("foo1", Exited(0)), ("foo2", Exited(1)), ("foo3", Running)],
            PodActions {
                containers_to_start: vec![1],
                ..steady()
            },
        ),
        case(
            "don't restart containers if RestartPolicy == Never",
            pod("Never"),
            ready(),
            &[("foo1", Exited(0)), ("foo2", Exited(1)), ("foo3", Running)],
            steady(),
        ),
        case(
            "kill the pod and recreate everything if the sandbox is dead (Always)",
            pod("Always"),
            dead(),
            &running,
            PodActions {
                containers_to_start: vec![0, 1, 2],
                ..recreate()
            },
        ),
        case(
            "kill the pod and recreate all but the succeeded containers if the sandbox is dead (OnFailure)",
            pod("OnFailure"),
            dead(),
            &[("foo1", Running), ("foo2", Exited(0)), ("foo3", Running)],
            PodActions {
                containers_to_start: vec![0, 2],
                ..recreate()
            },
        ),
        liveness,
        startup,
        never_liveness,
        last_alive,
        case(
            "no new sandbox for a dead one when RestartPolicy == Never and every container exited",
            pod("Never"),
            dead(),
            &[
                ("foo1", Exited(0)),
                ("foo2", Exited(1)),
                ("foo3", Exited(1)),
            ],
            PodActions {
                create_sandbox: false,
                ..recreate()
            },
        ),
        case(
            "no new sandbox for a dead one when RestartPolicy == Never even with containers running",
            pod("Never"),
            dead(),
            &running,
            PodActions {
                create_sandbox: false,
                ..recreate()
            },
        ),
        case(
            "no new sandbox for a dead one when RestartPolicy == OnFailure and every container succeeded",
            pod("OnFailure"),
            dead(),
            &[
                ("foo1", Exited(0)),
                ("foo2", Exited(0)),
                ("foo3", Exited(0)),
            ],
            PodActions {
                create_sandbox: false,
                ..recreate()
            },
        ),
        case(
            "a new sandbox when RestartPolicy == Never but no container was ever created",
            pod("Never"),
            dead(),
            &[],
            PodActions {
                containers_to_start: vec![0, 1, 2],
                ..recreate()
            },
        ),
        case(
            "restart the container if it is in the created state",
            pod("Never"),
            ready(),
            &[("foo1", Created), ("foo2", Running), ("foo3", Running)],
            PodActions {
                containers_to_start: vec![0],
                ..steady()
            },
        ),
        case(
            "kill the pod when every container exited and none restarts (Never)",
            pod("Never"),
            ready(),
            &[
                ("foo1", Exited(0)),
                ("foo2", Exited(1)),
                ("foo3", Exited(0)),
            ],
            PodActions {
                kill_pod: true,
                ..steady()
            },
        ),
    ]);
}

#[test]
fn init_containers() {
    use St::*;
    let done_inits = [
        ("init1", Exited(0)),
        ("init2", Exited(0)),
        ("init3", Exited(0)),
    ];
    run(vec![
        case(
            "initialization completed; start all containers",
            init_pod("Always"),
            ready(),
            &done_inits,
            PodActions {
                containers_to_start: vec![0, 1, 2],
                ..steady()
            },
        ),
        case(
            "no init containers have been started; start the first one",
            init_pod("Always"),
            ready(),
            &[],
            PodActions {
                init_containers_to_start: vec![0],
                initialized: false,
                ..steady()
            },
        ),
        case(
            "initialization in progress; do nothing",
            init_pod("Always"),
            ready(),
            &[("init1", Exited(0)), ("init2", Running)],
            PodActions {
                initialized: false,
                ..steady()
            },
        ),
        case(
            "kill the pod and restart the first init container if the sandbox is dead",
            init_pod("Always"),
            dead(),
            &done_inits,
            PodActions {
                init_containers_to_start: vec![0],
                ..recreate()
            },
        ),
        case(
            "initialization failed; restart the last init container if RestartPolicy == Always",
            init_pod("Always"),
            ready(),
            &[("init1", Exited(0)), ("init2", Exited(1))],
            PodActions {
                init_containers_to_start: vec![1],
                initialized: false,
                ..steady()
            },
        ),
        case(
            "initialization failed; restart the last init container if RestartPolicy == OnFailure",
            init_pod("OnFailure"),
            ready(),
            &[("init1", Exited(0)), ("init2", Exited(1))],
            PodActions {
                init_containers_to_start: vec![1],
                initialized: false,
                ..steady()
            },
        ),
        case(
            "initialization failed; kill the pod if RestartPolicy == Never",
            init_pod("Never"),
            ready(),
            &[("init1", Exited(0)), ("init2", Exited(1))],
            PodActions {
                kill_pod: true,
                initialized: false,
                ..steady()
            },
        ),
        case(
            "sandbox not ready, init container failed, RestartPolicy == Never: kill the pod only",
            init_pod("Never"),
            dead(),
            &[("init1", Exited(0)), ("init2", Exited(1))],
            PodActions {
                create_sandbox: false,
                ..recreate()
            },
        ),
        case(
            "sandbox not ready, RestartPolicy == Never, no init container seen: a new sandbox",
            init_pod("Never"),
            dead(),
            &[],
            PodActions {
                init_containers_to_start: vec![0],
                ..recreate()
            },
        ),
        case(
            "sandbox not ready, init container failed, RestartPolicy == OnFailure: a new sandbox",
            init_pod("OnFailure"),
            dead(),
            &[("init1", Exited(0)), ("init2", Exited(1))],
            PodActions {
                init_containers_to_start: vec![0],
                ..recreate()
            },
        ),
        case(
            "earlier init statuses are missing but the last runs: don't restart the earlier ones",
            init_pod("Always"),
            ready(),
            &[("init3", Running)],
            PodActions {
                initialized: false,
                ..steady()
            },
        ),
        case(
            "an init container in the created state is started again",
            init_pod("Always"),
            ready(),
            &[("init1", Exited(0)), ("init2", Created)],
            PodActions {
                init_containers_to_start: vec![1],
                initialized: false,
                ..steady()
            },
        ),
        case(
            "regular containers running but init statuses gone: initialized, nothing restarts",
            init_pod("Always"),
            ready(),
            &[("foo1", Running), ("foo2", Running), ("foo3", Running)],
            steady(),
        ),
    ]);
}

#[test]
fn restartable_init_containers() {
    use St::*;
    let mut started = case(
        "a sidecar past its startup probe lets the next init container start",
        sidecar_pod("Always", false),
        ready(),
        &[("init1", Running)],
        PodActions {
            init_containers_to_start: vec![1],
            initialized: false,
            ..steady()
        },
    );
    started.probes = vec![("init1", ProbeKind::Startup, ProbeResult::Success)];
    let mut waiting = case(
        "a sidecar whose startup probe has not passed holds the next one back",
        sidecar_pod("Always", false),
        ready(),
        &[("init1", Running)],
        PodActions {
            initialized: false,
            ..steady()
        },
    );
    waiting.probes = vec![("init1", ProbeKind::Startup, ProbeResult::Unknown)];
    let mut startup_failed = case(
        "a sidecar failing its startup probe is killed and started again",
        sidecar_pod("Always", false),
        ready(),
        &[("init1", Running)],
        PodActions {
            init_containers_to_start: vec![0],
            containers_to_kill: vec![kill(
                "init1",
                KillReason::StartupProbe,
                "Init container init1 failed startup probe",
            )],
            initialized: false,
            ..steady()
        },
    );
    startup_failed.probes = vec![("init1", ProbeKind::Startup, ProbeResult::Failure)];
    let mut liveness_failed = case(
        "after initialization a sidecar failing its liveness probe restarts; the others keep running",
        sidecar_pod("Always", true),
        ready(),
        &[
            ("init1", Running),
            ("foo1", Running),
            ("foo2", Running),
            ("foo3", Running),
        ],
        PodActions {
            init_containers_to_start: vec![0],
            containers_to_kill: vec![kill(
                "init1",
                KillReason::LivenessProbe,
                "Init container init1 failed liveness probe",
            )],
            ..steady()
        },
    );
    liveness_failed.probes = vec![
        ("init1", ProbeKind::Startup, ProbeResult::Success),
        ("init1", ProbeKind::Liveness, ProbeResult::Failure),
    ];
    let mut exited = case(
        "a sidecar that exited after initialization is started again, whatever the policy",
        sidecar_pod("Never", true),
        ready(),
        &[
            ("init1", Exited(0)),
            ("foo1", Running),
            ("foo2", Running),
            ("foo3", Running),
        ],
        PodActions {
            init_containers_to_start: vec![0],
            ..steady()
        },
    );
    exited.probes = vec![("init1", ProbeKind::Startup, ProbeResult::Success)];
    let mut alone = case(
        "sidecars alone do not keep a pod alive: kill it, restart nothing",
        sidecar_pod("OnFailure", true),
        ready(),
        &[
            ("init1", Running),
            ("foo1", Exited(0)),
            ("foo2", Exited(0)),
            ("foo3", Exited(0)),
        ],
        PodActions {
            kill_pod: true,
            ..steady()
        },
    );
    alone.probes = vec![("init1", ProbeKind::Startup, ProbeResult::Success)];
    run(vec![
        started,
        waiting,
        startup_failed,
        liveness_failed,
        exited,
        alone,
    ]);
}

#[test]
fn ephemeral_containers() {
    use St::*;
    let running = [("foo1", Running), ("foo2", Running), ("foo3", Running)];
    let with = |extra: &[(&'static str, St)]| -> Vec<(&'static str, St)> {
        running.iter().chain(extra).copied().collect()
    };
    run(vec![
        case(
            "steady state with no ephemeral container; do nothing",
            ephemeral_pod(0, false),
            ready(),
            &running,
            steady(),
        ),
        case(
            "no ephemeral container running; start it",
            ephemeral_pod(1, false),
            ready(),
            &running,
            PodActions {
                ephemeral_containers_to_start: vec![0],
                ..steady()
            },
        ),
        case(
            "start the second ephemeral container",
            ephemeral_pod(2, false),
            ready(),
            &with(&[("debugger1", Running)]),
            PodActions {
                ephemeral_containers_to_start: vec![1],
                ..steady()
            },
        ),
        case(
            "an ephemeral container that exited is never restarted",
            ephemeral_pod(1, false),
            ready(),
            &with(&[("debugger1", Exited(1))]),
            steady(),
        ),
        case(
            "initialization in progress; the ephemeral container starts anyway",
            ephemeral_pod(1, true),
            ready(),
            &[("init1", Running)],
            PodActions {
                ephemeral_containers_to_start: vec![0],
                initialized: false,
                ..steady()
            },
        ),
        case(
            "a dead sandbox: everything is re-created, the ephemeral container is not started",
            ephemeral_pod(1, false),
            dead(),
            &running,
            PodActions {
                containers_to_start: vec![0, 1, 2],
                ..recreate()
            },
        ),
    ]);
}
