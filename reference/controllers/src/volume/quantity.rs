//! Parsing `resource.Quantity` strings (`1Gi`, `500M`, `1.5e3`, `250m`) to compare sizes.
//! Entry point: [`parse`].

/// Errors parsing a quantity.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QuantityError {
    /// Not a number with a known suffix.
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {0:?}"
    )]
    Invalid(String),
}

/// The quantity's value in milli-units (exact for every suffix Kubernetes allows).
pub fn parse(q: &str) -> Result<i128, QuantityError> {
    let bad = || QuantityError::Invalid(q.to_string());
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad());
    }
    let negative = int_part.starts_with('-');
    let int_digits = int_part.trim_start_matches(['+', '-']);
    // Work in units of 10^-9 to keep fractions like 1.5Gi exact.
    let mut value: i128 = int_digits.parse::<i128>().unwrap_or(0) * 1_000_000_000;
    let frac: String = frac_part.chars().take(9).collect();
    if !frac.is_empty() {
        let scale = 10i128.pow(9 - u32::try_from(frac.len()).map_err(|_| bad())?);
        value += frac.parse::<i128>().map_err(|_| bad())? * scale;
    }
    let (mul, div): (i128, i128) = match suffix {
        "" => (1, 1),
        "m" => (1, 1000),
        "k" => (1_000, 1),
        "M" => (1_000_000, 1),
        "G" => (1_000_000_000, 1),
        "T" => (1_000_000_000_000, 1),
        "P" => (1_000_000_000_000_000, 1),
        "E" => (1_000_000_000_000_000_000, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        "Pi" => (1 << 50, 1),
        "Ei" => (1 << 60, 1),
        s if s.starts_with(['e', 'E']) => {
            let exp: u32 = s[1..].parse().map_err(|_| bad())?;
            (10i128.checked_pow(exp).ok_or_else(bad)?, 1)
        }
        _ => return Err(bad()),
    };
    // value is in 1e-9 units; milli-units = value * mul / div / 1e6.
    let milli = value.checked_mul(mul).ok_or_else(bad)? / div / 1_000_000;
    Ok(if negative { -milli } else { milli })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_decimal_suffixes_compare_correctly() {
        assert_eq!(parse("1Gi").unwrap(), 1_073_741_824_000);
        assert_eq!(parse("1G").unwrap(), 1_000_000_000_000);
        assert!(parse("1Gi").unwrap() > parse("1000Mi").unwrap());
        assert_eq!(parse("1.5Gi").unwrap(), parse("1536Mi").unwrap());
        assert_eq!(parse("250m").unwrap(), 250);
        assert_eq!(parse("2e3").unwrap(), parse("2k").unwrap());
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(parse("lots").is_err());
        assert!(parse("1Zi").is_err());
    }
}
