//! The built-in stand-ins for well-known images on the process runtime, driven by a pod
//! worker without an API server: an `nginx` and an `httpd` pod serve their image's page
//! on their pod IP's port 80 and stop cleanly on SIGTERM; `python` runs the machine's
//! python3 and `alpine` the machine's shell.
//!
//! Port 80 takes root (or CAP_NET_BIND_SERVICE, or a lowered
//! `net.ipv4.ip_unprivileged_port_start`), as it does for the images' own servers. Without
//! it the web server tests fail when `CI` is set, otherwise print SKIPPED and pass.
#![allow(clippy::unwrap_used)]

use k8s_openapi::api::core::v1::PodStatus;
use refkube_kubelet::worker::PodWorker;

mod common;

use common::{Harness, delete_and_join, phase, pod, process};

fn ready(s: &PodStatus) -> bool {
    s.container_statuses.iter().flatten().all(|c| c.ready) && phase(s) == "Running"
}

fn exit_code(s: &PodStatus) -> Option<i32> {
    let c = s.container_statuses.as_ref()?.first()?;
    Some(c.state.as_ref()?.terminated.as_ref()?.exit_code)
}

/// Runs a `restartPolicy: Never` pod until it ends in `want`; the worker is returned
/// so that it lives on for the rest of the test.
async fn run_until(h: &Harness, yaml: &str, want: &str) -> (PodWorker, PodStatus) {
    let w = PodWorker::spawn(pod(yaml), h.deps.clone());
    let s = h.wait_for(want, |s| phase(s) == want).await;
    (w, s)
}

/// Whether this process may listen on port 80; says why not (or fails in CI) otherwise.
fn may_bind_port_80() -> bool {
    let start: u32 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1024);
    if nix::unistd::geteuid().is_root() || start <= 80 {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the web server stand-in tests need root to listen on port 80"
    );
    eprintln!("SKIPPED: listening on port 80 needs root");
    false
}

/// Runs a web server image's pod (pod IPs from `cidr`), checks that its page on the pod
/// IP's port 80 has `page` and that other paths are not found, then deletes it and
/// checks that SIGTERM stopped it with exit code 0. Returns its log, or `None` when the
/// test cannot listen on port 80 and is skipped.
async fn serves_its_page(cidr: &str, name: &str, yaml: &str, page: &str) -> Option<Vec<String>> {
    if !may_bind_port_80() {
        return None;
    }
    let h = process(cidr);
    let p = pod(yaml);
    let w = PodWorker::spawn(p.clone(), h.deps.clone());
    let s = h.wait_for("Ready", ready).await;
    let ip = s.pod_ip.unwrap();
    // Taken now: a deleted pod's logs go with it.
    let log = h.logs.get("default", name, "web", false).unwrap();
    let client = reqwest::Client::new();
    let got = client.get(format!("http://{ip}/")).send().await.unwrap();
    assert_eq!(got.status(), 200);
    let body = got.text().await.unwrap();
    assert!(body.contains(page), "{body}");
    let missing = client
        .get(format!("http://{ip}/missing"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    delete_and_join(w, p).await;
    let last = h.api.statuses().last().cloned().unwrap();
    assert_eq!(exit_code(&last), Some(0), "{last:#?}");
    Some(log.read_from(0).lines.into_iter().map(|l| l.text).collect())
}

#[tokio::test]
async fn an_nginx_pod_serves_the_welcome_page_on_its_ip_and_stops_on_sigterm() {
    let Some(log) = serves_its_page(
        "127.101.30.0/24",
        "nginx",
        r#"
metadata: {name: nginx, namespace: default, uid: u-nginx}
spec:
  containers:
  - name: web
    image: docker.io/library/nginx:1.27
    ports: [{containerPort: 80}]
    readinessProbe:
      httpGet: {path: /, port: 80}
      periodSeconds: 1
"#,
        "<h1>Welcome to nginx!</h1>",
    )
    .await
    else {
        return;
    };
    // The readiness probes and the two requests, in nginx's access log format.
    let gets: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("\"GET / HTTP/1.1\" 200 615 "))
        .collect();
    assert!(gets.len() >= 2, "{log:#?}");
    assert!(
        log.iter()
            .any(|l| l.contains("\"GET /missing HTTP/1.1\" 404 ")),
        "{log:#?}"
    );
}

#[tokio::test]
async fn an_e2e_httpd_pod_with_the_images_command_serves_it_works() {
    serves_its_page(
        "127.101.31.0/24",
        "httpd",
        r#"
metadata: {name: httpd, namespace: default, uid: u-httpd}
spec:
  containers:
  - name: web
    image: registry.k8s.io/e2e-test-images/httpd:2.4.38-4
    command: [httpd-foreground]
    readinessProbe:
      tcpSocket: {port: 80}
      periodSeconds: 1
"#,
        "<html><body><h1>It works!</h1></body></html>\n",
    )
    .await;
}

#[tokio::test]
async fn python_runs_python3_and_its_repl_ends_with_no_stdin() {
    let h = process("127.101.32.0/24");
    let py = r#"
metadata: {name: py, namespace: default, uid: u-py}
spec:
  restartPolicy: Never
  containers:
  - {name: app, image: "python:3.12", command: [python, -c, "import sys; print(sys.version_info[0]); sys.exit(4)"]}
"#;
    let (_w, s) = run_until(&h, py, "Failed").await;
    assert_eq!(exit_code(&s), Some(4));
    assert_eq!(h.log("py", "app"), ["3"]);

    let repl = r#"
metadata: {name: repl, namespace: default, uid: u-repl}
spec:
  restartPolicy: Never
  containers:
  - {name: app, image: python}
"#;
    let (_w2, s) = run_until(&h, repl, "Succeeded").await;
    assert_eq!(exit_code(&s), Some(0));
}

#[tokio::test]
async fn alpine_runs_the_machines_shell() {
    let h = process("127.101.33.0/24");
    let alp = r#"
metadata: {name: alp, namespace: default, uid: u-alp}
spec:
  restartPolicy: Never
  containers:
  - {name: sh, image: "alpine:3.20", command: [sh, -c, "echo $HOSTNAME; exit 5"]}
"#;
    let (_w, s) = run_until(&h, alp, "Failed").await;
    assert_eq!(exit_code(&s), Some(5));
    assert_eq!(h.log("alp", "sh"), ["alp"]);
}
