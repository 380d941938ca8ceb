//! Hostile and mislabelled workbooks: each is read within its memory budget or refused with
//! an error that says what is wrong with it. The files are built here, part by part.

use std::io::Write;
use std::path::{Path, PathBuf};

use stratum_io::source::{Format, SourceError};
use stratum_io::transactions::{LoadError, TransactionOptions, load_transactions};
use zip::write::SimpleFileOptions;

use crate::common::run;

/// The four orders every well-formed file here holds: A 10 + 5, B 20, C 7.50.
const ORDERS: [[&str; 3]; 4] = [
    ["A", "2025-01-01", "10"],
    ["B", "2025-01-02", "20"],
    ["A", "2025-01-03", "5"],
    ["C", "2025-01-04", "7.5"],
];

/// Customer, orders and spend, as computed by hand from [`ORDERS`].
fn hand_results() -> Vec<(String, u64, String)> {
    vec![
        ("A".into(), 2, "15.00".into()),
        ("B".into(), 1, "20.00".into()),
        ("C".into(), 1, "7.50".into()),
    ]
}

fn results(path: &Path) -> Vec<(String, u64, String)> {
    let (t, _, _) = run(path, &TransactionOptions::default());
    let mut got: Vec<(String, u64, String)> = t
        .features
        .customers
        .iter()
        .map(|c| (c.customer_id.clone(), c.frequency, c.monetary.to_string()))
        .collect();
    got.sort();
    got
}

/// Loads `path` and returns the error, its message with the file's directory left out.
fn load_err(path: &Path) -> (LoadError, String) {
    let mut rejects = stratum_io::rejects::RejectsWriter::new(Vec::new()).expect("header");
    match load_transactions(
        path,
        &TransactionOptions::default(),
        None,
        &mut rejects,
        &mut |_, _| {},
    ) {
        Ok(_) => panic!("`{}` was read", path.display()),
        Err(e) => {
            let dir = path.parent().map(|d| format!("{}/", d.display()));
            let text = e.to_string().replace(&dir.unwrap_or_default(), "");
            (e, text)
        }
    }
}

fn source_err(path: &Path) -> (SourceError, String) {
    match load_err(path) {
        (LoadError::Source(e), text) => (e, text),
        (other, _) => panic!("not a source error: {other}"),
    }
}

