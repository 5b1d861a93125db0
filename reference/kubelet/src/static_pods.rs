//! Static pods (placeholder, filled in below).
use k8s_openapi::api::core::v1::Pod;
/// Annotation holding the config source.
pub const CONFIG_SOURCE: &str = "kubernetes.io/config.source";
/// Whether `pod` came from a manifest file.
pub fn is_static(pod: &Pod) -> bool {
    pod.metadata.annotations.as_ref().and_then(|a| a.get(CONFIG_SOURCE)).is_some_and(|s| s != "api")
}
