//! Opening an input file of any supported format as a stream of records.
//!
//! Every format ends up as the same thing: a header row and then records of byte fields, each
//! with the line (CSV) or row (Excel, Parquet) number a user sees when they open the file. CSV
//! is streamed: its memory does not grow with the file. Excel workbooks are read whole by
//! `calamine` (the format is a zip of XML); Parquet is read row group by row group.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use csv::ByteRecord;
use encoding_rs::Encoding;

use crate::quotes::{QuoteGuard, UnclosedLines};
pub use crate::record::{
    EncodingEvidence, Format, MAX_TITLE_ROWS, MappedField, ReadOptions, RecordSource, SourceError,
    SourceInfo, UnclosedQuote, UnsavedFormulas, looks_like_header,
};

/// Opens `path` in the format its extension (or, failing that, its first bytes) indicates.
pub fn open(path: &Path, options: &ReadOptions) -> Result<Box<dyn RecordSource>, SourceError> {
    match detect_format(path)? {
        Format::Csv => Ok(Box::new(CsvSource::open(path, options)?)),
        Format::Excel => match sheet_list(path, options.sheet.as_deref())? {
            Some(sheets) => Ok(Box::new(crate::excel::SheetsSource::open(
                path, options, sheets,
            )?)),
            None => Ok(Box::new(crate::excel::ExcelSource::open(path, options)?)),
        },
        Format::Parquet => Ok(Box::new(crate::parquet_source::ParquetSource::open(path)?)),
        Format::Database => Err(SourceError::NotAFile {
            path: path.to_path_buf(),
        }),
    }
}

/// The worksheets `sheet` asks for when it names several: `all` (unless a sheet is named so)
/// or a comma-separated list, each of which must exist; `None` for one sheet or the default.
pub fn sheet_list(path: &Path, sheet: Option<&str>) -> Result<Option<Vec<String>>, SourceError> {
    let Some(sheet) = sheet else {
        return Ok(None);
    };
    if sheet != "all" && !sheet.contains(',') {
        return Ok(None);
    }
    let names = crate::excel::sheet_names(path)?;
    if names.iter().any(|n| n == sheet) {
        return Ok(None);
    }
    if sheet == "all" {
        return Ok(Some(names));
    }
    let wanted: Vec<String> = sheet.split(',').map(|s| s.trim().to_string()).collect();
    for w in &wanted {
        if !names.contains(w) {
            return Err(SourceError::NoSheet {
                path: path.to_path_buf(),
                sheet: w.clone(),
                sheets: names.join(", "),
            });
        }
    }
    Ok(Some(wanted))
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SourceError + '_ {
    move |source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The format of `path`, from its content, whatever its extension says: exports are often
/// renamed (a `.xls` that is really CSV text, a `.csv` that is really an `.xlsx`). A zip
/// archive or an OLE compound file is a workbook, `PAR1` starts a Parquet file, anything
/// else is text. A web page or an XML spreadsheet (what some systems export as "Excel") is
/// refused with what it really is.
pub fn detect_format(path: &Path) -> Result<Format, SourceError> {
    let mut head = [0u8; 1024];
    let mut file = File::open(path).map_err(io_err(path))?;
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(path)(e)),
        }
    }
    let head = &head[..n];
    const OLE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") || head.starts_with(&OLE)
    {
        return Ok(Format::Excel);
    }
    if head.starts_with(b"PAR1") {
        return Ok(Format::Parquet);
    }
    if let Some(content) = markup(head) {
        return Err(SourceError::NotATable {
            path: path.to_path_buf(),
            content,
        });
    }
    Ok(Format::Csv)
}

/// What a file that starts with markup holds: an HTML page or an XML document (an Excel 2003
/// XML spreadsheet, most often), from its first bytes; `None` for anything else.
fn markup(head: &[u8]) -> Option<&'static str> {
    let text = head
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(head)
        .trim_ascii_start();
    let lower = text.to_ascii_lowercase();
    let has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    let starts = |prefix: &[u8]| lower.starts_with(prefix);
    if starts(b"<!doctype html") || starts(b"<html") || starts(b"<table") || starts(b"<head") {
        return Some("an html page");
    }
    if starts(b"<?xml") || starts(b"<workbook") {
        return Some(if has(b"urn:schemas-microsoft-com:office:spreadsheet") {
            "an excel 2003 xml spreadsheet"
        } else if has(b"<html") {
            "an html page"
        } else {
            "an xml document"
        });
    }
    None
}

