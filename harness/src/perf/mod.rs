//! Performance measurements taken by the `@performance` scenarios, as clusterloader2
//! takes them: latencies with their percentiles (and the phases they are made of), rates,
//! the thresholds a feature states, and their verdicts.
//!
//! Entry points: [`Measurement`] (what a step records), [`store::PerfStore`] (one per run:
//! the `--perf-scale` factor and every scenario's measurements), [`file::PerfFile`] (the
//! `--perf-json` file and saved baselines), [`compare`] (baseline comparison),
//! [`slowed::SlowedTarget`] (a target made slow on purpose, to prove regressions are
//! caught).

pub mod baseline;
pub mod cli;
pub mod compare;
pub mod embed;
pub mod file;
pub mod slowed;
pub mod stats;
pub mod store;
pub mod threshold;

use serde::{Deserialize, Serialize};

pub use stats::Summary;
pub use store::PerfStore;
pub use threshold::{Bound, Stat, Threshold};

/// The unit of a latency measurement's values: milliseconds.
pub const MILLIS: &str = "ms";
/// The unit of a rate measurement: events per second.
pub const PER_SECOND: &str = "1/s";

/// Whether a measurement met what its feature asked of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No threshold was stated: the figure is only recorded.
    #[default]
    Unchecked,
    /// Every stated threshold holds.
    Pass,
    /// A stated threshold does not hold.
    Fail,
}

impl Verdict {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Unchecked => "unchecked",
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
        }
    }
}

/// One phase of a latency (create → scheduled, a hop of an event chain...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// E.g. `create → scheduled`.
    pub name: String,
    /// Its percentiles (milliseconds); the means of a measurement's phases add up to the
    /// mean of the whole.
    #[serde(flatten)]
    pub summary: Summary,
}

/// One measurement: a latency (values in milliseconds, with percentiles) or a rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// What was measured, e.g. `pod startup latency`; threshold steps name it.
    pub name: String,
    /// A name several measurements share (`mutating API call latency` for POST, PUT,
    /// PATCH and DELETE), so that one threshold step covers them all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The scenario that took it (filled in when the scenario ends).
    #[serde(default)]
    pub scenario: String,
    /// The feature file, relative to the features directory (filled in likewise).
    #[serde(default)]
    pub feature: String,
    /// [`MILLIS`] or [`PER_SECOND`].
    pub unit: String,
    /// Percentiles of the values (latencies only).
    #[serde(flatten)]
    pub summary: Summary,
    /// The rate (rates only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// The phases the latency is made of, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<Phase>,
    /// The thresholds the feature stated, each with its verdict.
    #[serde(default)]
    pub thresholds: Vec<Threshold>,
    /// The overall verdict.
    #[serde(default)]
    pub verdict: Verdict,
    /// Every value (milliseconds), for distributions.
    #[serde(default)]
    pub values: Vec<f64>,
    /// The feature line of the step that took it (links it to the Cucumber JSON step).
    #[serde(default)]
    pub line: usize,
}

impl Measurement {
    /// A latency from its values in milliseconds.
    pub fn latency(name: impl Into<String>, values: Vec<f64>) -> Self {
        Self {
            name: name.into(),
            group: None,
            scenario: String::new(),
            feature: String::new(),
            unit: MILLIS.into(),
            summary: Summary::of(&values),
            rate: None,
            phases: Vec::new(),
            thresholds: Vec::new(),
            verdict: Verdict::Unchecked,
            values,
            line: 0,
        }
    }

    /// A rate (per second) over `samples` events.
    pub fn rate(name: impl Into<String>, rate: f64, samples: usize) -> Self {
        Self {
            unit: PER_SECOND.into(),
            rate: Some(rate),
            summary: Summary {
                samples,
                ..Summary::default()
            },
            ..Self::latency(name, Vec::new())
        }
    }

