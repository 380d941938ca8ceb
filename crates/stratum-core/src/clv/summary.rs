//! Per-customer summaries in model units, and grouping of identical summaries.
//!
//! A customer's purchase history becomes `(x, t_x, T)`: `x` repeat purchases (distinct purchase
//! days after the first, so purchases on one day count once), `t_x` the time from the first to
//! the last purchase and `T` the time from the first purchase to the end of calibration, both in
//! days divided by the length of the chosen [`Period`] (days / 7 for weeks), as in the published
//! CDNOW summary. Purchases after the calibration end are the holdout.

use chrono::NaiveDate;

use super::ClvError;

/// The time unit of `t_x`, `T` and of predictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// One day.
    Day,
    /// Seven days (the default, the unit of the published CDNOW results).
    #[default]
    Week,
    /// An average calendar month, 365.25 / 12 = 30.4375 days.
    Month,
}

impl Period {
    /// The length of the period in days.
    pub fn days(self) -> f64 {
        match self {
            Period::Day => 1.0,
            Period::Week => 7.0,
            Period::Month => 365.25 / 12.0,
        }
    }

    /// The period's name for people, in English (as on the command line) or Chinese.
    pub fn label(self, lang: crate::Lang) -> &'static str {
        match (lang, self) {
            (crate::Lang::En, p) => p.name(),
            (crate::Lang::Zh, Period::Day) => "天",
            (crate::Lang::Zh, Period::Week) => "周",
            (crate::Lang::Zh, Period::Month) => "月",
        }
    }

    /// The name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }
}

impl std::str::FromStr for Period {
    type Err = ClvError;
    fn from_str(s: &str) -> Result<Self, ClvError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" | "days" | "d" => Ok(Period::Day),
            "week" | "weeks" | "w" => Ok(Period::Week),
            "month" | "months" | "m" => Ok(Period::Month),
            _ => Err(ClvError::Period(s.to_string())),
        }
    }
}

/// One purchase day of a customer: the date and the amount spent that day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PurchaseDay {
    /// The day.
    pub date: NaiveDate,
    /// The amount spent that day (in currency units).
    pub amount: f64,
}

/// A customer's purchase days from their daily history: the days with a new order (or, without
/// an order column, a purchase line), with that day's net amount. Days with only refunds or
/// with more lines of an order begun earlier are not purchases.
pub fn purchase_days(days: &[crate::DayTotal]) -> Vec<PurchaseDay> {
    days.iter()
        .filter(|d| d.new_orders > 0)
        .map(|d| PurchaseDay {
            date: d.date,
            amount: d.net.to_f64(),
        })
        .collect()
}

/// A customer's calibration summary in model units, with the holdout purchases.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    /// Repeat purchases in calibration: distinct purchase days after the first.
    pub frequency: u32,
    /// Time from the first to the last calibration purchase (`t_x`), in periods.
    pub recency: f64,
    /// Time from the first purchase to the end of calibration (`T`), in periods.
    pub t: f64,
    /// Mean amount of the repeat purchase days (the first purchase day left out), 0 without
    /// repeat purchases.
    pub monetary: f64,
    /// Distinct purchase days after the calibration end.
    pub holdout_frequency: u32,
    /// Amount spent after the calibration end.
    pub holdout_amount: f64,
}

impl Summary {
    /// Whether the summary counts whole opportunities as BG/BB needs them: recency and `T`
    /// whole numbers, frequency ≤ recency ≤ `T`, recency 0 without repeat purchases.
    pub fn is_discrete(&self) -> bool {
        let whole = |v: f64| v.fract() == 0.0;
        let x = f64::from(self.frequency);
        whole(self.recency)
            && whole(self.t)
            && x <= self.recency
            && self.recency <= self.t
            && (x > 0.0 || self.recency == 0.0)
    }
}

/// The summary of one customer whose purchase days are `days` (in any order; one entry per
/// day) with calibration ending on `calibration_end` (inclusive), or `None` when the customer
/// made no purchase on or before it.
pub fn summarize(
    days: &[PurchaseDay],
    calibration_end: NaiveDate,
    period: Period,
) -> Option<Summary> {
    let mut first: Option<NaiveDate> = None;
    let mut last = None;
    let (mut count, mut total) = (0u32, 0.0);
    let mut first_amount = 0.0;
    let mut holdout = (0u32, 0.0);
    for d in days {
        if d.date > calibration_end {
            holdout.0 += 1;
            holdout.1 += d.amount;
            continue;
        }
        count += 1;
        total += d.amount;
        if first.is_none_or(|f| d.date < f) {
            first = Some(d.date);
            first_amount = d.amount;
        }
        if last.is_none_or(|l| d.date > l) {
            last = Some(d.date);
        }
    }
    let (first, last) = (first?, last?);
    let frequency = count - 1;
    let unit = period.days();
    Some(Summary {
        frequency,
        recency: (last - first).num_days() as f64 / unit,
        t: (calibration_end - first).num_days() as f64 / unit,
        monetary: if frequency == 0 {
            0.0
        } else {
            (total - first_amount) / f64::from(frequency)
        },
        holdout_frequency: holdout.0,
        holdout_amount: holdout.1,
    })
}

