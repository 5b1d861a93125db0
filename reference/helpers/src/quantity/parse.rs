//! `resource.ParseQuantity`: the scanner that splits sign, digits and suffix, the suffix
//! table, rounding up to nano units, and the BinarySI cap at `MaxInt64`.

use super::{Format, NANO, Quantity, QuantityError};

/// The pieces of a quantity string: digits before and after the point, and the suffix.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Scanned<'a> {
    pub positive: bool,
    pub whole: &'a str,
    pub fraction: &'a str,
    pub suffix: &'a str,
}

fn digits_end(s: &[u8], from: usize) -> usize {
    s[from..]
        .iter()
        .position(|b| !b.is_ascii_digit())
        .map_or(s.len(), |i| from + i)
}

/// Upstream's scanner, which is more permissive than the regular expression it reports:
/// `1.`, `.5` and even `.` are numbers, a lone sign is zero.
pub(super) fn scan(s: &str) -> Result<Scanned<'_>, QuantityError> {
    let b = s.as_bytes();
    let mut pos = 0;
    let positive = b.first() != Some(&b'-');
    if matches!(b.first(), Some(b'-' | b'+')) {
        pos = 1;
    }
    while b.get(pos) == Some(&b'0') {
        pos += 1;
    }
    let end = digits_end(b, pos);
    let mut whole = &s[pos..end];
    if whole.is_empty() {
        whole = "0";
    }
    pos = end;
    let mut fraction = "";
    if b.get(pos) == Some(&b'.') {
        let end = digits_end(b, pos + 1);
        fraction = &s[pos + 1..end];
        pos = end;
    }
    let suffix_start = pos;
    while b.get(pos).is_some_and(|c| b"eEinumkKMGTP".contains(c)) {
        pos += 1;
    }
    if matches!(b.get(pos), Some(b'-' | b'+')) {
        pos += 1;
    }
    if digits_end(b, pos) != b.len() {
        return Err(QuantityError::FormatWrong);
    }
    Ok(Scanned {
        positive,
        whole,
        fraction,
        suffix: &s[suffix_start..],
    })
}

/// Base 10 or 2, its exponent, and the format a suffix implies.
fn interpret(suffix: &str) -> Option<(u32, i32, Format)> {
    let decimal = |e| Some((10, e, Format::DecimalSI));
    let binary = |e| Some((2, e, Format::BinarySI));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            let exp = suffix.strip_prefix(['e', 'E'])?.parse::<i64>().ok()?;
            // The exponent is later negated as an int32 scale, so MinInt32 is out too.
            let exp = i32::try_from(exp).ok().filter(|e| *e != i32::MIN)?;
            Some((10, exp, Format::DecimalExponent))
        }
    }
}

/// Parses `digits` as an integer, rounding away the last `drop` digits upwards.
fn integer_rounding_up(digits: &str, drop: usize) -> Result<i128, QuantityError> {
    let digits = digits.trim_start_matches('0');
    let keep = digits.len().saturating_sub(drop);
    let (kept, dropped) = digits.split_at(keep);
    let mut n: i128 = if kept.is_empty() {
        0
    } else {
        kept.parse().map_err(|_| QuantityError::TooLarge)?
    };
    if dropped.bytes().any(|c| c != b'0') {
        n = n.checked_add(1).ok_or(QuantityError::TooLarge)?;
    }
    Ok(n)
}

/// `resource.ParseQuantity`.
pub(super) fn parse(s: &str) -> Result<Quantity, QuantityError> {
    if s.is_empty() {
        return Err(QuantityError::FormatWrong);
    }
    let scanned = scan(s)?;
    let (base, exp, mut format) = interpret(scanned.suffix).ok_or(QuantityError::Suffix)?;
    let digits = format!("{}{}", scanned.whole, scanned.fraction);
    let fraction_len = i64::try_from(scanned.fraction.len()).map_err(|_| QuantityError::Numeric)?;
    let (mantissa, exponent) = if base == 10 {
        let exponent = i64::from(exp) - fraction_len;
        // Values finer than a nano round up to the next nano, away from zero.
        let drop = usize::try_from(i64::from(NANO) - exponent).unwrap_or(0);
        let mantissa = integer_rounding_up(&digits, drop)?;
        let exponent = exponent.max(i64::from(NANO));
        (
            mantissa,
            i32::try_from(exponent).map_err(|_| QuantityError::TooLarge)?,
        )
    } else {
        let scaled = integer_rounding_up(&digits, 0)?
            .checked_mul(1i128 << exp)
            .ok_or(QuantityError::TooLarge)?;
        let exponent = i32::try_from(-fraction_len).map_err(|_| QuantityError::TooLarge)?;
        let (mut m, mut e) = super::round_up_to(scaled, exponent, NANO);
        // BinarySI is capped at MaxInt64, as upstream's int64-backed fast path implies.
        let max = i128::from(i64::MAX);
        let over = u32::try_from(-e)
            .ok()
            .and_then(|k| 10i128.checked_pow(k))
            .is_some_and(|p| m > max.saturating_mul(p));
        if over {
            (m, e) = (max, 0);
        }
        (m, e)
    };
    let value = Quantity::new(mantissa, exponent, format);
    if format == Format::BinarySI && !value.is_zero() && value < Quantity::new(1, 0, format) {
        // A fraction of a byte cannot print in binary units.
        format = Format::DecimalSI;
    }
    let signed = if scanned.positive { value } else { value.neg() };
    Ok(Quantity { format, ..signed })
}
