//! Defaulting and mutating admission that needs no cluster state: upstream's
//! `SetDefaults_*` for each kind and the DefaultTolerationSeconds plugin.
//!
//! Entry point: [`apply_defaults`]. (ClusterIP allocation needs state and lives in the
//! API server.)

use crate::ResourceInfo;

/// Settings of the defaulting admission plugins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultsConfig {
    /// `--default-not-ready-toleration-seconds` (upstream 300).
    pub not_ready_toleration_seconds: i64,
    /// `--default-unreachable-toleration-seconds` (upstream 300).
    pub unreachable_toleration_seconds: i64,
}

impl Default for DefaultsConfig {
    fn default() -> Self {
        Self {
            not_ready_toleration_seconds: 300,
            unreachable_toleration_seconds: 300,
        }
    }
}

/// Fills in defaults on a create (and, where upstream does, an update) of `info`'s kind.
pub fn apply_defaults(_info: &ResourceInfo, _obj: &mut serde_json::Value, _cfg: &DefaultsConfig) {}
