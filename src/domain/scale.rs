//! Round axis ranges for charts: the email's PNG charts and the pages' SVG charts label
//! their gridlines from the same range, so both show the same numbers.

/// The value range shown for `values` (the series and the target), widened to round
/// numbers so that the three gridlines (bottom, middle, top) carry readable labels.
pub fn axis_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) =
        values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let span = (hi - lo).max(hi.abs().max(lo.abs()) * 0.1).max(1e-9);
    let mut step = nice_step(span * 1.2 / 2.0);
    for _ in 0..8 {
        let bottom = (lo / step).floor() * step;
        if bottom + 2.0 * step >= hi {
            return (bottom, bottom + 2.0 * step);
        }
        step = nice_step(step * 1.01);
    }
    (lo, hi)
}

/// The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `raw`.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw * (1.0 - 1e-12)).unwrap_or(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_round_and_hold_every_value() {
        assert_eq!(axis_range([1200.0, 1710.0, 1500.0].into_iter()), (1000.0, 2000.0));
        let (lo, hi) = axis_range([2.1, 3.0, 2.6].into_iter());
        assert!(lo <= 2.1 && hi >= 3.0);
        assert_eq!(axis_range(std::iter::empty()), (0.0, 1.0));
        assert_eq!(axis_range([f64::NAN].into_iter()), (0.0, 1.0));
        let (lo, hi) = axis_range([0.0, 0.0].into_iter());
        assert!(hi > lo);
    }
}
