//! A steady background writer and its ledger: the proof that no acknowledged write is lost
//! while store members stop and start (a write needs a majority; once acknowledged, it
//! must survive, chapter 11.1.2).
//!
//! Entry points: [`Ledger`] (pure: what was sent, what was answered, what is missing),
//! the step functions. The writer creates one ConfigMap per tick, named by sequence, and
//! records the answer to each; it runs as a [`super::background`] job, so it stops with the
//! scenario even when a step fails.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use cucumber::{given, then, when};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::Outcome;
use super::background::{spawn, state};
use crate::world::KubeWorld;

/// The background job's name, and the value of the label on every ConfigMap it writes.
const WRITER: &str = "steady-writer";
/// The label marking the writer's ConfigMaps.
const LABEL: &str = "kubeproof.io/writer";

/// What the API server answered to one write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 2xx: acknowledged. It must never be lost.
    Acked {
        /// The resourceVersion the stored object got.
        resource_version: String,
    },
    /// An error Status: not written.
    Refused {
        /// The Status code.
        code: u16,
        /// The Status message.
        message: String,
    },
    /// No answer (connection error, or none within the write timeout): the write may or
    /// may not have landed.
    NoAnswer {
        /// What the client saw.
        error: String,
    },
}

impl Answer {
    fn label(&self) -> String {
        match self {
            Answer::Acked { .. } => "acknowledged".into(),
            Answer::Refused { code, .. } => format!("refused ({code})"),
            Answer::NoAnswer { .. } => "unanswered".into(),
        }
    }
}

/// One write the writer sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// 1, 2, 3 ...: the ConfigMap is named [`object_name`]`(seq)` and holds `seq`.
    pub seq: u64,
    /// When it was sent, from the writer's start.
    pub sent: Duration,
    /// How long the answer took.
    pub took: Duration,
    /// The answer.
    pub answer: Answer,
}

/// The name of the writer's `seq`-th ConfigMap.
pub fn object_name(seq: u64) -> String {
    format!("write-{seq:06}")
}

/// Every write the writer sent, in order, with its answer.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    attempts: Vec<Attempt>,
}

impl Ledger {
    /// Adds the next attempt.
    pub fn push(&mut self, attempt: Attempt) {
        self.attempts.push(attempt);
    }

    /// How many writes were acknowledged.
    pub fn acked(&self) -> usize {
        self.attempts
            .iter()
            .filter(|a| matches!(a.answer, Answer::Acked { .. }))
            .count()
    }

    /// Acknowledged writes that `stored` (ConfigMap name → its `seq` value, as read back)
    /// lacks or holds with another value, described one per line.
    pub fn lost(&self, stored: &BTreeMap<String, String>) -> Vec<String> {
        self.attempts
            .iter()
            .filter_map(|a| {
                let Answer::Acked { resource_version } = &a.answer else {
                    return None;
                };
                let name = object_name(a.seq);
                let want = a.seq.to_string();
                match stored.get(&name) {
                    Some(v) if *v == want => None,
                    Some(v) => Some(format!(
                        "{name} (acknowledged at {:?}, resourceVersion {resource_version}) reads back with seq {v:?}, not {want:?}",
                        a.sent
                    )),
                    None => Some(format!(
                        "{name} (acknowledged at {:?}, resourceVersion {resource_version}) is gone",
                        a.sent
                    )),
                }
            })
            .collect()
    }

    /// The attempts as runs of equal outcomes, e.g. `#1–#40 acknowledged, #41–#52 refused
    /// (503), #53 unanswered`, followed by the first message of each failed run.
    pub fn summary(&self) -> String {
        if self.attempts.is_empty() {
            return "no write was sent".into();
        }
        let mut runs: Vec<(u64, u64, String, Option<String>)> = Vec::new();
        for a in &self.attempts {
            let label = a.answer.label();
            match runs.last_mut() {
                Some(run) if run.2 == label => run.1 = a.seq,
                _ => {
                    let detail = match &a.answer {
                        Answer::Acked { .. } => None,
                        Answer::Refused { message, .. } => Some(message.clone()),
                        Answer::NoAnswer { error } => Some(error.clone()),
                    };
                    runs.push((a.seq, a.seq, label, detail));
                }
            }
        }
        let mut out = format!(
            "{} writes, {} acknowledged: ",
            self.attempts.len(),
            self.acked()
        );
        for (i, (from, to, label, detail)) in runs.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if from == to {
                let _ = write!(out, "#{from} {label}");
            } else {
                let _ = write!(out, "#{from}–#{to} {label}");
            }
            if let Some(d) = detail {
                let _ = write!(out, " [{d}]");
            }
        }
        out
    }
}

