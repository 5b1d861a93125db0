//! SPDY/3 name/value header blocks: a count, then length-prefixed names and values (all
//! 32-bit big-endian), compressed with one zlib stream per direction for the whole
//! connection, primed with SPDY/3's fixed dictionary and sync-flushed after each block.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The words of SPDY/3's header dictionary, each written with a 32-bit length.
const WORDS: &[&str] = &[
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
];

/// What follows the words, as is.
const TAIL: &str = concat!(
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417",
    "502504505203 Non-Authoritative Information204 No Content301 Moved Permanently",
    "400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error",
    "501 Not Implemented503 Service Unavailable",
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 ",
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT",
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,",
    "application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,",
    "sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
);

/// SPDY/3's zlib dictionary.
pub fn dictionary() -> Vec<u8> {
    let mut d = Vec::with_capacity(1423);
    for w in WORDS {
        d.extend_from_slice(&(w.len() as u32).to_be_bytes());
        d.extend_from_slice(w.as_bytes());
    }
    d.extend_from_slice(TAIL.as_bytes());
    d
}

/// A header block that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderError(pub String);

/// Headers as (lowercase name, value) pairs; a value with NULs is several values.
pub type Headers = Vec<(String, String)>;

/// Reads the blocks the peer sends, in order.
pub struct Reader {
    z: Decompress,
    dict: Vec<u8>,
}

impl Default for Reader {
    fn default() -> Self {
        Reader {
            z: Decompress::new(true),
            dict: dictionary(),
        }
    }
}

impl Reader {
    fn inflate(&mut self, block: &[u8]) -> Result<Vec<u8>, HeaderError> {
        let mut out = Vec::with_capacity(block.len() * 4 + 64);
        let mut at = 0;
        loop {
            if out.capacity() - out.len() < 256 {
                out.reserve(out.capacity().max(256));
            }
            let before = self.z.total_in();
            let result = self
                .z
                .decompress_vec(&block[at..], &mut out, FlushDecompress::Sync);
            at += usize::try_from(self.z.total_in() - before).unwrap_or(0);
            match result {
                Ok(Status::StreamEnd) => return Ok(out),
                Ok(_) if at >= block.len() && out.len() < out.capacity() => return Ok(out),
                Ok(_) => {}
                Err(e) if e.needs_dictionary().is_some() => {
                    self.z
                        .set_dictionary(&self.dict)
                        .map_err(|e| HeaderError(format!("header dictionary: {e}")))?;
                }
                Err(e) => return Err(HeaderError(format!("header block: {e}"))),
            }
        }
    }

    /// The headers of the next compressed `block`.
    pub fn read(&mut self, block: &[u8]) -> Result<Headers, HeaderError> {
        let raw = self.inflate(block)?;
        let mut at = 0;
        let mut next = |n: usize| -> Result<Vec<u8>, HeaderError> {
            let s = raw
                .get(at..at + n)
                .ok_or_else(|| HeaderError("header block ends early".into()))?;
            at += n;
            Ok(s.to_vec())
        };
        let int = |b: Vec<u8>| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let count = int(next(4)?);
        let mut pairs = Vec::new();
        for _ in 0..count {
            let n = int(next(4)?);
            let name = next(n)?;
            let n = int(next(4)?);
            pairs.push((name, next(n)?));
        }
        let mut headers = Vec::new();
        for (name, value) in pairs {
            let name = String::from_utf8_lossy(&name).to_ascii_lowercase();
            for v in String::from_utf8_lossy(&value).split('\0') {
                headers.push((name.clone(), v.to_string()));
            }
        }
        Ok(headers)
    }
}

/// Writes the blocks this side sends, in order.
pub struct Writer {
    z: Compress,
}

impl Default for Writer {
    fn default() -> Self {
        let mut z = Compress::new(Compression::best(), true);
        // A fresh stream always takes a dictionary.
        let _ = z.set_dictionary(&dictionary());
        Writer { z }
    }
}

impl Writer {
    /// The compressed block of `headers`.
    pub fn write(&mut self, headers: &[(&str, &str)]) -> Result<Vec<u8>, HeaderError> {
        let mut raw = (headers.len() as u32).to_be_bytes().to_vec();
        for (k, v) in headers {
            for s in [k.to_ascii_lowercase().as_str(), v] {
                raw.extend_from_slice(&(s.len() as u32).to_be_bytes());
                raw.extend_from_slice(s.as_bytes());
            }
        }
        let mut out = Vec::with_capacity(raw.len() + 64);
        let mut at = 0;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(256);
            }
            let before = self.z.total_in();
            self.z
                .compress_vec(&raw[at..], &mut out, FlushCompress::Sync)
                .map_err(|e| HeaderError(format!("header block: {e}")))?;
            at += usize::try_from(self.z.total_in() - before).unwrap_or(0);
            if at >= raw.len() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_is_spdy3s() {
        let d = dictionary();
        assert_eq!(d.len(), 1423);
        assert_eq!(&d[..11], b"\0\0\0\x07options");
        assert!(d.ends_with(b",enq=0."));
    }

    #[test]
    fn blocks_round_trip_across_one_stream() {
        let (mut w, mut r) = (Writer::default(), Reader::default());
        for id in ["0", "1"] {
            let block = w
                .write(&[("streamtype", "data"), ("port", "8080"), ("requestid", id)])
                .unwrap();
            assert_eq!(
                r.read(&block).unwrap(),
                vec![
                    ("streamtype".to_string(), "data".to_string()),
                    ("port".into(), "8080".into()),
                    ("requestid".into(), id.into())
                ]
            );
        }
        assert!(w.write(&[]).is_ok());
    }

    /// What kubectl 1.33's port-forward sent for its first connection (recorded
    /// through a proxy): the error stream's SYN_STREAM, its FIN, the data stream's.
    const KUBECTL: &[&str] = &[
        "800300010000003e0000000100000000000078f9e3c6a7c202253a48f95b044e",
        "ea160616060c0c0c9c4590f8ca04a5634603704a2c294a4dcc851636aca9a0a8",
        "00000000ffff0000000101000000800300010000001a00000003000000000000",
        "826a469502954389848d04000000ffff",
    ];

    #[test]
    fn kubectls_recorded_streams_are_read() {
        let bytes: Vec<u8> = (0..KUBECTL.concat().len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&KUBECTL.concat()[i..i + 2], 16).unwrap())
            .collect();
        let mut at = 0;
        let mut frames = Vec::new();
        while let Some((f, used)) = super::super::frame::parse(&bytes[at..]).unwrap() {
            at += used;
            frames.push(f);
        }
        assert_eq!(at, bytes.len());
        let mut r = Reader::default();
        let mut seen = Vec::new();
        for f in &frames {
            match f {
                super::super::frame::Frame::SynStream { stream, block, .. } => {
                    seen.push((*stream, r.read(block).unwrap()));
                }
                super::super::frame::Frame::Data { stream, fin, data } => {
                    assert_eq!((*stream, *fin, data.len()), (1, true, 0));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        let header = |h: &Headers, k: &str| {
            h.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(seen.len(), 2);
        assert_eq!((seen[0].0, seen[1].0), (1, 3));
        assert_eq!(header(&seen[0].1, "streamtype"), "error");
        assert_eq!(header(&seen[1].1, "streamtype"), "data");
        for (_, h) in &seen {
            assert_eq!(header(h, "port"), "8080");
            assert_eq!(header(h, "requestid"), "0");
        }
    }
}
