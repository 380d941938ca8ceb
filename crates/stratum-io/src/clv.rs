//! Lifetime-value outputs: `predictions.csv`, `holdout.csv` and `params.json`.
//!
//! Times in the summaries (`recency`, `T`) are in the fitted model's period; amounts in the
//! currency of the input.

use std::io::Write;

use chrono::NaiveDate;
use stratum_core::Lang;
use stratum_core::clv::{ClvModel, FitReport, HoldoutCheck, HoldoutRow, Prediction, Summary};

use crate::mapped::{Bad, read_mapped};
use crate::mapping::{FieldSpec, MappedColumn};
use crate::output::{Cell, CsvOut, CsvText};
use crate::rejects::{RejectReason, RejectsWriter};
use crate::source::ReadOptions;
use crate::transactions::{LoadError, RowCounts, TransactionQuality};

/// The fields of a summary file (one row per customer, times in the model's period), in order.
pub const SUMMARY_FIELDS: [FieldSpec; 5] = [
    FieldSpec {
        name: "customer_id",
        aliases: &[
            "customer_id",
            "customerid",
            "customer",
            "cust_id",
            "id",
            "客户编号",
            "客户id",
            "客户代码",
            "会员编号",
        ],
        required: true,
    },
    FieldSpec {
        name: "frequency",
        aliases: &["frequency", "x", "repeat_purchases", "复购次数"],
        required: true,
    },
    FieldSpec {
        name: "recency",
        aliases: &["recency", "t_x", "tx", "最近购买时间"],
        required: true,
    },
    FieldSpec {
        name: "T",
        aliases: &["t", "age", "客户年龄"],
        required: true,
    },
    FieldSpec {
        name: "monetary",
        aliases: &[
            "monetary",
            "monetary_value",
            "zbar",
            "mean_spend",
            "平均消费",
            "平均客单价",
        ],
        required: true,
    },
];

/// Customer ids with their summaries, in file order.
pub type SummaryRows = Vec<(String, Summary)>;

/// Reads a summary file: `customer_id`, `frequency` (repeat purchases, a whole number),
/// `recency` (`t_x`), `T` and `monetary` (mean spend of the repeat purchases) per customer, as
/// `lifetimes`' `summary_data_from_transaction_data` writes them. Rows with a value that is
/// not a number, a negative one, `recency > T`, a recency without repeat purchases, a
/// fractional frequency or a repeated customer id are rejected with the reason; with
/// `discrete` (BG/BB: `recency` and `T` count opportunities) also rows with a fractional
/// recency or T, or more purchases than the last purchase's opportunity.
pub fn load_summaries<W: Write>(
    path: &std::path::Path,
    read: &ReadOptions,
    discrete: bool,
    rejects: &mut RejectsWriter<W>,
) -> Result<(SummaryRows, RowCounts, Vec<MappedColumn>), LoadError> {
    // 64-bit keys of the ids seen: two distinct ids are taken for one with probability about
    // 2⁻⁶⁴ per pair (as order ids are counted)
    let mut seen = rustc_hash::FxHashSet::default();
    read_mapped(path, read, &SUMMARY_FIELDS, false, rejects, |row| {
        let id = row.text(0);
        if id.is_empty() {
            return Err((
                RejectReason::MissingCustomerId,
                0,
                "customer id is empty".to_string(),
            ));
        }
        let number = |k: usize| -> Result<f64, Bad> {
            let text = row.text(k);
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
                _ => Err((
                    RejectReason::BadSummary,
                    k,
                    format!("{} `{text}` is not a number ≥ 0", SUMMARY_FIELDS[k].name),
                )),
            }
        };
        let frequency = number(1)?;
        if frequency.fract() != 0.0 || frequency > f64::from(u32::MAX) {
            return Err((
                RejectReason::BadSummary,
                1,
                format!("frequency `{frequency}` is not a whole number of repeat purchases"),
            ));
        }
        let (recency, t) = (number(2)?, number(3)?);
        if frequency == 0.0 && recency > 0.0 {
            return Err((
                RejectReason::BadSummary,
                2,
                format!("recency {recency} without repeat purchases (frequency 0) must be 0"),
            ));
        }
        let candidate = Summary {
            frequency: frequency as u32,
            recency,
            t,
            ..Summary::default()
        };
        if discrete && !candidate.is_discrete() {
            return Err((
                RejectReason::BadSummary,
                2,
                format!(
                    "BG/BB counts whole opportunities with frequency ≤ recency ≤ T, got \
                     frequency {frequency}, recency {recency}, T {t}"
                ),
            ));
        }
        if recency > t {
            return Err((
                RejectReason::BadSummary,
                2,
                format!("recency {recency} is after T {t}"),
            ));
        }
        let monetary = if frequency == 0.0 && row.text(4).is_empty() {
            0.0
        } else {
            number(4)?
        };
        if !seen.insert(stratum_core::features::customer_key(&id)) {
            return Err((
                RejectReason::DuplicateCustomerId,
                0,
                format!("customer `{id}` has an earlier row"),
            ));
        }
        Ok((
            id,
            Summary {
                frequency: frequency as u32,
                recency,
                t,
                monetary,
                ..Summary::default()
            },
        ))
    })
}

