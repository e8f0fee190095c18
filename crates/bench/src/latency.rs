//! The latency histogram of the soak and the bench: an [`hdrhistogram`] of microseconds with
//! 3 significant digits (every value within 0.1 %, exact below 2.048 ms) and a fixed range of
//! 1 µs to one hour, so its memory does not grow however long a run lasts; longer latencies
//! count as one hour, while the exact maximum is kept beside it.
//!
//! Quantiles are taken by nearest rank, the same definition as [`crate::stats::percentile`]:
//! the value of rank `round((n - 1) q) + 1`, reported as the upper edge of its histogram bucket
//! (never above the maximum).

use hdrhistogram::Histogram;

/// The largest latency the histogram tells apart, in µs (one hour).
const HIGHEST_MICROS: u64 = 3_600_000_000;

/// Significant digits of every recorded value.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// Latencies in milliseconds, counted in a fixed-size histogram.
#[derive(Clone, Debug)]
pub struct Latencies {
    histogram: Histogram<u64>,
    max_ms: f64,
}

impl Default for Latencies {
    fn default() -> Self {
        Self {
            histogram: Histogram::new_with_bounds(1, HIGHEST_MICROS, SIGNIFICANT_DIGITS)
                .expect("1 µs to one hour at 3 significant digits is within hdrhistogram's bounds"),
            max_ms: 0.0,
        }
    }
}

impl Latencies {
    /// The histogram of `samples` in ms (any order; non-finite values are left out).
    #[must_use]
    pub fn of(samples: &[f64]) -> Self {
        let mut latencies = Self::default();
        for &ms in samples {
            latencies.record(ms);
        }
        latencies
    }

    /// Counts one latency in milliseconds: a negative one as 0, one over an hour as an hour
    /// (its exact value is still the maximum); a non-finite one is not counted.
    pub fn record(&mut self, ms: f64) {
        if !ms.is_finite() {
            return;
        }
        let ms = ms.max(0.0);
        // Saturating float-to-int conversion: anything above u64::MAX µs becomes u64::MAX.
        self.histogram
            .saturating_record((ms * 1000.0).round() as u64);
        self.max_ms = self.max_ms.max(ms);
    }

    /// Adds every latency of `other`.
    pub fn merge(&mut self, other: &Self) {
        // Both have the same bounds, so every value of `other` fits; `add` fails only on a
        // value out of range, and saturating the counts is what `record` does too.
        if self.histogram.add(&other.histogram).is_err() {
            for value in other.histogram.iter_recorded() {
                self.histogram.saturating_record_n(
                    value.value_iterated_to(),
                    value.count_since_last_iteration(),
                );
            }
        }
        self.max_ms = self.max_ms.max(other.max_ms);
    }

    /// How many latencies were counted.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The exact largest latency, in ms; 0 when empty.
    #[must_use]
    pub fn max_ms(&self) -> f64 {
        self.max_ms
    }

    /// The latency at quantile `q` (0.0 to 1.0), in ms: the upper edge of the bucket holding
    /// the nearest-rank value (within 0.1 %, and never above the maximum), and the exact
    /// maximum for `q = 1`; 0 when empty.
    #[must_use]
    pub fn quantile(&self, q: f64) -> f64 {
        let n = self.histogram.len();
        if n == 0 {
            return 0.0;
        }
        if q >= 1.0 {
            return self.max_ms;
        }
        let rank = ((n - 1) as f64 * q.max(0.0)).round() as u64 + 1;
        // hdrhistogram takes the value of rank `ceil(quantile × n)`; half a rank below `rank`
        // lands on `rank` itself whatever the rounding of the division.
        let micros = self
            .histogram
            .value_at_quantile((rank as f64 - 0.5) / n as f64);
        (micros as f64 / 1000.0).min(self.max_ms)
    }

