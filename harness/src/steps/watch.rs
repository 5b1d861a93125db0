//! Watch steps: open named watches and assert what they deliver — order, resumption from a
//! revision, 410 Expired after compaction, label-selector enter/leave, bookmarks.
//!
//! Entry points: [`Capture`] (a running watch and what it received), the step functions.

use std::sync::{Arc, Mutex};

use anyhow::anyhow;
use cucumber::gherkin::Step;
use cucumber::{then, when};
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DynamicObject, ListParams, WatchEvent, WatchParams};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::{Outcome, table_rows};
use crate::world::KubeWorld;

/// One thing a watch delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// ADDED / MODIFIED / DELETED with the object's name.
    Change { event: String, name: String },
    /// A BOOKMARK; whether it marks the end of the initial events.
    Bookmark { initial_events_end: bool },
    /// An ERROR event (or an error opening the watch) with its Status code and reason.
    Error {
        code: u16,
        reason: String,
        message: String,
    },
}

/// A watch running in the background, collecting what it receives.
#[derive(Debug)]
pub struct Capture {
    seen: Arc<Mutex<Vec<Seen>>>,
    arrived: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Capture {
    /// Starts watching `api` with `params` from `rv`.
    pub fn start(api: Api<DynamicObject>, params: WatchParams, rv: String) -> Self {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let arrived = Arc::new(Notify::new());
        let (sink, bell) = (seen.clone(), arrived.clone());
        let push = move |s: Seen| {
            if let Ok(mut v) = sink.lock() {
                v.push(s);
            }
            bell.notify_waiters();
        };
        let task = tokio::spawn(async move {
            let stream = match api.watch(&params, &rv).await {
                Ok(s) => s,
                Err(e) => {
                    push(error_of(&e));
                    return;
                }
            };
            let mut stream = stream.boxed();
            loop {
                match stream.try_next().await {
                    Ok(Some(ev)) => push(match ev {
                        WatchEvent::Added(o) => change("ADDED", &o),
                        WatchEvent::Modified(o) => change("MODIFIED", &o),
                        WatchEvent::Deleted(o) => change("DELETED", &o),
                        WatchEvent::Bookmark(b) => Seen::Bookmark {
                            initial_events_end: b
                                .metadata
                                .annotations
                                .get("k8s.io/initial-events-end")
                                .is_some_and(|v| v == "true"),
                        },
                        WatchEvent::Error(s) => Seen::Error {
                            code: s.code,
                            reason: s.reason.clone(),
                            message: s.message.clone(),
                        },
                    }),
                    Ok(None) => break,
                    Err(e) => {
                        push(error_of(&e));
                        break;
                    }
                }
            }
        });
        Self {
            seen,
            arrived,
            task,
        }
    }

    /// Everything received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Stops the watch.
    pub fn stop(self) {
        self.task.abort();
    }

    /// Re-checks what was received each time something arrives, until `check` holds or
    /// `deadline` passes.
    pub async fn wait<T>(
        &self,
        deadline: std::time::Duration,
        mut check: impl FnMut(&[Seen]) -> Option<T>,
    ) -> Result<T, Vec<Seen>> {
        let end = tokio::time::Instant::now() + deadline;
        loop {
            // Register interest before reading, so an arrival in between is not missed.
            let arrival = self.arrived.notified();
            let seen = self.seen();
            if let Some(t) = check(&seen) {
                return Ok(t);
            }
            if tokio::time::timeout_at(end, arrival).await.is_err() {
                return Err(self.seen());
            }
        }
    }
}

fn change(event: &str, o: &DynamicObject) -> Seen {
    Seen::Change {
        event: event.into(),
        name: o.metadata.name.clone().unwrap_or_default(),
    }
}

fn error_of(e: &kube::Error) -> Seen {
    match e {
        kube::Error::Api(s) => Seen::Error {
            code: s.code,
            reason: s.reason.clone(),
            message: s.message.clone(),
        },
        other => Seen::Error {
            code: 0,
            reason: "ClientError".into(),
            message: other.to_string(),
        },
    }
}

async fn open(
    world: &mut KubeWorld,
    kind: &str,
    params: WatchParams,
    rv: Option<String>,
    alias: String,
) -> Outcome {
    let (_, api) = world.api(kind)?;
    let rv = match rv {
        Some(rv) => rv,
        None => {
            let mut lp = ListParams::default();
            if let Some(l) = &params.label_selector {
                lp = lp.labels(l);
            }
            api.list(&lp.limit(1))
                .await?
                .metadata
                .resource_version
                .unwrap_or_default()
        }
    };
    let capture = Capture::start(api, params, rv);
    if let Some(old) = world.watches.insert(alias, capture) {
        old.stop();
    }
    Ok(())
}

#[when(expr = "I start watching {word} as {string}")]
async fn watch_all(world: &mut KubeWorld, kind: String, alias: String) -> Outcome {
    open(world, &kind, WatchParams::default(), None, alias).await
}

#[when(expr = "I start watching {word} labelled {string} as {string}")]
async fn watch_selected(
    world: &mut KubeWorld,
    kind: String,
    selector: String,
    alias: String,
) -> Outcome {
    let params = WatchParams::default().labels(&world.expand(&selector));
    open(world, &kind, params, None, alias).await
}

#[when(expr = "I start watching {word} from revision {string} as {string}")]
async fn watch_from(world: &mut KubeWorld, kind: String, var: String, alias: String) -> Outcome {
    let rv = world
        .vars
        .get(&var)
        .cloned()
        .ok_or_else(|| anyhow!("no revision noted as {var:?}"))?;
    open(world, &kind, WatchParams::default(), Some(rv), alias).await
}

#[when(expr = "I start watching {word} with initial events and bookmarks as {string}")]
async fn watch_streaming(world: &mut KubeWorld, kind: String, alias: String) -> Outcome {
    open(
        world,
        &kind,
        WatchParams::streaming_lists(),
        Some(String::new()),
        alias,
    )
    .await
}

fn capture<'a>(world: &'a KubeWorld, alias: &str) -> anyhow::Result<&'a Capture> {
    world
        .watches
        .get(alias)
        .ok_or_else(|| anyhow!("no watch named {alias:?}"))
}

