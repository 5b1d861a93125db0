//! The performance file (`--perf-json`, and every saved baseline): a stable, documented
//! JSON schema, `kubeproof.io/perf/v1`.
//!
//! Entry points: [`PerfFile::from_results`], [`PerfFile::write`], [`PerfFile::read`]. The
//! schema is described field by field in `harness/README.md`; a change that is not purely
//! additive gets a new schema name.

use std::path::Path;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

use super::Measurement;
use crate::report::{Results, Status};

/// The schema name every file carries.
pub const SCHEMA: &str = "kubeproof.io/perf/v1";

/// The directory (under the features directory) whose scenarios are performance checks:
/// their skips are listed in the file as measurements not taken.
pub const AREA: &str = "performance/";

/// A performance scenario the target could not run, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotTaken {
    /// The scenario.
    pub scenario: String,
    /// Its feature file.
    pub feature: String,
    /// Why it was skipped.
    pub reason: String,
}

/// Every measurement of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerfFile {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The target's name (`embedded`, `kubeconfig`, `containers`...).
    pub target: String,
    /// When the file was written (RFC 3339, UTC).
    pub date: String,
    /// The commit measured: `$KUBEPROOF_COMMIT`, else `git rev-parse HEAD` in the current
    /// directory, else `null`.
    pub commit: Option<String>,
    /// The `--perf-scale` factor the sizes were multiplied by.
    pub scale: f64,
    /// Every measurement, in feature order.
    pub measurements: Vec<Measurement>,
    /// Performance scenarios that were skipped, with the reason.
    #[serde(default)]
    pub not_taken: Vec<NotTaken>,
}

/// The commit being measured, if it can be told.
fn commit() -> Option<String> {
    if let Ok(c) = std::env::var("KUBEPROOF_COMMIT")
        && !c.trim().is_empty()
    {
        return Some(c.trim().to_string());
    }
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

impl PerfFile {
    /// The file for a finished run whose sizes were scaled by `scale`.
    pub fn from_results(results: &Results, scale: f64) -> Self {
        let sorted = results.sorted();
        Self {
            schema: SCHEMA.into(),
            target: results.target.clone(),
            date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            commit: commit(),
            scale,
            measurements: sorted
                .iter()
                .flat_map(|r| r.measurements.iter().cloned())
                .collect(),
            not_taken: sorted
                .iter()
                .filter(|r| r.status == Status::Skipped && r.path.starts_with(AREA))
                .map(|r| NotTaken {
                    scenario: r.name.clone(),
                    feature: r.path.clone(),
                    reason: r.message.clone().unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// Writes the file (pretty JSON).
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
    }

    /// Reads a file, refusing one of another schema.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let file: Self = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a kubeproof performance file", path.display()))?;
        if file.schema != SCHEMA {
            bail!(
                "{} has schema {:?}; this kubeproof reads {SCHEMA:?}",
                path.display(),
                file.schema
            );
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ScenarioResult;

    fn scenario(path: &str, status: Status, measurements: Vec<Measurement>) -> ScenarioResult {
        ScenarioResult {
            feature: "f".into(),
            path: path.into(),
            name: "s".into(),
            line: 3,
            status,
            message: Some("@fake-nodes: not here".into()),
            duration: Default::default(),
            steps: vec![],
            trace: None,
            measurements,
        }
    }

    #[test]
    fn a_file_round_trips_and_lists_skipped_performance_scenarios() {
        let results = Results {
            target: "embedded".into(),
            scenarios: vec![
                scenario(
                    "performance/startup.feature",
                    Status::Passed,
                    vec![Measurement::latency("pod startup latency", vec![1.0, 2.0])],
                ),
                scenario("performance/throughput.feature", Status::Skipped, vec![]),
                scenario("apiserver/crud.feature", Status::Skipped, vec![]),
            ],
            parse_errors: vec![],
        };
        let file = PerfFile::from_results(&results, 0.5);
        assert_eq!(file.measurements.len(), 1);
        assert_eq!(file.not_taken.len(), 1);
        assert_eq!(file.not_taken[0].reason, "@fake-nodes: not here");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/perf.json");
        file.write(&path).unwrap();
        assert_eq!(PerfFile::read(&path).unwrap(), file);
    }

    #[test]
    fn a_file_of_another_schema_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.json");
        std::fs::write(
            &path,
            r#"{"schema":"kubeproof.io/perf/v0","target":"t","date":"d","commit":null,"scale":1.0,"measurements":[]}"#,
        )
        .unwrap();
        let err = PerfFile::read(&path).unwrap_err().to_string();
        assert!(err.contains("kubeproof.io/perf/v0"), "{err}");
    }
}
