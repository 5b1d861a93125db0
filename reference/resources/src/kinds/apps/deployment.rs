//! Deployment: rollout defaults, validation with an immutable selector, generation counting
//! annotation changes (they are copied to ReplicaSets), and a status subresource that
//! leaves labels alone.

use crate::registry::{ALL, STD};
use crate::strategy::{FieldPath, Strategy, TypeFns, collect, empty_status, with_immutable_selector};
use crate::{
    ResourceInfo, defaults,
    defaults::DefaultsConfig,
    table,
    table::{Column, Printer},
    validation,
    validation::Cause,
};
use serde_json::Value;

pub struct Deployment;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "apps",
    "Deployment",
    "deployments",
    "deployment",
    true,
    &["deploy"],
    ALL,
    &["status", "scale"],
    STD,
    &Deployment,
);

impl Strategy for Deployment {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::apps::v1::Deployment>())
    }

    fn defaults(&self, obj: &mut Value, _cfg: &DefaultsConfig) {
        defaults::deployment(obj);
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        collect(|errs| validation::workloads::deployment(obj, errs))
    }

    fn validate_update(&self, old: &Value, new: &Value) -> Vec<Cause> {
        with_immutable_selector(self.validate(new), old, new)
    }

    fn prepare_for_create(&self, _info: &ResourceInfo, obj: &mut Value) {
        empty_status(obj);
    }

    fn generation_changed(&self, _info: &ResourceInfo, old: &Value, new: &Value) -> bool {
        // A missing map and an empty one are the same annotations.
        let annotations = |o: &Value| {
            o.pointer("/metadata/annotations")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        new.get("spec").is_some()
            && (old.get("spec") != new.get("spec") || annotations(old) != annotations(new))
    }

    fn reset_fields(&self, _info: &ResourceInfo, subresource: &str) -> Vec<FieldPath> {
        match subresource {
            "" => vec![&["status"]],
            "status" => vec![&["spec"], &["metadata", "labels"]],
            _ => Vec::new(),
        }
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::workloads::deployments())
    }
}
