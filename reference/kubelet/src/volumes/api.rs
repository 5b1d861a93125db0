//! What volumes need from the API server, behind a trait so the pod worker's tests can
//! run without one: a token for the pod (TokenRequest) and ConfigMaps. Entry points:
//! [`VolumeApi`], [`KubeVolumeApi`].

use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use kube::api::{Api, PostParams};

/// Reads for volume contents. Errors are the API's message.
#[async_trait::async_trait]
pub trait VolumeApi: Send + Sync {
    /// `POST serviceaccounts/{account}/token` in `namespace`.
    async fn request_token(
        &self,
        namespace: &str,
        account: &str,
        request: &TokenRequest,
    ) -> Result<TokenRequest, String>;
    /// The ConfigMap, or None when it does not exist.
    async fn config_map(&self, namespace: &str, name: &str) -> Result<Option<ConfigMap>, String>;
}

/// [`VolumeApi`] against an API server.
#[derive(Clone)]
pub struct KubeVolumeApi {
    client: kube::Client,
}

impl std::fmt::Debug for KubeVolumeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeVolumeApi").finish_non_exhaustive()
    }
}

impl KubeVolumeApi {
    pub fn new(client: kube::Client) -> Self {
        KubeVolumeApi { client }
    }
}

/// The API's own message for an error answer (`serviceaccounts "x" not found`).
fn message(e: kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message,
        other => other.to_string(),
    }
}

#[async_trait::async_trait]
impl VolumeApi for KubeVolumeApi {
    async fn request_token(
        &self,
        namespace: &str,
        account: &str,
        request: &TokenRequest,
    ) -> Result<TokenRequest, String> {
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        api.create_token_request(account, &PostParams::default(), request)
            .await
            .map_err(message)
    }

    async fn config_map(&self, namespace: &str, name: &str) -> Result<Option<ConfigMap>, String> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        api.get_opt(name).await.map_err(message)
    }
}
