//! Steps for the rest of the way into a running Pod: the kubelet's server reached
//! through `nodes/proxy` (its `/pods` lists what it runs), and
//! `pods/ephemeralcontainers` (a debug container is accepted, a bad one refused with
//! upstream's field errors).
//!
//! Entry point: the step functions.

use anyhow::Context as _;
use cucumber::then;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use super::Outcome;
use crate::world::KubeWorld;

#[then(
    expr = "the kubelet of the Pod {string}'s node lists it in its \\/pods through nodes\\/proxy"
)]
async fn kubelet_lists_pod(world: &mut KubeWorld, pod: String) -> Outcome {
    let pod = world.expand(&pod);
    let client = world.client()?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &world.namespace);
    let got = pods
        .get(&pod)
        .await
        .with_context(|| format!("get {pod:?}"))?;
    let node = got
        .spec
        .and_then(|s| s.node_name)
        .with_context(|| format!("the Pod {pod:?} has no node"))?;
    let request = http::Request::get(format!("/api/v1/nodes/{node}/proxy/pods"))
        .body(Vec::new())
        .context("building the request")?;
    let list: Value = client
        .request(request)
        .await
        .with_context(|| format!("GET the kubelet's /pods on {node:?} through nodes/proxy"))?;
    let listed = list["items"].as_array().is_some_and(|items| {
        items.iter().any(|p| {
            p["metadata"]["name"] == pod.as_str() && p["metadata"]["namespace"] == world.namespace
        })
    });
    if list["kind"] != "PodList" || !listed {
        fail!("the kubelet of {node:?} answered /pods without {pod:?}: {list}");
    }
    Ok(())
}

async fn add_ephemeral(
    world: &KubeWorld,
    pod: &str,
    container: Value,
) -> anyhow::Result<Result<Pod, kube::Error>> {
    let pods: Api<Pod> = Api::namespaced(world.client()?, &world.namespace);
    let patch = json!({"spec": {"ephemeralContainers": [container]}});
    Ok(pods
        .patch_ephemeral_containers(pod, &PatchParams::default(), &Patch::Strategic(patch))
        .await)
}

#[then(expr = "the debug container {string} targeting {string} can be added to the Pod {string}")]
async fn ephemeral_added(
    world: &mut KubeWorld,
    name: String,
    target: String,
    pod: String,
) -> Outcome {
    let (name, target, pod) = (
        world.expand(&name),
        world.expand(&target),
        world.expand(&pod),
    );
    let container = json!({"name": name, "image": "busybox", "command": ["sleep", "60"],
        "targetContainerName": target});
    let updated = add_ephemeral(world, &pod, container)
        .await?
        .with_context(|| format!("adding {name:?} to {pod:?}"))?;
    let names: Vec<String> = updated
        .spec
        .and_then(|s| s.ephemeral_containers)
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.name)
        .collect();
    if !names.contains(&name) {
        fail!("the Pod {pod:?} has ephemeral containers {names:?}, not {name:?}");
    }
    Ok(())
}

#[then(
    expr = "a debug container {string} with a port is refused for the Pod {string} with {string}"
)]
async fn ephemeral_refused(
    world: &mut KubeWorld,
    name: String,
    pod: String,
    message: String,
) -> Outcome {
    let (name, pod, message) = (
        world.expand(&name),
        world.expand(&pod),
        world.expand(&message),
    );
    let container = json!({"name": name, "image": "busybox", "ports": [{"containerPort": 80}]});
    match add_ephemeral(world, &pod, container).await? {
        Err(kube::Error::Api(s)) if s.code == 422 && s.message.contains(&message) => Ok(()),
        Err(e) => fail!("adding {name:?} to {pod:?} failed otherwise: {e}"),
        Ok(_) => fail!("adding {name:?} with a port to {pod:?} was accepted"),
    }
}
