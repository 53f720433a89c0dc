//! Money is an integer amount of minor units (cents) plus an ISO 4217 currency code.

use super::FieldError;

/// Active ISO 4217 currency codes.
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF",
    "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC",
    "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
    "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES",
    "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// An ISO 4217 code, upper-cased.
pub fn currency(field: &str, value: &str) -> Result<String, FieldError> {
    let code = value.trim().to_ascii_uppercase();
    if ISO_4217.binary_search(&code.as_str()).is_ok() {
        Ok(code)
    } else {
        Err(FieldError::new(field, "invalid_currency", "must be an ISO 4217 currency code such as EUR"))
    }
}

/// A non-negative amount in minor units.
pub fn amount(field: &str, minor: i64) -> Result<i64, FieldError> {
    if minor < 0 { Err(FieldError::new(field, "negative", "must not be negative")) } else { Ok(minor) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_list_is_sorted_for_binary_search() {
        assert!(ISO_4217.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn currencies() {
        assert_eq!(currency("c", "eur").unwrap(), "EUR");
        assert_eq!(currency("c", "COP").unwrap(), "COP");
        assert!(currency("c", "EURO").is_err());
        assert!(currency("c", "XYZ").is_err());
        assert!(amount("fee", -1).is_err());
        assert_eq!(amount("fee", 0).unwrap(), 0);
    }
}
