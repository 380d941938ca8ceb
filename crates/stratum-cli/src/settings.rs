//! Settings: command-line arguments resolved against the config file into one struct.
//!
//! Precedence: a command-line flag, then the config file, then the default. Every field of the
//! arguments and of the config file is handled here explicitly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use chrono::NaiveDate;
use serde::Deserialize;
use stratum_core::abc::{AbcParams, CheckedAbcParams};
use stratum_core::rfm::CheckedRfmParams;
use stratum_core::{ClassBasis, FrequencyBasis, Lang, RfmParams, ScoreMethod};
use stratum_io::output::CsvText;
use stratum_io::row_exprs::RowExpressions;
use stratum_io::source::ReadOptions;
use stratum_io::transactions::{Duplicates, TransactionOptions};
use stratum_io::values::DecimalMark;
use stratum_io::workbook::WorkbookRows;

use crate::BadInput;
use crate::cli::{ClvArgs, ExpressionArgs, InputArgs, PushdownArgs, SegmentArgs, TableArgs};
use stratum_core::clv::{CheckedClvParams, ClvError, ClvParams};
use stratum_core::funnel::{CheckedFunnelParams, FunnelParams, Grain, Stage};
use stratum_core::scheme::params::Label;

/// The config file (`stratum.toml`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// How inputs are read.
    #[serde(default)]
    pub input: InputConfig,
    /// Field → header mapping.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// RFM options.
    #[serde(default)]
    pub rfm: RfmConfig,
    /// ABC options.
    #[serde(default)]
    pub abc: AbcConfig,
    /// Output options.
    #[serde(default)]
    pub output: OutputConfig,
    /// How the customer master file is read.
    #[serde(default)]
    pub customers: CustomersConfig,
    /// Lifetime-value options.
    #[serde(default)]
    pub clv: ClvConfig,
    /// The sales funnel's stages.
    #[serde(default)]
    pub funnel: FunnelConfig,
    /// The public pool's rules (applied after each `segment --db` run when given).
    pub pool: Option<PoolConfig>,
}

/// `[pool]`: the public pool's rules (see `stratum pool --help`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    pub no_follow_up_days: Option<u32>,
    pub no_deal_days: Option<u32>,
    pub warning_days: Option<u32>,
    pub max_owned: Option<usize>,
    pub daily_claims: Option<usize>,
    pub cooldown_days: Option<u32>,
    #[serde(default)]
    pub exempt_tiers: Vec<String>,
    /// `[pool.tiers.CODE]`: a final tier's own days.
    #[serde(default)]
    pub tiers: BTreeMap<String, PoolTierConfig>,
}

/// `[pool.tiers.CODE]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolTierConfig {
    pub no_follow_up_days: Option<u32>,
    pub no_deal_days: Option<u32>,
}

impl PoolConfig {
    /// The rules, the defaults where the section is silent; a number of days over a century
    /// is refused by name.
    pub fn rules(self) -> Result<stratum_store::pool::PoolRules> {
        let days = [
            ("no_follow_up_days", self.no_follow_up_days),
            ("no_deal_days", self.no_deal_days),
            ("warning_days", self.warning_days),
            ("cooldown_days", self.cooldown_days),
        ]
        .into_iter()
        .chain(self.tiers.values().flat_map(|t| {
            [
                ("no_follow_up_days", t.no_follow_up_days),
                ("no_deal_days", t.no_deal_days),
            ]
        }));
        for (name, v) in days {
            if let Some(v) = v.filter(|&v| v > 36_500) {
                bail!(BadInput(format!(
                    "[pool] {name} = {v}: at most 36500 days (leave a tier out of the pool with exempt_tiers)"
                )));
            }
        }
        let d = stratum_store::pool::PoolRules::default();
        Ok(stratum_store::pool::PoolRules {
            no_follow_up_days: self.no_follow_up_days.unwrap_or(d.no_follow_up_days),
            no_deal_days: self.no_deal_days.unwrap_or(d.no_deal_days),
            warning_days: self.warning_days.unwrap_or(d.warning_days),
            tiers: self
                .tiers
                .into_iter()
                .map(|(k, v)| (k, (v.no_follow_up_days, v.no_deal_days)))
                .collect(),
            exempt_tiers: self.exempt_tiers,
            max_owned: self.max_owned,
            daily_claims: self.daily_claims,
            cooldown_days: self.cooldown_days.unwrap_or(d.cooldown_days),
        })
    }
}

