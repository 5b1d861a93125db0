//! agnhost: the Kubernetes e2e test image's multi-purpose binary, rebuilt as the
//! workloads of the process runtime. Entry point: [`run`] (the `agnhost` binary and
//! `refkube agnhost` call it with their arguments).
//!
//! Subcommands: `pause`, `netexec`, `serve-hostname`, `liveness`, `logs-generator`,
//! `connect`.
//! Servers bind all interfaces, as upstream's do, unless the process runtime passes
//! `$REFKUBE_BIND_IP` for a pod that shares the machine's network stack (the `loopback`
//! pod network, or `hostNetwork`); the hostname they report is `$HOSTNAME` (the kubelet sets it to the
//! pod name, as a container's UTS namespace would) or the machine's.

pub mod dial;
mod netexec;
mod simple;

use std::net::IpAddr;
use std::time::Duration;

use clap::{Parser, Subcommand};

/// Errors from agnhost.
#[derive(Debug, thiserror::Error)]
pub enum AgnhostError {
    /// The arguments do not parse.
    #[error("{0}")]
    Usage(String),
    /// A duration argument is not a Go duration.
    #[error("invalid duration {0:?}")]
    Duration(String),
    /// A socket could not be bound or served.
    #[error("serving {what} on {addr}: {source}")]
    Serve {
        /// What was being served.
        what: &'static str,
        /// The address.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Waiting for signals failed.
    #[error("installing signal handler: {0}")]
    Signal(#[source] std::io::Error),
}

/// agnhost's command line.
#[derive(Debug, Parser, PartialEq)]
#[command(name = "agnhost", about = "refkube's agnhost: e2e test workloads")]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// agnhost subcommands.
#[derive(Debug, Subcommand, PartialEq)]
pub enum Command {
    /// Sleeps until SIGTERM or SIGINT, then exits 0 (the pause container).
    Pause,
    /// HTTP (and UDP) server for network tests.
    Netexec {
        /// HTTP port.
        #[arg(long = "http-port", default_value_t = 8080)]
        http_port: u16,
        /// UDP port; -1 disables it.
        #[arg(long = "udp-port", default_value_t = 8081, allow_hyphen_values = true)]
        udp_port: i32,
    },
    /// Serves the hostname over HTTP.
    ServeHostname {
        /// Port.
        #[arg(long, default_value_t = 9376)]
        port: u16,
    },
    /// Serves /healthz: 200 for a while, then 500.
    Liveness {
        /// How long /healthz stays healthy (Go duration; env
        /// `AGNHOST_LIVENESS_HEALTHY_FOR` overrides the 10s default).
        #[arg(
            long = "healthy-for",
            env = "AGNHOST_LIVENESS_HEALTHY_FOR",
            default_value = "10s"
        )]
        healthy_for: String,
        /// Port.
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Tries one TCP connection to `host:port`: exit 0 on success, else 1 with
    /// `REFUSED`, `TIMEOUT` or `OTHER: ...` on stderr (upstream `agnhost connect`).
    Connect {
        /// `host:port`.
        dest: String,
        /// Connection timeout (Go duration).
        #[arg(long, default_value = "5s")]
        timeout: String,
    },
    /// Runs a program in place of this process once it is tied to the kubelet (the
    /// process runtime starts every host program this way; see [`tie_to_parent`]).
    #[command(hide = true)]
    Exec {
        /// The program and its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        argv: Vec<String>,
    },
    /// Serves an image's default page as the `nginx` or `httpd` image does (the process
    /// runtime's stand-in for those images; see [`crate::standins`]).
    #[command(hide = true)]
    WebServer {
        /// Which image's server.
        #[arg(value_enum)]
        server: crate::standins::WebServer,
        /// Port (both images listen on 80).
        #[arg(long, default_value_t = 80)]
        port: u16,
    },
    /// Prints numbered log lines spread over a duration.
    LogsGenerator {
        /// Total lines (also `--log-lines-total`).
        lines: Option<u64>,
        /// Run duration, a Go duration (also `--run-duration`).
        duration: Option<String>,
        /// Total lines.
        #[arg(long = "log-lines-total")]
        log_lines_total: Option<u64>,
        /// Run duration.
        #[arg(long = "run-duration")]
        run_duration: Option<String>,
    },
}

/// Parses agnhost arguments (the first item is the program name).
pub fn parse<I, T>(args: I) -> Result<Cli, AgnhostError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Cli::try_parse_from(args).map_err(|e| AgnhostError::Usage(e.to_string()))
}

/// Parses a Go duration: `300ms`, `10s`, `1m30s`, `1.5h`, `2us`; a bare number is seconds.
pub fn parse_go_duration(text: &str) -> Result<Duration, AgnhostError> {
    let bad = || AgnhostError::Duration(text.to_string());
    let s = text.trim();
    if let Ok(secs) = s.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).map_err(|_| bad());
    }
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let value: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

/// The environment variable through which the process runtime tells a container that
/// shares the machine's network stack which address is its pod's.
pub const BIND_IP_ENV: &str = "REFKUBE_BIND_IP";

