//! Pod admission on the node: the kubelet re-checks what the scheduler checked, so a
//! pod bound directly with `spec.nodeName` cannot overcommit the node
//! (`pkg/kubelet/lifecycle/predicate.go` with the scheduler's general predicates).
//! Entry point: [`admit`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Node, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use refkube_helpers::nodeaffinity::RequiredNodeAffinity;
use refkube_helpers::quantity::Quantity as ParsedQuantity;

/// Why a pod was rejected: `(reason, message)` as upstream's `PodAdmitResult`. The
/// kubelet sets phase Failed, `reason`, and `message: "Pod was rejected: " + message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// `OutOfcpu`, `OutOfmemory`, `OutOfpods`, `NodeAffinity`.
    pub reason: String,
    /// The predicate's message.
    pub message: String,
}

/// A quantity in the unit the predicates compare (millicores for cpu, otherwise the value
/// rounded up, as `framework.Resource` holds it); `None` if it does not parse.
fn amount(resource: &str, q: &Quantity) -> Option<i64> {
    let q = ParsedQuantity::from_api(q).ok()?;
    Some(if resource == "cpu" {
        q.milli_value()
    } else {
        q.value()
    })
}

fn request(c: &Container, resource: &str) -> i64 {
    c.resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get(resource))
        .and_then(|q| amount(resource, q))
        .unwrap_or(0)
}

/// The pod's effective request of `resource` (millicores for cpu): the larger of the
/// regular containers' (plus sidecars') sum and the largest init container, plus the pod
/// overhead.
pub fn pod_request(pod: &Pod, resource: &str) -> i64 {
    let Some(spec) = pod.spec.as_ref() else {
        return 0;
    };
    let inits = spec.init_containers.as_deref().unwrap_or_default();
    let sidecars: i64 = inits
        .iter()
        .filter(|c| crate::status::is_sidecar(c))
        .map(|c| request(c, resource))
        .sum();
    let regular: i64 = spec
        .containers
        .iter()
        .map(|c| request(c, resource))
        .sum::<i64>()
        + sidecars;
    let init_max = inits
        .iter()
        .filter(|c| !crate::status::is_sidecar(c))
        .map(|c| request(c, resource))
        .max()
        .unwrap_or(0);
    let overhead = spec
        .overhead
        .as_ref()
        .and_then(|o| o.get(resource))
        .and_then(|q| amount(resource, q))
        .unwrap_or(0);
    regular.max(init_max) + overhead
}

/// `GetRequiredNodeAffinity(pod).Match(node)` against this node's labels. The node's name
/// is not known here, and a node without a name has no fields, so `matchFields` terms
/// are not consulted (they pin the node name, which the scheduler or the writer of
/// `spec.nodeName` already chose).
fn matches_selector(pod: &Pod, node_labels: &BTreeMap<String, String>) -> bool {
    let mut node = Node::default();
    node.metadata.labels = Some(node_labels.clone());
    RequiredNodeAffinity::from_pod(pod).matches(&node)
}

