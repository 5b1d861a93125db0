//! What each `kubernetes.io` signer accepts (upstream `signer.go` and
//! `pkg/apis/certificates/helpers.go`): `Ok(true)` to sign, `Ok(false)` when the request
//! is not for this controller's signers, `Err` with upstream's text to mark it Failed.

use refkube_resources::pkcs10::Csr;

pub const KUBE_APISERVER_CLIENT: &str = "kubernetes.io/kube-apiserver-client";
pub const KUBE_APISERVER_CLIENT_KUBELET: &str = "kubernetes.io/kube-apiserver-client-kubelet";
pub const KUBELET_SERVING: &str = "kubernetes.io/kubelet-serving";
pub const LEGACY_UNKNOWN: &str = "kubernetes.io/legacy-unknown";

/// The signers this controller runs (upstream starts one signing controller for each).
pub const SIGNERS: &[&str] = &[
    KUBELET_SERVING,
    KUBE_APISERVER_CLIENT_KUBELET,
    KUBE_APISERVER_CLIENT,
    LEGACY_UNKNOWN,
];

fn same_set(usages: &[String], want: &[&str]) -> bool {
    let mut got: Vec<&str> = usages.iter().map(String::as_str).collect();
    got.sort_unstable();
    got.dedup();
    got == want
}

/// Upstream's `ValidateKubeletServingCSR`.
pub fn kubelet_serving(req: &Csr, usages: &[String]) -> Result<(), String> {
    if req.organizations() != ["system:nodes"] {
        return Err("subject organization is not system:nodes".into());
    }
    if req.dns_names.is_empty() && req.ip_addresses.is_empty() {
        return Err("DNS or IP subjectAltName is required".into());
    }
    if !req.email_addresses.is_empty() {
        return Err("Email subjectAltNames are not allowed".into());
    }
    if !req.uris.is_empty() {
        return Err("URI subjectAltNames are not allowed".into());
    }
    let with_rsa = ["digital signature", "key encipherment", "server auth"];
    if !same_set(usages, &with_rsa) && !same_set(usages, &["digital signature", "server auth"]) {
        return Err(format!("usages did not match [{}]", with_rsa.join(" ")));
    }
    if !req.common_name().starts_with("system:node:") {
        return Err("subject common name does not begin with system:node:".into());
    }
    Ok(())
}

/// Upstream's `ValidateKubeletClientCSR`.
pub fn kubelet_client(req: &Csr, usages: &[String]) -> Result<(), String> {
    if req.organizations() != ["system:nodes"] {
        return Err("subject organization is not system:nodes".into());
    }
    if !req.dns_names.is_empty() {
        return Err("DNS subjectAltNames are not allowed".into());
    }
    if !req.email_addresses.is_empty() {
        return Err("Email subjectAltNames are not allowed".into());
    }
    if !req.ip_addresses.is_empty() {
        return Err("IP subjectAltNames are not allowed".into());
    }
    if !req.uris.is_empty() {
        return Err("URI subjectAltNames are not allowed".into());
    }
    if !req.common_name().starts_with("system:node:") {
        return Err("subject common name does not begin with system:node:".into());
    }
    let with_rsa = ["client auth", "digital signature", "key encipherment"];
    if !same_set(usages, &with_rsa) && !same_set(usages, &["client auth", "digital signature"]) {
        return Err(format!("usages did not match [{}]", with_rsa.join(" ")));
    }
    Ok(())
}

/// Upstream's `validAPIServerClientUsages`.
pub fn apiserver_client(usages: &[String]) -> Result<(), String> {
    let mut client_auth = false;
    for u in usages {
        match u.as_str() {
            "digital signature" | "key encipherment" => {}
            "client auth" => client_auth = true,
            other => return Err(format!("invalid usage for client certificate: {other}")),
        }
    }
    if !client_auth {
        return Err("missing required usage for client certificate: client auth".into());
    }
    Ok(())
}

/// Whether `signer` is one of ours and the request fits its rules.
pub fn check(signer: &str, req: &Csr, usages: &[String]) -> Result<bool, String> {
    match signer {
        KUBELET_SERVING => kubelet_serving(req, usages).map(|_| true),
        KUBE_APISERVER_CLIENT_KUBELET => kubelet_client(req, usages).map(|_| true),
        KUBE_APISERVER_CLIENT => apiserver_client(usages).map(|_| true),
        // No rules: kept for compatibility upstream (v1 refuses the name at creation).
        LEGACY_UNKNOWN => Ok(true),
        _ => Ok(false),
    }
}