    /// Adds a phase from its values in milliseconds.
    pub fn phase(mut self, name: impl Into<String>, values: &[f64]) -> Self {
        self.phases.push(Phase {
            name: name.into(),
            summary: Summary::of(values),
        });
        self
    }

    /// Sets the group.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// Sets the step line.
    pub fn at_line(mut self, line: usize) -> Self {
        self.line = line;
        self
    }

    /// Whether a threshold step naming `name` is about this measurement.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.group.as_deref() == Some(name)
    }

    /// `scenario › name`: what identifies it across runs.
    pub fn key(&self) -> String {
        format!("{} › {}", self.scenario, self.name)
    }

    /// The value of a statistic (`None` when this measurement has no such figure).
    pub fn stat(&self, stat: Stat, phase: Option<&str>) -> Option<f64> {
        let summary = match phase {
            Some(p) => &self.phases.iter().find(|x| x.name == p)?.summary,
            None => &self.summary,
        };
        match stat {
            Stat::P50 => summary.p50,
            Stat::P90 => summary.p90,
            Stat::P99 => summary.p99,
            Stat::Max => summary.max,
            Stat::Rate => self.rate,
        }
    }

    /// Records a threshold and its verdict; returns whether it holds.
    pub fn check(&mut self, mut threshold: Threshold) -> bool {
        let value = self.stat(threshold.stat, threshold.phase.as_deref());
        let holds = value.is_some_and(|v| threshold.bound.holds(v, threshold.value));
        threshold.verdict = if holds { Verdict::Pass } else { Verdict::Fail };
        self.thresholds.push(threshold);
        self.verdict = if self.thresholds.iter().any(|t| t.verdict == Verdict::Fail) {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        holds
    }

    /// One line: the figures, e.g. `10 samples: p50 41ms, p90 52ms, p99 60ms`.
    pub fn figures(&self) -> String {
        match self.rate {
            Some(r) => format!("{r:.1}/s over {} samples", self.summary.samples),
            None => format!("{} samples: {}", self.summary.samples, self.summary.brief()),
        }
    }
}

/// Formats milliseconds for people: `850ms`, `1.25s`, `2m05s`.
pub fn human_ms(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else if ms < 60_000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else {
        let secs = (ms / 1000.0).round() as u64;
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threshold_is_checked_against_its_percentile_and_sets_the_verdict() {
        let mut m = Measurement::latency("pod startup latency", vec![100.0, 200.0, 6000.0]);
        assert!(m.check(Threshold::at_most(Stat::P50, 5000.0)));
        assert_eq!(m.verdict, Verdict::Pass);
        assert!(!m.check(Threshold::at_most(Stat::P99, 5000.0)));
        assert_eq!(m.verdict, Verdict::Fail);
        assert_eq!(m.thresholds[1].verdict, Verdict::Fail);
    }

    #[test]
    fn a_rate_has_no_percentiles_and_a_latency_no_rate() {
        let mut r = Measurement::rate("scheduling throughput", 40.0, 50);
        assert!(r.check(Threshold::at_least(Stat::Rate, 10.0)));
        assert!(
            !r.check(Threshold::at_most(Stat::P99, 1.0)),
            "no p99 to hold"
        );
        let l = Measurement::latency("x", vec![1.0]);
        assert_eq!(l.stat(Stat::Rate, None), None);
    }

    #[test]
    fn groups_let_one_threshold_name_several_measurements() {
        let m = Measurement::latency("API call latency: POST configmaps", vec![1.0])
            .group("mutating API call latency");
        assert!(m.answers_to("mutating API call latency"));
        assert!(m.answers_to("API call latency: POST configmaps"));
        assert!(!m.answers_to("cluster list latency"));
    }

    #[test]
    fn milliseconds_read_as_people_write_them() {
        assert_eq!(human_ms(850.4), "850ms");
        assert_eq!(human_ms(1250.0), "1.25s");
        assert_eq!(human_ms(125_000.0), "2m05s");
    }
}
