//! SPDY/3.1 frames as bytes on the wire: the fixed 8-byte header (control bit, version
//! and type, or the stream id of a DATA frame; flags; 24-bit length) and the fields of
//! each control frame. Header blocks stay compressed here ([`super::headers`] reads
//! and writes them, since their zlib stream spans the whole connection).

/// The protocol version this speaks.
pub const VERSION: u16 = 3;
/// FLAG_FIN, on DATA, SYN_STREAM and SYN_REPLY.
pub const FLAG_FIN: u8 = 0x01;

const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const SETTINGS: u16 = 4;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const HEADERS: u16 = 8;
const WINDOW_UPDATE: u16 = 9;

/// RST_STREAM status codes this sends.
pub const PROTOCOL_ERROR: u32 = 1;
pub const REFUSED_STREAM: u32 = 3;

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Data {
        stream: u32,
        fin: bool,
        data: Vec<u8>,
    },
    SynStream {
        stream: u32,
        fin: bool,
        /// The compressed name/value block.
        block: Vec<u8>,
    },
    SynReply {
        stream: u32,
        fin: bool,
        block: Vec<u8>,
    },
    RstStream {
        stream: u32,
        status: u32,
    },
    Ping(u32),
    GoAway {
        last_good: u32,
        status: u32,
    },
    /// SETTINGS, HEADERS, WINDOW_UPDATE and unknown control frames: read past. The
    /// Go client does no flow control, so window updates carry nothing needed here.
    Ignored(u16),
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError(pub String);

/// Reads the frame at the start of `buf`: `Ok(None)` until all of it arrived, else the
/// frame and how many bytes it took.
pub fn parse(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
    if buf.len() < 8 {
        return Ok(None);
    }
    let flags = buf[4];
    let len = (usize::from(buf[5]) << 16) | (usize::from(buf[6]) << 8) | usize::from(buf[7]);
    let Some(body) = buf.get(8..8 + len) else {
        return Ok(None);
    };
    let fin = flags & FLAG_FIN != 0;
    let short = |what: &str| FrameError(format!("{what} frame too short ({len} bytes)"));
    let first = be32(buf, 0).unwrap_or_default();
    let frame = if first & 0x8000_0000 == 0 {
        Frame::Data {
            stream: first & 0x7fff_ffff,
            fin,
            data: body.to_vec(),
        }
    } else {
        let version = ((first >> 16) & 0x7fff) as u16;
        if version != VERSION {
            return Err(FrameError(format!("unsupported SPDY version {version}")));
        }
        let stream = be32(body, 0).map(|s| s & 0x7fff_ffff);
        match (first & 0xffff) as u16 {
            SYN_STREAM => Frame::SynStream {
                stream: stream.ok_or_else(|| short("SYN_STREAM"))?,
                fin,
                block: body.get(10..).ok_or_else(|| short("SYN_STREAM"))?.to_vec(),
            },
            SYN_REPLY => Frame::SynReply {
                stream: stream.ok_or_else(|| short("SYN_REPLY"))?,
                fin,
                block: body.get(4..).ok_or_else(|| short("SYN_REPLY"))?.to_vec(),
            },
            RST_STREAM => Frame::RstStream {
                stream: stream.ok_or_else(|| short("RST_STREAM"))?,
                status: be32(body, 4).ok_or_else(|| short("RST_STREAM"))?,
            },
            PING => Frame::Ping(be32(body, 0).ok_or_else(|| short("PING"))?),
            GOAWAY => Frame::GoAway {
                last_good: stream.ok_or_else(|| short("GOAWAY"))?,
                status: be32(body, 4).unwrap_or_default(),
            },
            other @ (SETTINGS | HEADERS | WINDOW_UPDATE) => Frame::Ignored(other),
            other => Frame::Ignored(other),
        }
    };
    Ok(Some((frame, 8 + len)))
}

fn control(kind: u16, flags: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + body.len());
    out.extend_from_slice(&(0x8000 | VERSION).to_be_bytes());
    out.extend_from_slice(&kind.to_be_bytes());
    out.push(flags);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(body);
    out
}

/// The bytes of `frame`. DATA payloads are at most 2^24-1 bytes: callers send less.
pub fn encode(frame: &Frame) -> Vec<u8> {
    let fin = |f: bool| if f { FLAG_FIN } else { 0 };
    match frame {
        Frame::Data {
            stream,
            fin: f,
            data,
        } => {
            let mut out = Vec::with_capacity(8 + data.len());
            out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
            out.push(fin(*f));
            out.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
            out.extend_from_slice(data);
            out
        }
        Frame::SynStream {
            stream,
            fin: f,
            block,
        } => {
            let mut body = stream.to_be_bytes().to_vec();
            body.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
            body.extend_from_slice(block);
            control(SYN_STREAM, fin(*f), &body)
        }
        Frame::SynReply {
            stream,
            fin: f,
            block,
        } => {
            let mut body = stream.to_be_bytes().to_vec();
            body.extend_from_slice(block);
            control(SYN_REPLY, fin(*f), &body)
        }
        Frame::RstStream { stream, status } => {
            let mut body = stream.to_be_bytes().to_vec();
            body.extend_from_slice(&status.to_be_bytes());
            control(RST_STREAM, 0, &body)
        }
        Frame::Ping(id) => control(PING, 0, &id.to_be_bytes()),
        Frame::GoAway { last_good, status } => {
            let mut body = last_good.to_be_bytes().to_vec();
            body.extend_from_slice(&status.to_be_bytes());
            control(GOAWAY, 0, &body)
        }
        Frame::Ignored(kind) => control(*kind, 0, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_frame_carries_its_stream_fin_and_payload() {
        let bytes = [0, 0, 0, 3, 1, 0, 0, 2, b'h', b'i'];
        assert_eq!(
            parse(&bytes).unwrap(),
            Some((
                Frame::Data {
                    stream: 3,
                    fin: true,
                    data: b"hi".to_vec()
                },
                10
            ))
        );
        assert_eq!(encode(&parse(&bytes).unwrap().unwrap().0), bytes);
        assert_eq!(parse(&bytes[..9]).unwrap(), None, "waits for the payload");
    }

    #[test]
    fn control_frames_round_trip() {
        // A PING as the Go client sends it: 80 03 00 06, no flags, 4 bytes, id 1.
        let ping = [0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1];
        assert_eq!(parse(&ping).unwrap(), Some((Frame::Ping(1), 12)));
        assert_eq!(encode(&Frame::Ping(1)), ping);
        for f in [
            Frame::RstStream {
                stream: 5,
                status: REFUSED_STREAM,
            },
            Frame::GoAway {
                last_good: 7,
                status: 0,
            },
            Frame::SynReply {
                stream: 1,
                fin: false,
                block: vec![0x78, 0xbb],
            },
            Frame::SynStream {
                stream: 9,
                fin: true,
                block: vec![1, 2, 3],
            },
        ] {
            let bytes = encode(&f);
            assert_eq!(parse(&bytes).unwrap(), Some((f, bytes.len())));
        }
        let spdy2 = [0x80, 2, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1];
        assert!(parse(&spdy2).is_err());
    }
}