/// Admits `pod` on a node with `capacity` (allocatable) and `labels` running `active`
/// pods, or says why not. Checks, in upstream's order: the node selector, then pods,
/// cpu and memory.
pub fn admit(
    pod: &Pod,
    active: &[&Pod],
    capacity: &BTreeMap<String, Quantity>,
    labels: &BTreeMap<String, String>,
) -> Result<(), Rejection> {
    if !matches_selector(pod, labels) {
        return Err(Rejection {
            reason: "NodeAffinity".into(),
            message:
                "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"
                    .into(),
        });
    }
    let cap = |r: &str| capacity.get(r).and_then(|q| amount(r, q));
    let insufficient = |resource: &str, requested: i64, used: i64, capacity: i64| Rejection {
        reason: format!("OutOf{resource}"),
        message: format!(
            "Node didn't have enough resource: {resource}, requested: {requested}, used: {used}, capacity: {capacity}"
        ),
    };
    let running = i64::try_from(active.len()).unwrap_or(i64::MAX);
    if let Some(max) = cap("pods")
        && running + 1 > max
    {
        return Err(insufficient("pods", 1, running, max));
    }
    for resource in ["cpu", "memory"] {
        let Some(max) = cap(resource) else { continue };
        let requested = pod_request(pod, resource);
        if requested == 0 {
            continue;
        }
        let used: i64 = active.iter().map(|p| pod_request(p, resource)).sum();
        if requested + used > max {
            return Err(insufficient(resource, requested, used, max));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(yaml: &str) -> Pod {
        serde_yaml::from_str(yaml).unwrap()
    }
    fn cap(cpu: &str, memory: &str, pods: &str) -> BTreeMap<String, Quantity> {
        [("cpu", cpu), ("memory", memory), ("pods", pods)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
            .collect()
    }
    fn requesting(cpu: &str) -> Pod {
        pod(&format!(
            "spec: {{containers: [{{name: c, resources: {{requests: {{cpu: \"{cpu}\"}}}}}}]}}"
        ))
    }

    #[test]
    fn requests_count_cpu_in_millicores_and_memory_in_bytes() {
        let p = pod(
            "spec: {containers: [{name: c, resources: {requests: {cpu: 500m, memory: 128Mi}}}, {name: d, resources: {requests: {cpu: '1.0005'}}}]}",
        );
        assert_eq!(pod_request(&p, "cpu"), 1501);
        assert_eq!(pod_request(&p, "memory"), 128 * 1024 * 1024);
        assert_eq!(pod_request(&requesting("lots"), "cpu"), 0, "unparsable");
    }

    #[test]
    fn a_pod_that_does_not_fit_the_cpu_left_is_rejected_out_of_cpu() {
        let running = requesting("3");
        let err = admit(
            &requesting("1500m"),
            &[&running],
            &cap("4", "8Gi", "110"),
            &BTreeMap::new(),
        )
        .unwrap_err();
        assert_eq!(err.reason, "OutOfcpu");
        assert_eq!(
            err.message,
            "Node didn't have enough resource: cpu, requested: 1500, used: 3000, capacity: 4000"
        );
        assert!(
            admit(
                &requesting("1"),
                &[&running],
                &cap("4", "8Gi", "110"),
                &BTreeMap::new()
            )
            .is_ok()
        );
    }

    #[test]
    fn a_full_node_rejects_pods_out_of_pods() {
        let other = requesting("0");
        let err = admit(
            &requesting("0"),
            &[&other],
            &cap("4", "8Gi", "1"),
            &BTreeMap::new(),
        )
        .unwrap_err();
        assert_eq!(err.reason, "OutOfpods");
        assert_eq!(
            err.message,
            "Node didn't have enough resource: pods, requested: 1, used: 1, capacity: 1"
        );
    }

    #[test]
    fn a_node_selector_the_node_lacks_is_rejected_by_node_affinity() {
        let p = pod("spec: {nodeSelector: {disk: ssd}, containers: [{name: c}]}");
        let err = admit(&p, &[], &cap("4", "8Gi", "110"), &BTreeMap::new()).unwrap_err();
        assert_eq!(err.reason, "NodeAffinity");
        let labels = BTreeMap::from([("disk".to_string(), "ssd".to_string())]);
        assert!(admit(&p, &[], &cap("4", "8Gi", "110"), &labels).is_ok());
    }

    #[test]
    fn required_node_affinity_on_labels_is_checked_too() {
        let p = pod(
            "spec: {containers: [{name: c}], affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: disk, operator: In, values: [ssd]}]}]}}}}",
        );
        let err = admit(&p, &[], &cap("4", "8Gi", "110"), &BTreeMap::new()).unwrap_err();
        assert_eq!(err.reason, "NodeAffinity");
        let labels = BTreeMap::from([("disk".to_string(), "ssd".to_string())]);
        assert!(admit(&p, &[], &cap("4", "8Gi", "110"), &labels).is_ok());
    }

    #[test]
    fn init_containers_count_by_their_maximum_not_their_sum() {
        let p = pod(
            "spec: {initContainers: [{name: a, resources: {requests: {cpu: '2'}}}, {name: b, resources: {requests: {cpu: '2'}}}], containers: [{name: c, resources: {requests: {cpu: '1'}}}]}",
        );
        assert_eq!(pod_request(&p, "cpu"), 2000);
    }
}
