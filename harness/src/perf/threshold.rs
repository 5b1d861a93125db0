//! Thresholds as features state them: `the p99 pod startup latency is at most 5s`.
//!
//! Entry points: [`Threshold`], [`Stat`], [`Bound`], [`parse_duration_ms`] (`5s`, `500ms`,
//! `1.5s`, `2m`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Verdict;

/// Which figure of a measurement a threshold is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stat {
    /// The 50th percentile.
    P50,
    /// The 90th percentile.
    P90,
    /// The 99th percentile.
    P99,
    /// The largest value (a threshold without a percentile: every sample).
    Max,
    /// A rate.
    Rate,
}

impl Stat {
    /// Lower-case name (`p99`).
    pub fn as_str(self) -> &'static str {
        match self {
            Stat::P50 => "p50",
            Stat::P90 => "p90",
            Stat::P99 => "p99",
            Stat::Max => "max",
            Stat::Rate => "rate",
        }
    }
}

/// A statistic name that is none of [`Stat`]'s.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown statistic {0:?} (p50, p90, p99, max)")]
pub struct UnknownStat(pub String);

impl FromStr for Stat {
    type Err = UnknownStat;

    fn from_str(s: &str) -> Result<Self, UnknownStat> {
        Ok(match s {
            "p50" => Stat::P50,
            "p90" => Stat::P90,
            "p99" => Stat::P99,
            "max" | "" => Stat::Max,
            "rate" => Stat::Rate,
            other => return Err(UnknownStat(other.to_string())),
        })
    }
}

/// Which side of the threshold is good.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The figure must not exceed the threshold (latencies).
    AtMost,
    /// The figure must reach the threshold (rates).
    AtLeast,
}

impl Bound {
    /// Whether `value` is on the good side of `threshold`.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Bound::AtMost => value <= threshold,
            Bound::AtLeast => value >= threshold,
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Bound::AtMost => "at most",
            Bound::AtLeast => "at least",
        })
    }
}

/// A threshold a feature stated, and whether it held.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// The figure it is about.
    pub stat: Stat,
    /// The phase it is about (a chain hop's budget), or the whole measurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Which side is good.
    pub bound: Bound,
    /// The threshold, in the measurement's unit.
    pub value: f64,
    /// Whether it held.
    #[serde(default)]
    pub verdict: Verdict,
}

impl Threshold {
    /// `stat` must be at most `value`.
    pub fn at_most(stat: Stat, value: f64) -> Self {
        Self {
            stat,
            phase: None,
            bound: Bound::AtMost,
            value,
            verdict: Verdict::Unchecked,
        }
    }

    /// `stat` must be at least `value`.
    pub fn at_least(stat: Stat, value: f64) -> Self {
        Self {
            bound: Bound::AtLeast,
            ..Self::at_most(stat, value)
        }
    }

    /// The same threshold on one phase.
    pub fn on_phase(mut self, phase: impl Into<String>) -> Self {
        self.phase = Some(phase.into());
        self
    }
}

/// Why a feature's duration does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// No number in front.
    #[error("{0:?} is not a duration like 5s, 500ms or 2m")]
    NotADuration(String),
    /// A unit other than ms, s or m.
    #[error("{text:?}: unknown unit {unit:?} (use ms, s or m)")]
    UnknownUnit {
        /// The whole duration as written.
        text: String,
        /// Its unit.
        unit: String,
    },
}

/// Parses a duration as features write it (`5s`, `500ms`, `1.5s`, `2m`) into
/// milliseconds.
pub fn parse_duration_ms(text: &str) -> Result<f64, DurationError> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| DurationError::NotADuration(text.to_string()))?;
    let factor = match unit.trim() {
        "ms" => 1.0,
        "s" => 1000.0,
        "m" | "min" => 60_000.0,
        other => {
            return Err(DurationError::UnknownUnit {
                text: text.to_string(),
                unit: other.to_string(),
            });
        }
    };
    Ok(n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_the_units_features_use() {
        assert_eq!(parse_duration_ms("5s"), Ok(5000.0));
        assert_eq!(parse_duration_ms("500ms"), Ok(500.0));
        assert_eq!(parse_duration_ms("1.5s"), Ok(1500.0));
        assert_eq!(parse_duration_ms("2m"), Ok(120_000.0));
        assert_eq!(
            parse_duration_ms("5").map_err(|e| e.to_string()),
            Err(r#""5": unknown unit "" (use ms, s or m)"#.to_string())
        );
        assert!(parse_duration_ms("fast").is_err());
    }

    #[test]
    fn bounds_hold_on_their_good_side_only() {
        assert!(Bound::AtMost.holds(5.0, 5.0));
        assert!(!Bound::AtMost.holds(5.1, 5.0));
        assert!(Bound::AtLeast.holds(10.0, 10.0));
        assert!(!Bound::AtLeast.holds(9.9, 10.0));
    }

    #[test]
    fn statistics_read_as_written() {
        assert_eq!("p99".parse::<Stat>(), Ok(Stat::P99));
        assert_eq!("".parse::<Stat>(), Ok(Stat::Max));
        assert!("p95".parse::<Stat>().is_err());
    }
}
