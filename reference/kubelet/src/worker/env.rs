//! A container's environment and its `$(VAR)` expansion, as the kubelet builds them
//! (`kubelet_pods.go` makeEnvironmentVariables, `third_party/forked/golang/expansion`).
//! Entry points: [`container_env`], [`expand`].

use std::collections::HashMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Container, Pod};

/// Errors building the environment (the container waits with `CreateContainerConfigError`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvError {
    /// A `valueFrom` source this kubelet does not resolve.
    #[error("env {name:?}: {source_kind} is not supported by the refkube kubelet")]
    Unsupported {
        /// Variable name.
        name: String,
        /// `configMapKeyRef`, `secretKeyRef`, ...
        source_kind: &'static str,
    },
    /// The Services are not known yet (upstream's message).
    #[error("{0}")]
    Services(String),
    /// A `fieldRef` path that is not a supported downward API field.
    #[error("env {name:?}: unsupported fieldRef fieldPath {path:?}")]
    FieldPath {
        /// Variable name.
        name: String,
        /// The path.
        path: String,
    },
}

/// Expands `$(VAR)` references from `vars`; `$$` is a literal `$`; unknown references
/// stay as written (upstream semantics).
pub fn expand(input: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
        {
            let name = &inner[..end];
            match vars.get(name) {
                Some(v) => out.push_str(v),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn field(pod: &Pod, path: &str, pod_ip: IpAddr, host_ip: IpAddr) -> Option<String> {
    let spec = pod.spec.clone().unwrap_or_default();
    match path {
        "spec.nodeName" => spec.node_name,
        "spec.serviceAccountName" => spec.service_account_name,
        "status.podIP" | "status.podIPs" => Some(pod_ip.to_string()),
        "status.hostIP" | "status.hostIPs" => Some(host_ip.to_string()),
        // The metadata fields resolve as they do in a downward API volume.
        _ => crate::volumes::projected::field(pod, path),
    }
}

/// The environment of `container` in `pod`: `HOSTNAME` (the pod's hostname, as its UTS
/// namespace would give), `POD_IP` (the pod's "localhost", see the crate docs), then the
/// spec's `env` in order with `$(VAR)` expansion and downward-API `fieldRef`s, then
/// the `service_vars` ([`super::service_env`]) the spec did not set, which `$(VAR)`
/// references may use too (upstream's order).
pub fn container_env(
    pod: &Pod,
    container: &Container,
    pod_ip: IpAddr,
    host_ip: IpAddr,
    service_vars: &[(String, String)],
) -> Result<Vec<(String, String)>, EnvError> {
    let spec = pod.spec.clone().unwrap_or_default();
    let hostname = spec
        .hostname
        .clone()
        .or_else(|| pod.metadata.name.clone())
        .unwrap_or_default();
    let mut env = vec![
        ("HOSTNAME".to_string(), hostname),
        ("POD_IP".to_string(), pod_ip.to_string()),
    ];
    let mut vars: HashMap<String, String> =
        service_vars.iter().chain(env.iter()).cloned().collect();
    for var in container.env.as_deref().unwrap_or_default() {
        let value = match &var.value_from {
            None => expand(var.value.as_deref().unwrap_or_default(), &vars),
            Some(from) => {
                let unsupported = |source_kind| EnvError::Unsupported {
                    name: var.name.clone(),
                    source_kind,
                };
                if let Some(f) = &from.field_ref {
                    field(pod, &f.field_path, pod_ip, host_ip).ok_or_else(|| {
                        EnvError::FieldPath {
                            name: var.name.clone(),
                            path: f.field_path.clone(),
                        }
                    })?
                } else if from.config_map_key_ref.is_some() {
                    return Err(unsupported("configMapKeyRef"));
                } else if from.secret_key_ref.is_some() {
                    return Err(unsupported("secretKeyRef"));
                } else {
                    return Err(unsupported("resourceFieldRef"));
                }
            }
        };
        vars.insert(var.name.clone(), value.clone());
        env.retain(|(k, _)| k != &var.name);
        env.push((var.name.clone(), value));
    }
    for (name, value) in service_vars {
        if !env.iter().any(|(k, _)| k == name) {
            env.push((name.clone(), value.clone()));
        }
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[test]
    fn references_expand_and_double_dollars_escape() {
        let vars: HashMap<String, String> = [("A".to_string(), "x".to_string())].into();
        assert_eq!(expand("$(A)-$(B)-$$(A)-$", &vars), "x-$(B)-$(A)-$");
    }

    #[test]
    fn the_environment_carries_pod_ip_hostname_and_downward_api_fields() {
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("ns".into()),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                node_name: Some("node-1".into()),
                ..PodSpec::default()
            }),
            ..Pod::default()
        };
        let fref = |p: &str| {
            Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: p.into(),
                    ..ObjectFieldSelector::default()
                }),
                ..EnvVarSource::default()
            })
        };
        let c = Container {
            name: "c".into(),
            env: Some(vec![
                EnvVar {
                    name: "NODE".into(),
                    value_from: fref("spec.nodeName"),
                    ..EnvVar::default()
                },
                EnvVar {
                    name: "MY_IP".into(),
                    value_from: fref("status.podIP"),
                    ..EnvVar::default()
                },
                EnvVar {
                    name: "URL".into(),
                    value: Some("http://$(MY_IP):8080".into()),
                    ..EnvVar::default()
                },
            ]),
            ..Container::default()
        };
        let env = container_env(
            &pod,
            &c,
            "127.100.1.5".parse().unwrap(),
            "127.0.1.1".parse().unwrap(),
            &[
                (
                    "KUBERNETES_SERVICE_HOST".to_string(),
                    "10.96.0.1".to_string(),
                ),
                ("NODE".to_string(), "shadowed".to_string()),
            ],
        )
        .unwrap();
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("HOSTNAME"), Some("web"));
        assert_eq!(get("POD_IP"), Some("127.100.1.5"));
        assert_eq!(get("NODE"), Some("node-1"));
        assert_eq!(get("URL"), Some("http://127.100.1.5:8080"));
        assert_eq!(get("KUBERNETES_SERVICE_HOST"), Some("10.96.0.1"));
        assert_eq!(env.iter().filter(|(k, _)| k == "NODE").count(), 1);
    }
}