/// The address servers bind: `$REFKUBE_BIND_IP`, else all interfaces.
pub fn bind_ip() -> IpAddr {
    std::env::var(BIND_IP_ENV)
        .ok()
        .and_then(|ip| ip.parse().ok())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// The hostname reported: `$HOSTNAME`, else the machine's.
pub fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "localhost".into())
}

/// The environment variable through which the process runtime tells its children the
/// kubelet's pid.
pub const KUBELET_PID_ENV: &str = "REFKUBE_KUBELET_PID";

/// Makes this process die with the kubelet that started it (`PR_SET_PDEATHSIG`), so a
/// killed kubelet leaves no container processes holding pod IPs behind. Does nothing
/// unless started by the process runtime (`REFKUBE_KUBELET_PID` set).
pub fn tie_to_parent() {
    let Some(kubelet) = std::env::var(KUBELET_PID_ENV)
        .ok()
        .and_then(|p| p.parse::<i32>().ok())
    else {
        return;
    };
    // Best effort: if the kernel refuses, the kubelet's process-group kill still applies.
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    // The kubelet may have died before the death signal was armed.
    if nix::unistd::getppid().as_raw() != kubelet {
        std::process::exit(137);
    }
}

/// Replaces this process with `argv` (exit code 127 if it cannot be run, as a shell
/// reports a missing command).
fn exec(argv: &[String]) -> i32 {
    use std::os::unix::process::CommandExt;
    let Some((program, args)) = argv.split_first() else {
        return 127;
    };
    let err = std::process::Command::new(program)
        .args(args)
        .env_remove(KUBELET_PID_ENV)
        .exec();
    eprintln!("exec: {program:?}: {err}");
    127
}

/// The whole agnhost program: parses `args` (the first is the program name), runs it and
/// returns the exit code (2 for usage errors, 1 for runtime errors, reported on stderr).
/// `refkube agnhost ...` and the `agnhost` binary both call this.
pub async fn main_with_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match parse(args) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("agnhost: {e}");
            1
        }
    }
}

/// Runs agnhost with `cli` until it is done; returns the process exit code.
pub async fn run(cli: Cli) -> Result<i32, AgnhostError> {
    tie_to_parent();
    match cli.command {
        Command::Exec { argv } => Ok(exec(&argv)),
        Command::Connect { dest, timeout } => {
            simple::connect(&dest, parse_go_duration(&timeout)?).await
        }
        Command::Pause => simple::pause().await,
        Command::Netexec {
            http_port,
            udp_port,
        } => netexec::serve(bind_ip(), http_port, u16::try_from(udp_port).ok()).await,
        Command::WebServer { server, port } => {
            crate::standins::serve(server, bind_ip(), port).await
        }
        Command::ServeHostname { port } => simple::serve_hostname(bind_ip(), port).await,
        Command::Liveness { healthy_for, port } => {
            simple::liveness(bind_ip(), port, parse_go_duration(&healthy_for)?).await
        }
        Command::LogsGenerator {
            lines,
            duration,
            log_lines_total,
            run_duration,
        } => {
            let lines = log_lines_total.or(lines).ok_or_else(|| {
                AgnhostError::Usage("logs-generator needs <lines> or --log-lines-total".into())
            })?;
            let duration = run_duration.or(duration).ok_or_else(|| {
                AgnhostError::Usage("logs-generator needs <duration> or --run-duration".into())
            })?;
            simple::logs_generator(lines, parse_go_duration(&duration)?).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netexec_flags_parse_in_both_go_styles() {
        let cli = parse(["agnhost", "netexec", "--http-port=8081", "--udp-port", "-1"]).unwrap();
        assert_eq!(
            cli.command,
            Command::Netexec {
                http_port: 8081,
                udp_port: -1
            }
        );
        let cli = parse(["agnhost", "netexec"]).unwrap();
        assert_eq!(
            cli.command,
            Command::Netexec {
                http_port: 8080,
                udp_port: 8081
            }
        );
    }

    #[test]
    fn logs_generator_takes_positional_or_flag_arguments() {
        let cli = parse(["agnhost", "logs-generator", "5", "1s"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::LogsGenerator { lines: Some(5), .. }
        ));
        let cli = parse([
            "agnhost",
            "logs-generator",
            "--log-lines-total=7",
            "--run-duration=2s",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::LogsGenerator {
                log_lines_total: Some(7),
                ..
            }
        ));
    }

    #[test]
    fn exec_takes_the_whole_command_line_after_it() {
        let cli = parse(["agnhost", "exec", "--", "sh", "-c", "exit 3"]).unwrap();
        assert_eq!(
            cli.command,
            Command::Exec {
                argv: vec!["sh".into(), "-c".into(), "exit 3".into()]
            }
        );
    }

    #[test]
    fn unknown_subcommands_are_usage_errors() {
        assert!(matches!(
            parse(["agnhost", "teapot"]),
            Err(AgnhostError::Usage(_))
        ));
    }

    #[test]
    fn go_durations_parse() {
        assert_eq!(
            parse_go_duration("300ms").unwrap(),
            Duration::from_millis(300)
        );
        assert_eq!(parse_go_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_go_duration("1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(parse_go_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_go_duration("ten seconds").is_err());
        assert!(parse_go_duration("").is_err());
    }
}
