//! The kubelet's streaming endpoints on the wire, as a WebSocket client sees them: a
//! process runtime (loopback pod network, no privileges) runs a pod, the kubelet's
//! routes serve it, and the tests check every frame: the ready frame, stdout, the
//! `NonZeroExitCode` Status on the error channel, stdin closed with v5's CLOSE signal,
//! the base64 variant, and the port-forward's port prefixes and bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use refkube_kubelet::logs::{ContainerLog, LogStore};
use refkube_kubelet::runtime::process::ProcessRuntime;
use refkube_kubelet::runtime::{ContainerConfig, Runtime, SandboxConfig};
use serde_json::Value;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A kubelet server with pod `default/bb` (container `bb`, `sleep 60`) at 127.0.0.1.
async fn kubelet() -> (SocketAddr, Arc<ProcessRuntime>) {
    let agnhost = PathBuf::from(env!("CARGO_BIN_EXE_agnhost"));
    let rt = Arc::new(ProcessRuntime::new(vec![agnhost]));
    let sandbox = rt
        .run_pod_sandbox(&SandboxConfig {
            uid: "uid-bb".into(),
            name: "bb".into(),
            namespace: "default".into(),
            hostname: "bb".into(),
            ip: "127.0.0.1".parse().unwrap(),
            gateway: None,
            host_network: false,
            annotations: Default::default(),
            mounts: vec![],
            masked: vec![],
        })
        .await
        .unwrap();
    let id = rt
        .create_container(
            &sandbox,
            ContainerConfig {
                name: "bb".into(),
                image: "busybox".into(),
                command: vec!["sleep".into(), "60".into()],
                args: vec![],
                env: vec![("HOSTNAME".into(), "bb".into())],
                working_dir: None,
                log: Arc::new(ContainerLog::new(10)),
                on_exit: Arc::new(Notify::new()),
            },
        )
        .await
        .unwrap();
    rt.start_container(&id).await.unwrap();
    let router = refkube_kubelet::server::router(
        Arc::new(LogStore::new(10)),
        rt.clone(),
        Default::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (addr, rt)
}

async fn connect(addr: SocketAddr, path: &str, protocol: &str) -> Ws {
    let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
    let (ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(resp.headers()["sec-websocket-protocol"], protocol);
    ws
}

/// Every data message until the server closes.
async fn frames(ws: &mut Ws) -> Vec<Message> {
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

fn bin(ch: u8, data: &[u8]) -> Message {
    let mut v = vec![ch];
    v.extend_from_slice(data);
    Message::Binary(v.into())
}

#[tokio::test]
async fn exec_streams_stdout_then_the_exit_code_status_and_closes() {
    let (addr, _rt) = kubelet().await;
    let mut ws = connect(
        addr,
        "/exec/default/bb/bb?command=sh&command=-c&command=echo+%24HOSTNAME%3B+exit+3&stdout=true&stderr=true",
        "v5.channel.k8s.io",
    )
    .await;
    let got = frames(&mut ws).await;
    assert_eq!(got[0], bin(1, b""), "the ready frame");
    assert_eq!(got[1], bin(1, b"bb\n"));
    assert_eq!(got.len(), 3, "{got:?}");
    let Message::Binary(last) = &got[2] else {
        panic!("{got:?}")
    };
    assert_eq!(last[0], 3, "the error channel");
    let status: Value = serde_json::from_slice(&last[1..]).unwrap();
    assert_eq!(status["status"], "Failure");
    assert_eq!(status["reason"], "NonZeroExitCode");
    assert_eq!(status["details"]["causes"][0]["reason"], "ExitCode");
    assert_eq!(status["details"]["causes"][0]["message"], "3");
}

#[tokio::test]
async fn stdin_flows_until_the_v5_close_signal_ends_it() {
    let (addr, _rt) = kubelet().await;
    let mut ws = connect(
        addr,
        "/exec/default/bb/bb?command=cat&stdin=true&stdout=true&stderr=true",
        "v5.channel.k8s.io",
    )
    .await;
    ws.send(bin(0, b"abc")).await.unwrap();
    ws.send(bin(255, &[0])).await.unwrap();
    let got = frames(&mut ws).await;
    let stdout: Vec<u8> = got
        .iter()
        .filter_map(|m| match m {
            Message::Binary(b) if b[0] == 1 => Some(b[1..].to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(stdout, b"abc");
    let last = got.last().unwrap().clone().into_data();
    assert_eq!(last[0], 3);
    let status: Value = serde_json::from_slice(&last[1..]).unwrap();
    assert_eq!(
        status,
        serde_json::json!({"metadata": {}, "status": "Success"})
    );
}

#[tokio::test]
async fn the_base64_protocol_sends_text_frames() {
    let (addr, _rt) = kubelet().await;
    let mut ws = connect(
        addr,
        "/exec/default/bb/bb?command=echo&command=hi&stdout=true",
        "v4.base64.channel.k8s.io",
    )
    .await;
    let got = frames(&mut ws).await;
    assert_eq!(got[0], Message::Text("1".into()));
    assert_eq!(got[1], Message::Text("1aGkK".into()), "base64 of \"hi\\n\"");
    let Message::Text(t) = &got[2] else {
        panic!("{got:?}")
    };
    assert!(t.starts_with('3'), "{t}");
}

#[tokio::test]
async fn a_tty_exec_runs_on_a_terminal_that_takes_resizes() {
    let (addr, _rt) = kubelet().await;
    let mut ws = connect(
        addr,
        "/exec/default/bb/bb?command=sh&stdin=true&stdout=true&tty=true",
        "v5.channel.k8s.io",
    )
    .await;
    ws.send(bin(4, br#"{"Width":100,"Height":20}"#))
        .await
        .unwrap();
    ws.send(bin(0, b"stty size; exit 4\n")).await.unwrap();
    let got = frames(&mut ws).await;
    let out: Vec<u8> = got
        .iter()
        .filter_map(|m| match m {
            Message::Binary(b) if b[0] == 1 => Some(b[1..].to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("20 100"), "{out}");
    let last = got.last().unwrap().clone().into_data();
    let status: Value = serde_json::from_slice(&last[1..]).unwrap();
    assert_eq!(status["details"]["causes"][0]["message"], "4");
}

#[tokio::test]
async fn unknown_containers_and_missing_commands_are_refused_before_the_upgrade() {
    let (addr, _rt) = kubelet().await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!(
            "http://{addr}/exec/default/bb/nope?command=ls&stdout=true"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.text().await.unwrap(), "container not found (\"nope\")");
    let r = http
        .get(format!("http://{addr}/exec/default/bb/bb?stdout=true"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .post(format!("http://{addr}/run/default/bb/bb?cmd=echo&cmd=ran"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "ran\n");
}

#[tokio::test]
async fn port_forward_prefixes_each_channel_with_its_port_and_pipes_bytes() {
    let (addr, _rt) = kubelet().await;
    let echo = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = echo.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut s, _) = echo.accept().await.unwrap();
        let (mut r, mut w) = s.split();
        let _ = tokio::io::copy(&mut r, &mut w).await;
    });
    let mut ws = connect(
        addr,
        &format!("/portforward/default/bb?port={port}"),
        "v4.channel.k8s.io",
    )
    .await;
    let le = port.to_le_bytes();
    let first = ws.next().await.unwrap().unwrap();
    let second = ws.next().await.unwrap().unwrap();
    assert_eq!(first, bin(0, &le));
    assert_eq!(second, bin(1, &le));
    ws.send(bin(0, b"ping")).await.unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(echoed, bin(0, b"ping"));
}
