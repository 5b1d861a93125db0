//! Steps checking that a Service's cluster IP is virtual: nothing answers on it but the
//! ports the Service declares (chapter 11.5: it cannot be pinged).
//!
//! Entry points: the step functions. Pings run the way upstream's e2e tests run them,
//! from a throw-away busybox Pod whose exit code says whether a reply came.

use anyhow::Context as _;
use cucumber::then;

use super::common::create_all;
use super::networking::{cluster_ip, dial_until, pod_ip};
use super::{Outcome, field, name_of};
use crate::world::KubeWorld;

/// How `ping` in a Pod ended.
struct Ping {
    answered: bool,
    detail: String,
}

/// Pings `ip` once from a new busybox Pod `ping-<label>` and waits for it to finish.
async fn ping_from_a_pod(world: &mut KubeWorld, ip: &str, label: &str) -> anyhow::Result<Ping> {
    let name = format!("ping-{label}");
    create_all(
        world,
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  restartPolicy: Never\n  containers:\n  - name: ping\n    image: busybox:1.36\n    command: [ping, -c, '1', -W, '2', '{ip}']\n"
        ),
    )
    .await?;
    let what = format!("the ping Pod {name:?} to finish");
    let pod = world
        .wait_for("Pod", "", &what, world.timings.chain, |pods| {
            pods.iter()
                .find(|p| name_of(p) == name)
                .filter(|p| {
                    matches!(
                        field(p, "status.phase").as_deref(),
                        Some("Succeeded" | "Failed")
                    )
                })
                .cloned()
        })
        .await?;
    let detail = serde_json::to_string(
        &pod.data
            .pointer("/status/containerStatuses/0/state/terminated")
            .cloned()
            .unwrap_or_default(),
    )
    .context("describing the ping container")?;
    Ok(Ping {
        answered: field(&pod, "status.phase").as_deref() == Some("Succeeded"),
        detail,
    })
}

#[then(expr = "a ping from a Pod to the Pod {string} is answered")]
async fn ping_pod(world: &mut KubeWorld, pod: String) -> Outcome {
    let ip = pod_ip(world, &pod).await?;
    let ping = ping_from_a_pod(world, &ip, "pod").await?;
    if !ping.answered {
        fail!(
            "a ping to Pod {pod:?} ({ip}) got no reply, so ping itself does not work here (the reference's busybox runs this machine's `ping`): {}",
            ping.detail
        );
    }
    Ok(())
}

#[then(expr = "a ping from a Pod to the cluster IP of the Service {string} is not answered")]
async fn ping_service(world: &mut KubeWorld, service: String) -> Outcome {
    let ip = cluster_ip(world, &service).await?;
    let ping = ping_from_a_pod(world, &ip, "service").await?;
    if ping.answered {
        fail!(
            "a ping to the cluster IP of Service {service:?} ({ip}) was answered; a cluster IP is virtual: {}",
            ping.detail
        );
    }
    Ok(())
}

#[then(expr = "requests from the Pod {string} to the Service {string} on port {int} get no reply")]
async fn no_reply(world: &mut KubeWorld, client: String, service: String, port: u16) -> Outcome {
    let ip = cluster_ip(world, &service).await?;
    // Retried only while the client itself cannot be reached: any answer is the verdict.
    let r = dial_until(world, &client, &ip, port, 1, |_| true).await?;
    // A refusal is a reply too: a TCP reset from whoever owns the address.
    let refused = r.errors.iter().any(|e| e.contains("connection refused"));
    if !r.responses.is_empty() || r.errors.is_empty() || refused {
        fail!(
            "{ip}:{port}, a port Service {service:?} does not declare, answered: responses {:?}, errors {:?}",
            r.responses,
            r.errors
        );
    }
    Ok(())
}
