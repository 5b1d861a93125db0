//! Runs the whole suite (`features/`) on the embedded reference under `cargo test`, with
//! short deadlines, and fails the test run if any scenario fails. Scenarios the embedded
//! cluster cannot run yet are reported as skipped, with the reason.
//!
//! Entry point: `cargo test -p kubeproof --test conformance` (a `harness = false` test).
//! `KUBEPROOF_TAGS` / `KUBEPROOF_NAME` narrow the run; the HTML, JUnit and JSON reports
//! land in the target directory.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use kubeproof::targets::embedded::{EmbeddedConfig, EmbeddedTarget};
use kubeproof::{RunConfig, Timings};

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("conformance: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let reports = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kubeproof");
    let _ = std::fs::create_dir_all(&reports);
    let mut config = RunConfig::default().timings(Timings::fast());
    config.tags = std::env::var("KUBEPROOF_TAGS").ok();
    config.name = std::env::var("KUBEPROOF_NAME").ok();
    config.html = Some(reports.join("report.html"));
    config.junit = Some(reports.join("junit.xml"));
    config.json = Some(reports.join("cucumber.json"));
    let target = Arc::new(EmbeddedTarget::new(EmbeddedConfig::default()));
    match runtime.block_on(kubeproof::run(config, target)) {
        Ok(results) => {
            println!("reports: {}", reports.display());
            if results.failed() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("conformance: {e:#}");
            ExitCode::FAILURE
        }
    }
}