fn cell(at: &str, value: &str) -> String {
    if value.parse::<f64>().is_ok() {
        format!(r#"<c r="{at}"><v>{value}</v></c>"#)
    } else {
        format!(r#"<c r="{at}" t="inlineStr"><is><t>{value}</t></is></c>"#)
    }
}

/// Sheet rows: the header and [`ORDERS`], each row's cells given by `cells(row, values)`.
fn order_rows(cells: impl Fn(u32, [&str; 3]) -> String) -> String {
    let mut xml = String::new();
    for (i, row) in [["customer_id", "order_date", "amount"]]
        .into_iter()
        .chain(ORDERS)
        .enumerate()
    {
        let r = i as u32 + 1;
        xml.push_str(&format!(r#"<row r="{r}">{}</row>"#, cells(r, row)));
    }
    xml
}

fn plain_cells(r: u32, v: [&str; 3]) -> String {
    format!(
        "{}{}{}",
        cell(&format!("A{r}"), v[0]),
        cell(&format!("B{r}"), v[1]),
        cell(&format!("C{r}"), v[2])
    )
}

const SHEET_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#;
const SHEET_TAIL: &str = "</sheetData></worksheet>";

/// Writes an `.xlsx` archive: the package parts, one sheet `Orders` whose XML is `head`, then
/// `filler` (written `repeat` times), then `tail`, and optionally a shared string table.
fn xlsx_parts(
    path: &Path,
    head: &str,
    filler: &[u8],
    repeat: usize,
    tail: &str,
    sst: Option<&str>,
) {
    let file = std::fs::File::create(path).expect("create");
    let mut zip = zip::ZipWriter::new(file);
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut part = |name: &str, text: &[u8]| {
        zip.start_file(name, options).expect("part");
        zip.write_all(text).expect("write");
    };
    part(
        "[Content_Types].xml",
        br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
    );
    part(
        "_rels/.rels",
        br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
    );
    part(
        "xl/workbook.xml",
        br#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Orders" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
    );
    part(
        "xl/_rels/workbook.xml.rels",
        br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#,
    );
    if let Some(sst) = sst {
        part("xl/sharedStrings.xml", sst.as_bytes());
    }
    zip.start_file("xl/worksheets/sheet1.xml", options)
        .expect("sheet");
    zip.write_all(SHEET_HEAD.as_bytes()).expect("write");
    zip.write_all(head.as_bytes()).expect("write");
    for _ in 0..repeat {
        zip.write_all(filler).expect("write");
    }
    zip.write_all(tail.as_bytes()).expect("write");
    zip.write_all(SHEET_TAIL.as_bytes()).expect("write");
    zip.finish().expect("finish");
}

fn xlsx(path: &Path, rows: &str) {
    xlsx_parts(path, rows, b"", 0, "", None);
}

fn temp(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    (dir, path)
}

#[test]
fn a_well_formed_xlsx_gives_the_hand_computed_spend() {
    let (_dir, path) = temp("orders.xlsx");
    xlsx(&path, &order_rows(plain_cells));
    assert_eq!(results(&path), hand_results());
}

#[test]
fn a_cell_at_xfd1048576_costs_one_cell_and_its_row_is_rejected_as_long() {
    // its used range is A1:XFD1048576, 17 billion cells: read whole, it asked for 512 GiB
    let (_dir, path) = temp("stray.xlsx");
    let rows = order_rows(plain_cells) + r#"<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#;
    xlsx(&path, &rows);
    let (t, q, rejects) = run(&path, &TransactionOptions::default());
    let c = &q.counts;
    assert_eq!((c.rows_read, c.accepted, c.rejected), (5, 4, 1));
    let mut got: Vec<(String, u64, String)> = t
        .features
        .customers
        .iter()
        .map(|c| (c.customer_id.clone(), c.frequency, c.monetary.to_string()))
        .collect();
    got.sort();
    assert_eq!(got, hand_results());
    insta::assert_snapshot!(rejects, @r#"
    file,line,reason,column,value,message,row
    stray.xlsx,1048576,long_row,,,"row has 4 fields, the header has 3; an unquoted separator inside a value? (quote values that contain the delimiter)",",,,1"
    "#);
}

#[test]
fn columns_without_a_header_or_a_value_are_not_served() {
    // a header with a gap at B and a stray header cell far right: B is served (it has
    // values below), the columns between C and the stray cell are not
    let (_dir, path) = temp("gaps.xlsx");
    let rows = order_rows(|r, v| {
        let b = if r == 1 {
            String::new()
        } else {
            cell(&format!("B{r}"), "x")
        };
        let far = if r == 1 {
            cell("ZZ1", "note")
        } else {
            String::new()
        };
        format!(
            "{}{b}{}{}{}{far}",
            cell(&format!("A{r}"), v[0]),
            cell(&format!("C{r}"), v[1]),
            cell(&format!("D{r}"), v[2]),
            if r == 3 {
                cell("XFD3", "?")
            } else {
                String::new()
            },
        )
    });
    xlsx(&path, &rows);
    let mut src = stratum_io::source::open(&path, &Default::default()).expect("open");
    assert_eq!(
        src.headers(),
        ["customer_id", "", "order_date", "amount", "note"]
    );
    let mut record = csv::ByteRecord::new();
    let mut rows = Vec::new();
    while let Some(line) = src.read(&mut record).expect("read") {
        rows.push((
            line,
            record
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect::<Vec<_>>()
                .join("|"),
        ));
    }
    assert_eq!(
        rows,
        [
            (2, "A|x|2025-01-01|10|".to_string()),
            (3, "B|x|2025-01-02|20||?".to_string()),
            (4, "A|x|2025-01-03|5|".to_string()),
            (5, "C|x|2025-01-04|7.5|".to_string()),
        ]
    );
}

#[test]
fn a_deflate_bomb_is_refused_before_it_is_inflated() {
    // 80 rows' worth of a sheet and 100 MiB of spaces, about 100 KiB on disk
    let (_dir, path) = temp("bomb.xlsx");
    let spaces = vec![b' '; 1 << 20];
    xlsx_parts(&path, &order_rows(plain_cells), &spaces, 100, "", None);
    let size = std::fs::metadata(&path).expect("size").len();
    assert!(size < 1 << 20, "{size}");
    let (e, text) = source_err(&path);
    let SourceError::TooLarge { part, expanded, .. } = &e else {
        panic!("{e}");
    };
    assert!(*expanded > 100 << 20, "{expanded}");
    assert!(part.ends_with("in `xl/worksheets/sheet1.xml`"), "{part}");
    assert!(
        text.starts_with("`bomb.xlsx` would expand to 100.0 mib in memory (100.0 mib of it in `xl/worksheets/sheet1.xml`), more than 100 times its size of "),
        "{text}"
    );
    assert!(
        text.ends_with("; refusing it as a possible decompression bomb"),
        "{text}"
    );
}

#[test]
fn a_shared_string_table_announcing_a_trillion_strings_is_refused() {
    // calamine reserves room for the count announced: 24 TB, an abort
    let (_dir, path) = temp("sst.xlsx");
    let sst = r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1000000000000"><si><t>A</t></si></sst>"#;
    xlsx_parts(&path, &order_rows(plain_cells), b"", 0, "", Some(sst));
    let (e, text) = source_err(&path);
    assert!(matches!(e, SourceError::TooLarge { .. }), "{e}");
    assert!(
        text.starts_with("`sst.xlsx` would expand to 21.8 tib in memory (`xl/sharedStrings.xml` announces 1000000000000 strings)"),
        "{text}"
    );
}

#[test]
fn formulas_whose_values_were_not_saved_are_named_with_the_fix() {
    // what a script (openpyxl and the like) writes: the formula, no value; Excel and WPS
    // compute and save the values when the file is opened and saved
    let (_dir, path) = temp("formulas.xlsx");
    let rows = order_rows(|r, v| {
        if r == 1 {
            return plain_cells(r, v);
        }
        format!(
            r#"{}{}<c r="C{r}"><f>{}*1</f></c>"#,
            cell(&format!("A{r}"), v[0]),
            cell(&format!("B{r}"), v[1]),
            v[2]
        )
    });
    xlsx(&path, &rows);
    let (e, text) = source_err(&path);
    assert!(
        matches!(&e, SourceError::FormulasWithoutValues { formulas, .. } if formulas.cells == 4),
        "{e}"
    );
    assert_eq!(
        text,
        "column `amount` (amount) of sheet `Orders` in `formulas.xlsx` holds formulas whose values were not saved: 4 cells, the first C2 `=10*1`; open the file in Excel or WPS and save it (or paste the cells as values), then run again"
    );
}

#[test]
fn formulas_with_saved_values_and_unsaved_formulas_in_unused_columns_are_read() {
    let (_dir, path) = temp("formulas.xlsx");
    let rows = order_rows(|r, v| {
        if r == 1 {
            return plain_cells(r, v) + &cell("D1", "note");
        }
        format!(
            r#"{}{}<c r="C{r}"><f>{}*1</f><v>{}</v></c><c r="D{r}"><f>A{r}&amp;"!"</f></c>"#,
            cell(&format!("A{r}"), v[0]),
            cell(&format!("B{r}"), v[1]),
            v[2],
            v[2]
        )
    });
    xlsx(&path, &rows);
    assert_eq!(results(&path), hand_results());
}

#[test]
fn an_xlsx_saved_as_csv_is_read_as_a_workbook() {
    let (_dir, path) = temp("orders.csv");
    xlsx(&path, &order_rows(plain_cells));
    let (_, q, _) = run(&path, &TransactionOptions::default());
    assert_eq!(q.source.format, Format::Excel);
    assert_eq!(results(&path), hand_results());
}

#[test]
fn csv_text_saved_as_xlsx_or_parquet_is_read_as_csv() {
    let text: String = std::iter::once("customer_id,order_date,amount".to_string())
        .chain(ORDERS.iter().map(|r| r.join(",")))
        .collect::<Vec<_>>()
        .join("\n");
    for name in ["orders.xlsx", "orders.xls", "orders.parquet"] {
        let (_dir, path) = temp(name);
        std::fs::write(&path, &text).expect("write");
        let (_, q, _) = run(&path, &TransactionOptions::default());
        assert_eq!(q.source.format, Format::Csv, "{name}");
        assert_eq!(results(&path), hand_results(), "{name}");
    }
}

#[test]
fn a_web_page_or_an_xml_spreadsheet_saved_as_xls_says_what_it_is() {
    for (content, what) in [
        (
            "\u{feff}<html><body><table><tr><td>customer_id</td></tr></table></body></html>",
            "an html page",
        ),
        (
            "<?xml version=\"1.0\"?>\n<?mso-application progid=\"Excel.Sheet\"?>\n<Workbook xmlns=\"urn:schemas-microsoft-com:office:spreadsheet\"></Workbook>",
            "an excel 2003 xml spreadsheet",
        ),
    ] {
        let (_dir, path) = temp("orders.xls");
        std::fs::write(&path, content).expect("write");
        let (e, text) = source_err(&path);
        assert!(matches!(e, SourceError::NotATable { .. }), "{e}");
        assert_eq!(
            text,
            format!(
                "`orders.xls` holds {what}, not a workbook, CSV or Parquet file; open it in Excel or WPS and save it as .xlsx or .csv"
            )
        );
    }
}

#[test]
fn a_zip_without_a_workbook_says_what_it_holds() {
    let (_dir, path) = temp("orders.xlsx");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).expect("create"));
    zip.start_file("orders.csv", SimpleFileOptions::default())
        .expect("part");
    zip.write_all(b"customer_id,order_date,amount\n")
        .expect("write");
    zip.finish().expect("finish");
    let (e, text) = source_err(&path);
    assert!(matches!(e, SourceError::NotAWorkbook { .. }), "{e}");
    assert_eq!(
        text,
        "`orders.xlsx` is a zip archive but not a workbook; it holds: orders.csv"
    );
}

/// A compound file (MS-CFB version 3) holding `streams`, each padded to 4096 bytes so that
/// none lives in the mini stream; at most 128 sectors in all.
fn compound(streams: &[(&str, &[u8])]) -> Vec<u8> {
    const END: u32 = 0xFFFF_FFFE;
    const FREE: u32 = 0xFFFF_FFFF;
    let mut table = Vec::new();
    let mut data = Vec::new();
    let mut starts = Vec::new();
    for (_, bytes) in streams {
        let padded = bytes.len().max(4096).div_ceil(512) * 512;
        let first = table.len() as u32;
        starts.push((first, padded as u32));
        for i in 0..padded / 512 {
            table.push(if i + 1 == padded / 512 {
                END
            } else {
                first + i as u32 + 1
            });
        }
        data.extend_from_slice(bytes);
        data.resize(table.len() * 512, 0);
    }
    let dir = table.len() as u32;
    table.push(END);
    let fat = table.len() as u32;
    table.push(0xFFFF_FFFD);
    assert!(table.len() <= 128);
    table.resize(128, FREE);
    let mut out = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    out.resize(24, 0);
    for v in [0x3Eu16, 3, 0xFFFE, 9, 6] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.resize(40, 0);
    for v in [0, 1, dir, 0, 4096, END, 0, END, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&fat.to_le_bytes());
    while out.len() < 512 {
        out.extend_from_slice(&FREE.to_le_bytes());
    }
    out.extend_from_slice(&data);
    let mut entry = |name: &str, kind: u8, child: u32, right: u32, start: u32, size: u32| {
        let units: Vec<u16> = name.encode_utf16().chain([0]).collect();
        let mut e = vec![0u8; 128];
        for (i, u) in units.iter().enumerate() {
            e[2 * i..2 * i + 2].copy_from_slice(&u.to_le_bytes());
        }
        e[64..66].copy_from_slice(&((units.len() * 2) as u16).to_le_bytes());
        e[66] = kind;
        e[67] = 1;
        e[68..72].copy_from_slice(&FREE.to_le_bytes());
        e[72..76].copy_from_slice(&right.to_le_bytes());
        e[76..80].copy_from_slice(&child.to_le_bytes());
        e[116..120].copy_from_slice(&start.to_le_bytes());
        e[120..124].copy_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&e);
    };
    entry("Root Entry", 5, 1, FREE, END, 0);
    for (i, ((name, _), (start, size))) in streams.iter().zip(&starts).enumerate() {
        let right = if i + 1 < streams.len() {
            i as u32 + 2
        } else {
            FREE
        };
        entry(name, 2, FREE, right, *start, *size);
    }
    out.resize(512 * (dir as usize + 2), 0);
    for v in table {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

fn record(typ: u16, data: &[u8]) -> Vec<u8> {
    let mut r = typ.to_le_bytes().to_vec();
    r.extend_from_slice(&(data.len() as u16).to_le_bytes());
    r.extend_from_slice(data);
    r
}

/// A BIFF8 workbook stream with one sheet `Orders`: its DIMENSIONS record declares `dims`
/// (first row, last row + 1, first column, last column + 1) and its cells are `cells`
/// (row, column, text or number).
fn biff8(dims: (u32, u32, u16, u16), cells: &[(u16, u16, &str)]) -> Vec<u8> {
    let bof = |dt: u16| {
        let mut d = 0x0600u16.to_le_bytes().to_vec();
        d.extend_from_slice(&dt.to_le_bytes());
        d.extend_from_slice(&[0; 12]);
        record(0x0809, &d)
    };
    let mut globals = bof(0x0005);
    globals.extend(record(0x0042, &1200u16.to_le_bytes()));
    let name = b"Orders";
    // position, visibility, type, then the name: its length, a flags byte, its bytes
    let bound_len = 4 + 1 + 1 + 2 + name.len();
    // the sheet follows the BOUNDSHEET record and the globals' EOF record
    let sheet_at = (globals.len() + 4 + bound_len + 4) as u32;
    let mut bound = sheet_at.to_le_bytes().to_vec();
    bound.extend_from_slice(&[0, 0, name.len() as u8, 0]);
    bound.extend_from_slice(name);
    globals.extend(record(0x0085, &bound));
    globals.extend(record(0x000A, &[]));
    assert_eq!(globals.len() as u32, sheet_at);
    let mut sheet = bof(0x0010);
    let mut d = dims.0.to_le_bytes().to_vec();
    d.extend_from_slice(&dims.1.to_le_bytes());
    d.extend_from_slice(&dims.2.to_le_bytes());
    d.extend_from_slice(&dims.3.to_le_bytes());
    d.extend_from_slice(&[0, 0]);
    sheet.extend(record(0x0200, &d));
    for &(row, col, value) in cells {
        let mut d = row.to_le_bytes().to_vec();
        d.extend_from_slice(&col.to_le_bytes());
        d.extend_from_slice(&0u16.to_le_bytes());
        match value.parse::<f64>() {
            Ok(v) => {
                d.extend_from_slice(&v.to_le_bytes());
                sheet.extend(record(0x0203, &d));
            }
            Err(_) => {
                d.extend_from_slice(&(value.len() as u16).to_le_bytes());
                d.push(0);
                d.extend_from_slice(value.as_bytes());
                sheet.extend(record(0x0204, &d));
            }
        }
    }
    sheet.extend(record(0x000A, &[]));
    globals.extend(sheet);
    globals
}

fn order_cells() -> Vec<(u16, u16, &'static str)> {
    [["customer_id", "order_date", "amount"]]
        .into_iter()
        .chain(ORDERS)
        .enumerate()
        .flat_map(|(r, row)| {
            row.into_iter()
                .enumerate()
                .map(move |(c, v)| (r as u16, c as u16, v))
        })
        .collect()
}

#[test]
fn an_xls_is_read_whatever_its_name_says() {
    let book = compound(&[("Workbook", &biff8((0, 5, 0, 3), &order_cells()))]);
    for name in ["orders.xls", "orders.xlsx", "orders.csv"] {
        let (_dir, path) = temp(name);
        std::fs::write(&path, &book).expect("write");
        assert_eq!(results(&path), hand_results(), "{name}");
    }
}

#[test]
fn an_xls_with_a_stray_cell_at_iv65536_is_refused_naming_the_range() {
    // calamine lays the sheet out as a grid: 16.7 million cells for 16 values
    let mut cells = order_cells();
    cells.push((65_535, 255, "x"));
    let (_dir, path) = temp("stray.xls");
    std::fs::write(
        &path,
        compound(&[("Workbook", &biff8((0, 65_536, 0, 256), &cells))]),
    )
    .expect("write");
    let (e, text) = source_err(&path);
    assert!(matches!(e, SourceError::SparseSheet { .. }), "{e}");
    assert_eq!(
        text,
        "sheet `Orders` of `stray.xls` spans A1:IV65536 (16777216 cells) but holds only 16 values; delete the stray cells outside the table (Ctrl+End in Excel shows the last one) or save the file as .xlsx"
    );
}

#[test]
fn an_xls_declaring_four_billion_rows_is_refused_not_reserved() {
    // calamine reserves the declared rows × columns before reading a cell: an abort
    let (_dir, path) = temp("dims.xls");
    std::fs::write(
        &path,
        compound(&[("Workbook", &biff8((0, u32::MAX, 0, 3), &order_cells()))]),
    )
    .expect("write");
    let (e, text) = source_err(&path);
    assert!(matches!(e, SourceError::SparseSheet { .. }), "{e}");
    assert_eq!(
        text,
        "sheet `Orders` of `dims.xls` spans A1:C4294967295 (12884901885 cells) but holds only 15 values; delete the stray cells outside the table (Ctrl+End in Excel shows the last one) or save the file as .xlsx"
    );
}

#[test]
fn a_password_protected_xlsx_says_so() {
    // an encrypted Office document is a compound file holding the encrypted package
    let (_dir, path) = temp("secret.xlsx");
    std::fs::write(
        &path,
        compound(&[
            ("EncryptionInfo", &[4, 0, 4, 0]),
            ("EncryptedPackage", &[0; 64]),
        ]),
    )
    .expect("write");
    let (e, text) = source_err(&path);
    assert!(matches!(e, SourceError::Encrypted { .. }), "{e}");
    assert_eq!(
        text,
        "`secret.xlsx` is protected with a password; save a copy without the password and read that"
    );
}

/// Writes an `.ods` archive whose only sheet `Orders` holds `rows` (table rows as XML).
fn ods(path: &Path, rows: &str) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).expect("create"));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("mimetype", stored).expect("part");
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .expect("write");
    zip.start_file("META-INF/manifest.xml", deflated)
        .expect("part");
    zip.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#).expect("write");
    zip.start_file("content.xml", deflated).expect("part");
    write!(
        zip,
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Orders">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
    )
    .expect("write");
    zip.finish().expect("finish");
}

fn ods_cell(value: &str) -> String {
    match value.parse::<f64>() {
        Ok(_) => format!(
            r#"<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p></table:table-cell>"#
        ),
        Err(_) => format!(
            r#"<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>"#
        ),
    }
}

fn ods_rows() -> String {
    [["customer_id", "order_date", "amount"]]
        .into_iter()
        .chain(ORDERS)
        .map(|row| {
            format!(
                "<table:table-row>{}</table:table-row>",
                row.iter().map(|v| ods_cell(v)).collect::<String>()
            )
        })
        .collect()
}

#[test]
fn an_ods_is_read_whatever_its_name_says() {
    for name in ["orders.ods", "orders.xlsx"] {
        let (_dir, path) = temp(name);
        ods(&path, &ods_rows());
        assert_eq!(results(&path), hand_results(), "{name}");
    }
}

#[test]
fn an_ods_row_repeated_across_every_column_is_refused() {
    // a few bytes of XML that calamine expands into 6,000 × 16,384 cells: gigabytes
    let (_dir, path) = temp("repeats.ods");
    let rows = ods_rows()
        + r#"<table:table-row table:number-rows-repeated="6000"><table:table-cell table:number-columns-repeated="16384" office:value-type="float" office:value="1"/></table:table-row>"#;
    ods(&path, &rows);
    let (e, text) = source_err(&path);
    assert!(matches!(e, SourceError::TooLarge { .. }), "{e}");
    assert!(
        text.starts_with("`repeats.ods` would expand to 5.1 gib in memory (5.1 gib of it for sheet `Orders` of content.xml)"),
        "{text}"
    );
}

#[test]
fn an_ods_run_of_two_billion_spaces_is_refused() {
    let (_dir, path) = temp("spaces.ods");
    let rows = ods_rows()
        + r#"<table:table-row><table:table-cell office:value-type="string"><text:p>A<text:s text:c="2000000000"/></text:p></table:table-cell></table:table-row>"#;
    ods(&path, &rows);
    let (e, _) = source_err(&path);
    assert!(matches!(e, SourceError::TooLarge { .. }), "{e}");
}

#[test]
fn an_ods_with_a_stray_cell_far_away_is_refused_naming_the_range() {
    // calamine lays the grid out up to the stray cell: 80 million cells
    let (_dir, path) = temp("stray.ods");
    let rows = ods_rows()
        + r#"<table:table-row table:number-rows-repeated="400000"><table:table-cell table:number-columns-repeated="200"/></table:table-row><table:table-row><table:table-cell table:number-columns-repeated="199"/><table:table-cell office:value-type="float" office:value="1"/></table:table-row>"#;
    ods(&path, &rows);
    let (e, text) = source_err(&path);
    assert!(matches!(e, SourceError::SparseSheet { .. }), "{e}");
    assert_eq!(
        text,
        "sheet `Orders` of `stray.ods` spans A1:GR400006 (80001200 cells) but holds only 16 values; delete the stray cells outside the table (Ctrl+End in Excel shows the last one) or save the file as .xlsx"
    );
}
