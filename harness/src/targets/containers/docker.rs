//! The containers target's Docker verbs, over testcontainers' own Docker client (bollard).
//!
//! Entry points: [`connect`], [`ContainerSpec`] with [`run`], the fault verbs ([`kill`],
//! [`start`], [`pause`], [`unpause`], [`disconnect`], [`reconnect`], [`exec`]) and
//! [`sweep`].
//! testcontainers' `ContainerRequest` cannot give a container a fixed address on a
//! user-configured subnet, a per-container sysctl or a network alias, and has no verb to
//! disconnect a container; a partitioned node must come back with its old address (its
//! neighbours route its pod CIDR to it), so the target drives the client directly.
//! Everything created carries [`LABEL_MANAGED`] and [`LABEL_OWNER`], which is how
//! [`sweep`] finds what a run (or a crashed earlier run) left behind.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::time::Duration;

use futures::StreamExt;
use testcontainers::bollard::Docker;
use testcontainers::bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Ipam, IpamConfig,
    NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest, NetworkingConfig,
};
use testcontainers::bollard::query_parameters::{
    BuildImageOptions, CreateContainerOptions, KillContainerOptions, ListContainersOptions,
    ListNetworksOptions, LogsOptions, RemoveContainerOptions,
};

/// Marks what kubeproof created: `image`, `container` or `network`.
pub const LABEL_MANAGED: &str = "io.kubeproof.managed";
/// The process that created it, as `<pid>`: a leftover whose process is gone is swept.
pub const LABEL_OWNER: &str = "io.kubeproof.owner";
/// The cluster it belongs to.
pub const LABEL_CLUSTER: &str = "io.kubeproof.cluster";

/// Why a Docker call failed.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// No daemon answered.
    #[error(
        "Docker is not reachable ({0}); the containers target needs a running Docker daemon (is `docker info` working?)"
    )]
    Unreachable(String),
    /// The daemon refused or failed a request.
    #[error("docker {verb} {what}: {message}")]
    Call {
        verb: &'static str,
        what: String,
        message: String,
    },
}

fn call(
    verb: &'static str,
    what: &str,
) -> impl FnOnce(testcontainers::bollard::errors::Error) -> DockerError {
    let what = what.to_string();
    move |e| DockerError::Call {
        verb,
        what,
        message: e.to_string(),
    }
}

/// A client for the local daemon, with the API version it speaks.
pub async fn connect() -> Result<Docker, DockerError> {
    let docker = Docker::connect_with_local_defaults()
        .map_err(|e| DockerError::Unreachable(e.to_string()))?;
    let docker = tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
        .await
        .map_err(|_| DockerError::Unreachable("no answer within 10 s".into()))?
        .map_err(|e| DockerError::Unreachable(e.to_string()))?;
    tokio::time::timeout(Duration::from_secs(10), docker.ping())
        .await
        .map_err(|_| DockerError::Unreachable("no answer to ping within 10 s".into()))?
        .map_err(|e| DockerError::Unreachable(e.to_string()))?;
    Ok(docker)
}

/// Builds an image from a tar build context, failing with the builder's own message.
pub async fn build(
    docker: &Docker,
    options: BuildImageOptions,
    context: Vec<u8>,
) -> Result<(), DockerError> {
    let what = options.t.clone().unwrap_or_default();
    let mut stream = docker.build_image(
        options,
        None,
        Some(testcontainers::bollard::body_full(context.into())),
    );
    while let Some(item) = stream.next().await {
        let info = item.map_err(call("build", &what))?;
        if let Some(detail) = info.error_detail {
            return Err(DockerError::Call {
                verb: "build",
                what,
                message: detail.message.unwrap_or_default(),
            });
        }
    }
    Ok(())
}

/// Labels every object of one run carries.
pub fn labels(kind: &str, cluster: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_MANAGED.to_string(), kind.to_string()),
        (LABEL_OWNER.to_string(), std::process::id().to_string()),
        (LABEL_CLUSTER.to_string(), cluster.to_string()),
    ])
}

