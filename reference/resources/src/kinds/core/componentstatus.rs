//! ComponentStatus: read-only health of the control plane's components (served by the API
//! server itself).

use crate::registry::{NONE, READ_ONLY};
use crate::strategy::{Strategy, TypeFns};
use crate::{
    ResourceInfo, table,
    table::{Column, Printer},
};

pub struct ComponentStatus;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "",
    "ComponentStatus",
    "componentstatuses",
    "componentstatus",
    false,
    &["cs"],
    NONE,
    NONE,
    READ_ONLY,
    &ComponentStatus,
);

impl Strategy for ComponentStatus {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::core::v1::ComponentStatus>())
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::cluster::component_statuses())
    }
}
