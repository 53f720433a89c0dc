//! Reading a file into a table of cells: CSV (delimiter, quoting) and XLSX (streamed
//! cells, the archive judged before anything is inflated).

use super::*;

// ----------------------------------------------------------------------------------------
// Reading into a table

#[derive(Debug, Clone, PartialEq)]
pub(super) enum CellValue {
    Text(String),
    Number(f64),
    /// A cell that is neither text nor a number, described for messages ("a date").
    Other(String),
}

impl CellValue {
    pub(super) fn is_blank(&self) -> bool {
        matches!(self, CellValue::Text(t) if t.trim().is_empty())
    }

    pub(super) fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            CellValue::Text(t) => Some(Cow::Borrowed(t)),
            CellValue::Number(x) => Some(Cow::Owned(x.to_string())),
            CellValue::Other(_) => None,
        }
    }
}

/// Non-empty cells of the header and data rows, by column index.
pub(super) struct Table {
    pub(super) header_row: usize,
    pub(super) header: Vec<(usize, CellValue)>,
    pub(super) rows: Vec<(usize, Vec<(usize, CellValue)>)>,
    pub(super) mark: DecimalMark,
}

pub(super) fn read_csv(text: &str, limits: &ImportLimits) -> Result<Table, ImportError> {
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
pub(super) fn line_breaks(bytes: &[u8]) -> usize {
    let lone_cr = |i: usize| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n');
    (0..bytes.len()).filter(|&i| bytes[i] == b'\n' || lone_cr(i)).count()
}

/// Excel's `sep=;` first line, which names the delimiter and is not shown as a row.
pub(super) fn sep_hint(text: &str) -> Option<(&str, u8)> {
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let hint = first.trim_end_matches('\r').strip_prefix("sep=")?;
    match hint.as_bytes() {
        [d @ (b';' | b',' | b'\t' | b'|')] => Some((rest, *d)),
        _ => None,
    }
}

/// The most frequent of `;`, tab and `,` outside quotes in the first non-blank line.
pub(super) fn guess_delimiter(text: &str) -> u8 {
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

pub(super) fn read_xlsx(bytes: &[u8], limits: &ImportLimits) -> Result<Table, ImportError> {
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
pub(super) fn check_archive(bytes: &[u8], limits: &ImportLimits) -> Result<(), ImportError> {
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
