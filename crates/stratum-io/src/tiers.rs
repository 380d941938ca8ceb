//! Writing a scheme's results: `tiers.csv` (every customer's tier per dimension, final tier,
//! strategy and reason), `tier_summary.csv` (per tier: customers, revenue, mean features,
//! strategy) and the action lists, one per account manager (`actions/<manager>.csv`, and one
//! sheet each in `actions.xlsx`).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rayon::prelude::*;
use rust_xlsxwriter::{Workbook, XlsxError};
use stratum_core::run::{SchemeRun, TierTotal};
use stratum_core::scheme::{CheckedScheme, Profile, SchemeResult, Strategy, Value};
use stratum_core::{Lang, Tiering};

use crate::master::{CustomerTable, MANAGER_ALIASES, NAME_ALIASES};
use crate::output::{Cell, CsvOut, CsvText, Formats, write_table};

/// Everything the scheme outputs are made of.
#[derive(Debug, Clone)]
pub struct SchemeOutput<'a> {
    /// The tiers and features (customers in id order).
    pub tiering: &'a Tiering,
    /// The profile the scheme ran on (same order).
    pub profile: &'a Profile,
    /// The scheme.
    pub scheme: &'a CheckedScheme,
    /// Its result (in the order of `tiering.features.customers`).
    pub result: &'a SchemeResult,
    /// Master data, for names and account managers.
    pub master: Option<&'a CustomerTable>,
    /// The analysis date.
    pub as_of: NaiveDate,
    /// Label language.
    pub lang: Lang,
    /// The master columns holding the account manager and the customer's name.
    roles: (Option<usize>, Option<usize>),
    /// The profile column `lifecycle`.
    lifecycle: Option<usize>,
    /// Each customer's reason for the final tier, worded once in `lang`.
    reasons: Vec<String>,
    /// Per dimension, per tier in scheme order: its customers and their net revenue.
    totals: &'a [Vec<TierTotal>],
}

impl<'a> SchemeOutput<'a> {
    /// The outputs of the scheme `run` applied to `tiering`; see the fields for the other
    /// arguments.
    pub fn new(
        tiering: &'a Tiering,
        run: &'a SchemeRun,
        master: Option<&'a CustomerTable>,
        as_of: NaiveDate,
        lang: Lang,
    ) -> Self {
        let (profile, scheme, result) = (&run.profile, &run.checked, &run.result);
        let roles = master.map_or((None, None), |m| {
            (m.role(MANAGER_ALIASES), m.role(NAME_ALIASES))
        });
        let lifecycle = profile.catalog().find("lifecycle");
        let reasons = result
            .assignments
            .par_iter()
            .map(|a| a.reason.text(scheme, lang))
            .collect();
        SchemeOutput {
            tiering,
            profile,
            scheme,
            result,
            master,
            as_of,
            lang,
            roles,
            lifecycle,
            reasons,
            totals: &run.tier_totals,
        }
    }
}

impl SchemeOutput<'_> {
    /// Customer `i`'s value of profile column `col` as text or as a number.
    fn profile_text(&self, col: Option<usize>, i: usize) -> &str {
        match col.map(|c| self.profile.value(c, i)) {
            Some(Value::Text(t)) => t,
            _ => "",
        }
    }

    fn final_tier(&self, i: usize) -> &stratum_core::scheme::Tier {
        let d = self.scheme.final_dimension;
        &self.scheme.dimensions[d].tiers[self.result.assignments[i].tiers[d] as usize]
    }

    fn strategy(&self, i: usize) -> Option<&Strategy> {
        self.scheme.strategies.get(&self.final_tier(i).name)
    }

    fn master_value(&self, i: usize, column: Option<usize>) -> Option<&str> {
        self.master?
            .attribute(&self.tiering.features.customers[i].customer_id, column?)
    }

    /// Customer `i`'s account manager, from the master data.
    pub fn manager(&self, i: usize) -> Option<&str> {
        self.master_value(i, self.roles.0)
    }

    /// Customer `i`'s name, from the master data.
    pub fn name(&self, i: usize) -> Option<&str> {
        self.master_value(i, self.roles.1)
    }

    /// The next follow-up: due `follow_up_days` after the last order, or at `as_of` when
    /// that day has passed (the action is due now).
    pub fn due(&self, i: usize) -> Option<NaiveDate> {
        let days = self.strategy(i)?.follow_up_days?;
        let due = self.tiering.features.customers[i]
            .last_purchase
            .checked_add_days(chrono::Days::new(u64::from(days)))?;
        Some(due.max(self.as_of))
    }

    /// Customer `i`'s lifecycle stage code (`new`, `growing`, …).
    pub fn lifecycle(&self, i: usize) -> &str {
        self.profile_text(self.lifecycle, i)
    }

    /// The index of customer `i`'s tier in dimension `d`.
    pub fn tier_index(&self, d: usize, i: usize) -> usize {
        usize::from(self.result.assignments[i].tiers[d])
    }

    /// Per tier of dimension `d`, in scheme order: its customers and their net revenue
    /// (computed once, by the run).
    pub fn tier_totals(&self, d: usize) -> &[TierTotal] {
        &self.totals[d]
    }

    fn next_action(&self, i: usize) -> String {
        let lang = self.lang;
        let fallback = lang.pick("跟进", "follow up");
        match self.strategy(i).map(|s| s.next_step(lang)) {
            Some(step) if !step.is_empty() => step.to_string(),
            _ => fallback.to_string(),
        }
    }
}

