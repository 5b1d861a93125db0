//! Steps that act as another identity through impersonation (`Impersonate-User`,
//! `Impersonate-Group`, what `kubectl --as --as-group` sends), and that ask the access
//! review APIs what an identity may do (what `kubectl auth can-i` asks).
//!
//! Entry points: the step functions. `When I act as ...` sets the identity of the
//! `When they try to ...` steps; their refusals land in `world.last_error`, so the
//! `the request is rejected ...` steps of `apiserver.rs` check them.

use anyhow::{Context as _, anyhow};
use cucumber::gherkin::Step;
use cucumber::{then, when};
use serde_json::{Value, json};

use super::common::parse_manifests;
use super::{Outcome, docstring};
use crate::kinds::{self, Kind};
use crate::world::KubeWorld;

/// The `vars` keys the acting identity is kept under.
const AS_USER: &str = "acting-user";
const AS_GROUPS: &str = "acting-groups";

/// The URL of a kind's collection (in the scenario's namespace when namespaced), or
/// of one object of it.
fn url(world: &KubeWorld, kind: &Kind, name: Option<&str>) -> String {
    let r = &kind.resource;
    let base = if r.group.is_empty() {
        format!("/api/{}", r.version)
    } else {
        format!("/apis/{}/{}", r.group, r.version)
    };
    let collection = if kind.namespaced {
        format!("{base}/namespaces/{}/{}", world.namespace, r.plural)
    } else {
        format!("{base}/{}", r.plural)
    };
    match name {
        Some(n) => format!("{collection}/{n}"),
        None => collection,
    }
}

/// A request as the acting identity.
fn request(world: &KubeWorld, method: http::Method, url: &str) -> http::request::Builder {
    let mut b = http::Request::builder().method(method).uri(url);
    if let Some(user) = world.vars.get(AS_USER) {
        b = b.header("Impersonate-User", user);
        for g in world
            .vars
            .get(AS_GROUPS)
            .map(|g| g.split(',').filter(|g| !g.is_empty()).collect::<Vec<_>>())
            .unwrap_or_default()
        {
            b = b.header("Impersonate-Group", g);
        }
    }
    b
}

/// Sends a request; an API refusal is kept for the `rejected` steps.
async fn send(world: &mut KubeWorld, req: http::Request<Vec<u8>>) -> Outcome {
    world.last_error = None;
    match world.client()?.request::<Value>(req).await {
        Ok(_) => Ok(()),
        Err(e @ kube::Error::Api(_)) => {
            world.last_error = Some(e);
            Ok(())
        }
        Err(e) => Err(anyhow::Error::from(e).context("sending the request").into()),
    }
}

#[when(expr = "I act as {string}")]
async fn act_as(world: &mut KubeWorld, user: String) -> Outcome {
    let user = world.expand(&user);
    world.vars.insert(AS_USER.into(), user);
    world.vars.remove(AS_GROUPS);
    Ok(())
}

#[when(expr = "I act as {string} in the groups {string}")]
async fn act_as_in(world: &mut KubeWorld, user: String, groups: String) -> Outcome {
    let (user, groups) = (world.expand(&user), world.expand(&groups));
    world.vars.insert(AS_USER.into(), user);
    world.vars.insert(AS_GROUPS.into(), groups);
    Ok(())
}

#[when(expr = "I act as myself again")]
async fn act_as_myself(world: &mut KubeWorld) -> Outcome {
    world.vars.remove(AS_USER);
    world.vars.remove(AS_GROUPS);
    Ok(())
}

#[when(expr = "they try to {word} the {word} {string}")]
async fn try_verb(world: &mut KubeWorld, verb: String, kind: String, name: String) -> Outcome {
    let kind = kinds::resolve(&kind)?;
    let name = world.expand(&name);
    let url = url(world, &kind, Some(&name));
    let method = match verb.as_str() {
        "get" | "read" => http::Method::GET,
        "delete" => http::Method::DELETE,
        // POST pods/NAME/eviction, what `kubectl drain` sends.
        "evict" => {
            let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": name, "namespace": world.namespace}});
            let req = request(world, http::Method::POST, &format!("{url}/eviction"))
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(&eviction)?)?;
            return send(world, req).await;
        }
        other => return Err(anyhow!("unknown verb {other:?} (get, read, delete, evict)").into()),
    };
    let req = request(world, method, &url).body(Vec::new())?;
    send(world, req).await
}

#[when(expr = "they try to list {word}")]
async fn try_list(world: &mut KubeWorld, kind: String) -> Outcome {
    let kind = kinds::resolve(&kind)?;
    let req = request(world, http::Method::GET, &url(world, &kind, None)).body(Vec::new())?;
    send(world, req).await
}

#[when(expr = "they try to patch the {word} {string} with:")]
async fn try_patch(world: &mut KubeWorld, kind: String, name: String, step: &Step) -> Outcome {
    let kind = kinds::resolve(&kind)?;
    let url = url(world, &kind, Some(&world.expand(&name)));
    let patch: Value = serde_yaml::from_str(&world.expand(docstring(step)?))
        .context("the patch is not valid YAML")?;
    let req = request(world, http::Method::PATCH, &url)
        .header(http::header::CONTENT_TYPE, "application/merge-patch+json")
        .body(serde_json::to_vec(&patch)?)?;
    send(world, req).await
}

