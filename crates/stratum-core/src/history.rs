//! The history of a store's runs as the report and the workbook show it: tier sizes over the
//! runs, the migration matrix of the last two runs, how long customers have been in their
//! tier, and the customers who moved most. Filled by the store,
//! rendered by the report and the workbook of `stratum-io`; the reasons are already words in the
//! report's language.

use crate::scheme::CheckedScheme;
use crate::{AbcClass, Labelled, Lang, Money, RfmClass, Segment};
use chrono::NaiveDate;

/// The upper ends (in days, inclusive) of the time-in-tier bands after "moved in with this
/// run": 1–90 days, 91–180, 181–365; the last band is everything longer.
pub const TIME_IN_TIER_DAYS: [i64; 3] = [90, 180, 365];

/// The bands of [`TimeInTier::bands`]: moved in with the latest run, then up to each of
/// [`TIME_IN_TIER_DAYS`], then longer.
pub const TIME_IN_TIER_BANDS: usize = TIME_IN_TIER_DAYS.len() + 2;

/// A run in the history: its store id (`None`: the run being written, not yet kept) and as-of
/// date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunRef {
    /// The store id, once kept.
    pub id: Option<i64>,
    /// The as-of date.
    pub as_of: NaiveDate,
    /// Whether it is a draft scheme's preview on a kept run's customers (never kept).
    pub draft: bool,
}

/// One run's tier sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSizes {
    /// The run.
    pub run: RunRef,
    /// Customers and net revenue per tier, in the order of [`HistoryView::tiers`] (zero for a
    /// tier the run did not have; all zero when the run's scheme lacks the dimension).
    pub tiers: Vec<(u64, Money)>,
}

/// How a customer moved between two runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// To a higher tier.
    Up,
    /// Same tier.
    Stable,
    /// To a lower tier.
    Down,
    /// Not in the earlier run.
    New,
    /// Not in the later run.
    Lost,
}

impl Direction {
    /// The code in files.
    pub fn code(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Stable => "stable",
            Direction::Down => "down",
            Direction::New => "new",
            Direction::Lost => "lost",
        }
    }
}

/// A cell of the migration matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatrixCell {
    /// Customers who went from the row's tier to the column's.
    pub customers: u64,
    /// Their net revenue in the earlier run.
    pub revenue_from: Money,
    /// Their net revenue in the later run.
    pub revenue_to: Money,
    /// How they moved.
    pub direction: Direction,
}

/// The migration matrix of two runs.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixView {
    /// The earlier run.
    pub from: RunRef,
    /// The later run.
    pub to: RunRef,
    /// The rows: the earlier run's tiers best first, after `None` (new customers) when there
    /// are any.
    pub rows: Vec<Option<String>>,
    /// The columns: the later run's tiers best first, then `None` (lost customers) when there
    /// are any.
    pub columns: Vec<Option<String>>,
    /// `[row][column]`.
    pub cells: Vec<Vec<MatrixCell>>,
    /// Customers in both runs who moved up, stayed, moved down.
    pub counts: [u64; 3],
    /// Customers only in the later run, only in the earlier one.
    pub new_and_lost: [u64; 2],
}

impl MatrixView {
    /// The shares of the customers in both runs who moved up, stayed and moved down.
    pub fn shares(&self) -> [f64; 3] {
        let n = self.counts.iter().sum::<u64>().max(1) as f64;
        self.counts.map(|c| c as f64 / n)
    }
}

/// How long the customers of one tier of the latest run have been in it.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeInTier {
    /// The tier.
    pub tier: String,
    /// Customers in it.
    pub customers: u64,
    /// Customers per band ([`TIME_IN_TIER_BANDS`]): days from the as-of date of the first
    /// run of their unbroken stay in the tier to the latest run's.
    pub bands: [u64; TIME_IN_TIER_BANDS],
    /// The median of those days (the lower of the two middle ones for an even count). Stays
    /// are followed back to the first run over a year before the latest, so a median over 365
    /// says "over 365 days", not how much over; in a store younger than that, stays are
    /// counted from its first run.
    pub median_days: i64,
}

/// A customer who moved, with why.
#[derive(Debug, Clone, PartialEq)]
pub struct MoverView {
    /// The customer id.
    pub customer_id: String,
    /// The tier before (`None`: new).
    pub from: Option<String>,
    /// The tier after (`None`: lost).
    pub to: Option<String>,
    /// How.
    pub direction: Direction,
    /// Net revenue in the earlier run.
    pub monetary_from: Money,
    /// Net revenue in the later run.
    pub monetary_to: Money,
    /// Why, in words: the numbers that crossed a rule's threshold, else the reason of the
    /// tier after (empty when there is nothing to say).
    pub why: String,
}

/// The history section's content.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryView {
    /// The dimension shown (a scheme dimension, or `rfm_class`).
    pub dimension: String,
    /// The tiers of the dimension: the latest run's best first, then any only earlier runs had.
    pub tiers: Vec<String>,
    /// The runs looked at, oldest first; the last is the latest.
    pub runs: Vec<RunSizes>,
    /// How many runs the store has (with the run being written), of which `runs` are the
    /// latest.
    pub runs_in_store: usize,
    /// The matrix of the last two runs (none with one run).
    pub matrix: Option<MatrixView>,
    /// Time in tier per tier of the latest run, in the order of `tiers`.
    pub time_in_tier: Vec<TimeInTier>,
    /// The biggest moves up by revenue.
    pub upgrades: Vec<MoverView>,
    /// The biggest moves down by revenue.
    pub downgrades: Vec<MoverView>,
    /// High-value customers (ABC class A in the earlier run) who moved down or were lost, by
    /// revenue.
    pub high_value_down: Vec<MoverView>,
    /// How far sales agreed with the latest kept run's tiers, when its customers were reviewed.
    pub agreement: Option<AgreementView>,
}

