//! Security and hardening steps: requests a typed client would never send (option
//! values the API does not know, an apply without a field manager), objects too large
//! to store, and fields the API server must never return.
//!
//! Entry points: the step functions. Refusals land in `world.last_error`, so the
//! `the request is rejected ...` steps of `apiserver.rs` check them.

use anyhow::{Context as _, anyhow};
use cucumber::gherkin::Step;
use cucumber::{then, when};
use kube::api::{DynamicObject, PostParams};

use super::common::parse_manifests;
use super::{Outcome, docstring, field, name_of};
use crate::diagnostics;
use crate::world::KubeWorld;

/// The collection URL of a manifest's kind in the scenario's namespace.
fn collection_url(world: &KubeWorld, obj: &DynamicObject) -> anyhow::Result<String> {
    let kind = world.kind_of_manifest(obj)?;
    let r = &kind.resource;
    let base = if r.group.is_empty() {
        format!("/api/{}", r.version)
    } else {
        format!("/apis/{}/{}", r.group, r.version)
    };
    Ok(if kind.namespaced {
        format!("{base}/namespaces/{}/{}", world.namespace, r.plural)
    } else {
        format!("{base}/{}", r.plural)
    })
}

/// Sends a raw request; an API refusal is kept for the `rejected` steps.
async fn send(world: &mut KubeWorld, req: http::Request<Vec<u8>>) -> Outcome {
    world.last_error = None;
    let client = world.client()?;
    match client.request::<serde_json::Value>(req).await {
        Ok(_) => {}
        Err(e @ kube::Error::Api(_)) => world.last_error = Some(e),
        Err(e) => return Err(anyhow::Error::from(e).context("sending the request").into()),
    }
    Ok(())
}

fn only_manifest(world: &KubeWorld, step: &Step) -> anyhow::Result<DynamicObject> {
    let mut objs = parse_manifests(world, docstring(step)?)?;
    match objs.len() {
        1 => Ok(objs.remove(0)),
        n => Err(anyhow!("this step takes exactly one manifest, got {n}")),
    }
}

#[when(expr = "I try to create with the query {string}:")]
async fn create_with_query(world: &mut KubeWorld, query: String, step: &Step) -> Outcome {
    let obj = only_manifest(world, step)?;
    let url = format!("{}?{}", collection_url(world, &obj)?, world.expand(&query));
    let req = http::Request::post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(&obj)?)
        .context("building the request")?;
    send(world, req).await
}

#[when(expr = "I try to apply without a field manager:")]
async fn apply_without_manager(world: &mut KubeWorld, step: &Step) -> Outcome {
    let obj = only_manifest(world, step)?;
    let url = format!("{}/{}", collection_url(world, &obj)?, name_of(&obj));
    let req = http::Request::patch(url)
        .header(http::header::CONTENT_TYPE, "application/apply-patch+yaml")
        .body(serde_json::to_vec(&obj)?)
        .context("building the request")?;
    send(world, req).await
}

#[when(expr = "I try to create a ConfigMap {string} holding {int} bytes")]
async fn big_configmap(world: &mut KubeWorld, name: String, bytes: usize) -> Outcome {
    let obj: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": world.expand(&name)},
        "data": {"blob": "x".repeat(bytes)},
    }))?;
    let (_, api) = world.api("ConfigMap")?;
    world.last_error = api.create(&PostParams::default(), &obj).await.err();
    Ok(())
}

#[then(expr = "the {word} {string} has no field {string}")]
async fn has_no_field(world: &mut KubeWorld, kind: String, name: String, path: String) -> Outcome {
    let obj = world.get(&kind, &name).await?;
    if let Some(got) = field(&obj, &path) {
        fail!(
            "{kind} {name:?}: {path} is {got:?}, expected no such field\n{}",
            diagnostics::yaml_of(&[obj])
        );
    }
    Ok(())
}
