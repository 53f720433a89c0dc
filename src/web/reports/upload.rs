//! Uploading a period's figures as a CSV or XLSX file, through the same import as the API:
//! all or nothing. A refused file comes back as a table of its own rows, the offending
//! cells marked with what is wrong, and nothing is stored.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{
        Multipart, Path, State,
        multipart::{MultipartError, MultipartRejection},
    },
    http::StatusCode,
    response::Response,
};
use serde::Serialize;

use super::{
    engagement_for,
    form::{ValuesForm, render_new},
    kpi_list, parse_id, refused_fields, report_of_period, reportable, say, show, to_report, tr,
};
use crate::{
    app::reports::{self, Then, Upload},
    domain::{
        FieldError,
        enums::Language,
        import::{self, Column, FilePreview, ImportLimits, PreviewColumn},
    },
    error::AppError,
    policy::report::Action,
    state::AppState,
    web::{
        error::{PageError, PageResult},
        session::{SignedIn, check_csrf},
    },
};

/// Files with more rows than this show only their rows with errors.
const PREVIEW_ROWS: usize = 200;

/// The multipart form as posted.
#[derive(Default)]
struct Posted {
    csrf: Option<String>,
    period_start: Option<String>,
    submit: bool,
    /// The file's name and content; absent when no file was chosen.
    file: Option<(String, Bytes)>,
}

async fn read_form(form: &mut Multipart) -> PageResult<Posted> {
    let malformed = |e: MultipartError| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        _ => AppError::invalid("file", "malformed_form", e.body_text()),
    };
    let mut posted = Posted::default();
    while let Some(field) = form.next_field().await.map_err(malformed)? {
        match field.name().unwrap_or("") {
            "file" => {
                let name = field.file_name().unwrap_or("").to_string();
                let bytes = field.bytes().await.map_err(malformed)?;
                posted.file = (!name.is_empty() || !bytes.is_empty()).then_some((name, bytes));
            }
            "_csrf" => posted.csrf = Some(field.text().await.map_err(malformed)?),
            "period_start" => posted.period_start = Some(field.text().await.map_err(malformed)?),
            "submit" => posted.submit = field.text().await.map_err(malformed)?.trim() == "true",
            other => return Err(AppError::invalid(other, "unknown_field", "this form has no such field").into()),
        }
    }
    Ok(posted)
}

/// Imports the file into the period's report (created, or its draft replaced), submitting
/// it if asked; a refused file is shown again with its errors.
pub(super) async fn import(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    form: Result<Multipart, MultipartRejection>,
) -> PageResult<Response> {
    let (e, seen) = engagement_for(&state, &user.principal, parse_id(&id)?, Action::Write).await?;
    let mut form = form.map_err(|r| AppError::UnsupportedMediaType(r.body_text()))?;
    let posted = read_form(&mut form).await?;
    check_csrf(&user.principal, posted.csrf.as_deref())?;
    let start = posted
        .period_start
        .as_deref()
        .and_then(|d| d.trim().parse().ok())
        .ok_or_else(|| PageError::from(AppError::invalid("period_start", "invalid_date", "name the period")))?;
    let period = reportable(&state, &e, start)?;
    let errors = match &posted.file {
        None => vec![FieldError::new("file", "required", "attach a .csv or .xlsx file")],
        Some((name, bytes)) => {
            let upload = Upload { file_name: name, bytes, period_start: start };
            let then = if posted.submit { Then::Submit } else { Then::KeepDraft };
            match reports::import_file(&state.ctx(&user.principal), e.id, upload, then).await {
                Ok(detail) => {
                    let notice = if posted.submit { "rep_submitted" } else { "rep_imported" };
                    return Ok(to_report(detail.report.id, notice));
                }
                Err(err) => refused_fields(err)?,
            }
        }
    };
    let upload = UploadState::new(&errors, posted.file.as_ref(), posted.submit, user.frame.lang);
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    match report_of_period(&state, e.id, start).await? {
        Some(r) => {
            let overrides = show::Overrides { upload: Some(upload), ..show::Overrides::default() };
            show::render(&state, &user, &r, &e, seen, overrides, status).await
        }
        None => {
            let kpis = kpi_list(&state, &e).await?;
            let values = ValuesForm::blank(format!("/engagements/{}/reports", e.id));
            render_new(&state, &user, &e, &period, &kpis, values, upload, status)
        }
    }
}