/// Sales' agreement with a run's tiers: of the customers reviewed (each by their latest
/// review), those agreed, in all, per tier and per account manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementView {
    /// The run reviewed.
    pub run: i64,
    /// `("all", "")`, then `("tier", code)` per tier, then `("manager", name)` per manager.
    pub rows: Vec<AgreementRow>,
}

/// One group's agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementRow {
    /// `all`, `tier` or `manager`.
    pub kind: &'static str,
    /// The tier's code or the manager (empty for all).
    pub group: String,
    /// Customers reviewed.
    pub reviewed: usize,
    /// Of those, agreed.
    pub agreed: usize,
    /// Disputes approved.
    pub approved: usize,
    /// Disputes rejected.
    pub rejected: usize,
}

impl HistoryView {
    /// The lists of moves with their titles in `lang`: the top upgrades, the top downgrades,
    /// and the high-value customers who moved down or were lost.
    pub fn mover_lists(&self, lang: Lang) -> [(&'static str, &[MoverView]); 3] {
        [
            (
                lang.pick("升级最多的客户（按收入）", "Top upgrades by revenue"),
                &self.upgrades,
            ),
            (
                lang.pick("降级最多的客户（按收入）", "Top downgrades by revenue"),
                &self.downgrades,
            ),
            (
                lang.pick(
                    "降级或流失的高价值客户（上次为 A 类）",
                    "High-value customers (class A before) who moved down or were lost",
                ),
                &self.high_value_down,
            ),
        ]
    }
}

/// A draft scheme applied to the customers of a kept run, compared with that run's tiers.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewView {
    /// The run previewed on.
    pub run: RunRef,
    /// The draft's name, if it gives one.
    pub draft_name: Option<String>,
    /// The dimension compared: the run's and the draft's (the same name unless the final
    /// dimensions differ).
    pub dimensions: (String, String),
    /// Old tier → new tier: customers and revenue (the rows the run's tiers, the columns the
    /// draft's, best first; every customer is in both).
    pub matrix: MatrixView,
    /// Per tier, best first (the draft's tiers, then the run's tiers the draft does not have):
    /// the tier, its customers and revenue in the run, and with the draft.
    pub sizes: Vec<(String, u64, Money, u64, Money)>,
    /// Customers and net revenue previewed.
    pub customers: u64,
    /// Their net revenue.
    pub revenue: Money,
    /// Every customer whose tier would change, by revenue from the highest.
    pub movers: Vec<PreviewMover>,
    /// Their net revenue.
    pub revenue_moved: Money,
    /// The draft's tiers that would have no customer.
    pub empty: Vec<String>,
    /// What the draft's placement warns of, in words (overrides it could not apply, rules
    /// that place no one).
    pub warnings: Vec<String>,
}

/// A customer whose tier a draft would change.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewMover {
    /// The customer id.
    pub customer_id: String,
    /// The tier in the run.
    pub from: String,
    /// The tier with the draft.
    pub to: String,
    /// Up or down (stable: a tier of the same place under another name).
    pub direction: Direction,
    /// Net revenue.
    pub monetary: Money,
    /// Why the run placed it, in words.
    pub reason_from: String,
    /// Why the draft would, in words.
    pub reason_to: String,
}

/// The band of a stay of `days` days (0: moved in with the latest run).
pub fn time_band(days: i64) -> usize {
    if days <= 0 {
        return 0;
    }
    1 + TIME_IN_TIER_DAYS
        .iter()
        .position(|&end| days <= end)
        .unwrap_or(TIME_IN_TIER_DAYS.len())
}

/// The names of the time-in-tier bands in `lang`.
pub fn time_band_names(lang: Lang) -> Vec<String> {
    let mut names = vec![lang.pick("本次进入", "moved in now").to_string()];
    let mut from = 1;
    for end in TIME_IN_TIER_DAYS {
        names.push(match lang {
            Lang::Zh => format!("{from}–{end} 天"),
            Lang::En => format!("{from}–{end} days"),
        });
        from = end + 1;
    }
    names.push(match lang {
        Lang::Zh => format!("超过 {} 天", from - 1),
        Lang::En => format!("over {} days", from - 1),
    });
    names
}

/// A history tier's name in `lang`: the scheme's label for a scheme tier, the built-in label
/// for an RFM class, segment or ABC class, else the name.
pub fn tier_label(
    scheme: Option<&CheckedScheme>,
    dimension: &str,
    name: &str,
    lang: Lang,
) -> String {
    if let Some(tier) = scheme
        .and_then(|s| s.dimensions.iter().find(|d| d.name == dimension))
        .and_then(|d| d.tiers.iter().find(|t| t.name == name))
    {
        return tier.label.pick(lang, name).to_string();
    }
    fn find<T: Labelled>(all: &[T], name: &str, lang: Lang) -> Option<&'static str> {
        all.iter().find(|c| c.code() == name).map(|c| c.label(lang))
    }
    let built_in = match dimension {
        "rfm_class" => find(&RfmClass::ALL, name, lang),
        "rfm_segment" => find(&Segment::ALL, name, lang),
        "abc_class" => find(&AbcClass::ALL, name, lang),
        _ => None,
    };
    built_in.unwrap_or(name).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stay_falls_in_one_band_by_its_days() {
        let bands: Vec<usize> = [0, 1, 90, 91, 180, 181, 365, 366, 5000]
            .into_iter()
            .map(time_band)
            .collect();
        assert_eq!(bands, [0, 1, 1, 2, 2, 3, 3, 4, 4]);
    }
}
