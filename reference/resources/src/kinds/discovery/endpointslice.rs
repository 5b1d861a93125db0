//! EndpointSlice: TCP ports by default.

use crate::registry::{NONE, STD};
use crate::strategy::{Strategy, TypeFns};
use crate::{
    ResourceInfo, defaults,
    defaults::DefaultsConfig,
    table,
    table::{Column, Printer},
};
use serde_json::Value;

pub struct EndpointSlice;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "discovery.k8s.io",
    "EndpointSlice",
    "endpointslices",
    "endpointslice",
    true,
    NONE,
    NONE,
    NONE,
    STD,
    &EndpointSlice,
);

impl Strategy for EndpointSlice {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::discovery::v1::EndpointSlice>())
    }

    fn defaults(&self, obj: &mut Value, _cfg: &DefaultsConfig) {
        defaults::endpoint_slice(obj);
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::cluster::endpoint_slices())
    }
}
