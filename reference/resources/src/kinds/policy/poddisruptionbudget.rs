//! PodDisruptionBudget: validation and printer.

use crate::registry::{NONE, STD};
use crate::strategy::{Strategy, TypeFns, collect};
use crate::{
    ResourceInfo, table,
    table::{Column, Printer},
    validation,
    validation::Cause,
};
use serde_json::Value;

pub struct PodDisruptionBudget;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "policy",
    "PodDisruptionBudget",
    "poddisruptionbudgets",
    "poddisruptionbudget",
    true,
    &["pdb"],
    NONE,
    &["status"],
    STD,
    &PodDisruptionBudget,
);

impl Strategy for PodDisruptionBudget {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<
            k8s_openapi::api::policy::v1::PodDisruptionBudget,
        >())
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        collect(|errs| validation::policy::pod_disruption_budget(obj, errs))
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::pdb::pod_disruption_budgets())
    }
}
