//! Service: DNS-1035 label names, type defaults and validation, an empty load balancer
//! status on create, stored as `services/specs`.

use crate::registry::{ALL, STD};
use crate::strategy::{NameRule, Strategy, TypeFns, collect};
use crate::{
    ResourceInfo, defaults,
    defaults::DefaultsConfig,
    names, table,
    table::{Column, Printer},
    validation,
    validation::Cause,
};
use serde_json::{Value, json};

pub struct Service;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "",
    "Service",
    "services",
    "service",
    true,
    &["svc"],
    ALL,
    &["status", "proxy"],
    STD,
    &Service,
);

impl Strategy for Service {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::core::v1::Service>())
    }

    fn defaults(&self, obj: &mut Value, _cfg: &DefaultsConfig) {
        defaults::service(obj);
    }

    fn name_rule(&self) -> NameRule {
        names::is_dns1035_label
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        collect(|errs| validation::service::service(obj, errs))
    }

    fn validate_update(&self, old: &Value, new: &Value) -> Vec<Cause> {
        let mut causes = self.validate(new);
        causes.extend(collect(|errs| {
            validation::service::service_update(old, new, errs)
        }));
        causes
    }

    fn prepare_for_create(&self, _info: &ResourceInfo, obj: &mut Value) {
        obj["status"] = json!({"loadBalancer": {}});
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::cluster::services())
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &[
            "metadata.name",
            "metadata.namespace",
            "spec.clusterIP",
            "spec.type",
        ]
    }

    fn delete_returns_object(&self) -> bool {
        true
    }

    fn storage_dir(&self, _info: &ResourceInfo) -> String {
        "services/specs".into()
    }
}
