//! What the approver does with one request (upstream `sarapprove.go`): which
//! SubjectAccessReviews may approve it, in order, and the condition it then gets.

use k8s_openapi::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestCondition,
};

use crate::csrsigning::rules::{KUBE_APISERVER_CLIENT_KUBELET, kubelet_client};

/// One kind of request the approver recognizes: the `certificatesigningrequests`
/// subresource its requester must be allowed to `create`, and the approval message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recognizer {
    pub subresource: &'static str,
    pub message: &'static str,
}

/// A node asking for its own client certificate (requester = the subject's CN).
pub const SELF_NODE_CLIENT: Recognizer = Recognizer {
    subresource: "selfnodeclient",
    message: "Auto approving self kubelet client certificate after SubjectAccessReview.",
};

/// Anyone asking for a node client certificate (a bootstrap token, say).
pub const NODE_CLIENT: Recognizer = Recognizer {
    subresource: "nodeclient",
    message: "Auto approving kubelet client certificate after SubjectAccessReview.",
};

fn has_condition(csr: &CertificateSigningRequest, ty: &str) -> bool {
    (csr.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == ty))
}

/// The reviews to ask, in upstream's order; empty when the request is issued, already
/// approved or denied, not for the kubelet client signer, or not a valid node client
/// request. `Err` when its PEM does not parse (upstream retries those).
pub fn candidates(csr: &CertificateSigningRequest) -> Result<Vec<Recognizer>, String> {
    let issued = (csr.status.as_ref())
        .and_then(|s| s.certificate.as_ref())
        .is_some_and(|c| !c.0.is_empty());
    // Upstream's GetCertApprovalCondition looks at the type alone.
    if issued || has_condition(csr, "Approved") || has_condition(csr, "Denied") {
        return Ok(Vec::new());
    }
    let req = refkube_resources::pkcs10::parse_pem(&csr.spec.request.0)
        .map_err(|e| format!("unable to parse csr: {e}"))?;
    let usages = csr.spec.usages.clone().unwrap_or_default();
    let node_client = csr.spec.signer_name == KUBE_APISERVER_CLIENT_KUBELET
        && kubelet_client(&req, &usages).is_ok();
    if !node_client {
        return Ok(Vec::new());
    }
    let own = csr.spec.username.as_deref() == Some(req.common_name());
    Ok(if own {
        vec![SELF_NODE_CLIENT, NODE_CLIENT]
    } else {
        vec![NODE_CLIENT]
    })
}

/// The condition an allowed review adds (no timestamps: the API server sets them).
pub fn approved_condition(by: &Recognizer) -> CertificateSigningRequestCondition {
    CertificateSigningRequestCondition {
        type_: "Approved".into(),
        status: "True".into(),
        reason: Some("AutoApproved".into()),
        message: Some(by.message.into()),
        ..Default::default()
    }
}
