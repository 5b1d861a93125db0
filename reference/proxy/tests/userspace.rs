//! The userspace proxier driven directly with model snapshots (no API server): real TCP
//! and UDP echo backends on 127.0.0.x, a service address on 127.77.x.1, and connections
//! through it. Each test uses its own service IP so tests can run in parallel.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{model, name, tcp_backend, udp_backend, which_backend};
use refkube_proxy::model::SessionAffinity;
use refkube_proxy::{Protocol, ProxyConfig, ProxyMode, ProxyModel, UserspaceProxier};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

fn proxier() -> UserspaceProxier {
    UserspaceProxier::new(
        ProxyConfig::new("n")
            .mode(ProxyMode::Userspace)
            .endpoint_dial_timeout(Duration::from_millis(300)),
    )
}

#[tokio::test]
async fn connections_to_the_service_reach_every_backend() {
    let backends = [
        tcp_backend("127.0.0.1").await,
        tcp_backend("127.0.0.2").await,
        tcp_backend("127.0.0.3").await,
    ];
    let mut p = proxier();
    let m = model(
        "127.77.1.1",
        18080,
        Protocol::Tcp,
        SessionAffinity::None,
        &backends,
    );
    assert!(p.sync(&m).await.is_empty());
    let service: SocketAddr = "127.77.1.1:18080".parse().unwrap();
    let mut seen = HashSet::new();
    for _ in 0..9 {
        seen.insert(
            which_backend(service, "127.0.0.1")
                .await
                .expect("an answer"),
        );
    }
    let want: HashSet<String> = backends.iter().map(|b| b.to_string()).collect();
    assert_eq!(seen, want);

    // The proxied stream carries data both ways.
    let mut conn = TcpStream::connect(service).await.unwrap();
    let mut line = vec![0u8; 64];
    let _ = conn.read(&mut line).await.unwrap();
    conn.write_all(b"hello").await.unwrap();
    let mut echo = [0u8; 5];
    conn.read_exact(&mut echo).await.unwrap();
    assert_eq!(&echo, b"hello");
    p.shutdown().await;
}

#[tokio::test]
async fn client_ip_affinity_pins_each_client_to_one_backend() {
    let backends = [
        tcp_backend("127.0.0.1").await,
        tcp_backend("127.0.0.2").await,
        tcp_backend("127.0.0.3").await,
    ];
    let mut p = proxier();
    let affinity = SessionAffinity::ClientIp {
        timeout_seconds: 60,
    };
    p.sync(&model(
        "127.77.2.1",
        18080,
        Protocol::Tcp,
        affinity,
        &backends,
    ))
    .await;
    let service: SocketAddr = "127.77.2.1:18080".parse().unwrap();
    for client in ["127.0.0.10", "127.0.0.11", "127.0.0.12"] {
        let first = which_backend(service, client).await.expect("an answer");
        for _ in 0..5 {
            assert_eq!(
                which_backend(service, client).await.as_deref(),
                Some(first.as_str()),
                "client {client}"
            );
        }
    }
    // Different clients are still spread: three clients over three backends, round robin.
    let mut firsts = HashSet::new();
    for client in ["127.0.0.20", "127.0.0.21", "127.0.0.22"] {
        firsts.insert(which_backend(service, client).await.unwrap());
    }
    assert!(
        firsts.len() > 1,
        "affinity must not send everyone to one backend: {firsts:?}"
    );
}

