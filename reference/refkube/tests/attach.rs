//! `pods/attach` with stdin through kube-rs (`Api::attach`), end to end on an embedded
//! cluster with one node: a shell started with `stdin`, `stdinOnce` and `tty` runs what
//! is typed into the attached terminal, and `exit` ends the session with the success
//! Status and the Pod; a container with a stdin pipe gets what is written and echoes
//! it back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use refkube::pace::Pace;
use refkube::{Cluster, ClusterConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// Creates a busybox Pod running `command` with the given stream flags, and waits until
/// it runs.
async fn running(pods: &Api<Pod>, name: &str, command: &[&str], tty: bool, once: bool) {
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{
                "name": name, "image": "busybox", "command": command,
                "stdin": true, "stdinOnce": once, "tty": tty,
            }],
        },
    }))
    .unwrap();
    // The namespace's service account appears shortly after start-up.
    let mut tries = 0;
    while let Err(e) = pods.create(&PostParams::default(), &pod).await {
        tries += 1;
        assert!(tries < 100, "creating {name}: {e}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::timeout(
        Duration::from_secs(60),
        await_condition(pods.clone(), name, conditions::is_pod_running()),
    )
    .await
    .expect("the Pod runs in time")
    .unwrap();
}

/// Reads `from` until what came contains `needle`.
async fn read_until(from: &mut (impl AsyncRead + Unpin), needle: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        loop {
            let n = from.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "ended before {needle:?}: {:?}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&seen).into_owned();
            if text.contains(needle) {
                return text;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .unwrap_or_else(|_| panic!("no {needle:?} in time"))
}

#[tokio::test]
async fn attach_with_stdin_drives_a_tty_shell_and_a_stdin_pipe() {
    let agnhost = vec![
        PathBuf::from(env!("CARGO_BIN_EXE_refkube")),
        "agnhost".into(),
    ];
    let cluster = Cluster::start(
        ClusterConfig::default()
            .nodes(1)
            .pace(Pace::Fast)
            .agnhost_command(Some(agnhost)),
    )
    .await
    .unwrap();
    let pods: Api<Pod> = Api::namespaced(cluster.client().await.unwrap(), "default");

    running(&pods, "sh", &["sh"], true, true).await;
    let mut shell = pods
        .attach("sh", &AttachParams::interactive_tty())
        .await
        .unwrap();
    let mut stdin = shell.stdin().expect("stdin");
    let mut stdout = shell.stdout().expect("stdout");
    let status = shell.take_status().expect("a status");
    stdin.write_all(b"echo $((6*7))\n").await.unwrap();
    // The terminal echoes the line, then the shell's answer.
    read_until(&mut stdout, "42").await;
    stdin.write_all(b"exit\n").await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(20), status)
        .await
        .expect("the session ends when the shell exits")
        .expect("a Status");
    assert_eq!(status.status.as_deref(), Some("Success"), "{status:?}");
    let done = tokio::time::timeout(
        Duration::from_secs(30),
        await_condition(pods.clone(), "sh", |p: Option<&Pod>| {
            p.and_then(|p| p.status.as_ref()?.phase.as_deref()) == Some("Succeeded")
        }),
    )
    .await;
    assert!(done.is_ok(), "the Pod succeeded once its shell exited");

    running(&pods, "cat", &["cat"], false, false).await;
    let mut cat = pods
        .attach(
            "cat",
            &AttachParams::default()
                .stdin(true)
                .stdout(true)
                .stderr(false),
        )
        .await
        .unwrap();
    let mut stdin = cat.stdin().expect("stdin");
    let mut stdout = cat.stdout().expect("stdout");
    stdin.write_all(b"through the pipe\n").await.unwrap();
    let got = read_until(&mut stdout, "through the pipe\n").await;
    assert_eq!(got, "through the pipe\n");
    cat.abort();
    cluster.shutdown().await;
}
