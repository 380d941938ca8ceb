//! A look inside `.xls` files before calamine reads them.
//!
//! An `.xls` file is an OLE compound file (MS-CFB, a small file system of sectors chained by
//! a table) holding a `Workbook` stream of BIFF records. calamine lays out every worksheet of
//! it as a whole grid as soon as the file is opened: a grid spanning the sheet's extreme cells
//! and a reservation sized by its DIMENSIONS record, both taken from the file. A 10 KB file
//! can ask for 65,536 × 65,536 cells, or for four billion rows of reservation, which aborts
//! the process; a sector chain that loops makes a compound-file reader grow without end.
//!
//! So the compound file is read here first, every chain bounded by the file's size and
//! every cycle refused, and the workbook stream is handed to calamine in a fresh compound
//! file of its own with plain chains. Each worksheet's records are walked as calamine will
//! walk them, and a file whose grids need more memory than [`super::budget`] allows for its
//! size is refused, naming the sheet and the range it spans. A compound file that holds an
//! encrypted Office document (a password-protected `.xlsx` is one) is recognised as such.

use std::path::Path;

use calamine::Data;

use super::{budget, cell_ref, size_text};
use crate::record::SourceError;

const END_OF_CHAIN: u32 = 0xFFFF_FFFE;
const FREE: u32 = 0xFFFF_FFFF;
const FAT_SECTOR: u32 = 0xFFFF_FFFD;
const DIFAT_SECTOR: u32 = 0xFFFF_FFFC;
/// Sector ids at or above this are markers, not sectors.
const MAX_REGULAR: u32 = 0xFFFF_FFFA;
/// Streams shorter than this live in the mini stream (calamine's rule: the fixed cutoff).
const MINI_CUTOFF: u64 = 4096;

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// A directory entry.
#[derive(Debug)]
struct Entry {
    name: String,
    kind: u8,
    start: u32,
    size: u64,
}

/// A compound file, its tables read.
struct Compound<'a> {
    data: &'a [u8],
    sector: usize,
    fat: Vec<u32>,
    entries: Vec<Entry>,
    mini_fat: Vec<u32>,
    mini: Vec<u8>,
}

