//! Upstream's checks of a resource request's query options, before its handler runs:
//! `ValidateCreateOptions` / `ValidateUpdateOptions` / `ValidatePatchOptions`
//! (`fieldValidation`, `dryRun`, `fieldManager`, `force`; 422 Invalid on
//! `CreateOptions.meta.k8s.io` and friends), the query `dryRun` of a delete (the rest of
//! `DeleteOptions` is the delete handler's), and the `resourceVersion` of reads, which
//! must be an unsigned integer (`APIObjectVersioner.ParseResourceVersion`).
//!
//! Entry point: [`validate`], called once by the router.

use http::{HeaderMap, Method};
use refkube_resources::validation::Cause;
use serde_json::{Value, json};

use crate::request::Query;
use crate::status::ApiError;

/// Upstream's `FieldManagerMaxLength`.
const FIELD_MANAGER_MAX_LENGTH: usize = 128;

/// Subresources written through upstream's create/update/patch handlers (connect
/// subresources such as exec, attach, proxy and log take other options).
fn takes_write_options(subresource: Option<&str>) -> bool {
    matches!(
        subresource,
        None | Some("status" | "scale" | "binding" | "eviction" | "finalize")
    )
}

/// Checks the options of a request for a resource; the Content-Type decides whether a
/// PATCH is an apply.
pub fn validate(
    method: &Method,
    subresource: Option<&str>,
    query: &Query,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let kind = match *method {
        Method::GET => return resource_version(query),
        _ if !takes_write_options(subresource) => return Ok(()),
        Method::POST => "CreateOptions",
        Method::PUT => "UpdateOptions",
        Method::PATCH => "PatchOptions",
        Method::DELETE => "DeleteOptions",
        _ => return Ok(()),
    };
    let mut causes = Vec::new();
    if *method == Method::PATCH {
        let apply = matches!(
            crate::negotiate::content_type(headers).as_str(),
            "application/apply-patch+yaml" | "application/apply-patch+cbor"
        );
        if apply && query.non_empty("fieldManager").is_none() {
            // kubectl defaults it; controllers must set it (upstream's comment).
            causes.push(cause(
                "FieldValueRequired",
                "fieldManager",
                "Required value: is required for apply patch".into(),
            ));
        }
        if !apply && query.get("force").is_some() {
            causes.push(cause(
                "FieldValueForbidden",
                "force",
                "Forbidden: may not be specified for non-apply patch".into(),
            ));
        }
    }
    if let Some(manager) = query
        .get("fieldManager")
        .filter(|_| kind != "DeleteOptions")
    {
        causes.extend(field_manager(manager));
    }
    if let Some(dry) = query.get("dryRun")
        && dry != "All"
    {
        causes.push(cause(
            "FieldValueNotSupported",
            "dryRun",
            format!("Unsupported value: []string{{{dry:?}}}: supported values: \"All\""),
        ));
    }
    if let Some(fv) = query
        .get("fieldValidation")
        .filter(|_| kind != "DeleteOptions")
        && !matches!(fv, "" | "Ignore" | "Strict" | "Warn")
    {
        causes.push(cause(
            "FieldValueNotSupported",
            "fieldValidation",
            format!(
                "Unsupported value: {fv:?}: supported values: \"\", \"Ignore\", \"Strict\", \"Warn\""
            ),
        ));
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(invalid_options(kind, &causes))
    }
}

fn cause(reason: &'static str, field: &str, message: String) -> Cause {
    Cause {
        reason,
        message,
        field: field.into(),
    }
}

/// Go's `unicode.IsPrint`, near enough: letters, marks, numbers, punctuation, symbols
/// and the ASCII space.
fn is_print(c: char) -> bool {
    c == ' ' || !(c.is_control() || c.is_whitespace())
}

/// `ValidateFieldManager`.
fn field_manager(manager: &str) -> Vec<Cause> {
    let mut out = Vec::new();
    if manager.len() > FIELD_MANAGER_MAX_LENGTH {
        out.push(cause(
            "FieldValueTooLong",
            "fieldManager",
            format!("Too long: must have at most {FIELD_MANAGER_MAX_LENGTH} bytes"),
        ));
    }
    for (i, c) in manager.char_indices() {
        if !is_print(c) {
            out.push(cause(
                "FieldValueInvalid",
                "fieldManager",
                format!(
                    "Invalid value: {manager:?}: invalid character U+{:04X} (at position {i})",
                    c as u32
                ),
            ));
        }
    }
    out
}

/// 422 Invalid on `{kind}.meta.k8s.io ""`, as upstream's `NewInvalid` for options.
fn invalid_options(kind: &str, causes: &[Cause]) -> ApiError {
    let parts: Vec<String> = causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect();
    let joined = if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("[{}]", parts.join(", "))
    };
    let causes: Vec<Value> = causes
        .iter()
        .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
        .collect();
    ApiError {
        code: 422,
        reason: "Invalid",
        message: format!("{kind}.meta.k8s.io \"\" is invalid: {joined}"),
        details: Some(json!({"group": "meta.k8s.io", "kind": kind, "causes": causes})),
    }
}

