//! The performance measurements on the console: one row per measurement (samples,
//! p50/p90/p99 or the rate, the thresholds and the verdict) and one per phase under it.
//!
//! Entry point: [`render`] (empty when the run measured nothing).

use std::fmt::Write as _;

use super::Results;
use crate::perf::{Bound, Measurement, PER_SECOND, Threshold, human_ms};

fn show(m: &Measurement, v: Option<f64>) -> String {
    match v {
        Some(v) if m.unit == PER_SECOND => format!("{v:.1}/s"),
        Some(v) => human_ms(v),
        None => "-".into(),
    }
}

/// `p99 ≤ 5.00s`, `rate ≥ 10.0/s`, `create → scheduled p99 ≤ 1.00s`.
pub fn threshold_text(m: &Measurement, t: &Threshold) -> String {
    let op = match t.bound {
        Bound::AtMost => "≤",
        Bound::AtLeast => "≥",
    };
    let phase = t
        .phase
        .as_deref()
        .map(|p| format!("{p} "))
        .unwrap_or_default();
    format!("{phase}{} {op} {}", t.stat.as_str(), show(m, Some(t.value)))
}

/// The table.
pub fn render(results: &Results) -> String {
    let all = results.measurements();
    if all.is_empty() {
        return String::new();
    }
    let label = |m: &Measurement| format!("{} › {}", m.scenario, m.name);
    let width = all
        .iter()
        .map(|m| label(m).chars().count())
        .max()
        .unwrap_or(11)
        .max(11);
    let mut out = format!(
        "\nPerformance on target `{}`\n{:<width$}  {:>7}  {:>8}  {:>8}  {:>8}  verdict  thresholds\n",
        results.target, "measurement", "samples", "p50", "p90", "p99/rate"
    );
    let _ = writeln!(out, "{}", "-".repeat(width + 60));
    for m in all {
        let last = if m.rate.is_some() {
            show(m, m.rate)
        } else {
            show(m, m.summary.p99)
        };
        let thresholds: Vec<String> = m.thresholds.iter().map(|t| threshold_text(m, t)).collect();
        let _ = writeln!(
            out,
            "{:<width$}  {:>7}  {:>8}  {:>8}  {:>8}  {:<7}  {}",
            label(m),
            m.summary.samples,
            show(m, m.summary.p50),
            show(m, m.summary.p90),
            last,
            m.verdict.as_str(),
            thresholds.join(", ")
        );
        for p in &m.phases {
            let _ = writeln!(
                out,
                "{:<width$}  {:>7}  {:>8}  {:>8}  {:>8}",
                format!("    {}", p.name),
                p.summary.samples,
                show(m, p.summary.p50),
                show(m, p.summary.p90),
                show(m, p.summary.p99),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::Stat;
    use crate::report::{ScenarioResult, Status};

    #[test]
    fn measurements_show_their_percentiles_phases_and_verdicts() {
        let mut m = Measurement::latency("pod startup latency", vec![40.0, 50.0, 60.0])
            .phase("create → scheduled", &[10.0, 12.0, 14.0]);
        m.scenario = "Stateless Pods".into();
        m.check(Threshold::at_most(Stat::P99, 5000.0));
        let results = Results {
            target: "embedded".into(),
            scenarios: vec![ScenarioResult {
                feature: "f".into(),
                path: "performance/startup.feature".into(),
                name: "Stateless Pods".into(),
                line: 3,
                status: Status::Passed,
                message: None,
                duration: Default::default(),
                steps: vec![],
                trace: None,
                measurements: vec![m],
            }],
            parse_errors: vec![],
        };
        let out = render(&results);
        let row: Vec<&str> = out
            .lines()
            .find(|l| l.starts_with("Stateless Pods › pod startup latency"))
            .unwrap()
            .split("  ")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        assert_eq!(
            row,
            vec![
                "Stateless Pods › pod startup latency",
                "3",
                "50ms",
                "60ms",
                "60ms",
                "pass",
                "p99 ≤ 5.00s"
            ],
            "{out}"
        );
        assert!(out.contains("    create → scheduled"), "{out}");
        assert!(render(&Results::default()).is_empty());
    }
}
