//! The cluster CA as upstream's `authority.CertificateAuthority` uses it: signs a
//! request's public key with the request's subject and SANs, the usages asked for, not
//! a CA, valid from five minutes ago (backdating for clock skew) for the signer's
//! duration or the shorter one requested (never under ten minutes), and never past the
//! CA's own expiry.

use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType, SignatureAlgorithm,
};
use refkube_resources::pkcs10::{self, Csr, KeyAlgorithm, NameAttribute};

/// Upstream's backdate of `NotBefore`.
const BACKDATE: Duration = Duration::from_secs(5 * 60);
/// The shortest lifetime a request may ask for (twice the backdate).
const MIN_TTL: Duration = Duration::from_secs(10 * 60);

/// The signing CA: its certificate rebuilt for rcgen from the PEM's subject, its key.
pub struct Authority {
    issuer: rcgen::Certificate,
    key: KeyPair,
    not_after: Option<time::OffsetDateTime>,
    /// The longest lifetime issued (`--cluster-signing-duration`).
    pub ttl: Duration,
}

/// A requester's public key, as rcgen writes it into the certificate.
struct RequestKey<'a>(&'a Csr);

impl rcgen::PublicKeyData for RequestKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        &self.0.public_key
    }
    fn algorithm(&self) -> &SignatureAlgorithm {
        match self.0.key_algorithm {
            KeyAlgorithm::Rsa => &rcgen::PKCS_RSA_SHA256,
            KeyAlgorithm::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlgorithm::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyAlgorithm::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }
}

fn dn_type(oid: &[u64]) -> DnType {
    match oid {
        [2, 5, 4, 3] => DnType::CommonName,
        [2, 5, 4, 10] => DnType::OrganizationName,
        [2, 5, 4, 11] => DnType::OrganizationalUnitName,
        [2, 5, 4, 6] => DnType::CountryName,
        [2, 5, 4, 7] => DnType::LocalityName,
        [2, 5, 4, 8] => DnType::StateOrProvinceName,
        other => DnType::CustomDnType(other.to_vec()),
    }
}

/// A name with each attribute's string type kept, so issuer and subject bytes match.
fn distinguished_name(attrs: &[NameAttribute]) -> rcgen::DistinguishedName {
    let mut dn = rcgen::DistinguishedName::new();
    for a in attrs {
        let value = match a.tag {
            19 => rcgen::PrintableString::try_from(a.value.as_str())
                .map(DnValue::PrintableString)
                .unwrap_or_else(|_| DnValue::Utf8String(a.value.clone())),
            22 => rcgen::Ia5String::try_from(a.value.as_str())
                .map(DnValue::Ia5String)
                .unwrap_or_else(|_| DnValue::Utf8String(a.value.clone())),
            _ => DnValue::Utf8String(a.value.clone()),
        };
        dn.push(dn_type(&a.oid), value);
    }
    dn
}

/// What a `spec.usages` entry turns into: a key usage bit or an extended key usage.
#[derive(Debug)]
pub(super) enum Usage {
    Key(KeyUsagePurpose),
    Extended(ExtendedKeyUsagePurpose),
}

/// Upstream's `keyUsageDict` and `extKeyUsageDict`.
pub(super) fn usage(name: &str) -> Option<Usage> {
    use ExtendedKeyUsagePurpose as E;
    use KeyUsagePurpose as K;
    let key = match name {
        "signing" | "digital signature" => Some(K::DigitalSignature),
        "content commitment" => Some(K::ContentCommitment),
        "key encipherment" => Some(K::KeyEncipherment),
        "key agreement" => Some(K::KeyAgreement),
        "data encipherment" => Some(K::DataEncipherment),
        "cert sign" => Some(K::KeyCertSign),
        "crl sign" => Some(K::CrlSign),
        "encipher only" => Some(K::EncipherOnly),
        "decipher only" => Some(K::DecipherOnly),
        _ => None,
    };
    let extended = || match name {
        "any" => Some(E::Any),
        "server auth" => Some(E::ServerAuth),
        "client auth" => Some(E::ClientAuth),
        "code signing" => Some(E::CodeSigning),
        "email protection" | "s/mime" => Some(E::EmailProtection),
        "timestamping" => Some(E::TimeStamping),
        "ocsp signing" => Some(E::OcspSigning),
        _ => None,
    };
    key.map(Usage::Key)
        .or_else(|| extended().map(Usage::Extended))
}

