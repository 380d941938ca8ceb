//! Where the records of CSV text end, and quoted fields that run away.
//!
//! A quote opens a quoted field only at the start of a field; inside one, `""` is an escaped
//! quote and a lone `"` closes it; a newline inside a quoted field belongs to the value (the
//! CSV reader's rule). One stray opening quote (`A7,"Widget,2025-01-01,5`) therefore swallows
//! every line up to the next quote in the file into one record. Such a field is recognised by
//! how far it runs, and its line is rejected as `unclosed_quote` instead, with reading going on
//! at the next line:
//! - it runs over more than [`MAX_QUOTED_LINES`] line breaks or [`MAX_QUOTED_BYTES`] bytes;
//! - [`RECORD_LIKE_LINES`] lines inside it look like records of their own (as many
//!   delimiters as the header needs, for headers of three or more columns);
//! - the text ends before it closes.
//!
//! The same scan decides record boundaries for the parallel engine's cutter and for the
//! streaming reader, so both see the same records.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Line breaks a quoted field may hold: a multi-line address or note has a few.
pub const MAX_QUOTED_LINES: usize = 20;
/// Bytes a quoted field may hold.
pub const MAX_QUOTED_BYTES: usize = 1 << 20;
/// Lines inside a quoted field that look like records of their own before the quote is taken
/// for a stray one.
pub const RECORD_LIKE_LINES: usize = 2;

/// Why a record with a runaway quote is rejected, in words.
pub fn unclosed_quote_message() -> String {
    format!(
        "a quote opens this value and is not closed within {MAX_QUOTED_LINES} lines (or runs over lines that look like rows of their own); the line is rejected and reading goes on at the next line"
    )
}

/// A record whose quoted field never closed within the limits: the text from the record's
/// start to the end of the line where the quote opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Runaway {
    /// Where the record starts.
    pub start: usize,
    /// Just after the newline that ends the line where the quote opened (or the end of text).
    pub end: usize,
    /// Where the quote opened.
    pub quote: usize,
    /// The field the quote opened (0-based).
    pub field: usize,
}

/// The shape of the text being scanned.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// The field delimiter.
    pub delimiter: u8,
    /// The header's number of fields (0 when not known yet).
    pub width: usize,
}

/// Scans `buf`, which starts at a record boundary, calling `boundary(at)` after each newline
/// that ends a record (`at` is just past it) and `runaway(r)` for each record with a runaway
/// quote (its end is a boundary too, reported by `boundary` as well). With `eof`, a quoted
/// field still open at the end is a runaway; without, scanning stops at its record, which is
/// incomplete. Returns where the last complete record ends.
pub fn scan(
    buf: &[u8],
    shape: Shape,
    eof: bool,
    boundary: &mut dyn FnMut(usize),
    runaway: &mut dyn FnMut(Runaway),
) -> usize {
    let delimiter = shape.delimiter;
    let mut last = 0;
    let mut record_start = 0;
    let mut i = 0;
    let mut field_start = true;
    let mut field = 0usize;
    while i < buf.len() {
        let b = buf[i];
        if b == b'"' && field_start {
            // a quoted field: find where it closes, or decide that it runs away
            match quoted_field(buf, i, shape, eof) {
                Quoted::Closed(after) => {
                    i = after;
                    field_start = false;
                    continue;
                }
                Quoted::Incomplete => return last,
                Quoted::Runaway => {
                    let end = match memchr::memchr(b'\n', &buf[i..]) {
                        Some(n) => i + n + 1,
                        None if eof => buf.len(),
                        // the line where it opened goes on in the text still to come
                        None => return last,
                    };
                    runaway(Runaway {
                        start: record_start,
                        end,
                        quote: i,
                        field,
                    });
                    boundary(end);
                    last = end;
                    record_start = end;
                    i = end;
                    field_start = true;
                    field = 0;
                    continue;
                }
            }
        }
        if b == b'\n' {
            boundary(i + 1);
            last = i + 1;
            record_start = i + 1;
            field_start = true;
            field = 0;
        } else if b == delimiter {
            field_start = true;
            field += 1;
        } else if b == b'\r' {
            // a lone CR ends a record for the CSV reader, so a field starts after it
            field_start = true;
            field = 0;
        } else {
            field_start = false;
        }
        i += 1;
    }
    if eof { buf.len() } else { last }
}

enum Quoted {
    /// The field closes; scanning goes on at this offset (just after the closing quote).
    Closed(usize),
    /// The text ends inside it before any limit is reached.
    Incomplete,
    Runaway,
}