/// Counts the bytes read through it, for the progress bar.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// How much of a file is looked at to detect its encoding and delimiter.
const SNIFF_BYTES: usize = 256 * 1024;

/// Non-ASCII characters (valid or not) after which the evidence is enough to decide.
const EVIDENCE_CHARACTERS: u64 = 10_000;
/// Valid multi-byte UTF-8 characters needed per invalid sequence for a file to stay UTF-8.
const UTF8_MAJORITY: u64 = 10;

/// Counts of UTF-8 evidence over a stream of bytes, fed in chunks.
#[derive(Debug, Default)]
struct Utf8Evidence {
    characters: u64,
    invalid: u64,
    first_invalid_line: u64,
    /// Line feeds before the current chunk.
    lines: u64,
    /// The bytes of a sequence cut off at the end of the last chunk.
    carry: Vec<u8>,
}

impl Utf8Evidence {
    fn feed(&mut self, chunk: &[u8]) {
        if self.carry.is_empty() {
            self.scan(chunk);
        } else {
            let mut joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(chunk);
            self.scan(&joined);
        }
    }

    /// Counts `bytes`; a sequence cut off at their end is kept for the next chunk.
    fn scan(&mut self, mut bytes: &[u8]) {
        loop {
            match std::str::from_utf8(bytes) {
                Ok(text) => {
                    self.count_valid(text.as_bytes());
                    self.lines += memchr::memchr_iter(b'\n', bytes).count() as u64;
                    return;
                }
                Err(e) => {
                    let (valid, rest) = bytes.split_at(e.valid_up_to());
                    self.count_valid(valid);
                    self.lines += memchr::memchr_iter(b'\n', valid).count() as u64;
                    match e.error_len() {
                        Some(n) => {
                            if self.invalid == 0 {
                                self.first_invalid_line = self.lines + 1;
                            }
                            self.invalid += 1;
                            self.lines += memchr::memchr_iter(b'\n', &rest[..n]).count() as u64;
                            bytes = &rest[n..];
                        }
                        None => {
                            self.carry = rest.to_vec();
                            return;
                        }
                    }
                }
            }
        }
    }

    fn count_valid(&mut self, valid: &[u8]) {
        if !valid.is_ascii() {
            self.characters += valid.iter().filter(|&&b| b >= 0xC0).count() as u64;
        }
    }

    fn enough(&self) -> bool {
        self.characters + self.invalid >= EVIDENCE_CHARACTERS
    }

    /// Ends the evidence: a sequence cut off at the very end is not counted either way (a
    /// sample may end inside a character; a file that does has one bad row, not a verdict).
    fn finish(&mut self) {
        self.carry.clear();
    }
}

/// UTF-16 without a byte order mark, from the zero bytes of its first bytes: ASCII text in
/// UTF-16 has a zero in every other byte (the second of each pair in little endian).
fn utf16_without_bom(head: &[u8]) -> Option<&'static Encoding> {
    let sample = &head[..head.len().min(4096) & !1];
    let pairs = sample.len() / 2;
    if pairs < 4 {
        return None;
    }
    let zero_even = sample.iter().step_by(2).filter(|&&b| b == 0).count();
    let zero_odd = sample
        .iter()
        .skip(1)
        .step_by(2)
        .filter(|&&b| b == 0)
        .count();
    if zero_odd * 10 >= pairs * 4 && zero_even * 20 < pairs {
        Some(encoding_rs::UTF_16LE)
    } else if zero_even * 10 >= pairs * 4 && zero_odd * 20 < pairs {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    }
}

