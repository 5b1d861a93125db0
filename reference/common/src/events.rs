//! Event recording: posts core/v1 Events the way client-go's legacy recorder
//! (`tools/record/event.go` makeEvent) shapes them. Entry point: [`EventRecorder`].
//!
//! ```ignore
//! let recorder = EventRecorder::new(client, "default-scheduler", "host-1");
//! recorder.normal(&pod.object_ref(&()), "Scheduled", "Successfully assigned ns/p to n").await?;
//! ```
//!
//! Upstream aggregates and rate-limits repeated events in a background broadcaster; the
//! reference posts each event once (count 1), which is what a fresh event looks like
//! upstream too. Posting is awaited so callers and tests can rely on ordering.

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, PostParams};

/// `type: Normal`.
pub const EVENT_TYPE_NORMAL: &str = "Normal";
/// `type: Warning`.
pub const EVENT_TYPE_WARNING: &str = "Warning";
/// Where cluster-scoped objects' events go (upstream `metav1.NamespaceDefault`).
const DEFAULT_NAMESPACE: &str = "default";

/// Errors from posting an event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The API server refused or could not be reached.
    #[error("posting event {name}: {source}")]
    Post {
        /// The event's generated name.
        name: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
}

/// Posts core/v1 Events on behalf of one component instance.
#[derive(Clone)]
pub struct EventRecorder {
    client: Client,
    source: EventSource,
}

impl std::fmt::Debug for EventRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventRecorder")
            .field("source", &self.source)
            .finish()
    }
}

impl EventRecorder {
    /// A recorder whose events carry `source: {component, host}` and
    /// `reportingComponent: component`, `reportingInstance: host`.
    pub fn new(client: Client, component: impl Into<String>, host: impl Into<String>) -> Self {
        EventRecorder {
            client,
            source: EventSource {
                component: Some(component.into()),
                host: Some(host.into()),
            },
        }
    }

    /// Posts a `Normal` event about `object`.
    pub async fn normal(
        &self,
        object: &ObjectReference,
        reason: &str,
        message: &str,
    ) -> Result<Event, EventError> {
        self.record(object, EVENT_TYPE_NORMAL, reason, message)
            .await
    }

    /// Posts a `Warning` event about `object`.
    pub async fn warning(
        &self,
        object: &ObjectReference,
        reason: &str,
        message: &str,
    ) -> Result<Event, EventError> {
        self.record(object, EVENT_TYPE_WARNING, reason, message)
            .await
    }

    /// Posts an event of any type.
    pub async fn record(
        &self,
        object: &ObjectReference,
        type_: &str,
        reason: &str,
        message: &str,
    ) -> Result<Event, EventError> {
        let event = make_event(
            &self.source,
            object,
            type_,
            reason,
            message,
            Timestamp::now(),
        );
        let namespace = event.metadata.namespace.clone().unwrap_or_default();
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let name = event.metadata.name.clone().unwrap_or_default();
        api.create(&PostParams::default(), &event)
            .await
            .map_err(|source| EventError::Post { name, source })
    }
}

/// Builds the Event exactly as upstream's makeEvent does: name `<object>.<nanos in hex>`,
/// the object's namespace (or `default` for cluster-scoped objects), count 1 and equal
/// first/last timestamps.
pub fn make_event(
    source: &EventSource,
    object: &ObjectReference,
    type_: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> Event {
    let namespace = object
        .namespace
        .clone()
        .filter(|ns| !ns.is_empty())
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
    let object_name = object.name.clone().unwrap_or_default();
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{object_name}.{:x}", now.as_nanosecond())),
            namespace: Some(namespace),
            ..ObjectMeta::default()
        },
        involved_object: object.clone(),
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        count: Some(1),
        type_: Some(type_.to_string()),
        source: Some(source.clone()),
        reporting_component: source.component.clone(),
        reporting_instance: source.host.clone(),
        ..Event::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod_ref() -> ObjectReference {
        ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            namespace: Some("ns1".into()),
            name: Some("web-0".into()),
            uid: Some("u1".into()),
            ..ObjectReference::default()
        }
    }

    #[test]
    fn an_event_is_named_after_its_object_and_the_time_in_hex() {
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let source = EventSource {
            component: Some("default-scheduler".into()),
            host: Some("h".into()),
        };
        let event = make_event(&source, &pod_ref(), "Normal", "Scheduled", "msg", now);
        assert_eq!(
            event.metadata.name.as_deref(),
            Some("web-0.17979cfe362a0000")
        );
        assert_eq!(event.metadata.namespace.as_deref(), Some("ns1"));
        assert_eq!(event.count, Some(1));
        assert_eq!(event.first_timestamp, event.last_timestamp);
        assert_eq!(
            event.reporting_component.as_deref(),
            Some("default-scheduler")
        );
        assert_eq!(event.reporting_instance.as_deref(), Some("h"));
        assert_eq!(event.involved_object, pod_ref());
        assert_eq!(event.type_.as_deref(), Some("Normal"));
    }

    #[test]
    fn events_about_cluster_scoped_objects_go_to_the_default_namespace() {
        let node = ObjectReference {
            kind: Some("Node".into()),
            name: Some("n1".into()),
            ..ObjectReference::default()
        };
        let event = make_event(
            &EventSource::default(),
            &node,
            "Warning",
            "NodeNotReady",
            "m",
            Timestamp::now(),
        );
        assert_eq!(event.metadata.namespace.as_deref(), Some("default"));
    }
}
