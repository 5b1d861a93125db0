//! The ServiceAccount admission plugin on pod creation (upstream's
//! `plugin/pkg/admission/serviceaccount` with BoundServiceAccountTokenVolume): the pod
//! runs as `default` unless it names an account, and unless `automountServiceAccountToken`
//! says no (the pod's word first, then the account's), every container mounts the
//! projected volume `kube-api-access-<5 random>` read-only at
//! `/var/run/secrets/kubernetes.io/serviceaccount`: a token for the pod, the cluster's
//! CA (ConfigMap `kube-root-ca.crt`) and the namespace. Mirror pods may not refer to
//! accounts at all.
//!
//! Entry point: [`admit`]; the pod changes are the pure [`mutate`].
//!
//! Difference from upstream: a pod naming an account that does not exist is admitted
//! (upstream answers 403, after retrying `default` for about a second), because the
//! reference's API server also runs without a controller manager to create `default`;
//! the kubelet then waits for the account before it can fill the volume.

use refkube_resources::ResourceInfo;
use serde_json::{Value, json};

use crate::state::AppState;
use crate::status::ApiError;

pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";
/// Prefix of the generated volume name (`ServiceAccountVolumeName` + `-`).
pub const VOLUME_PREFIX: &str = "kube-api-access-";
/// Where every container finds the token (`DefaultAPITokenMountPath`).
pub const MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The ConfigMap the root CA publisher keeps in every namespace.
pub const ROOT_CA_CONFIG_MAP: &str = "kube-root-ca.crt";
/// Marks a mirror pod (`kubernetes.io/config.mirror`).
pub const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

pub const MIRROR_ACCOUNT: &str = "a mirror pod may not reference service accounts";
pub const MIRROR_SECRET: &str = "a mirror pod may not reference secrets";
pub const MIRROR_PROJECTION: &str =
    "a mirror pod may not use ServiceAccountToken volume projections";

/// The projected volume upstream's `TokenVolumeSource` describes, with the defaulted
/// mode clients read back.
pub fn token_volume(name: &str) -> Value {
    json!({
        "name": name,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": super::tokenrequest::WARN_ONLY_EXPIRATION_SECONDS, "path": "token"}},
                {"configMap": {"name": ROOT_CA_CONFIG_MAP, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
        },
    })
}

/// The pod's `automountServiceAccountToken`, else the account's, else true.
pub fn should_automount(pod: &Value, account: Option<&Value>) -> bool {
    pod["spec"]["automountServiceAccountToken"]
        .as_bool()
        .or_else(|| account.and_then(|a| a["automountServiceAccountToken"].as_bool()))
        .unwrap_or(true)
}

/// Why a mirror pod is refused, if it is.
pub fn mirror_refusal(pod: &Value) -> Option<&'static str> {
    let spec = &pod["spec"];
    if !spec["serviceAccountName"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        return Some(MIRROR_ACCOUNT);
    }
    let volumes = spec["volumes"].as_array().cloned().unwrap_or_default();
    if volumes.iter().any(|v| v.get("secret").is_some()) {
        return Some(MIRROR_SECRET);
    }
    let projects_token = volumes.iter().any(|v| {
        v["projected"]["sources"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s.get("serviceAccountToken").is_some())
    });
    projects_token.then_some(MIRROR_PROJECTION)
}

/// Adds the token volume (named by `volume_name`, unless one is there already) and its
/// mount to every (init) container without a mount at [`MOUNT_PATH`].
pub fn mount_token(pod: &mut Value, volume_name: impl FnOnce() -> String) {
    let spec = &mut pod["spec"];
    let existing = spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str())
        .find(|n| n.starts_with(VOLUME_PREFIX))
        .map(str::to_string);
    let name = existing.clone().unwrap_or_else(volume_name);
    let mut needed = false;
    for list in ["initContainers", "containers"] {
        let containers = spec.get_mut(list).and_then(Value::as_array_mut);
        for c in containers.into_iter().flatten() {
            let mounts = c["volumeMounts"].as_array().cloned().unwrap_or_default();
            if mounts.iter().any(|m| m["mountPath"] == MOUNT_PATH) {
                continue;
            }
            let mut mounts = mounts;
            mounts.push(json!({"name": name, "readOnly": true, "mountPath": MOUNT_PATH}));
            c["volumeMounts"] = Value::Array(mounts);
            needed = true;
        }
    }
    if existing.is_none() && needed {
        let mut volumes = spec["volumes"].as_array().cloned().unwrap_or_default();
        volumes.push(token_volume(&name));
        spec["volumes"] = Value::Array(volumes);
    }
}