impl<'a> Compound<'a> {
    fn parse(data: &'a [u8]) -> Result<Self, String> {
        if data.len() < 512 || data[..8] != super::OLE_MAGIC {
            return Err("not a compound file".into());
        }
        let sector = match u16_at(data, 0x1E) {
            Some(9) => 512,
            Some(12) => 4096,
            other => return Err(format!("sector shift {other:?}")),
        };
        let sectors = data.len().div_ceil(sector);
        let mut c = Compound {
            data,
            sector,
            fat: Vec::new(),
            entries: Vec::new(),
            mini_fat: Vec::new(),
            mini: Vec::new(),
        };
        // the sectors of the allocation table: 109 in the header, more in a chain of its own
        let mut fat_sectors: Vec<u32> = (0..109)
            .filter_map(|i| u32_at(data, 0x4C + 4 * i))
            .filter(|&id| id < MAX_REGULAR)
            .collect();
        let mut next = u32_at(data, 0x44).unwrap_or(END_OF_CHAIN);
        let mut steps = 0;
        while next < MAX_REGULAR {
            steps += 1;
            if steps > sectors {
                return Err("its sector table chain loops".into());
            }
            let ids: Vec<u32> = c
                .sector_bytes(next)
                .ok_or("its sector table points past the end of the file")?
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let (last, rest) = ids.split_last().ok_or("a sector is empty")?;
            fat_sectors.extend(rest.iter().filter(|&&id| id < MAX_REGULAR));
            next = *last;
        }
        // entries past the file's sectors can never be followed
        for id in fat_sectors {
            if c.fat.len() >= sectors {
                break;
            }
            let bytes = c
                .sector_bytes(id)
                .ok_or("its sector table points past the end of the file")?;
            c.fat.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
        }
        let dir_start = u32_at(data, 0x30).unwrap_or(END_OF_CHAIN);
        let dir = c.chain(dir_start, usize::MAX)?;
        let v4 = sector == 4096;
        c.entries = dir
            .chunks_exact(128)
            .map(|e| {
                let name_len = (usize::from(u16_at(e, 64).unwrap_or(0))).min(64);
                let units: Vec<u16> = e[..name_len]
                    .chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]))
                    .take_while(|&u| u != 0)
                    .collect();
                let size = if v4 {
                    u64_at(e, 120).unwrap_or(0)
                } else {
                    u64::from(u32_at(e, 120).unwrap_or(0))
                };
                Entry {
                    name: String::from_utf16_lossy(&units),
                    kind: e[66],
                    start: u32_at(e, 116).unwrap_or(END_OF_CHAIN),
                    size,
                }
            })
            .collect();
        let root = c.entries.first().ok_or("it has no root directory")?;
        let (root_start, root_size) = (root.start, root.size);
        let mini_fat_start = u32_at(data, 0x3C).unwrap_or(END_OF_CHAIN);
        if mini_fat_start < MAX_REGULAR {
            c.mini = c.chain(root_start, usize::try_from(root_size).unwrap_or(usize::MAX))?;
            c.mini_fat = c
                .chain(mini_fat_start, usize::MAX)?
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
        }
        Ok(c)
    }

    fn sector_bytes(&self, id: u32) -> Option<&'a [u8]> {
        let start = (id as usize).checked_add(1)?.checked_mul(self.sector)?;
        let end = start.saturating_add(self.sector).min(self.data.len());
        self.data.get(start..end).filter(|s| !s.is_empty())
    }

    /// The bytes of the chain from `start`, at most `limit` of them; a chain that visits more
    /// sectors than the table has loops.
    fn chain(&self, start: u32, limit: usize) -> Result<Vec<u8>, String> {
        follow(start, limit, &self.fat, |id| self.sector_bytes(id))
    }

    fn stream(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        let Some(e) = self
            .entries
            .iter()
            .find(|e| e.kind == 2 && e.name.eq_ignore_ascii_case(name))
        else {
            return Ok(None);
        };
        let size = usize::try_from(e.size).unwrap_or(usize::MAX);
        let bytes = if e.size < MINI_CUTOFF {
            follow(e.start, size, &self.mini_fat, |id| {
                let start = (id as usize).checked_mul(64)?;
                let end = start.saturating_add(64).min(self.mini.len());
                self.mini.get(start..end).filter(|s| !s.is_empty())
            })?
        } else {
            self.chain(e.start, size)?
        };
        Ok(Some(bytes))
    }

    fn has(&self, name: &str) -> bool {
        self.entries
            .iter()
            .any(|e| e.name.eq_ignore_ascii_case(name))
    }
}

fn follow<'s>(
    start: u32,
    limit: usize,
    table: &[u32],
    sector: impl Fn(u32) -> Option<&'s [u8]>,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut id = start;
    let mut steps = 0usize;
    while id < MAX_REGULAR && out.len() < limit {
        steps += 1;
        if steps > table.len() {
            return Err("a sector chain loops or leaves its table".into());
        }
        let bytes = sector(id).ok_or("a sector chain points past the end of the file")?;
        out.extend_from_slice(&bytes[..bytes.len().min(limit - out.len())]);
        id = *table
            .get(id as usize)
            .ok_or("a sector chain leaves its table")?;
    }
    Ok(out)
}

