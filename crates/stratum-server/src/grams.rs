//! A trigram index of the book's search text: for every three-byte sequence, the rows whose
//! text holds it. A search of three bytes or more (one Chinese character is three) intersects
//! the lists of its trigrams, shortest first, and checks only those rows for the whole
//! needle, so its cost follows its hits instead of the book's size. Shorter needles scan the
//! text.

use memchr::memmem;

/// The rows of each trigram, one list after the other.
#[derive(Debug, Default)]
pub(crate) struct Trigrams {
    /// The trigrams that occur (three bytes, big endian in a `u32`), ascending.
    keys: Vec<u32>,
    /// Where each key's rows start in `rows` (one more entry than `keys`).
    starts: Vec<u32>,
    /// Row numbers, ascending within each key's list.
    rows: Vec<u32>,
}

fn key(w: &[u8]) -> u32 {
    u32::from(w[0]) << 16 | u32::from(w[1]) << 8 | u32::from(w[2])
}

/// The distinct trigrams of `text`, in `out` (cleared first).
fn grams_of(text: &[u8], out: &mut Vec<u32>) {
    out.clear();
    out.extend(text.windows(3).map(key));
    out.sort_unstable();
    out.dedup();
}

/// Row `i`'s text: `text` from `starts[i]` to the next row's start.
fn row_text<'a>(text: &'a [u8], starts: &[u32], i: usize) -> &'a [u8] {
    let end = starts.get(i + 1).map_or(text.len(), |&e| e as usize);
    &text[starts[i] as usize..end]
}

impl Trigrams {
    /// The index of `text`, whose rows start at `starts`: counted in one pass over a table of
    /// every possible trigram, filled in a second.
    pub(crate) fn build(text: &[u8], starts: &[u32]) -> Trigrams {
        let mut counts = vec![0u32; 1 << 24];
        let mut grams = Vec::new();
        for i in 0..starts.len() {
            grams_of(row_text(text, starts, i), &mut grams);
            for &g in &grams {
                counts[g as usize] += 1;
            }
        }
        let mut keys = Vec::new();
        let mut offsets = Vec::new();
        let mut total = 0u32;
        for (g, c) in counts.iter_mut().enumerate() {
            if *c > 0 {
                keys.push(g as u32);
                offsets.push(total);
                total += *c;
                // from here on, where the key's next row goes
                *c = total - *c;
            }
        }
        offsets.push(total);
        let mut rows = vec![0u32; total as usize];
        for i in 0..starts.len() {
            grams_of(row_text(text, starts, i), &mut grams);
            for &g in &grams {
                let at = &mut counts[g as usize];
                rows[*at as usize] = i as u32;
                *at += 1;
            }
        }
        Trigrams {
            keys,
            starts: offsets,
            rows,
        }
    }

    /// The rows of trigram `g` (empty when no row has it).
    fn list(&self, g: u32) -> &[u32] {
        match self.keys.binary_search(&g) {
            Ok(k) => &self.rows[self.starts[k] as usize..self.starts[k + 1] as usize],
            Err(_) => &[],
        }
    }

    /// The rows of `text` (rows starting at `starts`) that hold `needle`, in row order.
    pub(crate) fn search(&self, text: &[u8], starts: &[u32], needle: &[u8]) -> Vec<u32> {
        let finder = memmem::Finder::new(needle);
        if needle.len() < 3 {
            let mut hits: Vec<u32> = Vec::new();
            for at in finder.find_iter(text) {
                let row = starts.partition_point(|&s| s as usize <= at) as u32 - 1;
                if hits.last() != Some(&row) {
                    hits.push(row);
                }
            }
            return hits;
        }
        let mut grams = Vec::new();
        grams_of(needle, &mut grams);
        let mut lists: Vec<&[u32]> = grams.iter().map(|&g| self.list(g)).collect();
        lists.sort_unstable_by_key(|l| l.len());
        let mut candidates: Vec<u32> = lists[0].to_vec();
        for list in &lists[1..] {
            let mut rest = *list;
            candidates.retain(|&r| {
                let at = rest.partition_point(|&x| x < r);
                rest = &rest[at..];
                rest.first() == Some(&r)
            });
            if candidates.is_empty() {
                break;
            }
        }
        candidates.retain(|&r| finder.find(row_text(text, starts, r as usize)).is_some());
        candidates
    }

    /// The bytes the index holds.
    pub(crate) fn size(&self) -> usize {
        4 * (self.keys.len() + self.starts.len() + self.rows.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows holding `needle`, by scanning every row.
    fn scan(text: &[u8], starts: &[u32], needle: &[u8]) -> Vec<u32> {
        (0..starts.len())
            .filter(|&i| memmem::find(row_text(text, starts, i), needle).is_some())
            .map(|i| i as u32)
            .collect()
    }

    #[test]
    fn a_search_finds_exactly_the_rows_a_scan_finds() {
        let names = [
            "c001\u{1}盛新科技\n",
            "c002\u{1}新盛贸易\n",
            "c010\u{1}盛新\n",
            "c100\u{1}acme gmbh\n",
            "c101\u{1}\n",
            "x\u{1}盛\n",
        ];
        let mut text = Vec::new();
        let mut starts = Vec::new();
        for n in names {
            starts.push(text.len() as u32);
            text.extend_from_slice(n.as_bytes());
        }
        let index = Trigrams::build(&text, &starts);
        for needle in [
            "盛新",
            "盛",
            "新盛",
            "c0",
            "c",
            "00",
            "c001",
            "c10",
            "acme",
            "me g",
            "gmbh",
            "新科技",
            "盛新科技有限",
            "zz",
            "zzz",
            "1\u{1}",
            "\n",
            "科",
        ] {
            let n = needle.as_bytes();
            assert_eq!(
                index.search(&text, &starts, n),
                scan(&text, &starts, n),
                "{needle}"
            );
        }
        assert_eq!(index.search(&text, &starts, "盛新".as_bytes()), [0, 2]);
        assert!(index.size() > 0);
    }

    #[test]
    fn an_empty_book_has_an_empty_index() {
        let index = Trigrams::build(&[], &[]);
        assert!(index.search(&[], &[], b"abc").is_empty());
        assert!(index.search(&[], &[], b"a").is_empty());
    }
}
