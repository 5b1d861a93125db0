//! SPDY/3.1, as far as Kubernetes' streaming uses it (upstream's `httpstream/spdy` on
//! `moby/spdystream`): kubectl's `port-forward` speaks it, over a plain
//! `Upgrade: SPDY/3.1` connection or tunnelled in WebSocket binary messages
//! (subprotocol `SPDY/3.1+portforward.k8s.io`, [`tunnel`]). Frames ([`frame`]), header
//! blocks ([`headers`]) and the server side of a connection ([`conn`]).

pub mod conn;
pub mod frame;
pub mod headers;
pub mod tunnel;

/// The `Upgrade` token of a plain SPDY connection.
pub const UPGRADE: &str = "SPDY/3.1";
