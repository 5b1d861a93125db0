//! ReplicationController: selector and labels default to the template's; validated and
//! printed as ReplicaSets are.

use crate::registry::{ALL, STD};
use crate::strategy::{Strategy, TypeFns, collect, count_at};
use crate::{
    ResourceInfo, defaults,
    defaults::DefaultsConfig,
    table,
    table::{Column, Printer},
    validation,
    validation::Cause,
};
use serde_json::Value;

pub struct ReplicationController;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "",
    "ReplicationController",
    "replicationcontrollers",
    "replicationcontroller",
    true,
    &["rc"],
    ALL,
    &["status", "scale"],
    STD,
    &ReplicationController,
);

impl Strategy for ReplicationController {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<
            k8s_openapi::api::core::v1::ReplicationController,
        >())
    }

    fn defaults(&self, obj: &mut Value, _cfg: &DefaultsConfig) {
        defaults::replication_controller(obj);
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        collect(|errs| validation::workloads::replication_controller(obj, errs))
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::workloads::replication_controllers())
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["metadata.name", "metadata.namespace", "status.replicas"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        (field == "status.replicas").then(|| count_at(obj, "/status/replicas"))
    }
}