/// The header of `tiers.csv`.
pub fn tiers_header(o: &SchemeOutput<'_>) -> Vec<String> {
    let mut h = vec!["customer_id".to_string()];
    h.extend(o.scheme.dimensions.iter().map(|d| d.name.clone()));
    h.extend(
        [
            "final_tier",
            "final_tier_label",
            "lifecycle",
            "strategy",
            "response_hours",
            "next_action",
            "next_action_due",
            "marketing",
            "discount",
            "reason",
            "overridden",
            "account_manager",
        ]
        .map(String::from),
    );
    h
}

/// Customer `i`'s row of `tiers.csv`.
pub fn tiers_row<'a>(o: &'a SchemeOutput<'a>, i: usize) -> Vec<Cell<'a>> {
    let c = &o.tiering.features.customers[i];
    let a = &o.result.assignments[i];
    let mut row = vec![Cell::Text(&c.customer_id)];
    for (d, &t) in o.scheme.dimensions.iter().zip(&a.tiers) {
        row.push(Cell::Text(&d.tiers[t as usize].name));
    }
    let tier = o.final_tier(i);
    let strategy = o.strategy(i);
    row.push(Cell::Text(&tier.name));
    row.push(Cell::Text(tier.label.pick(o.lang, &tier.name)));
    row.push(Cell::Text(o.profile_text(o.lifecycle, i)));
    row.push(Cell::Text(
        strategy.map_or("", |s| s.coverage.pick(o.lang, "")),
    ));
    row.push(match strategy.and_then(|s| s.response_hours) {
        Some(h) if h.fract() == 0.0 && h.abs() < 1e15 => Cell::Int(h as i64),
        Some(h) => Cell::Number(h),
        None => Cell::Text(""),
    });
    row.push(Cell::Owned(o.next_action(i)));
    row.push(match o.due(i) {
        Some(d) => Cell::Date(d),
        None => Cell::Text(""),
    });
    row.push(Cell::Text(
        strategy.map_or("", |s| s.marketing.pick(o.lang, "")),
    ));
    row.push(Cell::Text(
        strategy.map_or("", |s| s.discount.pick(o.lang, "")),
    ));
    row.push(Cell::Text(&o.reasons[i]));
    row.push(Cell::Text(if a.overridden { "yes" } else { "no" }));
    row.push(Cell::Text(o.manager(i).unwrap_or("")));
    row
}

/// The header of `tier_summary.csv`.
pub const SUMMARY_COLUMNS: [&str; 13] = [
    "dimension",
    "tier",
    "tier_label",
    "customers",
    "customer_share",
    "revenue",
    "revenue_share",
    "mean_recency_days",
    "mean_frequency",
    "mean_monetary",
    "mean_satisfaction",
    "nps",
    "strategy",
];

