//! Comparing two runs' measurements: a baseline and now, or two implementations.
//!
//! Entry points: [`compare`] (pure), [`Comparison::render`] (the table: measurement,
//! baseline, now, change), [`Comparison::regressions`]. With a relative tolerance T, a
//! latency percentile regresses when it grows past `baseline × (1 + T)` *and* by more than
//! the absolute slack (a 3 ms figure doubling is noise, not a regression); a rate
//! regresses when it falls below `baseline / (1 + T)`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::file::PerfFile;
use super::{Measurement, PER_SECOND, Stat, human_ms};

/// How much worse a figure may get before it counts as a regression.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Relative: 2.0 lets a latency triple (grow by 200 %) and a rate fall to a third.
    pub relative: f64,
    /// Absolute slack for latencies, in milliseconds.
    pub absolute_ms: f64,
}

impl Default for Tolerance {
    /// What run-to-run noise needs on the embedded reference on a busy 2-core machine
    /// (measured: see harness/README.md, "Performance"): 200 % and 500 ms.
    fn default() -> Self {
        Self {
            relative: 2.0,
            absolute_ms: 500.0,
        }
    }
}

/// One compared figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// `scenario › measurement`.
    pub measurement: String,
    /// The figure.
    pub stat: Stat,
    /// Its unit.
    pub unit: String,
    /// In the baseline.
    pub baseline: f64,
    /// Now.
    pub now: f64,
    /// Whether it got worse beyond the tolerance.
    pub regression: bool,
}

impl Row {
    /// The relative change, `+0.25` for 25 % more (`None` from a zero baseline).
    pub fn change(&self) -> Option<f64> {
        (self.baseline != 0.0).then(|| (self.now - self.baseline) / self.baseline)
    }

    fn show(&self, v: f64) -> String {
        if self.unit == PER_SECOND {
            format!("{v:.1}/s")
        } else {
            human_ms(v)
        }
    }
}

/// The outcome of a comparison.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparison {
    /// Figures present on both sides.
    pub rows: Vec<Row>,
    /// Measurements only the baseline has (e.g. skipped now).
    pub only_baseline: Vec<String>,
    /// Measurements only the new run has.
    pub only_now: Vec<String>,
    /// The tolerance applied.
    pub tolerance: Tolerance,
}

/// Measurements by key; a key seen again gets ` (2)`, ` (3)`... so none is lost.
fn by_key(file: &PerfFile) -> BTreeMap<String, &Measurement> {
    let mut out = BTreeMap::new();
    for m in &file.measurements {
        let mut key = m.key();
        let mut n = 1;
        while out.contains_key(&key) {
            n += 1;
            key = format!("{} ({n})", m.key());
        }
        out.insert(key, m);
    }
    out
}

fn regressed(stat: Stat, base: f64, now: f64, tol: Tolerance) -> bool {
    if stat == Stat::Rate {
        now * (1.0 + tol.relative) < base
    } else {
        now > base * (1.0 + tol.relative) && now - base > tol.absolute_ms
    }
}

/// Compares `now` with `baseline`, figure by figure.
pub fn compare(baseline: &PerfFile, now: &PerfFile, tolerance: Tolerance) -> Comparison {
    let (base, new) = (by_key(baseline), by_key(now));
    let mut out = Comparison {
        tolerance,
        ..Comparison::default()
    };
    for (key, b) in &base {
        let Some(n) = new.get(key) else {
            out.only_baseline.push(key.clone());
            continue;
        };
        let stats: &[Stat] = if b.rate.is_some() {
            &[Stat::Rate]
        } else if b.summary.samples <= 1 {
            // One sample: its percentiles are all the same figure.
            &[Stat::P99]
        } else {
            &[Stat::P50, Stat::P90, Stat::P99]
        };
        for &stat in stats {
            if let (Some(bv), Some(nv)) = (b.stat(stat, None), n.stat(stat, None)) {
                out.rows.push(Row {
                    measurement: key.clone(),
                    stat,
                    unit: b.unit.clone(),
                    baseline: bv,
                    now: nv,
                    regression: regressed(stat, bv, nv, tolerance),
                });
            }
        }
    }
    out.only_now = new
        .keys()
        .filter(|k| !base.contains_key(*k))
        .cloned()
        .collect();
    out
}

impl Comparison {
    /// The figures that got worse beyond the tolerance.
    pub fn regressions(&self) -> Vec<&Row> {
        self.rows.iter().filter(|r| r.regression).collect()
    }

