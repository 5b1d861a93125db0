//! Resource arithmetic: the scheduler's `Resource` vector, and pod
//! requests as upstream `resource.PodRequests` computes them (init-container max, sidecars,
//! overhead). Entry points: [`Resource`], [`pod_requests`], [`pod_non_zero_requests`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use refkube_helpers::quantity::Quantity as ParsedQuantity;

/// `DefaultMilliCPURequest`: what a container without a cpu request counts as for scoring.
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// `DefaultMemoryRequest`: 200Mi, for containers without a memory request.
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// Resource names with their own fields.
pub const CPU: &str = "cpu";
/// Memory.
pub const MEMORY: &str = "memory";
/// Ephemeral storage.
pub const EPHEMERAL_STORAGE: &str = "ephemeral-storage";
/// Pod count (allocatable only).
pub const PODS: &str = "pods";

/// `Quantity.Value()`; unparsable quantities count as zero (the API server validates
/// them, so this only guards against a foreign writer).
fn value(q: &Quantity) -> i64 {
    ParsedQuantity::from_api(q).map_or(0, |q| q.value())
}

/// `Quantity.MilliValue()`, zero when unparsable.
fn milli_value(q: &Quantity) -> i64 {
    ParsedQuantity::from_api(q).map_or(0, |q| q.milli_value())
}

/// The scheduler's resource vector (upstream `framework.Resource`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resource {
    /// CPU in millicores.
    pub milli_cpu: i64,
    /// Memory in bytes.
    pub memory: i64,
    /// Ephemeral storage in bytes.
    pub ephemeral_storage: i64,
    /// Pod count (only meaningful for allocatable).
    pub allowed_pod_number: i64,
    /// Extended resources, hugepages and any other named resource.
    pub scalar: BTreeMap<String, i64>,
}

impl Resource {
    /// Builds a vector from a resource list; unparsable quantities count as zero.
    pub fn from_list(list: &BTreeMap<String, Quantity>) -> Resource {
        let mut r = Resource::default();
        for (name, q) in list {
            match name.as_str() {
                CPU => r.milli_cpu = milli_value(q),
                MEMORY => r.memory = value(q),
                EPHEMERAL_STORAGE => r.ephemeral_storage = value(q),
                PODS => r.allowed_pod_number = value(q),
                other => {
                    r.scalar.insert(other.to_string(), value(q));
                }
            }
        }
        r
    }

    /// Adds another vector into this one.
    pub fn add(&mut self, other: &Resource) {
        self.milli_cpu += other.milli_cpu;
        self.memory += other.memory;
        self.ephemeral_storage += other.ephemeral_storage;
        self.allowed_pod_number += other.allowed_pod_number;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_insert(0) += v;
        }
    }

    /// Subtracts another vector (when a pod leaves a node).
    pub fn sub(&mut self, other: &Resource) {
        self.milli_cpu -= other.milli_cpu;
        self.memory -= other.memory;
        self.ephemeral_storage -= other.ephemeral_storage;
        self.allowed_pod_number -= other.allowed_pod_number;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_insert(0) -= v;
        }
    }

    /// Per-resource maximum.
    pub fn set_max(&mut self, other: &Resource) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_insert(0);
            *e = (*e).max(*v);
        }
    }

    /// The value of a named resource (cpu in millicores).
    pub fn get(&self, name: &str) -> i64 {
        match name {
            CPU => self.milli_cpu,
            MEMORY => self.memory,
            EPHEMERAL_STORAGE => self.ephemeral_storage,
            PODS => self.allowed_pod_number,
            other => self.scalar.get(other).copied().unwrap_or(0),
        }
    }

    /// True when nothing at all is requested (pod count ignored).
    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.scalar.values().all(|v| *v == 0)
    }
}

fn container_requests(c: &Container) -> Resource {
    c.resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .map(Resource::from_list)
        .unwrap_or_default()
}

/// Requests with missing cpu / memory replaced by the scoring defaults
/// (upstream `NonMissingContainerRequests`): an explicit `0` stays 0.
fn container_non_zero_requests(c: &Container) -> Resource {
    let requests = c.resources.as_ref().and_then(|r| r.requests.as_ref());
    let has = |k: &str| requests.is_some_and(|r| r.contains_key(k));
    let mut r = container_requests(c);
    if !has(CPU) {
        r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
    }
    if !has(MEMORY) {
        r.memory = DEFAULT_MEMORY_REQUEST;
    }
    r
}

fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// Upstream `PodRequests`: `max(sum(containers) + sidecars, max over init containers of
/// (that container + the sidecars started before it))`, plus `spec.overhead`.
fn requests_with(pod: &Pod, per_container: fn(&Container) -> Resource) -> Resource {
    let Some(spec) = pod.spec.as_ref() else {
        return Resource::default();
    };
    let mut reqs = Resource::default();
    for c in &spec.containers {
        reqs.add(&per_container(c));
    }
    let mut sidecars = Resource::default();
    let mut init_max = Resource::default();
    for c in spec.init_containers.iter().flatten() {
        let r = per_container(c);
        if is_sidecar(c) {
            sidecars.add(&r);
            init_max.set_max(&sidecars);
        } else {
            let mut tmp = r;
            tmp.add(&sidecars);
            init_max.set_max(&tmp);
        }
    }
    reqs.add(&sidecars);
    reqs.set_max(&init_max);
    if let Some(overhead) = spec.overhead.as_ref() {
        reqs.add(&Resource::from_list(overhead));
    }
    reqs
}

/// The pod's effective request, as NodeResourcesFit's filter and the node's `requested` see it.
pub fn pod_requests(pod: &Pod) -> Resource {
    requests_with(pod, container_requests)
}

/// The pod's request with missing cpu/memory counted as 100m / 200Mi (scoring only).
pub fn pod_non_zero_requests(pod: &Pod) -> Resource {
    requests_with(pod, container_non_zero_requests)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(s: &str) -> Quantity {
        Quantity(s.to_string())
    }

    #[test]
    fn a_resource_list_reads_cpu_in_millicores_and_the_rest_rounded_up() {
        let list: BTreeMap<String, Quantity> = [
            ("cpu", "1.0005"),
            ("memory", "1.5Gi"),
            ("ephemeral-storage", "100m"),
            ("pods", "110"),
            ("example.com/gpu", "abc"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), q(v)))
        .collect();
        let r = Resource::from_list(&list);
        assert_eq!(r.milli_cpu, 1001);
        assert_eq!(r.memory, 1_610_612_736);
        assert_eq!(r.ephemeral_storage, 1);
        assert_eq!(r.allowed_pod_number, 110);
        assert_eq!(r.get("example.com/gpu"), 0, "unparsable counts as zero");
    }

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": spec})).unwrap()
    }

    #[test]
    fn pod_request_is_the_max_of_containers_sum_and_the_largest_init_container_plus_overhead() {
        let p = pod(json!({
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "100Mi"}}},
                {"name": "b", "resources": {"requests": {"cpu": "200m"}}}
            ],
            "initContainers": [
                {"name": "i", "resources": {"requests": {"cpu": "500m", "memory": "50Mi"}}}
            ],
            "overhead": {"cpu": "10m"}
        }));
        let r = pod_requests(&p);
        assert_eq!(r.milli_cpu, 510);
        assert_eq!(r.memory, 100 * 1024 * 1024);
    }

    #[test]
    fn sidecars_add_to_the_sum_and_to_later_init_containers() {
        let p = pod(json!({
            "containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}}],
            "initContainers": [
                {"name": "side", "restartPolicy": "Always", "resources": {"requests": {"cpu": "200m"}}},
                {"name": "init", "resources": {"requests": {"cpu": "250m"}}}
            ]
        }));
        // containers 100 + sidecar 200 = 300; init 250 + sidecar 200 = 450.
        assert_eq!(pod_requests(&p).milli_cpu, 450);
    }

    #[test]
    fn missing_requests_count_as_100m_and_200mi_for_scoring_only() {
        let p = pod(json!({"containers": [
            {"name": "a"},
            {"name": "b", "resources": {"requests": {"cpu": "0"}}}
        ]}));
        assert!(pod_requests(&p).is_zero());
        let nz = pod_non_zero_requests(&p);
        assert_eq!(nz.milli_cpu, 100);
        assert_eq!(nz.memory, 2 * DEFAULT_MEMORY_REQUEST);
    }

    #[test]
    fn extended_resources_and_hugepages_are_scalar() {
        let p = pod(
            json!({"containers": [{"name": "a", "resources": {"requests": {
            "example.com/aaa": "2", "hugepages-2Mi": "4Mi"}}}]}),
        );
        let r = pod_requests(&p);
        assert_eq!(r.get("example.com/aaa"), 2);
        assert_eq!(r.get("hugepages-2Mi"), 4 * 1024 * 1024);
    }
}
