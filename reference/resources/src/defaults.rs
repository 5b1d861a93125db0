//! Defaulting and mutating admission that needs no cluster state: upstream's
//! `SetDefaults_*` for each kind, the strategies' `PrepareForCreate` pieces that need
//! no state (pod Pending + QoS class, the Job selector),
//! and the DefaultTolerationSeconds plugin.
//!
//! Entry point: [`apply_defaults`]. (ClusterIP allocation needs state and lives in the
//! API server.) The Job selector needs `metadata.uid`, so the API server must assign
//! the uid before calling it on create.

pub(crate) mod cronjob;
pub(crate) mod pod;
pub(crate) mod rbac;

pub use pod::default_toleration_seconds;

use crate::ResourceInfo;
use serde_json::{Value, json};

/// Settings of the defaulting admission plugins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultsConfig {
    /// `--default-not-ready-toleration-seconds` (upstream 300).
    pub not_ready_toleration_seconds: i64,
    /// `--default-unreachable-toleration-seconds` (upstream 300).
    pub unreachable_toleration_seconds: i64,
}

impl Default for DefaultsConfig {
    fn default() -> Self {
        Self {
            not_ready_toleration_seconds: 300,
            unreachable_toleration_seconds: 300,
        }
    }
}

impl DefaultsConfig {
    pub fn with_not_ready_toleration_seconds(mut self, s: i64) -> Self {
        self.not_ready_toleration_seconds = s;
        self
    }
    pub fn with_unreachable_toleration_seconds(mut self, s: i64) -> Self {
        self.unreachable_toleration_seconds = s;
        self
    }
}

/// The object at `key`, created as `{}` when absent or null; `None` if it is not an
/// object (a malformed value is left for validation to report).
pub(crate) fn obj_mut<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    let map = v.as_object_mut()?;
    let child = map.entry(key).or_insert(Value::Null);
    if child.is_null() {
        *child = json!({});
    }
    child.is_object().then_some(child)
}

/// Sets `key` when absent or null (Go pointer fields).
pub(crate) fn set_if_absent(v: &mut Value, key: &str, default: Value) {
    if let Some(m) = v.as_object_mut() {
        let slot = m.entry(key).or_insert(Value::Null);
        if slot.is_null() {
            *slot = default;
        }
    }
}

/// Sets `key` when absent, null or the empty string (Go string fields).
pub(crate) fn set_if_empty(v: &mut Value, key: &str, default: Value) {
    if let Some(m) = v.as_object_mut() {
        let slot = m.entry(key).or_insert(Value::Null);
        if slot.is_null() || slot.as_str() == Some("") {
            *slot = default;
        }
    }
}

/// Fills in defaults on a create (and, where upstream does, an update) of `info`'s kind.
pub fn apply_defaults(info: &ResourceInfo, obj: &mut Value, cfg: &DefaultsConfig) {
    if !obj.is_object() {
        return;
    }
    info.strategy.defaults(obj, cfg);
}

/// `SetDefaults_Secret`.
pub(crate) fn secret(obj: &mut Value) {
    set_if_empty(obj, "type", json!("Opaque"));
}

/// `SetDefaults_PersistentVolumeClaim` and its status.
pub(crate) fn persistent_volume_claim(obj: &mut Value) {
    if let Some(spec) = obj_mut(obj, "spec") {
        set_if_absent(spec, "volumeMode", json!("Filesystem"));
    }
    if let Some(status) = obj_mut(obj, "status") {
        set_if_empty(status, "phase", json!("Pending"));
    }
}

/// `SetDefaults_PersistentVolume` and its status.
pub(crate) fn persistent_volume(obj: &mut Value) {
    if let Some(spec) = obj_mut(obj, "spec") {
        set_if_empty(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
        set_if_absent(spec, "volumeMode", json!("Filesystem"));
    }
    if let Some(status) = obj_mut(obj, "status") {
        set_if_empty(status, "phase", json!("Pending"));
    }
}

/// `SetDefaults_Endpoints`: ports default to TCP.
pub(crate) fn endpoints(obj: &mut Value) {
    for ss in obj
        .get_mut("subsets")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        for p in ss
            .get_mut("ports")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            set_if_empty(p, "protocol", json!("TCP"));
        }
    }
}

/// `SetDefaults_EndpointPort` of discovery/v1: TCP and an empty name.
pub(crate) fn endpoint_slice(obj: &mut Value) {
    for p in obj
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        set_if_empty(p, "protocol", json!("TCP"));
        set_if_absent(p, "name", json!(""));
    }
}

