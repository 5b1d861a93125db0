//! API call latency per verb and scope, as upstream's SLIs group them
//! (api_call_latency.md): mutating calls on single objects, reads of a single object,
//! lists within a namespace, lists across the cluster.
//!
//! Entry point: the step. Each round creates, reads, replaces, patches, lists (namespace
//! and cluster) and deletes one ConfigMap, timing every call on the client from sending the
//! request to the last byte of the answer: upstream times it inside the API server, so the
//! client's figure can only be larger.

use std::collections::BTreeMap;

use anyhow::Context as _;
use cucumber::gherkin::Step;
use cucumber::when;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use tokio::time::Instant;

use super::{millis, record, scaled};
use crate::perf::Measurement;
use crate::steps::Outcome;
use crate::world::KubeWorld;

/// The groups threshold steps name, one per upstream SLO.
pub const MUTATING: &str = "mutating API call latency";
/// Reads of one object.
pub const SINGLE_READ: &str = "single-object read latency";
/// Lists within one namespace.
pub const NAMESPACE_LIST: &str = "namespace list latency";
/// Lists across the cluster.
pub const CLUSTER_LIST: &str = "cluster list latency";

/// `(call, group)` in the order of a round.
const CALLS: [(&str, &str); 7] = [
    ("POST configmaps", MUTATING),
    ("GET configmaps (resource)", SINGLE_READ),
    ("PUT configmaps", MUTATING),
    ("PATCH configmaps", MUTATING),
    ("LIST configmaps (namespace)", NAMESPACE_LIST),
    ("LIST configmaps (cluster)", CLUSTER_LIST),
    ("DELETE configmaps", MUTATING),
];

/// Runs `call`, adding its duration to `times[name]`.
async fn timed<T, E>(
    times: &mut BTreeMap<&'static str, Vec<f64>>,
    name: &'static str,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let start = Instant::now();
    let out = call.await;
    times.entry(name).or_default().push(millis(start.elapsed()));
    out
}

/// One round of every call on the ConfigMap `name`.
async fn round(
    ns: &Api<ConfigMap>,
    all: &Api<ConfigMap>,
    name: &str,
    times: &mut BTreeMap<&'static str, Vec<f64>>,
) -> anyhow::Result<()> {
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some([("kubeproof.io/perf".to_string(), "api".to_string())].into()),
            ..ObjectMeta::default()
        },
        data: Some([("round".to_string(), "created".to_string())].into()),
        ..ConfigMap::default()
    };
    let pp = PostParams::default();
    timed(times, CALLS[0].0, ns.create(&pp, &cm))
        .await
        .context("POST")?;
    let mut got = timed(times, CALLS[1].0, ns.get(name))
        .await
        .context("GET")?;
    got.data = Some([("round".to_string(), "replaced".to_string())].into());
    timed(times, CALLS[2].0, ns.replace(name, &pp, &got))
        .await
        .context("PUT")?;
    let patch = Patch::Merge(serde_json::json!({"data": {"round": "patched"}}));
    timed(
        times,
        CALLS[3].0,
        ns.patch(name, &PatchParams::default(), &patch),
    )
    .await
    .context("PATCH")?;
    let lp = ListParams::default();
    timed(times, CALLS[4].0, ns.list(&lp))
        .await
        .context("LIST in the namespace")?;
    timed(times, CALLS[5].0, all.list(&lp))
        .await
        .context("LIST across the cluster")?;
    timed(times, CALLS[6].0, ns.delete(name, &DeleteParams::default()))
        .await
        .context("DELETE")?;
    Ok(())
}

#[when(expr = "I measure {int} API calls of each verb and scope on ConfigMaps")]
async fn measure_calls(world: &mut KubeWorld, stated: usize, step: &Step) -> Outcome {
    let n = scaled(world, stated)?;
    let client = world.client()?;
    let ns: Api<ConfigMap> = Api::namespaced(client.clone(), &world.namespace);
    let all: Api<ConfigMap> = Api::all(client);
    let mut times = BTreeMap::new();
    let deadline = world.timings.chain;
    let rounds = async {
        for i in 0..n {
            round(&ns, &all, &format!("latency-{i}"), &mut times)
                .await
                .with_context(|| format!("round {} of {n}", i + 1))?;
        }
        anyhow::Ok(())
    };
    match tokio::time::timeout(deadline, rounds).await {
        Ok(outcome) => outcome?,
        Err(_) => fail!("{n} rounds of API calls did not finish within {deadline:?}"),
    }
    for (call, group) in CALLS {
        let values = times.remove(call).unwrap_or_default();
        let m = Measurement::latency(format!("API call latency: {call}"), values)
            .group(group)
            .at_line(step.position.line);
        record(world, m)?;
    }
    Ok(())
}
