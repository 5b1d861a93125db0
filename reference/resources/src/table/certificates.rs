//! The CertificateSigningRequest printer (upstream `printCertificateSigningRequest`):
//! NAME, AGE, SIGNERNAME, REQUESTOR, REQUESTEDDURATION, CONDITION.

use super::{Column, Ctx, Printer, Row, col, doc, human_duration, meta_doc, name, name_col};
use k8s_openapi::api::certificates::v1::CertificateSigningRequestSpec as Spec;
use serde_json::{Value, json};

/// The columns and row printer of certificate signing requests.
pub(crate) fn certificate_signing_requests() -> (Vec<Column>, Printer) {
    (
        vec![
            name_col(),
            col("Age", "date", 0, meta_doc("creationTimestamp")),
            col("SignerName", "string", 0, doc::<Spec>("signerName")),
            col(
                "Requestor",
                "string",
                0,
                "Name of the user which made this request.",
            ),
            col(
                "RequestedDuration",
                "string",
                0,
                doc::<Spec>("expirationSeconds"),
            ),
            col("Condition", "string", 0, "State of this request."),
        ],
        print_csr,
    )
}

/// Upstream's `extractCSRStatus`: Denied over Approved over Pending, then Failed and
/// Issued.
pub fn condition(csr: &Value) -> String {
    let has = |t: &str| {
        csr.pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|l| l.iter().any(|c| c["type"] == t))
    };
    let mut s = if has("Denied") {
        "Denied"
    } else if has("Approved") {
        "Approved"
    } else {
        "Pending"
    }
    .to_string();
    if has("Failed") {
        s.push_str(",Failed");
    }
    if csr
        .pointer("/status/certificate")
        .and_then(Value::as_str)
        .is_some_and(|c| !c.is_empty())
    {
        s.push_str(",Issued");
    }
    s
}

fn print_csr(csr: &Value, ctx: &Ctx) -> Row {
    let or_none = |p: &str| match csr.pointer(p).and_then(Value::as_str) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => "<none>".to_string(),
    };
    let duration = match csr
        .pointer("/spec/expirationSeconds")
        .and_then(Value::as_i64)
    {
        Some(s) => human_duration(chrono::TimeDelta::seconds(s)),
        None => "<none>".to_string(),
    };
    vec![
        json!(name(csr)),
        json!(ctx.age(csr)),
        json!(or_none("/spec/signerName")),
        json!(
            csr.pointer("/spec/username")
                .and_then(Value::as_str)
                .unwrap_or_default()
        ),
        json!(duration),
        json!(condition(csr)),
    ]
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_print_as_upstream() {
        let (cols, print) = certificate_signing_requests();
        let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            [
                "Name",
                "Age",
                "SignerName",
                "Requestor",
                "RequestedDuration",
                "Condition"
            ]
        );
        let now = super::super::parse_time("2024-01-01T00:00:30Z").unwrap();
        let csr = json!({"metadata": {"name": "jane", "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"signerName": "kubernetes.io/kube-apiserver-client", "username": "admin",
                     "expirationSeconds": 86400},
            "status": {"conditions": [{"type": "Approved", "status": "True"}],
                       "certificate": "LS0t"}});
        let row = print(&csr, &Ctx { now });
        assert_eq!(
            row.cells,
            [
                json!("jane"),
                json!("30s"),
                json!("kubernetes.io/kube-apiserver-client"),
                json!("admin"),
                json!("24h"),
                json!("Approved,Issued")
            ]
        );
        let pending = json!({"metadata": {"name": "p"}, "spec": {}, "status": {}});
        assert_eq!(print(&pending, &Ctx { now }).cells[4], json!("<none>"));
        assert_eq!(condition(&pending), "Pending");
        let denied_failed = json!({"status": {"conditions": [
            {"type": "Denied"}, {"type": "Failed"}]}});
        assert_eq!(condition(&denied_failed), "Denied,Failed");
    }
}
