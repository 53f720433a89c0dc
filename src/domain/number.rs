//! Numbers as they enter the domain (KPI values, breakdowns, targets and thresholds): finite,
//! not negative unless the KPI allows it, and zero without a sign.
//!
//! `-0` is a float of its own: SQLite stores it as `0.0` and PostgreSQL as `-0.0`, so the two
//! databases would disagree and an answer could write `-0.0`. It is read as `0` here, once.

use super::FieldError;

/// A finite `value`, refused when negative and `allow_negative` is unset; `-0` becomes `0`.
pub fn quantity(field: &str, value: f64, allow_negative: bool) -> Result<f64, FieldError> {
    if !value.is_finite() {
        return Err(FieldError::new(field, "not_finite", "must be a finite number"));
    }
    if value < 0.0 && !allow_negative {
        return Err(FieldError::new(field, "negative", "must not be negative unless the KPI allows negative values"));
    }
    Ok(unsigned_zero(value))
}

/// `value` with a negative zero read as zero.
pub fn unsigned_zero(value: f64) -> f64 {
    if value == 0.0 { 0.0 } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_zero_is_zero() {
        for allow_negative in [false, true] {
            let x = quantity("v", -0.0, allow_negative).unwrap();
            assert!(x == 0.0 && x.is_sign_positive(), "{x:?}");
        }
        assert_eq!(quantity("v", -1.5, true).unwrap(), -1.5);
        assert_eq!(quantity("v", -1.5, false).unwrap_err().code, "negative");
        assert_eq!(quantity("v", f64::NAN, true).unwrap_err().code, "not_finite");
        assert_eq!(format!("{}", unsigned_zero(-0.0)), "0");
    }
}
