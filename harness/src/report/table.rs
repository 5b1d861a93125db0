//! The console summary: one row per feature, totals, and every skip reason with its count.
//!
//! Entry point: [`render`].

use std::collections::BTreeMap;

use super::{Results, Status};

/// The summary table as text.
pub fn render(results: &Results) -> String {
    let mut per_feature: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for r in &results.scenarios {
        let row = per_feature.entry(r.path.as_str()).or_default();
        row[r.status as usize] += 1;
    }
    let width = per_feature
        .keys()
        .map(|k| k.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let mut out = format!(
        "\nResults on target `{}`\n{:<width$}  {:>6}  {:>6}  {:>7}\n",
        results.target, "feature", "passed", "failed", "skipped"
    );
    out.push_str(&format!("{}\n", "-".repeat(width + 25)));
    for (feature, [p, f, s]) in &per_feature {
        out.push_str(&format!("{feature:<width$}  {p:>6}  {f:>6}  {s:>7}\n"));
    }
    let (p, f, s) = results.counts();
    out.push_str(&format!("{}\n", "-".repeat(width + 25)));
    out.push_str(&format!("{:<width$}  {p:>6}  {f:>6}  {s:>7}\n", "total"));
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for r in results
        .scenarios
        .iter()
        .filter(|r| r.status == Status::Skipped)
    {
        *reasons
            .entry(r.message.as_deref().unwrap_or("(no reason given)"))
            .or_default() += 1;
    }
    if !reasons.is_empty() {
        out.push_str(&format!("\n{s} scenario(s) skipped:\n"));
        for (reason, n) in reasons {
            out.push_str(&format!("  {n:>4} × {reason}\n"));
        }
    }
    if f > 0 {
        out.push_str(&format!("\n{f} scenario(s) failed:\n"));
        for r in results
            .sorted()
            .into_iter()
            .filter(|r| r.status == Status::Failed)
        {
            out.push_str(&format!("  {}:{} {}\n", r.path, r.line, r.name));
        }
    }
    for e in &results.parse_errors {
        out.push_str(&format!("\nfeature file error: {e}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ScenarioResult;

    fn result(path: &str, status: Status, message: Option<&str>) -> ScenarioResult {
        ScenarioResult {
            feature: "f".into(),
            path: path.into(),
            name: "s".into(),
            line: 3,
            status,
            message: message.map(str::to_string),
            duration: Default::default(),
            steps: vec![],
            trace: None,
            measurements: vec![],
        }
    }

    #[test]
    fn the_table_counts_per_feature_and_lists_skip_reasons() {
        let results = Results {
            target: "embedded".into(),
            scenarios: vec![
                result("apiserver/crud.feature", Status::Passed, None),
                result("apiserver/crud.feature", Status::Failed, Some("boom")),
                result(
                    "scheduling/filters.feature",
                    Status::Skipped,
                    Some("no scheduler"),
                ),
                result(
                    "scheduling/filters.feature",
                    Status::Skipped,
                    Some("no scheduler"),
                ),
            ],
            parse_errors: vec![],
        };
        let out = render(&results);
        let row: Vec<&str> = out
            .lines()
            .find(|l| l.starts_with("apiserver/crud.feature"))
            .unwrap()
            .split_whitespace()
            .collect();
        assert_eq!(row, vec!["apiserver/crud.feature", "1", "1", "0"], "{out}");
        assert!(out.contains("2 × no scheduler"), "{out}");
        assert!(out.contains("1 scenario(s) failed"), "{out}");
    }
}
