//! Table printers for events, core/v1 and events.k8s.io/v1 alike, as upstream's
//! `printEvent` prints them (the newer API's fields mapped onto the older ones).

use super::{Column, Ctx, Printer, Row, col, doc, int_at, name, name_col, str_at};
use k8s_openapi::api::core::v1 as core;
use serde_json::{Value, json};

/// The columns and row printer of core/v1 events.
pub(crate) fn events() -> (Vec<Column>, Printer) {
    event_columns(print_event)
}

/// events.k8s.io/v1 events print as core ones do, from their own field names.
pub(crate) fn events_v1() -> (Vec<Column>, Printer) {
    event_columns(print_events_v1_event)
}

fn event_columns(print: Printer) -> (Vec<Column>, Printer) {
    (
        vec![
            col(
                "Last Seen",
                "string",
                0,
                doc::<core::Event>("lastTimestamp"),
            ),
            col("Type", "string", 0, doc::<core::Event>("type")),
            col("Reason", "string", 0, doc::<core::Event>("reason")),
            col("Object", "string", 0, doc::<core::Event>("involvedObject")),
            col(
                "Subobject",
                "string",
                1,
                doc::<core::ObjectReference>("fieldPath"),
            ),
            col("Source", "string", 1, doc::<core::Event>("source")),
            col("Message", "string", 0, doc::<core::Event>("message")),
            col(
                "First Seen",
                "string",
                1,
                doc::<core::Event>("firstTimestamp"),
            ),
            col("Count", "string", 1, doc::<core::Event>("count")),
            Column {
                format: "name",
                priority: 1,
                ..name_col()
            },
        ],
        print,
    )
}

/// The fields `printEvent` reads, from either API (events.k8s.io names them differently).
struct EventView<'a> {
    first: Option<&'a str>,
    last: Option<&'a str>,
    event_time: Option<&'a str>,
    series: Option<&'a Value>,
    count: i64,
    object: &'a Value,
    component: &'a str,
    host: &'a str,
    message: &'a str,
}

fn print_event(ev: &Value, ctx: &Ctx) -> Row {
    let view = EventView {
        first: ev.get("firstTimestamp").and_then(Value::as_str),
        last: ev.get("lastTimestamp").and_then(Value::as_str),
        event_time: ev.get("eventTime").and_then(Value::as_str),
        series: ev.get("series").filter(|s| !s.is_null()),
        count: int_at(ev, "/count"),
        object: ev.get("involvedObject").unwrap_or(&Value::Null),
        component: first_non_empty(
            str_at(ev, "/source/component"),
            str_at(ev, "/reportingComponent"),
        ),
        host: first_non_empty(str_at(ev, "/source/host"), str_at(ev, "/reportingInstance")),
        message: str_at(ev, "/message"),
    };
    event_row(ev, &view, ctx)
}

fn print_events_v1_event(ev: &Value, ctx: &Ctx) -> Row {
    let view = EventView {
        first: ev.get("deprecatedFirstTimestamp").and_then(Value::as_str),
        last: ev.get("deprecatedLastTimestamp").and_then(Value::as_str),
        event_time: ev.get("eventTime").and_then(Value::as_str),
        series: ev.get("series").filter(|s| !s.is_null()),
        count: int_at(ev, "/deprecatedCount"),
        object: ev.get("regarding").unwrap_or(&Value::Null),
        component: first_non_empty(
            str_at(ev, "/deprecatedSource/component"),
            str_at(ev, "/reportingController"),
        ),
        host: first_non_empty(
            str_at(ev, "/deprecatedSource/host"),
            str_at(ev, "/reportingInstance"),
        ),
        message: str_at(ev, "/note"),
    };
    event_row(ev, &view, ctx)
}

fn first_non_empty<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() { b } else { a }
}

fn event_row(ev: &Value, v: &EventView<'_>, ctx: &Ctx) -> Row {
    let first = if v.first.is_some() {
        ctx.since(v.first)
    } else {
        ctx.since(v.event_time)
    };
    let mut last = if v.last.is_some() {
        ctx.since(v.last)
    } else {
        first.clone()
    };
    let mut count = v.count;
    if let Some(series) = v.series {
        last = ctx.since(series.get("lastObservedTime").and_then(Value::as_str));
        count = int_at(series, "/count");
    } else if count == 0 {
        count = 1;
    }
    let kind = str_at(v.object, "/kind").to_lowercase();
    let obj_name = str_at(v.object, "/name");
    let target = if obj_name.is_empty() {
        kind
    } else {
        format!("{kind}/{obj_name}")
    };
    let source = [v.component, v.host]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        json!(last),
        json!(str_at(ev, "/type")),
        json!(str_at(ev, "/reason")),
        json!(target),
        json!(str_at(v.object, "/fieldPath")),
        json!(source),
        json!(v.message.trim()),
        json!(first),
        json!(count),
        json!(name(ev)),
    ]
    .into()
}
