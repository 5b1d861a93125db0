//! CertificateSigningRequest rules (`pkg/apis/certificates/validation`): a request that
//! parses and is signed by its own key, known and unique usages, a qualified signer name,
//! at least ten minutes of requested validity, consistent conditions, a certificate made
//! of CERTIFICATE blocks, and on update no condition removed nor a certificate replaced.

use serde_json::Value;

use super::Errs;

/// Upstream's `allValidUsages`, sorted as `sets.List` prints them.
const VALID_USAGES: &[&str] = &[
    "any",
    "cert sign",
    "client auth",
    "code signing",
    "content commitment",
    "crl sign",
    "data encipherment",
    "decipher only",
    "digital signature",
    "email protection",
    "encipher only",
    "ipsec end system",
    "ipsec tunnel",
    "ipsec user",
    "key agreement",
    "key encipherment",
    "microsoft sgc",
    "netscape sgc",
    "ocsp signing",
    "s/mime",
    "server auth",
    "signing",
    "timestamping",
];

/// Types whose status may only be True.
const TRUE_ONLY: &[&str] = &["Approved", "Denied", "Failed"];

fn decoded(v: &Value) -> Vec<u8> {
    use base64::Engine;
    v.as_str()
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .unwrap_or_default()
}

/// How Go's `%#v` prints a byte slice, as field errors show `spec.request`.
fn go_bytes(b: &[u8]) -> String {
    let parts: Vec<String> = b.iter().map(|x| format!("0x{x:x}")).collect();
    format!("[]byte{{{}}}", parts.join(", "))
}

pub(crate) fn csr(obj: &Value, errs: &mut Errs) {
    let spec = &obj["spec"];
    let request = decoded(&spec["request"]);
    if let Err(e) = crate::pkcs10::parse_pem(&request).and_then(|c| c.check_signature()) {
        errs.push_raw(
            "FieldValueInvalid",
            "spec.request",
            format!("Invalid value: {}: {e}", go_bytes(&request)),
        );
    }
    let usages = spec["usages"].as_array().cloned().unwrap_or_default();
    if usages.is_empty() {
        errs.required("spec.usages", "");
    }
    let mut seen = Vec::new();
    for (i, u) in usages.iter().enumerate() {
        let field = format!("spec.usages[{i}]");
        if !u.as_str().is_some_and(|s| VALID_USAGES.contains(&s)) {
            errs.not_supported(&field, u, VALID_USAGES);
        }
        if seen.contains(&u) {
            errs.duplicate(&field, u);
        }
        seen.push(u);
    }
    signer_name(&spec["signerName"], errs);
    if let Some(s) = spec["expirationSeconds"].as_i64()
        && s < 600
    {
        errs.invalid(
            "spec.expirationSeconds",
            &spec["expirationSeconds"],
            "may not specify a duration less than 600 seconds (10 minutes)",
        );
    }
    conditions(obj, errs);
    if let Err(e) = certificate(&decoded(&obj["status"]["certificate"])) {
        errs.invalid(
            "status.certificate",
            &Value::String("<certificate data>".into()),
            &e,
        );
    }
}

fn signer_name(v: &Value, errs: &mut Errs) {
    let name = v.as_str().unwrap_or_default();
    if name.is_empty() {
        errs.required("spec.signerName", "");
        return;
    }
    if name == "kubernetes.io/legacy-unknown" {
        errs.invalid(
            "spec.signerName",
            v,
            "the legacy signerName is not allowed via this API version",
        );
        return;
    }
    let qualified = name
        .split_once('/')
        .is_some_and(|(domain, path)| domain.contains('.') && !path.is_empty());
    if !qualified {
        errs.invalid(
            "spec.signerName",
            v,
            "must be a fully qualified domain and path of the form 'example.com/signer-name'",
        );
    }
}

fn conditions(obj: &Value, errs: &mut Errs) {
    let list = obj["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let (mut approved, mut denied) = (false, false);
    let mut seen: Vec<&str> = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let ty = c["type"].as_str().unwrap_or_default();
        let field = format!("status.conditions[{i}]");
        if ty.is_empty() {
            errs.required(&format!("{field}.type"), "");
        }
        let allowed: &[&str] = if TRUE_ONLY.contains(&ty) {
            &["True"]
        } else {
            &["False", "True", "Unknown"]
        };
        match c["status"].as_str().unwrap_or_default() {
            "" => errs.required(&format!("{field}.status"), ""),
            s if !allowed.contains(&s) => {
                errs.not_supported(&format!("{field}.status"), &c["status"], allowed)
            }
            _ => {}
        }
        let exclusive = "Approved and Denied conditions are mutually exclusive";
        match ty {
            "Approved" if denied => errs.invalid(&format!("{field}.type"), &c["type"], exclusive),
            "Denied" if approved => errs.invalid(&format!("{field}.type"), &c["type"], exclusive),
            _ => {}
        }
        approved |= ty == "Approved";
        denied |= ty == "Denied";
        if seen.contains(&ty) {
            errs.duplicate(&format!("{field}.type"), &c["type"]);
        }
        seen.push(ty);
    }
}

/// `validateCertificate`: empty, or only CERTIFICATE PEM blocks without headers.
fn certificate(pem: &[u8]) -> Result<(), String> {
    if pem.is_empty() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(pem);
    let mut blocks = 0;
    let mut rest: &str = &text;
    while let Some((ty, _)) = crate::pkcs10::pem_block(rest.as_bytes()) {
        if ty != "CERTIFICATE" {
            return Err(format!(
                "only CERTIFICATE PEM blocks are allowed, found {ty:?}"
            ));
        }
        blocks += 1;
        let end = format!("-----END {ty}-----");
        match rest.find(&end) {
            Some(i) => rest = &rest[i + end.len()..],
            None => break,
        }
    }
    if blocks == 0 {
        return Err("must contain at least one CERTIFICATE PEM block".into());
    }
    Ok(())
}

fn of_type<'a>(obj: &'a Value, ty: &str) -> Vec<&'a Value> {
    obj["status"]["conditions"]
        .as_array()
        .map(|l| l.iter().filter(|c| c["type"] == ty).collect())
        .unwrap_or_default()
}

pub(crate) fn csr_update(old: &Value, new: &Value, errs: &mut Errs) {
    for ty in TRUE_ONLY {
        if of_type(new, ty).len() < of_type(old, ty).len() {
            errs.forbidden(
                "status.conditions",
                &format!("updates may not remove a condition of type {ty:?}"),
            );
        }
    }
    let (was, is) = (
        decoded(&old["status"]["certificate"]),
        decoded(&new["status"]["certificate"]),
    );
    if was != is && !was.is_empty() {
        errs.forbidden(
            "status.certificate",
            "updates may not modify existing certificate content",
        );
    }
}

#[cfg(test)]
#[path = "certificates_tests.rs"]
mod tests;
