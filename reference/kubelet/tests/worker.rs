//! Pod worker integration tests without an API server: real processes (and the
//! simulator) driven by the worker, statuses captured by `MemoryPodApi`.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ContainerStatus, PodStatus};
use refkube_kubelet::runtime::process::ProcessRuntime;
use refkube_kubelet::runtime::sim::SimRuntime;
use refkube_kubelet::worker::PodWorker;

mod common;

use common::{delete_and_join, harness, phase, pod, process};

fn container<'a>(s: &'a PodStatus, name: &str) -> &'a ContainerStatus {
    s.container_statuses
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.name == name)
        .unwrap()
}

#[tokio::test]
async fn a_busybox_container_exiting_3_fails_the_pod_with_exit_code_3() {
    let h = process("127.101.1.0/24");
    let p = pod(r#"
metadata: {name: exit3, namespace: default, uid: u-exit3}
spec:
  restartPolicy: Never
  containers:
  - {name: main, image: busybox, command: [sh, -c, "echo bye; exit 3"]}
"#);
    let _w = PodWorker::spawn(p, h.deps.clone());
    let s = h.wait_for("phase Failed", |s| phase(s) == "Failed").await;
    let t = container(&s, "main")
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(t.exit_code, 3);
    assert_eq!(t.reason.as_deref(), Some("Error"));
    assert_eq!(s.pod_ip.as_deref(), Some("127.101.1.2"));
    assert_eq!(s.host_ip.as_deref(), Some("127.0.1.1"));
    let ready = s
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.status, "False");
    assert_eq!(
        ready.message.as_deref(),
        Some("containers with unready status: [main]")
    );
    let log = h.logs.get("default", "exit3", "main", false).unwrap();
    assert_eq!(log.read_from(0).lines[0].text, "bye");
    assert_eq!(h.event_messages("Created"), ["Created container: main"]);
    assert_eq!(h.event_messages("Started"), ["Started container main"]);
    assert_eq!(
        h.event_messages("Pulled"),
        ["Container image \"busybox\" already present on machine"]
    );
}

