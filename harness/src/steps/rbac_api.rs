//! Steps for the `rbac.authorization.k8s.io` API: labels and annotations with dotted
//! keys, what a ClusterRole grants (as its rules say, not as an authorizer decides),
//! and merge patches that are expected to be refused.

use anyhow::{Context as _, anyhow};
use cucumber::gherkin::Step;
use cucumber::{then, when};
use kube::api::{DynamicObject, Patch, PatchParams};

use super::{Outcome, docstring};
use crate::diagnostics;
use crate::world::KubeWorld;

#[then(expr = "the {word} {string} carries the label {string}")]
async fn has_label(world: &mut KubeWorld, kind: String, name: String, pair: String) -> Outcome {
    meta_pair(world, &kind, &name, &pair, "labels").await
}

#[then(expr = "the {word} {string} carries the annotation {string}")]
async fn has_annotation(
    world: &mut KubeWorld,
    kind: String,
    name: String,
    pair: String,
) -> Outcome {
    meta_pair(world, &kind, &name, &pair, "annotations").await
}

async fn meta_pair(world: &KubeWorld, kind: &str, name: &str, pair: &str, map: &str) -> Outcome {
    let (k, v) = pair
        .split_once('=')
        .ok_or_else(|| anyhow!("expected key=value, got {pair:?}"))?;
    let obj = world.get(kind, name).await?;
    let got = match map {
        "labels" => obj.metadata.labels.as_ref(),
        _ => obj.metadata.annotations.as_ref(),
    }
    .and_then(|m| m.get(k))
    .cloned();
    if got.as_deref() != Some(v) {
        fail!(
            "{kind} {name:?}: {map}[{k:?}] is {got:?}, expected {v:?}\n{}",
            diagnostics::yaml_of(&[obj])
        );
    }
    Ok(())
}

/// Does a rule of `role` grant `verb` on `resource` (`pods`, `deployments.apps`)?
fn grants(role: &DynamicObject, verb: &str, resource: &str) -> bool {
    let (plural, group) = resource.split_once('.').unwrap_or((resource, ""));
    let has = |rule: &serde_json::Value, key: &str, want: &str| {
        rule.get(key)
            .and_then(serde_json::Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x == "*" || x == want))
    };
    role.data
        .get("rules")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .any(|r| has(r, "verbs", verb) && has(r, "apiGroups", group) && has(r, "resources", plural))
}

#[then(expr = "eventually the ClusterRole {string} grants {string} on {string}")]
async fn eventually_grants(
    world: &mut KubeWorld,
    name: String,
    verb: String,
    res: String,
) -> Outcome {
    let (name, res) = (world.expand(&name), world.expand(&res));
    let what = format!("ClusterRole {name:?} to grant {verb} on {res}");
    world
        .wait_for("ClusterRole", "", &what, world.timings.expect, |roles| {
            roles
                .iter()
                .find(|r| r.metadata.name.as_deref() == Some(name.as_str()))
                .filter(|r| grants(r, &verb, &res))
                .map(|_| ())
        })
        .await?;
    Ok(())
}

#[then(expr = "eventually the ClusterRole {string} no longer grants {string} on {string}")]
async fn eventually_stops_granting(
    world: &mut KubeWorld,
    name: String,
    verb: String,
    res: String,
) -> Outcome {
    let (name, res) = (world.expand(&name), world.expand(&res));
    let what = format!("ClusterRole {name:?} to stop granting {verb} on {res}");
    world
        .wait_for("ClusterRole", "", &what, world.timings.expect, |roles| {
            roles
                .iter()
                .find(|r| r.metadata.name.as_deref() == Some(name.as_str()))
                .filter(|r| !grants(r, &verb, &res))
                .map(|_| ())
        })
        .await?;
    Ok(())
}

#[then(expr = "the ClusterRole {string} does not grant {string} on {string}")]
async fn does_not_grant(world: &mut KubeWorld, name: String, verb: String, res: String) -> Outcome {
    let role = world.get("ClusterRole", &name).await?;
    if grants(&role, &verb, &world.expand(&res)) {
        fail!(
            "ClusterRole {name:?} already grants {verb} on {res}\n{}",
            diagnostics::yaml_of(&[role])
        );
    }
    Ok(())
}

#[when(expr = "I try to patch the {word} {string} with:")]
async fn try_patch(world: &mut KubeWorld, kind: String, name: String, step: &Step) -> Outcome {
    let (_, api) = world.api(&kind)?;
    let text = world.expand(docstring(step)?);
    let body: serde_json::Value =
        serde_yaml::from_str(&text).context("the patch is not valid YAML")?;
    world.last_error = api
        .patch(
            &world.expand(&name),
            &PatchParams::default(),
            &Patch::Merge(body),
        )
        .await
        .err();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn grants_follows_groups_and_wildcards() {
        let role: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "r"},
        "rules": [
            {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]},
            {"verbs": ["*"], "apiGroups": ["apps"], "resources": ["*"]}
        ]}))
        .unwrap();
        assert!(grants(&role, "list", "pods"));
        assert!(!grants(&role, "delete", "pods"));
        assert!(grants(&role, "delete", "deployments.apps"));
        assert!(!grants(&role, "get", "pods.batch"));
    }
}