/// Creates a bridge network on `subnet` (the gateway is its first address).
pub async fn create_network(
    docker: &Docker,
    name: &str,
    subnet: ipnet::Ipv4Net,
    cluster: &str,
) -> Result<(), DockerError> {
    let gateway = Ipv4Addr::from(u32::from(subnet.network()) + 1);
    let request = NetworkCreateRequest {
        name: name.to_string(),
        driver: Some("bridge".into()),
        ipam: Some(Ipam {
            config: Some(vec![IpamConfig {
                subnet: Some(subnet.to_string()),
                gateway: Some(gateway.to_string()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        labels: Some(labels("network", cluster)),
        ..Default::default()
    };
    docker
        .create_network(request)
        .await
        .map(|_| ())
        .map_err(call("network create", name))
}

/// One container of the topology.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Docker's name for it (unique on the machine).
    pub name: String,
    /// Its host name, and its DNS name on the cluster network.
    pub hostname: String,
    pub image: String,
    pub cmd: Vec<String>,
    pub ip: Ipv4Addr,
    /// `host-path:container-path[:ro]`.
    pub binds: Vec<String>,
    pub cap_add: Vec<String>,
    pub sysctls: BTreeMap<String, String>,
}

/// Creates and starts a container on `network` with its fixed address.
pub async fn run(
    docker: &Docker,
    spec: &ContainerSpec,
    network: &str,
    cluster: &str,
) -> Result<(), DockerError> {
    let endpoint = endpoint(spec.ip, &spec.hostname);
    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: Some(spec.cmd.clone()),
        hostname: Some(spec.hostname.clone()),
        labels: Some(labels("container", cluster)),
        host_config: Some(HostConfig {
            binds: Some(spec.binds.clone()),
            cap_add: Some(spec.cap_add.clone()),
            sysctls: Some(spec.sysctls.clone().into_iter().collect()),
            network_mode: Some(network.to_string()),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(network.to_string(), endpoint)])),
        }),
        ..Default::default()
    };
    let options = CreateContainerOptions {
        name: Some(spec.name.clone()),
        ..Default::default()
    };
    docker
        .create_container(Some(options), body)
        .await
        .map_err(call("create", &spec.name))?;
    start(docker, &spec.name).await
}

fn endpoint(ip: Ipv4Addr, alias: &str) -> EndpointSettings {
    EndpointSettings {
        ipam_config: Some(EndpointIpamConfig {
            ipv4_address: Some(ip.to_string()),
            ..Default::default()
        }),
        aliases: Some(vec![alias.to_string()]),
        ..Default::default()
    }
}

/// `docker rm -f`.
pub async fn remove(docker: &Docker, name: &str) -> Result<(), DockerError> {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    docker
        .remove_container(name, Some(options))
        .await
        .map_err(call("rm", name))
}

/// `docker start`.
pub async fn start(docker: &Docker, name: &str) -> Result<(), DockerError> {
    docker
        .start_container(name, None)
        .await
        .map_err(call("start", name))
}

/// `docker kill` (SIGKILL: no goodbye to anyone).
pub async fn kill(docker: &Docker, name: &str) -> Result<(), DockerError> {
    let options = KillContainerOptions {
        signal: "SIGKILL".into(),
    };
    docker
        .kill_container(name, Some(options))
        .await
        .map_err(call("kill", name))
}

/// `docker exec NAME CMD...`: runs `cmd` in the running container and returns its exit
/// code and what it wrote (stdout and stderr together).
pub async fn exec(docker: &Docker, name: &str, cmd: &[&str]) -> Result<(i64, String), DockerError> {
    use testcontainers::bollard::exec::{CreateExecOptions, StartExecResults};
    let options = CreateExecOptions {
        cmd: Some(cmd.to_vec()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let created = docker
        .create_exec(name, options)
        .await
        .map_err(call("exec", name))?;
    let mut text = String::new();
    if let StartExecResults::Attached { mut output, .. } = docker
        .start_exec(&created.id, None)
        .await
        .map_err(call("exec", name))?
    {
        while let Some(chunk) = output.next().await {
            text.push_str(&chunk.map_err(call("exec", name))?.to_string());
        }
    }
    let inspected = docker
        .inspect_exec(&created.id)
        .await
        .map_err(call("exec", name))?;
    Ok((inspected.exit_code.unwrap_or(-1), text))
}

/// `docker pause`: every process frozen, sockets left open.
pub async fn pause(docker: &Docker, name: &str) -> Result<(), DockerError> {
    docker
        .pause_container(name)
        .await
        .map_err(call("pause", name))
}

/// `docker unpause`.
pub async fn unpause(docker: &Docker, name: &str) -> Result<(), DockerError> {
    docker
        .unpause_container(name)
        .await
        .map_err(call("unpause", name))
}

/// `docker network disconnect`: the container keeps running with no network.
pub async fn disconnect(docker: &Docker, network: &str, name: &str) -> Result<(), DockerError> {
    let request = NetworkDisconnectRequest {
        container: name.to_string(),
        force: Some(true),
    };
    docker
        .disconnect_network(network, request)
        .await
        .map_err(call("network disconnect", name))
}

/// `docker network connect` with the container's old address and alias.
pub async fn reconnect(
    docker: &Docker,
    network: &str,
    name: &str,
    ip: Ipv4Addr,
    alias: &str,
) -> Result<(), DockerError> {
    let request = NetworkConnectRequest {
        container: name.to_string(),
        endpoint_config: Some(endpoint(ip, alias)),
    };
    docker
        .connect_network(network, request)
        .await
        .map_err(call("network connect", name))
}

/// The last `lines` lines a container wrote, for a failure message.
pub async fn logs_tail(docker: &Docker, name: &str, lines: usize) -> String {
    let options = LogsOptions {
        stdout: true,
        stderr: true,
        tail: lines.to_string(),
        ..Default::default()
    };
    let mut stream = docker.logs(name, Some(options));
    let mut out = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        out.push_str(&chunk.to_string());
    }
    out
}

/// Which leftovers [`sweep`] removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sweep<'a> {
    /// Everything of one cluster.
    Cluster(&'a str),
    /// Everything this process made (on Ctrl-C).
    Mine,
    /// Everything whose owning process has gone: a crashed or interrupted earlier run.
    Orphans,
}

/// Removes the containers and networks `which` names.
pub async fn sweep(docker: &Docker, which: Sweep<'_>) -> Result<(), DockerError> {
    let filter = match which {
        Sweep::Cluster(c) => format!("{LABEL_CLUSTER}={c}"),
        Sweep::Mine => format!("{LABEL_OWNER}={}", std::process::id()),
        Sweep::Orphans => LABEL_MANAGED.to_string(),
    };
    let filters = HashMap::from([("label".to_string(), vec![filter])]);
    let mut first_error = None;
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters.clone()),
            ..Default::default()
        }))
        .await
        .map_err(call("ps", "kubeproof containers"))?;
    let chosen = |labels: Option<&HashMap<String, String>>| {
        which != Sweep::Orphans || labels.is_none_or(|l| !owner_alive(l.get(LABEL_OWNER)))
    };
    for c in containers {
        if !chosen(c.labels.as_ref()) {
            continue;
        }
        if let Some(id) = c.id {
            let options = RemoveContainerOptions {
                force: true,
                v: true,
                ..Default::default()
            };
            let removed = docker.remove_container(&id, Some(options)).await;
            // Keep going: one container that resists must not leave the others behind.
            if let Err(e) = removed.map_err(call("rm", &id))
                && !gone_already(&e)
            {
                first_error.get_or_insert(e);
            }
        }
    }
    let networks = docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(filters),
        }))
        .await
        .map_err(call("network ls", "kubeproof networks"))?;
    for n in networks {
        if !chosen(n.labels.as_ref()) {
            continue;
        }
        if let Some(id) = n.id {
            let removed = docker.remove_network(&id).await;
            if let Err(e) = removed.map_err(call("network rm", &id))
                && !gone_already(&e)
            {
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Another sweep (of this run, on Ctrl-C) got there first.
fn gone_already(e: &DockerError) -> bool {
    let text = e.to_string();
    ["No such container", "not found", "is already in progress"]
        .iter()
        .any(|m| text.contains(m))
}

/// Whether the process named by an owner label still runs.
fn owner_alive(owner: Option<&String>) -> bool {
    owner
        .and_then(|pid| pid.parse::<u32>().ok())
        .is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_that_is_gone_or_unreadable_is_not_alive() {
        assert!(owner_alive(Some(&std::process::id().to_string())));
        assert!(!owner_alive(Some(&"not-a-pid".to_string())));
        assert!(!owner_alive(None));
        assert!(!owner_alive(Some(&u32::MAX.to_string())));
    }

    #[test]
    fn every_object_is_labelled_with_its_kind_owner_and_cluster() {
        let l = labels("container", "kp-1");
        assert_eq!(l[LABEL_MANAGED], "container");
        assert_eq!(l[LABEL_CLUSTER], "kp-1");
        assert_eq!(l[LABEL_OWNER], std::process::id().to_string());
    }
}
