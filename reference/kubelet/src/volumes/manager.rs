//! Filling a pod's projected volumes: one directory per volume under
//! `<root-dir>/pods/<uid>/volumes/kubernetes.io~projected/`, with a token requested for
//! the pod, the ConfigMap keys and downward API fields it names; filled again when a
//! token is due for renewal, removed with the pod. Entry point: [`VolumeManager`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::Pod;

use super::api::VolumeApi;
use super::projected::{self, Plan, Source};
use super::refresh::refresh_after;
use super::writer::{remove_stale, write_file};
use crate::runtime::Mount;

/// A volume could not be filled (the pod waits in `ContainerCreating`, as upstream).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VolumeError {
    /// One volume failed; the message is upstream's `FailedMount` event text.
    #[error("MountVolume.SetUp failed for volume {volume:?} : {message}")]
    SetUp { volume: String, message: String },
}

/// A pod's filled volumes.
#[derive(Debug, Clone, PartialEq)]
pub struct PodVolumes {
    /// What its containers mount.
    pub mounts: Vec<Mount>,
    /// When to fill them again (the first token due for renewal); None: never.
    pub refresh_after: Option<Duration>,
}

/// Fills projected volumes through a [`VolumeApi`].
pub struct VolumeManager {
    api: Arc<dyn VolumeApi>,
    root_dir: PathBuf,
}

impl std::fmt::Debug for VolumeManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VolumeManager")
            .field("root_dir", &self.root_dir)
            .finish_non_exhaustive()
    }
}

fn now_seconds() -> i64 {
    k8s_openapi::jiff::Timestamp::now().as_second()
}

impl VolumeManager {
    /// Volumes live under `root_dir` (the kubelet's `--root-dir`).
    pub fn new(api: Arc<dyn VolumeApi>, root_dir: PathBuf) -> Self {
        VolumeManager { api, root_dir }
    }

    /// The directory holding every pod's directory (hidden from pods, see
    /// [`crate::runtime::SandboxConfig::masked`]).
    pub fn pods_dir(&self) -> PathBuf {
        self.root_dir.join("pods")
    }

    fn pod_dir(&self, uid: &str) -> PathBuf {
        self.pods_dir().join(uid)
    }

    /// Where one projected volume of a pod is written.
    pub fn volume_dir(&self, uid: &str, volume: &str) -> PathBuf {
        self.pod_dir(uid)
            .join("volumes/kubernetes.io~projected")
            .join(volume)
    }

    /// Fills (or refreshes) every projected volume of `pod`.
    pub async fn set_up(&self, pod: &Pod) -> Result<PodVolumes, VolumeError> {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let mut dirs = Vec::new();
        let mut refresh: Option<Duration> = None;
        for plan in projected::plans(pod) {
            let dir = self.volume_dir(&uid, &plan.volume);
            let due = self
                .fill(pod, &plan, &dir)
                .await
                .map_err(|message| VolumeError::SetUp {
                    volume: plan.volume.clone(),
                    message,
                })?;
            refresh = match (refresh, due) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            dirs.push((plan.volume, dir));
        }
        Ok(PodVolumes {
            mounts: projected::mounts(pod, &dirs),
            refresh_after: refresh,
        })
    }

