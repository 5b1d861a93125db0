//! Regression tracking for every bench: the figures a run produced (criterion's
//! `target/criterion/**/new/estimates.json` and [`crate::figures`]), the baseline kept in
//! the repository (`benches/baseline.json`), and the comparison `bench-compare` prints.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::figures::{self, Figure};

/// One figure as kept in the baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The value: nanoseconds, bytes or pods/s.
    pub value: f64,
    /// `ns`, `bytes` or `pods/s`.
    pub unit: String,
    /// True for throughputs.
    pub higher_is_better: bool,
}

/// `benches/baseline.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// The machine the figures were taken on.
    pub machine: String,
    /// When (free text, e.g. the date and commit).
    pub taken: String,
    /// Regression tolerance in percent used when none is given on the command line.
    pub tolerance_percent: f64,
    /// Bench id → figure.
    pub figures: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
}

#[derive(Deserialize)]
struct Estimates {
    mean: Estimate,
    slope: Option<Estimate>,
}

#[derive(Deserialize)]
struct BenchmarkId {
    full_id: String,
}

/// Criterion figures written since `since` (its slope estimate where it has one, else
/// the mean), by full bench id. Benches under `retained/` count bytes, the rest time.
pub fn criterion_figures(
    dir: &Path,
    since: SystemTime,
) -> std::io::Result<BTreeMap<String, Entry>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let in_new = path
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|n| n == "new");
            if !in_new || path.file_name().is_none_or(|n| n != "estimates.json") {
                continue;
            }
            if std::fs::metadata(&path)?.modified()? < since {
                continue;
            }
            let id_file = path.with_file_name("benchmark.json");
            let id: BenchmarkId =
                serde_json::from_slice(&std::fs::read(id_file)?).map_err(std::io::Error::other)?;
            let est: Estimates =
                serde_json::from_slice(&std::fs::read(&path)?).map_err(std::io::Error::other)?;
            let value = est
                .slope
                .map_or(est.mean.point_estimate, |s| s.point_estimate);
            let unit = if id.full_id.starts_with("retained/") {
                "bytes"
            } else {
                "ns"
            };
            out.insert(
                id.full_id,
                Entry {
                    value,
                    unit: unit.into(),
                    higher_is_better: false,
                },
            );
        }
    }
    Ok(out)
}

/// Figures of the non-criterion benches written since `since` (seconds since epoch).
pub fn own_figures(benches: &[&str], since: u64) -> std::io::Result<BTreeMap<String, Entry>> {
    let mut out = BTreeMap::new();
    for bench in benches {
        for (id, f) in figures::read(bench)? {
            let Figure {
                value,
                unit,
                higher_is_better,
                written_at,
                ..
            } = f;
            if written_at >= since {
                out.insert(
                    id,
                    Entry {
                        value,
                        unit,
                        higher_is_better,
                    },
                );
            }
        }
    }
    Ok(out)
}

/// One row of the comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Bench id.
    pub id: String,
    /// The baseline's figure, if it has one.
    pub baseline: Option<Entry>,
    /// This run's figure, if the bench wrote one.
    pub now: Option<Entry>,
    /// Change in percent, positive = worse.
    pub worse_by_percent: Option<f64>,
}

impl Row {
    /// True when this figure got worse by more than `tolerance` percent.
    pub fn regressed(&self, tolerance: f64) -> bool {
        self.worse_by_percent.is_some_and(|w| w > tolerance)
    }
}

/// Pairs every baseline figure with this run's (and lists new benches).
pub fn compare(baseline: &Baseline, now: &BTreeMap<String, Entry>) -> Vec<Row> {
    let mut ids: Vec<&String> = baseline.figures.keys().chain(now.keys()).collect();
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .map(|id| {
            let b = baseline.figures.get(id).cloned();
            let n = now.get(id).cloned();
            let worse = match (&b, &n) {
                (Some(b), Some(n)) if b.value > 0.0 => {
                    let change = (n.value - b.value) / b.value * 100.0;
                    Some(if b.higher_is_better { -change } else { change })
                }
                _ => None,
            };
            Row {
                id: id.clone(),
                baseline: b,
                now: n,
                worse_by_percent: worse,
            }
        })
        .collect()
}

/// A value in a readable unit.
pub fn human(e: &Entry) -> String {
    match e.unit.as_str() {
        "ns" if e.value >= 1e9 => format!("{:.2} s", e.value / 1e9),
        "ns" if e.value >= 1e6 => format!("{:.2} ms", e.value / 1e6),
        "ns" if e.value >= 1e3 => format!("{:.2} µs", e.value / 1e3),
        "bytes" if e.value >= 1024.0 => format!("{:.2} KiB", e.value / 1024.0),
        unit => format!("{:.1} {unit}", e.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(value: f64, higher_is_better: bool) -> Entry {
        Entry {
            value,
            unit: "ns".into(),
            higher_is_better,
        }
    }

    #[test]
    fn slower_times_and_lower_throughputs_are_regressions_beyond_the_tolerance() {
        let baseline = Baseline {
            machine: "m".into(),
            taken: "t".into(),
            tolerance_percent: 30.0,
            figures: [
                ("a".to_string(), entry(100.0, false)),
                ("b".to_string(), entry(100.0, true)),
                ("c".to_string(), entry(100.0, false)),
                ("gone".to_string(), entry(1.0, false)),
            ]
            .into(),
        };
        let now = [
            ("a".to_string(), entry(150.0, false)),
            ("b".to_string(), entry(50.0, true)),
            ("c".to_string(), entry(110.0, false)),
            ("new".to_string(), entry(1.0, false)),
        ]
        .into();
        let rows = compare(&baseline, &now);
        let regressed: Vec<&str> = rows
            .iter()
            .filter(|r| r.regressed(30.0))
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(regressed, vec!["a", "b"]);
        let gone = rows.iter().find(|r| r.id == "gone").unwrap();
        assert!(gone.now.is_none() && gone.worse_by_percent.is_none());
        assert!(rows.iter().any(|r| r.id == "new" && r.baseline.is_none()));
    }

    #[test]
    fn values_print_in_readable_units() {
        assert_eq!(human(&entry(2_500_000.0, false)), "2.50 ms");
        let bytes = Entry {
            value: 2048.0,
            unit: "bytes".into(),
            higher_is_better: false,
        };
        assert_eq!(human(&bytes), "2.00 KiB");
    }
}
