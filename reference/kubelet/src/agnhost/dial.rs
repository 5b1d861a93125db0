//! netexec's `/dial`: makes `tries` requests to `host:port` over HTTP or UDP and reports
//! what answered, as upstream's `dialHandler` in `test/images/agnhost/netexec`.
//!
//! Entry points: [`parse`] (the query → a [`Dial`] or upstream's 400 message),
//! [`resolve`], [`run`] (the requests) and [`render`] (the JSON answer). Error strings follow Go's wording,
//! since e2e tests and humans compare them with upstream's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Map, Value};

/// Settings of `/dial`.
#[derive(Clone, Debug)]
pub struct DialConfig {
    /// Per-request timeout (upstream: 5 s for both the HTTP client and the UDP read).
    pub timeout: Duration,
}

impl Default for DialConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
        }
    }
}

impl DialConfig {
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }
}

/// The transport of a dial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Http,
    Udp,
}

/// One validated `/dial` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dial {
    pub host: String,
    pub port: u16,
    /// The HTTP path (without the leading `/`) or the UDP datagram.
    pub request: String,
    pub protocol: Protocol,
    pub tries: usize,
}

/// Go's `strconv.Atoi` message for a bad integer.
fn atoi_error(s: &str) -> String {
    format!("strconv.Atoi: parsing {s:?}: invalid syntax")
}

/// Validates the query as upstream does; `Err` is the 400 body.
pub fn parse(q: &HashMap<String, String>) -> Result<Dial, String> {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    let tries = match get("tries") {
        "" => 1,
        t => t
            .parse::<i64>()
            .map_err(|_| format!("tries parameter is invalid. {}", atoi_error(t)))?,
    };
    let request = get("request");
    if request.is_empty() {
        return Err("request parameter not specified. <nil>".into());
    }
    let protocol = match get("protocol").to_ascii_lowercase().as_str() {
        "" | "http" => Protocol::Http,
        "udp" => Protocol::Udp,
        other => return Err(format!("unsupported protocol. {other}")),
    };
    let (host, port) = (get("host"), get("port"));
    let net = if protocol == Protocol::Http {
        "tcp"
    } else {
        "udp"
    };
    let port = port.parse::<u16>().map_err(|_| {
        let hostport = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        format!("host and/or port param are invalid. address {hostport}: invalid port ({net})")
    })?;
    Ok(Dial {
        host: host.to_string(),
        port,
        request: request.to_string(),
        protocol,
        // A negative count makes upstream's loop run zero times.
        tries: usize::try_from(tries).unwrap_or(0),
    })
}

fn hostport(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Go's wording for an I/O failure on `op` (`dial`/`read`) of `net` to `addr`.
fn go_net_error(op: &str, net: &str, addr: &str, e: &std::io::Error) -> String {
    let what = match e.kind() {
        std::io::ErrorKind::ConnectionRefused if op == "dial" => "connect: connection refused",
        std::io::ErrorKind::ConnectionRefused => "read: connection refused",
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "i/o timeout",
        _ => return format!("{op} {net} {addr}: {e}"),
    };
    format!("{op} {net} {addr}: {what}")
}

fn io_source(e: &reqwest::Error) -> Option<&std::io::Error> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = s.source();
    }
    None
}

/// One HTTP try: `GET http://{host:port}/{request}`, the body being the response.
async fn dial_http(
    client: &reqwest::Client,
    addr: SocketAddr,
    request: &str,
) -> Result<String, String> {
    let url = format!("http://{addr}/{request}");
    let failed = |e: reqwest::Error| {
        let why = if e.is_timeout() {
            "context deadline exceeded (Client.Timeout exceeded while awaiting headers)".into()
        } else if let Some(io) = io_source(&e) {
            go_net_error("dial", "tcp", &addr.to_string(), io)
        } else {
            e.to_string()
        };
        format!("Get {url:?}: {why}")
    };
    let resp = client.get(&url).send().await.map_err(failed)?;
    resp.text().await.map_err(failed)
}

