//! The pod conditions the kubelet owns, as `pkg/kubelet/status/generate.go` builds them.
//! Entry point: [`kubelet_conditions`].

use k8s_openapi::api::core::v1::{ContainerStatus, PodCondition, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::phase::SUCCEEDED;
use super::{find, go_list, is_sidecar};

/// Condition types the kubelet writes (others' conditions are left alone).
pub const KUBELET_CONDITIONS: [&str; 5] = [
    "PodReadyToStartContainers",
    "Initialized",
    "Ready",
    "ContainersReady",
    "PodScheduled",
];

/// A condition before timestamps are filled in: (type, status, reason, message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    /// Condition type.
    pub type_: &'static str,
    /// `"True"` or `"False"`.
    pub status: &'static str,
    /// Reason, if any.
    pub reason: Option<&'static str>,
    /// Message, if any.
    pub message: Option<String>,
}

fn cond(type_: &'static str, ok: bool) -> Cond {
    Cond {
        type_,
        status: if ok { "True" } else { "False" },
        reason: None,
        message: None,
    }
}

fn initialized(
    spec: &PodSpec,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
    phase: &str,
) -> Cond {
    let mut unknown = Vec::new();
    let mut incomplete = Vec::new();
    for c in spec.init_containers.as_deref().unwrap_or_default() {
        match find(init, &c.name) {
            None => unknown.push(c.name.clone()),
            Some(s) => {
                let state = s.state.clone().unwrap_or_default();
                let done = if is_sidecar(c) {
                    s.started == Some(true)
                } else {
                    state.terminated.as_ref().is_some_and(|t| t.exit_code == 0)
                };
                if !done {
                    incomplete.push(c.name.clone());
                }
            }
        }
    }
    // Once any regular container has started, initialization is over (upstream checks
    // this so a restarted init container does not flip the pod back).
    let app_started = regular.iter().any(|s| {
        let st = s.state.clone().unwrap_or_default();
        st.running.is_some()
            || st.terminated.is_some()
            || s.last_state
                .as_ref()
                .is_some_and(|l| l.terminated.is_some())
    });
    if phase == SUCCEEDED && unknown.is_empty() {
        return Cond {
            reason: Some("PodCompleted"),
            ..cond("Initialized", true)
        };
    }
    if (unknown.is_empty() && incomplete.is_empty()) || app_started {
        return cond("Initialized", true);
    }
    let mut parts = Vec::new();
    if !unknown.is_empty() {
        parts.push(format!(
            "containers with unknown status: {}",
            go_list(&unknown)
        ));
    }
    if !incomplete.is_empty() {
        parts.push(format!(
            "containers with incomplete status: {}",
            go_list(&incomplete)
        ));
    }
    Cond {
        reason: Some("ContainersNotInitialized"),
        message: Some(parts.join(", ")),
        ..cond("Initialized", false)
    }
}

fn containers_ready(
    spec: &PodSpec,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
    phase: &str,
) -> Cond {
    let mut unknown = Vec::new();
    let mut unready = Vec::new();
    let sidecars = spec
        .init_containers
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|c| is_sidecar(c));
    for (c, statuses) in sidecars
        .map(|c| (c, init))
        .chain(spec.containers.iter().map(|c| (c, regular)))
    {
        match find(statuses, &c.name) {
            None => unknown.push(c.name.clone()),
            Some(s) if !s.ready => unready.push(c.name.clone()),
            Some(_) => {}
        }
    }
    if phase == SUCCEEDED && unknown.is_empty() {
        return Cond {
            reason: Some("PodCompleted"),
            ..cond("ContainersReady", false)
        };
    }
    if unknown.is_empty() && unready.is_empty() {
        return cond("ContainersReady", true);
    }
    let mut parts = Vec::new();
    if !unknown.is_empty() {
        parts.push(format!(
            "containers with unknown status: {}",
            go_list(&unknown)
        ));
    }
    if !unready.is_empty() {
        parts.push(format!(
            "containers with unready status: {}",
            go_list(&unready)
        ));
    }
    Cond {
        reason: Some("ContainersNotReady"),
        message: Some(parts.join(", ")),
        ..cond("ContainersReady", false)
    }
}

