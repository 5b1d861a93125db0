//! The CSR approving controller (`pkg/controller/certificates/approver`, controller
//! `csrapproving`): a valid kubelet client request (`kubernetes.io/kube-apiserver-client-kubelet`,
//! O=system:nodes, CN=system:node:<name>, client usages, no SANs) is approved when a
//! SubjectAccessReview says its requester may `create` the `selfnodeclient` (its own
//! node's certificate) or `nodeclient` subresource of certificatesigningrequests.
//!
//! Entry point: [`start`]; the decision is in [`decide`], this driver asks the reviews
//! and writes `/approval`.

pub mod decide;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use kube::api::{Api, PostParams};
use tokio::task::JoinHandle;

use crate::runtime::context::Ctx;
use crate::runtime::informers::Informer;
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{Reconciler, SyncError, spawn_watch_keys};
use decide::{Recognizer, approved_condition, candidates};

const NAME: &str = "csrapproving";

struct Approver {
    client: kube::Client,
    requests: Arc<Informer<CertificateSigningRequest>>,
}

/// Starts the approver's watch and workers.
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let requests = ctx.informers.get::<CertificateSigningRequest>();
    let mut tasks = vec![spawn_watch_keys(&requests, &queue)];
    let reconciler = Arc::new(Approver {
        client: ctx.client.clone(),
        requests,
    });
    tasks.push(ctx.spawn_workers(NAME, queue, reconciler, 5));
    tasks
}

impl Approver {
    /// Whether the request's requester may create `by`'s subresource.
    async fn allowed(
        &self,
        csr: &CertificateSigningRequest,
        by: &Recognizer,
    ) -> Result<bool, kube::Error> {
        let spec = &csr.spec;
        let extra: BTreeMap<String, Vec<String>> = spec.extra.clone().unwrap_or_default();
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: spec.username.clone(),
                uid: spec.uid.clone(),
                groups: spec.groups.clone(),
                extra: (!extra.is_empty()).then_some(extra),
                resource_attributes: Some(ResourceAttributes {
                    group: Some("certificates.k8s.io".into()),
                    resource: Some("certificatesigningrequests".into()),
                    verb: Some("create".into()),
                    subresource: Some(by.subresource.into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let api: Api<SubjectAccessReview> = Api::all(self.client.clone());
        let answer = api.create(&PostParams::default(), &review).await?;
        Ok(answer.status.is_some_and(|s| s.allowed))
    }
}

#[async_trait::async_trait]
impl Reconciler for Approver {
    async fn sync(&self, name: &str) -> Result<Option<Duration>, SyncError> {
        let Some(csr) = self.requests.get(None, name) else {
            return Ok(None);
        };
        let tried = candidates(&csr).map_err(|message| SyncError::Invalid {
            key: name.to_string(),
            message,
        })?;
        for by in &tried {
            if !self.allowed(&csr, by).await? {
                continue;
            }
            let mut csr = (*csr).clone();
            (csr.status.get_or_insert_with(Default::default).conditions)
                .get_or_insert_with(Vec::new)
                .push(approved_condition(by));
            let api: Api<CertificateSigningRequest> = Api::all(self.client.clone());
            let pp = PostParams::default();
            return match api.replace_subresource("approval", name, &pp, &csr).await {
                Ok(_) => Ok(None),
                // A newer version comes through the informer and is looked at again.
                Err(kube::Error::Api(s)) if matches!(s.code, 404 | 409) => Ok(None),
                Err(e) => Err(e.into()),
            };
        }
        if tried.is_empty() {
            return Ok(None);
        }
        // Upstream retries with backoff, so a grant made later still approves it.
        let names: Vec<&str> = tried.iter().map(|r| r.subresource).collect();
        Err(SyncError::Partial(format!(
            "recognized csr {name:?} as {names:?} but subject access review was not approved"
        )))
    }
}