/// The running writer, shared between its job and the steps.
#[derive(Debug)]
pub struct Writer {
    ledger: Mutex<Ledger>,
    changed: Notify,
    stop: watch::Sender<bool>,
    stopped: watch::Sender<bool>,
}

impl Writer {
    fn new() -> Self {
        Self {
            ledger: Mutex::default(),
            changed: Notify::new(),
            stop: watch::channel(false).0,
            stopped: watch::channel(false).0,
        }
    }

    fn ledger(&self) -> Ledger {
        self.ledger.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn record(&self, attempt: Attempt) {
        if let Ok(mut l) = self.ledger.lock() {
            l.push(attempt);
        }
        self.changed.notify_waiters();
    }

    /// Re-checks the ledger after every answer until `done` holds or `deadline` passes;
    /// returns the ledger as it was at the end.
    async fn wait(&self, deadline: Duration, done: impl Fn(&Ledger) -> bool) -> Result<(), Ledger> {
        let end = Instant::now() + deadline;
        loop {
            // Register before reading, so an answer in between is not missed.
            let answered = self.changed.notified();
            let ledger = self.ledger();
            if done(&ledger) {
                return Ok(());
            }
            if tokio::time::timeout_at(end, answered).await.is_err() {
                return Err(self.ledger());
            }
        }
    }
}

/// Writes one ConfigMap per `period` (one write in flight at a time, each given up after
/// `write_timeout`) until told to stop; then idles, keeping the ledger for the steps,
/// until the scenario's teardown aborts it.
async fn write_steadily(
    api: Api<ConfigMap>,
    writer: Arc<Writer>,
    period: Duration,
    write_timeout: Duration,
) {
    let mut stop = writer.stop.subscribe();
    let start = Instant::now();
    let mut seq = 0;
    while !*stop.borrow_and_update() {
        seq += 1;
        let cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some(object_name(seq)),
                labels: Some([(LABEL.to_string(), WRITER.to_string())].into()),
                ..ObjectMeta::default()
            },
            data: Some([("seq".to_string(), seq.to_string())].into()),
            ..ConfigMap::default()
        };
        let sent = Instant::now();
        let answer = match tokio::time::timeout(
            write_timeout,
            api.create(&PostParams::default(), &cm),
        )
        .await
        {
            Ok(Ok(stored)) => Answer::Acked {
                resource_version: stored.metadata.resource_version.unwrap_or_default(),
            },
            Ok(Err(kube::Error::Api(s))) => Answer::Refused {
                code: s.code,
                message: s.message.clone(),
            },
            Ok(Err(e)) => Answer::NoAnswer {
                error: e.to_string(),
            },
            Err(_) => Answer::NoAnswer {
                error: format!("no answer within {write_timeout:?}"),
            },
        };
        writer.record(Attempt {
            seq,
            sent: sent - start,
            took: sent.elapsed(),
            answer,
        });
        tokio::select! {
            () = tokio::time::sleep_until(sent + period) => {}
            _ = stop.changed() => {}
        }
    }
    writer.stopped.send_replace(true);
    std::future::pending::<()>().await;
}

#[given(expr = "a background writer creates a ConfigMap every {int} milliseconds")]
async fn start_writer(world: &mut KubeWorld, millis: u64) -> Outcome {
    if millis == 0 {
        fail!("the writer needs a period of at least 1 millisecond");
    }
    let api: Api<ConfigMap> = Api::namespaced(world.client()?, &world.namespace);
    let writer = Arc::new(Writer::new());
    let job = write_steadily(
        api,
        writer.clone(),
        Duration::from_millis(millis),
        world.timings.expect,
    );
    spawn(world, WRITER, writer.clone(), job);
    // The ledger starts on a cluster that takes writes, or the later checks mean nothing.
    let deadline = world.timings.expect;
    if let Err(ledger) = writer.wait(deadline, |l| l.acked() >= 1).await {
        fail!(
            "the background writer got no write acknowledged within {deadline:?}: {}",
            ledger.summary()
        );
    }
    Ok(())
}

#[then(expr = "the background writer gets {int} more write(s) acknowledged within {int} seconds")]
async fn more_acked(world: &mut KubeWorld, n: usize, secs: u64) -> Outcome {
    let writer = state::<Writer>(world, WRITER)?;
    let base = writer.ledger().acked();
    let deadline = Duration::from_secs(secs);
    if let Err(ledger) = writer.wait(deadline, |l| l.acked() >= base + n).await {
        fail!(
            "only {} of {n} more writes were acknowledged within {secs}s: {}",
            ledger.acked() - base,
            ledger.summary()
        );
    }
    Ok(())
}

