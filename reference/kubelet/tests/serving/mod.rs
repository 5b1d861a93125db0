//! Set-up shared by the tests of the kubelet's server on the wire (`streaming.rs`,
//! `spdy_portforward.rs`, `attach.rs`): a process runtime (loopback pod network, no
//! privileges) running one pod of one busybox container at 127.0.0.1, and the kubelet's
//! routes serving it on a free port.
// Each test binary compiles its own copy and uses only part of it.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use refkube_kubelet::logs::{ContainerLog, LogStore};
use refkube_kubelet::runtime::process::ProcessRuntime;
use refkube_kubelet::runtime::stdio::StdioConfig;
use refkube_kubelet::runtime::{ContainerConfig, Runtime, SandboxConfig};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A WebSocket client connection.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A served pod.
pub struct Served {
    /// Where the kubelet's routes listen.
    pub addr: SocketAddr,
    /// The runtime; dropping it kills the pod's processes.
    pub runtime: Arc<ProcessRuntime>,
    /// The container's id.
    pub container: String,
    /// The container's log.
    pub log: Arc<ContainerLog>,
}

/// Pod `default/{name}` (UID `uid-{name}`) with container `{name}` running `command`
/// with its streams as `stdio` says, served by the kubelet's routes.
pub async fn serve_pod(name: &str, command: &[&str], stdio: StdioConfig) -> Served {
    let agnhost = PathBuf::from(env!("CARGO_BIN_EXE_agnhost"));
    let runtime = Arc::new(ProcessRuntime::new(vec![agnhost]));
    let sandbox = runtime
        .run_pod_sandbox(&SandboxConfig {
            uid: format!("uid-{name}"),
            name: name.into(),
            namespace: "default".into(),
            hostname: name.into(),
            ip: "127.0.0.1".parse().unwrap(),
            gateway: None,
            host_network: false,
            annotations: Default::default(),
            mounts: vec![],
            masked: vec![],
        })
        .await
        .unwrap();
    let log = Arc::new(ContainerLog::new(100));
    let container = runtime
        .create_container(
            &sandbox,
            ContainerConfig {
                name: name.into(),
                image: "busybox".into(),
                command: command.iter().map(|c| c.to_string()).collect(),
                args: vec![],
                env: vec![("HOSTNAME".into(), name.into())],
                working_dir: None,
                log: log.clone(),
                on_exit: Arc::new(Notify::new()),
                stdio,
            },
        )
        .await
        .unwrap();
    runtime.start_container(&container).await.unwrap();
    let router = refkube_kubelet::server::router(
        Arc::new(LogStore::new(10)),
        runtime.clone(),
        Default::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Served {
        addr,
        runtime,
        container,
        log,
    }
}

/// Connects to `path` asking for the subprotocol `protocol`, which must be chosen.
pub async fn connect(addr: SocketAddr, path: &str, protocol: &str) -> Ws {
    let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
    let (ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(resp.headers()["sec-websocket-protocol"], protocol);
    ws
}

/// Every data message until the server closes.
pub async fn frames(ws: &mut Ws) -> Vec<Message> {
    let mut out = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("the server answers in time");
        match next {
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return out,
            Some(Ok(m @ (Message::Binary(_) | Message::Text(_)))) => out.push(m),
            Some(Ok(_)) => {}
        }
    }
}

/// A binary message on channel `ch`.
pub fn bin(ch: u8, data: &[u8]) -> Message {
    let mut v = vec![ch];
    v.extend_from_slice(data);
    Message::Binary(v.into())
}
