//! Steps for the kubelet's own server (upstream's port 10250), reached as `kubectl get
//! --raw /api/v1/nodes/NODE/proxy/...` does: through the API server's `nodes/proxy`, to
//! the kubelet of the node a Pod runs on. Its pod lists must name what that kubelet runs
//! and nothing else; its other endpoints answer with plain text.
//!
//! Entry points: the step functions; the pure reading is [`pod_list_check`].

use anyhow::Context as _;
use cucumber::then;
use http_body_util::BodyExt as _;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use serde_json::Value;

use super::Outcome;
use crate::world::KubeWorld;

/// The node the Pod `pod` (in the scenario's namespace) is bound to, and its uid.
async fn node_of(world: &KubeWorld, pod: &str) -> anyhow::Result<(String, String)> {
    let pods: Api<Pod> = Api::namespaced(world.client()?, &world.namespace);
    let got = pods
        .get(pod)
        .await
        .with_context(|| format!("get the Pod {pod:?}"))?;
    let uid = got.metadata.uid.clone().unwrap_or_default();
    let node = got
        .spec
        .and_then(|s| s.node_name)
        .with_context(|| format!("the Pod {pod:?} has no node"))?;
    Ok((node, uid))
}

/// Sends `method` `path` (the kubelet's path and query) to `node`'s kubelet through
/// `nodes/proxy`; the HTTP status and body, whatever they are.
async fn via_node_proxy(
    world: &KubeWorld,
    node: &str,
    method: &str,
    path: &str,
) -> anyhow::Result<(u16, String)> {
    let request = http::Request::builder()
        .method(method)
        .uri(format!("/api/v1/nodes/{node}/proxy{path}"))
        .body(kube::client::Body::from(Vec::<u8>::new()))
        .context("building the request")?;
    let response = world
        .client()?
        .send(request)
        .await
        .with_context(|| format!("{method} {path} on the kubelet of {node:?}"))?;
    let code = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .context("reading the kubelet's answer")?
        .to_bytes();
    Ok((code, String::from_utf8_lossy(&body).into_owned()))
}

/// Whether `list` is a v1 PodList holding the Pod `namespace/listed` with uid `uid`,
/// and no Pod `namespace/absent`; why not otherwise.
pub fn pod_list_check(
    list: &Value,
    namespace: &str,
    listed: &str,
    uid: &str,
    absent: &str,
) -> Result<(), String> {
    if list["kind"] != "PodList" || list["apiVersion"] != "v1" {
        return Err(format!("not a v1 PodList: {list}"));
    }
    let items = list["items"].as_array().cloned().unwrap_or_default();
    let find = |name: &str| {
        items
            .iter()
            .find(|p| p["metadata"]["name"] == name && p["metadata"]["namespace"] == namespace)
    };
    match find(listed) {
        None => return Err(format!("{listed:?} is not listed: {list}")),
        Some(p) if p["metadata"]["uid"] != uid => {
            return Err(format!("{listed:?} is listed with another uid: {p}"));
        }
        Some(_) => {}
    }
    if find(absent).is_some() {
        return Err(format!("{absent:?} is listed but runs elsewhere: {list}"));
    }
    Ok(())
}

#[then(
    expr = "the kubelet of the Pod {string}'s node answers {string} with a PodList naming it and not the Pod {string}"
)]
async fn lists_pod(world: &mut KubeWorld, pod: String, path: String, absent: String) -> Outcome {
    let (pod, path, absent) = (
        world.expand(&pod),
        world.expand(&path),
        world.expand(&absent),
    );
    let (node, uid) = node_of(world, &pod).await?;
    let (code, body) = via_node_proxy(world, &node, "GET", &path).await?;
    if code != 200 {
        fail!("GET {path} on the kubelet of {node:?} answered {code}: {body}");
    }
    let list: Value = serde_json::from_str(&body)
        .with_context(|| format!("GET {path} on the kubelet of {node:?}: not JSON: {body}"))?;
    pod_list_check(&list, &world.namespace, &pod, &uid, &absent)
        .map_err(|why| anyhow::anyhow!("GET {path} on the kubelet of {node:?}: {why}"))?;
    Ok(())
}

/// Sends `method` `path` to the kubelet of `pod`'s node (`pod`, `path` and `expected`
/// expanded) and checks its 200 body with `fits(body, expected)`; a failure says the
/// body came `lacking` the expected text.
async fn expect_answer(
    world: &KubeWorld,
    [pod, method, path, expected]: [&str; 4],
    fits: fn(&str, &str) -> bool,
    lacking: &str,
) -> Outcome {
    let (pod, path, expected) = (
        world.expand(pod),
        world.expand(path),
        world.expand(expected),
    );
    let (node, _) = node_of(world, &pod).await?;
    let (code, body) = via_node_proxy(world, &node, method, &path).await?;
    if code != 200 {
        fail!("{method} {path} on the kubelet of {node:?} answered {code}: {body:?}");
    }
    if !fits(&body, &expected) {
        fail!("{method} {path} answered {body:?}, {lacking} {expected:?}");
    }
    Ok(())
}

#[then(expr = "the kubelet of the Pod {string}'s node answers {word} {string} with {string}")]
async fn answers(
    world: &mut KubeWorld,
    pod: String,
    method: String,
    path: String,
    expected: String,
) -> Outcome {
    let fits = |body: &str, expected: &str| body.trim_end() == expected;
    expect_answer(world, [&pod, &method, &path, &expected], fits, "expected").await
}

#[then(
    expr = "the kubelet of the Pod {string}'s node answers {word} {string} with a line {string}"
)]
async fn answers_line(
    world: &mut KubeWorld,
    pod: String,
    method: String,
    path: String,
    expected: String,
) -> Outcome {
    let fits = |body: &str, expected: &str| body.lines().any(|l| l.trim_end() == expected);
    let lacking = "without the line";
    expect_answer(world, [&pod, &method, &path, &expected], fits, lacking).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pod_list_must_name_the_pod_with_its_uid_and_not_the_other() {
        let list = json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": [
            {"metadata": {"name": "a", "namespace": "ns", "uid": "u1"}},
            {"metadata": {"name": "b", "namespace": "other", "uid": "u2"}},
        ]});
        assert_eq!(pod_list_check(&list, "ns", "a", "u1", "b"), Ok(()));
        assert!(pod_list_check(&list, "ns", "a", "u9", "b").is_err());
        assert!(pod_list_check(&list, "other", "b", "u2", "a").is_ok());
        assert!(pod_list_check(&list, "ns", "b", "u2", "x").is_err());
        let with_absent = json!({"kind": "PodList", "apiVersion": "v1", "items": [
            {"metadata": {"name": "a", "namespace": "ns", "uid": "u1"}},
            {"metadata": {"name": "b", "namespace": "ns", "uid": "u2"}},
        ]});
        assert!(pod_list_check(&with_absent, "ns", "a", "u1", "b").is_err());
        assert!(pod_list_check(&json!({"kind": "Status"}), "ns", "a", "u1", "b").is_err());
    }
}
