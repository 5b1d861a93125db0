//! TokenRequest (`POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token`,
//! authentication.k8s.io/v1), as upstream's `TokenREST.Create`: a JWT for the account,
//! optionally bound to a Pod, Secret or Node, with upstream's defaults, limits and
//! messages. `kubectl create token` and the kubelet's projected volumes ask here.
//!
//! Entry point: [`create`]; reading and checking the request ([`Spec::read`]) and the
//! expiration arithmetic ([`Expiration::of`]) are pure.

use serde_json::{Value, json};

use super::claims::{Bound, Claims, Issue, ObjectRef};
use super::get;
use crate::state::AppState;
use crate::status::ApiError;

/// `spec.expirationSeconds` when the request leaves it out.
pub const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;
/// Shortest token upstream issues (`MinTokenAgeSec`).
pub const MIN_EXPIRATION_SECONDS: i64 = 10 * 60;
/// Longest (`MaxTokenAgeSec`).
pub const MAX_EXPIRATION_SECONDS: i64 = 1 << 32;
/// What the admission plugin's volume asks for (`WarnOnlyBoundTokenExpirationSeconds`).
pub const WARN_ONLY_EXPIRATION_SECONDS: i64 = 3607;
/// What a pod-bound request for that gets instead (`ExpirationExtensionSeconds`).
pub const EXTENDED_EXPIRATION_SECONDS: i64 = 24 * 365 * 60 * 60;

/// `spec.boundObjectRef`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundRef {
    pub kind: String,
    pub api_version: String,
    pub name: String,
    pub uid: String,
}

/// What a TokenRequest asks for, defaulted and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub audiences: Vec<String>,
    pub expiration_seconds: i64,
    pub bound: Option<BoundRef>,
}

/// 422 on `TokenRequest.authentication.k8s.io "name"`, with one field cause.
fn invalid(name: &str, field: &str, value: &Value, detail: &str) -> ApiError {
    let cause = format!("Invalid value: {value}: {detail}");
    let mut e = ApiError::new(
        422,
        "Invalid",
        format!("TokenRequest.authentication.k8s.io {name:?} is invalid: {field}: {cause}"),
    );
    e.details = Some(json!({
        "name": name, "group": "authentication.k8s.io", "kind": "TokenRequest",
        "causes": [{"reason": "FieldValueInvalid", "message": cause, "field": field}],
    }));
    e
}

fn string_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

impl Spec {
    /// Reads `body` for account `namespace/name`; unset audiences are the server's.
    pub fn read(
        body: &Value,
        namespace: &str,
        name: &str,
        server_audiences: &[String],
    ) -> Result<Spec, ApiError> {
        for (field, expected, what) in [
            (
                "name",
                name,
                "must match the service account name if specified",
            ),
            (
                "namespace",
                namespace,
                "must match the service account namespace if specified",
            ),
        ] {
            let given = string_at(body, &format!("/metadata/{field}"));
            if !given.is_empty() && given != expected {
                return Err(invalid(
                    name,
                    &format!("metadata.{field}"),
                    &json!(given),
                    what,
                ));
            }
        }
        let spec = &body["spec"];
        let mut audiences: Vec<String> = spec["audiences"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect();
        if audiences.is_empty() {
            audiences = server_audiences.to_vec();
        }
        let expiration_seconds = match &spec["expirationSeconds"] {
            Value::Null => DEFAULT_EXPIRATION_SECONDS,
            v => v.as_i64().ok_or_else(|| {
                ApiError::bad_request("spec.expirationSeconds must be an integer")
            })?,
        };
        let n = json!(expiration_seconds);
        if expiration_seconds < MIN_EXPIRATION_SECONDS {
            let why = "may not specify a duration less than 10 minutes";
            return Err(invalid("", "spec.expirationSeconds", &n, why));
        }
        if expiration_seconds > MAX_EXPIRATION_SECONDS {
            let why = "may not specify a duration larger than 2^32 seconds";
            return Err(invalid("", "spec.expirationSeconds", &n, why));
        }
        let bound = spec
            .get("boundObjectRef")
            .filter(|r| r.is_object())
            .map(|r| {
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                BoundRef {
                    kind: s("kind"),
                    api_version: s("apiVersion"),
                    name: s("name"),
                    uid: s("uid"),
                }
            });
        Ok(Spec {
            audiences,
            expiration_seconds,
            bound,
        })
    }
}

/// How long a token lives: `seconds` in the JWT, `warn_after` for the extended ones,
/// and `status_seconds` as the response (and the kubelet's refresh) sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiration {
    pub seconds: i64,
    pub warn_after: Option<i64>,
    pub status_seconds: i64,
}