/// One customer's summary and predictions.
#[derive(Debug, Clone, Copy)]
pub struct CustomerPrediction<'a> {
    /// The customer id.
    pub customer_id: &'a str,
    /// The calibration summary.
    pub summary: Summary,
    /// The predictions.
    pub prediction: Prediction,
}

/// The columns of `predictions.csv`; `holdout_purchases` only with a holdout.
pub const PREDICTION_COLUMNS: [&str; 13] = [
    "customer_id",
    "frequency",
    "recency",
    "T",
    "monetary",
    "p_alive",
    "churn_risk",
    "churn_band",
    "churn_band_label",
    "expected_purchases_90d",
    "expected_spend",
    "clv",
    "holdout_purchases",
];

/// An amount; empty when it is not a finite number (a failed prediction).
fn money(v: f64) -> Cell<'static> {
    match stratum_core::Money::from_f64(v) {
        Some(m) if v.is_finite() => Cell::Money(m.round_cents()),
        _ => Cell::finite(Some(v)),
    }
}

/// The cells of one `predictions.csv` row.
pub fn prediction_row<'a>(p: &CustomerPrediction<'a>, holdout: bool, lang: Lang) -> Vec<Cell<'a>> {
    let (s, q) = (&p.summary, &p.prediction);
    let mut row = vec![
        Cell::Text(p.customer_id),
        Cell::Int(i64::from(s.frequency)),
        Cell::Number(s.recency),
        Cell::Number(s.t),
        money(s.monetary),
        Cell::finite(Some(q.p_alive)),
        Cell::finite(Some(q.churn_risk)),
        Cell::Text(q.churn_band.map_or("", |b| b.label(Lang::En))),
        Cell::Text(q.churn_band.map_or("", |b| b.label(lang))),
        Cell::finite(Some(q.expected_purchases_90d)),
        money(q.expected_spend),
        money(q.clv),
    ];
    if holdout {
        row.push(Cell::Int(i64::from(s.holdout_frequency)));
    }
    row
}

/// Writes `predictions.csv`.
pub fn write_predictions_csv<W: Write>(
    out: W,
    rows: &[CustomerPrediction<'_>],
    holdout: bool,
    lang: Lang,
    text: CsvText,
) -> csv::Result<()> {
    let mut w = CsvOut::new(out, text);
    let n = if holdout {
        PREDICTION_COLUMNS.len()
    } else {
        PREDICTION_COLUMNS.len() - 1
    };
    w.texts(&PREDICTION_COLUMNS[..n])?;
    for p in rows {
        w.cells(&prediction_row(p, holdout, lang))?;
    }
    w.flush()?;
    Ok(())
}

/// The cells of the calibration/holdout table: repeat purchases in calibration, customers,
/// mean actual and mean predicted holdout purchases.
pub fn holdout_cells(rows: &[HoldoutRow], lang: Lang) -> Vec<Vec<Cell<'static>>> {
    rows.iter()
        .map(|r| {
            let group = match r.frequency {
                Some(f) if r.and_more => format!("{f}+"),
                Some(f) => f.to_string(),
                None => lang.pick("合计", "all").to_string(),
            };
            vec![
                Cell::Owned(group),
                Cell::Int(r.customers as i64),
                Cell::Number(r.actual),
                Cell::Number(r.predicted),
            ]
        })
        .collect()
}

/// The sentence under the calibration/holdout table: total predicted against total actual
/// holdout purchases, the margin and whether the model stays within it.
pub fn holdout_check_text(c: &HoldoutCheck, lang: Lang) -> String {
    use stratum_core::clv::HoldoutVerdict;
    let error = if c.relative_error.is_finite() {
        format!("{:+.1}%", c.relative_error * 100.0)
    } else {
        "+∞".to_string()
    };
    let margin = format!("{:.0}%", c.margin * 100.0);
    let (predicted, actual) = (
        crate::format::number(c.predicted, 1),
        crate::format::number(c.actual, 0),
    );
    match (lang, c.verdict) {
        (Lang::En, HoldoutVerdict::Within) => format!(
            "holdout total: {predicted} purchases predicted, {actual} actual ({error}); within the \
             {margin} margin"
        ),
        (Lang::En, v) => format!(
            "warning: the model {} by more than the {margin} margin: {predicted} purchases \
             predicted, {actual} actual ({error}); its predictions and CLV are off by about as \
             much",
            v.label(lang)
        ),
        (Lang::Zh, HoldoutVerdict::Within) => format!(
            "验证期合计：预测购买 {predicted} 次，实际 {actual} 次（{error}），在 {margin} 的允许误差之内"
        ),
        (Lang::Zh, v) => format!(
            "警告：模型{}，偏差超过 {margin} 的允许误差：预测购买 {predicted} 次，实际 {actual} 次\
             （{error}），预测购买次数与客户价值的偏差大致相同",
            v.label(lang)
        ),
    }
}

