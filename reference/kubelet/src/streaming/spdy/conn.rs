//! The server side of one SPDY/3.1 connection over any byte stream: the peer opens
//! streams (SYN_STREAM), each is answered (SYN_REPLY) and handed out with its headers,
//! a receiver of its incoming data and a handle to send on it; PINGs are echoed. One
//! writer task owns the outgoing header compressor, so blocks go out in stream order.

use std::collections::HashMap;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::frame::{self, Frame};
use super::headers::{self, Headers};

/// The most one DATA frame carries (what the Go client reads at once).
const MAX_DATA: usize = 32 * 1024;

/// What goes out.
enum Out {
    Reply(u32),
    Frame(Frame),
}

/// Sends on one stream.
#[derive(Clone)]
pub struct StreamOut {
    id: u32,
    tx: mpsc::Sender<Out>,
}

impl StreamOut {
    /// Sends `data`; false once the connection is gone.
    pub async fn send(&self, data: &[u8]) -> bool {
        for chunk in data.chunks(MAX_DATA) {
            let f = Frame::Data {
                stream: self.id,
                fin: false,
                data: chunk.to_vec(),
            };
            if self.tx.send(Out::Frame(f)).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Half-closes the stream: this side sends no more (an empty DATA with FIN).
    pub async fn close(&self) {
        let f = Frame::Data {
            stream: self.id,
            fin: true,
            data: Vec::new(),
        };
        let _ = self.tx.send(Out::Frame(f)).await;
    }

    /// Resets the stream with `status`.
    pub async fn reset(&self, status: u32) {
        let f = Frame::RstStream {
            stream: self.id,
            status,
        };
        let _ = self.tx.send(Out::Frame(f)).await;
    }
}

/// A stream the peer opened.
pub struct Stream {
    pub id: u32,
    /// Its headers, names lowercase.
    pub headers: Headers,
    /// Its data; ends when the peer half-closes or resets it, or the connection ends.
    pub incoming: mpsc::Receiver<Vec<u8>>,
    pub out: StreamOut,
}

impl Stream {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

async fn write_frames<W: AsyncWrite + Unpin>(mut w: W, mut rx: mpsc::Receiver<Out>) {
    let mut headers = headers::Writer::default();
    while let Some(out) = rx.recv().await {
        let frame = match out {
            Out::Reply(stream) => match headers.write(&[]) {
                Ok(block) => Frame::SynReply {
                    stream,
                    fin: false,
                    block,
                },
                Err(e) => {
                    tracing::warn!("spdy: {}", e.0);
                    return;
                }
            },
            Out::Frame(f) => f,
        };
        if w.write_all(&frame::encode(&frame)).await.is_err() || w.flush().await.is_err() {
            return;
        }
    }
    let _ = w.shutdown().await;
}

/// Serves the connection `io` until the peer ends it, handing each new stream to
/// `streams`.
pub async fn serve<IO>(io: IO, streams: mpsc::Sender<Stream>)
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut r, w) = tokio::io::split(io);
    let (tx, rx) = mpsc::channel::<Out>(64);
    let writer = tokio::spawn(write_frames(w, rx));
    let mut headers = headers::Reader::default();
    let mut open: HashMap<u32, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 32 * 1024];
    'read: loop {
        loop {
            let (f, used) = match frame::parse(&buf) {
                Ok(Some(x)) => x,
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!("spdy: {}", e.0);
                    let goaway = Frame::GoAway {
                        last_good: 0,
                        status: 1,
                    };
                    let _ = tx.send(Out::Frame(goaway)).await;
                    break 'read;
                }
            };
            buf.drain(..used);
            match f {
                Frame::SynStream { stream, fin, block } => {
                    let hs = match headers.read(&block) {
                        Ok(h) => h,
                        Err(e) => {
                            tracing::debug!("spdy: {}", e.0);
                            break 'read;
                        }
                    };
                    let (in_tx, incoming) = mpsc::channel(64);
                    if !fin {
                        open.insert(stream, in_tx);
                    }
                    if tx.send(Out::Reply(stream)).await.is_err() {
                        break 'read;
                    }
                    let out = StreamOut {
                        id: stream,
                        tx: tx.clone(),
                    };
                    let s = Stream {
                        id: stream,
                        headers: hs,
                        incoming,
                        out,
                    };
                    if streams.send(s).await.is_err() {
                        break 'read;
                    }
                }
                Frame::Data { stream, fin, data } => {
                    if let Some(sink) = open.get(&stream)
                        && !data.is_empty()
                        && sink.send(data).await.is_err()
                    {
                        open.remove(&stream);
                    }
                    if fin {
                        open.remove(&stream);
                    }
                }
                Frame::RstStream { stream, .. } => {
                    open.remove(&stream);
                }
                Frame::Ping(id) => {
                    let _ = tx.send(Out::Frame(Frame::Ping(id))).await;
                }
                Frame::GoAway { .. } => break 'read,
                Frame::SynReply { .. } | Frame::Ignored(_) => {}
            }
        }
        match r.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    drop(open);
    drop(streams);
    drop(tx);
    let _ = writer.await;
}
