//! The whole proxy driver (`run_with_source`) fed by a [`ModelFeed`] instead of an API
//! server: changes reach the data path within a second, and iptables mode's fatal errors
//! stop it with a clear message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{model, tcp_backend, which_backend};
use refkube_proxy::model::SessionAffinity;
use refkube_proxy::{
    ModelFeed, Protocol, ProxyConfig, ProxyError, ProxyMode, ProxyModel, run_with_source,
};

/// Poll `f` until it returns true or `within` passes.
async fn eventually<F, Fut>(within: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

fn userspace_config() -> ProxyConfig {
    ProxyConfig::new("node-a")
        .mode(ProxyMode::Userspace)
        .sync_period(Duration::from_secs(30))
        .min_sync_period(Duration::from_millis(200))
        .endpoint_dial_timeout(Duration::from_millis(300))
}

#[tokio::test]
async fn userspace_mode_follows_model_changes_within_a_second() {
    let (a, b) = (
        tcp_backend("127.0.0.1").await,
        tcp_backend("127.0.0.2").await,
    );
    let service = "127.77.20.1:18080".parse().unwrap();
    let feed = Arc::new(ModelFeed::new(model(
        "127.77.20.1",
        18080,
        Protocol::Tcp,
        SessionAffinity::None,
        &[a],
    )));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let driver = {
        let feed = feed.clone();
        tokio::spawn(async move {
            run_with_source(userspace_config(), &*feed, async {
                let _ = stop_rx.await;
            })
            .await
        })
    };

    assert!(
        eventually(Duration::from_secs(1), || async {
            which_backend(service, "127.0.0.1").await == Some(a.to_string())
        })
        .await
    );

    // Swap the endpoint: within a second every connection goes to the new one.
    feed.set(model(
        "127.77.20.1",
        18080,
        Protocol::Tcp,
        SessionAffinity::None,
        &[b],
    ));
    let switched = Instant::now();
    assert!(
        eventually(Duration::from_secs(1), || async {
            which_backend(service, "127.0.0.1").await == Some(b.to_string())
        })
        .await
    );
    assert!(switched.elapsed() < Duration::from_secs(1));
    for _ in 0..4 {
        assert_eq!(
            which_backend(service, "127.0.0.1").await,
            Some(b.to_string())
        );
    }

    // Remove the service: the listener closes within a second.
    feed.set(ProxyModel::default());
    assert!(
        eventually(Duration::from_secs(1), || async {
            tokio::net::TcpStream::connect(service).await.is_err()
        })
        .await,
        "listener of a removed service must close"
    );

    stop_tx.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(2), driver)
        .await
        .expect("driver stops on shutdown")
        .unwrap();
    assert!(result.is_ok());
}

#[tokio::test]
async fn shutdown_closes_every_userspace_listener() {
    let a = tcp_backend("127.0.0.1").await;
    let service = "127.77.21.1:18080".parse().unwrap();
    let feed = ModelFeed::new(model(
        "127.77.21.1",
        18080,
        Protocol::Tcp,
        SessionAffinity::None,
        &[a],
    ));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = run_with_source(userspace_config(), &feed, async {
        let _ = stop_rx.await;
    });
    let check = async {
        assert!(
            eventually(Duration::from_secs(1), || async {
                which_backend(service, "127.0.0.1").await.is_some()
            })
            .await
        );
        stop_tx.send(()).unwrap();
    };
    let (result, ()) = tokio::join!(run, check);
    assert!(result.is_ok());
    assert!(tokio::net::TcpStream::connect(service).await.is_err());
}

fn fake_tools(dir: &std::path::Path, restore_body: &str) -> ProxyConfig {
    let write = |name: &str, body: &str| {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.to_string_lossy().into_owned()
    };
    let ipt = write(
        "iptables",
        "case \"$*\" in *\" -C \"*) exit 1;; esac\nexit 0",
    );
    let save = write("iptables-save", "printf '*nat\\nCOMMIT\\n'");
    let restore = write("iptables-restore", restore_body);
    ProxyConfig::new("node-a")
        .cluster_cidr("10.0.0.0/8".parse().unwrap())
        .min_sync_period(Duration::from_millis(100))
        .iptables_binaries(ipt, save, restore)
}

#[tokio::test]
async fn iptables_mode_restores_the_rules_of_each_new_model() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("restore.input");
    let config = fake_tools(
        dir.path(),
        &format!("cat > {}.tmp && mv {0}.tmp {0}", out.display()),
    );
    let feed = ModelFeed::new(ProxyModel::default());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = run_with_source(config, &feed, async {
        let _ = stop_rx.await;
    });
    let check = async {
        let read = || std::fs::read_to_string(&out).unwrap_or_default();
        assert!(
            eventually(Duration::from_secs(2), || async { read().contains("*nat") }).await,
            "first sync"
        );
        assert!(!read().contains("KUBE-SVC-"));
        let backend = "10.0.1.1:80".parse().unwrap();
        feed.set(model(
            "172.30.1.1",
            80,
            Protocol::Tcp,
            SessionAffinity::None,
            &[backend],
        ));
        assert!(
            eventually(Duration::from_secs(1), || async {
                read().contains("--to-destination 10.0.1.1:80")
            })
            .await,
            "the new service's rules are restored within a second"
        );
        stop_tx.send(()).unwrap();
    };
    let (result, ()) = tokio::join!(run, check);
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn iptables_mode_without_privileges_stops_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = fake_tools(
        dir.path(),
        "echo 'iptables-restore: Permission denied (you must be root)' >&2\nexit 4",
    );
    let feed = ModelFeed::new(ProxyModel::default());
    let result = tokio::time::timeout(
        Duration::from_secs(5),
        run_with_source(config, &feed, std::future::pending()),
    )
    .await
    .expect("a fatal error ends the run");
    let err = result.unwrap_err();
    assert!(matches!(err, ProxyError::Iptables(_)), "{err}");
    assert!(err.to_string().contains("CAP_NET_ADMIN"), "{err}");
}

#[tokio::test]
async fn an_invalid_configuration_is_rejected_before_anything_starts() {
    let feed = ModelFeed::default();
    let err = run_with_source(
        ProxyConfig::new("n").masquerade_bit(40),
        &feed,
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ProxyError::Config(_)), "{err}");
}
