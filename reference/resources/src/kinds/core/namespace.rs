//! Namespace: DNS-1123 label names, the `kubernetes` finalizer and Active phase a new one
//! starts with, and a spec that only `/finalize` changes.

use crate::registry::{NO_COLLECTION, NONE};
use crate::strategy::{NameRule, Strategy, TypeFns};
use crate::{
    ResourceInfo, defaults,
    defaults::DefaultsConfig,
    names, table,
    table::{Column, Printer},
};
use serde_json::{Value, json};

pub struct Namespace;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "",
    "Namespace",
    "namespaces",
    "namespace",
    false,
    &["ns"],
    NONE,
    &["status"],
    NO_COLLECTION,
    &Namespace,
);

impl Strategy for Namespace {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::core::v1::Namespace>())
    }

    fn defaults(&self, obj: &mut Value, _cfg: &DefaultsConfig) {
        defaults::namespace(obj);
    }

    fn name_rule(&self) -> NameRule {
        names::is_dns1123_label
    }

    fn prepare_for_create(&self, _info: &ResourceInfo, obj: &mut Value) {
        obj["spec"] = json!({"finalizers": ["kubernetes"]});
        obj["status"] = json!({"phase": "Active"});
    }

    /// spec.finalizers only changes through `/finalize`.
    fn prepare_for_update(&self, old: &Value, new: &mut Value) {
        new["spec"] = old["spec"].clone();
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::cluster::namespaces())
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["metadata.name", "status.phase"]
    }

    fn delete_returns_object(&self) -> bool {
        true
    }
}
