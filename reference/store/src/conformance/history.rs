//! A scripted write history and the events a watcher must see for it.
//!
//! Entry point: [`write_history`].

use std::collections::BTreeMap;

use bytes::Bytes;

use super::Subject;
use crate::{EventKind, Revision, WatchEvent};

/// One expected event, in the terms a check compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    pub revision: Revision,
    pub kind: EventKind,
    pub key: String,
    /// The new value (Put/Modify) or the deleted value (Delete).
    pub value: Bytes,
    pub create_revision: Revision,
    pub prev: Option<(Bytes, Revision)>,
}

impl Expected {
    /// Describes an actual event the same way, so the two can be compared.
    pub fn of(e: &WatchEvent) -> Expected {
        Expected {
            revision: e.revision(),
            kind: e.kind,
            key: e.kv.key.clone(),
            value: e.kv.value.clone(),
            create_revision: e.kv.create_revision,
            prev: e.prev.as_ref().map(|p| (p.value.clone(), p.mod_revision)),
        }
    }
}

/// A live key in the model: value, create revision, mod revision.
type Live = (Bytes, Revision, Revision);

/// Writes a fixed mix of creates, updates, deletes and re-creates under the subject's
/// prefix (checking each write's result), returning the events it must produce.
pub async fn write_history(s: &Subject, rounds: usize) -> Vec<Expected> {
    let mut model: BTreeMap<String, Live> = BTreeMap::new();
    let mut out = Vec::new();
    let mut last = s.store.current_revision().await.expect("current revision");
    for round in 0..rounds {
        for (step, name) in ["a", "b", "c", "a", "b", "a"].iter().enumerate() {
            let key = s.key(name);
            let value = Bytes::from(format!("{name}-{round}-{step}"));
            let prev = model.get(&key).cloned();
            let (rev, kind) = match (&prev, step) {
                // The fourth step deletes whatever "a" is; others write.
                (Some((_, _, m)), 3) => {
                    let (rev, kv) = s.store.delete(&key, Some(*m)).await.expect("delete");
                    assert_eq!(
                        Some(&kv.value),
                        prev.as_ref().map(|p| &p.0),
                        "delete returns the deleted value"
                    );
                    (rev, EventKind::Delete)
                }
                (Some((_, _, m)), _) => (
                    s.store
                        .update(&key, *m, value.clone())
                        .await
                        .expect("update"),
                    EventKind::Modify,
                ),
                (None, _) => (
                    s.store.create(&key, value.clone()).await.expect("create"),
                    EventKind::Put,
                ),
            };
            assert!(
                rev > last,
                "write returned revision {rev}, not above the previous {last}"
            );
            last = rev;
            let (value, create) = match (kind, &prev) {
                (EventKind::Delete, Some(p)) => (p.0.clone(), p.1),
                (EventKind::Modify, Some(p)) => (value, p.1),
                _ => (value, rev),
            };
            out.push(Expected {
                revision: rev,
                kind,
                key: key.clone(),
                value: value.clone(),
                create_revision: create,
                prev: prev.as_ref().map(|p| (p.0.clone(), p.2)),
            });
            if kind == EventKind::Delete {
                model.remove(&key);
            } else {
                model.insert(key, (value, create, rev));
            }
        }
    }
    out
}
