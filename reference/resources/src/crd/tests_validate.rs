//! CRD defaulting and validation, after upstream's `validation_test.go`
//! (`TestValidateCustomResourceDefinition`, `TestValidateCustomResourceDefinitionUpdate`)
//! and `v1/defaults_test.go`, with every message checked verbatim.

use super::*;
use serde_json::{Value, json};

pub(super) fn base() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "foos.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "foos", "kind": "Foo"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object"}}}]
        }
    })
}

pub(super) fn created(mut crd: Value) -> Value {
    apply_defaults(&mut crd);
    prepare_for_create(&mut crd);
    crd
}

pub(super) fn errors(crd: &Value) -> Vec<String> {
    validate_create(crd)
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect()
}

pub(super) fn fields(causes: &[crate::validation::Cause]) -> Vec<(String, &'static str)> {
    causes.iter().map(|c| (c.field.clone(), c.reason)).collect()
}

#[test]
fn defaults_fill_names_conversion_and_stored_versions() {
    let crd = created(base());
    assert_eq!(crd["spec"]["names"]["singular"], "foo");
    assert_eq!(crd["spec"]["names"]["listKind"], "FooList");
    assert_eq!(crd["spec"]["conversion"], json!({"strategy": "None"}));
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));
    assert_eq!(
        crd["status"]["acceptedNames"],
        json!({"plural": "", "kind": ""})
    );
    assert_eq!(crd["metadata"]["generation"], 1);
    assert!(validate_create(&crd).is_empty(), "{:?}", errors(&crd));
}

#[test]
fn defaults_keep_given_names_and_webhook_port() {
    // TestDefaults in v1/defaults_test.go: explicit names win; service port 443.
    let mut crd = base();
    crd["spec"]["names"]["singular"] = json!("thing");
    crd["spec"]["names"]["listKind"] = json!("Things");
    crd["spec"]["conversion"] = json!({"strategy": "Webhook", "webhook": {
        "conversionReviewVersions": ["v1"],
        "clientConfig": {"service": {"namespace": "ns", "name": "svc"}}}});
    apply_defaults(&mut crd);
    assert_eq!(crd["spec"]["names"]["singular"], "thing");
    assert_eq!(crd["spec"]["names"]["listKind"], "Things");
    assert_eq!(
        crd.pointer("/spec/conversion/webhook/clientConfig/service/port"),
        Some(&json!(443))
    );
}

#[test]
fn mismatched_name_must_be_plural_dot_group() {
    let mut crd = base();
    crd["metadata"]["name"] = json!("foos.not.example.com");
    let errs = errors(&created(crd));
    assert_eq!(
        errs,
        [
            "metadata.name: Invalid value: \"foos.not.example.com\": must be spec.names.plural+\".\"+spec.group"
        ]
    );
}

#[test]
fn missing_values_are_required() {
    // "missing values": a CRD with nothing but a name.
    let crd = created(json!({"metadata": {"name": "plural.group.com"}}));
    let got = fields(&validate_create(&crd));
    let want: Vec<(String, &str)> = [
        ("metadata.name", "FieldValueInvalid"),
        ("spec.group", "FieldValueRequired"),
        ("spec.scope", "FieldValueRequired"),
        ("spec.versions", "FieldValueInvalid"),
        ("spec.names.plural", "FieldValueRequired"),
        ("spec.names.singular", "FieldValueRequired"),
        ("spec.names.kind", "FieldValueRequired"),
        ("spec.names.listKind", "FieldValueRequired"),
        ("status.storedVersions", "FieldValueInvalid"),
    ]
    .iter()
    .map(|(f, r)| (f.to_string(), *r))
    .collect();
    assert_eq!(got, want);
    let msgs = errors(&crd);
    assert!(msgs.contains(&"spec.versions: Invalid value: []apiextensions.CustomResourceDefinitionVersion(nil): must have exactly one version marked as storage version".to_string()));
    assert!(msgs.contains(&"status.storedVersions: Invalid value: []string(nil): must have at least one stored version".to_string()));
}

#[test]
fn bad_names_01() {
    let crd = json!({
        "metadata": {"name": "plural.group"},
        "spec": {"group": "group", "scope": "foo",
            "names": {"plural": "pl()*ural", "singular": "value()*a", "kind": "value()*a", "listKind": "value()*a"},
            "versions": [{"name": "ve()*rsion", "served": true, "storage": false,
                "schema": {"openAPIV3Schema": {"type": "object"}}}]},
        "status": {"acceptedNames": {"plural": "pl()*ural", "singular": "value()*a", "kind": "value()*a", "listKind": "value()*a"},
            "storedVersions": []}
    });
    let got: Vec<String> = fields(&validate_create(&crd))
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    let want = [
        "metadata.name",
        "spec.group",
        "spec.scope",
        "spec.versions[0].name",
        "spec.versions",
        "spec.version",
        "spec.names.plural",
        "spec.names.singular",
        "spec.names.kind",
        "spec.names.listKind",
        "spec.names.listKind",
        "status.acceptedNames.plural",
        "status.acceptedNames.singular",
        "status.acceptedNames.kind",
        "status.acceptedNames.listKind",
        "status.acceptedNames.listKind",
        "status.storedVersions",
    ];
    assert_eq!(got, want);
    let msgs = errors(&crd);
    assert!(
        msgs.contains(
            &"spec.group: Invalid value: \"group\": should be a domain with at least one dot"
                .to_string()
        )
    );
    assert!(msgs.contains(&"spec.scope: Unsupported value: \"foo\": supported values: \"Cluster\", \"Namespaced\"".to_string()));
    assert!(msgs.iter().any(|m| m.starts_with("spec.names.kind: Invalid value: \"value()*a\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of")));
    assert!(msgs.contains(&"spec.names.listKind: Invalid value: \"value()*a\": kind and listKind may not be the same".to_string()));
}