/// A compound file holding `stream` as its `Workbook`, with plain chains and no mini stream
/// (the stream is padded to 4096 bytes): what calamine is given to read.
fn plain_compound(stream: &[u8]) -> Vec<u8> {
    const SECTOR: usize = 512;
    const IDS: usize = SECTOR / 4;
    let padded = stream.len().max(MINI_CUTOFF as usize).div_ceil(SECTOR) * SECTOR;
    let data_sectors = padded / SECTOR;
    // the directory sector, the table's sectors and the sectors listing those beyond 109
    let (mut fats, mut difats) = (1, 0);
    loop {
        let total = data_sectors + 1 + fats + difats;
        let need_fats = total.div_ceil(IDS);
        let need_difats = need_fats.saturating_sub(109).div_ceil(IDS - 1);
        if (need_fats, need_difats) == (fats, difats) {
            break;
        }
        (fats, difats) = (need_fats, need_difats);
    }
    let dir_id = data_sectors;
    let fat_ids: Vec<u32> = (0..fats).map(|i| (dir_id + 1 + i) as u32).collect();
    let difat_ids: Vec<u32> = (0..difats)
        .map(|i| (dir_id + 1 + fats + i) as u32)
        .collect();
    let mut table = vec![FREE; fats * IDS];
    for (i, slot) in table.iter_mut().enumerate().take(data_sectors) {
        *slot = if i + 1 == data_sectors {
            END_OF_CHAIN
        } else {
            (i + 1) as u32
        };
    }
    table[dir_id] = END_OF_CHAIN;
    for &id in &fat_ids {
        table[id as usize] = FAT_SECTOR;
    }
    for &id in &difat_ids {
        table[id as usize] = DIFAT_SECTOR;
    }
    let mut out = Vec::with_capacity(SECTOR * (1 + data_sectors + 1 + fats + difats));
    let put32 = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
    // header
    out.extend_from_slice(&super::OLE_MAGIC);
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(&0x3Eu16.to_le_bytes());
    out.extend_from_slice(&3u16.to_le_bytes());
    out.extend_from_slice(&0xFFFEu16.to_le_bytes());
    out.extend_from_slice(&9u16.to_le_bytes());
    out.extend_from_slice(&6u16.to_le_bytes());
    out.extend_from_slice(&[0; 6]);
    put32(&mut out, 0); // directory sectors (version 3)
    put32(&mut out, fats as u32);
    put32(&mut out, dir_id as u32);
    put32(&mut out, 0);
    put32(&mut out, MINI_CUTOFF as u32);
    put32(&mut out, END_OF_CHAIN); // no mini table
    put32(&mut out, 0);
    put32(&mut out, difat_ids.first().copied().unwrap_or(END_OF_CHAIN));
    put32(&mut out, difats as u32);
    for i in 0..109 {
        put32(&mut out, fat_ids.get(i).copied().unwrap_or(FREE));
    }
    // the stream
    out.extend_from_slice(stream);
    out.resize(SECTOR * (1 + data_sectors), 0);
    // the directory: the root, then the stream
    let entry = |out: &mut Vec<u8>, name: &str, kind: u8, child: u32, start: u32, size: u32| {
        let units: Vec<u16> = name.encode_utf16().chain([0]).collect();
        let mut name_bytes = [0u8; 64];
        for (i, u) in units.iter().enumerate() {
            name_bytes[2 * i..2 * i + 2].copy_from_slice(&u.to_le_bytes());
        }
        out.extend_from_slice(&name_bytes);
        out.extend_from_slice(&((units.len() * 2) as u16).to_le_bytes());
        out.push(kind);
        out.push(1); // black
        put32(out, FREE); // left sibling
        put32(out, FREE); // right sibling
        put32(out, child);
        out.extend_from_slice(&[0; 16 + 4 + 16]); // class id, state bits, times
        put32(out, start);
        put32(out, size);
        put32(out, 0);
    };
    entry(&mut out, "Root Entry", 5, 1, END_OF_CHAIN, 0);
    entry(&mut out, "Workbook", 2, FREE, 0, padded as u32);
    out.resize(SECTOR * (1 + data_sectors + 1), 0);
    for v in &table {
        put32(&mut out, *v);
    }
    for (k, _) in difat_ids.iter().enumerate() {
        for i in 0..IDS - 1 {
            put32(
                &mut out,
                fat_ids
                    .get(109 + k * (IDS - 1) + i)
                    .copied()
                    .unwrap_or(FREE),
            );
        }
        put32(
            &mut out,
            difat_ids.get(k + 1).copied().unwrap_or(END_OF_CHAIN),
        );
    }
    out
}

/// A BIFF record: its type and its data (continuation records are not needed here).
struct Records<'s> {
    stream: &'s [u8],
}

impl<'s> Iterator for Records<'s> {
    type Item = (u16, &'s [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let typ = u16_at(self.stream, 0)?;
        let len = usize::from(u16_at(self.stream, 2)?);
        let data = self.stream.get(4..4 + len)?;
        self.stream = &self.stream[4 + len..];
        Some((typ, data))
    }
}

/// The bounding box of some cells.
#[derive(Debug, Default, Clone, Copy)]
struct Bounds(Option<(u32, u32, u32, u32)>);

