//! kube-openapi's validators for lists (items, minItems, maxItems, uniqueItems) and
//! objects (min/maxProperties, additionalProperties, properties, required).

use super::schema::{Additional, Schema};
use super::validate::{Code, OErr, Res, node};
use serde_json::Value;

/// `schemaSliceValidator`: items, minItems, maxItems, uniqueItems.
pub(crate) fn slice_validator(data: &Value, s: &Schema, path: &str) -> Res {
    let mut r = Res::default();
    let items = data.as_array().map(Vec::as_slice).unwrap_or_default();
    if let Some(item_schema) = &s.items {
        for (i, v) in items.iter().enumerate() {
            r.merge(node(v, item_schema, &format!("{path}[{i}]")));
        }
    }
    let size = items.len() as i64;
    if let Some(min) = s.min_items.filter(|m| size < *m) {
        r.add(OErr::new(
            Code::Other,
            path,
            Some(size.into()),
            format!("{path} in body should have at least {min} items"),
        ));
    }
    if let Some(max) = s.max_items.filter(|m| size > *m) {
        let mut e = OErr::new(
            Code::MaxItems,
            path,
            Some(size.into()),
            format!("{path} in body should have at most {max} items"),
        );
        e.valid = max;
        r.add(e);
    }
    if s.unique_items
        && items
            .iter()
            .enumerate()
            .any(|(i, v)| items[..i].contains(v))
    {
        r.add(OErr::new(
            Code::Other,
            path,
            None,
            format!("{path} in body shouldn't contain duplicates"),
        ));
    }
    r.count += 1;
    r
}

/// `objectValidator`: min/maxProperties, additionalProperties, properties, required.
pub(crate) fn object_validator(data: &Value, s: &Schema, path: &str) -> Res {
    let mut r = Res::default();
    let Some(obj) = data.as_object() else {
        return r;
    };
    let n = obj.len() as i64;
    if let Some(min) = s.min_properties.filter(|m| n < *m) {
        r.add(OErr::new(
            Code::Other,
            path,
            Some(n.into()),
            format!("{path} in body should have at least {min} properties"),
        ));
    }
    if let Some(max) = s.max_properties.filter(|m| n > *m) {
        let mut e = OErr::new(
            Code::TooManyProperties,
            path,
            Some(n.into()),
            format!("{path} in body should have at most {max} properties"),
        );
        e.valid = max;
        r.add(e);
    }
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort();
    for k in &keys {
        if s.properties.contains_key(k.as_str()) {
            continue;
        }
        match &s.additional_properties {
            Additional::Bool(false) => r.add(OErr::new(
                Code::Other,
                path,
                Some(Value::String((*k).clone())),
                format!("{path}.{k} in body is a forbidden property"),
            )),
            Additional::Schema(a) => r.merge(node(&obj[k.as_str()], a, &format!("{path}.{k}"))),
            _ => {}
        }
    }
    for (name, ps) in &s.properties {
        if let Some(v) = obj.get(name) {
            let rname = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            r.merge(node(v, ps, &rname));
        }
    }
    for k in &s.required {
        if !obj.contains_key(k) {
            let name = format!("{path}.{k}");
            let msg = format!("{name} in body is required");
            r.add(OErr::new(Code::Required, &name, None, msg));
        }
    }
    r
}
