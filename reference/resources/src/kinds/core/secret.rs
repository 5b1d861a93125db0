//! Secret: Opaque by default, data keys and the 1 MiB size limit, selectable by type.

use crate::registry::{NONE, STD};
use crate::strategy::{Strategy, TypeFns, collect};
use crate::{
    ResourceInfo, defaults,
    defaults::DefaultsConfig,
    table,
    table::{Column, Printer},
    validation,
    validation::Cause,
};
use serde_json::Value;

pub struct Secret;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "", "Secret", "secrets", "secret", true, NONE, NONE, NONE, STD, &Secret,
);

impl Strategy for Secret {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::core::v1::Secret>())
    }

    fn defaults(&self, obj: &mut Value, _cfg: &DefaultsConfig) {
        defaults::secret(obj);
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        collect(|errs| {
            validation::service::data_keys(obj, errs);
            validation::config_data::secret_size(obj, errs);
        })
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::cluster::secrets())
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["metadata.name", "metadata.namespace", "type"]
    }
}
