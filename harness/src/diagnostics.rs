//! What a failed expectation prints: the objects involved (as YAML) and recent events.
//!
//! Entry points: [`yaml_of`], [`recent_events`], [`explain`].

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, DynamicObject, ListParams};

use crate::world::KubeWorld;

/// How many lines of YAML one failure message shows at most.
const MAX_LINES: usize = 300;

/// The objects as YAML documents, without managedFields, truncated to stay readable.
pub fn yaml_of(objects: &[DynamicObject]) -> String {
    if objects.is_empty() {
        return "(none)".into();
    }
    let docs: Vec<String> = objects
        .iter()
        .map(|o| {
            let mut o = o.clone();
            o.metadata.managed_fields = None;
            serde_yaml::to_string(&o).unwrap_or_else(|e| format!("(unprintable: {e})"))
        })
        .collect();
    truncate(&docs.join("---\n"))
}

fn truncate(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= MAX_LINES {
        return text.to_string();
    }
    format!(
        "{}\n... ({} more lines)",
        lines[..MAX_LINES].join("\n"),
        lines.len() - MAX_LINES
    )
}

/// The namespace's events, oldest first, one line each as `kubectl get events` shows them.
pub async fn recent_events(world: &KubeWorld) -> String {
    let Ok(client) = world.client() else {
        return "(no cluster)".into();
    };
    let api: Api<Event> = Api::namespaced(client, &world.namespace);
    match api.list(&ListParams::default()).await {
        Ok(list) if list.items.is_empty() => "(no events)".into(),
        Ok(list) => {
            let mut items = list.items;
            items.sort_by_key(|e| {
                e.metadata
                    .resource_version
                    .clone()
                    .and_then(|r| r.parse::<u64>().ok())
            });
            let lines: Vec<String> = items
                .iter()
                .rev()
                .take(40)
                .rev()
                .map(|e| {
                    format!(
                        "{:<8} {:<20} {}/{}: {}",
                        e.type_.as_deref().unwrap_or(""),
                        e.reason.as_deref().unwrap_or(""),
                        e.involved_object.kind.as_deref().unwrap_or(""),
                        e.involved_object.name.as_deref().unwrap_or(""),
                        e.message.as_deref().unwrap_or("")
                    )
                })
                .collect();
            lines.join("\n")
        }
        Err(e) => format!("(cannot list events: {e})"),
    }
}

/// An explanation to append to a failure: the named object (or all objects of the kind in
/// the namespace when `name` is empty) and the recent events.
pub async fn explain(world: &KubeWorld, kind: &str, name: &str) -> String {
    let objects = match world.api(kind) {
        Ok((_, api)) if name.is_empty() => api
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default(),
        Ok((_, api)) => api.get_opt(name).await.ok().flatten().into_iter().collect(),
        Err(e) => return format!("(cannot explain {kind}: {e})"),
    };
    format!(
        "--- {kind} {name} as it is now ---\n{}\n--- recent events in {} ---\n{}",
        yaml_of(&objects),
        world.namespace,
        recent_events(world).await
    )
}
