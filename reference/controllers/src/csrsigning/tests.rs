//! The signer's decisions and rules (upstream `signer_test.go` and the helpers' tests)
//! and the certificates it issues.

use k8s_openapi::ByteString;
use k8s_openapi::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestCondition, CertificateSigningRequestSpec,
    CertificateSigningRequestStatus,
};
use refkube_resources::pkcs10;

use super::authority::Authority;
use super::rules::{self, KUBE_APISERVER_CLIENT, KUBE_APISERVER_CLIENT_KUBELET, KUBELET_SERVING};
use super::{Decision, decide};

fn request(cn: &str, orgs: &[&str], sans: &[&str]) -> String {
    let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
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

fn usages(u: &[&str]) -> Vec<String> {
    u.iter().map(|s| s.to_string()).collect()
}

fn csr(signer: &str, pem: &str, u: &[&str], conditions: &[&str]) -> CertificateSigningRequest {
    CertificateSigningRequest {
        spec: CertificateSigningRequestSpec {
            request: ByteString(pem.as_bytes().to_vec()),
            signer_name: signer.into(),
            usages: Some(usages(u)),
            ..Default::default()
        },
        status: Some(CertificateSigningRequestStatus {
            conditions: Some(
                conditions
                    .iter()
                    .map(|t| CertificateSigningRequestCondition {
                        type_: t.to_string(),
                        status: "True".into(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            certificate: None,
        }),
        ..Default::default()
    }
}

#[test]
fn only_approved_unissued_requests_for_our_signers_are_signed() {
    let pem = request("jane", &[], &[]);
    let client = ["client auth"];
    assert_eq!(
        decide(&csr(KUBE_APISERVER_CLIENT, &pem, &client, &["Approved"])),
        Decision::Sign
    );
    assert_eq!(
        decide(&csr(KUBE_APISERVER_CLIENT, &pem, &client, &[])),
        Decision::Nothing
    );
    let failed = csr(
        KUBE_APISERVER_CLIENT,
        &pem,
        &client,
        &["Approved", "Failed"],
    );
    assert_eq!(decide(&failed), Decision::Nothing);
    assert_eq!(
        decide(&csr("example.com/x", &pem, &client, &["Approved"])),
        Decision::Nothing
    );
    let mut issued = csr(KUBE_APISERVER_CLIENT, &pem, &client, &["Approved"]);
    issued.status.as_mut().unwrap().certificate = Some(ByteString(b"x".to_vec()));
    assert_eq!(decide(&issued), Decision::Nothing);
    let server = csr(KUBE_APISERVER_CLIENT, &pem, &["server auth"], &["Approved"]);
    assert_eq!(
        decide(&server),
        Decision::Fail("invalid usage for client certificate: server auth".into())
    );
}

#[test]
fn kube_apiserver_client_usages() {
    let cases: &[(&[&str], Result<(), &str>)] = &[
        (&["client auth"], Ok(())),
        (
            &["digital signature", "key encipherment", "client auth"],
            Ok(()),
        ),
        (
            &["key encipherment"],
            Err("missing required usage for client certificate: client auth"),
        ),
        (
            &["client auth", "cert sign"],
            Err("invalid usage for client certificate: cert sign"),
        ),
    ];
    for (u, want) in cases {
        let got = rules::apiserver_client(&usages(u));
        assert_eq!(
            got.as_ref().map_err(String::as_str),
            want.as_ref().map_err(|e| *e),
            "{u:?}"
        );
    }
}

#[test]
fn kubelet_client_rules() {
    let ok_usages = usages(&["digital signature", "key encipherment", "client auth"]);
    let check = |pem: &str, u: &[String]| {
        rules::check(
            KUBE_APISERVER_CLIENT_KUBELET,
            &pkcs10::parse_pem(pem.as_bytes()).unwrap(),
            u,
        )
    };
    let good = request("system:node:n1", &["system:nodes"], &[]);
    assert_eq!(check(&good, &ok_usages), Ok(true));
    assert_eq!(
        check(&good, &usages(&["digital signature", "client auth"])),
        Ok(true)
    );
    let cases = [
        (
            request("system:node:n1", &["other"], &[]),
            "subject organization is not system:nodes",
        ),
        (
            request("system:node:n1", &["system:nodes"], &["n1"]),
            "DNS subjectAltNames are not allowed",
        ),
        (
            request("system:node:n1", &["system:nodes"], &["10.0.0.1"]),
            "IP subjectAltNames are not allowed",
        ),
        (
            request("jane", &["system:nodes"], &[]),
            "subject common name does not begin with system:node:",
        ),
    ];
    for (pem, want) in cases {
        assert_eq!(check(&pem, &ok_usages), Err(want.to_string()));
    }
    assert_eq!(
        check(&good, &usages(&["client auth"])),
        Err("usages did not match [client auth digital signature key encipherment]".into())
    );
}

#[test]
fn kubelet_serving_rules() {
    let ok_usages = usages(&["digital signature", "key encipherment", "server auth"]);
    let check = |pem: &str, u: &[String]| {
        rules::check(
            KUBELET_SERVING,
            &pkcs10::parse_pem(pem.as_bytes()).unwrap(),
            u,
        )
    };
    let good = request("system:node:n1", &["system:nodes"], &["n1", "10.0.0.1"]);
    assert_eq!(check(&good, &ok_usages), Ok(true));
    let no_san = request("system:node:n1", &["system:nodes"], &[]);
    assert_eq!(
        check(&no_san, &ok_usages),
        Err("DNS or IP subjectAltName is required".into())
    );
    assert_eq!(
        check(&good, &usages(&["server auth"])),
        Err("usages did not match [digital signature key encipherment server auth]".into())
    );
    let wrong_cn = request("n1", &["system:nodes"], &["n1"]);
    assert_eq!(
        check(&wrong_cn, &ok_usages),
        Err("subject common name does not begin with system:node:".into())
    );
}

fn ca() -> (String, String) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "refkube-ca");
    params.not_after = rcgen::date_time_ymd(2100, 1, 1);
    let key = rcgen::KeyPair::generate().unwrap();
    (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
}

#[test]
fn issued_certificates_carry_the_subject_and_a_clamped_lifetime() {
    let (cert, key) = ca();
    let day = std::time::Duration::from_secs(86400);
    let authority = Authority::from_pem(&cert, &key, day).unwrap();
    assert_eq!(authority.duration(None), day);
    assert_eq!(authority.duration(Some(60)).as_secs(), 600);
    assert_eq!(authority.duration(Some(3600)).as_secs(), 3600);
    assert_eq!(authority.duration(Some(10 * 86400)), day);
    let req = pkcs10::parse_pem(request("jane", &["dev"], &[]).as_bytes()).unwrap();
    let now = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let pem = authority
        .sign(&req, &usages(&["client auth"]), Some(3600), now)
        .unwrap();
    let (_, der) = pkcs10::pem_block(pem.as_bytes()).unwrap();
    let facts = pkcs10::parse_certificate(&der).unwrap();
    let names: Vec<&str> = facts.subject.iter().map(|a| a.value.as_str()).collect();
    assert_eq!(names, ["jane", "dev"]);
    assert_eq!(facts.not_after, 1_700_000_000 + 3600);
}

#[test]
fn usages_map_to_key_usage_bits_or_extended_key_usages() {
    use super::authority::{Usage, usage};
    use rcgen::{ExtendedKeyUsagePurpose as E, KeyUsagePurpose as K};
    assert!(matches!(
        usage("digital signature"),
        Some(Usage::Key(K::DigitalSignature))
    ));
    assert!(matches!(
        usage("signing"),
        Some(Usage::Key(K::DigitalSignature))
    ));
    assert!(matches!(
        usage("key encipherment"),
        Some(Usage::Key(K::KeyEncipherment))
    ));
    assert!(matches!(
        usage("server auth"),
        Some(Usage::Extended(E::ServerAuth))
    ));
    assert!(matches!(
        usage("s/mime"),
        Some(Usage::Extended(E::EmailProtection))
    ));
    assert!(usage("self destruct").is_none());
}

#[test]
fn the_requests_names_become_the_certificates_sans() {
    let pem = request("node", &[], &["node.example", "10.0.0.7"]);
    let req = pkcs10::parse_pem(pem.as_bytes()).unwrap();
    let sans = super::authority::subject_alt_names(&req).unwrap();
    let ip: std::net::IpAddr = "10.0.0.7".parse().unwrap();
    assert_eq!(
        sans,
        vec![
            rcgen::SanType::DnsName("node.example".try_into().unwrap()),
            rcgen::SanType::IpAddress(ip),
        ]
    );
}
