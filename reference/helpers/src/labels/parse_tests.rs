//! `labels.Parse` against the cases of apimachinery's `pkg/labels/selector_test.go`
//! (`TestSelectorParse`, `TestLexer`, `TestLexerSequence`, `TestSetSelectorParser`,
//! `TestRequirementConstructor`, `TestToString`, `TestRequirementSelectorMatching`).

use super::super::selector::{LabelSelector, Operator, Requirement};
use super::{Tok, lex, new_requirement};
use std::collections::BTreeMap;

fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A selector string, the labels it is matched against, and whether it matches.
type MatchCase = (&'static str, &'static [(&'static str, &'static str)], bool);

fn req(key: &str, op: Operator, values: &[&str]) -> Requirement {
    new_requirement(
        key.into(),
        op,
        values.iter().map(|v| v.to_string()).collect(),
    )
    .unwrap()
}

/// `TestSelectorParse`: good strings print back as written (spaces dropped); bad ones fail.
#[test]
fn good_strings_round_trip_and_bad_ones_fail() {
    for good in [
        "x=a,y=b,z=c",
        "",
        "x!=a,y=b",
        "x=",
        "x= ",
        "x=,z= ",
        "x= ,z= ",
        "!x",
        "x>1",
        "x>1,z<5",
    ] {
        let sel = LabelSelector::parse(good).unwrap_or_else(|e| panic!("{good:?}: {e}"));
        assert_eq!(sel.to_string(), good.replace(' ', ""), "{good:?}");
    }
    for bad in ["x=a||y=b", "x==a==b", "!x=a", "x<a"] {
        assert!(LabelSelector::parse(bad).is_err(), "{bad:?} parsed");
    }
}

/// `TestDeterministicParse`: requirements print sorted by key whatever the input order.
#[test]
fn parsing_is_deterministic() {
    assert_eq!(
        LabelSelector::parse("x=a,a=x").unwrap().to_string(),
        LabelSelector::parse("a=x,x=a").unwrap().to_string()
    );
}

/// `TestLexer`: one token each, the longest match; anything not special is an identifier.
#[test]
fn the_lexer_takes_the_longest_token() {
    let ident = |s: &str| Tok::Ident(s.into());
    for (input, want) in [
        ("", Tok::End),
        (",", Tok::Comma),
        ("notin", Tok::NotIn),
        ("in", Tok::In),
        ("=", Tok::Equals),
        ("==", Tok::DoubleEquals),
        (">", Tok::Gt),
        ("<", Tok::Lt),
        ("!", Tok::Not),
        ("!=", Tok::NotEquals),
        ("(", Tok::Open),
        (")", Tok::Close),
        ("~", ident("~")),
        ("||", ident("||")),
    ] {
        assert_eq!(lex(input)[0], want, "{input:?}");
        assert_eq!(lex(input)[0].literal(), input, "{input:?}");
    }
}

/// `TestLexerSequence` / `TestParserLookahead`: whole token sequences, ending in End.
#[test]
fn the_lexer_splits_whole_selectors() {
    use Tok::*;
    let id = || Ident(String::new());
    let cases: [(&str, Vec<Tok>); 10] = [
        ("key in ( value )", vec![id(), In, Open, id(), Close]),
        ("key notin ( value )", vec![id(), NotIn, Open, id(), Close]),
        (
            "key in ( value1, value2 )",
            vec![id(), In, Open, id(), Comma, id(), Close],
        ),
        ("key", vec![id()]),
        ("!key", vec![Not, id()]),
        ("()", vec![Open, Close]),
        ("x in (),y", vec![id(), In, Open, Close, Comma, id()]),
        (
            "== != (), = notin",
            vec![DoubleEquals, NotEquals, Open, Close, Comma, Equals, NotIn],
        ),
        ("key>2", vec![id(), Gt, id()]),
        ("key<1", vec![id(), Lt, id()]),
    ];
    for (input, mut want) in cases {
        want.push(End);
        // Compare kinds; identifiers' text is checked by the parser tests.
        let got: Vec<Tok> = lex(input)
            .into_iter()
            .map(|t| if let Ident(_) = t { id() } else { t })
            .collect();
        assert_eq!(got, want, "{input:?}");
    }
}

