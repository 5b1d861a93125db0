//! Pod defaults: upstream's `SetDefaults_Pod`, `SetDefaults_PodSpec`,
//! `SetDefaults_Container`, probe/port/volume defaults, the Priority plugin's
//! priority 0, the pod strategy's initial status (Pending + QoS class) and the
//! DefaultTolerationSeconds admission plugin.
//!
//! Entry points: [`pod`], [`pod_spec`], [`default_toleration_seconds`].

use super::{DefaultsConfig, obj_mut, set_if_absent, set_if_empty};
use serde_json::{Value, json};

/// Defaults of a Pod object (not a template).
pub fn pod(pod: &mut Value, cfg: &DefaultsConfig) {
    let Some(spec) = obj_mut(pod, "spec") else {
        return;
    };
    // SetDefaults_Pod: requests default to limits, service links on, host-network ports.
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    for list in ["initContainers", "containers"] {
        for c in spec
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            requests_from_limits(c);
            if host_network {
                for p in c
                    .get_mut("ports")
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    if p.is_object() && p.get("hostPort").and_then(Value::as_i64).unwrap_or(0) == 0
                    {
                        let cp = p.get("containerPort").cloned().unwrap_or(Value::Null);
                        p["hostPort"] = cp;
                    }
                }
            }
        }
    }
    set_if_absent(spec, "enableServiceLinks", json!(true));
    // The Priority admission plugin: no priorityClassName means priority 0.
    set_if_absent(spec, "priority", json!(0));
    set_if_absent(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    pod_spec(spec);
    let qos = qos_class(spec);
    // The pod strategy's PrepareForCreate: a new pod is Pending with its QoS class.
    let status = pod
        .as_object_mut()
        .map(|m| m.entry("status").or_insert_with(|| json!({})));
    if let Some(status @ Value::Object(_)) = status {
        set_if_empty(status, "phase", json!("Pending"));
        // Upstream computes the class after defaulting (requests copied from limits),
        // and resources are immutable, so recomputing always gives the right class.
        status["qosClass"] = json!(qos);
    }
    default_toleration_seconds(pod, cfg);
}

fn requests_from_limits(c: &mut Value) {
    if !c.is_object() {
        return;
    }
    let Some(limits) = c
        .pointer("/resources/limits")
        .and_then(Value::as_object)
        .cloned()
    else {
        return;
    };
    let Some(resources) = obj_mut(c, "resources") else {
        return;
    };
    let requests = resources
        .as_object_mut()
        .map(|m| m.entry("requests").or_insert_with(|| json!({})));
    if let Some(Value::Object(req)) = requests {
        for (k, v) in limits {
            req.entry(k).or_insert(v);
        }
    }
}

/// `SetDefaults_PodSpec` and the defaults of everything inside it (templates too).
pub fn pod_spec(spec: &mut Value) {
    set_if_empty(spec, "dnsPolicy", json!("ClusterFirst"));
    set_if_empty(spec, "restartPolicy", json!("Always"));
    set_if_absent(spec, "securityContext", json!({}));
    set_if_absent(spec, "terminationGracePeriodSeconds", json!(30));
    set_if_empty(spec, "schedulerName", json!("default-scheduler"));
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in spec
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            container(c);
        }
    }
    for v in spec
        .get_mut("volumes")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        volume(v);
    }
}

fn container(c: &mut Value) {
    if !c.is_object() {
        return;
    }
    if c.get("imagePullPolicy")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .is_empty()
    {
        let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
        let policy = if image_tag(image) == "latest" {
            "Always"
        } else {
            "IfNotPresent"
        };
        c["imagePullPolicy"] = json!(policy);
    }
    set_if_empty(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_if_empty(c, "terminationMessagePolicy", json!("File"));
    for p in c
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        set_if_empty(p, "protocol", json!("TCP"));
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).filter(|p| p.is_object()) {
            for (field, default) in [
                ("timeoutSeconds", 1),
                ("periodSeconds", 10),
                ("successThreshold", 1),
                ("failureThreshold", 3),
            ] {
                if p.get(field).and_then(Value::as_i64).unwrap_or(0) == 0 {
                    p[field] = json!(default);
                }
            }
            if let Some(get) = p.get_mut("httpGet").filter(|g| g.is_object()) {
                set_if_empty(get, "path", json!("/"));
                set_if_empty(get, "scheme", json!("HTTP"));
            }
        }
    }
    for e in c
        .get_mut("env")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(f) = e
            .pointer_mut("/valueFrom/fieldRef")
            .filter(|f| f.is_object())
        {
            set_if_empty(f, "apiVersion", json!("v1"));
        }
    }
}

