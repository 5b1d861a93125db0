//! Steps that go into a running Pod through the API server's streaming subresources, as
//! `kubectl exec`, `kubectl attach -it` and `kubectl port-forward` do: `pods/exec`
//! (output, and the exit code as upstream's `NonZeroExitCode` Status), `pods/attach`
//! (lines typed into the container's terminal, its answer, and the Status when it
//! exits) and `pods/portforward` (bytes to a port of the Pod), over the WebSocket
//! protocols kube-rs speaks.
//!
//! Entry point: the step functions.

use anyhow::Context as _;
use cucumber::then;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Outcome;
use crate::world::KubeWorld;

/// The exit code a finished exec's Status reports (0 for `Success`).
fn exit_code(
    status: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Status,
) -> anyhow::Result<i32> {
    if status.status.as_deref() == Some("Success") {
        return Ok(0);
    }
    if status.reason.as_deref() != Some("NonZeroExitCode") {
        anyhow::bail!("the exec failed: {status:?}");
    }
    let cause = status
        .details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .and_then(|c| c.iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
        .and_then(|c| c.message.as_deref())
        .with_context(|| {
            format!("a NonZeroExitCode Status without an ExitCode cause: {status:?}")
        })?;
    cause
        .parse()
        .with_context(|| format!("the ExitCode cause {cause:?} is not a number"))
}

#[then(
    expr = "running the shell command {string} in the Pod {string} prints {string} and exits with code {int}"
)]
async fn exec_prints(
    world: &mut KubeWorld,
    script: String,
    pod: String,
    expected: String,
    code: i32,
) -> Outcome {
    let (script, pod, expected) = (
        world.expand(&script),
        world.expand(&pod),
        world.expand(&expected),
    );
    let pods: Api<Pod> = Api::namespaced(world.client()?, &world.namespace);
    let mut attached = pods
        .exec(
            &pod,
            ["sh", "-c", script.as_str()],
            &AttachParams::default().stdout(true).stderr(true),
        )
        .await
        .with_context(|| format!("exec into the Pod {pod:?}"))?;
    let mut stdout = attached.stdout().context("the exec has no stdout")?;
    let status = attached.take_status().context("the exec has no status")?;
    let mut out = String::new();
    stdout
        .read_to_string(&mut out)
        .await
        .context("reading the exec's stdout")?;
    let status = status.await.context("the exec ended without a Status")?;
    let got = exit_code(&status)?;
    if out.trim_end() != expected || got != code {
        fail!(
            "{script:?} in the Pod {pod:?} printed {out:?} and exited with {got}; expected {expected:?} and {code}"
        );
    }
    Ok(())
}

/// Reads `from` until what came contains `needle` (false when it ends first).
async fn read_until(
    from: &mut (impl tokio::io::AsyncRead + Unpin),
    needle: &str,
    seen: &mut Vec<u8>,
) -> anyhow::Result<bool> {
    let mut buf = [0u8; 1024];
    loop {
        if String::from_utf8_lossy(seen).contains(needle) {
            return Ok(true);
        }
        let n = from.read(&mut buf).await.context("reading the terminal")?;
        if n == 0 {
            return Ok(false);
        }
        seen.extend_from_slice(&buf[..n]);
    }
}

#[then(
    expr = "attaching to the Pod {string} with a terminal, typing {string} shows {string}, and typing {string} ends the session with Success"
)]
async fn attach_types(
    world: &mut KubeWorld,
    pod: String,
    line: String,
    expected: String,
    last: String,
) -> Outcome {
    let (pod, line, expected, last) = (
        world.expand(&pod),
        world.expand(&line),
        world.expand(&expected),
        world.expand(&last),
    );
    let pods: Api<Pod> = Api::namespaced(world.client()?, &world.namespace);
    let mut attached = pods
        .attach(&pod, &AttachParams::interactive_tty())
        .await
        .with_context(|| format!("attach to the Pod {pod:?}"))?;
    let mut stdin = attached.stdin().context("the attach has no stdin")?;
    let mut stdout = attached.stdout().context("the attach has no stdout")?;
    let status = attached.take_status().context("the attach has no status")?;
    let mut seen = Vec::new();
    let timeout = std::time::Duration::from_secs(30);
    stdin
        .write_all(format!("{line}\n").as_bytes())
        .await
        .context("typing into the terminal")?;
    let shown = tokio::time::timeout(timeout, read_until(&mut stdout, &expected, &mut seen)).await;
    if !matches!(shown, Ok(Ok(true))) {
        fail!(
            "typing {line:?} into the Pod {pod:?}'s terminal showed {:?}, without {expected:?}",
            String::from_utf8_lossy(&seen)
        );
    }
    stdin
        .write_all(format!("{last}\n").as_bytes())
        .await
        .context("typing into the terminal")?;
    let status = tokio::time::timeout(timeout, status)
        .await
        .with_context(|| format!("the session did not end after {last:?}"))?
        .context("the attach ended without a Status")?;
    if status.status.as_deref() != Some("Success") {
        fail!("the attach to {pod:?} ended with {status:?}");
    }
    Ok(())
}

#[then(
    expr = "port-forwarding to port {int} of the Pod {string} answers GET {string} with {string}"
)]
async fn port_forward_answers(
    world: &mut KubeWorld,
    port: u16,
    pod: String,
    path: String,
    expected: String,
) -> Outcome {
    let (pod, expected) = (world.expand(&pod), world.expand(&expected));
    let pods: Api<Pod> = Api::namespaced(world.client()?, &world.namespace);
    let mut forwarder = pods
        .portforward(&pod, &[port])
        .await
        .with_context(|| format!("port-forward to the Pod {pod:?}"))?;
    let mut stream = forwarder
        .take_stream(port)
        .context("the port-forward has no stream for the port")?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .context("sending the request")?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .context("reading the answer")?;
    let answer = String::from_utf8_lossy(&answer);
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    if !answer.starts_with("HTTP/1.1 200") || body.trim() != expected {
        fail!("GET {path} through the port-forward to {pod:?}:{port} answered:\n{answer}");
    }
    drop(stream);
    forwarder.abort();
    Ok(())
}
