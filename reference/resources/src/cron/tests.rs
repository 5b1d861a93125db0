//! Tests of the cron parser and `next`, from robfig/cron's parser and spec tables.

use super::*;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn next(spec: &str, after: &str) -> Option<String> {
    let s = parse_standard(spec).unwrap();
    s.next(at(after), &TimeZone::UTC).map(|t| t.to_string())
}

#[test]
fn standard_specs_find_the_next_minute() {
    let cases = [
        ("* * * * *", "2024-07-09T14:45:00Z", "2024-07-09T14:46:00Z"),
        (
            "* * * * *",
            "2024-07-09T14:45:30.5Z",
            "2024-07-09T14:46:00Z",
        ),
        (
            "*/15 * * * *",
            "2024-07-09T14:45:00Z",
            "2024-07-09T15:00:00Z",
        ),
        ("30 9 * * *", "2024-07-09T14:45:00Z", "2024-07-10T09:30:00Z"),
        ("0 0 1 * *", "2024-07-09T14:45:00Z", "2024-08-01T00:00:00Z"),
        (
            "0 0 * * mon",
            "2024-07-09T14:45:00Z",
            "2024-07-15T00:00:00Z",
        ),
        ("0 0 29 2 *", "2024-03-01T00:00:00Z", "2028-02-29T00:00:00Z"),
        (
            "5-10/2 1 * jan-mar *",
            "2024-07-09T00:00:00Z",
            "2025-01-01T01:05:00Z",
        ),
        // Both day fields restricted: either matches (Sunday the 14th comes first).
        ("0 0 20 * 0", "2024-07-09T00:00:00Z", "2024-07-14T00:00:00Z"),
        // A starred day-of-week makes day-of-month the only rule.
        ("0 0 20 * *", "2024-07-09T00:00:00Z", "2024-07-20T00:00:00Z"),
        (
            "0 0 31 12 *",
            "2024-12-31T00:00:00Z",
            "2025-12-31T00:00:00Z",
        ),
    ];
    for (spec, after, want) in cases {
        assert_eq!(
            next(spec, after).as_deref(),
            Some(want),
            "{spec} after {after}"
        );
    }
    assert_eq!(next("0 0 30 2 *", "2024-01-01T00:00:00Z"), None);
}

#[test]
fn descriptors_follow_robfig() {
    let after = "2024-07-09T14:45:10Z";
    assert_eq!(next("@hourly", after).unwrap(), "2024-07-09T15:00:00Z");
    assert_eq!(next("@daily", after).unwrap(), "2024-07-10T00:00:00Z");
    assert_eq!(next("@midnight", after).unwrap(), "2024-07-10T00:00:00Z");
    assert_eq!(next("@weekly", after).unwrap(), "2024-07-14T00:00:00Z");
    assert_eq!(next("@monthly", after).unwrap(), "2024-08-01T00:00:00Z");
    assert_eq!(next("@yearly", after).unwrap(), "2025-01-01T00:00:00Z");
    assert_eq!(next("@annually", after).unwrap(), "2025-01-01T00:00:00Z");
    // @every counts from the given time, dropping its fraction of a second.
    assert_eq!(
        next("@every 90s", "2024-07-09T14:45:10.7Z").unwrap(),
        "2024-07-09T14:46:40Z"
    );
    assert_eq!(next("@every 1h30m", after).unwrap(), "2024-07-09T16:15:10Z");
}

#[test]
fn parse_errors_carry_robfigs_messages() {
    let err = |s: &str| parse_standard(s).unwrap_err();
    assert_eq!(err(""), "empty spec string");
    assert_eq!(err("* * *"), "expected exactly 5 fields, found 3: [* * *]");
    assert_eq!(
        err("60 * * * *"),
        "end of range (60) above maximum (59): 60"
    );
    assert_eq!(
        err("* * 0 * *"),
        "beginning of range (0) below minimum (1): 0"
    );
    assert_eq!(
        err("5-1 * * * *"),
        "beginning of range (5) beyond end of range (1): 5-1"
    );
    assert_eq!(
        err("*/0 * * * *"),
        "step of range should be a positive number: */0"
    );
    assert_eq!(err("1-2-3 * * * *"), "too many hyphens: 1-2-3");
    assert_eq!(err("*/2/3 * * * *"), "too many slashes: */2/3");
    assert_eq!(
        err("x * * * *"),
        "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax"
    );
    assert_eq!(err("* * * * 7"), "end of range (7) above maximum (6): 7");
    assert_eq!(err("@fortnightly"), "unrecognized descriptor: @fortnightly");
    assert_eq!(
        err("@every 5d"),
        "failed to parse duration @every 5d: time: unknown unit \"d\" in duration \"5d\""
    );
}

#[test]
fn zones_shift_the_wall_clock() {
    let Ok(ny) = load_zone("America/New_York") else {
        // No tz database on this machine: only UTC can be tested.
        assert!(load_zone("UTC").is_ok());
        return;
    };
    let s = parse_standard("0 9 * * *").unwrap();
    let got = s.next(at("2024-07-09T00:00:00Z"), &ny).unwrap();
    assert_eq!(got.to_string(), "2024-07-09T13:00:00Z");
    let tz = parse_standard("TZ=America/New_York 0 9 * * *").unwrap();
    assert_eq!(
        tz.next(at("2024-07-09T00:00:00Z"), &TimeZone::UTC),
        Some(got)
    );
    assert_eq!(
        load_zone("Mars/Olympus").unwrap_err(),
        "unknown time zone Mars/Olympus"
    );
    assert!(
        parse_standard("TZ=Mars/Olympus * * * * *")
            .unwrap_err()
            .starts_with("provided bad location Mars/Olympus: unknown time zone")
    );
}
