//! Unit tests of client certificate authentication: the chain check and the user a
//! verified certificate names.

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, UnixTime};

use super::*;

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Ca {
    let mut p = CertificateParams::default();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    Ca {
        cert: p.self_signed(&key).unwrap(),
        key,
    }
}

/// A leaf of `ca` with these subject attributes and extended key usages, valid from
/// the start of year `from` to the start of year `to`.
fn leaf(
    ca: &Ca,
    subject: &[(DnType, &str)],
    usages: Vec<ExtendedKeyUsagePurpose>,
    from: i32,
    to: i32,
) -> CertificateDer<'static> {
    let mut p = CertificateParams::default();
    // rcgen's default subject has a CommonName of its own.
    p.distinguished_name = rcgen::DistinguishedName::new();
    for (ty, v) in subject {
        p.distinguished_name.push(ty.clone(), *v);
    }
    p.extended_key_usages = usages;
    p.not_before = rcgen::date_time_ymd(from, 1, 1);
    p.not_after = rcgen::date_time_ymd(to, 1, 1);
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca.cert, &ca.key).unwrap();
    CertificateDer::from(cert.der().to_vec())
}

fn auth(ca: &Ca) -> ClientCertAuth {
    ClientCertAuth::from_pem(ca.cert.pem().as_bytes(), "test").unwrap()
}

fn jane(ca: &Ca, from: i32, to: i32) -> CertificateDer<'static> {
    leaf(
        ca,
        &[
            (DnType::CommonName, "jane"),
            (DnType::OrganizationName, "devs"),
            // rcgen keeps one value per attribute type: the second Organization is
            // spelled by OID.
            (DnType::CustomDnType(vec![2, 5, 4, 10]), "ops"),
        ],
        vec![ExtendedKeyUsagePurpose::ClientAuth],
        from,
        to,
    )
}

#[test]
fn a_verified_certificate_is_its_common_name_in_its_organizations() {
    let ca = ca("cluster-ca");
    let user = auth(&ca)
        .authenticate(&[jane(&ca, 2000, 2100)], UnixTime::now())
        .unwrap()
        .unwrap();
    assert_eq!(user.name, "jane");
    assert_eq!(user.groups, ["devs", "ops", "system:authenticated"]);
    assert_eq!(user.uid, "");
}

#[test]
fn foreign_expired_and_future_certificates_do_not_verify() {
    let ca = ca("cluster-ca");
    let other = ca_named_other();
    let a = auth(&ca);
    for (what, cert) in [
        ("foreign", jane(&other, 2000, 2100)),
        ("expired", jane(&ca, 2000, 2001)),
        ("not yet valid", jane(&ca, 2100, 2101)),
    ] {
        let got = a.authenticate(&[cert], UnixTime::now());
        assert!(got.is_err(), "{what}: {got:?}");
    }
}

fn ca_named_other() -> Ca {
    ca("someone-else")
}

#[test]
fn a_certificate_for_servers_only_is_no_client_credential() {
    let ca = ca("cluster-ca");
    let server_only = leaf(
        &ca,
        &[(DnType::CommonName, "jane")],
        vec![ExtendedKeyUsagePurpose::ServerAuth],
        2000,
        2100,
    );
    assert!(
        auth(&ca)
            .authenticate(&[server_only], UnixTime::now())
            .is_err()
    );
}

#[test]
fn no_certificate_or_no_common_name_leaves_the_request_to_tokens() {
    let ca = ca("cluster-ca");
    let a = auth(&ca);
    assert_eq!(a.authenticate(&[], UnixTime::now()), Ok(None));
    let nameless = leaf(
        &ca,
        &[(DnType::OrganizationName, "devs")],
        vec![ExtendedKeyUsagePurpose::ClientAuth],
        2000,
        2100,
    );
    assert_eq!(a.authenticate(&[nameless], UnixTime::now()), Ok(None));
}

#[test]
fn groups_follow_upstreams_authenticated_group_adder() {
    let ca = ca("cluster-ca");
    let user = |subject: &[(DnType, &str)]| {
        let cert = leaf(
            &ca,
            subject,
            vec![ExtendedKeyUsagePurpose::ClientAuth],
            2000,
            2100,
        );
        user_of(&cert).unwrap().unwrap()
    };
    // Go keeps the last CommonName of a subject.
    let two = user(&[
        (DnType::CommonName, "first"),
        (DnType::CustomDnType(vec![2, 5, 4, 3]), "last"),
    ]);
    assert_eq!(two.name, "last");
    assert_eq!(two.groups, ["system:authenticated"]);
    let marked = user(&[
        (DnType::CommonName, "jane"),
        (DnType::OrganizationName, "system:unauthenticated"),
    ]);
    assert_eq!(marked.groups, ["system:unauthenticated"]);
    let anonymous = user(&[(DnType::CommonName, "system:anonymous")]);
    assert!(anonymous.groups.is_empty());
}

#[test]
fn a_bundle_without_certificates_is_refused() {
    assert!(ClientCertAuth::from_pem(b"not a pem", "empty").is_err());
}
