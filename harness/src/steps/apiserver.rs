//! API server steps: rejected requests (status, reason, message, field causes) and
//! optimistic concurrency with resourceVersions.
//!
//! Entry points: the step functions.

use anyhow::{Context as _, anyhow};
use cucumber::{given, then, when};
use kube::api::{ListParams, PostParams};

use super::{Outcome, field};
use crate::world::KubeWorld;

fn rejection(world: &KubeWorld) -> anyhow::Result<&kube::core::Status> {
    match &world.last_error {
        Some(kube::Error::Api(status)) => Ok(status),
        Some(other) => fail!("the request failed without an API Status: {other}"),
        None => fail!("the request was expected to be rejected, but the API server accepted it"),
    }
}

#[then(expr = "the request is rejected with status {int} and reason {string}")]
async fn rejected(world: &mut KubeWorld, code: u16, reason: String) -> Outcome {
    let status = rejection(world)?;
    if status.code != code || status.reason != reason {
        fail!(
            "expected {code} {reason}, got {} {:?} with message {:?}",
            status.code,
            status.reason,
            status.message
        );
    }
    Ok(())
}

#[then(expr = "the rejection message is {string}")]
async fn message_is(world: &mut KubeWorld, want: String) -> Outcome {
    let want = world.expand(&want);
    let status = rejection(world)?;
    if status.message != want {
        fail!(
            "the rejection message is\n  {:?}\nexpected\n  {want:?}",
            status.message
        );
    }
    Ok(())
}

#[then(expr = "the rejection names the field {string} with reason {string}")]
async fn cause(world: &mut KubeWorld, field_path: String, reason: String) -> Outcome {
    let status = rejection(world)?;
    let causes = status
        .details
        .as_ref()
        .map(|d| d.causes.clone())
        .unwrap_or_default();
    if !causes
        .iter()
        .any(|c| c.field == field_path && c.reason == reason)
    {
        let seen: Vec<String> = causes
            .iter()
            .map(|c| format!("{} {} ({})", c.field, c.reason, c.message))
            .collect();
        fail!(
            "no cause {field_path} {reason} in the rejection; its causes are {seen:?} (message {:?})",
            status.message
        );
    }
    Ok(())
}

#[given(expr = "I read the {word} {string} and keep it as {string}")]
#[when(expr = "I read the {word} {string} and keep it as {string}")]
async fn keep(world: &mut KubeWorld, kind: String, name: String, alias: String) -> Outcome {
    let obj = world.get(&kind, &name).await?;
    world.remembered.insert(alias, obj);
    Ok(())
}

/// Sets `data.<key>` on a copy and replaces (PUT) the object with it.
async fn replace_data(
    world: &mut KubeWorld,
    kind: &str,
    mut obj: kube::api::DynamicObject,
    key: &str,
    value: &str,
) -> Result<kube::api::DynamicObject, kube::Error> {
    let name = obj.metadata.name.clone().unwrap_or_default();
    if let Some(map) = obj.data.as_object_mut() {
        let data = map.entry("data").or_insert_with(|| serde_json::json!({}));
        if let Some(d) = data.as_object_mut() {
            d.insert(key.to_string(), value.into());
        }
    }
    let (_, api) = world
        .api(kind)
        .map_err(|e| kube::Error::Service(e.into()))?;
    api.replace(&name, &PostParams::default(), &obj).await
}

#[when(expr = "someone else sets {string} to {string} in the {word} {string}")]
#[when(expr = "I set {string} to {string} in the {word} {string}")]
async fn update_latest(
    world: &mut KubeWorld,
    key: String,
    value: String,
    kind: String,
    name: String,
) -> Outcome {
    let obj = world.get(&kind, &name).await?;
    replace_data(world, &kind, obj, &key, &value)
        .await
        .with_context(|| format!("updating {kind} {name:?}"))?;
    Ok(())
}

#[when(expr = "I try to set {string} to {string} in my copy {string}")]
async fn update_stale(world: &mut KubeWorld, key: String, value: String, alias: String) -> Outcome {
    let obj = world
        .remembered
        .get(&alias)
        .cloned()
        .ok_or_else(|| anyhow!("no object kept as {alias:?}"))?;
    let kind = obj
        .types
        .as_ref()
        .map(|t| t.kind.clone())
        .unwrap_or_else(|| "ConfigMap".into());
    world.last_error = replace_data(world, &kind, obj, &key, &value).await.err();
    Ok(())
}

#[then(expr = "the resourceVersion of the {word} {string} differs from my copy {string}")]
async fn rv_changed(world: &mut KubeWorld, kind: String, name: String, alias: String) -> Outcome {
    let now = world.get(&kind, &name).await?;
    let old = world
        .remembered
        .get(&alias)
        .ok_or_else(|| anyhow!("no object kept as {alias:?}"))?;
    if now.metadata.resource_version == old.metadata.resource_version {
        fail!(
            "resourceVersion is still {:?} after the update",
            now.metadata.resource_version
        );
    }
    Ok(())
}

#[when(expr = "I try to read the {word} {string}")]
async fn try_read(world: &mut KubeWorld, kind: String, name: String) -> Outcome {
    let (_, api) = world.api(&kind)?;
    world.last_error = api.get(&world.expand(&name)).await.err();
    Ok(())
}

#[when(expr = "I try to list {word} from the too-old revision {string}")]
async fn list_too_old(world: &mut KubeWorld, kind: String, rev: String) -> Outcome {
    let (_, api) = world.api(&kind)?;
    let rv = world.expand(&format!("{{{rev}}}"));
    let params = ListParams::default()
        .at(&rv)
        .matching(kube::api::VersionMatch::Exact);
    world.last_error = api.list(&params).await.err();
    Ok(())
}

#[given(expr = "I note the current revision of {word} as {string}")]
#[when(expr = "I note the current revision of {word} as {string}")]
async fn note_revision(world: &mut KubeWorld, kind: String, var: String) -> Outcome {
    let (_, api) = world.api(&kind)?;
    let list = api
        .list(&ListParams::default().limit(1))
        .await
        .context("listing")?;
    let rv = list
        .metadata
        .resource_version
        .ok_or_else(|| anyhow!("the list has no resourceVersion"))?;
    world.vars.insert(var, rv);
    Ok(())
}

#[then(expr = "the {word} {string} has the uid and creationTimestamp the API server assigned")]
async fn server_fields(world: &mut KubeWorld, kind: String, name: String) -> Outcome {
    let obj = world.get(&kind, &name).await?;
    for path in [
        "metadata.uid",
        "metadata.creationTimestamp",
        "metadata.resourceVersion",
    ] {
        if field(&obj, path).unwrap_or_default().is_empty() {
            fail!("{kind} {name:?} has no {path}");
        }
    }
    Ok(())
}