/// The header of the calibration/holdout table.
pub const HOLDOUT_COLUMNS: [&str; 4] = [
    "calibration_repeat_purchases",
    "customers",
    "actual_holdout_purchases",
    "predicted_holdout_purchases",
];

/// Writes `holdout.csv`.
pub fn write_holdout_csv<W: Write>(out: W, rows: &[HoldoutRow], text: CsvText) -> csv::Result<()> {
    let mut w = CsvOut::new(out, text);
    w.texts(HOLDOUT_COLUMNS)?;
    for r in holdout_cells(rows, Lang::En) {
        w.cells(&r)?;
    }
    w.flush()?;
    Ok(())
}

/// Everything `params.json` holds.
#[derive(Debug, serde::Serialize)]
pub struct ClvReport<'a> {
    /// The transaction model's name.
    pub model: &'static str,
    /// The time unit.
    pub period: &'static str,
    /// The last day of calibration (none for a summary file).
    pub calibration_end: Option<NaiveDate>,
    /// The last day of the holdout, when there is one.
    pub holdout_end: Option<NaiveDate>,
    /// The holdout length in periods.
    pub holdout_periods: Option<f64>,
    /// The transaction model's fit.
    pub transaction_model: &'a FitReport,
    /// The spend model's fit.
    pub spend_model: &'a FitReport,
    /// Pearson correlation of repeat purchases and mean spend among repeat customers.
    pub spend_frequency_correlation: f64,
    /// Whether that correlation is strong enough (|ρ| ≥ 0.3) to doubt the spend model.
    pub spend_correlation_warning: bool,
    /// Repeat customers left out of the spend fit (mean spend ≤ 0).
    pub spend_excluded_customers: usize,
    /// Customers in the predictions.
    pub customers: usize,
    /// Customers whose first purchase is after the calibration end: not fitted, not predicted.
    pub customers_first_seen_in_holdout: usize,
    /// Customers whose predictions are not finite numbers (left empty, ranked last).
    pub customers_not_predicted: usize,
    /// The CLV horizon in months.
    pub horizon_months: u32,
    /// The discount rate per month.
    pub discount_rate_per_month: f64,
    /// Churn risk from which a customer is at medium and at high risk.
    pub churn_thresholds: (f64, f64),
    /// Predicted against actual holdout purchases.
    pub holdout: &'a [HoldoutRow],
    /// Total predicted against total actual holdout purchases, flagged when they differ by
    /// more than the margin (none without a holdout).
    pub holdout_check: Option<HoldoutCheck>,
    /// The input file's quality.
    pub input: ClvInput<'a>,
}

/// What the model was fitted from.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClvInput<'a> {
    /// A transaction file.
    Transactions(&'a TransactionQuality),
    /// A summary file.
    Summary(&'a crate::quality::InputQuality),
}

impl<'a> ClvReport<'a> {
    /// The report of a fitted model.
    #[expect(
        clippy::too_many_arguments,
        reason = "one field each, named at the call site"
    )]
    pub fn new(
        model: &'a ClvModel,
        calibration_end: Option<NaiveDate>,
        holdout_end: Option<NaiveDate>,
        predictions: &[CustomerPrediction<'_>],
        first_seen_in_holdout: usize,
        holdout: &'a [HoldoutRow],
        input: ClvInput<'a>,
        holdout_periods: Option<f64>,
    ) -> Self {
        let p = model.params();
        ClvReport {
            model: p.model().title(),
            period: p.period().name(),
            calibration_end,
            holdout_end,
            holdout_periods,
            transaction_model: model.transaction_report(),
            spend_model: model.spend_report(),
            spend_frequency_correlation: model.spend_correlation(),
            spend_correlation_warning: model.spend_correlation_warning(),
            spend_excluded_customers: model.spend_excluded(),
            customers: predictions.len(),
            customers_first_seen_in_holdout: first_seen_in_holdout,
            customers_not_predicted: predictions
                .iter()
                .filter(|p| !p.prediction.is_finite())
                .count(),
            horizon_months: p.horizon_months(),
            discount_rate_per_month: p.discount_rate(),
            churn_thresholds: p.churn_bands(),
            holdout,
            holdout_check: HoldoutCheck::of(holdout),
            input,
        }
    }
}

