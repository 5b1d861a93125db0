//! The CRD-wide tail of upstream's validation: conversion (`validateCustomResource
//! Conversion`), stored versions and the API approval annotation of protected groups.

use super::validate_parts::{enum_string, str_of};
use crate::names::is_dns1035_label;
use crate::validation::{Errs, go};
use serde_json::{Value, json};

const REVIEW_VERSIONS: [&str; 2] = ["v1", "v1beta1"];

fn review_versions(crd: &Value) -> &[Value] {
    crd.pointer("/spec/conversion/webhook/conversionReviewVersions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// `hasValidConversionReviewVersionOrEmpty` of the old object (also true without a
/// conversion section).
pub(super) fn has_known_review_version_or_none(old: &Value) -> bool {
    let list = review_versions(old);
    list.is_empty()
        || list
            .iter()
            .any(|v| REVIEW_VERSIONS.contains(&v.as_str().unwrap_or_default()))
}

/// `validateCustomResourceConversion`, with the internal field names upstream reports
/// (`spec.conversion.webhookClientConfig`, `spec.conversion.conversionReviewVersions`).
pub(super) fn conversion(crd: &Value, require_recognized: bool, errs: &mut Errs) {
    let Some(conv) = crd.pointer("/spec/conversion").filter(|c| !c.is_null()) else {
        return;
    };
    let strategy = str_of(conv, "strategy");
    enum_string(
        strategy,
        "spec.conversion.strategy",
        &["None", "Webhook"],
        errs,
    );
    let client = conv
        .pointer("/webhook/clientConfig")
        .filter(|c| !c.is_null());
    let versions = review_versions(crd);
    let cc_field = "spec.conversion.webhookClientConfig";
    let rv_field = "spec.conversion.conversionReviewVersions";
    if strategy != "Webhook" {
        if client.is_some() {
            errs.forbidden(
                cc_field,
                "should not be set when strategy is not set to Webhook",
            );
        }
        if !versions.is_empty() {
            errs.forbidden(
                rv_field,
                "should not be set when strategy is not set to Webhook",
            );
        }
        return;
    }
    match client {
        None => errs.required(cc_field, "required when strategy is set to Webhook"),
        Some(cc) => {
            let has = |k: &str| cc.get(k).is_some_and(|v| !v.is_null());
            if has("url") == has("service") {
                errs.required(cc_field, "exactly one of url or service is required");
            } else if let Some(url) = cc.get("url").and_then(Value::as_str) {
                webhook_url(url, &format!("{cc_field}.url"), errs);
            } else if let Some(service) = cc.get("service") {
                webhook_service(service, &format!("{cc_field}.service"), errs);
            }
        }
    }
    if versions.is_empty() {
        errs.required(rv_field, "");
        return;
    }
    let mut seen = std::collections::HashSet::new();
    let mut known = false;
    for (i, v) in versions.iter().enumerate() {
        let v = v.as_str().unwrap_or_default();
        let field = format!("{rv_field}[{i}]");
        if !seen.insert(v) {
            errs.invalid(&field, &json!(v), "duplicate version");
            continue;
        }
        for m in is_dns1035_label(v) {
            errs.invalid(&field, &json!(v), &m);
        }
        known |= REVIEW_VERSIONS.contains(&v);
    }
    if require_recognized && !known {
        errs.invalid(
            rv_field,
            &Value::Array(versions.to_vec()),
            "must include at least one of v1, v1beta1",
        );
    }
}

/// `webhook.ValidateWebhookURL` with https forced. The URL is split as `url.Parse`
/// would: `scheme://[user@]host/path?query#fragment`.
fn webhook_url(url: &str, field: &str, errs: &mut Errs) {
    const FORM: &str = "; desired format: https://host[/path]";
    let (rest, fragment) = url.split_once('#').unwrap_or((url, ""));
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (scheme, rest) = match rest.split_once(':') {
        Some((s, r)) if s.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) => (s, r),
        _ => ("", rest),
    };
    let authority = rest
        .strip_prefix("//")
        .map(|a| a.split('/').next().unwrap_or_default())
        .unwrap_or_default();
    let (user, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if !scheme.eq_ignore_ascii_case("https") {
        let detail = format!("'https' is the only allowed URL scheme{FORM}");
        errs.invalid(field, &json!(scheme.to_ascii_lowercase()), &detail);
    }
    if host.is_empty() {
        errs.invalid(field, &json!(host), &format!("host must be provided{FORM}"));
    }
    if let Some(user) = user {
        errs.invalid(
            field,
            &json!(user),
            "user information is not permitted in the URL",
        );
    }
    if !fragment.is_empty() {
        errs.invalid(
            field,
            &json!(fragment),
            "fragments are not permitted in the URL",
        );
    }
    if !query.is_empty() {
        errs.invalid(
            field,
            &json!(query),
            "query parameters are not permitted in the URL",
        );
    }
}

/// `webhook.ValidateWebhookService` (the port is defaulted to 443 before).
fn webhook_service(service: &Value, field: &str, errs: &mut Errs) {
    if str_of(service, "name").is_empty() {
        errs.required(&format!("{field}.name"), "service name is required");
    }
    if str_of(service, "namespace").is_empty() {
        errs.required(
            &format!("{field}.namespace"),
            "service namespace is required",
        );
    }
    let port = service.get("port").and_then(Value::as_i64).unwrap_or(443);
    if !(1..=65535).contains(&port) {
        errs.invalid(
            &format!("{field}.port"),
            &json!(port),
            "port is not valid: must be between 1 and 65535, inclusive",
        );
    }
    let path = str_of(service, "path");
    let pfield = format!("{field}.path");
    if path.is_empty() || path == "/" {
        return;
    }
    if path == "//" {
        errs.invalid(&pfield, &json!(path), "segment[0] may not be empty");
        return;
    }
    if !path.starts_with('/') {
        errs.invalid(&pfield, &json!(path), "must start with a '/'");
    }
    // Go slices off the first byte whether or not it is the slash.
    let check = path.get(1..).unwrap_or_default();
    let check = check.strip_suffix('/').unwrap_or(check);
    for (i, step) in check.split('/').enumerate() {
        if step.is_empty() {
            errs.invalid(
                &pfield,
                &json!(path),
                &format!("segment[{i}] may not be empty"),
            );
            continue;
        }
        for failure in crate::names::is_dns1123_subdomain(step) {
            errs.invalid(&pfield, &json!(path), &format!("segment[{i}]: {failure}"));
        }
    }
}

/// `ValidateCustomResourceDefinitionStoredVersions`.
pub(super) fn stored_versions(crd: &Value, errs: &mut Errs) {
    let field = "status.storedVersions";
    let stored: Vec<&str> = crd
        .pointer("/status/storedVersions")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|v| v.as_str().unwrap_or_default()).collect())
        .unwrap_or_default();
    let rendered = if stored.is_empty() {
        // A created CRD without a storage version has a nil list.
        "[]string(nil)".to_string()
    } else {
        go(&json!(stored))
    };
    if stored.is_empty() {
        errs.push_raw(
            "FieldValueInvalid",
            field,
            format!("Invalid value: {rendered}: must have at least one stored version"),
        );
        return;
    }
    // Upstream keys a map by version (a repeated version keeps its last index).
    let mut remaining: Vec<(usize, &str)> = Vec::new();
    for (i, v) in stored.iter().enumerate() {
        remaining.retain(|(_, r)| r != v);
        remaining.push((i, v));
    }
    for v in super::conversion::versions(crd) {
        let name = v["name"].as_str().unwrap_or_default();
        let listed = remaining.iter().any(|(_, r)| *r == name);
        if v["storage"] == true && !listed {
            errs.push_raw(
                "FieldValueInvalid",
                field,
                format!("Invalid value: {rendered}: must have the storage version {name}"),
            );
        }
        remaining.retain(|(_, r)| *r != name);
    }
    remaining.sort();
    for (i, v) in remaining {
        errs.invalid(
            &format!("{field}[{i}]"),
            &json!(v),
            &format!("missing from spec.versions; {v} was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in {v} and removes {v} from status.storedVersions"),
        );
    }
}

