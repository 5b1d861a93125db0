//! Events a plan asks for, and the sink that posts them through
//! `refkube_common::events::EventRecorder`. Entry point: [`EventSink::emit`].

use k8s_openapi::api::core::v1::ObjectReference;
use refkube_common::events::EventRecorder;

/// `Normal` or `Warning`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// Something expected happened.
    Normal,
    /// Something went wrong.
    Warning,
}

/// One event a pure plan wants recorded about the object it reconciles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedEvent {
    /// Normal or Warning.
    pub type_: EventType,
    /// Upstream's CamelCase reason, e.g. `SuccessfulCreate`.
    pub reason: String,
    /// Upstream's message, e.g. `Created pod: web-abcde`.
    pub message: String,
}

impl PlannedEvent {
    /// A Normal event.
    pub fn normal(reason: &str, message: impl Into<String>) -> Self {
        Self {
            type_: EventType::Normal,
            reason: reason.into(),
            message: message.into(),
        }
    }

    /// A Warning event.
    pub fn warning(reason: &str, message: impl Into<String>) -> Self {
        Self {
            type_: EventType::Warning,
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// Posts events; a failure to post is logged, never fails the sync (as upstream).
#[derive(Clone, Debug)]
pub struct EventSink {
    recorder: EventRecorder,
}

impl EventSink {
    /// Posts as `component` (`kube-controller-manager` sources its events per controller,
    /// e.g. `replicaset-controller`).
    pub fn new(client: kube::Client, component: &str, host: &str) -> Self {
        Self {
            recorder: EventRecorder::new(client, component, host),
        }
    }

    /// Records `event` about `object`.
    pub async fn emit(&self, object: &ObjectReference, event: &PlannedEvent) {
        let result = match event.type_ {
            EventType::Normal => {
                self.recorder
                    .normal(object, &event.reason, &event.message)
                    .await
            }
            EventType::Warning => {
                self.recorder
                    .warning(object, &event.reason, &event.message)
                    .await
            }
        };
        if let Err(e) = result {
            tracing::warn!(reason = %event.reason, error = %e, "could not record event");
        }
    }

    /// Records several events about `object`, in order.
    pub async fn emit_all(&self, object: &ObjectReference, events: &[PlannedEvent]) {
        for e in events {
            self.emit(object, e).await;
        }
    }
}
