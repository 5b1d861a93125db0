//! An in-process API server on `127.0.0.1:0` over a memory store, with a kube client
//! pointed at it ([`BenchServer::start`]), and bulk creation of pods
//! ([`BenchServer::create_pods`]).

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::PostParams;
use refkube_apiserver::{ApiServer, ApiServerConfig};
use refkube_store::MemoryStore;

use crate::objects;
use refkube_store::CountingStore;

/// Why the bench server could not be started or filled.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The API server did not start.
    #[error("starting the API server: {0}")]
    Server(#[from] refkube_apiserver::ServerError),
    /// The client could not be built for the server's URL.
    #[error("building the client: {0}")]
    Client(String),
    /// A request failed.
    #[error("request: {0}")]
    Kube(#[from] kube::Error),
    /// A fixture did not decode.
    #[error("fixture: {0}")]
    Fixture(#[from] serde_json::Error),
}

/// A running API server, its (watch-counting) store and a client.
pub struct BenchServer {
    /// The server; dropping it stops it.
    pub server: ApiServer,
    /// The store under it, counting store watches.
    pub store: Arc<CountingStore>,
    /// A client for it.
    pub client: kube::Client,
}

impl std::fmt::Debug for BenchServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BenchServer")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl BenchServer {
    /// Starts an API server with upstream defaults, except that it listens on a free
    /// loopback port and never compacts (so a long bench run is not disturbed).
    pub async fn start() -> Result<Self, BenchError> {
        let store = Arc::new(CountingStore::new(Arc::new(MemoryStore::new())));
        let config = ApiServerConfig::default()
            .listen(([127, 0, 0, 1], 0).into())
            .compaction_interval(None);
        let server = ApiServer::bind(config, store.clone()).await?;
        let url = server
            .url()
            .parse()
            .map_err(|e| BenchError::Client(format!("{e}")))?;
        let client = kube::Client::try_from(kube::Config::new(url))
            .map_err(|e| BenchError::Client(e.to_string()))?;
        Ok(Self {
            server,
            store,
            client,
        })
    }

    /// Creates `n` pods (`web-0` ..) in namespace `default`, `parallel` at a time.
    pub async fn create_pods(&self, n: usize, parallel: usize) -> Result<(), BenchError> {
        use futures::{StreamExt, TryStreamExt};
        let api: Api<Pod> = Api::namespaced(self.client.clone(), "default");
        futures::stream::iter(0..n)
            .map(|i| {
                let api = api.clone();
                async move {
                    let pod: Pod = serde_json::from_value(objects::pod("default", i))?;
                    api.create(&PostParams::default(), &pod).await?;
                    Ok::<_, BenchError>(())
                }
            })
            .buffer_unordered(parallel.max(1))
            .try_collect::<Vec<_>>()
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::api::ListParams;

    #[tokio::test]
    async fn a_bench_server_serves_the_pods_it_was_filled_with() {
        let s = BenchServer::start().await.unwrap();
        s.create_pods(5, 2).await.unwrap();
        let pods: Api<Pod> = Api::namespaced(s.client.clone(), "default");
        let list = pods.list(&ListParams::default()).await.unwrap();
        assert_eq!(list.items.len(), 5);
        assert!(s.store.watches() > 0, "the watch cache watches the store");
    }
}