    /// Removes the pod's directory.
    pub fn tear_down(&self, uid: &str) {
        if uid.is_empty() {
            return;
        }
        let dir = self.pod_dir(uid);
        if let Err(e) = std::fs::remove_dir_all(&dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %dir.display(), error = %e, "removing a pod's volumes");
        }
    }

    /// Writes one volume; returns when its token needs renewing.
    async fn fill(&self, pod: &Pod, plan: &Plan, dir: &Path) -> Result<Option<Duration>, String> {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
        let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        let mut refresh = None;
        let target = |rel: &str| {
            projected::safe_join(dir, rel).ok_or_else(|| format!("invalid path {rel:?}"))
        };
        for source in &plan.sources {
            match source {
                Source::Token {
                    path,
                    audience,
                    expiration_seconds,
                } => {
                    let (token, due) = self.token(pod, audience, *expiration_seconds).await?;
                    refresh = Some(due);
                    files.push((target(path)?, token.into_bytes()));
                }
                Source::ConfigMap {
                    name,
                    items,
                    optional,
                } => {
                    let Some(cm) = self.api.config_map(namespace, name).await? else {
                        if *optional {
                            continue;
                        }
                        return Err(format!("configmap {name:?} not found"));
                    };
                    let data = cm.data.unwrap_or_default();
                    let pairs: Vec<(String, String)> = if items.is_empty() {
                        data.keys().map(|k| (k.clone(), k.clone())).collect()
                    } else {
                        items.clone()
                    };
                    for (key, path) in pairs {
                        match data.get(&key) {
                            Some(v) => files.push((target(&path)?, v.clone().into_bytes())),
                            None if *optional => {}
                            None => {
                                return Err(format!(
                                    "configmap references non-existent config key: {key}"
                                ));
                            }
                        }
                    }
                }
                Source::Field { path, field_path } => {
                    let value = projected::field(pod, field_path)
                        .ok_or_else(|| format!("unsupported fieldRef fieldPath {field_path:?}"))?;
                    files.push((target(path)?, value.into_bytes()));
                }
            }
        }
        let written: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
        for (path, content) in files {
            write_file(&path, &content, plan.mode)
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
        }
        remove_stale(dir, &written);
        Ok(refresh)
    }

    /// A token for the pod's service account bound to the pod, and when to renew it.
    async fn token(
        &self,
        pod: &Pod,
        audience: &Option<String>,
        expiration_seconds: i64,
    ) -> Result<(String, Duration), String> {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
        let account = pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.clone())
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "default".into());
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: audience.iter().cloned().collect(),
                expiration_seconds: Some(expiration_seconds),
                bound_object_ref: Some(BoundObjectReference {
                    api_version: Some("v1".into()),
                    kind: Some("Pod".into()),
                    name: pod.metadata.name.clone(),
                    uid: pod.metadata.uid.clone(),
                }),
            },
            ..TokenRequest::default()
        };
        let answer = self
            .api
            .request_token(namespace, &account, &request)
            .await
            .map_err(|e| format!("failed to fetch token: {e}"))?;
        let status = answer
            .status
            .ok_or("failed to fetch token: the answer has no status")?;
        let ttl = answer.spec.expiration_seconds.unwrap_or(expiration_seconds);
        let expires = status.expiration_timestamp.0.as_second();
        Ok((status.token, refresh_after(now_seconds(), expires, ttl)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::authentication::v1::TokenRequestStatus;
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use std::sync::Mutex;

    /// An API with (or without) the account and the CA ConfigMap, recording requests.
    #[derive(Default)]
    struct Fake {
        account: bool,
        ca: bool,
        requests: Mutex<Vec<TokenRequest>>,
    }

    #[async_trait::async_trait]
    impl VolumeApi for Fake {
        async fn request_token(
            &self,
            _namespace: &str,
            account: &str,
            request: &TokenRequest,
        ) -> Result<TokenRequest, String> {
            if !self.account {
                return Err(format!("serviceaccounts {account:?} not found"));
            }
            self.requests.lock().unwrap().push(request.clone());
            let ttl = request.spec.expiration_seconds.unwrap_or(3600);
            let expires = k8s_openapi::jiff::Timestamp::now()
                + k8s_openapi::jiff::SignedDuration::from_secs(ttl);
            let mut answer = request.clone();
            answer.status = Some(TokenRequestStatus {
                token: format!(
                    "jwt-for-{}",
                    request
                        .spec
                        .bound_object_ref
                        .as_ref()
                        .unwrap()
                        .name
                        .as_deref()
                        .unwrap()
                ),
                expiration_timestamp: Time(expires),
            });
            Ok(answer)
        }

        async fn config_map(&self, _ns: &str, name: &str) -> Result<Option<ConfigMap>, String> {
            Ok(self.ca.then(|| ConfigMap {
                data: Some([("ca.crt".to_string(), format!("PEM of {name}"))].into()),
                ..ConfigMap::default()
            }))
        }
    }

    fn pod() -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "shop", "uid": "uid-1"},
            "spec": {
                "serviceAccountName": "default",
                "containers": [{"name": "c", "volumeMounts": [{"name": "kube-api-access-x",
                    "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]}],
                "volumes": [{"name": "kube-api-access-x", "projected": {"defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace",
                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
                ]}}],
            },
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn the_volume_holds_a_pod_bound_token_the_ca_and_the_namespace() {
        let root = tempfile::tempdir().unwrap();
        let api = Arc::new(Fake {
            account: true,
            ca: true,
            ..Fake::default()
        });
        let m = VolumeManager::new(api.clone(), root.path().to_path_buf());
        let v = m.set_up(&pod()).await.unwrap();
        let dir = m.volume_dir("uid-1", "kube-api-access-x");
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
        assert_eq!(read("token"), "jwt-for-web");
        assert_eq!(read("ca.crt"), "PEM of kube-root-ca.crt");
        assert_eq!(read("namespace"), "shop");
        assert_eq!(v.mounts.len(), 1);
        assert_eq!(v.mounts[0].host_path, dir);
        // Renewed at 80% of 3607 s (give or take the second the test takes).
        let due = v.refresh_after.unwrap().as_secs();
        assert!((2884..=2886).contains(&due), "{due}");
        let sent = api.requests.lock().unwrap()[0].clone();
        assert_eq!(sent.spec.expiration_seconds, Some(3607));
        assert!(sent.spec.audiences.is_empty());
        let bound = sent.spec.bound_object_ref.unwrap();
        assert_eq!(
            (bound.kind.as_deref(), bound.uid.as_deref()),
            (Some("Pod"), Some("uid-1"))
        );
        m.tear_down("uid-1");
        assert!(!root.path().join("pods/uid-1").exists());
    }

    #[tokio::test]
    async fn a_missing_account_or_ca_fails_the_mount_with_upstreams_message() {
        let root = tempfile::tempdir().unwrap();
        let no_account = VolumeManager::new(Arc::new(Fake::default()), root.path().into());
        assert_eq!(
            no_account.set_up(&pod()).await.unwrap_err().to_string(),
            "MountVolume.SetUp failed for volume \"kube-api-access-x\" : failed to fetch token: serviceaccounts \"default\" not found"
        );
        let no_ca = Fake {
            account: true,
            ..Fake::default()
        };
        let no_ca = VolumeManager::new(Arc::new(no_ca), root.path().into());
        assert_eq!(
            no_ca.set_up(&pod()).await.unwrap_err().to_string(),
            "MountVolume.SetUp failed for volume \"kube-api-access-x\" : configmap \"kube-root-ca.crt\" not found"
        );
    }
}
