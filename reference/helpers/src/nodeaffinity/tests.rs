//! Cases from component-helpers' `nodeaffinity_test.go` (TestNodeSelectorMatch,
//! TestPreferredSchedulingTermsScore, TestNodeSelectorRequirementsAsSelector,
//! TestPodMatchesNodeSelectorAndAffinityTerms).

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::*;

fn node(name: &str, labels: Value) -> Node {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap()
}

fn terms(v: Value) -> Vec<NodeSelectorTerm> {
    serde_json::from_value(v).unwrap()
}

fn req(key: &str, op: &str, values: &[&str]) -> Value {
    json!({"key": key, "operator": op, "values": values})
}

fn pod_with(spec: Value) -> Pod {
    serde_json::from_value(json!({"spec": spec})).unwrap()
}

fn required(term_list: Value) -> Pod {
    pod_with(json!({"containers": [], "affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": term_list}}}}))
}

#[test]
fn node_selector_match() {
    let invalid = terms(json!([
        {"matchFields": [req("metadata.name", "In", &["host_1", "host_2"])]},
        {"matchExpressions": [req("label_1", "In", &["label_1_val"])],
         "matchFields": [req("metadata.name", "In", &["host_1"])]},
        {"matchExpressions": [req("invalid key", "In", &["label_value"])]},
    ]));
    let errs = NodeSelector::strict(&invalid).unwrap_err();
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].starts_with("nodeSelectorTerms[0].matchFields[0].values"));
    assert!(errs[1].starts_with("nodeSelectorTerms[2].matchExpressions[0].key"));

    let both = terms(
        json!([{"matchExpressions": [req("label_1", "In", &["label_1_val"])],
        "matchFields": [req("metadata.name", "In", &["host_1"])]}]),
    );
    let sel = NodeSelector::strict(&both).unwrap();
    assert!(
        !sel.matches(&node("host_1", json!({}))),
        "fields match, labels do not"
    );
    assert!(sel.matches(&node("host_1", json!({"label_1": "label_1_val"}))));

    let second = terms(json!([
        {"matchExpressions": [req("label_1", "In", &["label_1_val"])]},
        {"matchFields": [req("metadata.name", "In", &["host_1"])]},
    ]));
    assert!(
        NodeSelector::strict(&second)
            .unwrap()
            .matches(&node("host_1", json!({})))
    );
}

#[test]
fn lazy_selector_reports_parse_errors_only_when_nothing_matched() {
    let t = terms(json!([
        {"matchExpressions": [req("a", "Bogus", &["x"])]},
        {"matchExpressions": [req("zone", "In", &["z1"])]},
    ]));
    let sel = NodeSelector::new(&t);
    assert_eq!(sel.match_node(&node("n", json!({"zone": "z1"}))), Ok(true));
    assert!(sel.match_node(&node("n", json!({"zone": "z2"}))).is_err());
    assert!(!sel.matches(&node("n", json!({"zone": "z2"}))));
}

#[test]
fn preferred_scheduling_terms_score() {
    let invalid: Vec<PreferredSchedulingTerm> = serde_json::from_value(json!([
        {"weight": 1, "preference": {"matchFields": [req("metadata.name", "In", &["host_1", "host_2"])]}},
        {"weight": 1, "preference": {"matchExpressions": [req("label_1", "In", &["label_1_val"])],
            "matchFields": [req("metadata.name", "In", &["host_1"])]}},
        {"weight": 1, "preference": {"matchExpressions": [req("invalid key", "In", &["label_value"])]}},
    ]))
    .unwrap();
    let errs = PreferredSchedulingTerms::new(&invalid).unwrap_err();
    assert_eq!(errs.len(), 2);
    assert!(errs[0].starts_with("[0].matchFields[0].values"));
    assert!(errs[1].starts_with("[2].matchExpressions[0].key"));

    let zero_weight: Vec<PreferredSchedulingTerm> = serde_json::from_value(json!([
        {"weight": 0, "preference": {"matchFields": [req("metadata.name", "In", &["host_1", "host_2"])]}},
    ]))
    .unwrap();
    let t = PreferredSchedulingTerms::new(&zero_weight).unwrap();
    assert_eq!(t.score(&node("host_1", json!({}))), 0);

    let scored: Vec<PreferredSchedulingTerm> = serde_json::from_value(json!([
        {"weight": 5, "preference": {"matchFields": [req("metadata.name", "In", &["host_1"])]}},
        {"weight": 7, "preference": {"matchExpressions": [req("unknown_label", "In", &["unknown_label_val"])]}},
        {"weight": 11, "preference": {"matchExpressions": [req("label_1", "In", &["label_1_val"])]}},
    ]))
    .unwrap();
    let t = PreferredSchedulingTerms::new(&scored).unwrap();
    assert_eq!(
        t.score(&node("host_1", json!({"label_1": "label_1_val"}))),
        16
    );
}