/// Detects the encoding of a file from its first bytes `head` and, when they hold too little
/// non-ASCII text to decide, the rest of the file from `rest`: a byte order mark if there is
/// one; UTF-16 if every other byte is zero; UTF-8 unless most non-ASCII sequences are invalid
/// UTF-8 (one stray byte in a UTF-8 file makes its row a reject, not every Chinese name
/// mojibake); else GB18030 (a superset of GBK and GB2312, the encodings of Chinese Windows
/// exports). Returns the encoding, the BOM length to skip and why.
pub fn detect_encoding_from(
    head: &[u8],
    rest: Option<&mut dyn Read>,
) -> io::Result<(&'static Encoding, usize, EncodingEvidence)> {
    if let Some((enc, bom)) = Encoding::for_bom(head) {
        return Ok((enc, bom, EncodingEvidence::ByteOrderMark));
    }
    if let Some(enc) = utf16_without_bom(head) {
        return Ok((enc, 0, EncodingEvidence::Utf16WithoutBom));
    }
    let mut evidence = Utf8Evidence::default();
    evidence.feed(head);
    if let Some(rest) = rest {
        let mut buf = vec![0u8; 1 << 20];
        while !evidence.enough() {
            let n = match rest.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            evidence.feed(&buf[..n]);
        }
    }
    evidence.finish();
    let Utf8Evidence {
        characters,
        invalid,
        first_invalid_line,
        ..
    } = evidence;
    Ok(if invalid == 0 && characters == 0 {
        (encoding_rs::UTF_8, 0, EncodingEvidence::Ascii)
    } else if invalid == 0 {
        (
            encoding_rs::UTF_8,
            0,
            EncodingEvidence::ValidUtf8 { characters },
        )
    } else if characters >= invalid * UTF8_MAJORITY {
        let evidence = EncodingEvidence::MostlyUtf8 {
            characters,
            invalid,
            first_invalid_line,
        };
        (encoding_rs::UTF_8, 0, evidence)
    } else {
        let evidence = EncodingEvidence::NotUtf8 {
            characters,
            invalid,
            first_invalid_line,
        };
        (encoding_rs::GB18030, 0, evidence)
    })
}

/// Detects the delimiter from the first lines: the candidate that appears the same, non-zero
/// number of times (outside quotes) on the most lines, then the most times per line. Lines
/// where a candidate does not appear (such as a report title above the header) do not count
/// against it.
pub fn detect_delimiter(head: &[u8]) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
    let lines: Vec<&[u8]> = head.split(|b| *b == b'\n').take(50).collect();
    // the last piece may be cut off mid-line
    let complete = if lines.len() > 1 {
        &lines[..lines.len() - 1]
    } else {
        &lines[..]
    };
    let mut best = (b',', 0usize, 0usize);
    for &c in &CANDIDATES {
        let mut counts: Vec<usize> = complete
            .iter()
            .map(|l| count_unquoted(l, c))
            .filter(|&n| n > 0)
            .collect();
        counts.sort_unstable();
        // the most common non-zero count, and on how many lines it occurs
        let mut mode = (0usize, 0usize);
        for run in counts.chunk_by(|a, b| a == b) {
            if (run.len(), run[0]) > mode {
                mode = (run.len(), run[0]);
            }
        }
        if mode.0 > 0 && mode > (best.1, best.2) {
            best = (c, mode.0, mode.1);
        }
    }
    best.0
}

fn count_unquoted(line: &[u8], c: u8) -> usize {
    let mut quoted = false;
    let mut n = 0;
    for &b in line {
        if b == b'"' {
            quoted = !quoted;
        } else if b == c && !quoted {
            n += 1;
        }
    }
    n
}

/// The delimiter as a word for reports.
pub fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".to_string(),
        b' ' => "space".to_string(),
        other => (other as char).to_string(),
    }
}

/// Text whose fields are separated by runs of spaces and tabs, rewritten with one tab between
/// fields: blanks at the start and end of a line are dropped, every other run of blanks becomes
/// one tab, and line ends are kept (so line numbers stay right).
pub struct BlanksToTabs<R> {
    inner: R,
    buf: Vec<u8>,
    out: Vec<u8>,
    at: usize,
    /// Blanks seen and not yet written (written as one tab if a field follows on the line).
    pending_blank: bool,
    /// Whether the current line has had a field yet.
    in_line: bool,
}

impl<R> std::fmt::Debug for BlanksToTabs<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlanksToTabs").finish_non_exhaustive()
    }
}

