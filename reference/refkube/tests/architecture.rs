//! The architecture rule that only the compiler should have to remember: components reach
//! the cluster only through the API server, so no component crate may depend (directly or
//! through another workspace crate) on the API server or on a store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// The crates that are API clients, as upstream's scheduler, controller manager, kubelet
/// and kube-proxy are, and the shared client library they build on.
const CLIENTS: &[&str] = &[
    "refkube-scheduler",
    "refkube-controllers",
    "refkube-kubelet",
    "refkube-proxy",
    "refkube-common",
];

/// What sits behind the API server and must stay out of reach of every client.
const SERVER_SIDE: &[&str] = &["refkube-apiserver", "refkube-store"];

/// Each workspace crate's normal (non-dev, non-build) dependencies on other workspace crates,
/// read from `cargo metadata` so the check follows the manifests as cargo itself does.
fn workspace_graph() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let members: BTreeSet<String> = packages
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect();
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["kind"].is_null())
                .filter_map(|d| d["name"].as_str())
                .filter(|name| members.contains(*name))
                .map(str::to_string)
                .collect();
            (p["name"].as_str().unwrap_or_default().to_string(), deps)
        })
        .collect()
}

/// Every workspace crate `start` reaches through normal dependencies, with the path that
/// reaches it, so a failure names the chain to cut.
fn reachable(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> BTreeMap<String, String> {
    let mut seen = BTreeMap::new();
    let mut stack = vec![(start.to_string(), start.to_string())];
    while let Some((name, path)) = stack.pop() {
        for dep in graph.get(&name).into_iter().flatten() {
            if !seen.contains_key(dep) {
                let via = format!("{path} -> {dep}");
                seen.insert(dep.clone(), via.clone());
                stack.push((dep.clone(), via));
            }
        }
    }
    seen
}

#[test]
fn components_reach_the_cluster_only_through_the_api_server() {
    let graph = workspace_graph();
    let mut violations = Vec::new();
    for client in CLIENTS {
        assert!(
            graph.contains_key(*client),
            "{client} is not a workspace crate any more"
        );
        let reached = reachable(&graph, client);
        for server in SERVER_SIDE {
            if let Some(path) = reached.get(*server) {
                violations.push(path.clone());
            }
        }
    }
    assert!(
        violations.is_empty(),
        "components must talk to the cluster only through the API server, but: {violations:#?}"
    );
}

#[test]
fn the_check_sees_a_dependency_when_there_is_one() {
    // The refkube binary embeds the API server; if the graph walk missed that, the rule
    // above would pass vacuously.
    let graph = workspace_graph();
    let reached = reachable(&graph, "refkube");
    for server in SERVER_SIDE {
        assert!(
            reached.contains_key(*server),
            "refkube should reach {server}"
        );
    }
}

#[test]
fn the_shared_helpers_sit_below_every_other_crate() {
    // Both sides use refkube-helpers (the API server's validation and every component),
    // so it must depend on no workspace crate, or it would carry one side into the other.
    let graph = workspace_graph();
    let reached = reachable(&graph, "refkube-helpers");
    assert!(
        reached.is_empty(),
        "refkube-helpers must stay pure, but reaches: {reached:#?}"
    );
    for user in [
        "refkube-resources",
        "refkube-scheduler",
        "refkube-controllers",
        "refkube-kubelet",
        "refkube-proxy",
    ] {
        assert!(
            reachable(&graph, user).contains_key("refkube-helpers"),
            "{user} should use refkube-helpers"
        );
    }
}
