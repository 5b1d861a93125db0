//! Node: registers with its status, allocatable defaults to capacity, stored as `minions`.

use crate::registry::{NONE, STD};
use crate::strategy::{Strategy, TypeFns, bool_at};
use crate::{
    ResourceInfo, defaults,
    defaults::DefaultsConfig,
    table,
    table::{Column, Printer},
};
use serde_json::Value;

pub struct Node;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "",
    "Node",
    "nodes",
    "node",
    false,
    &["no"],
    NONE,
    &["status", "proxy"],
    STD,
    &Node,
);

impl Strategy for Node {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::core::v1::Node>())
    }

    fn defaults(&self, obj: &mut Value, _cfg: &DefaultsConfig) {
        defaults::node(obj);
    }

    /// Nodes register with their status (addresses, capacity), as upstream allows.
    fn prepare_for_create(&self, _info: &ResourceInfo, _obj: &mut Value) {}

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::cluster::nodes())
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["metadata.name", "spec.unschedulable"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        (field == "spec.unschedulable").then(|| bool_at(obj, "/spec/unschedulable"))
    }

    fn storage_dir(&self, _info: &ResourceInfo) -> String {
        "minions".into()
    }
}
