//! `RealPodControl` with expectations: creates pods in slow-start batches and deletes
//! them, recording upstream's events about the owner and keeping expectations honest
//! (failed or skipped writes are "observed" at once). Entry points: [`PodControl::create`],
//! [`PodControl::delete`].

use std::sync::Arc;

use futures::future::join_all;
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams};

use super::events::{EventSink, PlannedEvent};
use super::expectations::Expectations;
use crate::util::pods;

/// Event reason for a created pod.
pub const SUCCESSFUL_CREATE: &str = "SuccessfulCreate";
/// Event reason for a failed creation.
pub const FAILED_CREATE: &str = "FailedCreate";
/// Event reason for a deleted pod.
pub const SUCCESSFUL_DELETE: &str = "SuccessfulDelete";
/// Event reason for a failed deletion.
pub const FAILED_DELETE: &str = "FailedDelete";

/// `Created pod: <name>`.
pub fn created_event(pod_name: &str) -> PlannedEvent {
    PlannedEvent::normal(SUCCESSFUL_CREATE, format!("Created pod: {pod_name}"))
}

/// `Error creating: <err>`.
pub fn create_failed_event(err: &str) -> PlannedEvent {
    PlannedEvent::warning(FAILED_CREATE, format!("Error creating: {err}"))
}

/// `Deleted pod: <name>`.
pub fn deleted_event(pod_name: &str) -> PlannedEvent {
    PlannedEvent::normal(SUCCESSFUL_DELETE, format!("Deleted pod: {pod_name}"))
}

/// `Error deleting: <err>`.
pub fn delete_failed_event(err: &str) -> PlannedEvent {
    PlannedEvent::warning(FAILED_DELETE, format!("Error deleting: {err}"))
}

/// `slowStartBatch` sizes: 1, 2, 4, ... until `count` is covered.
pub fn slow_start_batches(count: usize, initial: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut remaining = count;
    let mut batch = initial.max(1).min(remaining);
    while remaining > 0 {
        out.push(batch);
        remaining -= batch;
        batch = (batch * 2).min(remaining);
    }
    out
}

/// The API's message for API errors (as Go prints a StatusError), else the client error.
pub fn error_text(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

/// Creates and deletes pods for one controller.
#[derive(Clone)]
pub struct PodControl {
    client: kube::Client,
    events: EventSink,
    expectations: Arc<Expectations>,
}

impl std::fmt::Debug for PodControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodControl").finish_non_exhaustive()
    }
}

impl PodControl {
    /// Pod control for a controller with these expectations.
    pub fn new(client: kube::Client, events: EventSink, expectations: Arc<Expectations>) -> Self {
        Self {
            client,
            events,
            expectations,
        }
    }

    /// The controller's expectations.
    pub fn expectations(&self) -> &Expectations {
        &self.expectations
    }

    /// Creates `pods` (each with its namespace set) in slow-start batches, stopping after
    /// the first batch with an error; returns that error's text.
    pub async fn create(
        &self,
        key: &str,
        pods: Vec<Pod>,
        about: &ObjectReference,
    ) -> Option<String> {
        let n = pods.len();
        self.expectations.expect_creations(key, n);
        let mut successes = 0usize;
        let mut first_error = None;
        let mut rest = pods.into_iter();
        for batch in slow_start_batches(n, 1) {
            let chunk: Vec<Pod> = rest.by_ref().take(batch).collect();
            let pp = PostParams::default();
            let results = join_all(chunk.iter().map(|p| {
                let api: Api<Pod> = Api::namespaced(
                    self.client.clone(),
                    p.metadata.namespace.as_deref().unwrap_or_default(),
                );
                let pp = &pp;
                async move { api.create(pp, p).await }
            }))
            .await;
            for r in results {
                match r {
                    Ok(p) => {
                        successes += 1;
                        self.events.emit(about, &created_event(&p.name_any())).await;
                    }
                    // Creating into a terminating namespace is expected during teardown.
                    Err(kube::Error::Api(s))
                        if s.reason == "Forbidden" && s.message.contains("being terminated") =>
                    {
                        successes += 1
                    }
                    Err(e) => {
                        let text = error_text(&e);
                        self.events.emit(about, &create_failed_event(&text)).await;
                        first_error.get_or_insert(text);
                    }
                }
            }
            if first_error.is_some() {
                break;
            }
        }
        // Creations that failed or were never attempted will never be observed.
        self.expectations.lower_creations(key, n - successes);
        first_error
    }

    /// Deletes `victims` concurrently; returns the first error's text (NotFound is fine).
    pub async fn delete(
        &self,
        key: &str,
        victims: &[Arc<Pod>],
        about: &ObjectReference,
    ) -> Option<String> {
        self.expectations
            .expect_deletions(key, victims.iter().map(|p| pods::key(p)));
        let results = join_all(victims.iter().map(|p| {
            let api: Api<Pod> =
                Api::namespaced(self.client.clone(), &p.namespace().unwrap_or_default());
            async move { (p, api.delete(&p.name_any(), &DeleteParams::default()).await) }
        }))
        .await;
        let mut first_error = None;
        for (pod, r) in results {
            match r {
                Ok(_) => {
                    self.events
                        .emit(about, &deleted_event(&pod.name_any()))
                        .await
                }
                Err(e) => {
                    self.expectations.deletion_observed(key, &pods::key(pod));
                    if !matches!(&e, kube::Error::Api(s) if s.code == 404) {
                        let text = error_text(&e);
                        self.events.emit(about, &delete_failed_event(&text)).await;
                        first_error.get_or_insert(text);
                    }
                }
            }
        }
        first_error
    }

    /// Records an arbitrary event about the owner.
    pub async fn event(&self, about: &ObjectReference, event: &PlannedEvent) {
        self.events.emit(about, event).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_batches_double_from_one() {
        assert_eq!(slow_start_batches(10, 1), vec![1, 2, 4, 3]);
        assert_eq!(slow_start_batches(1, 1), vec![1]);
        assert_eq!(slow_start_batches(0, 1), Vec::<usize>::new());
        assert_eq!(slow_start_batches(15, 1), vec![1, 2, 4, 8]);
    }

    #[test]
    fn events_use_upstream_reasons_and_messages() {
        assert_eq!(created_event("web-abc").message, "Created pod: web-abc");
        assert_eq!(created_event("web-abc").reason, "SuccessfulCreate");
        assert_eq!(deleted_event("web-abc").message, "Deleted pod: web-abc");
        assert_eq!(create_failed_event("x").message, "Error creating: x");
        assert_eq!(delete_failed_event("x").reason, "FailedDelete");
    }
}
