//! The 1 MiB limit on what a ConfigMap or Secret holds (`ValidateConfigMap`,
//! `ValidateSecret`): a ConfigMap's `data` plus decoded `binaryData` are reported on
//! the root path (`[]`), a Secret's decoded `data` on `data`.

use serde_json::Value;

use super::Errs;
use crate::limits::MAX_SECRET_SIZE;

/// The length of what a base64 string decodes to (`[]byte` fields count bytes).
fn decoded_len(s: &str) -> usize {
    let padding = s.bytes().rev().take_while(|b| *b == b'=').count();
    (s.len() / 4 * 3 + (s.len() % 4) * 3 / 4).saturating_sub(padding)
}

fn total(obj: &Value, field: &str, len: fn(&str) -> usize) -> usize {
    obj.get(field)
        .and_then(Value::as_object)
        .map(|m| m.values().filter_map(Value::as_str).map(len).sum())
        .unwrap_or(0)
}

pub fn config_map_size(obj: &Value, errs: &mut Errs) {
    let size = total(obj, "data", str::len) + total(obj, "binaryData", decoded_len);
    if size > MAX_SECRET_SIZE {
        // Upstream's `field.NewPath("")`, which prints as `[]`.
        errs.too_long("[]", MAX_SECRET_SIZE);
    }
}

pub fn secret_size(obj: &Value, errs: &mut Errs) {
    if total(obj, "data", decoded_len) > MAX_SECRET_SIZE {
        errs.too_long("data", MAX_SECRET_SIZE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64_lengths_count_decoded_bytes() {
        for (text, n) in [
            ("", 0),
            ("YQ==", 1),
            ("YWI=", 2),
            ("YWJj", 3),
            ("YWJjZA==", 4),
        ] {
            assert_eq!(decoded_len(text), n, "{text}");
        }
    }

    #[test]
    fn configmaps_and_secrets_over_one_mebibyte_are_too_long() {
        let half = "a".repeat(MAX_SECRET_SIZE / 2);
        let mut errs = Errs::default();
        config_map_size(&json!({"data": {"a": half, "b": half}}), &mut errs);
        assert!(errs.0.is_empty(), "exactly 1 MiB is allowed");
        config_map_size(
            &json!({"data": {"a": half, "b": format!("{half}x")}}),
            &mut errs,
        );
        assert_eq!(errs.0.len(), 1);
        assert_eq!(errs.0[0].field, "[]");
        assert_eq!(
            errs.0[0].message,
            "Too long: must have at most 1048576 bytes"
        );
        // binaryData counts decoded: 4 base64 characters are 3 bytes.
        let mut errs = Errs::default();
        let b64 = "YWJj".repeat(MAX_SECRET_SIZE / 3);
        config_map_size(
            &json!({"binaryData": {"b": b64}, "data": {"a": "x"}}),
            &mut errs,
        );
        assert!(errs.0.is_empty(), "{:?}", errs.0);
        let mut errs = Errs::default();
        let over = "YWJj".repeat(MAX_SECRET_SIZE / 3 + 1);
        secret_size(&json!({"data": {"k": over}}), &mut errs);
        assert_eq!(errs.0[0].field, "data");
        assert_eq!(errs.0[0].reason, "FieldValueTooLong");
    }
}
