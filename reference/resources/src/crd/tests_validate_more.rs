//! CRD validation, continued: subresources, printer columns, the schema root,
//! conversion, API approval, updates and hoisted schema paths (upstream's
//! `validation_test.go` cases named in each test).

use super::tests_validate::{base, created, errors, fields};
use super::*;
use serde_json::json;

#[test]
fn scale_paths_under_spec_and_status() {
    // "labelSelectorPath outside of .spec and .status", plus the replicas paths.
    let mut crd = created(base());
    crd["spec"]["versions"] = json!([
        {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object"}},
            "subresources": {"scale": {"specReplicasPath": ".replicas", "statusReplicasPath": "status.replicas",
                "labelSelectorPath": ".labelSelector"}}}]);
    assert_eq!(
        errors(&crd),
        [
            "spec.subresources.scale.specReplicasPath: Invalid value: \".replicas\": should be a json path under .spec",
            "spec.subresources.scale.statusReplicasPath: Invalid value: \"status.replicas\": must be a simple json path starting with .",
            "spec.subresources.scale.labelSelectorPath: Invalid value: \".labelSelector\": should be a json path under either .spec or .status",
        ]
    );
    // With differing versions the per-version path is reported.
    let mut two = crd.clone();
    two["spec"]["versions"][0]["subresources"]["scale"] =
        json!({"specReplicasPath": ".spec.replicas"});
    two["spec"]["versions"]
        .as_array_mut()
        .expect("versions")
        .push(json!({"name": "v2", "served": true, "storage": false,
            "schema": {"openAPIV3Schema": {"type": "object"}}}));
    assert_eq!(
        errors(&two),
        ["spec.versions[0].subresources.scale.statusReplicasPath: Required value"]
    );
}

#[test]
fn printer_column_definitions_are_checked() {
    let mut crd = created(base());
    crd["spec"]["versions"][0]["additionalPrinterColumns"] = json!([
        {"name": "Replicas", "type": "int", "format": "uint", "jsonPath": "spec.replicas"},
        {"type": "string"}]);
    assert_eq!(
        errors(&crd),
        [
            "spec.additionalPrinterColumns[0].type: Invalid value: \"int\": must be one of boolean,date,integer,number,string",
            "spec.additionalPrinterColumns[0].format: Invalid value: \"uint\": must be one of byte,date,date-time,double,float,int32,int64,password",
            "spec.additionalPrinterColumns[0].JSONPath: Invalid value: \"spec.replicas\": must be a simple json path starting with .",
            "spec.additionalPrinterColumns[1].name: Required value",
            "spec.additionalPrinterColumns[1].JSONPath: Required value",
        ]
    );
}

#[test]
fn status_subresource_restricts_the_schema_root() {
    let mut crd = created(base());
    crd["spec"]["versions"][0]["subresources"] = json!({"status": {}});
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] =
        json!({"type": "array", "nullable": true});
    assert_eq!(
        errors(&crd),
        [
            "spec.validation.openAPIV3Schema.type: Invalid value: \"array\": only \"object\" is allowed as the type at the root of the schema if the status subresource is enabled",
            "spec.validation.openAPIV3Schema.nullable: Forbidden: nullable cannot be true at the root",
        ]
    );
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] =
        json!({"type": "object", "enum": [{}]});
    let msgs = errors(&crd);
    assert!(msgs[0].ends_with("only [Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations] fields are allowed at the root of the schema if the status subresource is enabled"), "{msgs:?}");
}

#[test]
fn webhook_conversion_rules() {
    // "missing_webhookconfig", "webhookconfig: both service and URL provided",
    // "webhookconfig: invalid ConversionReviewVersion", "webhookconfig_should_not_be_set".
    let mut crd = created(base());
    crd["spec"]["conversion"] = json!({"strategy": "Webhook"});
    assert_eq!(
        errors(&crd),
        [
            "spec.conversion.webhookClientConfig: Required value: required when strategy is set to Webhook",
            "spec.conversion.conversionReviewVersions: Required value",
        ]
    );
    crd["spec"]["conversion"]["webhook"] = json!({"conversionReviewVersions": ["v3", "v3"],
        "clientConfig": {"url": "https://x", "service": {"namespace": "a", "name": "b"}}});
    assert_eq!(
        errors(&crd),
        [
            "spec.conversion.webhookClientConfig: Required value: exactly one of url or service is required",
            "spec.conversion.conversionReviewVersions[1]: Invalid value: \"v3\": duplicate version",
            "spec.conversion.conversionReviewVersions: Invalid value: []string{\"v3\", \"v3\"}: must include at least one of v1, v1beta1",
        ]
    );
    crd["spec"]["conversion"] = json!({"strategy": "None", "webhook": {"conversionReviewVersions": ["v1"],
        "clientConfig": {"url": "https://x"}}});
    assert_eq!(
        errors(&crd),
        [
            "spec.conversion.webhookClientConfig: Forbidden: should not be set when strategy is not set to Webhook",
            "spec.conversion.conversionReviewVersions: Forbidden: should not be set when strategy is not set to Webhook",
        ]
    );
}

