//! StatefulSet: ordered-ready defaults and the fields an update may change.

use crate::registry::{ALL, STD};
use crate::strategy::{Strategy, TypeFns, collect, empty_status};
use crate::{
    ResourceInfo, defaults,
    defaults::DefaultsConfig,
    table,
    table::{Column, Printer},
    validation,
    validation::Cause,
};
use serde_json::Value;

pub struct StatefulSet;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "apps",
    "StatefulSet",
    "statefulsets",
    "statefulset",
    true,
    &["sts"],
    ALL,
    &["status", "scale"],
    STD,
    &StatefulSet,
);

impl Strategy for StatefulSet {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::apps::v1::StatefulSet>())
    }

    fn defaults(&self, obj: &mut Value, _cfg: &DefaultsConfig) {
        defaults::stateful_set(obj);
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        collect(|errs| validation::workloads::stateful_set(obj, errs))
    }

    fn validate_update(&self, old: &Value, new: &Value) -> Vec<Cause> {
        let mut causes = self.validate(new);
        causes.extend(collect(|errs| {
            validation::workloads::stateful_set_update(old, new, errs)
        }));
        causes
    }

    fn prepare_for_create(&self, _info: &ResourceInfo, obj: &mut Value) {
        empty_status(obj);
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::workloads::stateful_sets())
    }
}