/// One row per tier of every dimension, in scheme order.
pub fn summary_rows<'a>(o: &'a SchemeOutput<'a>) -> Vec<Vec<Cell<'a>>> {
    let opt = |v: Option<f64>| v.map_or(Cell::Text(""), Cell::Number);
    let mut rows = Vec::new();
    for (d, dim) in o.scheme.dimensions.iter().enumerate() {
        for (tier, t) in dim.tiers.iter().zip(o.tier_totals(d)) {
            let strategy = (d == o.scheme.final_dimension)
                .then(|| o.scheme.strategies.get(&tier.name))
                .flatten()
                .map_or("", |s| s.coverage.pick(o.lang, ""));
            rows.push(vec![
                Cell::Text(&dim.name),
                Cell::Text(&tier.name),
                Cell::Text(tier.label.pick(o.lang, &tier.name)),
                Cell::Int(t.customers as i64),
                Cell::Share(t.customer_share),
                Cell::Money(t.revenue),
                Cell::Share(t.revenue_share),
                Cell::Number(t.mean_recency_days),
                Cell::Number(t.mean_frequency),
                Cell::Number(t.mean_monetary),
                opt(t.mean_satisfaction),
                opt(t.nps),
                Cell::Text(strategy),
            ]);
        }
    }
    rows
}

/// The header of an action list.
pub const ACTION_COLUMNS: [&str; 11] = [
    "priority",
    "customer_id",
    "name",
    "tier",
    "strategy",
    "next_action",
    "next_action_due",
    "reason",
    "monetary",
    "last_order_date",
    "account_manager",
];

/// The action lists: per account manager (customers without one under `unassigned`), their
/// customers by priority: final tier in scheme order, then revenue, highest first.
pub fn action_lists<'a>(o: &'a SchemeOutput<'a>) -> Vec<(String, Vec<Vec<Cell<'a>>>)> {
    let customers = &o.tiering.features.customers;
    let fin = o.scheme.final_dimension;
    let unassigned = o.lang.pick("未分配", "unassigned");
    let mut by_manager: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for i in 0..customers.len() {
        let m = o.manager(i).unwrap_or(unassigned);
        by_manager.entry(m).or_default().push(i);
    }
    by_manager
        .into_iter()
        .map(|(manager, mut idx)| {
            idx.sort_by(|&a, &b| {
                let ta = o.result.assignments[a].tiers[fin];
                let tb = o.result.assignments[b].tiers[fin];
                ta.cmp(&tb)
                    .then(customers[b].monetary.cmp(&customers[a].monetary))
                    .then(customers[a].customer_id.cmp(&customers[b].customer_id))
            });
            let rows = idx
                .iter()
                .enumerate()
                .map(|(p, &i)| {
                    let c = &customers[i];
                    let tier = o.final_tier(i);
                    vec![
                        Cell::Int(p as i64 + 1),
                        Cell::Text(&c.customer_id),
                        Cell::Text(o.name(i).unwrap_or("")),
                        Cell::Text(tier.label.pick(o.lang, &tier.name)),
                        Cell::Text(o.strategy(i).map_or("", |s| s.coverage.pick(o.lang, ""))),
                        Cell::Owned(o.next_action(i)),
                        match o.due(i) {
                            Some(d) => Cell::Date(d),
                            None => Cell::Text(""),
                        },
                        Cell::Text(&o.reasons[i]),
                        Cell::Money(c.monetary),
                        Cell::Date(c.last_purchase),
                        // the whole name, also when the file or sheet name had to be cut
                        Cell::Text(o.manager(i).unwrap_or("")),
                    ]
                })
                .collect();
            (manager.to_string(), rows)
        })
        .collect()
}

fn write_csv<'c, R: AsRef<[Cell<'c>]>>(
    path: &Path,
    header: &[String],
    rows: impl Iterator<Item = R>,
    text: CsvText,
) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut w = CsvOut::new(std::io::BufWriter::new(file), text);
    w.texts(header)?;
    for row in rows {
        w.cells(row.as_ref())?;
    }
    std::io::Write::flush(&mut w.into_inner()?)
}

/// Limits on a name made from data (an account manager's): Excel's sheet names count UTF-16
/// units (31 at most), file systems count bytes (255 for a whole name on Linux and macOS, less
/// on encrypted home folders) and Windows refuses a few device names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NameLimits {
    /// UTF-16 units, suffix included.
    pub units: usize,
    /// UTF-8 bytes, suffix included (the extension is not counted).
    pub bytes: usize,
}

