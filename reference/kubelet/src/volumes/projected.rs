//! Which files a pod's projected volumes hold and where its containers mount them,
//! read from the pod spec. Pure. Entry points: [`plans`], [`mounts`].
//!
//! Sources served: `serviceAccountToken`, `configMap` and `downwardAPI` (`fieldRef`),
//! which is what the ServiceAccount admission plugin's `kube-api-access-*` volume uses.
//! Other sources (secrets, cluster trust bundles, resource fields) and other volume
//! types are not filled (see the crate docs).

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Pod, Volume};

use crate::runtime::Mount;

/// One file of a projected volume and where its content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A token for the pod's service account, bound to the pod.
    Token {
        path: String,
        /// None: the API server's own audiences.
        audience: Option<String>,
        expiration_seconds: i64,
    },
    /// Keys of a ConfigMap in the pod's namespace (all keys, named after themselves,
    /// when `items` is empty).
    ConfigMap {
        name: String,
        items: Vec<(String, String)>,
        optional: bool,
    },
    /// A downward API field of the pod (`metadata.namespace` ...).
    Field { path: String, field_path: String },
}

/// What to write for one projected volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub volume: String,
    pub sources: Vec<Source>,
    /// File mode (`defaultMode`, 0644 by default).
    pub mode: u32,
}

/// Upstream's default `expirationSeconds` of a token projection (1 h).
pub const DEFAULT_TOKEN_SECONDS: i64 = 3600;

fn plan(v: &Volume) -> Option<Plan> {
    let projected = v.projected.as_ref()?;
    let mut sources = Vec::new();
    for s in projected.sources.iter().flatten() {
        if let Some(t) = &s.service_account_token {
            sources.push(Source::Token {
                path: t.path.clone(),
                audience: t.audience.clone().filter(|a| !a.is_empty()),
                expiration_seconds: t.expiration_seconds.unwrap_or(DEFAULT_TOKEN_SECONDS),
            });
        }
        if let Some(c) = &s.config_map {
            sources.push(Source::ConfigMap {
                name: c.name.clone(),
                items: c
                    .items
                    .iter()
                    .flatten()
                    .map(|i| (i.key.clone(), i.path.clone()))
                    .collect(),
                optional: c.optional == Some(true),
            });
        }
        if let Some(d) = &s.downward_api {
            for item in d.items.iter().flatten() {
                if let Some(f) = &item.field_ref {
                    sources.push(Source::Field {
                        path: item.path.clone(),
                        field_path: f.field_path.clone(),
                    });
                }
            }
        }
    }
    let mode = projected
        .default_mode
        .and_then(|m| u32::try_from(m).ok())
        .unwrap_or(0o644);
    Some(Plan {
        volume: v.name.clone(),
        sources,
        mode,
    })
}

/// The pod's projected volumes, in spec order.
pub fn plans(pod: &Pod) -> Vec<Plan> {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(plan)
        .collect()
}

/// The value of a downward API `fieldRef` in a volume (`metadata.*` only: the status
/// fields are not known before the sandbox exists).
pub fn field(pod: &Pod, field_path: &str) -> Option<String> {
    let meta = &pod.metadata;
    let map_value = |prefix: &str, map: &Option<std::collections::BTreeMap<String, String>>| {
        field_path
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix("['"))
            .and_then(|r| r.strip_suffix("']"))
            .map(|k| {
                map.as_ref()
                    .and_then(|m| m.get(k).cloned())
                    .unwrap_or_default()
            })
    };
    match field_path {
        "metadata.namespace" => meta.namespace.clone(),
        "metadata.name" => meta.name.clone(),
        "metadata.uid" => meta.uid.clone(),
        _ => map_value("metadata.labels", &meta.labels)
            .or_else(|| map_value("metadata.annotations", &meta.annotations)),
    }
}

