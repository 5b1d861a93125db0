//! Tests for [`structural_errors`]. The YAML schemas and expected violations are rows
//! of upstream's `TestNonStructuralSchemaConditionForCRD`
//! (apiextensions-apiserver test/integration/validation_test.go); the rest cover the
//! OpenAPI keyword rules and default checks of
//! `ValidateCustomResourceDefinitionOpenAPISchema` and `ValidateDefaults`.

use super::structural_errors;
use serde_json::Value;

const P: &str = "spec.versions[0].schema.openAPIV3Schema";

fn errs(yaml: &str) -> Vec<String> {
    let schema: Value = serde_yaml::from_str(yaml).expect("test schema is valid YAML");
    structural_errors(&schema, P)
        .into_iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect()
}

/// Asserts that `yaml` has exactly the one violation `want` (`$P` standing for [`P`]).
fn only(yaml: &str, want: &str) {
    assert_eq!(errs(yaml), [want.replace("$P", P)], "{yaml}");
}

fn has_all(got: &[String], want: &[&str]) {
    for w in want {
        let w = w.replace("$P", P);
        assert!(got.contains(&w), "missing {w:?} in {got:#?}");
    }
}

#[test]
fn valid_schemas_have_no_errors() {
    assert!(errs("type: object").is_empty());
    let embedded = "type: object\nx-kubernetes-embedded-resource: true\nproperties:\n apiVersion:\n   type: string\n kind:\n   type: string\n metadata:\n   type: object\n";
    assert!(errs(embedded).is_empty());
    assert!(errs("type: object\nx-kubernetes-embedded-resource: true\nx-kubernetes-preserve-unknown-fields: true\n").is_empty());
    let meta = "type: object\nproperties:\n metadata:\n   type: object\n   properties:\n     name:\n       type: string\n       pattern: \"^[a-z]+$\"\n     generateName:\n       type: string\n";
    assert!(errs(meta).is_empty());
    let ios = "type: object\nproperties:\n port:\n   x-kubernetes-int-or-string: true\n   anyOf:\n   - type: integer\n   - type: string\n";
    assert!(errs(ios).is_empty());
}

#[test]
fn root_type() {
    only(
        "type: \"\"",
        "$P.type: Required value: must not be empty at the root",
    );
    only(
        "type: integer",
        "$P.type: Invalid value: \"integer\": must be object at the root",
    );
}

#[test]
fn forbidden_in_nested_value_validation() {
    let got = errs(
        "type: object\nproperties:\n foo:\n   type: string\nnot:\n type: string\n additionalProperties: true\n title: hello\n description: world\n nullable: true\nallOf:\n- properties:\n   foo:\n     type: string\n     additionalProperties: true\n     title: hello\n     description: world\n     nullable: true\nanyOf:\n- items:\n   type: string\n   nullable: true\n",
    );
    has_all(
        &got,
        &[
            "$P.anyOf[0].items.type: Forbidden: must be empty to be structural",
            "$P.anyOf[0].items.nullable: Forbidden: must be false to be structural",
            "$P.allOf[0].properties[foo].type: Forbidden: must be empty to be structural",
            "$P.allOf[0].properties[foo].additionalProperties: Forbidden: must be undefined to be structural",
            "$P.allOf[0].properties[foo].title: Forbidden: must be empty to be structural",
            "$P.allOf[0].properties[foo].description: Forbidden: must be empty to be structural",
            "$P.not.type: Forbidden: must be empty to be structural",
            "$P.not.nullable: Forbidden: must be false to be structural",
            "$P.items: Required value: because it is defined in $P.anyOf[0].items",
        ],
    );
    // Sorted as upstream sorts them.
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(got, sorted);
}

#[test]
fn invalid_regex_pattern() {
    only(
        "type: object\nproperties:\n foo:\n   type: string\n   pattern: \"+\"\n",
        "$P.properties[foo].pattern: Invalid value: \"+\": must be a valid regular expression, but isn't: error parsing regexp: missing argument to repetition operator: `+`",
    );
}

