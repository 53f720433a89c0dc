//! Numbers, money, percentages, KPI values with their unit, dates, times and periods as each
//! language writes them: `1.234,5`, `4.500,00 €`, `12,5 %`, `05/12/2026`, `noviembre de
//! 2026` in Spanish; `1,234.5`, `€4,500.00`, `12.5%`, `Dec 5, 2026`, `November 2026` in
//! English. Pages, emails, digests and charts all write them through here.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::domain::enums::{KpiUnit, Language};

/// A non-breaking space: a unit or symbol never wraps away from its number.
pub const NBSP: char = '\u{a0}';

/// `value` with up to `decimals` decimals (trailing zeros dropped) and grouped thousands
/// (`12.345,5` / `12,345.5`; Spanish groups from four digits, as Spanish spreadsheets and
/// business documents do: `1.234`).
pub fn number(value: f64, decimals: usize, language: Language) -> String {
    fixed(value, decimals, language, false)
}

/// Like [`number`], but always with exactly `decimals` decimals (money: `4.500,00`).
pub fn number_exact(value: f64, decimals: usize, language: Language) -> String {
    fixed(value, decimals, language, true)
}

fn fixed(value: f64, decimals: usize, language: Language, keep_zeros: bool) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let text = format!("{:.*}", decimals, value.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let frac = if keep_zeros { frac } else { frac.trim_end_matches('0') };
    let (group, mark) = separators(language);
    let digits: Vec<char> = int.chars().collect();
    let mut out = String::with_capacity(text.len() + digits.len() / 3 + 1);
    for (i, d) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
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

/// The thousands separator and decimal mark of `language`.
pub fn separators(language: Language) -> (char, char) {
    match language {
        Language::Es => ('.', ','),
        Language::En => (',', '.'),
    }
}

/// Reads back a plain number such as a template parameter (`3`, `2.5`); not for user input.
pub fn read_number(text: &str) -> Option<f64> {
    text.trim().parse().ok()
}

/// The symbol a currency is written with, or its ISO code.
fn currency_symbol(currency: &str) -> &str {
    match currency {
        "EUR" => "€",
        "USD" => "US$",
        "GBP" => "£",
        other => other,
    }
}

/// An amount of money, always with cents: `4.500,00 €` / `€4,500.00`, `COP 10.00`.
pub fn money(amount: f64, currency: &str, language: Language) -> String {
    let symbol = currency_symbol(currency);
    let n = number_exact(amount, 2, language);
    match language {
        Language::Es => format!("{n}{NBSP}{symbol}"),
        Language::En if symbol.len() > 3 || symbol.chars().all(|c| c.is_ascii_uppercase()) => {
            format!("{symbol}{NBSP}{n}")
        }
        Language::En => format!("{symbol}{n}"),
    }
}

/// An amount in minor units (cents), as contracts store fees and budgets.
pub fn money_minor(minor: i64, currency: &str, language: Language) -> String {
    money(minor as f64 / 100.0, currency, language)
}

/// A percentage already in percent units: `12,5 %` / `12.5%`.
pub fn percent(value: f64, decimals: usize, language: Language) -> String {
    match language {
        Language::Es => format!("{}{NBSP}%", number(value, decimals, language)),
        Language::En => format!("{}%", number(value, decimals, language)),
    }
}

/// A KPI value in its unit: `12,5 %`, `1.234,56 €` (currency values are stored in cents),
/// `45 min`, `2,5 h`, `0,25`, `1.234`.
pub fn kpi_value(value: f64, unit: KpiUnit, currency: &str, language: Language) -> String {
    kpi_value_with(value, unit, currency, 1, language)
}

/// A KPI value with up to `decimals` decimals (chart axes choose theirs from the range);
/// ratios keep at least two and money always shows cents.
pub fn kpi_value_with(value: f64, unit: KpiUnit, currency: &str, decimals: usize, language: Language) -> String {
    match unit {
        KpiUnit::Percent => percent(value, decimals, language),
        KpiUnit::CurrencyMinor => money(value / 100.0, currency, language),
        KpiUnit::Minutes => format!("{}{NBSP}min", number(value, decimals, language)),
        KpiUnit::Hours => format!("{}{NBSP}h", number(value, decimals, language)),
        KpiUnit::Ratio => number(value, decimals.max(2), language),
        KpiUnit::Count | KpiUnit::Score => number(value, decimals, language),
    }
}

/// The unit as an axis or a column names it: `%`, `€`, `min`, `h`; none for counts.
pub fn unit_symbol(unit: KpiUnit, currency: &str) -> Option<&str> {
    match unit {
        KpiUnit::Percent => Some("%"),
        KpiUnit::CurrencyMinor => Some(currency_symbol(currency)),
        KpiUnit::Minutes => Some("min"),
        KpiUnit::Hours => Some("h"),
        KpiUnit::Count | KpiUnit::Ratio | KpiUnit::Score => None,
    }
}

/// A growth factor: `× 83,3` / `× 83.3`.
pub fn factor(value: f64, language: Language) -> String {
    format!("×{NBSP}{}", number(value, 1, language))
}

/// A date in the language's short form: `05/12/2026` / `Dec 5, 2026`.
pub fn date(date: NaiveDate, language: Language) -> String {
    match language {
        Language::Es => date.format("%d/%m/%Y").to_string(),
        Language::En => date.format("%b %-d, %Y").to_string(),
    }
}

/// An instant as a date and a time in `tz`: `05/12/2026 14:05` / `Dec 5, 2026 14:05`.
pub fn datetime(at: DateTime<Utc>, tz: Tz, language: Language) -> String {
    let local = at.with_timezone(&tz);
    format!("{} {}", date(local.date_naive(), language), local.format("%H:%M"))
}

/// The local date of an instant in `tz`.
pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// Day and month only, for chart axes: `05/12` / `Dec 5`.
pub fn day_month(date: NaiveDate, language: Language) -> String {
    match language {
        Language::Es => date.format("%d/%m").to_string(),
        Language::En => date.format("%b %-d").to_string(),
    }
}

/// Month and year, for axes that span months: `12/2026` / `Dec 2026`.
pub fn month_year(date: NaiveDate, language: Language) -> String {
    match language {
        Language::Es => date.format("%m/%Y").to_string(),
        Language::En => date.format("%b %Y").to_string(),
    }
}

const MONTHS_ES: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A month by name: `noviembre de 2026` / `November 2026`.
pub fn month_name(date: NaiveDate, language: Language) -> String {
    let m = date.month0() as usize;
    match language {
        Language::Es => format!("{} de {}", MONTHS_ES[m], date.year()),
        Language::En => format!("{} {}", MONTHS_EN[m], date.year()),
    }
}

/// A span of days as a person names it: a whole calendar month by its name (`noviembre de
/// 2026`), a whole quarter as `T4 2026` / `Q4 2026`, one day as its date, anything else as
/// `01/11/2026 – 15/11/2026`.
pub fn period(start: NaiveDate, end: NaiveDate, language: Language) -> String {
    let month_start = start.day() == 1;
    let last_of_month = end.succ_opt().is_some_and(|n| n.day() == 1);
    if start == end {
        return date(start, language);
    }
    if month_start && last_of_month && start.year() == end.year() {
        if start.month() == end.month() {
            return month_name(start, language);
        }
        if start.month0().is_multiple_of(3) && end.month0() == start.month0() + 2 {
            let q = start.month0() / 3 + 1;
            return match language {
                Language::Es => format!("T{q} {}", start.year()),
                Language::En => format!("Q{q} {}", start.year()),
            };
        }
    }
    format!("{} – {}", date(start, language), date(end, language))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn numbers_are_grouped_and_marked_per_language() {
        assert_eq!(number(1234.5, 2, Language::Es), "1.234,5");
        assert_eq!(number(12345.5, 2, Language::Es), "12.345,5");
        assert_eq!(number(123.0, 2, Language::Es), "123");
        assert_eq!(number(1234.5, 2, Language::En), "1,234.5");
        assert_eq!(number(1_234_567.0, 0, Language::En), "1,234,567");
        assert_eq!(number(3.0, 2, Language::Es), "3");
        assert_eq!(number(-0.004, 2, Language::En), "0");
        assert_eq!(number(-2.5, 1, Language::Es), "-2,5");
        assert_eq!(number(999.999, 2, Language::En), "1,000");
        assert_eq!(number_exact(4500.0, 2, Language::Es), "4.500,00");
    }

    #[test]
    fn money_always_shows_cents() {
        assert_eq!(money(4500.0, "EUR", Language::Es), "4.500,00\u{a0}€");
        assert_eq!(money(1234.5, "EUR", Language::Es), "1.234,50\u{a0}€");
        assert_eq!(money(1234.5, "EUR", Language::En), "€1,234.50");
        assert_eq!(money(10.0, "COP", Language::En), "COP\u{a0}10.00");
        assert_eq!(money_minor(650_000, "EUR", Language::Es), "6.500,00\u{a0}€");
    }

    #[test]
    fn kpi_values_carry_their_unit() {
        assert_eq!(kpi_value(5.5, KpiUnit::Percent, "EUR", Language::Es), "5,5\u{a0}%");
        assert_eq!(kpi_value(5.5, KpiUnit::Percent, "EUR", Language::En), "5.5%");
        assert_eq!(kpi_value(123_456.0, KpiUnit::CurrencyMinor, "EUR", Language::Es), "1.234,56\u{a0}€");
        assert_eq!(kpi_value(45.0, KpiUnit::Minutes, "EUR", Language::Es), "45\u{a0}min");
        assert_eq!(kpi_value(0.25, KpiUnit::Ratio, "EUR", Language::En), "0.25");
        assert_eq!(kpi_value(12_000.0, KpiUnit::Count, "EUR", Language::Es), "12.000");
        assert_eq!(factor(83.333, Language::Es), "×\u{a0}83,3");
        assert_eq!(unit_symbol(KpiUnit::CurrencyMinor, "EUR"), Some("€"));
    }

    #[test]
    fn dates_follow_the_language() {
        let day = d(2026, 3, 2);
        assert_eq!(date(day, Language::Es), "02/03/2026");
        assert_eq!(date(day, Language::En), "Mar 2, 2026");
        assert_eq!(day_month(day, Language::En), "Mar 2");
        assert_eq!(
            (month_year(day, Language::Es), month_year(day, Language::En)),
            ("03/2026".into(), "Mar 2026".into())
        );
        let at = Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).unwrap();
        assert_eq!(datetime(at, chrono_tz::Europe::Madrid, Language::Es), "29/03/2026 03:30");
        assert_eq!(datetime(at, chrono_tz::America::Bogota, Language::En), "Mar 28, 2026 20:30");
    }

    #[test]
    fn periods_are_named_as_people_name_them() {
        assert_eq!(period(d(2026, 11, 1), d(2026, 11, 30), Language::Es), "noviembre de 2026");
        assert_eq!(period(d(2026, 2, 1), d(2026, 2, 28), Language::En), "February 2026");
        assert_eq!(period(d(2026, 10, 1), d(2026, 12, 31), Language::Es), "T4 2026");
        assert_eq!(period(d(2026, 10, 1), d(2026, 12, 31), Language::En), "Q4 2026");
        assert_eq!(period(d(2026, 1, 31), d(2026, 2, 28), Language::Es), "31/01/2026 – 28/02/2026");
        assert_eq!(period(d(2026, 11, 2), d(2026, 11, 8), Language::En), "Nov 2, 2026 – Nov 8, 2026");
        assert_eq!(period(d(2026, 11, 2), d(2026, 11, 2), Language::Es), "02/11/2026");
    }
}
