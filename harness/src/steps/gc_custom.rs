//! Garbage-collection steps for owners of any kind (custom resources included): an
//! object's UID remembered as a `{var}`, so a manifest can name it in an ownerReference.

use anyhow::anyhow;
use cucumber::{given, when};

use super::Outcome;
use crate::world::KubeWorld;

#[given(expr = "I remember the uid of the {word} {string} as {string}")]
#[when(expr = "I remember the uid of the {word} {string} as {string}")]
async fn remember_uid(world: &mut KubeWorld, kind: String, name: String, var: String) -> Outcome {
    let obj = world.get(&kind, &name).await?;
    let uid = obj
        .metadata
        .uid
        .ok_or_else(|| anyhow!("the {kind} {name:?} has no metadata.uid"))?;
    world.vars.insert(var, uid);
    Ok(())
}