/// The tag upstream's `ParseImageName` reports: `latest` when there is neither a tag
/// nor a digest.
fn image_tag(image: &str) -> &str {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.rsplit_once(':') {
        Some((_, tag)) => tag,
        None if digest.is_some() => "",
        None => "latest",
    }
}

const VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

fn volume(v: &mut Value) {
    if !v.is_object() {
        return;
    }
    if !VOLUME_SOURCES
        .iter()
        .any(|s| v.get(*s).is_some_and(|x| !x.is_null()))
    {
        v["emptyDir"] = json!({});
    }
    for src in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(s) = v.get_mut(src).filter(|s| s.is_object()) {
            set_if_absent(s, "defaultMode", json!(420));
        }
    }
}

/// Upstream's `GetPodQOS` over requests/limits of the (defaulted) containers.
pub(crate) fn qos_class(spec: &Value) -> &'static str {
    let containers: Vec<&Value> = ["initContainers", "containers"]
        .iter()
        .flat_map(|l| spec.get(*l).and_then(Value::as_array).into_iter().flatten())
        .collect();
    let mut any = false;
    let mut guaranteed = true;
    for c in &containers {
        let req = c.pointer("/resources/requests").and_then(Value::as_object);
        let lim = c.pointer("/resources/limits").and_then(Value::as_object);
        let relevant = |m: Option<&serde_json::Map<String, Value>>| {
            m.map(|m| {
                m.iter()
                    .filter(|(k, _)| *k == "cpu" || *k == "memory")
                    .count()
            })
            .unwrap_or(0)
        };
        if relevant(req) > 0 || relevant(lim) > 0 {
            any = true;
        }
        let full_limits = lim.is_some_and(|l| l.contains_key("cpu") && l.contains_key("memory"));
        let equal = ["cpu", "memory"]
            .iter()
            .all(|r| req.and_then(|m| m.get(*r)) == lim.and_then(|m| m.get(*r)));
        if !full_limits || !equal {
            guaranteed = false;
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// The DefaultTolerationSeconds admission plugin: adds the not-ready and unreachable
/// NoExecute tolerations unless the pod already tolerates them.
pub fn default_toleration_seconds(pod: &mut Value, cfg: &DefaultsConfig) {
    let Some(spec) = pod.get_mut("spec").filter(|s| s.is_object()) else {
        return;
    };
    let existing = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let tolerates = |key: &str| {
        existing.iter().any(|t| {
            let k = t.get("key").and_then(Value::as_str).unwrap_or_default();
            let e = t.get("effect").and_then(Value::as_str).unwrap_or_default();
            (k == key || k.is_empty()) && (e == "NoExecute" || e.is_empty())
        })
    };
    let mut added = Vec::new();
    for (key, seconds) in [
        (
            "node.kubernetes.io/not-ready",
            cfg.not_ready_toleration_seconds,
        ),
        (
            "node.kubernetes.io/unreachable",
            cfg.unreachable_toleration_seconds,
        ),
    ] {
        if !tolerates(key) {
            added.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds}));
        }
    }
    if !added.is_empty() {
        let mut all = existing;
        all.extend(added);
        spec["tolerations"] = Value::Array(all);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_tags_follow_parse_image_name() {
        assert_eq!(image_tag("nginx"), "latest");
        assert_eq!(image_tag("nginx:1.25"), "1.25");
        assert_eq!(image_tag("localhost:5000/app"), "latest");
        assert_eq!(image_tag("localhost:5000/app:v1"), "v1");
        assert_eq!(image_tag("nginx@sha256:abc"), "");
    }

    #[test]
    fn qos_classes() {
        assert_eq!(qos_class(&json!({"containers": [{}]})), "BestEffort");
        let g = json!({"containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}}]});
        assert_eq!(qos_class(&g), "Guaranteed");
        assert_eq!(
            qos_class(&json!({"containers": [{"resources": {"requests": {"cpu": "1"}}}]})),
            "Burstable"
        );
    }
}
