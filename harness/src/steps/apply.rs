//! Server-side apply steps: applying a configuration as a named field manager (with or
//! without forcing conflicts), and reading who owns which field from
//! `metadata.managedFields`.
//!
//! Entry points: the step functions.

use anyhow::Context as _;
use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use kube::api::{DynamicObject, Patch, PatchParams};

use super::common::parse_manifests;
use super::{Outcome, docstring, name_of};
use crate::world::KubeWorld;

/// Applies every object of the docstring as `manager`; the first API error is returned.
async fn apply_all(
    world: &KubeWorld,
    manager: &str,
    force: bool,
    step: &Step,
) -> anyhow::Result<Result<(), kube::Error>> {
    for obj in parse_manifests(world, docstring(step)?)? {
        let (_, api) = world.api_for_manifest(&obj)?;
        let mut params = PatchParams::apply(manager);
        if force {
            params = params.force();
        }
        if let Err(e) = api
            .patch(&name_of(&obj), &params, &Patch::Apply(&obj))
            .await
        {
            return Ok(Err(e));
        }
    }
    Ok(Ok(()))
}

/// Applies the docstring as `manager`; an API error fails the step.
async fn apply_or_fail(world: &KubeWorld, manager: &str, force: bool, step: &Step) -> Outcome {
    let how = if force {
        "forced server-side apply"
    } else {
        "server-side apply"
    };
    apply_all(world, manager, force, step)
        .await?
        .with_context(|| format!("{how} as {manager:?}"))?;
    Ok(())
}

#[given(expr = "{string} applies:")]
#[when(expr = "{string} applies:")]
async fn applies(world: &mut KubeWorld, manager: String, step: &Step) -> Outcome {
    apply_or_fail(world, &manager, false, step).await
}

#[when(expr = "{string} applies with force:")]
async fn force_applies(world: &mut KubeWorld, manager: String, step: &Step) -> Outcome {
    apply_or_fail(world, &manager, true, step).await
}

#[when(expr = "{string} tries to apply:")]
async fn tries_to_apply(world: &mut KubeWorld, manager: String, step: &Step) -> Outcome {
    world.last_error = apply_all(world, &manager, false, step).await?.err();
    Ok(())
}

/// The managedFields entry of `manager` with `operation`, if any.
fn entry<'a>(
    obj: &'a DynamicObject,
    manager: &str,
    operation: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry> {
    obj.metadata.managed_fields.as_ref()?.iter().find(|e| {
        e.manager.as_deref() == Some(manager) && e.operation.as_deref() == Some(operation)
    })
}

/// Whether the `FieldsV1` set holds the dotted field path (`data.colour`).
fn owns(fields: &serde_json::Value, path: &str) -> bool {
    let mut cur = fields;
    for part in path.split('.') {
        match cur.get(format!("f:{part}")) {
            Some(next) => cur = next,
            None => return false,
        }
    }
    true
}

fn describe(obj: &DynamicObject) -> String {
    serde_json::to_string_pretty(&obj.metadata.managed_fields).unwrap_or_default()
}

#[then(expr = "the {word} {string} has a managed fields entry for {string} with operation {word}")]
async fn has_entry(
    world: &mut KubeWorld,
    kind: String,
    name: String,
    manager: String,
    operation: String,
) -> Outcome {
    let obj = world.get(&kind, &name).await?;
    let Some(e) = entry(&obj, &manager, &operation) else {
        fail!(
            "{kind} {name:?} has no {operation} entry for {manager:?}; its managedFields are\n{}",
            describe(&obj)
        );
    };
    if e.fields_type.as_deref() != Some("FieldsV1") || e.time.is_none() || e.api_version.is_none() {
        fail!("the entry of {manager:?} lacks fieldsType, time or apiVersion: {e:?}");
    }
    Ok(())
}

async fn ownership(
    world: &KubeWorld,
    manager: &str,
    path: &str,
    kind: &str,
    name: &str,
) -> anyhow::Result<(bool, String)> {
    let obj = world.get(kind, name).await?;
    let owned = obj
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|e| e.manager.as_deref() == Some(manager))
        .filter_map(|e| e.fields_v1.as_ref())
        .any(|f| owns(&f.0, path));
    Ok((owned, describe(&obj)))
}

#[then(expr = "{string} owns {string} of the {word} {string}")]
async fn manager_owns(
    world: &mut KubeWorld,
    manager: String,
    path: String,
    kind: String,
    name: String,
) -> Outcome {
    let (owned, all) = ownership(world, &manager, &path, &kind, &name).await?;
    if !owned {
        fail!("{manager:?} does not own {path} of {kind} {name:?}; managedFields:\n{all}");
    }
    Ok(())
}

#[then(expr = "{string} does not own {string} of the {word} {string}")]
async fn manager_does_not_own(
    world: &mut KubeWorld,
    manager: String,
    path: String,
    kind: String,
    name: String,
) -> Outcome {
    let (owned, all) = ownership(world, &manager, &path, &kind, &name).await?;
    if owned {
        fail!("{manager:?} still owns {path} of {kind} {name:?}; managedFields:\n{all}");
    }
    Ok(())
}

/// A field an apply dropped (the `has no field` step of other modules reads the same).
#[then(expr = "the {word} {string} no longer has {string}")]
async fn no_longer_has(world: &mut KubeWorld, kind: String, name: String, path: String) -> Outcome {
    let obj = world.get(&kind, &name).await?;
    if let Some(v) = super::field(&obj, &path) {
        fail!("{kind} {name:?} still has {path} = {v:?}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_paths_are_looked_up_as_field_elements() {
        let f =
            serde_json::json!({"f:data": {"f:colour": {}}, "f:metadata": {"f:labels": {".": {}}}});
        assert!(owns(&f, "data.colour"));
        assert!(owns(&f, "metadata.labels"));
        assert!(!owns(&f, "data.size"));
    }
}
