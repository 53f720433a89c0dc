//! The import's tests: numbers, formats, tables, interpretation and previews, on real CSV
//! and XLSX files written here.

use std::io::Write;

use super::{interpret::*, number::*, table::*};

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
        [err(2, "comment", "too_long"), err(3, "evidence_url", "invalid_url"), err(4, "evidence_url", "invalid_url")]
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
    let limits = |max_rows, max_upload_bytes| ImportLimits { max_rows, max_upload_bytes, ..ImportLimits::default() };
    assert_eq!(parse("c.csv", file.as_bytes(), &kpis(), &limits(3, 1000)).unwrap().len(), 3);
    assert_eq!(parse("c.csv", file.as_bytes(), &kpis(), &limits(2, 1000)), Err(ImportError::TooManyRows { limit: 2 }));
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
