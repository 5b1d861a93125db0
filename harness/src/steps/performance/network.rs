//! Network programming latency: from creating a Service to the first request through its
//! cluster IP that a backend answers. Upstream's SLI (network_programming_latency.md)
//! times the proxy's programming from inside; from outside, traffic is the only witness.
//!
//! Entry points: the step, [`first_answer`], and what the scale-up case (`scale_up.rs`)
//! shares: [`answered`], [`cluster_address`], [`dial_path`]. Traffic is sent as the
//! networking steps send it: a client Pod's `agnhost netexec /dial`, reached through the
//! API server's pod proxy. A dial to an address nobody programmed yet may hang until netexec's own timeout,
//! so a new dial starts every [`EVERY`] whatever the earlier ones do, and the latency is the
//! start of the first dial that got an answer: the figure is as fine as [`EVERY`].

use std::time::Duration;

use anyhow::{Context as _, anyhow};
use cucumber::gherkin::Step;
use cucumber::when;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use kube::api::{DynamicObject, PostParams};
use tokio::time::Instant;

use super::{millis, record, scaled};
use crate::perf::Measurement;
use crate::steps::common::parse_manifests;
use crate::steps::networking::{DialResult, NETEXEC_PORT};
use crate::steps::{Outcome, docstring, field};
use crate::world::KubeWorld;

/// The measurement's name.
pub const NAME: &str = "network programming latency";
/// How often a new dial starts.
pub const EVERY: Duration = Duration::from_millis(100);

/// Whether one dial from the client Pod (pod proxy `path`) got an answer from a backend.
pub async fn answered(client: kube::Client, path: String) -> bool {
    let Ok(req) = http::Request::get(&path).body(Vec::new()) else {
        return false;
    };
    match client.request_text(req).await {
        Ok(text) => {
            serde_json::from_str::<DialResult>(&text).is_ok_and(|r| !r.responses.is_empty())
        }
        Err(_) => false,
    }
}

/// A Service's cluster IP and first port.
pub fn cluster_address(svc: &DynamicObject) -> anyhow::Result<(String, String)> {
    let name = svc.metadata.name.clone().unwrap_or_default();
    let ip = field(svc, "spec.clusterIP")
        .filter(|ip| !ip.is_empty() && ip != "None")
        .ok_or_else(|| anyhow!("the Service {name:?} has no cluster IP"))?;
    let port = field(svc, "spec.ports.0.port")
        .ok_or_else(|| anyhow!("the Service {name:?} has no port"))?;
    Ok((ip, port))
}

/// The pod proxy path through which the client Pod `pod` dials `ip:port` once.
pub fn dial_path(world: &KubeWorld, pod: &str, ip: &str, port: &str) -> String {
    format!(
        "/api/v1/namespaces/{}/pods/{pod}:{NETEXEC_PORT}/proxy/dial?request=hostname&protocol=http&host={ip}&port={port}&tries=1",
        world.namespace
    )
}

/// Starts a dial every [`EVERY`] until one is answered; returns when the first answered
/// dial started, or `None` at the deadline.
pub async fn first_answer(
    client: &kube::Client,
    path: &str,
    deadline: Duration,
) -> Option<Instant> {
    let end = Instant::now() + deadline;
    let mut in_flight = FuturesUnordered::new();
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let started = Instant::now();
                if started >= end {
                    return None;
                }
                let dial = answered(client.clone(), path.to_string());
                in_flight.push(async move { (started, dial.await) });
            }
            Some((started, ok)) = in_flight.next(), if !in_flight.is_empty() => {
                if ok {
                    return Some(started);
                }
            }
        }
    }
}

#[when(
    expr = "I create {int} Services like this one and measure until the Pod {string} reaches each through its cluster IP:"
)]
async fn services(world: &mut KubeWorld, stated: usize, pod: String, step: &Step) -> Outcome {
    let n = scaled(world, stated)?;
    let template = match parse_manifests(world, docstring(step)?)?.as_slice() {
        [one] if one.types.as_ref().is_some_and(|t| t.kind == "Service") => one.clone(),
        _ => fail!("the step needs exactly one Service manifest as its template"),
    };
    let prefix = template
        .metadata
        .name
        .clone()
        .unwrap_or_else(|| "np".into());
    let (_, api) = world.api("Service")?;
    let client = world.client()?;
    let pod = world.expand(&pod);
    let mut values = Vec::new();
    for i in 0..n {
        let name = format!("{prefix}-{i}");
        let mut svc: DynamicObject = template.clone();
        svc.metadata.name = Some(name.clone());
        let created_at = Instant::now();
        let created = api
            .create(&PostParams::default(), &svc)
            .await
            .with_context(|| format!("creating the Service {name:?}"))?;
        let (ip, port) = cluster_address(&created)?;
        let path = dial_path(world, &pod, &ip, &port);
        let deadline = world.timings.expect;
        let Some(answered_at) = first_answer(&client, &path, deadline).await else {
            fail!(
                "no request from the Pod {pod:?} to the Service {name:?} ({ip}:{port}) was answered within {deadline:?}"
            );
        };
        values.push(millis(answered_at.saturating_duration_since(created_at)));
    }
    record(
        world,
        Measurement::latency(NAME, values).at_line(step.position.line),
    )?;
    Ok(())
}
