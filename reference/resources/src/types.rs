//! The k8s-openapi type behind each registry entry (each kind's strategy names it), so
//! decoding, schemas and OpenAPI can work generically over the typed structs.
//!
//! Entry points: [`type_fns`], [`schema`]; [`go`] writes objects as upstream's Go types
//! do.

use crate::ResourceInfo;
use serde::{Serialize, de::DeserializeOwned};

pub mod go;

/// Everything the typed helpers need from a k8s-openapi resource type.
pub trait Typed:
    Serialize + DeserializeOwned + schemars::JsonSchema + k8s_openapi::Resource
{
}
impl<T: Serialize + DeserializeOwned + schemars::JsonSchema + k8s_openapi::Resource> Typed for T {}

/// The typed operations of `info`'s k8s-openapi type (its strategy's); `None` for a
/// kind without one.
pub fn type_fns(info: &ResourceInfo) -> Option<crate::strategy::TypeFns> {
    info.strategy.typed()
}

/// The JSON schema (draft 2020-12, definitions under `$defs`) of a type.
pub fn schema_of<T: schemars::JsonSchema>() -> serde_json::Value {
    schemars::SchemaGenerator::default()
        .into_root_schema_for::<T>()
        .to_value()
}

/// The schema of `info`'s type, computed once per kind.
pub fn schema(info: &ResourceInfo) -> Option<std::sync::Arc<serde_json::Value>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    type Cache = Mutex<HashMap<(&'static str, &'static str), Arc<serde_json::Value>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (info.group, info.kind);
    if let Some(s) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Some(s);
    }
    let s = Arc::new((type_fns(info)?.schema)());
    if let Ok(mut c) = cache.lock() {
        c.insert(key, s.clone());
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_resource_has_a_typed_struct() {
        for r in crate::registry::all() {
            assert!(schema(r).is_some(), "{} has no type", r.kind);
        }
    }

    #[test]
    fn schemas_carry_definitions_for_nested_types() {
        let pods = crate::registry::lookup("", "v1", "pods").unwrap();
        let s = schema(pods).unwrap();
        assert!(
            s.pointer("/$defs/io.k8s.api.core.v1.PodSpec/properties/containers")
                .is_some()
        );
    }
}
