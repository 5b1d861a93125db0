//! Which images the process runtime can "pull", and what each runs: the built-in
//! workloads. Entry point: [`resolve`]. [`SUPPORTED`] lists them for the pull error.
//!
//! - `registry.k8s.io/pause:*` (any repository ending in `/pause`): `agnhost pause`.
//! - `registry.k8s.io/e2e-test-images/agnhost:*` (any repository ending in `agnhost`):
//!   agnhost with the container's command/args (a leading `agnhost` or `/agnhost` is the
//!   image's entrypoint and is dropped); another leading program (e.g. `/bin/sh`) runs
//!   on the machine.
//! - `busybox`, `busybox:*`, `docker.io/library/busybox:*` (any repository ending in
//!   `busybox`): the command/args run with the machine's own programs (`/bin/sh`,
//!   `sleep`, `echo`, `true`, `false` ...); empty command and args run `sh`, the image's
//!   default.
//! - `registry.k8s.io/kubectl:*` (any repository ending in `kubectl`): the machine's own
//!   `kubectl`, the image's entrypoint, with the container's args (a command replaces
//!   the entrypoint, as in any image); so a Pod can be an in-cluster kubectl client.
//!
//! The official images below are known by their Docker Hub names (`nginx`,
//! `nginx:1.27`, `docker.io/library/nginx:1.27`, `nginx@sha256:...`, on any registry
//! host: `mirror.gcr.io/library/nginx`, `public.ecr.aws/docker/library/nginx`) and by
//! upstream's e2e names (`registry.k8s.io/e2e-test-images/nginx:1.14-4`,
//! `.../httpd:2.4.38-4`). Other publishers' images of the same name (`bitnami/nginx`
//! listens on 8080) behave differently, so they are not taken for these.
//!
//! - `nginx` and `httpd`: with no command, or the image's own (`nginx -g 'daemon off;'`,
//!   `/docker-entrypoint.sh nginx ...`, `httpd-foreground`, `httpd -DFOREGROUND`), the
//!   stand-in server ([`crate::standins`]) serves the image's default page on port 80
//!   of the pod IP (through agnhost, which binds `$REFKUBE_BIND_IP` as netexec does);
//!   any other command runs on the machine as with busybox.
//! - `python`: the machine's `python3` (a leading `python`, `python3`, `python3.12` or
//!   their paths is taken for it) with the command/args; none runs `python3`, the
//!   image's default, which exits at once unless the container keeps stdin open.
//! - `alpine`: as busybox.

use crate::standins::WebServer;

/// The images this runtime knows, for the pull error message.
pub const SUPPORTED: &str = "registry.k8s.io/pause, registry.k8s.io/e2e-test-images/agnhost, registry.k8s.io/kubectl, busybox, nginx, httpd, python, alpine (the last four also as registry.k8s.io/e2e-test-images/...)";

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

/// The name of an official image: Docker Hub's library (`nginx`, `library/nginx`,
/// `docker/library/nginx` on ECR's mirror) or upstream's e2e images, on any registry.
fn official_name(image: &str) -> Option<&str> {
    let mut parts: Vec<&str> = repository(image).split('/').collect();
    // As the image reference grammar says: a first component with a dot or a colon, or
    // `localhost`, is the registry host.
    if parts.len() > 1
        && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost")
    {
        parts.remove(0);
    }
    match parts.as_slice() {
        [name]
        | ["library", name]
        | ["docker", "library", name]
        | ["e2e-test-images", name]
        | ["kubernetes-e2e-test-images", name] => Some(name),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Image {
    Pause,
    Agnhost,
    Busybox,
    Kubectl,
    Web(WebServer),
    Python,
    Alpine,
}

fn image(image: &str) -> Option<Image> {
    let known = match last_component(image) {
        "pause" => Some(Image::Pause),
        "agnhost" => Some(Image::Agnhost),
        "busybox" => Some(Image::Busybox),
        "kubectl" => Some(Image::Kubectl),
        _ => None,
    };
    known.or_else(|| match official_name(image)? {
        "nginx" => Some(Image::Web(WebServer::Nginx)),
        "httpd" => Some(Image::Web(WebServer::Httpd)),
        "python" => Some(Image::Python),
        "alpine" => Some(Image::Alpine),
        _ => None,
    })
}

/// Whether the process runtime has `image`.
pub fn is_available(name: &str) -> bool {
    image(name).is_some()
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

fn basename(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

/// Whether `argv` is the image's own way of starting its server in the foreground.
fn starts_server(server: WebServer, argv: &[String]) -> bool {
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    match server {
        WebServer::Nginx => {
            // The image's entrypoint runs its configuration scripts, then execs the rest.
            let argv = match argv.as_slice() {
                [entry, rest @ ..] if basename(entry) == "docker-entrypoint.sh" => rest,
                all => all,
            };
            match argv {
                [] => true,
                [program, flags @ ..] => {
                    matches!(basename(program), "nginx" | "nginx-debug")
                        && flags.len() % 2 == 0
                        && flags.chunks(2).all(|pair| pair[0] == "-g")
                }
            }
        }
        WebServer::Httpd => match argv.as_slice() {
            [] => true,
            [program] => basename(program) == "httpd-foreground",
            [program, flags @ ..] if basename(program) == "httpd" => {
                matches!(flags, ["-DFOREGROUND"] | ["-D", "FOREGROUND"])
            }
            _ => false,
        },
    }
}

fn is_python(program: &str) -> bool {
    let name = basename(program);
    name == "python"
        || name.strip_prefix("python3").is_some_and(|v| {
            v.is_empty() || (v.starts_with('.') && v[1..].chars().all(|c| c.is_ascii_digit()))
        })
}

/// What a container of `image` with `command` and `args` runs, or the pull error.
pub fn resolve(name: &str, command: &[String], args: &[String]) -> Result<Workload, String> {
    let argv: Vec<String> = command.iter().chain(args).cloned().collect();
    match image(name).ok_or_else(|| pull_error(name))? {
        Image::Pause => Ok(Workload::Agnhost(vec!["pause".into()])),
        Image::Agnhost => match argv.first().map(String::as_str) {
            Some(first) if basename(first) == "agnhost" => {
                Ok(Workload::Agnhost(argv[1..].to_vec()))
            }
            Some(first) if first.starts_with('/') || !command.is_empty() => Ok(host(argv)),
            _ => Ok(Workload::Agnhost(argv)),
        },
        Image::Busybox | Image::Alpine => Ok(host(argv)),
        Image::Kubectl if command.is_empty() => Ok(Workload::Host {
            program: "kubectl".into(),
            args: args.to_vec(),
        }),
        Image::Kubectl => Ok(host(argv)),
        Image::Web(server) if starts_server(server, &argv) => {
            let server = match server {
                WebServer::Nginx => "nginx",
                WebServer::Httpd => "httpd",
            };
            Ok(Workload::Agnhost(vec!["web-server".into(), server.into()]))
        }
        Image::Web(_) => Ok(host(argv)),
        Image::Python => {
            let args = match argv.split_first() {
                Some((first, rest)) if is_python(first) => rest.to_vec(),
                Some(_) => return Ok(host(argv)),
                None => vec![],
            };
            Ok(Workload::Host {
                program: "python3".into(),
                args,
            })
        }
    }
}

#[cfg(test)]
#[path = "images_tests.rs"]
mod tests;
