//! The one watch loop every informer is built on: kube-runtime's watcher with its default
//! backoff, errors logged and skipped (the watcher itself lists again or resumes).
//! Entry points: [`events`], [`until_cancelled`].

use std::fmt::Debug;

use futures::{Stream, StreamExt};
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

/// Every event of the objects `api` and `config` select, for as long as the stream is
/// polled. A failed list or watch is retried after kube-runtime's default backoff and
/// logged with `what` (the resource, for the reader of the log).
pub fn events<K>(
    api: Api<K>,
    config: watcher::Config,
    what: impl Into<String>,
) -> impl Stream<Item = Event<K>> + Send
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let what = what.into();
    watcher::watcher(api, config)
        .default_backoff()
        .filter_map(move |event| {
            let event = match event {
                Ok(e) => Some(e),
                Err(error) => {
                    tracing::warn!(resource = %what, %error, "watch failed; retrying with backoff");
                    None
                }
            };
            std::future::ready(event)
        })
}

/// Runs `task` until it ends or `stop` is cancelled.
pub async fn until_cancelled(stop: CancellationToken, task: impl Future<Output = ()>) {
    tokio::select! {
        () = stop.cancelled() => {}
        () = task => {}
    }
}