/// The request's SANs: DNS names, IP addresses, emails, URIs.
pub(super) fn subject_alt_names(req: &Csr) -> Result<Vec<SanType>, String> {
    let ia5 = |s: &String| rcgen::Ia5String::try_from(s.as_str()).map_err(|e| e.to_string());
    let dns = req.dns_names.iter().map(|d| ia5(d).map(SanType::DnsName));
    let ips = req
        .ip_addresses
        .iter()
        .map(|ip| Ok(SanType::IpAddress(*ip)));
    let emails = req
        .email_addresses
        .iter()
        .map(|e| ia5(e).map(SanType::Rfc822Name));
    let uris = req.uris.iter().map(|u| ia5(u).map(SanType::URI));
    dns.chain(ips).chain(emails).chain(uris).collect()
}

impl Authority {
    /// Loads the CA certificate and key (PEM), as `--cluster-signing-cert-file` and
    /// `--cluster-signing-key-file` name them.
    pub fn from_pem(cert_pem: &str, key_pem: &str, ttl: Duration) -> Result<Self, String> {
        let (ty, der) = pkcs10::pem_block(cert_pem.as_bytes())
            .ok_or("no certificate found in the signing certificate file")?;
        if ty != "CERTIFICATE" {
            return Err(format!("expected a CERTIFICATE PEM block, found {ty:?}"));
        }
        let ca = pkcs10::parse_certificate(&der)?;
        let key = KeyPair::from_pem(key_pem).map_err(|e| format!("signing key: {e}"))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name(&ca.subject);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer = params.self_signed(&key).map_err(|e| e.to_string())?;
        let not_after = time::OffsetDateTime::from_unix_timestamp(ca.not_after).ok();
        Ok(Self {
            issuer,
            key,
            not_after,
            ttl,
        })
    }

    /// The lifetime of a certificate: the signer's, or the shorter one requested.
    pub fn duration(&self, expiration_seconds: Option<i64>) -> Duration {
        match expiration_seconds {
            None => self.ttl,
            Some(s) => Duration::from_secs(s.max(0) as u64).clamp(MIN_TTL, self.ttl.max(MIN_TTL)),
        }
    }

    /// Signs `req` for `usages`; the certificate as PEM.
    pub fn sign(
        &self,
        req: &Csr,
        usages: &[String],
        expiration_seconds: Option<i64>,
        now: time::OffsetDateTime,
    ) -> Result<String, String> {
        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name(&req.subject);
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = false;
        params.serial_number = Some(rand::random::<[u8; 16]>().map(|b| b & 0x7f).to_vec().into());
        params.not_before = now - BACKDATE;
        let mut not_after = now + self.duration(expiration_seconds);
        if let Some(ca_end) = self.not_after {
            not_after = not_after.min(ca_end);
        }
        params.not_after = not_after;
        for u in usages {
            match usage(u) {
                Some(Usage::Key(k)) => params.key_usages.push(k),
                Some(Usage::Extended(e)) => params.extended_key_usages.push(e),
                // The API server's validation refuses unknown usages; none gets here.
                None => {}
            }
        }
        params.subject_alt_names = subject_alt_names(req)?;
        let cert = params
            .signed_by(&RequestKey(req), &self.issuer, &self.key)
            .map_err(|e| e.to_string())?;
        Ok(cert.pem())
    }
}
