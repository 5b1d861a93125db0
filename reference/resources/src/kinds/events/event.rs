//! events.k8s.io/v1 Event: stored with core Events (`/registry/events`), printed and
//! selected as they are, under its own field names too.

use crate::registry::{NONE, STD};
use crate::strategy::{Strategy, TypeFns};
use crate::{
    ResourceInfo, fields, table,
    table::{Column, Printer},
};
use serde_json::Value;

pub struct Event;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "events.k8s.io",
    "Event",
    "events",
    "event",
    true,
    &["ev"],
    NONE,
    NONE,
    STD,
    &Event,
);

impl Strategy for Event {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::events::v1::Event>())
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::events::events_v1())
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        fields::EVENT_V1_FIELDS
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        fields::event_field(obj, field, true)
    }
}
