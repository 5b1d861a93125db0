//! Runs the whole suite (`features/`) on the embedded reference under `cargo test`, with
//! short deadlines, and fails the test run if any scenario fails. Scenarios the embedded
//! cluster cannot run yet are reported as skipped, with the reason.
//!
//! Entry point: `cargo test -p kubeproof --test conformance` (a `harness = false` test).
//! `KUBEPROOF_TAGS` / `KUBEPROOF_NAME` narrow the run; `KUBEPROOF_EMBEDDED` runs only
//! part of the reference (e.g. `control-plane,nodes=2`; the default is all of it, see
//! `targets::embedded::Components`); the HTML, JUnit and JSON reports land in the target
//! directory. The pod network is `netns` when the test runs as root (the whole test
//! process then lives in a network namespace of its own), else `loopback`;
//! `KUBEPROOF_POD_NETWORK=loopback|netns` forces one, and with `CI` set `netns` is
//! required, so the scenarios that need it never go unchecked there.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use kubeproof::targets::embedded::{
    Components, EmbeddedConfig, EmbeddedTarget, PodNetworkChoice, prepare,
};
use kubeproof::{RunConfig, Timings};
use refkube::ClusterConfig;
use refkube::components::Pace;

fn main() -> ExitCode {
    // The process runtime may start agnhost containers as `<this executable> agnhost`.
    refkube::agnhost::dispatch();
    let choice = match std::env::var("KUBEPROOF_POD_NETWORK") {
        Ok(text) => match text.parse::<PodNetworkChoice>() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("conformance: KUBEPROOF_POD_NETWORK: {e}");
                return ExitCode::FAILURE;
            }
        },
        Err(_) => PodNetworkChoice::Auto,
    };
    // Before the async runtime's threads exist: netns isolates this whole process.
    let network = match prepare(choice, std::env::var_os("CI").is_some()) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("conformance: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let Some(runtime) = kubeproof::test_main::runtime("conformance") else {
        return ExitCode::FAILURE;
    };
    let reports = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kubeproof");
    let config = kubeproof::test_main::reporting(
        RunConfig::default().timings(Timings::fast()),
        &reports,
        "KUBEPROOF_TAGS",
    );
    let components: Components = match std::env::var("KUBEPROOF_EMBEDDED") {
        Ok(list) => match list.parse() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("conformance: KUBEPROOF_EMBEDDED: {e}");
                return ExitCode::FAILURE;
            }
        },
        Err(_) => Components::default(),
    };
    let embedded = EmbeddedConfig::default().components(components).cluster(
        ClusterConfig::default()
            .pace(Pace::Fast)
            .pod_network(network)
            .agnhost_command(refkube::agnhost::this_executable()),
    );
    let target = Arc::new(EmbeddedTarget::new(embedded));
    runtime.block_on(kubeproof::test_main::run_to_exit(
        config,
        target,
        "conformance",
    ))
}