#[tokio::test]
async fn a_removed_endpoint_gets_no_more_traffic_and_the_listener_stays_up() {
    let backends = [
        tcp_backend("127.0.0.1").await,
        tcp_backend("127.0.0.2").await,
    ];
    let mut p = proxier();
    let service: SocketAddr = "127.77.3.1:18080".parse().unwrap();
    p.sync(&model(
        "127.77.3.1",
        18080,
        Protocol::Tcp,
        SessionAffinity::None,
        &backends,
    ))
    .await;
    // A long-lived connection through the proxy survives the endpoint update.
    let mut live = TcpStream::connect(service).await.unwrap();
    let mut hello = vec![0u8; 64];
    let n = live.read(&mut hello).await.unwrap();
    let live_backend = String::from_utf8_lossy(&hello[..n]).trim().to_string();

    let keep = backends[0];
    let started = Instant::now();
    p.sync(&model(
        "127.77.3.1",
        18080,
        Protocol::Tcp,
        SessionAffinity::None,
        &[keep],
    ))
    .await;
    for _ in 0..6 {
        assert_eq!(
            which_backend(service, "127.0.0.1").await,
            Some(keep.to_string())
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(p.listen_addr(&name(Protocol::Tcp)), Some(service));

    live.write_all(b"still").await.unwrap();
    let mut echo = [0u8; 5];
    live.read_exact(&mut echo).await.unwrap();
    assert_eq!(
        &echo, b"still",
        "the connection to {live_backend} was not cut by the resync"
    );
}

#[tokio::test]
async fn with_no_endpoints_connections_are_closed_at_once() {
    let mut p = proxier();
    let service: SocketAddr = "127.77.4.1:18080".parse().unwrap();
    p.sync(&model(
        "127.77.4.1",
        18080,
        Protocol::Tcp,
        SessionAffinity::None,
        &[],
    ))
    .await;
    let started = Instant::now();
    match TcpStream::connect(service).await {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
        Ok(mut conn) => {
            let mut buf = [0u8; 8];
            let r = tokio::time::timeout(Duration::from_secs(2), conn.read(&mut buf))
                .await
                .expect("closed, not hanging");
            assert!(
                matches!(r, Ok(0) | Err(_)),
                "no data from a service without endpoints: {r:?}"
            );
        }
    }
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn removing_the_service_closes_its_listener_and_unknown_ports_are_not_answered() {
    let backend = tcp_backend("127.0.0.1").await;
    let mut p = proxier();
    let service: SocketAddr = "127.77.5.1:18080".parse().unwrap();
    p.sync(&model(
        "127.77.5.1",
        18080,
        Protocol::Tcp,
        SessionAffinity::None,
        &[backend],
    ))
    .await;
    assert!(which_backend(service, "127.0.0.1").await.is_some());
    let other_port = TcpStream::connect("127.77.5.1:18081").await;
    assert_eq!(
        other_port.unwrap_err().kind(),
        std::io::ErrorKind::ConnectionRefused
    );

    p.sync(&ProxyModel::default()).await;
    assert_eq!(p.listener_count(), 0);
    let gone = TcpStream::connect(service).await;
    assert_eq!(
        gone.unwrap_err().kind(),
        std::io::ErrorKind::ConnectionRefused
    );
}

#[tokio::test]
async fn a_changed_service_port_moves_its_listener() {
    let backend = tcp_backend("127.0.0.1").await;
    let mut p = proxier();
    p.sync(&model(
        "127.77.6.1",
        18080,
        Protocol::Tcp,
        SessionAffinity::None,
        &[backend],
    ))
    .await;
    p.sync(&model(
        "127.77.6.1",
        18090,
        Protocol::Tcp,
        SessionAffinity::None,
        &[backend],
    ))
    .await;
    assert!(TcpStream::connect("127.77.6.1:18080").await.is_err());
    assert_eq!(
        which_backend("127.77.6.1:18090".parse().unwrap(), "127.0.0.1").await,
        Some(backend.to_string())
    );
}

#[tokio::test]
async fn udp_datagrams_are_relayed_to_backends_and_back() {
    let backends = [
        udp_backend("127.0.0.1").await,
        udp_backend("127.0.0.2").await,
    ];
    let mut p = proxier();
    assert!(
        p.sync(&model(
            "127.77.7.1",
            15353,
            Protocol::Udp,
            SessionAffinity::None,
            &backends
        ))
        .await
        .is_empty()
    );
    let mut seen = HashSet::new();
    for i in 0..4 {
        // A fresh client socket per query, so each is a new "session".
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client
            .send_to(format!("q{i}").as_bytes(), "127.77.7.1:15353")
            .await
            .unwrap();
        let mut buf = [0u8; 128];
        let (n, from) = tokio::time::timeout(Duration::from_secs(2), client.recv_from(&mut buf))
            .await
            .expect("a reply")
            .unwrap();
        assert_eq!(
            from,
            "127.77.7.1:15353".parse::<SocketAddr>().unwrap(),
            "the reply comes from the service address"
        );
        let reply = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(reply.ends_with(&format!(":q{i}")), "{reply}");
        seen.insert(reply.rsplit_once(':').unwrap().0.to_string());
    }
    assert_eq!(seen.len(), 2, "both UDP backends answered: {seen:?}");
}

#[tokio::test]
async fn one_udp_client_keeps_its_endpoint_while_the_session_is_active() {
    let backends = [
        udp_backend("127.0.0.1").await,
        udp_backend("127.0.0.2").await,
    ];
    let mut p = proxier();
    p.sync(&model(
        "127.77.8.1",
        15353,
        Protocol::Udp,
        SessionAffinity::None,
        &backends,
    ))
    .await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut answered = HashSet::new();
    for i in 0..4 {
        client
            .send_to(format!("q{i}").as_bytes(), "127.77.8.1:15353")
            .await
            .unwrap();
        let mut buf = [0u8; 128];
        let (n, _) = tokio::time::timeout(Duration::from_secs(2), client.recv_from(&mut buf))
            .await
            .expect("a reply")
            .unwrap();
        let reply = String::from_utf8_lossy(&buf[..n]).to_string();
        answered.insert(reply.rsplit_once(':').unwrap().0.to_string());
    }
    assert_eq!(
        answered.len(),
        1,
        "datagrams of one session go to one endpoint: {answered:?}"
    );
}
