//! Signing and verifying service account JWTs with the server's keys and issuers
//! (upstream's `--service-account-*` and `--api-audiences` flags). Entry point:
//! [`ServiceAccountTokens::from_config`], then [`ServiceAccountTokens::sign`] and
//! [`ServiceAccountTokens::verify`].
//!
//! The crate only checks signatures here: the time, audience and bound-object checks
//! are [`super::claims`]' own, so they do not depend on how a JWT library treats claims
//! it cannot parse.

use std::time::Duration;

use jsonwebtoken::{Header, Validation};

use super::claims::{Claims, TokenError};
use super::keys::{KeyError, SigningKey, VerifyingKeys};
use crate::config::ApiServerConfig;

/// Upstream's usual issuer (what kubeadm passes), and the default audience.
pub const DEFAULT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// The server's token machinery.
#[derive(Debug)]
pub struct ServiceAccountTokens {
    signing: SigningKey,
    verifying: VerifyingKeys,
    /// Tokens are issued by the first; tokens of any are accepted.
    pub issuers: Vec<String>,
    /// The audiences this server accepts (`--api-audiences`; default the first issuer).
    pub audiences: Vec<String>,
    /// `--service-account-max-token-expiration`.
    pub max_expiration: Option<Duration>,
    /// `--service-account-extend-token-expiration`.
    pub extend_expiration: bool,
}

impl ServiceAccountTokens {
    /// Loads the configured keys, or generates a signing key when none is configured
    /// (then only this server accepts its tokens, until it stops).
    pub fn from_config(config: &ApiServerConfig) -> Result<Self, KeyError> {
        let signing = match &config.service_account_signing_key_file {
            Some(path) => SigningKey::load(path)?,
            None => SigningKey::generate()?.0,
        };
        let mut verifying = VerifyingKeys::default();
        for path in &config.service_account_key_files {
            verifying.load(path)?;
        }
        verifying.add_signing(&signing);
        let issuers = if config.service_account_issuers.is_empty() {
            vec![DEFAULT_ISSUER.to_string()]
        } else {
            config.service_account_issuers.clone()
        };
        let audiences = if config.api_audiences.is_empty() {
            issuers[..1].to_vec()
        } else {
            config.api_audiences.clone()
        };
        Ok(Self {
            signing,
            verifying,
            issuers,
            audiences,
            max_expiration: config.service_account_max_token_expiration,
            extend_expiration: config.service_account_extend_token_expiration,
        })
    }

    /// The issuer written into new tokens.
    pub fn issuer(&self) -> &str {
        self.issuers.first().map_or(DEFAULT_ISSUER, String::as_str)
    }

    /// Signs `claims` into a compact JWT.
    pub fn sign(&self, claims: &Claims) -> Result<String, String> {
        let header = Header::new(self.signing.algorithm);
        jsonwebtoken::encode(&header, claims, &self.signing.encoding).map_err(|e| e.to_string())
    }

    /// The claims of `token` if its signature checks out. `None` when it is not a
    /// token of one of our issuers at all (another authenticator's business).
    pub fn verify(&self, token: &str) -> Option<Result<Claims, TokenError>> {
        // Only the issuer is read before the signature is checked, to pick the
        // authenticator, as upstream does.
        let peek: serde_json::Value =
            jsonwebtoken::dangerous::insecure_decode_claims(token).ok()?;
        let issuer = peek.get("iss").and_then(serde_json::Value::as_str)?;
        if !self.issuers.iter().any(|i| i == issuer) {
            return None;
        }
        Some(self.verify_ours(token))
    }

    fn verify_ours(&self, token: &str) -> Result<Claims, TokenError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let family = header.alg.family();
        for (_, key) in self.verifying.keys.iter().filter(|(f, _)| *f == family) {
            match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) => match e.kind() {
                    jsonwebtoken::errors::ErrorKind::InvalidSignature => continue,
                    _ => return Err(TokenError::Malformed(e.to_string())),
                },
            }
        }
        Err(TokenError::Signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serviceaccount::claims::{Bound, Issue};
    use serde_json::json;

    fn tokens(config: &ApiServerConfig) -> ServiceAccountTokens {
        ServiceAccountTokens::from_config(config).unwrap()
    }

    fn claims(issuer: &str) -> Claims {
        let sa = json!({"metadata": {"name": "default", "namespace": "ns", "uid": "u"}});
        let auds = [DEFAULT_ISSUER.to_string()];
        let how = Issue {
            issuer,
            audiences: &auds,
            now: 1_700_000_000,
            expiration_seconds: 3600,
            warn_after_seconds: None,
            jti: String::new(),
        };
        Claims::issue(&sa, &Bound::default(), how)
    }

    #[test]
    fn a_signed_token_verifies_and_another_servers_key_does_not() {
        let ours = tokens(&ApiServerConfig::default());
        assert_eq!(ours.audiences, [DEFAULT_ISSUER]);
        let jwt = ours.sign(&claims(ours.issuer())).unwrap();
        assert_eq!(ours.verify(&jwt), Some(Ok(claims(DEFAULT_ISSUER))));
        let theirs = tokens(&ApiServerConfig::default());
        assert_eq!(theirs.verify(&jwt), Some(Err(TokenError::Signature)));
    }

    #[test]
    fn servers_sharing_a_key_file_accept_each_others_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let (_, pem) = SigningKey::generate().unwrap();
        let path = dir.path().join("sa.key");
        std::fs::write(&path, pem).unwrap();
        let config = ApiServerConfig::default()
            .service_account_signing_key_file(path.clone())
            .service_account_key_files(vec![path]);
        let (a, b) = (tokens(&config), tokens(&config));
        let jwt = a.sign(&claims(a.issuer())).unwrap();
        assert!(matches!(b.verify(&jwt), Some(Ok(_))));
    }

    #[test]
    fn tokens_of_other_issuers_and_non_jwts_are_not_ours() {
        let ours = tokens(&ApiServerConfig::default());
        let jwt = ours.sign(&claims("https://elsewhere")).unwrap();
        assert_eq!(ours.verify(&jwt), None);
        assert_eq!(ours.verify("abc123"), None);
        let config = ApiServerConfig::default()
            .service_account_issuers(vec!["https://a".into(), "https://b".into()])
            .api_audiences(vec!["api".into()]);
        let multi = tokens(&config);
        assert_eq!(multi.issuer(), "https://a");
        assert_eq!(multi.audiences, ["api"]);
        let jwt = multi.sign(&claims("https://b")).unwrap();
        assert!(matches!(multi.verify(&jwt), Some(Ok(_))));
    }
}