impl<R: Read> BlanksToTabs<R> {
    /// Rewrites `inner`.
    pub fn new(inner: R) -> Self {
        BlanksToTabs {
            inner,
            buf: vec![0; 64 * 1024],
            out: Vec::with_capacity(64 * 1024),
            at: 0,
            pending_blank: false,
            in_line: false,
        }
    }
}

impl<R: Read> Read for BlanksToTabs<R> {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            let n = match self.inner.read(&mut self.buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(0);
            }
            self.out.clear();
            self.at = 0;
            for &b in &self.buf[..n] {
                match b {
                    b' ' | b'\t' => self.pending_blank = true,
                    b'\n' | b'\r' => {
                        self.out.push(b);
                        self.pending_blank = false;
                        self.in_line = false;
                    }
                    _ => {
                        if self.pending_blank && self.in_line {
                            self.out.push(b'\t');
                        }
                        self.pending_blank = false;
                        self.in_line = true;
                        self.out.push(b);
                    }
                }
            }
        }
        let n = dst.len().min(self.out.len() - self.at);
        dst[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A streamed delimited-text file.
pub struct CsvSource {
    reader: csv::Reader<Box<dyn Read>>,
    /// Rows read while looking for the header, to be served first (in reverse order).
    pending: Vec<ByteRecord>,
    headers: Vec<String>,
    info: SourceInfo,
    read_bytes: Arc<AtomicU64>,
    total_bytes: u64,
    blank: u64,
    /// Where the data records start.
    data_start: Option<DataStart>,
    /// The line feeds the reader has passed, for line numbers.
    newlines: Newlines,
    /// Lines the quote guard took out, to be served as records to reject.
    unclosed: UnclosedLines,
    /// A record read ahead while a taken-out line before it was served.
    stash: Option<(u64, ByteRecord)>,
    /// The last record served, when it was a taken-out line.
    last_unclosed: Option<UnclosedQuote>,
}

/// The byte offsets of the line feeds in the text a CSV reader has pulled, so that a record's
/// line can be found from its start offset. The csv crate's own line count is one short after
/// a CRLF line end (BurntSushi/rust-csv#395): a record read after `\r` starts at the `\n`, so
/// the record's line is 1 + the line feeds at or before its start offset.
#[derive(Debug, Clone, Default)]
struct Newlines(Arc<std::sync::Mutex<NewlineState>>);

#[derive(Debug, Default)]
struct NewlineState {
    /// Offsets not yet passed by a query (ascending).
    pending: std::collections::VecDeque<u64>,
    /// Bytes seen so far.
    seen: u64,
    /// Line feeds before the last queried offset.
    passed: u64,
}

impl Newlines {
    /// The line of a record starting at byte `start`; queries must come in ascending order.
    fn line_of(&self, start: u64) -> u64 {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        while s.pending.front().is_some_and(|&o| o <= start) {
            s.pending.pop_front();
            s.passed += 1;
        }
        1 + s.passed
    }
}

/// A reader that records the offsets of the line feeds it passes on.
struct CountNewlines<R> {
    inner: R,
    newlines: Newlines,
}

impl<R: Read> Read for CountNewlines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut s = self.newlines.0.lock().unwrap_or_else(|e| e.into_inner());
        let base = s.seen;
        s.pending
            .extend(memchr::memchr_iter(b'\n', &buf[..n]).map(|i| base + i as u64));
        s.seen += n as u64;
        Ok(n)
    }
}

/// Where the data records of a CSV file start, so that the rest can be read in parallel
/// chunks: as bytes of the file for UTF-8, as bytes of the decoded text for other encodings.
#[derive(Debug, Clone, Copy)]
pub struct DataStart {
    /// The file's encoding.
    pub encoding: &'static Encoding,
    /// Bytes of byte order mark at the start of the file.
    pub bom: u64,
    /// Offset of the first data record in the text after the byte order mark (in UTF-8
    /// bytes of the decoded text when the file is in another encoding).
    pub offset: u64,
    /// The line number of the first data record.
    pub line: u64,
    /// Fields are separated by runs of blanks: the text is read through [`BlanksToTabs`]
    /// (and `offset` is in its output).
    pub whitespace: bool,
}

impl std::fmt::Debug for CsvSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvSource")
            .field("info", &self.info)
            .finish()
    }
}

