//! Steps every area uses: create objects from YAML, read, patch, delete, and wait for
//! fields and counts.
//!
//! Entry points: the step functions; [`create_all`] for other step modules.

use anyhow::{Context as _, anyhow};
use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use kube::api::{DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde::Deserialize as _;

use super::{Outcome, docstring, field, list, name_of};
use crate::diagnostics;
use crate::kinds;
use crate::world::KubeWorld;

/// Parses YAML documents (after `{var}` expansion) into objects.
pub fn parse_manifests(world: &KubeWorld, yaml: &str) -> anyhow::Result<Vec<DynamicObject>> {
    let text = world.expand(yaml);
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let value =
            serde_json::Value::deserialize(doc).context("the manifest is not valid YAML")?;
        if value.is_null() {
            continue;
        }
        out.push(serde_json::from_value(value).context("the manifest is not a Kubernetes object")?);
    }
    Ok(out)
}

/// Creates every object of the YAML in the scenario's namespace (cluster-scoped ones are
/// deleted at teardown). Returns what the API server stored.
/// Creates one object. A kind a CRD of this scenario defined may not be served yet by
/// every API server behind the target (each serves it once its own watch has seen the
/// CRD Established), so its 404s are retried until `patience` runs out, as a client
/// that has just created a CRD must.
async fn create_one(
    api: &kube::Api<DynamicObject>,
    obj: &DynamicObject,
    custom: bool,
    patience: std::time::Duration,
) -> Result<DynamicObject, kube::Error> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match api.create(&PostParams::default(), obj).await {
            Err(kube::Error::Api(e))
                if custom && e.code == 404 && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

pub async fn create_all(world: &mut KubeWorld, yaml: &str) -> anyhow::Result<Vec<DynamicObject>> {
    let mut created = Vec::new();
    for obj in parse_manifests(world, yaml)? {
        let (kind, api) = world.api_for_manifest(&obj)?;
        let custom = world.custom_kinds.iter().any(|k| {
            k.resource.api_version == kind.resource.api_version
                && k.resource.kind == kind.resource.kind
        });
        let is_crd = kind.resource.kind == "CustomResourceDefinition";
        let stored = create_one(&api, &obj, custom, world.timings.expect)
            .await
            .with_context(|| {
                format!(
                    "creating {} {:?}",
                    kind.resource.kind,
                    obj.metadata
                        .name
                        .clone()
                        .or(obj.metadata.generate_name.clone())
                        .unwrap_or_default()
                )
            })?;
        if !kind.namespaced {
            world.owns_cluster_object(kind, &name_of(&stored));
        }
        if let Some(defined) = kinds::from_crd(&stored).filter(|_| is_crd) {
            world.custom_kinds.push(defined);
        }
        created.push(stored);
    }
    Ok(created)
}

#[given(expr = "the following objects exist:")]
#[when(expr = "I create:")]
async fn create(world: &mut KubeWorld, step: &Step) -> Outcome {
    create_all(world, docstring(step)?).await?;
    Ok(())
}

#[when(expr = "I try to create:")]
async fn try_create(world: &mut KubeWorld, step: &Step) -> Outcome {
    world.last_error = None;
    for obj in parse_manifests(world, docstring(step)?)? {
        let (_, api) = world.api_for_manifest(&obj)?;
        if let Err(e) = api.create(&PostParams::default(), &obj).await {
            world.last_error = Some(e);
            return Ok(());
        }
    }
    Ok(())
}

#[when(expr = "I delete the {word} {string}")]
async fn delete(world: &mut KubeWorld, kind: String, name: String) -> Outcome {
    let (_, api) = world.api(&kind)?;
    api.delete(&world.expand(&name), &DeleteParams::default())
        .await
        .with_context(|| format!("deleting {kind} {name:?}"))?;
    Ok(())
}

#[when(expr = "I delete the {word} {string} with propagation policy {word}")]
async fn delete_with(world: &mut KubeWorld, kind: String, name: String, policy: String) -> Outcome {
    let (_, api) = world.api(&kind)?;
    let dp = match policy.as_str() {
        "Orphan" => DeleteParams::orphan(),
        "Foreground" => DeleteParams::foreground(),
        "Background" => DeleteParams::background(),
        other => return Err(anyhow!("unknown propagation policy {other:?}").into()),
    };
    api.delete(&world.expand(&name), &dp)
        .await
        .with_context(|| format!("deleting {kind} {name:?} ({policy})"))?;
    Ok(())
}

#[when(expr = "I patch the {word} {string} with:")]
async fn patch(world: &mut KubeWorld, kind: String, name: String, step: &Step) -> Outcome {
    let (_, api) = world.api(&kind)?;
    let text = world.expand(docstring(step)?);
    let body: serde_json::Value =
        serde_yaml::from_str(&text).context("the patch is not valid YAML")?;
    api.patch(
        &world.expand(&name),
        &PatchParams::default(),
        &Patch::Merge(body),
    )
    .await
    .with_context(|| format!("patching {kind} {name:?}"))?;
    Ok(())
}

#[when(expr = "I label the {word} {string} with {string}")]
async fn label(world: &mut KubeWorld, kind: String, name: String, pair: String) -> Outcome {
    let (_, api) = world.api(&kind)?;
    let (k, v) = pair
        .split_once('=')
        .ok_or_else(|| anyhow!("a label is key=value, got {pair:?}"))?;
    let body = serde_json::json!({"metadata": {"labels": {k: v}}});
    api.patch(
        &world.expand(&name),
        &PatchParams::default(),
        &Patch::Merge(body),
    )
    .await
    .with_context(|| format!("labelling {kind} {name:?}"))?;
    Ok(())
}

#[then(expr = "the {word} {string} exists")]
async fn exists(world: &mut KubeWorld, kind: String, name: String) -> Outcome {
    world.get(&kind, &name).await?;
    Ok(())
}

#[then(expr = "eventually the {word} {string} no longer exists")]
async fn gone(world: &mut KubeWorld, kind: String, name: String) -> Outcome {
    let name = world.expand(&name);
    let what = format!("{kind} {name:?} to be deleted");
    world
        .wait_for(&kind, "", &what, world.timings.expect, |objs| {
            (!objs.iter().any(|o| name_of(o) == name)).then_some(())
        })
        .await?;
    Ok(())
}

#[then(expr = "the {word} {string} has {string} equal to {string}")]
async fn has_field(
    world: &mut KubeWorld,
    kind: String,
    name: String,
    path: String,
    want: String,
) -> Outcome {
    let obj = world.get(&kind, &name).await?;
    let want = world.expand(&want);
    let got = field(&obj, &path);
    if got.as_deref() != Some(want.as_str()) {
        fail!(
            "{kind} {name:?}: {path} is {got:?}, expected {want:?}\n{}",
            diagnostics::yaml_of(&[obj])
        );
    }
    Ok(())
}

#[then(expr = "eventually the {word} {string} has {string} equal to {string}")]
async fn eventually_field(
    world: &mut KubeWorld,
    kind: String,
    name: String,
    path: String,
    want: String,
) -> Outcome {
    let (name, want) = (world.expand(&name), world.expand(&want));
    let what = format!("{kind} {name:?} to have {path} = {want:?}");
    world
        .wait_for(&kind, "", &what, world.timings.expect, |objs| {
            objs.iter()
                .find(|o| name_of(o) == name)
                .filter(|o| field(o, &path).as_deref() == Some(want.as_str()))
                .map(|_| ())
        })
        .await?;
    Ok(())
}

#[then(expr = "eventually there are {int} {word} labelled {string}")]
async fn count(world: &mut KubeWorld, n: usize, kind: String, selector: String) -> Outcome {
    let what = format!("exactly {n} {kind} labelled {selector:?}");
    world
        .wait_for(&kind, &selector, &what, world.timings.expect, |objs| {
            // Terminating objects still exist, as `kubectl get` shows them.
            (objs.len() == n).then_some(())
        })
        .await?;
    Ok(())
}

#[then(expr = "listing {word} returns exactly {string}")]
async fn listing_all(world: &mut KubeWorld, kind: String, names: String) -> Outcome {
    listing(world, kind, String::new(), names).await
}

#[then(expr = "listing {word} with fields {string} returns exactly {string}")]
async fn listing_fields(
    world: &mut KubeWorld,
    kind: String,
    fields: String,
    names: String,
) -> Outcome {
    let (_, api) = world.api(&kind)?;
    let params = ListParams::default().fields(&world.expand(&fields));
    let mut got: Vec<String> = api
        .list(&params)
        .await
        .with_context(|| format!("listing {kind} with fields {fields:?}"))?
        .items
        .iter()
        .map(name_of)
        .collect();
    got.sort();
    let mut want = list(&world.expand(&names));
    want.sort();
    if got != want {
        fail!("listing {kind} with fields {fields:?} returned {got:?}, expected {want:?}");
    }
    Ok(())
}

#[when(expr = "I try to list {word} with fields {string}")]
async fn try_list_fields(world: &mut KubeWorld, kind: String, fields: String) -> Outcome {
    world.last_error = None;
    let (_, api) = world.api(&kind)?;
    let params = ListParams::default().fields(&world.expand(&fields));
    if let Err(e) = api.list(&params).await {
        world.last_error = Some(e);
    }
    Ok(())
}

#[then(expr = "listing {word} labelled {string} returns exactly {string}")]
async fn listing(world: &mut KubeWorld, kind: String, selector: String, names: String) -> Outcome {
    let (_, api) = world.api(&kind)?;
    let mut params = ListParams::default();
    if !selector.is_empty() {
        params = params.labels(&world.expand(&selector));
    }
    let got: Vec<String> = api
        .list(&params)
        .await
        .with_context(|| format!("listing {kind}"))?
        .items
        .iter()
        .map(name_of)
        .collect();
    let mut want = list(&world.expand(&names));
    want.sort();
    let mut sorted = got.clone();
    sorted.sort();
    if sorted != want {
        fail!(
            "listing {kind} labelled {selector:?} returned {got:?}, expected {want:?}\n{}",
            diagnostics::explain(world, &kind, "").await
        );
    }
    Ok(())
}
