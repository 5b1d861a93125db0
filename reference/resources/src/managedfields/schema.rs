//! The structural schema server-side apply walks: for each node of an object, whether it
//! is a struct (declared fields), a granular map, an atomic value, or a list of type
//! `atomic`, `set` or `map` (with its key fields), as upstream's OpenAPI extensions
//! `x-kubernetes-list-type`, `x-kubernetes-list-map-keys` and `x-kubernetes-map-type`
//! say. The kind's JSON schema (`types::schema`) gives the shape; list types come from
//! the strategic-merge table (`patch::strategy`: a merge key makes a list map, a merged
//! primitive list a set) with upstream's multi-key lists added; everything else is
//! atomic, as structured-merge-diff treats lists without a list type. A custom
//! resource's schema says it itself, with the extensions.
//!
//! Entry points: [`Ty::root`], [`Ty::shape`].

use serde_json::Value;

use crate::patch::strategy;

/// How a list's items are told apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListType<'a> {
    Atomic,
    Set,
    Map(&'static [&'static str]),
    /// A list map whose keys a custom resource's schema names
    /// (`x-kubernetes-list-map-keys`).
    MapKeys(&'a [Value]),
}

/// What a node is, for field ownership.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape<'a> {
    Scalar,
    /// Declared fields: a field is a node only when it holds a leaf.
    Struct,
    /// `map[string]T`: every entry is a node.
    Map,
    /// Replaced and owned as a whole.
    Atomic,
    List(ListType<'a>),
    /// No schema: maps are granular, lists atomic (structured-merge-diff's deduced type).
    Deduced,
}

/// Lists whose upstream `+listMapKey` tags name more than the strategic merge key.
const MULTI_KEY: &[(&str, &str, &[&str])] = &[
    ("Container", "ports", &["containerPort", "protocol"]),
    (
        "EphemeralContainer",
        "ports",
        &["containerPort", "protocol"],
    ),
    ("ServiceSpec", "ports", &["port", "protocol"]),
];

/// Key fields with an OpenAPI default, used when an item leaves them out (upstream's
/// `protocol` default, which structured-merge-diff reads for list-map keys).
pub const KEY_DEFAULTS: &[(&str, &str)] = &[("protocol", "TCP")];

/// Types upstream marks `+structType=atomic` / `+mapType=atomic`.
const ATOMIC_STRUCTS: &[&str] = &[
    "LabelSelector",
    "LocalObjectReference",
    "ObjectReference",
    "TypedLocalObjectReference",
    "ConfigMapKeySelector",
    "SecretKeySelector",
    "ObjectFieldSelector",
    "ResourceFieldSelector",
    "NodeSelector",
    "NodeSelectorTerm",
    "TopologySelectorTerm",
];

/// A position in the kind's schema.
#[derive(Clone, Copy)]
pub struct Ty<'a> {
    schema: Option<&'a Value>,
    name: Option<&'a str>,
    root: Option<&'a Value>,
    list: ListType<'a>,
}

impl<'a> Ty<'a> {
    /// The kind's top level, from its schema (`None`: everything deduced).
    pub fn root(schema: Option<&'a Value>) -> Self {
        let mut t = Ty {
            schema,
            name: schema.and_then(|s| s.get("title")).and_then(Value::as_str),
            root: schema,
            list: ListType::Atomic,
        };
        t.resolve();
        t
    }

    fn resolve(&mut self) {
        let Some(mut s) = self.schema else {
            return;
        };
        for _ in 0..32 {
            if let Some(r) = s.get("$ref").and_then(Value::as_str) {
                let name = r.trim_start_matches("#/$defs/");
                match self.root.and_then(|root| root.get("$defs")?.get(name)) {
                    Some(next) => {
                        self.name = Some(name);
                        s = next;
                    }
                    None => break,
                }
                continue;
            }
            let alternatives = ["allOf", "anyOf", "oneOf"]
                .iter()
                .find_map(|k| s.get(*k).and_then(Value::as_array));
            let non_null = alternatives.and_then(|a| {
                let mut it = a.iter().filter(|x| x.get("type") != Some(&"null".into()));
                it.next().filter(|_| it.next().is_none())
            });
            match non_null {
                Some(only) => s = only,
                None => break,
            }
        }
        self.schema = Some(s);
    }

    fn short_name(&self) -> Option<&'a str> {
        self.name.map(|n| n.rsplit('.').next().unwrap_or(n))
    }

    /// The node's shape by its schema (`walk.rs` deduces it from the value where the
    /// schema says nothing or the value does not fit).
    pub fn shape(&self) -> Shape<'a> {
        let Some(s) = self.schema else {
            return Shape::Deduced;
        };
        let ext = |k: &str| s.get(k).and_then(Value::as_str);
        if s.get("items").is_some() {
            return Shape::List(match (ext("x-kubernetes-list-type"), self.list) {
                (Some("atomic"), _) => ListType::Atomic,
                (Some("set"), _) => ListType::Set,
                (Some("map"), _) => s
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map_or(ListType::Atomic, |k| ListType::MapKeys(k)),
                (_, table) => table,
            });
        }
        if matches!(ext("x-kubernetes-map-type"), Some("atomic")) {
            return Shape::Atomic;
        }
        if s.get("properties").is_some() {
            if self
                .short_name()
                .is_some_and(|n| ATOMIC_STRUCTS.contains(&n))
            {
                return Shape::Atomic;
            }
            return Shape::Struct;
        }
        if s.get("additionalProperties").is_some_and(Value::is_object) {
            return Shape::Map;
        }
        let ty = s.get("type");
        let is = |t: &str| match ty {
            Some(Value::String(x)) => x == t,
            Some(Value::Array(a)) => a.iter().any(|x| x == t),
            _ => false,
        };
        if is("object") || ty.is_none() {
            Shape::Deduced
        } else {
            Shape::Scalar
        }
    }

    /// Whether `key` is a declared field of this struct.
    pub fn declares(&self, key: &str) -> bool {
        self.schema
            .and_then(|s| s.get("properties"))
            .is_some_and(|p| p.get(key).is_some())
    }

    /// The type of field (or map entry) `key`.
    pub fn field(&self, key: &str) -> Ty<'a> {
        let child = self.schema.and_then(|s| {
            s.get("properties")
                .and_then(|p| p.get(key))
                .or_else(|| s.get("additionalProperties").filter(|a| a.is_object()))
        });
        let list = self
            .short_name()
            .map_or(ListType::Atomic, |t| list_type(t, key));
        let mut t = Ty {
            schema: child,
            name: None,
            root: self.root,
            list,
        };
        t.resolve();
        t
    }

    /// The type of this list's items.
    pub fn items(&self) -> Ty<'a> {
        let mut t = Ty {
            schema: self.schema.and_then(|s| s.get("items")),
            name: None,
            root: self.root,
            list: ListType::Atomic,
        };
        t.resolve();
        t
    }
}

/// The list type of `field` in the struct `type_name` (short name).
fn list_type(type_name: &str, field: &str) -> ListType<'static> {
    if let Some((_, _, keys)) = MULTI_KEY
        .iter()
        .find(|(t, f, _)| *t == type_name && *f == field)
    {
        return ListType::Map(keys);
    }
    let entry = strategy::TABLE
        .iter()
        .find(|(t, f, _)| *t == type_name && *f == field);
    match entry {
        Some((_, _, s)) if s.merges() => match s.merge_key.as_ref() {
            Some(k) => ListType::Map(std::slice::from_ref(k)),
            None => ListType::Set,
        },
        _ => ListType::Atomic,
    }
}