impl CsvSource {
    /// Opens a CSV file, detecting what `options` leaves open.
    pub fn open(path: &Path, options: &ReadOptions) -> Result<Self, SourceError> {
        let file = File::open(path).map_err(io_err(path))?;
        let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        let read_bytes = Arc::new(AtomicU64::new(0));
        let mut raw = BufReader::with_capacity(
            1 << 20,
            Counting {
                inner: file,
                count: read_bytes.clone(),
            },
        );
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        (&mut raw)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(io_err(path))?;
        let (encoding, bom, evidence) = match options.encoding {
            Some(forced) => (
                forced,
                Encoding::for_bom(&head).map_or(0, |(_, bom)| bom),
                EncodingEvidence::Forced,
            ),
            None => {
                // too little non-ASCII text at the start: look on into the file
                let mut more = if head.len() == SNIFF_BYTES {
                    let mut f = File::open(path).map_err(io_err(path))?;
                    f.seek(io::SeekFrom::Start(SNIFF_BYTES as u64))
                        .map_err(io_err(path))?;
                    Some(BufReader::new(f))
                } else {
                    None
                };
                detect_encoding_from(&head, more.as_mut().map(|r| r as &mut dyn Read))
                    .map_err(io_err(path))?
            }
        };
        let rest = io::Cursor::new(head).chain(raw);
        let mut text: Box<dyn Read> = if encoding == encoding_rs::UTF_8 {
            let mut r = rest;
            io::copy(&mut (&mut r).take(bom as u64), &mut io::sink()).map_err(io_err(path))?;
            Box::new(r)
        } else {
            Box::new(BufReader::with_capacity(
                1 << 20,
                encoding_rs_io::DecodeReaderBytesBuilder::new()
                    .encoding(Some(encoding))
                    .bom_override(true)
                    .build(rest),
            ))
        };
        if options.whitespace {
            text = Box::new(BlanksToTabs::new(text));
        }
        // Sniff the delimiter from the decoded text.
        let mut text_head = Vec::with_capacity(64 * 1024);
        (&mut text)
            .take(64 * 1024)
            .read_to_end(&mut text_head)
            .map_err(io_err(path))?;
        let delimiter = if options.whitespace {
            b'\t'
        } else {
            options
                .delimiter
                .unwrap_or_else(|| detect_delimiter(&text_head))
        };
        let newlines = Newlines::default();
        let width = Arc::new(AtomicUsize::new(0));
        let unclosed = UnclosedLines::default();
        let guarded = QuoteGuard::new(
            io::Cursor::new(text_head).chain(text),
            delimiter,
            width.clone(),
            unclosed.clone(),
        );
        let text: Box<dyn Read> = Box::new(CountNewlines {
            inner: guarded,
            newlines: newlines.clone(),
        });
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(false)
            .buffer_capacity(1 << 20)
            .from_reader(text);
        let mut leading: Vec<ByteRecord> = Vec::new();
        let mut header = None;
        if let Some(names) = &options.columns {
            // no header row: the names given are the header, and every line is data
            header = Some(names.iter().map(|n| n.trim()).collect::<ByteRecord>());
        }
        while header.is_none() && leading.len() < MAX_TITLE_ROWS {
            let mut record = ByteRecord::new();
            let more = reader
                .read_byte_record(&mut record)
                .map_err(|e| SourceError::Csv {
                    path: path.to_path_buf(),
                    line: e.position().map_or(1, |p| newlines.line_of(p.byte())),
                    message: e.to_string(),
                })?;
            if !more {
                break;
            }
            if looks_like_header(record.iter()) {
                header = Some(record);
                break;
            }
            leading.push(record);
        }
        // No row looks like a header: the first row is the header and nothing is skipped.
        let (header, pending) = match header {
            Some(h) => (h, Vec::new()),
            None if leading.is_empty() => {
                return Err(SourceError::Empty {
                    path: path.to_path_buf(),
                });
            }
            None => {
                let first = leading.remove(0);
                (first, std::mem::take(&mut leading))
            }
        };
        // The first data record starts where the reader stopped, or at the first pending row.
        let next = match pending.first() {
            Some(r) => r.position().cloned(),
            None => Some(reader.position().clone()),
        };
        let data_start = next.map(|p| DataStart {
            encoding,
            bom: bom as u64,
            offset: p.byte(),
            line: p.line(),
            whitespace: options.whitespace,
        });
        let title_rows = leading
            .iter()
            .map(|r| String::from_utf8_lossy(r.as_slice()).trim().to_string())
            .collect();
        let headers: Vec<String> = header
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim().to_string())
            .collect();
        width.store(headers.len(), Ordering::Relaxed);
        Ok(CsvSource {
            reader,
            headers,
            info: SourceInfo {
                path: path.to_path_buf(),
                format: Format::Csv,
                encoding: Some(encoding.name().to_string()),
                encoding_evidence: Some(evidence),
                delimiter: Some(if options.whitespace {
                    "whitespace".to_string()
                } else {
                    delimiter_name(delimiter)
                }),
                delimiter_byte: Some(delimiter),
                sheet: None,
                title_rows,
                database: None,
            },
            pending: pending.into_iter().rev().collect(),
            unclosed,
            stash: None,
            last_unclosed: None,
            newlines,
            read_bytes,
            total_bytes,
            blank: 0,
            data_start,
        })
    }
}

