//! Strategic merge patch as upstream's `strategicpatch.StrategicMergePatch` applies it:
//! lists merge by the merge keys of `strategy.rs`, maps merge recursively, `null`
//! deletes, and the `$patch`, `$retainKeys`, `$setElementOrder/<list>` and
//! `$deleteFromPrimitiveList/<list>` directives are honoured.
//!
//! Entry point: [`apply`]. The schema (k8s-openapi JSON schema of the kind) tells which
//! definition each map is, so the right merge key is found at any depth.

use super::strategy::{self, FieldStrategy};
use serde_json::{Map, Value};

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ORDER: &str = "$setElementOrder/";
const DELETE_PRIMITIVE: &str = "$deleteFromPrimitiveList/";

/// Why a strategic merge patch cannot be applied: `bad` is a malformed patch (400),
/// otherwise it is well-formed but does not fit the object (422).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmpError {
    pub bad: bool,
    pub message: String,
}

fn bad(message: impl Into<String>) -> SmpError {
    SmpError {
        bad: true,
        message: message.into(),
    }
}

/// Where in the schema a value sits: its (resolved) schema and definition name.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    schema: Option<&'a Value>,
    type_name: Option<&'a str>,
    root: Option<&'a Value>,
}

impl<'a> Ctx<'a> {
    fn new(schema: Option<&'a Value>, root: Option<&'a Value>) -> Self {
        let mut ctx = Ctx {
            schema,
            type_name: None,
            root,
        };
        ctx.resolve();
        ctx
    }

    /// Follows `$ref`s, remembering the definition name.
    fn resolve(&mut self) {
        let (Some(root), Some(mut s)) = (self.root, self.schema) else {
            return;
        };
        for _ in 0..32 {
            if let Some(r) = s.get("$ref").and_then(Value::as_str) {
                let name = r.trim_start_matches("#/$defs/");
                match root.get("$defs").and_then(|d| d.get(name)) {
                    Some(next) => {
                        self.type_name = Some(name);
                        s = next;
                    }
                    None => break,
                }
            } else if let Some([only]) = s.get("allOf").and_then(Value::as_array).map(Vec::as_slice)
            {
                s = only;
            } else {
                break;
            }
        }
        self.schema = Some(s);
    }

    fn field(&self, key: &str) -> Ctx<'a> {
        let child = self.schema.and_then(|s| {
            s.get("properties")
                .and_then(|p| p.get(key))
                .or_else(|| s.get("additionalProperties").filter(|a| a.is_object()))
        });
        Ctx::new(child, self.root)
    }

    fn items(&self) -> Ctx<'a> {
        Ctx::new(self.schema.and_then(|s| s.get("items")), self.root)
    }

    fn strategy(&self, key: &str) -> Option<FieldStrategy> {
        self.type_name.and_then(|t| strategy::lookup(t, key))
    }
}

/// Applies `patch` to `original` using the kind's `schema` (root with `$defs`).
pub fn apply(original: &Value, patch: &Value, schema: Option<&Value>) -> Result<Value, SmpError> {
    let (Value::Object(orig), Value::Object(p)) = (original, patch) else {
        return Err(bad("strategic merge patch must be a JSON object"));
    };
    let mut ctx = Ctx::new(schema, schema);
    if ctx.type_name.is_none() {
        ctx.type_name = schema.and_then(|s| s.get("title")).and_then(Value::as_str);
    }
    Ok(merge_map(orig.clone(), p, ctx)?
        .map(Value::Object)
        .unwrap_or_else(|| Value::Object(Map::new())))
}

/// Merges a patch map into `orig`; `None` means the map itself is deleted.
fn merge_map(
    mut orig: Map<String, Value>,
    patch: &Map<String, Value>,
    ctx: Ctx<'_>,
) -> Result<Option<Map<String, Value>>, SmpError> {
    match patch.get(PATCH) {
        None => {}
        Some(Value::String(d)) if d == "merge" => {}
        Some(Value::String(d)) if d == "replace" => {
            let mut replaced = Map::new();
            for (k, v) in patch.iter().filter(|(k, _)| k.as_str() != PATCH) {
                replaced.insert(k.clone(), strip_directives(v));
            }
            return Ok(Some(replaced));
        }
        Some(Value::String(d)) if d == "delete" => return Ok(None),
        Some(other) => {
            return Err(bad(format!(
                "Unknown patch type: {}",
                other.as_str().unwrap_or(&other.to_string())
            )));
        }
    }

    // $deleteFromPrimitiveList/<field>: drop values from a primitive list first.
    for (k, v) in patch
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(DELETE_PRIMITIVE).map(|f| (f, v)))
    {
        let Value::Array(remove) = v else {
            return Err(bad(
                "invalid patch: $deleteFromPrimitiveList must be a list",
            ));
        };
        if let Some(Value::Array(items)) = orig.get_mut(k) {
            items.retain(|i| !remove.contains(i));
        }
    }

    for (key, pv) in patch {
        if key.starts_with('$') {
            continue;
        }
        if pv.is_null() {
            orig.remove(key);
            continue;
        }
        let child = ctx.field(key);
        let merged = match (orig.remove(key), pv) {
            (Some(Value::Object(o)), Value::Object(p)) => {
                merge_map(o, p, child)?.map(Value::Object)
            }
            (None, Value::Object(p)) => merge_map(Map::new(), p, child)?.map(Value::Object),
            (existing, Value::Array(p)) => {
                let o = match existing {
                    Some(Value::Array(o)) => o,
                    _ => Vec::new(),
                };
                let order = patch.get(&format!("{SET_ORDER}{key}"));
                Some(Value::Array(merge_list(
                    o,
                    p,
                    ctx.strategy(key),
                    order,
                    child.items(),
                )?))
            }
            (_, v) => Some(v.clone()),
        };
        if let Some(m) = merged {
            orig.insert(key.clone(), m);
        }
    }

    // A `$setElementOrder` for a list the patch does not otherwise touch reorders it too.
    for (k, order) in patch
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(SET_ORDER).map(|f| (f, v)))
    {
        if let Some(Value::Array(items)) = orig.get_mut(k).filter(|_| !patch.contains_key(k)) {
            let key = ctx.strategy(k).and_then(|s| s.merge_key);
            let live = items.clone();
            *items = reorder(std::mem::take(items), order, key, &live)?;
        }
    }

    if let Some(retain) = patch.get(RETAIN_KEYS) {
        let Value::Array(keep) = retain else {
            return Err(bad("invalid patch: $retainKeys must be a list"));
        };
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        orig.retain(|k, _| keep.contains(&k.as_str()));
    }
    Ok(Some(orig))
}

