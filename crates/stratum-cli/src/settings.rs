//! Settings: command-line arguments resolved against the config file into one struct.
//!
//! Precedence: a command-line flag, then the config file, then the default. Every field of the
//! arguments and of the config file is handled here explicitly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use serde::Deserialize;
use stratum_core::abc::{AbcParams, CheckedAbcParams};
use stratum_core::rfm::CheckedRfmParams;
use stratum_core::{ClassBasis, FrequencyBasis, Lang, RfmParams, ScoreMethod};
use stratum_io::source::ReadOptions;
use stratum_io::values::DecimalMark;

use crate::BadInput;
use crate::cli::SegmentArgs;

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
}

/// Everything `stratum segment` needs, resolved.
#[derive(Debug)]
pub struct SegmentSettings {
    pub transactions: PathBuf,
    pub customers: Option<PathBuf>,
    pub as_of: Option<NaiveDate>,
    pub out: PathBuf,
    pub lang: Lang,
    pub read: ReadOptions,
    pub customers_read: ReadOptions,
    pub customers_id: Option<String>,
    pub columns: BTreeMap<String, String>,
    pub max_reject_rate: f64,
    pub rfm: CheckedRfmParams,
    pub abc: CheckedAbcParams,
    pub frequency: FrequencyBasis,
    pub write_xlsx: bool,
    pub scheme: Option<PathBuf>,
    pub overrides: Option<PathBuf>,
    pub interactions: Option<PathBuf>,
}

/// Reads a config file.
pub fn read_config(path: &Path) -> Result<ConfigFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read config file `{}`", path.display()))?;
    toml::from_str(&text)
        .map_err(|e| BadInput(format!("config file `{}`: {e}", path.display())).into())
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

fn parse_rate(name: &str, value: &str) -> Result<f64> {
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

/// Resolves `stratum segment`'s arguments with the config file.
pub fn segment_settings(args: SegmentArgs) -> Result<SegmentSettings> {
    let SegmentArgs {
        transactions,
        customers,
        as_of,
        config,
        lang,
        out,
        map,
        encoding,
        delimiter,
        sheet,
        decimal_comma,
        max_reject_rate,
        bins,
        frequency,
        class_basis,
        customers_sheet,
        no_xlsx,
        scheme,
        overrides,
        interactions,
    } = args;
    let ConfigFile {
        input,
        columns: config_columns,
        rfm,
        abc,
        output,
        customers: customers_config,
    } = match &config {
        Some(path) => read_config(path)?,
        None => ConfigFile::default(),
    };
    let InputConfig {
        encoding: cfg_encoding,
        delimiter: cfg_delimiter,
        sheet: cfg_sheet,
        decimal_comma: cfg_decimal_comma,
        max_reject_rate: cfg_max_reject_rate,
    } = input;
    let RfmConfig {
        bins: cfg_bins,
        method: cfg_method,
        class_basis: cfg_class_basis,
        frequency: cfg_frequency,
        thresholds: cfg_thresholds,
    } = rfm;
    let AbcConfig { a: cfg_a, b: cfg_b } = abc;
    let OutputConfig { lang: cfg_lang } = output;
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
    };

    let lang: Lang = match lang.or(cfg_lang) {
        Some(l) => l.parse().map_err(bad)?,
        None => Lang::En,
    };
    let encoding = match encoding.or(cfg_encoding) {
        Some(e) => Some(parse_encoding(&e)?),
        None => None,
    };
    let delimiter = match delimiter.or(cfg_delimiter) {
        Some(d) => Some(parse_delimiter(&d)?),
        None => None,
    };
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
    let mut columns = config_columns;
    columns.extend(parse_map(&map)?);
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
        transactions,
        customers,
        as_of,
        out,
        lang,
        read: ReadOptions {
            encoding,
            delimiter,
            sheet: sheet.or(cfg_sheet),
            decimal,
        },
        customers_read,
        customers_id,
        columns,
        max_reject_rate,
        rfm,
        abc,
        frequency,
        write_xlsx: !no_xlsx,
        scheme,
        overrides,
        interactions,
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
