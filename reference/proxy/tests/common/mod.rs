//! Shared helpers of the integration tests: echo backends and model snapshots.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use refkube_proxy::model::{EndpointInfo, SessionAffinity};
use refkube_proxy::{Protocol, ProxyModel, ServicePortInfo, ServicePortName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// A TCP backend that answers each connection with its own address, then echoes.
pub async fn tcp_backend(ip: &str) -> SocketAddr {
    let listener = TcpListener::bind((ip, 0)).await.expect("bind backend");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = conn.write_all(format!("{addr}\n").as_bytes()).await;
                let mut buf = [0u8; 1024];
                while let Ok(n) = conn.read(&mut buf).await {
                    if n == 0 || conn.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// A UDP backend that replies `<its address>:<payload>`.
pub async fn udp_backend(ip: &str) -> SocketAddr {
    let sock = UdpSocket::bind((ip, 0)).await.expect("bind udp backend");
    let addr = sock.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 1024];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            let reply = format!("{addr}:{}", String::from_utf8_lossy(&buf[..n]));
            let _ = sock.send_to(reply.as_bytes(), from).await;
        }
    });
    addr
}

pub fn name(protocol: Protocol) -> ServicePortName {
    ServicePortName::new("default", "echo", "", protocol)
}

pub fn model(
    service_ip: &str,
    port: u16,
    protocol: Protocol,
    affinity: SessionAffinity,
    backends: &[SocketAddr],
) -> ProxyModel {
    let endpoints = backends
        .iter()
        .map(|a| EndpointInfo {
            addr: *a,
            ready: true,
            serving: true,
            terminating: false,
            node_name: Some("n".into()),
            is_local: false,
        })
        .collect();
    let info = ServicePortInfo {
        name: name(protocol),
        cluster_ip: service_ip.parse().unwrap(),
        port,
        node_port: 0,
        session_affinity: affinity,
        internal_policy_local: false,
        external_policy_local: false,
        external_ips: vec![],
        load_balancer_vips: vec![],
        load_balancer_source_ranges: vec![],
        health_check_node_port: 0,
        endpoints,
    };
    ProxyModel {
        services: BTreeMap::from([(info.name.clone(), info)]),
    }
}

/// Connect to the service from `client_ip` and return the backend that answered.
pub async fn which_backend(service: SocketAddr, client_ip: &str) -> Option<String> {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::new(client_ip.parse::<IpAddr>().unwrap(), 0))
        .unwrap();
    let mut conn = tokio::time::timeout(Duration::from_secs(2), sock.connect(service))
        .await
        .ok()?
        .ok()?;
    let mut buf = vec![0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(2), conn.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    (n > 0).then(|| String::from_utf8_lossy(&buf[..n]).trim().to_string())
}
