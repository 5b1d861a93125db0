//! Finding a pod's pause process from outside the kubelet, as `crictl inspectp` gives
//! its pid on a real node: the process runtime starts every pause process with
//! `REFKUBE_SANDBOX_OF=<pod uid>` in its environment. The conformance harness uses
//! [`kill`] to make a sandbox die (`@fault-kill-sandbox`). Entry points: [`find`],
//! [`kill`].

use std::path::Path;

use nix::sys::signal::{Signal, kill as signal};
use nix::unistd::Pid;

/// The environment variable naming the pod whose sandbox a pause process holds.
pub const SANDBOX_OF_ENV: &str = "REFKUBE_SANDBOX_OF";

/// Whether a process environment (`/proc/<pid>/environ`: NUL-separated) marks the
/// pause process of pod `uid`.
fn marks(environ: &[u8], uid: &str) -> bool {
    let want = format!("{SANDBOX_OF_ENV}={uid}");
    environ.split(|b| *b == 0).any(|v| v == want.as_bytes())
}

/// The pids of the live pause processes of pod `uid` on this machine (under `proc`,
/// normally `/proc`). Processes that cannot be read (another user's) are skipped.
pub fn find_in(proc: &Path, uid: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir(proc) else {
        return Vec::new();
    };
    let mut pids: Vec<i32> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(proc.join(pid.to_string()).join("environ"))
                .is_ok_and(|env| marks(&env, uid))
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// [`find_in`] `/proc`.
pub fn find(uid: &str) -> Vec<i32> {
    find_in(Path::new("/proc"), uid)
}

/// Kills (SIGKILL) the pause process of pod `uid`; how many were killed, or why none.
pub fn kill(uid: &str) -> Result<usize, String> {
    let pids = find(uid);
    if pids.is_empty() {
        return Err(format!(
            "no pause process of pod {uid} runs on this machine (only the process runtime has one)"
        ));
    }
    for pid in &pids {
        signal(Pid::from_raw(*pid), Signal::SIGKILL)
            .map_err(|e| format!("killing pause process {pid}: {e}"))?;
    }
    Ok(pids.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_must_match_the_whole_variable() {
        let env = b"POD_IP=10.0.0.1\0REFKUBE_SANDBOX_OF=abc\0HOSTNAME=p\0";
        assert!(marks(env, "abc"));
        assert!(!marks(env, "ab"));
        assert!(!marks(b"X_REFKUBE_SANDBOX_OF=abc\0", "abc"));
    }

    #[test]
    fn finds_the_marked_process_in_a_proc_tree() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (pid, env) in [
            ("12", "REFKUBE_SANDBOX_OF=u1\0"),
            ("13", "OTHER=1\0"),
            ("14", "REFKUBE_SANDBOX_OF=u2\0"),
        ] {
            std::fs::create_dir(dir.path().join(pid)).expect("mkdir");
            std::fs::write(dir.path().join(pid).join("environ"), env).expect("write");
        }
        std::fs::create_dir(dir.path().join("self")).expect("mkdir");
        assert_eq!(find_in(dir.path(), "u1"), vec![12]);
        assert!(find_in(dir.path(), "u3").is_empty());
    }
}