impl Expiration {
    /// Upstream's cap (`--service-account-max-token-expiration`) and extension: a
    /// pod-bound request for exactly 3607 s, for audiences all of which the server
    /// accepts, lives a year and is stale after 3607 s.
    pub fn of(
        requested: i64,
        max: Option<i64>,
        extend: bool,
        pod_bound: bool,
        kube_audiences: bool,
    ) -> Self {
        let capped = match max {
            Some(m) if m > 0 && requested > m => m,
            _ => requested,
        };
        if extend && pod_bound && capped == WARN_ONLY_EXPIRATION_SECONDS && kube_audiences {
            return Expiration {
                seconds: EXTENDED_EXPIRATION_SECONDS,
                warn_after: Some(capped),
                status_seconds: capped,
            };
        }
        Expiration {
            seconds: capped,
            warn_after: None,
            status_seconds: capped,
        }
    }
}

/// The objects a request binds its token to, read from the store and checked.
async fn bind(
    state: &AppState,
    namespace: &str,
    account: &str,
    r: &BoundRef,
) -> Result<(Option<Value>, Option<Value>, Option<ObjectRef>), ApiError> {
    let core = r.api_version == "v1";
    let missing = |plural: &str| {
        refkube_resources::registry::lookup("", "v1", plural)
            .map(|info| ApiError::not_found(info, &r.name))
            .unwrap_or_else(|| ApiError::internal(format!("{plural} are not registered")))
    };
    let (pod, secret, node, uid) = match r.kind.as_str() {
        "Pod" if core => {
            let pod = get(state, "pods", Some(namespace), &r.name)
                .await?
                .ok_or_else(|| missing("pods"))?;
            if string_at(&pod, "/spec/serviceAccountName") != account {
                return Err(ApiError::bad_request(format!(
                    "cannot bind token for serviceaccount {account:?} to pod running with different serviceaccount name."
                )));
            }
            // Informational: the node the pod runs on (name only if that Node is gone).
            let node_name = string_at(&pod, "/spec/nodeName").to_string();
            let node = if node_name.is_empty() {
                None
            } else {
                Some(match get(state, "nodes", None, &node_name).await? {
                    Some(n) => ObjectRef::of(&n),
                    None => ObjectRef {
                        name: node_name,
                        uid: String::new(),
                    },
                })
            };
            let uid = ObjectRef::of(&pod).uid;
            (Some(pod), None, node, uid)
        }
        "Secret" if core => {
            let secret = get(state, "secrets", Some(namespace), &r.name)
                .await?
                .ok_or_else(|| missing("secrets"))?;
            let uid = ObjectRef::of(&secret).uid;
            (None, Some(secret), None, uid)
        }
        "Node" if core => {
            let node = get(state, "nodes", None, &r.name)
                .await?
                .ok_or_else(|| missing("nodes"))?;
            let node = ObjectRef::of(&node);
            let uid = node.uid.clone();
            (None, None, Some(node), uid)
        }
        kind => {
            let gv = if r.api_version.contains('/') {
                r.api_version.clone()
            } else {
                format!("/{}", r.api_version)
            };
            return Err(ApiError::bad_request(format!(
                "cannot bind token to object of type {gv}, Kind={kind}"
            )));
        }
    };
    if !r.uid.is_empty() && r.uid != uid {
        return Err(ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} {:?}: the UID in the bound object reference ({}) does not match the UID in record. The object might have been deleted and then recreated",
                r.kind, r.name, r.uid
            ),
        ));
    }
    Ok((pod, secret, node))
}

/// NodeRestriction's check of a kubelet's request (bound to a pod on its node), which
/// upstream runs at admission, before the request is validated.
fn admit(state: &AppState, namespace: &str, name: &str, body: &Value) -> Result<(), ApiError> {
    let info = refkube_resources::registry::lookup("", "v1", "serviceaccounts")
        .ok_or_else(|| ApiError::internal("serviceaccounts are not registered"))?;
    let mut request = body.clone();
    if !request.is_object() {
        request = json!({});
    }
    request["metadata"] = json!({"name": name, "namespace": namespace});
    crate::authz::admission::admit(
        state,
        info,
        crate::authz::noderestriction::Operation::Create,
        "token",
        Some(&request),
        None,
    )
}

