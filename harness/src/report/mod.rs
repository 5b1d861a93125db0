//! Results of a run, and the reports made from them.
//!
//! Entry points: [`Results`] (filled by [`collector::Collector`] while the run goes),
//! [`table::render`] (console table per feature), [`html::render`] (HTML with an event
//! timeline per scenario, and a distribution per performance measurement),
//! [`perf_table::render`] (the measurements on the console). JSON and JUnit come from
//! cucumber's own writers.

pub mod collector;
pub mod html;
pub mod perf_html;
pub mod perf_table;
pub mod table;
pub mod timeline;

use std::time::Duration;

use crate::context::Trace;
use crate::perf::Measurement;

/// A scenario's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Every step passed.
    Passed,
    /// A step or hook failed.
    Failed,
    /// The target could not run it (or a step had no definition and skips were allowed).
    Skipped,
}

impl Status {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }
}

/// One step's outcome.
#[derive(Clone, Debug)]
pub struct StepResult {
    /// `Given ...`, as written.
    pub text: String,
    /// Its outcome.
    pub status: Status,
}

/// One scenario's outcome.
#[derive(Clone, Debug)]
pub struct ScenarioResult {
    /// The feature's name.
    pub feature: String,
    /// The feature file, relative to the features directory when possible.
    pub path: String,
    /// The scenario's name.
    pub name: String,
    /// Its line.
    pub line: usize,
    /// Its outcome.
    pub status: Status,
    /// The failure message or the skip reason.
    pub message: Option<String>,
    /// How long it ran.
    pub duration: Duration,
    /// Its steps.
    pub steps: Vec<StepResult>,
    /// What it observed.
    pub trace: Option<Trace>,
    /// The performance measurements it took.
    pub measurements: Vec<Measurement>,
}

/// Everything a run produced.
#[derive(Clone, Debug, Default)]
pub struct Results {
    /// The target's name.
    pub target: String,
    /// Scenarios in the order they finished.
    pub scenarios: Vec<ScenarioResult>,
    /// Feature files that failed to parse.
    pub parse_errors: Vec<String>,
}

impl Results {
    /// Counts of (passed, failed, skipped).
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |s| self.scenarios.iter().filter(|r| r.status == s).count();
        (n(Status::Passed), n(Status::Failed), n(Status::Skipped))
    }

    /// True when anything failed (a scenario or a feature file).
    pub fn failed(&self) -> bool {
        !self.parse_errors.is_empty() || self.counts().1 > 0
    }

    /// Every measurement of the run, in feature order.
    pub fn measurements(&self) -> Vec<&Measurement> {
        self.sorted()
            .into_iter()
            .flat_map(|r| r.measurements.iter())
            .collect()
    }

    /// The scenarios sorted by file and line, for stable reports.
    pub fn sorted(&self) -> Vec<&ScenarioResult> {
        let mut v: Vec<&ScenarioResult> = self.scenarios.iter().collect();
        v.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        v
    }
}
