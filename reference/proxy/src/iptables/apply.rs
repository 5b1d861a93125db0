//! Applying a ruleset to the kernel: jump rules with `iptables`, stale-chain discovery with
//! `iptables-save`, and the ruleset itself with `iptables-restore --noflush` (so chains that
//! are not kube-proxy's are left alone). Entry point: [`IptablesApplier::sync`].

use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::config::ProxyConfig;
use crate::iptables::hash::is_service_chain;
use crate::iptables::render::{
    KUBE_EXTERNAL_SERVICES, KUBE_FIREWALL, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_POSTROUTING,
    KUBE_PROXY_FIREWALL, KUBE_SERVICES, build_ruleset,
};
use crate::model::ProxyModel;

/// Failures running the iptables tools.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The binary is not installed (or not on `PATH`).
    #[error(
        "{binary} not found: install iptables or run the proxy with --dry-run or --mode userspace"
    )]
    BinaryMissing {
        /// The program that was run.
        binary: String,
    },
    /// The process lacks CAP_NET_ADMIN.
    #[error(
        "{binary} was denied permission (kube-proxy in iptables mode needs root / CAP_NET_ADMIN): {stderr}"
    )]
    Permission {
        /// The program that was run.
        binary: String,
        /// What it printed.
        stderr: String,
    },
    /// The tool ran and failed.
    #[error("{binary} failed ({status}): {stderr}")]
    Failed {
        /// The program that was run.
        binary: String,
        /// Its exit status.
        status: String,
        /// What it printed.
        stderr: String,
    },
    /// Any other I/O error starting or talking to the tool.
    #[error("running {binary}: {source}")]
    Io {
        /// The program that was run.
        binary: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl ApplyError {
    /// Errors that retrying will not fix (missing binary, no privileges).
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::BinaryMissing { .. } | Self::Permission { .. })
    }
}

/// A jump from a built-in chain into one of ours (upstream's `iptablesJumpChains`).
pub(super) struct Jump {
    pub(super) table: &'static str,
    pub(super) dst: &'static str,
    pub(super) src: &'static str,
    pub(super) comment: &'static str,
    pub(super) extra: &'static [&'static str],
}

impl Jump {
    /// The rule's arguments after the chain name.
    pub(super) fn rule(&self) -> Vec<&'static str> {
        let mut rule: Vec<&str> = self.extra.to_vec();
        if !self.comment.is_empty() {
            rule.extend(["-m", "comment", "--comment", self.comment]);
        }
        rule.extend(["-j", self.dst]);
        rule
    }
}

const NEW: &[&str] = &["-m", "conntrack", "--ctstate", "NEW"];

pub(super) const JUMPS: &[Jump] = &[
    Jump {
        table: "filter",
        dst: KUBE_EXTERNAL_SERVICES,
        src: "INPUT",
        comment: "kubernetes externally-visible service portals",
        extra: NEW,
    },
    Jump {
        table: "filter",
        dst: KUBE_EXTERNAL_SERVICES,
        src: "FORWARD",
        comment: "kubernetes externally-visible service portals",
        extra: NEW,
    },
    Jump {
        table: "filter",
        dst: KUBE_NODEPORTS,
        src: "INPUT",
        comment: "kubernetes health check service ports",
        extra: &[],
    },
    Jump {
        table: "filter",
        dst: KUBE_SERVICES,
        src: "FORWARD",
        comment: "kubernetes service portals",
        extra: NEW,
    },
    Jump {
        table: "filter",
        dst: KUBE_SERVICES,
        src: "OUTPUT",
        comment: "kubernetes service portals",
        extra: NEW,
    },
    Jump {
        table: "filter",
        dst: KUBE_FORWARD,
        src: "FORWARD",
        comment: "kubernetes forwarding rules",
        extra: &[],
    },
    Jump {
        table: "filter",
        dst: KUBE_PROXY_FIREWALL,
        src: "INPUT",
        comment: "kubernetes load balancer firewall",
        extra: NEW,
    },
    Jump {
        table: "filter",
        dst: KUBE_PROXY_FIREWALL,
        src: "OUTPUT",
        comment: "kubernetes load balancer firewall",
        extra: NEW,
    },
    Jump {
        table: "filter",
        dst: KUBE_PROXY_FIREWALL,
        src: "FORWARD",
        comment: "kubernetes load balancer firewall",
        extra: NEW,
    },
    Jump {
        table: "nat",
        dst: KUBE_SERVICES,
        src: "OUTPUT",
        comment: "kubernetes service portals",
        extra: &[],
    },
    Jump {
        table: "nat",
        dst: KUBE_SERVICES,
        src: "PREROUTING",
        comment: "kubernetes service portals",
        extra: &[],
    },
    Jump {
        table: "nat",
        dst: KUBE_POSTROUTING,
        src: "POSTROUTING",
        comment: "kubernetes postrouting rules",
        extra: &[],
    },
    Jump {
        table: "filter",
        dst: KUBE_FIREWALL,
        src: "INPUT",
        comment: "",
        extra: &[],
    },
    Jump {
        table: "filter",
        dst: KUBE_FIREWALL,
        src: "OUTPUT",
        comment: "",
        extra: &[],
    },
];

/// Output of one tool run.
pub(super) struct Output {
    pub(super) success: bool,
    pub(super) status: String,
    pub(super) stdout: String,
    pub(super) stderr: String,
}

