//! Lets any binary that embeds a cluster act as agnhost: the process runtime starts
//! containers as `<this executable> agnhost <args>`, so `refkube`, `kubeproof` and the
//! conformance test binary all call [`dispatch`] first thing in `main`.

use std::ffi::OsString;

/// If this process was started as `<exe> agnhost ...`, runs agnhost and exits with its
/// code; otherwise returns and `main` goes on.
pub fn dispatch() {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_none_or(|a| a != "agnhost") {
        return;
    }
    // agnhost parses argv with its own name first.
    std::process::exit(run(args.into_iter().skip(1).collect()));
}

/// `<this executable> agnhost`: the agnhost command for kubelets embedded in a binary
/// that calls [`dispatch`] first thing (so it never picks up a stale `agnhost` binary
/// lying beside it).
pub fn this_executable() -> Option<Vec<std::path::PathBuf>> {
    let exe = std::env::current_exe().ok()?;
    Some(vec![exe, "agnhost".into()])
}

fn run(argv: Vec<OsString>) -> i32 {
    let cli = match refkube_kubelet::agnhost::parse(argv) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("agnhost: starting the async runtime: {e}");
            return 1;
        }
    };
    match runtime.block_on(refkube_kubelet::agnhost::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("agnhost: {e}");
            1
        }
    }
}
