//! The transformers of upstream's encryption providers, byte for byte compatible with
//! kube-apiserver's (`storage/value/encrypt/{aes,secretbox,identity}`): a value is
//! stored as `k8s:enc:<provider>:v1:<key name>:` followed by
//! - aescbc: a random 16-byte IV, then AES-CBC with PKCS#7 padding;
//! - aesgcm: a random 12-byte nonce, then AES-GCM whose authenticated data is the
//!   storage key (so a value copied under another key does not decrypt);
//! - secretbox: a random 24-byte nonce, then NaCl secretbox (XSalsa20-Poly1305);
//! - identity: the value as is, without a prefix.
//!
//! Entry point: [`Chain`] (one resource's providers: the first writes, all read).

use std::sync::Arc;

use aes::{Aes128, Aes192, Aes256};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm, AesGcm};
use bytes::Bytes;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use crypto_secretbox::XSalsa20Poly1305;
use rand::TryRngCore;

use super::EncryptionError;

type Aes192Gcm = AesGcm<Aes192, aes_gcm::aead::consts::U12>;

/// Every encrypted value starts with this; identity refuses to read one.
const ENCRYPTED_PREFIX: &[u8] = b"k8s:enc:";
const SHORT: &str = "the stored data was shorter than the required size";

/// Which keyed provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    AesCbc,
    AesGcm,
    Secretbox,
}

impl KeyKind {
    fn prefix(self) -> &'static [u8] {
        match self {
            KeyKind::AesCbc => b"k8s:enc:aescbc:v1:",
            KeyKind::AesGcm => b"k8s:enc:aesgcm:v1:",
            KeyKind::Secretbox => b"k8s:enc:secretbox:v1:",
        }
    }

    /// Upstream's error when no key name matches.
    fn no_key(self) -> &'static str {
        match self {
            KeyKind::Secretbox => {
                "no matching key was found for the provided Secretbox transformer"
            }
            _ => "no matching key was found for the provided AES transformer",
        }
    }
}

/// A key ready to use.
enum Cipher {
    /// The raw AES key (16, 24 or 32 bytes); CBC keeps no state between values.
    Cbc(Vec<u8>),
    Gcm128(Aes128Gcm),
    Gcm192(Aes192Gcm),
    Gcm256(Aes256Gcm),
    Secretbox(XSalsa20Poly1305),
}

pub struct NamedKey {
    /// `<name>:`, the key's prefix after the provider's.
    tag: Vec<u8>,
    cipher: Cipher,
}

/// One entry of a resource's `providers` list.
#[derive(Clone)]
pub enum Provider {
    Identity,
    Keyed {
        kind: KeyKind,
        keys: Arc<[NamedKey]>,
    },
}

impl std::fmt::Debug for Provider {
    // Never the keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Provider::Identity => f.write_str("identity"),
            Provider::Keyed { kind, keys } => write!(f, "{kind:?} ({} keys)", keys.len()),
        }
    }
}

fn random<const N: usize>() -> Result<[u8; N], EncryptionError> {
    let mut b = [0u8; N];
    rand::rngs::OsRng
        .try_fill_bytes(&mut b)
        .map_err(|e| EncryptionError::Crypto(format!("unable to read random bytes: {e}")))?;
    Ok(b)
}

fn cbc_encrypt(key: &[u8], iv: &[u8; 16], plain: &[u8]) -> Result<Vec<u8>, String> {
    macro_rules! run {
        ($aes:ty) => {
            cbc::Encryptor::<$aes>::new_from_slices(key, iv)
                .map(|c| c.encrypt_padded_vec_mut::<Pkcs7>(plain))
                .map_err(|e| e.to_string())
        };
    }
    match key.len() {
        16 => run!(Aes128),
        24 => run!(Aes192),
        _ => run!(Aes256),
    }
}

fn cbc_decrypt(key: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
    if data.len() < 16 {
        return Err(SHORT.into());
    }
    let (iv, body) = data.split_at(16);
    if body.len() % 16 != 0 {
        return Err("the stored data is not a multiple of the block size".into());
    }
    macro_rules! run {
        ($aes:ty) => {
            cbc::Decryptor::<$aes>::new_from_slices(key, iv)
                .map_err(|e| e.to_string())?
                .decrypt_padded_vec_mut::<Pkcs7>(body)
                .map_err(|_| "invalid padding on input".to_string())
        };
    }
    match key.len() {
        16 => run!(Aes128),
        24 => run!(Aes192),
        _ => run!(Aes256),
    }
}

