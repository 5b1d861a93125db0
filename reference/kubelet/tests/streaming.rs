//! The kubelet's streaming endpoints on the wire, as a WebSocket client sees them: a
//! process runtime (loopback pod network, no privileges) runs a pod, the kubelet's
//! routes serve it, and the tests check every frame: the ready frame, stdout, the
//! `NonZeroExitCode` Status on the error channel, stdin closed with v5's CLOSE signal,
//! the base64 variant, and the port-forward's port prefixes and bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serving;

use serving::{bin, connect, frames};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use refkube_kubelet::runtime::process::ProcessRuntime;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

/// A kubelet server with pod `default/bb` (container `bb`, `sleep 60`) at 127.0.0.1.
async fn kubelet() -> (SocketAddr, Arc<ProcessRuntime>) {
    let served = serving::serve_pod("bb", &["sleep", "60"], Default::default()).await;
    (served.addr, served.runtime)
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

#[tokio::test]
async fn the_uid_path_forms_find_the_pod_by_name_and_port_forward_checks_the_uid() {
    let (addr, _rt) = kubelet().await;
    // exec and run: the UID is taken and not checked, as upstream.
    let mut ws = connect(
        addr,
        "/exec/default/bb/some-other-uid/bb?command=echo&command=by-uid&stdout=true",
        "v5.channel.k8s.io",
    )
    .await;
    let got = frames(&mut ws).await;
    assert_eq!(got[1], bin(1, b"by-uid\n"), "{got:?}");
    let http = reqwest::Client::new();
    let r = http
        .post(format!(
            "http://{addr}/run/default/bb/uid-bb/bb?cmd=echo+ran"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "ran\n");
    // port-forward: upstream's spelling, with the pod's UID or without; another UID
    // is a 404.
    let r = http
        .get(format!(
            "http://{addr}/portForward/default/bb/not-its-uid?port=80"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.text().await.unwrap(), "pod not found");
    for path in ["/portForward/default/bb/uid-bb", "/portForward/default/bb"] {
        let echo = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = echo.local_addr().unwrap().port();
        let mut ws = connect(addr, &format!("{path}?port={port}"), "v4.channel.k8s.io").await;
        let first = ws.next().await.unwrap().unwrap();
        assert_eq!(first, bin(0, &port.to_le_bytes()), "{path}");
    }
}
