//! The canonical string of a quantity (`Quantity.String()` / `CanonicalizeBytes`): the
//! largest suffix that keeps an integer mantissa, exponent notation where no suffix fits.

use std::fmt;

use super::{Format, Quantity};

const DECIMAL_SUFFIXES: [(i32, &str); 10] = [
    (-9, "n"),
    (-6, "u"),
    (-3, "m"),
    (0, ""),
    (3, "k"),
    (6, "M"),
    (9, "G"),
    (12, "T"),
    (15, "P"),
    (18, "E"),
];

const BINARY_SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/// Mantissa digits (no sign) and an exponent that is a multiple of three.
fn base10_parts(q: &Quantity) -> (String, i32) {
    let mut digits = q.mantissa.unsigned_abs().to_string();
    let mut exponent = q.exponent;
    let down = exponent.rem_euclid(3);
    digits.extend(std::iter::repeat_n('0', down as usize));
    exponent = exponent.saturating_sub(down);
    (digits, exponent)
}

fn decimal(q: &Quantity, format: Format) -> String {
    let (digits, exponent) = base10_parts(q);
    let suffix = match format {
        Format::DecimalSI => DECIMAL_SUFFIXES
            .iter()
            .find(|(e, _)| *e == exponent)
            .map(|(_, s)| (*s).to_string()),
        _ => None,
    };
    // No SI suffix beyond E or below n: fall back to exponent notation rather than
    // silently dropping the magnitude.
    let suffix = suffix.unwrap_or_else(|| match exponent {
        0 => String::new(),
        e => format!("e{e}"),
    });
    format!("{digits}{suffix}")
}

/// The value as a whole number of units, if it is one and fits.
fn integer(q: &Quantity) -> Option<i128> {
    let k = u32::try_from(q.exponent).ok()?;
    q.mantissa.checked_mul(10i128.checked_pow(k)?)
}

fn binary(q: &Quantity) -> Option<String> {
    let mut n = integer(q)?.unsigned_abs();
    let mut power = 0;
    while n % 1024 == 0 && power < BINARY_SUFFIXES.len() {
        n /= 1024;
        power += 1;
    }
    let suffix = BINARY_SUFFIXES.get(power)?;
    Some(format!("{n}{suffix}"))
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        let magnitude = match self.format {
            // Below 1024 or fractional, binary units would round: print in decimal.
            Format::BinarySI if self.abs_below_1024() || self.exponent < 0 => {
                decimal(self, Format::DecimalSI)
            }
            Format::BinarySI => {
                binary(self).unwrap_or_else(|| decimal(self, Format::DecimalExponent))
            }
            other => decimal(self, other),
        };
        let sign = if self.mantissa < 0 { "-" } else { "" };
        write!(f, "{sign}{magnitude}")
    }
}

impl Quantity {
    fn abs_below_1024(&self) -> bool {
        let abs = Quantity::new(self.mantissa.abs(), self.exponent, self.format);
        abs < Quantity::new(1024, 0, self.format)
    }
}
