//! Tests for server-side Table printing, with insta snapshots at a fixed `now`.

use super::*;
use crate::registry::lookup;
use chrono::TimeZone;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 12, 0, 0).unwrap()
}

fn cells(group: &str, plural: &str, obj: Value) -> Vec<Value> {
    let t = to_table(
        lookup(group, "v1", plural).unwrap(),
        &[obj],
        IncludeObject::None,
        now(),
    );
    t["rows"][0]["cells"].as_array().unwrap().clone()
}

fn snapshot(name: &str, value: &Value) {
    insta::with_settings!({snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/../../snapshots/refkube-resources")}, {
        insta::assert_json_snapshot!(name, value, {".columnDefinitions[].description" => "[doc]"});
    });
}

#[test]
fn human_duration_matches_upstream_examples() {
    let d = chrono::TimeDelta::seconds;
    assert_eq!(human_duration(d(-5)), "<invalid>");
    assert_eq!(human_duration(d(-1)), "0s");
    assert_eq!(human_duration(d(5)), "5s");
    assert_eq!(human_duration(d(119)), "119s");
    assert_eq!(human_duration(d(182)), "3m2s");
    assert_eq!(human_duration(d(600)), "10m");
    assert_eq!(human_duration(d(3 * 3600 + 4 * 60)), "3h4m");
    assert_eq!(human_duration(d(10 * 3600)), "10h");
    assert_eq!(human_duration(d(51 * 3600)), "2d3h");
    assert_eq!(human_duration(d(30 * 86400)), "30d");
    assert_eq!(human_duration(d(800 * 86400)), "2y70d");
    assert_eq!(human_duration(d(3000 * 86400)), "8y");
}

#[test]
fn a_running_pod_prints_ready_status_restarts_and_wide_cells() {
    let pod = json!({
        "metadata": {"name": "web", "creationTimestamp": "2024-01-01T11:55:00Z"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "a"}, {"name": "b"}]},
        "status": {"phase": "Running", "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}], "containerStatuses": [
            {"name": "a", "ready": true, "restartCount": 2, "state": {"running": {}},
             "lastState": {"terminated": {"finishedAt": "2024-01-01T11:58:00Z"}}},
            {"name": "b", "ready": true, "restartCount": 0, "state": {"running": {}}}
        ]}
    });
    assert_eq!(
        cells("", "pods", pod),
        vec![
            json!("web"),
            json!("2/2"),
            json!("Running"),
            json!("2 (2m ago)"),
            json!("5m"),
            json!("10.0.0.5"),
            json!("node-1"),
            json!("<none>"),
            json!("<none>")
        ]
    );
}

#[test]
fn a_crash_looping_container_shows_its_waiting_reason() {
    let pod = json!({
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "a"}]},
        "status": {"phase": "Running", "containerStatuses": [
            {"name": "a", "ready": false, "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
        ]}
    });
    let c = cells("", "pods", pod);
    assert_eq!(c[1], "0/1");
    assert_eq!(c[2], "CrashLoopBackOff");
    assert_eq!(c[3], "3");
    assert_eq!(c[4], "<unknown>");
}

#[test]
fn init_containers_show_progress_and_failures() {
    let mut pod = json!({
        "metadata": {"name": "p"},
        "spec": {"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "a"}]},
        "status": {"phase": "Pending", "initContainerStatuses": [
            {"name": "i1", "state": {"terminated": {"exitCode": 0}}},
            {"name": "i2", "state": {"running": {}}}
        ]}
    });
    assert_eq!(cells("", "pods", pod.clone())[2], "Init:1/2");
    pod["status"]["initContainerStatuses"][1]["state"] = json!({"terminated": {"exitCode": 2}});
    assert_eq!(cells("", "pods", pod.clone())[2], "Init:ExitCode:2");
    pod["status"]["initContainerStatuses"][1]["state"] =
        json!({"waiting": {"reason": "ImagePullBackOff"}});
    assert_eq!(cells("", "pods", pod)[2], "Init:ImagePullBackOff");
}

#[test]
fn a_deleted_pod_is_terminating_and_a_completed_one_completed() {
    let pod = json!({
        "metadata": {"name": "p", "deletionTimestamp": "2024-01-01T12:00:00Z"},
        "spec": {"containers": [{"name": "a"}]},
        "status": {"phase": "Running"}
    });
    assert_eq!(cells("", "pods", pod)[2], "Terminating");
    let done = json!({
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "a"}]},
        "status": {"phase": "Succeeded", "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}
    });
    let t = to_table(
        lookup("", "v1", "pods").unwrap(),
        &[done],
        IncludeObject::None,
        now(),
    );
    assert_eq!(t["rows"][0]["cells"][2], "Completed");
    assert_eq!(t["rows"][0]["conditions"][0]["reason"], "Succeeded");
}

