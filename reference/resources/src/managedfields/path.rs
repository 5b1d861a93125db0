//! Field paths and field sets as structured-merge-diff (`sigs.k8s.io/structured-merge-diff/v4
//! fieldpath`) has them: a path is a list of elements (a field name, a list-map key, a
//! set value, an index), a set is a set of paths, and `FieldsV1` is the JSON form stored
//! in `metadata.managedFields` (`f:spec`, `k:{"name":"c"}`, `v:"x"`, `i:0`, and `.` for
//! the node itself when it also has children).
//!
//! Entry points: [`PathElement`], [`Set`], [`to_fields_v1`], [`from_fields_v1`],
//! [`path_string`].

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// One step of a path. Values are held as compact JSON text so that elements order and
/// compare without a JSON ordering of their own. The variant order is upstream's
/// `PathElement.Compare` order: field names, then keys, then values, then indexes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    Field(String),
    /// A list-map item: its key fields, sorted by name, with their values as JSON text.
    Key(Vec<(String, String)>),
    /// A set-list item: the value as JSON text.
    Value(String),
    Index(usize),
}

/// A path from the object's root.
pub type Path = Vec<PathElement>;

/// A set of paths (structured-merge-diff's `fieldpath.Set`).
pub type Set = BTreeSet<Path>;

impl PathElement {
    pub fn field(name: &str) -> Self {
        Self::Field(name.to_string())
    }

    /// The key element of a list-map item from its key fields.
    pub fn key(fields: &[(&str, Value)]) -> Self {
        let mut k: Vec<(String, String)> = fields
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        k.sort();
        Self::Key(k)
    }

    /// The `FieldsV1` key of this element.
    fn fields_v1_key(&self) -> String {
        match self {
            Self::Field(f) => format!("f:{f}"),
            Self::Key(k) => {
                let inner: Vec<String> = k
                    .iter()
                    .map(|(n, v)| format!("{}:{v}", Value::String(n.clone())))
                    .collect();
                format!("k:{{{}}}", inner.join(","))
            }
            Self::Value(v) => format!("v:{v}"),
            Self::Index(i) => format!("i:{i}"),
        }
    }

    fn parse(key: &str) -> Result<Self, String> {
        let (kind, rest) = key
            .split_once(':')
            .ok_or_else(|| format!("unexpected fields key {key:?}"))?;
        match kind {
            "f" => Ok(Self::Field(rest.to_string())),
            "k" => match serde_json::from_str::<Value>(rest) {
                Ok(Value::Object(m)) => {
                    let mut k: Vec<(String, String)> =
                        m.iter().map(|(n, v)| (n.clone(), v.to_string())).collect();
                    k.sort();
                    Ok(Self::Key(k))
                }
                _ => Err(format!("invalid key {rest:?}")),
            },
            "v" => serde_json::from_str::<Value>(rest)
                .map(|v| Self::Value(v.to_string()))
                .map_err(|e| e.to_string()),
            "i" => rest.parse().map(Self::Index).map_err(|e| e.to_string()),
            _ => Err(format!("unknown fields key type {kind:?}")),
        }
    }
}

/// Upstream's `Path.String()`: `.spec.containers[name="c"].image`, `[="x"]`, `[0]`.
pub fn path_string(path: &[PathElement]) -> String {
    let mut s = String::new();
    for pe in path {
        match pe {
            PathElement::Field(f) => {
                s.push('.');
                s.push_str(f);
            }
            PathElement::Key(k) => {
                let inner: Vec<String> = k.iter().map(|(n, v)| format!("{n}={v}")).collect();
                s.push('[');
                s.push_str(&inner.join(","));
                s.push(']');
            }
            PathElement::Value(v) => s.push_str(&format!("[={v}]")),
            PathElement::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

#[derive(Default)]
struct Node {
    member: bool,
    children: BTreeMap<PathElement, Node>,
}

impl Node {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        if self.member && !self.children.is_empty() {
            m.insert(".".into(), Value::Object(Map::new()));
        }
        for (pe, child) in &self.children {
            m.insert(pe.fields_v1_key(), child.to_json());
        }
        Value::Object(m)
    }
}

/// The `FieldsV1` JSON of a set.
pub fn to_fields_v1(set: &Set) -> Value {
    let mut root = Node::default();
    for path in set {
        let mut node = &mut root;
        for pe in path {
            node = node.children.entry(pe.clone()).or_default();
        }
        node.member = true;
    }
    root.to_json()
}

/// The set a `FieldsV1` JSON object describes.
pub fn from_fields_v1(v: &Value) -> Result<Set, String> {
    let mut set = Set::new();
    read(v, &mut Vec::new(), &mut set)?;
    Ok(set)
}

fn read(v: &Value, path: &mut Path, set: &mut Set) -> Result<(), String> {
    let Value::Object(m) = v else {
        return Err("fieldsV1 must be an object".into());
    };
    for (k, child) in m {
        if k == "." {
            if !path.is_empty() {
                set.insert(path.clone());
            }
            continue;
        }
        path.push(PathElement::parse(k)?);
        match child {
            Value::Object(c) if c.is_empty() => {
                set.insert(path.clone());
            }
            _ => read(child, path, set)?,
        }
        path.pop();
    }
    Ok(())
}

/// Whether `set` holds a path strictly below `prefix`.
pub fn has_descendant(set: &Set, prefix: &[PathElement]) -> bool {
    set.range(prefix.to_vec()..)
        .take_while(|p| p.starts_with(prefix))
        .any(|p| p.len() > prefix.len())
}