/// What the upload form shows after a refused file.
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct UploadState {
    /// Every problem, one line each, in file order.
    pub lines: Vec<String>,
    /// A problem with the file as a whole, shown at the file field.
    pub file_error: Option<String>,
    pub preview: Option<PreviewTable>,
    pub submit: bool,
    pub file_name: String,
}

/// The refused file's rows, with the problems in their cells.
#[derive(Debug, Clone, Serialize)]
pub(super) struct PreviewTable {
    header_row: usize,
    columns: Vec<PreviewHeader>,
    rows: Vec<PreviewRow>,
    /// Only the rows with problems are shown (the file is long).
    only_errors: bool,
    total_rows: usize,
}

#[derive(Debug, Clone, Serialize)]
struct PreviewHeader {
    letter: String,
    header: String,
    error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct PreviewRow {
    row: usize,
    error: bool,
    cells: Vec<PreviewCell>,
}

#[derive(Debug, Clone, Serialize)]
struct PreviewCell {
    text: String,
    error: Option<String>,
}

/// `rows[3].value` → (3, "value"); `rows[1]["Fecha alta"]` → (1, "Fecha alta"); the store's
/// `rows[3].breakdown.instagram` → (3, "instagram") and `rows[3].kpi_id` → (3, "kpi").
pub(super) fn row_and_column(field: &str) -> Option<(usize, String)> {
    let rest = field.strip_prefix("rows[")?;
    let (row, tail) = rest.split_once(']')?;
    let row = row.parse().ok()?;
    let column = if let Some(quoted) = tail.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        serde_json::from_str::<String>(quoted).ok()?
    } else {
        let name = tail.strip_prefix('.')?;
        match name.strip_prefix("breakdown.") {
            Some(channel) => channel.to_string(),
            None if name == "kpi_id" => "kpi".to_string(),
            None => name.to_string(),
        }
    };
    Some((row, column))
}

impl UploadState {
    pub fn new(errors: &[FieldError], file: Option<&(String, Bytes)>, submit: bool, lang: Language) -> Self {
        let mut state = Self { submit, file_name: file.map(|f| f.0.clone()).unwrap_or_default(), ..Self::default() };
        let located: Vec<(Option<(usize, String)>, String)> =
            errors.iter().map(|e| (row_and_column(&e.field), say(e, lang))).collect();
        let preview = file
            .filter(|_| located.iter().any(|(at, _)| at.is_some()))
            .and_then(|(name, bytes)| import::preview(name, bytes, &ImportLimits::default()).ok());
        let mut cells: HashMap<(usize, String), String> = HashMap::new();
        for (at, message) in located {
            match at {
                Some((row, column)) => {
                    let shown = column_name(&column, preview.as_ref(), lang);
                    let values = [("row", row.to_string()), ("column", shown), ("message", message.clone())];
                    state.lines.push(tr("rep.upload.row_error", lang, &values));
                    cells.entry((row, column)).or_insert(message);
                }
                None => {
                    state.file_error.get_or_insert_with(|| message.clone());
                    state.lines.push(message);
                }
            }
        }
        state.preview = preview.map(|p| PreviewTable::new(p, &cells));
        state
    }
}

/// A column as a message names it: a known column by its name in the reader's language
/// (`valor` / `value`, whatever the file's header says), another by its header as written,
/// else by its letter.
fn column_name(column: &str, preview: Option<&FilePreview>, lang: Language) -> String {
    match Column::from_header(column) {
        Some(known) => known.header(lang),
        None => preview.map_or_else(|| column.to_string(), |p| header_of(p, column)),
    }
}

/// Whether a preview column is the one an error names (by canonical name, header or letter).
fn names(c: &PreviewColumn, column: &str) -> bool {
    c.name.as_deref() == Some(column) || c.header == column || c.letter == column
}