fn changes(seen: &[Seen]) -> Vec<(String, String)> {
    seen.iter()
        .filter_map(|s| match s {
            Seen::Change { event, name } => Some((event.clone(), name.clone())),
            _ => None,
        })
        .collect()
}

#[then(expr = "watch {string} receives, in order:")]
async fn receives(world: &mut KubeWorld, alias: String, step: &Step) -> Outcome {
    let want: Vec<(String, String)> = table_rows(step)?
        .into_iter()
        .map(|r| {
            (
                r.first().cloned().unwrap_or_default(),
                world.expand(r.get(1).map(String::as_str).unwrap_or("")),
            )
        })
        .collect();
    let c = capture(world, &alias)?;
    // Only the objects the table names: controllers add their own to a fresh namespace
    // (the root CA publisher's kube-root-ca.crt) whenever they get to it.
    let named = |got: Vec<(String, String)>| -> Vec<(String, String)> {
        got.into_iter()
            .filter(|(_, name)| want.iter().any(|(_, n)| n == name))
            .collect()
    };
    let result = c
        .wait(world.timings.expect, |seen| {
            let got = named(changes(seen));
            (got.len() >= want.len()).then_some(got)
        })
        .await;
    match result {
        Ok(got) if got[..want.len()] == want[..] => Ok(()),
        Ok(got) => Err(anyhow!(
            "watch {alias:?} delivered {got:?}, expected it to start with {want:?}"
        )
        .into()),
        Err(seen) => Err(anyhow!(
            "watch {alias:?} delivered only {seen:?} within {:?}, expected {want:?}",
            world.timings.expect
        )
        .into()),
    }
}

#[then(expr = "watch {string} receives nothing else")]
async fn nothing_else(world: &mut KubeWorld, alias: String) -> Outcome {
    let c = capture(world, &alias)?;
    let before = changes(&c.seen()).len();
    if let Ok(seen) = c
        .wait(world.timings.quiet, |seen| {
            (changes(seen).len() > before).then(|| seen.to_vec())
        })
        .await
    {
        fail!("watch {alias:?} received more than expected: {seen:?}");
    }
    Ok(())
}

