//! A preview of an uploaded file's columns, for the page that shows what was read.

use super::*;

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
