//! How the API server reaches kubelets (`pods/log`, `pods/exec|attach|portforward`,
//! `nodes/proxy`): HTTPS to the address and port the Node reports. Upstream's API server
//! verifies the kubelet's serving certificate against `--kubelet-certificate-authority`
//! when given, and otherwise does not verify it (a kubelet without `--tls-cert-file`
//! serves a self-signed certificate no one could trust); this does the same.
//!
//! Entry points: [`client`], [`url`].

use std::path::Path;

use crate::tls::TlsError;

/// The kubelet server's scheme (upstream's `KubeletConfig` defaults to HTTPS).
pub const SCHEME: &str = "https";

/// The client for kubelets, trusting only `ca` when given, else not verifying.
pub fn client(ca: Option<&Path>) -> Result<reqwest::Client, TlsError> {
    // A kubelet's redirect goes back to the caller (nodes/proxy), as pods/proxy's does.
    let builder = reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none());
    let builder = match ca {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|source| TlsError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| TlsError::Invalid(format!("{}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(TlsError::Invalid(format!(
                    "{}: no certificate found",
                    path.display()
                )));
            }
            certs
                .into_iter()
                .fold(builder.tls_built_in_root_certs(false), |b, c| {
                    b.add_root_certificate(c)
                })
        }
        // Upstream: with no --kubelet-certificate-authority, the kubelet's certificate
        // is not verified.
        None => builder.danger_accept_invalid_certs(true),
    };
    builder
        .build()
        .map_err(|e| TlsError::Invalid(format!("kubelet client: {e}")))
}

/// The URL of `path_and_query` (starting with `/`) on the kubelet at `authority`.
pub fn url(authority: &str, path_and_query: &str) -> String {
    format!("{SCHEME}://{authority}{path_and_query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelets_are_reached_over_https() {
        assert_eq!(
            url("10.0.0.1:10250", "/pods?x=1"),
            "https://10.0.0.1:10250/pods?x=1"
        );
    }

    #[test]
    fn a_kubelet_ca_file_must_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("ca.pem");
        std::fs::write(&empty, "").unwrap();
        assert!(client(Some(&empty)).is_err());
        assert!(matches!(
            client(Some(&dir.path().join("missing.pem"))),
            Err(TlsError::Read { .. })
        ));
        assert!(client(None).is_ok());
    }
}