/// `[funnel]`: the pipeline's stages, the period opportunities are grouped by and the tiers
/// whose opportunities are flagged.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelConfig {
    /// `month` or `quarter` (default).
    pub period: Option<String>,
    /// Tier codes (scheme final tiers, or ABC classes without a scheme) flagged as high.
    #[serde(default)]
    pub high_tiers: Vec<String>,
    /// `[[funnel.stages]]`: key, zh, en; first to last.
    #[serde(default)]
    pub stages: Vec<StageConfig>,
}

/// One `[[funnel.stages]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    pub key: String,
    #[serde(default)]
    pub zh: String,
    #[serde(default)]
    pub en: String,
}

/// Resolves the funnel's settings.
pub fn resolve_funnel(cfg: FunnelConfig) -> Result<CheckedFunnelParams> {
    let grain = match cfg.period.as_deref() {
        None | Some("quarter") => Grain::Quarter,
        Some("month") => Grain::Month,
        Some(other) => bail!(BadInput(format!(
            "[funnel] period must be `month` or `quarter`, got `{other}`"
        ))),
    };
    FunnelParams {
        stages: cfg
            .stages
            .into_iter()
            .map(|s| Stage {
                key: s.key,
                label: Label { zh: s.zh, en: s.en },
            })
            .collect(),
        grain,
        high_tiers: cfg.high_tiers,
    }
    .check()
    .map_err(|e| bad(format!("[funnel]: {e}")))
}

/// `[clv]`: the lifetime-value models (each option defaults as in `stratum clv --help`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClvConfig {
    pub model: Option<String>,
    pub period: Option<String>,
    pub penalty: Option<f64>,
    pub horizon_months: Option<u32>,
    pub discount_rate: Option<f64>,
    pub churn_medium: Option<f64>,
    pub churn_high: Option<f64>,
}

/// Resolves the lifetime-value settings: `flags` (the command line, as a `[clv]` table of its
/// own) over the config file's `cfg`.
pub fn resolve_clv(flags: ClvConfig, cfg: ClvConfig) -> Result<CheckedClvParams> {
    let ClvConfig {
        model,
        period,
        penalty,
        horizon_months,
        discount_rate,
        churn_medium,
        churn_high,
    } = flags;
    let mut params = ClvParams::new();
    if let Some(m) = model.or(cfg.model) {
        params = params.model(m.parse().map_err(|e: ClvError| bad(e.to_string()))?);
    }
    if let Some(p) = period.or(cfg.period) {
        params = params.period(p.parse().map_err(|e: ClvError| bad(e.to_string()))?);
    }
    if let Some(p) = penalty.or(cfg.penalty) {
        params = params.penalty(p);
    }
    if let Some(h) = horizon_months.or(cfg.horizon_months) {
        params = params.horizon_months(h);
    }
    if let Some(d) = discount_rate.or(cfg.discount_rate) {
        params = params.discount_rate(d);
    }
    if let Some(m) = churn_medium.or(cfg.churn_medium) {
        params = params.churn_medium(m);
    }
    if let Some(h) = churn_high.or(cfg.churn_high) {
        params = params.churn_high(h);
    }
    params.check().map_err(|e| bad(e.to_string()))
}

/// The environment variable `--table` without `--source` reads the URL from.
pub const SOURCE_VAR: &str = "STRATUM_SOURCE";

/// The transactions of a run: one file, several of the same kind read as one input, or a
/// table in a database (`--source URL --table NAME`, aggregated there).
#[derive(Debug, Clone)]
pub struct TransactionFiles {
    paths: Vec<PathBuf>,
    table: Option<stratum_pushdown::TableSource>,
}

