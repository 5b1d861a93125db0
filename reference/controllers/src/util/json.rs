//! Go-style semantic comparison of API objects: zero values (`null`, `false`, `0`, `""`,
//! `[]`, `{}`) count as absent, as they do for Go structs with `omitempty`.
//! Entry points: [`prune`], [`semantically_equal`].

use serde::Serialize;
use serde_json::Value;

/// Drops zero values recursively; returns true if `v` itself is a zero value.
pub fn prune(v: &mut Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !*b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => {
            for item in items.iter_mut() {
                prune(item);
            }
            items.is_empty()
        }
        Value::Object(map) => {
            map.retain(|_, child| !prune(child));
            map.is_empty()
        }
    }
}

/// Are two values equal once zero values are dropped? A status computed with explicit
/// zeros then equals the stored one whichever way the server kept them, so a controller
/// never re-writes an unchanged status.
pub fn semantically_equal<A: Serialize, B: Serialize>(a: &A, b: &B) -> bool {
    let (mut x, mut y) = (
        serde_json::to_value(a).unwrap_or(Value::Null),
        serde_json::to_value(b).unwrap_or(Value::Null),
    );
    if prune(&mut x) {
        x = Value::Null;
    }
    if prune(&mut y) {
        y = Value::Null;
    }
    x == y
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn explicit_zeros_equal_absent_fields_but_real_values_do_not() {
        assert!(semantically_equal(
            &json!({"a": 0, "b": {"c": false}}),
            &json!({})
        ));
        assert!(!semantically_equal(&json!({"a": 1}), &json!({})));
        assert!(semantically_equal(&Option::<i32>::None, &json!({})));
    }
}
