//! The `agnhost` binary: hands its arguments to [`refkube_kubelet::agnhost::main_with_args`].

#[tokio::main]
async fn main() {
    let code = refkube_kubelet::agnhost::main_with_args(std::env::args_os()).await;
    std::process::exit(code);
}
