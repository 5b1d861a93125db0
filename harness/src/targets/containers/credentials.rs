//! The files every container of one cluster shares: a CA and the API servers' serving
//! certificate, the token file with one token per upstream identity, a kubeconfig per
//! component, and the load balancer's configuration.
//!
//! Entry point: [`Credentials::generate`], then [`Credentials::write`] into the directory
//! mounted at `/etc/kubeproof`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;

use super::topology::{API_PORT, LB_HOST, Role, Topology, address};

/// Why the credentials could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("generating certificates: {0}")]
    Certificate(String),
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// One user of the token file.
#[derive(Clone, Debug, PartialEq, Eq)]
struct User {
    name: String,
    groups: Vec<String>,
    token: String,
}

/// Everything secret or shared about one cluster.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub ca_pem: String,
    /// The CA's key: the controller manager's `--cluster-signing-key-file`.
    ca_key_pem: String,
    /// The serving certificate followed by the CA.
    chain_pem: String,
    key_pem: String,
    /// The key every API server signs and checks service account tokens with.
    service_account_key_pem: String,
    /// Kubeconfig file stem (`admin`, `scheduler`, `node-1` ...) → its user.
    users: BTreeMap<String, User>,
    haproxy: String,
}

impl Credentials {
    /// Credentials for a cluster of `topology` on `subnet`.
    pub fn generate(topology: &Topology, subnet: Ipv4Net) -> Result<Self, CredentialsError> {
        let lb = address(subnet, &Role::LoadBalancer);
        let apiservers: Vec<(String, Ipv4Addr)> = (0..topology.apiservers)
            .map(|i| {
                let r = Role::ApiServer(i);
                (r.hostname(), address(subnet, &r))
            })
            .collect();
        let mut names = vec![
            LB_HOST.to_string(),
            "localhost".into(),
            "127.0.0.1".into(),
            "kubernetes".into(),
            "kubernetes.default".into(),
            "kubernetes.default.svc".into(),
            "kubernetes.default.svc.cluster.local".into(),
            // The `kubernetes` Service's ClusterIP: the first address of the range.
            "10.96.0.1".into(),
            lb.to_string(),
        ];
        for (host, ip) in &apiservers {
            names.push(host.clone());
            names.push(ip.to_string());
        }
        let (ca_pem, ca_key_pem, chain_pem, key_pem) = certificates(names)?;
        // ECDSA P-256 in PKCS#8: the API server signs ES256 tokens with it.
        let service_account_key_pem = rcgen::KeyPair::generate()
            .map_err(|e| CredentialsError::Certificate(e.to_string()))?
            .serialize_pem();
        let mut users = BTreeMap::new();
        let mut add = |stem: &str, name: &str, groups: &[&str]| {
            users.insert(
                stem.to_string(),
                User {
                    name: name.to_string(),
                    groups: groups.iter().map(|g| g.to_string()).collect(),
                    token: token(),
                },
            );
        };
        add("admin", "admin", &["system:masters"]);
        add("scheduler", "system:kube-scheduler", &[]);
        add("controller-manager", "system:kube-controller-manager", &[]);
        add("kube-proxy", "system:kube-proxy", &[]);
        for n in 1..=topology.nodes {
            let node = Role::Node(n).hostname();
            add(&node, &format!("system:node:{node}"), &["system:nodes"]);
        }
        Ok(Self {
            ca_pem,
            ca_key_pem,
            chain_pem,
            key_pem,
            service_account_key_pem,
            users,
            haproxy: haproxy_config(&apiservers),
        })
    }

    /// The administrator's kubeconfig, for reaching the cluster from this machine
    /// through the load balancer's address.
    pub fn admin_kubeconfig(&self, lb: Ipv4Addr) -> String {
        let token = self.users.get("admin").map(|u| u.token.as_str());
        refkube::kubeconfig::render(
            &format!("https://{lb}:{API_PORT}"),
            Some(&self.ca_pem),
            token,
        )
    }

    /// Upstream's token file: `token,user,uid,"group1,group2"`.
    fn token_csv(&self) -> String {
        self.users
            .values()
            .map(|u| {
                let mut groups = u.groups.clone();
                groups.push("system:authenticated".into());
                format!(
                    "{},{},{},\"{}\"\n",
                    u.token,
                    u.name,
                    u.name,
                    groups.join(",")
                )
            })
            .collect()
    }

