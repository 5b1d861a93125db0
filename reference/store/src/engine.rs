//! The in-memory MVCC engine shared by the `memory` and `file` backends.
//!
//! Entry point: [`Engine`]. It is synchronous and pure (no I/O, no locking): backends
//! wrap it in a mutex. Writes are two-step so the file backend can log them first:
//! `plan_*` checks a write against the current state and returns the [`Op`] it would
//! perform; [`Engine::apply`] performs it. Compaction follows etcd exactly: after
//! `compact(c)` the state *at* `c` stays readable and events from revision `c` on stay
//! watchable; anything older fails with [`StoreError::Compacted`].

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;

use bytes::Bytes;

use crate::{EventKind, KeyValue, ListOptions, ListResult, Revision, StoreError, WatchEvent};

/// One write, as planned by the engine and recorded by the write-ahead log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Set `key` to `value` at revision `rev` (a create if the key is not live).
    Put {
        rev: Revision,
        key: String,
        value: Bytes,
    },
    /// Delete `key` at revision `rev`.
    Delete { rev: Revision, key: String },
}

impl Op {
    pub(crate) fn revision(&self) -> Revision {
        match self {
            Op::Put { rev, .. } | Op::Delete { rev, .. } => *rev,
        }
    }
}

/// One version of one key; `value: None` is a deletion tombstone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Version {
    pub mod_revision: Revision,
    pub create_revision: Revision,
    pub value: Option<Bytes>,
}

/// The whole retained state, as written to and read from a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub revision: Revision,
    pub compacted: Revision,
    /// Every retained version of every key, oldest first per key.
    pub versions: Vec<(String, Version)>,
}

/// The MVCC state: every retained version of every key plus the revision log.
#[derive(Debug, Default)]
pub(crate) struct Engine {
    revision: Revision,
    compacted: Revision,
    keys: BTreeMap<String, Vec<Version>>,
    /// (revision, key) of every write since the compaction point, in revision order:
    /// watchers read it by cursor, so none can miss an event.
    log: VecDeque<(Revision, String)>,
}

impl Engine {
    pub(crate) fn revision(&self) -> Revision {
        self.revision
    }

    pub(crate) fn compacted(&self) -> Revision {
        self.compacted
    }

    /// The live value of `key` at the current revision.
    pub(crate) fn get(&self, key: &str) -> Option<KeyValue> {
        let v = self.keys.get(key)?.last()?;
        to_kv(key, v)
    }

    pub(crate) fn plan_create(&self, key: &str, value: Bytes) -> Result<Op, StoreError> {
        if self.get(key).is_some() {
            return Err(StoreError::AlreadyExists(key.to_string()));
        }
        Ok(Op::Put {
            rev: self.revision + 1,
            key: key.to_string(),
            value,
        })
    }

    pub(crate) fn plan_update(
        &self,
        key: &str,
        expected: Revision,
        value: Bytes,
    ) -> Result<Op, StoreError> {
        let cur = self
            .get(key)
            .ok_or_else(|| StoreError::NotFound(key.to_string()))?;
        check_expected(&cur, Some(expected))?;
        Ok(Op::Put {
            rev: self.revision + 1,
            key: key.to_string(),
            value,
        })
    }

    /// Plans a delete; also returns the value being deleted.
    pub(crate) fn plan_delete(
        &self,
        key: &str,
        expected: Option<Revision>,
    ) -> Result<(Op, KeyValue), StoreError> {
        let cur = self
            .get(key)
            .ok_or_else(|| StoreError::NotFound(key.to_string()))?;
        check_expected(&cur, expected)?;
        Ok((
            Op::Delete {
                rev: self.revision + 1,
                key: key.to_string(),
            },
            cur,
        ))
    }