impl NamedKey {
    fn new(kind: KeyKind, name: &str, secret: &[u8]) -> Result<Self, EncryptionError> {
        let bad = |e: String| {
            EncryptionError::Invalid(format!(
                "error while creating cipher for named key {name}: {e}"
            ))
        };
        let cipher = match (kind, secret.len()) {
            (KeyKind::AesCbc, 16 | 24 | 32) => Cipher::Cbc(secret.to_vec()),
            (KeyKind::AesGcm, 16) => {
                Cipher::Gcm128(Aes128Gcm::new_from_slice(secret).map_err(|e| bad(e.to_string()))?)
            }
            (KeyKind::AesGcm, 24) => {
                Cipher::Gcm192(Aes192Gcm::new_from_slice(secret).map_err(|e| bad(e.to_string()))?)
            }
            (KeyKind::AesGcm, 32) => {
                Cipher::Gcm256(Aes256Gcm::new_from_slice(secret).map_err(|e| bad(e.to_string()))?)
            }
            (KeyKind::Secretbox, 32) => Cipher::Secretbox(
                XSalsa20Poly1305::new_from_slice(secret).map_err(|e| bad(e.to_string()))?,
            ),
            (_, n) => return Err(bad(format!("invalid key size {n}"))),
        };
        Ok(Self {
            tag: format!("{name}:").into_bytes(),
            cipher,
        })
    }

    /// The ciphertext (nonce or IV first) of `plain`.
    fn seal(&self, plain: &[u8], ad: &[u8]) -> Result<Vec<u8>, EncryptionError> {
        let crypto = |e: String| EncryptionError::Crypto(e);
        let gcm = |nonce: [u8; 12], sealed: Result<Vec<u8>, aes_gcm::Error>| {
            let sealed = sealed.map_err(|e| crypto(e.to_string()))?;
            Ok::<_, EncryptionError>([nonce.as_slice(), &sealed].concat())
        };
        let payload = Payload {
            msg: plain,
            aad: ad,
        };
        match &self.cipher {
            Cipher::Cbc(key) => {
                let iv = random::<16>()?;
                let body = cbc_encrypt(key, &iv, plain).map_err(crypto)?;
                Ok([iv.as_slice(), &body].concat())
            }
            Cipher::Gcm128(c) => {
                let n = random::<12>()?;
                gcm(n, c.encrypt(&n.into(), payload))
            }
            Cipher::Gcm192(c) => {
                let n = random::<12>()?;
                gcm(n, c.encrypt(&n.into(), payload))
            }
            Cipher::Gcm256(c) => {
                let n = random::<12>()?;
                gcm(n, c.encrypt(&n.into(), payload))
            }
            Cipher::Secretbox(c) => {
                let n = random::<24>()?;
                let sealed = c
                    .encrypt(&n.into(), plain)
                    .map_err(|e| crypto(e.to_string()))?;
                Ok([n.as_slice(), &sealed].concat())
            }
        }
    }

    /// The plaintext of what [`NamedKey::seal`] made, with upstream's error messages.
    fn open(&self, data: &[u8], ad: &[u8]) -> Result<Vec<u8>, String> {
        fn gcm_split(data: &[u8]) -> Result<(&[u8], &[u8]), String> {
            if data.len() < 12 {
                return Err(SHORT.into());
            }
            Ok(data.split_at(12))
        }
        const AUTH: &str = "cipher: message authentication failed";
        match &self.cipher {
            Cipher::Cbc(key) => cbc_decrypt(key, data),
            Cipher::Gcm128(c) => {
                let (n, body) = gcm_split(data)?;
                c.decrypt(n.into(), Payload { msg: body, aad: ad })
                    .map_err(|_| AUTH.into())
            }
            Cipher::Gcm192(c) => {
                let (n, body) = gcm_split(data)?;
                c.decrypt(n.into(), Payload { msg: body, aad: ad })
                    .map_err(|_| AUTH.into())
            }
            Cipher::Gcm256(c) => {
                let (n, body) = gcm_split(data)?;
                c.decrypt(n.into(), Payload { msg: body, aad: ad })
                    .map_err(|_| AUTH.into())
            }
            Cipher::Secretbox(c) => {
                // 24-byte nonce, then the 16-byte tag.
                if data.len() < 24 + 16 {
                    return Err(SHORT.into());
                }
                let (n, body) = data.split_at(24);
                c.decrypt(n.into(), body)
                    .map_err(|_| "output array was not large enough for encryption".into())
            }
        }
    }
}