/// Issues a token for `namespace/name` as `body` asks; the TokenRequest with its
/// status.
pub async fn create(
    state: &AppState,
    namespace: &str,
    name: &str,
    body: &Value,
) -> Result<Value, ApiError> {
    let tokens = &state.service_accounts;
    admit(state, namespace, name, body)?;
    let spec = Spec::read(body, namespace, name, &tokens.audiences)?;
    let sa = get(state, "serviceaccounts", Some(namespace), name)
        .await?
        .ok_or_else(|| {
            refkube_resources::registry::lookup("", "v1", "serviceaccounts")
                .map(|info| ApiError::not_found(info, name))
                .unwrap_or_else(|| ApiError::internal("serviceaccounts are not registered"))
        })?;
    let (pod, secret, node) = match &spec.bound {
        Some(r) => bind(state, namespace, name, r).await?,
        None => (None, None, None),
    };
    let kube_audiences = spec.audiences.iter().all(|a| tokens.audiences.contains(a));
    let max = tokens
        .max_expiration
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let exp = Expiration::of(
        spec.expiration_seconds,
        max,
        tokens.extend_expiration,
        pod.is_some(),
        kube_audiences,
    );
    let now = chrono::Utc::now();
    let bound = Bound {
        pod: pod.as_ref(),
        secret: secret.as_ref(),
        node,
    };
    let how = Issue {
        issuer: tokens.issuer(),
        audiences: &spec.audiences,
        now: now.timestamp(),
        expiration_seconds: exp.seconds,
        warn_after_seconds: exp.warn_after,
        jti: uuid::Uuid::new_v4().to_string(),
    };
    let claims = Claims::issue(&sa, &bound, how);
    let token = tokens
        .sign(&claims)
        .map_err(|e| ApiError::internal(format!("failed to generate token: {e}")))?;
    let rfc3339 =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let expires = now + chrono::Duration::seconds(exp.status_seconds);
    let mut out_spec = json!({
        "audiences": spec.audiences,
        "expirationSeconds": exp.status_seconds,
    });
    if let Some(r) = body["spec"].get("boundObjectRef").filter(|r| r.is_object()) {
        out_spec["boundObjectRef"] = r.clone();
    }
    Ok(json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": rfc3339(now)},
        "spec": out_spec,
        "status": {"token": token, "expirationTimestamp": rfc3339(expires)},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auds() -> Vec<String> {
        vec!["https://kubernetes.default.svc.cluster.local".into()]
    }

    #[test]
    fn an_empty_request_gets_an_hour_for_the_servers_audiences() {
        let s = Spec::read(&json!({}), "ns", "default", &auds()).unwrap();
        assert_eq!(s.expiration_seconds, 3600);
        assert_eq!(s.audiences, auds());
        assert_eq!(s.bound, None);
    }

    #[test]
    fn short_tokens_and_foreign_names_are_invalid_with_upstreams_messages() {
        let short = json!({"spec": {"expirationSeconds": 60}});
        let e = Spec::read(&short, "ns", "default", &auds()).unwrap_err();
        assert_eq!(e.code, 422);
        assert_eq!(
            e.message,
            "TokenRequest.authentication.k8s.io \"\" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"
        );
        let other = json!({"metadata": {"name": "other"}});
        let e = Spec::read(&other, "ns", "default", &auds()).unwrap_err();
        assert_eq!(
            e.message,
            "TokenRequest.authentication.k8s.io \"default\" is invalid: metadata.name: Invalid value: \"other\": must match the service account name if specified"
        );
    }

    #[test]
    fn a_bound_object_reference_is_read() {
        let body = json!({"spec": {"audiences": ["api"], "expirationSeconds": 3607,
            "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p", "uid": "u"}}});
        let s = Spec::read(&body, "ns", "default", &auds()).unwrap();
        assert_eq!(s.audiences, ["api"]);
        assert_eq!(
            s.bound,
            Some(BoundRef {
                kind: "Pod".into(),
                api_version: "v1".into(),
                name: "p".into(),
                uid: "u".into()
            })
        );
    }

    #[test]
    fn pod_bound_3607_second_tokens_for_the_server_are_extended_to_a_year() {
        let e = Expiration::of(3607, None, true, true, true);
        assert_eq!(e.seconds, EXTENDED_EXPIRATION_SECONDS);
        assert_eq!(e.warn_after, Some(3607));
        assert_eq!(e.status_seconds, 3607);
        for (pod, kube, extend) in [
            (false, true, true),
            (true, false, true),
            (true, true, false),
        ] {
            assert_eq!(Expiration::of(3607, None, extend, pod, kube).seconds, 3607);
        }
        let capped = Expiration::of(7200, Some(1800), true, true, true);
        assert_eq!((capped.seconds, capped.status_seconds), (1800, 1800));
    }
}
