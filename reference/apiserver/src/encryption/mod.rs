//! Encryption at rest, configured as kube-apiserver's `--encryption-provider-config`
//! (an `EncryptionConfiguration`): the values of the resources it names are encrypted
//! where the API server writes to its store, so every backend (memory, file, etcd)
//! holds ciphertext with upstream's `k8s:enc:<provider>:v1:<key>:` prefix.
//!
//! Entry points: [`Encryption::load`], then [`EncryptedStore::new`] wraps the store the
//! API server uses; [`rewrite_due`] tells an update that would change nothing that it
//! must still write, so that rewriting an object moves it to the current key (what
//! upstream's key rotation relies on: `kubectl get secrets -A -o json | kubectl replace
//! -f -`).
//!
//! Layout: `config.rs` (the file: decoding, validation, precedence), `provider.rs`
//! (aescbc, aesgcm, secretbox, identity), `store.rs` (the store decorator).

mod config;
mod provider;
mod store;

use std::path::Path;
use std::sync::Arc;

use provider::Chain;
pub use store::EncryptedStore;

use crate::state::AppState;

/// Why encryption could not be set up or a value could not be transformed.
#[derive(Debug, thiserror::Error)]
pub enum EncryptionError {
    /// The configuration file could not be read.
    #[error("error opening encryption provider configuration file {path:?}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The configuration is not a valid `EncryptionConfiguration`.
    #[error("error while parsing file: {0}")]
    Invalid(String),
    /// Encrypting failed (no randomness, a cipher error).
    #[error("encryption failed: {0}")]
    Crypto(String),
}

/// The providers of every storage prefix the configuration covers.
#[derive(Debug)]
pub struct Encryption {
    /// (key prefix such as `/registry/secrets/`, its providers); only resources the
    /// configuration names, so everything else passes through untouched.
    rules: Vec<(String, Arc<Chain>)>,
}

impl Encryption {
    /// Reads and validates an `EncryptionConfiguration` file.
    pub fn load(path: &Path) -> Result<Self, EncryptionError> {
        let text = std::fs::read_to_string(path).map_err(|source| EncryptionError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Validates an `EncryptionConfiguration` given as YAML or JSON text.
    pub fn parse(text: &str) -> Result<Self, EncryptionError> {
        let cfg = config::parse(text)?;
        let mut rules: Vec<(String, Arc<Chain>)> = Vec::new();
        for info in refkube_resources::registry::all() {
            // events.k8s.io Events are stored as core Events (see crate::conversion).
            let group = if info.group == "events.k8s.io" {
                ""
            } else {
                info.group
            };
            let Some(providers) = cfg.providers_for(group, info.plural) else {
                continue;
            };
            let prefix = crate::keys::prefix(info, None);
            if !rules.iter().any(|(p, _)| *p == prefix) {
                rules.push((prefix, Arc::new(Chain(providers.to_vec()))));
            }
        }
        Ok(Self { rules })
    }

    /// The providers of the resource `key` belongs to, if the configuration names it.
    fn chain(&self, key: &str) -> Option<&Chain> {
        self.rules
            .iter()
            .find(|(prefix, _)| key.starts_with(prefix.as_str()))
            .map(|(_, c)| &**c)
    }

    /// Whether a watch or list of `prefix` may see values this configuration covers.
    fn touches(&self, prefix: &str) -> bool {
        self.rules
            .iter()
            .any(|(p, _)| p.starts_with(prefix) || prefix.starts_with(p.as_str()))
    }

    /// The storage prefixes covered (for logs and tests).
    pub fn prefixes(&self) -> Vec<&str> {
        self.rules.iter().map(|(p, _)| p.as_str()).collect()
    }
}

/// Whether the object stored at `key` was written with another provider or key than
/// the one that writes now, so an update must store it even if nothing else changed.
/// Always false without encryption (one extra read only for encrypted resources).
pub async fn rewrite_due(state: &AppState, key: &str) -> bool {
    match &state.encryption {
        Some(store) => store.stale(key).await,
        None => false,
    }
}
