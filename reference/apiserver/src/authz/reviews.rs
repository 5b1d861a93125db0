//! The access reviews of `authorization.k8s.io/v1`, answered from the real rules:
//! SubjectAccessReview (any user), LocalSubjectAccessReview (in a namespace),
//! SelfSubjectAccessReview (`kubectl auth can-i`) and SelfSubjectRulesReview
//! (`kubectl auth can-i --list`). Create-only, as upstream serves them.
//!
//! Entry points: [`route`], [`answer`].

use http::Method;
use refkube_resources::ResourceInfo;
use refkube_resources::validation::Cause;
use serde_json::{Value, json};

use super::attributes::Attributes;
use super::{Authorizer, Mode, Verdict, node, rbac::aggregate};
use crate::auth::User;
use crate::status::ApiError;
use crate::watchcache::WatchCaches;

pub const GROUP: &str = "authorization.k8s.io";

/// Which review a request creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Review {
    Subject,
    /// In the namespace of the URL.
    Local(String),
    SelfSubject,
    SelfRules,
}

impl Review {
    pub fn kind(&self) -> &'static str {
        match self {
            Review::Subject => "SubjectAccessReview",
            Review::Local(_) => "LocalSubjectAccessReview",
            Review::SelfSubject => "SelfSubjectAccessReview",
            Review::SelfRules => "SelfSubjectRulesReview",
        }
    }

    /// The registry entry of the review's kind.
    pub fn info(&self) -> &'static ResourceInfo {
        use refkube_resources::kinds::authorization as a;
        match self {
            Review::Subject => &a::subjectaccessreview::INFO,
            Review::Local(_) => &a::localsubjectaccessreview::INFO,
            Review::SelfSubject => &a::selfsubjectaccessreview::INFO,
            Review::SelfRules => &a::selfsubjectrulesreview::INFO,
        }
    }
}

/// The review a request asks for; other methods on these paths are 405.
pub fn route(method: &Method, path: &str) -> Option<Result<Review, ApiError>> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let review = match segs.as_slice() {
        ["apis", GROUP, "v1", "subjectaccessreviews"] => Review::Subject,
        ["apis", GROUP, "v1", "selfsubjectaccessreviews"] => Review::SelfSubject,
        ["apis", GROUP, "v1", "selfsubjectrulesreviews"] => Review::SelfRules,
        [
            "apis",
            GROUP,
            "v1",
            "namespaces",
            ns,
            "localsubjectaccessreviews",
        ] => Review::Local(ns.to_string()),
        _ => return None,
    };
    Some(if method == Method::POST {
        Ok(review)
    } else {
        Err(ApiError::method_not_allowed())
    })
}

fn invalid(review: &Review, field: &str, value: &str, why: &str) -> ApiError {
    ApiError::invalid(
        review.info(),
        "",
        &[Cause {
            reason: "FieldValueInvalid",
            message: format!("Invalid value: {value:?}: {why}"),
            field: field.into(),
        }],
    )
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

/// The attributes a review's spec asks about, for `user`.
fn spec_attributes(review: &Review, spec: &Value, user: User) -> Result<Attributes, ApiError> {
    let (res, non) = (&spec["resourceAttributes"], &spec["nonResourceAttributes"]);
    if !res.is_null() && !non.is_null() {
        let why = "cannot be specified in combination with resourceAttributes";
        return Err(invalid(review, "spec.nonResourceAttributes", "", why));
    }
    if res.is_null() && non.is_null() {
        let why = "exactly one of nonResourceAttributes or resourceAttributes must be specified";
        return Err(invalid(review, "spec.resourceAttributes", "null", why));
    }
    if res.is_null() {
        return Ok(Attributes {
            user,
            verb: s(non, "verb"),
            path: s(non, "path"),
            ..Default::default()
        });
    }
    let causes = super::selectors::validate(res);
    if !causes.is_empty() {
        return Err(ApiError::invalid(review.info(), "", &causes));
    }
    let field_selector = super::selectors::field_requirements(res);
    Ok(Attributes {
        user,
        verb: s(res, "verb"),
        resource_request: true,
        api_group: s(res, "group"),
        api_version: s(res, "version"),
        resource: s(res, "resource"),
        subresource: s(res, "subresource"),
        namespace: s(res, "namespace"),
        name: s(res, "name"),
        field_selector,
        ..Default::default()
    })
}

/// The user a SubjectAccessReview names.
fn spec_user(spec: &Value) -> User {
    let extra = spec["extra"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), strings(v))).collect())
        .unwrap_or_default();
    User {
        name: s(spec, "user"),
        uid: s(spec, "uid"),
        groups: strings(&spec["groups"]),
        extra,
    }
}

