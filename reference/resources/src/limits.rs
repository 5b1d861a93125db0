//! How much one request may make the server build: upstream's request body, JSON patch
//! operation and `copy` limits, and the bound every decoder's output is held to.
//!
//! Entry points: the constants, [`decoded_limit`] and [`json_size`]. A 2 KB request must
//! never be able to make a multi-gigabyte object: JSON patch `copy` and YAML aliases are
//! the two ways a body can name data it does not spell out, so both are charged.

/// Upstream's `MaxRequestBodyBytes` (3 MiB): larger bodies are a 413.
pub const MAX_REQUEST_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Upstream's `core.MaxSecretSize` (1 MiB): the most a ConfigMap's `data` plus
/// `binaryData`, or a Secret's decoded `data`, may hold (422 "Too long").
pub const MAX_SECRET_SIZE: usize = 1024 * 1024;

/// Upstream's `maxJSONPatchOperations`: a longer JSON patch is a 413.
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// Upstream's `JSONPatchMaxCopyBytes` (3 MiB): the JSON size all `copy` operations of one
/// patch may add together (twice etcd's recommended 1.5 MiB request, because the JSON
/// form of an object is larger than the protobuf one stored).
pub const JSON_PATCH_MAX_COPY_BYTES: usize = 3 * 1024 * 1024;

/// The most a decoder (YAML, protobuf) may produce from `input_len` bytes. A document
/// without aliases stays within twice its length under the cost [`crate::decode`]
/// charges, and protobuf's JSON form within about four times (field names replace
/// one-byte tags); what aliases or empty messages may add beyond that is held to the
/// same 3 MiB as JSON patch copies.
pub fn decoded_limit(input_len: usize) -> usize {
    input_len
        .saturating_mul(4)
        .saturating_add(JSON_PATCH_MAX_COPY_BYTES)
}

/// The length of `v` as compact JSON, counted without building the text.
pub fn json_size(v: &serde_json::Value) -> usize {
    let mut counter = Counter(0);
    // Writing to a counter cannot fail, and a Value always serialises.
    let _ = serde_json::to_writer(&mut counter, v);
    counter.0
}

struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_size_is_the_length_of_compact_json() {
        let v = serde_json::json!({"a": [1, "x\"y"], "b": null});
        assert_eq!(
            json_size(&v),
            serde_json::to_vec(&v).map(|b| b.len()).unwrap_or(0)
        );
    }
}