    /// Performs a planned (or replayed) write. Fails with `Corrupt` if the op does not
    /// fit the state, which can only happen when a log is replayed out of order.
    pub(crate) fn apply(&mut self, op: Op) -> Result<(), StoreError> {
        let rev = op.revision();
        if rev != self.revision + 1 {
            return Err(StoreError::Corrupt(format!(
                "write at revision {rev} does not follow revision {}",
                self.revision
            )));
        }
        let (key, version) = match op {
            Op::Put { key, value, .. } => {
                let create = self.get(&key).map_or(rev, |kv| kv.create_revision);
                (
                    key,
                    Version {
                        mod_revision: rev,
                        create_revision: create,
                        value: Some(value),
                    },
                )
            }
            Op::Delete { key, .. } => {
                let Some(cur) = self.get(&key) else {
                    return Err(StoreError::Corrupt(format!("delete of absent key {key:?}")));
                };
                let v = Version {
                    mod_revision: rev,
                    create_revision: cur.create_revision,
                    value: None,
                };
                (key, v)
            }
        };
        self.keys.entry(key.clone()).or_default().push(version);
        self.log.push_back((rev, key));
        self.revision = rev;
        Ok(())
    }

    /// Reads keys under `prefix` at the current or a past revision, in key order.
    pub(crate) fn list(&self, prefix: &str, opts: &ListOptions) -> Result<ListResult, StoreError> {
        let at = match opts.at {
            None => self.revision,
            Some(at) => {
                self.check_readable(at)?;
                at
            }
        };
        let lower = match &opts.start_after {
            Some(after) if after.as_str() >= prefix => Bound::Excluded(after.as_str()),
            _ => Bound::Included(prefix),
        };
        let mut items = Vec::new();
        let mut more = false;
        let live = self
            .keys
            .range::<str, _>((lower, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter_map(|(k, versions)| {
                let v = versions.iter().rev().find(|v| v.mod_revision <= at)?;
                to_kv(k, v)
            });
        for kv in live {
            if opts.limit > 0 && items.len() == opts.limit {
                more = true;
                break;
            }
            items.push(kv);
        }
        Ok(ListResult {
            items,
            revision: at,
            more,
        })
    }

    /// Whether the state at `at` can still be read (etcd: not below the compaction point).
    pub(crate) fn check_readable(&self, at: Revision) -> Result<(), StoreError> {
        if at > self.revision {
            return Err(StoreError::FutureRevision {
                requested: at,
                current: self.revision,
            });
        }
        if at < self.compacted {
            return Err(StoreError::Compacted {
                requested: at,
                compacted: self.compacted,
            });
        }
        Ok(())
    }

    /// Whether a watch can start after `after` (`after` + 1 must not be compacted).
    pub(crate) fn check_watchable(&self, after: Revision) -> Result<(), StoreError> {
        if after > self.revision {
            return Err(StoreError::FutureRevision {
                requested: after,
                current: self.revision,
            });
        }
        if after + 1 < self.compacted {
            return Err(StoreError::Compacted {
                requested: after,
                compacted: self.compacted,
            });
        }
        Ok(())
    }

    /// Forgets every version that is not needed to read at `rev` or later, and the log
    /// before `rev`.
    pub(crate) fn compact(&mut self, rev: Revision) -> Result<(), StoreError> {
        if rev > self.revision {
            return Err(StoreError::FutureRevision {
                requested: rev,
                current: self.revision,
            });
        }
        if rev <= self.compacted {
            return Err(StoreError::Compacted {
                requested: rev,
                compacted: self.compacted,
            });
        }
        self.keys.retain(|_, versions| {
            // Keep the versions at or after `rev` and the newest one before it (the
            // value visible at `rev`, and the `prev` of the first retained event),
            // unless that newest one is a tombstone, which nothing needs any more.
            let newer = versions.partition_point(|v| v.mod_revision < rev);
            let keep_from = match newer.checked_sub(1) {
                Some(i) if versions[i].value.is_some() => i,
                _ => newer,
            };
            versions.drain(..keep_from);
            !versions.is_empty()
        });
        let cut = self.log.partition_point(|(r, _)| *r < rev);
        self.log.drain(..cut);
        self.compacted = rev;
        Ok(())
    }

    /// Events under `prefix` with revision > `cursor`, scanning at most `max_revs`
    /// revisions. Returns the batches (one per revision) and the new cursor: the last
    /// revision scanned, so the next call continues exactly where this one stopped.
    pub(crate) fn events_after(
        &self,
        prefix: &str,
        cursor: Revision,
        max_revs: usize,
    ) -> Result<(Vec<Vec<WatchEvent>>, Revision), StoreError> {
        self.check_watchable(cursor)?;
        let start = self.log.partition_point(|(r, _)| *r <= cursor);
        let mut batches: Vec<Vec<WatchEvent>> = Vec::new();
        let mut last = cursor;
        for (rev, key) in self.log.range(start..).take(max_revs) {
            last = *rev;
            if !key.starts_with(prefix) {
                continue;
            }
            let Some(event) = self.event_at(key, *rev) else {
                return Err(StoreError::Corrupt(format!(
                    "no version of {key:?} at revision {rev}"
                )));
            };
            match batches.last_mut() {
                Some(b) if b.first().map(WatchEvent::revision) == Some(*rev) => b.push(event),
                _ => batches.push(vec![event]),
            }
        }
        Ok((batches, last))
    }

    fn event_at(&self, key: &str, rev: Revision) -> Option<WatchEvent> {
        let versions = self.keys.get(key)?;
        let i = versions.iter().rposition(|v| v.mod_revision == rev)?;
        let prev = i.checked_sub(1).and_then(|p| to_kv(key, &versions[p]));
        let v = &versions[i];
        Some(match (&v.value, prev) {
            (Some(_), None) => WatchEvent {
                kind: EventKind::Put,
                kv: to_kv(key, v)?,
                prev: None,
            },
            (Some(_), Some(p)) => WatchEvent {
                kind: EventKind::Modify,
                kv: to_kv(key, v)?,
                prev: Some(p),
            },
            (None, prev) => {
                let last = prev.clone().unwrap_or_else(|| KeyValue {
                    key: key.to_string(),
                    value: Bytes::new(),
                    create_revision: v.create_revision,
                    mod_revision: rev,
                });
                WatchEvent {
                    kind: EventKind::Delete,
                    kv: KeyValue {
                        mod_revision: rev,
                        ..last
                    },
                    prev,
                }
            }
        })
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let versions = self
            .keys
            .iter()
            .flat_map(|(k, vs)| vs.iter().map(move |v| (k.clone(), v.clone())))
            .collect();
        Snapshot {
            revision: self.revision,
            compacted: self.compacted,
            versions,
        }
    }

    /// Rebuilds an engine from a snapshot; the log is every version at or after the
    /// compaction point, in revision order.
    pub(crate) fn restore(snap: Snapshot) -> Result<Engine, StoreError> {
        let mut engine = Engine {
            revision: snap.revision,
            compacted: snap.compacted,
            ..Engine::default()
        };
        for (key, v) in snap.versions {
            if v.mod_revision > snap.revision {
                return Err(StoreError::Corrupt(format!(
                    "snapshot version of {key:?} at {} is past its revision {}",
                    v.mod_revision, snap.revision
                )));
            }
            if v.mod_revision >= snap.compacted {
                engine.log.push_back((v.mod_revision, key.clone()));
            }
            engine.keys.entry(key).or_default().push(v);
        }
        engine.log.make_contiguous().sort();
        Ok(engine)
    }
}

fn check_expected(cur: &KeyValue, expected: Option<Revision>) -> Result<(), StoreError> {
    match expected {
        Some(e) if e != cur.mod_revision => Err(StoreError::Conflict {
            key: cur.key.clone(),
            expected: e,
            actual: cur.mod_revision,
        }),
        _ => Ok(()),
    }
}

fn to_kv(key: &str, v: &Version) -> Option<KeyValue> {
    Some(KeyValue {
        key: key.to_string(),
        value: v.value.clone()?,
        create_revision: v.create_revision,
        mod_revision: v.mod_revision,
    })
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
