//! Read access to a row's fields, whatever the format (a parsed record, a CSV line split in
//! place, a Parquet row, a worksheet row), and the first checks every field goes through.

use chrono::NaiveDate;
use csv::ByteRecord;
use stratum_core::Money;

use crate::rejects::RejectReason;

/// A 128-bit hash of a record's fields and their boundaries (so that `ab,c` and `a,bc`
/// differ): xxh3 of the concatenated field bytes, seeded with a hash of the field lengths.
pub fn record_hash(record: &ByteRecord) -> u128 {
    use xxhash_rust::xxh3;
    let mut lens = [0u8; 256];
    let mut n = 0;
    for field in record {
        if n + 4 > lens.len() {
            // more than 64 fields: hash them one by one
            let mut h = xxh3::Xxh3::new();
            for field in record {
                h.update(&(field.len() as u32).to_le_bytes());
                h.update(field);
            }
            return h.digest128();
        }
        lens[n..n + 4].copy_from_slice(&(field.len() as u32).to_le_bytes());
        n += 4;
    }
    xxh3::xxh3_128_with_seed(record.as_slice(), xxh3::xxh3_64(&lens[..n]))
}

pub(crate) struct Bad {
    pub reason: RejectReason,
    pub column: Option<usize>,
    pub message: String,
}

pub(crate) fn bad(reason: RejectReason, column: usize, message: String) -> Bad {
    Bad {
        reason,
        column: Some(column),
        message,
    }
}

/// Whether a byte at the end of an ASCII-trimmed field may still be white space to `str::trim`:
/// a non-ASCII byte (U+3000, U+00A0, …) or a vertical tab, which `trim_ascii` keeps.
fn needs_unicode_trim(b: &u8) -> bool {
    !b.is_ascii() || *b == 0x0B
}

/// Whether `bytes` hold U+FFFD (EF BF BD in UTF-8): a byte search, much cheaper than a char
/// search on the short fields of every row.
fn has_replacement_char(bytes: &[u8]) -> bool {
    memchr::memchr_iter(0xEF, bytes).any(|i| bytes.get(i + 1..i + 3) == Some(&[0xBF, 0xBD]))
}

/// Read access to a row's fields: a parsed record, or a line of the file split in place.
pub(crate) trait Fields {
    /// The number of fields.
    fn count(&self) -> usize;
    /// Field `i`, if the row has it.
    fn field(&self, i: usize) -> Option<&[u8]>;
    /// The fields as a record (for the rejects file).
    fn to_record(&self) -> ByteRecord {
        let mut r = ByteRecord::new();
        for i in 0..self.count() {
            r.push_field(self.field(i).unwrap_or(b""));
        }
        r
    }
    /// Field `i` as text, when the source guarantees it is valid UTF-8 (saves checking it);
    /// `None` to check the bytes of [`Fields::field`].
    fn str_field(&self, _i: usize) -> Option<&str> {
        None
    }
    /// Whether a field may hold U+FFFD (`false` when the source knows none does, which saves
    /// searching every field for it).
    fn may_hold_replacement(&self) -> bool {
        true
    }
    /// Whether every field is empty or blank.
    fn is_blank(&self) -> bool {
        (0..self.count()).all(|i| self.field(i).is_none_or(|f| f.trim_ascii().is_empty()))
    }
    /// Field `i` as a date, when the source stores it typed and it is plausible; `None` to read
    /// the field's text instead.
    fn typed_date(&self, _i: usize) -> Option<NaiveDate> {
        None
    }
    /// Field `i` as an amount, when the source stores it typed and it is within range; `None`
    /// to read the field's text instead.
    fn typed_amount(&self, _i: usize) -> Option<Money> {
        None
    }
    /// A 128-bit hash of the row's values for duplicate detection (`scratch` is a buffer to
    /// reuse).
    fn row_hash(&self, _scratch: &mut Vec<u8>) -> u128 {
        record_hash(&self.to_record())
    }
}

impl Fields for ByteRecord {
    fn count(&self) -> usize {
        self.len()
    }

    fn field(&self, i: usize) -> Option<&[u8]> {
        self.get(i)
    }

    fn to_record(&self) -> ByteRecord {
        self.clone()
    }

    fn row_hash(&self, _scratch: &mut Vec<u8>) -> u128 {
        record_hash(self)
    }
}

/// A line without quotes split at its delimiters: field `i` is `line[bounds[i].0..bounds[i].1]`.
pub(crate) struct SplitLine<'a> {
    pub line: &'a [u8],
    /// The line as text, when the piece it comes from was checked as valid UTF-8 as a whole
    /// (once per piece instead of once per field).
    pub text: Option<&'a str>,
    pub bounds: &'a [(u32, u32)],
    /// Whether the piece the line comes from holds no U+FFFD anywhere (searched once per
    /// piece: a search in each short field was most of the 3% of a run spent in single-byte
    /// searches).
    pub replacement_free: bool,
}

impl Fields for SplitLine<'_> {
    fn count(&self) -> usize {
        self.bounds.len()
    }

    fn field(&self, i: usize) -> Option<&[u8]> {
        let &(a, b) = self.bounds.get(i)?;
        self.line.get(a as usize..b as usize)
    }

    fn str_field(&self, i: usize) -> Option<&str> {
        let &(a, b) = self.bounds.get(i)?;
        // fields end at ASCII delimiters, so at character boundaries
        self.text?.get(a as usize..b as usize)
    }

    fn may_hold_replacement(&self) -> bool {
        !self.replacement_free
    }
}

/// Field `c` as text, trimmed; an error when it holds bytes that are not valid in the file's
/// encoding.
pub(crate) fn field_text<F: Fields + ?Sized>(record: &F, c: usize) -> Result<&str, Bad> {
    // ASCII blanks first (the rule), Unicode ones (such as U+3000) after, only if any
    // U+FFFD is what a decoder leaves for bytes that are not valid in the file's encoding.
    let checked = match record.str_field(c) {
        Some(t) => Ok(t.trim_ascii()),
        None => std::str::from_utf8(record.field(c).unwrap_or(b"").trim_ascii()),
    };
    match checked {
        Ok(t) if !(record.may_hold_replacement() && has_replacement_char(t.as_bytes())) => Ok({
            let raw = t.as_bytes();
            if raw.first().is_some_and(needs_unicode_trim) || raw.last().is_some_and(needs_unicode_trim)
            {
                t.trim()
            } else {
                t
            }
        }),
        _ => Err(bad(
            RejectReason::InvalidEncoding,
            c,
            "holds bytes that are not valid in the file's encoding; pass --encoding (e.g. gb18030, utf-8)".into(),
        )),
    }
}
