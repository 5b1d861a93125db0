//! `resource.Quantity` as apimachinery defines it: parsing ([`Quantity::parse`]), the
//! canonical string ([`std::fmt::Display`]), comparison, addition, and the rounded-up
//! integer views ([`Quantity::value`], [`Quantity::milli_value`]) every component uses.
//!
//! The value is kept exactly as `mantissa * 10^exponent` in an `i128`; upstream's
//! arbitrary-precision `inf.Dec` is only needed beyond ~38 significant digits, which
//! [`Quantity::parse`] reports as [`QuantityError::TooLarge`] instead.

mod format;
mod parse;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;

/// How a quantity prints, chosen by the suffix it was written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `e3`, `1.5e-2`.
    DecimalExponent,
    /// `Ki`, `Mi`, ... (powers of 1024).
    BinarySI,
    /// `m`, `k`, `M`, ... (powers of 1000).
    DecimalSI,
}

/// Errors from [`Quantity::parse`], worded as upstream's.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum QuantityError {
    /// Not `<number><suffix>` at all.
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    FormatWrong,
    /// The number part does not parse.
    #[error("unable to parse numeric part of quantity")]
    Numeric,
    /// Not a known suffix.
    #[error("unable to parse quantity's suffix")]
    Suffix,
    /// More significant digits than this implementation holds (see the module docs).
    #[error("quantity has more significant digits than are supported")]
    TooLarge,
}

/// A parsed quantity. Equality and ordering compare values, not formats (`1Gi == 1024Mi`).
#[derive(Clone, Copy, Debug)]
pub struct Quantity {
    /// Normalised: no trailing decimal zeros unless the value is zero.
    mantissa: i128,
    exponent: i32,
    format: Format,
}

/// The smallest unit a parsed quantity keeps (nano); finer values round up to it.
const NANO: i32 = -9;

impl Quantity {
    /// Parses a quantity string exactly as `resource.ParseQuantity` does.
    pub fn parse(s: &str) -> Result<Quantity, QuantityError> {
        parse::parse(s)
    }

    /// Parses an API object's quantity.
    pub fn from_api(
        q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity,
    ) -> Result<Quantity, QuantityError> {
        parse::parse(&q.0)
    }

    /// `mantissa * 10^exponent` in `format`.
    pub fn new(mantissa: i128, exponent: i32, format: Format) -> Quantity {
        let (mantissa, exponent) = normalise(mantissa, exponent);
        Quantity {
            mantissa,
            exponent,
            format,
        }
    }

    /// Zero in `format`.
    pub fn zero(format: Format) -> Quantity {
        Quantity::new(0, 0, format)
    }

    /// The format it prints in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// True when the value is zero.
    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// -1, 0 or 1.
    pub fn signum(&self) -> i32 {
        self.mantissa.signum() as i32
    }

    /// `Quantity.Value()`: the value rounded up (away from zero) to an integer, saturating
    /// at the bounds of `i64` where upstream's result would no longer be meaningful.
    pub fn value(&self) -> i64 {
        self.scaled_value(0)
    }

    /// `Quantity.MilliValue()`: the value in thousandths, rounded up (away from zero).
    pub fn milli_value(&self) -> i64 {
        self.scaled_value(-3)
    }

    /// `Quantity.ScaledValue(scale)`: the value in units of `10^scale`, rounded up.
    pub fn scaled_value(&self, scale: i32) -> i64 {
        let (m, e) = round_up_to(self.mantissa, self.exponent, scale);
        let shifted = u32::try_from(i64::from(e) - i64::from(scale))
            .ok()
            .and_then(|k| 10i128.checked_pow(k))
            .and_then(|p| m.checked_mul(p));
        match shifted.map(i64::try_from) {
            Some(Ok(v)) => v,
            _ if m < 0 => i64::MIN,
            _ => i64::MAX,
        }
    }

    /// `Quantity.RoundUp(scale)`: rounds away from zero to a multiple of `10^scale`;
    /// the flag says whether that was exact.
    pub fn round_up(&self, scale: i32) -> (Quantity, bool) {
        let (m, e) = round_up_to(self.mantissa, self.exponent, scale);
        let rounded = Quantity::new(m, e, self.format);
        let exact = rounded == *self;
        (rounded, exact)
    }

    /// `Quantity.Add`; a zero left-hand side takes the right-hand side's format.
    /// `None` only when the exact sum leaves the supported range.
    pub fn checked_add(&self, other: &Quantity) -> Option<Quantity> {
        if self.is_zero() {
            return Some(*other);
        }
        if other.is_zero() {
            return Some(*self);
        }
        let (a, b, exponent) = align(self, other)?;
        Some(Quantity::new(a.checked_add(b)?, exponent, self.format))
    }

    /// `Quantity.Sub`; a zero left-hand side takes the right-hand side's format.
    pub fn checked_sub(&self, other: &Quantity) -> Option<Quantity> {
        self.checked_add(&other.neg())
    }

    /// `Quantity.Neg`.
    pub fn neg(&self) -> Quantity {
        Quantity::new(-self.mantissa, self.exponent, self.format)
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        let by_sign = self.mantissa.signum().cmp(&other.mantissa.signum());
        if by_sign != Ordering::Equal || self.mantissa == 0 {
            return by_sign;
        }
        match align(self, other) {
            Some((a, b, _)) => a.cmp(&b),
            // Alignment overflows only when the exponents are far apart; with equal signs
            // the larger exponent then has the larger magnitude.
            None => {
                let magnitude = self.exponent.cmp(&other.exponent);
                if self.mantissa > 0 {
                    magnitude
                } else {
                    magnitude.reverse()
                }
            }
        }
    }
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

/// Strips trailing decimal zeros into the exponent.
fn normalise(mut mantissa: i128, mut exponent: i32) -> (i128, i32) {
    if mantissa == 0 {
        return (0, 0);
    }
    while mantissa % 10 == 0 && exponent < i32::MAX {
        mantissa /= 10;
        exponent += 1;
    }
    (mantissa, exponent)
}

/// Rounds `mantissa * 10^exponent` away from zero to a multiple of `10^scale`.
fn round_up_to(mantissa: i128, exponent: i32, scale: i32) -> (i128, i32) {
    if exponent >= scale || mantissa == 0 {
        return (mantissa, exponent);
    }
    let digits = i64::from(scale) - i64::from(exponent);
    let Some(divisor) = u32::try_from(digits)
        .ok()
        .and_then(|d| 10i128.checked_pow(d))
    else {
        // Far below the requested unit: any non-zero value rounds to one unit.
        return (mantissa.signum(), scale);
    };
    let quotient = mantissa / divisor;
    let carry = i128::from(mantissa % divisor != 0) * mantissa.signum();
    (quotient + carry, scale)
}

/// Both mantissas at the smaller exponent, if that fits.
fn align(a: &Quantity, b: &Quantity) -> Option<(i128, i128, i32)> {
    let exponent = a.exponent.min(b.exponent);
    let lift = |q: &Quantity| {
        let k = u32::try_from(i64::from(q.exponent) - i64::from(exponent)).ok()?;
        q.mantissa.checked_mul(10i128.checked_pow(k)?)
    };
    Some((lift(a)?, lift(b)?, exponent))
}
