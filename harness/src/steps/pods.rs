//! Steps acting on "one of" a set of Pods, as a user poking at a controller would.
//!
//! Entry points: the step functions.

use anyhow::{Context as _, anyhow};
use cucumber::{then, when};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use serde_json::json;

use super::{Outcome, name_of};
use crate::world::KubeWorld;

/// The first (by name) live Pod the selector picks.
async fn one_of(world: &KubeWorld, selector: &str) -> anyhow::Result<String> {
    let (_, api) = world.api("Pod")?;
    let mut pods = api
        .list(&ListParams::default().labels(&world.expand(selector)))
        .await
        .context("listing Pods")?
        .items;
    pods.retain(|p| p.metadata.deletion_timestamp.is_none());
    pods.sort_by_key(name_of);
    pods.first()
        .map(name_of)
        .ok_or_else(|| anyhow!("no Pod labelled {selector:?}"))
}

#[when(expr = "I delete one of the Pods labelled {string}")]
async fn delete_one(world: &mut KubeWorld, selector: String) -> Outcome {
    let name = one_of(world, &selector).await?;
    let (_, api) = world.api("Pod")?;
    api.delete(&name, &DeleteParams::default())
        .await
        .with_context(|| format!("deleting Pod {name:?}"))?;
    world.vars.insert("deleted-pod".into(), name);
    Ok(())
}

#[when(expr = "I relabel one of the Pods labelled {string} with {string} and call it {string}")]
async fn relabel_one(
    world: &mut KubeWorld,
    selector: String,
    label: String,
    alias: String,
) -> Outcome {
    let name = one_of(world, &selector).await?;
    let (k, v) = label
        .split_once('=')
        .ok_or_else(|| anyhow!("a label is key=value, got {label:?}"))?;
    let (_, api) = world.api("Pod")?;
    api.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {k: v}}})),
    )
    .await
    .with_context(|| format!("relabelling Pod {name:?}"))?;
    world.vars.insert(alias, name);
    Ok(())
}

#[then(expr = "every Pod labelled {string} eventually has no owner")]
async fn ownerless(world: &mut KubeWorld, selector: String) -> Outcome {
    let what = format!("every Pod labelled {selector:?} to lose its ownerReferences");
    world
        .wait_for("Pod", &selector, &what, world.timings.expect, |pods| {
            (!pods.is_empty()
                && pods.iter().all(|p| {
                    p.metadata
                        .owner_references
                        .as_ref()
                        .is_none_or(|r| r.is_empty())
                }))
            .then_some(())
        })
        .await?;
    Ok(())
}