#[test]
fn protected_groups_need_api_approval() {
    let mut crd = base();
    crd["spec"]["group"] = json!("foo.k8s.io");
    crd["metadata"]["name"] = json!("foos.foo.k8s.io");
    let crd = created(crd);
    assert_eq!(
        errors(&crd),
        [
            "metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation \"api-approved.kubernetes.io\", see https://github.com/kubernetes/enhancements/pull/1111"
        ]
    );
    let mut approved = crd.clone();
    approved["metadata"]["annotations"] = json!({"api-approved.kubernetes.io": "https://github.com/kubernetes/kubernetes/pull/78458"});
    assert!(errors(&approved).is_empty());
    approved["metadata"]["annotations"] =
        json!({"api-approved.kubernetes.io": "unapproved, experimental"});
    assert!(errors(&approved).is_empty());
    approved["metadata"]["annotations"] = json!({"api-approved.kubernetes.io": "yes"});
    assert!(errors(&approved)[0].starts_with("metadata.annotations[api-approved.kubernetes.io]: Invalid value: \"yes\": protected groups must have approval annotation \"api-approved.kubernetes.io\" with either a URL or a reason starting with \"unapproved\""));
}

#[test]
fn update_keeps_group_plural_and_established_scope() {
    let old = created(base());
    let mut new = old.clone();
    new["spec"]["scope"] = json!("Cluster");
    // Not established: the scope may still change.
    assert!(validate_update(&new, &old).is_empty());
    let mut established = old.clone();
    established["status"]["conditions"] = json!([{"type": "Established", "status": "True"}]);
    let msgs: Vec<String> = validate_update(&new, &established)
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect();
    assert_eq!(
        msgs,
        ["spec.scope: Invalid value: \"Cluster\": field is immutable"]
    );
    let mut renamed = old.clone();
    renamed["spec"]["group"] = json!("other.com");
    renamed["spec"]["names"]["plural"] = json!("bars");
    let got = fields(&validate_update(&renamed, &old));
    assert_eq!(
        got,
        [
            ("spec.group".to_string(), "FieldValueInvalid"),
            ("spec.names.plural".to_string(), "FieldValueInvalid")
        ]
    );
}

#[test]
fn update_without_old_schemas_only_requires_served_ones() {
    let mut old = created(base());
    old["spec"]["versions"][0]
        .as_object_mut()
        .expect("version")
        .remove("schema");
    let mut new = old.clone();
    new["metadata"]["labels"] = json!({"a": "b"});
    assert_eq!(
        validate_update(&new, &old)
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect::<Vec<_>>(),
        [
            "spec.versions[0].schema.openAPIV3Schema: Required value: because otherwise all fields are pruned"
        ]
    );
    new["spec"]["versions"][0]["served"] = json!(false);
    assert!(validate_update(&new, &old).is_empty());
}

#[test]
fn prepare_for_update_keeps_status_and_bumps_generation() {
    let old = created(base());
    let mut new = old.clone();
    new["status"] = json!({"storedVersions": ["x"]});
    new["spec"]["versions"][0]["name"] = json!("v2");
    prepare_for_update(&mut new, &old);
    assert_eq!(new["metadata"]["generation"], 2);
    assert_eq!(new["status"]["storedVersions"], json!(["v1", "v2"]));
}

#[test]
fn version_schemas_follow_hoisting() {
    let crd = created(base());
    assert_eq!(
        version_schemas(&crd),
        [(
            "spec.validation.openAPIV3Schema".to_string(),
            json!({"type": "object"})
        )]
    );
    let mut two = crd.clone();
    two["spec"]["versions"]
        .as_array_mut()
        .expect("versions")
        .push(json!({"name": "v2", "served": true, "storage": false,
            "schema": {"openAPIV3Schema": {"type": "object", "description": "x"}}}));
    let paths: Vec<String> = version_schemas(&two).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        paths,
        [
            "spec.versions[0].schema.openAPIV3Schema",
            "spec.versions[1].schema.openAPIV3Schema"
        ]
    );
}

#[test]
fn defaults_need_preserve_unknown_fields_false() {
    let mut crd = created(base());
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] =
        json!({"type": "object", "properties": {"a": {"type": "string", "default": "x"}}});
    crd["spec"]["preserveUnknownFields"] = json!(true);
    let msgs = errors(&crd);
    assert_eq!(
        msgs[0],
        "spec.preserveUnknownFields: Invalid value: true: must be false in order to use defaults in the schema"
    );
}

#[test]
fn deprecation_warning_rules() {
    let mut crd = created(base());
    crd["spec"]["versions"][0]["deprecationWarning"] = json!("old");
    assert_eq!(
        errors(&crd),
        [
            "spec.versions[0].deprecationWarning: Invalid value: \"old\": can only be set for deprecated versions"
        ]
    );
    crd["spec"]["versions"][0]["deprecated"] = json!(true);
    crd["spec"]["versions"][0]["deprecationWarning"] = json!("a\tb");
    assert_eq!(
        errors(&crd),
        [
            "spec.versions[0].deprecationWarning: Invalid value: \"a\\tb\": must only contain printable UTF-8 characters; non-printable character found at index 1"
        ]
    );
}