#[test]
fn a_terminated_container_without_reason_prints_its_signal_or_exit_code() {
    let pod = json!({
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "a"}]},
        "status": {"phase": "Running", "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}
    });
    assert_eq!(cells("", "pods", pod)[2], "Signal:9");
}

#[test]
fn deployment_table_snapshot() {
    let d = json!({
        "kind": "Deployment", "apiVersion": "apps/v1",
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2024-01-01T08:56:00Z"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}, {"name": "side", "image": "busybox"}]}}},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
    });
    let t = to_table(
        lookup("apps", "v1", "deployments").unwrap(),
        &[d],
        IncludeObject::Metadata,
        now(),
    );
    assert_eq!(t["rows"][0]["cells"][4], "3h4m");
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    assert!(
        t["columnDefinitions"][2]["description"]
            .as_str()
            .unwrap()
            .contains("Total number of non-terminating pods")
    );
    snapshot("deployment_table", &t);
}

#[test]
fn service_table_snapshot() {
    let svc = json!({
        "metadata": {"name": "web", "creationTimestamp": "2023-12-30T09:00:00Z"},
        "spec": {"type": "NodePort", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "selector": {"app": "web"},
                 "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}
    });
    let t = to_table(
        lookup("", "v1", "services").unwrap(),
        &[svc],
        IncludeObject::None,
        now(),
    );
    assert_eq!(t["rows"][0]["cells"][4], "80:30080/TCP,53/UDP");
    assert_eq!(t["rows"][0]["cells"][5], "2d3h");
    snapshot("service_table", &t);
}

#[test]
fn node_table_snapshot() {
    let node = json!({
        "metadata": {"name": "node-1", "creationTimestamp": "2024-01-01T11:59:55Z",
                     "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "worker"}},
        "spec": {"unschedulable": true},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
                   "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}],
                   "nodeInfo": {"kubeletVersion": "v1.33.0", "osImage": "Debian", "kernelVersion": "6.1", "containerRuntimeVersion": "refkube://0.1"}}
    });
    let t = to_table(
        lookup("", "v1", "nodes").unwrap(),
        &[node],
        IncludeObject::None,
        now(),
    );
    assert_eq!(t["rows"][0]["cells"][1], "Ready,SchedulingDisabled");
    assert_eq!(t["rows"][0]["cells"][2], "control-plane,worker");
    assert_eq!(t["rows"][0]["cells"][3], "5s");
    snapshot("node_table", &t);
}

#[test]
fn include_object_controls_the_row_object() {
    let cm = json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}});
    let info = lookup("", "v1", "configmaps").unwrap();
    let none = to_table(info, std::slice::from_ref(&cm), IncludeObject::None, now());
    assert!(none["rows"][0].get("object").is_none());
    assert_eq!(none["rows"][0]["cells"][1], 2);
    let full = to_table(
        info,
        std::slice::from_ref(&cm),
        IncludeObject::Object,
        now(),
    );
    assert_eq!(full["rows"][0]["object"], cm);
}

#[test]
fn component_statuses_print_health() {
    let cs = json!({"metadata": {"name": "etcd-0"}, "conditions": [{"type": "Healthy", "status": "True", "message": "ok"}]});
    assert_eq!(
        cells("", "componentstatuses", cs),
        vec![json!("etcd-0"), json!("Healthy"), json!("ok"), json!("")]
    );
}

#[test]
fn endpoints_show_at_most_three_addresses() {
    let ep = json!({"metadata": {"name": "e"}, "subsets": [{"addresses": [{"ip": "1.1.1.1"}, {"ip": "1.1.1.2"}, {"ip": "1.1.1.3"}, {"ip": "1.1.1.4"}], "ports": [{"port": 80}]}]});
    assert_eq!(
        cells("", "endpoints", ep)[1],
        "1.1.1.1:80,1.1.1.2:80,1.1.1.3:80 + 1 more..."
    );
    assert_eq!(
        cells("", "endpoints", json!({"metadata": {"name": "e"}}))[1],
        "<none>"
    );
}