fn ready(spec: &PodSpec, containers_ready: &Cond, existing: &[PodCondition]) -> Cond {
    if containers_ready.status != "True" {
        return Cond {
            type_: "Ready",
            ..containers_ready.clone()
        };
    }
    let mut unready = Vec::new();
    for gate in spec.readiness_gates.as_deref().unwrap_or_default() {
        match existing.iter().find(|c| c.type_ == gate.condition_type) {
            None => unready.push(format!(
                "corresponding condition of pod readiness gate \"{}\" does not exist.",
                gate.condition_type
            )),
            Some(c) if c.status != "True" => unready.push(format!(
                "the status of pod readiness gate \"{}\" is not \"True\", but {}",
                gate.condition_type, c.status
            )),
            Some(_) => {}
        }
    }
    if unready.is_empty() {
        return cond("Ready", true);
    }
    Cond {
        reason: Some("ReadinessGatesNotReady"),
        message: Some(unready.join(", ")),
        ..cond("Ready", false)
    }
}

/// The kubelet's conditions in upstream order, before timestamps.
pub fn kubelet_condition_values(
    spec: &PodSpec,
    sandbox_ready: bool,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
    phase: &str,
    existing: &[PodCondition],
) -> Vec<Cond> {
    let containers_ready = containers_ready(spec, init, regular, phase);
    vec![
        cond("PodReadyToStartContainers", sandbox_ready),
        initialized(spec, init, regular, phase),
        ready(spec, &containers_ready, existing),
        containers_ready,
        cond("PodScheduled", true),
    ]
}

