//! Pure pod-status rules of the kubelet: the phase ([`phase::pod_phase`]) and the
//! conditions it owns ([`conditions::kubelet_conditions`]).

pub mod conditions;
pub mod phase;

use k8s_openapi::api::core::v1::{Container, ContainerStatus};

/// Whether `container` is a sidecar (an init container with `restartPolicy: Always`).
pub fn is_sidecar(container: &Container) -> bool {
    container.restart_policy.as_deref() == Some("Always")
}

/// The status of the container called `name`, if any.
pub fn find<'a>(statuses: &'a [ContainerStatus], name: &str) -> Option<&'a ContainerStatus> {
    statuses.iter().find(|s| s.name == name)
}

/// Go's `%s` of a `[]string`: `[a b]`.
pub fn go_list(names: &[String]) -> String {
    format!("[{}]", names.join(" "))
}