impl Bounds {
    fn add(&mut self, row: u32, col: u32) {
        self.0 = Some(match self.0 {
            None => (row, row, col, col),
            Some((r0, r1, c0, c1)) => (r0.min(row), r1.max(row), c0.min(col), c1.max(col)),
        });
    }

    fn area(&self) -> u64 {
        self.0.map_or(0, |(r0, r1, c0, c1)| {
            u64::from(r1 - r0 + 1) * u64::from(c1 - c0 + 1)
        })
    }

    fn span(&self) -> String {
        self.0.map_or_else(String::new, |(r0, r1, c0, c1)| {
            format!("{}:{}", cell_ref(r0, c0), cell_ref(r1, c1))
        })
    }
}

/// What calamine will lay out for one worksheet.
#[derive(Debug, Default)]
struct SheetGrids {
    name: String,
    /// Cells reserved from the DIMENSIONS record, and the range it declares.
    reserved: u64,
    declared: Bounds,
    /// Value cells pushed, and their bounding box (the value grid).
    values: u64,
    value_box: Bounds,
    /// Formula cells, and their bounding box (the formula grid).
    formulas: u64,
    formula_box: Bounds,
}

impl SheetGrids {
    fn bytes(&self) -> u64 {
        let cell = (std::mem::size_of::<Data>() + 8) as u64;
        let data = std::mem::size_of::<Data>() as u64;
        let text = std::mem::size_of::<String>() as u64;
        self.reserved
            .max(self.values)
            .saturating_mul(cell)
            .saturating_add(self.value_box.area().saturating_mul(data))
            .saturating_add(self.formulas.saturating_mul(text + 8))
            .saturating_add(self.formula_box.area().saturating_mul(text))
    }
}

/// Checks an `.xls` file (the bytes of `path`) and returns the compound file calamine is to
/// read.
pub(super) fn check(path: &Path, data: &[u8]) -> Result<Vec<u8>, SourceError> {
    let malformed = |what: String| SourceError::Excel {
        path: path.to_path_buf(),
        message: format!("malformed compound file: {what}"),
    };
    let cfb = Compound::parse(data).map_err(malformed)?;
    if cfb.has("EncryptedPackage") || cfb.has("EncryptionInfo") {
        return Err(SourceError::Encrypted {
            path: path.to_path_buf(),
        });
    }
    let stream = match cfb.stream("Workbook").map_err(malformed)? {
        Some(s) => s,
        None => cfb
            .stream("Book")
            .map_err(malformed)?
            .ok_or_else(|| SourceError::Excel {
                path: path.to_path_buf(),
                message: "the compound file holds no workbook stream".into(),
            })?,
    };
    let sheets = scan(path, &stream)?;
    let size = data.len() as u64;
    let total: u64 = sheets.iter().map(SheetGrids::bytes).sum();
    if total > budget(size) {
        let worst = sheets
            .iter()
            .max_by_key(|s| s.bytes())
            .ok_or_else(|| malformed("no worksheet".into()))?;
        let present = worst.values.max(worst.formulas);
        let (span, cells) = [
            (worst.declared, worst.reserved),
            (worst.value_box, worst.value_box.area()),
            (worst.formula_box, worst.formula_box.area()),
        ]
        .into_iter()
        .max_by_key(|(_, cells)| *cells)
        .map(|(b, cells)| (b.span(), cells))
        .unwrap_or_default();
        if cells > present.saturating_mul(8) {
            return Err(SourceError::SparseSheet {
                path: path.to_path_buf(),
                sheet: worst.name.clone(),
                span,
                cells,
                values: present,
            });
        }
        return Err(SourceError::TooLarge {
            path: path.to_path_buf(),
            part: format!(
                "{} of it for sheet `{}`",
                size_text(worst.bytes()),
                worst.name
            ),
            expanded: total,
            size,
        });
    }
    Ok(plain_compound(&stream))
}

