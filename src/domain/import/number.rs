//! Numbers as spreadsheets write them: the decimal mark and thousands groups of each
//! convention, percentages, and the shapes that are ambiguous (see the module comment of `domain::import`).

// ----------------------------------------------------------------------------------------
// Numbers

/// How a number whose only separator could either group thousands or mark decimals
/// (`1.234`, `1,234`) is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalMark {
    /// `,` marks decimals, `.` groups thousands (Spanish; `;`-delimited files).
    Comma,
    /// `.` marks decimals, `,` groups thousands (English; `,`-delimited files).
    Point,
    /// No convention: an ambiguous number is refused.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberError {
    Empty,
    /// NaN, infinity, or too large for a 64-bit float.
    NotFinite,
    /// Could be read either way and the file has no convention.
    Ambiguous,
    Invalid,
}

/// Spaces that may surround a number or group its thousands.
pub(super) const GROUP_SPACES: [char; 5] = [' ', '\u{a0}', '\u{202f}', '\u{2009}', '\u{2007}'];

/// Parses a number as spreadsheets write it; the rule is in the module documentation.
/// Also accepted: a leading `+`, `-` or `−`, accounting negatives `(3,2)`, thousands grouped
/// by spaces, and an exponent (`1,5E+03`, as Excel writes large numbers).
pub fn parse_number(raw: &str, mark: DecimalMark) -> Result<f64, NumberError> {
    let s = raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if s.is_empty() {
        return Err(NumberError::Empty);
    }
    let lower = s.to_lowercase();
    if matches!(lower.trim_start_matches(['+', '-', '−']), "nan" | "inf" | "infinity" | "∞") {
        return Err(NumberError::NotFinite);
    }
    let (s, parenthesised) = match s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        Some(inner) => (inner.trim(), true),
        None => (s, false),
    };
    let s = s.strip_suffix('%').map_or(s, str::trim_end);
    let (negative, s) = match s.chars().next() {
        Some(c @ ('-' | '−' | '+')) if !parenthesised => (c != '+', &s[c.len_utf8()..]),
        _ => (parenthesised, s),
    };
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let has_exponent = exponent.is_some();
    let exponent = match exponent {
        None => "0",
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(NumberError::Invalid);
            }
            e
        }
    };
    let (int_digits, fraction) = split_mantissa(mantissa, mark, has_exponent)?;
    let int_digits = if int_digits.is_empty() { "0" } else { &int_digits };
    let fraction = if fraction.is_empty() { "0" } else { fraction };
    let sign = if negative { "-" } else { "" };
    let value: f64 = format!("{sign}{int_digits}.{fraction}e{exponent}").parse().map_err(|_| NumberError::Invalid)?;
    if value.is_finite() { Ok(value) } else { Err(NumberError::NotFinite) }
}

/// Splits a mantissa into its integer digits (grouping removed) and fraction digits.
pub(super) fn split_mantissa(m: &str, mark: DecimalMark, has_exponent: bool) -> Result<(String, &str), NumberError> {
    let allowed = |c: char| c.is_ascii_digit() || c == '.' || c == ',' || GROUP_SPACES.contains(&c);
    if m.is_empty() || !m.chars().all(allowed) {
        return Err(NumberError::Invalid);
    }
    let dots = m.matches('.').count();
    let commas = m.matches(',').count();
    let spaced = m.contains(GROUP_SPACES);
    let decimal = match (dots, commas) {
        (0, 0) => None,
        (1, 0) | (0, 1) => {
            let sep = if dots == 1 { '.' } else { ',' };
            let (before, after) = m.split_once(sep).unwrap_or((m, ""));
            let looks_grouped = !spaced
                && !has_exponent
                && (1..=3).contains(&before.len())
                && !before.starts_with('0')
                && after.len() == 3
                && after.bytes().all(|b| b.is_ascii_digit());
            match (looks_grouped, mark, sep) {
                (false, _, _) => Some(sep),
                (true, DecimalMark::Unknown, _) => return Err(NumberError::Ambiguous),
                (true, DecimalMark::Comma, '.') | (true, DecimalMark::Point, ',') => None,
                (true, _, _) => Some(sep),
            }
        }
        (_, 0) | (0, _) => None,
        _ => {
            let last = if m.rfind('.') > m.rfind(',') { '.' } else { ',' };
            if m.matches(last).count() != 1 {
                return Err(NumberError::Invalid);
            }
            Some(last)
        }
    };
    let (int_part, fraction) = match decimal {
        Some(d) => m.split_once(d).unwrap_or((m, "")),
        None => (m, ""),
    };
    if decimal.is_some() && (fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit())) {
        return Err(NumberError::Invalid);
    }
    let groups: Vec<&str> = int_part.split(|c: char| c == '.' || c == ',' || GROUP_SPACES.contains(&c)).collect();
    let digits = |g: &str| g.bytes().all(|b| b.is_ascii_digit());
    if groups.len() > 1 {
        let (first, rest) = (groups[0], &groups[1..]);
        let first_ok = (1..=3).contains(&first.len()) && digits(first) && !first.starts_with('0');
        if !first_ok || !rest.iter().all(|g| g.len() == 3 && digits(g)) {
            return Err(NumberError::Invalid);
        }
    } else if !digits(int_part) || (int_part.is_empty() && decimal.is_none()) {
        return Err(NumberError::Invalid);
    }
    Ok((groups.concat(), fraction))
}

/// Multiplies by 100 in decimal, so that a cell holding 0.123 gives exactly 12.3.
pub(super) fn percent_units(x: f64) -> f64 {
    let scientific = format!("{x:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    format!("{mantissa}e{}", exponent + 2).parse().unwrap_or(x * 100.0)
}

/// Whether an Excel number format shows its value times 100 (a `%` outside quotes, escapes
/// and brackets).
pub(super) fn is_percent_format(code: &str) -> bool {
    let mut chars = code.chars();
    let (mut quoted, mut bracketed) = (false, false);
    while let Some(c) = chars.next() {
        match c {
            '"' if !bracketed => quoted = !quoted,
            '\\' | '_' | '*' if !quoted && !bracketed => {
                chars.next();
            }
            '[' if !quoted => bracketed = true,
            ']' if !quoted => bracketed = false,
            '%' if !quoted && !bracketed => return true,
            _ => {}
        }
    }
    false
}
