//! A protobuf wire-format reader: varints, fixed-width numbers, length-delimited
//! slices, skipping unknown fields. Entry point: [`Reader`].

use super::ProtoError;

pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn short() -> ProtoError {
    ProtoError::Wire("unexpected end of data".into())
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn varint(&mut self) -> Result<u64, ProtoError> {
        let mut out = 0u64;
        for shift in (0..70).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or_else(short)?;
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(ProtoError::Wire("varint overflows 64 bits".into()));
            }
            out |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err(ProtoError::Wire("varint too long".into()))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtoError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(short)?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], ProtoError> {
        let n = usize::try_from(self.varint()?).map_err(|_| short())?;
        self.take(n)
    }

    pub fn fixed64(&mut self) -> Result<u64, ProtoError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().map_err(|_| short())?))
    }

    /// Skips a field of wire type `wt`.
    pub fn skip(&mut self, wt: u8) -> Result<(), ProtoError> {
        match wt {
            0 => self.varint().map(|_| ()),
            1 => self.take(8).map(|_| ()),
            2 => self.bytes().map(|_| ()),
            5 => self.take(4).map(|_| ()),
            other => Err(ProtoError::Wire(format!("unsupported wire type {other}"))),
        }
    }
}
