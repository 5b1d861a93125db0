//! PersistentVolume: Retain reclaim policy, Pending from the start, answered with the
//! object on delete.

use crate::registry::{NONE, STD};
use crate::strategy::{Strategy, TypeFns};
use crate::{
    ResourceInfo, defaults,
    defaults::DefaultsConfig,
    table,
    table::{Column, Printer},
};
use serde_json::{Value, json};

pub struct PersistentVolume;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "",
    "PersistentVolume",
    "persistentvolumes",
    "persistentvolume",
    false,
    &["pv"],
    NONE,
    &["status"],
    STD,
    &PersistentVolume,
);

impl Strategy for PersistentVolume {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::core::v1::PersistentVolume>())
    }

    fn defaults(&self, obj: &mut Value, _cfg: &DefaultsConfig) {
        defaults::persistent_volume(obj);
    }

    fn prepare_for_create(&self, _info: &ResourceInfo, obj: &mut Value) {
        obj["status"] = json!({"phase": "Pending"});
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::storage::persistent_volumes())
    }

    fn delete_returns_object(&self) -> bool {
        true
    }
}
