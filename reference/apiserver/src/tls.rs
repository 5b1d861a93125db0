//! TLS for the API server: certificate files, or a self-signed certificate generated
//! with rcgen whose PEM is handed to the kubeconfig as the cluster CA.
//!
//! Entry point: [`load`].

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The key file holds no private key.
    #[error("no private key found in {0}")]
    NoKey(String),
    /// rustls or rcgen refused the material.
    #[error("invalid TLS material: {0}")]
    Invalid(String),
}

/// A ready acceptor plus the PEM clients should trust (the certificate itself).
pub struct Tls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub ca_pem: String,
    /// The generated CA's private key (PEM), for a cluster that signs certificates with
    /// it (`refkube up` hands it to the CSR signer); `None` for certificate files.
    pub ca_key_pem: Option<String>,
    /// The serving chain and key, to rebuild the acceptor with client authentication.
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Tls {
    fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        ca_pem: String,
        ca_key_pem: Option<String>,
    ) -> Result<Self, TlsError> {
        Ok(Self {
            acceptor: config(chain.clone(), key.clone_key(), None)?,
            ca_pem,
            ca_key_pem,
            chain,
            key,
        })
    }

    /// Makes the handshake ask for an optional client certificate, which `client`
    /// judges at each request (`--client-ca-file`).
    pub fn ask_client_certificates(
        &mut self,
        client: &crate::client_cert::ClientCertAuth,
    ) -> Result<(), TlsError> {
        self.acceptor = config(
            self.chain.clone(),
            self.key.clone_key(),
            Some(client.handshake_verifier()),
        )?;
        Ok(())
    }
}

fn config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Invalid(e.to_string()))?;
    let builder = match client {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Invalid(e.to_string()))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
}

/// Loads PEM certificate and key files.
pub fn from_files(cert: &Path, key: &Path) -> Result<Tls, TlsError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| TlsError::Read {
            path: p.display().to_string(),
            source,
        })
    };
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Invalid(e.to_string()))?;
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| TlsError::Invalid(e.to_string()))?
        .ok_or_else(|| TlsError::NoKey(key.display().to_string()))?;
    Tls::new(
        certs,
        key,
        String::from_utf8_lossy(&cert_pem).into_owned(),
        None,
    )
}

fn new_ca() -> Result<(rcgen::Certificate, rcgen::KeyPair), TlsError> {
    let err = |e: rcgen::Error| TlsError::Invalid(e.to_string());
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "refkube-ca");
    let ca_key = rcgen::KeyPair::generate().map_err(err)?;
    let ca = ca_params.self_signed(&ca_key).map_err(err)?;
    Ok((ca, ca_key))
}

/// A new cluster CA (certificate and key, PEM) for a cluster whose API server serves
/// plain HTTP, so that it still has a CA to issue certificates with.
pub fn cluster_ca() -> Result<(String, String), TlsError> {
    let (ca, key) = new_ca()?;
    Ok((ca.pem(), key.serialize_pem()))
}

/// Generates a CA and a serving certificate for `localhost`, `kubernetes` names and `ips`.
/// `extra` holds more DNS names or IP addresses (`--tls-san`).
pub fn self_signed(ips: &[IpAddr], extra: &[String]) -> Result<Tls, TlsError> {
    let mut names: Vec<String> = [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    names.extend(ips.iter().map(IpAddr::to_string));
    names.extend(extra.iter().cloned());
    names.sort();
    names.dedup();
    let err = |e: rcgen::Error| TlsError::Invalid(e.to_string());
    // A CA signing a leaf (rather than one self-signed leaf) so that every client
    // verifier, rustls' included, accepts the chain.
    let (ca, ca_key) = new_ca()?;
    let mut leaf_params = rcgen::CertificateParams::new(names).map_err(err)?;
    leaf_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "kube-apiserver");
    let leaf_key = rcgen::KeyPair::generate().map_err(err)?;
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca, &ca_key)
        .map_err(err)?;
    let ca_pem = ca.pem();
    let der = CertificateDer::from(leaf.der().to_vec());
    let key = PrivateKeyDer::try_from(leaf_key.serialize_der())
        .map_err(|e| TlsError::Invalid(e.to_string()))?;
    Tls::new(vec![der], key, ca_pem, Some(ca_key.serialize_pem()))
}