#[test]
fn events_print_object_source_and_count() {
    let ev = json!({
        "metadata": {"name": "web.1"}, "type": "Normal", "reason": "Scheduled", "message": " Assigned ",
        "involvedObject": {"kind": "Pod", "name": "web"}, "source": {"component": "default-scheduler"},
        "firstTimestamp": "2024-01-01T11:59:00Z", "lastTimestamp": "2024-01-01T11:59:30Z"
    });
    assert_eq!(
        cells("", "events", ev),
        vec![
            json!("30s"),
            json!("Normal"),
            json!("Scheduled"),
            json!("pod/web"),
            json!(""),
            json!("default-scheduler"),
            json!("Assigned"),
            json!("60s"),
            json!(1),
            json!("web.1")
        ]
    );
    let v1 = json!({"metadata": {"name": "x"}, "regarding": {"kind": "Node", "name": "n"}, "note": "hi", "reportingController": "kubelet",
                    "eventTime": "2024-01-01T11:59:50.000000Z", "series": {"count": 4, "lastObservedTime": "2024-01-01T11:59:59.000000Z"}});
    let c = cells("events.k8s.io", "events", v1);
    assert_eq!(c[0], "1s");
    assert_eq!(c[3], "node/n");
    assert_eq!(c[8], 4);
}

#[test]
fn jobs_print_status_completions_and_duration() {
    let job = json!({"metadata": {"name": "j"}, "spec": {"completions": 3, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}}},
                     "status": {"succeeded": 3, "startTime": "2024-01-01T11:00:00Z", "completionTime": "2024-01-01T11:00:42Z",
                                "conditions": [{"type": "Complete", "status": "True"}]}});
    let c = cells("batch", "jobs", job);
    assert_eq!(&c[1..4], &[json!("Complete"), json!("3/3"), json!("42s")]);
    assert_eq!(c[7], "batch.kubernetes.io/controller-uid=u");
}

#[test]
fn replication_controllers_print_their_map_selector() {
    let rc = json!({"metadata": {"name": "r"}, "spec": {"replicas": 2, "selector": {"b": "2", "a": "1"}}});
    assert_eq!(cells("", "replicationcontrollers", rc)[7], "a=1,b=2");
}

#[test]
fn volumes_and_claims_print_access_modes() {
    let pv = json!({"metadata": {"name": "pv1"}, "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                    "persistentVolumeReclaimPolicy": "Retain", "claimRef": {"namespace": "d", "name": "c"}}, "status": {"phase": "Bound"}});
    let c = cells("", "persistentvolumes", pv);
    assert_eq!(
        &c[1..6],
        &[
            json!("1Gi"),
            json!("RWO,RWX"),
            json!("Retain"),
            json!("Bound"),
            json!("d/c")
        ]
    );
    assert_eq!(c[7], "<unset>");
}

#[test]
fn unknown_kinds_fall_back_to_name_and_age() {
    // A kind whose strategy states nothing has the generic behaviour.
    struct Plain;
    impl crate::strategy::Strategy for Plain {}
    let info = ResourceInfo {
        plural: "widgets",
        group: "example.com",
        strategy: &Plain,
        ..lookup("", "v1", "pods").unwrap().clone()
    };
    let t = to_table(
        &info,
        &[json!({"metadata": {"name": "w", "creationTimestamp": "2024-01-01T11:59:00Z"}})],
        IncludeObject::None,
        now(),
    );
    assert_eq!(t["rows"][0]["cells"], json!(["w", "60s"]));
}

#[test]
fn column_definitions_are_cheap_after_the_first_table() {
    let info = lookup("", "v1", "pods").unwrap();
    let _ = to_table(info, &[], IncludeObject::None, now());
    let start = std::time::Instant::now();
    for _ in 0..100 {
        let _ = to_table(info, &[], IncludeObject::None, now());
    }
    // Column docs come from cached schemas, not regenerated per request.
    assert!(
        start.elapsed() < std::time::Duration::from_millis(100),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn pod_table_snapshot() {
    let pods = vec![
        json!({"metadata": {"name": "running", "creationTimestamp": "2024-01-01T11:00:00Z"},
               "spec": {"nodeName": "node-1", "containers": [{"name": "a"}], "readinessGates": [{"conditionType": "x/ready"}]},
               "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.7"}], "conditions": [{"type": "x/ready", "status": "True"}],
                          "containerStatuses": [{"name": "a", "ready": true, "restartCount": 0, "state": {"running": {}}}]}}),
        json!({"metadata": {"name": "pending", "creationTimestamp": "2024-01-01T11:59:58Z"},
               "spec": {"containers": [{"name": "a"}, {"name": "b"}]}, "status": {"phase": "Pending", "nominatedNodeName": "node-2"}}),
        json!({"metadata": {"name": "failed", "creationTimestamp": "2023-12-25T12:00:00Z"},
               "spec": {"containers": [{"name": "a"}]},
               "status": {"phase": "Failed", "reason": "Evicted"}}),
    ];
    let t = to_table(
        lookup("", "v1", "pods").unwrap(),
        &pods,
        IncludeObject::None,
        now(),
    );
    assert_eq!(t["rows"][2]["cells"][2], "Evicted");
    snapshot("pod_table", &t);
}
