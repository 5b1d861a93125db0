//! CustomResourceDefinition schemas: what upstream's apiextensions-apiserver does with a
//! CRD version's `openAPIV3Schema`, as pure functions over `serde_json::Value`.
//!
//! - [`structural_errors`]: the checks a CRD's schema must pass at create/update
//!   (structural-schema invariants, forbidden OpenAPI fields, valid and pruned defaults).
//! - [`prune`]: drops unknown fields from a custom object, returning their paths for
//!   warnings and strict field validation.
//! - [`apply_defaults`]: upstream's defaulting (after dropping non-nullable nulls).
//! - [`validate`]: the OpenAPI v3 validation whose errors a client sees in a 422 Invalid.
//! - [`validate_rules`]: the CEL validation rules (`x-kubernetes-validations`).
//!
//! Upstream: `k8s.io/apiextensions-apiserver/pkg/apiserver/schema` (structural.go,
//! validation.go, complete.go, pruning/, defaulting/), `pkg/apiserver/validation`
//! (`kubeOpenAPIResultToFieldErrors`) and `k8s.io/kube-openapi/pkg/validation/validate`.

pub(crate) mod cel;
mod check;
mod check_nested;
mod check_openapi;
mod default;
mod formats;
pub(crate) mod gofmt;
mod prune;
mod schema;
mod validate;
mod validate_collections;
mod validate_props;

pub use cel::{has_rules, validate_rules};
pub use check::structural_errors;
pub use default::apply_defaults;
pub use prune::prune;
pub(crate) use schema::strings;
pub use schema::{Additional, Schema};
pub use validate::validate;

#[cfg(test)]
mod tests_cel;
#[cfg(test)]
mod tests_check;
#[cfg(test)]
mod tests_prune_default;
#[cfg(test)]
mod tests_validate;
#[cfg(test)]
mod tests_validate_more;

/// `field.Path.Child`: joins with a dot unless the path is empty.
fn child(path: &str, name: &str) -> String {
    crate::validation::child(path, name)
}

/// `field.Path.Key`: `path[key]`.
fn key(path: &str, k: &str) -> String {
    format!("{path}[{k}]")
}

/// `field.Path.Index`: `path[i]`.
fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}
