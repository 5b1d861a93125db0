//! Client certificate authentication (`--client-ca-file`), as upstream's x509 request
//! authenticator: a request over a connection whose client presented a certificate that
//! chains to the CA bundle, for client auth, authenticates as user = the subject's
//! CommonName, groups = its Organization values (plus `system:authenticated`).
//!
//! As upstream's server (Go's `RequestClientCert`), the handshake asks for a certificate
//! but does not judge its chain (only the proof that the client holds its key), and each
//! request verifies it: a foreign, expired or not-yet-valid certificate is then a 401
//! unless a bearer token authenticates the request, as upstream's authenticator union.
//!
//! Entry points: [`ClientCertAuth::from_pem`], [`ClientCertAuth::authenticate`],
//! [`ClientCertAuth::handshake_verifier`]; [`user_of`] is the subject-to-user rule.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::auth::User;
use crate::tls::TlsError;

const OID_CN: &[u64] = &[2, 5, 4, 3];
const OID_O: &[u64] = &[2, 5, 4, 10];

/// The client certificates a connection presented (leaf first), carried in each of its
/// requests' extensions.
#[derive(Clone, Debug)]
pub struct PeerCertificates(pub Arc<[CertificateDer<'static>]>);

/// Verifies client certificates against a CA bundle and names their users.
#[derive(Clone, Debug)]
pub struct ClientCertAuth {
    /// rustls' WebPKI verifier over the bundle, requiring the clientAuth usage when the
    /// certificate lists extended key usages (Go's `ExtKeyUsageClientAuth` check).
    verifier: Arc<dyn ClientCertVerifier>,
}

impl ClientCertAuth {
    /// Reads a PEM bundle of CA certificates (`--client-ca-file`); `source` names it in
    /// errors.
    pub fn from_pem(pem: &[u8], source: &str) -> Result<Self, TlsError> {
        let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut &pem[..])
            .collect::<Result<_, _>>()
            .map_err(|e| TlsError::Invalid(format!("{source}: {e}")))?;
        Self::from_der(certs, source)
    }

    /// Trusts these CA certificates.
    pub fn from_der(certs: Vec<CertificateDer<'static>>, source: &str) -> Result<Self, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(TlsError::Invalid(format!(
                "{source}: no usable CA certificate"
            )));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .allow_unauthenticated()
            .build()
            .map_err(|e| TlsError::Invalid(format!("{source}: {e}")))?;
        Ok(Self { verifier })
    }

    /// The verifier the TLS handshake uses: it asks for an optional certificate, checks
    /// the client's signature with it, and leaves the chain to [`Self::authenticate`].
    pub fn handshake_verifier(&self) -> Arc<dyn ClientCertVerifier> {
        Arc::new(AskOnly(self.verifier.clone()))
    }

    /// The user of a presented chain (leaf first) at `now`: `Ok(None)` when there is no
    /// certificate or its CommonName is empty (not ours to decide), `Err` when it does
    /// not verify.
    pub fn authenticate(
        &self,
        chain: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<Option<User>, String> {
        let Some((leaf, intermediates)) = chain.split_first() else {
            return Ok(None);
        };
        self.verifier
            .verify_client_cert(leaf, intermediates, now)
            .map_err(|e| format!("verifying certificate failed: {e}"))?;
        user_of(leaf)
    }
}

/// Upstream's `CommonNameUserConversion`: the subject's CommonName is the user (Go keeps
/// the last one a subject lists), its Organizations the groups, in order; then the
/// `system:authenticated` group as upstream's group adder puts it.
pub fn user_of(leaf: &CertificateDer<'_>) -> Result<Option<User>, String> {
    let facts = refkube_resources::pkcs10::parse_certificate(leaf)?;
    let name = facts
        .subject
        .iter()
        .rev()
        .find(|a| a.oid == OID_CN)
        .map(|a| a.value.clone())
        .unwrap_or_default();
    if name.is_empty() {
        return Ok(None);
    }
    let mut groups: Vec<String> = (facts.subject.iter())
        .filter(|a| a.oid == OID_O)
        .map(|a| a.value.clone())
        .collect();
    let marked = groups
        .iter()
        .any(|g| g == "system:authenticated" || g == "system:unauthenticated");
    if name != "system:anonymous" && !marked {
        groups.push("system:authenticated".into());
    }
    Ok(Some(User {
        name,
        groups,
        ..Default::default()
    }))
}

/// Asks for a client certificate and checks the handshake signatures made with it, but
/// accepts any chain: the request's authentication verifies it (see the module docs).
#[derive(Debug)]
struct AskOnly(Arc<dyn ClientCertVerifier>);

impl ClientCertVerifier for AskOnly {
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests;
