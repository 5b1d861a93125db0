//! core/v1 Event: its field selectors and printer (events.k8s.io/v1 Events share its
//! storage).

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
    "",
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
        Some(TypeFns::of::<k8s_openapi::api::core::v1::Event>())
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::events::events())
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        fields::EVENT_FIELDS
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        fields::event_field(obj, field, false)
    }
}
