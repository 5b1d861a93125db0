//! The kubelet server's `/pods` and `/runningpods/`: what this kubelet runs, as upstream
//! answers them (a `PodList` of the pods its pod manager holds, API and static pods
//! alike; and of the pods with running containers, reduced to their names, uids and
//! containers). The driver publishes its pods into a [`PodSnapshot`] after each change.

use std::sync::{Arc, RwLock};

use axum::Json;
use axum::extract::State;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

/// The pods the kubelet currently runs, shared between its driver and its server.
pub type PodSnapshot = Arc<RwLock<Vec<Pod>>>;

fn list(items: Vec<Value>) -> Value {
    json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items})
}

/// The body of `/pods`.
pub fn pods(snapshot: &[Pod]) -> Value {
    let items = snapshot
        .iter()
        .filter_map(|p| serde_json::to_value(p).ok())
        .map(|mut v| {
            if let Some(m) = v.as_object_mut() {
                m.insert("kind".into(), json!("Pod"));
                m.insert("apiVersion".into(), json!("v1"));
            }
            v
        })
        .collect();
    list(items)
}

/// The body of `/runningpods/`: each pod with a running container, with only what
/// the runtime knows of it.
pub fn running(snapshot: &[Pod]) -> Value {
    let mut items = Vec::new();
    for p in snapshot {
        let statuses = p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.clone())
            .unwrap_or_default();
        let containers: Vec<Value> = statuses
            .iter()
            .filter(|s| s.state.as_ref().is_some_and(|st| st.running.is_some()))
            .map(|s| json!({"name": s.name, "image": s.image, "resources": {}}))
            .collect();
        if containers.is_empty() {
            continue;
        }
        items.push(json!({
            "metadata": {
                "name": p.metadata.name, "namespace": p.metadata.namespace,
                "uid": p.metadata.uid, "creationTimestamp": null,
            },
            "spec": {"containers": containers},
            "status": {},
        }));
    }
    list(items)
}

fn read(snapshot: &PodSnapshot) -> Vec<Pod> {
    snapshot.read().map(|g| g.clone()).unwrap_or_default()
}

/// `GET /pods`.
pub async fn get_pods(State(snapshot): State<PodSnapshot>) -> Json<Value> {
    Json(pods(&read(&snapshot)))
}

/// `GET /runningpods/`.
pub async fn get_running(State(snapshot): State<PodSnapshot>) -> Json<Value> {
    Json(running(&read(&snapshot)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, running: bool) -> Pod {
        let state = if running {
            json!({"running": {"startedAt": "2026-01-01T00:00:00Z"}})
        } else {
            json!({"waiting": {"reason": "ContainerCreating"}})
        };
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
            "spec": {"containers": [{"name": "app", "image": "busybox"}]},
            "status": {"containerStatuses": [{
                "name": "app", "image": "busybox", "imageID": "", "ready": running,
                "restartCount": 0, "state": state,
            }]},
        }))
        .unwrap()
    }

    #[test]
    fn pods_lists_every_pod_and_runningpods_only_running_containers() {
        let snapshot = vec![pod("web", true), pod("new", false)];
        let all = pods(&snapshot);
        assert_eq!(all["kind"], "PodList");
        assert_eq!(all["items"][0]["kind"], "Pod");
        let names: Vec<&str> = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["web", "new"]);
        let r = running(&snapshot);
        assert_eq!(r["items"].as_array().unwrap().len(), 1);
        assert_eq!(r["items"][0]["metadata"]["uid"], "uid-web");
        assert_eq!(
            r["items"][0]["spec"]["containers"],
            json!([{"name": "app", "image": "busybox", "resources": {}}])
        );
    }
}
