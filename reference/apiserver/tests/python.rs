//! The official Python client (Debian's python3-kubernetes, run with /usr/bin/python3)
//! lists, watches from a resourceVersion and gets 410 for an expired one, and works with
//! a CustomResourceDefinition's kind through CustomObjectsApi.
//! Without the module: fails when `CI` is set, otherwise prints SKIPPED and returns.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

const PYTHON: &str = "/usr/bin/python3";

/// Runs `script` (in tests/python) against a fresh API server with the official client;
/// its stdout, or None when the client is missing outside CI.
async fn run_python(
    script: &str,
    cfg: refkube_apiserver::config::ApiServerConfig,
) -> Option<String> {
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
        return None;
    }
    let s = common::start_with(cfg, Arc::new(refkube_store::MemoryStore::new())).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: {}\ncontexts:\n- name: t\n  context:\n    cluster: t\n    user: t\ncurrent-context: t\nusers:\n- name: t\n  user: {{}}\n", s.url),
    )
    .unwrap();
    let path = format!("{}/tests/python/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = tokio::process::Command::new(PYTHON)
        .arg(path)
        .arg(&kubeconfig)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "python client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(stdout)
}

#[tokio::test]
async fn the_official_python_client_lists_watches_and_sees_410() {
    let cfg = common::config().watch_cache_size(5);
    let Some(stdout) = run_python("watch_and_expire.py", cfg).await else {
        return;
    };
    assert!(
        stdout.contains("410 for an expired resourceVersion ok"),
        "{stdout}"
    );
}

#[tokio::test]
async fn the_official_python_client_works_with_custom_resources() {
    let Some(stdout) = run_python("custom_resources.py", common::config()).await else {
        return;
    };
    for line in [
        "established ok",
        "defaulted and pruned ok",
        "status and list ok",
        "422 for a wrong type ok",
        "crd deleted ok",
    ] {
        assert!(stdout.contains(line), "{line:?} missing from:\n{stdout}");
    }
}
