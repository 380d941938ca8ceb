//! Named RFM segments (Champions, Loyal, … Lost).
//!
//! The table is defined on a 5-level scale of R and of FM, the rounded-up mean of the F and M
//! scores (`FM = ⌈(F + M) / 2⌉`). With 3 or 4 levels, each score is first mapped onto the 5-level
//! scale (`1 + round((s − 1) × 4 / (bins − 1))`), so with fewer levels some rows are never
//! reached: with 4 levels R is never 3 (no About to sleep, no Need attention), with 3 levels R
//! is never 2 or 4 (no Promising). Every (R, FM) pair falls in exactly one row of
//! [`SEGMENT_TABLE`], which a test checks by enumeration:
//!
//! | R \ FM | 1 | 2 | 3 | 4 | 5 |
//! |---|---|---|---|---|---|
//! | 5 | New | Potential loyalist | Potential loyalist | Champions | Champions |
//! | 4 | Promising | Potential loyalist | Potential loyalist | Loyal | Loyal |
//! | 3 | About to sleep | About to sleep | Need attention | Loyal | Loyal |
//! | 2 | Hibernating | Hibernating | At risk | At risk | Can't lose them |
//! | 1 | Lost | Hibernating | At risk | At risk | Can't lose them |

use std::ops::RangeInclusive;

use crate::labels::{Labelled, Lang};

/// A named RFM segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// Bought recently, buy often and spend the most.
    Champions,
    /// Spend well and often, fairly recently.
    Loyal,
    /// Recent customers with average frequency and spend.
    PotentialLoyalist,
    /// Bought most recently, but not often.
    New,
    /// Recent shoppers who have not spent much.
    Promising,
    /// Average recency, frequency and spend.
    NeedAttention,
    /// Below-average recency and value: will be lost without reactivation.
    AboutToSleep,
    /// Spent well and often, but long ago.
    AtRisk,
    /// Made the biggest purchases, and often, but have not come back for a long time.
    CantLose,
    /// Last purchase long ago, low spend and few orders.
    Hibernating,
    /// Lowest recency, frequency and monetary scores.
    Lost,
}

impl Segment {
    /// All segments in report order.
    pub const ALL: [Segment; 11] = [
        Segment::Champions,
        Segment::Loyal,
        Segment::PotentialLoyalist,
        Segment::New,
        Segment::Promising,
        Segment::NeedAttention,
        Segment::AboutToSleep,
        Segment::AtRisk,
        Segment::CantLose,
        Segment::Hibernating,
        Segment::Lost,
    ];

    /// The segment of a customer with the given scores on a scale of `bins` levels (3 to 5).
    pub fn from_scores(r: u8, f: u8, m: u8, bins: u8) -> Segment {
        let r5 = to_five(r, bins);
        let fm5 = to_five(f, bins) + to_five(m, bins);
        let fm5 = fm5.div_ceil(2);
        SEGMENT_TABLE
            .iter()
            .find(|row| row.r.contains(&r5) && row.fm.contains(&fm5))
            .map_or(Segment::Lost, |row| row.segment)
    }
}

/// Maps a score on `bins` levels onto the 5-level scale.
fn to_five(score: u8, bins: u8) -> u8 {
    if bins <= 1 {
        return 1;
    }
    let s = u32::from(score.clamp(1, bins)) - 1;
    let b = u32::from(bins) - 1;
    // round(s × 4 / b), half up
    (1 + (s * 8 + b) / (2 * b)) as u8
}

/// One row of the segment table.
#[derive(Debug, Clone)]
pub struct SegmentRule {
    /// The segment.
    pub segment: Segment,
    /// R scores (5-level scale).
    pub r: RangeInclusive<u8>,
    /// FM scores (5-level scale).
    pub fm: RangeInclusive<u8>,
}

/// The score-range table; rows do not overlap and cover every (R, FM) pair.
pub const SEGMENT_TABLE: [SegmentRule; 13] = [
    rule(Segment::Champions, 5..=5, 4..=5),
    rule(Segment::PotentialLoyalist, 4..=5, 2..=3),
    rule(Segment::New, 5..=5, 1..=1),
    rule(Segment::Loyal, 4..=4, 4..=5),
    rule(Segment::Loyal, 3..=3, 4..=5),
    rule(Segment::Promising, 4..=4, 1..=1),
    rule(Segment::NeedAttention, 3..=3, 3..=3),
    rule(Segment::AboutToSleep, 3..=3, 1..=2),
    rule(Segment::AtRisk, 1..=2, 3..=4),
    rule(Segment::CantLose, 1..=2, 5..=5),
    rule(Segment::Hibernating, 2..=2, 1..=2),
    rule(Segment::Hibernating, 1..=1, 2..=2),
    rule(Segment::Lost, 1..=1, 1..=1),
];

