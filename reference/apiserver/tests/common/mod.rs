//! Shared helpers for the API server's integration tests: a server on 127.0.0.1:0 over
//! a memory store, kube and raw HTTP clients, and reading watch streams.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use refkube_apiserver::{ApiServer, ApiServerConfig};
use refkube_store::Store;

pub struct TestServer {
    pub server: ApiServer,
    pub store: Arc<dyn Store>,
    pub url: String,
    pub http: reqwest::Client,
}

pub fn config() -> ApiServerConfig {
    ApiServerConfig::default()
        .listen("127.0.0.1:0".parse().unwrap())
        .bookmark_interval(Duration::from_millis(200))
}

pub async fn start() -> TestServer {
    start_with(config(), Arc::new(refkube_store::MemoryStore::new())).await
}

pub async fn start_with(cfg: ApiServerConfig, store: Arc<dyn Store>) -> TestServer {
    let server = ApiServer::bind(cfg, store.clone())
        .await
        .expect("server starts");
    let url = server.url();
    TestServer {
        server,
        store,
        url,
        http: reqwest::Client::new(),
    }
}

impl TestServer {
    pub async fn client(&self) -> kube::Client {
        let config = kube::Config::new(self.url.parse().expect("url"));
        kube::Client::try_from(config).expect("client")
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Sends a request and returns (status, JSON body).
    pub async fn send(&self, req: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
        let resp = req.send().await.expect("request");
        let code = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let v = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (code, v)
    }

    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send(self.http.post(self.at(path)).json(&body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.send(self.http.get(self.at(path))).await
    }
}

/// Reads watch lines from a streaming response until `n` events arrived or `timeout`.
pub async fn read_events(
    resp: reqwest::Response,
    n: usize,
    timeout: Duration,
) -> Vec<serde_json::Value> {
    use futures::StreamExt;
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut stream = resp.bytes_stream();
    let deadline = tokio::time::Instant::now() + timeout;
    while out.len() < n {
        let next = tokio::time::timeout_at(deadline, stream.next()).await;
        let Ok(Some(Ok(chunk))) = next else { break };
        buf.extend_from_slice(&chunk);
        while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            if let Ok(v) = serde_json::from_slice(&line) {
                out.push(v);
            }
        }
    }
    out
}