impl TransactionFiles {
    /// The files named on the command line, each glob pattern (`*`, `?`, `[`) that is not a
    /// file's own name replaced by the files it matches, in name order; a file named twice is
    /// read once. A pattern that matches nothing is bad input.
    pub fn expand(args: Vec<PathBuf>) -> Result<Self> {
        let mut paths: Vec<PathBuf> = Vec::new();
        for arg in args {
            let text = arg.to_string_lossy();
            let pattern = text.contains(['*', '?', '[']) && !arg.exists();
            if !pattern {
                if !paths.contains(&arg) {
                    paths.push(arg);
                }
                continue;
            }
            let matches = glob::glob(&text)
                .map_err(|e| bad(format!("`{text}` is not a valid file pattern: {e}")))?;
            let mut found: Vec<PathBuf> = matches
                .filter_map(|m| m.ok())
                .filter(|p| p.is_file())
                .collect();
            if found.is_empty() {
                return Err(bad(format!("no file matches `{text}`")));
            }
            found.sort();
            for p in found {
                if !paths.contains(&p) {
                    paths.push(p);
                }
            }
        }
        if paths.is_empty() {
            return Err(bad("no transaction file given (-t FILE)".into()));
        }
        Ok(TransactionFiles { paths, table: None })
    }

    /// The files of `-t`, or the table of `--source URL --table NAME`.
    pub fn from_args(paths: Vec<PathBuf>, table: TableArgs) -> Result<Self> {
        // --table alone: the URL from the environment, where a server puts it for its runs
        let source = table.source.or_else(|| {
            table.table.as_ref()?;
            std::env::var(SOURCE_VAR)
                .ok()
                .filter(|u| !u.trim().is_empty())
        });
        if table.table.is_some() && source.is_none() {
            return Err(bad(format!(
                "--table needs --source URL (or the URL in the environment variable {SOURCE_VAR})"
            )));
        }
        match (source, table.table) {
            (Some(url), Some(name)) => Ok(TransactionFiles {
                paths: Vec::new(),
                table: Some(
                    stratum_pushdown::TableSource::new(&url, &name)
                        .map_err(|e| bad(e.to_string()))?,
                ),
            }),
            _ => Self::expand(paths),
        }
    }

    /// The files, in reading order (none for a table).
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// The database table, when the transactions are one.
    pub fn table(&self) -> Option<&stratum_pushdown::TableSource> {
        self.table.as_ref()
    }

