//! Pod: defaults (with DefaultTolerationSeconds), spec validation and its update rules,
//! Pending with a QoS class on create, the pod printer and field selectors.

use crate::registry::{ALL, STD};
use crate::strategy::{FieldPath, Strategy, TypeFns, bool_at, collect};
use crate::{
    ResourceInfo, defaults,
    defaults::DefaultsConfig,
    table,
    table::{Column, Printer},
    validation,
    validation::Cause,
};
use serde_json::{Value, json};

pub struct Pod;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "",
    "Pod",
    "pods",
    "pod",
    true,
    &["po"],
    ALL,
    &[
        "status",
        "binding",
        "eviction",
        "log",
        "proxy",
        "exec",
        "portforward",
        "attach",
        "ephemeralcontainers",
    ],
    STD,
    &Pod,
);

impl Strategy for Pod {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::core::v1::Pod>())
    }

    fn defaults(&self, obj: &mut Value, cfg: &DefaultsConfig) {
        defaults::pod::pod(obj, cfg);
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        collect(|errs| {
            validation::pod::pod_spec(obj.get("spec").unwrap_or(&Value::Null), "spec", errs)
        })
    }

    fn validate_update(&self, old: &Value, new: &Value) -> Vec<Cause> {
        let mut causes = self.validate(new);
        causes.extend(collect(|errs| validation::pod::pod_update(old, new, errs)));
        causes
    }

    fn prepare_for_create(&self, _info: &ResourceInfo, obj: &mut Value) {
        let qos = defaults::pod::qos_class(obj.get("spec").unwrap_or(&Value::Null));
        obj["status"] = json!({"phase": "Pending", "qosClass": qos});
    }

    /// The status subresource leaves the spec, the deletion timestamp and the owner
    /// references alone (old kubelets corrupted the latter).
    fn reset_fields(&self, _info: &ResourceInfo, subresource: &str) -> Vec<FieldPath> {
        match subresource {
            "" => vec![&["status"]],
            "status" => vec![
                &["spec"],
                &["metadata", "deletionTimestamp"],
                &["metadata", "ownerReferences"],
            ],
            _ => Vec::new(),
        }
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::pods::pods())
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "spec.hostNetwork" => Some(bool_at(obj, "/spec/hostNetwork")),
            // The first of podIPs, as upstream's PodToSelectableFields.
            "status.podIP" => Some(
                obj.pointer("/status/podIPs/0/ip")
                    .and_then(Value::as_str)
                    .or_else(|| obj.pointer("/status/podIP").and_then(Value::as_str))
                    .unwrap_or_default()
                    .into(),
            ),
            "status.podIPs" => Some(String::new()),
            _ => None,
        }
    }

    fn delete_returns_object(&self) -> bool {
        true
    }
}
