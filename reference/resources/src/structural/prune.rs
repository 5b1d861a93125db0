//! Upstream's pruning (`schema/pruning/algorithm.go`): fields a structural schema does
//! not specify are dropped, and their paths are reported for warnings and strict field
//! validation (`spec.foo`, `spec.list[0].bar`), sorted as upstream sorts them.

use super::schema::Schema;
use serde_json::Value;

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Removes unknown fields from `obj` and returns their paths, sorted. At a resource
/// root (`is_resource_root`), apiVersion, kind and metadata are kept as for an embedded
/// resource: ObjectMeta has its own rules.
pub fn prune(obj: &mut Value, schema: &Schema, is_resource_root: bool) -> Vec<String> {
    let mut out = Vec::new();
    let root = Node {
        schema: Some(schema),
        embedded: schema.embedded_resource || is_resource_root,
    };
    prune_node(obj, root, "", &mut out);
    out.sort();
    out
}

/// A schema with the embedded-resource flag possibly forced on (the resource root).
#[derive(Clone, Copy)]
struct Node<'a> {
    schema: Option<&'a Schema>,
    embedded: bool,
}

impl<'a> Node<'a> {
    fn of(schema: Option<&'a Schema>) -> Node<'a> {
        Node {
            schema,
            embedded: schema.is_some_and(|s| s.embedded_resource),
        }
    }
}

fn join_key(path: &str, k: &str) -> String {
    if path.is_empty() {
        k.to_string()
    } else {
        format!("{path}.{k}")
    }
}

/// The schema for key `k` of an object: its property, else `additionalProperties`.
/// `None` when neither exists; `Some(None)` when unknown keys are kept unvalidated.
fn field_schema<'a>(s: &'a Schema, k: &str) -> Option<Option<&'a Schema>> {
    if let Some(p) = s.properties.get(k) {
        Some(Some(p))
    } else if s.has_additional() {
        Some(s.additional_schema())
    } else {
        None
    }
}

fn prune_node(x: &mut Value, n: Node, path: &str, out: &mut Vec<String>) {
    if let Some(s) = n.schema.filter(|s| s.preserve_unknown_fields) {
        skip_prune(x, s, n.embedded, path, out);
        return;
    }
    match x {
        Value::Object(m) => {
            let Some(s) = n.schema else {
                out.extend(m.keys().map(|k| join_key(path, k)));
                m.clear();
                return;
            };
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                if n.embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                match field_schema(s, &k) {
                    Some(sub) => {
                        if let Some(v) = m.get_mut(&k) {
                            prune_node(v, Node::of(sub), &join_key(path, &k), out);
                        }
                    }
                    None => {
                        // Unknown meta fields at the very top are not reported.
                        if !META_FIELDS.contains(&k.as_str()) || !path.is_empty() {
                            out.push(join_key(path, &k));
                        }
                        m.remove(&k);
                    }
                }
            }
        }
        Value::Array(items) => {
            let item_schema = n.schema.and_then(|s| s.items.as_deref());
            for (i, v) in items.iter_mut().enumerate() {
                prune_node(v, Node::of(item_schema), &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Under x-kubernetes-preserve-unknown-fields: unknown fields stay, known ones are
/// still pruned by their own schema.
fn skip_prune(x: &mut Value, s: &Schema, embedded: bool, path: &str, out: &mut Vec<String>) {
    match x {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                if let Some(sub) = field_schema(s, k) {
                    prune_node(v, Node::of(sub), &join_key(path, k), out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = s.items.as_deref() {
                for (i, v) in items.iter_mut().enumerate() {
                    let p = format!("{path}[{i}]");
                    skip_prune(v, item_schema, item_schema.embedded_resource, &p, out);
                }
            }
        }
        _ => {}
    }
}