    /// The input as a user reads it in a message: `a.csv`, `a.csv, b.csv` or
    /// `postgres://user@host/db table orders` (never a password).
    pub fn shown(&self) -> String {
        if let Some(table) = &self.table {
            return table.shown();
        }
        self.paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The files as inputs of the run's manifest (a table is no file: its source is in
    /// `quality.json`).
    pub fn inputs(&self) -> impl Iterator<Item = (&'static str, Option<&Path>)> {
        self.paths
            .iter()
            .map(|p| ("transactions", Some(p.as_path())))
    }
}

/// Everything `stratum pushdown` needs, resolved: the table, how its columns map (`--map`,
/// `[columns]`) and what is done with duplicates, and the as-of date when given.
pub fn pushdown_settings(
    args: PushdownArgs,
) -> Result<(
    stratum_pushdown::TableSource,
    TransactionOptions,
    Option<NaiveDate>,
)> {
    let table = stratum_pushdown::TableSource::new(&args.source, &args.table)
        .map_err(|e| bad(e.to_string()))?;
    let config = match &args.config {
        Some(path) => read_config(path)?,
        None => ConfigFile::default(),
    };
    let flags = InputArgs {
        config: args.config,
        map: args.map,
        duplicates: args.duplicates,
        expressions: args.expressions,
        ..InputArgs::default()
    };
    let input = resolve_input(flags, config.input, config.output.lang, config.columns)?;
    let as_of = args
        .as_of
        .map(|s| parse_cli_date("--as-of", &s))
        .transpose()?;
    let options = TransactionOptions {
        columns: input.columns,
        duplicates: input.duplicates,
        expressions: input.expressions,
        ..TransactionOptions::default()
    };
    Ok((table, options, as_of))
}

/// Everything `stratum clv` needs, resolved.
#[derive(Debug)]
pub struct ClvSettings {
    pub transactions: Option<TransactionFiles>,
    pub summary: Option<PathBuf>,
    pub out: PathBuf,
    pub as_of: Option<NaiveDate>,
    pub holdout_from: Option<NaiveDate>,
    pub input: InputSettings,
    pub clv: CheckedClvParams,
}

/// Resolves `stratum clv`'s arguments with the config file.
pub fn clv_settings(args: ClvArgs) -> Result<ClvSettings> {
    let ClvArgs {
        transactions,
        summary,
        period,
        holdout_from,
        model,
        out,
        as_of,
        penalty,
        horizon_months,
        discount_rate,
        input: input_args,
    } = args;
    let config = input_args.config.clone();
    let ConfigFile {
        input,
        columns,
        rfm: _,
        abc: _,
        output: OutputConfig { lang: cfg_lang, .. },
        customers: _,
        clv,
        funnel: _,
        pool: _,
    } = match &config {
        Some(path) => read_config(path)?,
        None => ConfigFile::default(),
    };
    let input = resolve_input(input_args, input, cfg_lang, columns)?;
    let clv = resolve_clv(
        ClvConfig {
            model,
            period,
            penalty,
            horizon_months,
            discount_rate,
            churn_medium: None,
            churn_high: None,
        },
        clv,
    )?;
    Ok(ClvSettings {
        transactions: if transactions.is_empty() {
            None
        } else {
            Some(TransactionFiles::expand(transactions)?)
        },
        summary,
        out,
        as_of: as_of.map(|d| parse_cli_date("--as-of", &d)).transpose()?,
        holdout_from: holdout_from
            .map(|d| parse_cli_date("--holdout-from", &d))
            .transpose()?,
        input,
        clv,
    })
}

/// `[customers]`: reading the customer master file (each option detected when absent).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomersConfig {
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub sheet: Option<String>,
    /// The header of the customer id column.
    pub customer_id: Option<String>,
}

/// `[input]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub sheet: Option<String>,
    pub decimal_comma: Option<bool>,
    pub max_reject_rate: Option<f64>,
    /// `drop` or `keep`.
    pub duplicates: Option<String>,
    /// The file has no header row (with `column_names`).
    pub no_header: Option<bool>,
    /// The names of the columns of a file without a header row.
    pub column_names: Option<Vec<String>>,
    /// Use only the rows where this condition holds (`--where`).
    #[serde(rename = "where")]
    pub filter: Option<String>,
    /// Lines that are refunds by a rule (`--refund-when`).
    pub refund_when: Option<String>,
}

/// `[rfm]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RfmConfig {
    pub bins: Option<u8>,
    /// `quantile` or `thresholds`.
    pub method: Option<String>,
    pub class_basis: Option<String>,
    pub frequency: Option<String>,
    pub thresholds: Option<ThresholdConfig>,
}

/// `[rfm.thresholds]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdConfig {
    pub recency: Vec<f64>,
    pub frequency: Vec<f64>,
    pub monetary: Vec<f64>,
}

/// `[abc]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbcConfig {
    pub a: Option<f64>,
    pub b: Option<f64>,
}

/// `[output]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    pub lang: Option<String>,
    /// The currency symbol shown before amounts in the report and the workbook, e.g. "¥".
    pub currency: Option<String>,
    /// How many customers the workbook's customer sheets hold: a number or "all".
    pub xlsx_customers: Option<XlsxCustomers>,
}

/// `[output] xlsx_customers`: a number or "all".
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum XlsxCustomers {
    /// A number of customers.
    Count(i64),
    /// "all".
    Text(String),
}

