//! The pod network: how a pod sandbox gets its IP and how pods reach each other. Entry
//! points: [`PodNetwork`] (the two modes), [`preflight`] and [`enable_forwarding`] (what
//! the kubelet checks and sets once), [`ptp`] (the veth set-up of one pod), [`routes`] /
//! [`route_sync`] (routes to other machines' pods), [`run`] / [`output`] (how all of them
//! run `ip`).
//!
//! Upstream leaves this to a CNI plugin; the reference has two built in:
//!
//! - `loopback` (the default, no privileges): every pod IP is a loopback address and all
//!   pods share the machine's network stack. Containers meet on the pod IP, not on
//!   `localhost` (see the crate docs).
//! - `netns` (needs root): the sandbox holds its own network, UTS and IPC namespaces,
//!   every container of the pod joins them, and a veth pair connects the namespace to the
//!   machine, as the CNI `ptp` plugin does: the pod's `eth0` has the pod IP and a
//!   default route via the node's gateway address (the first address of its pod CIDR,
//!   held by the machine's end of the veth), and the machine routes the pod IP to that
//!   veth. Containers of a pod reach each other on `localhost`, and every pod reaches
//!   every other one by IP, across nodes, without NAT, since all nodes' routes live in
//!   one network namespace. When each node is a machine (or container) of its own, the
//!   [`route_sync`] task adds, as kind's kindnetd does, a route to every other node's pod
//!   CIDR via that node's InternalIP, so a pod's packets leave through the node's own
//!   interface with the pod IP as their source. Each pod's traffic is also accepted in
//!   the `FORWARD` chain as the CNI `firewall` plugin does ([`firewall`]), so a machine
//!   whose `FORWARD` policy is `DROP` (Docker sets it) still forwards it.

pub mod firewall;
pub mod ptp;
pub mod route_sync;
pub mod routes;

use std::path::{Path, PathBuf};

/// How pods are networked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PodNetwork {
    /// Pod IPs are loopback addresses on the machine's own network stack.
    #[default]
    Loopback,
    /// Each pod sandbox has its own network namespace joined to the machine by a veth.
    Netns,
}

impl std::str::FromStr for PodNetwork {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "loopback" => Ok(PodNetwork::Loopback),
            "netns" => Ok(PodNetwork::Netns),
            other => Err(format!(
                "unknown pod network {other:?} (expected loopback or netns)"
            )),
        }
    }
}

impl std::fmt::Display for PodNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PodNetwork::Loopback => "loopback",
            PodNetwork::Netns => "netns",
        })
    }
}

/// Errors from setting up pod networking.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum NetworkError {
    /// Namespaces and veth pairs need root (CAP_SYS_ADMIN and CAP_NET_ADMIN).
    #[error(
        "--pod-network netns needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) to create network namespaces and veth pairs; run as root or use --pod-network loopback"
    )]
    NotPrivileged,
    /// A program the set-up runs is not installed.
    #[error("--pod-network netns needs {tool:?} ({package}), which is not on PATH")]
    MissingTool {
        /// The program.
        tool: &'static str,
        /// The Debian package that has it.
        package: &'static str,
    },
    /// A set-up command failed.
    #[error("{what}: {message}")]
    Command {
        /// What was being done.
        what: String,
        /// The command's error output.
        message: String,
    },
}

/// The programs the `netns` mode runs, with the Debian packages that have them.
pub const TOOLS: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("unshare", "util-linux"),
    ("nsenter", "util-linux"),
    ("hostname", "hostname"),
    ("iptables", "iptables"),
];

/// Whether `program` is an executable on this process's `PATH`.
pub fn installed(program: &str) -> bool {
    on_path(program, &std::env::var_os("PATH").unwrap_or_default()).is_some()
}

/// Where `program` is as an executable file in one of the `path` directories.
fn on_path(program: &str, path: &std::ffi::OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Checks that the `netns` mode can work here: root, and the programs it runs.
pub fn preflight() -> Result<(), NetworkError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(NetworkError::NotPrivileged);
    }
    for (tool, package) in TOOLS {
        if !installed(tool) {
            return Err(NetworkError::MissingTool { tool, package });
        }
    }
    Ok(())
}

/// Turns on IPv4 forwarding in this network namespace, which pod-to-pod traffic between
/// veths needs (as every Kubernetes node requires `net.ipv4.ip_forward=1`).
pub fn enable_forwarding() -> Result<(), NetworkError> {
    const KNOB: &str = "/proc/sys/net/ipv4/ip_forward";
    match std::fs::read_to_string(KNOB) {
        Ok(v) if v.trim() == "1" => Ok(()),
        // Docker mounts /proc/sys read-only even with CAP_NET_ADMIN, so a node container
        // can only get the setting from the engine, at creation.
        _ => std::fs::write(KNOB, "1").map_err(|e| NetworkError::Command {
            what: format!("enabling IPv4 forwarding ({KNOB})"),
            message: format!("{e} (in a container, create it with --sysctl net.ipv4.ip_forward=1)"),
        }),
    }
}

/// Runs `program args`, feeding it `stdin`; an error says `what` was being done and
/// carries the program's stderr.
pub async fn run(
    what: impl Into<String>,
    program: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<(), NetworkError> {
    output(what, program, args, stdin).await.map(drop)
}

/// As [`run`], returning what the program printed on stdout (for `ip -json ...`).
pub async fn output(
    what: impl Into<String>,
    program: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<String, NetworkError> {
    use tokio::io::AsyncWriteExt;
    let what = what.into();
    let fail = |message: String| NetworkError::Command {
        what: what.clone(),
        message,
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| fail(format!("{program}: {e}")))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .await
            .map_err(|e| fail(format!("writing to {program}: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| fail(format!("{program}: {e}")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(fail(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_from_their_flag_names_and_print_back() {
        for mode in [PodNetwork::Loopback, PodNetwork::Netns] {
            assert_eq!(mode.to_string().parse::<PodNetwork>(), Ok(mode));
        }
        assert!("bridge".parse::<PodNetwork>().is_err());
    }

    #[test]
    fn programs_are_found_on_path_only_when_executable() {
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        let path = std::env::join_paths([dir.path()]).unwrap();
        assert_eq!(on_path("tool", &path), None);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(on_path("tool", &path), Some(tool));
        assert_eq!(on_path("missing", &path), None);
    }
}
