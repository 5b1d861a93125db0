//! The write-ahead log's record format: pure encoding and decoding, no I/O.
//!
//! Entry points: [`encode`] and [`decode_all`]. A record is `len: u32 LE`,
//! `crc32(payload): u32 LE`, then `len` payload bytes. A log is zero or more snapshot
//! records (a header, then every retained key version) followed by one record per write.
//! A damaged *final* record is what a crash mid-append leaves; it is reported as a torn
//! tail to truncate. A damaged record with valid data after it is corruption.

use bytes::Bytes;

use crate::Revision;
use crate::engine::{Op, Snapshot, Version};

const HEADER: usize = 8;
const TAG_PUT: u8 = 1;
const TAG_DELETE: u8 = 2;
const TAG_SNAPSHOT: u8 = 3;
const TAG_VERSION: u8 = 4;

/// One log record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Record {
    /// One write.
    Op(Op),
    /// The start of a snapshot: the revisions the versions after it restore.
    Snapshot {
        revision: Revision,
        compacted: Revision,
    },
    /// One retained key version of the preceding snapshot.
    Version(String, Version),
}

/// Why a log could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum WalError {
    /// A record before the end of the log is damaged.
    #[error("write-ahead log record at byte {offset} is corrupt: {reason}")]
    Corrupt { offset: usize, reason: RecordError },
}

/// Why one record cannot be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RecordError {
    /// The payload does not match its checksum.
    #[error("checksum mismatch")]
    Checksum,
    /// A field runs past the end of the payload by this many bytes.
    #[error("payload ends {0} bytes short")]
    Short(usize),
    /// A key is not UTF-8.
    #[error("key is not UTF-8")]
    KeyNotUtf8,
    /// The record type is unknown.
    #[error("unknown record tag {0}")]
    UnknownTag(u8),
    /// Bytes follow the record inside its payload.
    #[error("{0} bytes left after the record")]
    Trailing(usize),
}

/// A decoded log: its records and, if the last record was torn, where valid data ends.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub records: Vec<Record>,
    /// Byte length of the valid prefix; less than the input length when a torn final
    /// record must be truncated.
    pub valid_len: usize,
}

/// Encodes one record, header included.
pub(crate) fn encode(record: &Record) -> Vec<u8> {
    let mut p = Vec::new();
    match record {
        Record::Op(Op::Put { rev, key, value }) => {
            p.push(TAG_PUT);
            p.extend_from_slice(&rev.to_le_bytes());
            put_bytes(&mut p, key.as_bytes());
            put_bytes(&mut p, value);
        }
        Record::Op(Op::Delete { rev, key }) => {
            p.push(TAG_DELETE);
            p.extend_from_slice(&rev.to_le_bytes());
            put_bytes(&mut p, key.as_bytes());
        }
        Record::Snapshot {
            revision,
            compacted,
        } => {
            p.push(TAG_SNAPSHOT);
            p.extend_from_slice(&revision.to_le_bytes());
            p.extend_from_slice(&compacted.to_le_bytes());
        }
        Record::Version(key, v) => {
            p.push(TAG_VERSION);
            put_bytes(&mut p, key.as_bytes());
            p.extend_from_slice(&v.mod_revision.to_le_bytes());
            p.extend_from_slice(&v.create_revision.to_le_bytes());
            match &v.value {
                Some(value) => {
                    p.push(1);
                    put_bytes(&mut p, value);
                }
                None => p.push(0),
            }
        }
    }
    let len = u32::try_from(p.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(HEADER + p.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&p).to_le_bytes());
    out.extend_from_slice(&p);
    out
}

/// Encodes a snapshot as the records that start a rewritten log.
pub(crate) fn encode_snapshot(snap: &Snapshot) -> Vec<u8> {
    let mut out = encode(&Record::Snapshot {
        revision: snap.revision,
        compacted: snap.compacted,
    });
    for (key, v) in &snap.versions {
        out.extend(encode(&Record::Version(key.clone(), v.clone())));
    }
    out
}

/// Decodes a whole log, telling a torn tail (truncate it) from corruption (refuse).
pub(crate) fn decode_all(data: &[u8]) -> Result<Decoded, WalError> {
    let mut records = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let rest = &data[at..];
        let torn = Decoded {
            records: Vec::new(),
            valid_len: at,
        };
        if rest.len() < HEADER {
            return Ok(Decoded { records, ..torn });
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        let end = HEADER.saturating_add(len);
        // A crash mid-append leaves a short record, or a zero-filled one where the
        // filesystem extended the file before the data landed.
        if end > rest.len() || (len == 0 && rest.iter().all(|b| *b == 0)) {
            return Ok(Decoded { records, ..torn });
        }
        let payload = &rest[HEADER..end];
        let decoded = if crc32fast::hash(payload) == crc {
            decode_payload(payload)
        } else {
            Err(RecordError::Checksum)
        };
        match decoded {
            Ok(r) => records.push(r),
            Err(_) if end == rest.len() => return Ok(Decoded { records, ..torn }),
            Err(reason) => return Err(WalError::Corrupt { offset: at, reason }),
        }
        at += end;
    }
    Ok(Decoded {
        records,
        valid_len: data.len(),
    })
}

