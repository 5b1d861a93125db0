//! Aggregated discovery (`apidiscovery.k8s.io/v2`) at `/api` and `/apis`, as kubectl and
//! kube-rs ask for it, agreeing with the per-group documents.

#![allow(clippy::unwrap_used)]

mod common;

use kube::discovery::{Discovery, Scope, verbs};
use serde_json::Value;

/// What client-go (kubectl 1.33) and kube-rs send.
const ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

async fn aggregated(s: &common::TestServer, path: &str) -> Value {
    let resp = s
        .http
        .get(s.at(path))
        .header("Accept", ACCEPT)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
    assert_eq!(resp.headers()["vary"], "Accept");
    let text = resp.text().await.unwrap();
    assert!(text.ends_with("}\n"));
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn the_roots_answer_aggregated_discovery_when_asked_and_plain_otherwise() {
    let s = common::start().await;
    let apis = aggregated(&s, "/apis").await;
    assert_eq!(apis["kind"], "APIGroupDiscoveryList");
    assert_eq!(apis["apiVersion"], "apidiscovery.k8s.io/v2");
    let groups: Vec<&str> = apis["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        groups,
        [
            "apps",
            "batch",
            "coordination.k8s.io",
            "discovery.k8s.io",
            "policy",
            "events.k8s.io",
            "rbac.authorization.k8s.io",
            "apiextensions.k8s.io",
            "certificates.k8s.io",
            "authentication.k8s.io",
            "authorization.k8s.io"
        ]
    );
    let api = aggregated(&s, "/api").await;
    assert_eq!(api["items"][0]["versions"][0]["version"], "v1");
    // The same resources as the per-version document, verbs and names included.
    let (_, v1) = s.get("/apis/apps/v1").await;
    let agg = &apis["items"][0]["versions"][0]["resources"];
    for r in v1["resources"].as_array().unwrap() {
        let name = r["name"].as_str().unwrap();
        if name.contains('/') {
            continue;
        }
        let a = agg
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["resource"] == name)
            .unwrap();
        assert_eq!(a["verbs"], r["verbs"], "{name}");
        assert_eq!(a["singularResource"], r["singularName"], "{name}");
        assert_eq!(a["scope"], "Namespaced");
    }
    // A plain request still gets the APIGroupList.
    let (code, plain) = s.get("/apis").await;
    assert_eq!(code, 200);
    assert_eq!(plain["kind"], "APIGroupList");
    // Only v2beta1 (no longer served) and nothing else acceptable: 406.
    let resp = s
        .http
        .get(s.at("/apis"))
        .header(
            "Accept",
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 406);
}

#[tokio::test]
async fn kube_rs_discovery_finds_every_group_either_way() {
    let s = common::start().await;
    let client = s.client().await;
    for discovery in [
        Discovery::new(client.clone())
            .run_aggregated()
            .await
            .unwrap(),
        Discovery::new(client.clone()).run().await.unwrap(),
    ] {
        for g in [
            "",
            "apps",
            "batch",
            "coordination.k8s.io",
            "discovery.k8s.io",
            "events.k8s.io",
        ] {
            assert!(discovery.has_group(g), "{g:?} not discovered");
        }
        let apps = discovery.get("apps").unwrap();
        let (ar, caps) = apps
            .recommended_resources()
            .into_iter()
            .find(|(ar, _)| ar.plural == "deployments")
            .unwrap();
        assert_eq!(ar.kind, "Deployment");
        assert_eq!(ar.api_version, "apps/v1");
        assert_eq!(caps.scope, Scope::Namespaced);
        assert!(caps.supports_operation(verbs::WATCH));
        assert!(
            caps.subresources
                .iter()
                .any(|(sub, _)| sub.plural == "scale")
        );
        let core = discovery.get("").unwrap();
        let (nodes, caps) = core
            .recommended_resources()
            .into_iter()
            .find(|(ar, _)| ar.plural == "nodes")
            .unwrap();
        assert_eq!(nodes.kind, "Node");
        assert_eq!(caps.scope, Scope::Cluster);
    }
}

#[tokio::test]
async fn an_unchanged_document_is_not_sent_again_to_a_client_naming_its_etag() {
    let s = common::start().await;
    let get = |etag: Option<String>| {
        let mut req = s.http.get(s.at("/apis")).header("Accept", ACCEPT);
        if let Some(e) = etag {
            req = req.header("If-None-Match", e);
        }
        req.send()
    };
    let first = get(None).await.unwrap();
    assert_eq!(first.status().as_u16(), 200);
    assert_eq!(first.headers()["cache-control"], "public");
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    // Upstream's form: the SHA-512 of the document in upper-case hex, quoted.
    assert_eq!(etag.len(), 128 + 2, "{etag}");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let body = first.bytes().await.unwrap();

    let again = get(Some(etag.clone())).await.unwrap();
    assert_eq!(again.status().as_u16(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.bytes().await.unwrap().is_empty());

    let stale = get(Some("\"0123\"".into())).await.unwrap();
    assert_eq!(stale.status().as_u16(), 200);
    assert_eq!(stale.bytes().await.unwrap(), body);

    // /api has a document (and a tag) of its own.
    let core = s
        .http
        .get(s.at("/api"))
        .header("Accept", ACCEPT)
        .send()
        .await
        .unwrap();
    assert_ne!(core.headers()["etag"].to_str().unwrap(), etag);
}
