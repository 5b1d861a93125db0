//! Watch latency with many watchers: from a write's answer to its event's arrival at each
//! watcher. Upstream defines the SLI (watch_latency.md: from the write being stored to the
//! event being ready for every watcher) but no SLO yet.
//!
//! Entry points: the step, and [`latency`] (pure). Every watcher is its own HTTP watch
//! stream, opened (the server has answered it) before the first write, so connection set-up
//! is not measured. An event may arrive before the writer has read its own answer: that
//! latency counts as zero.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use cucumber::gherkin::Step;
use cucumber::when;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, ObjectMeta, PostParams, WatchEvent, WatchParams};
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use super::{millis, record, scaled};
use crate::perf::Measurement;
use crate::steps::Outcome;
use crate::world::KubeWorld;

/// The measurement's name.
pub const NAME: &str = "watch latency";
/// The label on the written ConfigMaps, and its value.
const LABEL: (&str, &str) = ("kubeproof.io/perf", "watch");

/// Arrivals by (watcher, object name).
type Arrivals = Arc<(Mutex<BTreeMap<(usize, String), Instant>>, Notify)>;

/// The latency of one arrival after the write's answer, zero when it came first.
pub fn latency(answered: Instant, arrived: Instant) -> f64 {
    millis(arrived.saturating_duration_since(answered))
}

/// One watcher: opens its stream, says so on `ready`, then notes every ADDED event.
async fn watcher(
    api: Api<ConfigMap>,
    rv: String,
    me: usize,
    arrivals: Arrivals,
    ready: oneshot::Sender<anyhow::Result<()>>,
) {
    let params = WatchParams::default()
        .labels(&format!("{}={}", LABEL.0, LABEL.1))
        .timeout(290);
    let stream = match api.watch(&params, &rv).await {
        Ok(s) => {
            let _ = ready.send(Ok(()));
            s
        }
        Err(e) => {
            let _ = ready.send(Err(anyhow::anyhow!("watcher {me} could not watch: {e}")));
            return;
        }
    };
    let mut stream = stream.boxed();
    while let Ok(Some(ev)) = stream.try_next().await {
        if let WatchEvent::Added(cm) = ev {
            let now = Instant::now();
            if let Ok(mut a) = arrivals.0.lock() {
                a.entry((me, cm.metadata.name.unwrap_or_default()))
                    .or_insert(now);
            }
            arrivals.1.notify_waiters();
        }
    }
}

#[when(expr = "I write {int} ConfigMaps while {int} watchers watch them")]
async fn watched_writes(
    world: &mut KubeWorld,
    writes: usize,
    watchers: usize,
    step: &Step,
) -> Outcome {
    let (writes, watchers) = (scaled(world, writes)?, scaled(world, watchers)?);
    let api: Api<ConfigMap> = Api::namespaced(world.client()?, &world.namespace);
    let rv = api
        .list(&ListParams::default().limit(1))
        .await
        .context("listing ConfigMaps before the watches")?
        .metadata
        .resource_version
        .unwrap_or_default();
    let arrivals: Arrivals = Arc::default();
    let mut ready = Vec::new();
    for me in 0..watchers {
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(watcher(api.clone(), rv.clone(), me, arrivals.clone(), tx));
        world.tasks.insert(format!("perf-watcher-{me}"), task);
        ready.push(rx);
    }
    for rx in ready {
        rx.await.context("a watcher ended before it was ready")??;
    }
    let mut answered = Vec::new();
    for i in 0..writes {
        let name = format!("watched-{i}");
        let cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some([(LABEL.0.to_string(), LABEL.1.to_string())].into()),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        };
        api.create(&PostParams::default(), &cm)
            .await
            .with_context(|| format!("writing the ConfigMap {name:?}"))?;
        answered.push((name, Instant::now()));
    }
    let expected = writes * watchers;
    let deadline = world.timings.expect;
    let all = async {
        loop {
            let arrived = arrivals.1.notified();
            if arrivals.0.lock().map(|a| a.len()).unwrap_or(0) >= expected {
                return;
            }
            arrived.await;
        }
    };
    let timed_out = tokio::time::timeout(deadline, all).await.is_err();
    for me in 0..watchers {
        if let Some(t) = world.tasks.remove(&format!("perf-watcher-{me}")) {
            t.abort();
        }
    }
    let seen = arrivals.0.lock().map(|a| a.clone()).unwrap_or_default();
    if timed_out {
        fail!(
            "the watchers saw {} of the {expected} events ({watchers} watchers × {writes} writes) within {deadline:?}",
            seen.len()
        );
    }
    let values: Vec<f64> = (0..watchers)
        .flat_map(|me| {
            answered.iter().filter_map({
                let seen = &seen;
                move |(name, at)| seen.get(&(me, name.clone())).map(|got| latency(*at, *got))
            })
        })
        .collect();
    record(
        world,
        Measurement::latency(NAME, values).at_line(step.position.line),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_event_before_the_answer_counts_as_zero() {
        let t = Instant::now();
        assert_eq!(latency(t + Duration::from_millis(5), t), 0.0);
        assert_eq!(latency(t, t + Duration::from_millis(7)), 7.0);
    }
}