/// Answers one review created by `requester`: the object with its `status`.
pub fn answer(
    authorizer: &Authorizer,
    caches: &WatchCaches,
    review: &Review,
    requester: &User,
    body: &Value,
) -> Result<Value, ApiError> {
    let spec = body.get("spec").cloned().unwrap_or(json!({}));
    let mut metadata = body.get("metadata").cloned().unwrap_or(json!({}));
    if metadata.get("creationTimestamp").is_none() {
        metadata["creationTimestamp"] = Value::Null;
    }
    let status = match review {
        Review::SelfRules => {
            let ns = s(&spec, "namespace");
            if ns.is_empty() {
                return Err(ApiError::bad_request("no namespace on request"));
            }
            rules_review(authorizer, caches, requester, &ns)
        }
        _ => {
            let user = match review {
                Review::SelfSubject => requester.clone(),
                _ => spec_user(&spec),
            };
            if !matches!(review, Review::SelfSubject)
                && user.name.is_empty()
                && user.groups.is_empty()
            {
                return Err(invalid(
                    review,
                    "spec.user",
                    "",
                    "at least one of user or group must be specified",
                ));
            }
            let a = spec_attributes(review, &spec, user)?;
            if let Review::Local(ns) = review {
                let meta_ns = metadata["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if !meta_ns.is_empty() && meta_ns != *ns {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                metadata["namespace"] = json!(ns);
                if !a.resource_request {
                    return Err(invalid(
                        review,
                        "spec.nonResourceAttributes",
                        "",
                        "disallowed on this kind of request",
                    ));
                }
                if a.namespace != *ns {
                    return Err(invalid(
                        review,
                        "spec.resourceAttributes.namespace",
                        &a.namespace,
                        "must match metadata.namespace",
                    ));
                }
            }
            let d = authorizer.authorize(caches, &a);
            let mut st = json!({"allowed": d.verdict == Verdict::Allow});
            if d.verdict == Verdict::Deny {
                st["denied"] = json!(true);
            }
            if !d.reason.is_empty() {
                st["reason"] = json!(d.reason);
            }
            st
        }
    };
    Ok(json!({
        "kind": review.kind(),
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": metadata,
        "spec": spec,
        "status": status,
    }))
}

/// Upstream's union rule resolver over the modes: every rule `user` holds in `ns`.
fn rules_review(authorizer: &Authorizer, caches: &WatchCaches, user: &User, ns: &str) -> Value {
    let mut resource_rules = Vec::new();
    let mut non_resource_rules = Vec::new();
    let mut incomplete = false;
    let mut errors = Vec::new();
    let mut add = |rules: Vec<k8s_openapi::api::rbac::v1::PolicyRule>| {
        for r in rules {
            if r.resources.as_ref().is_some_and(|v| !v.is_empty()) {
                let mut o = json!({"verbs": r.verbs, "apiGroups": r.api_groups.clone().unwrap_or_default(),
                                   "resources": r.resources.clone().unwrap_or_default()});
                if let Some(names) = r.resource_names.clone().filter(|n| !n.is_empty()) {
                    o["resourceNames"] = json!(names);
                }
                resource_rules.push(o);
            }
            if let Some(urls) = r.non_resource_urls.clone().filter(|u| !u.is_empty()) {
                non_resource_rules.push(json!({"verbs": r.verbs, "nonResourceURLs": urls}));
            }
        }
    };
    for mode in authorizer.modes() {
        match mode {
            Mode::AlwaysAllow => add(vec![
                super::rules::rule(&["*"], &["*"], &["*"]),
                super::rules::url_rule(&["*"], &["*"]),
            ]),
            Mode::AlwaysDeny => {}
            Mode::Node => {
                if node::node_identity(user).is_some() {
                    incomplete = true;
                    errors
                        .push("node authorizer does not support user rule resolution".to_string());
                }
            }
            Mode::Rbac => {
                let (rules, errs) = authorizer.policy(caches).rules_for(user, ns);
                add(rules);
                if !errs.is_empty() {
                    errors.push(aggregate(&errs));
                }
            }
        }
    }
    let mut st = json!({
        "resourceRules": resource_rules,
        "nonResourceRules": non_resource_rules,
        "incomplete": incomplete,
    });
    if !errors.is_empty() {
        st["evaluationError"] = json!(aggregate(&errors));
    }
    st
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reviews_are_routed_by_path_and_only_created() {
        let r = |m: Method, p: &str| route(&m, p).map(|r| r.map_err(|e| e.code));
        assert_eq!(
            r(
                Method::POST,
                "/apis/authorization.k8s.io/v1/subjectaccessreviews"
            ),
            Some(Ok(Review::Subject))
        );
        assert_eq!(
            r(
                Method::POST,
                "/apis/authorization.k8s.io/v1/namespaces/web/localsubjectaccessreviews"
            ),
            Some(Ok(Review::Local("web".into())))
        );
        assert_eq!(
            r(
                Method::GET,
                "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
            ),
            Some(Err(405))
        );
        assert_eq!(r(Method::POST, "/apis/authorization.k8s.io/v1/other"), None);
    }

    #[tokio::test]
    async fn access_reviews_answer_from_the_rules() {
        let store: std::sync::Arc<dyn refkube_store::Store> =
            std::sync::Arc::new(refkube_store::memory::MemoryStore::new());
        let caches = WatchCaches::start(store, 10).await.unwrap();
        let authz = Authorizer::new(Mode::defaults());
        let sar = json!({"spec": {"user": "jane", "resourceAttributes": {"verb": "list", "resource": "pods", "namespace": "default"}}});
        let out = answer(&authz, &caches, &Review::Subject, &User::admin(), &sar).unwrap();
        assert_eq!(out["status"], json!({"allowed": false}));
        assert_eq!(out["kind"], "SubjectAccessReview");
        let masters = json!({"spec": {"user": "x", "groups": ["system:masters"], "nonResourceAttributes": {"verb": "get", "path": "/x"}}});
        let out = answer(&authz, &caches, &Review::Subject, &User::admin(), &masters).unwrap();
        assert_eq!(out["status"]["allowed"], true);
        let nobody = json!({"spec": {"resourceAttributes": {"verb": "get"}}});
        let e = answer(&authz, &caches, &Review::Subject, &User::admin(), &nobody).unwrap_err();
        assert_eq!(e.code, 422);
        assert!(
            e.message.contains(
                "spec.user: Invalid value: \"\": at least one of user or group must be specified"
            ),
            "{}",
            e.message
        );
        let me = json!({"spec": {"resourceAttributes": {"verb": "delete", "resource": "nodes"}}});
        let out = answer(&authz, &caches, &Review::SelfSubject, &User::admin(), &me).unwrap();
        assert_eq!(out["status"]["allowed"], true);
        let local = json!({"spec": {"user": "jane", "resourceAttributes": {"verb": "get", "resource": "pods", "namespace": "other"}}});
        let e = answer(
            &authz,
            &caches,
            &Review::Local("web".into()),
            &User::admin(),
            &local,
        )
        .unwrap_err();
        assert!(
            e.message.contains("must match metadata.namespace"),
            "{}",
            e.message
        );
        let node = User {
            name: "system:node:n1".into(),
            groups: vec!["system:nodes".into()],
            ..Default::default()
        };
        let rules = answer(
            &authz,
            &caches,
            &Review::SelfRules,
            &node,
            &json!({"spec": {"namespace": "default"}}),
        )
        .unwrap();
        // A kubelet may list the pods bound to it: the review's selector is the list's.
        let scoped = |selector: Value| {
            json!({"spec": {"user": "system:node:n1", "groups": ["system:nodes"],
                "resourceAttributes": {"verb": "list", "resource": "pods", "fieldSelector": selector}}})
        };
        for selector in [
            json!({"rawSelector": "spec.nodeName=n1"}),
            json!({"requirements": [{"key": "spec.nodeName", "operator": "In", "values": ["n1"]}]}),
        ] {
            let out = answer(
                &authz,
                &caches,
                &Review::Subject,
                &User::admin(),
                &scoped(selector),
            );
            assert_eq!(out.unwrap()["status"]["allowed"], true);
        }
        let other = scoped(json!({"rawSelector": "spec.nodeName=n2"}));
        let out = answer(&authz, &caches, &Review::Subject, &User::admin(), &other).unwrap();
        assert_eq!(out["status"]["allowed"], false);
        let e = answer(
            &authz,
            &caches,
            &Review::Subject,
            &User::admin(),
            &scoped(json!({})),
        )
        .unwrap_err();
        assert_eq!(e.code, 422);
        assert!(
            e.message
                .contains("spec.resourceAttributes.fieldSelector.requirements: Required value"),
            "{}",
            e.message
        );
        assert_eq!(rules["status"]["incomplete"], true);
        assert_eq!(
            rules["status"]["evaluationError"],
            "node authorizer does not support user rule resolution"
        );
    }
}
