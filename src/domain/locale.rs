//! Numbers and dates as each language writes them: `1.234,5` and `02/03/2026` in Spanish,
//! `1,234.5` and `Mar 2, 2026` in English. Used by emails and pages alike.

use chrono::NaiveDate;

use super::enums::Language;

/// `value` with up to `decimals` decimals (trailing zeros dropped) and grouped thousands.
pub fn number(value: f64, decimals: usize, language: Language) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let fixed = format!("{:.*}", decimals, value.abs());
    let (int, frac) = fixed.split_once('.').unwrap_or((&fixed, ""));
    let frac = frac.trim_end_matches('0');
    let (group, mark) = match language {
        Language::Es => ('.', ','),
        Language::En => (',', '.'),
    };
    let digits: Vec<char> = int.chars().collect();
    let mut out = String::with_capacity(fixed.len() + digits.len() / 3 + 1);
    // Spanish style (RAE) leaves four-digit numbers ungrouped: 1234, but 12.345.
    let grouped = language == Language::En || digits.len() > 4;
    for (i, d) in digits.iter().enumerate() {
        if grouped && i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(group);
        }
        out.push(*d);
    }
    if !frac.is_empty() {
        out.push(mark);
        out.push_str(frac);
    }
    let negative = value < 0.0 && out.chars().any(|c| c.is_ascii_digit() && c != '0');
    if negative { format!("-{out}") } else { out }
}

/// A date in the language's short form.
pub fn date(date: NaiveDate, language: Language) -> String {
    match language {
        Language::Es => date.format("%d/%m/%Y").to_string(),
        Language::En => date.format("%b %-d, %Y").to_string(),
    }
}

/// Day and month only, for chart axes.
pub fn day_month(date: NaiveDate, language: Language) -> String {
    match language {
        Language::Es => date.format("%d/%m").to_string(),
        Language::En => date.format("%b %-d").to_string(),
    }
}

/// Month and year, for axes that span months.
pub fn month_year(date: NaiveDate, language: Language) -> String {
    match language {
        Language::Es => date.format("%m/%Y").to_string(),
        Language::En => date.format("%b %Y").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_and_marked_per_language() {
        assert_eq!(number(1234.5, 2, Language::Es), "1234,5");
        assert_eq!(number(12345.5, 2, Language::Es), "12.345,5");
        assert_eq!(number(1234.5, 2, Language::En), "1,234.5");
        assert_eq!(number(1_234_567.0, 0, Language::En), "1,234,567");
        assert_eq!(number(3.0, 2, Language::Es), "3");
        assert_eq!(number(-0.004, 2, Language::En), "0");
        assert_eq!(number(-2.5, 1, Language::Es), "-2,5");
        assert_eq!(number(999.999, 2, Language::En), "1,000");
    }

    #[test]
    fn dates_follow_the_language() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        assert_eq!(date(d, Language::Es), "02/03/2026");
        assert_eq!(date(d, Language::En), "Mar 2, 2026");
        assert_eq!(day_month(d, Language::En), "Mar 2");
        assert_eq!((month_year(d, Language::Es), month_year(d, Language::En)), ("03/2026".into(), "Mar 2026".into()));
    }
}
