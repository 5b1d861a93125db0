//! The performance options of `kubeproof run` and the `kubeproof compare` command, so the
//! binary only parses arguments.
//!
//! Entry points: [`PerfArgs`] (flattened into `run`'s arguments: `--perf-scale`,
//! `--perf-json`, `--save-baseline`, `--baseline`, `--baseline-dir`, `--tolerance`,
//! `--tolerance-ms`), [`CompareArgs`] and [`compare_files`].

use std::path::PathBuf;

use super::baseline;
use super::compare::{Tolerance, compare};
use super::file::PerfFile;
use crate::report::Results;

/// How much worse a figure may get (the defaults suit the embedded reference on a loaded
/// 2-core machine; see harness/README.md, "Performance").
#[derive(Clone, Copy, Debug, clap::Args)]
pub struct ToleranceArgs {
    /// A figure worse by more than this percentage (and by more than --tolerance-ms for
    /// latencies) is a regression.
    #[arg(long, default_value_t = Tolerance::default().relative * 100.0)]
    pub tolerance: f64,
    /// The absolute slack for latencies, in milliseconds.
    #[arg(long, default_value_t = Tolerance::default().absolute_ms)]
    pub tolerance_ms: f64,
}

impl ToleranceArgs {
    /// As a [`Tolerance`].
    pub fn tolerance(&self) -> Tolerance {
        Tolerance {
            relative: self.tolerance / 100.0,
            absolute_ms: self.tolerance_ms,
        }
    }
}

/// `kubeproof run`'s performance options.
#[derive(Clone, Debug, clap::Args)]
pub struct PerfArgs {
    /// Multiply the sizes the @performance scenarios state (Pods, calls, watchers...).
    #[arg(long, default_value_t = 1.0)]
    pub perf_scale: f64,
    /// Write every measurement to this file (schema kubeproof.io/perf/v1).
    #[arg(long)]
    pub perf_json: Option<PathBuf>,
    /// Keep this run's measurements as the baseline NAME (in --baseline-dir).
    #[arg(long, value_name = "NAME")]
    pub save_baseline: Option<String>,
    /// Compare this run's measurements with the baseline NAME; exit 1 when a figure is
    /// worse beyond the tolerance.
    #[arg(long, value_name = "NAME")]
    pub baseline: Option<String>,
    /// Where baselines are kept.
    #[arg(long, default_value = baseline::DEFAULT_DIR)]
    pub baseline_dir: PathBuf,
    #[command(flatten)]
    pub tolerance: ToleranceArgs,
}

impl PerfArgs {
    /// The baseline to compare with, read before the run so a missing one stops it early.
    pub fn load_baseline(&self) -> anyhow::Result<Option<PerfFile>> {
        self.baseline
            .as_deref()
            .map(|name| baseline::load(&self.baseline_dir, name))
            .transpose()
    }

    /// After the run: saves the baseline, compares with `base`, prints what it did.
    /// Returns whether a figure regressed.
    pub fn after_run(&self, results: &Results, base: Option<&PerfFile>) -> anyhow::Result<bool> {
        let now = PerfFile::from_results(results, self.perf_scale);
        if let Some(name) = &self.save_baseline {
            let path = baseline::save(&self.baseline_dir, name, &now)?;
            println!(
                "saved {} measurement(s) as the baseline {name:?}: {}",
                now.measurements.len(),
                path.display()
            );
        }
        let Some(base) = base else {
            return Ok(false);
        };
        let label = self.baseline.as_deref().unwrap_or("baseline");
        let c = compare(base, &now, self.tolerance.tolerance());
        println!(
            "\nCompared with the baseline {label:?} ({}, {}):\n{}",
            base.target,
            base.date,
            c.render(label, "now")
        );
        Ok(!c.regressions().is_empty())
    }
}

/// `kubeproof compare A.json B.json`.
#[derive(Clone, Debug, clap::Args)]
pub struct CompareArgs {
    /// The reference run's performance file (e.g. a baseline, or another implementation).
    pub a: PathBuf,
    /// The run to judge against it.
    pub b: PathBuf,
    #[command(flatten)]
    pub tolerance: ToleranceArgs,
}

/// Prints the comparison of two performance files; returns whether B regressed from A.
pub fn compare_files(args: &CompareArgs) -> anyhow::Result<bool> {
    let (a, b) = (PerfFile::read(&args.a)?, PerfFile::read(&args.b)?);
    let label = |p: &PathBuf, f: &PerfFile| {
        let name = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        (name, format!("{} ({}, {})", p.display(), f.target, f.date))
    };
    let ((mut la, da), (mut lb, db)) = (label(&args.a, &a), label(&args.b, &b));
    if la == lb {
        (la, lb) = ("A".into(), "B".into());
    }
    let c = compare(&a, &b, args.tolerance.tolerance());
    println!("A = {da}\nB = {db}\n{}", c.render(&la, &lb));
    Ok(!c.regressions().is_empty())
}