/// The summary for discrete-opportunity models (BG/BB): opportunity `k` is the `k`-th whole
/// period after the first purchase (days `[first + k·u, first + (k+1)·u)` for a period of `u`
/// days). `n` (in [`Summary::t`]) is the number of opportunities after the first that ended on
/// or before `calibration_end`, `x` the number of them with a purchase and `t_x` the last such
/// one (0 without). Later opportunities, the one running at the calibration end included, are
/// the holdout. `None` when the customer made no purchase
/// on or before `calibration_end`.
pub fn summarize_discrete(
    days: &[PurchaseDay],
    calibration_end: NaiveDate,
    period: Period,
) -> Option<Summary> {
    let first = days
        .iter()
        .map(|d| d.date)
        .filter(|d| *d <= calibration_end)
        .min()?;
    let unit = period.days();
    let index = |date: NaiveDate| ((date - first).num_days() as f64 / unit).floor() as u32;
    // opportunities that ended on or before the calibration end: k with (k + 1)·u ≤ days + 1
    let observed = (calibration_end - first).num_days() + 1;
    let n = ((observed as f64 / unit).floor() as u32).saturating_sub(1);
    // amount per opportunity, the first purchase's opportunity included
    let mut spent: Vec<(u32, f64)> = days
        .iter()
        .filter(|d| d.date >= first)
        .map(|d| (index(d.date), d.amount))
        .collect();
    spent.sort_unstable_by_key(|s| s.0);
    spent.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1 += later.1;
        }
        same
    });
    let mut s = Summary {
        t: f64::from(n),
        ..Summary::default()
    };
    let mut repeat_total = 0.0;
    for &(k, amount) in &spent {
        if k > n {
            s.holdout_frequency += 1;
            s.holdout_amount += amount;
        } else if k > 0 {
            s.frequency += 1;
            s.recency = f64::from(k);
            repeat_total += amount;
        }
    }
    if s.frequency > 0 {
        s.monetary = repeat_total / f64::from(s.frequency);
    }
    Some(s)
}

/// Distinct `(x, t_x, T)` summaries with the number of customers having each, in a fixed order
/// (by `x`, then `t_x`, then `T`): the models' cost grows with distinct summaries, not customers.
#[derive(Debug, Clone, Default)]
pub struct Grouped {
    /// The distinct summaries: `(x, t_x, T, customers)`.
    pub rows: Vec<(u32, f64, f64, f64)>,
    /// Total customers.
    pub customers: f64,
}

impl Grouped {
    /// Groups summaries. Errors on a negative or non-finite time or `t_x > T`.
    pub fn new<'a>(summaries: impl IntoIterator<Item = &'a Summary>) -> Result<Self, ClvError> {
        let mut keys: Vec<(u32, u64, u64)> = Vec::new();
        for s in summaries {
            if !(s.recency.is_finite() && s.t.is_finite() && s.recency >= 0.0 && s.recency <= s.t) {
                return Err(ClvError::Summary {
                    frequency: s.frequency,
                    recency: s.recency,
                    t: s.t,
                });
            }
            keys.push((s.frequency, s.recency.to_bits(), s.t.to_bits()));
        }
        // non-negative floats order like their bit patterns
        {
            use rayon::slice::ParallelSliceMut;
            keys.par_sort_unstable();
        }
        let mut rows: Vec<(u32, f64, f64, f64)> = Vec::new();
        let mut prev = None;
        for k in &keys {
            if prev == Some(*k) {
                if let Some(last) = rows.last_mut() {
                    last.3 += 1.0;
                }
            } else {
                rows.push((k.0, f64::from_bits(k.1), f64::from_bits(k.2), 1.0));
                prev = Some(*k);
            }
        }
        Ok(Grouped {
            rows,
            customers: keys.len() as f64,
        })
    }

    /// Summaries already grouped, as in a published table: `(x, t_x, T, customers)`.
    pub fn from_rows(rows: Vec<(u32, f64, f64, f64)>) -> Result<Self, ClvError> {
        for &(x, tx, t, w) in &rows {
            if !(tx.is_finite() && t.is_finite() && tx >= 0.0 && tx <= t && w > 0.0) {
                return Err(ClvError::Summary {
                    frequency: x,
                    recency: tx,
                    t,
                });
            }
        }
        let customers = rows.iter().map(|r| r.3).sum();
        Ok(Grouped { rows, customers })
    }

    /// Every `every`-th distinct summary, with its weight (a systematic sample, for starting
    /// values).
    pub fn sample(&self, every: usize) -> Grouped {
        let rows: Vec<_> = self.rows.iter().step_by(every.max(1)).copied().collect();
        let customers = rows.iter().map(|r| r.3).sum();
        Grouped { rows, customers }
    }

    /// The customers' mean `T` (at least 1e-3): the natural size of the time scales.
    pub fn mean_t(&self) -> f64 {
        let total: f64 = self.rows.iter().map(|r| r.2 * r.3).sum();
        (total / self.customers.max(1.0)).max(1e-3)
    }

    /// The largest `T` (at least 1e-3).
    pub fn max_t(&self) -> f64 {
        self.rows.iter().map(|r| r.2).fold(1e-3, f64::max)
    }

    /// Customers with at least one repeat purchase.
    pub fn repeat_customers(&self) -> f64 {
        self.rows.iter().filter(|r| r.0 > 0).map(|r| r.3).sum()
    }
}

