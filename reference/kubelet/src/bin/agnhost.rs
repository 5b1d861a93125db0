//! The `agnhost` binary: parses arguments and runs [`refkube_kubelet::agnhost::run`].

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match refkube_kubelet::agnhost::parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match refkube_kubelet::agnhost::run(cli).await {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("agnhost: {e}");
            ExitCode::from(1)
        }
    }
}