/// Follows the quoted field that opens at `open`.
fn quoted_field(buf: &[u8], open: usize, shape: Shape, eof: bool) -> Quoted {
    let mut lines = 0usize;
    let mut record_like = 0usize;
    let mut delimiters_on_line = 0usize;
    let mut j = open + 1;
    let limit = (open + 1 + MAX_QUOTED_BYTES).min(buf.len());
    while j < limit {
        // jump to the next byte that matters
        let Some(k) = memchr::memchr3(b'"', b'\n', shape.delimiter, &buf[j..limit]) else {
            break;
        };
        j += k;
        match buf[j] {
            b'"' => {
                if buf.get(j + 1) == Some(&b'"') {
                    j += 2;
                    continue;
                }
                if j + 1 == buf.len() && !eof {
                    // `"` then `"` may follow in the next read
                    return Quoted::Incomplete;
                }
                return Quoted::Closed(j + 1);
            }
            b'\n' => {
                if shape.width >= 3 && lines > 0 && delimiters_on_line + 1 >= shape.width {
                    record_like += 1;
                }
                lines += 1;
                delimiters_on_line = 0;
                if lines > MAX_QUOTED_LINES || record_like >= RECORD_LIKE_LINES {
                    return Quoted::Runaway;
                }
            }
            _ => delimiters_on_line += 1,
        }
        j += 1;
    }
    if limit < buf.len() || (limit - open - 1) >= MAX_QUOTED_BYTES {
        return Quoted::Runaway;
    }
    if eof {
        Quoted::Runaway
    } else {
        Quoted::Incomplete
    }
}

/// A line rejected by [`QuoteGuard`] for a runaway quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnclosedLine {
    /// The line where the quote opened (1-based, in the text the guard reads).
    pub line: u64,
    /// The field the quote opened (0-based).
    pub field: usize,
    /// The record's text up to the end of that line, without its line ending.
    pub raw: Vec<u8>,
}

/// The lines a [`QuoteGuard`] took out, in order, shared with the reader that reports them.
pub type UnclosedLines = Arc<Mutex<VecDeque<UnclosedLine>>>;

/// A reader of CSV text that takes records with a runaway quote out of the stream, so that a
/// CSV parser reading through it never merges the lines after a stray quote: each such record
/// becomes as many empty lines as it had (empty lines are not records, and line numbers stay
/// right), and is queued in [`UnclosedLines`] for the reader to reject.
pub struct QuoteGuard<R> {
    inner: R,
    delimiter: u8,
    /// The header's number of fields, once known (0 before).
    width: Arc<AtomicUsize>,
    /// Text read but not decided yet; it starts at a record boundary.
    pending: Vec<u8>,
    /// Decided text, handed out from `ready_at`.
    ready: Vec<u8>,
    ready_at: usize,
    eof: bool,
    /// The line `pending` starts on.
    line: u64,
    found: UnclosedLines,
}

impl<R> std::fmt::Debug for QuoteGuard<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuoteGuard")
            .field("line", &self.line)
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl<R: Read> QuoteGuard<R> {
    /// Guards `inner`, whose text uses `delimiter`; `width` is set once the header is known.
    pub fn new(inner: R, delimiter: u8, width: Arc<AtomicUsize>, found: UnclosedLines) -> Self {
        QuoteGuard {
            inner,
            delimiter,
            width,
            pending: Vec::new(),
            ready: Vec::new(),
            ready_at: 0,
            eof: false,
            line: 1,
            found,
        }
    }

    /// Reads more text and decides what can be decided.
    fn fill(&mut self) -> io::Result<()> {
        const CHUNK: usize = 64 * 1024;
        let had = self.pending.len();
        self.pending.resize(had + CHUNK, 0);
        let n = loop {
            match self.inner.read(&mut self.pending[had..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.pending.truncate(had);
                    return Err(e);
                }
            }
        };
        self.pending.truncate(had + n);
        self.eof = n == 0;
        let shape = Shape {
            delimiter: self.delimiter,
            width: self.width.load(Ordering::Relaxed),
        };
        let mut runaways = Vec::new();
        let last = scan(&self.pending, shape, self.eof, &mut |_| {}, &mut |r| {
            runaways.push(r)
        });
        self.ready.clear();
        self.ready_at = 0;
        let mut from = 0;
        let mut queue = self.found.lock().unwrap_or_else(|e| e.into_inner());
        for r in runaways.into_iter().filter(|r| r.end <= last) {
            self.ready.extend_from_slice(&self.pending[from..r.start]);
            let span = &self.pending[r.start..r.end];
            let before = newlines(&self.pending[..r.quote]);
            queue.push_back(UnclosedLine {
                line: self.line + before,
                field: r.field,
                raw: trim_line_end(span).to_vec(),
            });
            self.ready
                .resize(self.ready.len() + newlines(span) as usize, b'\n');
            from = r.end;
        }
        drop(queue);
        self.ready.extend_from_slice(&self.pending[from..last]);
        self.line += newlines(&self.pending[..last]);
        self.pending.drain(..last);
        Ok(())
    }
}

