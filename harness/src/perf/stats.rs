//! Percentiles and distributions of a set of samples.
//!
//! Entry points: [`Summary::of`] (count, mean, p50/p90/p99 by nearest rank, as
//! clusterloader2 computes them, and the maximum), [`histogram`] (counts per bin, for the
//! HTML report's distributions).

use serde::{Deserialize, Serialize};

/// Count, mean and percentiles of some values (all `None` without values).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// How many values.
    pub samples: usize,
    /// Their mean.
    pub mean: Option<f64>,
    /// The 50th percentile (nearest rank).
    pub p50: Option<f64>,
    /// The 90th percentile.
    pub p90: Option<f64>,
    /// The 99th percentile.
    pub p99: Option<f64>,
    /// The largest value.
    pub max: Option<f64>,
}

/// The `p`-th percentile (0 < p ≤ 100) of sorted values by nearest rank: the smallest
/// value with at least p% of the values at or below it.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

impl Summary {
    /// The summary of `values` (in any order; NaNs are ignored).
    pub fn of(values: &[f64]) -> Self {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        sorted.sort_by(f64::total_cmp);
        // To the thousandth, as the values themselves are kept.
        let mean = (!sorted.is_empty())
            .then(|| (sorted.iter().sum::<f64>() / sorted.len() as f64 * 1e3).round() / 1e3);
        Self {
            samples: sorted.len(),
            mean,
            p50: percentile(&sorted, 50.0),
            p90: percentile(&sorted, 90.0),
            p99: percentile(&sorted, 99.0),
            max: sorted.last().copied(),
        }
    }

    /// `p50 41ms, p90 52ms, p99 60ms`.
    pub fn brief(&self) -> String {
        let f = |v: Option<f64>| v.map_or_else(|| "-".to_string(), super::human_ms);
        format!(
            "p50 {}, p90 {}, p99 {}",
            f(self.p50),
            f(self.p90),
            f(self.p99)
        )
    }
}

/// Splits `[0, max]` into `bins` equal bins and counts the values in each; returns the bin
/// width and the counts. Values above `max` land in the last bin.
pub fn histogram(values: &[f64], max: f64, bins: usize) -> (f64, Vec<usize>) {
    let bins = bins.max(1);
    let width = if max > 0.0 { max / bins as f64 } else { 1.0 };
    let mut counts = vec![0; bins];
    for v in values.iter().filter(|v| !v.is_nan()) {
        let i = ((v.max(0.0) / width) as usize).min(bins - 1);
        counts[i] += 1;
    }
    (width, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_by_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = Summary::of(&values);
        assert_eq!(
            (s.p50, s.p90, s.p99, s.max),
            (Some(50.0), Some(90.0), Some(99.0), Some(100.0))
        );
        assert_eq!(s.mean, Some(50.5));
        let few = Summary::of(&[30.0, 10.0, 20.0]);
        assert_eq!((few.p50, few.p99), (Some(20.0), Some(30.0)));
    }

    #[test]
    fn no_values_have_no_percentiles() {
        let s = Summary::of(&[]);
        assert_eq!((s.samples, s.p99, s.mean), (0, None, None));
        assert_eq!(s.brief(), "p50 -, p90 -, p99 -");
    }

    #[test]
    fn the_histogram_counts_every_value_once() {
        let (width, counts) = histogram(&[0.0, 1.0, 5.0, 9.9, 50.0], 10.0, 5);
        assert_eq!(width, 2.0);
        assert_eq!(counts, vec![2, 0, 1, 0, 2]);
    }
}