impl NameLimits {
    /// An Excel sheet name.
    pub(crate) const SHEET: NameLimits = NameLimits {
        units: 31,
        bytes: usize::MAX,
    };
    /// A file name before its extension: 120 bytes keeps every name (with `.csv`) within the
    /// 143 bytes of eCryptfs, the tightest common limit; 40 Chinese characters.
    pub(crate) const FILE: NameLimits = NameLimits {
        units: 100,
        bytes: 120,
    };
}

/// A file or sheet name for an account manager: characters that files or Excel refuse are
/// replaced, leading and trailing apostrophes and dots dropped (Excel refuses them in sheet
/// names), the length kept within `limits` (the whole name is kept inside the file or sheet),
/// Windows device names (`CON`, `NUL`, `COM1`, …) avoided and names made unique, ignoring
/// case.
pub(crate) fn safe_name(
    name: &str,
    taken: &mut std::collections::HashSet<String>,
    limits: NameLimits,
) -> String {
    // room for a " (n)" suffix
    const SUFFIX: usize = 6;
    let units_budget = limits.units.saturating_sub(SUFFIX).max(1);
    let bytes_budget = limits.bytes.saturating_sub(SUFFIX).max(4);
    let mut cleaned = String::new();
    let mut units = 0;
    for c in name.trim().trim_matches(['\'', '.']).chars() {
        let c = if matches!(
            c,
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | '[' | ']'
        ) || c.is_control()
        {
            '_'
        } else {
            c
        };
        if units + c.len_utf16() > units_budget || cleaned.len() + c.len_utf8() > bytes_budget {
            break;
        }
        units += c.len_utf16();
        cleaned.push(c);
    }
    let mut base = match cleaned.trim() {
        "" => "_".to_string(),
        s => s.to_string(),
    };
    if is_windows_device(&base) {
        base.push('_');
    }
    let mut candidate = base.clone();
    let mut k = 2;
    while !taken.insert(candidate.to_lowercase()) {
        candidate = format!("{base} ({k})");
        k += 1;
    }
    candidate
}

