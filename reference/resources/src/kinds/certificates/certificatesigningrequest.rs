//! CertificateSigningRequest: validation and its update rules, an empty status on create
//! (the API server adds the requesting user), the printer.

use crate::registry::{NONE, STD};
use crate::strategy::{FieldPath, Strategy, TypeFns, collect, empty_status};
use crate::{
    ResourceInfo, table,
    table::{Column, Printer},
    validation,
    validation::Cause,
};
use serde_json::Value;

pub struct CertificateSigningRequest;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "certificates.k8s.io",
    "CertificateSigningRequest",
    "certificatesigningrequests",
    "certificatesigningrequest",
    false,
    &["csr"],
    NONE,
    &["approval", "status"],
    STD,
    &CertificateSigningRequest,
);

impl Strategy for CertificateSigningRequest {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<
            k8s_openapi::api::certificates::v1::CertificateSigningRequest,
        >())
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        collect(|errs| validation::certificates::csr(obj, errs))
    }

    fn validate_update(&self, old: &Value, new: &Value) -> Vec<Cause> {
        let mut causes = self.validate(new);
        causes.extend(collect(|errs| {
            validation::certificates::csr_update(old, new, errs)
        }));
        causes
    }

    fn prepare_for_create(&self, _info: &ResourceInfo, obj: &mut Value) {
        empty_status(obj);
    }

    /// A request is immutable but through its subresources: `/status` writes the
    /// certificate (conditions stay with `/approval`), `/approval` the conditions.
    fn reset_fields(&self, _info: &ResourceInfo, subresource: &str) -> Vec<FieldPath> {
        match subresource {
            "" => vec![&["spec"], &["status"]],
            "status" => vec![&["spec"], &["status", "conditions"]],
            "approval" => vec![&["spec"], &["status", "certificate"]],
            _ => Vec::new(),
        }
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::certificates::certificate_signing_requests())
    }
}
