//! Starting an exec'd command in a container (CRI's `Exec`): behind the argv prefix
//! that enters the container's namespaces, with its environment and working directory,
//! on pipes or (`tty`) on a new terminal.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;

use super::StreamOptions;
use super::channel::{self, Failure};
use super::session::{Input, Streams};
use crate::runtime::ExecTarget;
use crate::runtime::stdio::{self, Stdin};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The exit code a shell would report: the code, or 128+signal.
fn exit_code(status: std::process::ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

/// Whether `program` can be run with `path` (the container's `PATH`): upstream's
/// runtime says so before starting anything.
fn findable(program: &str, path: &str, dir: &Path) -> bool {
    if program.contains('/') {
        return dir.join(program).is_file();
    }
    path.split(':')
        .filter(|d| !d.is_empty())
        .any(|d| Path::new(d).join(program).is_file())
}

fn not_found(program: &str) -> Failure {
    Failure::Error(format!(
        "OCI runtime exec failed: exec failed: unable to start container process: exec: \"{program}\": executable file not found in $PATH: unknown"
    ))
}

async fn wait(mut child: tokio::process::Child, command: Vec<String>) -> Option<Failure> {
    match child.wait().await {
        Ok(s) if s.success() => None,
        Ok(s) => Some(Failure::ExitCode {
            command,
            code: exit_code(s),
        }),
        Err(e) => Some(Failure::Error(e.to_string())),
    }
}

/// Starts `command` in `target` as `options` ask; the failure is what the error
/// channel reports when it cannot start.
pub fn spawn(
    target: &ExecTarget,
    command: &[String],
    options: &StreamOptions,
) -> Result<Streams, Failure> {
    let program = command
        .first()
        .ok_or_else(|| Failure::Error("you must specify at least 1 command".into()))?;
    let path = target
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map_or(DEFAULT_PATH, |(_, v)| v.as_str());
    if !findable(program, path, &target.dir) {
        return Err(not_found(program));
    }
    let mut argv: Vec<OsString> = target.prefix.clone();
    argv.extend(command.iter().map(OsString::from));
    let (exe, args) = argv
        .split_first()
        .ok_or_else(|| Failure::Error("empty command".into()))?;
    let start_err =
        |e: &dyn std::fmt::Display| Failure::Error(format!("failed to exec in container: {e}"));
    if options.tty {
        let mut env = vec![("PATH".to_string(), DEFAULT_PATH.to_string())];
        env.extend(target.env.iter().cloned());
        let (child, read, write) =
            stdio::spawn_on_terminal(&argv, &env, &target.dir).map_err(|e| start_err(&e))?;
        return Ok(Streams {
            input: Some(Input::Own(write)),
            outputs: vec![(channel::STDOUT, Box::pin(read))],
            finished: Box::pin(wait(child, command.to_vec())),
        });
    }
    let piped = |on: bool| if on { Stdio::piped() } else { Stdio::null() };
    let mut child = tokio::process::Command::new(exe)
        .args(args)
        .env_clear()
        .env("PATH", DEFAULT_PATH)
        .envs(target.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&target.dir)
        .stdin(piped(options.stdin))
        .stdout(piped(options.stdout))
        .stderr(piped(options.stderr))
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| start_err(&e))?;
    let mut outputs: Vec<(u8, std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>)> = Vec::new();
    if let Some(out) = child.stdout.take() {
        outputs.push((channel::STDOUT, Box::pin(out)));
    }
    if let Some(err) = child.stderr.take() {
        outputs.push((channel::STDERR, Box::pin(err)));
    }
    let input = child
        .stdin
        .take()
        .map(|w| Input::Own(Stdin::Pipe(Box::pin(w))));
    Ok(Streams {
        input,
        outputs,
        finished: Box::pin(wait(child, command.to_vec())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_looked_up_in_the_containers_path() {
        assert!(findable("sh", DEFAULT_PATH, Path::new("/")));
        assert!(!findable(
            "no-such-program-here",
            DEFAULT_PATH,
            Path::new("/")
        ));
        assert!(findable("/bin/sh", "", Path::new("/")));
        let Failure::Error(message) = not_found("nope") else {
            panic!("not an error");
        };
        assert!(
            message.contains("executable file not found in $PATH"),
            "{message}"
        );
    }
}
