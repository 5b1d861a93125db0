//! `bench-compare`: runs every bench and compares its figures with the baseline kept in
//! `benches/baseline.json`, printing bench / baseline / now / change and exiting 1 when
//! a figure got worse than the tolerance allows (or a bench wrote no figure).
//!
//! Usage (from anywhere in the workspace; `scripts/bench-compare` wraps it):
//!   bench-compare [--quick] [--save] [--tolerance PCT] [--no-run] [BENCH...]
//! `--quick` shrinks every bench (criterion: 10 samples of 10 ms; scheduler_e2e: 100
//! nodes, one run) and checks only that each baseline bench ran and wrote a figure:
//! timings are not compared, so it cannot fail on a noisy machine. `--save` writes this
//! run's figures as the new baseline. `--no-run` compares the figures already written
//! (within the last day) without running anything. `BENCH` limits the run to those
//! bench files (e.g. `scheduler_e2e`).

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, SystemTime};

use kubeproof_benches::compare::{self, Baseline, human};
use kubeproof_benches::figures;

/// Bench binaries that write their own figures instead of criterion's.
const OWN_FIGURES: &[&str] = &["scheduler_e2e"];
/// Used when the baseline does not say.
const DEFAULT_TOLERANCE: f64 = 30.0;

struct Args {
    quick: bool,
    save: bool,
    run: bool,
    tolerance: Option<f64>,
    benches: Vec<String>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        quick: false,
        save: false,
        run: true,
        tolerance: None,
        benches: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--save" => a.save = true,
            "--no-run" => a.run = false,
            "--tolerance" => {
                let v = it.next().ok_or("--tolerance needs a percentage")?;
                a.tolerance = Some(v.parse().map_err(|_| format!("bad --tolerance {v:?}"))?);
            }
            s if s.starts_with('-') => return Err(format!("unknown flag {s}")),
            s => a.benches.push(s.to_string()),
        }
    }
    Ok(a)
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn baseline_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("baseline.json")
}

fn run_benches(a: &Args) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace())
        .args(["bench", "-p", "kubeproof-benches"]);
    for b in &a.benches {
        cmd.args(["--bench", b]);
    }
    if a.quick {
        cmd.env("KUBEPROOF_BENCH_QUICK", "1").args([
            "--",
            "--warm-up-time",
            "0.01",
            "--measurement-time",
            "0.01",
            "--sample-size",
            "10",
        ]);
    }
    let status = cmd
        .status()
        .map_err(|e| format!("running cargo bench: {e}"))?;
    if !status.success() {
        return Err(format!("cargo bench failed: {status}"));
    }
    Ok(())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}")
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bench-compare: {e}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<ExitCode, String> {
    let a = args()?;
    let started = if a.run {
        SystemTime::now()
    } else {
        SystemTime::now() - Duration::from_secs(86_400)
    };
    let since_secs = started
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if a.run {
        run_benches(&a)?;
    }
    let io = |e: std::io::Error| e.to_string();
    let mut now = compare::criterion_figures(&figures::target_dir().join("criterion"), started)
        .map_err(io)?;
    now.extend(compare::own_figures(OWN_FIGURES, since_secs).map_err(io)?);

    let baseline: Baseline = match std::fs::read(baseline_path()) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| format!("baseline: {e}"))?,
        Err(e) if a.save => {
            eprintln!("no baseline yet ({e}); writing one");
            Baseline {
                machine: String::new(),
                taken: String::new(),
                tolerance_percent: DEFAULT_TOLERANCE,
                figures: Default::default(),
            }
        }
        Err(e) => return Err(format!("reading {}: {e}", baseline_path().display())),
    };
    if a.save {
        if a.quick {
            return Err("--save with --quick would record shrunk figures".into());
        }
        let mut saved = baseline.clone();
        saved.machine = machine();
        saved.taken = format!("unix time {since_secs}");
        saved.figures.extend(now);
        let text = serde_json::to_string_pretty(&saved).map_err(|e| e.to_string())?;
        std::fs::write(baseline_path(), text + "\n").map_err(io)?;
        println!(
            "saved {} figures to {}",
            saved.figures.len(),
            baseline_path().display()
        );
        return Ok(ExitCode::SUCCESS);
    }

    let tolerance = a.tolerance.unwrap_or(baseline.tolerance_percent);
    // With a bench filter, figures of the benches not run are not listed.
    let rows: Vec<_> = compare::compare(&baseline, &now)
        .into_iter()
        .filter(|r| r.now.is_some() || a.benches.is_empty())
        .collect();
    println!("baseline: {} ({})", baseline.machine, baseline.taken);
    println!(
        "{:<58} {:>12} {:>12} {:>9}",
        "bench", "baseline", "now", "change"
    );
    let (mut missing, mut regressed) = (0, 0);
    for r in &rows {
        let cell = |e: &Option<compare::Entry>| e.as_ref().map_or("-".to_string(), human);
        let change = match (&r.now, r.worse_by_percent) {
            (None, _) => {
                missing += 1;
                "NOT RUN".to_string()
            }
            (Some(_), _) if a.quick => "ran".to_string(),
            (Some(_), None) => "new".to_string(),
            (Some(_), Some(w)) => {
                let flag = if r.regressed(tolerance) {
                    regressed += 1;
                    "  REGRESSED"
                } else {
                    ""
                };
                // Shown as the figure's own change: + is slower / more bytes / more pods/s.
                let shown = if r.baseline.as_ref().is_some_and(|b| b.higher_is_better) {
                    -w
                } else {
                    w
                };
                format!("{shown:+.1}%{flag}")
            }
        };
        println!(
            "{:<58} {:>12} {:>12} {:>9}",
            r.id,
            cell(&r.baseline),
            cell(&r.now),
            change
        );
    }
    if a.quick {
        println!(
            "quick mode: checked that every bench ran and wrote a figure; timings not compared"
        );
    } else {
        println!("tolerance: {tolerance}% (a figure worse than this is a regression)");
    }
    if missing > 0 || regressed > 0 {
        println!("{missing} bench(es) wrote no figure, {regressed} regressed");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