const fn rule(segment: Segment, r: RangeInclusive<u8>, fm: RangeInclusive<u8>) -> SegmentRule {
    SegmentRule { segment, r, fm }
}

impl Labelled for Segment {
    fn code(&self) -> &'static str {
        match self {
            Segment::Champions => "champions",
            Segment::Loyal => "loyal",
            Segment::PotentialLoyalist => "potential_loyalist",
            Segment::New => "new",
            Segment::Promising => "promising",
            Segment::NeedAttention => "need_attention",
            Segment::AboutToSleep => "about_to_sleep",
            Segment::AtRisk => "at_risk",
            Segment::CantLose => "cant_lose",
            Segment::Hibernating => "hibernating",
            Segment::Lost => "lost",
        }
    }

    fn label(&self, lang: Lang) -> &'static str {
        match self {
            Segment::Champions => lang.pick("冠军客户", "Champions"),
            Segment::Loyal => lang.pick("忠诚客户", "Loyal"),
            Segment::PotentialLoyalist => lang.pick("潜在忠诚客户", "Potential loyalist"),
            Segment::New => lang.pick("新客户", "New"),
            Segment::Promising => lang.pick("有潜力客户", "Promising"),
            Segment::NeedAttention => lang.pick("需要关注客户", "Need attention"),
            Segment::AboutToSleep => lang.pick("即将沉睡客户", "About to sleep"),
            Segment::AtRisk => lang.pick("流失风险客户", "At risk"),
            Segment::CantLose => lang.pick("不能失去的客户", "Can't lose them"),
            Segment::Hibernating => lang.pick("休眠客户", "Hibernating"),
            Segment::Lost => lang.pick("已流失客户", "Lost"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_r_fm_pair_matches_exactly_one_row() {
        for r in 1..=5u8 {
            for fm in 1..=5u8 {
                let hits = SEGMENT_TABLE
                    .iter()
                    .filter(|row| row.r.contains(&r) && row.fm.contains(&fm))
                    .count();
                assert_eq!(hits, 1, "R={r} FM={fm} matches {hits} rows");
            }
        }
    }

    #[test]
    fn every_score_combination_gets_one_segment_and_all_segments_are_reachable() {
        for bins in 3..=5u8 {
            let mut seen = std::collections::BTreeSet::new();
            for r in 1..=bins {
                for f in 1..=bins {
                    for m in 1..=bins {
                        seen.insert(Segment::from_scores(r, f, m, bins));
                    }
                }
            }
            // With fewer levels the 5-level scale has gaps (see the module docs).
            let missing: Vec<Segment> = Segment::ALL
                .into_iter()
                .filter(|s| !seen.contains(s))
                .collect();
            let expected: &[Segment] = match bins {
                3 => &[Segment::Promising],
                4 => &[Segment::NeedAttention, Segment::AboutToSleep],
                _ => &[],
            };
            assert_eq!(missing, expected, "bins={bins}");
        }
    }

    #[test]
    fn scores_map_onto_the_five_level_scale() {
        assert_eq!(
            (1..=3).map(|s| to_five(s, 3)).collect::<Vec<_>>(),
            [1, 3, 5]
        );
        assert_eq!(
            (1..=4).map(|s| to_five(s, 4)).collect::<Vec<_>>(),
            [1, 2, 4, 5]
        );
        assert_eq!(
            (1..=5).map(|s| to_five(s, 5)).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
    }

    #[test]
    fn hand_picked_cells_match_the_documented_grid() {
        assert_eq!(Segment::from_scores(5, 5, 5, 5), Segment::Champions);
        assert_eq!(Segment::from_scores(5, 1, 1, 5), Segment::New);
        assert_eq!(Segment::from_scores(4, 1, 1, 5), Segment::Promising);
        assert_eq!(Segment::from_scores(3, 3, 3, 5), Segment::NeedAttention);
        assert_eq!(Segment::from_scores(1, 5, 5, 5), Segment::CantLose);
        assert_eq!(Segment::from_scores(1, 1, 2, 5), Segment::Hibernating); // FM = ⌈1.5⌉ = 2
        assert_eq!(Segment::from_scores(1, 1, 1, 5), Segment::Lost);
        assert_eq!(Segment::from_scores(2, 4, 3, 5), Segment::AtRisk); // FM = ⌈3.5⌉ = 4
    }
}
