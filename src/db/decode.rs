//! Reading the text columns that hold a domain enum back into it: a value the domain does not
//! know is a broken row, reported with its column, not a panic.

/// Parses a stored enumeration; a value the code does not know is a broken invariant.
pub fn parse<T: std::str::FromStr>(column: &str, value: &str) -> anyhow::Result<T> {
    value.parse().map_err(|_| anyhow::anyhow!("stored {column} {value:?} is not a known value"))
}