impl CsvSource {
    /// Where the first data record starts, so that the rest of the file can be read in
    /// parallel chunks.
    pub fn data_start(&self) -> Option<DataStart> {
        self.data_start
    }
}

impl CsvSource {
    /// The next record the CSV parser makes.
    fn read_parsed(&mut self, record: &mut ByteRecord) -> Result<Option<u64>, SourceError> {
        loop {
            if let Some(p) = self.pending.pop() {
                *record = p;
            } else {
                let more = self
                    .reader
                    .read_byte_record(record)
                    .map_err(|e| SourceError::Csv {
                        path: self.info.path.clone(),
                        line: e.position().map_or(0, |p| self.newlines.line_of(p.byte())),
                        message: e.to_string(),
                    })?;
                if !more {
                    return Ok(None);
                }
            }
            if record.iter().all(|f| f.trim_ascii().is_empty()) {
                self.blank += 1;
                continue;
            }
            return Ok(Some(
                record
                    .position()
                    .map_or(0, |p| self.newlines.line_of(p.byte())),
            ));
        }
    }
}

impl RecordSource for CsvSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn read(&mut self, record: &mut ByteRecord) -> Result<Option<u64>, SourceError> {
        self.last_unclosed = None;
        let next = match self.stash.take() {
            Some((line, r)) => {
                *record = r;
                Some(line)
            }
            None => self.read_parsed(record)?,
        };
        // a line taken out for a runaway quote comes before the record read after it
        let mut queue = self.unclosed.lock().unwrap_or_else(|e| e.into_inner());
        if queue
            .front()
            .is_some_and(|u| next.is_none_or(|line| u.line < line))
        {
            let u = queue.pop_front().expect("checked above");
            if let Some(line) = next {
                self.stash = Some((line, std::mem::take(record)));
            }
            let delimiter = self.info.delimiter_byte.unwrap_or(b',');
            *record = u.raw.split(|&b| b == delimiter).collect();
            self.last_unclosed = Some(UnclosedQuote { field: u.field });
            return Ok(Some(u.line));
        }
        Ok(next)
    }

    fn unclosed_quote(&self) -> Option<UnclosedQuote> {
        self.last_unclosed
    }

    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn progress(&self) -> (u64, u64) {
        (self.read_bytes.load(Ordering::Relaxed), self.total_bytes)
    }

    fn blank_rows(&self) -> u64 {
        self.blank
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The encoding and BOM length `head` alone gives.
    fn detect_encoding(head: &[u8]) -> (&'static Encoding, usize) {
        let (enc, bom, _) = detect_encoding_from(head, None).expect("no reading");
        (enc, bom)
    }

    #[test]
    fn encoding_is_detected_from_bom_or_content() {
        assert_eq!(detect_encoding(b"\xEF\xBB\xBFa,b").0, encoding_rs::UTF_8);
        assert_eq!(detect_encoding(b"\xEF\xBB\xBFa,b").1, 3);
        assert_eq!(
            detect_encoding("客户编号,金额".as_bytes()).0,
            encoding_rs::UTF_8
        );
        let (gbk, _, _) = encoding_rs::GB18030.encode("客户编号,金额");
        assert_eq!(detect_encoding(&gbk).0, encoding_rs::GB18030);
        assert_eq!(detect_encoding(b"\xFF\xFEa\x00").0, encoding_rs::UTF_16LE);
        // a multi-byte character cut off at the end of the sample
        let cut = &"金额".as_bytes()[..4];
        assert_eq!(detect_encoding(cut).0, encoding_rs::UTF_8);
    }

    #[test]
    fn the_format_comes_from_the_content_not_the_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ole: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0];
        let cases: [(&str, &[u8], Result<Format, &str>); 11] = [
            ("zip.csv", b"PK\x03\x04\x14\x00", Ok(Format::Excel)),
            ("ole.xlsx", ole, Ok(Format::Excel)),
            ("parquet.csv", b"PAR1\x15\x04", Ok(Format::Parquet)),
            ("text.xlsx", b"id,amount\nA,1\n", Ok(Format::Csv)),
            ("text.parquet", b"id;amount\n", Ok(Format::Csv)),
            ("empty.xls", b"", Ok(Format::Csv)),
            ("angle.csv", b"<id>,amount\n", Ok(Format::Csv)),
            (
                "page.xls",
                b"\xEF\xBB\xBF\r\n<!DOCTYPE HTML><html><table>",
                Err("an html page"),
            ),
            ("table.csv", b"  <table border=1><tr>", Err("an html page")),
            (
                "xml.xls",
                b"<?xml version=\"1.0\"?>\n<Workbook xmlns=\"urn:schemas-microsoft-com:office:spreadsheet\">",
                Err("an excel 2003 xml spreadsheet"),
            ),
            ("data.xml", b"<?xml version='1.0'?><rows/>", Err("an xml document")),
        ];
        for (name, bytes, want) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).expect("write");
            let got = match detect_format(&path) {
                Ok(f) => Ok(f),
                Err(SourceError::NotATable { content, .. }) => Err(content),
                Err(e) => panic!("{name}: {e}"),
            };
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn record_lines_are_right_for_crlf_lf_and_after_a_title_row() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in [
            ("lf.csv", "id,amount\na,1\nb,2\nc,3\n"),
            ("crlf.csv", "id,amount\r\na,1\r\nb,2\r\nc,3\r\n"),
            ("title.csv", "Sales 2025\r\nid,amount\r\na,1\r\nb,2\r\nc,3"),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            let mut src = CsvSource::open(&path, &ReadOptions::default()).expect("open");
            let mut record = ByteRecord::new();
            let mut lines = Vec::new();
            while let Some(line) = src.read(&mut record).expect("read") {
                lines.push(line);
            }
            let first = if name == "title.csv" { 3 } else { 2 };
            assert_eq!(lines, vec![first, first + 1, first + 2], "{name}");
        }
    }

    #[test]
    fn runs_of_blanks_become_one_tab_and_lines_stay() {
        let text = " 00004 0001 19970101  2   29.33\r\n\t00021\t0002 19970101 3 63.34  \n\n";
        let mut out = String::new();
        BlanksToTabs::new(text.as_bytes())
            .read_to_string(&mut out)
            .expect("read");
        assert_eq!(
            out,
            "00004\t0001\t19970101\t2\t29.33\r\n00021\t0002\t19970101\t3\t63.34\n\n"
        );
    }

    #[test]
    fn delimiter_is_the_consistent_one() {
        assert_eq!(detect_delimiter(b"a,b,c\n1,2,3\n"), b',');
        assert_eq!(detect_delimiter(b"a;b;c\n1,5;2;3\n"), b';');
        assert_eq!(detect_delimiter(b"a\tb\n\"x,y\"\t2\n"), b'\t');
        assert_eq!(detect_delimiter(b"name|amount\n\"a;b\"|1,234.5\n"), b'|');
        assert_eq!(detect_delimiter(b"single\n1\n"), b',');
        // a title line above the header does not hide the delimiter
        assert_eq!(
            detect_delimiter("销售明细表\na;b;c\n1;2,5;3\n4;5;6\n".as_bytes()),
            b';'
        );
        assert_eq!(
            detect_delimiter("销售明细表\na\tb\n1,234.50\tx\n".as_bytes()),
            b'\t'
        );
    }
}
