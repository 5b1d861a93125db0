//! A container's standard streams as the process runtime keeps them for `attach` (CRI's
//! `Attach`): its output as it comes, for every attached session and for its log; and
//! its stdin, a pipe or (`tty`) the master side of its terminal, which every attached
//! session writes to and which `stdinOnce` closes when the first session that used it
//! ends. Also the one way a program is started on a new terminal, for tty containers and
//! tty exec sessions alike ([`spawn_on_terminal`]).

use std::ffi::OsString;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Mutex, broadcast, watch};

use crate::logs::ContainerLog;

/// The channels output is tagged with (the remote command protocol's numbers).
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;

/// A terminal's end-of-file character (^D): what "no more input" is on a terminal.
const EOT: u8 = 4;

/// How many output chunks a slow attached session may fall behind before it loses some
/// (the container never waits for a session).
const BACKLOG: usize = 1024;

/// What a container's standard streams are (the container spec's `stdin`, `stdinOnce`
/// and `tty`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StdioConfig {
    /// Keep stdin open (else it reads end of file at once).
    pub stdin: bool,
    /// Close stdin when the first attached session that used it ends.
    pub stdin_once: bool,
    /// Run on a terminal: stdout and stderr are one stream.
    pub tty: bool,
}

/// Where input for a process goes.
pub enum Stdin {
    /// A pipe to its stdin.
    Pipe(Pin<Box<dyn AsyncWrite + Send>>),
    /// Its terminal's master side: input, and the window size.
    Pty(pty_process::OwnedWritePty),
}

impl Stdin {
    /// Writes `data` through.
    pub async fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Stdin::Pipe(w) => w.write_all(data).await?,
            Stdin::Pty(w) => w.write_all(data).await?,
        }
        match self {
            Stdin::Pipe(w) => w.flush().await,
            Stdin::Pty(w) => w.flush().await,
        }
    }

    /// Sets the terminal's window size (a pipe has none).
    pub fn resize(&self, rows: u16, cols: u16) {
        if let Stdin::Pty(w) = self {
            let _ = w.resize(pty_process::Size::new(rows, cols));
        }
    }

    /// The writer sends no more. A terminal has no end of file but ^D at a line's
    /// start, so it gets that and stays (true); a pipe is to be dropped (false), which
    /// the reader sees as end of file.
    pub async fn end(&mut self) -> bool {
        match self {
            Stdin::Pty(w) => {
                let _ = w.write_all(&[EOT]).await;
                true
            }
            Stdin::Pipe(_) => false,
        }
    }
}

/// Starts `argv` on a new 24x80 terminal with exactly `env` and `TERM=xterm` (what
/// runtimes set for a terminal), in `dir`, as the leader of a new session (so also of
/// a new process group). Returns the process and the terminal's master side.
pub fn spawn_on_terminal(
    argv: &[OsString],
    env: &[(String, String)],
    dir: &Path,
) -> Result<(tokio::process::Child, pty_process::OwnedReadPty, Stdin), String> {
    let (program, args) = argv.split_first().ok_or("empty command")?;
    let (pty, pts) = pty_process::open().map_err(|e| e.to_string())?;
    pty.resize(pty_process::Size::new(24, 80))
        .map_err(|e| e.to_string())?;
    let child = pty_process::Command::new(program)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("TERM", "xterm")
        .current_dir(dir)
        .kill_on_drop(true)
        .spawn(pts)
        .map_err(|e| e.to_string())?;
    let (read, write) = pty.into_split();
    Ok((child, read, Stdin::Pty(write)))
}

/// A running container's streams, shared by its attached sessions.
pub struct ContainerIo {
    config: StdioConfig,
    /// None once closed (or when the container takes no input).
    stdin: Mutex<Option<Stdin>>,
    output: broadcast::Sender<(u8, Bytes)>,
    ended: watch::Sender<bool>,
}