/// A read's `resourceVersion` must parse as Go's `strconv.ParseUint(rv, 10, 64)`.
/// Upstream answers a bad one with this message as a 500 (kubernetes#139485, which
/// moves it to 400); here it is the client's error it is, a 400 BadRequest.
fn resource_version(query: &Query) -> Result<(), ApiError> {
    let Some(rv) = query.non_empty("resourceVersion") else {
        return Ok(());
    };
    let why = if rv.is_empty() || !rv.bytes().all(|b| b.is_ascii_digit()) {
        "invalid syntax"
    } else if rv.parse::<u64>().is_err() {
        "value out of range"
    } else {
        return Ok(());
    };
    Err(ApiError::bad_request(format!(
        "resourceVersion: Invalid value: {rv:?}: strconv.ParseUint: parsing {rv:?}: {why}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Query {
        Query::parse(&format!("/x?{s}").parse().unwrap())
    }

    fn ct(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if !content_type.is_empty() {
            h.insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
        }
        h
    }

    #[test]
    fn unknown_field_validation_and_dry_run_values_are_invalid() {
        let e = validate(&Method::POST, None, &q("fieldValidation=Bogus"), &ct("")).unwrap_err();
        assert_eq!(e.code, 422);
        assert_eq!(
            e.message,
            "CreateOptions.meta.k8s.io \"\" is invalid: fieldValidation: Unsupported value: \"Bogus\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\""
        );
        assert_eq!(e.details.as_ref().unwrap()["kind"], "CreateOptions");
        let e = validate(&Method::PUT, None, &q("dryRun=Bogus"), &ct("")).unwrap_err();
        assert_eq!(
            e.message,
            "UpdateOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported value: []string{\"Bogus\"}: supported values: \"All\""
        );
        for ok in [
            "fieldValidation=Strict",
            "fieldValidation=Ignore",
            "dryRun=All",
            "",
        ] {
            assert!(
                validate(&Method::POST, None, &q(ok), &ct("")).is_ok(),
                "{ok}"
            );
        }
        // Connect subresources take other options.
        assert!(validate(&Method::POST, Some("exec"), &q("dryRun=x"), &ct("")).is_ok());
        // A delete's query dryRun too: "all" must not delete for real.
        let e = validate(&Method::DELETE, None, &q("dryRun=all"), &ct("")).unwrap_err();
        assert!(
            e.message
                .starts_with("DeleteOptions.meta.k8s.io \"\" is invalid: dryRun")
        );
        assert!(validate(&Method::DELETE, None, &q("dryRun=All"), &ct("")).is_ok());
    }

    #[test]
    fn an_apply_needs_a_field_manager_and_only_an_apply_may_force() {
        let apply = "application/apply-patch+yaml";
        let e = validate(&Method::PATCH, None, &q(""), &ct(apply)).unwrap_err();
        assert_eq!(
            e.message,
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
        );
        assert_eq!(
            e.details.as_ref().unwrap()["causes"][0]["reason"],
            "FieldValueRequired"
        );
        assert!(validate(&Method::PATCH, None, &q("fieldManager=kubectl"), &ct(apply)).is_ok());
        let merge = "application/merge-patch+json";
        assert!(validate(&Method::PATCH, None, &q(""), &ct(merge)).is_ok());
        let e = validate(&Method::PATCH, None, &q("force=true"), &ct(merge)).unwrap_err();
        assert!(
            e.message
                .contains("force: Forbidden: may not be specified for non-apply patch")
        );
        let long = format!("fieldManager={}", "m".repeat(129));
        let e = validate(&Method::POST, None, &q(&long), &ct("")).unwrap_err();
        assert!(e.message.contains("Too long: must have at most 128 bytes"));
        let e = validate(&Method::POST, None, &q("fieldManager=a%07b"), &ct("")).unwrap_err();
        assert!(
            e.message
                .contains("invalid character U+0007 (at position 1)"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_read_resource_version_must_be_an_unsigned_integer() {
        for (rv, why) in [
            ("-1", "invalid syntax"),
            ("abc", "invalid syntax"),
            ("1e3", "invalid syntax"),
            ("99999999999999999999", "value out of range"),
        ] {
            let e = validate(
                &Method::GET,
                None,
                &q(&format!("resourceVersion={rv}")),
                &ct(""),
            )
            .unwrap_err();
            assert_eq!(e.code, 400, "{rv}");
            assert_eq!(
                e.message,
                format!(
                    "resourceVersion: Invalid value: {rv:?}: strconv.ParseUint: parsing {rv:?}: {why}"
                )
            );
        }
        for rv in ["0", "17", ""] {
            assert!(
                validate(
                    &Method::GET,
                    None,
                    &q(&format!("resourceVersion={rv}")),
                    &ct("")
                )
                .is_ok()
            );
        }
    }
}
