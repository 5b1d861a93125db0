//! What the `cargo test` entry points (`tests/conformance.rs`, `tests/containers.rs`)
//! share: their async runtime, their reports in the target directory, and the exit code
//! a run gives.
//!
//! Entry points: [`runtime`], [`reporting`], [`run_to_exit`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::RunConfig;
use crate::targets::Target;

/// A multi-threaded runtime, or `None` after saying why there is none.
pub fn runtime(label: &str) -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("{label}: cannot start a runtime: {e}");
            None
        }
    }
}

/// `config` writing its HTML, JUnit, JSON and performance (`perf.json`) reports into `dir`
/// (created), narrowed to the scenarios `tags_var` and `KUBEPROOF_NAME` name.
pub fn reporting(mut config: RunConfig, dir: &Path, tags_var: &str) -> RunConfig {
    let _ = std::fs::create_dir_all(dir);
    config.tags = std::env::var(tags_var).ok();
    config.name = std::env::var("KUBEPROOF_NAME").ok();
    config.html = Some(dir.join("report.html"));
    config.junit = Some(dir.join("junit.xml"));
    config.json = Some(dir.join("cucumber.json"));
    config.perf_json = Some(dir.join("perf.json"));
    config
}

/// Runs the suite and turns its outcome into the test's exit code: failure when a
/// scenario failed or the run could not start.
pub async fn run_to_exit(config: RunConfig, target: Arc<dyn Target>, label: &str) -> ExitCode {
    let reports: Option<PathBuf> = config
        .html
        .as_ref()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    match crate::run(config, target).await {
        Ok(results) => {
            if let Some(dir) = reports {
                println!("reports: {}", dir.display());
            }
            if results.failed() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("{label}: {e:#}");
            ExitCode::FAILURE
        }
    }
}
