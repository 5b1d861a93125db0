//! A Secret's write-only `stringData` merged into `data`, as upstream's v1 → internal
//! conversion does on every write (create, update, patch, apply): each value is stored
//! base64-encoded under `data`, a `stringData` key wins over the same `data` key, and
//! `stringData` itself is never stored nor returned.
//!
//! Entry point: [`merge_string_data`], called by the admission chain before defaults
//! and validation (so bad keys are reported under `data[...]`, as upstream's are).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use refkube_resources::ResourceInfo;
use serde_json::{Map, Value};

/// Moves `stringData` of a core Secret into `data`; other kinds are left alone.
pub fn merge_string_data(info: &ResourceInfo, obj: &mut Value) {
    if !(info.group.is_empty() && info.kind == "Secret") {
        return;
    }
    let Some(o) = obj.as_object_mut() else {
        return;
    };
    let Some(string_data) = o.remove("stringData") else {
        return;
    };
    let Value::Object(string_data) = string_data else {
        // Not a map (null): nothing to merge; a wrong type was refused by decoding.
        return;
    };
    if string_data.is_empty() {
        return;
    }
    let data = o.entry("data").or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    if let Value::Object(data) = data {
        for (k, v) in string_data {
            let text = match v {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            data.insert(k, Value::String(STANDARD.encode(text)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secrets() -> &'static ResourceInfo {
        refkube_resources::registry::lookup("", "v1", "secrets").unwrap()
    }

    #[test]
    fn string_data_is_encoded_into_data_and_wins_over_it() {
        let mut s = json!({
            "metadata": {"name": "s"},
            "data": {"keep": "a2VlcA==", "both": "b2xk"},
            "stringData": {"both": "new", "plain": "hello world", "empty": ""}
        });
        merge_string_data(secrets(), &mut s);
        assert_eq!(
            s,
            json!({
                "metadata": {"name": "s"},
                "data": {"keep": "a2VlcA==", "both": "bmV3", "plain": "aGVsbG8gd29ybGQ=", "empty": ""}
            })
        );
    }

    #[test]
    fn a_secret_without_data_gets_one_and_other_kinds_are_untouched() {
        let mut s = json!({"stringData": {"k": "v"}});
        merge_string_data(secrets(), &mut s);
        assert_eq!(s, json!({"data": {"k": "dg=="}}));
        let cm = refkube_resources::registry::lookup("", "v1", "configmaps").unwrap();
        let mut c = json!({"stringData": {"k": "v"}});
        merge_string_data(cm, &mut c);
        assert_eq!(c, json!({"stringData": {"k": "v"}}));
        let mut empty = json!({"stringData": {}});
        merge_string_data(secrets(), &mut empty);
        assert_eq!(empty, json!({}));
    }
}
