//! Import of a period's figures from an uploaded CSV or XLSX file.
//!
//! Agencies keep their figures in spreadsheets, and re-typing them into a form is where
//! mistakes creep in. This module turns the uploaded bytes into one value per KPI, or refuses
//! the whole file listing every problem by row and column (all or nothing). It stores nothing.
//!
//! - Format by content: a zip (`PK\x03\x04`) holding `xl/workbook.xml` is XLSX, text is CSV;
//!   a `.csv`/`.xlsx` name that disagrees is [`ImportError::Mislabelled`].
//! - Zip bombs: the central directory's declared sizes (total, and the ratio of every entry
//!   over 1 MiB) are judged before anything is inflated; the zip reader refuses to inflate an
//!   entry past its declared size, so a lying archive fails instead of growing. Cells are
//!   streamed, never laid out as a grid, so far-apart cells cannot force a huge allocation.
//! - CSV: UTF-8 with or without byte-order mark (or UTF-16 with one), else Windows-1252 as
//!   Spanish Excel writes it. Delimiter: Excel's `sep=X` first line, else the most frequent of
//!   `;`, tab, `,` in the header line (ties in that order). Quoting per RFC 4180.
//! - The header is the first non-empty row (see [`Column`] for its names). Rows are numbered
//!   as a spreadsheet shows them; empty rows are skipped.
//!
//! Number rule ([`parse_number`]): surrounding spaces (also non-breaking) and a trailing `%`
//! are dropped; a percentage stays in percent units (`12,5 %` is 12.5). If both `.` and `,`
//! appear, the last one is the decimal mark and the other groups thousands. If only one
//! appears: several times, it groups thousands; once, it is the decimal mark, unless the
//! number has the shape `1.234` / `123,456` (one to three digits not starting with 0, the
//! mark, exactly three digits). That shape is read by the file's convention: a `;`-delimited
//! file uses the decimal comma, as Spanish Excel does (`1.234` is 1234, `1,234` is 1.234); a
//! `,`-delimited file the decimal point (`1,234` is 1234). Tab-delimited files and text cells
//! of a workbook have no convention, so that shape is refused there as ambiguous. Numeric
//! workbook cells need no parsing; one formatted as a percentage (holding 0.125, showing
//! 12.5 %) is scaled to percent units like its CSV export. Currency symbols are refused: the
//! unit is the KPI's.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::Cursor;

use calamine::{DataRef, Reader, SheetType, SheetVisible, Xlsx};
use strum::IntoEnumIterator;
use uuid::Uuid;

use super::{
    Violations,
    enums::{Channel, Language},
    text,
};

/// Longest comment accepted for one value, in characters.
pub const COMMENT_MAX_CHARS: usize = 2_000;

/// Most row errors listed for one file; the rest are only counted, so that a wrong file
/// cannot produce an answer of megabytes.
pub const MAX_LISTED_ERRORS: usize = 1_000;

/// Compression ratios are only judged for zip entries larger than this: tiny files of
/// repeated bytes legitimately compress very well.
const RATIO_CHECKED_FROM: u64 = 1 << 20;

/// The most a single upload may cost to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLimits {
    /// Size of the uploaded file.
    pub max_upload_bytes: usize,
    /// Total declared uncompressed size of an XLSX archive's entries.
    pub max_uncompressed_bytes: u64,
    /// Largest uncompressed ÷ compressed size of an XLSX entry over 1 MiB.
    pub max_compression_ratio: u64,
    /// Data rows (the header not counted).
    pub max_rows: usize,
}

impl Default for ImportLimits {
    fn default() -> Self {
        Self {
            max_upload_bytes: 5 << 20,
            max_uncompressed_bytes: 50 << 20,
            max_compression_ratio: 100,
            max_rows: 10_000,
        }
    }
}

/// A KPI of the engagement a file may report on.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiRef {
    pub id: Uuid,
    pub name: String,
    /// Channels the KPI is broken down by; other channel cells are refused.
    pub channels: Vec<Channel>,
}

/// One KPI's figure for the period, as read from one row.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedValue {
    /// Row it came from, as a spreadsheet numbers it, so that later checks (such as a
    /// negative value for a KPI that forbids it) can name it as `rows[N].value`.
    pub row: usize,
    pub kpi_id: Uuid,
    pub value: f64,
    pub breakdown: BTreeMap<Channel, f64>,
    pub comment: Option<String>,
    pub evidence_url: Option<String>,
}

/// A problem in one cell (or, for the header row, one column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based row number as a spreadsheet shows it; the header is usually row 1.
    pub row: usize,
    /// Canonical column name (`kpi`, `value`, `comment`, `evidence_url`, a channel), the
    /// header as written for an unknown or repeated column, or the column letter (`F`) for a
    /// cell under a column without a header.
    pub column: String,
    pub code: String,
    pub message: String,
}

impl RowError {
    fn new(row: usize, column: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self { row, column: column.into(), code: code.into(), message: message.into() }
    }

    /// The JSON-path-like field name used in [`Violations`]: `rows[3].value`, or
    /// `rows[1]["Fecha alta"]` when the column is not a plain identifier.
    pub fn field(&self) -> String {
        let plain = !self.column.is_empty() && self.column.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if plain {
            format!("rows[{}].{}", self.row, self.column)
        } else {
            format!("rows[{}][{}]", self.row, serde_json::Value::String(self.column.clone()))
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {}, column {}: {}", self.row, self.column, self.message)
    }
}

/// Why a file was refused. Every variant but [`ImportError::Rows`] concerns the file as a whole.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    #[error("the file has no data rows")]
    Empty,
    #[error("the file is larger than {}", describe_bytes(*limit as u64))]
    TooLarge { limit: usize },
    #[error("the file has more than {limit} data rows")]
    TooManyRows { limit: usize },
    #[error("the workbook would uncompress to more than {}", describe_bytes(*limit))]
    UncompressedTooLarge { limit: u64 },
    #[error("the workbook entry {entry} is compressed more than {limit}:1, as zip bombs are")]
    SuspiciousCompression { entry: String, limit: u64 },
    #[error("only .csv and .xlsx files can be imported, not {}", describe_extension(extension))]
    UnsupportedType { extension: String },
    #[error("the file is named .{declared} but holds {}", describe_content(detected))]
    Mislabelled { declared: String, detected: String },
    #[error("the file cannot be read: {0}")]
    Unreadable(String),
    #[error("{} problem(s) in the file's rows", .errors.len() + .omitted)]
    Rows {
        /// In file order: by row, then by column position.
        errors: Vec<RowError>,
        /// Further problems beyond [`MAX_LISTED_ERRORS`], not listed.
        omitted: usize,
    },
}

fn describe_bytes(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) { format!("{} MiB", n >> 20) } else { format!("{n} bytes") }
}

fn describe_extension(extension: &str) -> String {
    if extension.is_empty() { "a file without extension".into() } else { format!(".{extension}") }
}

fn describe_content(format: &str) -> &'static str {
    if format == "xlsx" { "an XLSX workbook" } else { "CSV text" }
}

impl ImportError {
    /// Every problem as field errors: `file` for the file as a whole, `rows[N].column` for a
    /// cell (see [`RowError::field`]).
    pub fn violations(&self) -> Violations {
        let code = match self {
            ImportError::Rows { errors, omitted } => {
                let mut v = Violations::new();
                for e in errors {
                    v.add(e.field(), &e.code, e.message.clone());
                }
                if *omitted > 0 {
                    let message =
                        format!("{omitted} more problems are not listed: fix these and upload the file again");
                    v.add("file", "too_many_errors", message);
                }
                return v;
            }
            ImportError::Empty => "empty",
            ImportError::TooLarge { .. } => "too_large",
            ImportError::TooManyRows { .. } => "too_many_rows",
            ImportError::UncompressedTooLarge { .. } => "too_large_uncompressed",
            ImportError::SuspiciousCompression { .. } => "suspicious_compression",
            ImportError::UnsupportedType { .. } => "unsupported_type",
            ImportError::Mislabelled { .. } => "mislabelled",
            ImportError::Unreadable(_) => "unreadable",
        };
        Violations::single("file", code, self.to_string())
    }
}

impl From<ImportError> for Violations {
    fn from(e: ImportError) -> Self {
        e.violations()
    }
}

/// Reads the figures in `bytes`, uploaded as `file_name`, for the given KPIs.
pub fn parse(
    file_name: &str,
    bytes: &[u8],
    kpis: &[KpiRef],
    limits: &ImportLimits,
) -> Result<Vec<ImportedValue>, ImportError> {
    if bytes.len() > limits.max_upload_bytes {
        return Err(ImportError::TooLarge { limit: limits.max_upload_bytes });
    }
    let declared = declared_format(file_name)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ImportError::Empty);
    }
    let table = match (declared, detect(bytes)?) {
        (Format::Csv, Content::Text(text)) => read_csv(&text, limits)?,
        (Format::Xlsx, Content::Workbook) => read_xlsx(bytes, limits)?,
        (declared, content) => {
            return Err(ImportError::Mislabelled {
                declared: declared.name().into(),
                detected: content.format().name().into(),
            });
        }
    };
    interpret(table, kpis)
}

