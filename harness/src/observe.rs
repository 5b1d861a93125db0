//! The observation log: every watch event a scenario saw, with when it arrived.
//!
//! Entry points: [`ObservationLog`] (shared, append-only), [`Recorder::start`] (one watch
//! task per kind of object, opened before the scenario does anything — as the chapter's
//! controllers have their watches in place before the Deployment is created).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, WatchEvent, WatchParams};
use serde::Serialize;
use tokio::task::JoinHandle;

/// One watch event as the scenario saw it.
#[derive(Clone, Debug, Serialize)]
pub struct Observation {
    /// Arrival order in this scenario.
    pub seq: usize,
    /// Time since the scenario started.
    #[serde(serialize_with = "millis")]
    pub at: Duration,
    /// The object's kind, e.g. `Pod`.
    pub kind: String,
    /// The object's name.
    pub name: String,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub event: String,
    /// The object's resourceVersion in the event (the store revision of the write).
    pub resource_version: String,
    /// The object as the event carried it.
    pub object: serde_json::Value,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Observation {
    /// The write's revision as a number, when the server uses numeric resourceVersions
    /// (every etcd-backed server does; the API only promises opaque strings).
    pub fn revision(&self) -> Option<u64> {
        self.resource_version.parse().ok()
    }

    /// A JSON pointer into the object, as text (`""` when absent).
    pub fn field(&self, pointer: &str) -> String {
        match self.object.pointer(pointer) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        }
    }
}

/// The append-only log shared by the recorder tasks, the steps and the report.
#[derive(Clone, Debug)]
pub struct ObservationLog {
    entries: Arc<Mutex<Vec<Observation>>>,
    notes: Arc<Mutex<Vec<String>>>,
    arrived: Arc<tokio::sync::Notify>,
    start: Instant,
}

impl Default for ObservationLog {
    fn default() -> Self {
        Self {
            entries: Arc::default(),
            notes: Arc::default(),
            arrived: Arc::default(),
            start: Instant::now(),
        }
    }
}

impl ObservationLog {
    /// Appends one event.
    pub fn record(&self, kind: &str, event: &str, object: serde_json::Value) {
        let name = object
            .pointer("/metadata/name")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let resource_version = object
            .pointer("/metadata/resourceVersion")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        if let Ok(mut entries) = self.entries.lock() {
            let seq = entries.len();
            entries.push(Observation {
                seq,
                at: self.start.elapsed(),
                kind: kind.to_string(),
                name,
                event: event.to_string(),
                resource_version,
                object,
            });
        }
        self.arrived.notify_waiters();
    }

    /// Records something about the recording itself (e.g. a kind the server does not serve).
    pub fn note(&self, note: String) {
        if let Ok(mut notes) = self.notes.lock() {
            notes.push(note);
        }
    }

    /// A copy of every event so far, in arrival order.
    pub fn snapshot(&self) -> Vec<Observation> {
        self.entries.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Notes about the recording.
    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().map(|n| n.clone()).unwrap_or_default()
    }

    /// The events in causal order: by store revision when every resourceVersion is
    /// numeric (one store, one revision counter), otherwise by arrival.
    pub fn causal(&self) -> Vec<Observation> {
        let mut all = self.snapshot();
        if all.iter().all(|o| o.revision().is_some()) {
            all.sort_by_key(|o| (o.revision(), o.seq));
        }
        all
    }
}

impl ObservationLog {
    /// Re-checks the causal log each time an event arrives until `check` holds or the
    /// deadline passes; returns the last causal log on timeout. The recorder's watches run
    /// apart from the steps' own, so a step that saw a state may be a moment ahead of the
    /// log: assertions on the log wait for it to catch up.
    pub async fn wait_until<T>(
        &self,
        deadline: Duration,
        mut check: impl FnMut(&[Observation]) -> Option<T>,
    ) -> Result<T, Vec<Observation>> {
        let end = tokio::time::Instant::now() + deadline;
        loop {
            let arrival = self.arrived.notified();
            let causal = self.causal();
            if let Some(t) = check(&causal) {
                return Ok(t);
            }
            if tokio::time::timeout_at(end, arrival).await.is_err() {
                return Err(self.causal());
            }
        }
    }
}

/// The kinds every scenario records: `(kind, resource, namespaced)`.
pub fn recorded_kinds() -> Vec<(ApiResource, bool)> {
    use k8s_openapi::api::{apps::v1 as apps, batch::v1 as batch, core::v1 as core};
    vec![
        (ApiResource::erase::<apps::Deployment>(&()), true),
        (ApiResource::erase::<apps::ReplicaSet>(&()), true),
        (ApiResource::erase::<apps::DaemonSet>(&()), true),
        (ApiResource::erase::<apps::StatefulSet>(&()), true),
        (ApiResource::erase::<batch::Job>(&()), true),
        (ApiResource::erase::<core::Pod>(&()), true),
        (ApiResource::erase::<core::Service>(&()), true),
        (ApiResource::erase::<core::Endpoints>(&()), true),
        (ApiResource::erase::<core::ConfigMap>(&()), true),
        (ApiResource::erase::<core::Event>(&()), true),
        (ApiResource::erase::<core::Node>(&()), false),
    ]
}