/// One UDP try: send `request` as a datagram and read one reply.
async fn dial_udp(addr: SocketAddr, request: &str, timeout: Duration) -> Result<String, String> {
    let local: SocketAddr = if addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = tokio::net::UdpSocket::bind(local)
        .await
        .map_err(|e| format!("udp dial failed. err:{e}"))?;
    sock.connect(addr).await.map_err(|e| {
        format!(
            "udp dial failed. err:{}",
            go_net_error("dial", "udp", &addr.to_string(), &e)
        )
    })?;
    let pair = match sock.local_addr() {
        Ok(l) => format!("{l}->{addr}"),
        Err(_) => addr.to_string(),
    };
    sock.send(request.as_bytes()).await.map_err(|e| {
        format!(
            "udp connection write failed. err:{}",
            go_net_error("write", "udp", &pair, &e)
        )
    })?;
    let mut buf = vec![0u8; 2048];
    let read_failed = |why: String| format!("reading from udp connection failed. err:'{why}'");
    match tokio::time::timeout(timeout, sock.recv(&mut buf)).await {
        Ok(Ok(0)) => Err(read_failed("<nil>".into())),
        Ok(Ok(n)) => Ok(String::from_utf8_lossy(&buf[..n]).into_owned()),
        Ok(Err(e)) => Err(read_failed(go_net_error("read", "udp", &pair, &e))),
        Err(_) => Err(read_failed(format!("read udp {pair}: i/o timeout"))),
    }
}

/// The outcome of a dial: every try's answer or error, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub responses: Vec<String>,
    pub errors: Vec<String>,
    /// What the last try answered (empty if it failed): upstream lists the responses only
    /// when this is non-empty.
    pub last: String,
}

/// Resolves `host:port` once before the tries, as upstream's `net.ResolveTCPAddr` /
/// `ResolveUDPAddr` do; `Err` is the 400 body.
pub async fn resolve(d: &Dial) -> Result<SocketAddr, String> {
    let target = hostport(&d.host, d.port);
    let invalid = |why: String| format!("host and/or port param are invalid. {why}");
    match tokio::net::lookup_host(target.as_str()).await {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| invalid(format!("lookup {}: no such host", d.host))),
        Err(_) => Err(invalid(format!("lookup {}: no such host", d.host))),
    }
}

/// Makes the tries to `addr` one after the other, as upstream does.
pub async fn run(d: &Dial, addr: SocketAddr, cfg: &DialConfig) -> Outcome {
    let mut out = Outcome::default();
    // A fresh connection per try, as upstream closes idle connections after each, so
    // every try goes through the Service's load balancing again.
    let client = reqwest::Client::builder()
        .timeout(cfg.timeout)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap_or_default();
    for _ in 0..d.tries {
        let r = match d.protocol {
            Protocol::Http => dial_http(&client, addr, &d.request).await,
            Protocol::Udp => dial_udp(addr, &d.request, cfg.timeout).await,
        };
        match r {
            Ok(body) => {
                out.last = body.clone();
                out.responses.push(body);
            }
            Err(e) => {
                out.last.clear();
                out.errors.push(e);
            }
        }
    }
    out
}

/// The JSON answer: `responses` when the last try answered something, `errors` when any
/// try failed (upstream's exact rule, quirks included).
pub fn render(o: &Outcome) -> Value {
    let mut m = Map::new();
    if !o.last.is_empty() {
        m.insert("responses".into(), o.responses.clone().into());
    }
    if !o.errors.is_empty() {
        m.insert("errors".into(), o.errors.clone().into());
    }
    // Upstream marshals a Go map, whose keys come out sorted.
    m.sort_keys();
    Value::Object(m)
}

#[cfg(test)]
#[path = "dial_tests.rs"]
mod tests;