impl Provider {
    /// A keyed provider from its named secrets (already validated for length).
    pub fn new(kind: KeyKind, keys: Vec<(String, Vec<u8>)>) -> Result<Self, EncryptionError> {
        let keys = keys
            .iter()
            .map(|(name, secret)| NamedKey::new(kind, name, secret))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Provider::Keyed {
            kind,
            keys: keys.into(),
        })
    }
}

/// What reading a stored value gave.
#[derive(Debug, PartialEq, Eq)]
pub struct Opened {
    pub plain: Bytes,
    /// Read with another provider or key than the one that writes now: a rewrite would
    /// store it differently (upstream's "stale").
    pub stale: bool,
}

/// One resource's providers, in the configured order.
#[derive(Clone, Debug)]
pub struct Chain(pub Vec<Provider>);

impl Chain {
    /// Transforms a value for storage with the first provider (and its first key).
    pub fn seal(&self, plain: Bytes, ad: &[u8]) -> Result<Bytes, EncryptionError> {
        match self.0.first() {
            None | Some(Provider::Identity) => Ok(plain),
            Some(Provider::Keyed { kind, keys }) => {
                let Some(key) = keys.first() else {
                    return Err(EncryptionError::Crypto("provider has no keys".into()));
                };
                let body = key.seal(&plain, ad)?;
                let mut out = Vec::with_capacity(kind.prefix().len() + key.tag.len() + body.len());
                out.extend_from_slice(kind.prefix());
                out.extend_from_slice(&key.tag);
                out.extend_from_slice(&body);
                Ok(out.into())
            }
        }
    }