#[when(expr = "they try to create:")]
async fn try_create(world: &mut KubeWorld, step: &Step) -> Outcome {
    for obj in parse_manifests(world, docstring(step)?)? {
        let kind = world.kind_of_manifest(&obj)?;
        let req = request(world, http::Method::POST, &url(world, &kind, None))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&obj)?)?;
        send(world, req).await?;
        if world.last_error.is_some() {
            break;
        }
    }
    Ok(())
}

#[then(expr = "the request is allowed")]
async fn allowed(world: &mut KubeWorld) -> Outcome {
    match world.last_error.take() {
        None => Ok(()),
        Some(e) => Err(anyhow!("the request was refused: {e}").into()),
    }
}

/// The resource attributes of "VERB RESOURCE" in the scenario's namespace.
fn resource_attributes(world: &KubeWorld, verb: &str, resource: &str) -> anyhow::Result<Value> {
    let kind = kinds::resolve(resource)?;
    let mut attrs = json!({"verb": verb, "group": kind.resource.group,
                           "resource": kind.resource.plural});
    if kind.namespaced {
        attrs["namespace"] = json!(world.namespace);
    }
    Ok(attrs)
}

/// Creates an access review and returns its `status.allowed`, within the time it
/// takes a new binding to reach the server's caches.
async fn review(world: &mut KubeWorld, path: &str, body: Value, want: bool) -> Outcome {
    let deadline = tokio::time::Instant::now() + world.timings.expect;
    loop {
        let req = request(world, http::Method::POST, path)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&body)?)?;
        let answer: Value = world
            .client()?
            .request(req)
            .await
            .with_context(|| format!("creating the review at {path}"))?;
        let allowed = answer["status"]["allowed"].as_bool();
        if allowed == Some(want) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(anyhow!(
                "expected allowed={want}, the review answered {}",
                answer["status"]
            )
            .into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[then(expr = "a SubjectAccessReview says {string} {word} {word} {word}")]
async fn subject_review(
    world: &mut KubeWorld,
    user: String,
    may: String,
    verb: String,
    resource: String,
) -> Outcome {
    let want = may_or_not(&may)?;
    let user = world.expand(&user);
    let mut spec =
        json!({"user": user, "resourceAttributes": resource_attributes(world, &verb, &resource)?});
    if let Some(ns) = user
        .strip_prefix("system:serviceaccount:")
        .and_then(|r| r.split_once(':'))
    {
        spec["groups"] = json!([
            "system:serviceaccounts",
            format!("system:serviceaccounts:{}", ns.0),
            "system:authenticated"
        ]);
    }
    let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec});
    review(
        world,
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        body,
        want,
    )
    .await
}

#[then(expr = "a SelfSubjectAccessReview says they {word} {word} {word}")]
async fn self_review(
    world: &mut KubeWorld,
    may: String,
    verb: String,
    resource: String,
) -> Outcome {
    let want = may_or_not(&may)?;
    let spec = json!({"resourceAttributes": resource_attributes(world, &verb, &resource)?});
    let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": spec});
    review(
        world,
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        body,
        want,
    )
    .await
}

/// "may" or "cannot" (`can`, `may-not` also read).
fn may_or_not(word: &str) -> anyhow::Result<bool> {
    match word {
        "may" | "can" => Ok(true),
        "cannot" | "may-not" => Ok(false),
        other => Err(anyhow!("expected may or cannot, got {other:?}")),
    }
}

#[then(expr = "they may list {word} within a short time")]
async fn may_list_eventually(world: &mut KubeWorld, kind: String) -> Outcome {
    let deadline = tokio::time::Instant::now() + world.timings.expect;
    loop {
        try_list(world, kind.clone()).await?;
        match world.last_error.take() {
            None => return Ok(()),
            Some(e) if tokio::time::Instant::now() >= deadline => {
                return Err(anyhow!("still refused: {e}").into());
            }
            Some(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
}

#[then(expr = "the rejection message starts with {string}")]
async fn message_starts(world: &mut KubeWorld, want: String) -> Outcome {
    let want = world.expand(&want);
    match &world.last_error {
        Some(kube::Error::Api(s)) if s.message.starts_with(&want) => Ok(()),
        Some(kube::Error::Api(s)) => Err(anyhow!(
            "the rejection message is\n  {:?}\nexpected it to start with\n  {want:?}",
            s.message
        )
        .into()),
        Some(other) => Err(anyhow!("the request failed without an API Status: {other}").into()),
        None => Err(anyhow!("the request was expected to be rejected, but was allowed").into()),
    }
}

#[then(expr = "the rejection message ends with {string}")]
async fn message_ends(world: &mut KubeWorld, want: String) -> Outcome {
    let want = world.expand(&want);
    match &world.last_error {
        Some(kube::Error::Api(s)) if s.message.ends_with(&want) => Ok(()),
        Some(kube::Error::Api(s)) => Err(anyhow!(
            "the rejection message is\n  {:?}\nexpected it to end with\n  {want:?}",
            s.message
        )
        .into()),
        Some(other) => Err(anyhow!("the request failed without an API Status: {other}").into()),
        None => Err(anyhow!("the request was expected to be rejected, but was allowed").into()),
    }
}
