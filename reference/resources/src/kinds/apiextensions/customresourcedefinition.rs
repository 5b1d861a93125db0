//! CustomResourceDefinition: its defaults, validation (every version's schema structural),
//! the status it starts with, and storage under the group's directory.

use crate::registry::STD;
use crate::strategy::{Strategy, TypeFns};
use crate::{
    ResourceInfo,
    defaults::DefaultsConfig,
    table,
    table::{Column, Printer},
    validation::Cause,
};
use serde_json::Value;

pub struct CustomResourceDefinition;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "apiextensions.k8s.io",
    "CustomResourceDefinition",
    "customresourcedefinitions",
    "customresourcedefinition",
    false,
    &["crd", "crds"],
    &["api-extensions"],
    &["status"],
    STD,
    &CustomResourceDefinition,
);

impl Strategy for CustomResourceDefinition {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>())
    }

    fn defaults(&self, obj: &mut Value, _cfg: &DefaultsConfig) {
        crate::crd::apply_defaults(obj);
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut causes = crate::crd::validate_create(obj);
        causes.extend(schemas(obj));
        causes
    }

    fn validate_update(&self, old: &Value, new: &Value) -> Vec<Cause> {
        let mut causes = crate::crd::validate_update(new, old);
        causes.extend(schemas(new));
        causes
    }

    fn prepare_for_create(&self, _info: &ResourceInfo, obj: &mut Value) {
        crate::crd::prepare_for_create(obj);
    }

    /// Upstream's CRD store uses the default table convertor.
    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::created_at())
    }

    /// As upstream's apiextensions-apiserver keys them: the group comes first.
    fn storage_dir(&self, info: &ResourceInfo) -> String {
        format!("{}/{}", info.group, info.plural)
    }
}

/// Every version's schema must be structural (upstream checks this with the CRD).
fn schemas(crd: &Value) -> Vec<Cause> {
    crate::crd::version_schemas(crd)
        .into_iter()
        .flat_map(|(path, schema)| crate::structural::structural_errors(&schema, &path))
        .collect()
}
