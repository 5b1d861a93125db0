//! ConfigMap: data keys and the 1 MiB size limit.

use crate::registry::{NONE, STD};
use crate::strategy::{Strategy, TypeFns, collect};
use crate::{
    ResourceInfo, table,
    table::{Column, Printer},
    validation,
    validation::Cause,
};
use serde_json::Value;

pub struct ConfigMap;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "",
    "ConfigMap",
    "configmaps",
    "configmap",
    true,
    &["cm"],
    NONE,
    NONE,
    STD,
    &ConfigMap,
);

impl Strategy for ConfigMap {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::core::v1::ConfigMap>())
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        collect(|errs| {
            validation::service::data_keys(obj, errs);
            validation::config_data::config_map_size(obj, errs);
        })
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::cluster::config_maps())
    }
}
