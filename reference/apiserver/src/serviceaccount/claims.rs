//! The claims of a service account token as upstream's `pkg/serviceaccount/claims.go`
//! writes them, and the checks its validator makes, as pure functions of the claims,
//! the objects they name and the time (passed in, never read).
//!
//! Entry points: [`Claims::issue`], [`check_time_and_audience`], [`check_bound`],
//! [`user_of`].

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::auth::User;

/// Clock skew tolerated on `exp`, `nbf` and `iat`, and on deletions (go-jose's
/// `DefaultLeeway`, which upstream's validator uses).
pub const LEEWAY_SECONDS: i64 = 60;
/// The groups every service account is in (besides `system:authenticated`).
pub const ALL_SERVICE_ACCOUNTS_GROUP: &str = "system:serviceaccounts";
/// What a vanished or replaced bound object makes of its tokens (upstream's wording).
pub const INVALIDATED: &str = "service account token has been invalidated";
pub const EXPIRED: &str = "service account token has expired";
pub const NOT_VALID: &str = "service account token could not be validated";

/// Why a token of ours does not authenticate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT, or claims of the wrong shape.
    #[error("service account token is malformed: {0}")]
    Malformed(String),
    /// No key verifies the signature.
    #[error("invalid bearer token: no service account key verifies its signature")]
    Signature,
    /// Past `exp`.
    #[error("{EXPIRED}")]
    Expired,
    /// Before `nbf` or issued in the future.
    #[error("{NOT_VALID}")]
    NotValid,
    /// None of the token's audiences is one the server accepts.
    #[error("token audiences {token:?} is invalid for the target audiences {target:?}")]
    Audience {
        token: Vec<String>,
        target: Vec<String>,
    },
    /// A bound object is gone or being deleted.
    #[error("{INVALIDATED}")]
    Invalidated,
    /// A bound object was replaced by another of the same name.
    #[error("{kind} UID ({actual}) does not match claim ({claimed})")]
    UidMismatch {
        kind: &'static str,
        actual: String,
        claimed: String,
    },
    /// The objects could not be read.
    #[error("looking up the token's objects: {0}")]
    Lookup(String),
}

/// A name and UID, as the `kubernetes.io` claim refers to objects.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectRef {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
}

impl ObjectRef {
    /// The name and UID of an object as JSON.
    pub fn of(obj: &Value) -> Self {
        let meta = |f: &str| obj["metadata"][f].as_str().unwrap_or_default().to_string();
        Self {
            name: meta("name"),
            uid: meta("uid"),
        }
    }
}

/// The private `kubernetes.io` claim.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Private {
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<ObjectRef>,
    pub serviceaccount: ObjectRef,
    /// After this time the token still works but is stale (the extended 3607 s tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnafter: Option<i64>,
}

/// A service account token's claims. The time claims are typed, so a token carrying
/// them with another JSON type does not decode at all.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jti: String,
    #[serde(rename = "kubernetes.io")]
    pub kubernetes: Private,
    pub nbf: i64,
    pub sub: String,
}

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Aud {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Aud::deserialize(d)? {
        Aud::One(s) => vec![s],
        Aud::Many(v) => v,
    })
}

/// The objects a token is bound to, as found when it is issued.
#[derive(Clone, Debug, Default)]
pub struct Bound<'a> {
    pub pod: Option<&'a Value>,
    pub secret: Option<&'a Value>,
    /// The pod's node, or (`ObjectRef` with the name only) the node it names when that
    /// Node object does not exist.
    pub node: Option<ObjectRef>,
}

/// `system:serviceaccount:<ns>:<name>`.
pub fn username(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// How a token is issued: by whom, for whom, when and for how long.
#[derive(Clone, Debug)]
pub struct Issue<'a> {
    pub issuer: &'a str,
    pub audiences: &'a [String],
    /// Seconds since the epoch.
    pub now: i64,
    pub expiration_seconds: i64,
    /// Set for the extended tokens: stale (but valid) after this many seconds.
    pub warn_after_seconds: Option<i64>,
    /// The credential ID (`jti`).
    pub jti: String,
}

