//! The CSR signing controller (`pkg/controller/certificates/signer`, controller
//! `csrsigning`): approved CertificateSigningRequests for the `kubernetes.io` signers
//! get a certificate from the cluster CA in `status.certificate`; one that breaks its
//! signer's rules gets a `Failed` condition instead. Runs only with a CA
//! (`--cluster-signing-cert-file` / `--cluster-signing-key-file`), as upstream.
//!
//! Entry point: [`start`]; the rules are in [`rules`], the signing in [`authority`].

pub mod authority;
pub mod rules;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestCondition,
};
use kube::api::{Api, PostParams};
use tokio::task::JoinHandle;

use crate::runtime::context::Ctx;
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{Reconciler, SyncError, spawn_watch_keys};
use authority::Authority;

const NAME: &str = "csrsigning";

/// What the controller does with one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Not approved, already failed or issued, or not for our signers.
    Nothing,
    /// Sign it with these usages and requested lifetime.
    Sign,
    /// Mark it Failed with this message (reason `SignerValidationFailure`).
    Fail(String),
}

fn has_condition(csr: &CertificateSigningRequest, ty: &str) -> bool {
    csr.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == ty && c.status == "True"))
}

/// Upstream's `handle` and the certificate controller's skip of issued requests.
pub fn decide(csr: &CertificateSigningRequest) -> Decision {
    let issued = csr
        .status
        .as_ref()
        .and_then(|s| s.certificate.as_ref())
        .is_some_and(|c| !c.0.is_empty());
    let approved = has_condition(csr, "Approved") && !has_condition(csr, "Denied");
    if issued || !approved || has_condition(csr, "Failed") {
        return Decision::Nothing;
    }
    if !rules::SIGNERS.contains(&csr.spec.signer_name.as_str()) {
        return Decision::Nothing;
    }
    let req = match refkube_resources::pkcs10::parse_pem(&csr.spec.request.0) {
        Ok(r) => r,
        // Validation let it in, so this is not the requester's to fix: nothing to sign.
        Err(_) => return Decision::Nothing,
    };
    let usages = csr.spec.usages.clone().unwrap_or_default();
    match rules::check(&csr.spec.signer_name, &req, &usages) {
        Ok(true) => Decision::Sign,
        Ok(false) => Decision::Nothing,
        Err(e) => Decision::Fail(e),
    }
}

fn invalid(key: &str, message: String) -> SyncError {
    SyncError::Invalid {
        key: key.to_string(),
        message,
    }
}

struct Signer {
    client: kube::Client,
    requests: Arc<crate::runtime::informers::Informer<CertificateSigningRequest>>,
    authority: Authority,
}

/// Starts the signer when the manager has a CA; without one it logs and does nothing.
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let Some(signing) = ctx.config.cluster_signing.as_ref() else {
        tracing::info!("Skipping CSR signer controller because no csr cert/key was specified");
        return Vec::new();
    };
    let authority = match Authority::from_pem(&signing.cert_pem, &signing.key_pem, signing.duration)
    {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "failed to start certificate controller");
            return Vec::new();
        }
    };
    let requests = ctx.informers.get::<CertificateSigningRequest>();
    let mut tasks = vec![spawn_watch_keys(&requests, &queue)];
    let reconciler = Arc::new(Signer {
        client: ctx.client.clone(),
        requests,
        authority,
    });
    tasks.push(ctx.spawn_workers(NAME, queue, reconciler, 5));
    tasks
}

#[async_trait::async_trait]
impl Reconciler for Signer {
    async fn sync(&self, name: &str) -> Result<Option<Duration>, SyncError> {
        let Some(csr) = self.requests.get(None, name) else {
            return Ok(None);
        };
        let mut csr = (*csr).clone();
        match decide(&csr) {
            Decision::Nothing => return Ok(None),
            Decision::Fail(message) => {
                let status = csr.status.get_or_insert_with(Default::default);
                status.conditions.get_or_insert_with(Vec::new).push(
                    CertificateSigningRequestCondition {
                        type_: "Failed".into(),
                        status: "True".into(),
                        reason: Some("SignerValidationFailure".into()),
                        message: Some(message),
                        last_update_time: Some(crate::util::time::time(
                            crate::util::time::now_seconds(),
                        )),
                        ..Default::default()
                    },
                );
            }
            Decision::Sign => {
                let req = refkube_resources::pkcs10::parse_pem(&csr.spec.request.0)
                    .map_err(|e| invalid(name, e))?;
                let usages = csr.spec.usages.clone().unwrap_or_default();
                let pem = self
                    .authority
                    .sign(
                        &req,
                        &usages,
                        csr.spec.expiration_seconds.map(i64::from),
                        time::OffsetDateTime::now_utc(),
                    )
                    .map_err(|e| invalid(name, e))?;
                csr.status.get_or_insert_with(Default::default).certificate =
                    Some(ByteString(pem.into_bytes()));
            }
        }
        let api: Api<CertificateSigningRequest> = Api::all(self.client.clone());
        match api.replace_status(name, &PostParams::default(), &csr).await {
            Ok(_) => Ok(None),
            // A newer version comes through the informer and is looked at again.
            Err(kube::Error::Api(s)) if matches!(s.code, 404 | 409) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
