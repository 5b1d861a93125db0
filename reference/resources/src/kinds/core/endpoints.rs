//! Endpoints: the legacy per-service address list (stored as `services/endpoints`).

use crate::registry::{NONE, STD};
use crate::strategy::{Strategy, TypeFns};
use crate::{
    ResourceInfo, defaults,
    defaults::DefaultsConfig,
    table,
    table::{Column, Printer},
};
use serde_json::Value;

pub struct Endpoints;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "",
    "Endpoints",
    "endpoints",
    "endpoints",
    true,
    &["ep"],
    NONE,
    NONE,
    STD,
    &Endpoints,
);

impl Strategy for Endpoints {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::core::v1::Endpoints>())
    }

    fn defaults(&self, obj: &mut Value, _cfg: &DefaultsConfig) {
        defaults::endpoints(obj);
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::cluster::endpoints())
    }

    fn storage_dir(&self, _info: &ResourceInfo) -> String {
        "services/endpoints".into()
    }
}
