//! The approver's decisions (upstream `sarapprove_test.go`'s recognizer cases): which
//! reviews each request gets, and the condition an allowed one adds.

use k8s_openapi::ByteString;
use k8s_openapi::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestCondition, CertificateSigningRequestSpec,
    CertificateSigningRequestStatus,
};

use super::decide::{NODE_CLIENT, Recognizer, SELF_NODE_CLIENT, approved_condition, candidates};
use crate::csrsigning::rules::{KUBE_APISERVER_CLIENT, KUBE_APISERVER_CLIENT_KUBELET};

/// A PEM request for CN=`cn` in `orgs` with DNS SANs `sans`.
fn request(cn: &str, orgs: &[&str], sans: &[&str]) -> String {
    let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(sans).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    for o in orgs {
        // One value per attribute type in rcgen: further Organizations by OID.
        let ty = if params
            .distinguished_name
            .get(&rcgen::DnType::OrganizationName)
            .is_some()
        {
            rcgen::DnType::CustomDnType(vec![2, 5, 4, 10])
        } else {
            rcgen::DnType::OrganizationName
        };
        params.distinguished_name.push(ty, *o);
    }
    let key = rcgen::KeyPair::generate().unwrap();
    params.serialize_request(&key).unwrap().pem().unwrap()
}

/// A node client request whose subject names a second CommonName after the node's:
/// Go (and so every reader here) takes the last.
fn two_common_names() -> String {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    let dn = &mut params.distinguished_name;
    dn.push(rcgen::DnType::CommonName, NODE);
    dn.push(
        rcgen::DnType::CustomDnType(vec![2, 5, 4, 3]),
        "system:admin",
    );
    dn.push(rcgen::DnType::OrganizationName, "system:nodes");
    let key = rcgen::KeyPair::generate().unwrap();
    params.serialize_request(&key).unwrap().pem().unwrap()
}

struct Case {
    name: &'static str,
    signer: &'static str,
    username: &'static str,
    pem: String,
    usages: &'static [&'static str],
    conditions: &'static [&'static str],
    issued: bool,
    want: Result<Vec<Recognizer>, ()>,
}

fn csr(c: &Case) -> CertificateSigningRequest {
    let condition = |t: &&str| CertificateSigningRequestCondition {
        type_: t.to_string(),
        // Upstream looks at the type alone.
        status: "False".into(),
        ..Default::default()
    };
    CertificateSigningRequest {
        spec: CertificateSigningRequestSpec {
            request: ByteString(c.pem.as_bytes().to_vec()),
            signer_name: c.signer.into(),
            usages: Some(c.usages.iter().map(|s| s.to_string()).collect()),
            username: Some(c.username.into()),
            groups: Some(vec!["system:nodes".into(), "system:authenticated".into()]),
            ..Default::default()
        },
        status: Some(CertificateSigningRequestStatus {
            conditions: Some(c.conditions.iter().map(condition).collect()),
            certificate: c.issued.then(|| ByteString(b"PEM".to_vec())),
        }),
        ..Default::default()
    }
}

const NODE: &str = "system:node:node-1";
const CLIENT: &[&str] = &["client auth", "digital signature", "key encipherment"];

fn case(name: &'static str, want: Result<Vec<Recognizer>, ()>) -> Case {
    Case {
        name,
        signer: KUBE_APISERVER_CLIENT_KUBELET,
        username: NODE,
        pem: request(NODE, &["system:nodes"], &[]),
        usages: CLIENT,
        conditions: &[],
        issued: false,
        want,
    }
}

#[test]
fn node_client_requests_get_upstreams_reviews() {
    let both = Ok(vec![SELF_NODE_CLIENT, NODE_CLIENT]);
    let none = Ok(vec![]);
    let cases = vec![
        case("the node asking for its own certificate", both.clone()),
        Case {
            usages: &["client auth", "digital signature"],
            ..case("without key encipherment (non-RSA keys)", both.clone())
        },
        Case {
            username: "system:bootstrap:abcdef",
            ..case("someone else asking for a node", Ok(vec![NODE_CLIENT]))
        },
        Case {
            username: "system:node:node-2",
            ..case("another node asking", Ok(vec![NODE_CLIENT]))
        },
        Case {
            signer: KUBE_APISERVER_CLIENT,
            ..case("the generic client signer", none.clone())
        },
        Case {
            pem: request("jane", &["devs"], &[]),
            signer: KUBE_APISERVER_CLIENT,
            username: "jane",
            ..case("a user's client request", none.clone())
        },
        Case {
            pem: request(NODE, &["system:masters"], &[]),
            ..case("organization not system:nodes", none.clone())
        },
        Case {
            pem: request(NODE, &["system:nodes", "system:masters"], &[]),
            ..case("a second organization", none.clone())
        },
        Case {
            pem: request("jane", &["system:nodes"], &[]),
            username: "jane",
            ..case("common name not system:node:", none.clone())
        },
        Case {
            pem: two_common_names(),
            ..case("a second common name after the node's", none.clone())
        },
        Case {
            pem: request(NODE, &["system:nodes"], &["node-1.example"]),
            ..case("a DNS SAN", none.clone())
        },
        Case {
            usages: &["client auth", "digital signature", "server auth"],
            ..case("server usage", none.clone())
        },
        Case {
            usages: &["digital signature", "key encipherment"],
            ..case("no client auth", none.clone())
        },
        Case {
            conditions: &["Approved"],
            ..case("already approved", none.clone())
        },
        Case {
            conditions: &["Denied"],
            ..case("denied", none.clone())
        },
        Case {
            issued: true,
            ..case("issued", none.clone())
        },
        Case {
            pem: "not a request".into(),
            ..case("unparsable", Err(()))
        },
    ];
    for c in &cases {
        let got = candidates(&csr(c)).map_err(|_| ());
        assert_eq!(got, c.want, "{}", c.name);
    }
}

#[test]
fn approval_is_upstreams_condition() {
    let c = approved_condition(&NODE_CLIENT);
    assert_eq!(c.type_, "Approved");
    assert_eq!(c.status, "True");
    assert_eq!(c.reason.as_deref(), Some("AutoApproved"));
    assert_eq!(
        c.message.as_deref(),
        Some("Auto approving kubelet client certificate after SubjectAccessReview.")
    );
    assert_eq!(
        approved_condition(&SELF_NODE_CLIENT).message.as_deref(),
        Some("Auto approving self kubelet client certificate after SubjectAccessReview.")
    );
}