    /// The counters the histogram holds: fixed at creation.
    #[must_use]
    pub fn counters(&self) -> usize {
        self.histogram.distinct_values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within the histogram's stated precision: 3 significant digits, and 1 µs below that.
    fn close(got: f64, want: f64) -> bool {
        (got - want).abs() <= want * 10f64.powi(-i32::from(SIGNIFICANT_DIGITS)) + 0.001
    }

    #[test]
    fn quantiles_of_a_known_sample_are_the_nearest_ranks_within_the_precision() {
        // Every 997th µs from 1 µs to 10 s (10 031 samples, all sizes the histogram buckets
        // differently), against their exact nearest ranks.
        let samples: Vec<f64> = (1..=10_000_000_u32)
            .step_by(997)
            .map(|us| f64::from(us) / 1000.0)
            .collect();
        let latencies = Latencies::of(&samples);
        let mut sorted = samples.clone();
        sorted.sort_by(f64::total_cmp);
        assert_eq!(latencies.count(), samples.len() as u64);
        for q in [0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999] {
            let want = crate::stats::percentile(&sorted, q);
            let got = latencies.quantile(q);
            assert!(got >= want, "q{q}: {got} ms below {want} ms");
            assert!(close(got, want), "q{q}: {got} ms for {want} ms");
        }
        assert!((latencies.quantile(1.0) - sorted[sorted.len() - 1]).abs() < f64::EPSILON);
        assert!((latencies.max_ms() - latencies.quantile(1.0)).abs() < f64::EPSILON);
    }

    #[test]
    fn histogram_quantiles_are_within_a_bucket() {
        let mut histogram = Latencies::default();
        assert!(histogram.quantile(0.5).abs() < f64::EPSILON, "empty is 0");
        // 1..=1000 ms, once each: the nearest ranks are 1 + round(999 q), so the median is the
        // 501st value, p99 the 990th; the maximum is exact.
        for ms in 1..=1000 {
            histogram.record(f64::from(ms));
        }
        assert_eq!(histogram.count(), 1000);
        for (q, want) in [(0.0, 1.0), (0.5, 501.0), (0.99, 990.0)] {
            let got = histogram.quantile(q);
            assert!(
                got >= want && close(got, want),
                "q{q}: {got} ms for {want} ms"
            );
        }
        assert!((histogram.quantile(1.0) - 1000.0).abs() < f64::EPSILON);
        // Sub-microsecond and absurd values land in the first and last bucket.
        let counters = histogram.counters();
        histogram.record(0.0);
        histogram.record(1e12);
        assert_eq!(histogram.count(), 1002);
        assert!((histogram.quantile(1.0) - 1e12).abs() < 1.0);
        assert_eq!(histogram.counters(), counters, "the histogram never grows");
    }

    #[test]
    fn small_values_are_exact_and_bad_ones_are_not_a_panic() {
        let latencies = Latencies::of(&[0.3, 0.4, 0.5, f64::NAN, f64::INFINITY]);
        assert_eq!(latencies.count(), 3, "non-finite values are left out");
        assert!((latencies.quantile(0.5) - 0.4).abs() < 1e-9);
        assert!((latencies.quantile(0.99) - 0.5).abs() < 1e-9);
        let mut odd = Latencies::default();
        assert!(odd.quantile(0.5).abs() < f64::EPSILON, "empty is 0");
        odd.record(-3.0);
        assert_eq!(odd.count(), 1);
        assert!(
            odd.quantile(0.5).abs() < f64::EPSILON,
            "negative counts as 0"
        );
    }

    #[test]
    fn merged_histograms_count_everything() {
        let mut a = Latencies::of(&[1.0, 2.0, 3.0]);
        let b = Latencies::of(&[4.0, 5000.0]);
        a.merge(&b);
        assert_eq!(a.count(), 5);
        assert!(close(a.quantile(0.5), 3.0), "{}", a.quantile(0.5));
        assert!((a.max_ms() - 5000.0).abs() < f64::EPSILON);
        a.merge(&Latencies::default());
        assert_eq!(a.count(), 5);
    }
}
