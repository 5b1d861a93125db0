//! The streaming subresources `pods/exec`, `pods/attach` and `pods/portforward`: the
//! API server checks the request as upstream's `ExecLocation` / `AttachLocation` /
//! `PortForwardLocation` do (the pod exists, has a node, the container is valid or the
//! only one, a command is given), then proxies the client's upgrade to the kubelet of
//! the pod's node (`/exec/{ns}/{pod}/{container}`, `/attach/{ns}/{pod}/{container}`,
//! `/portforward/{ns}/{pod}`) and stays out of the stream ([`upgrade`]). Entry points:
//! [`route`], [`serve`].

mod upgrade;

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use http::Method;
use serde_json::Value;

use crate::keys;
use crate::state::AppState;
use crate::status::ApiError;

/// Which subresource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Exec,
    Attach,
    PortForward,
}

/// A parsed `/api/v1/namespaces/{ns}/pods/{name}/{exec|portforward}` path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamPath {
    pub namespace: String,
    pub name: String,
    pub kind: Kind,
}

impl StreamPath {
    /// The subresource's name, for the audit record.
    pub fn subresource(&self) -> &'static str {
        match self.kind {
            Kind::Exec => "exec",
            Kind::Attach => "attach",
            Kind::PortForward => "portforward",
        }
    }
}

/// Whether `path` names a streaming subresource.
pub fn route(path: &str) -> Option<StreamPath> {
    let rest = path.strip_prefix("/api/v1/namespaces/")?;
    let segs: Vec<&str> = rest.split('/').collect();
    let [namespace, "pods", name, sub] = segs.as_slice() else {
        return None;
    };
    let kind = match *sub {
        "exec" => Kind::Exec,
        "attach" => Kind::Attach,
        "portforward" => Kind::PortForward,
        _ => return None,
    };
    (!namespace.is_empty() && !name.is_empty()).then(|| StreamPath {
        namespace: (*namespace).to_string(),
        name: (*name).to_string(),
        kind,
    })
}

fn truthy(v: &str) -> bool {
    matches!(v, "true" | "1" | "True" | "TRUE")
}

/// The kubelet's path and query for `p`, after upstream's checks of `query` on `pod`.
pub fn kubelet_path(
    p: &StreamPath,
    pod: &Value,
    query: &[(String, String)],
) -> Result<String, ApiError> {
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let mut out = form_urlencoded::Serializer::new(String::new());
    let path = match p.kind {
        Kind::Exec => {
            let container = crate::logs::pick_container(
                pod,
                &p.name,
                get("container").filter(|c| !c.is_empty()),
            )?;
            let commands: Vec<&str> = query
                .iter()
                .filter(|(k, _)| k == "command")
                .map(|(_, v)| v.as_str())
                .collect();
            if commands.is_empty() {
                return Err(ApiError::bad_request("you must specify at least 1 command"));
            }
            let flags = ["stdin", "stdout", "stderr", "tty"].map(|k| get(k).is_some_and(truthy));
            if !flags[..3].iter().any(|f| *f) {
                return Err(ApiError::bad_request(
                    "you must specify at least one of stdin, stdout, or stderr",
                ));
            }
            for c in commands {
                out.append_pair("command", c);
            }
            for (k, on) in ["stdin", "stdout", "stderr", "tty"].iter().zip(flags) {
                out.append_pair(k, if on { "true" } else { "false" });
            }
            format!("/exec/{}/{}/{container}", p.namespace, p.name)
        }
        Kind::Attach => {
            let container = crate::logs::pick_container(
                pod,
                &p.name,
                get("container").filter(|c| !c.is_empty()),
            )?;
            let flags = ["stdin", "stdout", "stderr", "tty"].map(|k| get(k).is_some_and(truthy));
            if !flags[..3].iter().any(|f| *f) {
                return Err(ApiError::bad_request(
                    "you must specify at least one of stdin, stdout, or stderr",
                ));
            }
            for (k, on) in ["stdin", "stdout", "stderr", "tty"].iter().zip(flags) {
                out.append_pair(k, if on { "true" } else { "false" });
            }
            format!("/attach/{}/{}/{container}", p.namespace, p.name)
        }
        Kind::PortForward => {
            for (_, v) in query.iter().filter(|(k, _)| k == "ports" || k == "port") {
                out.append_pair("port", v);
            }
            format!("/portforward/{}/{}", p.namespace, p.name)
        }
    };
    if pod["spec"]["nodeName"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        return Err(ApiError::bad_request(format!(
            "pod {} does not have a host assigned",
            p.name
        )));
    }
    Ok(format!("{path}?{}", out.finish()))
}

