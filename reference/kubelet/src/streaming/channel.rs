//! The WebSocket channel protocols of Kubernetes' streaming endpoints (upstream's
//! `wsstream`): every message starts with a channel number; the `base64` variants send
//! text messages whose first character is the channel digit and whose rest is base64.
//! `v5.channel.k8s.io` adds the CLOSE signal: a message on channel 255 whose one byte
//! names the channel the peer will send no more on. From `v4` on, the error channel
//! carries a `Status` object as JSON; before, plain text.

use axum::extract::ws::Message;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// The channel number reserved for the CLOSE signal (`v5.channel.k8s.io`).
pub const CLOSE: u8 = 255;

/// Remote command channels.
pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const ERROR: u8 = 3;
pub const RESIZE: u8 = 4;

/// The subprotocols `exec`/`attach` accept, preferred first (upstream's order).
pub const REMOTE_COMMAND: &[&str] = &[
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v4.base64.channel.k8s.io",
    "v3.channel.k8s.io",
    "v3.base64.channel.k8s.io",
    "v2.channel.k8s.io",
    "v2.base64.channel.k8s.io",
    "channel.k8s.io",
    "base64.channel.k8s.io",
];

/// The subprotocols `portforward` accepts.
pub const PORT_FORWARD: &[&str] = &[
    "v4.channel.k8s.io",
    "v4.base64.channel.k8s.io",
    "channel.k8s.io",
    "base64.channel.k8s.io",
];

/// How frames of the negotiated subprotocol look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec {
    /// Text frames with base64 payloads instead of binary frames.
    pub base64: bool,
    /// The error channel carries a `Status` (v4 and later) rather than text.
    pub status_errors: bool,
    /// The peer may send the CLOSE signal (v5).
    pub close_signal: bool,
}

impl Codec {
    /// The codec of subprotocol `protocol` (`""` when the client named none).
    pub fn of(protocol: &str) -> Codec {
        let version = protocol
            .split('.')
            .next()
            .and_then(|v| v.strip_prefix('v'))
            .and_then(|v| v.parse::<u8>().ok())
            .unwrap_or(1);
        Codec {
            base64: protocol.contains("base64"),
            status_errors: version >= 4,
            close_signal: version >= 5,
        }
    }

    /// The message carrying `data` on `channel`.
    pub fn encode(&self, channel: u8, data: &[u8]) -> Message {
        if self.base64 {
            let mut text = String::with_capacity(1 + data.len().div_ceil(3) * 4);
            text.push(char::from(b'0' + channel));
            STANDARD.encode_string(data, &mut text);
            Message::Text(text.into())
        } else {
            let mut frame = Vec::with_capacity(data.len() + 1);
            frame.push(channel);
            frame.extend_from_slice(data);
            Message::Binary(frame.into())
        }
    }

    /// The channel and payload of a received message; None for control messages,
    /// empty messages and payloads that are not valid base64.
    pub fn decode(&self, message: Message) -> Option<(u8, Vec<u8>)> {
        match message {
            Message::Binary(b) if !self.base64 => {
                let (&channel, data) = b.split_first()?;
                Some((channel, data.to_vec()))
            }
            Message::Text(t) if self.base64 => {
                let (first, rest) = t.as_bytes().split_first()?;
                let data = STANDARD.decode(rest).ok()?;
                Some((first.wrapping_sub(b'0'), data))
            }
            _ => None,
        }
    }

    /// What the error channel says when the command failed with `message` (`None`:
    /// it succeeded). Before v4 success says nothing.
    pub fn error_payload(&self, failure: Option<Failure>) -> Option<Vec<u8>> {
        match (failure, self.status_errors) {
            (None, true) => Some(status_json(&success())),
            (None, false) => None,
            (Some(f), true) => Some(status_json(&f.status())),
            (Some(f), false) => Some(f.message().into_bytes()),
        }
    }
}

fn status_json(status: &Value) -> Vec<u8> {
    serde_json::to_vec(status).unwrap_or_default()
}

fn success() -> Value {
    json!({"metadata": {}, "status": "Success"})
}

/// Why a streamed command did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// It ran and exited with a code other than 0.
    ExitCode {
        /// The command as asked.
        command: Vec<String>,
        /// Its exit code.
        code: i32,
    },
    /// It could not run, or the stream broke.
    Error(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl Failure {
    fn message(&self) -> String {
        match self {
            Failure::ExitCode { command, code } => format!(
                "command terminated with non-zero exit code: error executing command [{}], exit code {code}",
                command.join(" ")
            ),
            Failure::Error(m) => m.clone(),
        }
    }

    /// Upstream's Status: `NonZeroExitCode` with an `ExitCode` cause, else
    /// `InternalError`.
    fn status(&self) -> Value {
        match self {
            Failure::ExitCode { code, .. } => json!({
                "metadata": {},
                "status": "Failure",
                "message": self.message(),
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
            }),
            Failure::Error(m) => json!({
                "metadata": {},
                "status": "Failure",
                "message": m,
                "reason": "InternalError",
                "code": 500,
            }),
        }
    }
}

/// A terminal size from the resize channel (`{"Width":80,"Height":24}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub struct TerminalSize {
    #[serde(rename = "Width")]
    pub width: u16,
    #[serde(rename = "Height")]
    pub height: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_decide_status_errors_and_the_close_signal() {
        let v5 = Codec::of("v5.channel.k8s.io");
        assert!(v5.close_signal && v5.status_errors && !v5.base64);
        let v4 = Codec::of("v4.base64.channel.k8s.io");
        assert!(!v4.close_signal && v4.status_errors && v4.base64);
        let v1 = Codec::of("channel.k8s.io");
        assert!(!v1.status_errors && !v1.close_signal);
    }

    #[test]
    fn frames_round_trip_in_both_encodings() {
        for protocol in ["v4.channel.k8s.io", "v4.base64.channel.k8s.io"] {
            let codec = Codec::of(protocol);
            let msg = codec.encode(STDOUT, b"hi\n");
            assert_eq!(codec.decode(msg), Some((STDOUT, b"hi\n".to_vec())));
        }
        let text = Codec::of("base64.channel.k8s.io").encode(STDERR, b"hi");
        assert_eq!(text, Message::Text("2aGk=".into()));
    }

    #[test]
    fn a_non_zero_exit_is_upstreams_status() {
        let payload = Codec::of("v5.channel.k8s.io")
            .error_payload(Some(Failure::ExitCode {
                command: vec!["sh".into(), "-c".into(), "exit 3".into()],
                code: 3,
            }))
            .unwrap();
        let status: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(status["reason"], "NonZeroExitCode");
        assert_eq!(
            status["details"]["causes"][0],
            json!({"reason": "ExitCode", "message": "3"})
        );
        assert_eq!(
            status["message"],
            "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3"
        );
        let ok = Codec::of("v4.channel.k8s.io").error_payload(None).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&ok).unwrap()["status"],
            "Success"
        );
        assert_eq!(Codec::of("channel.k8s.io").error_payload(None), None);
    }
}
