//! What the performance steps share about Pods: a watch that notes, for each Pod by name,
//! when its create was sent, when it was seen bound and when it was seen Running; creating
//! Pods from a template at a rate; waiting until every Pod reached a point.
//!
//! Entry points: [`start_watch`], [`create_pods`], [`wait_all`], [`pod_template`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use chrono::{DateTime, Utc};
use cucumber::gherkin::Step;
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DynamicObject, ListParams, PostParams, WatchEvent, WatchParams};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::steps::common::parse_manifests;
use crate::steps::{docstring, field, name_of};
use crate::world::KubeWorld;

/// What the harness saw of one Pod.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// When its create was sent.
    pub created: Option<Instant>,
    /// When the watch first showed it bound.
    pub scheduled: Option<Instant>,
    /// When the watch showed it Running, and the wall clock then.
    pub watched: Option<(Instant, DateTime<Utc>)>,
    /// The latest container start the kubelet reported.
    pub started: Option<DateTime<Utc>>,
}

/// The latest `startedAt` of the Pod's running containers.
fn last_start(pod: &DynamicObject) -> Option<DateTime<Utc>> {
    pod.data
        .pointer("/status/containerStatuses")?
        .as_array()?
        .iter()
        .filter_map(|c| c.pointer("/state/running/startedAt")?.as_str())
        .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .max()
}

/// What the watch saw of each Pod by name, and a signal on every change.
pub type Table = Arc<(Mutex<BTreeMap<String, Seen>>, Notify)>;

fn note(table: &Table, pod: &DynamicObject) {
    let now = Instant::now();
    if let Ok(mut seen) = table.0.lock() {
        let s = seen.entry(name_of(pod)).or_default();
        if s.scheduled.is_none() && field(pod, "spec.nodeName").is_some_and(|n| !n.is_empty()) {
            s.scheduled = Some(now);
        }
        if s.watched.is_none() && field(pod, "status.phase").as_deref() == Some("Running") {
            s.watched = Some((now, Utc::now()));
            s.started = last_start(pod);
        }
    }
    table.1.notify_waiters();
}

/// Watches the Pods of `api` from `rv` on, noting each into `table`, until aborted.
pub async fn watch(api: Api<DynamicObject>, mut rv: String, table: Table) {
    loop {
        let Ok(stream) = api.watch(&WatchParams::default().timeout(290), &rv).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let mut stream = stream.boxed();
        while let Ok(Some(ev)) = stream.try_next().await {
            match ev {
                WatchEvent::Added(p) | WatchEvent::Modified(p) => {
                    rv = p.metadata.resource_version.clone().unwrap_or(rv);
                    note(&table, &p);
                }
                WatchEvent::Deleted(p) => rv = p.metadata.resource_version.unwrap_or(rv),
                WatchEvent::Bookmark(b) => rv = b.metadata.resource_version,
                WatchEvent::Error(_) => break,
            }
        }
        // Closed or broken: resume from the last revision seen, without spinning.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts watching the scenario's Pods (from the current revision on) as the scenario task
/// `task`; returns what the watch notes.
pub async fn start_watch(world: &mut KubeWorld, task: &str) -> anyhow::Result<Table> {
    let (_, api) = world.api("Pod")?;
    let rv = api
        .list(&ListParams::default().limit(1))
        .await
        .context("listing Pods before the first create")?
        .metadata
        .resource_version
        .unwrap_or_default();
    let table: Table = Arc::default();
    let watcher = tokio::spawn(watch(api, rv, table.clone()));
    if let Some(old) = world.tasks.insert(task.into(), watcher) {
        old.abort();
    }
    Ok(table)
}

/// Waits until `done` holds for every Pod of `names`; on timeout, returns those for which
/// it does not.
pub async fn wait_all(
    table: &Table,
    names: &[String],
    deadline: Duration,
    done: impl Fn(&Seen) -> bool,
) -> Result<(), Vec<String>> {
    let pending = || -> Vec<String> {
        let seen = table.0.lock().map(|s| s.clone()).unwrap_or_default();
        names
            .iter()
            .filter(|n| !seen.get(*n).is_some_and(&done))
            .cloned()
            .collect()
    };
    let all = async {
        loop {
            let arrived = table.1.notified();
            if pending().is_empty() {
                return;
            }
            arrived.await;
        }
    };
    match tokio::time::timeout(deadline, all).await {
        Ok(()) => Ok(()),
        Err(_) => Err(pending()),
    }
}

/// Creates a Pod named after each of `names` from `template`, `rate` per second (each
/// create in its own task, so a slow answer does not hold back the next), noting when
/// each create was sent.
pub async fn create_pods(
    api: &Api<DynamicObject>,
    template: &DynamicObject,
    names: &[String],
    table: &Table,
    rate: f64,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut creates = Vec::new();
    for (i, name) in names.iter().enumerate() {
        tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / rate)).await;
        let mut pod = template.clone();
        pod.metadata.name = Some(name.clone());
        if let Ok(mut seen) = table.0.lock() {
            seen.entry(name.clone()).or_default().created = Some(Instant::now());
        }
        let api = api.clone();
        creates.push(tokio::spawn(async move {
            api.create(&PostParams::default(), &pod).await
        }));
    }
    for (create, name) in creates.into_iter().zip(names) {
        create
            .await
            .map_err(|e| anyhow!("creating Pod {name:?}: {e}"))?
            .with_context(|| format!("creating Pod {name:?}"))?;
    }
    Ok(())
}

/// The single Pod manifest of the step's docstring, and the name prefix it gives.
pub fn pod_template(
    world: &KubeWorld,
    step: &Step,
    default_prefix: &str,
) -> anyhow::Result<(DynamicObject, String)> {
    let template = match parse_manifests(world, docstring(step)?)?.as_slice() {
        [one] if one.types.as_ref().is_some_and(|t| t.kind == "Pod") => one.clone(),
        _ => anyhow::bail!("the step needs exactly one Pod manifest as its template"),
    };
    let prefix = template
        .metadata
        .name
        .clone()
        .unwrap_or_else(|| default_prefix.into());
    Ok((template, prefix))
}
