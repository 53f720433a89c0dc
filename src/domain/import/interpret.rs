//! Interpreting the table: the header's columns in either language, one value per KPI,
//! and every problem named by row and column.

use super::*;

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

pub(super) fn header_key(header: &str) -> String {
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
pub(super) fn column_letter(index: usize) -> String {
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
pub(super) fn quote(value: &str) -> String {
    let value = value.trim();
    if value.chars().count() > 40 {
        format!("«{}…»", value.chars().take(40).collect::<String>())
    } else {
        format!("«{value}»")
    }
}

pub(super) fn interpret(table: Table, kpis: &[KpiRef]) -> Result<Vec<ImportedValue>, ImportError> {
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
pub(super) struct Collector {
    pub(super) listed: Vec<RowError>,
    pub(super) omitted: usize,
    /// The current row's errors, by column index.
    pub(super) row: Vec<(usize, RowError)>,
}

impl Collector {
    pub(super) fn push(&mut self, index: usize, error: RowError) {
        if self.listed.len() + self.row.len() < MAX_LISTED_ERRORS {
            self.row.push((index, error));
        } else {
            self.omitted += 1;
        }
    }

    pub(super) fn end_row(&mut self) {
        self.row.sort_by_key(|(index, _)| *index);
        self.listed.extend(self.row.drain(..).map(|(_, e)| e));
    }

    pub(super) fn count(&self) -> usize {
        self.listed.len() + self.row.len() + self.omitted
    }

    pub(super) fn into_error(mut self) -> ImportError {
        self.end_row();
        ImportError::Rows { errors: self.listed, omitted: self.omitted }
    }
}

pub(super) type CellProblem = (String, String);

/// The KPIs a file may name, indexed once per file: by id, and by [`text::name_key`] of the
/// name (in the order given, so that a name shared by several KPIs is seen as ambiguous).
pub(super) struct KpiIndex<'k> {
    pub(super) by_id: HashMap<Uuid, &'k KpiRef>,
    pub(super) by_name: HashMap<String, Vec<&'k KpiRef>>,
}

impl<'k> KpiIndex<'k> {
    pub(super) fn new(kpis: &'k [KpiRef]) -> Self {
        let mut by_id = HashMap::with_capacity(kpis.len());
        let mut by_name: HashMap<String, Vec<&KpiRef>> = HashMap::with_capacity(kpis.len());
        for kpi in kpis {
            by_id.entry(kpi.id).or_insert(kpi);
            by_name.entry(text::name_key(&kpi.name)).or_default().push(kpi);
        }
        Self { by_id, by_name }
    }

    pub(super) fn named(&self, name: &str) -> &[&'k KpiRef] {
        self.by_name.get(&text::name_key(name)).map_or(&[], Vec::as_slice)
    }
}

pub(super) fn find_kpi<'k>(
    kpis: &KpiIndex<'k>,
    cell: Option<&CellValue>,
) -> Result<&'k KpiRef, (&'static str, String)> {
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

pub(super) fn number(cell: &CellValue, mark: DecimalMark) -> Result<f64, (&'static str, String)> {
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
pub(super) fn text_cell(cell: Option<&CellValue>) -> Result<Option<String>, CellProblem> {
    match cell {
        None => Ok(None),
        Some(CellValue::Other(what)) => Err(("not_text".into(), format!("the cell holds {what}: format it as text"))),
        Some(v) => Ok(v.as_text().map(|t| t.trim().to_string()).filter(|t| !t.is_empty())),
    }
}
