//! The keys that sign and verify service account tokens: PEM files in the formats
//! upstream's `--service-account-signing-key-file` and `--service-account-key-file` take,
//! or a key made at start-up. Entry points: [`SigningKey`], [`VerifyingKeys`].
//!
//! An EC P-256 key signs ES256, an RSA key RS256. Private keys are PKCS#8
//! (`PRIVATE KEY`) or, for RSA, PKCS#1 (`RSA PRIVATE KEY`); verifying files may hold
//! public keys (`PUBLIC KEY`, `RSA PUBLIC KEY`) and private keys, several per file.

use std::path::Path;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

/// Why a key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The file holds no key this server can use.
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    /// No key could be generated.
    #[error("generating a service account signing key: {0}")]
    Generate(String),
}

/// The private key tokens are signed with, and the public half that checks them.
#[derive(Clone)]
pub struct SigningKey {
    pub algorithm: Algorithm,
    pub encoding: EncodingKey,
    pub verifying: DecodingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// One PEM block: its label (`PRIVATE KEY` ...) and its whole text.
fn pem_blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = after[..label_end].to_string();
        let end_marker = format!("-----END {label}-----");
        let Some(end) = rest[start..].find(&end_marker) else {
            break;
        };
        let stop = start + end + end_marker.len();
        out.push((label, rest[start..stop].to_string()));
        rest = &rest[stop..];
    }
    out
}

/// The signing key in one private-key PEM block, if it is one.
fn private_key(label: &str, pem: &str) -> Result<SigningKey, String> {
    let (algorithm, encoding) = match label {
        "RSA PRIVATE KEY" => (Algorithm::RS256, EncodingKey::from_rsa_pem(pem.as_bytes())),
        "PRIVATE KEY" => match EncodingKey::from_ec_pem(pem.as_bytes()) {
            Ok(k) => (Algorithm::ES256, Ok(k)),
            Err(_) => (Algorithm::RS256, EncodingKey::from_rsa_pem(pem.as_bytes())),
        },
        "EC PRIVATE KEY" => {
            return Err(
                "SEC1 \"EC PRIVATE KEY\" is not supported: convert it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt)"
                    .into(),
            );
        }
        other => return Err(format!("{other:?} is not a private key")),
    };
    let encoding = encoding.map_err(|e| e.to_string())?;
    // The public half, through the JWK the crate derives from a private key.
    let jwk = Jwk::from_encoding_key(&encoding, algorithm).map_err(|e| e.to_string())?;
    let verifying = DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
    Ok(SigningKey {
        algorithm,
        encoding,
        verifying,
    })
}

fn read(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.display().to_string(),
        source,
    })
}

impl SigningKey {
    /// The first private key in PEM `text`.
    pub fn from_pem(text: &str) -> Result<Self, String> {
        let mut last = "no PEM private key found".to_string();
        for (label, pem) in pem_blocks(text) {
            match private_key(&label, &pem) {
                Ok(k) => return Ok(k),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// `--service-account-signing-key-file`.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        Self::from_pem(&read(path)?).map_err(|message| KeyError::Parse {
            path: path.display().to_string(),
            message,
        })
    }

    /// A fresh EC P-256 key and its PKCS#8 PEM, for a server given no key file.
    pub fn generate() -> Result<(Self, String), KeyError> {
        let pair = rcgen::KeyPair::generate().map_err(|e| KeyError::Generate(e.to_string()))?;
        let pem = pair.serialize_pem();
        let key = Self::from_pem(&pem).map_err(KeyError::Generate)?;
        Ok((key, pem))
    }
}

/// Every public key a token's signature may be checked with.
#[derive(Clone, Default)]
pub struct VerifyingKeys {
    pub keys: Vec<(jsonwebtoken::AlgorithmFamily, DecodingKey)>,
}

impl std::fmt::Debug for VerifyingKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKeys")
            .field("count", &self.keys.len())
            .finish()
    }
}

impl VerifyingKeys {
    /// Adds the public keys of PEM `text` (public keys, or the public half of private
    /// keys).
    pub fn add_pem(&mut self, text: &str) -> Result<(), String> {
        let before = self.keys.len();
        for (label, pem) in pem_blocks(text) {
            let bytes = pem.as_bytes();
            match label.as_str() {
                "PUBLIC KEY" => {
                    if let Ok(k) = DecodingKey::from_ec_pem(bytes) {
                        self.keys.push((jsonwebtoken::AlgorithmFamily::Ec, k));
                    } else {
                        let k = DecodingKey::from_rsa_pem(bytes).map_err(|e| e.to_string())?;
                        self.keys.push((jsonwebtoken::AlgorithmFamily::Rsa, k));
                    }
                }
                "RSA PUBLIC KEY" => {
                    let k = DecodingKey::from_rsa_pem(bytes).map_err(|e| e.to_string())?;
                    self.keys.push((jsonwebtoken::AlgorithmFamily::Rsa, k));
                }
                // Certificates and the like in a bundle are not keys: skipped, as upstream.
                l if !l.contains("PRIVATE KEY") => {}
                l => self.add_signing(&private_key(l, &pem)?),
            }
        }
        if self.keys.len() == before {
            return Err("no PEM public or private key found".into());
        }
        Ok(())
    }

    /// Adds the keys of one `--service-account-key-file`.
    pub fn load(&mut self, path: &Path) -> Result<(), KeyError> {
        self.add_pem(&read(path)?)
            .map_err(|message| KeyError::Parse {
                path: path.display().to_string(),
                message,
            })
    }

    /// Adds the public half of a signing key.
    pub fn add_signing(&mut self, key: &SigningKey) {
        self.keys
            .push((key.algorithm.family(), key.verifying.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_signs_es256_and_its_pem_loads_again() {
        let (key, pem) = SigningKey::generate().unwrap();
        assert_eq!(key.algorithm, Algorithm::ES256);
        assert!(pem.contains("BEGIN PRIVATE KEY"));
        let again = SigningKey::from_pem(&pem).unwrap();
        assert_eq!(again.algorithm, Algorithm::ES256);
        let mut keys = VerifyingKeys::default();
        keys.add_pem(&pem).unwrap();
        assert_eq!(keys.keys.len(), 1);
    }

    #[test]
    fn public_key_files_and_bundles_with_certificates_load() {
        let pair = rcgen::KeyPair::generate().unwrap();
        let text = format!(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n{}",
            pair.public_key_pem()
        );
        let mut keys = VerifyingKeys::default();
        keys.add_pem(&text).unwrap();
        assert_eq!(keys.keys.len(), 1);
        assert!(VerifyingKeys::default().add_pem("nothing here").is_err());
        assert!(SigningKey::from_pem(&pair.public_key_pem()).is_err());
    }
}
