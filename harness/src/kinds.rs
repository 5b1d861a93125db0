//! The kinds steps can name ("Pod", "pods", "ConfigMap"...), as API resources.
//!
//! Entry point: [`resolve`]. One table, [`KINDS`]; a kind missing here is a clear error
//! naming the known ones.

use k8s_openapi::api::{
    apps::v1 as apps, batch::v1 as batch, coordination::v1 as coordination, core::v1 as core,
};
use kube::api::ApiResource;

/// A kind a step names could not be resolved.
#[derive(Debug, thiserror::Error)]
#[error("unknown kind {0:?}; known kinds: {1}")]
pub struct UnknownKind(pub String, pub String);

/// A resolvable kind: its resource and whether it lives in a namespace.
#[derive(Clone, Debug)]
pub struct Kind {
    /// The API resource (group, version, plural).
    pub resource: ApiResource,
    /// Namespaced (true) or cluster-scoped (false).
    pub namespaced: bool,
}

fn kind<K>(namespaced: bool) -> Kind
where
    K: kube::Resource<DynamicType = ()>,
{
    Kind {
        resource: ApiResource::erase::<K>(&()),
        namespaced,
    }
}

/// Every kind the steps know.
pub fn known() -> Vec<Kind> {
    vec![
        kind::<core::Pod>(true),
        kind::<core::ConfigMap>(true),
        kind::<core::Secret>(true),
        kind::<core::Service>(true),
        kind::<core::Endpoints>(true),
        kind::<core::Event>(true),
        kind::<core::ServiceAccount>(true),
        kind::<core::PersistentVolumeClaim>(true),
        kind::<core::Namespace>(false),
        kind::<core::Node>(false),
        kind::<core::ComponentStatus>(false),
        kind::<core::PersistentVolume>(false),
        kind::<apps::Deployment>(true),
        kind::<apps::ReplicaSet>(true),
        kind::<apps::DaemonSet>(true),
        kind::<apps::StatefulSet>(true),
        kind::<batch::Job>(true),
        kind::<batch::CronJob>(true),
        kind::<k8s_openapi::api::policy::v1::PodDisruptionBudget>(true),
        kind::<coordination::Lease>(true),
        kind::<k8s_openapi::api::discovery::v1::EndpointSlice>(true),
        kind::<k8s_openapi::api::rbac::v1::Role>(true),
        kind::<k8s_openapi::api::rbac::v1::RoleBinding>(true),
        kind::<k8s_openapi::api::rbac::v1::ClusterRole>(false),
        kind::<k8s_openapi::api::rbac::v1::ClusterRoleBinding>(false),
        kind::<k8s_openapi::api::certificates::v1::CertificateSigningRequest>(false),
        kind::<
            k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
        >(false),
    ]
}

/// The kind a CustomResourceDefinition defines, at its storage version (`None` for an
/// object that is not a usable CRD).
pub fn from_crd(crd: &kube::api::DynamicObject) -> Option<Kind> {
    let spec = crd.data.get("spec")?;
    let group = spec.get("group")?.as_str()?;
    let names = spec.get("names")?;
    let version = spec
        .get("versions")?
        .as_array()?
        .iter()
        .find(|v| v.get("storage").and_then(|s| s.as_bool()) == Some(true))?
        .get("name")?
        .as_str()?;
    let kind = names.get("kind")?.as_str()?;
    let plural = names.get("plural")?.as_str()?;
    let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
    Some(Kind {
        resource: ApiResource::from_gvk_with_plural(&gvk, plural),
        namespaced: spec.get("scope").and_then(|s| s.as_str()) != Some("Cluster"),
    })
}

/// Resolves a kind by name, plural or lower-case name ("Pod", "pods", "pod").
pub fn resolve(name: &str) -> Result<Kind, UnknownKind> {
    resolve_among(name, &[])
}

/// [`resolve`], also among `custom` kinds (those the scenario's CRDs defined), first.
pub fn resolve_among(name: &str, custom: &[Kind]) -> Result<Kind, UnknownKind> {
    let wanted = name.trim().to_ascii_lowercase();
    let mut all = custom.to_vec();
    all.extend(known());
    all.iter()
        .find(|k| {
            k.resource.kind.to_ascii_lowercase() == wanted
                || k.resource.plural == wanted
                || format!("{}s", k.resource.kind.to_ascii_lowercase()) == wanted
        })
        .cloned()
        .ok_or_else(|| {
            let names: Vec<String> = all.iter().map(|k| k.resource.kind.clone()).collect();
            UnknownKind(name.to_string(), names.join(", "))
        })
}

/// Resolves the kind of a manifest from its `apiVersion` and `kind`.
pub fn of_manifest(api_version: &str, kind_name: &str) -> Result<Kind, UnknownKind> {
    of_manifest_among(api_version, kind_name, &[])
}

/// [`of_manifest`], also among `custom` kinds.
pub fn of_manifest_among(
    api_version: &str,
    kind_name: &str,
    custom: &[Kind],
) -> Result<Kind, UnknownKind> {
    let k = resolve_among(kind_name, custom)?;
    if k.resource.api_version != api_version {
        return Err(UnknownKind(
            format!("{api_version}/{kind_name}"),
            format!("{} is served as {}", kind_name, k.resource.api_version),
        ));
    }
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_resolve_by_kind_plural_and_lower_case() {
        assert_eq!(resolve("Pod").unwrap().resource.plural, "pods");
        assert_eq!(resolve("replicasets").unwrap().resource.kind, "ReplicaSet");
        assert_eq!(resolve("configmap").unwrap().resource.api_version, "v1");
        assert!(!resolve("Node").unwrap().namespaced);
        assert_eq!(resolve("Endpoints").unwrap().resource.plural, "endpoints");
    }

    #[test]
    fn an_unknown_kind_names_the_known_ones() {
        let err = resolve("Widget").unwrap_err().to_string();
        assert!(err.contains("unknown kind \"Widget\""), "{err}");
        assert!(err.contains("Deployment"), "{err}");
    }
}
