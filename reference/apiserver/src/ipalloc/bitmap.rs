//! The allocation bitmap of one range and its stored form, upstream's `RangeAllocation`
//! object (`{"range": "10.0.0.0/24", "data": <base64>}`).
//!
//! Entry points: [`Bitmap`], [`encode`], [`decode`]. `data` holds the big-endian bytes of
//! a big integer whose bit `i` marks offset `i` as used, exactly as upstream's
//! `allocator.AllocationBitmap` snapshots a `big.Int`, so a bitmap written by either
//! reads the same.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::{Value, json};

/// Why a stored range could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BitmapError {
    /// The stored object is not a RangeAllocation we can read.
    #[error("corrupt range allocation: {0}")]
    Corrupt(String),
    /// The stored range was written for another `--service-*-range`.
    #[error("the provided range ({configured}) does not match the current range ({stored})")]
    RangeMismatch { stored: String, configured: String },
}

/// Which offsets of a range of `size` are used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitmap {
    size: usize,
    words: Vec<u64>,
}

impl Bitmap {
    pub fn new(size: usize) -> Self {
        Self {
            size,
            words: vec![0; size.div_ceil(64)],
        }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn has(&self, i: usize) -> bool {
        i < self.size && self.words[i / 64] & (1 << (i % 64)) != 0
    }

    /// Marks `i` used; false when it already was or lies outside the range.
    pub fn set(&mut self, i: usize) -> bool {
        if i >= self.size || self.has(i) {
            return false;
        }
        self.words[i / 64] |= 1 << (i % 64);
        true
    }

    pub fn clear(&mut self, i: usize) {
        if i < self.size {
            self.words[i / 64] &= !(1 << (i % 64));
        }
    }

    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The used offsets, ascending.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.size).filter(|i| self.has(*i))
    }

    /// The first free offset at or after `from`, wrapping around, that `skip` allows.
    pub fn next_free(&self, from: usize, skip: impl Fn(usize) -> bool) -> Option<usize> {
        if self.size == 0 {
            return None;
        }
        let from = from % self.size;
        (from..self.size)
            .chain(0..from)
            .find(|i| !self.has(*i) && !skip(*i))
    }

    /// Big-endian bytes of the bitmap as one integer, without leading zero bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut le: Vec<u8> = self.words.iter().flat_map(|w| w.to_le_bytes()).collect();
        while le.last() == Some(&0) {
            le.pop();
        }
        le.reverse();
        le
    }

    /// Reads [`Bitmap::to_bytes`] back; a bit beyond `size` means the data was written for
    /// a larger range.
    pub fn from_bytes(size: usize, bytes: &[u8]) -> Result<Self, BitmapError> {
        let mut out = Self::new(size);
        for (j, byte) in bytes.iter().rev().enumerate() {
            for b in 0..8 {
                if byte & (1 << b) == 0 {
                    continue;
                }
                let i = j * 8 + b;
                if !out.set(i) {
                    return Err(BitmapError::Corrupt(format!(
                        "offset {i} is set but the range has {size} entries"
                    )));
                }
            }
        }
        Ok(out)
    }
}

/// The stored `RangeAllocation` for `range` (upstream's text form of the range).
pub fn encode(range: &str, bitmap: &Bitmap) -> Bytes {
    let obj = json!({
        "kind": "RangeAllocation",
        "apiVersion": "v1",
        "metadata": {"creationTimestamp": null},
        "range": range,
        "data": STANDARD.encode(bitmap.to_bytes()),
    });
    Bytes::from(obj.to_string())
}

/// Reads a stored `RangeAllocation`, which must be for `range` (of `size` entries).
pub fn decode(value: &[u8], range: &str, size: usize) -> Result<Bitmap, BitmapError> {
    let obj: Value =
        serde_json::from_slice(value).map_err(|e| BitmapError::Corrupt(e.to_string()))?;
    let stored = obj["range"].as_str().unwrap_or_default();
    if stored != range {
        return Err(BitmapError::RangeMismatch {
            stored: stored.to_string(),
            configured: range.to_string(),
        });
    }
    let data = STANDARD
        .decode(obj["data"].as_str().unwrap_or_default())
        .map_err(|e| BitmapError::Corrupt(format!("data: {e}")))?;
    Bitmap::from_bytes(size, &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_big_endian_with_bit_i_for_offset_i() {
        let mut b = Bitmap::new(20);
        assert_eq!(b.to_bytes(), Vec::<u8>::new());
        b.set(0);
        b.set(9);
        // 2^9 + 2^0 = 0x0201, as big.Int.Bytes() gives it.
        assert_eq!(b.to_bytes(), vec![0x02, 0x01]);
        assert_eq!(Bitmap::from_bytes(20, &[0x02, 0x01]), Ok(b));
    }

    #[test]
    fn a_bit_beyond_the_range_is_corrupt() {
        assert!(matches!(
            Bitmap::from_bytes(8, &[0x01, 0x00]),
            Err(BitmapError::Corrupt(_))
        ));
    }

    #[test]
    fn set_reports_whether_the_offset_was_free() {
        let mut b = Bitmap::new(3);
        assert!(b.set(1));
        assert!(!b.set(1));
        assert!(!b.set(3));
        b.clear(1);
        assert!(!b.has(1));
        assert_eq!(b.count(), 0);
    }

    #[test]
    fn next_free_wraps_and_honours_skip() {
        let mut b = Bitmap::new(4);
        b.set(2);
        b.set(3);
        assert_eq!(b.next_free(2, |_| false), Some(0));
        assert_eq!(b.next_free(2, |i| i == 0), Some(1));
        b.set(1);
        assert_eq!(b.next_free(0, |i| i == 0), None);
        assert_eq!(Bitmap::new(0).next_free(0, |_| false), None);
    }

    #[test]
    fn the_stored_object_round_trips_and_checks_its_range() {
        let mut b = Bitmap::new(254);
        b.set(0);
        b.set(200);
        let v = encode("10.0.0.0/24", &b);
        let obj: Value = serde_json::from_slice(&v).unwrap();
        assert_eq!(obj["kind"], "RangeAllocation");
        assert_eq!(decode(&v, "10.0.0.0/24", 254), Ok(b));
        assert!(matches!(
            decode(&v, "10.1.0.0/24", 254),
            Err(BitmapError::RangeMismatch { .. })
        ));
        assert!(matches!(
            decode(b"{", "10.0.0.0/24", 254),
            Err(BitmapError::Corrupt(_))
        ));
    }
}