impl<R: Read> Read for QuoteGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.ready_at < self.ready.len() {
                let n = buf.len().min(self.ready.len() - self.ready_at);
                buf[..n].copy_from_slice(&self.ready[self.ready_at..self.ready_at + n]);
                self.ready_at += n;
                return Ok(n);
            }
            // at the end of the text every record is decided: nothing is left pending
            if self.eof {
                return Ok(0);
            }
            self.fill()?;
        }
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// `bytes` without a trailing line ending.
pub fn trim_line_end(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, width: usize, eof: bool) -> (Vec<usize>, Vec<Runaway>, usize) {
        let mut bounds = Vec::new();
        let mut runaways = Vec::new();
        let last = scan(
            text.as_bytes(),
            Shape {
                delimiter: b',',
                width,
            },
            eof,
            &mut |b| bounds.push(b),
            &mut |r| runaways.push(r),
        );
        (bounds, runaways, last)
    }

    #[test]
    fn closed_quotes_keep_their_newlines() {
        let text = "a,\"x\ny\",1\nb,\"\"\"q\"\"\",2\n";
        let (bounds, runaways, last) = run(text, 3, false);
        assert_eq!(bounds, [10, text.len()]);
        assert!(runaways.is_empty());
        assert_eq!(last, text.len());
        // a quote inside an unquoted field is a literal character
        let (bounds, runaways, _) = run("a,5\" screen,1\nb,2,3\n", 3, true);
        assert_eq!(bounds, [14, 20]);
        assert!(runaways.is_empty());
    }

    #[test]
    fn a_stray_quote_rejects_only_its_own_line() {
        let mut text = String::from("A1,\"Widget,2025-01-01,5\n");
        for i in 2..=50 {
            text.push_str(&format!("A{i},Thing,2025-01-02,{i}\n"));
        }
        let (bounds, runaways, _) = run(&text, 4, true);
        assert_eq!(runaways.len(), 1);
        let r = runaways[0];
        assert_eq!((r.start, r.end, r.quote, r.field), (0, 24, 3, 1));
        // every other line is a record of its own
        assert_eq!(bounds.len(), 50);
    }

    #[test]
    fn a_quote_open_at_the_end_of_the_text() {
        // at the end of the file it is a runaway; before, the record is incomplete
        let text = "a,1\nb,\"x\nc";
        let (bounds, runaways, last) = run(text, 2, false);
        assert_eq!((bounds, runaways.len(), last), (vec![4], 0, 4));
        let (_, runaways, last) = run(text, 2, true);
        assert_eq!(runaways.len(), 1);
        assert_eq!((runaways[0].start, runaways[0].end), (4, 9));
        assert_eq!(last, text.len());
    }

    #[test]
    fn long_notes_within_the_limits_are_values() {
        let note = (0..MAX_QUOTED_LINES)
            .map(|i| format!("line {i}, with a comma"))
            .collect::<Vec<_>>()
            .join("\n");
        let text = format!("c1,\"{note}\",5\nc2,x,6\n");
        let (bounds, runaways, _) = run(&text, 3, true);
        assert!(runaways.is_empty());
        assert_eq!(bounds.len(), 2);
        let text = format!("c1,\"{note}\nmore\nmore\",5\nc2,x,6\n");
        let (_, runaways, _) = run(&text, 3, true);
        assert_eq!(runaways.len(), 1);
    }

    #[test]
    fn the_guard_takes_runaway_lines_out_and_keeps_line_numbers() {
        let mut text = String::from("id,name,date,amount\nA1,\"Widget,2025-01-01,5\r\n");
        for i in 2..=40 {
            text.push_str(&format!("A{i},Thing,2025-01-02,{i}\n"));
        }
        let found = UnclosedLines::default();
        let width = Arc::new(AtomicUsize::new(4));
        // one byte at a time: every decision is made across reads
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(1);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut guard = QuoteGuard::new(Trickle(text.as_bytes()), b',', width, found.clone());
        let mut out = String::new();
        guard.read_to_string(&mut out).expect("read");
        let lines: Vec<&str> = out.split('\n').collect();
        assert_eq!(lines[1], "");
        assert_eq!(lines[2], "A2,Thing,2025-01-02,2");
        assert_eq!(out.matches('\n').count(), text.matches('\n').count());
        let found = found.lock().expect("lock");
        assert_eq!(
            found.iter().cloned().collect::<Vec<_>>(),
            [UnclosedLine {
                line: 2,
                field: 1,
                raw: b"A1,\"Widget,2025-01-01,5".to_vec(),
            }]
        );
    }
}
