//! iptables mode for real: the applier programs netfilter inside a throw-away network
//! namespace (so the host's tables are never touched), and connections to the ClusterIP
//! made inside that namespace are DNATed to the endpoints. Needs root (`ip netns`), so the
//! test is ignored by default: `cargo test -p refkube-proxy --test iptables_netns -- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::model;
use refkube_proxy::iptables::apply::IptablesApplier;
use refkube_proxy::model::SessionAffinity;
use refkube_proxy::{Protocol, ProxyConfig};

/// A network namespace removed (with its backends) on drop.
struct Netns {
    name: String,
    children: Vec<Child>,
}

impl Netns {
    fn new() -> Self {
        // Unique per test: the tests of this file run at the same time.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("refkube-proxy-{}-{n}", std::process::id());
        sh(&format!("ip netns add {name}"));
        let ns = Self {
            name,
            children: Vec::new(),
        };
        ns.exec("ip link set lo up");
        ns.exec("ip addr add 10.0.1.1/32 dev lo");
        ns.exec("ip addr add 10.0.1.2/32 dev lo");
        // The service range must be routable for the routing decision made before DNAT.
        // Clients use a node-like source address rather than 127.0.0.1.
        ns.exec("ip route add 172.30.0.0/16 dev lo src 10.0.1.1");
        ns
    }

    fn exec(&self, cmd: &str) -> String {
        sh(&format!("ip netns exec {} {cmd}", self.name))
    }

    /// A TCP server in the namespace that writes its own address to each client.
    fn backend(&mut self, ip: &str) {
        let script = format!(
            "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
             s.bind(('{ip}', 8080))\ns.listen(64)\nwhile True:\n    c,_=s.accept()\n    c.sendall(b'{ip}')\n    c.close()\n"
        );
        let child = Command::new("ip")
            .args(["netns", "exec", &self.name, "python3", "-c", &script])
            .stdout(Stdio::null())
            .spawn()
            .expect("start backend");
        self.children.push(child);
    }

