//! Tests of the applier against fake iptables binaries (shell scripts in a temp dir), so
//! the host's real netfilter tables are never touched.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;

fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

struct Fakes {
    dir: tempfile::TempDir,
    config: ProxyConfig,
}

fn fakes(restore_body: &str) -> Fakes {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_string_lossy().into_owned();
    let ipt = script(
        dir.path(),
        "iptables",
        &format!(
            "echo \"$@\" >> {d}/iptables.log\ncase \"$*\" in *\" -C \"*) exit 1;; esac\nexit 0"
        ),
    );
    let save = script(
        dir.path(),
        "iptables-save",
        "printf '*nat\\n:PREROUTING ACCEPT [0:0]\\n:DOCKER - [0:0]\\n:KUBE-SERVICES - [0:0]\\n:KUBE-SVC-STALESTALESTALE1 - [0:0]\\nCOMMIT\\n'",
    );
    let restore = script(
        dir.path(),
        "iptables-restore",
        &restore_body.replace("$D", &d),
    );
    let config = ProxyConfig::new("node-a").iptables_binaries(ipt, save, restore);
    Fakes { dir, config }
}

#[tokio::test]
async fn sync_installs_jump_rules_and_restores_without_flushing() {
    let f = fakes("echo \"$@\" > $D/restore.args\ncat > $D/restore.input");
    let applied = IptablesApplier::new(f.config.clone())
        .sync(&ProxyModel::default())
        .await
        .unwrap();
    let args = std::fs::read_to_string(f.dir.path().join("restore.args")).unwrap();
    assert!(args.contains("--noflush"), "{args}");
    let input = std::fs::read_to_string(f.dir.path().join("restore.input")).unwrap();
    assert_eq!(input, applied);
    assert!(input.starts_with("*filter\n") && input.ends_with("COMMIT\n"));
    let log = std::fs::read_to_string(f.dir.path().join("iptables.log")).unwrap();
    assert!(
        log.contains(
            "-t nat -I PREROUTING -m comment --comment kubernetes service portals -j KUBE-SERVICES"
        ),
        "{log}"
    );
    assert!(log.contains("-t nat -I POSTROUTING -m comment --comment kubernetes postrouting rules -j KUBE-POSTROUTING"));
}

#[tokio::test]
async fn stale_service_chains_are_deleted_but_foreign_chains_are_left_alone() {
    let f = fakes("cat > $D/restore.input");
    let applied = IptablesApplier::new(f.config.clone())
        .sync(&ProxyModel::default())
        .await
        .unwrap();
    assert!(applied.contains(":KUBE-SVC-STALESTALESTALE1 - [0:0]\n"));
    assert!(applied.contains("-X KUBE-SVC-STALESTALESTALE1\n"));
    assert!(!applied.contains("DOCKER"));
    assert!(!applied.contains("-X KUBE-SERVICES"));
}

#[tokio::test]
async fn a_missing_binary_is_reported_clearly() {
    let config = ProxyConfig::new("n").iptables_binaries(
        "/nonexistent/iptables",
        "/nonexistent/save",
        "/nonexistent/restore",
    );
    let err = IptablesApplier::new(config)
        .restore("*nat\nCOMMIT\n")
        .await
        .unwrap_err();
    assert!(matches!(err, ApplyError::BinaryMissing { .. }), "{err}");
    assert!(err.is_fatal());
    assert!(err.to_string().contains("not found"));
}

#[tokio::test]
async fn a_permission_failure_is_told_apart_from_a_bad_ruleset() {
    let denied = fakes(
        "echo 'iptables-restore v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)' >&2\nexit 4",
    );
    let err = IptablesApplier::new(denied.config.clone())
        .restore("x")
        .await
        .unwrap_err();
    assert!(matches!(err, ApplyError::Permission { .. }), "{err}");
    assert!(err.is_fatal());

    let bad = fakes("echo 'iptables-restore: line 3 failed' >&2\nexit 1");
    let err = IptablesApplier::new(bad.config.clone())
        .restore("x")
        .await
        .unwrap_err();
    assert!(matches!(err, ApplyError::Failed { .. }), "{err}");
    assert!(!err.is_fatal());
}

#[test]
fn chains_are_read_from_iptables_save_output() {
    let save = "# Generated\n*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SEP-X - [0:0]\n-A PREROUTING -j KUBE-SERVICES\nCOMMIT\n";
    assert_eq!(chains_in_save(save), ["PREROUTING", "KUBE-SEP-X"]);
}

/// Validates the rendered rules with the real `iptables-restore --test` (parse and check
/// against the kernel, commit nothing). Needs iptables and CAP_NET_ADMIN, so it is ignored
/// by default: `cargo test -p refkube-proxy -- --ignored real_iptables`.
#[tokio::test]
#[ignore = "needs the iptables-restore binary and CAP_NET_ADMIN"]
async fn real_iptables_restore_accepts_the_rendered_rules() {
    use crate::fixtures::{ready, service_with_status, slice};
    use serde_json::json;
    let svc = service_with_status(
        "ns1",
        "svc1",
        json!({"clusterIP": "172.30.1.1", "type": "LoadBalancer", "externalTrafficPolicy": "Local",
               "sessionAffinity": "ClientIP", "healthCheckNodePort": 30000,
               "loadBalancerSourceRanges": ["203.0.113.0/25"], "externalIPs": ["192.168.99.11"],
               "ports": [{"name": "p80", "port": 80, "nodePort": 30080}]}),
        json!({"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}),
    );
    let sl = slice(
        "ns1",
        "svc1",
        "1",
        json!([{"name": "p80", "port": 8080}]),
        vec![ready("10.0.1.1", "node-a"), ready("10.0.1.2", "b")],
    );
    let model = crate::model::build_model(&[svc], &[sl], "node-a", crate::config::IpFamily::V4);
    let config = ProxyConfig::new("node-a").cluster_cidr("10.0.0.0/8".parse().unwrap());
    let input = crate::iptables::render(&model, &config);
    let out = run_tool("iptables-restore", &["--test", "--noflush"], Some(&input))
        .await
        .unwrap();
    assert!(
        out.success,
        "iptables-restore --test rejected the rules: {}\n{input}",
        out.stderr
    );
}

#[tokio::test]
async fn jump_rules_are_checked_on_the_first_sync_not_on_every_sync() {
    let f = fakes("cat > /dev/null");
    let applier = IptablesApplier::new(f.config.clone());
    applier.sync(&ProxyModel::default()).await.unwrap();
    let log = f.dir.path().join("iptables.log");
    let first = std::fs::read_to_string(&log).unwrap().lines().count();
    assert!(first > 0);
    applier.sync(&ProxyModel::default()).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().lines().count(),
        first
    );
}
