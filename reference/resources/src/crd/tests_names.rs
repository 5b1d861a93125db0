//! The naming controller's table (`naming_controller_test.go` `TestSync`), the
//! establishing step and `SetCRDCondition`.

use super::*;
use serde_json::{Value, json};

/// `newCRD(name)`: plural and group from the name.
fn crd(name: &str) -> Value {
    let (plural, group) = name.split_once('.').unwrap_or((name, ""));
    json!({"metadata": {"name": name}, "spec": {"group": group, "names": {"plural": plural}}})
}

fn names_value(n: [&str; 4], short: &[&str]) -> Value {
    json!({"plural": n[0], "singular": n[1], "kind": n[2], "listKind": n[3], "shortNames": short})
}

fn spec_names(mut c: Value, n: [&str; 4], short: &[&str]) -> Value {
    c["spec"]["names"] = names_value(n, short);
    c
}

fn status_names(mut c: Value, n: [&str; 4], short: &[&str]) -> Value {
    c["status"] = json!({"acceptedNames": names_value(n, short)});
    c
}

fn names(n: [&str; 4], short: &[&str]) -> CrdNames {
    CrdNames::from_value(Some(&names_value(n, short)))
}

const FULL: [&str; 4] = ["alfa", "delta-singular", "echo-kind", "foxtrot-listkind"];
const SHORT: &[&str] = &["golf-shortname-1", "hotel-shortname-2"];

fn accepted() -> Condition {
    Condition::new("NamesAccepted", "True", "NoConflicts", "no conflicts found")
}

fn installing() -> Condition {
    let message = "the initial names have been accepted";
    Condition::new("Established", "False", "Installing", message)
}

fn not_established() -> Condition {
    let message = "not all names are accepted";
    Condition::new("Established", "False", "NotAccepted", message)
}

fn conflict(reason: &str, message: &str) -> Condition {
    Condition::new("NamesAccepted", "False", reason, message)
}

fn check(input: Value, existing: &[Value], want: CrdNames, cond: Condition, est: Condition) {
    let got = calculate_names(&input, existing);
    assert_eq!(got.names, want);
    assert_eq!(got.names_accepted, cond);
    assert_eq!(got.established, est);
}

#[test]
fn first_resource() {
    let want = CrdNames {
        plural: "alfa".into(),
        ..Default::default()
    };
    check(crd("alfa.bravo.com"), &[], want, accepted(), installing());
}

/// `TestSync` rows where `alfa.bravo.com` asks for [`FULL`] and [`SHORT`] while one
/// other CRD has accepted names: that CRD, its names and short names, the names alfa
/// gets, and its `NamesAccepted` condition (a conflict leaves it not established).
#[test]
fn names_against_one_other_crd() {
    type Names = [&'static str; 4];
    type Short = &'static [&'static str];
    let rows: [(&str, Names, Short, Names, Short, Condition); 7] = [
        ("alfa.charlie.com", FULL, SHORT, FULL, SHORT, accepted()),
        (
            "india.bravo.com",
            ["india", "alfa", "", ""],
            &[],
            ["", "delta-singular", "echo-kind", "foxtrot-listkind"],
            SHORT,
            conflict("PluralConflict", "\"alfa\" is already in use"),
        ),
        (
            "india.bravo.com",
            ["india", "indias", "", ""],
            &["delta-singular"],
            ["alfa", "", "echo-kind", "foxtrot-listkind"],
            SHORT,
            conflict("SingularConflict", "\"delta-singular\" is already in use"),
        ),
        (
            "india.bravo.com",
            ["india", "indias", "", ""],
            &["hotel-shortname-2"],
            FULL,
            &[],
            conflict(
                "ShortNamesConflict",
                "\"hotel-shortname-2\" is already in use",
            ),
        ),
        (
            "india.bravo.com",
            ["india", "indias", "", "echo-kind"],
            &[],
            ["alfa", "delta-singular", "", "foxtrot-listkind"],
            SHORT,
            conflict("KindConflict", "\"echo-kind\" is already in use"),
        ),
        (
            "india.bravo.com",
            ["india", "indias", "foxtrot-listkind", ""],
            &[],
            ["alfa", "delta-singular", "echo-kind", ""],
            SHORT,
            conflict("ListKindConflict", "\"foxtrot-listkind\" is already in use"),
        ),
        // A resource name equal to another CRD's kind is no conflict.
        (
            "india.bravo.com",
            ["india", "echo-kind", "", ""],
            &[],
            FULL,
            SHORT,
            accepted(),
        ),
    ];
    for (other_crd, other, other_short, want, want_short, cond) in rows {
        let input = spec_names(crd("alfa.bravo.com"), FULL, SHORT);
        let other = status_names(crd(other_crd), other, other_short);
        let est = if cond.status == "True" {
            installing()
        } else {
            not_established()
        };
        check(input, &[other], names(want, want_short), cond, est);
    }
}

