//! Networking steps: pod-to-pod and Service traffic, driven from inside a client pod.
//!
//! Entry points: the step functions. Traffic is sent the way upstream's e2e tests send it:
//! the client pod runs `agnhost netexec`, and its `/dial` endpoint (reached through the API
//! server's pod proxy) connects to the target and reports the hostnames that answered.

use anyhow::{Context as _, anyhow};
use cucumber::{given, then};
use serde::Deserialize;

use super::{Outcome, field};
use crate::targets::Fault;
use crate::world::KubeWorld;

/// The port `agnhost netexec` listens on in the suite's client pods.
pub const NETEXEC_PORT: u16 = 8080;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DialResult {
    #[serde(default)]
    pub responses: Vec<String>,
    #[serde(default)]
    pub errors: Vec<String>,
}

/// Asks `client`'s netexec to send `tries` HTTP "hostname" requests to `host:port`.
async fn dial(
    world: &KubeWorld,
    client: &str,
    host: &str,
    port: u16,
    tries: u32,
) -> anyhow::Result<DialResult> {
    dial_for(world, client, "hostname", host, port, tries).await
}

/// Asks `client`'s netexec to send `tries` HTTP requests for netexec's `request` path
/// (`hostname`, `clientip`) to `host:port`.
async fn dial_for(
    world: &KubeWorld,
    client: &str,
    request: &str,
    host: &str,
    port: u16,
    tries: u32,
) -> anyhow::Result<DialResult> {
    let path = format!(
        "/api/v1/namespaces/{}/pods/{}:{NETEXEC_PORT}/proxy/dial?request={request}&protocol=http&host={host}&port={port}&tries={tries}",
        world.namespace,
        world.expand(client)
    );
    let req = http::Request::get(&path).body(Vec::new())?;
    let text = world.client()?.request_text(req).await.with_context(|| {
        format!("asking Pod {client:?} to dial {host}:{port} through the API server's pod proxy")
    })?;
    serde_json::from_str(&text).with_context(|| format!("netexec /dial answered {text:?}"))
}

