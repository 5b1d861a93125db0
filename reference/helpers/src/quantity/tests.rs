//! Cases from apimachinery's `quantity_test.go` (TestQuantityParse, TestQuantityString,
//! TestQuantityParseEmit, TestQuantityRoundUp, TestQuantityCmp, the zero-suffix tests).

#![allow(clippy::unwrap_used)]

use super::parse::{Scanned, scan};
use super::{Format, Quantity, QuantityError};
use Format::{BinarySI as Bin, DecimalExponent as Exp, DecimalSI as Dec};

fn q(s: &str) -> Quantity {
    Quantity::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn dec(m: i128, e: i32, f: Format) -> Quantity {
    Quantity::new(m, e, f)
}

/// TestQuantityParse's table; every entry is also checked negated and with a `+`.
const PARSE: &[(&str, i128, i32, Format)] = &[
    ("0", 0, 0, Dec),
    ("0n", 0, 0, Dec),
    ("0u", 0, 0, Dec),
    ("0m", 0, 0, Dec),
    ("0Ki", 0, 0, Bin),
    ("0k", 0, 0, Dec),
    ("0Mi", 0, 0, Bin),
    ("0M", 0, 0, Dec),
    ("0Gi", 0, 0, Bin),
    ("0G", 0, 0, Dec),
    ("0Ti", 0, 0, Bin),
    ("0T", 0, 0, Dec),
    ("1", 1, 0, Dec),
    ("1Ki", 1024, 0, Bin),
    ("8Ki", 8 * 1024, 0, Bin),
    ("7Mi", 7 << 20, 0, Bin),
    ("6Gi", 6 << 30, 0, Bin),
    ("5Ti", 5 << 40, 0, Bin),
    ("4Pi", 4 << 50, 0, Bin),
    ("3Ei", 3 << 60, 0, Bin),
    ("10Ti", 10 << 40, 0, Bin),
    ("100Ti", 100 << 40, 0, Bin),
    ("5n", 5, -9, Dec),
    ("4u", 4, -6, Dec),
    ("3m", 3, -3, Dec),
    ("9", 9, 0, Dec),
    ("8k", 8, 3, Dec),
    ("50k", 5, 4, Dec),
    ("7M", 7, 6, Dec),
    ("6G", 6, 9, Dec),
    ("5T", 5, 12, Dec),
    ("40T", 4, 13, Dec),
    ("300T", 3, 14, Dec),
    ("2P", 2, 15, Dec),
    ("1E", 1, 18, Dec),
    ("1E-3", 1, -3, Exp),
    ("1e3", 1, 3, Exp),
    ("1E6", 1, 6, Exp),
    ("1e9", 1, 9, Exp),
    ("1E12", 1, 12, Exp),
    ("1e15", 1, 15, Exp),
    ("1E18", 1, 18, Exp),
    ("1e14", 1, 14, Exp),
    ("1e13", 1, 13, Exp),
    ("100.035k", 100035, 0, Dec),
    ("0.001", 1, -3, Dec),
    ("0.0005k", 5, -1, Dec),
    ("0.005", 5, -3, Dec),
    ("0.05", 5, -2, Dec),
    ("0.5", 5, -1, Dec),
    ("0.00050k", 5, -1, Dec),
    ("0.00500", 5, -3, Dec),
    ("0.05000", 5, -2, Dec),
    ("0.50000", 5, -1, Dec),
    ("0.5e0", 5, -1, Exp),
    ("0.5e-1", 5, -2, Exp),
    ("0.5e-2", 5, -3, Exp),
    ("10.035M", 10035, 3, Dec),
    ("1.2e3", 12, 2, Exp),
    ("1.3E+6", 13, 5, Exp),
    ("1.40e9", 14, 8, Exp),
    ("1.53E12", 153, 10, Exp),
    ("1.6e15", 16, 14, Exp),
    ("1.7E18", 17, 17, Exp),
    ("9.01", 901, -2, Dec),
    ("8.1k", 81, 2, Dec),
    ("7.123456M", 7123456, 0, Dec),
    ("6.987654321G", 6987654321, 0, Dec),
    ("5.444T", 5444, 9, Dec),
    ("40.1T", 401, 11, Dec),
    ("300.2T", 3002, 11, Dec),
    ("2.5P", 25, 14, Dec),
    ("1.01E", 101, 16, Dec),
    // Things that saturate or round.
    ("3.001n", 4, -9, Dec),
    ("1.1E-9", 2, -9, Exp),
    ("0.0000000001", 1, -9, Dec),
    ("0.0000000005", 1, -9, Dec),
    ("0.00000000050", 1, -9, Dec),
    ("0.5e-9", 1, -9, Exp),
    ("0.9n", 1, -9, Dec),
    ("0.00000012345", 124, -9, Dec),
    ("0.00000012354", 124, -9, Dec),
    ("9Ei", i64::MAX as i128, 0, Bin),
    ("9223372036854775807Ki", i64::MAX as i128, 0, Bin),
    ("12E", 12, 18, Dec),
    // Fractional binary values.
    ("100.035Ki", 10243584, -2, Bin),
    ("0.5Mi", 512 * 1024, 0, Bin),
    ("0.05Gi", 536870912, -1, Bin),
    ("0.025Ti", 274877906944, -1, Bin),
    // "Things written by trolls".
    ("0.000000000001Ki", 2, -9, Dec),
    (".001", 1, -3, Dec),
    (".0001k", 100, -3, Dec),
    ("1.", 1, 0, Dec),
    ("1.G", 1, 9, Dec),
];

#[test]
fn parse_table_values_and_formats() {
    for &(input, m, e, format) in PARSE {
        let want = dec(m, e, format);
        for (text, expect) in [
            (input.to_string(), want),
            (format!("+{input}"), want),
            (format!("-{input}"), want.neg()),
        ] {
            let got = q(&text);
            assert_eq!(got, expect, "{text}: got {got}");
            assert_eq!(got.format(), format, "{text}");
        }
    }
}

#[test]
fn invalid_strings_are_rejected() {
    assert_eq!(Quantity::parse(""), Err(QuantityError::FormatWrong));
    for bad in [
        "1.1.M",
        "1+1.0M",
        "0.1mi",
        "0.1am",
        "aoeu",
        ".5i",
        "1i",
        "-3.01i",
        "-3.01e-",
        "1e4294967297",
        " 1",
        "1 ",
        "Non-Numeric",
    ] {
        assert!(Quantity::parse(bad).is_err(), "{bad} parsed");
    }
}

#[test]
fn the_scanner_splits_like_parse_quantity_string() {
    let cases = [
        ("0.025Ti", true, "0", "025", "Ti"),
        ("1.025Ti", true, "1", "025", "Ti"),
        ("-1.025Ti", false, "1", "025", "Ti"),
        (".", true, "0", "", ""),
        ("-.", false, "0", "", ""),
        ("1E-3", true, "1", "", "E-3"),
    ];
    for (input, positive, whole, fraction, suffix) in cases {
        assert_eq!(
            scan(input).unwrap(),
            Scanned {
                positive,
                whole,
                fraction,
                suffix
            },
            "{input}"
        );
    }
}

#[test]
fn exponents_beyond_int32_are_rejected() {
    assert!(Quantity::parse("1E2147483647").is_ok());
    assert!(Quantity::parse("1E-2147483647").is_ok());
    for bad in ["1E2147483648", "1E-2147483648", "1E8589934592"] {
        assert_eq!(Quantity::parse(bad), Err(QuantityError::Suffix), "{bad}");
    }
}

#[test]
fn canonical_strings_follow_quantity_string() {
    let table: &[(Quantity, &str, &str)] = &[
        (dec(1 << 30, 0, Bin), "1Gi", "1024Mi"),
        (dec(300 << 20, 0, Bin), "300Mi", "307200Ki"),
        (dec(6 * 1024, 0, Bin), "6Ki", ""),
        (dec(1001 << 30, 0, Bin), "1001Gi", "1025024Mi"),
        (dec(1 << 40, 0, Bin), "1Ti", "1024Gi"),
        (dec(5, 0, Bin), "5", "5000m"),
        (dec(500, -3, Bin), "500m", "0.5"),
        (dec(1, 9, Dec), "1G", "1000M"),
        (dec(1000, 6, Dec), "1G", "0.001T"),
        (dec(1000000, 3, Dec), "1G", ""),
        (dec(1000000000, 0, Dec), "1G", ""),
        (dec(1, -3, Dec), "1m", "1000u"),
        (dec(80, -3, Dec), "80m", ""),
        (dec(1080, -3, Dec), "1080m", "1.08"),
        (dec(108, -2, Dec), "1080m", "1080000000n"),
        (dec(10800, -4, Dec), "1080m", ""),
        (dec(300, 6, Dec), "300M", ""),
        (dec(1, 12, Dec), "1T", ""),
        (dec(1, 18, Dec), "1E", ""),
        (dec(1, 21, Dec), "1e21", "1000E"),
        (dec(5, 21, Dec), "5e21", "5000E"),
        (dec(1, 24, Dec), "1e24", "1000000E"),
        (dec(1, 70, Bin), "10e69", ""),
        (dec(2, 70, Bin), "20e69", ""),
        (dec(1, 72, Bin), "1e72", ""),
        (dec(1234567, 6, Dec), "1234567M", ""),
        (dec(1234567, -3, Bin), "1234567m", ""),
        (dec(3, 3, Dec), "3k", ""),
        (dec(1025, 0, Bin), "1025", ""),
        (dec(0, 0, Dec), "0", ""),
        (dec(0, 0, Bin), "0", ""),
        (dec(1, 9, Exp), "1e9", ".001e12"),
        (dec(1, -3, Exp), "1e-3", "0.001e0"),
        (dec(1, -9, Exp), "1e-9", "1000e-12"),
        (dec(80, -3, Exp), "80e-3", ""),
        (dec(300, 6, Exp), "300e6", ""),
        (dec(1, 12, Exp), "1e12", ""),
        (dec(1, 3, Exp), "1e3", ""),
        (dec(3, 3, Exp), "3e3", ""),
        (dec(0, 0, Exp), "0", "00"),
        (dec(1, -9, Dec), "1n", ""),
        (dec(80, -9, Dec), "80n", ""),
        (dec(1080, -9, Dec), "1080n", ""),
        (dec(108, -8, Dec), "1080n", ""),
        (dec(10800, -10, Dec), "1080n", ""),
        (dec(1, -6, Dec), "1u", ""),
        (dec(80, -6, Dec), "80u", ""),
        (dec(1080, -6, Dec), "1080u", ""),
    ];
    for (value, expect, alternate) in table {
        assert_eq!(value.to_string(), *expect, "{value:?}");
        assert_eq!(q(expect), *value, "{expect} round trip");
        if !alternate.is_empty() {
            assert_eq!(q(alternate).to_string(), *expect, "alternate {alternate}");
        }
        if !value.is_zero() {
            assert_eq!(value.neg().to_string(), format!("-{expect}"));
        }
    }
    // TestBinarySIPastEiArithmeticRoundTrip and TestQuantityStringBelowNano.
    assert_eq!(dec(1 << 70, 0, Bin).to_string(), "1180591620717411303424");
    assert_eq!(dec(2000, 0, Bin).to_string(), "2000");
    assert_eq!(dec(-2000, 0, Bin).to_string(), "-2000");
    assert_eq!(dec(1, -12, Dec).to_string(), "1e-12");
    assert_eq!(dec(1, -10, Dec).to_string(), "100e-12");
}

#[test]
fn parse_then_emit() {
    for (input, expect) in [
        ("1Ki", "1Ki"),
        ("1Mi", "1Mi"),
        ("1Gi", "1Gi"),
        ("1024Mi", "1Gi"),
        ("1000M", "1G"),
        (".001Ki", "1024m"),
        (".000001Ki", "1024u"),
        (".000000001Ki", "1024n"),
        (".000000000001Ki", "2n"),
    ] {
        assert_eq!(q(input).to_string(), expect, "{input}");
        assert_eq!(q(&format!("-{input}")).to_string(), format!("-{expect}"));
    }
    assert_eq!(q("0").to_string(), "0");
}

#[test]
fn round_up_goes_away_from_zero() {
    let table = [
        ("9.01", -3, dec(901, -2, Dec), true),
        ("9.01", -2, dec(901, -2, Dec), true),
        ("9.01", -1, dec(91, -1, Dec), false),
        ("9.01", 0, dec(10, 0, Dec), false),
        ("9.01", 1, dec(10, 0, Dec), false),
        ("9.01", 2, dec(100, 0, Dec), false),
        ("-9.01", -3, dec(-901, -2, Dec), true),
        ("-9.01", -2, dec(-901, -2, Dec), true),
        ("-9.01", -1, dec(-91, -1, Dec), false),
        ("-9.01", 0, dec(-10, 0, Dec), false),
        ("-9.01", 1, dec(-10, 0, Dec), false),
        ("-9.01", 2, dec(-100, 0, Dec), false),
    ];
    for (input, scale, expect, exact) in table {
        assert_eq!(q(input).round_up(scale), (expect, exact), "{input} {scale}");
    }
}

#[test]
fn value_and_milli_value_round_up() {
    assert_eq!(q("1").milli_value(), 1000);
    assert_eq!(q("250m").milli_value(), 250);
    assert_eq!(q("1.0005").milli_value(), 1001);
    assert_eq!(q("100m").value(), 1);
    assert_eq!(q("-100m").value(), -1);
    assert_eq!(q("1.5Gi").value(), 1_610_612_736);
    assert_eq!(q("200Mi").value(), 200 << 20);
    assert_eq!(q("1e3").value(), 1000);
    assert_eq!(q("12E").value(), i64::MAX, "saturates");
    assert_eq!(q("1n").milli_value(), 1);
    assert_eq!(q("1E2147483647").milli_value(), i64::MAX);
    assert_eq!(q("-1E2147483647").value(), i64::MIN);
}

#[test]
fn comparison_ignores_format() {
    for (x, y, want) in [
        ("0", "0", 0),
        ("100m", "50m", 1),
        ("50m", "100m", -1),
        ("10000T", "100Gi", 1),
        ("1Gi", "1024Mi", 0),
        ("-1", "1n", -1),
        ("1e30", "1", 1),
        ("-1e30", "-1", -1),
    ] {
        assert_eq!(q(x).cmp(&q(y)) as i32, want, "{x} vs {y}");
    }
}

#[test]
fn adding_or_subtracting_zero_keeps_the_suffix() {
    let zero = q("0");
    for text in ["100m", "1Gi"] {
        let v = q(text);
        assert_eq!(v.checked_add(&zero).unwrap().to_string(), text);
        assert_eq!(zero.checked_add(&v).unwrap().to_string(), text);
        assert_eq!(v.checked_sub(&zero).unwrap().to_string(), text);
        assert_eq!(
            zero.checked_sub(&v).unwrap().to_string(),
            v.neg().to_string()
        );
    }
    assert_eq!(
        q("1Gi").checked_add(&q("512Mi")).unwrap().to_string(),
        "1536Mi"
    );
    assert_eq!(
        q("1").checked_sub(&q("1500m")).unwrap().to_string(),
        "-500m"
    );
}