    /// Reads a stored value with the first provider whose prefix it carries, as
    /// upstream's prefix transformers do: a prefix whose keys all fail does not stop the
    /// search (the same provider may be listed twice while keys rotate).
    pub fn open(&self, stored: &Bytes, ad: &[u8]) -> Result<Opened, String> {
        let mut errs: Vec<String> = Vec::new();
        for (i, provider) in self.0.iter().enumerate() {
            match provider {
                Provider::Identity => {
                    // An identity entry skips what some other entry encrypted.
                    if !stored.starts_with(ENCRYPTED_PREFIX) {
                        return Ok(Opened {
                            plain: stored.clone(),
                            stale: i != 0,
                        });
                    }
                }
                Provider::Keyed { kind, keys } => {
                    let Some(rest) = stored.strip_prefix(kind.prefix()) else {
                        continue;
                    };
                    let mut tried = false;
                    for (k, key) in keys.iter().enumerate() {
                        let Some(body) = rest.strip_prefix(key.tag.as_slice()) else {
                            continue;
                        };
                        tried = true;
                        match key.open(body, ad) {
                            Ok(plain) => {
                                return Ok(Opened {
                                    plain: plain.into(),
                                    stale: i != 0 || k != 0,
                                });
                            }
                            Err(e) => errs.push(e),
                        }
                    }
                    if !tried {
                        errs.push(kind.no_key().to_string());
                    }
                }
            }
        }
        Err(match errs.len() {
            0 => "no matching prefix found".to_string(),
            1 => errs.remove(0),
            _ => format!("[{}]", errs.join(", ")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(kind: KeyKind, keys: &[(&str, &[u8])]) -> Provider {
        Provider::new(
            kind,
            keys.iter()
                .map(|(n, s)| (n.to_string(), s.to_vec()))
                .collect(),
        )
        .unwrap()
    }

    const K16: &[u8] = b"0123456789abcdef";
    const K24: &[u8] = b"0123456789abcdef01234567";
    const K32: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn every_provider_and_key_size_round_trips_with_upstreams_prefix() {
        let plain = Bytes::from_static(b"{\"kind\":\"Secret\",\"data\":{\"a\":\"c2VjcmV0\"}}");
        for (kind, key, prefix) in [
            (KeyKind::AesCbc, K16, "k8s:enc:aescbc:v1:k1:"),
            (KeyKind::AesCbc, K24, "k8s:enc:aescbc:v1:k1:"),
            (KeyKind::AesCbc, K32, "k8s:enc:aescbc:v1:k1:"),
            (KeyKind::AesGcm, K16, "k8s:enc:aesgcm:v1:k1:"),
            (KeyKind::AesGcm, K24, "k8s:enc:aesgcm:v1:k1:"),
            (KeyKind::AesGcm, K32, "k8s:enc:aesgcm:v1:k1:"),
            (KeyKind::Secretbox, K32, "k8s:enc:secretbox:v1:k1:"),
        ] {
            let chain = Chain(vec![keyed(kind, &[("k1", key)])]);
            let sealed = chain.seal(plain.clone(), b"/registry/secrets/a/b").unwrap();
            assert!(sealed.starts_with(prefix.as_bytes()), "{kind:?}");
            assert!(!sealed.windows(6).any(|w| w == b"Secret"), "{kind:?} leaks");
            let opened = chain.open(&sealed, b"/registry/secrets/a/b").unwrap();
            assert_eq!(opened.plain, plain, "{kind:?}");
            assert!(!opened.stale);
        }
    }

    #[test]
    fn byte_layouts_match_upstreams() {
        let plain = b"hello world, seventeen+".to_vec(); // 23 bytes: padded to 32
        let cbc = Chain(vec![keyed(KeyKind::AesCbc, &[("k", K16)])]);
        let sealed = cbc.seal(plain.clone().into(), b"").unwrap();
        let body = &sealed[b"k8s:enc:aescbc:v1:k:".len()..];
        assert_eq!(body.len(), 16 + 32, "IV then PKCS#7-padded blocks");
        let gcm = Chain(vec![keyed(KeyKind::AesGcm, &[("k", K16)])]);
        let sealed = gcm.seal(plain.clone().into(), b"").unwrap();
        assert_eq!(sealed.len() - b"k8s:enc:aesgcm:v1:k:".len(), 12 + 23 + 16);
        let sb = Chain(vec![keyed(KeyKind::Secretbox, &[("k", K32)])]);
        let sealed = sb.seal(plain.clone().into(), b"").unwrap();
        let body = &sealed[b"k8s:enc:secretbox:v1:k:".len()..];
        assert_eq!(
            body.len(),
            24 + 16 + 23,
            "nonce, tag, ciphertext (NaCl's layout)"
        );
        // Decrypting by hand with the IV taken from the front shows the layout.
        let cbc_sealed = cbc.seal(plain.clone().into(), b"").unwrap();
        let body = &cbc_sealed[b"k8s:enc:aescbc:v1:k:".len()..];
        assert_eq!(cbc_decrypt(K16, body).unwrap(), plain);
    }

    #[test]
    fn aesgcm_binds_the_value_to_its_key() {
        let chain = Chain(vec![keyed(KeyKind::AesGcm, &[("k", K32)])]);
        let sealed = chain
            .seal(Bytes::from_static(b"x"), b"/registry/secrets/a/b")
            .unwrap();
        assert_eq!(
            chain.open(&sealed, b"/registry/secrets/a/c").unwrap_err(),
            "cipher: message authentication failed"
        );
    }

    #[test]
    fn rotation_reads_old_keys_and_marks_them_stale() {
        let old = Chain(vec![keyed(KeyKind::AesCbc, &[("old", K16)])]);
        let sealed = old.seal(Bytes::from_static(b"v"), b"").unwrap();
        // New key first, old key second (one provider, two keys).
        let rotated = Chain(vec![keyed(KeyKind::AesCbc, &[("new", K32), ("old", K16)])]);
        let opened = rotated.open(&sealed, b"").unwrap();
        assert_eq!(opened.plain, Bytes::from_static(b"v"));
        assert!(opened.stale);
        let resealed = rotated.seal(opened.plain, b"").unwrap();
        assert!(resealed.starts_with(b"k8s:enc:aescbc:v1:new:"));
        assert!(!rotated.open(&resealed, b"").unwrap().stale);
        // Plain values stay readable while identity is listed, and are stale.
        let migrating = Chain(vec![
            keyed(KeyKind::Secretbox, &[("s", K32)]),
            Provider::Identity,
        ]);
        let plain = migrating.open(&Bytes::from_static(b"{}"), b"").unwrap();
        assert!(plain.stale);
        // Without the old key: upstream's errors.
        let other = Chain(vec![keyed(KeyKind::AesCbc, &[("new", K32)])]);
        assert_eq!(
            other.open(&sealed, b"").unwrap_err(),
            "no matching key was found for the provided AES transformer"
        );
        assert_eq!(
            other.open(&Bytes::from_static(b"{}"), b"").unwrap_err(),
            "no matching prefix found"
        );
        let identity_only = Chain(vec![Provider::Identity]);
        assert!(identity_only.open(&sealed, b"").is_err());
    }

    #[test]
    fn a_wrong_key_with_the_same_name_fails_as_upstream_says() {
        let a = Chain(vec![keyed(KeyKind::Secretbox, &[("k", K32)])]);
        let b = Chain(vec![keyed(
            KeyKind::Secretbox,
            &[("k", b"fedcba9876543210fedcba9876543210")],
        )]);
        let sealed = a.seal(Bytes::from_static(b"v"), b"").unwrap();
        assert_eq!(
            b.open(&sealed, b"").unwrap_err(),
            "output array was not large enough for encryption"
        );
    }
}
