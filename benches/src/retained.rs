//! A criterion [`Measurement`] of heap bytes instead of time ([`RetainedBytes`]), read
//! from a `stats_alloc` counting allocator that the bench binary installs as its global
//! allocator (`stats_alloc` holds the `unsafe impl GlobalAlloc`; this crate has none).
//!
//! Use it with `iter_custom`: the routine does `iters` units of work and returns the
//! bytes still allocated afterwards ([`RetainedBytes::live`] before and after), so
//! criterion reports retained bytes per unit and compares them against baselines like
//! any timing.

use std::alloc::System;

use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};
use stats_alloc::StatsAlloc;

/// Net heap bytes allocated through the instrumented allocator.
#[derive(Clone, Copy)]
pub struct RetainedBytes {
    alloc: &'static StatsAlloc<System>,
}

impl std::fmt::Debug for RetainedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetainedBytes").finish_non_exhaustive()
    }
}

impl RetainedBytes {
    /// Reads `alloc`, which must be the binary's `#[global_allocator]`.
    pub fn new(alloc: &'static StatsAlloc<System>) -> Self {
        Self { alloc }
    }

    /// Bytes currently allocated (requested sizes; the allocator's own overhead is not
    /// included). Signed because frees of memory allocated before a region count too.
    pub fn live(&self) -> i64 {
        let s = self.alloc.stats();
        s.bytes_allocated as i64 - s.bytes_deallocated as i64
    }
}

impl Measurement for RetainedBytes {
    type Intermediate = i64;
    type Value = f64;

    fn start(&self) -> i64 {
        self.live()
    }

    fn end(&self, start: i64) -> f64 {
        (self.live() - start) as f64
    }

    fn add(&self, a: &f64, b: &f64) -> f64 {
        a + b
    }

    fn zero(&self) -> f64 {
        0.0
    }

    fn to_f64(&self, v: &f64) -> f64 {
        *v
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &BytesFormatter
    }
}

/// Prints values as B / KiB / MiB.
struct BytesFormatter;

impl BytesFormatter {
    fn unit(typical: f64) -> (f64, &'static str) {
        let t = typical.abs();
        if t < 1024.0 {
            (1.0, "B")
        } else if t < 1024.0 * 1024.0 {
            (1024.0, "KiB")
        } else {
            (1024.0 * 1024.0, "MiB")
        }
    }
}

impl ValueFormatter for BytesFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (div, unit) = Self::unit(typical);
        values.iter_mut().for_each(|v| *v /= div);
        unit
    }

    fn scale_throughputs(&self, _typical: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        // Bytes per element: the value is already per iteration; divide by the
        // elements one iteration handles.
        let per = match t {
            Throughput::Elements(n)
            | Throughput::Bytes(n)
            | Throughput::BytesDecimal(n)
            | Throughput::Bits(n)
            | Throughput::ElementsAndBytes { elements: n, .. } => (*n).max(1) as f64,
        };
        values.iter_mut().for_each(|v| *v /= per);
        "B/elem"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "B"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_scaled_to_a_readable_unit() {
        let mut v = [2048.0, 4096.0];
        assert_eq!(BytesFormatter.scale_values(3000.0, &mut v), "KiB");
        assert_eq!(v, [2.0, 4.0]);
        let mut v = [500.0];
        assert_eq!(BytesFormatter.scale_values(500.0, &mut v), "B");
        assert_eq!(v, [500.0]);
    }

    #[test]
    fn throughput_is_bytes_per_element() {
        let mut v = [1000.0];
        let unit = BytesFormatter.scale_throughputs(1000.0, &Throughput::Elements(10), &mut v);
        assert_eq!((unit, v[0]), ("B/elem", 100.0));
    }
}
