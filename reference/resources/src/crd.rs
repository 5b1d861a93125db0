//! What upstream's apiextensions-apiserver knows about the CustomResourceDefinition
//! object itself, as pure functions over `serde_json::Value`.
//!
//! Entry points:
//! - defaulting and the registry strategy: [`apply_defaults`], [`prepare_for_create`],
//!   [`prepare_for_update`], [`prepare_for_status_update`] (`crd/defaults.rs`);
//! - validation with upstream's field errors: [`validate_create`], [`validate_update`],
//!   [`validate_status_update`],
//!   and [`version_schemas`] naming each schema the structural check must see
//!   (`crd/validate*.rs`, `crd/conversion.rs`);
//!   the schema's validation rules must compile (`crd/rules.rs`);
//! - the naming and establishing controllers: [`accepted_names`], [`calculate_names`],
//!   [`status_conditions`], [`sync_status`], [`set_condition`] (`crd/names.rs`);
//! - printer columns of custom resources: [`printer_columns`], [`column_definitions`],
//!   [`row_cells`], [`cell`] (`crd/columns.rs`, JSONPath in `crd/jsonpath.rs`);
//! - the scale subresource: [`scale_spec`], [`read_scale`], [`scale_for_update`],
//!   [`write_scale`] (`crd/scale.rs`).
//!
//! Upstream validates the *internal* CRD, into which a v1 object is converted first: when
//! every version carries the same schema (or subresources, or printer columns), the
//! conversion hoists it to a top-level field, so error paths for a single-version CRD read
//! `spec.validation.openAPIV3Schema`, `spec.subresources.scale...` and
//! `spec.additionalPrinterColumns[0]...`. `crd/conversion.rs` reproduces that.

mod columns;
mod conversion;
mod defaults;
mod jsonpath;
mod names;
mod rules;
mod scale;
mod selectable;
mod validate;
mod validate_parts;
mod validate_tail;

pub use columns::{Column, cell, column_definitions, printer_columns, row_cells, scale_columns};
pub use defaults::{
    apply_defaults, prepare_for_create, prepare_for_status_update, prepare_for_update,
};
pub use names::{
    Condition, CrdNames, Naming, accepted_names, calculate_names, condition_is_true,
    established_condition, set_condition, status_conditions, sync_status, terminating_condition,
};
pub use scale::{
    ScaleError, ScaleSpec, UNSET_SPEC_REPLICAS, read_scale, scale_for_update, scale_from_object,
    scale_spec, write_scale,
};
pub use validate::{validate_create, validate_status_update, validate_update, version_schemas};

#[cfg(test)]
mod tests_columns;
#[cfg(test)]
mod tests_names;
#[cfg(test)]
mod tests_rules;
#[cfg(test)]
mod tests_validate;
#[cfg(test)]
mod tests_validate_more;
