//! kubectl's port-forward on the wire: SPDY/3.1 over a plain `Upgrade: SPDY/3.1`
//! connection and tunnelled in WebSocket binary messages
//! (`SPDY/3.1+portforward.k8s.io`). A small SPDY client made of the kubelet's own
//! frame and header codecs opens the error and data streams of one request, as
//! kubectl does, and checks the replies and the echoed bytes; a dial failure comes
//! back as text on the error stream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serving;

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use refkube_kubelet::streaming::spdy::frame::{self, Frame};
use refkube_kubelet::streaming::spdy::headers;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A kubelet server with pod `default/pf` at 127.0.0.1.
async fn kubelet() -> SocketAddr {
    // The server holds the runtime, so the pod lives as long as the test's server.
    serving::serve_pod("pf", &["sleep", "60"], Default::default())
        .await
        .addr
}

/// A TCP echo server on loopback; its port.
async fn echo() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    port
}

/// A SPDY client on `io`, as kubectl's: one header compressor per connection.
struct Client<IO> {
    io: IO,
    headers: headers::Writer,
    buf: Vec<u8>,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Client<IO> {
    fn new(io: IO) -> Self {
        Client {
            io,
            headers: headers::Writer::default(),
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, f: Frame) {
        self.io.write_all(&frame::encode(&f)).await.unwrap();
    }

    /// Opens request `request`'s error (`id`) and data (`id + 2`) streams to `port`.
    async fn open_pair(&mut self, id: u32, port: u16, request: &str) {
        let p = port.to_string();
        for (stream, kind) in [(id, "error"), (id + 2, "data")] {
            let block = self
                .headers
                .write(&[("streamtype", kind), ("port", &p), ("requestid", request)])
                .unwrap();
            self.send(Frame::SynStream {
                stream,
                fin: false,
                block,
            })
            .await;
        }
    }

    /// The next `want` frames.
    async fn frames(&mut self, want: usize) -> Vec<Frame> {
        let mut out = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            while out.len() < want
                && let Some((f, used)) = frame::parse(&self.buf).unwrap()
            {
                self.buf.drain(..used);
                out.push(f);
            }
            if out.len() >= want {
                return out;
            }
            let n = tokio::time::timeout(Duration::from_secs(10), self.io.read(&mut chunk))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "connection closed after {out:?}");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Request `request` on streams `id`/`id + 2` to the echo server at `port`: both
    /// are answered and "ping" comes back on the data stream.
    async fn echo_once(&mut self, id: u32, port: u16, request: &str) {
        self.open_pair(id, port, request).await;
        let replies = self.frames(2).await;
        assert!(
            matches!(replies[..], [Frame::SynReply { stream: a, .. }, Frame::SynReply { stream: b, .. }] if a == id && b == id + 2),
            "{replies:?}"
        );
        self.send(Frame::Data {
            stream: id + 2,
            fin: false,
            data: b"ping".to_vec(),
        })
        .await;
        assert_eq!(
            self.frames(1).await,
            [Frame::Data {
                stream: id + 2,
                fin: false,
                data: b"ping".to_vec()
            }]
        );
    }
}

#[tokio::test]
async fn a_plain_spdy_upgrade_forwards_bytes_to_the_pods_port() {
    let addr = kubelet().await;
    let port = echo().await;
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST /portforward/default/pf HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\nContent-Length: 0\r\n\r\n"
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        tcp.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(
        head.contains("x-stream-protocol-version: portforward.k8s.io"),
        "{head}"
    );
    let mut client = Client::new(tcp);
    client.echo_once(1, port, "0").await;
    client.echo_once(5, port, "1").await;
    // A ping is answered with its id.
    client.send(Frame::Ping(7)).await;
    assert_eq!(client.frames(1).await, [Frame::Ping(7)]);
}

#[tokio::test]
async fn spdy_tunnelled_in_a_websocket_forwards_and_reports_dial_failures() {
    let addr = kubelet().await;
    let port = echo().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut req = format!("ws://{addr}/portforward/default/pf")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "SPDY/3.1+portforward.k8s.io".parse().unwrap(),
    );
    let (ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        resp.headers()["sec-websocket-protocol"],
        "SPDY/3.1+portforward.k8s.io"
    );
    // The test's side of the tunnel: one binary message per write, as upstream's.
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let (mut sink, mut source) = ws.split();
        let (mut r, mut w) = tokio::io::split(theirs);
        let up = async move {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = r.read(&mut buf).await {
                let m = Message::Binary(buf[..n].to_vec().into());
                if sink.send(m).await.is_err() {
                    return;
                }
            }
        };
        let down = async move {
            while let Some(Ok(Message::Binary(b))) = source.next().await {
                if w.write_all(&b).await.is_err() {
                    return;
                }
            }
        };
        tokio::join!(up, down);
    });
    let mut client = Client::new(ours);
    client.echo_once(1, port, "0").await;
    client.open_pair(5, closed, "1").await;
    let got = client.frames(5).await;
    let Frame::Data {
        stream: 5, data, ..
    } = &got[2]
    else {
        panic!("no error text: {got:?}");
    };
    let text = String::from_utf8_lossy(data);
    assert!(
        text.starts_with(&format!("error forwarding port {closed} to pod pf")),
        "{text}"
    );
    assert!(
        got[3..]
            .iter()
            .all(|f| matches!(f, Frame::Data { fin: true, data, .. } if data.is_empty())),
        "{got:?}"
    );
}
