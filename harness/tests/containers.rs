//! Runs the suite (`features/`) on the containers target under `cargo test`: the
//! reference as a highly available cluster of Docker containers, with real faults.
//!
//! Entry point: `cargo test -p kubeproof --test containers` (a `harness = false` test).
//! Without a reachable Docker daemon it says SKIPPED loudly, and with `CI` set it fails
//! instead. `KUBEPROOF_CONTAINERS_TAGS` / `KUBEPROOF_NAME` narrow the run;
//! `KUBEPROOF_CONTAINERS_TOPOLOGY` changes the cluster's shape (e.g. `etcd=1,nodes=1`);
//! `KUBEPROOF_CONTAINERS=0` turns the test off outside CI. Reports land in the target
//! directory beside the embedded run's.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use kubeproof::targets::containers::topology::Topology;
use kubeproof::targets::containers::{ContainersConfig, ContainersTarget};
use kubeproof::{RunConfig, Timings};

fn main() -> ExitCode {
    // Inside the reference image this very binary is `refkube` (and agnhost).
    refkube::agnhost::dispatch();
    kubeproof::targets::containers::dispatch_as_refkube();
    let ci = std::env::var_os("CI").is_some();
    if !ci && std::env::var("KUBEPROOF_CONTAINERS").is_ok_and(|v| v == "0") {
        println!("containers: SKIPPED (KUBEPROOF_CONTAINERS=0)");
        return ExitCode::SUCCESS;
    }
    let topology: Topology = match std::env::var("KUBEPROOF_CONTAINERS_TOPOLOGY") {
        Ok(text) => match text.parse() {
            Ok(t) => t,
            Err(e) => {
                eprintln!("containers: KUBEPROOF_CONTAINERS_TOPOLOGY: {e}");
                return ExitCode::FAILURE;
            }
        },
        Err(_) => Topology::default(),
    };
    let Some(runtime) = kubeproof::test_main::runtime("containers") else {
        return ExitCode::FAILURE;
    };
    let reports = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kubeproof-containers");
    let config = kubeproof::test_main::reporting(
        RunConfig::default().timings(Timings::fast().scaled(3.0)),
        &reports,
        "KUBEPROOF_CONTAINERS_TAGS",
    );
    runtime.block_on(async move {
        let target = match ContainersTarget::new(ContainersConfig {
            topology,
            refkube: None,
        })
        .await
        {
            Ok(t) => Arc::new(t),
            Err(e) if !ci => {
                println!(
                    "containers: SKIPPED, the containers target cannot run here: {e}\n(with CI set this fails)"
                );
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("containers: {e}");
                return ExitCode::FAILURE;
            }
        };
        kubeproof::test_main::run_to_exit(config, target, "containers").await
    })
}