/// `CON`, `PRN`, `AUX`, `NUL`, `COM1`–`COM9`, `LPT1`–`LPT9`, with or without an extension:
/// names Windows will not create.
fn is_windows_device(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    let upper = stem.to_ascii_uppercase();
    matches!(upper.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((upper.starts_with("COM") || upper.starts_with("LPT"))
            && upper.len() == 4
            && upper.as_bytes()[3].is_ascii_digit()
            && upper.as_bytes()[3] != b'0')
}

/// Column widths of an action list sheet (`ACTION_COLUMNS`).
pub(crate) const ACTION_WIDTHS: [f64; 11] = [
    8.0, 16.0, 24.0, 16.0, 24.0, 24.0, 14.0, 60.0, 14.0, 14.0, 16.0,
];

/// Writes `tiers.csv`, `tier_summary.csv`, `actions/*.csv` (from `lists`, the
/// [`action_lists`] of `o`, built once for these files and the workbook) and, with `xlsx`,
/// `actions.xlsx` into `dir`; returns the files written.
pub fn write_scheme_outputs(
    dir: &Path,
    o: &SchemeOutput<'_>,
    lists: &[(String, Vec<Vec<Cell<'_>>>)],
    xlsx: bool,
    text: CsvText,
) -> Result<Vec<PathBuf>, SchemeOutputError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SchemeOutputError::Io { path, source }
    };
    let header: Vec<String> = ACTION_COLUMNS.iter().map(|s| s.to_string()).collect();
    let book_path = dir.join("actions.xlsx");
    // the workbook is the slowest part: written beside the CSV files
    let (csvs, book) = std::thread::scope(|scope| {
        let book = xlsx.then(|| {
            scope.spawn(|| {
                crate::output::catching_panics(|| write_actions_xlsx(&book_path, &header, lists))
            })
        });
        let csvs = (|| -> Result<Vec<PathBuf>, SchemeOutputError> {
            let mut written = Vec::new();
            let path = dir.join("tiers.csv");
            let n = o.tiering.features.customers.len();
            write_csv(
                &path,
                &tiers_header(o),
                (0..n).map(|i| tiers_row(o, i)),
                text,
            )
            .map_err(io(&path))?;
            written.push(path);
            let path = dir.join("tier_summary.csv");
            let summary_header: Vec<String> =
                SUMMARY_COLUMNS.iter().map(|s| s.to_string()).collect();
            write_csv(&path, &summary_header, summary_rows(o).into_iter(), text)
                .map_err(io(&path))?;
            written.push(path);
            // a fresh folder: `dir` is the run's staging folder (lists of managers no longer
            // in the data are removed when the outputs are published)
            let actions = dir.join("actions");
            std::fs::create_dir_all(&actions).map_err(io(&actions))?;
            let mut taken = std::collections::HashSet::new();
            for (manager, rows) in lists {
                let name = safe_name(manager, &mut taken, NameLimits::FILE);
                let path = actions.join(format!("{name}.csv"));
                write_csv(&path, &header, rows.iter(), text).map_err(io(&path))?;
            }
            written.push(actions);
            Ok(written)
        })();
        (csvs, book.map(|h| h.join()))
    });
    let mut written = csvs?;
    match book {
        None => {}
        Some(Ok(result)) => {
            result.map_err(|e| SchemeOutputError::Xlsx {
                path: book_path.clone(),
                source: e,
            })?;
            written.push(book_path);
        }
        Some(Err(_)) => {
            return Err(SchemeOutputError::Io {
                path: book_path,
                source: std::io::Error::other("the workbook writer stopped unexpectedly"),
            });
        }
    }
    Ok(written)
}

fn write_actions_xlsx(
    path: &Path,
    header: &[String],
    lists: &[(String, Vec<Vec<Cell<'_>>>)],
) -> Result<(), XlsxError> {
    let mut book = Workbook::new();
    book.set_zip_compression_level(1);
    let f = Formats::standard();
    let mut taken = std::collections::HashSet::new();
    for (manager, rows) in lists {
        // Excel sheet names: at most 31 characters, unique
        let name = safe_name(manager, &mut taken, NameLimits::SHEET);
        write_table(&mut book, &name, header, &ACTION_WIDTHS, rows.iter(), &f)?;
    }
    book.save(path)
}

/// A scheme output that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SchemeOutputError {
    /// A file or folder could not be written.
    #[error("failed to write `{}`: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The workbook could not be written.
    #[error("failed to write `{}`: {source}", path.display())]
    Xlsx {
        /// The workbook.
        path: PathBuf,
        /// The cause.
        source: XlsxError,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manager_names_become_safe_unique_file_names() {
        let mut taken = std::collections::HashSet::new();
        let file = NameLimits::FILE;
        assert_eq!(safe_name("张伟", &mut taken, file), "张伟");
        assert_eq!(safe_name("a/b:c", &mut taken, file), "a_b_c");
        assert_eq!(safe_name("A_B_C", &mut taken, file), "A_B_C (2)");
        assert_eq!(safe_name("..", &mut taken, file), "_");
        assert_eq!(safe_name("'王芳'", &mut taken, NameLimits::SHEET), "王芳");
        // Excel's 31 UTF-16 units, with room for a suffix: 25 units of name at most
        let long = safe_name(&"x".repeat(40), &mut taken, NameLimits::SHEET);
        assert_eq!(long.encode_utf16().count(), 25);
        let wide = safe_name(&"😀".repeat(20), &mut taken, NameLimits::SHEET);
        assert!(wide.encode_utf16().count() <= 25, "{wide}");
        assert_eq!(safe_name("con", &mut taken, file), "con_");
        assert_eq!(safe_name("LPT1", &mut taken, file), "LPT1_");
        assert_eq!(safe_name("COM0", &mut taken, file), "COM0");
    }

    #[test]
    fn long_chinese_names_fit_in_a_file_name_with_their_suffix() {
        // 84 Chinese characters are 252 bytes: with `.csv` over the 255 bytes of a file name
        let name = "客".repeat(84);
        let mut taken = std::collections::HashSet::new();
        let first = safe_name(&name, &mut taken, NameLimits::FILE);
        let second = safe_name(&name, &mut taken, NameLimits::FILE);
        assert_eq!(first, "客".repeat(38));
        assert_eq!(second, format!("{} (2)", "客".repeat(38)));
        assert!(format!("{second}.csv").len() <= 143);
    }
}
