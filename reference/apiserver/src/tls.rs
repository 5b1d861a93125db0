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
}

fn config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Invalid(e.to_string()))?
        .with_no_client_auth()
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
    Ok(Tls {
        acceptor: config(certs, key)?,
        ca_pem: String::from_utf8_lossy(&cert_pem).into_owned(),
        ca_key_pem: None,
    })
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
    Ok(Tls {
        acceptor: config(vec![der], key)?,
        ca_pem,
        ca_key_pem: Some(ca_key.serialize_pem()),
    })
}