impl std::fmt::Debug for ContainerIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerIo")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ContainerIo {
    /// The streams of a container started as `config` says, with `stdin` (a terminal's
    /// master side is kept even without stdin, for resizes).
    pub fn new(config: StdioConfig, stdin: Option<Stdin>) -> Arc<ContainerIo> {
        Arc::new(ContainerIo {
            config,
            stdin: Mutex::new(stdin),
            output: broadcast::channel(BACKLOG).0,
            ended: watch::channel(false).0,
        })
    }

    /// Whether the container runs on a terminal (its output is all on stdout).
    pub fn tty(&self) -> bool {
        self.config.tty
    }

    /// Writes `data` to the container's stdin; false when it takes none (no `stdin`,
    /// closed, or the container is gone).
    pub async fn write_stdin(&self, data: &[u8]) -> bool {
        if !self.config.stdin {
            return false;
        }
        let mut stdin = self.stdin.lock().await;
        let Some(w) = stdin.as_mut() else {
            return false;
        };
        if w.write(data).await.is_err() {
            *stdin = None;
            return false;
        }
        true
    }

    /// Sets the container's terminal size.
    pub async fn resize(&self, rows: u16, cols: u16) {
        if let Some(w) = self.stdin.lock().await.as_ref() {
            w.resize(rows, cols);
        }
    }

    /// An attached session that used stdin stopped using it: with `stdinOnce` the
    /// container's stdin closes for good (a terminal gets ^D first).
    pub async fn release_stdin(&self) {
        if !(self.config.stdin && self.config.stdin_once) {
            return;
        }
        let mut stdin = self.stdin.lock().await;
        if let Some(w) = stdin.as_mut() {
            w.end().await;
        }
        *stdin = None;
    }

    /// Output from now on, tagged with its channel, and whether the container ended
    /// (once true, what the receiver still holds is all there is).
    pub fn subscribe(&self) -> (broadcast::Receiver<(u8, Bytes)>, watch::Receiver<bool>) {
        (self.output.subscribe(), self.ended.subscribe())
    }

    /// The container exited and its output has been read.
    pub fn end(&self) {
        self.ended.send_replace(true);
    }
}

/// Reads `reader` (the container's `channel`) to its end: every chunk goes to the
/// attached sessions as it comes, and line by line to `log` (a terminal's `\r\n` ends a
/// line as `\n` does; an unfinished last line is logged at the end). A terminal's master
/// side ends in EIO once the container and its children are gone: an end, not a failure.
pub async fn pump(
    mut reader: impl AsyncRead + Unpin,
    channel: u8,
    log: Arc<ContainerLog>,
    io: Arc<ContainerIo>,
) {
    let mut buf = vec![0u8; 32 * 1024];
    let mut line: Vec<u8> = Vec::new();
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        // No session attached is the normal case.
        let _ = io.output.send((channel, Bytes::copy_from_slice(chunk)));
        for part in chunk.split_inclusive(|b| *b == b'\n') {
            line.extend_from_slice(part);
            if line.last() == Some(&b'\n') {
                push_line(&log, &line);
                line.clear();
            }
        }
    }
    if !line.is_empty() {
        push_line(&log, &line);
    }
}

fn push_line(log: &ContainerLog, line: &[u8]) {
    let text = String::from_utf8_lossy(line);
    log.push(text.trim_end_matches(['\n', '\r']));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn output_reaches_sessions_raw_and_the_log_by_line() {
        let io = ContainerIo::new(StdioConfig::default(), None);
        let log = Arc::new(ContainerLog::new(10));
        let (mut rx, _) = io.subscribe();
        let input: &[u8] = b"one\r\ntwo\n/ # ";
        pump(input, STDOUT, log.clone(), io.clone()).await;
        let (ch, data) = rx.recv().await.unwrap();
        assert_eq!((ch, &data[..]), (STDOUT, input));
        let lines: Vec<String> = log.read_from(0).lines.into_iter().map(|l| l.text).collect();
        assert_eq!(lines, ["one", "two", "/ # "]);
    }

    #[tokio::test]
    async fn stdin_once_closes_the_pipe_for_good_and_plain_stdin_stays() {
        let (reader, writer) = tokio::io::duplex(64);
        let once = StdioConfig {
            stdin: true,
            stdin_once: true,
            tty: false,
        };
        let io = ContainerIo::new(once, Some(Stdin::Pipe(Box::pin(writer))));
        assert!(io.write_stdin(b"a").await);
        io.release_stdin().await;
        assert!(
            !io.write_stdin(b"b").await,
            "closed after the first session"
        );
        let mut got = String::new();
        let mut reader = reader;
        reader.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "a", "the reader saw end of file");

        let (_reader, writer) = tokio::io::duplex(64);
        let keep = StdioConfig {
            stdin_once: false,
            ..once
        };
        let io = ContainerIo::new(keep, Some(Stdin::Pipe(Box::pin(writer))));
        io.release_stdin().await;
        assert!(
            io.write_stdin(b"c").await,
            "stdin stays open across sessions"
        );
    }
}
