//! The Linux namespaces a pod sandbox holds in the `netns` pod network: network, UTS,
//! IPC and mount, created by the pause process (started under `unshare`) and joined by
//! every container of the pod (started under `nsenter`), as a real runtime does with
//! the pause container's namespaces. The mount namespace carries the pod's volumes
//! ([`super::mounts`]). Entry points: [`create_prefix`], [`join_prefix`],
//! [`wait_created`], [`set_hostname`].
//!
//! Both tools exec the workload in place, so the process the runtime signals is the
//! workload itself, and the namespaces live exactly as long as the pause process.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use crate::network::{NetworkError, run};

/// The namespaces a pod's containers share: (`/proc/<pid>/ns/` entry, flag).
const SHARED: [(&str, &str); 4] = [
    ("net", "--net"),
    ("uts", "--uts"),
    ("ipc", "--ipc"),
    ("mnt", "--mount"),
];

/// The argv prefix that runs a program in new namespaces of the shared kinds.
pub fn create_prefix() -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec!["unshare".into()];
    argv.extend(SHARED.iter().map(|(_, flag)| OsString::from(flag)));
    // Mounts made in the pod stay in the pod (unshare's default, said out loud).
    argv.push("--propagation=private".into());
    argv.push("--".into());
    argv
}

/// The argv prefix that runs a program in the namespaces held by process `pid`, in
/// directory `wd` (entering a mount namespace resets the working directory).
pub fn join_prefix(pid: u32, wd: &Path) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec!["nsenter".into()];
    argv.extend(
        SHARED
            .iter()
            .map(|(ns, flag)| OsString::from(format!("{flag}=/proc/{pid}/ns/{ns}"))),
    );
    let mut wd_flag = OsString::from("--wd=");
    wd_flag.push(wd.as_os_str());
    argv.push(wd_flag);
    argv.push("--".into());
    argv
}

fn netns_of(path: &str) -> Option<std::path::PathBuf> {
    std::fs::read_link(path).ok()
}

/// Waits until process `pid` is in a network namespace of its own, i.e. `unshare` has
/// created the namespaces and exec'd the pause program. Fails if the process is gone
/// (its log says why) or `limit` passes.
pub async fn wait_created(pid: u32, limit: Duration) -> Result<(), String> {
    // This thread's namespace, not the main thread's: a test may isolate one thread.
    let ours = netns_of("/proc/thread-self/ns/net");
    let theirs = format!("/proc/{pid}/ns/net");
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match netns_of(&theirs) {
            Some(ns) if Some(&ns) != ours.as_ref() => return Ok(()),
            Some(_) => {}
            None => return Err("the pause process exited before its namespaces existed".into()),
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "the pause process had no network namespace of its own after {limit:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The hostname a pod's UTS namespace gets: upstream truncates it to 63 characters and
/// drops a trailing `-` or `.` the cut leaves.
pub fn pod_hostname(name: &str) -> &str {
    let cut = name.get(..63).unwrap_or(name);
    cut.trim_end_matches(['-', '.'])
}

/// Sets the hostname in the UTS namespace held by process `pid`.
pub async fn set_hostname(pid: u32, hostname: &str) -> Result<(), NetworkError> {
    let uts = format!("--uts=/proc/{pid}/ns/uts");
    run(
        format!("setting the pod's hostname to {hostname:?}"),
        "nsenter",
        &[&uts, "--", "hostname", pod_hostname(hostname)],
        None,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_creates_and_containers_join_net_uts_ipc_and_mount() {
        assert_eq!(
            create_prefix(),
            [
                "unshare",
                "--net",
                "--uts",
                "--ipc",
                "--mount",
                "--propagation=private",
                "--"
            ]
            .map(OsString::from)
        );
        assert_eq!(
            join_prefix(42, Path::new("/tmp")),
            [
                "nsenter",
                "--net=/proc/42/ns/net",
                "--uts=/proc/42/ns/uts",
                "--ipc=/proc/42/ns/ipc",
                "--mount=/proc/42/ns/mnt",
                "--wd=/tmp",
                "--"
            ]
            .map(OsString::from)
        );
    }

    #[test]
    fn long_hostnames_are_cut_to_63_characters_without_a_trailing_dash() {
        let name = format!("{}-{}", "a".repeat(62), "b".repeat(10));
        assert_eq!(pod_hostname(&name), "a".repeat(62));
        assert_eq!(pod_hostname("web-0"), "web-0");
    }

    #[tokio::test]
    async fn waiting_on_a_process_that_is_gone_fails_at_once() {
        let err = wait_created(u32::MAX - 1, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(err.contains("exited"), "{err}");
    }

    #[tokio::test]
    async fn a_process_sharing_our_namespace_is_not_taken_for_a_sandbox() {
        let err = wait_created(std::process::id(), Duration::from_millis(20))
            .await
            .unwrap_err();
        assert!(err.contains("no network namespace of its own"), "{err}");
    }
}
