//! The service environment variables every container gets (upstream's
//! `getServiceEnvVarMap` and `envvars.FromServices`): `<NAME>_SERVICE_HOST`,
//! `<NAME>_SERVICE_PORT[_<PORT NAME>]` and the Docker-link style `<NAME>_PORT*` for each
//! Service of the pod's namespace with a ClusterIP (when `enableServiceLinks`, the
//! default), and always for `default/kubernetes`, which `rest.InClusterConfig` reads.
//! Pure. Entry point: [`service_env`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;

/// The namespace and names of the API server's Services, linked into every pod.
const MASTER_NAMESPACE: &str = "default";
const MASTER_SERVICES: [&str; 1] = ["kubernetes"];

/// `my-svc` → `MY_SVC`.
fn var_name(s: &str) -> String {
    s.replace('-', "_").to_uppercase()
}

fn cluster_ip(s: &Service) -> Option<&str> {
    let ip = s.spec.as_ref()?.cluster_ip.as_deref()?;
    (!ip.is_empty() && ip != "None").then_some(ip)
}

/// The variables of one Service, in upstream's order.
fn from_service(s: &Service, ip: &str) -> Vec<(String, String)> {
    let prefix = var_name(s.metadata.name.as_deref().unwrap_or_default());
    let ports = s
        .spec
        .as_ref()
        .and_then(|sp| sp.ports.clone())
        .unwrap_or_default();
    let Some(first) = ports.first() else {
        return Vec::new();
    };
    let host_port = |port: i32| {
        if ip.contains(':') {
            format!("[{ip}]:{port}")
        } else {
            format!("{ip}:{port}")
        }
    };
    let mut out = vec![
        (format!("{prefix}_SERVICE_HOST"), ip.to_string()),
        (format!("{prefix}_SERVICE_PORT"), first.port.to_string()),
    ];
    for p in ports
        .iter()
        .filter(|p| p.name.as_deref().is_some_and(|n| !n.is_empty()))
    {
        let name = var_name(p.name.as_deref().unwrap_or_default());
        out.push((format!("{prefix}_SERVICE_PORT_{name}"), p.port.to_string()));
    }
    for (i, p) in ports.iter().enumerate() {
        let proto = p.protocol.as_deref().unwrap_or("TCP");
        let lower = proto.to_lowercase();
        let url = format!("{lower}://{}", host_port(p.port));
        if i == 0 {
            out.push((format!("{prefix}_PORT"), url.clone()));
        }
        let pp = format!("{prefix}_PORT_{}_{}", p.port, proto.to_uppercase());
        out.push((pp.clone(), url));
        out.push((format!("{pp}_PROTO"), lower));
        out.push((format!("{pp}_PORT"), p.port.to_string()));
        out.push((format!("{pp}_ADDR"), ip.to_string()));
    }
    out
}

/// The service variables of a pod in `namespace`, sorted by Service name (upstream's
/// order is a Go map's, i.e. none).
pub fn service_env(
    namespace: &str,
    enable_links: bool,
    services: &[Service],
) -> Vec<(String, String)> {
    let mut chosen: BTreeMap<String, &Service> = BTreeMap::new();
    for s in services {
        let name = s.metadata.name.clone().unwrap_or_default();
        let ns = s.metadata.namespace.as_deref().unwrap_or_default();
        if cluster_ip(s).is_none() {
            continue;
        }
        if ns == MASTER_NAMESPACE && MASTER_SERVICES.contains(&name.as_str()) {
            chosen.entry(name).or_insert(s);
        } else if ns == namespace && enable_links {
            chosen.insert(name, s);
        }
    }
    chosen
        .values()
        .flat_map(|s| from_service(s, cluster_ip(s).unwrap_or_default()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(ns: &str, name: &str, ip: &str, ports: serde_json::Value) -> Service {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": ip, "ports": ports},
        }))
        .unwrap()
    }

    fn kubernetes() -> Service {
        svc(
            "default",
            "kubernetes",
            "10.96.0.1",
            serde_json::json!([{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]),
        )
    }

    #[test]
    fn the_kubernetes_service_gives_what_in_cluster_clients_read() {
        let env: BTreeMap<String, String> = service_env("web", false, &[kubernetes()])
            .into_iter()
            .collect();
        let expected: BTreeMap<String, String> = [
            ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
            ("KUBERNETES_SERVICE_PORT", "443"),
            ("KUBERNETES_SERVICE_PORT_HTTPS", "443"),
            ("KUBERNETES_PORT", "tcp://10.96.0.1:443"),
            ("KUBERNETES_PORT_443_TCP", "tcp://10.96.0.1:443"),
            ("KUBERNETES_PORT_443_TCP_PROTO", "tcp"),
            ("KUBERNETES_PORT_443_TCP_PORT", "443"),
            ("KUBERNETES_PORT_443_TCP_ADDR", "10.96.0.1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(env, expected);
    }

    #[test]
    fn service_links_cover_the_pods_namespace_only_and_only_with_a_cluster_ip() {
        let mine = svc(
            "web",
            "my-db",
            "10.96.0.9",
            serde_json::json!([{"port": 5432}]),
        );
        let theirs = svc(
            "other",
            "cache",
            "10.96.0.8",
            serde_json::json!([{"port": 6379}]),
        );
        let headless = svc("web", "peers", "None", serde_json::json!([{"port": 7000}]));
        let all = [kubernetes(), mine, theirs, headless];
        let names: Vec<String> = service_env("web", true, &all)
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| k.ends_with("_SERVICE_HOST"))
            .collect();
        assert_eq!(names, ["KUBERNETES_SERVICE_HOST", "MY_DB_SERVICE_HOST"]);
        let off = service_env("web", false, &all);
        assert!(off.iter().all(|(k, _)| k.starts_with("KUBERNETES_")));
    }
}
