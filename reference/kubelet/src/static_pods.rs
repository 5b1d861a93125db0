//! Static pods: pods read from manifest files in a directory, run without the API
//! server, and their mirror pods (`pkg/kubelet/config/common.go`, `file.go`,
//! `pkg/kubelet/pod/mirror_client.go`). Entry points: [`read_dir`], [`static_pod`],
//! [`mirror_pod`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Pod, PodStatus, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use sha2::{Digest, Sha256};

/// `kubernetes.io/config.hash`: the static pod's UID.
pub const CONFIG_HASH: &str = "kubernetes.io/config.hash";
/// `kubernetes.io/config.source`: `file`, `http` or `api`.
pub const CONFIG_SOURCE: &str = "kubernetes.io/config.source";
/// `kubernetes.io/config.seen`: when the kubelet first saw the pod.
pub const CONFIG_SEEN: &str = "kubernetes.io/config.seen";
/// `kubernetes.io/config.mirror`: marks a mirror pod, holding the static pod's hash.
pub const CONFIG_MIRROR: &str = "kubernetes.io/config.mirror";

/// Errors reading manifests.
#[derive(Debug, thiserror::Error)]
pub enum StaticPodError {
    /// The directory or a file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not a Pod manifest.
    #[error("{path}: invalid pod manifest: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// Whether `pod` came from a non-API source (a static pod).
pub fn is_static(pod: &Pod) -> bool {
    annotation(pod, CONFIG_SOURCE).is_some_and(|s| s != "api")
}

/// Whether `pod` is a mirror pod.
pub fn is_mirror(pod: &Pod) -> bool {
    annotation(pod, CONFIG_MIRROR).is_some()
}

/// An annotation's value.
pub fn annotation<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// Parses one manifest (YAML or JSON) into a Pod.
pub fn parse_manifest(path: &Path, text: &str) -> Result<Pod, StaticPodError> {
    let invalid = |message: String| StaticPodError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let value: serde_json::Value =
        serde_yaml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let kind = value
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or_default();
    if kind != "Pod" {
        return Err(invalid(format!("kind is {kind:?}, expected \"Pod\"")));
    }
    let pod: Pod = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
    if pod.metadata.name.as_deref().unwrap_or_default().is_empty() {
        return Err(invalid("metadata.name is required".into()));
    }
    if pod.spec.as_ref().is_none_or(|s| s.containers.is_empty()) {
        return Err(invalid("spec.containers: Required value".into()));
    }
    Ok(pod)
}

/// The pods read from a directory (with their files) and the files that failed.
pub type DirContents = (Vec<(PathBuf, Pod)>, Vec<StaticPodError>);

/// Reads every `*.yaml`, `*.yml` and `*.json` file of `dir` (dotfiles are ignored, as
/// upstream does). Files that do not parse are returned as errors beside the pods.
pub fn read_dir(dir: &Path) -> Result<DirContents, StaticPodError> {
    let io = |source| StaticPodError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or(".");
            !name.starts_with('.')
                && p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml" | "json")
                )
        })
        .collect();
    paths.sort();
    let (mut pods, mut errors) = (Vec::new(), Vec::new());
    for path in paths {
        match std::fs::read_to_string(&path) {
            Ok(text) => match parse_manifest(&path, &text) {
                Ok(pod) => pods.push((path, pod)),
                Err(e) => errors.push(e),
            },
            Err(source) => errors.push(StaticPodError::Io { path, source }),
        }
    }
    Ok((pods, errors))
}

/// The hash that becomes the static pod's UID: over the manifest and the source.
pub fn config_hash(pod: &Pod, source: &str) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(pod).unwrap_or_default());
    h.update(source.as_bytes());
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Turns a manifest into the static pod the kubelet runs: name `<name>-<node>`,
/// namespace `default` if unset, `spec.nodeName`, UID = config hash, the config
/// annotations, the NoExecute toleration, and phase Pending.
pub fn static_pod(mut pod: Pod, node_name: &str, seen: &str) -> Pod {
    let source = "file";
    let hash = config_hash(&pod, source);
    let meta = &mut pod.metadata;
    meta.name = Some(format!(
        "{}-{}",
        meta.name.as_deref().unwrap_or_default(),
        node_name.to_lowercase()
    ));
    if meta.namespace.as_deref().is_none_or(str::is_empty) {
        meta.namespace = Some("default".into());
    }
    meta.uid = Some(hash.clone());
    let annotations = meta.annotations.get_or_insert_with(BTreeMap::new);
    annotations.insert(CONFIG_HASH.into(), hash);
    annotations.insert(CONFIG_SOURCE.into(), source.into());
    annotations.insert(CONFIG_SEEN.into(), seen.into());
    let spec = pod.spec.get_or_insert_with(Default::default);
    spec.node_name = Some(node_name.to_string());
    spec.restart_policy.get_or_insert_with(|| "Always".into());
    spec.termination_grace_period_seconds.get_or_insert(30);
    spec.tolerations
        .get_or_insert_with(Vec::new)
        .push(Toleration {
            operator: Some("Exists".into()),
            effect: Some("NoExecute".into()),
            ..Toleration::default()
        });
    pod.status = Some(PodStatus {
        phase: Some("Pending".into()),
        ..PodStatus::default()
    });
    pod
}

