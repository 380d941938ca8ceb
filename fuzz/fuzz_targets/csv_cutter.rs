//! The CSV record scan behind the parallel cutter and the streaming reader: for any bytes, the
//! boundaries rise and stay inside the text, a scan cut anywhere and resumed at its last
//! complete record finds the same records as one scan of the whole, and the quote guard hands
//! on every line (runaway records as empty lines) so that line numbers stay right.
#![no_main]

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use libfuzzer_sys::fuzz_target;
use stratum_io::quotes::{QuoteGuard, Runaway, Shape, UnclosedLines, scan};

fn whole(buf: &[u8], shape: Shape) -> (Vec<usize>, Vec<Runaway>) {
    let mut bounds = Vec::new();
    let mut runaways = Vec::new();
    let last = scan(buf, shape, true, &mut |b| bounds.push(b), &mut |r| {
        runaways.push(r)
    });
    assert_eq!(last, buf.len());
    (bounds, runaways)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let shape = Shape {
        delimiter: [b',', b';', b'\t', b'|'][usize::from(data[0] % 4)],
        width: usize::from(data[1] % 6),
    };
    let cut = usize::from(data[0]) * 7 % data.len().max(1);
    let text = &data[2..];
    let (bounds, runaways) = whole(text, shape);
    assert!(bounds.windows(2).all(|w| w[0] < w[1]), "{bounds:?}");
    assert!(bounds.iter().all(|&b| b > 0 && b <= text.len()));
    for r in &runaways {
        assert!(
            r.start <= r.quote && r.quote < r.end && r.end <= text.len(),
            "{r:?}"
        );
        assert!(bounds.contains(&r.end));
    }
    // a scan of a prefix stops at a record boundary; resumed there it finds the same records
    let cut = cut.min(text.len());
    let mut first = Vec::new();
    let mut first_runaways = Vec::new();
    let last = scan(
        &text[..cut],
        shape,
        false,
        &mut |b| first.push(b),
        &mut |r| first_runaways.push(r),
    );
    assert!(last == 0 || first.contains(&last), "{last} {first:?}");
    let (rest, rest_runaways) = whole(&text[last..], shape);
    let mut joined: Vec<usize> = first.into_iter().filter(|&b| b <= last).collect();
    joined.extend(rest.into_iter().map(|b| b + last));
    // a runaway decided early (by its line limits) is decided the same way on the whole text
    let mut all_runaways: Vec<Runaway> = first_runaways
        .into_iter()
        .filter(|r| r.end <= last)
        .collect();
    all_runaways.extend(rest_runaways.into_iter().map(|r| Runaway {
        start: r.start + last,
        end: r.end + last,
        quote: r.quote + last,
        field: r.field,
    }));
    assert_eq!(joined, bounds);
    assert_eq!(all_runaways, runaways);
    // the guard keeps every line
    let found = UnclosedLines::default();
    let width = Arc::new(AtomicUsize::new(shape.width));
    let mut guard = QuoteGuard::new(text, shape.delimiter, width, found.clone());
    let mut out = Vec::new();
    guard.read_to_end(&mut out).expect("read from memory");
    let newlines = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count();
    assert_eq!(newlines(&out), newlines(text));
    let found = found.lock().expect("lock");
    assert_eq!(found.len(), runaways.len());
});