#[test]
fn requirements_as_selector() {
    let parse = |v: Value| {
        let r: NodeSelectorRequirement = serde_json::from_value(v).unwrap();
        LabelRequirement::parse(&r, "root[0]")
    };
    assert_eq!(
        parse(req("foo", "In", &["bar", "baz"])),
        Ok(LabelRequirement::In(
            "foo".into(),
            vec!["bar".into(), "baz".into()]
        ))
    );
    assert_eq!(
        parse(req("foo", "Exists", &["bar", "baz"]))
            .map_err(|e| e.to_string()),
        Err(r#"root[0].values: Invalid value: ["bar", "baz"]: values set must be empty for exists and does not exist"#.to_string())
    );
    assert_eq!(
        parse(req("foo", "Near", &[])).map_err(|e| e.to_string()),
        Err(r#"root[0].operator: Unsupported value: "Near": supported values: "In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt""#.to_string())
    );
    assert_eq!(
        parse(req("bar", "Lt", &["x"])).map_err(|e| e.to_string()),
        Err(r#"root[0].values[0]: Invalid value: "x": must be an integer"#.to_string())
    );
    assert_eq!(
        parse(req("foo", "Gt", &["1"])),
        Ok(LabelRequirement::Gt("foo".into(), 1))
    );
    assert_eq!(
        parse(req("bar", "Lt", &["7"])),
        Ok(LabelRequirement::Lt("bar".into(), 7))
    );
    assert!(parse(req("bar", "Lt", &["x"])).is_err());
    assert!(parse(req("bar", "Gt", &["1", "2"])).is_err());
    assert!(parse(req("bar", "In", &[])).is_err());
}

#[test]
fn pod_matches_node_selector_and_affinity_terms() {
    let labels = json!({"foo": "bar"});
    let cases: Vec<(&str, Pod, Value, bool)> = vec![
        (
            "no selector",
            pod_with(json!({"containers": []})),
            json!({}),
            true,
        ),
        (
            "missing labels",
            pod_with(json!({"containers": [], "nodeSelector": {"foo": "bar"}})),
            json!({}),
            false,
        ),
        (
            "same labels",
            pod_with(json!({"containers": [], "nodeSelector": {"foo": "bar"}})),
            labels.clone(),
            true,
        ),
        (
            "node labels are superset",
            pod_with(json!({"containers": [], "nodeSelector": {"foo": "bar"}})),
            json!({"foo": "bar", "baz": "blah"}),
            true,
        ),
        (
            "node labels are subset",
            pod_with(json!({"containers": [], "nodeSelector": {"foo": "bar", "baz": "blah"}})),
            labels.clone(),
            false,
        ),
        (
            "In matches",
            required(json!([{"matchExpressions": [req("foo", "In", &["bar", "value2"])]}])),
            labels.clone(),
            true,
        ),
        (
            "Gt matches",
            required(json!([{"matchExpressions": [req("kernel-version", "Gt", &["0204"])]}])),
            json!({"kernel-version": "0206"}),
            true,
        ),
        (
            "NotIn matches",
            required(json!([{"matchExpressions": [req("mem-type", "NotIn", &["DDR", "DDR2"])]}])),
            json!({"mem-type": "DDR3"}),
            true,
        ),
        (
            "Exists matches",
            required(json!([{"matchExpressions": [{"key": "GPU", "operator": "Exists"}]}])),
            json!({"GPU": "NVIDIA-GRID-K1"}),
            true,
        ),
        (
            "affinity that does not match the labels",
            required(json!([{"matchExpressions": [req("foo", "In", &["value1", "value2"])]}])),
            labels.clone(),
            false,
        ),
        ("nil terms", required(json!(null)), labels.clone(), false),
        ("empty terms", required(json!([])), labels.clone(), false),
        (
            "empty matchExpressions",
            required(json!([{"matchExpressions": []}])),
            labels.clone(),
            false,
        ),
        (
            "no affinity terms but a nodeAffinity object",
            pod_with(json!({"containers": [], "affinity": {"nodeAffinity": {}}})),
            labels.clone(),
            true,
        ),
        (
            "field In by name",
            required(json!([{"matchFields": [req("metadata.name", "In", &["node1"])]}])),
            json!({}),
            true,
        ),
        (
            "field NotIn by name",
            required(json!([{"matchFields": [req("metadata.name", "NotIn", &["node1"])]}])),
            json!({}),
            false,
        ),
        (
            "field In another name",
            required(json!([{"matchFields": [req("metadata.name", "In", &["node2"])]}])),
            json!({}),
            false,
        ),
        (
            "terms are ORed",
            required(json!([
                {"matchFields": [req("metadata.name", "In", &["node2"])]},
                {"matchExpressions": [req("foo", "In", &["bar"])]},
            ])),
            labels.clone(),
            true,
        ),
        (
            "requirements within a term are ANDed",
            required(json!([{"matchExpressions": [req("foo", "In", &["bar"])],
                "matchFields": [req("metadata.name", "In", &["node2"])]}])),
            labels.clone(),
            false,
        ),
    ];
    for (name, pod, labels, want) in cases {
        let n = node("node1", labels);
        assert_eq!(
            RequiredNodeAffinity::from_pod(&pod).matches(&n),
            want,
            "{name}"
        );
    }
}

#[test]
fn a_nameless_node_ignores_match_fields_and_other_keys_read_as_empty() {
    let t = terms(json!([{"matchFields": [req("metadata.name", "In", &["x"])]}]));
    assert!(NodeSelector::new(&t).matches(&node("", json!({}))));
    let other = terms(json!([{"matchFields": [req("spec.unschedulable", "NotIn", &["true"])]}]));
    assert!(NodeSelector::new(&other).matches(&node("n", json!({}))));
}
