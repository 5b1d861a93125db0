//! The `kubeconfig` target: any cluster a kubeconfig points at.
//!
//! Entry point: [`KubeconfigTarget::connect`]. Faults come only from the user's hook
//! commands (`--hook NAME=COMMAND`); a scenario needing a fault without its hook is skipped
//! with the reason naming the missing hook.

use std::collections::BTreeMap;
use std::path::PathBuf;

use async_trait::async_trait;
use kube::config::{KubeConfigOptions, Kubeconfig};

use super::{Capability, Fault, Session, SessionNeeds, Target, TargetError};

/// Every hook a user may provide, and what it does. Each command runs with `sh -c`, the
/// fault described by `KUBEPROOF_*` environment variables (see the README).
pub const HOOKS: &[(&str, &str)] = &[
    (
        "stop-component",
        "stop $KUBEPROOF_COMPONENT (instance $KUBEPROOF_INSTANCE, empty = the leader)",
    ),
    (
        "start-component",
        "start $KUBEPROOF_COMPONENT instance $KUBEPROOF_INSTANCE again",
    ),
    (
        "partition-component",
        "cut $KUBEPROOF_COMPONENT off from the API server",
    ),
    ("heal-component", "undo partition-component"),
    (
        "lose-node",
        "stop node $KUBEPROOF_NODE's kubelet without telling the API server",
    ),
    ("restore-node", "bring node $KUBEPROOF_NODE back"),
    (
        "partition-node",
        "cut node $KUBEPROOF_NODE off from the network",
    ),
    ("heal-node", "reconnect node $KUBEPROOF_NODE"),
    (
        "stop-apiserver-replica",
        "stop API server replica $KUBEPROOF_INDEX",
    ),
    (
        "start-apiserver-replica",
        "start API server replica $KUBEPROOF_INDEX again",
    ),
    (
        "stop-store-member",
        "stop store (etcd) member $KUBEPROOF_INDEX",
    ),
    (
        "start-store-member",
        "start store (etcd) member $KUBEPROOF_INDEX again, with its data",
    ),
    ("compact", "compact the store up to its current revision"),
    (
        "place-static-pod",
        "write $KUBEPROOF_MANIFEST as $KUBEPROOF_FILE in node $KUBEPROOF_NODE's manifest dir",
    ),
    (
        "remove-static-pod",
        "remove $KUBEPROOF_FILE from node $KUBEPROOF_NODE's manifest dir",
    ),
    ("proxy-mode", "run kube-proxy in mode $KUBEPROOF_MODE"),
    (
        "audit-log",
        "print the API server's audit log (JSON lines) on stdout",
    ),
];

/// Configuration of the kubeconfig target.
#[derive(Clone, Debug, Default)]
pub struct KubeconfigConfig {
    /// The kubeconfig file; `None` means `$KUBECONFIG` or `~/.kube/config`.
    pub path: Option<PathBuf>,
    /// The context to use; `None` means the current context.
    pub context: Option<String>,
    /// Hook name → shell command.
    pub hooks: BTreeMap<String, String>,
    /// The user accepts scenarios that change cluster-wide state.
    pub allow_disruptive: bool,
}

impl KubeconfigConfig {
    /// Adds a hook from a `NAME=COMMAND` argument.
    pub fn hook(mut self, arg: &str) -> Result<Self, TargetError> {
        let names = || HOOKS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
        let (name, cmd) = arg
            .split_once('=')
            .ok_or_else(|| TargetError::BadHook(arg.into(), names()))?;
        if !HOOKS.iter().any(|(n, _)| *n == name) || cmd.trim().is_empty() {
            return Err(TargetError::BadHook(arg.into(), names()));
        }
        self.hooks.insert(name.into(), cmd.into());
        Ok(self)
    }
}

/// A cluster reached through a kubeconfig.
pub struct KubeconfigTarget {
    config: KubeconfigConfig,
    client: kube::Client,
    /// Why the nodes cannot share a network namespace between a Pod's containers, when
    /// they say so (refkube's process runtime reports `process://`).
    no_shared_netns: Option<String>,
}

impl KubeconfigTarget {
    /// Reads the kubeconfig and builds a client (no request is made yet).
    pub async fn connect(config: KubeconfigConfig) -> Result<Self, TargetError> {
        let kubeconfig = match &config.path {
            Some(p) => Kubeconfig::read_from(p)
                .map_err(|e| TargetError::Kubeconfig(format!("reading {}: {e}", p.display())))?,
            None => Kubeconfig::read().map_err(|e| TargetError::Kubeconfig(e.to_string()))?,
        };
        let options = KubeConfigOptions {
            context: config.context.clone(),
            ..KubeConfigOptions::default()
        };
        let mut cfg = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| TargetError::Kubeconfig(e.to_string()))?;
        // The scenarios judge the API server's own answers (a 503, a 429), which the
        // client's default retries would hide.
        cfg.default_retry = false;
        let client =
            kube::Client::try_from(cfg).map_err(|e| TargetError::Kubeconfig(e.to_string()))?;
        let no_shared_netns = process_runtime_nodes(&client).await;
        Ok(Self {
            config,
            client,
            no_shared_netns,
        })
    }

    fn missing_hooks(&self, hooks: &[&str]) -> Option<String> {
        let missing: Vec<&str> = hooks
            .iter()
            .copied()
            .filter(|h| !self.config.hooks.contains_key(*h))
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "the kubeconfig target needs hook(s) {} (pass --hook NAME=COMMAND)",
                missing.join(", ")
            )
        })
    }
}

