//! Pods on two nodes of a `netns` cluster reach each other, directly and through a
//! ClusterIP, with kube-proxy in iptables mode (the default there) on a machine whose
//! `FORWARD` policy is `DROP`, as on any machine running Docker: the pod network
//! accepts each pod's traffic as the CNI `firewall` plugin does (`CNI-FORWARD`). Without
//! that chain the same dial fails, which the test checks too; a clean shutdown leaves no
//! `KUBE-*` or `CNI-*` chain and no Service-range route behind.
//!
//! Needs root and iptables. The test moves its thread into a fresh network namespace
//! (the "machine") first, so whatever it creates, even on failure, goes with the
//! process. Without root: fails when `CI` is set, otherwise prints SKIPPED and passes.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, PostParams};
use refkube::components::Pace;
use refkube::network::iptables_unusable;
use refkube::{Cluster, ClusterConfig};
use refkube_kubelet::PodNetwork;
use refkube_kubelet::network;
use refkube_proxy::ProxyMode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn sh(cmd: &str) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", cmd])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Moves this thread into a new network namespace with `lo` up and `FORWARD` dropping
/// by default; false (after saying why) when this machine cannot.
fn isolated() -> bool {
    let unusable = network::preflight()
        .err()
        .map(|e| e.to_string())
        .or_else(iptables_unusable);
    if let Some(why) = unusable {
        assert!(
            std::env::var_os("CI").is_none(),
            "the FORWARD-DROP pod network test cannot run in CI: {why}"
        );
        eprintln!("SKIPPED: the FORWARD-DROP pod network test: {why}");
        return false;
    }
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
    sh("ip link set lo up");
    sh("iptables -w -P FORWARD DROP");
    true
}

fn netexec(name: &str, node: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"nodeName": node, "containers": [{"name": "c",
            "image": "registry.k8s.io/e2e-test-images/agnhost:2.53",
            "args": ["netexec", "--http-port=8080"]}]},
    }))
    .unwrap()
}

/// The pod's IP once it is Running.
async fn running_ip(pods: &Api<Pod>, name: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let pod = pods.get(name).await.unwrap();
        let status = pod.status.unwrap_or_default();
        if status.phase.as_deref() == Some("Running")
            && let Some(ip) = status.pod_ip
        {
            return ip;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "pod {name} not running"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Asks netexec at `pod_ip` (reached from the machine itself) to dial `host:port` once;
/// returns its JSON answer, or the error.
async fn dial(pod_ip: &str, host: &str, port: u16) -> String {
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect((pod_ip, 8080))
            .await
            .map_err(|e| e.to_string())?;
        let req = format!(
            "GET /dial?request=hostname&protocol=http&host={host}&port={port}&tries=1 HTTP/1.0\r\n\r\n"
        );
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut out = String::new();
        s.read_to_string(&mut out)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string())
    };
    match tokio::time::timeout(Duration::from_secs(10), attempt).await {
        Ok(Ok(body)) => body,
        Ok(Err(e)) => e,
        Err(_) => "timed out".into(),
    }
}

/// Dials until the answer names `expect` (kube-proxy syncs after the endpoints appear).
async fn eventually_reaches(from: &str, host: &str, port: u16, expect: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let answer = dial(from, host, port).await;
        if answer.contains(&format!("\"{expect}\"")) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{from} never reached {expect} at {host}:{port}: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn pods_reach_pods_on_other_nodes_and_cluster_ips_when_forward_drops() {
    if !isolated() {
        return;
    }
    let config = ClusterConfig::default()
        .nodes(2)
        .pod_network(PodNetwork::Netns)
        .pace(Pace::Fast);
    // Without --proxy-mode, a netns cluster run by root uses iptables mode.
    let proxies = config.components_config().unwrap().proxies;
    assert!(proxies.iter().all(|p| p.mode == ProxyMode::Iptables));
    let cluster = Cluster::start(config).await.unwrap();
    let client = cluster.client().await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pp = PostParams::default();
    pods.create(&pp, &netexec("a", "node-1")).await.unwrap();
    pods.create(&pp, &netexec("b", "node-2")).await.unwrap();
    let svc: Service = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "b"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }))
    .unwrap();
    let svc = Api::<Service>::namespaced(client, "default")
        .create(&pp, &svc)
        .await
        .unwrap();
    let cluster_ip = svc.spec.unwrap().cluster_ip.unwrap();
    let (a, b) = (running_ip(&pods, "a").await, running_ip(&pods, "b").await);

    eventually_reaches(&a, &b, 8080, "b").await;
    eventually_reaches(&b, &a, 8080, "a").await;
    eventually_reaches(&a, &cluster_ip, 80, "b").await;

    // The pod network's firewall chain is what lets the traffic through: without the
    // jump to it, the DROP policy stops the same dial.
    let jump = "FORWARD -m comment --comment \"CNI firewall plugin rules\" -j CNI-FORWARD";
    sh(&format!(
        "while iptables -w -D {jump} 2>/dev/null; do :; done"
    ));
    let blocked = dial(&a, &b, 8080).await;
    assert!(
        !blocked.contains("\"b\""),
        "reached b without CNI-FORWARD: {blocked}\n{}",
        sh("iptables-save -c -t filter; iptables -V; ip route; sysctl net.ipv4.ip_forward")
    );
    sh(&format!("iptables -w -I {jump}"));
    eventually_reaches(&a, &b, 8080, "b").await;

    let rules = sh("iptables-save -t filter");
    assert!(
        rules.contains(&format!("-A CNI-FORWARD -s {a}/32 -j ACCEPT")),
        "{rules}"
    );
    assert!(rules.contains(
        "-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD"
    ));

    // Deleting a pod removes its rules.
    pods.delete("a", &Default::default()).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while sh("iptables-save -t filter").contains(&format!("-s {a}/32")) {
        assert!(tokio::time::Instant::now() < deadline, "a's rules stayed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    cluster.shutdown().await;
    let left = sh("iptables-save");
    assert!(
        !left.contains("KUBE-") && !left.contains("CNI-"),
        "rules left after shutdown:\n{left}"
    );
    let routes = sh("ip route show table all");
    assert!(!routes.contains("10.96."), "routes left: {routes}");
}
