//! The store conformance suite, written once as library code and run against every
//! backend (as openraft and etcd's robustness tests do).
//!
//! Entry point: [`run_all`], given a function that makes a fresh [`Subject`]: an empty
//! store, or a shared one (etcd) plus a key prefix no other check uses. Checks panic
//! with a message naming what broke, so they read as ordinary test failures. They only
//! assume what the [`Store`] contract promises: revisions are compared, never assumed
//! to step by one (a shared etcd may be written by others outside the prefix), and the
//! checks run one after another because compaction is store-wide.

mod compaction;
mod history;
mod reads;
mod watch;
mod writes;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use crate::{Store, WatchEvent, WatchStream};

pub use history::{Expected, write_history};

/// What a check runs against.
pub struct Subject {
    pub store: Arc<dyn Store>,
    /// Every key a check writes starts with this prefix (e.g. `/registry/t1/`).
    pub prefix: String,
}

impl Subject {
    /// A fresh store used whole, under the prefix kube-apiserver would use.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Subject {
            store,
            prefix: "/registry/".to_string(),
        }
    }

    /// A key under this subject's prefix.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

type CheckFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One named check.
pub struct Check {
    pub name: &'static str,
    pub run: fn(Subject) -> CheckFuture,
}

/// Every check, in the order [`run_all`] runs them.
pub fn checks() -> Vec<Check> {
    let mut all = Vec::new();
    all.extend(writes::checks());
    all.extend(reads::checks());
    all.extend(watch::checks());
    all.extend(compaction::checks());
    all
}

/// Runs every check, each on a fresh subject from `make`, one after another.
pub async fn run_all<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Subject>,
{
    for check in checks() {
        eprintln!("store conformance: {}", check.name);
        (check.run)(make().await).await;
    }
}

/// How long a check waits for an expected event before failing.
pub(crate) const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads batches until `n` events arrived; fails on an error, an early end or timeout.
pub(crate) async fn collect(
    stream: &mut WatchStream,
    n: usize,
    what: &str,
) -> Vec<Vec<WatchEvent>> {
    let mut batches = Vec::new();
    let mut got = 0;
    while got < n {
        let next = tokio::time::timeout(EVENT_TIMEOUT, stream.next()).await;
        let batch = match next {
            Err(_) => panic!("{what}: timed out after {got} of {n} events"),
            Ok(None) => panic!("{what}: stream ended after {got} of {n} events"),
            Ok(Some(Err(e))) => panic!("{what}: watch failed after {got} of {n} events: {e}"),
            Ok(Some(Ok(b))) => b,
        };
        assert!(!batch.is_empty(), "{what}: empty batch");
        got += batch.len();
        batches.push(batch);
    }
    assert_eq!(got, n, "{what}: more events than expected");
    batches
}

/// Checks that `batches` come in strictly increasing revision order, one revision per
/// batch, and returns the events flattened.
pub(crate) fn flatten_checked(batches: Vec<Vec<WatchEvent>>, what: &str) -> Vec<WatchEvent> {
    let mut last = 0;
    let mut out = Vec::new();
    for batch in batches {
        let rev = batch[0].revision();
        assert!(
            batch.iter().all(|e| e.revision() == rev),
            "{what}: batch mixes revisions: {batch:?}"
        );
        assert!(rev > last, "{what}: revision {rev} came after {last}");
        last = rev;
        out.extend(batch);
    }
    out
}