/// Nodes whose container runtime is refkube's `process` runtime with the `loopback` pod
/// network run a Pod's containers as processes that share no network namespace; a
/// cluster whose nodes all say so lacks that capability (with `refkube.io/pod-network:
/// netns` they do share one). Best effort: if nodes cannot be listed, nothing is assumed.
async fn process_runtime_nodes(client: &kube::Client) -> Option<String> {
    let nodes: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(client.clone());
    let list = nodes.list(&Default::default()).await.ok()?;
    let loopback = |n: &k8s_openapi::api::core::v1::Node| {
        let runtime = n
            .status
            .as_ref()
            .and_then(|s| s.node_info.as_ref())
            .map(|i| i.container_runtime_version.as_str())
            .unwrap_or_default();
        let network = n
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("refkube.io/pod-network"))
            .map(String::as_str);
        runtime.starts_with("process://") && network != Some("netns")
    };
    (!list.items.is_empty() && list.items.iter().all(loopback)).then(|| {
        "the cluster's nodes run refkube's process runtime with the loopback pod network, where a pod's containers share no network namespace (start it with --pod-network netns)".to_string()
    })
}

#[async_trait]
impl Target for KubeconfigTarget {
    fn name(&self) -> &str {
        "kubeconfig"
    }

    fn lacks(&self, cap: Capability) -> Option<String> {
        match cap {
            // A real cluster runs every component; a missing one shows up as a failure.
            Capability::Scheduler
            | Capability::Controllers
            | Capability::Nodes
            | Capability::Proxy
            | Capability::Slow
            | Capability::Ping => None,
            // Both need a pod to have namespaces of its own (net and mount).
            Capability::SharedNetns | Capability::InClusterKubectl => self.no_shared_netns.clone(),
            Capability::Disruptive if !self.config.allow_disruptive => Some(
                "disruptive scenarios change cluster-wide state; pass --allow-disruptive".into(),
            ),
            Capability::Disruptive => None,
            Capability::ReferenceOnly => Some("the scenario checks a reference-only detail".into()),
            Capability::Containers => Some("the scenario needs the containers target".into()),
            Capability::AuditLog => self.missing_hooks(&["audit-log"]),
            Capability::StopComponent => self.missing_hooks(&["stop-component", "start-component"]),
            Capability::PartitionComponent => {
                self.missing_hooks(&["partition-component", "heal-component"])
            }
            Capability::LoseNode => self.missing_hooks(&["lose-node", "restore-node"]),
            Capability::PartitionNode => self.missing_hooks(&["partition-node", "heal-node"]),
            Capability::StopApiServerReplica => {
                self.missing_hooks(&["stop-apiserver-replica", "start-apiserver-replica"])
            }
            Capability::StopStoreMember => {
                self.missing_hooks(&["stop-store-member", "start-store-member"])
            }
            Capability::Compact => self.missing_hooks(&["compact"]),
            Capability::StaticPods => {
                self.missing_hooks(&["place-static-pod", "remove-static-pod"])
            }
            Capability::ProxyModes => self.missing_hooks(&["proxy-mode"]),
            Capability::KillSandbox => self.missing_hooks(&["kill-pod-sandbox"]),
            Capability::OnlyFakeNodes => Some(
                "the scenario needs a cluster whose only nodes are the fake ones it registers; a kubeconfig cluster has its own".into(),
            ),
        }
    }

    async fn session(&self, _needs: &SessionNeeds) -> Result<Box<dyn Session>, TargetError> {
        Ok(Box::new(KubeconfigSession {
            client: self.client.clone(),
            hooks: self.config.hooks.clone(),
        }))
    }

    async fn shutdown(&self) {}
}

struct KubeconfigSession {
    client: kube::Client,
    hooks: BTreeMap<String, String>,
}

impl KubeconfigSession {
    async fn run_hook(&self, name: &str, env: Vec<(&str, String)>) -> Result<String, TargetError> {
        let cmd = self
            .hooks
            .get(name)
            .ok_or_else(|| TargetError::FaultUnsupported(format!("no `{name}` hook")))?;
        let out = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .envs(env)
            .output()
            .await
            .map_err(|e| TargetError::Hook {
                hook: name.into(),
                message: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(TargetError::Hook {
                hook: name.into(),
                message: format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr)),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

#[async_trait]
impl Session for KubeconfigSession {
    fn client(&self) -> kube::Client {
        self.client.clone()
    }

    async fn inject(&self, fault: &Fault) -> Result<(), TargetError> {
        self.run_hook(fault.hook_name(), fault.env())
            .await
            .map(|_| ())
    }

    async fn audit_log(&self) -> Result<Vec<serde_json::Value>, TargetError> {
        let out = self.run_hook("audit-log", vec![]).await?;
        out.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).map_err(|e| TargetError::Hook {
                    hook: "audit-log".into(),
                    message: format!("not a JSON audit event ({e}): {l}"),
                })
            })
            .collect()
    }

    async fn release(self: Box<Self>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hook_argument_needs_a_known_name_and_a_command() {
        let cfg = KubeconfigConfig::default().hook("lose-node=docker stop $KUBEPROOF_NODE");
        assert_eq!(
            cfg.unwrap().hooks.get("lose-node").map(String::as_str),
            Some("docker stop $KUBEPROOF_NODE")
        );
        let err = KubeconfigConfig::default()
            .hook("explode=rm -rf /")
            .unwrap_err();
        assert!(err.to_string().contains("expected NAME=COMMAND"), "{err}");
        assert!(KubeconfigConfig::default().hook("compact").is_err());
        assert!(KubeconfigConfig::default().hook("compact= ").is_err());
    }
}
