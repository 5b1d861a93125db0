//! Tests for label selector parsing, matching and printing.

use super::*;
use serde_json::json;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn every_operator_parses_and_prints_sorted_by_key() {
    let s = LabelSelector::parse("z=1, y!=2,x in (b,a), w notin (c),v,!u,t>3,s<4,r==5").unwrap();
    assert_eq!(
        s.to_string(),
        "r=5,s<4,t>3,!u,v,w notin (c),x in (a,b),y!=2,z=1"
    );
}

#[test]
fn equality_and_set_requirements_match_labels() {
    let s = LabelSelector::parse("app=web,tier in (fe,be),env notin (prod)").unwrap();
    assert!(s.matches(&labels(&[("app", "web"), ("tier", "fe")])));
    assert!(!s.matches(&labels(&[("app", "web"), ("tier", "fe"), ("env", "prod")])));
    assert!(!s.matches(&labels(&[("app", "web")])));
}

#[test]
fn not_equals_matches_a_missing_label() {
    let s = LabelSelector::parse("app!=web").unwrap();
    assert!(s.matches(&labels(&[])));
    assert!(!s.matches(&labels(&[("app", "web")])));
}

#[test]
fn exists_and_does_not_exist() {
    let s = LabelSelector::parse("a,!b").unwrap();
    assert!(s.matches(&labels(&[("a", "")])));
    assert!(!s.matches(&labels(&[("a", "1"), ("b", "1")])));
}

#[test]
fn greater_and_less_than_compare_integers() {
    let s = LabelSelector::parse("gen>2,gen<10").unwrap();
    assert!(s.matches(&labels(&[("gen", "5")])));
    assert!(!s.matches(&labels(&[("gen", "2")])));
    assert!(!s.matches(&labels(&[("gen", "x")])));
}

#[test]
fn an_empty_selector_matches_everything() {
    let s = LabelSelector::parse("  ").unwrap();
    assert!(s.is_empty());
    assert!(s.matches(&labels(&[("x", "y")])));
}

#[test]
fn in_and_notin_are_values_where_a_value_is_expected() {
    let s = LabelSelector::parse("x=in").unwrap();
    assert_eq!(s.requirements[0].values, ["in"]);
}

#[test]
fn a_trailing_comma_is_an_error() {
    assert_eq!(
        LabelSelector::parse("a=b,").unwrap_err().0,
        "found '', expected: identifier after ','"
    );
}

#[test]
fn garbage_after_a_value_is_an_error() {
    assert_eq!(
        LabelSelector::parse("a=b=c").unwrap_err().0,
        "found '=', expected: ',' or 'end of string'"
    );
    assert_eq!(
        LabelSelector::parse("a=b c").unwrap_err().0,
        "found 'c', expected: ',' or 'end of string'"
    );
}

#[test]
fn a_missing_parenthesis_is_an_error() {
    assert_eq!(
        LabelSelector::parse("a in b").unwrap_err().0,
        "unable to parse requirement: found 'b' expected: '('"
    );
    assert_eq!(
        LabelSelector::parse("a in (b").unwrap_err().0,
        "unable to parse requirement: found '', expected: ',' or ')'"
    );
}

#[test]
fn an_invalid_value_names_the_value_path() {
    let err = LabelSelector::parse("app=a/b").unwrap_err().0;
    assert!(
        err.starts_with("unable to parse requirement: values[0][app]: Invalid value: \"a/b\": a valid label must be"),
        "{err}"
    );
}

#[test]
fn an_invalid_key_is_reported() {
    let err = LabelSelector::parse("-a=b").unwrap_err().0;
    assert!(
        err.starts_with(
            "unable to parse requirement: key: Invalid value: \"-a\": name part must consist"
        ),
        "{err}"
    );
}

#[test]
fn gt_needs_an_integer() {
    assert_eq!(
        LabelSelector::parse("a>b").unwrap_err().0,
        "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an integer"
    );
}

#[test]
fn a_leading_operator_is_an_error() {
    assert_eq!(
        LabelSelector::parse("=a").unwrap_err().0,
        "found '=', expected: !, identifier, or 'end of string'"
    );
}

#[test]
fn empty_set_entries_select_the_empty_value() {
    let s = LabelSelector::parse("a in (b,)").unwrap();
    assert_eq!(s.requirements[0].values, ["", "b"]);
    assert!(s.matches(&labels(&[("a", "")])));
}

#[test]
fn label_selector_objects_combine_match_labels_and_expressions() {
    let s = LabelSelector::from_object(&json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe"]}, {"key": "canary", "operator": "DoesNotExist"}]
    }))
    .unwrap()
    .unwrap();
    assert_eq!(s.to_string(), "app=web,!canary,tier in (fe)");
    assert!(s.matches(&labels(&[("app", "web"), ("tier", "fe")])));
    assert!(!s.matches(&labels(&[("app", "web"), ("tier", "fe"), ("canary", "1")])));
}

#[test]
fn an_empty_label_selector_object_matches_everything_and_null_matches_nothing() {
    let s = LabelSelector::from_object(&json!({})).unwrap().unwrap();
    assert!(s.is_empty());
    assert_eq!(LabelSelector::from_object(&Value::Null).unwrap(), None);
}

#[test]
fn an_unknown_expression_operator_is_rejected() {
    let err = LabelSelector::from_object(
        &json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}),
    );
    assert_eq!(
        err.unwrap_err().0,
        "\"Gt\" is not a valid label selector operator"
    );
}

#[test]
fn malformed_input_never_panics() {
    for s in [
        "(",
        ")",
        "!",
        "!!",
        "a in",
        "a notin ()",
        ",",
        "a,,b",
        "a=(b)",
        "in",
        "!=",
        "a<",
        "é=ü",
    ] {
        let _ = LabelSelector::parse(s);
    }
}
