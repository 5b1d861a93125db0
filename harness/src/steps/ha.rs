//! High-availability steps: leader election failover, node loss, API server replica and
//! store member loss.
//!
//! Entry points: the step functions. Faults are injected through the target.

use anyhow::{Context as _, anyhow};
use cucumber::{then, when};
use kube::api::{DynamicObject, PostParams};

use super::{Outcome, field, name_of};
use crate::kinds;
use crate::targets::Fault;
use crate::world::KubeWorld;

async fn lease(world: &KubeWorld, name: &str, namespace: &str) -> anyhow::Result<DynamicObject> {
    let api = world.api_for(&kinds::resolve("Lease")?, Some(namespace))?;
    api.get(name)
        .await
        .with_context(|| format!("reading the Lease {namespace}/{name}"))
}

fn transitions(l: &DynamicObject) -> i64 {
    field(l, "spec.leaseTransitions")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

#[then(expr = "the Lease {string} in {string} is held")]
async fn held(world: &mut KubeWorld, name: String, namespace: String) -> Outcome {
    let api = world.api_for(&kinds::resolve("Lease")?, Some(&namespace))?;
    let what = format!("the Lease {namespace}/{name} to have a holder");
    let holder = crate::wait::until(
        &api,
        &Default::default(),
        &what,
        world.timings.failover,
        |ls| {
            let l = ls.iter().find(|l| name_of(l) == name)?;
            field(l, "spec.holderIdentity").filter(|h| !h.is_empty())
        },
    )
    .await?;
    world.vars.insert(format!("{name}-holder"), holder);
    Ok(())
}

#[when(expr = "I stop the current holder of the Lease {string} in {string}")]
async fn stop_holder(world: &mut KubeWorld, name: String, namespace: String) -> Outcome {
    let l = lease(world, &name, &namespace).await?;
    let holder = field(&l, "spec.holderIdentity").unwrap_or_default();
    world.vars.insert(format!("{name}-holder"), holder.clone());
    world
        .vars
        .insert(format!("{name}-transitions"), transitions(&l).to_string());
    world
        .inject(Fault::StopComponent {
            component: name,
            instance: holder,
        })
        .await?;
    Ok(())
}

#[then(expr = "eventually another instance holds the Lease {string} in {string}")]
async fn new_holder(world: &mut KubeWorld, name: String, namespace: String) -> Outcome {
    let old = world
        .vars
        .get(&format!("{name}-holder"))
        .cloned()
        .ok_or_else(|| anyhow!("no earlier holder noted"))?;
    let before: i64 = world
        .vars
        .get(&format!("{name}-transitions"))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let api = world.api_for(&kinds::resolve("Lease")?, Some(&namespace))?;
    let what = format!(
        "a holder other than {old:?} with more than {before} transitions on {namespace}/{name}"
    );
    crate::wait::until(
        &api,
        &Default::default(),
        &what,
        world.timings.failover,
        |ls| {
            let l = ls.iter().find(|l| name_of(l) == name)?;
            let h = field(l, "spec.holderIdentity").unwrap_or_default();
            (!h.is_empty() && h != old && transitions(l) > before).then_some(())
        },
    )
    .await?;
    Ok(())
}

#[when(expr = "I lose the node {string}")]
async fn lose_node(world: &mut KubeWorld, node: String) -> Outcome {
    let node = world.expand(&node);
    world.inject(Fault::LoseNode { node }).await?;
    Ok(())
}

#[when(expr = "I lose the node running the Pod {string}")]
async fn lose_pod_node(world: &mut KubeWorld, pod: String) -> Outcome {
    let p = world.get("Pod", &pod).await?;
    let node = field(&p, "spec.nodeName")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| anyhow!("Pod {pod:?} is not on a node"))?;
    world.vars.insert("lost-node".into(), node.clone());
    world.inject(Fault::LoseNode { node }).await?;
    Ok(())
}

#[when(expr = "I stop API server replica {int}")]
async fn stop_apiserver(world: &mut KubeWorld, index: usize) -> Outcome {
    world.inject(Fault::StopApiServerReplica { index }).await?;
    Ok(())
}

#[when(expr = "I stop store member {int}")]
async fn stop_store(world: &mut KubeWorld, index: usize) -> Outcome {
    world.inject(Fault::StopStoreMember { index }).await?;
    Ok(())
}

#[when(expr = "the store is compacted")]
async fn compact(world: &mut KubeWorld) -> Outcome {
    world.inject(Fault::Compact).await?;
    Ok(())
}

#[then(expr = "the API server still accepts writes and serves them back")]
async fn still_writes(world: &mut KubeWorld) -> Outcome {
    let (_, api) = world.api("ConfigMap")?;
    let cm: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"generateName": "still-writable-"},
        "data": {"written": "after the fault"}
    }))?;
    let deadline = world.timings.failover;
    let created = tokio::time::timeout(deadline, async {
        loop {
            // Clients retry against the surviving replicas / the new store leader.
            match api.create(&PostParams::default(), &cm).await {
                Ok(c) => return c,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
            }
        }
    })
    .await
    .map_err(|_| anyhow!("no write succeeded within {deadline:?} after the fault"))?;
    let back = api
        .get(&name_of(&created))
        .await
        .context("reading the write back")?;
    if field(&back, "data.written").as_deref() != Some("after the fault") {
        fail!("the write read back as {back:?}");
    }
    Ok(())
}
