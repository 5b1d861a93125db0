//! `/attach` on the wire, against containers started with the container spec's
//! `stdin`, `stdinOnce` and `tty`: input reaches a container's stdin pipe and is shared
//! by two sessions; `stdinOnce` closes it when the first session ends (so `cat` exits);
//! a tty container runs on a terminal that takes resizes, echoes, logs what it shows,
//! and the session ends with the success Status when the shell exits; output-only
//! attach keeps stdout and stderr apart; and the UID path form.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serving;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use refkube_kubelet::runtime::stdio::StdioConfig;
use refkube_kubelet::runtime::{ContainerState, Runtime};
use serde_json::Value;
use serving::{Served, Ws, bin, connect, frames};
use tokio_tungstenite::tungstenite::Message;

const V5: &str = "v5.channel.k8s.io";

/// Reads messages until channel `ch`'s bytes so far contain `needle`; all of them.
async fn read_until(ws: &mut Ws, ch: u8, needle: &str) -> String {
    let mut seen = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no {needle:?} on channel {ch} in time; got {:?}",
                    String::from_utf8_lossy(&seen)
                )
            });
        match next {
            Some(Ok(Message::Binary(b))) if b.first() == Some(&ch) => {
                seen.extend_from_slice(&b[1..]);
                let text = String::from_utf8_lossy(&seen).into_owned();
                if text.contains(needle) {
                    return text;
                }
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => panic!(
                "closed before {needle:?}; got {:?}",
                String::from_utf8_lossy(&seen)
            ),
            Some(Ok(_)) => {}
        }
    }
}

async fn wait_exited(served: &Served) -> i32 {
    for _ in 0..100 {
        if let ContainerState::Exited { exit_code, .. } = served
            .runtime
            .container_status(&served.container)
            .await
            .unwrap()
        {
            return exit_code;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the container did not exit");
}

const PIPE: StdioConfig = StdioConfig {
    stdin: true,
    stdin_once: false,
    tty: false,
};

#[tokio::test]
async fn two_sessions_share_the_containers_stdin_pipe_and_it_stays_open() {
    let served = serving::serve_pod("cat", &["cat"], PIPE).await;
    let path = "/attach/default/cat/cat?stdin=true&stdout=true&stderr=true";
    let mut first = connect(served.addr, path, V5).await;
    let mut second = connect(served.addr, path, V5).await;
    assert_eq!(first.next().await.unwrap().unwrap(), bin(1, b""), "ready");
    assert_eq!(second.next().await.unwrap().unwrap(), bin(1, b""), "ready");
    first.send(bin(0, b"from-first\n")).await.unwrap();
    read_until(&mut first, 1, "from-first\n").await;
    read_until(&mut second, 1, "from-first\n").await;
    second.send(bin(0, b"from-second\n")).await.unwrap();
    read_until(&mut first, 1, "from-second\n").await;
    // Without stdinOnce, a session leaving does not close the container's stdin.
    first.close(None).await.unwrap();
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    second.send(bin(0, b"still-open\n")).await.unwrap();
    read_until(&mut second, 1, "still-open\n").await;
    let lines: Vec<String> = served
        .log
        .read_from(0)
        .lines
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(lines, ["from-first", "from-second", "still-open"]);
}

#[tokio::test]
async fn stdin_once_closes_the_containers_stdin_when_the_first_session_ends() {
    let once = StdioConfig {
        stdin_once: true,
        ..PIPE
    };
    let served = serving::serve_pod("once", &["cat"], once).await;
    let mut ws = connect(
        served.addr,
        "/attach/default/once/once?stdin=true&stdout=true",
        V5,
    )
    .await;
    ws.send(bin(0, b"x\n")).await.unwrap();
    read_until(&mut ws, 1, "x\n").await;
    ws.close(None).await.unwrap();
    drop(ws);
    assert_eq!(wait_exited(&served).await, 0, "cat read end of file");
}

#[tokio::test]
async fn a_tty_container_echoes_takes_resizes_and_ends_the_session_when_it_exits() {
    let tty = StdioConfig {
        stdin: true,
        stdin_once: true,
        tty: true,
    };
    let served = serving::serve_pod("t", &["sh"], tty).await;
    // The UID form: taken, and the pod found by its name.
    let mut ws = connect(
        served.addr,
        "/attach/default/t/uid-t/t?stdin=true&stdout=true&tty=true",
        V5,
    )
    .await;
    ws.send(bin(4, br#"{"Width":100,"Height":20}"#))
        .await
        .unwrap();
    ws.send(bin(0, b"stty size\n")).await.unwrap();
    let shown = read_until(&mut ws, 1, "20 100").await;
    assert!(
        shown.contains("stty size"),
        "the terminal echoes: {shown:?}"
    );
    ws.send(bin(0, b"exit 0\n")).await.unwrap();
    let rest = frames(&mut ws).await;
    let last = rest.last().expect("a Status").clone().into_data();
    assert_eq!(last[0], 3, "the error channel: {rest:?}");
    let status: Value = serde_json::from_slice(&last[1..]).unwrap();
    assert_eq!(status["status"], "Success");
    assert_eq!(wait_exited(&served).await, 0);
    let log: Vec<String> = served
        .log
        .read_from(0)
        .lines
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert!(
        log.iter().any(|l| l == "20 100"),
        "the log records the terminal: {log:?}"
    );
}

#[tokio::test]
async fn output_only_attach_keeps_stdout_and_stderr_apart() {
    let served = serving::serve_pod(
        "tick",
        &[
            "sh",
            "-c",
            "while true; do echo out; echo err >&2; sleep 0.2; done",
        ],
        StdioConfig::default(),
    )
    .await;
    let mut ws = connect(
        served.addr,
        "/attach/default/tick/tick?stdout=true&stderr=true",
        V5,
    )
    .await;
    read_until(&mut ws, 2, "err\n").await;
    read_until(&mut ws, 1, "out\n").await;
    // Stdin sent to a container that keeps none is dropped, not an error.
    ws.send(bin(0, b"ignored\n")).await.unwrap();
    read_until(&mut ws, 1, "out\n").await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!(
            "http://{}/attach/default/tick/nope?stdout=true",
            served.addr
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.text().await.unwrap(), "container not found (\"nope\")");
}