/// Everything `stratum segment` needs, resolved.
#[derive(Debug)]
pub struct SegmentSettings {
    pub transactions: TransactionFiles,
    pub customers: Option<PathBuf>,
    pub as_of: Option<NaiveDate>,
    pub out: PathBuf,
    pub lang: Lang,
    pub read: ReadOptions,
    pub customers_read: ReadOptions,
    pub customers_id: Option<String>,
    pub columns: BTreeMap<String, String>,
    pub max_reject_rate: f64,
    pub duplicates: Duplicates,
    /// `--amount`, `--where`, `--refund-when`.
    pub expressions: RowExpressions,
    pub rfm: CheckedRfmParams,
    pub abc: CheckedAbcParams,
    pub frequency: FrequencyBasis,
    pub write_xlsx: bool,
    /// How many customers the workbook's customer sheets hold.
    pub xlsx_customers: WorkbookRows,
    pub scheme: Option<PathBuf>,
    pub overrides: Option<PathBuf>,
    pub interactions: Option<PathBuf>,
    /// The opportunities file and the funnel's settings.
    pub opportunities: Option<(PathBuf, CheckedFunnelParams)>,
    /// The public pool's rules, applied after the run is kept (`--db`).
    pub pool: Option<stratum_store::pool::PoolRules>,
    pub clv: Option<CheckedClvParams>,
    /// Write `report.html`.
    pub report: bool,
    /// High-value customers at risk listed in the report.
    pub top: usize,
    /// The currency symbol for amounts in the report and the workbook (may be empty).
    pub currency: String,
    /// The config file, an input of the run.
    pub config: Option<PathBuf>,
    /// How text is written to the CSV outputs.
    pub csv_text: CsvText,
    /// The history store the run is kept in.
    pub db: Option<String>,
}

/// Reads a config file.
pub fn read_config(path: &Path) -> Result<ConfigFile> {
    let text = read_text_file(path, "config file")?;
    toml::from_str(&text)
        .map_err(|e| BadInput(format!("config file `{}`: {e}", path.display())).into())
}

/// Reads a text file the user named (a config file, a scheme). A file that is missing or
/// cannot be opened is bad input (exit 1), as is one that is not UTF-8 (named with the line
/// and column of its first bad byte); other read failures are the machine's (exit 2).
pub fn read_text_file(path: &Path, what: &str) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| {
        let message = format!("failed to read the {what} `{}`", path.display());
        if matches!(
            e.kind(),
            std::io::ErrorKind::NotFound
                | std::io::ErrorKind::PermissionDenied
                | std::io::ErrorKind::IsADirectory
        ) {
            BadInput(format!("{message}: {e}")).into()
        } else {
            anyhow::Error::new(e).context(message)
        }
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let before = &bytes[..at];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let column = 1 + String::from_utf8_lossy(&before[line_start..]).chars().count();
        BadInput(format!(
            "the {what} `{}` is not UTF-8: byte 0x{:02X} at line {line}, column {column}; save it as UTF-8",
            path.display(),
            bytes[at]
        ))
        .into()
    })
}

fn bad(msg: String) -> anyhow::Error {
    BadInput(msg).into()
}

/// Parses a date given on the command line.
pub fn parse_cli_date(flag: &str, value: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| {
        bad(format!(
            "{flag} must be a date like 2025-12-31, got `{value}`"
        ))
    })
}

pub fn parse_rate(name: &str, value: &str) -> Result<f64> {
    let v = value.trim();
    let parsed = match v.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => v.parse::<f64>(),
    };
    match parsed {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(bad(format!(
            "{name} must be a share between 0 and 1 or a percentage, got `{value}`"
        ))),
    }
}

fn parse_delimiter(value: &str) -> Result<u8> {
    match value {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        s if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        other => Err(bad(format!(
            "delimiter must be a single ASCII character or `tab`, got `{other}`"
        ))),
    }
}