#[test]
fn missing_types_without_extensions() {
    let got = errs(
        "properties:\n foo:\n   properties:\n     a: {}\n bar:\n   items:\n     additionalProperties:\n       properties:\n         a: {}\n       items: {}\n abc:\n   additionalProperties:\n     properties:\n       a:\n         items:\n           additionalProperties:\n             items:\n",
    );
    let want = [
        "$P.properties[foo].properties[a].type: Required value: must not be empty for specified object fields",
        "$P.properties[foo].type: Required value: must not be empty for specified object fields",
        "$P.properties[abc].additionalProperties.properties[a].items.additionalProperties.type: Required value: must not be empty for specified object fields",
        "$P.properties[abc].additionalProperties.properties[a].items.type: Required value: must not be empty for specified array items",
        "$P.properties[abc].additionalProperties.properties[a].type: Required value: must not be empty for specified object fields",
        "$P.properties[abc].additionalProperties.type: Required value: must not be empty for specified object fields",
        "$P.properties[abc].type: Required value: must not be empty for specified object fields",
        "$P.properties[bar].items.additionalProperties.items.type: Required value: must not be empty for specified array items",
        "$P.properties[bar].items.additionalProperties.properties[a].type: Required value: must not be empty for specified object fields",
        "$P.properties[bar].items.additionalProperties.type: Required value: must not be empty for specified object fields",
        "$P.properties[bar].items.type: Required value: must not be empty for specified array items",
        "$P.properties[bar].type: Required value: must not be empty for specified object fields",
        "$P.type: Required value: must not be empty at the root",
    ];
    has_all(&got, &want);
}

#[test]
fn additional_properties_at_the_root() {
    only(
        "type: object\nadditionalProperties: false\n",
        "$P.additionalProperties: Forbidden: must not be used at the root",
    );
}

#[test]
fn structural_incomplete() {
    let got = errs(
        "type: object\nproperties:\n b:\n   type: object\n   properties:\n     b:\n       type: array\n c:\n   type: array\n   items:\n     type: object\n d:\n   type: array\nnot:\n properties:\n   a: {}\n   b:\n     not:\n       properties:\n         a: {}\n         b:\n           items: {}\n   c:\n     items:\n       not:\n         items:\n           properties:\n             a: {}\n   d:\n     items: {}\nallOf:\n- properties:\n   e: {}\nanyOf:\n- properties:\n   f: {}\noneOf:\n- properties:\n   g: {}\n",
    );
    has_all(
        &got,
        &[
            "$P.properties[d].items: Required value: because it is defined in $P.not.properties[d].items",
            "$P.properties[a]: Required value: because it is defined in $P.not.properties[a]",
            "$P.properties[b].properties[a]: Required value: because it is defined in $P.not.properties[b].not.properties[a]",
            "$P.properties[b].properties[b].items: Required value: because it is defined in $P.not.properties[b].not.properties[b].items",
            "$P.properties[c].items.items: Required value: because it is defined in $P.not.properties[c].items.not.items",
            "$P.properties[e]: Required value: because it is defined in $P.allOf[0].properties[e]",
            "$P.properties[f]: Required value: because it is defined in $P.anyOf[0].properties[f]",
            "$P.properties[g]: Required value: because it is defined in $P.oneOf[0].properties[g]",
        ],
    );
}

#[test]
fn metadata_rules() {
    let meta_forbidden = "$P.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified";
    let got = errs("type: object\nproperties:\n metadata:\n   minimum: 42.0\n");
    has_all(
        &got,
        &[
            meta_forbidden,
            "$P.properties[metadata].type: Required value: must not be empty for specified object fields",
        ],
    );
    let got = errs(
        "type: object\nproperties:\n metadata:\n   properties:\n     name:\n       pattern: \"^[a-z]+$\"\n     labels:\n       type: object\n       maxLength: 4\n",
    );
    has_all(
        &got,
        &[
            meta_forbidden,
            "$P.properties[metadata].properties[name].type: Required value: must not be empty for specified object fields",
        ],
    );
    let got = errs(
        "type: object\nproperties:\n metadata:\n   type: object\nallOf:\n- properties:\n   metadata: {}\n",
    );
    has_all(
        &got,
        &["$P.allOf[0].properties[metadata]: Forbidden: must not be specified in a nested context"],
    );
    let got = errs("type: object\nproperties:\n kind:\n   type: integer\n");
    has_all(
        &got,
        &["$P.properties[kind].type: Invalid value: \"integer\": must be string"],
    );
}

