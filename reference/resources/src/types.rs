//! Maps each registry entry to its k8s-openapi type, so decoding, schemas and OpenAPI
//! can work generically over the typed structs.
//!
//! Entry point: [`visit`] with a [`TypeVisitor`]; [`go`] writes objects as upstream's Go
//! types do.

use crate::ResourceInfo;
use k8s_openapi::api::{
    apps::v1 as apps, batch::v1 as batch, coordination::v1 as coordination, core::v1 as core,
};
use k8s_openapi::api::{discovery::v1 as discovery, events::v1 as events, rbac::v1 as rbac};
use serde::{Serialize, de::DeserializeOwned};

pub mod go;

/// Everything the typed helpers need from a k8s-openapi resource type.
pub trait Typed:
    Serialize + DeserializeOwned + schemars::JsonSchema + k8s_openapi::Resource
{
}
impl<T: Serialize + DeserializeOwned + schemars::JsonSchema + k8s_openapi::Resource> Typed for T {}

/// A generic operation run with the concrete type of a resource.
pub trait TypeVisitor {
    type Out;
    fn visit<T: Typed>(self) -> Self::Out;
}

/// Runs `v` with the k8s-openapi type of `info`; `None` for a kind without one.
pub fn visit<V: TypeVisitor>(info: &ResourceInfo, v: V) -> Option<V::Out> {
    Some(match (info.group, info.kind) {
        ("", "ComponentStatus") => v.visit::<core::ComponentStatus>(),
        ("", "ConfigMap") => v.visit::<core::ConfigMap>(),
        ("", "Endpoints") => v.visit::<core::Endpoints>(),
        ("", "Event") => v.visit::<core::Event>(),
        ("", "Namespace") => v.visit::<core::Namespace>(),
        ("", "Node") => v.visit::<core::Node>(),
        ("", "PersistentVolumeClaim") => v.visit::<core::PersistentVolumeClaim>(),
        ("", "PersistentVolume") => v.visit::<core::PersistentVolume>(),
        ("", "Pod") => v.visit::<core::Pod>(),
        ("", "ReplicationController") => v.visit::<core::ReplicationController>(),
        ("", "Secret") => v.visit::<core::Secret>(),
        ("", "ServiceAccount") => v.visit::<core::ServiceAccount>(),
        ("", "Service") => v.visit::<core::Service>(),
        ("apps", "ControllerRevision") => v.visit::<apps::ControllerRevision>(),
        ("apps", "DaemonSet") => v.visit::<apps::DaemonSet>(),
        ("apps", "Deployment") => v.visit::<apps::Deployment>(),
        ("apps", "ReplicaSet") => v.visit::<apps::ReplicaSet>(),
        ("apps", "StatefulSet") => v.visit::<apps::StatefulSet>(),
        ("batch", "Job") => v.visit::<batch::Job>(),
        ("batch", "CronJob") => v.visit::<batch::CronJob>(),
        ("policy", "PodDisruptionBudget") => {
            v.visit::<k8s_openapi::api::policy::v1::PodDisruptionBudget>()
        }
        ("coordination.k8s.io", "Lease") => v.visit::<coordination::Lease>(),
        ("discovery.k8s.io", "EndpointSlice") => v.visit::<discovery::EndpointSlice>(),
        ("events.k8s.io", "Event") => v.visit::<events::Event>(),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => {
            v.visit::<rbac::ClusterRoleBinding>()
        }
        ("rbac.authorization.k8s.io", "ClusterRole") => v.visit::<rbac::ClusterRole>(),
        ("rbac.authorization.k8s.io", "RoleBinding") => v.visit::<rbac::RoleBinding>(),
        ("rbac.authorization.k8s.io", "Role") => v.visit::<rbac::Role>(),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => v.visit::<
            k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
        >(),
        ("certificates.k8s.io", "CertificateSigningRequest") => {
            v.visit::<k8s_openapi::api::certificates::v1::CertificateSigningRequest>()
        }
        _ => return None,
    })
}

/// The JSON schema (draft 2020-12, definitions under `$defs`) of a type.
pub fn schema_of<T: schemars::JsonSchema>() -> serde_json::Value {
    schemars::SchemaGenerator::default()
        .into_root_schema_for::<T>()
        .to_value()
}

struct SchemaVisitor;
impl TypeVisitor for SchemaVisitor {
    type Out = serde_json::Value;
    fn visit<T: Typed>(self) -> serde_json::Value {
        schema_of::<T>()
    }
}

/// The schema of `info`'s type, computed once per kind.
pub fn schema(info: &ResourceInfo) -> Option<std::sync::Arc<serde_json::Value>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    type Cache = Mutex<HashMap<(&'static str, &'static str), Arc<serde_json::Value>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (info.group, info.kind);
    if let Some(s) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Some(s);
    }
    let s = Arc::new(visit(info, SchemaVisitor)?);
    if let Ok(mut c) = cache.lock() {
        c.insert(key, s.clone());
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_resource_has_a_typed_struct() {
        for r in crate::registry::all() {
            assert!(schema(r).is_some(), "{} has no type", r.kind);
        }
    }

    #[test]
    fn schemas_carry_definitions_for_nested_types() {
        let pods = crate::registry::lookup("", "v1", "pods").unwrap();
        let s = schema(pods).unwrap();
        assert!(
            s.pointer("/$defs/io.k8s.api.core.v1.PodSpec/properties/containers")
                .is_some()
        );
    }
}
