//! Parsing and signature checks of requests made by openssl and by rcgen.

use super::*;

/// `openssl req -new -newkey rsa:2048 -subj "/CN=jane/O=dev/O=ops"
/// -addext "subjectAltName=DNS:node1.example,IP:10.0.0.5"`.
const OPENSSL_RSA: &str = include_str!("openssl_rsa.csr");

fn rcgen_request(cn: &str, orgs: &[&str], sans: Vec<String>) -> String {
    let mut params = rcgen::CertificateParams::new(sans).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    for o in orgs {
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, *o);
    }
    let key = rcgen::KeyPair::generate().unwrap();
    params.serialize_request(&key).unwrap().pem().unwrap()
}

#[test]
fn parses_an_openssl_rsa_request() {
    let csr = parse_pem(OPENSSL_RSA.as_bytes()).unwrap();
    assert_eq!(csr.common_name(), "jane");
    assert_eq!(csr.organizations(), vec!["dev", "ops"]);
    assert_eq!(csr.key_algorithm, KeyAlgorithm::Rsa);
    assert_eq!(csr.dns_names, vec!["node1.example"]);
    assert_eq!(
        csr.ip_addresses,
        vec!["10.0.0.5".parse::<IpAddr>().unwrap()]
    );
    csr.check_signature().unwrap();
}

#[test]
fn parses_an_ecdsa_request_and_checks_its_signature() {
    let pem = rcgen_request("system:node:n1", &["system:nodes"], vec!["n1".into()]);
    let csr = parse_pem(pem.as_bytes()).unwrap();
    assert_eq!(csr.key_algorithm, KeyAlgorithm::EcdsaP256);
    assert_eq!(csr.common_name(), "system:node:n1");
    assert_eq!(csr.organizations(), vec!["system:nodes"]);
    assert_eq!(csr.dns_names, vec!["n1"]);
    csr.check_signature().unwrap();
}

#[test]
fn a_tampered_request_fails_its_signature() {
    let pem = rcgen_request("alice", &[], vec![]);
    let mut csr = parse_pem(pem.as_bytes()).unwrap();
    let last = csr.info_der.len() - 1;
    csr.info_der[last] ^= 1;
    assert_eq!(
        csr.check_signature().unwrap_err(),
        "x509: ECDSA verification failure"
    );
}

#[test]
fn other_pem_blocks_are_refused_with_upstreams_message() {
    let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    for bad in [cert, "not pem", ""] {
        assert_eq!(
            parse_pem(bad.as_bytes()).unwrap_err(),
            "PEM block type must be CERTIFICATE REQUEST"
        );
    }
    let garbage = "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n";
    assert!(
        parse_pem(garbage.as_bytes())
            .unwrap_err()
            .starts_with("x509: malformed certificate request")
    );
}

#[test]
fn reads_a_certificates_subject_and_expiry() {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "refkube-ca");
    params.not_after = rcgen::date_time_ymd(2040, 1, 2);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let facts = parse_certificate(cert.der()).unwrap();
    assert_eq!(facts.subject[0].value, "refkube-ca");
    assert_eq!(facts.subject[0].oid, OID_CN);
    // 2040-01-02T00:00:00Z.
    assert_eq!(facts.not_after, 2209075200);
    let (ty, der) = pem_block(cert.pem().as_bytes()).unwrap();
    assert_eq!((ty.as_str(), der), ("CERTIFICATE", cert.der().to_vec()));
}
