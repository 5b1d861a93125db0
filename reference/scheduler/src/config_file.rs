//! The part of upstream's `KubeSchedulerConfiguration` (kubescheduler.config.k8s.io/v1,
//! the file given to `--config`) the reference honours: `percentageOfNodesToScore`,
//! globally and per profile, and one profile's `schedulerName` and disabled plugins.
//! Fields it does not implement are refused rather than silently ignored. Entry point:
//! [`KubeSchedulerConfiguration::apply`].

use serde::Deserialize;

use crate::config::{ConfigError, SchedulerConfig};

/// The only API version accepted.
pub const API_VERSION: &str = "kubescheduler.config.k8s.io/v1";
/// The only kind accepted.
pub const KIND: &str = "KubeSchedulerConfiguration";

/// A `KubeSchedulerConfiguration` document.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubeSchedulerConfiguration {
    /// Must be [`API_VERSION`].
    pub api_version: String,
    /// Must be [`KIND`].
    pub kind: String,
    /// Share of nodes to find feasible before scoring (0 or absent: adaptive).
    pub percentage_of_nodes_to_score: Option<u32>,
    /// The scheduling profiles (the reference runs at most one).
    #[serde(default)]
    pub profiles: Vec<Profile>,
}

/// One `KubeSchedulerProfile`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Profile {
    /// Pods with this `spec.schedulerName` use the profile.
    pub scheduler_name: Option<String>,
    /// Overrides the global percentage for this profile.
    pub percentage_of_nodes_to_score: Option<u32>,
    /// Plugin switches (only `multiPoint.disabled` is honoured).
    pub plugins: Option<Plugins>,
}

/// A profile's `plugins`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plugins {
    /// Plugins for every extension point.
    pub multi_point: Option<PluginSet>,
}

/// `enabled` / `disabled` plugin lists.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PluginSet {
    /// Plugins switched off, by name.
    #[serde(default)]
    pub disabled: Vec<PluginRef>,
}

/// A plugin named in a set.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PluginRef {
    /// The plugin's name.
    pub name: String,
}

/// Why a configuration file cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigFileError {
    /// Wrong apiVersion or kind.
    #[error("expected apiVersion {API_VERSION} and kind {KIND}, got {0:?} and {1:?}")]
    Type(String, String),
    /// More than one profile.
    #[error("the reference scheduler runs one profile; the configuration has {0}")]
    Profiles(usize),
    /// A value is out of range (upstream's validation wording).
    #[error("{field}: Invalid value: {value}: not in valid range [0-100]")]
    Percentage {
        /// The field path.
        field: String,
        /// The value.
        value: u32,
    },
    /// The resulting configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl KubeSchedulerConfiguration {
    /// `config` with this file's settings applied; a profile's
    /// `percentageOfNodesToScore` wins over the global one, as upstream.
    pub fn apply(&self, mut config: SchedulerConfig) -> Result<SchedulerConfig, ConfigFileError> {
        if self.api_version != API_VERSION || self.kind != KIND {
            return Err(ConfigFileError::Type(
                self.api_version.clone(),
                self.kind.clone(),
            ));
        }
        if self.profiles.len() > 1 {
            return Err(ConfigFileError::Profiles(self.profiles.len()));
        }
        check_percentage(
            "percentageOfNodesToScore",
            self.percentage_of_nodes_to_score,
        )?;
        if let Some(p) = self.percentage_of_nodes_to_score {
            config.percentage_of_nodes_to_score = Some(p);
        }
        if let Some(profile) = self.profiles.first() {
            check_percentage(
                "profiles[0].percentageOfNodesToScore",
                profile.percentage_of_nodes_to_score,
            )?;
            if let Some(p) = profile.percentage_of_nodes_to_score {
                config.percentage_of_nodes_to_score = Some(p);
            }
            if let Some(name) = &profile.scheduler_name {
                config.scheduler_name = name.clone();
            }
            let disabled = profile
                .plugins
                .iter()
                .flat_map(|p| p.multi_point.iter())
                .flat_map(|m| m.disabled.iter());
            for plugin in disabled {
                config.disabled_plugins.push(plugin.name.clone());
            }
        }
        config.validate()?;
        Ok(config)
    }
}

fn check_percentage(field: &str, value: Option<u32>) -> Result<(), ConfigFileError> {
    match value {
        Some(v) if v > 100 => Err(ConfigFileError::Percentage {
            field: field.to_string(),
            value: v,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> KubeSchedulerConfiguration {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_profile_percentage_wins_over_the_global_one() {
        let base = json!({"apiVersion": API_VERSION, "kind": KIND, "percentageOfNodesToScore": 30});
        let c = parse(base.clone())
            .apply(SchedulerConfig::default())
            .unwrap();
        assert_eq!(c.percentage_of_nodes_to_score, Some(30));
        let mut with_profile = base;
        with_profile["profiles"] = json!([{"schedulerName": "s", "percentageOfNodesToScore": 70,
            "plugins": {"multiPoint": {"disabled": [{"name": "TaintToleration"}]}}}]);
        let c = parse(with_profile)
            .apply(SchedulerConfig::default())
            .unwrap();
        assert_eq!(c.percentage_of_nodes_to_score, Some(70));
        assert_eq!(c.scheduler_name, "s");
        assert_eq!(c.disabled_plugins, vec!["TaintToleration".to_string()]);
    }

    #[test]
    fn bad_files_are_refused_with_clear_errors() {
        let e = parse(json!({"apiVersion": API_VERSION, "kind": KIND,
            "profiles": [{"percentageOfNodesToScore": 101}]}))
        .apply(SchedulerConfig::default())
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "profiles[0].percentageOfNodesToScore: Invalid value: 101: not in valid range [0-100]"
        );
        let e = parse(json!({"apiVersion": "v1", "kind": KIND}))
            .apply(SchedulerConfig::default())
            .unwrap_err();
        assert!(matches!(e, ConfigFileError::Type(..)));
        let e = parse(json!({"apiVersion": API_VERSION, "kind": KIND, "profiles": [{}, {}]}))
            .apply(SchedulerConfig::default())
            .unwrap_err();
        assert_eq!(e, ConfigFileError::Profiles(2));
        let unknown = serde_json::from_value::<KubeSchedulerConfiguration>(
            json!({"apiVersion": API_VERSION, "kind": KIND, "parallelism": 16}),
        )
        .unwrap_err();
        assert!(unknown.to_string().contains("unknown field `parallelism`"));
    }
}
