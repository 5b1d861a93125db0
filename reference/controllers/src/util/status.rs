//! Status writes the way upstream's controllers make them: `UpdateStatus`, a PUT of the
//! whole object to its `/status` subresource. Their `system:controller:*` roles grant
//! only `update` on `<resource>/status`, so a PATCH there is forbidden once each
//! controller runs as its own service account.
//!
//! Entry point: [`update_status`]. A status given as a merge patch is applied with the
//! JSON merge patch (RFC 7386) the API server's `patch` module applies (`json_patch`).

use kube::api::{Api, PostParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn with_status<K: Serialize + DeserializeOwned>(obj: &K, status: &Value) -> Result<K, kube::Error> {
    let mut v = serde_json::to_value(obj).map_err(kube::Error::SerdeError)?;
    json_patch::merge(&mut v["status"], status);
    serde_json::from_value(v).map_err(kube::Error::SerdeError)
}

/// Writes `status` (the new status, or a merge patch of it) onto `live` (the object as
/// the controller last saw it) with an update of `/status`. A conflict (a stale
/// `live`) is retried once on a fresh read, as upstream's ReplicaSet and DaemonSet
/// controllers do; a further one is returned so the key is re-queued.
pub async fn update_status<K>(api: &Api<K>, live: &K, status: &Value) -> Result<K, kube::Error>
where
    K: Resource + Clone + Serialize + DeserializeOwned + std::fmt::Debug,
{
    let name = live.name_any();
    let pp = PostParams::default();
    match api
        .replace_status(&name, &pp, &with_status(live, status)?)
        .await
    {
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let fresh = api.get(&name).await?;
            api.replace_status(&name, &pp, &with_status(&fresh, status)?)
                .await
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_merge_patch_keeps_unnamed_fields_removes_nulls_and_replaces_arrays() {
        let mut status = json!({"replicas": 1, "readyReplicas": 1, "conditions": [{"type": "A"}]});
        json_patch::merge(
            &mut status,
            &json!({"replicas": 3, "readyReplicas": null, "conditions": []}),
        );
        assert_eq!(status, json!({"replicas": 3, "conditions": []}));
        let mut absent = Value::Null;
        json_patch::merge(&mut absent, &json!({"phase": "Bound"}));
        assert_eq!(absent, json!({"phase": "Bound"}));
    }

    #[test]
    fn the_status_is_replaced_on_a_copy_of_the_object() {
        use k8s_openapi::api::core::v1::Namespace;
        let ns: Namespace =
            serde_json::from_value(json!({"metadata": {"name": "a", "resourceVersion": "7"}, "status": {"phase": "Active"}}))
                .unwrap_or_default();
        let out = with_status(&ns, &json!({"phase": "Terminating"})).unwrap_or_default();
        assert_eq!(out.metadata.resource_version.as_deref(), Some("7"));
        assert_eq!(
            out.status.and_then(|s| s.phase).as_deref(),
            Some("Terminating")
        );
    }
}
