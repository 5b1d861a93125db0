//! The kubelet server over HTTPS, as upstream's port 10250: with no `--tls-cert-file`
//! upstream's kubelet makes itself a self-signed serving certificate (a CA named
//! `{host}-ca@{unix time}` signing a leaf `{host}@{unix time}`), so this kubelet does the
//! same for its node name and address, and serves its router over TLS. Entry points:
//! [`self_signed`], [`serve`].

use std::net::IpAddr;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// A serving certificate ready to accept connections, and its CA (what a client that
/// wants to verify this kubelet trusts, as `--kubelet-certificate-authority`).
#[derive(Clone)]
pub struct ServingCert {
    pub acceptor: TlsAcceptor,
    pub ca_pem: String,
}

impl std::fmt::Debug for ServingCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServingCert").finish_non_exhaustive()
    }
}

/// The names the certificate is for: the node name and its address (upstream names only
/// the host; the address is added so that a client verifying with the CA can dial the
/// address the Node reports).
fn subject_names(node_name: &str, ip: IpAddr) -> Vec<String> {
    let mut names = vec![node_name.to_string()];
    if !ip.is_unspecified() {
        names.push(ip.to_string());
    }
    names.dedup();
    names
}

/// Generates the certificate for `node_name` and `ip`.
pub fn self_signed(node_name: &str, ip: IpAddr) -> Result<ServingCert, String> {
    let err = |e: rcgen::Error| format!("generating the kubelet's serving certificate: {e}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{node_name}-ca@{now}"));
    let ca_key = rcgen::KeyPair::generate().map_err(err)?;
    let ca = ca_params.self_signed(&ca_key).map_err(err)?;
    let mut leaf_params =
        rcgen::CertificateParams::new(subject_names(node_name, ip)).map_err(err)?;
    leaf_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{node_name}@{now}"));
    let leaf_key = rcgen::KeyPair::generate().map_err(err)?;
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca, &ca_key)
        .map_err(err)?;
    let chain = vec![
        CertificateDer::from(leaf.der().to_vec()),
        CertificateDer::from(ca.der().to_vec()),
    ];
    let key = PrivateKeyDer::try_from(leaf_key.serialize_der())
        .map_err(|e| format!("the kubelet's serving key: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the kubelet's serving certificate: {e}"))?;
    // HTTP/1.1 only: exec, attach and port-forward switch protocols on the connection.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(ServingCert {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        ca_pem: ca.pem(),
    })
}

/// Serves `router` over TLS on `listener` until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    cert: ServingCert,
    mut stop: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        let accepted = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!(error = %e, "kubelet server: accept failed");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let svc = TowerToHyperService::new(router.clone());
        let acceptor = cert.acceptor.clone();
        conns.spawn(async move {
            let tls = match acceptor.accept(stream).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(error = %e, "kubelet server: TLS handshake failed");
                    return;
                }
            };
            let result = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(TokioIo::new(tls), svc)
                .await;
            if let Err(e) = result {
                tracing::debug!(error = %e, "kubelet server: connection ended with an error");
            }
        });
    }
    conns.abort_all();
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    #[test]
    fn the_certificate_names_the_node_and_its_address_only_when_known() {
        assert_eq!(
            subject_names("node-1", "10.0.0.7".parse().unwrap()),
            ["node-1", "10.0.0.7"]
        );
        assert_eq!(
            subject_names("node-1", "0.0.0.0".parse().unwrap()),
            ["node-1"]
        );
    }

    #[tokio::test]
    async fn the_router_is_served_over_tls_and_plain_http_is_refused() {
        let cert = self_signed("node-1", "127.0.0.1".parse().unwrap()).unwrap();
        let ca = reqwest::Certificate::from_pem(cert.ca_pem.as_bytes()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stop_rx) = watch::channel(false);
        let router = axum::Router::new().route("/healthz", get(|| async { "ok" }));
        let server = tokio::spawn(serve(listener, router, cert, stop_rx));
        // Verified against the CA, by address: the leaf carries the IP.
        let client = reqwest::Client::builder()
            .add_root_certificate(ca)
            .build()
            .unwrap();
        let body = client
            .get(format!("https://{addr}/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "ok");
        let plain = reqwest::get(format!("http://{addr}/healthz")).await;
        assert!(plain.is_err(), "plain HTTP answered: {plain:?}");
        let _ = stop.send(true);
        tokio::time::timeout(std::time::Duration::from_secs(5), server)
            .await
            .unwrap()
            .unwrap();
    }
}
