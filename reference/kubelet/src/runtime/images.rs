//! Which images the process runtime can "pull", and what each runs: the built-in
//! workloads. Entry point: [`resolve`].
//!
//! - `registry.k8s.io/pause:*` (any repository ending in `/pause`): `agnhost pause`.
//! - `registry.k8s.io/e2e-test-images/agnhost:*` (any repository ending in `agnhost`):
//!   agnhost with the container's command/args (a leading `agnhost` or `/agnhost` is the
//!   image's entrypoint and is dropped); another leading program (e.g. `/bin/sh`) runs
//!   on the machine.
//! - `busybox`, `busybox:*`, `docker.io/library/busybox:*`: the command/args run with the
//!   machine's own programs (`/bin/sh`, `sleep`, `echo`, `true`, `false` ...); empty
//!   command and args run `sh`, the image's default.
//! - `registry.k8s.io/kubectl:*` (any repository ending in `kubectl`): the machine's own
//!   `kubectl`, the image's entrypoint, with the container's args (a command replaces
//!   the entrypoint, as in any image); so a Pod can be an in-cluster kubectl client.

/// The images this runtime knows, for the pull error message.
pub const SUPPORTED: &str = "registry.k8s.io/pause, registry.k8s.io/e2e-test-images/agnhost, busybox, registry.k8s.io/kubectl";

/// What a container runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workload {
    /// agnhost with these arguments.
    Agnhost(Vec<String>),
    /// A program on this machine with its arguments.
    Host {
        /// Program name or path.
        program: String,
        /// Arguments.
        args: Vec<String>,
    },
}

/// The image's repository without registry-free tag or digest: `busybox:1.36` →
/// `busybox`, `registry.k8s.io/pause:3.10` → `registry.k8s.io/pause`.
pub fn repository(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    match without_digest.rfind(':') {
        // A colon after the last slash is a tag; before it, a registry port.
        Some(i) if !without_digest[i..].contains('/') => &without_digest[..i],
        _ => without_digest,
    }
}

fn last_component(image: &str) -> &str {
    let repo = repository(image);
    repo.rsplit('/').next().unwrap_or(repo)
}

/// Whether the process runtime has `image`.
pub fn is_available(image: &str) -> bool {
    matches!(
        last_component(image),
        "pause" | "agnhost" | "busybox" | "kubectl"
    )
}

/// The `ErrImagePull` message for an image the runtime lacks.
pub fn pull_error(image: &str) -> String {
    format!(
        "failed to pull and unpack image \"{image}\": image not available in the refkube process runtime (supported: {SUPPORTED})"
    )
}

fn host(mut argv: Vec<String>) -> Workload {
    if argv.is_empty() {
        argv.push("sh".into());
    }
    let program = argv.remove(0);
    Workload::Host {
        program,
        args: argv,
    }
}

/// What a container of `image` with `command` and `args` runs, or the pull error.
pub fn resolve(image: &str, command: &[String], args: &[String]) -> Result<Workload, String> {
    let argv: Vec<String> = command.iter().chain(args).cloned().collect();
    match last_component(image) {
        "pause" => Ok(Workload::Agnhost(vec!["pause".into()])),
        "agnhost" => match argv.first().map(String::as_str) {
            Some(first) if first.rsplit('/').next() == Some("agnhost") => {
                Ok(Workload::Agnhost(argv[1..].to_vec()))
            }
            Some(first) if first.starts_with('/') || !command.is_empty() => Ok(host(argv)),
            _ => Ok(Workload::Agnhost(argv)),
        },
        "busybox" => Ok(host(argv)),
        "kubectl" if command.is_empty() => Ok(Workload::Host {
            program: "kubectl".into(),
            args: args.to_vec(),
        }),
        "kubectl" => Ok(host(argv)),
        _ => Err(pull_error(image)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn repositories_drop_tags_and_digests_but_not_registry_ports() {
        assert_eq!(repository("busybox:1.36"), "busybox");
        assert_eq!(
            repository("localhost:5000/busybox"),
            "localhost:5000/busybox"
        );
        assert_eq!(
            repository("registry.k8s.io/pause@sha256:abc"),
            "registry.k8s.io/pause"
        );
    }

    #[test]
    fn agnhost_args_run_agnhost_and_its_entrypoint_is_dropped() {
        let img = "registry.k8s.io/e2e-test-images/agnhost:2.53";
        assert_eq!(
            resolve(img, &[], &s(&["netexec", "--http-port=8080"])),
            Ok(Workload::Agnhost(s(&["netexec", "--http-port=8080"])))
        );
        assert_eq!(
            resolve(img, &s(&["/agnhost", "serve-hostname"]), &[]),
            Ok(Workload::Agnhost(s(&["serve-hostname"])))
        );
        assert_eq!(
            resolve(img, &s(&["/bin/sh", "-c"]), &s(&["exit 1"])),
            Ok(Workload::Host {
                program: "/bin/sh".into(),
                args: s(&["-c", "exit 1"])
            })
        );
    }

    #[test]
    fn the_kubectl_image_runs_kubectl_with_the_containers_args() {
        assert_eq!(
            resolve(
                "registry.k8s.io/kubectl:v1.33.0",
                &[],
                &s(&["auth", "whoami"])
            ),
            Ok(Workload::Host {
                program: "kubectl".into(),
                args: s(&["auth", "whoami"]),
            })
        );
        assert_eq!(
            resolve(
                "registry.k8s.io/kubectl:v1.33.0",
                &s(&["sh", "-c"]),
                &s(&["true"])
            ),
            Ok(Workload::Host {
                program: "sh".into(),
                args: s(&["-c", "true"]),
            })
        );
        assert!(is_available("registry.k8s.io/kubectl:v1.33.0"));
    }

    #[test]
    fn busybox_runs_host_programs_and_defaults_to_sh() {
        assert_eq!(
            resolve("busybox", &s(&["sh", "-c", "exit 3"]), &[]),
            Ok(Workload::Host {
                program: "sh".into(),
                args: s(&["-c", "exit 3"])
            })
        );
        assert_eq!(
            resolve("docker.io/library/busybox:1.36", &[], &[]),
            Ok(Workload::Host {
                program: "sh".into(),
                args: vec![]
            })
        );
    }

    #[test]
    fn pause_sleeps_and_unknown_images_fail_to_pull() {
        assert_eq!(
            resolve("registry.k8s.io/pause:3.10", &[], &[]),
            Ok(Workload::Agnhost(s(&["pause"])))
        );
        let err = resolve("nginx:1.27", &[], &[]).unwrap_err();
        assert!(
            err.starts_with("failed to pull and unpack image \"nginx:1.27\": "),
            "{err}"
        );
        assert!(!is_available("nginx"));
    }
}