/// Each customer's calibration summary in the model's terms, `None` when their first purchase
/// is after `calibration_end`.
pub fn summaries(
    customers: &[crate::CustomerFeatures],
    calibration_end: NaiveDate,
    model: &super::CheckedClvParams,
) -> Vec<Option<Summary>> {
    customers
        .iter()
        .map(|c| {
            let days = purchase_days(c.days.as_deref().unwrap_or_default());
            match model.model() {
                super::ModelKind::BgBb => {
                    summarize_discrete(&days, calibration_end, model.period())
                }
                _ => summarize(&days, calibration_end, model.period()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(1997, m, d).unwrap_or_default()
    }

    #[test]
    fn cdnow_customer_one_gets_the_published_summary() {
        // CDNOW sample customer 1 (master id 00004): purchases on 1997-01-01, 01-18, 08-02 and
        // 12-12; calibration to 1997-09-30. The published summary: x = 2, t_x = 30.43,
        // T = 38.86 weeks, mean repeat spend (29.73 + 14.96) / 2 = 22.35.
        let days = [
            PurchaseDay {
                date: day(1, 1),
                amount: 29.33,
            },
            PurchaseDay {
                date: day(1, 18),
                amount: 29.73,
            },
            PurchaseDay {
                date: day(8, 2),
                amount: 14.96,
            },
            PurchaseDay {
                date: day(12, 12),
                amount: 26.48,
            },
        ];
        let s = summarize(&days, day(9, 30), Period::Week).unwrap_or_default();
        assert_eq!(s.frequency, 2);
        assert_relative_eq!(s.recency, 213.0 / 7.0);
        assert_relative_eq!(s.t, 272.0 / 7.0);
        assert_relative_eq!(s.monetary, 22.345, max_relative = 1e-12);
        assert_eq!(s.holdout_frequency, 1);
        assert_relative_eq!(s.holdout_amount, 26.48);
    }

    #[test]
    fn customers_first_seen_in_the_holdout_have_no_summary() {
        let days = [PurchaseDay {
            date: day(10, 5),
            amount: 10.0,
        }];
        assert_eq!(summarize(&days, day(9, 30), Period::Day), None);
    }

    #[test]
    fn discrete_summaries_count_whole_opportunities() {
        // weekly opportunities from 01-01: purchases in weeks 0, 0, 2, 2 and 5; calibration
        // through 01-30 (30 days: weeks 0–3 complete, week 4 running), so n = 3, x = 1 (week 2),
        // t_x = 2; week 5 is holdout
        let p = |m, d, amount| PurchaseDay {
            date: day(m, d),
            amount,
        };
        let days = [
            p(1, 1, 5.0),
            p(1, 3, 1.0),
            p(1, 15, 2.0),
            p(1, 20, 3.0),
            // in week 4, which runs past the calibration end: holdout, like week 5
            p(1, 29, 6.0),
            p(2, 5, 4.0),
        ];
        let s = summarize_discrete(&days, day(1, 30), Period::Week).unwrap_or_default();
        assert_eq!((s.frequency, s.recency, s.t), (1, 2.0, 3.0));
        assert_relative_eq!(s.monetary, 5.0);
        assert_eq!(s.holdout_frequency, 2);
    }

    #[test]
    fn identical_summaries_are_grouped_in_a_fixed_order() {
        let s = |frequency, recency, t| Summary {
            frequency,
            recency,
            t,
            ..Summary::default()
        };
        let all = [
            s(1, 2.0, 5.0),
            s(0, 0.0, 5.0),
            s(1, 2.0, 5.0),
            s(0, 0.0, 3.0),
        ];
        let g = Grouped::new(&all).unwrap_or_default();
        assert_eq!(
            g.rows,
            vec![(0, 0.0, 3.0, 1.0), (0, 0.0, 5.0, 1.0), (1, 2.0, 5.0, 2.0)]
        );
        assert_relative_eq!(g.customers, 4.0);
        assert!(Grouped::new(&[s(1, 6.0, 5.0)]).is_err());
    }
}
