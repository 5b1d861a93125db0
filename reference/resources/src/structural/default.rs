//! Upstream's defaulting of custom objects (`schema/defaulting`): first nulls that the
//! schema neither allows nor can default are dropped (`PruneNonNullableNullsWithoutDefaults`),
//! then absent or null fields get their schema's default (`Default`).

use super::schema::Schema;
use serde_json::Value;

/// Applies the schema's defaults to `obj`, as the CRD handler does on decode.
pub fn apply_defaults(obj: &mut Value, schema: &Schema) {
    prune_non_nullable_nulls(obj, Some(schema));
    default(obj, Some(schema));
}

/// A null the schema does not allow (`isNonNullableNull`).
fn non_nullable_null(x: &Value, s: Option<&Schema>) -> bool {
    x.is_null() && s.is_some_and(|s| !s.nullable)
}

/// The schema of key `k`: its property, else the `additionalProperties` schema.
fn field_schema<'a>(s: Option<&'a Schema>, k: &str) -> Option<&'a Schema> {
    let s = s?;
    s.properties.get(k).or_else(|| s.additional_schema())
}

/// `PruneNonNullableNullsWithoutDefaults`.
pub(crate) fn prune_non_nullable_nulls(x: &mut Value, s: Option<&Schema>) {
    match x {
        Value::Object(m) => {
            m.retain(|k, v| {
                let fs = field_schema(s, k);
                !(non_nullable_null(v, fs) && fs.is_some_and(|f| f.default.is_none()))
            });
            for (k, v) in m.iter_mut() {
                prune_non_nullable_nulls(v, field_schema(s, k));
            }
        }
        Value::Array(items) => {
            let item_schema = s.and_then(|s| s.items.as_deref());
            for v in items {
                prune_non_nullable_nulls(v, item_schema);
            }
        }
        _ => {}
    }
}

/// `Default`: fills absent (or disallowed null) properties, then recurses.
pub(crate) fn default(x: &mut Value, s: Option<&Schema>) {
    let Some(s) = s else {
        return;
    };
    match x {
        Value::Object(m) => {
            for (k, prop) in &s.properties {
                let Some(d) = &prop.default else {
                    continue;
                };
                if m.get(k).is_none_or(|v| non_nullable_null(v, Some(prop))) {
                    m.insert(k.clone(), d.clone());
                }
            }
            let additional = s.additional_schema();
            for (k, v) in m.iter_mut() {
                if let Some(prop) = s.properties.get(k) {
                    default(v, Some(prop));
                } else if s.has_additional() {
                    if let Some(d) = additional
                        .filter(|a| non_nullable_null(v, Some(a)))
                        .and_then(|a| a.default.as_ref())
                    {
                        *v = d.clone();
                    }
                    default(v, additional);
                }
            }
        }
        Value::Array(items) => {
            let item_schema = s.items.as_deref();
            for v in items.iter_mut() {
                if let Some(d) = item_schema
                    .filter(|i| non_nullable_null(v, Some(i)))
                    .and_then(|i| i.default.as_ref())
                {
                    *v = d.clone();
                }
                default(v, item_schema);
            }
        }
        _ => {}
    }
}