/// `TestSetSelectorParser`: what parses, into which (key-sorted) requirements.
#[test]
fn set_based_selectors_parse_into_sorted_requirements() {
    use Operator::*;
    let valid: [(&str, Vec<Requirement>); 20] = [
        ("", vec![]),
        ("\rx", vec![req("x", Exists, &[])]),
        (
            "this-is-a-dns.domain.com/key-with-dash",
            vec![req("this-is-a-dns.domain.com/key-with-dash", Exists, &[])],
        ),
        (
            "this-is-another-dns.domain.com/key-with-dash in (so,what)",
            vec![req(
                "this-is-another-dns.domain.com/key-with-dash",
                In,
                &["so", "what"],
            )],
        ),
        (
            "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
            vec![req(
                "0.1.2.domain/99",
                NotIn,
                &["10.10.100.1", "tick.tack.clock"],
            )],
        ),
        ("foo  in\t (abc)", vec![req("foo", In, &["abc"])]),
        ("x notin\n (abc)", vec![req("x", NotIn, &["abc"])]),
        (
            "x  notin\t\t(abc,def)",
            vec![req("x", NotIn, &["abc", "def"])],
        ),
        ("x in (abc,def)", vec![req("x", In, &["abc", "def"])]),
        ("x in (abc,)", vec![req("x", In, &["", "abc"])]),
        ("x in ()", vec![req("x", In, &[""])]),
        (
            "x,y in (a)",
            vec![req("x", Exists, &[]), req("y", In, &["a"])],
        ),
        ("x=a", vec![req("x", Equals, &["a"])]),
        ("x>1", vec![req("x", GreaterThan, &["1"])]),
        ("x<7", vec![req("x", LessThan, &["7"])]),
        (
            "x=a,y!=b,z in (h,i,j)",
            vec![
                req("x", Equals, &["a"]),
                req("y", NotEquals, &["b"]),
                req("z", In, &["h", "i", "j"]),
            ],
        ),
        ("x notin ( )", vec![req("x", NotIn, &[""])]),
        ("x notin (, a)", vec![req("x", NotIn, &["", "a"])]),
        ("a ", vec![req("a", Exists, &[])]),
        (
            "a in (x,y,notin, z,in)",
            vec![req("a", In, &["in", "notin", "x", "y", "z"])],
        ),
    ];
    for (input, want) in valid {
        let got = LabelSelector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(got.requirements, want, "{input:?}");
    }
    for bad in [
        "x=a||y=b",
        ",x,y",
        "x nott in (y)",
        "a in (xyz),",
        "a in (xyz)b notin ()",
        "a in (xyz abc)",
        "a notin(",
        "a (",
        "(",
    ] {
        assert!(LabelSelector::parse(bad).is_err(), "{bad:?} parsed");
    }
}

/// `TestRequirementConstructor`: `NewRequirement`'s checks on keys and value counts.
#[test]
fn new_requirement_checks_keys_and_values() {
    use Operator::*;
    let long = "a".repeat(254);
    let cases: [(&str, Operator, &[&str], bool); 13] = [
        ("x", In, &[], false),
        ("x", NotIn, &[], false),
        ("x", In, &["foo"], true),
        ("x", NotIn, &["foo"], true),
        ("x", Exists, &[], true),
        ("x", DoesNotExist, &[], true),
        ("1foo", In, &["bar"], true),
        ("1234", In, &["bar"], true),
        ("y", GreaterThan, &["1"], true),
        ("z", LessThan, &["6"], true),
        ("foo", GreaterThan, &["bar"], false),
        ("barz", LessThan, &["blah"], false),
        // Longer than a DNS subdomain may be.
        (&long, Exists, &[], false),
    ];
    for (key, op, values, ok) in cases {
        let got = new_requirement(
            key.into(),
            op,
            values.iter().map(|v| v.to_string()).collect(),
        );
        assert_eq!(got.is_ok(), ok, "{key} {op:?} {values:?}: {got:?}");
    }
}

/// `TestToString`: requirements print in the order held, set values sorted.
#[test]
fn selectors_print_as_upstream() {
    use Operator::*;
    let cases: [(Vec<Requirement>, &str); 5] = [
        (
            vec![
                req("x", In, &["abc", "def"]),
                req("y", NotIn, &["jkl"]),
                req("z", Exists, &[]),
            ],
            "x in (abc,def),y notin (jkl),z",
        ),
        (
            vec![
                req("x", NotIn, &["abc", "def"]),
                req("y", NotEquals, &["jkl"]),
                req("z", DoesNotExist, &[]),
            ],
            "x notin (abc,def),y!=jkl,!z",
        ),
        (
            vec![
                req("x", NotIn, &["abc"]),
                req("y", In, &["jkl", "mno"]),
                req("z", NotIn, &[""]),
            ],
            "x notin (abc),y in (jkl,mno),z notin ()",
        ),
        (
            vec![
                req("x", Equals, &["abc"]),
                req("z", NotEquals, &["a"]),
                req("z", Exists, &[]),
            ],
            "x=abc,z!=a,z",
        ),
        (
            vec![
                req("x", GreaterThan, &["2"]),
                req("y", LessThan, &["8"]),
                req("z", Exists, &[]),
            ],
            "x>2,y<8,z",
        ),
    ];
    for (requirements, want) in cases {
        assert_eq!(LabelSelector { requirements }.to_string(), want);
    }
}

/// `TestSelectorMatches` and `TestRequirementSelectorMatching`.
#[test]
fn parsed_selectors_match_as_upstream() {
    let cases: [MatchCase; 20] = [
        ("", &[("x", "y")], true),
        ("x=y", &[("x", "y")], true),
        ("x=y,z=w", &[("x", "y"), ("z", "w")], true),
        ("x!=y,z!=w", &[("x", "z"), ("z", "a")], true),
        ("notin=in", &[("notin", "in")], true),
        ("x", &[("x", "z")], true),
        ("!x", &[("y", "z")], true),
        ("x>1", &[("x", "2")], true),
        ("x<1", &[("x", "0")], true),
        ("x=z", &[], false),
        ("x=y", &[("x", "z")], false),
        ("x=y,z=w", &[("x", "w"), ("z", "w")], false),
        ("x!=y,z!=w", &[("x", "z"), ("z", "w")], false),
        ("x", &[("y", "z")], false),
        ("!x", &[("x", "z")], false),
        ("x>1", &[("x", "0")], false),
        ("x<1", &[("x", "2")], false),
        ("x notin (),y", &[("y", "")], true),
        ("x notin (),!y", &[("y", "")], false),
        ("z>1", &[("z", "v2")], false),
    ];
    for (input, labels, want) in cases {
        let sel = LabelSelector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(sel.matches(&set(labels)), want, "{input:?} on {labels:?}");
    }
}