#[tokio::test]
async fn netexec_answers_on_the_pod_ip_with_the_pod_name_as_hostname() {
    let h = process("127.101.2.0/24");
    let p = pod(r#"
metadata: {name: web, namespace: default, uid: u-web}
spec:
  containers:
  - name: netexec
    image: registry.k8s.io/e2e-test-images/agnhost:2.53
    args: [netexec, --http-port=8080, --udp-port=-1]
    readinessProbe:
      httpGet: {path: /healthz, port: 8080}
      periodSeconds: 1
"#);
    let _w = PodWorker::spawn(p, h.deps.clone());
    let s = h
        .wait_for("Ready", |s| {
            phase(s) == "Running" && container(s, "netexec").ready
        })
        .await;
    let ip = s.pod_ip.unwrap();
    let get = |path: &str| {
        let url = format!("http://{ip}:8080{path}");
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    assert_eq!(get("/hostname").await, "web");
    assert_eq!(get("/echo?msg=hello").await, "hello");
    let shell: serde_json::Value =
        serde_json::from_str(&get("/shell?cmd=echo%20$POD_IP").await).unwrap();
    assert_eq!(shell["output"].as_str().unwrap().trim(), ip);
    let conditions = s.conditions.unwrap();
    let types: Vec<(&str, &str)> = conditions
        .iter()
        .map(|c| (c.type_.as_str(), c.status.as_str()))
        .collect();
    assert_eq!(
        types,
        [
            ("PodReadyToStartContainers", "True"),
            ("Initialized", "True"),
            ("Ready", "True"),
            ("ContainersReady", "True"),
            ("PodScheduled", "True")
        ]
    );
}

#[tokio::test]
async fn a_failing_liveness_probe_restarts_the_container_into_a_growing_crash_loop_back_off() {
    let h = process("127.101.3.0/24");
    let p = pod(r#"
metadata: {name: live, namespace: ns1, uid: u-live}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: liveness
    image: registry.k8s.io/e2e-test-images/agnhost:2.53
    args: [liveness]
    env: [{name: AGNHOST_LIVENESS_HEALTHY_FOR, value: 150ms}]
    livenessProbe:
      httpGet: {path: /healthz, port: 8080}
      initialDelaySeconds: 6
      periodSeconds: 1
      failureThreshold: 1
"#);
    let _w = PodWorker::spawn(p, h.deps.clone());
    let s = h
        .wait_for("restartCount 4", |s| {
            container(s, "liveness").restart_count >= 4
        })
        .await;
    let last = container(&s, "liveness")
        .last_state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(last.reason.as_deref(), Some("Error"));
    assert_ne!(last.exit_code, 0);
    let backoffs: Vec<String> = h
        .api
        .statuses()
        .iter()
        .filter_map(|s| container(s, "liveness").state.clone()?.waiting?.message)
        .filter(|m| m.starts_with("back-off"))
        .collect();
    for delay in ["100ms", "200ms", "400ms"] {
        let want =
            format!("back-off {delay} restarting failed container=liveness pod=live_ns1(u-live)");
        assert!(backoffs.contains(&want), "no {want:?} in {backoffs:#?}");
    }
    let unhealthy = h.event_messages("Unhealthy");
    assert!(
        unhealthy
            .iter()
            .any(|m| m == "Liveness probe failed: HTTP probe failed with statuscode: 500"),
        "{unhealthy:?}"
    );
    assert!(
        h.event_messages("Killing")
            .contains(&"Container liveness failed liveness probe, will be restarted".to_string())
    );
    assert!(h.event_messages("BackOff").contains(
        &"Back-off restarting failed container liveness in pod live_ns1(u-live)".to_string()
    ));
    assert_eq!(phase(&s), "Running");
    // Restarts happen inside the same sandbox: the pod IP never changes.
    let ips: std::collections::HashSet<Option<String>> =
        h.api.statuses().into_iter().map(|s| s.pod_ip).collect();
    assert_eq!(ips, [Some("127.101.3.2".to_string())].into());
}

#[tokio::test]
async fn deleting_a_pod_stops_it_gracefully_then_deletes_the_object() {
    let h = process("127.101.4.0/24");
    let p = pod(r#"
metadata: {name: term, namespace: default, uid: u-term}
spec:
  containers:
  - {name: main, image: busybox, command: [sh, -c, "trap 'echo got TERM; exit 0' TERM; echo trapping; while true; do sleep 0.05; done"]}
"#);
    let w = PodWorker::spawn(p.clone(), h.deps.clone());
    h.wait_for("Running", |s| phase(s) == "Running").await;
    // Only once the trap is installed does SIGTERM lead to a clean exit.
    let log = h.logs.get("default", "term", "main", false).unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        while log.read_from(0).lines.is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    delete_and_join(w, p).await;
    assert_eq!(h.api.deleted(), ["u-term"]);
    let last = h.api.statuses().last().cloned().unwrap();
    assert_eq!(phase(&last), "Succeeded");
    assert_eq!(
        container(&last, "main")
            .state
            .clone()
            .unwrap()
            .terminated
            .unwrap()
            .exit_code,
        0
    );
    assert_eq!(h.event_messages("Killing"), ["Stopping container main"]);
    let lines: Vec<String> = log.read_from(0).lines.into_iter().map(|l| l.text).collect();
    // (dash also reports its SIGTERM'd `sleep` child as "Terminated" in between.)
    assert_eq!(lines.first().map(String::as_str), Some("trapping"));
    assert_eq!(lines.last().map(String::as_str), Some("got TERM"));
}

#[tokio::test]
async fn an_image_the_runtime_lacks_waits_in_err_image_pull_then_image_pull_back_off() {
    let h = process("127.101.5.0/24");
    let p = pod(r#"
metadata: {name: pull, namespace: default, uid: u-pull}
spec:
  containers:
  - {name: web, image: "example.com/not-a-builtin:1.0"}
"#);
    let _w = PodWorker::spawn(p, h.deps.clone());
    let waiting = |s: &PodStatus| container(s, "web").state.clone().and_then(|st| st.waiting);
    let s = h
        .wait_for("ErrImagePull", |s| {
            waiting(s).and_then(|w| w.reason).as_deref() == Some("ErrImagePull")
        })
        .await;
    let msg = waiting(&s).unwrap().message.unwrap();
    assert!(
        msg.starts_with("failed to pull and unpack image \"example.com/not-a-builtin:1.0\": "),
        "{msg}"
    );
    let s = h
        .wait_for("ImagePullBackOff", |s| {
            waiting(s).and_then(|w| w.reason).as_deref() == Some("ImagePullBackOff")
        })
        .await;
    assert_eq!(
        waiting(&s).unwrap().message.as_deref(),
        Some("Back-off pulling image \"example.com/not-a-builtin:1.0\"")
    );
    // After the back-off the pull is retried (and fails again).
    h.wait_for("a second pull", |_| {
        h.event_messages("Failed")
            .iter()
            .filter(|m| m.starts_with("Failed to pull"))
            .count()
            >= 2
    })
    .await;
    assert_eq!(phase(&s), "Pending");
}

#[tokio::test]
async fn init_containers_run_in_order_before_the_app() {
    let h = process("127.101.6.0/24");
    let p = pod(r#"
metadata: {name: init, namespace: default, uid: u-init}
spec:
  initContainers:
  - {name: first, image: busybox, command: [sh, -c, "sleep 0.2; echo one"]}
  - {name: second, image: busybox, command: [echo, two]}
  containers:
  - {name: app, image: busybox, command: [sleep, "30"]}
"#);
    let _w = PodWorker::spawn(p, h.deps.clone());
    let pending = h
        .wait_for("first init running", |s| {
            s.init_container_statuses
                .as_ref()
                .is_some_and(|i| i[0].state.as_ref().is_some_and(|st| st.running.is_some()))
        })
        .await;
    assert_eq!(phase(&pending), "Pending");
    let init = pending
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Initialized")
        .unwrap();
    assert_eq!(
        init.message.as_deref(),
        Some("containers with incomplete status: [first second]")
    );
    let s = h.wait_for("Running", |s| phase(s) == "Running").await;
    let inits = s.init_container_statuses.unwrap();
    assert_eq!(
        inits[1]
            .state
            .clone()
            .unwrap()
            .terminated
            .unwrap()
            .reason
            .as_deref(),
        Some("Completed")
    );
    let started: Vec<String> = h.event_messages("Started");
    assert_eq!(
        started,
        [
            "Started container first",
            "Started container second",
            "Started container app"
        ]
    );
}

#[tokio::test]
async fn simulated_containers_exit_after_the_annotated_duration() {
    let h = harness(Arc::new(SimRuntime::new()), "127.101.7.0/24");
    let p = pod(r#"
metadata:
  name: job
  namespace: default
  uid: u-job
  annotations: {refkube.io/sim-exit-after: 100ms, refkube.io/sim-exit-code: "0"}
spec:
  restartPolicy: OnFailure
  containers:
  - {name: work, image: anything:latest}
"#);
    let _w = PodWorker::spawn(p, h.deps.clone());
    let running = h.wait_for("Running", |s| phase(s) == "Running").await;
    assert!(
        container(&running, "work")
            .state
            .clone()
            .unwrap()
            .running
            .is_some()
    );
    let s = h.wait_for("Succeeded", |s| phase(s) == "Succeeded").await;
    let t = container(&s, "work")
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!((t.exit_code, t.reason.as_deref()), (0, Some("Completed")));
    let ready = s
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "ContainersReady")
        .unwrap();
    assert_eq!(ready.reason.as_deref(), Some("PodCompleted"));
}

#[tokio::test]
async fn a_container_that_exits_at_once_keeps_restarting_after_each_back_off() {
    let h = process("127.101.8.0/24");
    let p = pod(r#"
metadata: {name: crash, namespace: default, uid: u-crash}
spec:
  containers:
  - {name: c, image: busybox, command: [sh, -c, "echo crashing; exit 2"]}
"#);
    let _w = PodWorker::spawn(p, h.deps.clone());
    let s = h
        .wait_for("restartCount 3", |s| container(s, "c").restart_count >= 3)
        .await;
    assert_eq!(phase(&s), "Running");
    let last = container(&s, "c")
        .last_state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(last.exit_code, 2);
    let previous = h.logs.get("default", "crash", "c", true).unwrap();
    assert_eq!(previous.read_from(0).lines[0].text, "crashing");
}

#[tokio::test]
async fn with_the_pause_unknown_policy_any_image_runs_as_a_pause_container() {
    let agnhost = PathBuf::from(env!("CARGO_BIN_EXE_agnhost"));
    let runtime =
        ProcessRuntime::with_policy(vec![agnhost], refkube_kubelet::ImagePolicy::PauseUnknown);
    let h = harness(Arc::new(runtime), "127.101.9.0/24");
    let p = pod(r#"
metadata: {name: nginx, namespace: default, uid: u-nginx}
spec:
  containers:
  - {name: web, image: "example.com/not-a-builtin:1.0"}
"#);
    let _w = PodWorker::spawn(p, h.deps.clone());
    let s = h.wait_for("Running", |s| phase(s) == "Running").await;
    assert!(container(&s, "web").ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_runs_a_thousand_pods_in_one_process() {
    let h = harness(Arc::new(SimRuntime::new()), "127.102.0.0/16");
    let workers: Vec<PodWorker> = (0..1000)
        .map(|i| {
            let p = pod(&format!(
                "metadata: {{name: p{i}, namespace: default, uid: u{i}}}\nspec: {{containers: [{{name: c, image: app}}]}}"
            ));
            PodWorker::spawn(p, h.deps.clone())
        })
        .collect();
    // Polled: cloning a thousand statuses on every single write would dominate the test.
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let latest = h.api.latest_by_pod();
            let running = latest.values().filter(|s| phase(s) == "Running").count();
            if running == workers.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("every simulated pod should reach Running");
    let ips: std::collections::HashSet<String> = h
        .api
        .latest_by_pod()
        .values()
        .filter_map(|s| s.pod_ip.clone())
        .collect();
    assert_eq!(ips.len(), 1000, "pod IPs are unique");
}

#[tokio::test]
async fn an_exec_readiness_probe_turns_ready_once_its_command_succeeds() {
    let h = process("127.101.10.0/24");
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ready");
    let p = pod(&format!(
        r#"
metadata: {{name: exec, namespace: default, uid: u-exec}}
spec:
  containers:
  - name: app
    image: busybox
    command: [sh, -c, "sleep 0.3; touch {marker}; sleep 30"]
    readinessProbe:
      exec: {{command: [test, -f, "{marker}"]}}
      periodSeconds: 1
"#,
        marker = marker.display()
    ));
    let _w = PodWorker::spawn(p, h.deps.clone());
    let not_ready = h.wait_for("Running", |s| phase(s) == "Running").await;
    assert!(!container(&not_ready, "app").ready);
    h.wait_for("Ready", |s| container(s, "app").ready).await;
    let failures = h.event_messages("Unhealthy");
    assert!(
        failures
            .iter()
            .all(|m| m.starts_with("Readiness probe failed: ")),
        "{failures:?}"
    );
}

#[tokio::test]
async fn a_sidecar_init_container_keeps_running_beside_the_app() {
    let h = process("127.101.11.0/24");
    let p = pod(r#"
metadata: {name: sidecar, namespace: default, uid: u-sidecar}
spec:
  initContainers:
  - {name: proxy, image: busybox, restartPolicy: Always, command: [sleep, "30"]}
  containers:
  - {name: app, image: busybox, command: [sleep, "30"]}
"#);
    let _w = PodWorker::spawn(p, h.deps.clone());
    let s = h
        .wait_for("both running", |s| {
            container(s, "app")
                .state
                .as_ref()
                .is_some_and(|st| st.running.is_some())
        })
        .await;
    let sidecar = &s.init_container_statuses.clone().unwrap()[0];
    assert!(sidecar.state.clone().unwrap().running.is_some());
    assert_eq!(sidecar.started, Some(true));
    assert_eq!(phase(&s), "Running");
    let ready = h
        .wait_for("Ready", |s| {
            s.conditions
                .as_ref()
                .unwrap()
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
        .await;
    assert!(ready.init_container_statuses.unwrap()[0].ready);
}

#[tokio::test]
async fn containers_of_one_pod_reach_each_other_on_the_pod_ip() {
    let h = process("127.101.12.0/24");
    let p = pod(r#"
metadata: {name: pair, namespace: default, uid: u-pair}
spec:
  restartPolicy: OnFailure
  containers:
  - name: server
    image: registry.k8s.io/e2e-test-images/agnhost:2.53
    args: [netexec, --http-port=8080, --udp-port=-1]
  - name: client
    image: registry.k8s.io/e2e-test-images/agnhost:2.53
    args: [connect, "$(POD_IP):8080", --timeout=1s]
"#);
    let _w = PodWorker::spawn(p, h.deps.clone());
    // The client may start before the server listens; OnFailure retries it until it connects.
    let s = h
        .wait_for("client Completed", |s| {
            container(s, "client")
                .state
                .as_ref()
                .and_then(|st| st.terminated.as_ref())
                .is_some_and(|t| t.exit_code == 0)
        })
        .await;
    assert_eq!(phase(&s), "Running");
    assert!(
        container(&s, "server")
            .state
            .clone()
            .unwrap()
            .running
            .is_some()
    );
}

#[tokio::test]
async fn liveness_probes_wait_for_the_startup_probe_to_succeed() {
    let h = process("127.101.13.0/24");
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let p = pod(&format!(
        r#"
metadata: {{name: startup, namespace: default, uid: u-startup}}
spec:
  containers:
  - name: app
    image: busybox
    command: [sh, -c, "sleep 0.4; touch {marker}; sleep 30"]
    startupProbe:
      exec: {{command: [test, -f, "{marker}"]}}
      periodSeconds: 1
      failureThreshold: 100
    livenessProbe:
      exec: {{command: ["false"]}}
      periodSeconds: 1
      failureThreshold: 100
"#,
        marker = marker.display()
    ));
    let _w = PodWorker::spawn(p, h.deps.clone());
    let early = h.wait_for("Running", |s| phase(s) == "Running").await;
    assert_eq!(container(&early, "app").started, Some(false));
    h.wait_for("started", |s| container(s, "app").started == Some(true))
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let unhealthy = loop {
        let messages = h.event_messages("Unhealthy");
        if messages.iter().any(|m| m.starts_with("Liveness")) {
            break messages;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no liveness probe ran: {messages:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let last_startup = unhealthy
        .iter()
        .rposition(|m| m.starts_with("Startup probe failed"))
        .unwrap();
    let first_liveness = unhealthy
        .iter()
        .position(|m| m.starts_with("Liveness probe failed"))
        .unwrap();
    assert!(last_startup < first_liveness, "{unhealthy:?}");
}

#[tokio::test]
async fn a_failed_init_container_with_restart_policy_never_fails_the_pod() {
    let h = process("127.101.14.0/24");
    let p = pod(r#"
metadata: {name: badinit, namespace: default, uid: u-badinit}
spec:
  restartPolicy: Never
  initContainers:
  - {name: setup, image: busybox, command: [sh, -c, "exit 7"]}
  containers:
  - {name: app, image: busybox, command: [sleep, "30"]}
"#);
    let _w = PodWorker::spawn(p, h.deps.clone());
    let s = h.wait_for("Failed", |s| phase(s) == "Failed").await;
    let init = &s.init_container_statuses.clone().unwrap()[0];
    assert_eq!(init.state.clone().unwrap().terminated.unwrap().exit_code, 7);
    let app = container(&s, "app").state.clone().unwrap().waiting.unwrap();
    assert_eq!(app.reason.as_deref(), Some("PodInitializing"));
    let initialized = s
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Initialized")
        .unwrap();
    assert_eq!(initialized.status, "False");
    assert_eq!(
        initialized.message.as_deref(),
        Some("containers with incomplete status: [setup]")
    );
    assert_eq!(h.event_messages("Started"), ["Started container setup"]);
}

#[tokio::test]
async fn a_pod_past_its_active_deadline_is_stopped_and_failed() {
    let h = process("127.101.15.0/24");
    let p = pod(r#"
metadata: {name: deadline, namespace: default, uid: u-deadline}
spec:
  activeDeadlineSeconds: 4
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: busybox, command: [sleep, "30"]}
"#);
    let _w = PodWorker::spawn(p, h.deps.clone());
    h.wait_for("Running", |s| phase(s) == "Running").await;
    let s = h.wait_for("Failed", |s| phase(s) == "Failed").await;
    assert_eq!(s.reason.as_deref(), Some("DeadlineExceeded"));
    assert_eq!(
        s.message.as_deref(),
        Some("Pod was active on the node longer than the specified deadline")
    );
    assert!(
        container(&s, "app")
            .state
            .clone()
            .unwrap()
            .terminated
            .is_some()
    );
    assert_eq!(h.event_messages("DeadlineExceeded").len(), 1);
}

#[tokio::test]
async fn a_pod_whose_pause_process_dies_gets_a_new_sandbox_and_its_containers_restart() {
    let h = process("127.101.20.0/24");
    let uid = format!("u-sandbox-dies-{}", std::process::id());
    let p = pod(&format!(
        r#"
metadata: {{name: survivor, namespace: default, uid: {uid}}}
spec:
  initContainers:
  - {{name: setup, image: busybox, command: ["true"]}}
  containers:
  - {{name: app, image: busybox, command: [sleep, "30"]}}
"#
    ));
    let _w = PodWorker::spawn(p, h.deps.clone());
    let running = |s: &PodStatus| {
        container(s, "app")
            .state
            .as_ref()
            .is_some_and(|st| st.running.is_some())
    };
    h.wait_for("app running", running).await;
    assert_eq!(refkube_kubelet::runtime::pause::kill(&uid), Ok(1));
    let s = h
        .wait_for("app restarted in a new sandbox", |s| {
            running(s) && container(s, "app").restart_count >= 1
        })
        .await;
    assert_eq!(
        h.event_messages("SandboxChanged"),
        vec!["Pod sandbox changed, it will be killed and re-created.".to_string()]
    );
    // The init container ran again in the new sandbox, before the app.
    let setup = &s.init_container_statuses.clone().unwrap()[0];
    assert_eq!(setup.restart_count, 1);
    assert_eq!(h.event_messages("Started").len(), 4);
    assert_eq!(phase(&s), "Running");
    assert_eq!(refkube_kubelet::runtime::pause::find(&uid).len(), 1);
}

#[tokio::test]
async fn an_ephemeral_container_runs_once_in_the_pod_and_reports_its_status() {
    let h = process("127.101.21.0/24");
    let p = pod(r#"
metadata: {name: debugged, namespace: default, uid: u-debugged}
spec:
  containers:
  - {name: app, image: busybox, command: [sleep, "30"]}
  ephemeralContainers:
  - {name: debugger, image: busybox, command: [sh, -c, "exit 2"], targetContainerName: app}
"#);
    let _w = PodWorker::spawn(p, h.deps.clone());
    let ephemeral = |s: &PodStatus| s.ephemeral_container_statuses.clone().unwrap_or_default();
    let s = h
        .wait_for("the debugger exited", |s| {
            ephemeral(s)
                .first()
                .and_then(|c| c.state.clone())
                .is_some_and(|st| st.terminated.is_some())
        })
        .await;
    let debugger = &ephemeral(&s)[0];
    assert_eq!(debugger.name, "debugger");
    assert_eq!(
        debugger
            .state
            .clone()
            .unwrap()
            .terminated
            .unwrap()
            .exit_code,
        2
    );
    assert_eq!(debugger.restart_count, 0);
    // Several resyncs later it has still not been started again, and the pod runs on.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut started: Vec<String> = h
        .events
        .events()
        .into_iter()
        .filter(|e| e.reason == "Started")
        .filter_map(|e| e.object.field_path)
        .collect();
    started.sort();
    assert_eq!(
        started,
        vec![
            "spec.containers{app}".to_string(),
            "spec.ephemeralContainers{debugger}".to_string(),
        ]
    );
    let last = h.api.statuses().last().cloned().unwrap();
    assert_eq!(ephemeral(&last)[0].restart_count, 0);
    assert_eq!(phase(&last), "Running");
}
