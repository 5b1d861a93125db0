//! Kubeconfig files for a refkube cluster: cluster, context and user all named
//! `refkube`. Entry point: [`render`].

use base64::Engine;
use serde_json::json;

/// A kubeconfig for `server`, trusting `ca_pem` when given and sending `token`.
pub fn render(server: &str, ca_pem: Option<&str>, token: Option<&str>) -> String {
    let mut cluster = json!({"server": server});
    if let Some(ca) = ca_pem {
        cluster["certificate-authority-data"] =
            json!(base64::engine::general_purpose::STANDARD.encode(ca));
    }
    let user = match token {
        Some(t) => json!({"token": t}),
        None => json!({}),
    };
    let kc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "refkube", "cluster": cluster}],
        "contexts": [{"name": "refkube", "context": {"cluster": "refkube", "user": "refkube"}}],
        "current-context": "refkube",
        "users": [{"name": "refkube", "user": user}],
        "preferences": {},
    });
    serde_yaml::to_string(&kc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfigs_name_everything_refkube_and_embed_the_ca() {
        let y = render("https://127.0.0.1:6443", Some("PEM"), Some("tok"));
        let v: serde_yaml::Value = serde_yaml::from_str(&y).unwrap();
        assert_eq!(v["current-context"], "refkube");
        assert_eq!(
            v["clusters"][0]["cluster"]["server"],
            "https://127.0.0.1:6443"
        );
        assert_eq!(
            v["clusters"][0]["cluster"]["certificate-authority-data"],
            "UEVN"
        );
        assert_eq!(v["users"][0]["user"]["token"], "tok");
    }
}