/// The mirror pod published for `pod`: a copy with `kubernetes.io/config.mirror` and an
/// owner reference to the Node, without UID, resourceVersion or status.
pub fn mirror_pod(pod: &Pod, node_name: &str, node_uid: &str) -> Pod {
    let mut mirror = pod.clone();
    let hash = annotation(pod, CONFIG_HASH).unwrap_or_default().to_string();
    mirror.metadata.uid = None;
    mirror.metadata.resource_version = None;
    mirror.status = None;
    mirror
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(CONFIG_MIRROR.into(), hash);
    mirror.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "v1".into(),
        kind: "Node".into(),
        name: node_name.to_string(),
        uid: node_uid.to_string(),
        controller: Some(true),
        ..OwnerReference::default()
    }]);
    mirror
}

/// Whether `mirror` is a current mirror of `pod` (same hash, not being deleted).
pub fn mirror_is_current(mirror: &Pod, pod: &Pod) -> bool {
    mirror.metadata.deletion_timestamp.is_none()
        && annotation(mirror, CONFIG_MIRROR) == annotation(pod, CONFIG_HASH)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers: [{name: c, image: "registry.k8s.io/pause:3.10"}]
"#;

    fn manifest() -> Pod {
        parse_manifest(Path::new("web.yaml"), MANIFEST).unwrap()
    }

    #[test]
    fn a_static_pod_is_named_after_the_node_and_annotated_with_its_config() {
        let pod = static_pod(manifest(), "Node-1", "2026-01-01T00:00:00Z");
        assert_eq!(pod.metadata.name.as_deref(), Some("web-node-1"));
        assert_eq!(pod.metadata.namespace.as_deref(), Some("default"));
        assert_eq!(
            pod.spec.as_ref().unwrap().node_name.as_deref(),
            Some("Node-1")
        );
        let hash = annotation(&pod, CONFIG_HASH).unwrap();
        assert_eq!(pod.metadata.uid.as_deref(), Some(hash));
        assert_eq!(annotation(&pod, CONFIG_SOURCE), Some("file"));
        assert_eq!(annotation(&pod, CONFIG_SEEN), Some("2026-01-01T00:00:00Z"));
        let tol = &pod.spec.as_ref().unwrap().tolerations.as_ref().unwrap()[0];
        assert_eq!(
            (
                tol.operator.as_deref(),
                tol.effect.as_deref(),
                tol.key.as_deref()
            ),
            (Some("Exists"), Some("NoExecute"), None)
        );
        assert_eq!(pod.status.unwrap().phase.as_deref(), Some("Pending"));
        assert!(is_static(&static_pod(manifest(), "n", "t")));
    }

    #[test]
    fn the_hash_changes_with_the_manifest_and_not_with_time() {
        let a = static_pod(manifest(), "n", "t1");
        let b = static_pod(manifest(), "n", "t2");
        assert_eq!(a.metadata.uid, b.metadata.uid);
        let mut changed = manifest();
        changed.spec.as_mut().unwrap().containers[0].image = Some("busybox".into());
        assert_ne!(static_pod(changed, "n", "t1").metadata.uid, a.metadata.uid);
    }

    #[test]
    fn a_mirror_pod_carries_the_hash_and_is_owned_by_the_node() {
        let pod = static_pod(manifest(), "n1", "t");
        let mirror = mirror_pod(&pod, "n1", "node-uid");
        assert!(is_mirror(&mirror));
        assert_eq!(
            annotation(&mirror, CONFIG_MIRROR),
            annotation(&pod, CONFIG_HASH)
        );
        assert_eq!(mirror.metadata.uid, None);
        let owner = &mirror.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (
                owner.kind.as_str(),
                owner.name.as_str(),
                owner.uid.as_str(),
                owner.controller
            ),
            ("Node", "n1", "node-uid", Some(true))
        );
        assert!(mirror_is_current(&mirror, &pod));
    }

    #[test]
    fn manifests_that_are_not_pods_are_rejected_with_the_reason() {
        let err =
            parse_manifest(Path::new("x.yaml"), "kind: Service\nmetadata: {name: s}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.yaml: invalid pod manifest: kind is \"Service\", expected \"Pod\""
        );
    }

    #[test]
    fn reading_a_directory_skips_dotfiles_and_other_extensions() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("web.yaml"), MANIFEST).unwrap();
        std::fs::write(dir.path().join(".hidden.yaml"), MANIFEST).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        std::fs::write(dir.path().join("bad.json"), "{").unwrap();
        let (pods, errors) = read_dir(dir.path()).unwrap();
        assert_eq!(pods.len(), 1);
        assert_eq!(errors.len(), 1);
    }
}