#[test]
fn embedded_resource_rules() {
    let got = errs(
        "type: object\nproperties:\n e:\n   type: string\n   x-kubernetes-embedded-resource: true\n   x-kubernetes-preserve-unknown-fields: true\n",
    );
    has_all(
        &got,
        &[
            "$P.properties[e].type: Invalid value: \"string\": must be object if x-kubernetes-embedded-resource is true",
        ],
    );
    let got = errs(
        "type: object\nproperties:\n e:\n   type: object\n   x-kubernetes-embedded-resource: true\n",
    );
    has_all(
        &got,
        &[
            "$P.properties[e].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ],
    );
    let got = errs(
        "type: object\nproperties:\n e:\n   x-kubernetes-int-or-string: true\n   x-kubernetes-preserve-unknown-fields: true\n",
    );
    has_all(
        &got,
        &[
            "$P.properties[e].x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if x-kubernetes-int-or-string is true",
        ],
    );
}

#[test]
fn unsupported_openapi_keywords() {
    only(
        "type: object\nproperties:\n a:\n   $ref: \"#/definitions/x\"\n",
        "$P.properties[a].$ref: Forbidden: $ref is not supported",
    );
    only(
        "type: object\nproperties:\n a:\n   type: array\n   uniqueItems: true\n   items:\n     type: string\n",
        "$P.properties[a].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
    );
    only(
        "type: object\nproperties:\n a:\n   type: object\n   properties:\n     b:\n       type: string\n   additionalProperties:\n     type: string\n",
        "$P.properties[a].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive",
    );
    let got = errs("type: object\nproperties:\n a:\n   type: foo\n");
    has_all(
        &got,
        &[
            "$P.properties[a].type: Unsupported value: \"foo\": supported values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\"",
        ],
    );
    only(
        "type: object\nnullable: true\n",
        "$P.nullable: Forbidden: nullable cannot be true at the root",
    );
    only(
        "type: object\nproperties:\n a:\n   type: object\n   x-kubernetes-preserve-unknown-fields: false\n",
        "$P.properties[a].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined",
    );
}

#[test]
fn list_types() {
    only(
        "type: object\nproperties:\n a:\n   type: array\n   x-kubernetes-list-type: map\n   items:\n     type: object\n     properties:\n       k:\n         type: string\n",
        "$P.properties[a].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map",
    );
    only(
        "type: object\nproperties:\n a:\n   type: array\n   x-kubernetes-list-type: map\n   x-kubernetes-list-map-keys: [\"x\"]\n   items:\n     type: object\n     properties:\n       k:\n         type: string\n",
        "$P.properties[a].x-kubernetes-list-map-keys: Invalid value: [\"x\"]: entries must all be names of item properties",
    );
    only(
        "type: object\nproperties:\n a:\n   type: string\n   x-kubernetes-list-type: set\n",
        "$P.properties[a].type: Invalid value: \"string\": must be array if x-kubernetes-list-type is specified",
    );
}

#[test]
fn defaults_must_be_valid_pruned_and_outside_metadata() {
    only(
        "type: object\nproperties:\n spec:\n   type: object\n   properties:\n     replicas:\n       type: integer\n       default: \"two\"\n",
        "$P.properties[spec].properties[replicas].default: Invalid value: \"string\":  in body must be of type integer: \"string\"",
    );
    // (Two spaces: the default is validated at the root, whose kube-openapi name is empty.)
    only(
        "type: object\nproperties:\n spec:\n   type: object\n   default:\n     foo: 1\n   properties:\n     replicas:\n       type: integer\n",
        "$P.properties[spec].default: Invalid value: {\"foo\":1}: must not have unknown fields",
    );
    only(
        "type: object\nproperties:\n metadata:\n   type: object\n   default:\n     name: x\n",
        "$P.properties[metadata].default: Forbidden: must not be set in top-level metadata",
    );
    assert!(errs("type: object\nproperties:\n spec:\n   type: object\n   default: {}\n   properties:\n     replicas:\n       type: integer\n       default: 1\n").is_empty());
}
