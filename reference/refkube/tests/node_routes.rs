//! The node route task on a real routing table: against an in-process API server it
//! routes every other node's pod CIDR via its InternalIP, follows Nodes that appear,
//! change and go, repairs a route someone removed, and never touches routes it did not
//! make.
//!
//! Needs root. The test moves its thread into a fresh network namespace first, so
//! nothing it creates touches the machine's network. Without root: fails when `CI` is
//! set, otherwise prints SKIPPED and passes.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use refkube::{Cluster, ClusterConfig};
use refkube_kubelet::network::route_sync::{self, RouteSyncConfig};
use refkube_kubelet::network::{self, routes};
use tokio_util::sync::CancellationToken;

/// Moves this thread into a new network namespace holding `lo` and a veth on
/// 172.30.99.0/24 (the "node network"); false (after saying why) when this machine
/// cannot.
fn isolated() -> bool {
    if let Err(e) = network::preflight() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the node route test cannot run in CI: {e}"
        );
        eprintln!("SKIPPED: the node route test: {e}");
        return false;
    }
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
    for args in [
        "link set lo up",
        "link add kp0 type veth peer name kp1",
        "link set kp1 up",
        "link set kp0 up",
        "addr add 172.30.99.11/24 dev kp0",
        "route add 10.99.0.0/24 via 172.30.99.50",
    ] {
        let ok = std::process::Command::new("ip")
            .args(args.split(' '))
            .status()
            .unwrap();
        assert!(ok.success(), "ip {args}");
    }
    true
}

fn node(name: &str, cidr: &str, ip: Option<&str>) -> Node {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {"podCIDR": cidr, "podCIDRs": [cidr]},
        "status": {"addresses": ip.map(|ip| vec![serde_json::json!({"type": "InternalIP", "address": ip})])},
    }))
    .unwrap()
}

async fn register(api: &Api<Node>, n: Node) {
    let name = n.metadata.name.clone().unwrap();
    api.create(&PostParams::default(), &n).await.unwrap();
    let status = serde_json::json!({"status": n.status});
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
}

/// Every route in the table as `ip route show` prints it.
fn table() -> String {
    let out = std::process::Command::new("ip")
        .args(["-4", "route", "show"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// The task's routes as `dst via gateway` pairs.
fn ours() -> Vec<String> {
    let out = std::process::Command::new("ip")
        .args(["-4", "-json", "route", "show", "proto"])
        .arg(routes::PROTOCOL.to_string())
        .output()
        .unwrap();
    let parsed = routes::parse(&String::from_utf8(out.stdout).unwrap()).unwrap();
    parsed.iter().map(|(d, v)| format!("{d} via {v}")).collect()
}

async fn until_ours(expected: &[&str]) {
    for _ in 0..100 {
        if ours() == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("routes {:?}, expected {expected:?}\n{}", ours(), table());
}

#[tokio::test]
async fn routes_follow_the_other_nodes_and_leave_foreign_routes_alone() {
    if !isolated() {
        return;
    }
    let cluster = Cluster::start(ClusterConfig::default().control_plane(false))
        .await
        .unwrap();
    let client = cluster.client().await.unwrap();
    let nodes: Api<Node> = Api::all(client.clone());
    register(
        &nodes,
        node("node-1", "10.244.1.0/24", Some("172.30.99.11")),
    )
    .await;
    register(
        &nodes,
        node("node-2", "10.244.2.0/24", Some("172.30.99.12")),
    )
    .await;
    register(&nodes, node("node-3", "10.244.3.0/24", None)).await;

    let stop = CancellationToken::new();
    let config = RouteSyncConfig::new("node-1").resync_period(Duration::from_millis(200));
    let task = tokio::spawn(route_sync::run(
        config,
        client,
        stop.clone().cancelled_owned(),
    ));
    until_ours(&["10.244.2.0/24 via 172.30.99.12"]).await;

    // node-3 gets its address; node-2 moves to another IP.
    let ip = |a: &str| serde_json::json!({"status": {"addresses": [{"type": "InternalIP", "address": a}]}});
    let merge = PatchParams::default();
    nodes
        .patch_status("node-3", &merge, &Patch::Merge(&ip("172.30.99.13")))
        .await
        .unwrap();
    nodes
        .patch_status("node-2", &merge, &Patch::Merge(&ip("172.30.99.22")))
        .await
        .unwrap();
    until_ours(&[
        "10.244.2.0/24 via 172.30.99.22",
        "10.244.3.0/24 via 172.30.99.13",
    ])
    .await;

    // A removed route comes back at the next resync; a vanished node's route goes.
    let del = std::process::Command::new("ip")
        .args(["route", "del", "10.244.3.0/24"])
        .status()
        .unwrap();
    assert!(del.success());
    nodes
        .delete("node-2", &DeleteParams::default())
        .await
        .unwrap();
    until_ours(&["10.244.3.0/24 via 172.30.99.13"]).await;
    assert!(
        table().contains("10.99.0.0/24 via 172.30.99.50"),
        "a route the task did not make is left alone:\n{}",
        table()
    );

    stop.cancel();
    task.await.unwrap().unwrap();
    cluster.shutdown().await;
}