impl Claims {
    /// Upstream's `Claims()`: a token for `sa` bound to `bound`.
    pub fn issue(sa: &Value, bound: &Bound<'_>, how: Issue<'_>) -> Self {
        let sa_ref = ObjectRef::of(sa);
        let namespace = sa["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let now = how.now;
        Claims {
            aud: how.audiences.to_vec(),
            exp: now + how.expiration_seconds,
            iat: now,
            iss: how.issuer.to_string(),
            jti: how.jti,
            kubernetes: Private {
                node: bound.node.clone(),
                pod: bound.pod.map(ObjectRef::of),
                secret: bound.secret.map(ObjectRef::of),
                serviceaccount: sa_ref.clone(),
                warnafter: how.warn_after_seconds.map(|w| now + w),
                namespace: namespace.clone(),
            },
            nbf: now,
            sub: username(&namespace, &sa_ref.name),
        }
    }
}

/// go-jose's time checks (with [`LEEWAY_SECONDS`]) and upstream's audience check: at
/// least one of the token's audiences must be one of `accepted`.
pub fn check_time_and_audience(
    claims: &Claims,
    now: i64,
    accepted: &[String],
) -> Result<(), TokenError> {
    if claims.exp < now - LEEWAY_SECONDS {
        return Err(TokenError::Expired);
    }
    if claims.nbf > now + LEEWAY_SECONDS || claims.iat > now + LEEWAY_SECONDS {
        return Err(TokenError::NotValid);
    }
    if !claims.aud.iter().any(|a| accepted.contains(a)) {
        return Err(TokenError::Audience {
            token: claims.aud.clone(),
            target: accepted.to_vec(),
        });
    }
    Ok(())
}

/// The current objects a token's claims name (`None`: not found).
#[derive(Clone, Debug, Default)]
pub struct Current {
    pub serviceaccount: Option<Value>,
    pub pod: Option<Value>,
    pub secret: Option<Value>,
    pub node: Option<Value>,
}

/// Deleted more than the leeway before `now`.
fn deleted_before(obj: &Value, now: i64) -> bool {
    obj["metadata"]["deletionTimestamp"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .is_some_and(|t| t.timestamp() < now - LEEWAY_SECONDS)
}

fn check_one(
    kind: &'static str,
    claimed: &ObjectRef,
    current: Option<&Value>,
    now: i64,
) -> Result<(), TokenError> {
    let Some(obj) = current else {
        return Err(TokenError::Invalidated);
    };
    if deleted_before(obj, now) {
        return Err(TokenError::Invalidated);
    }
    let actual = ObjectRef::of(obj).uid;
    if actual != claimed.uid {
        return Err(TokenError::UidMismatch {
            kind,
            actual,
            claimed: claimed.uid.clone(),
        });
    }
    Ok(())
}

/// Upstream's validator on the bound objects: the service account, and the pod,
/// secret or node the token is bound to, must still exist (or be deleted less than the
/// leeway ago) with the UIDs the token names. A pod-bound token's node is only
/// informational.
pub fn check_bound(claims: &Claims, current: &Current, now: i64) -> Result<(), TokenError> {
    let k = &claims.kubernetes;
    check_one(
        "service account",
        &k.serviceaccount,
        current.serviceaccount.as_ref(),
        now,
    )?;
    if let Some(pod) = &k.pod {
        check_one("pod", pod, current.pod.as_ref(), now)?;
    }
    if let Some(secret) = &k.secret {
        check_one("secret", secret, current.secret.as_ref(), now)?;
    }
    if let (None, Some(node)) = (&k.pod, &k.node) {
        check_one("node", node, current.node.as_ref(), now)?;
    }
    Ok(())
}

/// Who a valid token is: `system:serviceaccount:NS:NAME`, the account's UID, and the
/// service account groups.
pub fn user_of(claims: &Claims) -> User {
    let k = &claims.kubernetes;
    User {
        name: username(&k.namespace, &k.serviceaccount.name),
        uid: k.serviceaccount.uid.clone(),
        groups: vec![
            ALL_SERVICE_ACCOUNTS_GROUP.to_string(),
            format!("{ALL_SERVICE_ACCOUNTS_GROUP}:{}", k.namespace),
            "system:authenticated".to_string(),
        ],
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;

    fn sa() -> Value {
        json!({"metadata": {"name": "default", "namespace": "web", "uid": "sa-1"}})
    }

    fn pod() -> Value {
        json!({"metadata": {"name": "front", "namespace": "web", "uid": "pod-1"}})
    }

    fn auds() -> Vec<String> {
        vec!["https://kubernetes.default.svc.cluster.local".to_string()]
    }

    fn bound_token() -> Claims {
        let pod = pod();
        let bound = Bound {
            pod: Some(&pod),
            secret: None,
            node: Some(ObjectRef {
                name: "node-1".into(),
                uid: "node-uid".into(),
            }),
        };
        let auds = auds();
        let how = Issue {
            issuer: "https://issuer",
            audiences: &auds,
            now: NOW,
            expiration_seconds: 3600,
            warn_after_seconds: None,
            jti: "id-1".into(),
        };
        Claims::issue(&sa(), &bound, how)
    }

    #[test]
    fn claims_are_upstreams_shape() {
        let c = serde_json::to_value(bound_token()).unwrap();
        assert_eq!(
            c,
            json!({
                "aud": ["https://kubernetes.default.svc.cluster.local"],
                "exp": NOW + 3600, "iat": NOW, "nbf": NOW,
                "iss": "https://issuer", "jti": "id-1",
                "sub": "system:serviceaccount:web:default",
                "kubernetes.io": {
                    "namespace": "web",
                    "node": {"name": "node-1", "uid": "node-uid"},
                    "pod": {"name": "front", "uid": "pod-1"},
                    "serviceaccount": {"name": "default", "uid": "sa-1"},
                },
            })
        );
    }

    #[test]
    fn a_single_string_audience_reads_as_a_list() {
        let mut c = serde_json::to_value(bound_token()).unwrap();
        c["aud"] = json!("api");
        let back: Claims = serde_json::from_value(c).unwrap();
        assert_eq!(back.aud, ["api"]);
    }

    #[test]
    fn time_claims_of_another_json_type_do_not_decode() {
        let mut c = serde_json::to_value(bound_token()).unwrap();
        c["nbf"] = json!("later");
        assert!(serde_json::from_value::<Claims>(c).is_err());
    }

    #[test]
    fn expired_tokens_fail_after_the_leeway() {
        let c = bound_token();
        assert_eq!(
            check_time_and_audience(&c, NOW + 3600 + 30, &auds()),
            Ok(())
        );
        assert_eq!(
            check_time_and_audience(&c, NOW + 3600 + 61, &auds()),
            Err(TokenError::Expired)
        );
        assert_eq!(
            check_time_and_audience(&c, NOW - 120, &auds()),
            Err(TokenError::NotValid)
        );
    }

    #[test]
    fn a_token_for_another_audience_is_refused() {
        let err = check_time_and_audience(&bound_token(), NOW, &["vault".to_string()]);
        assert!(
            matches!(&err, Err(TokenError::Audience { token, .. }) if token == &auds()),
            "{err:?}"
        );
    }

    #[test]
    fn a_token_outlives_neither_its_pod_nor_its_account() {
        let c = bound_token();
        let all = Current {
            serviceaccount: Some(sa()),
            pod: Some(pod()),
            secret: None,
            node: None,
        };
        assert_eq!(check_bound(&c, &all, NOW), Ok(()));
        let no_pod = Current {
            pod: None,
            ..all.clone()
        };
        assert_eq!(check_bound(&c, &no_pod, NOW), Err(TokenError::Invalidated));
        let no_sa = Current {
            serviceaccount: None,
            ..all.clone()
        };
        assert_eq!(check_bound(&c, &no_sa, NOW), Err(TokenError::Invalidated));
        let mut other = pod();
        other["metadata"]["uid"] = json!("pod-2");
        let replaced = Current {
            pod: Some(other),
            ..all.clone()
        };
        assert_eq!(
            check_bound(&c, &replaced, NOW).map_err(|e| e.to_string()),
            Err("pod UID (pod-2) does not match claim (pod-1)".to_string())
        );
        let mut dying = pod();
        dying["metadata"]["deletionTimestamp"] = json!("2023-11-14T22:00:00Z");
        let deleting = Current {
            pod: Some(dying),
            ..all
        };
        assert_eq!(
            check_bound(&c, &deleting, NOW),
            Err(TokenError::Invalidated)
        );
    }

    #[test]
    fn the_user_is_the_service_account_in_its_groups() {
        let u = user_of(&bound_token());
        assert_eq!(u.name, "system:serviceaccount:web:default");
        assert_eq!(u.uid, "sa-1");
        assert_eq!(
            u.groups,
            [
                "system:serviceaccounts",
                "system:serviceaccounts:web",
                "system:authenticated"
            ]
        );
    }
}
