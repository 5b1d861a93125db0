//! CertificateSigningRequest validation against upstream's messages.

use serde_json::{Value, json};

use crate::registry::lookup;
use crate::validation::{validate_create, validate_update};

fn request_b64() -> String {
    use base64::Engine;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "jane");
    let key = rcgen::KeyPair::generate().unwrap();
    let pem = params.serialize_request(&key).unwrap().pem().unwrap();
    base64::engine::general_purpose::STANDARD.encode(pem)
}

fn csr() -> Value {
    json!({"metadata": {"name": "jane"},
           "spec": {"request": request_b64(), "signerName": "kubernetes.io/kube-apiserver-client",
                    "usages": ["client auth"]}})
}

fn messages(obj: &Value) -> Vec<(String, String)> {
    let info = lookup("certificates.k8s.io", "v1", "certificatesigningrequests").unwrap();
    validate_create(info, obj)
        .into_iter()
        .map(|c| (c.field, c.message))
        .collect()
}

#[test]
fn a_signed_request_is_valid() {
    assert_eq!(messages(&csr()), vec![]);
}

#[test]
fn spec_rules_give_upstreams_messages() {
    let mut o = csr();
    o["spec"]["usages"] = json!(["client auth", "frobnicate", "client auth"]);
    o["spec"]["signerName"] = json!("nodomain");
    o["spec"]["expirationSeconds"] = json!(599);
    let got = messages(&o);
    assert!(
        got[0].0 == "spec.usages[1]"
            && got[0].1.starts_with(
                "Unsupported value: \"frobnicate\": supported values: \"any\", \"cert sign\""
            )
    );
    assert_eq!(
        got[1],
        (
            "spec.usages[2]".into(),
            "Duplicate value: \"client auth\"".into()
        )
    );
    assert_eq!(got[2], ("spec.signerName".into(),
        "Invalid value: \"nodomain\": must be a fully qualified domain and path of the form 'example.com/signer-name'".into()));
    assert_eq!(
        got[3],
        (
            "spec.expirationSeconds".into(),
            "Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)"
                .into()
        )
    );
    o["spec"]["usages"] = json!([]);
    assert!(messages(&o).contains(&("spec.usages".into(), "Required value".into())));
}

#[test]
fn a_request_that_is_not_a_csr_is_refused() {
    use base64::Engine;
    let mut o = csr();
    o["spec"]["request"] = json!(base64::engine::general_purpose::STANDARD.encode("hi"));
    let got = messages(&o);
    assert_eq!(
        got,
        vec![(
            "spec.request".into(),
            "Invalid value: []byte{0x68, 0x69}: PEM block type must be CERTIFICATE REQUEST".into()
        )]
    );
}

#[test]
fn conditions_are_checked() {
    let mut o = csr();
    o["status"] = json!({"conditions": [
        {"type": "Approved", "status": "True"},
        {"type": "Denied", "status": "False"},
        {"type": "Approved", "status": "True"}]});
    let got = messages(&o);
    assert_eq!(got[0].0, "status.conditions[1].status");
    assert_eq!(
        got[0].1,
        "Unsupported value: \"False\": supported values: \"True\""
    );
    assert_eq!(
        got[1],
        (
            "status.conditions[1].type".into(),
            "Invalid value: \"Denied\": Approved and Denied conditions are mutually exclusive"
                .into()
        )
    );
    // Upstream checks every later Approved against the Denied seen before it, too.
    assert_eq!(
        got[2].1,
        "Invalid value: \"Approved\": Approved and Denied conditions are mutually exclusive"
    );
    assert_eq!(
        got[3],
        (
            "status.conditions[2].type".into(),
            "Duplicate value: \"Approved\"".into()
        )
    );
}

#[test]
fn updates_may_not_remove_conditions_or_replace_a_certificate() {
    use base64::Engine;
    let info = lookup("certificates.k8s.io", "v1", "certificatesigningrequests").unwrap();
    let cert = |s: &str| {
        base64::engine::general_purpose::STANDARD.encode(format!(
            "-----BEGIN CERTIFICATE-----\n{s}\n-----END CERTIFICATE-----\n"
        ))
    };
    let mut old = csr();
    old["status"] = json!({"conditions": [{"type": "Approved", "status": "True"}],
                           "certificate": cert("AAAA")});
    let mut new = old.clone();
    new["status"] = json!({"certificate": cert("BBBB")});
    let got: Vec<String> = validate_update(info, &old, &new)
        .into_iter()
        .map(|c| c.message)
        .collect();
    assert_eq!(
        got,
        vec![
            "Forbidden: updates may not remove a condition of type \"Approved\"",
            "Forbidden: updates may not modify existing certificate content",
        ]
    );
    new["status"]["certificate"] = json!(base64::engine::general_purpose::STANDARD.encode("junk"));
    let got: Vec<String> = validate_update(info, &old, &new)
        .into_iter()
        .map(|c| c.message)
        .collect();
    assert!(got.contains(&"Invalid value: \"<certificate data>\": must contain at least one CERTIFICATE PEM block".to_string()));
}