#[when(expr = "I stop the background writer")]
async fn stop_writer(world: &mut KubeWorld) -> Outcome {
    let writer = state::<Writer>(world, WRITER)?;
    writer.stop.send_replace(true);
    // The write in flight gets its answer (or its timeout) first.
    let deadline = world.timings.expect * 2;
    let mut stopped = writer.stopped.subscribe();
    tokio::time::timeout(deadline, stopped.wait_for(|s| *s))
        .await
        .map_err(|_| anyhow!("the background writer did not stop within {deadline:?}"))?
        .map_err(|_| anyhow!("the background writer ended unexpectedly"))?;
    Ok(())
}

#[then(expr = "every write the background writer got acknowledged reads back")]
async fn none_lost(world: &mut KubeWorld) -> Outcome {
    let writer = state::<Writer>(world, WRITER)?;
    if !*writer.stopped.borrow() {
        fail!("stop the background writer first (\"When I stop the background writer\")");
    }
    let ledger = writer.ledger();
    if ledger.acked() == 0 {
        fail!(
            "no write was acknowledged, so none can be checked: {}",
            ledger.summary()
        );
    }
    let api: Api<ConfigMap> = Api::namespaced(world.client()?, &world.namespace);
    let stored: BTreeMap<String, String> = api
        .list(&ListParams::default().labels(&format!("{LABEL}={WRITER}")))
        .await
        .context("reading the writer's ConfigMaps back")?
        .items
        .into_iter()
        .map(|cm| {
            let seq = cm
                .data
                .as_ref()
                .and_then(|d| d.get("seq"))
                .cloned()
                .unwrap_or_default();
            (cm.metadata.name.unwrap_or_default(), seq)
        })
        .collect();
    let lost = ledger.lost(&stored);
    if !lost.is_empty() {
        fail!(
            "{} of {} acknowledged writes were lost:\n  {}\nthe writer's ledger: {}",
            lost.len(),
            ledger.acked(),
            lost.join("\n  "),
            ledger.summary()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(seq: u64, answer: Answer) -> Attempt {
        Attempt {
            seq,
            sent: Duration::from_millis(100 * seq),
            took: Duration::from_millis(5),
            answer,
        }
    }

    fn acked(seq: u64) -> Attempt {
        attempt(
            seq,
            Answer::Acked {
                resource_version: (100 + seq).to_string(),
            },
        )
    }

    fn refused(seq: u64) -> Attempt {
        attempt(
            seq,
            Answer::Refused {
                code: 503,
                message: "etcd has no quorum".into(),
            },
        )
    }

    fn ledger(attempts: Vec<Attempt>) -> Ledger {
        let mut l = Ledger::default();
        for a in attempts {
            l.push(a);
        }
        l
    }

    fn stored(pairs: &[(u64, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(seq, v)| (object_name(*seq), v.to_string()))
            .collect()
    }

    #[test]
    fn every_acknowledged_write_read_back_means_nothing_was_lost() {
        let l = ledger(vec![acked(1), refused(2), acked(3)]);
        assert_eq!(l.acked(), 2);
        assert!(l.lost(&stored(&[(1, "1"), (3, "3")])).is_empty());
        // A refused or unanswered write that landed anyway is not a loss.
        assert!(l.lost(&stored(&[(1, "1"), (2, "2"), (3, "3")])).is_empty());
    }

    #[test]
    fn an_acknowledged_write_missing_or_changed_is_reported_as_lost() {
        let l = ledger(vec![acked(1), acked(2), acked(3)]);
        let lost = l.lost(&stored(&[(1, "1"), (3, "7")]));
        assert_eq!(lost.len(), 2, "{lost:?}");
        assert!(
            lost[0]
                .starts_with("write-000002 (acknowledged at 200ms, resourceVersion 102) is gone")
        );
        assert!(lost[1].contains("write-000003"), "{lost:?}");
        assert!(lost[1].contains("reads back with seq \"7\""), "{lost:?}");
    }

    #[test]
    fn the_summary_shows_runs_of_outcomes_with_the_first_error_of_each() {
        let l = ledger(vec![
            acked(1),
            acked(2),
            refused(3),
            refused(4),
            attempt(
                5,
                Answer::NoAnswer {
                    error: "no answer within 10s".into(),
                },
            ),
            acked(6),
        ]);
        assert_eq!(
            l.summary(),
            "6 writes, 3 acknowledged: #1–#2 acknowledged, #3–#4 refused (503) [etcd has no quorum], \
             #5 unanswered [no answer within 10s], #6 acknowledged"
        );
        assert_eq!(Ledger::default().summary(), "no write was sent");
    }

    #[test]
    fn objects_are_named_by_sequence_so_they_sort_in_write_order() {
        assert_eq!(object_name(7), "write-000007");
        assert!(object_name(9) < object_name(10));
    }
}