/// The full condition list: the kubelet's conditions (keeping `lastTransitionTime` of
/// an unchanged status from `existing`) followed by conditions others own (e.g.
/// `DisruptionTarget`), untouched.
pub fn kubelet_conditions(
    values: Vec<Cond>,
    existing: &[PodCondition],
    now: &Time,
) -> Vec<PodCondition> {
    let mut out: Vec<PodCondition> = values
        .into_iter()
        .map(|c| {
            let old = existing.iter().find(|o| o.type_ == c.type_);
            let transition = match old {
                Some(o) if o.status == c.status => o.last_transition_time.clone(),
                _ => Some(now.clone()),
            };
            PodCondition {
                type_: c.type_.to_string(),
                status: c.status.to_string(),
                reason: c.reason.map(str::to_string),
                message: c.message,
                last_transition_time: transition,
                last_probe_time: None,
                ..PodCondition::default()
            }
        })
        .collect();
    out.extend(
        existing
            .iter()
            .filter(|o| !KUBELET_CONDITIONS.contains(&o.type_.as_str()))
            .cloned(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        Container, ContainerState, ContainerStateTerminated, PodReadinessGate,
    };

    fn spec(init: &[&str], regular: &[&str]) -> PodSpec {
        let c = |n: &&str| Container {
            name: n.to_string(),
            ..Container::default()
        };
        PodSpec {
            init_containers: Some(init.iter().map(c).collect()),
            containers: regular.iter().map(c).collect(),
            ..PodSpec::default()
        }
    }
    fn status(n: &str, ready: bool) -> ContainerStatus {
        ContainerStatus {
            name: n.into(),
            ready,
            ..ContainerStatus::default()
        }
    }
    fn get<'a>(cs: &'a [Cond], t: &str) -> &'a Cond {
        cs.iter().find(|c| c.type_ == t).unwrap()
    }

    #[test]
    fn unready_containers_are_listed_like_go_formats_a_string_slice() {
        let s = spec(&[], &["a", "b", "c"]);
        let cs = kubelet_condition_values(
            &s,
            true,
            &[],
            &[status("a", false), status("b", false), status("c", true)],
            "Running",
            &[],
        );
        let cr = get(&cs, "ContainersReady");
        assert_eq!(cr.status, "False");
        assert_eq!(cr.reason, Some("ContainersNotReady"));
        assert_eq!(
            cr.message.as_deref(),
            Some("containers with unready status: [a b]")
        );
        assert_eq!(
            get(&cs, "Ready"),
            &Cond {
                type_: "Ready",
                ..cr.clone()
            }
        );
    }

    #[test]
    fn unknown_containers_come_first_in_the_message() {
        let s = spec(&[], &["a", "b"]);
        let cs = kubelet_condition_values(&s, true, &[], &[status("b", false)], "Pending", &[]);
        assert_eq!(
            get(&cs, "ContainersReady").message.as_deref(),
            Some("containers with unknown status: [a], containers with unready status: [b]")
        );
    }

    #[test]
    fn incomplete_init_containers_keep_the_pod_uninitialized() {
        let s = spec(&["init1"], &["a"]);
        let cs = kubelet_condition_values(
            &s,
            true,
            &[status("init1", false)],
            &[status("a", false)],
            "Pending",
            &[],
        );
        let i = get(&cs, "Initialized");
        assert_eq!(
            (i.status, i.reason),
            ("False", Some("ContainersNotInitialized"))
        );
        assert_eq!(
            i.message.as_deref(),
            Some("containers with incomplete status: [init1]")
        );
    }

    #[test]
    fn a_succeeded_pod_reports_pod_completed() {
        let s = spec(&["i"], &["a"]);
        let done = ContainerStatus {
            state: Some(ContainerState {
                terminated: Some(ContainerStateTerminated::default()),
                ..ContainerState::default()
            }),
            ..status("a", false)
        };
        let cs =
            kubelet_condition_values(&s, false, &[status("i", false)], &[done], SUCCEEDED, &[]);
        assert_eq!(get(&cs, "Initialized").reason, Some("PodCompleted"));
        assert_eq!(get(&cs, "Initialized").status, "True");
        assert_eq!(get(&cs, "ContainersReady").reason, Some("PodCompleted"));
        assert_eq!(get(&cs, "ContainersReady").status, "False");
    }

    #[test]
    fn a_missing_readiness_gate_holds_ready_false() {
        let mut s = spec(&[], &["a"]);
        s.readiness_gates = Some(vec![PodReadinessGate {
            condition_type: "example.com/lb".into(),
        }]);
        let cs = kubelet_condition_values(&s, true, &[], &[status("a", true)], "Running", &[]);
        let r = get(&cs, "Ready");
        assert_eq!(
            (r.status, r.reason),
            ("False", Some("ReadinessGatesNotReady"))
        );
        assert_eq!(
            r.message.as_deref(),
            Some(
                "corresponding condition of pod readiness gate \"example.com/lb\" does not exist."
            )
        );
        assert_eq!(get(&cs, "ContainersReady").status, "True");
    }

    #[test]
    fn transition_times_survive_an_unchanged_status_and_others_conditions_are_kept() {
        let old_time = Time(k8s_openapi::jiff::Timestamp::from_second(1).unwrap());
        let now = Time(k8s_openapi::jiff::Timestamp::from_second(100).unwrap());
        let existing = vec![
            PodCondition {
                type_: "Ready".into(),
                status: "False".into(),
                last_transition_time: Some(old_time.clone()),
                ..PodCondition::default()
            },
            PodCondition {
                type_: "PodScheduled".into(),
                status: "True".into(),
                last_transition_time: Some(old_time.clone()),
                ..PodCondition::default()
            },
            PodCondition {
                type_: "DisruptionTarget".into(),
                status: "True".into(),
                ..PodCondition::default()
            },
        ];
        let s = spec(&[], &["a"]);
        let values =
            kubelet_condition_values(&s, true, &[], &[status("a", true)], "Running", &existing);
        let out = kubelet_conditions(values, &existing, &now);
        let by = |t: &str| out.iter().find(|c| c.type_ == t).unwrap();
        assert_eq!(by("Ready").last_transition_time, Some(now.clone()));
        assert_eq!(by("PodScheduled").last_transition_time, Some(old_time));
        assert_eq!(by("DisruptionTarget").status, "True");
        let types: Vec<&str> = out.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(
            types,
            [
                "PodReadyToStartContainers",
                "Initialized",
                "Ready",
                "ContainersReady",
                "PodScheduled",
                "DisruptionTarget"
            ]
        );
    }
}
