//! Authorization: every request is checked by the chain of authorizers
//! `--authorization-mode` names (upstream's `AlwaysAllow`, `Node`, `RBAC`; default
//! `Node,RBAC`), after the privileged group `system:masters`, which may do anything.
//!
//! Modules: [`attributes`] (what is decided on), [`rules`] (one rule's match),
//! [`rbac`] (rule resolution), [`source`] (the RBAC objects from the watch caches),
//! [`node`] (the Node authorizer), [`forbidden`] (upstream's 403), [`impersonation`],
//! [`reviews`] (access reviews) with [`selectors`], [`escalation`] and
//! [`noderestriction`] (admission).
//! Entry points: [`Authorizer::authorize`], and [`request_user`] for admission.

pub mod admission;
pub mod attributes;
pub mod escalation;
pub mod forbidden;
pub mod impersonation;
pub mod node;
pub mod noderestriction;
pub mod rbac;
pub mod reviews;
pub mod rules;
pub mod selectors;
pub mod source;

#[cfg(test)]
mod rbac_tests;

use attributes::Attributes;

use crate::auth::User;
use crate::watchcache::WatchCaches;

/// The group whose members every request is allowed (upstream's
/// `user.SystemPrivilegedGroup`).
pub const PRIVILEGED_GROUP: &str = "system:masters";

/// An authorizer's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny,
    /// Neither: the next authorizer decides; at the end of the chain it is a denial.
    NoOpinion,
}

/// A verdict and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub reason: String,
}

impl Decision {
    pub fn new(verdict: Verdict, reason: impl Into<String>) -> Self {
        Decision {
            verdict,
            reason: reason.into(),
        }
    }
    pub fn allowed(&self) -> bool {
        self.verdict == Verdict::Allow
    }
}

/// One `--authorization-mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    AlwaysAllow,
    AlwaysDeny,
    Node,
    Rbac,
}

/// Why `--authorization-mode` cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModeError {
    /// A mode upstream does not have, or one refkube does not implement (ABAC, Webhook).
    #[error("authorization-mode {0:?} is not a valid mode")]
    Invalid(String),
    /// The same mode twice.
    #[error("authorization-mode {0:?} has mode specified more than once")]
    Repeated(String),
    /// An empty list.
    #[error("at least one authorization-mode must be passed")]
    Empty,
}

impl Mode {
    /// Parses upstream's comma list (`Node,RBAC`).
    pub fn parse_list(s: &str) -> Result<Vec<Mode>, ModeError> {
        let mut out = Vec::new();
        for m in s.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            let mode = match m {
                "AlwaysAllow" => Mode::AlwaysAllow,
                "AlwaysDeny" => Mode::AlwaysDeny,
                "Node" => Mode::Node,
                "RBAC" => Mode::Rbac,
                other => return Err(ModeError::Invalid(other.into())),
            };
            if out.contains(&mode) {
                return Err(ModeError::Repeated(m.into()));
            }
            out.push(mode);
        }
        if out.is_empty() {
            return Err(ModeError::Empty);
        }
        Ok(out)
    }

    /// Upstream's default for clusters kubeadm sets up.
    pub fn defaults() -> Vec<Mode> {
        vec![Mode::Node, Mode::Rbac]
    }
}

/// The authorizer chain of one API server.
#[derive(Debug)]
pub struct Authorizer {
    modes: Vec<Mode>,
    policy: source::PolicyCache,
}

impl Authorizer {
    pub fn new(modes: Vec<Mode>) -> Self {
        Authorizer {
            modes,
            policy: source::PolicyCache::default(),
        }
    }

    pub fn modes(&self) -> &[Mode] {
        &self.modes
    }

    /// The current RBAC objects.
    pub fn policy(&self, caches: &WatchCaches) -> std::sync::Arc<rbac::Policy> {
        self.policy.get(caches)
    }

    /// Upstream's union authorizer behind the privileged group: the first Allow or
    /// Deny wins; otherwise no opinion, with every reason given on the way.
    pub fn authorize(&self, caches: &WatchCaches, a: &Attributes) -> Decision {
        self.authorize_with(caches, a, &self.policy(caches))
    }

    /// [`Authorizer::authorize`], and when that refuses under RBAC, again with the RBAC
    /// objects read from the store: a refusal is only given on the current rules.
    pub async fn authorize_consistent(
        &self,
        caches: &WatchCaches,
        store: &dyn refkube_store::Store,
        a: &Attributes,
    ) -> Decision {
        let d = self.authorize(caches, a);
        if d.allowed() || !self.modes.contains(&Mode::Rbac) {
            return d;
        }
        match source::from_store(store).await {
            Ok(fresh) => self.authorize_with(caches, a, &fresh),
            Err(_) => d,
        }
    }

    fn authorize_with(
        &self,
        caches: &WatchCaches,
        a: &Attributes,
        policy: &rbac::Policy,
    ) -> Decision {
        if a.user.groups.iter().any(|g| g == PRIVILEGED_GROUP) {
            return Decision::new(Verdict::Allow, "");
        }
        let mut reasons = Vec::new();
        for mode in &self.modes {
            let d = match mode {
                Mode::AlwaysAllow => Decision::new(Verdict::Allow, ""),
                Mode::AlwaysDeny => Decision::new(Verdict::Deny, "Everything is forbidden."),
                Mode::Node => node::authorize(caches, a),
                Mode::Rbac => policy.authorize(a),
            };
            if d.verdict != Verdict::NoOpinion {
                return d;
            }
            if !d.reason.is_empty() {
                reasons.push(d.reason);
            }
        }
        Decision::new(Verdict::NoOpinion, reasons.join("\n"))
    }
}

tokio::task_local! {
    /// The user of the request being served, for admission plugins that judge by it
    /// (upstream keeps it in the request's context). Unset for the server's own writes.
    static REQUEST_USER: User;
}

/// Runs `f` as a request of `user`.
pub async fn as_user<F: std::future::Future>(user: User, f: F) -> F::Output {
    REQUEST_USER.scope(user, f).await
}

/// The user of the request being served; None for the server's own writes (which,
/// like upstream's loopback client in `system:masters`, are never restricted).
pub fn request_user() -> Option<User> {
    REQUEST_USER.try_with(User::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_as_upstreams_flag() {
        assert_eq!(
            Mode::parse_list("Node,RBAC"),
            Ok(vec![Mode::Node, Mode::Rbac])
        );
        assert_eq!(Mode::parse_list("AlwaysAllow"), Ok(vec![Mode::AlwaysAllow]));
        assert_eq!(
            Mode::parse_list("RBAC,ABAC").unwrap_err().to_string(),
            r#"authorization-mode "ABAC" is not a valid mode"#
        );
        assert_eq!(
            Mode::parse_list("RBAC,RBAC").unwrap_err().to_string(),
            r#"authorization-mode "RBAC" has mode specified more than once"#
        );
        assert_eq!(Mode::parse_list(""), Err(ModeError::Empty));
    }
}
