//! Waiting by watch with a deadline — never by sleeping.
//!
//! Entry point: [`until`]: list the objects a selector picks, then watch them (kube-runtime's
//! watcher: resumed after a closed watch, listed again after an expired one), re-checking a
//! condition on every change, until it holds or the deadline passes. On timeout the error
//! carries the last state seen, so the failure shows what was observed.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject, ListParams};
use kube::runtime::watcher::{self, Event, ListSemantic};

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
    let result = tokio::time::timeout(deadline, watch(api, params, &mut state, &mut check)).await;
    match result {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(source)) => Err(WaitError::Api {
            what: what.to_string(),
            source,
        }),
        Err(_elapsed) => Err(WaitError::Timeout {
            what: what.to_string(),
            deadline,
            last: state.into_values().collect(),
        }),
    }
}

/// How long to wait before trying again after a broken connection.
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// The watcher's settings for `params`: the same selection, a consistent list (not one
/// served from a watch cache), in one page, and watches the server closes after 60 s.
fn config_for(params: &ListParams) -> watcher::Config {
    let mut config = watcher::Config::default()
        .timeout(60)
        .list_semantic(ListSemantic::MostRecent);
    config.label_selector = params.label_selector.clone();
    config.field_selector = params.field_selector.clone();
    config.page_size = None;
    config
}

/// kube-runtime's watcher over the selection: a list, then watches resumed from the last
/// revision seen, and a new list when the revision expired. `check` runs after the list
/// and after every change, until it holds or the API server refuses a request.
async fn watch<T, F>(
    api: &Api<DynamicObject>,
    params: &ListParams,
    state: &mut BTreeMap<String, DynamicObject>,
    check: &mut F,
) -> Result<T, kube::Error>
where
    F: FnMut(&[DynamicObject]) -> Option<T>,
{
    let stream = watcher::watcher(api.clone(), config_for(params));
    futures::pin_mut!(stream);
    // A (re)list in progress: `state` keeps the last complete view until it is done.
    let mut listing: BTreeMap<String, DynamicObject> = BTreeMap::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(Event::Init) => {
                listing.clear();
                continue;
            }
            Ok(Event::InitApply(o)) => {
                listing.insert(o.metadata.name.clone().unwrap_or_default(), o);
                continue;
            }
            Ok(Event::InitDone) => *state = std::mem::take(&mut listing),
            Ok(Event::Apply(o)) => {
                state.insert(o.metadata.name.clone().unwrap_or_default(), o);
            }
            Ok(Event::Delete(o)) => {
                state.remove(o.metadata.name.as_deref().unwrap_or_default());
            }
            // An error the API server answered a list or a watch with is an answer, and
            // ends the wait.
            Err(watcher::Error::InitialListFailed(e @ kube::Error::Api(_)))
            | Err(watcher::Error::WatchStartFailed(e @ kube::Error::Api(_))) => return Err(e),
            // A connection that failed or broke (an API server replica going away behind
            // a load balancer) is retried, as a reflector does; the watcher resumes or
            // lists again by itself.
            Err(e) => {
                tracing::debug!(error = %e, "wait: watch failed; retrying");
                tokio::time::sleep(RETRY_AFTER).await;
                continue;
            }
        }
        let objects: Vec<DynamicObject> = state.values().cloned().collect();
        if let Some(t) = check(&objects) {
            return Ok(t);
        }
    }
    // The watcher's stream never ends; an end would be a bug in it, not an answer.
    std::future::pending().await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watch_selects_what_the_list_params_select_with_one_consistent_unpaged_list() {
        let params = ListParams::default()
            .labels("app=web")
            .fields("spec.nodeName=n1");
        let config = config_for(&params);
        assert_eq!(config.label_selector.as_deref(), Some("app=web"));
        assert_eq!(config.field_selector.as_deref(), Some("spec.nodeName=n1"));
        assert_eq!(config.list_semantic, ListSemantic::MostRecent);
        assert_eq!(config.page_size, None);
        assert_eq!(config.timeout, Some(60));
        let everything = config_for(&ListParams::default());
        assert!(everything.label_selector.is_none() && everything.field_selector.is_none());
    }
}
