//! Job: completion defaults and the generated selector, validation and its update rules,
//! selectable by status.successful.

use crate::registry::{ALL, NONE, STD};
use crate::strategy::{Strategy, TypeFns, collect, count_at, empty_status};
use crate::{
    ResourceInfo, defaults,
    defaults::DefaultsConfig,
    table,
    table::{Column, Printer},
    validation,
    validation::Cause,
};
use serde_json::Value;

pub struct Job;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "batch",
    "Job",
    "jobs",
    "job",
    true,
    NONE,
    ALL,
    &["status"],
    STD,
    &Job,
);

impl Strategy for Job {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::batch::v1::Job>())
    }

    fn defaults(&self, obj: &mut Value, _cfg: &DefaultsConfig) {
        defaults::job(obj);
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        collect(|errs| validation::workloads::job(obj, errs))
    }

    fn validate_update(&self, old: &Value, new: &Value) -> Vec<Cause> {
        let mut causes = self.validate(new);
        causes.extend(collect(|errs| {
            validation::workloads::job_update(old, new, errs)
        }));
        causes
    }

    fn prepare_for_create(&self, _info: &ResourceInfo, obj: &mut Value) {
        empty_status(obj);
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::workloads::jobs())
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["metadata.name", "metadata.namespace", "status.successful"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        (field == "status.successful").then(|| count_at(obj, "/status/succeeded"))
    }
}
