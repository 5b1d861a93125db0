//! `metadata.managedFields` as stored: decoding entries into managers and their field
//! sets, encoding them back in upstream's order (`sortEncodedManagedFields`), and the cap
//! on `Update` entries (`capManagersManager`: the oldest merge into `ancient-changes`).
//!
//! Entry points: [`decode`], [`encode`], [`cap_updaters`].

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::path::{Set, from_fields_v1, to_fields_v1};

/// Upstream's `DefaultMaxUpdateManagers`.
pub const MAX_UPDATE_MANAGERS: usize = 10;

/// The manager of a field set, as upstream's `BuildManagerIdentifier` tells them apart:
/// appliers are one manager whatever version they apply, updaters one per version.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ManagerId {
    pub manager: String,
    pub applied: bool,
    /// Empty for appliers.
    pub api_version: String,
    pub subresource: String,
}

impl ManagerId {
    pub fn new(manager: &str, applied: bool, api_version: &str, subresource: &str) -> Self {
        Self {
            manager: manager.to_string(),
            applied,
            api_version: if applied {
                String::new()
            } else {
                api_version.to_string()
            },
            subresource: subresource.to_string(),
        }
    }

    fn operation(&self) -> &'static str {
        if self.applied { "Apply" } else { "Update" }
    }

    /// The JSON identifier upstream keys managers by (also the order conflicts print in).
    pub fn identifier(&self) -> String {
        let mut v = json!({"manager": self.manager, "operation": self.operation()});
        if !self.api_version.is_empty() {
            v["apiVersion"] = json!(self.api_version);
        }
        if !self.subresource.is_empty() {
            v["subresource"] = json!(self.subresource);
        }
        v.to_string()
    }

    /// Upstream's `printManager`: `"kubectl" with subresource "status" using apps/v1`.
    pub fn describe(&self) -> String {
        let mut s = Value::String(self.manager.clone()).to_string();
        if !self.subresource.is_empty() {
            s.push_str(&format!(
                " with subresource {}",
                Value::String(self.subresource.clone())
            ));
        }
        if !self.applied {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }
}

/// What a manager owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owned {
    pub set: Set,
    pub api_version: String,
    pub time: Option<String>,
}

pub type Managed = BTreeMap<ManagerId, Owned>;

/// The managers of a `managedFields` list; an entry that cannot be read fails the whole
/// list, as upstream's `DecodeManagedFields` does.
pub fn decode(entries: &Value) -> Result<Managed, String> {
    let mut out = Managed::new();
    let Some(list) = entries.as_array() else {
        return if entries.is_null() {
            Ok(out)
        } else {
            Err("managedFields must be a list".into())
        };
    };
    for e in list {
        let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default();
        let applied = match s("operation") {
            "Apply" => true,
            "Update" => false,
            other => return Err(format!("unknown operation {other:?}")),
        };
        if s("fieldsType") != "FieldsV1" {
            return Err(format!("unknown fieldsType {:?}", s("fieldsType")));
        }
        let set = from_fields_v1(e.get("fieldsV1").unwrap_or(&json!({})))?;
        let id = ManagerId::new(s("manager"), applied, s("apiVersion"), s("subresource"));
        let time = e.get("time").and_then(Value::as_str).map(str::to_string);
        out.insert(
            id,
            Owned {
                set,
                api_version: s("apiVersion").to_string(),
                time,
            },
        );
    }
    Ok(out)
}

/// The `managedFields` list of `managed`, in upstream's order: appliers first, then by
/// time, manager, apiVersion and subresource.
pub fn encode(managed: &Managed) -> Value {
    let mut entries: Vec<(&ManagerId, &Owned)> =
        managed.iter().filter(|(_, o)| !o.set.is_empty()).collect();
    entries.sort_by(|(a, ao), (b, bo)| {
        (
            b.applied,
            &ao.time,
            &a.manager,
            &ao.api_version,
            &a.subresource,
        )
            .cmp(&(
                a.applied,
                &bo.time,
                &b.manager,
                &bo.api_version,
                &b.subresource,
            ))
    });
    let list: Vec<Value> = entries
        .into_iter()
        .map(|(id, o)| {
            let mut e = json!({
                "manager": id.manager,
                "operation": id.operation(),
                "apiVersion": o.api_version,
            });
            if let Some(t) = &o.time {
                e["time"] = json!(t);
            }
            e["fieldsType"] = json!("FieldsV1");
            e["fieldsV1"] = to_fields_v1(&o.set);
            if !id.subresource.is_empty() {
                e["subresource"] = json!(id.subresource);
            }
            e
        })
        .collect();
    Value::Array(list)
}

/// Merges the oldest `Update` entries into one `ancient-changes` entry per version until
/// at most [`MAX_UPDATE_MANAGERS`] remain.
pub fn cap_updaters(managed: &mut Managed) {
    let mut updaters: Vec<ManagerId> = managed.keys().filter(|m| !m.applied).cloned().collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    // Entries without a time sort as the oldest, as upstream's zero Unix time does.
    updaters.sort_by(|a, b| {
        let t = |m: &ManagerId| {
            managed
                .get(m)
                .and_then(|o| o.time.clone())
                .unwrap_or_default()
        };
        (t(a), &a.identifier()).cmp(&(t(b), &b.identifier()))
    });
    let mut first_of_version: BTreeMap<String, ManagerId> = BTreeMap::new();
    let mut length = updaters.len();
    for m in updaters {
        if length <= MAX_UPDATE_MANAGERS {
            break;
        }
        let Some(owned) = managed.get(&m).cloned() else {
            continue;
        };
        let version = owned.api_version.clone();
        let bucket = ManagerId::new("ancient-changes", false, &version, "");
        match first_of_version.get(&version) {
            Some(first) => {
                if !managed.contains_key(&bucket)
                    && let Some(s) = managed.remove(first)
                {
                    managed.insert(bucket.clone(), s);
                }
                if let Some(b) = managed.get_mut(&bucket) {
                    b.set.extend(owned.set);
                    b.time = owned.time;
                }
                managed.remove(&m);
                length -= 1;
            }
            None => {
                first_of_version.insert(version, m);
            }
        }
    }
}
