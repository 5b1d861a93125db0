//! A pod's mount namespace (`netns` pod network): the pause process holds it beside the
//! network, UTS and IPC namespaces, and in it each volume is bound at its mount path
//! and the kubelet's pod directories are covered, so a pod sees its own token at
//! `/var/run/secrets/kubernetes.io/serviceaccount` and no other pod's. Entry point:
//! [`apply`].
//!
//! The namespace starts with private propagation (unshare's default), so none of this
//! reaches the machine or other pods. A mount point that does not exist is created, as
//! an empty directory, on the machine's filesystem, which pods share.

use std::ffi::OsString;
use std::path::Path;

use super::Mount;
use crate::network::{NetworkError, run};

/// `nsenter --mount=/proc/<pid>/ns/mnt -- <argv>`.
fn in_namespace(pid: u32, argv: &[&std::ffi::OsStr]) -> Vec<OsString> {
    let mut out: Vec<OsString> = vec![
        "nsenter".into(),
        format!("--mount=/proc/{pid}/ns/mnt").into(),
        "--".into(),
    ];
    out.extend(argv.iter().map(|a| a.to_os_string()));
    out
}

/// The commands that set up `mounts` and cover `masked` in process `pid`'s mount
/// namespace, in order.
pub fn commands(pid: u32, mounts: &[Mount], masked: &[std::path::PathBuf]) -> Vec<Vec<OsString>> {
    let mut out = Vec::new();
    for m in mounts {
        let (src, dst) = (m.host_path.as_os_str(), m.container_path.as_os_str());
        out.push(in_namespace(pid, &["mkdir".as_ref(), "-p".as_ref(), dst]));
        out.push(in_namespace(
            pid,
            &["mount".as_ref(), "--bind".as_ref(), src, dst],
        ));
        if m.read_only {
            let ro = "remount,bind,ro".as_ref();
            out.push(in_namespace(
                pid,
                &["mount".as_ref(), "-o".as_ref(), ro, dst],
            ));
        }
    }
    // After the binds: a bind keeps its source reachable even once the source's parent
    // is covered.
    for dir in masked {
        let tmpfs = [
            "mount",
            "-t",
            "tmpfs",
            "-o",
            "ro,mode=0755,size=4k",
            "tmpfs",
        ];
        let mut argv: Vec<&std::ffi::OsStr> = tmpfs.iter().map(|s| s.as_ref()).collect();
        argv.push(dir.as_os_str());
        out.push(in_namespace(pid, &argv));
    }
    out
}

/// Runs [`commands`]; a masked directory that does not exist is skipped.
pub async fn apply(
    pid: u32,
    mounts: &[Mount],
    masked: &[std::path::PathBuf],
) -> Result<(), NetworkError> {
    let masked: Vec<std::path::PathBuf> = masked
        .iter()
        .filter(|d| Path::new(d).is_dir())
        .cloned()
        .collect();
    for argv in commands(pid, mounts, &masked) {
        let args: Vec<String> = argv[1..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(
            format!("setting up the pod's mounts: {}", args[2..].join(" ")),
            "nsenter",
            &args,
            None,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_only_volume_is_bound_then_remounted_and_the_pod_dirs_covered() {
        let m = Mount {
            host_path: "/k/pods/u/v".into(),
            container_path: "/var/run/secrets/kubernetes.io/serviceaccount".into(),
            read_only: true,
        };
        let got: Vec<String> = commands(7, &[m], &["/k/pods".into()])
            .into_iter()
            .map(|argv| {
                argv.iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let ns = "nsenter --mount=/proc/7/ns/mnt --";
        let sa = "/var/run/secrets/kubernetes.io/serviceaccount";
        assert_eq!(
            got,
            [
                format!("{ns} mkdir -p {sa}"),
                format!("{ns} mount --bind /k/pods/u/v {sa}"),
                format!("{ns} mount -o remount,bind,ro {sa}"),
                format!("{ns} mount -t tmpfs -o ro,mode=0755,size=4k tmpfs /k/pods"),
            ]
        );
    }
}
