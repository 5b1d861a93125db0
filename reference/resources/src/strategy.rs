//! What one kind means, in one place: the [`Strategy`] every registry entry carries
//! (upstream's `RESTCreateUpdateStrategy` plus its printer, field selectors and storage
//! facts). Built-in kinds implement it in `kinds/<group>/<kind>.rs`; kinds defined by a
//! CustomResourceDefinition implement it in `custom.rs`. The crate's entry points
//! (`defaults::apply_defaults`, `validation::validate_*`, `fields`, `table::to_table`,
//! `managedfields`) ask the entry's strategy instead of matching on kind names.
//!
//! Every method has the generic behaviour as its default, so a kind states only what
//! differs.

use chrono::{DateTime, Utc};
use schemars::SchemaGenerator;
use serde_json::{Value, json};

use crate::ResourceInfo;
use crate::defaults::DefaultsConfig;
use crate::table::{Column, IncludeObject, Printer};
use crate::types::Typed;
use crate::validation::Cause;

/// The typed operations a kind's k8s-openapi struct provides, monomorphised once per
/// type (generic methods would make [`Strategy`] unusable as a trait object).
#[derive(Clone, Copy)]
pub struct TypeFns {
    /// The JSON schema (draft 2020-12, definitions under `$defs`).
    pub schema: fn() -> Value,
    /// Round-trips an object through the struct; the schema (if given) words type
    /// errors as Go does. Unknown fields drop out.
    pub round_trip: fn(Value, Option<&Value>) -> Result<Value, String>,
    /// Registers the type with an OpenAPI generator and returns its schema name.
    pub register: fn(&mut SchemaGenerator) -> String,
}

impl TypeFns {
    pub fn of<T: Typed>() -> Self {
        Self {
            schema: crate::types::schema_of::<T>,
            round_trip: crate::decode::round_trip::<T>,
            register: register::<T>,
        }
    }
}

fn register<T: Typed>(g: &mut SchemaGenerator) -> String {
    g.subschema_for::<T>();
    T::schema_name().into_owned()
}

/// A field path, as upstream's `fieldpath.MakePathOrDie` takes it.
pub type FieldPath = &'static [&'static str];

/// How a kind's names are checked: returns the problems with a name.
pub type NameRule = fn(&str) -> Vec<String>;

/// One kind's behaviour. Object-safe: the registry holds `&'static dyn Strategy`.
pub trait Strategy: Send + Sync {
    /// The k8s-openapi type behind the kind; `None` for kinds without one.
    fn typed(&self) -> Option<TypeFns> {
        None
    }

    /// Upstream's `SetDefaults_*` and the stateless admission mutations.
    fn defaults(&self, _obj: &mut Value, _cfg: &DefaultsConfig) {}

    /// The rule for `metadata.name` and `generateName`.
    fn name_rule(&self) -> NameRule {
        crate::names::is_dns1123_subdomain
    }

    /// The kind's rules that hold on create and on update (metadata is checked by the
    /// caller for every kind).
    fn validate(&self, _obj: &Value) -> Vec<Cause> {
        Vec::new()
    }

    /// `Validate`: the rules of a create.
    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        self.validate(obj)
    }

    /// `ValidateUpdate`: the rules of an update of `old` into `new`.
    fn validate_update(&self, _old: &Value, new: &Value) -> Vec<Cause> {
        self.validate(new)
    }

    /// The kind's part of `PrepareForCreate`, after the server reset the metadata a
    /// client may not choose: what status a new object starts with.
    fn prepare_for_create(&self, info: &ResourceInfo, obj: &mut Value) {
        if info.has_subresource("status")
            && let Some(o) = obj.as_object_mut()
        {
            o.remove("status");
        }
    }

    /// The kind's part of `PrepareForUpdate` on the main resource (status is carried
    /// over by the caller).
    fn prepare_for_update(&self, _old: &Value, _new: &mut Value) {}

    /// Whether a main-resource update bumps `metadata.generation`.
    fn generation_changed(&self, _info: &ResourceInfo, old: &Value, new: &Value) -> bool {
        new.get("spec").is_some() && old.get("spec") != new.get("spec")
    }

    /// `GetResetFields`: the fields a write to `subresource` ("" for the main resource)
    /// resets, so no manager owns them there.
    fn reset_fields(&self, info: &ResourceInfo, subresource: &str) -> Vec<FieldPath> {
        match subresource {
            "status" => vec![&["spec"]],
            "" if info.has_subresource("status") => vec![&["status"]],
            _ => Vec::new(),
        }
    }

    /// The printer columns and row function of `kubectl get`; `None`: upstream's
    /// default (name and age).
    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        None
    }

    /// A whole Table, for kinds whose columns are data rather than code (custom kinds).
    fn table(
        &self,
        _items: &[Value],
        _include: IncludeObject,
        _now: DateTime<Utc>,
    ) -> Option<Value> {
        None
    }

    /// The fields `?fieldSelector=` accepts (metadata first).
    fn selectable_fields(&self) -> &'static [&'static str] {
        &["metadata.name", "metadata.namespace"]
    }

    /// A selectable field's value when it is not simply the string at its path.
    fn field_value(&self, _obj: &Value, _field: &str) -> Option<String> {
        None
    }

    /// Whether DELETE answers with the object (upstream's `ReturnDeletedObject`)
    /// rather than a success Status.
    fn delete_returns_object(&self) -> bool {
        false
    }

    /// The storage key's resource segment (`/registry/<segment>/...`).
    fn storage_dir(&self, info: &ResourceInfo) -> String {
        info.plural.to_string()
    }
}

/// `PrepareForCreate` of the `apps` and `batch` workloads: a new object starts with an
/// empty status.
pub(crate) fn empty_status(obj: &mut Value) {
    if obj.is_object() {
        obj["status"] = json!({});
    }
}

/// The generic parts of a `?fieldSelector=` value: the string at the field's path.
pub(crate) fn string_at(obj: &Value, field: &str) -> String {
    obj.pointer(&format!("/{}", field.replace('.', "/")))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A status counter as a field selector compares it ("0" when unset).
pub(crate) fn count_at(obj: &Value, ptr: &str) -> String {
    obj.pointer(ptr)
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .to_string()
}

/// A boolean as a field selector compares it ("false" when unset).
pub(crate) fn bool_at(obj: &Value, ptr: &str) -> String {
    (obj.pointer(ptr).and_then(Value::as_bool) == Some(true)).to_string()
}

/// `ValidateUpdate` of the `apps` workloads whose selector cannot change: the object's
/// own validation plus the immutable `spec.selector`.
pub(crate) fn with_immutable_selector(
    mut causes: Vec<Cause>,
    old: &Value,
    new: &Value,
) -> Vec<Cause> {
    causes.extend(collect(|errs| {
        errs.immutable(
            old.pointer("/spec/selector"),
            new.pointer("/spec/selector"),
            "spec.selector",
        )
    }));
    causes
}

/// Runs `f` with an error collector and returns what it collected.
pub(crate) fn collect(f: impl FnOnce(&mut crate::validation::Errs)) -> Vec<Cause> {
    let mut errs = crate::validation::Errs::default();
    f(&mut errs);
    errs.0
}
