//! PKCS#10 certificate signing requests as `spec.request` of a CertificateSigningRequest
//! carries them: the PEM block decoded, the DER parsed (subject, public key, the
//! subjectAltName extension request) and the self-signature checked, as Go's
//! `x509.ParseCertificateRequest` and `CheckSignature` do for upstream.
//!
//! Entry points: [`parse_pem`], [`Csr::check_signature`]; [`parse_certificate`] reads
//! what a signer needs of its CA certificate.

mod der;
#[cfg(test)]
mod tests;

use std::net::IpAddr;

/// The key algorithm of a request's public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    Rsa,
    EcdsaP256,
    EcdsaP384,
    Ed25519,
}

/// One attribute of the subject: its OID, ASN.1 string tag and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAttribute {
    pub oid: Vec<u64>,
    pub tag: u64,
    pub value: String,
}

/// A parsed certificate signing request.
#[derive(Clone, Debug)]
pub struct Csr {
    /// The DER of `certificationRequestInfo`, what the signature covers.
    pub info_der: Vec<u8>,
    /// The subject's attributes in order (RDNs flattened).
    pub subject: Vec<NameAttribute>,
    pub key_algorithm: KeyAlgorithm,
    /// The subjectPublicKey BIT STRING's bytes.
    pub public_key: Vec<u8>,
    /// The signature algorithm's OID.
    pub signature_algorithm: Vec<u64>,
    pub signature: Vec<u8>,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<IpAddr>,
    pub email_addresses: Vec<String>,
    pub uris: Vec<String>,
}

pub(crate) const OID_CN: &[u64] = &[2, 5, 4, 3];
pub(crate) const OID_O: &[u64] = &[2, 5, 4, 10];

impl Csr {
    /// The subject's common name: the last one it lists, as Go's `pkix.Name` keeps it,
    /// so that signers, approvers and the client certificate authenticator read the same.
    pub fn common_name(&self) -> &str {
        self.subject
            .iter()
            .rev()
            .find(|a| a.oid == OID_CN)
            .map(|a| a.value.as_str())
            .unwrap_or_default()
    }

    /// The subject's organizations, in order.
    pub fn organizations(&self) -> Vec<String> {
        self.subject
            .iter()
            .filter(|a| a.oid == OID_O)
            .map(|a| a.value.clone())
            .collect()
    }

    /// Verifies the request's self-signature, with Go's error texts.
    pub fn check_signature(&self) -> Result<(), String> {
        use ring::signature as sig;
        let alg: &dyn sig::VerificationAlgorithm =
            match (self.key_algorithm, self.signature_algorithm.as_slice()) {
                (KeyAlgorithm::Rsa, [1, 2, 840, 113549, 1, 1, 11]) => {
                    &sig::RSA_PKCS1_2048_8192_SHA256
                }
                (KeyAlgorithm::Rsa, [1, 2, 840, 113549, 1, 1, 12]) => {
                    &sig::RSA_PKCS1_2048_8192_SHA384
                }
                (KeyAlgorithm::Rsa, [1, 2, 840, 113549, 1, 1, 13]) => {
                    &sig::RSA_PKCS1_2048_8192_SHA512
                }
                (KeyAlgorithm::EcdsaP256, [1, 2, 840, 10045, 4, 3, 2]) => {
                    &sig::ECDSA_P256_SHA256_ASN1
                }
                (KeyAlgorithm::EcdsaP256, [1, 2, 840, 10045, 4, 3, 3]) => {
                    &sig::ECDSA_P256_SHA384_ASN1
                }
                (KeyAlgorithm::EcdsaP384, [1, 2, 840, 10045, 4, 3, 2]) => {
                    &sig::ECDSA_P384_SHA256_ASN1
                }
                (KeyAlgorithm::EcdsaP384, [1, 2, 840, 10045, 4, 3, 3]) => {
                    &sig::ECDSA_P384_SHA384_ASN1
                }
                (KeyAlgorithm::Ed25519, [1, 3, 101, 112]) => &sig::ED25519,
                _ => return Err("x509: cannot verify signature: algorithm unimplemented".into()),
            };
        sig::UnparsedPublicKey::new(alg, &self.public_key)
            .verify(&self.info_der, &self.signature)
            .map_err(|_| {
                match self.key_algorithm {
                    KeyAlgorithm::Rsa => "crypto/rsa: verification error",
                    KeyAlgorithm::Ed25519 => "x509: Ed25519 verification failure",
                    _ => "x509: ECDSA verification failure",
                }
                .to_string()
            })
    }
}

/// The first PEM block of `pem`: its type and decoded bytes.
pub fn pem_block(pem: &[u8]) -> Option<(String, Vec<u8>)> {
    use base64::Engine;
    let text = std::str::from_utf8(pem).ok()?;
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + 11..];
    let ty_end = rest.find("-----")?;
    let ty = rest[..ty_end].to_string();
    let body = &rest[ty_end + 5..];
    let end = body.find(&format!("-----END {ty}-----"))?;
    let b64: String = body[..end].split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    Some((ty, bytes))
}

/// Parses the PEM `CERTIFICATE REQUEST` block of `pem` (upstream's `ParseCSR`).
pub fn parse_pem(pem: &[u8]) -> Result<Csr, String> {
    match pem_block(pem) {
        Some((ty, der)) if ty == "CERTIFICATE REQUEST" => parse_der(&der),
        _ => Err("PEM block type must be CERTIFICATE REQUEST".into()),
    }
}

/// What a signer needs of its CA certificate (DER): the subject and when it expires.
pub struct CertificateFacts {
    pub subject: Vec<NameAttribute>,
    /// `notAfter`, in Unix seconds.
    pub not_after: i64,
}

/// Reads a DER X.509 certificate's subject and expiry.
pub fn parse_certificate(der: &[u8]) -> Result<CertificateFacts, String> {
    der::certificate(der)
        .map(|(subject, not_after)| CertificateFacts { subject, not_after })
        .map_err(|e| format!("x509: malformed certificate: {e}"))
}

/// Parses a DER certificate signing request.
pub fn parse_der(der: &[u8]) -> Result<Csr, String> {
    der::parse(der).map_err(|e| format!("x509: malformed certificate request: {e}"))
}
