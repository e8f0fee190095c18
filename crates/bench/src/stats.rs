//! Summaries of samples (median, p95, p99 by nearest rank) and the number formats the report
//! uses (milliseconds, sizes, ratios). Pure: no clock, no I/O.
//!
//! [`Summary`] is exact, over every sample sorted: it is for the small sample sets that are not
//! latency distributions under load (the 5 to 30 cold starts of a function, a handful of deploy
//! durations and API calls). Latency percentiles from a load or a warm series go through the
//! histogram of [`crate::latency`], whose quantiles follow the same nearest-rank definition.

use serde::{Deserialize, Serialize};

/// The value at quantile `q` (0.0 to 1.0) of ascending `sorted` values: the nearest rank,
/// `sorted[round((n - 1) * q)]`; 0 for no values.
#[must_use]
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let last = sorted.len().saturating_sub(1) as f64;
    sorted
        .get((last * q.clamp(0.0, 1.0)).round() as usize)
        .copied()
        .unwrap_or_default()
}

/// The usual figures of a set of samples (milliseconds or seconds, as given).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// How many samples.
    pub n: usize,
    /// The smallest.
    pub min: f64,
    /// The median (p50).
    pub median: f64,
    /// The 95th percentile.
    pub p95: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The largest.
    pub max: f64,
    /// The arithmetic mean.
    pub mean: f64,
}

impl Summary {
    /// The summary of `samples` (any order; non-finite values are dropped). All zero when
    /// there are none.
    #[must_use]
    pub fn of(samples: &[f64]) -> Self {
        let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        if n == 0 {
            return Self::default();
        }
        let at = |q: f64| percentile(&sorted, q);
        Self {
            n,
            min: sorted[0],
            median: at(0.5),
            p95: at(0.95),
            p99: at(0.99),
            max: sorted[n - 1],
            mean: sorted.iter().sum::<f64>() / n as f64,
        }
    }
}

/// `a / b`, or `None` when either is not a positive finite number.
#[must_use]
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    (a.is_finite() && b.is_finite() && a > 0.0 && b > 0.0).then(|| a / b)
}

/// A ratio as the report writes it: `12×`, `3.4×`, `0.52×`; `n/a` for none.
#[must_use]
pub fn fmt_ratio(ratio: Option<f64>) -> String {
    match ratio {
        None => "n/a".to_owned(),
        Some(r) if r >= 10.0 => format!("{r:.0}×"),
        Some(r) if r >= 1.0 => format!("{r:.1}×"),
        Some(r) => format!("{r:.2}×"),
    }
}

/// Milliseconds with a precision that suits the size: `0.42`, `7.31`, `12.4`, `231`.
#[must_use]
pub fn fmt_ms(ms: f64) -> String {
    if !ms.is_finite() {
        "n/a".to_owned()
    } else if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// Seconds for the deploy table: `0.084`, `1.23`, `12.3`.
#[must_use]
pub fn fmt_secs(secs: f64) -> String {
    if !secs.is_finite() {
        "n/a".to_owned()
    } else if secs < 1.0 {
        format!("{secs:.3}")
    } else if secs < 10.0 {
        format!("{secs:.2}")
    } else {
        format!("{secs:.1}")
    }
}

/// One mebibyte: the unit of the size aims ("1 MB" = 1,048,576 bytes).
pub const MIB: u64 = 1024 * 1024;

/// Bytes as MiB with two decimals: `1.00 MiB`.
#[must_use]
pub fn fmt_mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / MIB as f64)
}

/// KiB as MiB with one decimal: `5.4 MiB`.
#[must_use]
pub fn fmt_kib_as_mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// A count with thousands separators: `12,345`.
#[must_use]
pub fn fmt_count(n: f64) -> String {
    if !n.is_finite() || n < 0.0 {
        return "n/a".to_owned();
    }
    let digits = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_use_the_nearest_rank() {
        let samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let s = Summary::of(&samples);
        assert_eq!(s.n, 100);
        assert_eq!(s.min, 1.0);
        assert_eq!(s.max, 100.0);
        // round(99 * 0.5) = 50 → the 51st value; round(99 * 0.95) = 94 → 95.
        assert_eq!(s.median, 51.0);
        assert_eq!(s.p95, 95.0);
        assert_eq!(s.p99, 99.0);
        assert_eq!(s.mean, 50.5);

        let odd = Summary::of(&[3.0, 1.0, 2.0]);
        assert_eq!((odd.median, odd.p95, odd.max), (2.0, 3.0, 3.0));
        let one = Summary::of(&[7.5]);
        assert_eq!((one.median, one.p95, one.p99), (7.5, 7.5, 7.5));
        assert_eq!(Summary::of(&[]), Summary::default());
        let with_nan = Summary::of(&[f64::NAN, 4.0, f64::INFINITY]);
        assert_eq!((with_nan.n, with_nan.median), (1, 4.0));
    }

    #[test]
    fn ratios() {
        for (a, b, want) in [
            (120.0, 10.0, "12×"),
            (34.0, 10.0, "3.4×"),
            (1.0, 1.0, "1.0×"),
            (5.2, 10.0, "0.52×"),
            (1.0, 0.0, "n/a"),
            (0.0, 1.0, "n/a"),
            (f64::NAN, 1.0, "n/a"),
            (-2.0, 1.0, "n/a"),
        ] {
            assert_eq!(fmt_ratio(ratio(a, b)), want, "{a} / {b}");
        }
    }

    #[test]
    fn numbers() {
        for (ms, want) in [
            (0.4249, "0.42"),
            (7.314, "7.31"),
            (12.44, "12.4"),
            (231.4, "231"),
            (f64::NAN, "n/a"),
        ] {
            assert_eq!(fmt_ms(ms), want);
        }
        for (secs, want) in [(0.0841, "0.084"), (1.234, "1.23"), (12.34, "12.3")] {
            assert_eq!(fmt_secs(secs), want);
        }
        assert_eq!(fmt_mib(MIB), "1.00 MiB");
        assert_eq!(fmt_mib(1_050_273), "1.00 MiB");
        assert_eq!(fmt_mib(3 * MIB + MIB / 2), "3.50 MiB");
        assert_eq!(fmt_kib_as_mib(5530), "5.4 MiB");
        for (n, want) in [
            (0.0, "0"),
            (999.0, "999"),
            (1000.0, "1,000"),
            (12_345.4, "12,345"),
            (1_234_567.0, "1,234,567"),
            (-1.0, "n/a"),
        ] {
            assert_eq!(fmt_count(n), want);
        }
    }
}