/// Removes every `$`-directive from a value that is inserted as-is.
fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

fn merge_list(
    mut orig: Vec<Value>,
    patch: &[Value],
    strategy: Option<FieldStrategy>,
    order: Option<&Value>,
    items: Ctx<'_>,
) -> Result<Vec<Value>, SmpError> {
    let live = orig.clone();
    let Some(strategy) = strategy.filter(FieldStrategy::merges) else {
        // Lists without a merge strategy are replaced (directives in them are dropped).
        let replaced: Vec<Value> = patch
            .iter()
            .filter(|v| !is_directive_element(v))
            .map(strip_directives)
            .collect();
        return Ok(replaced);
    };
    // `{"$patch": "replace"}` as an element: the list becomes the other patch elements.
    if patch
        .iter()
        .any(|v| v.get(PATCH).and_then(Value::as_str) == Some("replace"))
    {
        return Ok(patch
            .iter()
            .filter(|v| !is_directive_element(v))
            .map(strip_directives)
            .collect());
    }
    match strategy.merge_key {
        None => {
            if patch.iter().any(|v| v.is_object() || v.is_array()) {
                return Err(SmpError {
                    bad: false,
                    message: "merging lists of lists or maps without a merge key is not supported"
                        .into(),
                });
            }
            for v in patch {
                if !orig.contains(v) {
                    orig.push(v.clone());
                }
            }
        }
        Some(key) => {
            for p in patch {
                let Value::Object(pm) = p else {
                    return Err(bad(format!(
                        "patch list element must be a map with merge key {key}"
                    )));
                };
                let Some(kv) = pm.get(key) else {
                    return Err(SmpError {
                        bad: false,
                        message: format!(
                            "map: {} does not contain declared merge key: {key}",
                            go_map(p)
                        ),
                    });
                };
                let pos = orig.iter().position(|o| o.get(key) == Some(kv));
                if pm.get(PATCH).and_then(Value::as_str) == Some("delete") {
                    if let Some(i) = pos {
                        orig.remove(i);
                    }
                    continue;
                }
                match pos {
                    Some(i) => {
                        let existing = match orig[i].take() {
                            Value::Object(m) => m,
                            _ => Map::new(),
                        };
                        match merge_map(existing, pm, items)? {
                            Some(m) => orig[i] = Value::Object(m),
                            None => {
                                orig.remove(i);
                            }
                        }
                    }
                    None => {
                        if let Some(m) = merge_map(Map::new(), pm, items)? {
                            orig.push(Value::Object(m));
                        }
                    }
                }
            }
        }
    }
    match order {
        Some(order) => reorder(orig, order, strategy.merge_key, &live),
        None => Ok(orig),
    }
}

fn is_directive_element(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.len() == 1 && m.contains_key(PATCH))
}

/// Orders `items` as upstream's `normalizeElementOrder` does: the items `$setElementOrder`
/// names follow its order, the others (added by the server or other writers) keep
/// their live order, and the two runs are interleaved by their positions in the live
/// list `live` (`mergeSortedSlice`).
fn reorder(
    items: Vec<Value>,
    order: &Value,
    key: Option<&str>,
    live: &[Value],
) -> Result<Vec<Value>, SmpError> {
    let Value::Array(order) = order else {
        return Err(bad("invalid patch: $setElementOrder must be a list"));
    };
    let id = |v: &Value| -> Value {
        match key {
            Some(k) => v.get(k).cloned().unwrap_or(Value::Null),
            None => v.clone(),
        }
    };
    let wanted: Vec<Value> = order.iter().map(id).collect();
    let live_ids: Vec<Value> = live.iter().map(id).collect();
    let live_pos = |v: &Value| live_ids.iter().position(|l| *l == id(v));
    let (mut named, mut server_only): (Vec<Value>, Vec<Value>) =
        items.into_iter().partition(|i| wanted.contains(&id(i)));
    named.sort_by_key(|i| {
        wanted
            .iter()
            .position(|w| *w == id(i))
            .unwrap_or(usize::MAX)
    });
    server_only.sort_by_key(|i| live_pos(i).unwrap_or(usize::MAX));
    let mut out = Vec::with_capacity(named.len() + server_only.len());
    let (mut left, mut right) = (
        server_only.into_iter().peekable(),
        named.into_iter().peekable(),
    );
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => {
                matches!((live_pos(l), live_pos(r)), (Some(li), Some(ri)) if li < ri)
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    Ok(out)
}

/// Go's `%v` of a map, for upstream's merge-key error message.
fn go_map(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_map(v)))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_map).collect::<Vec<_>>().join(" ")),
        other => other.to_string(),
    }
}