fn parse_encoding(value: &str) -> Result<&'static encoding_rs::Encoding> {
    encoding_rs::Encoding::for_label(value.trim().as_bytes()).ok_or_else(|| {
        bad(format!(
            "unknown encoding `{value}`; use e.g. utf-8, gb18030, gbk, big5, utf-16le, windows-1252"
        ))
    })
}

/// Parses `FIELD=HEADER` pairs.
pub fn parse_map(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for pair in pairs {
        let (field, header) = pair
            .split_once('=')
            .ok_or_else(|| bad(format!("--map takes FIELD=HEADER, got `{pair}`")))?;
        map.insert(field.trim().to_string(), header.trim().to_string());
    }
    Ok(map)
}

/// How the transaction file is read, resolved.
#[derive(Debug)]
pub struct InputSettings {
    pub lang: Lang,
    pub read: ReadOptions,
    pub columns: BTreeMap<String, String>,
    pub max_reject_rate: f64,
    /// What to do with identical rows.
    pub duplicates: Duplicates,
    /// `--amount`, `--where`, `--refund-when`.
    pub expressions: RowExpressions,
    /// The config file, an input of the run.
    pub config: Option<PathBuf>,
    /// How text is written to the CSV outputs.
    pub csv_text: CsvText,
}

/// Resolves the input flags with the config file's `[input]`, `[output] lang` and `[columns]`.
fn resolve_input(
    flags: InputArgs,
    cfg: InputConfig,
    cfg_lang: Option<String>,
    config_columns: BTreeMap<String, String>,
) -> Result<InputSettings> {
    let InputArgs {
        config,
        lang,
        map,
        encoding,
        delimiter,
        no_header,
        columns: column_names,
        sheet,
        decimal_comma,
        duplicates,
        max_reject_rate,
        csv_raw,
        expressions:
            ExpressionArgs {
                amount,
                filter,
                refund_when,
            },
    } = flags;
    let InputConfig {
        encoding: cfg_encoding,
        delimiter: cfg_delimiter,
        sheet: cfg_sheet,
        decimal_comma: cfg_decimal_comma,
        max_reject_rate: cfg_max_reject_rate,
        duplicates: cfg_duplicates,
        no_header: cfg_no_header,
        column_names: cfg_column_names,
        filter: cfg_filter,
        refund_when: cfg_refund_when,
    } = cfg;
    let lang: Lang = match lang.or(cfg_lang) {
        Some(l) => l.parse().map_err(bad)?,
        None => Lang::En,
    };
    let encoding = match encoding.or(cfg_encoding) {
        Some(e) => Some(parse_encoding(&e)?),
        None => None,
    };
    let (delimiter, whitespace) = match delimiter.or(cfg_delimiter) {
        Some(d) if matches!(d.trim(), "whitespace" | "space+" | "blanks") => (None, true),
        Some(d) => (Some(parse_delimiter(&d)?), false),
        None => (None, false),
    };
    let columns_given = if no_header {
        Some(column_names)
    } else if cfg_no_header.unwrap_or(false) {
        Some(cfg_column_names.ok_or_else(|| {
            bad("[input] no_header = true needs column_names = [...] naming the columns".into())
        })?)
    } else {
        None
    };
    if let Some(names) = &columns_given
        && (names.is_empty() || names.iter().any(|n| n.trim().is_empty()))
    {
        return Err(bad(format!(
            "--columns names an empty column: `{}`",
            names.join(",")
        )));
    }
    let decimal = if decimal_comma || cfg_decimal_comma.unwrap_or(false) {
        DecimalMark::Comma
    } else {
        DecimalMark::Point
    };
    let max_reject_rate = match (max_reject_rate, cfg_max_reject_rate) {
        (Some(r), _) => parse_rate("--max-reject-rate", &r)?,
        (None, Some(r)) => parse_rate("[input] max_reject_rate", &r.to_string())?,
        (None, None) => 0.05,
    };
    let duplicates = match (duplicates, cfg_duplicates) {
        (Some(d), _) => d
            .parse()
            .map_err(|e: String| bad(format!("--duplicates: {e}")))?,
        (None, Some(d)) => d
            .parse()
            .map_err(|e: String| bad(format!("[input] duplicates: {e}")))?,
        (None, None) => Duplicates::Drop,
    };
    let mut columns = config_columns;
    if amount.is_some() {
        // the flag wins over the config file's amount (a column or an expression)
        columns.remove("amount");
    }
    columns.extend(parse_map(&map)?);
    let given = |flag: Option<String>, name: &str| -> Result<Option<String>> {
        match flag {
            Some(e) if e.trim().is_empty() => Err(bad(format!("{name} is empty"))),
            e => Ok(e),
        }
    };
    let expressions = RowExpressions {
        amount: given(amount, "--amount")?,
        keep: given(filter.or(cfg_filter), "--where")?,
        refund_when: given(refund_when.or(cfg_refund_when), "--refund-when")?,
    };
    Ok(InputSettings {
        lang,
        read: ReadOptions {
            encoding,
            delimiter,
            whitespace,
            columns: columns_given,
            sheet: sheet.or(cfg_sheet),
            decimal,
        },
        columns,
        max_reject_rate,
        duplicates,
        expressions,
        config,
        csv_text: if csv_raw { CsvText::Raw } else { CsvText::Safe },
    })
}