/// The header of `clv.csv`.
pub fn clv_header() -> Vec<String> {
    let n = PREDICTION_COLUMNS.len() - 1;
    PREDICTION_COLUMNS[..n]
        .iter()
        .copied()
        .chain(["value_tier", "value_tier_label"])
        .map(String::from)
        .collect()
}

/// One row of `clv.csv`.
pub fn clv_row<'a>(
    p: &CustomerPrediction<'a>,
    tier: stratum_core::clv::ValueTier,
    lang: Lang,
) -> Vec<Cell<'a>> {
    let mut row = prediction_row(p, false, lang);
    row.push(Cell::Text(tier.code()));
    row.push(Cell::Text(tier.label(lang)));
    row
}

/// Writes a segment run's `clv.csv`: the columns of `predictions.csv` (without holdout) and the
/// predicted-value tier (`tiers` in the same order as `rows`).
pub fn write_clv_csv<W: Write>(
    out: W,
    rows: &[CustomerPrediction<'_>],
    tiers: &[stratum_core::clv::ValueTier],
    lang: Lang,
    text: CsvText,
) -> csv::Result<()> {
    let mut w = CsvOut::new(out, text);
    w.texts(clv_header())?;
    for (p, t) in rows.iter().zip(tiers) {
        w.cells(&clv_row(p, *t, lang))?;
    }
    w.flush()?;
    Ok(())
}

pub use stratum_core::run::ClassClv;

/// The columns of `clv_by_class.csv`.
pub const CLV_CLASS_COLUMNS: [&str; 7] = [
    "rfm_class",
    "rfm_class_label",
    "customers",
    "mean_clv",
    "total_clv",
    "mean_churn_risk",
    "high_churn_risk_customers",
];

/// The cells of one class row.
pub fn clv_class_cells(k: &ClassClv, lang: Lang) -> Vec<Cell<'static>> {
    use stratum_core::Labelled;
    let g = &k.clv;
    let n = g.customers.max(1) as f64;
    vec![
        Cell::Text(k.class.code()),
        Cell::Text(k.class.label(lang)),
        Cell::Int(g.customers as i64),
        money(g.total_clv / n),
        money(g.total_clv),
        Cell::Share(g.churn_risk / n),
        Cell::Int(g.high_risk() as i64),
    ]
}

/// Writes `clv_by_class.csv`.
pub fn write_clv_by_class_csv<W: Write>(
    out: W,
    classes: &[ClassClv],
    lang: Lang,
    text: CsvText,
) -> csv::Result<()> {
    let mut w = CsvOut::new(out, text);
    w.texts(CLV_CLASS_COLUMNS)?;
    for k in classes {
        w.cells(&clv_class_cells(k, lang))?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratum_core::clv::HoldoutVerdict;

    fn check(actual: f64, predicted: f64) -> HoldoutCheck {
        let all = HoldoutRow {
            frequency: None,
            and_more: false,
            customers: 100,
            actual: actual / 100.0,
            predicted: predicted / 100.0,
        };
        HoldoutCheck::of(&[all]).unwrap_or_else(|| panic!("no check"))
    }

    #[test]
    fn the_holdout_sentence_states_both_totals_the_margin_and_the_verdict() {
        let under = check(1882.0, 1575.9);
        assert_eq!(under.verdict, HoldoutVerdict::UnderPredicts);
        assert_eq!(
            holdout_check_text(&under, Lang::En),
            "warning: the model under-predicts the holdout by more than the 10% margin: 1,575.9 \
             purchases predicted, 1,882 actual (-16.3%); its predictions and CLV are off by about \
             as much"
        );
        assert_eq!(
            holdout_check_text(&under, Lang::Zh),
            "警告：模型低估验证期购买，偏差超过 10% 的允许误差：预测购买 1,575.9 次，实际 1,882 次\
             （-16.3%），预测购买次数与客户价值的偏差大致相同"
        );
        let within = check(1151.0, 1125.8);
        assert_eq!(
            holdout_check_text(&within, Lang::En),
            "holdout total: 1,125.8 purchases predicted, 1,151 actual (-2.2%); within the 10% margin"
        );
        assert_eq!(
            holdout_check_text(&within, Lang::Zh),
            "验证期合计：预测购买 1,125.8 次，实际 1,151 次（-2.2%），在 10% 的允许误差之内"
        );
        let none_bought = check(0.0, 3.0);
        assert_eq!(
            holdout_check_text(&none_bought, Lang::En),
            "warning: the model over-predicts the holdout by more than the 10% margin: 3.0 \
             purchases predicted, 0 actual (+∞); its predictions and CLV are off by about as much"
        );
    }
}