fn put_bytes(p: &mut Vec<u8>, b: &[u8]) {
    let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
    p.extend_from_slice(&len.to_le_bytes());
    p.extend_from_slice(b);
}

/// A cursor over one payload.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], RecordError> {
        if self.0.len() < n {
            return Err(RecordError::Short(n - self.0.len()));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, RecordError> {
        Ok(self.take(1)?[0])
    }
    fn i64(&mut self) -> Result<i64, RecordError> {
        let b = self.take(8)?;
        Ok(i64::from_le_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }
    fn bytes(&mut self) -> Result<Bytes, RecordError> {
        let b = self.take(4)?;
        let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
        Ok(Bytes::copy_from_slice(self.take(len)?))
    }
    fn string(&mut self) -> Result<String, RecordError> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| RecordError::KeyNotUtf8)
    }
}

fn decode_payload(payload: &[u8]) -> Result<Record, RecordError> {
    let mut r = Reader(payload);
    let record = match r.u8()? {
        TAG_PUT => {
            let rev = r.i64()?;
            Record::Op(Op::Put {
                rev,
                key: r.string()?,
                value: r.bytes()?,
            })
        }
        TAG_DELETE => {
            let rev = r.i64()?;
            Record::Op(Op::Delete {
                rev,
                key: r.string()?,
            })
        }
        TAG_SNAPSHOT => Record::Snapshot {
            revision: r.i64()?,
            compacted: r.i64()?,
        },
        TAG_VERSION => {
            let key = r.string()?;
            let (mod_revision, create_revision) = (r.i64()?, r.i64()?);
            let value = if r.u8()? == 1 { Some(r.bytes()?) } else { None };
            Record::Version(
                key,
                Version {
                    mod_revision,
                    create_revision,
                    value,
                },
            )
        }
        tag => return Err(RecordError::UnknownTag(tag)),
    };
    if !r.0.is_empty() {
        return Err(RecordError::Trailing(r.0.len()));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Record> {
        vec![
            Record::Snapshot {
                revision: 2,
                compacted: 1,
            },
            Record::Version(
                "/a".into(),
                Version {
                    mod_revision: 1,
                    create_revision: 1,
                    value: Some(Bytes::from("x")),
                },
            ),
            Record::Version(
                "/b".into(),
                Version {
                    mod_revision: 2,
                    create_revision: 1,
                    value: None,
                },
            ),
            Record::Op(Op::Put {
                rev: 3,
                key: "/a".into(),
                value: Bytes::from("y"),
            }),
            Record::Op(Op::Delete {
                rev: 4,
                key: "/a".into(),
            }),
        ]
    }

    fn log() -> Vec<u8> {
        sample().iter().flat_map(encode).collect()
    }

    #[test]
    fn records_round_trip() {
        let data = log();
        assert_eq!(
            decode_all(&data).unwrap(),
            Decoded {
                records: sample(),
                valid_len: data.len()
            }
        );
    }

    #[test]
    fn a_torn_final_record_is_cut_at_every_length() {
        let data = log();
        let last_start = data.len() - encode(&sample()[4]).len();
        for cut in last_start + 1..data.len() {
            let d = decode_all(&data[..cut]).unwrap();
            assert_eq!(
                (d.records.len(), d.valid_len),
                (4, last_start),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_garbled_final_record_or_zero_fill_is_a_torn_tail() {
        let mut data = log();
        let n = data.len();
        data[n - 1] ^= 0xff;
        assert_eq!(decode_all(&data).unwrap().records.len(), 4);
        let mut zeros = log();
        zeros.extend([0u8; 32]);
        assert_eq!(decode_all(&zeros).unwrap().valid_len, log().len());
    }

    #[test]
    fn a_damaged_middle_record_is_corruption() {
        let mut data = log();
        let second = encode(&sample()[0]).len();
        data[second + HEADER + 2] ^= 0xff;
        let err = decode_all(&data).unwrap_err();
        assert_eq!(
            err,
            WalError::Corrupt {
                offset: second,
                reason: RecordError::Checksum
            }
        );
        assert_eq!(
            err.to_string(),
            format!("write-ahead log record at byte {second} is corrupt: checksum mismatch")
        );
    }
}