/// A CSV file to fill in: UTF-8 with byte-order mark (so that Excel reads accents right),
/// `;`-delimited, one row per KPI with its name, its headers in `lang` ([`Column::header`]);
/// [`parse`] reads either language's headers. Names that a spreadsheet would take for a
/// formula are written with a leading apostrophe, which [`parse`] ignores.
pub fn template_csv(kpis: &[KpiRef], lang: Language) -> Vec<u8> {
    let channels: Vec<Channel> = Channel::iter().filter(|c| kpis.iter().any(|k| k.channels.contains(c))).collect();
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .flexible(false)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    let mut header: Vec<String> =
        [Column::Kpi, Column::Value, Column::Comment, Column::EvidenceUrl].iter().map(|c| c.header(lang)).collect();
    header.extend(channels.iter().map(|c| Column::Channel(*c).header(lang)));
    writer.write_record(&header).expect("writing to memory cannot fail");
    for kpi in kpis {
        let name = if kpi.name.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{}", kpi.name)
        } else {
            kpi.name.clone()
        };
        let mut record = vec![name];
        record.resize(header.len(), String::new());
        writer.write_record(&record).expect("writing to memory cannot fail");
    }
    writer.into_inner().expect("writing to memory cannot fail")
}

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
const GROUP_SPACES: [char; 5] = [' ', '\u{a0}', '\u{202f}', '\u{2009}', '\u{2007}'];

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
fn split_mantissa(m: &str, mark: DecimalMark, has_exponent: bool) -> Result<(String, &str), NumberError> {
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
fn percent_units(x: f64) -> f64 {
    let scientific = format!("{x:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    format!("{mantissa}e{}", exponent + 2).parse().unwrap_or(x * 100.0)
}

/// Whether an Excel number format shows its value times 100 (a `%` outside quotes, escapes
/// and brackets).
fn is_percent_format(code: &str) -> bool {
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

// ----------------------------------------------------------------------------------------
// Format detection

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Xlsx,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

enum Content {
    Text(String),
    Workbook,
}

impl Content {
    fn format(&self) -> Format {
        match self {
            Content::Text(_) => Format::Csv,
            Content::Workbook => Format::Xlsx,
        }
    }
}

fn declared_format(file_name: &str) -> Result<Format, ImportError> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let extension = base.rsplit_once('.').map(|(_, e)| e.trim().to_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "csv" => Ok(Format::Csv),
        "xlsx" => Ok(Format::Xlsx),
        _ => Err(ImportError::UnsupportedType { extension }),
    }
}

fn detect(bytes: &[u8]) -> Result<Content, ImportError> {
    if bytes.starts_with(b"PK\x03\x04") {
        let archive = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| ImportError::Unreadable(format!("the zip archive is damaged ({e})")))?;
        return if archive.index_for_name("xl/workbook.xml").is_some() {
            Ok(Content::Workbook)
        } else {
            Err(ImportError::Unreadable(
                "a zip archive but not an XLSX workbook (an OpenDocument file? save it as .xlsx)".into(),
            ))
        };
    }
    if bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Err(ImportError::Unreadable(
            "an Excel 97-2003 (.xls) or password-protected workbook: save it as .xlsx or CSV without a password".into(),
        ));
    }
    decode_text(bytes).map(Content::Text)
}

/// UTF-8 or UTF-16 after a byte-order mark; UTF-8 when valid; Windows-1252 otherwise.
fn decode_text(bytes: &[u8]) -> Result<String, ImportError> {
    let text = match encoding_rs::Encoding::for_bom(bytes) {
        Some((encoding, bom)) => encoding
            .decode_without_bom_handling_and_without_replacement(&bytes[bom..])
            .ok_or_else(|| ImportError::Unreadable(format!("the file is marked as {} but is not", encoding.name())))?,
        None => match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0,
        },
    };
    if text.contains('\0') {
        return Err(ImportError::Unreadable("not a CSV text file nor an XLSX workbook".into()));
    }
    Ok(text.into_owned())
}

// ----------------------------------------------------------------------------------------
// Reading into a table

#[derive(Debug, Clone, PartialEq)]
enum CellValue {
    Text(String),
    Number(f64),
    /// A cell that is neither text nor a number, described for messages ("a date").
    Other(String),
}

impl CellValue {
    fn is_blank(&self) -> bool {
        matches!(self, CellValue::Text(t) if t.trim().is_empty())
    }

    fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            CellValue::Text(t) => Some(Cow::Borrowed(t)),
            CellValue::Number(x) => Some(Cow::Owned(x.to_string())),
            CellValue::Other(_) => None,
        }
    }
}

/// Non-empty cells of the header and data rows, by column index.
struct Table {
    header_row: usize,
    header: Vec<(usize, CellValue)>,
    rows: Vec<(usize, Vec<(usize, CellValue)>)>,
    mark: DecimalMark,
}

fn read_csv(text: &str, limits: &ImportLimits) -> Result<Table, ImportError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (text, hinted) = match sep_hint(text) {
        Some((rest, delimiter)) => (rest, Some(delimiter)),
        None => (text, None),
    };
    let delimiter = hinted.unwrap_or_else(|| guess_delimiter(text));
    let mark = match delimiter {
        b';' => DecimalMark::Comma,
        b',' => DecimalMark::Point,
        _ => DecimalMark::Unknown,
    };
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    // A spreadsheet shows one row per line, blank lines included, except the lines that
    // continue a quoted field. The reader's own line count skips blank lines, so rows are
    // counted from the record's byte offset.
    let bytes = text.as_bytes();
    let (mut counted_to, mut line_breaks_before, mut continuation_lines) = (0usize, 0usize, 0usize);
    let mut header: Option<(usize, Vec<(usize, CellValue)>)> = None;
    let mut rows = Vec::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(ImportError::Unreadable(format!("the CSV text is malformed ({e})"))),
        }
        let mut start = record.position().map_or(counted_to, |p| p.byte() as usize).max(counted_to);
        while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        line_breaks_before += line_breaks(&bytes[counted_to..start.min(bytes.len())]);
        counted_to = start.min(bytes.len());
        let row = line_breaks_before - continuation_lines + 1;
        continuation_lines += record.iter().map(|f| line_breaks(f.as_bytes())).sum::<usize>();
        let cells: Vec<(usize, CellValue)> = record
            .iter()
            .enumerate()
            .filter(|(_, f)| !f.trim().is_empty())
            .map(|(i, f)| (i, CellValue::Text(f.to_string())))
            .collect();
        if cells.is_empty() {
            continue;
        }
        if header.is_none() {
            header = Some((row, cells));
        } else if rows.len() == limits.max_rows {
            return Err(ImportError::TooManyRows { limit: limits.max_rows });
        } else {
            rows.push((row, cells));
        }
    }
    let (header_row, header) = header.ok_or(ImportError::Empty)?;
    Ok(Table { header_row, header, rows, mark })
}

/// Line breaks in `bytes`: `\r\n`, `\n` or a lone `\r`.
fn line_breaks(bytes: &[u8]) -> usize {
    let lone_cr = |i: usize| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n');
    (0..bytes.len()).filter(|&i| bytes[i] == b'\n' || lone_cr(i)).count()
}

/// Excel's `sep=;` first line, which names the delimiter and is not shown as a row.
fn sep_hint(text: &str) -> Option<(&str, u8)> {
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let hint = first.trim_end_matches('\r').strip_prefix("sep=")?;
    match hint.as_bytes() {
        [d @ (b';' | b',' | b'\t' | b'|')] => Some((rest, *d)),
        _ => None,
    }
}

/// The most frequent of `;`, tab and `,` outside quotes in the first non-blank line.
fn guess_delimiter(text: &str) -> u8 {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut counts = [(b';', 0usize), (b'\t', 0), (b',', 0)];
    let mut quoted = false;
    for b in line.bytes() {
        match b {
            b'"' => quoted = !quoted,
            _ if quoted => {}
            _ => {
                if let Some(entry) = counts.iter_mut().find(|(d, _)| *d == b) {
                    entry.1 += 1;
                }
            }
        }
    }
    // `max_by_key` keeps the last maximum: iterate in reverse so ties go to `;`, then tab.
    counts.iter().rev().max_by_key(|(_, n)| *n).map_or(b';', |(d, _)| *d)
}

fn read_xlsx(bytes: &[u8], limits: &ImportLimits) -> Result<Table, ImportError> {
    check_archive(bytes, limits)?;
    let unreadable = |e: calamine::XlsxError| ImportError::Unreadable(format!("the workbook is damaged ({e})"));
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let sheets = workbook.sheets_metadata();
    let worksheets = || sheets.iter().filter(|s| s.typ == SheetType::WorkSheet);
    let sheet = worksheets()
        .find(|s| s.visible == SheetVisible::Visible)
        .or_else(|| worksheets().next())
        .map(|s| s.name.clone())
        .ok_or_else(|| ImportError::Unreadable("the workbook has no worksheet".into()))?;
    let mut cells = workbook.worksheet_cells_reader(&sheet).map_err(unreadable)?;
    let percent: Vec<bool> = cells
        .styles()
        .iter()
        .map(|s| s.number_format.as_ref().is_some_and(|f| is_percent_format(&f.format_code)))
        .collect();
    let mut grid: BTreeMap<u32, BTreeMap<u32, CellValue>> = BTreeMap::new();
    while let Some((cell, style)) = cells.next_cell_with_style_id().map_err(unreadable)? {
        let scaled = |x: f64| if percent.get(style).copied().unwrap_or(false) { percent_units(x) } else { x };
        let value = match cell.get_value() {
            DataRef::Empty => continue,
            DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) if s.trim().is_empty() => continue,
            DataRef::SharedString(s) if s.trim().is_empty() => continue,
            DataRef::String(s) => CellValue::Text(s.clone()),
            DataRef::SharedString(s) => CellValue::Text((*s).to_string()),
            DataRef::Int(i) => CellValue::Number(scaled(*i as f64)),
            DataRef::Float(x) => CellValue::Number(scaled(*x)),
            DataRef::Bool(_) => CellValue::Other("a true/false value".into()),
            DataRef::DateTime(_) | DataRef::DateTimeIso(_) => CellValue::Other("a date or time".into()),
            DataRef::DurationIso(_) => CellValue::Other("a duration".into()),
            DataRef::Error(e) => CellValue::Other(format!("the error {e}")),
        };
        let (row, column) = cell.get_position();
        if !grid.contains_key(&row) && grid.len() > limits.max_rows {
            return Err(ImportError::TooManyRows { limit: limits.max_rows });
        }
        grid.entry(row).or_default().insert(column, value);
    }
    let mut rows =
        grid.into_iter().map(|(r, cells)| (r as usize + 1, cells.into_iter().map(|(c, v)| (c as usize, v)).collect()));
    let (header_row, header) = rows.next().ok_or(ImportError::Empty)?;
    Ok(Table { header_row, header, rows: rows.collect(), mark: DecimalMark::Unknown })
}

/// Judges the archive by its central directory, before anything is inflated.
fn check_archive(bytes: &[u8], limits: &ImportLimits) -> Result<(), ImportError> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ImportError::Unreadable(format!("the zip archive is damaged ({e})")))?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_data(i)
            .map_err(|e| ImportError::Unreadable(format!("the zip archive is damaged ({e})")))?;
        let (size, compressed) = (entry.size(), entry.compressed_size());
        total = total.saturating_add(size);
        if total > limits.max_uncompressed_bytes {
            return Err(ImportError::UncompressedTooLarge { limit: limits.max_uncompressed_bytes });
        }
        if size > RATIO_CHECKED_FROM && size / compressed.max(1) > limits.max_compression_ratio {
            return Err(ImportError::SuspiciousCompression {
                entry: String::from_utf8_lossy(entry.name_raw()).into_owned(),
                limit: limits.max_compression_ratio,
            });
        }
    }
    Ok(())
}

