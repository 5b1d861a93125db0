//! Where the kubelet's Events go: the one small [`EventSink`] trait, implemented by
//! refkube-common's [`EventRecorder`] (posting core/v1 Events) and by [`MemoryEvents`]
//! (tests without an API server). Also the event reasons and message formats.

use std::sync::{Arc, Mutex, PoisonError};

use k8s_openapi::api::core::v1::ObjectReference;
use refkube_common::events::EventRecorder;

/// The kubelet's component name in events.
pub const COMPONENT: &str = "kubelet";

/// Event reasons the kubelet posts (`pkg/kubelet/events/event.go`).
pub mod reason {
    /// Image already present / pulled.
    pub const PULLED: &str = "Pulled";
    /// Pulling an image.
    pub const PULLING: &str = "Pulling";
    /// Container created.
    pub const CREATED: &str = "Created";
    /// Container started.
    pub const STARTED: &str = "Started";
    /// Container being stopped.
    pub const KILLING: &str = "Killing";
    /// Probe failed.
    pub const UNHEALTHY: &str = "Unhealthy";
    /// Crash loop or image pull back-off.
    pub const BACK_OFF: &str = "BackOff";
    /// Pulling, creating or starting failed.
    pub const FAILED: &str = "Failed";
    /// The sandbox could not be created.
    pub const FAILED_CREATE_POD_SANDBOX: &str = "FailedCreatePodSandBox";
    /// The sandbox died (or changed) and is replaced.
    pub const SANDBOX_CHANGED: &str = "SandboxChanged";
    /// A volume could not be filled.
    pub const FAILED_MOUNT: &str = "FailedMount";
    /// The node registered / is ready.
    pub const NODE_READY: &str = "NodeReady";
    /// The kubelet started.
    pub const STARTING: &str = "Starting";
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// The object the event is about.
    pub object: ObjectReference,
    /// `Normal` or `Warning`.
    pub type_: String,
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
}

/// Receives the kubelet's events. Posting is best effort: a lost event never stops a pod.
#[async_trait::async_trait]
pub trait EventSink: Send + Sync {
    /// Records one event.
    async fn record(&self, object: &ObjectReference, type_: &str, reason: &str, message: &str);
}

#[async_trait::async_trait]
impl EventSink for EventRecorder {
    async fn record(&self, object: &ObjectReference, type_: &str, reason: &str, message: &str) {
        if let Err(e) = EventRecorder::record(self, object, type_, reason, message).await {
            tracing::debug!(error = %e, reason, "event not posted");
        }
    }
}

/// Keeps events in memory (for tests and for a kubelet without an API server).
#[derive(Debug, Default, Clone)]
pub struct MemoryEvents {
    events: Arc<Mutex<Vec<RecordedEvent>>>,
}

impl MemoryEvents {
    /// An empty sink.
    pub fn new() -> Self {
        MemoryEvents::default()
    }

    /// The events so far.
    pub fn events(&self) -> Vec<RecordedEvent> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait::async_trait]
impl EventSink for MemoryEvents {
    async fn record(&self, object: &ObjectReference, type_: &str, reason: &str, message: &str) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(RecordedEvent {
                object: object.clone(),
                type_: type_.to_string(),
                reason: reason.to_string(),
                message: message.to_string(),
            });
    }
}