pub(crate) fn replica_set(obj: &mut Value) {
    with_spec(obj, |spec| set_if_absent(spec, "replicas", json!(1)));
}

pub(crate) fn deployment(obj: &mut Value) {
    with_spec(obj, deployment_spec);
}

pub(crate) fn daemon_set(obj: &mut Value) {
    with_spec(obj, daemon_set_spec);
}

pub(crate) fn stateful_set(obj: &mut Value) {
    with_spec(obj, stateful_set_spec);
}

/// Runs `f` on `spec` and then defaults `spec.template.spec` as a pod spec.
fn with_spec(obj: &mut Value, f: fn(&mut Value)) {
    if let Some(spec) = obj_mut(obj, "spec") {
        f(spec);
        template(spec);
    }
}

fn template(spec: &mut Value) {
    if let Some(pod_spec) = spec.pointer_mut("/template/spec").filter(|s| s.is_object()) {
        pod::pod_spec(pod_spec);
    }
}

pub(crate) fn service(svc: &mut Value) {
    let Some(spec) = obj_mut(svc, "spec") else {
        return;
    };
    set_if_empty(spec, "type", json!("ClusterIP"));
    set_if_empty(spec, "sessionAffinity", json!("None"));
    if spec.get("sessionAffinity").and_then(Value::as_str) == Some("ClientIP") {
        set_if_absent(
            spec,
            "sessionAffinityConfig",
            json!({"clientIP": {"timeoutSeconds": 10800}}),
        );
    }
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    for p in spec
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        set_if_empty(p, "protocol", json!("TCP"));
        let missing = match p.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(Value::Number(n)) => n.as_i64() == Some(0),
            Some(Value::String(s)) => s.is_empty(),
            _ => false,
        };
        if missing && p.is_object() {
            p["targetPort"] = p.get("port").cloned().unwrap_or(Value::Null);
        }
    }
    if ty == "ExternalName" {
        return;
    }
    if ty == "NodePort" || ty == "LoadBalancer" {
        set_if_empty(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        set_if_absent(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    set_if_empty(spec, "internalTrafficPolicy", json!("Cluster"));
    set_if_empty(spec, "ipFamilyPolicy", json!("SingleStack"));
    set_if_absent(spec, "ipFamilies", json!(["IPv4"]));
}

/// `SetDefaults_Namespace` (the `kubernetes.io/metadata.name` label) and
/// `SetDefaults_NamespaceStatus`. The `kubernetes` finalizer is the namespace
/// strategy's PrepareForCreate, not a default: adding it here would undo `/finalize`.
pub(crate) fn namespace(ns: &mut Value) {
    let name = ns
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !name.is_empty()
        && let Some(Value::Object(labels)) =
            obj_mut(ns, "metadata").and_then(|m| obj_mut(m, "labels"))
    {
        labels.insert("kubernetes.io/metadata.name".into(), json!(name));
    }
    if let Some(status) = obj_mut(ns, "status") {
        set_if_empty(status, "phase", json!("Active"));
    }
}

/// `SetDefaults_NodeStatus`: allocatable defaults to capacity.
pub(crate) fn node(node: &mut Value) {
    if let Some(capacity) = node.pointer("/status/capacity").cloned()
        && let Some(status) = obj_mut(node, "status")
    {
        set_if_absent(status, "allocatable", capacity);
    }
}

/// `SetDefaults_ReplicationController`: selector and labels default to the template's.
pub(crate) fn replication_controller(rc: &mut Value) {
    let template_labels = rc
        .pointer("/spec/template/metadata/labels")
        .filter(|l| is_non_empty_map(l))
        .cloned();
    if let Some(labels) = template_labels {
        if !rc.pointer("/spec/selector").is_some_and(is_non_empty_map)
            && let Some(spec) = obj_mut(rc, "spec")
        {
            spec["selector"] = labels.clone();
        }
        if !rc.pointer("/metadata/labels").is_some_and(is_non_empty_map)
            && let Some(meta) = obj_mut(rc, "metadata")
        {
            meta["labels"] = labels;
        }
    }
    with_spec(rc, |spec| set_if_absent(spec, "replicas", json!(1)));
}

fn is_non_empty_map(v: &Value) -> bool {
    v.as_object().is_some_and(|m| !m.is_empty())
}

fn deployment_spec(spec: &mut Value) {
    set_if_absent(spec, "replicas", json!(1));
    if let Some(strategy) = obj_mut(spec, "strategy") {
        set_if_empty(strategy, "type", json!("RollingUpdate"));
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(ru) = obj_mut(strategy, "rollingUpdate")
        {
            set_if_absent(ru, "maxUnavailable", json!("25%"));
            set_if_absent(ru, "maxSurge", json!("25%"));
        }
    }
    set_if_absent(spec, "revisionHistoryLimit", json!(10));
    set_if_absent(spec, "progressDeadlineSeconds", json!(600));
}

fn daemon_set_spec(spec: &mut Value) {
    if let Some(strategy) = obj_mut(spec, "updateStrategy") {
        set_if_empty(strategy, "type", json!("RollingUpdate"));
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(ru) = obj_mut(strategy, "rollingUpdate")
        {
            set_if_absent(ru, "maxUnavailable", json!(1));
            set_if_absent(ru, "maxSurge", json!(0));
        }
    }
    set_if_absent(spec, "revisionHistoryLimit", json!(10));
}

fn stateful_set_spec(spec: &mut Value) {
    set_if_empty(spec, "podManagementPolicy", json!("OrderedReady"));
    if let Some(strategy) = obj_mut(spec, "updateStrategy") {
        set_if_empty(strategy, "type", json!("RollingUpdate"));
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(ru) = obj_mut(strategy, "rollingUpdate")
        {
            set_if_absent(ru, "partition", json!(0));
        }
    }
    set_if_absent(spec, "replicas", json!(1));
    set_if_absent(spec, "revisionHistoryLimit", json!(10));
    set_if_absent(
        spec,
        "persistentVolumeClaimRetentionPolicy",
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
    );
    for t in spec
        .get_mut("volumeClaimTemplates")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(s) = obj_mut(t, "spec") {
            set_if_absent(s, "volumeMode", json!("Filesystem"));
        }
    }
}

const LEGACY_JOB_NAME: &str = "job-name";
const JOB_NAME: &str = "batch.kubernetes.io/job-name";
const LEGACY_CONTROLLER_UID: &str = "controller-uid";
const CONTROLLER_UID: &str = "batch.kubernetes.io/controller-uid";

/// `SetDefaults_Job` plus the Job strategy's `generateSelector`.
pub(crate) fn job(job: &mut Value) {
    let name = job
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let uid = job
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(spec) = obj_mut(job, "spec") else {
        return;
    };
    if spec.get("completions").is_none_or(Value::is_null)
        && spec.get("parallelism").is_none_or(Value::is_null)
    {
        spec["completions"] = json!(1);
        spec["parallelism"] = json!(1);
    }
    set_if_absent(spec, "parallelism", json!(1));
    let per_index = spec
        .get("backoffLimitPerIndex")
        .is_some_and(|v| !v.is_null());
    set_if_absent(
        spec,
        "backoffLimit",
        json!(if per_index { i32::MAX as i64 } else { 6 }),
    );
    set_if_absent(spec, "completionMode", json!("NonIndexed"));
    set_if_absent(spec, "suspend", json!(false));
    let has_failure_policy = spec.get("podFailurePolicy").is_some_and(|v| !v.is_null());
    set_if_absent(
        spec,
        "podReplacementPolicy",
        json!(if has_failure_policy {
            "Failed"
        } else {
            "TerminatingOrFailed"
        }),
    );
    set_if_absent(spec, "manualSelector", json!(false));
    let manual = spec.get("manualSelector").and_then(Value::as_bool) == Some(true);
    if !manual && !uid.is_empty() {
        let labels = spec
            .pointer_mut("/template")
            .and_then(|t| obj_mut(t, "metadata"))
            .and_then(|m| obj_mut(m, "labels"));
        if let Some(Value::Object(labels)) = labels {
            for (k, v) in [
                (LEGACY_JOB_NAME, &name),
                (JOB_NAME, &name),
                (LEGACY_CONTROLLER_UID, &uid),
                (CONTROLLER_UID, &uid),
            ] {
                labels.entry(k).or_insert_with(|| json!(v));
            }
        }
        if let Some(sel) = obj_mut(spec, "selector").and_then(|s| obj_mut(s, "matchLabels"))
            && let Some(m) = sel.as_object_mut()
        {
            m.entry(CONTROLLER_UID).or_insert_with(|| json!(uid));
        }
    }
    template(spec);
    // Upstream shares the template's label map with an unlabelled Job, so the Job ends
    // up with the generated labels too.
    let template_labels = job
        .pointer("/spec/template/metadata/labels")
        .filter(|l| is_non_empty_map(l))
        .cloned();
    if let Some(labels) = template_labels
        && !job
            .pointer("/metadata/labels")
            .is_some_and(is_non_empty_map)
        && let Some(meta) = obj_mut(job, "metadata")
    {
        meta["labels"] = labels;
    }
}

#[cfg(test)]
mod tests;