/// The workbook's customer rows: `--xlsx-customers`, else `[output] xlsx_customers`, else
/// the default.
fn xlsx_customers_of(flag: Option<String>, config: Option<XlsxCustomers>) -> Result<WorkbookRows> {
    let (text, whence) = match (flag, config) {
        (Some(text), _) => (text, "--xlsx-customers"),
        (None, Some(XlsxCustomers::Count(n))) => (n.to_string(), "[output] xlsx_customers"),
        (None, Some(XlsxCustomers::Text(text))) => (text, "[output] xlsx_customers"),
        (None, None) => return Ok(WorkbookRows::DEFAULT),
    };
    WorkbookRows::parse(&text).ok_or_else(|| {
        BadInput(format!(
            "{whence}: `{text}` is neither a positive number of customers nor `all`"
        ))
        .into()
    })
}

/// Resolves `stratum segment`'s arguments with the config file.
pub fn segment_settings(args: SegmentArgs) -> Result<SegmentSettings> {
    let SegmentArgs {
        transactions,
        table,
        customers,
        as_of,
        out,
        input: input_args,
        bins,
        frequency,
        class_basis,
        customers_sheet,
        no_xlsx,
        xlsx_customers,
        scheme,
        overrides,
        interactions,
        opportunities,
        clv,
        report,
        top,
        currency,
        db,
    } = args;
    let config = input_args.config.clone();
    let ConfigFile {
        input,
        columns: config_columns,
        rfm,
        abc,
        output,
        customers: customers_config,
        clv: cfg_clv,
        funnel: cfg_funnel,
        pool: cfg_pool,
    } = match &config {
        Some(path) => read_config(path)?,
        None => ConfigFile::default(),
    };
    let RfmConfig {
        bins: cfg_bins,
        method: cfg_method,
        class_basis: cfg_class_basis,
        frequency: cfg_frequency,
        thresholds: cfg_thresholds,
    } = rfm;
    let AbcConfig { a: cfg_a, b: cfg_b } = abc;
    let OutputConfig {
        lang: cfg_lang,
        currency: cfg_currency,
        xlsx_customers: cfg_xlsx_customers,
    } = output;
    let CustomersConfig {
        encoding: customers_encoding,
        delimiter: customers_delimiter,
        sheet: customers_sheet_cfg,
        customer_id: customers_id,
    } = customers_config;
    let customers_read = ReadOptions {
        encoding: customers_encoding
            .as_deref()
            .map(parse_encoding)
            .transpose()?,
        delimiter: customers_delimiter
            .as_deref()
            .map(parse_delimiter)
            .transpose()?,
        sheet: customers_sheet.or(customers_sheet_cfg),
        decimal: DecimalMark::Point,
        ..ReadOptions::default()
    };

    let input = resolve_input(input_args, input, cfg_lang, config_columns)?;
    let frequency = match frequency.or(cfg_frequency).as_deref() {
        None | Some("orders") => FrequencyBasis::Orders,
        Some("days") => FrequencyBasis::Days,
        Some(other) => bail!(BadInput(format!(
            "frequency must be `orders` or `days`, got `{other}`"
        ))),
    };
    let class_basis = match class_basis.or(cfg_class_basis).as_deref() {
        None | Some("scores") => ClassBasis::Scores,
        Some("values") => ClassBasis::Values,
        Some(other) => bail!(BadInput(format!(
            "class basis must be `scores` or `values`, got `{other}`"
        ))),
    };
    let method = match (cfg_method.as_deref(), cfg_thresholds) {
        (None | Some("quantile"), None) => ScoreMethod::Quantile,
        (None | Some("thresholds"), Some(t)) => ScoreMethod::Thresholds {
            recency: t.recency,
            frequency: t.frequency,
            monetary: t.monetary,
        },
        (Some("quantile"), Some(_)) => bail!(BadInput(
            "[rfm] method is `quantile` but [rfm.thresholds] is set; remove one".into()
        )),
        (Some("thresholds"), None) => bail!(BadInput(
            "[rfm] method is `thresholds` but there is no [rfm.thresholds] table".into()
        )),
        (Some(other), _) => bail!(BadInput(format!(
            "[rfm] method must be `quantile` or `thresholds`, got `{other}`"
        ))),
    };
    let rfm = RfmParams::new()
        .bins(bins.or(cfg_bins).unwrap_or(5))
        .method(method)
        .class_basis(class_basis)
        .check()
        .map_err(|e| bad(e.to_string()))?;
    let mut abc_params = AbcParams::new();
    if let Some(a) = cfg_a {
        abc_params = abc_params.a(a);
    }
    if let Some(b) = cfg_b {
        abc_params = abc_params.b(b);
    }
    let abc = abc_params.check().map_err(|e| bad(e.to_string()))?;
    let as_of = match as_of {
        Some(s) => Some(parse_cli_date("--as-of", &s)?),
        None => None,
    };
    Ok(SegmentSettings {
        transactions: TransactionFiles::from_args(transactions, table)?,
        customers,
        as_of,
        out: out.unwrap_or_else(|| PathBuf::from("stratum-segment")),
        lang: input.lang,
        read: input.read,
        customers_read,
        customers_id,
        columns: input.columns,
        max_reject_rate: input.max_reject_rate,
        duplicates: input.duplicates,
        expressions: input.expressions,
        rfm,
        abc,
        frequency,
        write_xlsx: !no_xlsx,
        xlsx_customers: xlsx_customers_of(xlsx_customers, cfg_xlsx_customers)?,
        scheme,
        overrides,
        interactions,
        pool: cfg_pool.map(PoolConfig::rules).transpose()?,
        opportunities: match opportunities {
            Some(path) => Some((path, resolve_funnel(cfg_funnel)?)),
            None => None,
        },
        clv: clv
            .then(|| resolve_clv(ClvConfig::default(), cfg_clv))
            .transpose()?,
        report,
        top: top.unwrap_or(20),
        currency: currency.or(cfg_currency).unwrap_or_default(),
        config: input.config,
        csv_text: input.csv_text,
        db,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_rates_accept_shares_and_percentages() {
        assert!((parse_rate("x", "5%").unwrap_or(-1.0) - 0.05).abs() < 1e-12);
        assert!((parse_rate("x", "0.2").unwrap_or(-1.0) - 0.2).abs() < 1e-12);
        assert!(parse_rate("x", "120%").is_err());
        assert!(parse_rate("x", "abc").is_err());
    }

    #[test]
    fn delimiters_are_single_characters_or_tab() {
        assert_eq!(parse_delimiter("tab").ok(), Some(b'\t'));
        assert_eq!(parse_delimiter(";").ok(), Some(b';'));
        assert!(parse_delimiter(";;").is_err());
    }
}
