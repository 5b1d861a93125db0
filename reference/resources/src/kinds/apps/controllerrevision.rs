//! ControllerRevision: immutable snapshots of a controller's template.

use crate::registry::{NONE, STD};
use crate::strategy::{Strategy, TypeFns};
use crate::{
    ResourceInfo, table,
    table::{Column, Printer},
};

pub struct ControllerRevision;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "apps",
    "ControllerRevision",
    "controllerrevisions",
    "controllerrevision",
    true,
    NONE,
    NONE,
    NONE,
    STD,
    &ControllerRevision,
);

impl Strategy for ControllerRevision {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::apps::v1::ControllerRevision>())
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::workloads::controller_revisions())
    }
}