pub(super) async fn run_tool(
    binary: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<Output, ApplyError> {
    let mut cmd = Command::new(binary);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ApplyError::BinaryMissing {
            binary: binary.into(),
        },
        std::io::ErrorKind::PermissionDenied => ApplyError::Permission {
            binary: binary.into(),
            stderr: e.to_string(),
        },
        _ => ApplyError::Io {
            binary: binary.into(),
            source: e,
        },
    })?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A tool that exits early closes its stdin; its exit status says why, so a
        // broken pipe here is not the error to report.
        match pipe.write_all(input.as_bytes()).await {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(ApplyError::Io {
                    binary: binary.into(),
                    source: e,
                });
            }
            _ => {}
        }
        drop(pipe);
    }
    let out = child.wait_with_output().await.map_err(|e| ApplyError::Io {
        binary: binary.into(),
        source: e,
    })?;
    Ok(Output {
        success: out.status.success(),
        status: out.status.to_string(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}

/// Turn a failed run into the right error: permission problems are told apart.
pub(super) fn failure(binary: &str, out: Output) -> ApplyError {
    let lower = out.stderr.to_lowercase();
    if lower.contains("permission denied")
        || lower.contains("must be root")
        || lower.contains("operation not permitted")
    {
        ApplyError::Permission {
            binary: binary.into(),
            stderr: out.stderr,
        }
    } else {
        ApplyError::Failed {
            binary: binary.into(),
            status: out.status,
            stderr: out.stderr,
        }
    }
}

/// Chain names declared in `iptables-save` output.
pub fn chains_in_save(save: &str) -> Vec<String> {
    save.lines()
        .filter_map(|l| l.strip_prefix(':'))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Runs the iptables tools for one proxier.
#[derive(Debug)]
pub struct IptablesApplier {
    config: ProxyConfig,
    /// When the jump rules were last checked. Upstream re-checks them when its canary
    /// chain shows the tables were flushed (polled every syncPeriod); we re-check every
    /// syncPeriod, and after any failed sync.
    jumps_checked: std::sync::Mutex<Option<std::time::Instant>>,
}

impl IptablesApplier {
    /// An applier using the binaries named in `config`.
    pub fn new(config: ProxyConfig) -> Self {
        Self {
            config,
            jumps_checked: std::sync::Mutex::new(None),
        }
    }

    fn jumps_due(&self) -> bool {
        let checked = *self.jumps_checked.lock().unwrap_or_else(|p| p.into_inner());
        checked.is_none_or(|t| t.elapsed() >= self.config.sync_period)
    }

    fn set_jumps_checked(&self, at: Option<std::time::Instant>) {
        *self.jumps_checked.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    /// Make sure our chains exist and the built-in chains jump to them
    /// (`EnsureChain` + `EnsureRule(Prepend, ...)` upstream).
    pub async fn ensure_jump_rules(&self) -> Result<(), ApplyError> {
        // Check-then-insert is not atomic: the proxies of one process (`refkube up`'s
        // nodes share the machine) take turns, or each would insert its own jumps.
        static CHECKING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _turn = CHECKING.lock().await;
        let bin = self.config.iptables_path.as_str();
        for j in JUMPS {
            let created = run_tool(bin, &["-w", "-t", j.table, "-N", j.dst], None).await?;
            // Exit status 1 with "exists" means the chain was already there.
            if !created.success && !created.stderr.to_lowercase().contains("exist") {
                return Err(failure(bin, created));
            }
            let rule = j.rule();
            let mut check = vec!["-w", "-t", j.table, "-C", j.src];
            check.extend(&rule);
            if run_tool(bin, &check, None).await?.success {
                continue;
            }
            let mut insert = vec!["-w", "-t", j.table, "-I", j.src];
            insert.extend(&rule);
            let out = run_tool(bin, &insert, None).await?;
            if !out.success {
                return Err(failure(bin, out));
            }
        }
        Ok(())
    }

    /// The nat chains that exist now (`iptables-save -t nat`).
    pub async fn existing_nat_chains(&self) -> Result<Vec<String>, ApplyError> {
        let bin = self.config.iptables_save_path.as_str();
        let out = run_tool(bin, &["-t", "nat"], None).await?;
        if !out.success {
            return Err(failure(bin, out));
        }
        Ok(chains_in_save(&out.stdout))
    }

    /// Feed `input` to `iptables-restore --noflush`.
    pub async fn restore(&self, input: &str) -> Result<(), ApplyError> {
        let bin = self.config.iptables_restore_path.as_str();
        let out = run_tool(bin, &["-w", "--noflush", "--counters"], Some(input)).await?;
        if out.success {
            Ok(())
        } else {
            Err(failure(bin, out))
        }
    }

    /// One full sync: jump rules, the ruleset, and deletion of per-service chains that no
    /// longer exist in the model. Returns the restore input that was applied.
    pub async fn sync(&self, model: &ProxyModel) -> Result<String, ApplyError> {
        let result = self.sync_inner(model).await;
        if result.is_err() {
            self.set_jumps_checked(None);
        }
        result
    }

    async fn sync_inner(&self, model: &ProxyModel) -> Result<String, ApplyError> {
        if self.jumps_due() {
            self.ensure_jump_rules().await?;
            self.set_jumps_checked(Some(std::time::Instant::now()));
        }
        let mut rs = build_ruleset(model, &self.config);
        match self.existing_nat_chains().await {
            Ok(existing) => {
                let stale: Vec<&String> = existing
                    .iter()
                    .filter(|c| is_service_chain(c) && !rs.nat.has_chain(c))
                    .collect();
                for c in stale {
                    rs.nat.delete_chain(c);
                }
            }
            // As upstream: stale chains are harmless (nothing jumps to them); go on.
            Err(e) => {
                tracing::warn!(error = %e, "iptables-save failed; stale chains will not be deleted")
            }
        }
        let input = rs.to_restore_input();
        self.restore(&input).await?;
        Ok(input)
    }
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
