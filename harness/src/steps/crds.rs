//! Custom resource steps: what a client of a CRD-defined kind sees beyond CRUD (the CRD
//! established, the scale subresource, the server-side printed columns `kubectl
//! get` shows, discovery).

use anyhow::{Context, anyhow};
use cucumber::{given, then, when};
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use super::Outcome;
use crate::world::KubeWorld;

#[given(expr = "the CustomResourceDefinition {string} is established")]
async fn established(world: &mut KubeWorld, name: String) -> Outcome {
    let name = world.expand(&name);
    let what = format!("CustomResourceDefinition {name:?} to be Established");
    world
        .wait_for(
            "CustomResourceDefinition",
            "",
            &what,
            world.timings.expect,
            |crds| {
                let crd = crds.iter().find(|c| super::name_of(c) == name)?;
                crd.data
                    .pointer("/status/conditions")?
                    .as_array()?
                    .iter()
                    .any(|c| c["type"] == "Established" && c["status"] == "True")
                    .then_some(())
            },
        )
        .await?;
    Ok(())
}

#[when(expr = "I scale the {word} {string} through its scale subresource to {int}")]
async fn scale_subresource(world: &mut KubeWorld, kind: String, name: String, n: i64) -> Outcome {
    let (_, api) = world.api(&kind)?;
    api.patch_scale(
        &world.expand(&name),
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": n}})),
    )
    .await
    .with_context(|| format!("scaling {kind} {name:?} to {n} through /scale"))?;
    Ok(())
}

#[then(expr = "the scale of the {word} {string} has {string} equal to {string}")]
async fn scale_field(
    world: &mut KubeWorld,
    kind: String,
    name: String,
    path: String,
    want: String,
) -> Outcome {
    let (_, api) = world.api(&kind)?;
    let scale = api
        .get_scale(&world.expand(&name))
        .await
        .with_context(|| format!("reading the scale of {kind} {name:?}"))?;
    let value = serde_json::to_value(&scale).context("encoding the Scale")?;
    let got = path
        .split('.')
        .try_fold(&value, |v, part| v.get(part))
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
    if got.as_deref() != Some(want.as_str()) {
        fail!("the Scale of {kind} {name:?} has {path} = {got:?}, expected {want:?}: {value}");
    }
    Ok(())
}

#[when(expr = "I create {int} Pods labelled {string} controlled by the {word} {string}")]
async fn controlled_pods(
    world: &mut KubeWorld,
    n: usize,
    labels: String,
    kind: String,
    owner: String,
) -> Outcome {
    let owner = world.get(&kind, &owner).await?;
    let reference = json!({
        "apiVersion": owner.types.as_ref().map(|t| t.api_version.clone()).unwrap_or_default(),
        "kind": owner.types.as_ref().map(|t| t.kind.clone()).unwrap_or_default(),
        "name": owner.metadata.name,
        "uid": owner.metadata.uid,
        "controller": true,
    });
    let labels: serde_json::Map<String, Value> = labels
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), json!(v.trim())))
        .collect();
    let (_, pods) = world.api("Pod")?;
    for i in 0..n {
        let name = format!("{}-{i}", super::name_of(&owner));
        let pod: kube::api::DynamicObject = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels, "ownerReferences": [reference]},
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36", "command": ["sleep", "3600"]}]},
        }))
        .context("building the Pod")?;
        pods.create(&kube::api::PostParams::default(), &pod)
            .await
            .with_context(|| format!("creating the Pod {name:?}"))?;
    }
    Ok(())
}

/// GETs the object as the server-side `Table` kubectl asks for.
async fn table_of(world: &KubeWorld, kind: &str, name: &str) -> anyhow::Result<Value> {
    let (k, _) = world.api(kind)?;
    let r = &k.resource;
    let base = if r.group.is_empty() {
        format!("/api/{}", r.version)
    } else {
        format!("/apis/{}/{}", r.group, r.version)
    };
    let ns = if k.namespaced {
        format!("/namespaces/{}", world.namespace)
    } else {
        String::new()
    };
    let url = format!("{base}{ns}/{}/{}", r.plural, world.expand(name));
    let req = http::Request::get(url)
        .header(
            http::header::ACCEPT,
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        )
        .body(Vec::new())
        .map_err(|e| anyhow!("building the Table request: {e}"))?;
    Ok(world.client()?.request::<Value>(req).await?)
}

#[then(expr = "the {word} {string} is printed with the columns {string} and the cells {string}")]
async fn printed(
    world: &mut KubeWorld,
    kind: String,
    name: String,
    columns: String,
    cells: String,
) -> Outcome {
    let table = table_of(world, &kind, &name).await?;
    let got_cols: Vec<String> = table["columnDefinitions"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|d| d["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    let want_cols: Vec<&str> = columns.split(',').map(str::trim).collect();
    if got_cols != want_cols {
        fail!("{kind} {name:?} is printed with the columns {got_cols:?}, expected {want_cols:?}");
    }
    let row: Vec<String> = table["rows"][0]["cells"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default();
    // The cells named are compared from the left; later ones (an age) move with time.
    let want: Vec<String> = cells.split(',').map(|c| world.expand(c.trim())).collect();
    if row.len() < want.len() || row[..want.len()] != want[..] {
        fail!("{kind} {name:?} is printed as {row:?}, expected it to start with {want:?}");
    }
    Ok(())
}

#[then(expr = "eventually discovery lists the resource {string} in {string}")]
async fn discovery_lists(world: &mut KubeWorld, plural: String, group_version: String) -> Outcome {
    let gv = world.expand(&group_version);
    // Each API server lists a kind once its own watch has seen the CRD Established, so
    // with several servers behind one address a read can reach one that has not yet.
    let deadline = tokio::time::Instant::now() + world.timings.expect;
    loop {
        let req = http::Request::get(format!("/apis/{gv}"))
            .body(Vec::new())
            .map_err(|e| anyhow!("building the discovery request: {e}"))?;
        let read: Result<Value, _> = world.client()?.request(req).await;
        let last = match read {
            Ok(list) => {
                let found = list["resources"]
                    .as_array()
                    .is_some_and(|rs| rs.iter().any(|r| r["name"] == plural.as_str()));
                if found {
                    return Ok(());
                }
                list.to_string()
            }
            // A group nobody serves yet is a 404, like a list without the kind.
            Err(e) => format!("{e}"),
        };
        if tokio::time::Instant::now() >= deadline {
            fail!(
                "discovery of {gv} did not list {plural:?} within {:?}; last answer: {last}",
                world.timings.expect
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