#[test]
fn bad_names_02_group_format() {
    let mut crd = created(base());
    crd["spec"]["group"] = json!("group.c(*&om");
    crd["metadata"]["name"] = json!("foos.group.c(*&om");
    let msgs = errors(&crd);
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(msgs[0].starts_with(
        "spec.group: Invalid value: \"group.c(*&om\": a lowercase RFC 1123 subdomain"
    ));
}

#[test]
fn storage_version_counting() {
    // "no_storage_version" and "multiple_storage_version".
    let mut none = created(base());
    none["spec"]["versions"] = json!([
        {"name": "version", "served": true, "storage": false, "schema": {"openAPIV3Schema": {"type": "object"}}},
        {"name": "version2", "served": true, "storage": false, "schema": {"openAPIV3Schema": {"type": "object"}}}]);
    none["status"]["storedVersions"] = json!(["version"]);
    assert_eq!(
        errors(&none),
        [
            "spec.versions: Invalid value: []apiextensions.CustomResourceDefinitionVersion{apiextensions.CustomResourceDefinitionVersion{Name:\"version\", Served:true, Storage:false, Deprecated:false, DeprecationWarning:(*string)(nil), Schema:(*apiextensions.CustomResourceValidation)(nil), Subresources:(*apiextensions.CustomResourceSubresources)(nil), AdditionalPrinterColumns:[]apiextensions.CustomResourceColumnDefinition(nil), SelectableFields:[]apiextensions.SelectableField(nil)}, apiextensions.CustomResourceDefinitionVersion{Name:\"version2\", Served:true, Storage:false, Deprecated:false, DeprecationWarning:(*string)(nil), Schema:(*apiextensions.CustomResourceValidation)(nil), Subresources:(*apiextensions.CustomResourceSubresources)(nil), AdditionalPrinterColumns:[]apiextensions.CustomResourceColumnDefinition(nil), SelectableFields:[]apiextensions.SelectableField(nil)}}: must have exactly one version marked as storage version"
        ]
    );
    let mut two = none.clone();
    two["spec"]["versions"][0]["storage"] = json!(true);
    two["spec"]["versions"][1]["storage"] = json!(true);
    let got = fields(&validate_create(&two));
    assert_eq!(
        got,
        [
            ("spec.versions".to_string(), "FieldValueInvalid"),
            ("status.storedVersions".to_string(), "FieldValueInvalid")
        ]
    );
    assert!(errors(&two)[1].ends_with("must have the storage version version2"));
}

#[test]
fn stored_versions_must_remain_in_spec() {
    let mut crd = created(base());
    crd["status"]["storedVersions"] = json!(["v1", "v0"]);
    assert_eq!(
        errors(&crd),
        [
            "status.storedVersions[1]: Invalid value: \"v0\": missing from spec.versions; v0 was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in v0 and removes v0 from status.storedVersions"
        ]
    );
}

#[test]
fn duplicate_version_names_and_dns1035() {
    let mut crd = created(base());
    crd["spec"]["versions"] = json!([
        {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object"}}},
        {"name": "v1", "served": true, "storage": false, "schema": {"openAPIV3Schema": {"type": "object"}}}]);
    let msgs = errors(&crd);
    assert_eq!(msgs.len(), 1);
    assert!(
        msgs[0].ends_with(": must contain unique version names"),
        "{msgs:?}"
    );
    crd["spec"]["versions"][1]["name"] = json!("V2");
    let msgs = errors(&crd);
    assert!(msgs[0].starts_with("spec.versions[1].name: Invalid value: \"V2\": a DNS-1035 label"));
}

#[test]
fn schema_is_required() {
    let mut crd = created(base());
    crd["spec"]["versions"] = json!([
        {"name": "version", "served": true, "storage": true},
        {"name": "version2", "served": true, "storage": false, "schema": {}}]);
    crd["status"]["storedVersions"] = json!(["version"]);
    assert_eq!(
        errors(&crd),
        [
            "spec.versions[0].schema.openAPIV3Schema: Required value",
            "spec.versions[1].schema.openAPIV3Schema: Required value"
        ]
    );
}

#[test]
fn preserve_unknown_fields_true_is_rejected() {
    let mut crd = created(base());
    crd["spec"]["preserveUnknownFields"] = json!(true);
    assert_eq!(
        errors(&crd),
        [
            "spec.preserveUnknownFields: Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead"
        ]
    );
}