/// A column as the file calls it: its header as written, else its letter.
fn header_of(preview: &FilePreview, column: &str) -> String {
    match preview.columns.iter().find(|c| names(c, column)) {
        Some(c) if !c.header.is_empty() => c.header.clone(),
        Some(c) => c.letter.clone(),
        None => column.to_string(),
    }
}

impl PreviewTable {
    fn new(preview: FilePreview, errors: &HashMap<(usize, String), String>) -> Self {
        let error_at = |row: usize, index: usize| {
            let column = &preview.columns[index];
            errors.iter().find(|((r, name), _)| *r == row && names(column, name)).map(|(_, message)| message.clone())
        };
        let columns = preview
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| PreviewHeader {
                letter: c.letter.clone(),
                header: c.header.clone(),
                error: error_at(preview.header_row, i),
            })
            .collect();
        let total_rows = preview.rows.len();
        let only_errors = total_rows > PREVIEW_ROWS;
        let rows = preview
            .rows
            .into_iter()
            .map(|(row, texts)| {
                let cells: Vec<PreviewCell> = texts
                    .into_iter()
                    .enumerate()
                    .map(|(i, text)| PreviewCell { text, error: error_at(row, i) })
                    .collect();
                let error = errors.keys().any(|(r, _)| *r == row);
                PreviewRow { row, error, cells }
            })
            .filter(|r| !only_errors || r.error)
            .collect();
        Self { header_row: preview.header_row, columns, rows, only_errors, total_rows }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::import::ImportError;

    fn file_error(e: ImportError) -> Vec<FieldError> {
        e.violations().0
    }

    #[test]
    fn error_fields_name_their_row_and_column() {
        assert_eq!(row_and_column("rows[3].value"), Some((3, "value".into())));
        assert_eq!(row_and_column("rows[12].breakdown.instagram"), Some((12, "instagram".into())));
        assert_eq!(row_and_column("rows[2].kpi_id"), Some((2, "kpi".into())));
        assert_eq!(row_and_column("rows[1][\"Fecha \\\"alta\\\"\"]"), Some((1, "Fecha \"alta\"".into())));
        assert_eq!(row_and_column("file"), None);
        assert_eq!(row_and_column("period_start"), None);
    }

    #[test]
    fn a_refused_file_is_shown_with_its_errors_in_place() {
        let file = ("cifras.csv".to_string(), Bytes::from_static(b"kpi;valor\nAlcance;12\nSentimiento;doce\n"));
        let errors = vec![FieldError::new("rows[3].value", "not_a_number", "«doce» is not a number")];
        let state = UploadState::new(&errors, Some(&file), false, Language::En);
        assert_eq!(state.lines, ["row 3, column value: not a number"], "the column in the reader's language");
        let preview = state.preview.unwrap();
        assert_eq!(preview.rows.len(), 2);
        assert!(!preview.rows[0].error && preview.rows[1].error);
        assert_eq!(preview.rows[1].cells[1].error.as_deref(), Some("not a number"));
        assert_eq!(preview.rows[1].cells[0].error, None);

        let spanish = UploadState::new(&errors, Some(&file), false, Language::Es);
        assert_eq!(spanish.lines, ["fila 3, columna valor: no es un número"]);
        let english_file =
            ("figures.csv".to_string(), Bytes::from_static(b"kpi;value\nAlcance;12\nSentimiento;doce\n"));
        let spanish = UploadState::new(&errors, Some(&english_file), false, Language::Es);
        assert_eq!(spanish.lines, ["fila 3, columna valor: no es un número"], "not the file's English header");
        let unknown = vec![FieldError::new("rows[1][\"Fecha alta\"]", "unknown_column", "unknown column")];
        let odd = ("x.csv".to_string(), Bytes::from_static(b"kpi;valor;Fecha alta\nAlcance;12;hoy\n"));
        let lines = UploadState::new(&unknown, Some(&odd), false, Language::Es).lines;
        assert!(lines[0].starts_with("fila 1, columna Fecha alta: columna desconocida"), "{lines:?}");

        let state = UploadState::new(&file_error(ImportError::Empty), Some(&file), false, Language::Es);
        assert!(state.preview.is_none());
        assert_eq!(state.file_error.as_deref(), Some("el archivo no tiene filas de datos"));
    }
}