/// Where the pod's containers mount the volumes in `dirs` (volume name → directory on
/// this machine): one mount per path across the pod's containers, first one wins,
/// since the pod's containers share one mount namespace.
pub fn mounts(pod: &Pod, dirs: &[(String, PathBuf)]) -> Vec<Mount> {
    let dir_of = |name: &str| dirs.iter().find(|(n, _)| n == name).map(|(_, d)| d);
    let mut out: Vec<Mount> = Vec::new();
    let spec = pod.spec.iter();
    let containers = spec.flat_map(|s| s.init_containers.iter().flatten().chain(&s.containers));
    for m in containers.flat_map(|c| c.volume_mounts.iter().flatten()) {
        let Some(dir) = dir_of(&m.name) else {
            continue;
        };
        let container_path = PathBuf::from(&m.mount_path);
        if out.iter().any(|o| o.container_path == container_path) {
            continue;
        }
        let sub = m.sub_path.as_deref().filter(|s| !s.is_empty());
        out.push(Mount {
            host_path: sub.map_or_else(|| dir.clone(), |s| dir.join(s)),
            container_path,
            read_only: m.read_only.unwrap_or(false),
        });
    }
    out
}

/// A file name inside a volume directory: relative and without `..`, as validation
/// requires (checked again here so no path leaves the directory).
pub fn safe_join(dir: &Path, relative: &str) -> Option<PathBuf> {
    let p = Path::new(relative);
    let ok = !relative.is_empty()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
    ok.then(|| dir.join(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "shop", "uid": "u1", "labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "a", "volumeMounts": [{"name": "kube-api-access-x", "readOnly": true,
                        "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]},
                    {"name": "b", "volumeMounts": [
                        {"name": "kube-api-access-x", "readOnly": true,
                         "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"},
                        {"name": "scratch", "mountPath": "/scratch"}]},
                ],
                "volumes": [
                    {"name": "scratch", "emptyDir": {}},
                    {"name": "kube-api-access-x", "projected": {"defaultMode": 420, "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                        {"downwardAPI": {"items": [{"path": "namespace",
                            "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
                    ]}},
                ],
            },
        }))
        .unwrap()
    }

    #[test]
    fn the_admission_plugins_volume_reads_as_token_ca_and_namespace() {
        assert_eq!(
            plans(&pod()),
            [Plan {
                volume: "kube-api-access-x".into(),
                mode: 0o644,
                sources: vec![
                    Source::Token {
                        path: "token".into(),
                        audience: None,
                        expiration_seconds: 3607
                    },
                    Source::ConfigMap {
                        name: "kube-root-ca.crt".into(),
                        items: vec![("ca.crt".into(), "ca.crt".into())],
                        optional: false
                    },
                    Source::Field {
                        path: "namespace".into(),
                        field_path: "metadata.namespace".into()
                    },
                ],
            }]
        );
        assert_eq!(field(&pod(), "metadata.namespace").as_deref(), Some("shop"));
        assert_eq!(
            field(&pod(), "metadata.labels['app']").as_deref(),
            Some("web")
        );
    }

    #[test]
    fn containers_sharing_a_mount_path_make_one_mount() {
        let dirs = vec![("kube-api-access-x".to_string(), PathBuf::from("/k/v"))];
        assert_eq!(
            mounts(&pod(), &dirs),
            [Mount {
                host_path: "/k/v".into(),
                container_path: "/var/run/secrets/kubernetes.io/serviceaccount".into(),
                read_only: true
            }]
        );
    }

    #[test]
    fn file_names_stay_inside_the_volume() {
        let d = Path::new("/v");
        assert_eq!(safe_join(d, "ca.crt"), Some(PathBuf::from("/v/ca.crt")));
        assert_eq!(safe_join(d, "a/b"), Some(PathBuf::from("/v/a/b")));
        assert_eq!(safe_join(d, "../x"), None);
        assert_eq!(safe_join(d, "/etc/passwd"), None);
        assert_eq!(safe_join(d, ""), None);
    }
}
