//! refkube-resources: what each Kubernetes resource *means*, with no I/O.
//!
//! The API server (refkube-apiserver) owns HTTP, storage and watch; everything it needs
//! to know about a kind lives here as pure functions over `serde_json::Value` objects:
//! the resource registry (what discovery serves), decoding with strict field validation,
//! defaulting and admission mutations, validation with upstream's field errors, label and
//! field selectors, the three patch types (with upstream's limits on what a request may
//! make the server build), server-side Table printing for `kubectl get`,
//! and the OpenAPI v3 documents kubectl reads.
//!
//! This file is the contract the API server codes against; each module documents its
//! entry points.

pub mod crd;
pub mod cron;
pub mod custom;
pub mod decode;
pub mod defaults;
pub mod fields;
/// The built-in kinds, one file each.
pub mod kinds;
pub mod limits;
pub mod managedfields;
/// Upstream's name and label format checks (kept in refkube-helpers beside the label
/// selector parser, which needs them).
pub use refkube_helpers::names;
pub mod openapi;
pub mod patch;
pub mod pkcs10;
pub mod registry;
/// What one kind means: the trait every registry entry carries.
pub mod strategy;
/// CRD schemas: structural checks, pruning, defaulting and OpenAPI validation.
pub mod structural;
pub mod table;
/// The k8s-openapi type behind each registry entry (schemas, typed round-trips).
pub mod types;
pub mod validation;

pub use registry::ResourceInfo;