/// The whole change to a new (non-mirror) pod given its account (if found).
pub fn mutate(pod: &mut Value, account: Option<&Value>, volume_name: impl FnOnce() -> String) {
    if should_automount(pod, account) {
        mount_token(pod, volume_name);
    }
    let has_pull_secrets = pod["spec"]["imagePullSecrets"]
        .as_array()
        .is_some_and(|a| !a.is_empty());
    let account_secrets: Vec<Value> = account
        .and_then(|a| a["imagePullSecrets"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .map(|n| json!({"name": n}))
        .collect();
    if !has_pull_secrets && !account_secrets.is_empty() {
        pod["spec"]["imagePullSecrets"] = Value::Array(account_secrets);
    }
}

/// Runs the plugin on a created object (only pods are touched).
pub async fn admit(state: &AppState, info: &ResourceInfo, obj: &mut Value) -> Result<(), ApiError> {
    if !info.group.is_empty() || info.plural != "pods" || !obj["spec"].is_object() {
        return Ok(());
    }
    let name = crate::keys::meta_str(obj, "name").to_string();
    if obj["metadata"]["annotations"]
        .get(MIRROR_ANNOTATION)
        .is_some()
    {
        return match mirror_refusal(obj) {
            Some(why) => Err(ApiError::forbidden(info, &name, why)),
            None => Ok(()),
        };
    }
    let account = match obj["spec"]["serviceAccountName"].as_str() {
        Some(a) if !a.is_empty() => a.to_string(),
        _ => DEFAULT_SERVICE_ACCOUNT.to_string(),
    };
    // The deprecated field mirrors the real one, as upstream's v1 conversion writes it.
    obj["spec"]["serviceAccountName"] = json!(account);
    obj["spec"]["serviceAccount"] = json!(account);
    let namespace = crate::keys::meta_str(obj, "namespace").to_string();
    let found = super::get(state, "serviceaccounts", Some(&namespace), &account).await?;
    mutate(obj, found.as_ref(), || {
        crate::handlers::create::generate_name(VOLUME_PREFIX)
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> Value {
        json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": {
            "initContainers": [{"name": "init"}],
            "containers": [{"name": "a"}, {"name": "b", "volumeMounts": [{"name": "mine", "mountPath": MOUNT_PATH}]}],
            "volumes": [{"name": "mine", "emptyDir": {}}],
        }})
    }

    #[test]
    fn every_container_without_its_own_mount_gets_the_projected_volume() {
        let mut p = pod();
        mutate(&mut p, None, || "kube-api-access-abcde".into());
        let volumes = p["spec"]["volumes"].as_array().unwrap();
        assert_eq!(volumes.len(), 2);
        assert_eq!(volumes[1], token_volume("kube-api-access-abcde"));
        let sources = &volumes[1]["projected"]["sources"];
        assert_eq!(sources[0]["serviceAccountToken"]["expirationSeconds"], 3607);
        assert_eq!(sources[1]["configMap"]["name"], "kube-root-ca.crt");
        assert_eq!(
            sources[2]["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"],
            "metadata.namespace"
        );
        let mount =
            json!({"name": "kube-api-access-abcde", "readOnly": true, "mountPath": MOUNT_PATH});
        assert_eq!(
            p["spec"]["initContainers"][0]["volumeMounts"],
            json!([mount])
        );
        assert_eq!(p["spec"]["containers"][0]["volumeMounts"], json!([mount]));
        assert_eq!(
            p["spec"]["containers"][1]["volumeMounts"],
            json!([{"name": "mine", "mountPath": MOUNT_PATH}])
        );
        // Admitting again (an update through create, a retry) adds nothing.
        let before = p.clone();
        mount_token(&mut p, || "kube-api-access-zzzzz".into());
        assert_eq!(p, before);
    }

    #[test]
    fn the_pod_then_the_account_may_turn_automounting_off() {
        let off = json!({"automountServiceAccountToken": false});
        let on = json!({"automountServiceAccountToken": true});
        let mut p = pod();
        assert!(should_automount(&p, None));
        assert!(!should_automount(&p, Some(&off)));
        p["spec"]["automountServiceAccountToken"] = json!(true);
        assert!(should_automount(&p, Some(&off)));
        p["spec"]["automountServiceAccountToken"] = json!(false);
        assert!(!should_automount(&p, Some(&on)));
        let before = p.clone();
        mutate(&mut p, Some(&on), || "kube-api-access-abcde".into());
        assert_eq!(p, before);
    }

    #[test]
    fn the_accounts_pull_secrets_fill_an_empty_list() {
        let sa = json!({"imagePullSecrets": [{"name": "regcred"}]});
        let mut p = pod();
        mutate(&mut p, Some(&sa), || "kube-api-access-abcde".into());
        assert_eq!(p["spec"]["imagePullSecrets"], json!([{"name": "regcred"}]));
    }

    #[test]
    fn mirror_pods_may_not_name_accounts_secrets_or_token_projections() {
        let mut p = pod();
        assert_eq!(mirror_refusal(&p), None);
        p["spec"]["serviceAccountName"] = json!("default");
        assert_eq!(mirror_refusal(&p), Some(MIRROR_ACCOUNT));
        let mut p = pod();
        mount_token(&mut p, || "kube-api-access-abcde".into());
        assert_eq!(mirror_refusal(&p), Some(MIRROR_PROJECTION));
    }
}
