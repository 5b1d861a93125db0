//! Tests for defaulting, against upstream's defaults.

use super::*;
use crate::registry::lookup;

fn defaulted(group: &str, plural: &str, mut obj: Value) -> Value {
    apply_defaults(
        lookup(group, "v1", plural).unwrap(),
        &mut obj,
        &DefaultsConfig::default(),
    );
    obj
}

#[test]
fn a_minimal_pod_gets_upstreams_defaults() {
    let pod = defaulted(
        "",
        "pods",
        json!({"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "a", "image": "nginx", "ports": [{"containerPort": 80}], "livenessProbe": {"httpGet": {"port": 80}}},
        {"name": "b", "image": "nginx:1.25"}]}}),
    );
    let spec = &pod["spec"];
    assert_eq!(spec["restartPolicy"], "Always");
    assert_eq!(spec["dnsPolicy"], "ClusterFirst");
    assert_eq!(spec["schedulerName"], "default-scheduler");
    assert_eq!(spec["terminationGracePeriodSeconds"], 30);
    assert_eq!(spec["securityContext"], json!({}));
    assert_eq!(spec["enableServiceLinks"], true);
    assert_eq!(spec["priority"], 0);
    assert_eq!(spec["preemptionPolicy"], "PreemptLowerPriority");
    let a = &spec["containers"][0];
    assert_eq!(a["imagePullPolicy"], "Always");
    assert_eq!(spec["containers"][1]["imagePullPolicy"], "IfNotPresent");
    assert_eq!(a["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(a["terminationMessagePolicy"], "File");
    assert_eq!(a["ports"][0]["protocol"], "TCP");
    assert_eq!(
        a["livenessProbe"],
        json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(
        pod["status"],
        json!({"phase": "Pending", "qosClass": "BestEffort"})
    );
}

#[test]
fn default_toleration_seconds_adds_both_tolerations() {
    let pod = defaulted(
        "",
        "pods",
        json!({"spec": {"containers": [{"name": "a", "image": "x"}]}}),
    );
    assert_eq!(
        pod["spec"]["tolerations"],
        json!([
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
        ])
    );
}

#[test]
fn an_existing_matching_toleration_suppresses_the_default() {
    let mut pod = json!({"spec": {"tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 5}]}});
    default_toleration_seconds(
        &mut pod,
        &DefaultsConfig::default().with_not_ready_toleration_seconds(7),
    );
    let t = pod["spec"]["tolerations"].as_array().unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t[1]["key"], "node.kubernetes.io/not-ready");
    assert_eq!(t[1]["tolerationSeconds"], 7);
    // An empty key with no effect tolerates everything.
    let mut all = json!({"spec": {"tolerations": [{"operator": "Exists"}]}});
    default_toleration_seconds(&mut all, &DefaultsConfig::default());
    assert_eq!(all["spec"]["tolerations"].as_array().unwrap().len(), 1);
    // A NoSchedule toleration for the key does not count.
    let mut ns = json!({"spec": {"tolerations": [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]}});
    default_toleration_seconds(&mut ns, &DefaultsConfig::default());
    assert_eq!(ns["spec"]["tolerations"].as_array().unwrap().len(), 3);
}

#[test]
fn limits_become_requests_and_make_a_guaranteed_pod() {
    let pod = defaulted(
        "",
        "pods",
        json!({"spec": {"containers": [{"name": "a", "image": "x", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}}),
    );
    assert_eq!(
        pod["spec"]["containers"][0]["resources"]["requests"],
        json!({"cpu": "1", "memory": "1Gi"})
    );
    assert_eq!(pod["status"]["qosClass"], "Guaranteed");
}

#[test]
fn services_default_type_affinity_ports_and_policies() {
    let svc = defaulted(
        "",
        "services",
        json!({"spec": {"ports": [{"port": 80}, {"port": 81, "targetPort": "http"}]}}),
    );
    let spec = &svc["spec"];
    assert_eq!(spec["type"], "ClusterIP");
    assert_eq!(spec["sessionAffinity"], "None");
    assert_eq!(
        spec["ports"][0],
        json!({"port": 80, "protocol": "TCP", "targetPort": 80})
    );
    assert_eq!(spec["ports"][1]["targetPort"], "http");
    assert_eq!(spec["internalTrafficPolicy"], "Cluster");
    assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
    assert!(spec.get("externalTrafficPolicy").is_none());
    let np = defaulted("", "services", json!({"spec": {"type": "NodePort"}}));
    assert_eq!(np["spec"]["externalTrafficPolicy"], "Cluster");
}

#[test]
fn deployments_default_as_upstream() {
    let d = defaulted(
        "apps",
        "deployments",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x:1"}]}}}}),
    );
    let spec = &d["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(
        spec["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["progressDeadlineSeconds"], 600);
    assert_eq!(spec["template"]["spec"]["restartPolicy"], "Always");
    assert_eq!(
        spec["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    // Templates get PodSpec defaults but not Pod-only ones.
    assert!(spec["template"]["spec"].get("enableServiceLinks").is_none());
}

#[test]
fn recreate_deployments_get_no_rolling_update() {
    let d = defaulted(
        "apps",
        "deployments",
        json!({"spec": {"strategy": {"type": "Recreate"}}}),
    );
    assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn daemonsets_and_statefulsets_default_their_strategies() {
    let ds = defaulted("apps", "daemonsets", json!({"spec": {}}));
    assert_eq!(
        ds["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );
    assert_eq!(ds["spec"]["revisionHistoryLimit"], 10);
    let sts = defaulted("apps", "statefulsets", json!({"spec": {}}));
    assert_eq!(sts["spec"]["podManagementPolicy"], "OrderedReady");
    assert_eq!(
        sts["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    );
    assert_eq!(sts["spec"]["replicas"], 1);
}

#[test]
fn replication_controllers_take_selector_and_labels_from_the_template() {
    let rc = defaulted(
        "",
        "replicationcontrollers",
        json!({"metadata": {"name": "r"}, "spec": {"template": {"metadata": {"labels": {"app": "x"}}}}}),
    );
    assert_eq!(rc["spec"]["selector"], json!({"app": "x"}));
    assert_eq!(rc["metadata"]["labels"], json!({"app": "x"}));
    assert_eq!(rc["spec"]["replicas"], 1);
}

#[test]
fn jobs_get_counts_and_a_generated_selector() {
    let job = defaulted(
        "batch",
        "jobs",
        json!({"metadata": {"name": "pi", "uid": "u-1"}, "spec": {"template": {"spec": {"restartPolicy": "Never"}}}}),
    );
    let spec = &job["spec"];
    assert_eq!(
        (
            spec["completions"].clone(),
            spec["parallelism"].clone(),
            spec["backoffLimit"].clone()
        ),
        (json!(1), json!(1), json!(6))
    );
    assert_eq!(spec["completionMode"], "NonIndexed");
    assert_eq!(spec["suspend"], false);
    assert_eq!(
        spec["selector"],
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
    );
    let labels = json!({"batch.kubernetes.io/controller-uid": "u-1", "batch.kubernetes.io/job-name": "pi", "controller-uid": "u-1", "job-name": "pi"});
    assert_eq!(spec["template"]["metadata"]["labels"], labels);
    assert_eq!(job["metadata"]["labels"], labels);
}

#[test]
fn a_manual_selector_job_keeps_its_selector() {
    let job = defaulted(
        "batch",
        "jobs",
        json!({"metadata": {"name": "j", "uid": "u"}, "spec": {"manualSelector": true, "selector": {"matchLabels": {"a": "b"}}}}),
    );
    assert_eq!(job["spec"]["selector"], json!({"matchLabels": {"a": "b"}}));
}

#[test]
fn namespaces_are_active_and_labelled_with_their_name() {
    let ns = defaulted("", "namespaces", json!({"metadata": {"name": "n"}}));
    assert_eq!(
        ns["metadata"]["labels"],
        json!({"kubernetes.io/metadata.name": "n"})
    );
    assert_eq!(ns["status"]["phase"], "Active");
}

#[test]
fn defaulting_a_finalized_namespace_keeps_its_finalizers_removed() {
    let ns = defaulted(
        "",
        "namespaces",
        json!({"metadata": {"name": "n"}, "spec": {"finalizers": []}, "status": {"phase": "Terminating"}}),
    );
    assert_eq!(ns["spec"]["finalizers"], json!([]));
    assert_eq!(ns["status"]["phase"], "Terminating");
}

#[test]
fn claims_volumes_secrets_and_nodes_get_their_defaults() {
    assert_eq!(
        defaulted("", "persistentvolumeclaims", json!({}))["spec"]["volumeMode"],
        "Filesystem"
    );
    assert_eq!(defaulted("", "secrets", json!({}))["type"], "Opaque");
    let node = defaulted("", "nodes", json!({"status": {"capacity": {"cpu": "4"}}}));
    assert_eq!(node["status"]["allocatable"], json!({"cpu": "4"}));
    let lease = defaulted("coordination.k8s.io", "leases", json!({"spec": {}}));
    assert_eq!(lease, json!({"spec": {}}));
}

#[test]
fn malformed_objects_do_not_panic() {
    for bad in [
        json!(null),
        json!([]),
        json!({"spec": 5}),
        json!({"spec": {"containers": 5}}),
        json!({"spec": {"containers": [5]}}),
    ] {
        for r in crate::registry::all() {
            let mut obj = bad.clone();
            apply_defaults(r, &mut obj, &DefaultsConfig::default());
        }
    }
}

#[test]
fn the_qos_class_is_recomputed_after_requests_default_to_limits() {
    let pod = defaulted(
        "",
        "pods",
        json!({"spec": {"containers": [{"name": "a", "image": "x", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]},
               "status": {"phase": "Pending", "qosClass": "Burstable"}}),
    );
    assert_eq!(pod["status"]["qosClass"], "Guaranteed");
}
