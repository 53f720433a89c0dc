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

mod format;
mod interpret;
mod number;
mod preview;
mod table;

use format::*;
pub use interpret::Column;
use interpret::*;
use number::*;
pub use number::{DecimalMark, NumberError, parse_number};
pub use preview::{FilePreview, PreviewColumn, preview};
use table::*;

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

#[cfg(test)]
mod tests;