// ----------------------------------------------------------------------------------------
// Interpreting the table

/// The columns a file may have. Header names ignore case, accents, and spaces, hyphens or
/// underscores between words, and may be English or Spanish: `kpi`/`indicador`,
/// `value`/`valor`, `comment`/`comentario`, `evidence_url`/`evidencia`/`enlace`, and each
/// channel's name (`facebook`, `linkedin`, …; `other`/`otros`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Kpi,
    Value,
    Comment,
    EvidenceUrl,
    Channel(Channel),
}

impl Column {
    /// The header's column, if it names one.
    pub fn from_header(header: &str) -> Option<Column> {
        let key = header_key(header);
        Some(match key.as_str() {
            "kpi" | "indicador" => Column::Kpi,
            "value" | "valor" => Column::Value,
            "comment" | "comentario" => Column::Comment,
            "evidence_url" | "evidencia" | "enlace" => Column::EvidenceUrl,
            "otros" | "otro" | "otros_canales" => Column::Channel(Channel::Other),
            other => Column::Channel(other.parse().ok()?),
        })
    }

    /// The header the template writes for readers of `lang` (and what messages call the
    /// column); [`Column::from_header`] reads it back.
    pub fn header(self, lang: Language) -> String {
        let fixed = match (self, lang) {
            (Column::Kpi, _) => "kpi",
            (Column::Value, Language::Es) => "valor",
            (Column::Value, Language::En) => "value",
            (Column::Comment, Language::Es) => "comentario",
            (Column::Comment, Language::En) => "comment",
            (Column::EvidenceUrl, Language::Es) => "evidencia",
            (Column::EvidenceUrl, Language::En) => "evidence_url",
            (Column::Channel(Channel::Other), Language::Es) => "otros",
            (Column::Channel(c), _) => return c.to_string(),
        };
        fixed.to_string()
    }

    /// The canonical (English) name, as used in error fields (`rows[3].value`).
    pub fn name(self) -> String {
        match self {
            Column::Kpi => "kpi".into(),
            Column::Value => "value".into(),
            Column::Comment => "comment".into(),
            Column::EvidenceUrl => "evidence_url".into(),
            Column::Channel(c) => c.to_string(),
        }
    }
}

fn header_key(header: &str) -> String {
    let folded: String = header
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'ä' | 'â' => 'a',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' | 'ì' | 'ï' | 'î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' => 'o',
            'ú' | 'ù' | 'ü' | 'û' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            c if c.is_whitespace() || c == '-' => '_',
            c => c,
        })
        .collect();
    folded.split('_').filter(|w| !w.is_empty()).collect::<Vec<_>>().join("_")
}

/// "A", "B", …, "Z", "AA": how a spreadsheet names the column at `index` (0-based).
fn column_letter(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// A cell's text for a message, shortened.
fn quote(value: &str) -> String {
    let value = value.trim();
    if value.chars().count() > 40 {
        format!("«{}…»", value.chars().take(40).collect::<String>())
    } else {
        format!("«{value}»")
    }
}

fn interpret(table: Table, kpis: &[KpiRef]) -> Result<Vec<ImportedValue>, ImportError> {
    let Table { header_row, header, rows, mark } = table;
    if rows.is_empty() {
        return Err(ImportError::Empty);
    }
    let mut errors = Collector::default();
    // Columns with a header; the cells of unknown or repeated ones are ignored.
    let mut named: HashSet<usize> = HashSet::new();
    let mut positions: HashMap<Column, usize> = HashMap::new();
    for (index, cell) in &header {
        named.insert(*index);
        let written = cell.as_text().map(|t| t.trim().to_string()).unwrap_or_else(|| column_letter(*index));
        let written: String =
            if written.chars().count() > 60 { written.chars().take(60).chain(['…']).collect() } else { written };
        let error = |code: &str, message: String| (*index, RowError::new(header_row, &written, code, message));
        match cell.as_text().and_then(|t| Column::from_header(&t)) {
            Some(column) => match positions.get(&column) {
                Some(first) => {
                    let message =
                        format!("repeats the {} column already in column {}", column.name(), column_letter(*first));
                    let (index, e) = error("duplicate_column", message);
                    errors.push(index, e);
                }
                None => {
                    positions.insert(column, *index);
                }
            },
            None => {
                let channels: Vec<String> = Channel::iter().map(|c| c.to_string()).collect();
                let message = format!(
                    "unknown column: expected kpi, value, comment, evidence_url or a channel ({})",
                    channels.join(", ")
                );
                let (index, e) = error("unknown_column", message);
                errors.push(index, e);
            }
        }
    }
    for column in [Column::Kpi, Column::Value] {
        if !positions.contains_key(&column) {
            let message = match column {
                Column::Kpi => "the header has no kpi (indicador) column",
                _ => "the header has no value (valor) column",
            };
            errors.push(usize::MAX, RowError::new(header_row, column.name(), "missing_column", message));
        }
    }
    errors.end_row();
    if !positions.contains_key(&Column::Kpi) || !positions.contains_key(&Column::Value) {
        return Err(errors.into_error());
    }

    let kpis = KpiIndex::new(kpis);
    let mut values = Vec::new();
    let mut first_row_of: HashMap<Uuid, usize> = HashMap::new();
    for (row, cells) in rows {
        errors.end_row();
        let before = errors.count();
        for (index, v) in &cells {
            if !named.contains(index) && !v.is_blank() {
                let message = "a value in a column without a header: name the column or delete the value";
                errors.push(*index, RowError::new(row, column_letter(*index), "unnamed_column", message));
            }
        }
        // A row with nothing under a known column has nothing to import (its stray cells, if
        // any, are reported above or under the header's errors).
        if !cells.iter().any(|(index, v)| !v.is_blank() && positions.values().any(|p| p == index)) {
            continue;
        }
        let mut fail = |column: Column, code: &str, message: String| {
            let index = positions.get(&column).copied().unwrap_or(usize::MAX);
            errors.push(index, RowError::new(row, column.name(), code, message));
        };
        let cell = |column: Column| -> Option<&CellValue> {
            let index = positions.get(&column)?;
            cells.iter().find(|(i, _)| i == index).map(|(_, v)| v)
        };

        let kpi = match find_kpi(&kpis, cell(Column::Kpi)) {
            Ok(kpi) => match first_row_of.get(&kpi.id) {
                Some(first) => {
                    fail(
                        Column::Kpi,
                        "duplicate_kpi",
                        format!("{} was already given in row {first}", quote(&kpi.name)),
                    );
                    None
                }
                None => {
                    first_row_of.insert(kpi.id, row);
                    Some(kpi)
                }
            },
            Err((code, message)) => {
                fail(Column::Kpi, code, message);
                None
            }
        };
        let value = match cell(Column::Value) {
            None => Err(("required", "must not be empty: fill it in or delete the row".to_string())),
            Some(v) => number(v, mark),
        };
        let value = value.map_err(|(code, message)| fail(Column::Value, code, message)).ok();

        let mut breakdown = BTreeMap::new();
        for channel in Channel::iter() {
            let Some(v) = cell(Column::Channel(channel)) else { continue };
            if let Some(kpi) = kpi.filter(|k| !k.channels.contains(&channel)) {
                let message = format!("{} is not broken down by {channel}", quote(&kpi.name));
                fail(Column::Channel(channel), "channel_not_declared", message);
                continue;
            }
            match number(v, mark) {
                Ok(x) => {
                    breakdown.insert(channel, x);
                }
                Err((code, message)) => fail(Column::Channel(channel), code, message),
            }
        }

        let comment = text_cell(cell(Column::Comment)).and_then(|t| {
            text::optional_paragraphs("comment", t.as_deref(), COMMENT_MAX_CHARS).map_err(|e| (e.code, e.message))
        });
        let comment = comment.map_err(|(code, message)| fail(Column::Comment, &code, message)).ok().flatten();
        let evidence_url = text_cell(cell(Column::EvidenceUrl)).and_then(|t| match t {
            None => Ok(None),
            Some(t) => text::http_url("evidence_url", &t).map(Some).map_err(|e| (e.code, e.message)),
        });
        let evidence_url =
            evidence_url.map_err(|(code, message)| fail(Column::EvidenceUrl, &code, message)).ok().flatten();

        if errors.count() == before
            && let (Some(kpi), Some(value)) = (kpi, value)
        {
            values.push(ImportedValue { row, kpi_id: kpi.id, value, breakdown, comment, evidence_url });
        }
    }
    if errors.count() == 0 { Ok(values) } else { Err(errors.into_error()) }
}

/// Row errors in file order: rows arrive in order, and each row's errors are sorted by
/// column position when the next row starts.
#[derive(Default)]
struct Collector {
    listed: Vec<RowError>,
    omitted: usize,
    /// The current row's errors, by column index.
    row: Vec<(usize, RowError)>,
}

impl Collector {
    fn push(&mut self, index: usize, error: RowError) {
        if self.listed.len() + self.row.len() < MAX_LISTED_ERRORS {
            self.row.push((index, error));
        } else {
            self.omitted += 1;
        }
    }

    fn end_row(&mut self) {
        self.row.sort_by_key(|(index, _)| *index);
        self.listed.extend(self.row.drain(..).map(|(_, e)| e));
    }

    fn count(&self) -> usize {
        self.listed.len() + self.row.len() + self.omitted
    }

    fn into_error(mut self) -> ImportError {
        self.end_row();
        ImportError::Rows { errors: self.listed, omitted: self.omitted }
    }
}

type CellProblem = (String, String);

/// The KPIs a file may name, indexed once per file: by id, and by [`text::name_key`] of the
/// name (in the order given, so that a name shared by several KPIs is seen as ambiguous).
struct KpiIndex<'k> {
    by_id: HashMap<Uuid, &'k KpiRef>,
    by_name: HashMap<String, Vec<&'k KpiRef>>,
}

impl<'k> KpiIndex<'k> {
    fn new(kpis: &'k [KpiRef]) -> Self {
        let mut by_id = HashMap::with_capacity(kpis.len());
        let mut by_name: HashMap<String, Vec<&KpiRef>> = HashMap::with_capacity(kpis.len());
        for kpi in kpis {
            by_id.entry(kpi.id).or_insert(kpi);
            by_name.entry(text::name_key(&kpi.name)).or_default().push(kpi);
        }
        Self { by_id, by_name }
    }

