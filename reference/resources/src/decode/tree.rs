//! An order-preserving document tree that keeps duplicate keys, read from JSON or YAML
//! through one serde visitor, and the schema walk that reports unknown and duplicate
//! fields with upstream's paths (`spec.template.spec.containers[0].foo`).
//!
//! Entry points: [`parse_json`], [`parse_yaml`], [`check`], [`Node::into_value`].

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;

/// A parsed document node; objects keep every key in order, duplicates included.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Num(Number),
    Str(String),
    Arr(Vec<Node>),
    Obj(Vec<(String, Node)>),
}

pub fn parse_json(body: &[u8]) -> Result<Node, String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let node = Node::deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(node)
}

/// Parses a YAML document. What it builds is charged against
/// [`crate::limits::decoded_limit`] of its length (one unit per node plus the bytes of
/// each string), so anchors aliased many times cannot expand a small body into a huge
/// tree; the error is go-yaml's.
pub fn parse_yaml(body: &[u8]) -> Result<Node, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Node::Null);
    }
    let budget = Budget(Cell::new(crate::limits::decoded_limit(body.len())));
    let de = serde_yaml::Deserializer::from_slice(body);
    Seed(Some(&budget))
        .deserialize(de)
        .map_err(|e| format!("error converting YAML to JSON: {e}"))
}

/// go-yaml's error for a document whose aliases expand too far.
const EXCESSIVE_ALIASING: &str = "yaml: document contains excessive aliasing";

/// What a YAML document may still build.
struct Budget(Cell<usize>);

impl Budget {
    fn charge<E: de::Error>(&self, units: usize) -> Result<(), E> {
        let left = self.0.get();
        if units > left {
            return Err(E::custom(EXCESSIVE_ALIASING));
        }
        self.0.set(left - units);
        Ok(())
    }
}

/// Builds a [`Node`], charging a budget when there is one (YAML; JSON has no aliases).
#[derive(Clone, Copy)]
struct Seed<'b>(Option<&'b Budget>);

impl Seed<'_> {
    fn charge<E: de::Error>(self, units: usize) -> Result<(), E> {
        self.0.map_or(Ok(()), |b| b.charge(units))
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Node;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor(self))
    }
}

impl Node {
    /// The JSON value; a repeated key keeps its last value, as Go's decoder does.
    pub fn into_value(self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(b),
            Node::Num(n) => Value::Number(n),
            Node::Str(s) => Value::String(s),
            Node::Arr(items) => Value::Array(items.into_iter().map(Node::into_value).collect()),
            Node::Obj(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    map.insert(k, v.into_value());
                }
                Value::Object(map)
            }
        }
    }
}

struct NodeVisitor<'b>(Seed<'b>);

impl<'de> Visitor<'de> for NodeVisitor<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        self.0.charge(1)?;
        Ok(Node::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        self.0.charge(1)?;
        Ok(Node::Num(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        self.0.charge(1)?;
        Ok(Node::Num(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        self.0.charge(1)?;
        Number::from_f64(v)
            .map(Node::Num)
            .ok_or_else(|| E::custom(format!("unsupported number {v}")))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        self.0.charge(1 + v.len())?;
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        self.0.charge(1 + v.len())?;
        Ok(Node::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        self.0.charge(1)?;
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        self.0.charge(1)?;
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        self.0.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        self.0.charge(1)?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.0)? {
            items.push(item);
        }
        Ok(Node::Arr(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        self.0.charge(1)?;
        let mut entries = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed(self.0))? {
            entries.push((key.0, map.next_value_seed(self.0)?));
        }
        Ok(Node::Obj(entries))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        Seed(None).deserialize(d)
    }
}

/// A map key; YAML allows non-string keys, which become strings as in YAML-to-JSON.
struct Key(String);

struct KeySeed<'b>(Seed<'b>);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        match self.0.deserialize(d)? {
            Node::Str(s) => Ok(Key(s)),
            Node::Bool(b) => Ok(Key(b.to_string())),
            Node::Num(n) => Ok(Key(n.to_string())),
            Node::Null => Ok(Key("null".to_string())),
            Node::Arr(_) | Node::Obj(_) => Err(de::Error::custom("map keys must be strings")),
        }
    }
}

/// Follows `$ref` (and single-element `allOf`) to the schema that describes a value.
pub(super) fn resolve<'a>(mut schema: &'a Value, root: &'a Value) -> &'a Value {
    for _ in 0..32 {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let Some(name) = r
                .strip_prefix("#/$defs/")
                .or_else(|| r.strip_prefix("#/definitions/"))
            else {
                return schema;
            };
            let name = name.replace("~1", "/").replace("~0", "~");
            match root
                .get("$defs")
                .or_else(|| root.get("definitions"))
                .and_then(|d| d.get(&name))
            {
                Some(s) => schema = s,
                None => return schema,
            }
        } else if let Some([only]) = schema
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            schema = only;
        } else {
            return schema;
        }
    }
    schema
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Walks `node` against `schema`, appending `unknown field "p"` / `duplicate field "p"`
/// in document order. Without a schema (free-form maps, raw extensions) only duplicates
/// are checked.
pub fn check(
    node: &Node,
    schema: Option<&Value>,
    root: Option<&Value>,
    path: &str,
    out: &mut Vec<String>,
) {
    let schema = match (schema, root) {
        (Some(s), Some(r)) => Some(resolve(s, r)),
        _ => None,
    };
    match node {
        Node::Obj(entries) => {
            let properties = schema
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object);
            let additional = schema
                .and_then(|s| s.get("additionalProperties"))
                .filter(|a| a.is_object());
            let preserve = schema.is_some_and(|s| {
                s.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
            });
            let mut seen = HashSet::new();
            for (key, value) in entries {
                let child = join(path, key);
                if !seen.insert(key.as_str()) {
                    out.push(format!("duplicate field {child:?}"));
                    continue;
                }
                let child_schema = match (properties, additional) {
                    (Some(props), _) => match props.get(key) {
                        Some(s) => Some(s),
                        None if preserve => None,
                        None => {
                            out.push(format!("unknown field {child:?}"));
                            continue;
                        }
                    },
                    (None, Some(add)) => Some(add),
                    (None, None) => None,
                };
                check(value, child_schema, root, &child, out);
            }
        }
        Node::Arr(items) => {
            let item_schema = schema.and_then(|s| s.get("items"));
            for (i, item) in items.iter().enumerate() {
                check(item, item_schema, root, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_duplicate_keys_in_order() {
        let n = parse_json(br#"{"a":1,"b":2,"a":3}"#).unwrap();
        let Node::Obj(entries) = &n else {
            panic!("not an object")
        };
        assert_eq!(
            entries.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["a", "b", "a"]
        );
        assert_eq!(n.into_value(), serde_json::json!({"a": 3, "b": 2}));
    }

    #[test]
    fn yaml_keeps_duplicate_keys_and_stringifies_keys() {
        let n = parse_yaml(b"a: 1\n2: x\na: 3\n").unwrap();
        let Node::Obj(entries) = &n else {
            panic!("not an object")
        };
        assert_eq!(entries.len(), 3);
        assert_eq!(n.into_value(), serde_json::json!({"a": 3, "2": "x"}));
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        assert!(parse_json(b"{} x").is_err());
    }
}