/// Walks the workbook stream as calamine does: the globals up to their EOF record (sheet
/// positions, encryption), then each sheet from its position to its own EOF, skipping
/// embedded substreams (charts).
fn scan(path: &Path, stream: &[u8]) -> Result<Vec<SheetGrids>, SourceError> {
    let malformed = |what: String| SourceError::Excel {
        path: path.to_path_buf(),
        message: format!("malformed workbook: {what}"),
    };
    let mut sheets = Vec::new();
    for (typ, data) in (Records { stream }) {
        match typ {
            // FILEPASS: the records are encrypted
            0x002F if u16_at(data, 0) != Some(0) => {
                return Err(SourceError::Encrypted {
                    path: path.to_path_buf(),
                });
            }
            // BOUNDSHEET: a sheet's position and name
            0x0085 => {
                let Some(pos) = u32_at(data, 0) else { continue };
                sheets.push((pos as usize, sheet_name(data, sheets.len())));
            }
            0x000A => break,
            _ => {}
        }
    }
    let mut grids = Vec::with_capacity(sheets.len());
    for (pos, name) in sheets {
        let Some(sheet) = stream.get(pos..) else {
            return Err(malformed(format!(
                "sheet `{name}` starts at byte {pos}, past the end of the workbook ({} bytes)",
                stream.len()
            )));
        };
        let mut g = SheetGrids {
            name,
            ..SheetGrids::default()
        };
        let mut formula_at = (0, 0);
        let mut seen_bof = false;
        let mut depth = 0usize;
        for (typ, data) in (Records { stream: sheet }) {
            if depth > 0 {
                match typ {
                    0x0809 => depth += 1,
                    0x000A => depth -= 1,
                    _ => {}
                }
                continue;
            }
            let at = |data: &[u8]| -> Option<(u32, u32)> {
                Some((u32::from(u16_at(data, 0)?), u32::from(u16_at(data, 2)?)))
            };
            match typ {
                0x0809 if seen_bof => depth += 1,
                0x0809 => seen_bof = true,
                0x000A => break,
                // DIMENSIONS: calamine reserves its rows × columns
                0x0200 => {
                    let (rf, rl, cf, cl) = match data.len() {
                        10 => (
                            u32::from(u16_at(data, 0).unwrap_or(0)),
                            u32::from(u16_at(data, 2).unwrap_or(0)),
                            u32::from(u16_at(data, 4).unwrap_or(0)),
                            u32::from(u16_at(data, 6).unwrap_or(0)),
                        ),
                        14 | 16 => (
                            u32_at(data, 0).unwrap_or(0),
                            u32_at(data, 4).unwrap_or(0),
                            u32::from(u16_at(data, 8).unwrap_or(0)),
                            u32::from(u16_at(data, 10).unwrap_or(0)),
                        ),
                        // calamine refuses it
                        _ => continue,
                    };
                    let cf = if cf > 0xFF || cl < cf { 0 } else { cf };
                    if rl >= 1 && cl >= 1 {
                        if rf > rl - 1 || cf > cl - 1 {
                            return Err(malformed(format!(
                                "sheet `{}` declares rows {rf} to {rl} and columns {cf} to {cl}",
                                g.name
                            )));
                        }
                        let rows = u64::from(rl - rf);
                        let cols = u64::from(cl - cf);
                        g.reserved = g.reserved.max(rows.saturating_mul(cols));
                        g.declared.add(rf, cf);
                        g.declared.add(rl - 1, cl - 1);
                    }
                }
                // NUMBER, LABEL, RSTRING, BOOLERR, RK, LABELSST: one cell
                0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD => {
                    if let Some((row, col)) = at(data) {
                        g.values += 1;
                        g.value_box.add(row, col);
                    }
                }
                // STRING: the text result of the formula before it
                0x0207 => {
                    g.values += 1;
                    g.value_box.add(formula_at.0, formula_at.1);
                }
                // MULRK: a run of cells in one row
                0x00BD => {
                    let (Some((row, first)), Some(last)) = (
                        at(data),
                        data.len().checked_sub(2).and_then(|i| u16_at(data, i)),
                    ) else {
                        continue;
                    };
                    let last = u32::from(last);
                    if last < first {
                        return Err(malformed(format!(
                            "sheet `{}` has a run of cells from column {first} back to column {last}",
                            g.name
                        )));
                    }
                    g.values += u64::from(last - first + 1);
                    g.value_box.add(row, first);
                    g.value_box.add(row, last);
                }
                // FORMULA: a formula cell, and its value unless that is text
                0x0006 if data.len() >= 20 => {
                    if let Some((row, col)) = at(data) {
                        formula_at = (row, col);
                        g.values += 1;
                        g.value_box.add(row, col);
                        g.formulas += 1;
                        g.formula_box.add(row, col);
                    }
                }
                _ => {}
            }
        }
        grids.push(g);
    }
    Ok(grids)
}