    fn named(&self, name: &str) -> &[&'k KpiRef] {
        self.by_name.get(&text::name_key(name)).map_or(&[], Vec::as_slice)
    }
}

fn find_kpi<'k>(kpis: &KpiIndex<'k>, cell: Option<&CellValue>) -> Result<&'k KpiRef, (&'static str, String)> {
    let written = match cell.map(|c| c.as_text()) {
        None => return Err(("required", "must name a KPI by its name or id".into())),
        Some(None) => return Err(("not_text", "must name a KPI by its name or id, as text".into())),
        Some(Some(t)) => t.trim().to_string(),
    };
    if let Ok(id) = Uuid::parse_str(&written)
        && let Some(kpi) = kpis.by_id.get(&id).copied()
    {
        return Ok(kpi);
    }
    let mut found = kpis.named(&written);
    if found.is_empty()
        && let Some(unescaped) = written.strip_prefix('\'')
    {
        found = kpis.named(unescaped);
    }
    match found {
        [kpi] => Ok(*kpi),
        [] => Err(("unknown_kpi", format!("{} is not a KPI of this engagement", quote(&written)))),
        _ => Err(("ambiguous_kpi", format!("{} names several KPIs: use the KPI's id", quote(&written)))),
    }
}

fn number(cell: &CellValue, mark: DecimalMark) -> Result<f64, (&'static str, String)> {
    match cell {
        CellValue::Number(x) if x.is_finite() => Ok(*x),
        CellValue::Number(_) => Err(("not_finite", "must be a finite number".into())),
        CellValue::Other(what) => Err(("not_a_number", format!("the cell holds {what}, not a number"))),
        CellValue::Text(t) => parse_number(t, mark).map_err(|e| match e {
            NumberError::Empty => ("required", "must not be empty".to_string()),
            NumberError::NotFinite => ("not_finite", "must be a finite number".to_string()),
            NumberError::Ambiguous => (
                "ambiguous_number",
                format!(
                    "{} could be read with either decimal mark: write a whole number without separators (1234) or add a decimal digit (1.234,0 or 1,2340)",
                    quote(t)
                ),
            ),
            NumberError::Invalid => ("not_a_number", format!("{} is not a number", quote(t))),
        }),
    }
}

/// A text column's trimmed content (`None` when empty); numbers are written out.
fn text_cell(cell: Option<&CellValue>) -> Result<Option<String>, CellProblem> {
    match cell {
        None => Ok(None),
        Some(CellValue::Other(what)) => Err(("not_text".into(), format!("the cell holds {what}: format it as text"))),
        Some(v) => Ok(v.as_text().map(|t| t.trim().to_string()).filter(|t| !t.is_empty())),
    }
}

// ----------------------------------------------------------------------------------------
// Preview

/// A file's cells as read, for showing its rows next to their errors (the import pages).
#[derive(Debug, Clone, PartialEq)]
pub struct FilePreview {
    /// Row number of the header, as a spreadsheet shows it.
    pub header_row: usize,
    /// Every column holding a cell, in order.
    pub columns: Vec<PreviewColumn>,
    /// The data rows, each with one text per column of [`FilePreview::columns`].
    pub rows: Vec<(usize, Vec<String>)>,
}

/// A column of a [`FilePreview`].
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewColumn {
    /// The column letter (`A`, `B`, …).
    pub letter: String,
    /// The header as written (empty for a column without one).
    pub header: String,
    /// The canonical name ([`Column::name`]) when the header names a known column.
    pub name: Option<String>,
}

