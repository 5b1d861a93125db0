//! ReplicaSet: one replica by default, validation with an immutable selector, selectable by
//! status.replicas.

use crate::registry::{ALL, STD};
use crate::strategy::{Strategy, TypeFns, collect, count_at, empty_status, with_immutable_selector};
use crate::{
    ResourceInfo, defaults,
    defaults::DefaultsConfig,
    table,
    table::{Column, Printer},
    validation,
    validation::Cause,
};
use serde_json::Value;

pub struct ReplicaSet;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "apps",
    "ReplicaSet",
    "replicasets",
    "replicaset",
    true,
    &["rs"],
    ALL,
    &["status", "scale"],
    STD,
    &ReplicaSet,
);

impl Strategy for ReplicaSet {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::apps::v1::ReplicaSet>())
    }

    fn defaults(&self, obj: &mut Value, _cfg: &DefaultsConfig) {
        defaults::replica_set(obj);
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        collect(|errs| validation::workloads::replica_set(obj, errs))
    }

    fn validate_update(&self, old: &Value, new: &Value) -> Vec<Cause> {
        with_immutable_selector(self.validate(new), old, new)
    }

    fn prepare_for_create(&self, _info: &ResourceInfo, obj: &mut Value) {
        empty_status(obj);
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::workloads::replica_sets())
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["metadata.name", "metadata.namespace", "status.replicas"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        (field == "status.replicas").then(|| count_at(obj, "/status/replicas"))
    }
}