#[test]
fn webhook_client_config_details() {
    // "webhookconfig: invalid port 0", "webhookconfig: blank URL".
    let mut crd = created(base());
    crd["spec"]["conversion"] = json!({"strategy": "Webhook", "webhook": {
        "conversionReviewVersions": ["v1"],
        "clientConfig": {"service": {"namespace": "", "name": "svc", "port": 0, "path": "/a//B"}}}});
    assert_eq!(
        errors(&crd),
        [
            "spec.conversion.webhookClientConfig.service.namespace: Required value: service namespace is required",
            "spec.conversion.webhookClientConfig.service.port: Invalid value: 0: port is not valid: must be between 1 and 65535, inclusive",
            "spec.conversion.webhookClientConfig.service.path: Invalid value: \"/a//B\": segment[1] may not be empty",
            "spec.conversion.webhookClientConfig.service.path: Invalid value: \"/a//B\": segment[2]: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ]
    );
    crd["spec"]["conversion"]["webhook"]["clientConfig"] = json!({"url": "http://u@/p?q=1#f"});
    assert_eq!(
        errors(&crd),
        [
            "spec.conversion.webhookClientConfig.url: Invalid value: \"http\": 'https' is the only allowed URL scheme; desired format: https://host[/path]",
            "spec.conversion.webhookClientConfig.url: Invalid value: \"\": host must be provided; desired format: https://host[/path]",
            "spec.conversion.webhookClientConfig.url: Invalid value: \"u\": user information is not permitted in the URL",
            "spec.conversion.webhookClientConfig.url: Invalid value: \"f\": fragments are not permitted in the URL",
            "spec.conversion.webhookClientConfig.url: Invalid value: \"q=1\": query parameters are not permitted in the URL",
        ]
    );
    crd["spec"]["conversion"]["webhook"]["clientConfig"] =
        json!({"url": "https://example.com/convert"});
    assert!(errors(&crd).is_empty());
}

#[test]
fn status_writes_keep_the_spec_and_check_accepted_names() {
    let old = created(base());
    let mut new = old.clone();
    new["spec"]["scope"] = json!("Cluster");
    new["status"]["acceptedNames"] = json!({"plural": "Foos", "kind": "Foo", "listKind": "Foo"});
    prepare_for_status_update(&mut new, &old);
    assert_eq!(new["spec"]["scope"], "Namespaced");
    let got = fields(&validate_status_update(&new));
    assert_eq!(
        got,
        [
            (
                "status.acceptedNames.plural".to_string(),
                "FieldValueInvalid"
            ),
            (
                "status.acceptedNames.listKind".to_string(),
                "FieldValueInvalid"
            )
        ]
    );
}

#[test]
fn selectable_fields_must_name_scalar_schema_fields() {
    // "selectableFields with jsonPaths that do not refer to a field in the schema are
    // invalid", "... duplicate jsonPaths are invalid", "too many selectableFields".
    let mut crd = created(base());
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = json!({"type": "object",
        "properties": {"spec": {"type": "object", "properties": {
            "color": {"type": "string"}, "size": {"type": "integer"}, "obj": {"type": "object"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}}}},
        "metadata": {"type": "object", "properties": {"name": {"type": "string"}}}}});
    crd["spec"]["versions"][0]["selectableFields"] = json!([
        {"jsonPath": ".spec.color"}, {"jsonPath": ".spec.missing"}, {"jsonPath": ".spec.obj"},
        {"jsonPath": ".spec.color"}, {"jsonPath": ".metadata.name"}, {"jsonPath": "spec.size"},
        {"jsonPath": ".spec.labels.x"}, {"jsonPath": ".spec['size']"}, {}]);
    assert_eq!(
        errors(&crd),
        [
            "spec.selectableFields[1].jsonPath: Invalid value: \".spec.missing\": is an invalid path: does not refer to a valid field",
            "spec.selectableFields[2].jsonPath: Invalid value: \".spec.obj\": must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.",
            "spec.selectableFields[3].jsonPath: Duplicate value: \".spec.color\"",
            "spec.selectableFields[4].jsonPath: Invalid value: \".metadata.name\": must not point to fields in metadata",
            "spec.selectableFields[5].jsonPath: Invalid value: \"spec.size\": is an invalid path: expected [ or . but got: spec",
            "spec.selectableFields[7].jsonPath: Invalid value: \".spec['size']\": is an invalid path: array notation is not allowed",
            "spec.selectableFields[8].jsonPath: Required value",
        ]
    );
    let many: Vec<_> = (0..9)
        .map(|i| json!({"jsonPath": format!(".p{i}")}))
        .collect();
    let props: serde_json::Map<String, serde_json::Value> = (0..9)
        .map(|i| (format!("p{i}"), json!({"type": "string"})))
        .collect();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] =
        json!({"type": "object", "properties": props});
    crd["spec"]["versions"][0]["selectableFields"] = json!(many);
    assert_eq!(
        errors(&crd),
        ["spec.selectableFields: Too many: 9: must have at most 8 items"]
    );
}
