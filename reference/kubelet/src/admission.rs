//! Pod admission on the node: the kubelet re-checks what the scheduler checked, so a
//! pod bound directly with `spec.nodeName` cannot overcommit the node
//! (`pkg/kubelet/lifecycle/predicate.go` with the scheduler's general predicates).
//! Entry point: [`admit`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// Why a pod was rejected: `(reason, message)` as upstream's `PodAdmitResult`. The
/// kubelet sets phase Failed, `reason`, and `message: "Pod was rejected: " + message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// `OutOfcpu`, `OutOfmemory`, `OutOfpods`, `NodeAffinity`.
    pub reason: String,
    /// The predicate's message.
    pub message: String,
}

/// Parses a quantity into base units (cores, bytes); `None` if it is not one.
pub fn parse_quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(q.len());
    let (number, suffix) = q.split_at(split);
    let value: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        s if s.starts_with(['e', 'E']) => 10f64.powi(s[1..].parse().ok()?),
        _ => return None,
    };
    Some(value * scale)
}

fn request(c: &Container, resource: &str) -> f64 {
    c.resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get(resource))
        .and_then(|q| parse_quantity(&q.0))
        .unwrap_or(0.0)
}

/// The pod's effective request of `resource`: the larger of the regular containers'
/// (plus sidecars') sum and the largest init container, plus the pod overhead.
pub fn pod_request(pod: &Pod, resource: &str) -> f64 {
    let Some(spec) = pod.spec.as_ref() else {
        return 0.0;
    };
    let inits = spec.init_containers.as_deref().unwrap_or_default();
    let sidecars: f64 = inits
        .iter()
        .filter(|c| crate::status::is_sidecar(c))
        .map(|c| request(c, resource))
        .sum();
    let regular: f64 = spec
        .containers
        .iter()
        .map(|c| request(c, resource))
        .sum::<f64>()
        + sidecars;
    let init_max = inits
        .iter()
        .filter(|c| !crate::status::is_sidecar(c))
        .map(|c| request(c, resource))
        .fold(0.0, f64::max);
    let overhead = spec
        .overhead
        .as_ref()
        .and_then(|o| o.get(resource))
        .and_then(|q| parse_quantity(&q.0))
        .unwrap_or(0.0);
    regular.max(init_max) + overhead
}

fn matches_selector(pod: &Pod, node_labels: &BTreeMap<String, String>) -> bool {
    let selector = pod.spec.as_ref().and_then(|s| s.node_selector.as_ref());
    selector.is_none_or(|sel| sel.iter().all(|(k, v)| node_labels.get(k) == Some(v)))
}

/// Admits `pod` on a node with `capacity` (allocatable) and `labels` running `active`
/// pods, or says why not. Checks, in upstream's order: the node selector, then pods,
/// cpu and memory. (Required node affinity terms are left to the scheduler.)
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
    let cap = |r: &str| capacity.get(r).and_then(|q| parse_quantity(&q.0));
    let insufficient = |resource: &str, requested: i64, used: i64, capacity: i64| Rejection {
        reason: format!("OutOf{resource}"),
        message: format!(
            "Node didn't have enough resource: {resource}, requested: {requested}, used: {used}, capacity: {capacity}"
        ),
    };
    if let Some(max) = cap("pods")
        && active.len() as f64 + 1.0 > max
    {
        return Err(insufficient("pods", 1, active.len() as i64, max as i64));
    }
    // cpu in millicores and memory in bytes, as upstream reports them.
    for (resource, unit) in [("cpu", 1000.0), ("memory", 1.0)] {
        let Some(max) = cap(resource) else { continue };
        let requested = pod_request(pod, resource);
        if requested == 0.0 {
            continue;
        }
        let used: f64 = active.iter().map(|p| pod_request(p, resource)).sum();
        if requested + used > max {
            let r = |v: f64| (v * unit).round() as i64;
            return Err(insufficient(resource, r(requested), r(used), r(max)));
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
    fn quantities_parse_with_decimal_binary_and_milli_suffixes() {
        assert_eq!(parse_quantity("500m"), Some(0.5));
        assert_eq!(parse_quantity("2"), Some(2.0));
        assert_eq!(parse_quantity("128Mi"), Some(128.0 * 1024.0 * 1024.0));
        assert_eq!(parse_quantity("1G"), Some(1e9));
        assert_eq!(parse_quantity("1e3"), Some(1000.0));
        assert_eq!(parse_quantity("lots"), None);
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
    fn init_containers_count_by_their_maximum_not_their_sum() {
        let p = pod(
            "spec: {initContainers: [{name: a, resources: {requests: {cpu: '2'}}}, {name: b, resources: {requests: {cpu: '2'}}}], containers: [{name: c, resources: {requests: {cpu: '1'}}}]}",
        );
        assert_eq!(pod_request(&p, "cpu"), 2.0);
    }
}