/// A BOUNDSHEET record's sheet name, for messages (BIFF8 text, else bytes as Latin-1).
fn sheet_name(data: &[u8], index: usize) -> String {
    let fallback = || format!("sheet {}", index + 1);
    let Some(&len) = data.get(6) else {
        return fallback();
    };
    let len = usize::from(len);
    let name = match data.get(7) {
        Some(&flags) if flags & 1 == 1 => data.get(8..8 + 2 * len).map(|b| {
            let units: Vec<u16> = b
                .chunks_exact(2)
                .map(|u| u16::from_le_bytes([u[0], u[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }),
        Some(0) => data
            .get(8..8 + len)
            .map(|b| b.iter().map(|&c| char::from(c)).collect()),
        _ => data
            .get(7..7 + len)
            .map(|b| b.iter().map(|&c| char::from(c)).collect()),
    };
    name.filter(|n: &String| !n.is_empty())
        .unwrap_or_else(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BIFF8 record.
    fn record(typ: u16, data: &[u8]) -> Vec<u8> {
        let mut r = typ.to_le_bytes().to_vec();
        r.extend_from_slice(&(data.len() as u16).to_le_bytes());
        r.extend_from_slice(data);
        r
    }

    #[test]
    fn a_stream_survives_the_plain_compound_file_whatever_its_length() {
        for len in [10, 4095, 4096, 4097, 512 * 128 * 3, 512 * 128 * 110 + 7] {
            let stream: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let file = plain_compound(&stream);
            let cfb = Compound::parse(&file).unwrap_or_else(|e| panic!("{len}: {e}"));
            let back = cfb
                .stream("Workbook")
                .unwrap_or_else(|e| panic!("{len}: {e}"))
                .unwrap_or_else(|| panic!("{len}: no stream"));
            assert_eq!(&back[..len], &stream[..], "{len}");
            assert!(back[len..].iter().all(|&b| b == 0), "{len}");
        }
    }

    #[test]
    fn a_sector_chain_that_loops_is_refused_not_followed() {
        let mut file = plain_compound(&[1; 5000]);
        // the directory (sector 10, after the stream's 10) points back to itself in the
        // table, which is sector 11 (after the 512-byte header)
        let entry = 512 * 12 + 4 * 10;
        file[entry..entry + 4].copy_from_slice(&10u32.to_le_bytes());
        let err = Compound::parse(&file).map(|_| ());
        assert_eq!(err, Err("a sector chain loops or leaves its table".into()));
    }

    #[test]
    fn a_dimensions_record_of_four_billion_rows_is_measured_not_reserved() {
        let mut dims = Vec::new();
        dims.extend_from_slice(&0u32.to_le_bytes());
        dims.extend_from_slice(&u32::MAX.to_le_bytes());
        dims.extend_from_slice(&0u16.to_le_bytes());
        dims.extend_from_slice(&200u16.to_le_bytes());
        dims.extend_from_slice(&0u16.to_le_bytes());
        let mut globals = record(0x0809, &[0, 6, 5, 0]);
        let sheet_at = globals.len() + 4 + 10 + 4;
        let mut bound = (sheet_at as u32).to_le_bytes().to_vec();
        bound.extend_from_slice(&[0, 0, 2, 0, b'S', b'1']);
        globals.extend(record(0x0085, &bound));
        globals.extend(record(0x000A, &[]));
        assert_eq!(globals.len(), sheet_at);
        let mut stream = globals;
        stream.extend(record(0x0809, &[0, 6, 0x10, 0]));
        stream.extend(record(0x0200, &dims));
        stream.extend(record(0x000A, &[]));
        let sheets = scan(Path::new("x.xls"), &stream).expect("scanned");
        assert_eq!(sheets.len(), 1);
        assert_eq!(sheets[0].name, "S1");
        assert_eq!(sheets[0].reserved, u64::from(u32::MAX) * 200);
        assert!(sheets[0].bytes() > budget(10_000));
    }
}
