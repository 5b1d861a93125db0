//! The string formats kube-openapi's default registry checks (`strfmt.Default` plus
//! the Kubernetes name formats), limited to those a CRD may use.

use regex::Regex;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

/// Whether `format` names a string format the registry knows (numeric formats are
/// checked by the type and number validators instead).
pub(crate) fn is_string_format(format: &str) -> bool {
    !format.is_empty() && !matches!(format, "int32" | "int64" | "float" | "double")
}

fn re(cell: &'static OnceLock<Option<Regex>>, pattern: &str, text: &str) -> bool {
    cell.get_or_init(|| Regex::new(pattern).ok())
        .as_ref()
        .is_some_and(|r| r.is_match(text))
}

static UUID: OnceLock<Option<Regex>> = OnceLock::new();
static UUID3: OnceLock<Option<Regex>> = OnceLock::new();
static UUID4: OnceLock<Option<Regex>> = OnceLock::new();
static UUID5: OnceLock<Option<Regex>> = OnceLock::new();
static HOSTNAME: OnceLock<Option<Regex>> = OnceLock::new();
static MAC: OnceLock<Option<Regex>> = OnceLock::new();
static HEXCOLOR: OnceLock<Option<Regex>> = OnceLock::new();
static SSN: OnceLock<Option<Regex>> = OnceLock::new();
static DATE: OnceLock<Option<Regex>> = OnceLock::new();
static DURATION: OnceLock<Option<Regex>> = OnceLock::new();
static BSON: OnceLock<Option<Regex>> = OnceLock::new();
static EMAIL: OnceLock<Option<Regex>> = OnceLock::new();

/// Whether `text` is valid in `format` (already known to be supported).
pub(crate) fn valid(format: &str, text: &str) -> bool {
    match format.replace('-', "").as_str() {
        "uuid" => re(
            &UUID,
            r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$",
            text,
        ),
        "uuid3" => re(
            &UUID3,
            r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$",
            text,
        ),
        "uuid4" => re(
            &UUID4,
            r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$",
            text,
        ),
        "uuid5" => re(
            &UUID5,
            r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$",
            text,
        ),
        "hostname" => {
            re(
                &HOSTNAME,
                r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$",
                text,
            ) && text.len() <= 255
                && text.split('.').all(|p| p.len() <= 63)
        }
        "ipv4" => text.parse::<Ipv4Addr>().is_ok(),
        "ipv6" => text.parse::<Ipv6Addr>().is_ok(),
        "cidr" => text.split_once('/').is_some_and(|(ip, bits)| {
            let max = if ip.parse::<Ipv4Addr>().is_ok() {
                32
            } else if ip.parse::<Ipv6Addr>().is_ok() {
                128
            } else {
                return false;
            };
            bits.parse::<u32>().is_ok_and(|b| b <= max) && !bits.starts_with('+')
        }),
        "mac" => re(
            &MAC,
            r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{2}[:-]){7}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$|^([0-9A-Fa-f]{4}\.){3}[0-9A-Fa-f]{4}$",
            text,
        ),
        "hexcolor" => re(&HEXCOLOR, r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$", text),
        "ssn" => re(&SSN, r"^\d{3}[- ]?\d{2}[- ]?\d{4}$", text),
        "bsonobjectid" => re(&BSON, r"^[0-9a-fA-F]{24}$", text),
        "email" => re(&EMAIL, r"^[^@\s<>]+@[^@\s<>]+$", text),
        "date" => {
            re(&DATE, r"^\d{4}-\d{2}-\d{2}$", text)
                && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
        }
        "datetime" => date_time(text),
        "duration" => duration(text),
        "byte" => base64_std(text),
        "k8sshortname" => crate::names::is_dns1123_label(text).is_empty(),
        "k8slongname" => crate::names::is_dns1123_subdomain(text).is_empty(),
        // uri, isbn*, creditcard, rgbcolor, password: accepted as any string here.
        _ => true,
    }
}

/// `strfmt.IsDateTime`: RFC 3339 (any fraction) or a local time without zone.
fn date_time(text: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(text).is_ok()
        || chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").is_ok()
}

/// `strfmt.IsDuration`: Go's `time.ParseDuration` units, or `<n> <unit>` as go-openapi
/// also accepts (`22 ns`, `3 days`).
fn duration(text: &str) -> bool {
    re(
        &DURATION,
        r"^(([+-]?\d+(\.\d*)?|[+-]?\.\d+)(ns|us|µs|μs|ms|s|m|h))+$|^[+-]?0$|^\d+\s*(ns|us|ms|s|m|h|d|w|ns?|nanos?|nanoseconds?|micros?|microseconds?|millis?|milliseconds?|seconds?|minutes?|hours?|days?|weeks?)$",
        text,
    )
}

/// `base64.StdEncoding.DecodeString` succeeds.
fn base64_std(text: &str) -> bool {
    let b = text.as_bytes();
    if !b.len().is_multiple_of(4) {
        return false;
    }
    let pad = b.iter().rev().take_while(|c| **c == b'=').count();
    if pad > 2 {
        return false;
    }
    b[..b.len() - pad]
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}