async fn locate(
    state: &AppState,
    p: &StreamPath,
    query: &[(String, String)],
) -> Result<(String, String), ApiError> {
    let pods = refkube_resources::registry::lookup("", "v1", "pods")
        .ok_or_else(|| ApiError::internal("pods are not registered"))?;
    let pod = match state
        .store
        .get(&keys::key(pods, Some(&p.namespace), &p.name))
        .await?
    {
        Some(kv) => keys::decode_kv(pods, &kv)?,
        None => return Err(ApiError::not_found(pods, &p.name)),
    };
    let path = kubelet_path(p, &pod, query)?;
    let node_name = pod["spec"]["nodeName"].as_str().unwrap_or_default();
    let nodes = refkube_resources::registry::lookup("", "v1", "nodes")
        .ok_or_else(|| ApiError::internal("nodes are not registered"))?;
    let node = match state.store.get(&keys::key(nodes, None, node_name)).await? {
        Some(kv) => keys::decode_kv(nodes, &kv)?,
        None => return Err(ApiError::not_found(nodes, node_name)),
    };
    let addr = crate::logs::kubelet_address(&node, state.config.default_kubelet_port).ok_or_else(
        || {
            ApiError::internal(format!(
                "node {node_name} reports no address for its kubelet"
            ))
        },
    )?;
    Ok((addr, path))
}

/// Serves a streaming request: checks it, then hands the upgrade to the kubelet.
pub async fn serve(state: &Arc<AppState>, p: &StreamPath, parts: http::request::Parts) -> Response {
    if parts.method != Method::GET && parts.method != Method::POST {
        return ApiError::method_not_allowed().into_response();
    }
    let query: Vec<(String, String)> =
        form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let result = match locate(state, p, &query).await {
        Ok((addr, path)) => upgrade::proxy(parts, &state.http, &addr, &path).await,
        Err(e) => Err(e),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_exec_and_portforward_of_a_named_pod_are_streams() {
        assert_eq!(
            route("/api/v1/namespaces/ns/pods/web/exec"),
            Some(StreamPath {
                namespace: "ns".into(),
                name: "web".into(),
                kind: Kind::Exec
            })
        );
        assert_eq!(
            route("/api/v1/namespaces/ns/pods/web/portforward").map(|p| p.kind),
            Some(Kind::PortForward)
        );
        assert_eq!(route("/api/v1/namespaces/ns/pods/web/log"), None);
        assert_eq!(route("/api/v1/namespaces/ns/pods/web"), None);
    }

    #[test]
    fn exec_is_checked_as_upstream_and_passed_on() {
        let exec = route("/api/v1/namespaces/ns/pods/web/exec").unwrap();
        let pod = json!({"spec": {"nodeName": "n1", "containers": [{"name": "app"}]}});
        assert_eq!(
            kubelet_path(
                &exec,
                &pod,
                &q(&[
                    ("command", "sh"),
                    ("command", "-c"),
                    ("command", "exit 3"),
                    ("stdout", "true")
                ])
            )
            .unwrap(),
            "/exec/ns/web/app?command=sh&command=-c&command=exit+3&stdin=false&stdout=true&stderr=false&tty=false"
        );
        let e = kubelet_path(&exec, &pod, &q(&[("stdout", "true")])).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (400, "you must specify at least 1 command")
        );
        let e = kubelet_path(&exec, &pod, &q(&[("command", "ls")])).unwrap_err();
        assert_eq!(
            e.message,
            "you must specify at least one of stdin, stdout, or stderr"
        );
        let e = kubelet_path(
            &exec,
            &pod,
            &q(&[("command", "ls"), ("stdout", "1"), ("container", "db")]),
        )
        .unwrap_err();
        assert_eq!(e.message, "container db is not valid for pod web");
        let unbound = json!({"spec": {"containers": [{"name": "app"}]}});
        let e =
            kubelet_path(&exec, &unbound, &q(&[("command", "ls"), ("stdout", "1")])).unwrap_err();
        assert_eq!(e.message, "pod web does not have a host assigned");
    }

    #[test]
    fn attach_goes_to_the_containers_attach_endpoint() {
        let attach = route("/api/v1/namespaces/ns/pods/web/attach").unwrap();
        assert_eq!(attach.subresource(), "attach");
        let pod = json!({"spec": {"nodeName": "n1", "containers": [{"name": "app"}]}});
        assert_eq!(
            kubelet_path(&attach, &pod, &q(&[("stdout", "true"), ("stdin", "true")])).unwrap(),
            "/attach/ns/web/app?stdin=true&stdout=true&stderr=false&tty=false"
        );
        let e = kubelet_path(&attach, &pod, &q(&[("container", "app")])).unwrap_err();
        assert_eq!(
            e.message,
            "you must specify at least one of stdin, stdout, or stderr"
        );
    }

    #[test]
    fn portforward_passes_the_ports_as_the_kubelets_port_parameter() {
        let pf = route("/api/v1/namespaces/ns/pods/web/portforward").unwrap();
        let pod = json!({"spec": {"nodeName": "n1", "containers": [{"name": "app"}]}});
        assert_eq!(
            kubelet_path(&pf, &pod, &q(&[("ports", "8080"), ("ports", "9090")])).unwrap(),
            "/portforward/ns/web?port=8080&port=9090"
        );
    }
}