/// Dials like [`dial`] until `done` holds for the result or `world.timings.expect`
/// passes, and returns the last result. A Pod is Ready once its container has started,
/// which can be a moment before its server listens, and kube-proxy programs a new
/// Service shortly after it appears; traffic cannot be watched, so, like upstream's e2e
/// reachability checks (`DialFromContainer`), the check polls.
pub(crate) async fn dial_until(
    world: &KubeWorld,
    client: &str,
    host: &str,
    port: u16,
    tries: u32,
    done: impl Fn(&DialResult) -> bool,
) -> anyhow::Result<DialResult> {
    let deadline = tokio::time::Instant::now() + world.timings.expect;
    loop {
        let result = dial(world, client, host, port, tries).await;
        let finished = matches!(&result, Ok(r) if done(r));
        if finished || tokio::time::Instant::now() >= deadline {
            return result;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

pub(crate) async fn pod_ip(world: &KubeWorld, pod: &str) -> anyhow::Result<String> {
    let p = world.get("Pod", pod).await?;
    field(&p, "status.podIP")
        .filter(|ip| !ip.is_empty())
        .ok_or_else(|| anyhow!("Pod {pod:?} has no IP yet"))
}

pub(crate) async fn cluster_ip(world: &KubeWorld, service: &str) -> anyhow::Result<String> {
    let s = world.get("Service", service).await?;
    field(&s, "spec.clusterIP")
        .filter(|ip| !ip.is_empty() && ip != "None")
        .ok_or_else(|| anyhow!("Service {service:?} has no cluster IP"))
}

#[then(expr = "the Pod {string} reaches the Pod {string} on port {int}")]
async fn pod_to_pod(world: &mut KubeWorld, client: String, target: String, port: u16) -> Outcome {
    let ip = pod_ip(world, &target).await?;
    let target = world.expand(&target);
    let r = dial_until(world, &client, &ip, port, 1, |r| {
        r.responses.contains(&target)
    })
    .await?;
    if !r.responses.contains(&target) {
        fail!(
            "Pod {client:?} dialled {target:?} at {ip}:{port}: responses {:?}, errors {:?}",
            r.responses,
            r.errors
        );
    }
    Ok(())
}

/// No NAT between Pods: the target sees the client's own Pod IP as the source
/// (netexec's `/clientip` answers `ip:port` of the connection it got).
#[then(expr = "the Pod {string} sees requests from the Pod {string} come from its own IP")]
async fn no_nat(world: &mut KubeWorld, target: String, client: String) -> Outcome {
    let (target_ip, client_ip) = (pod_ip(world, &target).await?, pod_ip(world, &client).await?);
    let deadline = tokio::time::Instant::now() + world.timings.expect;
    let r = loop {
        let r = dial_for(world, &client, "clientip", &target_ip, NETEXEC_PORT, 1).await;
        if matches!(&r, Ok(d) if !d.responses.is_empty()) || tokio::time::Instant::now() >= deadline
        {
            break r?;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    let seen: Vec<&str> = r
        .responses
        .iter()
        .map(|a| a.rsplit_once(':').map_or(a.as_str(), |(ip, _)| ip))
        .collect();
    if seen.is_empty() || seen.iter().any(|ip| *ip != client_ip) {
        fail!(
            "Pod {target:?} saw requests from Pod {client:?} ({client_ip}) come from {seen:?} (errors {:?}): the traffic was NATed",
            r.errors
        );
    }
    Ok(())
}

#[then(expr = "the Pod {string} reaches itself on localhost port {int}")]
async fn localhost(world: &mut KubeWorld, pod: String, port: u16) -> Outcome {
    let r = dial_until(world, &pod, "localhost", port, 1, |r| {
        !r.responses.is_empty()
    })
    .await?;
    if r.responses.is_empty() {
        fail!(
            "Pod {pod:?} could not reach localhost:{port} (the other container of its sandbox): {:?}",
            r.errors
        );
    }
    Ok(())
}

#[then(
    expr = "{int} requests from the Pod {string} to the Service {string} on port {int} reach at least {int} different Pods"
)]
async fn balanced(
    world: &mut KubeWorld,
    tries: u32,
    client: String,
    service: String,
    port: u16,
    spread: usize,
) -> Outcome {
    let ip = cluster_ip(world, &service).await?;
    let hosts = |r: &DialResult| {
        let mut hosts = r.responses.clone();
        hosts.sort();
        hosts.dedup();
        hosts
    };
    let r = dial_until(world, &client, &ip, port, tries, |r| {
        hosts(r).len() >= spread
    })
    .await?;
    if hosts(&r).len() < spread {
        fail!(
            "{tries} requests to Service {service:?} ({ip}:{port}) reached {:?}, expected at least {spread} different Pods (errors {:?})",
            hosts(&r),
            r.errors
        );
    }
    Ok(())
}

#[then(expr = "the Pod {string} reaches itself on its own IP at port {int}")]
async fn own_ip(world: &mut KubeWorld, pod: String, port: u16) -> Outcome {
    let ip = pod_ip(world, &pod).await?;
    let r = dial_until(world, &pod, &ip, port, 1, |r| !r.responses.is_empty()).await?;
    if r.responses.is_empty() {
        fail!(
            "Pod {pod:?} could not reach its own IP {ip}:{port} (its other container): {:?}",
            r.errors
        );
    }
    Ok(())
}

#[then(expr = "requests from the Pod {string} to the Service {string} on port {int} are refused")]
async fn refused(world: &mut KubeWorld, client: String, service: String, port: u16) -> Outcome {
    let ip = cluster_ip(world, &service).await?;
    // Retried only while the client itself cannot be reached: any answer is the verdict.
    let r = dial_until(world, &client, &ip, port, 3, |_| true).await?;
    if !r.responses.is_empty() || r.errors.is_empty() {
        fail!(
            "Service {service:?} without endpoints answered: responses {:?}, errors {:?}",
            r.responses,
            r.errors
        );
    }
    Ok(())
}

#[then(expr = "the Pods {string} and {string} run on different nodes")]
async fn different_nodes(world: &mut KubeWorld, a: String, b: String) -> Outcome {
    let na = field(&world.get("Pod", &a).await?, "spec.nodeName");
    let nb = field(&world.get("Pod", &b).await?, "spec.nodeName");
    if na.is_none() || na == nb {
        fail!("Pods {a:?} and {b:?} run on {na:?} and {nb:?}");
    }
    Ok(())
}

#[given(expr = "kube-proxy runs in {string} mode")]
async fn proxy_mode(world: &mut KubeWorld, mode: String) -> Outcome {
    world.inject(Fault::ProxyMode { mode }).await?;
    Ok(())
}