const APPROVAL: &str = "api-approved.kubernetes.io";

#[derive(PartialEq)]
enum Approval {
    Invalid,
    Approved,
    Bypassed,
    Missing,
}

/// `GetAPIApprovalState`.
fn approval_state(crd: &Value) -> (Approval, String) {
    let a = crd
        .pointer("/metadata/annotations")
        .and_then(|m| m.get(APPROVAL))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if a.is_empty() {
        return (
            Approval::Missing,
            format!(
                "protected groups must have approval annotation {APPROVAL:?}, see https://github.com/kubernetes/enhancements/pull/1111"
            ),
        );
    }
    if a.starts_with("unapproved") {
        return (Approval::Bypassed, format!("not approved: {a:?}"));
    }
    // url.ParseRequestURI with a scheme and a host.
    let is_url = a.split_once("://").is_some_and(|(scheme, rest)| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && !host.is_empty()
            && !a.contains(' ')
    });
    if is_url {
        return (Approval::Approved, format!("approved in {a}"));
    }
    (
        Approval::Invalid,
        format!(
            "protected groups must have approval annotation {APPROVAL:?} with either a URL or a reason starting with \"unapproved\", see https://github.com/kubernetes/enhancements/pull/1111"
        ),
    )
}

/// `validateAPIApproval`: groups under k8s.io and kubernetes.io need the annotation.
pub(super) fn api_approval(crd: &Value, old: Option<&Value>, errs: &mut Errs) {
    let group = crd
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let protected = ["k8s.io", "kubernetes.io"]
        .iter()
        .any(|g| group == *g || group.ends_with(&format!(".{g}")));
    if !protected {
        return;
    }
    let (state, reason) = approval_state(crd);
    if old.is_some_and(|o| approval_state(o).0 == state) {
        return;
    }
    let field = format!("metadata.annotations[{APPROVAL}]");
    let value = crd
        .pointer("/metadata/annotations")
        .and_then(|m| m.get(APPROVAL))
        .cloned()
        .unwrap_or_else(|| json!(""));
    match state {
        Approval::Missing => errs.required(&field, &reason),
        Approval::Invalid => errs.invalid(&field, &value, &reason),
        Approval::Approved | Approval::Bypassed => {}
    }
}