/// Reads a file's cells as text without interpreting them: the same reading as [`parse`]
/// (format, encoding, delimiter, row numbers), for showing the rows an error names.
pub fn preview(file_name: &str, bytes: &[u8], limits: &ImportLimits) -> Result<FilePreview, ImportError> {
    if bytes.len() > limits.max_upload_bytes {
        return Err(ImportError::TooLarge { limit: limits.max_upload_bytes });
    }
    let table = match (declared_format(file_name)?, detect(bytes)?) {
        (Format::Csv, Content::Text(text)) => read_csv(&text, limits)?,
        (Format::Xlsx, Content::Workbook) => read_xlsx(bytes, limits)?,
        (declared, content) => {
            return Err(ImportError::Mislabelled {
                declared: declared.name().into(),
                detected: content.format().name().into(),
            });
        }
    };
    let show = |v: &CellValue| match v {
        CellValue::Other(what) => what.clone(),
        other => other.as_text().map(|t| t.into_owned()).unwrap_or_default(),
    };
    let mut indices: Vec<usize> = table
        .header
        .iter()
        .map(|(i, _)| *i)
        .chain(table.rows.iter().flat_map(|(_, cells)| cells.iter().map(|(i, _)| *i)))
        .collect();
    indices.sort_unstable();
    indices.dedup();
    let columns = indices
        .iter()
        .map(|index| {
            let header = table.header.iter().find(|(i, _)| i == index).map(|(_, v)| show(v)).unwrap_or_default();
            let name = Column::from_header(&header).map(Column::name);
            PreviewColumn { letter: column_letter(*index), header: header.trim().to_string(), name }
        })
        .collect();
    let rows = table
        .rows
        .iter()
        .map(|(row, cells)| {
            let texts = indices
                .iter()
                .map(|index| cells.iter().find(|(i, _)| i == index).map(|(_, v)| show(v)).unwrap_or_default())
                .collect();
            (*row, texts)
        })
        .collect();
    Ok(FilePreview { header_row: table.header_row, columns, rows })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use rust_xlsxwriter::{Format as XlsxFormat, Workbook, Worksheet};

    use super::*;

    const FOLLOWERS: Uuid = Uuid::from_u128(1);
    const REACH: Uuid = Uuid::from_u128(2);
    const RESPONSE: Uuid = Uuid::from_u128(3);
    const REVIEWS: Uuid = Uuid::from_u128(4);

    fn kpis() -> Vec<KpiRef> {
        let kpi = |id, name: &str, channels: &[Channel]| KpiRef { id, name: name.into(), channels: channels.to_vec() };
        vec![
            kpi(FOLLOWERS, "Seguidores Instagram", &[Channel::Instagram]),
            kpi(REACH, "Alcance total", &[Channel::Facebook, Channel::Instagram, Channel::X]),
            kpi(RESPONSE, "Tiempo de respuesta", &[]),
            kpi(REVIEWS, "Reseñas publicadas", &[]),
        ]
    }

    fn parse_bytes(name: &str, bytes: &[u8]) -> Result<Vec<ImportedValue>, ImportError> {
        parse(name, bytes, &kpis(), &ImportLimits::default())
    }

    fn csv(text: &str) -> Result<Vec<ImportedValue>, ImportError> {
        parse_bytes("cifras.csv", text.as_bytes())
    }

    /// (row, column, code) of every row error.
    fn errors(result: Result<Vec<ImportedValue>, ImportError>) -> Vec<(usize, String, String)> {
        match result {
            Err(ImportError::Rows { errors, omitted: 0 }) => {
                errors.into_iter().map(|e| (e.row, e.column, e.code)).collect()
            }
            other => panic!("expected row errors, got {other:?}"),
        }
    }

    fn err(row: usize, column: &str, code: &str) -> (usize, String, String) {
        (row, column.to_string(), code.to_string())
    }

    fn value_of(values: &[ImportedValue], kpi: Uuid) -> &ImportedValue {
        values.iter().find(|v| v.kpi_id == kpi).expect("value for the KPI")
    }

    fn xlsx(build: impl FnOnce(&mut Workbook)) -> Vec<u8> {
        let mut workbook = Workbook::new();
        build(&mut workbook);
        workbook.save_to_buffer().expect("workbook written")
    }

    fn write_row(sheet: &mut Worksheet, row: u32, cells: &[&str]) {
        for (col, text) in cells.iter().enumerate() {
            if !text.is_empty() {
                sheet.write_string(row, col as u16, *text).unwrap();
            }
        }
    }

    /// A zip of the given entries, deflated.
    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, content) in entries {
            writer.start_file(*name, options).unwrap();
            writer.write_all(content).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    /// Rewrites the uncompressed size that the central directory declares for `entry`.
    fn declare_size(archive: &mut [u8], entry: &str, size: u32) {
        let mut at = 0;
        while let Some(offset) = archive[at..].windows(4).position(|w| w == b"PK\x01\x02") {
            let header = at + offset;
            let name_len = u16::from_le_bytes([archive[header + 28], archive[header + 29]]) as usize;
            if &archive[header + 46..header + 46 + name_len] == entry.as_bytes() {
                archive[header + 24..header + 28].copy_from_slice(&size.to_le_bytes());
                return;
            }
            at = header + 4;
        }
        panic!("no central directory entry {entry}");
    }

    // ------------------------------------------------------------------------------------
    // Numbers

    #[test]
    fn spanish_numbers() {
        let cases = [
            ("1.234,5", 1234.5),
            ("12,5", 12.5),
            ("-3,2", -3.2),
            ("1.234", 1234.0),
            ("1.234.567", 1_234_567.0),
            ("1.234.567,89", 1_234_567.89),
            ("0,125", 0.125),
            ("12,5 %", 12.5),
            ("12,5%", 12.5),
            (" \u{a0}12,5\u{a0}%\u{a0} ", 12.5),
            ("1 234,5", 1234.5),
            ("1\u{a0}234,5", 1234.5),
            ("1\u{202f}234\u{202f}567", 1_234_567.0),
            ("1234,567", 1234.567),
            (",5", 0.5),
            ("+4", 4.0),
            ("−2,5", -2.5),
            ("(3,2)", -3.2),
            ("(12,5 %)", -12.5),
            ("1,5E+03", 1500.0),
            ("2,5e-1", 0.25),
            ("0", 0.0),
            ("007", 7.0),
            // Only one reading makes sense, whatever the file's convention.
            ("12.5", 12.5),
            ("1.2345", 1.2345),
            ("0.125", 0.125),
            ("1,234.5", 1234.5),
            ("1,234,567", 1_234_567.0),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_number(text, DecimalMark::Comma), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn english_numbers() {
        let cases = [
            ("1,234.5", 1234.5),
            ("1,234", 1234.0),
            ("1.234", 1.234),
            ("1,234,567.89", 1_234_567.89),
            ("12.5%", 12.5),
            ("-3.2", -3.2),
            ("12,5", 12.5),
            ("1.234,5", 1234.5),
            ("1.5E3", 1500.0),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_number(text, DecimalMark::Point), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn without_a_convention_only_unambiguous_numbers_parse() {
        for text in ["1.234", "1,234", "-999,000", "12.345 %"] {
            assert_eq!(parse_number(text, DecimalMark::Unknown), Err(NumberError::Ambiguous), "{text:?}");
        }
        for (text, expected) in
            [("1.2345", 1.2345), ("12,5", 12.5), ("1.234,5", 1234.5), ("0,125", 0.125), ("1234", 1234.0)]
        {
            assert_eq!(parse_number(text, DecimalMark::Unknown), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn non_numbers_are_refused() {
        for text in ["", "   ", "\u{a0}"] {
            assert_eq!(parse_number(text, DecimalMark::Comma), Err(NumberError::Empty), "{text:?}");
        }
        for text in ["NaN", "nan", "inf", "-Infinity", "∞", "1e400", "-1,5E+999"] {
            assert_eq!(parse_number(text, DecimalMark::Comma), Err(NumberError::NotFinite), "{text:?}");
        }
        let invalid = [
            "abc",
            "12a",
            "1..2",
            "1.2.3",
            "12,34,5",
            "1,23.4",
            "12 €",
            "€12",
            "$5",
            "1.234,5,6",
            "--3",
            "(-3)",
            "+-3",
            "1e",
            "e5",
            "1e+",
            ".",
            ",",
            "%",
            "12,",
            "1.,5",
            "0.123.456",
            "1 2",
            "12 34",
            "(3",
            "3)",
            "1_000",
            "0x10",
            "½",
            "١٢",
        ];
        for text in invalid {
            assert_eq!(parse_number(text, DecimalMark::Comma), Err(NumberError::Invalid), "{text:?}");
            assert!(parse_number(text, DecimalMark::Point).is_err(), "{text:?}");
        }
    }

    #[test]
    fn percent_formats_and_scaling() {
        for code in ["0%", "0.00%", "[Red]0.0%", "#,##0.0 %;-0.0 %"] {
            assert!(is_percent_format(code), "{code}");
        }
        for code in ["General", "#,##0.00", "0.0\\%", "0.0\"%\"", "[$%-409]0", "0_%", "@"] {
            assert!(!is_percent_format(code), "{code}");
        }
        assert_eq!(percent_units(0.123), 12.3);
        assert_eq!(percent_units(0.125), 12.5);
        assert_eq!(percent_units(-0.5), -50.0);
        assert_eq!(percent_units(0.0), 0.0);
    }

    #[test]
    fn headers_and_column_letters() {
        let cases = [
            ("KPI", Some(Column::Kpi)),
            (" Indicador ", Some(Column::Kpi)),
            ("VALOR", Some(Column::Value)),
            ("Válor", Some(Column::Value)),
            ("Value", Some(Column::Value)),
            ("Comentario", Some(Column::Comment)),
            ("COMMENT", Some(Column::Comment)),
            ("Evidence URL", Some(Column::EvidenceUrl)),
            ("evidence-url", Some(Column::EvidenceUrl)),
            ("evidence__url", Some(Column::EvidenceUrl)),
            ("Evidencia", Some(Column::EvidenceUrl)),
            ("Enlace", Some(Column::EvidenceUrl)),
            ("\u{feff}kpi", Some(Column::Kpi)),
            ("LinkedIn", Some(Column::Channel(Channel::Linkedin))),
            ("TikTok", Some(Column::Channel(Channel::Tiktok))),
            ("YouTube", Some(Column::Channel(Channel::Youtube))),
            ("X", Some(Column::Channel(Channel::X))),
            ("other", Some(Column::Channel(Channel::Other))),
            ("twitter", None),
            ("Valor (€)", None),
            ("fecha", None),
            ("", None),
        ];
        for (header, expected) in cases {
            assert_eq!(Column::from_header(header), expected, "{header:?}");
        }
        assert_eq!(Column::Channel(Channel::Linkedin).name(), "linkedin");
        assert_eq!(Column::EvidenceUrl.name(), "evidence_url");
        let letters: Vec<String> = [0, 1, 25, 26, 27, 701, 702, 16_383].into_iter().map(column_letter).collect();
        assert_eq!(letters, ["A", "B", "Z", "AA", "AB", "ZZ", "AAA", "XFD"]);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// Formats like a spreadsheet: thousands grouped by `group`, decimals after `decimal`.
        fn spreadsheet(x: f64, group: char, decimal: char) -> String {
            let plain = format!("{}", x.abs());
            let (int, fraction) = plain.split_once('.').unwrap_or((&plain, ""));
            let mut grouped = String::new();
            for (i, digit) in int.chars().enumerate() {
                if i > 0 && (int.len() - i) % 3 == 0 {
                    grouped.push(group);
                }
                grouped.push(digit);
            }
            let sign = if x.is_sign_negative() { "-" } else { "" };
            if fraction.is_empty() { format!("{sign}{grouped}") } else { format!("{sign}{grouped}{decimal}{fraction}") }
        }

        fn close(a: f64, b: f64) -> bool {
            a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
        }

        fn any_finite() -> impl Strategy<Value = f64> {
            prop_oneof![
                any::<f64>().prop_filter("finite", |x| x.is_finite()),
                -1e7f64..1e7,
                (-1_000_000i64..1_000_000).prop_map(|i| i as f64),
                (-100_000i64..100_000).prop_map(|i| i as f64 / 100.0),
            ]
        }

        proptest! {
            /// Any finite number written the Spanish way (in a `;` file) or the English way
            /// (in a `,` file) reads back as itself, also as a percentage or padded.
            #[test]
            fn spanish_and_english_spellings_round_trip(x in any_finite()) {
                let spanish = spreadsheet(x, '.', ',');
                let english = spreadsheet(x, ',', '.');
                prop_assert!(close(parse_number(&spanish, DecimalMark::Comma).unwrap(), x), "{spanish}");
                prop_assert!(close(parse_number(&english, DecimalMark::Point).unwrap(), x), "{english}");
                let padded = format!("\u{a0} {spanish} %\u{a0}");
                prop_assert!(close(parse_number(&padded, DecimalMark::Comma).unwrap(), x), "{padded}");
            }

            /// Without a convention a number is read right or refused as ambiguous, never misread.
            #[test]
            fn without_a_convention_nothing_is_misread(x in any_finite()) {
                for text in [spreadsheet(x, '.', ','), spreadsheet(x, ',', '.')] {
                    match parse_number(&text, DecimalMark::Unknown) {
                        Ok(y) => prop_assert!(close(x, y), "{text} read as {y}"),
                        Err(e) => prop_assert_eq!(e, NumberError::Ambiguous, "{}", text),
                    }
                }
            }

            /// Arbitrary text never panics and never yields a non-finite number.
            #[test]
            fn arbitrary_text_is_handled(text in ".{0,24}", digits in "[-+(]?[0-9 .,\u{a0}]{0,12}[%)eE0-9]{0,3}") {
                for mark in [DecimalMark::Comma, DecimalMark::Point, DecimalMark::Unknown] {
                    for t in [&text, &digits] {
                        if let Ok(x) = parse_number(t, mark) {
                            prop_assert!(x.is_finite());
                        }
                    }
                }
            }

            /// Arbitrary bytes as a CSV never panic.
            #[test]
            fn arbitrary_files_are_handled(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
                let _ = parse_bytes("cifras.csv", &bytes);
                let _ = parse_bytes("cifras.xlsx", &bytes);
            }
        }
    }

    // ------------------------------------------------------------------------------------
    // CSV files

    #[test]
    fn a_spanish_semicolon_file() {
        let file = "Indicador;Valor;Comentario;Evidencia;Instagram\n\
                    Seguidores Instagram;12.345;Buen mes;https://marea.example/informe;12.345\n\
                    Tiempo de respuesta;2,5;;;\n\
                    Alcance total;1.234,5 ;;;1.000,5\n";
        let values = csv(file).unwrap();
        assert_eq!(values.len(), 3);
        let followers = value_of(&values, FOLLOWERS);
        assert_eq!(followers.row, 2);
        assert_eq!(followers.value, 12_345.0);
        assert_eq!(followers.breakdown, BTreeMap::from([(Channel::Instagram, 12_345.0)]));
        assert_eq!(followers.comment.as_deref(), Some("Buen mes"));
        assert_eq!(followers.evidence_url.as_deref(), Some("https://marea.example/informe"));
        let response = value_of(&values, RESPONSE);
        assert_eq!((response.row, response.value, response.comment.as_deref()), (3, 2.5, None));
        assert!(response.breakdown.is_empty() && response.evidence_url.is_none());
        let reach = value_of(&values, REACH);
        assert_eq!((reach.value, reach.breakdown.get(&Channel::Instagram)), (1234.5, Some(&1000.5)));
    }

    #[test]
    fn an_english_comma_file_with_quoted_fields() {
        let file = "KPI,Value,Comment,Evidence URL\r\n\
                    Alcance total,\"1,234.5\",\"Great month, really\",https://x.example/post\r\n\
                    Tiempo de respuesta,1.234,\"two\r\nlines, \"\"quoted\"\"\",\r\n\
                    Seguidores Instagram,12.5%,,\r\n";
        let values = csv(file).unwrap();
        let reach = value_of(&values, REACH);
        assert_eq!((reach.value, reach.comment.as_deref()), (1234.5, Some("Great month, really")));
        let response = value_of(&values, RESPONSE);
        assert_eq!((response.value, response.comment.as_deref()), (1.234, Some("two\r\nlines, \"quoted\"")));
        assert_eq!(value_of(&values, FOLLOWERS).value, 12.5);
        assert_eq!(values.iter().map(|v| v.row).collect::<Vec<_>>(), [2, 3, 4]);
    }

    #[test]
    fn a_tab_file_refuses_ambiguous_numbers() {
        let values = csv("kpi\tvalue\nTiempo de respuesta\t2,5\nAlcance total\t1.234,0\n").unwrap();
        assert_eq!((value_of(&values, RESPONSE).value, value_of(&values, REACH).value), (2.5, 1234.0));
        assert_eq!(errors(csv("kpi\tvalue\nAlcance total\t1.234\n")), [err(2, "value", "ambiguous_number")]);
    }

    #[test]
    fn the_delimiter_is_taken_from_the_header_line() {
        assert_eq!(guess_delimiter("kpi;value;comment\na,b,c,d,e"), b';');
        assert_eq!(guess_delimiter("\n\nkpi,value,\"a;b;c\""), b',');
        assert_eq!(guess_delimiter("kpi\tvalue\tcomment"), b'\t');
        assert_eq!(guess_delimiter("kpi;value,comment"), b';');
        assert_eq!(guess_delimiter("kpi"), b';');
        assert_eq!(guess_delimiter(""), b';');
    }

    #[test]
    fn excel_sep_hint_names_the_delimiter_and_is_not_a_row() {
        let values = csv("sep=,\r\nkpi,value\r\nAlcance total,\"1,5\"\r\n").unwrap();
        assert_eq!((values[0].value, values[0].row), (1.5, 2));
        assert_eq!(errors(csv("sep=;\nkpi;value\nAlcance total;x\n")), [err(2, "value", "not_a_number")]);
    }

    #[test]
    fn a_windows_1252_spanish_file() {
        let file = b"Indicador;Valor;Comentario\r\nRese\xf1as publicadas;1.234,5;Campa\xf1a de oto\xf1o, caf\xe9\r\n";
        let values = parse_bytes("cifras.csv", file).unwrap();
        assert_eq!(values[0].kpi_id, REVIEWS);
        assert_eq!(values[0].value, 1234.5);
        assert_eq!(values[0].comment.as_deref(), Some("Campaña de otoño, café"));
    }

    #[test]
    fn utf8_with_and_without_bom_and_utf16() {
        let text = "kpi;value;comentario\nReseñas publicadas;3;café\n";
        for bytes in [text.as_bytes().to_vec(), [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat()] {
            let values = parse_bytes("cifras.csv", &bytes).unwrap();
            assert_eq!((values[0].kpi_id, values[0].comment.as_deref()), (REVIEWS, Some("café")));
        }
        let utf16: Vec<u8> = [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
        assert_eq!(parse_bytes("cifras.csv", &utf16).unwrap()[0].comment.as_deref(), Some("café"));
        let broken = [b"\xEF\xBB\xBF".as_slice(), b"kpi;value\n\xff;1\n"].concat();
        assert!(matches!(parse_bytes("cifras.csv", &broken), Err(ImportError::Unreadable(_))));
    }

    #[test]
    fn rows_are_numbered_as_a_spreadsheet_shows_them() {
        // A quoted field spanning lines is one row; a blank line is a row of its own.
        let file = "kpi;value;comment\n\
                    Seguidores Instagram;10;\"línea 1\nlínea 2; con punto y coma\n\"\n\
                    \n\
                    Tiempo de respuesta;abc;\n";
        assert_eq!(errors(csv(file)), [err(4, "value", "not_a_number")]);
    }

    #[test]
    fn three_bad_rows_give_three_errors() {
        let file = "kpi;value;comment;evidence_url\n\
                    Seguidores Instagram;100;;\n\
                    Campaña fantasma;5;;\n\
                    Tiempo de respuesta;abc;;\n\
                    Alcance total;7;;\n\
                    Reseñas publicadas;8;;ftp://marea.example/informe\n";
        let result = csv(file);
        assert_eq!(
            errors(result.clone()),
            [err(3, "kpi", "unknown_kpi"), err(4, "value", "not_a_number"), err(6, "evidence_url", "invalid_url")]
        );
        let fields: Vec<String> = result.unwrap_err().violations().0.into_iter().map(|f| f.field).collect();
        assert_eq!(fields, ["rows[3].kpi", "rows[4].value", "rows[6].evidence_url"]);
    }

    #[test]
    fn every_problem_of_a_row_is_listed_in_column_order() {
        let file = "evidencia;comentario;valor;indicador;facebook\nnot a url;ok;;Nadie;x\n";
        assert_eq!(
            errors(csv(file)),
            [
                err(2, "evidence_url", "invalid_url"),
                err(2, "value", "required"),
                err(2, "kpi", "unknown_kpi"),
                err(2, "facebook", "not_a_number"),
            ]
        );
    }

    #[test]
    fn kpis_by_name_or_id() {
        let file = format!("kpi;value\n  seguidores   INSTAGRAM ;1\n{REACH};2\n{};3\n", RESPONSE.hyphenated());
        let values = csv(&file).unwrap();
        assert_eq!(values.iter().map(|v| v.kpi_id).collect::<Vec<_>>(), [FOLLOWERS, REACH, RESPONSE]);
        let unknown_id = format!("kpi;value\n{};1\n", Uuid::from_u128(99));
        assert_eq!(errors(csv(&unknown_id)), [err(2, "kpi", "unknown_kpi")]);
        assert_eq!(errors(csv("kpi;value\n;1\n")), [err(2, "kpi", "required")]);
        let twins = [
            KpiRef { id: Uuid::from_u128(7), name: "Clics".into(), channels: vec![] },
            KpiRef { id: Uuid::from_u128(8), name: "clics".into(), channels: vec![] },
        ];
        let result = parse("c.csv", b"kpi;value\nCLICS;1\n", &twins, &ImportLimits::default());
        assert_eq!(errors(result), [err(2, "kpi", "ambiguous_kpi")]);
    }

    #[test]
    fn the_same_kpi_twice_is_refused_on_the_second_row() {
        let file = format!("kpi;value\nAlcance total;1\nTiempo de respuesta;2\n{REACH};3\nalcance  TOTAL;4\n");
        let result = csv(&file);
        assert_eq!(errors(result.clone()), [err(4, "kpi", "duplicate_kpi"), err(5, "kpi", "duplicate_kpi")]);
        let Err(ImportError::Rows { errors: rows, .. }) = result else { unreachable!() };
        assert!(rows[0].message.contains("row 2"), "{}", rows[0].message);
    }

    #[test]
    fn breakdowns_only_for_declared_channels() {
        let file = "kpi;value;facebook;instagram;x;tiktok\n\
                    Alcance total;10;1,5;;2;\n\
                    Tiempo de respuesta;2;;3;;\n\
                    Seguidores Instagram;5;;NaN;;\n\
                    Reseñas publicadas;1;;;;\n";
        assert_eq!(errors(csv(file)), [err(3, "instagram", "channel_not_declared"), err(4, "instagram", "not_finite")]);
        let values = csv("kpi;value;facebook;instagram;x\nAlcance total;10;1,5;;2\n").unwrap();
        assert_eq!(values[0].breakdown, BTreeMap::from([(Channel::Facebook, 1.5), (Channel::X, 2.0)]));
    }

    #[test]
    fn values_must_be_finite_numbers() {
        let file =
            "kpi;value\nAlcance total;\nTiempo de respuesta;NaN\nSeguidores Instagram;inf\nReseñas publicadas;muchos\n";
        assert_eq!(
            errors(csv(file)),
            [
                err(2, "value", "required"),
                err(3, "value", "not_finite"),
                err(4, "value", "not_finite"),
                err(5, "value", "not_a_number"),
            ]
        );
        let values = csv("kpi;value\nAlcance total;-3,2\n").unwrap();
        assert_eq!(values[0].value, -3.2, "negativity is the caller's to judge");
    }

    #[test]
    fn comments_and_evidence() {
        let long = "a".repeat(COMMENT_MAX_CHARS);
        let values =
            csv(&format!("kpi;value;comment;evidencia\nAlcance total;1;  {long}  ;  http://a.example/x \n")).unwrap();
        assert_eq!(values[0].comment.as_deref(), Some(long.as_str()));
        assert_eq!(values[0].evidence_url.as_deref(), Some("http://a.example/x"));
        let file = format!(
            "kpi;value;comment;evidencia\nAlcance total;1;{long}ñ;\nTiempo de respuesta;1;;javascript:alert(1)\nReseñas publicadas;1;;www.marea.example\n"
        );
        assert_eq!(
            errors(csv(&file)),
            [
                err(2, "comment", "too_long"),
                err(3, "evidence_url", "invalid_url"),
                err(4, "evidence_url", "invalid_url")
            ]
        );
    }

    #[test]
    fn header_problems() {
        let result = csv("kpi;value;Fecha alta;Notas\nAlcance total;1;2025;x\n");
        assert_eq!(errors(result.clone()), [err(1, "Fecha alta", "unknown_column"), err(1, "Notas", "unknown_column")]);
        let fields: Vec<String> = result.unwrap_err().violations().0.into_iter().map(|f| f.field).collect();
        assert_eq!(fields, ["rows[1][\"Fecha alta\"]", "rows[1].Notas"]);
        // Row errors are still reported with header errors.
        assert_eq!(
            errors(csv("kpi;value;twitter\nAlcance total;x;3\n")),
            [err(1, "twitter", "unknown_column"), err(2, "value", "not_a_number")]
        );
        assert_eq!(errors(csv("kpi;comentario\nAlcance total;1\n")), [err(1, "value", "missing_column")]);
        assert_eq!(
            errors(csv("comment\nAlcance total\n")),
            [err(1, "kpi", "missing_column"), err(1, "value", "missing_column")]
        );
        assert_eq!(errors(csv("kpi;valor;Value\nAlcance total;1;2\n")), [err(1, "Value", "duplicate_column")]);
    }

    #[test]
    fn cells_need_a_column_header() {
        assert_eq!(errors(csv("kpi;value\nAlcance total;1;sobra\n")), [err(2, "C", "unnamed_column")]);
        assert_eq!(errors(csv("kpi;;value\nAlcance total;x;1\n")), [err(2, "B", "unnamed_column")]);
        // Empty trailing columns, as spreadsheets export them, are fine.
        assert_eq!(csv("kpi;value;;\nAlcance total;1;;\n;;;\n").unwrap().len(), 1);
    }

    #[test]
    fn at_most_a_thousand_errors_are_listed() {
        let file = format!("kpi;value\nAlcance total;1{}\nTiempo de respuesta;x\n", ";sobra".repeat(1_500));
        let Err(ImportError::Rows { errors, omitted }) = csv(&file) else { panic!("expected row errors") };
        assert_eq!((errors.len(), omitted), (MAX_LISTED_ERRORS, 501));
        assert_eq!((errors[0].row, errors[0].column.as_str()), (2, "C"));
        let violations = ImportError::Rows { errors, omitted }.violations();
        assert_eq!(violations.0.len(), MAX_LISTED_ERRORS + 1);
        let last = violations.0.last().unwrap();
        assert_eq!((last.field.as_str(), last.code.as_str()), ("file", "too_many_errors"));
        assert!(last.message.starts_with("501 more problems"), "{}", last.message);
    }

    #[test]
    fn empty_files() {
        for text in ["", "   \n\r\n", "\u{feff}", "kpi;value\n", "kpi;value\n;\n\n;;\n", "\n\n"] {
            assert_eq!(csv(text), Err(ImportError::Empty), "{text:?}");
        }
        assert_eq!(parse_bytes("cifras.xlsx", b""), Err(ImportError::Empty));
        let header_only = xlsx(|w| write_row(w.add_worksheet(), 0, &["kpi", "value"]));
        assert_eq!(parse_bytes("cifras.xlsx", &header_only), Err(ImportError::Empty));
        assert_eq!(
            parse_bytes(
                "cifras.xlsx",
                &xlsx(|w| {
                    w.add_worksheet();
                })
            ),
            Err(ImportError::Empty)
        );
    }

    #[test]
    fn size_and_row_limits() {
        let file = "kpi;value\nAlcance total;1\nTiempo de respuesta;2\n\nReseñas publicadas;3\n";
        let limits =
            |max_rows, max_upload_bytes| ImportLimits { max_rows, max_upload_bytes, ..ImportLimits::default() };
        assert_eq!(parse("c.csv", file.as_bytes(), &kpis(), &limits(3, 1000)).unwrap().len(), 3);
        assert_eq!(
            parse("c.csv", file.as_bytes(), &kpis(), &limits(2, 1000)),
            Err(ImportError::TooManyRows { limit: 2 })
        );
        assert_eq!(
            parse("c.csv", file.as_bytes(), &kpis(), &limits(3, file.len() - 1)),
            Err(ImportError::TooLarge { limit: file.len() - 1 })
        );
        assert_eq!(ImportLimits::default().max_rows, 10_000);
        assert_eq!(ImportLimits::default().max_upload_bytes, 5 * 1024 * 1024);
        let book = xlsx(|w| {
            let sheet = w.add_worksheet();
            write_row(sheet, 0, &["kpi", "value"]);
            write_row(sheet, 1, &["Alcance total", "1"]);
            write_row(sheet, 2, &["Tiempo de respuesta", "2"]);
            write_row(sheet, 5, &["Reseñas publicadas", "3"]);
        });
        assert_eq!(parse("c.xlsx", &book, &kpis(), &limits(3, 1 << 20)).unwrap().len(), 3);
        assert_eq!(parse("c.xlsx", &book, &kpis(), &limits(2, 1 << 20)), Err(ImportError::TooManyRows { limit: 2 }));
    }

    #[test]
    fn only_csv_and_xlsx_names() {
        let file = b"kpi;value\nAlcance total;1\n";
        for name in ["cifras.txt", "cifras", "cifras.xls", "cifras.csv.exe", ".csv.", "cifras.ods"] {
            assert!(matches!(parse_bytes(name, file), Err(ImportError::UnsupportedType { .. })), "{name}");
        }
        for name in ["CIFRAS.CSV", "C:\\fakepath\\cifras.csv", "informe.v2.csv", ".csv"] {
            assert!(parse_bytes(name, file).is_ok(), "{name}");
        }
        assert_eq!(parse_bytes("cifras.txt", file), Err(ImportError::UnsupportedType { extension: "txt".into() }));
    }

    #[test]
    fn content_decides_the_format() {
        let book = xlsx(|w| {
            let sheet = w.add_worksheet();
            write_row(sheet, 0, &["kpi", "value"]);
            write_row(sheet, 1, &["Alcance total", "1"]);
        });
        assert_eq!(
            parse_bytes("cifras.csv", &book),
            Err(ImportError::Mislabelled { declared: "csv".into(), detected: "xlsx".into() })
        );
        assert_eq!(
            parse_bytes("cifras.xlsx", b"kpi;value\nAlcance total;1\n"),
            Err(ImportError::Mislabelled { declared: "xlsx".into(), detected: "csv".into() })
        );
        assert_eq!(parse_bytes("informe.v2.XLSX", &book).unwrap()[0].value, 1.0);
        let unreadable = |name: &str, bytes: &[u8]| matches!(parse_bytes(name, bytes), Err(ImportError::Unreadable(_)));
        let legacy = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest of an old workbook";
        assert!(unreadable("cifras.xlsx", legacy) && unreadable("cifras.csv", legacy));
        let other_zip = zip_of(&[("content.xml", b"<office/>"), ("mimetype", b"application/vnd.oasis")]);
        assert!(unreadable("cifras.xlsx", &other_zip));
        assert!(unreadable("cifras.xlsx", b"PK\x03\x04 not really a zip"));
        assert!(unreadable("cifras.csv", b"kpi;value\n\0\0\0binary"));
        let fake_workbook = zip_of(&[("xl/workbook.xml", b"not xml at all")]);
        assert!(unreadable("cifras.xlsx", &fake_workbook));
    }

    // ------------------------------------------------------------------------------------
    // XLSX files

    #[test]
    fn a_real_workbook() {
        let book = xlsx(|w| {
            let percent = XlsxFormat::new().set_num_format("0.0%");
            let blank = XlsxFormat::new().set_bold();
            let sheet = w.add_worksheet();
            write_row(sheet, 0, &["Indicador", "Valor", "Comentario", "Enlace", "Facebook", "Instagram", "X"]);
            write_row(sheet, 1, &["Alcance total", "", "Campaña, fase 1", "https://marea.example/a"]);
            sheet.write_number(1, 1, 1234.5).unwrap();
            sheet.write_number(1, 4, 1000).unwrap();
            sheet.write_string(1, 5, "234,5").unwrap();
            write_row(sheet, 2, &["Seguidores Instagram", "1.234,5"]);
            write_row(sheet, 3, &["Tiempo de respuesta", "12,5 %"]);
            write_row(sheet, 4, &["Reseñas publicadas"]);
            sheet.write_number_with_format(4, 1, 0.123, &percent).unwrap();
            // Formatted but empty trailing rows are ignored.
            for row in 5..40 {
                sheet.write_blank(row, 0, &blank).unwrap();
                sheet.write_string(row, 2, "  ").unwrap();
            }
            // Only the first worksheet is read.
            write_row(w.add_worksheet(), 0, &["otra", "hoja"]);
        });
        let values = parse_bytes("cifras.xlsx", &book).unwrap();
        let reach = value_of(&values, REACH);
        assert_eq!((reach.row, reach.value), (2, 1234.5));
        assert_eq!(reach.breakdown, BTreeMap::from([(Channel::Facebook, 1000.0), (Channel::Instagram, 234.5)]));
        assert_eq!(reach.comment.as_deref(), Some("Campaña, fase 1"));
        assert_eq!(reach.evidence_url.as_deref(), Some("https://marea.example/a"));
        assert_eq!(value_of(&values, FOLLOWERS).value, 1234.5);
        assert_eq!(value_of(&values, RESPONSE).value, 12.5);
        assert_eq!(value_of(&values, REVIEWS).value, 12.3, "a percent-formatted cell is in percent units");
        assert_eq!(values.len(), 4);
    }

    #[test]
    fn workbook_errors_name_rows_and_columns() {
        let book = xlsx(|w| {
            let date = XlsxFormat::new().set_num_format("dd/mm/yyyy");
            let sheet = w.add_worksheet();
            // The header is the first non-empty row, here row 3.
            write_row(sheet, 2, &["kpi", "value", "instagram", "comment"]);
            write_row(sheet, 3, &["Alcance total", "1.234"]);
            write_row(sheet, 4, &["Tiempo de respuesta"]);
            sheet.write_boolean(4, 1, true).unwrap();
            write_row(sheet, 5, &["Seguidores Instagram"]);
            sheet.write_number(5, 1, 3).unwrap();
            sheet.write_number_with_format(5, 2, 45_000, &date).unwrap();
            write_row(sheet, 6, &["Reseñas publicadas", "", "", "", "sobra"]);
            sheet.write_number(6, 1, 1).unwrap();
            sheet.write_number_with_format(6, 3, 45_000, &date).unwrap();
        });
        assert_eq!(
            errors(parse_bytes("cifras.xlsx", &book)),
            [
                err(4, "value", "ambiguous_number"),
                err(5, "value", "not_a_number"),
                err(6, "instagram", "not_a_number"),
                err(7, "comment", "not_text"),
                err(7, "E", "unnamed_column"),
            ]
        );
    }

    #[test]
    fn the_first_visible_worksheet_is_read() {
        let book = xlsx(|w| {
            let hidden = w.add_worksheet();
            write_row(hidden, 0, &["notas internas"]);
            hidden.set_hidden(true);
            let sheet = w.add_worksheet();
            sheet.set_active(true);
            write_row(sheet, 0, &["kpi", "value"]);
            write_row(sheet, 1, &["Alcance total", "7"]);
        });
        assert_eq!(parse_bytes("cifras.xlsx", &book).unwrap()[0].value, 7.0);
    }

    #[test]
    fn far_apart_cells_do_not_allocate_a_grid() {
        let book = xlsx(|w| {
            let sheet = w.add_worksheet();
            write_row(sheet, 0, &["kpi", "value"]);
            write_row(sheet, 1, &["Alcance total", "7"]);
            sheet.write_string(1_048_575, 16_383, "lejos").unwrap();
        });
        assert_eq!(errors(parse_bytes("cifras.xlsx", &book)), [err(1_048_576, "XFD", "unnamed_column")]);
    }

    // ------------------------------------------------------------------------------------
    // Zip bombs

    #[test]
    fn a_highly_compressed_entry_is_refused_before_inflating() {
        let zeros = vec![0u8; 8 << 20];
        // The workbook itself is garbage: reaching calamine would give `Unreadable`.
        let bomb = zip_of(&[("xl/workbook.xml", b"<garbage"), ("xl/media/image1.bin", &zeros)]);
        assert!(bomb.len() < 100_000, "{} bytes", bomb.len());
        assert_eq!(
            parse_bytes("cifras.xlsx", &bomb),
            Err(ImportError::SuspiciousCompression { entry: "xl/media/image1.bin".into(), limit: 100 })
        );
        // The same entry under a laxer ratio reaches the workbook parser.
        let lax = ImportLimits { max_compression_ratio: 1_000_000, ..ImportLimits::default() };
        assert!(matches!(parse("c.xlsx", &bomb, &kpis(), &lax), Err(ImportError::Unreadable(_))));
    }

    #[test]
    fn declared_sizes_beyond_the_limit_are_refused() {
        let mut bomb = zip_of(&[("xl/workbook.xml", b"<garbage"), ("xl/worksheets/sheet1.xml", b"<x/>")]);
        declare_size(&mut bomb, "xl/worksheets/sheet1.xml", 3_000_000_000);
        assert_eq!(parse_bytes("cifras.xlsx", &bomb), Err(ImportError::UncompressedTooLarge { limit: 50 << 20 }));
        let book = xlsx(|w| write_row(w.add_worksheet(), 0, &["kpi", "value"]));
        let tight = ImportLimits { max_uncompressed_bytes: 1_000, ..ImportLimits::default() };
        assert_eq!(parse("c.xlsx", &book, &kpis(), &tight), Err(ImportError::UncompressedTooLarge { limit: 1_000 }));
    }

    #[test]
    fn an_entry_larger_than_declared_is_not_inflated_past_its_size() {
        let mut book = xlsx(|w| {
            let sheet = w.add_worksheet();
            write_row(sheet, 0, &["kpi", "value"]);
            for row in 1..200 {
                write_row(sheet, row, &["Alcance total", "1"]);
            }
        });
        assert!(matches!(parse_bytes("cifras.xlsx", &book), Err(ImportError::Rows { .. })));
        declare_size(&mut book, "xl/worksheets/sheet1.xml", 100);
        // The zip reader stops at the declared size instead of inflating further.
        let Err(ImportError::Unreadable(why)) = parse_bytes("cifras.xlsx", &book) else { panic!("read past the size") };
        assert!(why.contains("larger than its declared uncompressed size"), "{why}");
    }

    // ------------------------------------------------------------------------------------
    // Template and errors

    #[test]
    fn the_template_round_trips() {
        let mut kpis = kpis();
        kpis.push(KpiRef { id: Uuid::from_u128(5), name: "=Clics \"netos\"; totales".into(), channels: vec![] });
        let template = template_csv(&kpis, Language::En);
        assert!(template.starts_with(b"\xEF\xBB\xBF"));
        let text = std::str::from_utf8(&template[3..]).unwrap();
        let mut lines = text.split("\r\n");
        assert_eq!(lines.next(), Some("kpi;value;comment;evidence_url;facebook;instagram;x"));
        assert_eq!(lines.next(), Some("Seguidores Instagram;;;;;;"));
        assert!(text.contains("\"'=Clics \"\"netos\"\"; totales\";;;;;;"), "{text}");
        // Unfilled, every row lacks its value.
        let unfilled = errors(parse("plantilla.csv", &template, &kpis, &ImportLimits::default()));
        assert_eq!(unfilled, (2..=6).map(|row| err(row, "value", "required")).collect::<Vec<_>>());

        // Fill it in as a spreadsheet would and read it back.
        let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(&template[3..]);
        let mut writer = csv::WriterBuilder::new().delimiter(b';').from_writer(b"\xEF\xBB\xBF".to_vec());
        writer.write_record(reader.headers().unwrap()).unwrap();
        for (i, record) in reader.records().enumerate() {
            let mut record: Vec<String> = record.unwrap().iter().map(str::to_string).collect();
            record[1] = format!("{},5", 1000 * (i + 1));
            record[2] = format!("comentario {i}; con «comillas»");
            if kpis[i].channels.contains(&Channel::Instagram) {
                record[5] = "1,25".into();
            }
            writer.write_record(&record).unwrap();
        }
        let filled = writer.into_inner().unwrap();
        let values = parse("plantilla.csv", &filled, &kpis, &ImportLimits::default()).unwrap();
        assert_eq!(values.len(), kpis.len());
        for (i, (value, kpi)) in values.iter().zip(&kpis).enumerate() {
            assert_eq!(value.kpi_id, kpi.id);
            assert_eq!(value.value, 1000.0 * (i + 1) as f64 + 0.5);
            assert_eq!(value.comment.as_deref(), Some(format!("comentario {i}; con «comillas»").as_str()));
            let instagram = kpi.channels.contains(&Channel::Instagram).then_some(1.25);
            assert_eq!(value.breakdown.get(&Channel::Instagram).copied(), instagram);
            assert_eq!(value.row, i + 2);
        }
    }

    #[test]
    fn the_template_without_channels_or_kpis() {
        let plain = [KpiRef { id: RESPONSE, name: "Tiempo de respuesta".into(), channels: vec![] }];
        assert_eq!(
            template_csv(&plain, Language::En),
            b"\xEF\xBB\xBFkpi;value;comment;evidence_url\r\nTiempo de respuesta;;;\r\n"
        );
        assert_eq!(
            template_csv(&plain, Language::Es),
            b"\xEF\xBB\xBFkpi;valor;comentario;evidencia\r\nTiempo de respuesta;;;\r\n"
        );
        assert_eq!(template_csv(&[], Language::En), b"\xEF\xBB\xBFkpi;value;comment;evidence_url\r\n");
        let empty = template_csv(&[], Language::Es);
        assert_eq!(parse("p.csv", &empty, &[], &ImportLimits::default()), Err(ImportError::Empty));
    }

    #[test]
    fn the_spanish_template_reads_back_like_the_english_one() {
        let mut kpis = kpis();
        kpis[0].channels.push(Channel::Other);
        let filled = |lang| {
            let template = template_csv(&kpis, lang);
            let text = std::str::from_utf8(&template[3..]).unwrap().to_string();
            let mut lines: Vec<String> = text.split("\r\n").map(str::to_string).collect();
            for (i, line) in lines.iter_mut().enumerate().skip(1).filter(|(_, l)| !l.is_empty()) {
                let mut cells: Vec<String> = line.split(';').map(str::to_string).collect();
                cells[1] = format!("{i}0,5");
                *line = cells.join(";");
            }
            (text.lines().next().unwrap_or_default().to_string(), lines.join("\r\n").into_bytes())
        };
        let (es_header, es) = filled(Language::Es);
        let (en_header, en) = filled(Language::En);
        assert_eq!(es_header, "kpi;valor;comentario;evidencia;facebook;instagram;x;otros");
        assert_eq!(en_header, "kpi;value;comment;evidence_url;facebook;instagram;x;other");
        let limits = ImportLimits::default();
        assert_eq!(parse("es.csv", &es, &kpis, &limits).unwrap(), parse("en.csv", &en, &kpis, &limits).unwrap());
    }

    #[test]
    fn errors_become_violations() {
        let single = |e: ImportError| {
            let v = e.violations();
            assert_eq!(v.0.len(), 1);
            (v.0[0].field.clone(), v.0[0].code.clone())
        };
        let file = |code: &str| ("file".to_string(), code.to_string());
        assert_eq!(single(ImportError::Empty), file("empty"));
        assert_eq!(ImportError::TooLarge { limit: 5 << 20 }.to_string(), "the file is larger than 5 MiB");
        assert_eq!(ImportError::TooLarge { limit: 1000 }.to_string(), "the file is larger than 1000 bytes");
        assert_eq!(single(ImportError::TooLarge { limit: 5 }), file("too_large"));
        assert_eq!(single(ImportError::TooManyRows { limit: 5 }), file("too_many_rows"));
        assert_eq!(single(ImportError::UncompressedTooLarge { limit: 5 }), file("too_large_uncompressed"));
        let bomb = ImportError::SuspiciousCompression { entry: "x".into(), limit: 100 };
        assert_eq!(single(bomb), file("suspicious_compression"));
        assert_eq!(single(ImportError::UnsupportedType { extension: "txt".into() }), file("unsupported_type"));
        let mislabelled = ImportError::Mislabelled { declared: "csv".into(), detected: "xlsx".into() };
        assert_eq!(mislabelled.to_string(), "the file is named .csv but holds an XLSX workbook");
        assert_eq!(single(mislabelled), file("mislabelled"));
        assert_eq!(single(ImportError::Unreadable("x".into())), file("unreadable"));
        let rows = ImportError::Rows {
            errors: vec![RowError::new(3, "value", "not_a_number", "«x» is not a number")],
            omitted: 0,
        };
        let violations: Violations = rows.into();
        assert_eq!(violations.0.len(), 1);
        assert_eq!(violations.0[0].field, "rows[3].value");
        assert_eq!(violations.0[0].message, "«x» is not a number");
        assert_eq!(
            ImportError::UnsupportedType { extension: String::new() }.to_string(),
            "only .csv and .xlsx files can be imported, not a file without extension"
        );
        let row = RowError::new(2, "Fecha \"alta\"", "unknown_column", "m");
        assert_eq!(row.field(), "rows[2][\"Fecha \\\"alta\\\"\"]");
        assert_eq!(row.to_string(), "row 2, column Fecha \"alta\": m");
    }

    #[test]
    fn a_preview_shows_the_cells_as_read() {
        let file = "sep=;\nkpi;valor;Notas\n\nAlcance total;1,5;x\nTiempo de respuesta;;;sobra\n";
        let csv_preview = preview("c.csv", file.as_bytes(), &ImportLimits::default()).unwrap();
        assert_eq!(csv_preview.header_row, 1);
        let names: Vec<_> = csv_preview.columns.iter().map(|c| (c.letter.as_str(), c.name.as_deref())).collect();
        assert_eq!(names, [("A", Some("kpi")), ("B", Some("value")), ("C", None), ("D", None)]);
        assert_eq!(csv_preview.columns[2].header, "Notas");
        assert_eq!(csv_preview.rows[0], (3, vec!["Alcance total".into(), "1,5".into(), "x".into(), String::new()]));
        assert_eq!(csv_preview.rows[1].0, 4);
        let book = xlsx(|w| {
            let sheet = w.add_worksheet();
            write_row(sheet, 0, &["kpi", "value"]);
            write_row(sheet, 1, &["Alcance total"]);
            sheet.write_number(1, 1, 12.5).unwrap();
        });
        let book_preview = preview("c.xlsx", &book, &ImportLimits::default()).unwrap();
        assert_eq!(book_preview.rows, [(2, vec!["Alcance total".to_string(), "12.5".to_string()])]);
        assert!(matches!(preview("c.txt", b"x", &ImportLimits::default()), Err(ImportError::UnsupportedType { .. })));
    }
}