/// The running watch tasks of one scenario; dropping it stops them.
#[derive(Debug, Default)]
pub struct Recorder {
    tasks: Vec<JoinHandle<()>>,
}

impl Recorder {
    /// Opens one watch per recorded kind (namespaced ones in `namespace`) and waits until
    /// each has listed, so nothing the scenario does afterwards is missed.
    pub async fn start(client: &kube::Client, namespace: &str, log: &ObservationLog) -> Self {
        let mut tasks = Vec::new();
        let mut ready = Vec::new();
        for (ar, namespaced) in recorded_kinds() {
            let api: Api<DynamicObject> = if namespaced {
                Api::namespaced_with(client.clone(), namespace, &ar)
            } else {
                Api::all_with(client.clone(), &ar)
            };
            let (tx, rx) = tokio::sync::oneshot::channel();
            tasks.push(tokio::spawn(record(api, ar.kind.clone(), log.clone(), tx)));
            ready.push(rx);
        }
        for rx in ready {
            // A task that failed to list has already noted why; the others still record.
            let _listed = rx.await;
        }
        Self { tasks }
    }

    /// Stops every watch.
    pub fn stop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Lists once, then watches from that revision forever, re-listing after a 410.
async fn record(
    api: Api<DynamicObject>,
    kind: String,
    log: ObservationLog,
    listed: tokio::sync::oneshot::Sender<()>,
) {
    let mut listed = Some(listed);
    let mut rv = String::new();
    let mut failures = 0u32;
    loop {
        if rv.is_empty() {
            match api.list(&ListParams::default().limit(1)).await {
                Ok(list) => rv = list.metadata.resource_version.unwrap_or_default(),
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_multiple_of(50) {
                        log.note(format!("cannot list {kind}: {e}"));
                    }
                    if let Some(tx) = listed.take() {
                        let _ = tx.send(());
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            }
        }
        if let Some(tx) = listed.take() {
            let _ = tx.send(());
        }
        let params = WatchParams::default().timeout(290);
        let stream = match api.watch(&params, &rv).await {
            Ok(s) => s,
            Err(e) => {
                log.note(format!("cannot watch {kind}: {e}"));
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let mut stream = stream.boxed();
        loop {
            match stream.try_next().await {
                Ok(Some(WatchEvent::Added(o))) => rv = remember(&log, &kind, "ADDED", o, rv),
                Ok(Some(WatchEvent::Modified(o))) => {
                    rv = remember(&log, &kind, "MODIFIED", o, rv);
                }
                Ok(Some(WatchEvent::Deleted(o))) => rv = remember(&log, &kind, "DELETED", o, rv),
                Ok(Some(WatchEvent::Bookmark(b))) => rv = b.metadata.resource_version,
                Ok(Some(WatchEvent::Error(e))) => {
                    if e.code == 410 {
                        log.note(format!("{kind} watch expired ({}); re-listing", e.message));
                        rv.clear();
                    }
                    break;
                }
                Ok(None) => break,
                Err(e) => {
                    log.note(format!("{kind} watch broke: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    break;
                }
            }
        }
    }
}

fn remember(log: &ObservationLog, kind: &str, event: &str, o: DynamicObject, rv: String) -> String {
    let next = o.metadata.resource_version.clone().unwrap_or(rv);
    let mut value = serde_json::to_value(&o).unwrap_or_default();
    if let Some(meta) = value
        .pointer_mut("/metadata")
        .and_then(|m| m.as_object_mut())
    {
        meta.remove("managedFields");
    }
    if let Some(obj) = value.as_object_mut() {
        obj.insert("kind".into(), kind.into());
    }
    log.record(kind, event, value);
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(name: &str, rv: &str) -> serde_json::Value {
        json!({"metadata": {"name": name, "resourceVersion": rv}})
    }

    #[test]
    fn causal_order_follows_revisions_not_arrival() {
        let log = ObservationLog::default();
        log.record("Pod", "ADDED", obj("p", "12"));
        log.record("ReplicaSet", "ADDED", obj("rs", "11"));
        let kinds: Vec<String> = log.causal().into_iter().map(|o| o.kind).collect();
        assert_eq!(kinds, vec!["ReplicaSet", "Pod"]);
    }

    #[test]
    fn opaque_revisions_fall_back_to_arrival_order() {
        let log = ObservationLog::default();
        log.record("Pod", "ADDED", obj("p", "b"));
        log.record("ReplicaSet", "ADDED", obj("rs", "a"));
        let kinds: Vec<String> = log.causal().into_iter().map(|o| o.kind).collect();
        assert_eq!(kinds, vec!["Pod", "ReplicaSet"]);
    }
}