    /// Writes certificates, the token file, one kubeconfig per component (reaching the
    /// API through the load balancer's name) and the load balancer's configuration.
    pub fn write(&self, dir: &Path) -> Result<(), CredentialsError> {
        let server = format!("https://{LB_HOST}:{API_PORT}");
        let mut files: Vec<(String, String)> = vec![
            ("ca.crt".into(), self.ca_pem.clone()),
            ("ca.key".into(), self.ca_key_pem.clone()),
            ("apiserver.crt".into(), self.chain_pem.clone()),
            ("apiserver.key".into(), self.key_pem.clone()),
            ("sa.key".into(), self.service_account_key_pem.clone()),
            ("tokens.csv".into(), self.token_csv()),
            ("haproxy.cfg".into(), self.haproxy.clone()),
        ];
        for (stem, user) in &self.users {
            files.push((
                format!("{stem}.kubeconfig"),
                refkube::kubeconfig::render(&server, Some(&self.ca_pem), Some(&user.token)),
            ));
        }
        for (name, text) in files {
            let path = dir.join(&name);
            std::fs::write(&path, text).map_err(|source| CredentialsError::Write {
                path: path.display().to_string(),
                source,
            })?;
        }
        Ok(())
    }
}

/// A CA (certificate and key), and a serving certificate for `names` (DNS names or IPs)
/// signed by it.
fn certificates(names: Vec<String>) -> Result<(String, String, String, String), CredentialsError> {
    let err = |e: rcgen::Error| CredentialsError::Certificate(e.to_string());
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "kubeproof-containers-ca");
    let ca_key = rcgen::KeyPair::generate().map_err(err)?;
    let ca = ca_params.self_signed(&ca_key).map_err(err)?;
    let mut leaf_params = rcgen::CertificateParams::new(names).map_err(err)?;
    leaf_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "kube-apiserver");
    let leaf_key = rcgen::KeyPair::generate().map_err(err)?;
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca, &ca_key)
        .map_err(err)?;
    Ok((
        ca.pem(),
        ca_key.serialize_pem(),
        format!("{}{}", leaf.pem(), ca.pem()),
        leaf_key.serialize_pem(),
    ))
}

/// A random bearer token.
fn token() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// haproxy in TCP mode in front of the API servers, as kind runs it: a server that
/// stops answering its health check is taken out within about a second, the sessions
/// still open to it are cut so clients reconnect to a live one, and a connection that
/// cannot reach the server chosen for it (before the checks noticed) is retried on
/// another, so a client never sees the gap.
fn haproxy_config(apiservers: &[(String, Ipv4Addr)]) -> String {
    let mut cfg = String::from(
        "global\n  maxconn 4000\n\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1h\n  timeout server 1h\n  timeout check 1s\n  retries 3\n  option redispatch 1\n\n",
    );
    cfg.push_str(&format!(
        "frontend apiserver\n  bind *:{API_PORT}\n  default_backend apiservers\n\nbackend apiservers\n  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions\n"
    ));
    for (host, ip) in apiservers {
        cfg.push_str(&format!("  server {host} {ip}:{API_PORT} check\n"));
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet() -> Ipv4Net {
        "172.30.9.0/24".parse().unwrap()
    }

    #[test]
    fn every_component_has_its_upstream_identity_and_its_own_token() {
        let c = Credentials::generate(&Topology::default(), subnet()).unwrap();
        let csv = c.token_csv();
        for user in [
            "system:kube-scheduler",
            "system:kube-controller-manager",
            "system:kube-proxy",
            "system:node:node-1",
            "system:node:node-3",
        ] {
            assert!(csv.contains(&format!(",{user},{user},")), "{user}: {csv}");
        }
        assert!(
            csv.contains("\"system:nodes,system:authenticated\""),
            "{csv}"
        );
        assert!(
            csv.contains("\"system:masters,system:authenticated\""),
            "{csv}"
        );
        let tokens: std::collections::BTreeSet<_> =
            c.users.values().map(|u| u.token.clone()).collect();
        assert_eq!(tokens.len(), c.users.len(), "tokens are distinct");
    }

    #[test]
    fn the_load_balancer_checks_every_api_server_by_address() {
        let c = Credentials::generate(&Topology::default(), subnet()).unwrap();
        assert!(
            c.haproxy
                .contains("server apiserver-0 172.30.9.20:6443 check")
        );
        assert!(
            c.haproxy
                .contains("server apiserver-1 172.30.9.21:6443 check")
        );
        assert!(c.haproxy.contains("on-marked-down shutdown-sessions"));
        assert!(c.haproxy.contains("option redispatch"));
    }

    #[test]
    fn files_are_written_with_kubeconfigs_through_the_load_balancer() {
        let dir = tempfile::tempdir().unwrap();
        let c = Credentials::generate(&Topology::default(), subnet()).unwrap();
        c.write(dir.path()).unwrap();
        let kc = std::fs::read_to_string(dir.path().join("node-2.kubeconfig")).unwrap();
        assert!(kc.contains("https://apiserver-lb:6443"), "{kc}");
        let admin = c.admin_kubeconfig("172.30.9.2".parse().unwrap());
        assert!(admin.contains("https://172.30.9.2:6443"), "{admin}");
        assert!(dir.path().join("apiserver.key").exists());
        let sa = std::fs::read_to_string(dir.path().join("sa.key")).unwrap();
        assert!(
            sa.starts_with("-----BEGIN PRIVATE KEY-----"),
            "PKCS#8: {sa}"
        );
    }
}