    /// The table, then what only one side has, then the verdict.
    pub fn render(&self, baseline_label: &str, now_label: &str) -> String {
        let width = self
            .rows
            .iter()
            .map(|r| r.measurement.chars().count())
            .max()
            .unwrap_or(11)
            .max(11);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<width$}  {:<4}  {:>10}  {:>10}  {:>8}",
            "measurement", "stat", baseline_label, now_label, "change"
        );
        let _ = writeln!(out, "{}", "-".repeat(width + 40));
        for r in &self.rows {
            let change = r
                .change()
                .map_or_else(|| "n/a".to_string(), |c| format!("{:+.1}%", c * 100.0));
            let _ = writeln!(
                out,
                "{:<width$}  {:<4}  {:>10}  {:>10}  {:>8}{}",
                r.measurement,
                r.stat.as_str(),
                r.show(r.baseline),
                r.show(r.now),
                change,
                if r.regression { "  WORSE" } else { "" }
            );
        }
        for k in &self.only_baseline {
            let _ = writeln!(out, "only in {baseline_label}: {k}");
        }
        for k in &self.only_now {
            let _ = writeln!(out, "only in {now_label}: {k}");
        }
        let worse = self.regressions();
        let tol = format!(
            "{:.0}% (and {} for latencies)",
            self.tolerance.relative * 100.0,
            human_ms(self.tolerance.absolute_ms)
        );
        if worse.is_empty() {
            let _ = writeln!(
                out,
                "no figure is worse than {baseline_label} by more than {tol}"
            );
        } else {
            let _ = writeln!(
                out,
                "{} figure(s) worse than {baseline_label} by more than {tol}:",
                worse.len()
            );
            for r in worse {
                let _ = writeln!(
                    out,
                    "  {} {}: {} → {}",
                    r.measurement,
                    r.stat.as_str(),
                    r.show(r.baseline),
                    r.show(r.now)
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(measurements: Vec<Measurement>) -> PerfFile {
        PerfFile {
            schema: super::super::file::SCHEMA.into(),
            target: "embedded".into(),
            date: "2025-01-01T00:00:00Z".into(),
            commit: None,
            scale: 1.0,
            measurements: measurements
                .into_iter()
                .map(|mut m| {
                    m.scenario = "startup".into();
                    m
                })
                .collect(),
            not_taken: vec![],
        }
    }

    #[test]
    fn a_percentile_worse_beyond_both_tolerances_is_a_regression() {
        let base = file(vec![Measurement::latency(
            "pod startup latency",
            vec![100.0; 10],
        )]);
        let slow = file(vec![Measurement::latency(
            "pod startup latency",
            vec![6000.0; 10],
        )]);
        let c = compare(&base, &slow, Tolerance::default());
        assert_eq!(c.rows.len(), 3);
        assert_eq!(c.regressions().len(), 3);
        let table = c.render("baseline", "now");
        assert!(table.contains("+5900.0%  WORSE"), "{table}");
        assert!(
            table.contains("startup › pod startup latency p99: 100ms → 6.00s"),
            "{table}"
        );
    }

    #[test]
    fn a_tighter_tolerance_flags_smaller_changes() {
        let base = file(vec![Measurement::latency(
            "pod startup latency",
            vec![100.0; 10],
        )]);
        let now = file(vec![Measurement::latency(
            "pod startup latency",
            vec![200.0; 10],
        )]);
        assert!(
            compare(&base, &now, Tolerance::default())
                .regressions()
                .is_empty()
        );
        let tight = Tolerance {
            relative: 0.5,
            absolute_ms: 20.0,
        };
        assert_eq!(compare(&base, &now, tight).regressions().len(), 3);
    }

    #[test]
    fn small_absolute_changes_and_improvements_are_not_regressions() {
        let base = file(vec![Measurement::latency("watch latency", vec![2.0; 10])]);
        let noisy = file(vec![Measurement::latency("watch latency", vec![300.0; 10])]);
        assert!(
            compare(&base, &noisy, Tolerance::default())
                .regressions()
                .is_empty()
        );
        let faster = file(vec![Measurement::latency("watch latency", vec![1.0; 10])]);
        let c = compare(&base, &faster, Tolerance::default());
        assert!(c.regressions().is_empty());
        assert!(c.render("a", "b").contains("no figure is worse than a"));
    }

    #[test]
    fn a_rate_regresses_when_it_falls() {
        let base = file(vec![Measurement::rate("scheduling throughput", 100.0, 50)]);
        let slower = file(vec![Measurement::rate("scheduling throughput", 20.0, 50)]);
        let c = compare(&base, &slower, Tolerance::default());
        assert_eq!(c.rows.len(), 1);
        assert!(c.rows[0].regression);
        let noisy = file(vec![Measurement::rate("scheduling throughput", 40.0, 50)]);
        assert!(
            compare(&base, &noisy, Tolerance::default())
                .regressions()
                .is_empty()
        );
        let faster = file(vec![Measurement::rate("scheduling throughput", 400.0, 50)]);
        assert!(
            compare(&base, &faster, Tolerance::default())
                .regressions()
                .is_empty()
        );
    }

    #[test]
    fn measurements_on_one_side_only_are_listed_not_compared() {
        let base = file(vec![Measurement::latency("a", vec![1.0])]);
        let now = file(vec![Measurement::latency("b", vec![1.0])]);
        let c = compare(&base, &now, Tolerance::default());
        assert!(c.rows.is_empty());
        assert_eq!(c.only_baseline, vec!["startup › a"]);
        assert_eq!(c.only_now, vec!["startup › b"]);
    }
}
