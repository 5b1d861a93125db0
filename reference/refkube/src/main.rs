//! The `refkube` binary: parses the command line and hands it to [`refkube::cli::run`].
//! `refkube agnhost ...` (how the process runtime starts agnhost containers) is
//! dispatched before anything else, on its own runtime.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    refkube::agnhost::dispatch();
    let cli = refkube::cli::Cli::parse();
    tokio::runtime::Runtime::new()?.block_on(refkube::cli::run(cli))
}
