//! Waiting by watch with a deadline — never by sleeping.
//!
//! Entry point: [`until`]: list the objects a selector picks, then watch them, re-checking
//! a condition on every change, until it holds or the deadline passes. On timeout the error
//! carries the last state seen, so the failure shows what was observed.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DynamicObject, ListParams, WatchEvent, WatchParams};

/// Why a wait ended without the condition holding.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// The deadline passed; `last` holds the objects as last seen (name → object).
    #[error("timed out after {deadline:?} waiting for {what}")]
    Timeout {
        /// What was awaited, in words.
        what: String,
        /// The deadline.
        deadline: Duration,
        /// The objects as last seen.
        last: Vec<DynamicObject>,
    },
    /// The API server refused the list or the watch.
    #[error("while waiting for {what}: {source}")]
    Api {
        /// What was awaited.
        what: String,
        /// The error.
        #[source]
        source: kube::Error,
    },
}

impl WaitError {
    /// The objects last seen before a timeout (empty for API errors).
    pub fn last_seen(&self) -> &[DynamicObject] {
        match self {
            WaitError::Timeout { last, .. } => last,
            WaitError::Api { .. } => &[],
        }
    }
}

/// Watches the objects `api` and `params` select until `check` returns `Some`, which is
/// returned. `check` sees every selected object, sorted by name, after each change.
pub async fn until<T, F>(
    api: &Api<DynamicObject>,
    params: &ListParams,
    what: &str,
    deadline: Duration,
    mut check: F,
) -> Result<T, WaitError>
where
    F: FnMut(&[DynamicObject]) -> Option<T>,
{
    let mut state: BTreeMap<String, DynamicObject> = BTreeMap::new();
    let result = tokio::time::timeout(deadline, async {
        loop {
            match round(api, params, &mut state, &mut check).await {
                Ok(t) => return Ok(t),
                // A connection that failed or broke (an API server replica going away
                // behind a load balancer) is retried, as a reflector does; an error the
                // API server answered with is an answer, and ends the wait.
                Err(e) if !matches!(e, kube::Error::Api(_)) => {
                    tokio::time::sleep(RETRY_AFTER).await
                }
                Err(source) => {
                    return Err(WaitError::Api {
                        what: what.to_string(),
                        source,
                    });
                }
            }
        }
    })
    .await;
    match result {
        Ok(r) => r,
        Err(_elapsed) => Err(WaitError::Timeout {
            what: what.to_string(),
            deadline,
            last: state.into_values().collect(),
        }),
    }
}

/// How long to wait before listing again after a broken connection.
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// One list, then watches from its revision, until `check` holds or a request fails.
async fn round<T, F>(
    api: &Api<DynamicObject>,
    params: &ListParams,
    state: &mut BTreeMap<String, DynamicObject>,
    check: &mut F,
) -> Result<T, kube::Error>
where
    F: FnMut(&[DynamicObject]) -> Option<T>,
{
    let list = api.list(params).await?;
    state.clear();
    for o in list.items {
        state.insert(o.metadata.name.clone().unwrap_or_default(), o);
    }
    let objects: Vec<DynamicObject> = state.values().cloned().collect();
    if let Some(t) = check(&objects) {
        return Ok(t);
    }
    let mut rv = list.metadata.resource_version.unwrap_or_default();
    loop {
        let mut wp = WatchParams::default().timeout(60);
        if let Some(l) = &params.label_selector {
            wp = wp.labels(l);
        }
        if let Some(f) = &params.field_selector {
            wp = wp.fields(f);
        }
        let mut stream = api.watch(&wp, &rv).await?.boxed();
        while let Some(ev) = stream.try_next().await? {
            match ev {
                WatchEvent::Added(o) | WatchEvent::Modified(o) => {
                    rv = o.metadata.resource_version.clone().unwrap_or(rv);
                    state.insert(o.metadata.name.clone().unwrap_or_default(), o);
                }
                WatchEvent::Deleted(o) => {
                    rv = o.metadata.resource_version.clone().unwrap_or(rv);
                    state.remove(o.metadata.name.as_deref().unwrap_or_default());
                }
                WatchEvent::Bookmark(b) => {
                    rv = b.metadata.resource_version;
                    continue;
                }
                // Expired or broken: list again and start over.
                WatchEvent::Error(e) => return Err(kube::Error::Service(e.message.into())),
            }
            let objects: Vec<DynamicObject> = state.values().cloned().collect();
            if let Some(t) = check(&objects) {
                return Ok(t);
            }
        }
        // The server closed the watch (timeout): resume from the last revision.
    }
}

/// How a [`never`] watch was broken.
#[derive(Debug, thiserror::Error)]
pub enum Broken {
    /// The forbidden thing happened; the objects when it did.
    #[error("it happened")]
    Happened(Vec<DynamicObject>),
    /// The watch itself failed.
    #[error(transparent)]
    Wait(WaitError),
}

/// Watches for `window` and fails as soon as `bad` holds: proof that something did *not*
/// happen during the whole window. Returns the objects at the end.
pub async fn never<F>(
    api: &Api<DynamicObject>,
    params: &ListParams,
    what: &str,
    window: Duration,
    mut bad: F,
) -> Result<Vec<DynamicObject>, Broken>
where
    F: FnMut(&[DynamicObject]) -> bool,
{
    let mut last = Vec::new();
    let outcome = until(api, params, what, window, |objs| {
        last = objs.to_vec();
        bad(objs).then(|| objs.to_vec())
    })
    .await;
    match outcome {
        Ok(seen) => Err(Broken::Happened(seen)),
        Err(WaitError::Timeout { .. }) => Ok(last),
        Err(e) => Err(Broken::Wait(e)),
    }
}
