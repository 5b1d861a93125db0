//! The kubelet's top-level error: [`KubeletError`].

use std::path::PathBuf;

/// Errors that stop the kubelet.
#[derive(Debug, thiserror::Error)]
pub enum KubeletError {
    /// The kubelet HTTP server could not bind.
    #[error("binding the kubelet server on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The static pod directory is unusable.
    #[error("static pod directory {0}: not a directory")]
    StaticPodDir(PathBuf),
    /// The pod network cannot be set up here.
    #[error("pod network: {0}")]
    Network(#[from] crate::network::NetworkError),
    /// The kubelet server's serving certificate could not be made.
    #[error("kubelet server TLS: {0}")]
    Tls(String),
    /// The configuration is inconsistent.
    #[error("invalid kubelet configuration: {0}")]
    Config(String),
}