#[then(expr = "watch {string} receives an ERROR with code {int} and reason {string}")]
async fn receives_error(
    world: &mut KubeWorld,
    alias: String,
    code: u16,
    reason: String,
) -> Outcome {
    let c = capture(world, &alias)?;
    let result = c
        .wait(world.timings.expect, |seen| {
            seen.iter().find_map(|s| match s {
                Seen::Error {
                    code: c,
                    reason: r,
                    message,
                } => Some((*c, r.clone(), message.clone())),
                _ => None,
            })
        })
        .await;
    match result {
        Ok((c, r, _)) if c == code && r == reason => Ok(()),
        Ok((c, r, m)) => Err(anyhow!(
            "watch {alias:?} failed with {c} {r:?} ({m}), expected {code} {reason:?}"
        )
        .into()),
        Err(seen) => Err(anyhow!("watch {alias:?} received no error, only {seen:?}").into()),
    }
}

#[then(expr = "watch {string} receives a BOOKMARK marking the end of the initial events")]
async fn receives_bookmark(world: &mut KubeWorld, alias: String) -> Outcome {
    let c = capture(world, &alias)?;
    c.wait(world.timings.expect, |seen| {
        seen.iter()
            .any(|s| {
                *s == Seen::Bookmark {
                    initial_events_end: true,
                }
            })
            .then_some(())
    })
    .await
    .map_err(|seen| anyhow!("watch {alias:?} received no initial-events-end BOOKMARK: {seen:?}"))?;
    Ok(())
}

#[then(expr = "watch {string} delivered every initial ADDED event before that BOOKMARK")]
async fn initial_before_bookmark(world: &mut KubeWorld, alias: String) -> Outcome {
    let seen = capture(world, &alias)?.seen();
    let end = seen
        .iter()
        .position(|s| {
            *s == Seen::Bookmark {
                initial_events_end: true,
            }
        })
        .ok_or_else(|| anyhow!("no initial-events-end BOOKMARK in {seen:?}"))?;
    if seen[..end]
        .iter()
        .any(|s| !matches!(s, Seen::Change { event, .. } if event == "ADDED"))
    {
        fail!("before the bookmark the watch delivered more than ADDED events: {seen:?}");
    }
    Ok(())
}

/// Whether a watch from `rv` is refused as expired (410), probing with one short watch.
async fn expired(api: &Api<DynamicObject>, rv: &str) -> bool {
    let params = WatchParams::default().timeout(1);
    let Ok(stream) = api.watch(&params, rv).await else {
        return false;
    };
    let mut stream = stream.boxed();
    while let Ok(Some(ev)) = stream.try_next().await {
        match ev {
            WatchEvent::Error(s) => return s.code == 410,
            WatchEvent::Bookmark(_) => continue,
            _ => return false,
        }
    }
    false
}

/// Drives the server's watch history past a revision by updating one ConfigMap of the
/// scenario in batches, probing after each batch. Portable: every server keeps a bounded
/// history (upstream's cacher keeps a ring of recent events per resource), so enough
/// changes always push an old revision out; the deadline bounds how many that takes.
#[when(expr = "ConfigMaps change until the watch history no longer reaches revision {string}")]
async fn churn(world: &mut KubeWorld, var: String) -> Outcome {
    let rv = world
        .vars
        .get(&var)
        .cloned()
        .ok_or_else(|| anyhow!("no revision noted as {var:?}"))?;
    let (_, api) = world.api("ConfigMap")?;
    let name = "kubeproof-churn";
    let cm: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"n": "0"}
    }))?;
    api.create(&Default::default(), &cm).await?;
    let deadline = tokio::time::Instant::now() + world.timings.failover;
    let mut n = 0u64;
    while !expired(&api, &rv).await {
        if tokio::time::Instant::now() >= deadline {
            fail!(
                "after {n} changes within {:?} a watch from revision {rv} is still served",
                world.timings.failover
            );
        }
        for _ in 0..100 {
            n += 1;
            let patch = serde_json::json!({"data": {"n": n.to_string()}});
            api.patch(name, &Default::default(), &kube::api::Patch::Merge(patch))
                .await?;
        }
    }
    Ok(())
}
