//! RoleBinding: path-segment names, subject defaults, an immutable roleRef.

use crate::registry::{NONE, STD};
use crate::strategy::{NameRule, Strategy, TypeFns, collect};
use crate::{
    ResourceInfo, defaults,
    defaults::DefaultsConfig,
    table,
    table::{Column, Printer},
    validation,
    validation::Cause,
};
use serde_json::Value;

pub struct RoleBinding;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "rbac.authorization.k8s.io",
    "RoleBinding",
    "rolebindings",
    "rolebinding",
    true,
    NONE,
    NONE,
    NONE,
    STD,
    &RoleBinding,
);

impl Strategy for RoleBinding {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::rbac::v1::RoleBinding>())
    }

    fn defaults(&self, obj: &mut Value, _cfg: &DefaultsConfig) {
        defaults::rbac::binding(obj);
    }

    fn name_rule(&self) -> NameRule {
        validation::rbac::path_segment_name
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        collect(|errs| validation::rbac::binding(obj, true, errs))
    }

    fn validate_update(&self, old: &Value, new: &Value) -> Vec<Cause> {
        let mut causes = self.validate(new);
        causes.extend(collect(|errs| {
            validation::rbac::binding_update(old, new, errs)
        }));
        causes
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::rbac::role_bindings())
    }
}