#[test]
fn merge_on_conflicts() {
    let old = ["zulu", "yankee-singular", "xray-kind", "whiskey-listkind"];
    let old_short = &["victor-shortname-1", "uniform-shortname-2"];
    let input = status_names(
        spec_names(crd("alfa.bravo.com"), FULL, SHORT),
        old,
        old_short,
    );
    let other = status_names(
        crd("india.bravo.com"),
        ["india", "indias", "foxtrot-listkind", ""],
        &["delta-singular"],
    );
    let want = names(
        ["alfa", "yankee-singular", "echo-kind", "whiskey-listkind"],
        SHORT,
    );
    let cond = conflict("ListKindConflict", "\"foxtrot-listkind\" is already in use");
    check(
        input.clone(),
        &[other],
        want,
        cond.clone(),
        not_established(),
    );
    // "merge on conflicts shortNames as one": the old short names are kept.
    let other = status_names(
        crd("india.bravo.com"),
        ["india", "indias", "foxtrot-listkind", ""],
        &["delta-singular", "golf-shortname-1"],
    );
    let want = names(
        ["alfa", "yankee-singular", "echo-kind", "whiskey-listkind"],
        old_short,
    );
    check(input, &[other], want, cond, not_established());
}

#[test]
fn no_conflicts_on_self_even_when_removing_a_short_name() {
    let me = status_names(spec_names(crd("alfa.bravo.com"), FULL, SHORT), FULL, SHORT);
    check(
        me.clone(),
        std::slice::from_ref(&me),
        names(FULL, SHORT),
        accepted(),
        installing(),
    );
    let fewer = status_names(
        spec_names(crd("alfa.bravo.com"), FULL, &["golf-shortname-1"]),
        FULL,
        SHORT,
    );
    let want = names(FULL, &["golf-shortname-1"]);
    check(fewer, &[me], want, accepted(), installing());
}

#[test]
fn several_short_name_conflicts_aggregate() {
    let input = spec_names(crd("alfa.bravo.com"), FULL, SHORT);
    let other = status_names(crd("india.bravo.com"), ["india", "", "", ""], SHORT);
    let err = accepted_names(&input, &[other]).expect_err("conflict");
    assert_eq!(
        err,
        (
            "ShortNamesConflict".to_string(),
            "[\"golf-shortname-1\" is already in use, \"hotel-shortname-2\" is already in use]"
                .to_string()
        )
    );
}

#[test]
fn established_is_kept_once_true() {
    let mut input = spec_names(crd("alfa.bravo.com"), FULL, SHORT);
    input["status"] = json!({"conditions": [{"type": "Established", "status": "True",
        "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}]});
    let other = status_names(crd("india.bravo.com"), ["india", "alfa", "", ""], &[]);
    let got = calculate_names(&input, &[other]);
    assert_eq!(got.established, established_condition());
}

#[test]
fn sync_status_accepts_names_and_establishes() {
    let mut c = spec_names(crd("alfa.bravo.com"), FULL, SHORT);
    assert!(sync_status(&mut c, &[], "2026-01-01T00:00:00Z"));
    assert_eq!(c["status"]["acceptedNames"]["kind"], "echo-kind");
    let conds = c["status"]["conditions"].as_array().expect("conditions");
    assert_eq!(conds[0]["type"], "NamesAccepted");
    assert_eq!(conds[0]["reason"], "NoConflicts");
    assert_eq!(conds[1]["type"], "Established");
    assert_eq!(conds[1]["status"], "True");
    assert_eq!(conds[1]["reason"], "InitialNamesAccepted");
    assert_eq!(conds[1]["message"], "the initial names have been accepted");
    // A second pass changes nothing.
    assert!(!sync_status(&mut c, &[], "2026-01-02T00:00:00Z"));
    assert_eq!(
        status_conditions(&c, &[]),
        [accepted(), established_condition()]
    );
}

#[test]
fn set_condition_moves_transition_time_only_on_status_change() {
    let mut c = json!({});
    set_condition(&mut c, &terminating_condition(), "t1");
    let mut again = terminating_condition();
    again.message = "other".into();
    set_condition(&mut c, &again, "t2");
    assert_eq!(c["status"]["conditions"][0]["lastTransitionTime"], "t1");
    assert_eq!(c["status"]["conditions"][0]["message"], "other");
    assert_eq!(
        c["status"]["conditions"][0]["reason"],
        "InstanceDeletionInProgress"
    );
    again.status = "False";
    set_condition(&mut c, &again, "t3");
    assert_eq!(c["status"]["conditions"][0]["lastTransitionTime"], "t3");
    assert_eq!(
        terminating_condition().message,
        "CustomResource deletion is in progress"
    );
    assert!(!condition_is_true(&c, "Terminating"));
}
