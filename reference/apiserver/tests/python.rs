//! The official Python client (Debian's python3-kubernetes, run with /usr/bin/python3)
//! lists, watches from a resourceVersion and gets 410 for an expired one.
//! Without the module: fails when `CI` is set, otherwise prints SKIPPED and returns.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

const PYTHON: &str = "/usr/bin/python3";

#[tokio::test]
async fn the_official_python_client_lists_watches_and_sees_410() {
    let probe = tokio::process::Command::new(PYTHON)
        .args(["-c", "import kubernetes"])
        .output()
        .await;
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3-kubernetes is missing on CI: apt-get install -y python3-kubernetes"
        );
        eprintln!(
            "SKIPPED: the official Python client test: {PYTHON} cannot import kubernetes (apt-get install -y python3-kubernetes)"
        );
        return;
    }
    let cfg = common::config().watch_cache_size(5);
    let s = common::start_with(cfg, Arc::new(refkube_store::MemoryStore::new())).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: {}\ncontexts:\n- name: t\n  context:\n    cluster: t\n    user: t\ncurrent-context: t\nusers:\n- name: t\n  user: {{}}\n", s.url),
    )
    .unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/watch_and_expire.py"
    );
    let out = tokio::process::Command::new(PYTHON)
        .arg(script)
        .arg(&kubeconfig)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("410 for an expired resourceVersion ok"),
        "{stdout}"
    );
}