    /// Connect `n` times to `addr` from inside the namespace; one line per attempt: the
    /// backend's answer, or the error name.
    fn connect(&self, addr: &str, n: usize) -> Vec<String> {
        let (host, port) = addr.rsplit_once(':').unwrap();
        let script = format!(
            "import socket\nfor _ in range({n}):\n    try:\n        c=socket.create_connection(('{host}', {port}), timeout=2)\n        \
             print(c.recv(64).decode())\n        c.close()\n    except Exception as e:\n        print(type(e).__name__)\n"
        );
        self.exec(&format!("python3 -c \"{script}\""))
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn tools(&self, dir: &std::path::Path) -> ProxyConfig {
        let wrap = |tool: &str| {
            let p = dir.join(tool);
            std::fs::write(
                &p,
                format!(
                    "#!/bin/sh\nexec ip netns exec {} {tool} \"$@\"\n",
                    self.name
                ),
            )
            .unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            p.to_string_lossy().into_owned()
        };
        ProxyConfig::new("node-a")
            .cluster_cidr("10.244.0.0/16".parse().unwrap())
            .iptables_binaries(
                wrap("iptables"),
                wrap("iptables-save"),
                wrap("iptables-restore"),
            )
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn sh(cmd: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", cmd])
        .output()
        .expect("run shell");
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
#[ignore = "needs root: creates a network namespace and programs iptables inside it"]
async fn rules_applied_in_a_namespace_send_cluster_ip_traffic_to_the_endpoints() {
    let mut ns = Netns::new();
    ns.backend("10.0.1.1");
    ns.backend("10.0.1.2");
    std::thread::sleep(Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let applier = IptablesApplier::new(ns.tools(dir.path()));
    let eps = [
        "10.0.1.1:8080".parse().unwrap(),
        "10.0.1.2:8080".parse().unwrap(),
    ];

    applier
        .sync(&model(
            "172.30.1.1",
            80,
            Protocol::Tcp,
            SessionAffinity::None,
            &eps,
        ))
        .await
        .expect("apply");
    let answers: HashSet<String> = ns.connect("172.30.1.1:80", 30).into_iter().collect();
    assert_eq!(
        answers,
        HashSet::from(["10.0.1.1".to_string(), "10.0.1.2".to_string()]),
        "random over both endpoints"
    );
    let other_port = ns.connect("172.30.1.1:81", 1);
    assert!(
        !other_port[0].starts_with("10.0.1."),
        "an undeclared port is not proxied: {other_port:?}"
    );

    // Session affinity: one client address keeps its endpoint.
    applier
        .sync(&model(
            "172.30.1.1",
            80,
            Protocol::Tcp,
            SessionAffinity::ClientIp {
                timeout_seconds: 60,
            },
            &eps,
        ))
        .await
        .unwrap();
    let pinned: HashSet<String> = ns.connect("172.30.1.1:80", 10).into_iter().collect();
    assert_eq!(pinned.len(), 1, "{pinned:?}");

    // One endpoint left: all traffic goes there, and the other endpoint's chain is deleted.
    let before = ns.exec("iptables-save -t nat");
    assert_eq!(before.matches(":KUBE-SEP-").count(), 2);
    applier
        .sync(&model(
            "172.30.1.1",
            80,
            Protocol::Tcp,
            SessionAffinity::None,
            &eps[..1],
        ))
        .await
        .unwrap();
    let answers: HashSet<String> = ns.connect("172.30.1.1:80", 10).into_iter().collect();
    assert_eq!(answers, HashSet::from(["10.0.1.1".to_string()]));
    assert_eq!(
        ns.exec("iptables-save -t nat")
            .matches(":KUBE-SEP-")
            .count(),
        1,
        "stale SEP chain deleted"
    );

    // No endpoints: the filter table REJECTs the connection. (Whether the client then sees
    // "refused" depends on the ICMP finding its way back; inside this namespace, where the
    // service route points at lo, it does not, so check the REJECT rule's counter instead.)
    applier
        .sync(&model(
            "172.30.1.1",
            80,
            Protocol::Tcp,
            SessionAffinity::None,
            &[],
        ))
        .await
        .unwrap();
    let attempt = ns.connect("172.30.1.1:80", 1);
    assert!(
        !attempt[0].starts_with("10.0.1."),
        "no backend may answer: {attempt:?}"
    );
    let counters = ns.exec("iptables -t filter -L KUBE-SERVICES -v -n -x");
    let reject = counters
        .lines()
        .find(|l| l.contains("REJECT"))
        .expect("a REJECT rule");
    let packets: u64 = reject.split_whitespace().next().unwrap().parse().unwrap();
    assert!(
        packets > 0,
        "the REJECT rule saw the connection:\n{counters}"
    );
    let nat = ns.exec("iptables-save -t nat");
    assert!(
        !nat.contains(":KUBE-SVC-"),
        "no service chains remain:\n{nat}"
    );
    assert!(
        nat.contains(
            "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
        ),
        "{nat}"
    );
}

#[tokio::test]
#[ignore = "needs root: creates a network namespace and programs iptables inside it"]
async fn cleanup_removes_every_jump_and_chain_iptables_mode_wrote() {
    let ns = Netns::new();
    let dir = tempfile::tempdir().unwrap();
    let config = ns.tools(dir.path());
    let eps = ["10.0.1.1:8080".parse().unwrap()];
    let svc = model("172.30.1.1", 80, Protocol::Tcp, SessionAffinity::None, &eps);
    // Two proxies of one machine (refkube's nodes share it) may both insert the jumps.
    for _ in 0..2 {
        IptablesApplier::new(config.clone())
            .sync(&svc)
            .await
            .expect("apply");
    }
    ns.exec("iptables -w -N OTHER-CHAIN");
    ns.exec("iptables -w -A FORWARD -j OTHER-CHAIN");
    assert!(ns.exec("iptables-save").contains("KUBE-SVC-"));

    refkube_proxy::iptables::cleanup::cleanup(&config)
        .await
        .expect("cleanup");
    let left = ns.exec("iptables-save");
    assert!(!left.contains("KUBE-"), "left behind:\n{left}");
    assert!(
        left.contains("-A FORWARD -j OTHER-CHAIN"),
        "others' rules stay:\n{left}"
    );
    // Cleaning a clean machine is not an error.
    refkube_proxy::iptables::cleanup::cleanup(&config)
        .await
        .expect("second cleanup");
}
