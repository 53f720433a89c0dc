//! Format detection: by content, not by name (a zip holding a workbook is XLSX, text is
//! CSV), and the text encodings CSV files arrive in.

use super::*;

// ----------------------------------------------------------------------------------------
// Format detection

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub(super) fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

pub(super) enum Content {
    Text(String),
    Workbook,
}

impl Content {
    pub(super) fn format(&self) -> Format {
        match self {
            Content::Text(_) => Format::Csv,
            Content::Workbook => Format::Xlsx,
        }
    }
}

pub(super) fn declared_format(file_name: &str) -> Result<Format, ImportError> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let extension = base.rsplit_once('.').map(|(_, e)| e.trim().to_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "csv" => Ok(Format::Csv),
        "xlsx" => Ok(Format::Xlsx),
        _ => Err(ImportError::UnsupportedType { extension }),
    }
}

pub(super) fn detect(bytes: &[u8]) -> Result<Content, ImportError> {
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
pub(super) fn decode_text(bytes: &[u8]) -> Result<String, ImportError> {
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
