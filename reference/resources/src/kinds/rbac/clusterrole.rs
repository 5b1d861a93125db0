//! ClusterRole: path-segment names and rule validation.

use crate::registry::{NONE, STD};
use crate::strategy::{NameRule, Strategy, TypeFns, collect};
use crate::{
    ResourceInfo, table,
    table::{Column, Printer},
    validation,
    validation::Cause,
};
use serde_json::Value;

pub struct ClusterRole;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "rbac.authorization.k8s.io",
    "ClusterRole",
    "clusterroles",
    "clusterrole",
    false,
    NONE,
    NONE,
    NONE,
    STD,
    &ClusterRole,
);

impl Strategy for ClusterRole {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::rbac::v1::ClusterRole>())
    }

    fn name_rule(&self) -> NameRule {
        validation::rbac::path_segment_name
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        collect(|errs| validation::rbac::role(obj, false, errs))
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::rbac::roles())
    }
}
