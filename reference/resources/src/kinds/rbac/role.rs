//! Role: path-segment names and rule validation.

use crate::registry::{NONE, STD};
use crate::strategy::{NameRule, Strategy, TypeFns, collect};
use crate::{
    ResourceInfo, table,
    table::{Column, Printer},
    validation,
    validation::Cause,
};
use serde_json::Value;

pub struct Role;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "rbac.authorization.k8s.io",
    "Role",
    "roles",
    "role",
    true,
    NONE,
    NONE,
    NONE,
    STD,
    &Role,
);

impl Strategy for Role {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::rbac::v1::Role>())
    }

    fn name_rule(&self) -> NameRule {
        validation::rbac::path_segment_name
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        collect(|errs| validation::rbac::role(obj, true, errs))
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::rbac::roles())
    }
}
