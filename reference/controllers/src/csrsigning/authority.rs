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
            match u.as_str() {
                "signing" | "digital signature" => {
                    params.key_usages.push(KeyUsagePurpose::DigitalSignature)
                }
                "content commitment" => params.key_usages.push(KeyUsagePurpose::ContentCommitment),
                "key encipherment" => params.key_usages.push(KeyUsagePurpose::KeyEncipherment),
                "key agreement" => params.key_usages.push(KeyUsagePurpose::KeyAgreement),
                "data encipherment" => params.key_usages.push(KeyUsagePurpose::DataEncipherment),
                "cert sign" => params.key_usages.push(KeyUsagePurpose::KeyCertSign),
                "crl sign" => params.key_usages.push(KeyUsagePurpose::CrlSign),
                "encipher only" => params.key_usages.push(KeyUsagePurpose::EncipherOnly),
                "decipher only" => params.key_usages.push(KeyUsagePurpose::DecipherOnly),
                "any" => params
                    .extended_key_usages
                    .push(ExtendedKeyUsagePurpose::Any),
                "server auth" => params
                    .extended_key_usages
                    .push(ExtendedKeyUsagePurpose::ServerAuth),
                "client auth" => params
                    .extended_key_usages
                    .push(ExtendedKeyUsagePurpose::ClientAuth),
                "code signing" => params
                    .extended_key_usages
                    .push(ExtendedKeyUsagePurpose::CodeSigning),
                "email protection" | "s/mime" => params
                    .extended_key_usages
                    .push(ExtendedKeyUsagePurpose::EmailProtection),
                "timestamping" => params
                    .extended_key_usages
                    .push(ExtendedKeyUsagePurpose::TimeStamping),
                "ocsp signing" => params
                    .extended_key_usages
                    .push(ExtendedKeyUsagePurpose::OcspSigning),
                _ => {}
            }
        }
        let ia5 = |s: &str| rcgen::Ia5String::try_from(s).map_err(|e| e.to_string());
        for d in &req.dns_names {
            params.subject_alt_names.push(SanType::DnsName(ia5(d)?));
        }
        for ip in &req.ip_addresses {
            params.subject_alt_names.push(SanType::IpAddress(*ip));
        }
        for e in &req.email_addresses {
            params.subject_alt_names.push(SanType::Rfc822Name(ia5(e)?));
        }
        for u in &req.uris {
            params.subject_alt_names.push(SanType::URI(ia5(u)?));
        }
        let cert = params
            .signed_by(&RequestKey(req), &self.issuer, &self.key)
            .map_err(|e| e.to_string())?;
        Ok(cert.pem())
    }
}
