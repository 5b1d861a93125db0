//! DaemonSet: rolling-update defaults, validation with an immutable selector, an empty
//! status on create.

use crate::registry::{ALL, STD};
use crate::strategy::{Strategy, TypeFns, collect, empty_status, with_immutable_selector};
use crate::{
    ResourceInfo, defaults,
    defaults::DefaultsConfig,
    table,
    table::{Column, Printer},
    validation,
    validation::Cause,
};
use serde_json::Value;

pub struct DaemonSet;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "apps",
    "DaemonSet",
    "daemonsets",
    "daemonset",
    true,
    &["ds"],
    ALL,
    &["status"],
    STD,
    &DaemonSet,
);

impl Strategy for DaemonSet {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::apps::v1::DaemonSet>())
    }

    fn defaults(&self, obj: &mut Value, _cfg: &DefaultsConfig) {
        defaults::daemon_set(obj);
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        collect(|errs| validation::workloads::daemon_set(obj, errs))
    }

    fn validate_update(&self, old: &Value, new: &Value) -> Vec<Cause> {
        with_immutable_selector(self.validate(new), old, new)
    }

    fn prepare_for_create(&self, _info: &ResourceInfo, obj: &mut Value) {
        empty_status(obj);
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::workloads::daemon_sets())
    }
}
