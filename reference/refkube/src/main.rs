//! The `refkube` binary: parses the command line and hands it to [`refkube::cli::run`].

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    refkube::cli::run(refkube::cli::Cli::parse()).await
}
