//! The sales funnel (销售漏斗): opportunities moving through configured stages to won or lost,
//! with stage-to-stage conversion, drop-off, time in stage, cycle length and win rate, for
//! every opportunity and by owner, by the customer's tier and by period.
//!
//! Definitions (the tests work them by hand):
//! - An opportunity's stages are read from one or more rows, each naming a stage and,
//!   optionally, the day it entered it. It has **reached** every stage up to the furthest one it
//!   entered (a CRM that records only the current stage still counts the earlier ones, as
//!   Bitrix24's funnel "with conversions" does); a **won** opportunity has reached every stage.
//!   It entered the first stage on its `created` day unless a row says otherwise.
//! - Per stage *i*: `reached`; `lost` (lost with *i* its furthest stage: the drop-off);
//!   `open` (still open with *i* its furthest stage); so `reached[i] = reached[i+1] + lost[i] +
//!   open[i]`, and for the last stage `reached = won + lost + open`.
//! - Next-step conversion = `reached[i+1] / reached[i]` (the last stage's next step is won);
//!   cumulative conversion = `reached[i] / reached[0]`; overall conversion = won / all
//!   opportunities; win rate = won / (won + lost).
//! - Days in stage *i*: from the day it entered *i* to the day it entered *i + 1*, or, at its
//!   furthest stage, to the day it closed; counted over the opportunities where both days are
//!   known and in order. Cycle length: created to closed, over won opportunities with a close
//!   day.
//! - Only opportunities created before `as_of` count; the others are counted apart.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rustc_hash::FxHashMap;

use crate::money::Money;
use crate::scheme::params::Label;

/// One stage of the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The stage's code (also how rows may name it).
    pub key: String,
    /// Its names.
    pub label: Label,
}

/// How opportunities are grouped in time: by the month or the quarter they were created in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grain {
    /// Calendar months.
    Month,
    /// Calendar quarters.
    #[default]
    Quarter,
}

/// A calendar month or quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    /// The year.
    pub year: i32,
    /// The month (1–12) or quarter (1–4).
    pub part: u8,
    /// Which of the two.
    pub quarter: bool,
}

impl Period {
    /// The period of `grain` holding `day`.
    pub fn of(day: NaiveDate, grain: Grain) -> Period {
        let month = day.month() as u8;
        match grain {
            Grain::Month => Period {
                year: day.year(),
                part: month,
                quarter: false,
            },
            Grain::Quarter => Period {
                year: day.year(),
                part: (month - 1) / 3 + 1,
                quarter: true,
            },
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.quarter {
            write!(f, "{}-Q{}", self.year, self.part)
        } else {
            write!(f, "{}-{:02}", self.year, self.part)
        }
    }
}

/// The funnel's settings, unchecked.
#[derive(Debug, Clone, Default)]
pub struct FunnelParams {
    /// The stages, first to last (empty: [`FunnelParams::default_stages`]).
    pub stages: Vec<Stage>,
    /// The period grain.
    pub grain: Grain,
    /// The tiers whose customers' opportunities are flagged, by tier code (empty: the best
    /// ranked tier of the scheme's final dimension, else ABC class A).
    pub high_tiers: Vec<String>,
}

/// Settings that cannot make a funnel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FunnelError {
    /// A stage without a key.
    #[error("stage {position} has an empty key")]
    EmptyKey {
        /// 1-based.
        position: usize,
    },
    /// Two stages a row could not tell apart (same key or name).
    #[error("two stages are both named `{name}`")]
    Duplicate {
        /// The name.
        name: String,
    },
}

impl FunnelParams {
    /// The stages used when none are configured: lead, qualified, proposal, negotiation.
    pub fn default_stages() -> Vec<Stage> {
        [
            ("lead", "线索", "Lead"),
            ("qualified", "需求确认", "Qualified"),
            ("proposal", "方案报价", "Proposal"),
            ("negotiation", "商务谈判", "Negotiation"),
        ]
        .into_iter()
        .map(|(key, zh, en)| Stage {
            key: key.into(),
            label: Label {
                zh: zh.into(),
                en: en.into(),
            },
        })
        .collect()
    }

    /// Checks the stages: keys non-empty, no key or name used by two stages.
    pub fn check(self) -> Result<CheckedFunnelParams, FunnelError> {
        let stages = if self.stages.is_empty() {
            Self::default_stages()
        } else {
            self.stages
        };
        let mut names: FxHashMap<String, usize> = FxHashMap::default();
        for (i, s) in stages.iter().enumerate() {
            if s.key.trim().is_empty() {
                return Err(FunnelError::EmptyKey { position: i + 1 });
            }
            for name in [&s.key, &s.label.zh, &s.label.en] {
                let folded = fold(name);
                if folded.is_empty() {
                    continue;
                }
                if names.get(&folded).is_some_and(|&j| j != i) {
                    return Err(FunnelError::Duplicate { name: name.clone() });
                }
                names.insert(folded, i);
            }
        }
        Ok(CheckedFunnelParams {
            stages,
            names,
            grain: self.grain,
            high_tiers: self.high_tiers,
        })
    }
}

/// Case and surrounding blanks do not matter in stage names.
fn fold(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Checked funnel settings.
#[derive(Debug, Clone)]
pub struct CheckedFunnelParams {
    stages: Vec<Stage>,
    names: FxHashMap<String, usize>,
    grain: Grain,
    high_tiers: Vec<String>,
}

impl CheckedFunnelParams {
    /// The stages, first to last.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The stage a row names, by key or by its Chinese or English name (case ignored).
    pub fn stage_of(&self, text: &str) -> Option<usize> {
        self.names.get(&fold(text)).copied()
    }

    /// The period grain.
    pub fn grain(&self) -> Grain {
        self.grain
    }

    /// The tier codes flagged as high (empty: the default).
    pub fn high_tiers(&self) -> &[String] {
        &self.high_tiers
    }
}

/// Where an opportunity stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Still being worked.
    Open,
    /// Won.
    Won,
    /// Lost.
    Lost,
}

impl Status {
    /// The status a status column (or a stage column) names, in English or Chinese.
    pub fn from_text(text: &str) -> Option<Status> {
        let t = fold(text);
        let is = |words: &[&str]| words.iter().any(|w| t == *w);
        if is(&[
            "open",
            "active",
            "in progress",
            "in_progress",
            "进行中",
            "跟进中",
            "开放",
        ]) {
            Some(Status::Open)
        } else if is(&[
            "won",
            "win",
            "closed won",
            "closed_won",
            "赢单",
            "成交",
            "已成交",
            "签约",
            "已签约",
        ]) {
            Some(Status::Won)
        } else if is(&[
            "lost",
            "lose",
            "closed lost",
            "closed_lost",
            "输单",
            "丢单",
            "失败",
            "已流失",
            "关闭",
        ]) {
            Some(Status::Lost)
        } else {
            None
        }
    }

    /// The stable code written to files.
    pub fn code(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Won => "won",
            Status::Lost => "lost",
        }
    }
}

/// One row of an opportunities file: an opportunity at a stage (or closed), with what the
/// row says about it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OpportunityRow {
    /// The opportunity's id.
    pub id: String,
    /// The customer.
    pub customer_id: String,
    /// The owner (account manager).
    pub owner: String,
    /// The stage, when the row names one.
    pub stage: Option<usize>,
    /// The day the stage was entered.
    pub entered: Option<NaiveDate>,
    /// The day the opportunity was created.
    pub created: Option<NaiveDate>,
    /// Its amount.
    pub amount: Option<Money>,
    /// Its status.
    pub status: Option<Status>,
    /// Why it was lost.
    pub lost_reason: String,
    /// The day it was won or lost.
    pub closed: Option<NaiveDate>,
}

/// An opportunity, from all of its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Opportunity {
    /// Its id.
    pub id: String,
    /// The customer.
    pub customer_id: String,
    /// The owner.
    pub owner: String,
    /// The day it was created.
    pub created: NaiveDate,
    /// Its amount (zero when no row gives one).
    pub amount: Money,
    /// Where it stands.
    pub status: Status,
    /// Why it was lost.
    pub lost_reason: String,
    /// The day it closed.
    pub closed: Option<NaiveDate>,
    /// The furthest stage it reached (the last one when won).
    pub furthest: usize,
    /// The stage of its latest row (where an open opportunity is now; the last for one won
    /// without a stage named).
    pub current: usize,
    /// The day it entered each stage, where known.
    pub entered: Vec<Option<NaiveDate>>,
}

impl Opportunity {
    /// Days spent in stage `i`, when known (see the module's definitions).
    pub fn days_in(&self, i: usize) -> Option<i64> {
        if i > self.furthest {
            return None;
        }
        let start = self.entered.get(i).copied().flatten()?;
        let end = if i < self.furthest {
            self.entered.get(i + 1).copied().flatten()?
        } else if self.status == Status::Open {
            return None;
        } else {
            self.closed?
        };
        let days = (end - start).num_days();
        (days >= 0).then_some(days)
    }

    /// Days from created to closed, for a won opportunity.
    pub fn cycle_days(&self) -> Option<i64> {
        if self.status != Status::Won {
            return None;
        }
        let days = (self.closed? - self.created).num_days();
        (days >= 0).then_some(days)
    }
}

/// The rows of an opportunities file, merged by id in [`OpportunityLog::finish`].
#[derive(Debug, Clone, Default)]
pub struct OpportunityLog {
    rows: Vec<OpportunityRow>,
}

impl OpportunityLog {
    /// An empty log.
    pub fn new() -> Self {
        OpportunityLog::default()
    }

    /// Adds a row (rows of one opportunity may come in any order).
    pub fn add(&mut self, row: OpportunityRow) {
        self.rows.push(row);
    }

    /// Rows added.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The opportunities created before `as_of` (in id order) of `stages` stages, and how
    /// many were created on or after it. A row's values override earlier rows' (by the day
    /// the stage was entered, then file order); the created day is the earliest given, else
    /// the earliest stage day.
    pub fn finish(&self, stages: usize, as_of: NaiveDate) -> (Vec<Opportunity>, usize) {
        let mut by_id: BTreeMap<&str, Vec<&OpportunityRow>> = BTreeMap::new();
        for r in &self.rows {
            by_id.entry(r.id.as_str()).or_default().push(r);
        }
        let last = stages.saturating_sub(1);
        let mut out = Vec::with_capacity(by_id.len());
        let mut after = 0;
        for (id, mut rows) in by_id {
            // stable: rows without a stage day first, then by day, file order within a day
            rows.sort_by_key(|r| r.entered);
            let created = rows
                .iter()
                .filter_map(|r| r.created)
                .min()
                .or_else(|| rows.iter().filter_map(|r| r.entered).min());
            let Some(created) = created else { continue };
            if created >= as_of {
                after += 1;
                continue;
            }
            let latest = |f: &dyn Fn(&OpportunityRow) -> Option<String>| {
                rows.iter().rev().find_map(|r| f(r)).unwrap_or_default()
            };
            let text = |s: &String| (!s.is_empty()).then(|| s.clone());
            let status = rows
                .iter()
                .rev()
                .find_map(|r| r.status)
                .unwrap_or(Status::Open);
            let mut entered = vec![None; stages];
            let mut furthest = 0;
            let mut current = 0;
            let mut staged = false;
            for r in &rows {
                if let Some(s) = r.stage.filter(|&s| s < stages) {
                    staged = true;
                    furthest = furthest.max(s);
                    current = s;
                    if let Some(d) = r.entered {
                        let e: &mut Option<NaiveDate> = &mut entered[s];
                        *e = Some(e.map_or(d, |x: NaiveDate| x.min(d)));
                    }
                }
            }
            if status == Status::Won {
                furthest = last;
                // won without a stage named: closed at the last
                if !staged {
                    current = last;
                }
            }
            if stages > 0 && entered[0].is_none() {
                entered[0] = Some(created);
            }
            out.push(Opportunity {
                id: id.to_string(),
                customer_id: latest(&|r| text(&r.customer_id)),
                owner: latest(&|r| text(&r.owner)),
                created,
                amount: rows.iter().rev().find_map(|r| r.amount).unwrap_or_default(),
                status,
                lost_reason: latest(&|r| text(&r.lost_reason)),
                closed: rows.iter().rev().find_map(|r| r.closed),
                furthest,
                current,
                entered,
            });
        }
        (out, after)
    }
}

/// One stage's figures in a group.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct StageFigures {
    /// Opportunities that reached the stage.
    pub reached: usize,
    /// Lost with this their furthest stage.
    pub lost: usize,
    /// Still open with this their furthest stage.
    pub open: usize,
    /// The sum of the known days in the stage.
    pub days_sum: i64,
    /// Opportunities whose days in the stage are known.
    pub days_known: usize,
}

impl StageFigures {
    /// The mean days in the stage, over those known.
    pub fn mean_days(&self) -> Option<f64> {
        (self.days_known > 0).then(|| self.days_sum as f64 / self.days_known as f64)
    }
}

/// A group of opportunities' funnel.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct FunnelFigures {
    /// Opportunities.
    pub opportunities: usize,
    /// Open ones.
    pub open: usize,
    /// Won ones.
    pub won: usize,
    /// Lost ones.
    pub lost: usize,
    /// The amount of every opportunity.
    pub amount: Money,
    /// The amount won.
    pub won_amount: Money,
    /// The amount still open (the pipeline).
    pub open_amount: Money,
    /// Per stage, first to last.
    pub stages: Vec<StageFigures>,
    /// The sum of the won opportunities' cycle days, where known.
    pub cycle_days_sum: i64,
    /// Won opportunities whose cycle is known.
    pub cycle_known: usize,
}

impl FunnelFigures {
    fn new(stages: usize) -> Self {
        FunnelFigures {
            stages: vec![StageFigures::default(); stages],
            ..FunnelFigures::default()
        }
    }

    fn add(&mut self, o: &Opportunity) {
        self.opportunities += 1;
        self.amount += o.amount;
        match o.status {
            Status::Open => {
                self.open += 1;
                self.open_amount += o.amount;
            }
            Status::Won => {
                self.won += 1;
                self.won_amount += o.amount;
            }
            Status::Lost => self.lost += 1,
        }
        for (i, s) in self.stages.iter_mut().enumerate().take(o.furthest + 1) {
            s.reached += 1;
            if i == o.furthest {
                match o.status {
                    Status::Open => s.open += 1,
                    Status::Lost => s.lost += 1,
                    Status::Won => {}
                }
            }
            if let Some(d) = o.days_in(i) {
                s.days_sum += d;
                s.days_known += 1;
            }
        }
        if let Some(d) = o.cycle_days() {
            self.cycle_days_sum += d;
            self.cycle_known += 1;
        }
    }

    /// How many moved on from stage `i`: those who reached the next stage, or won after the
    /// last.
    pub fn moved_on(&self, i: usize) -> usize {
        match self.stages.get(i + 1) {
            Some(next) => next.reached,
            None => self.won,
        }
    }

    /// Next-step conversion from stage `i`.
    pub fn next_rate(&self, i: usize) -> Option<f64> {
        let reached = self.stages.get(i)?.reached;
        (reached > 0).then(|| self.moved_on(i) as f64 / reached as f64)
    }

    /// The share of the first stage's opportunities that reached stage `i`.
    pub fn cumulative_rate(&self, i: usize) -> Option<f64> {
        let first = self.stages.first()?.reached;
        let reached = self.stages.get(i)?.reached;
        (first > 0).then(|| reached as f64 / first as f64)
    }

    /// Won / all opportunities.
    pub fn overall_conversion(&self) -> Option<f64> {
        (self.opportunities > 0).then(|| self.won as f64 / self.opportunities as f64)
    }

    /// Won / closed.
    pub fn win_rate(&self) -> Option<f64> {
        let closed = self.won + self.lost;
        (closed > 0).then(|| self.won as f64 / closed as f64)
    }

    /// The mean cycle length of the won opportunities, in days.
    pub fn mean_cycle_days(&self) -> Option<f64> {
        (self.cycle_known > 0).then(|| self.cycle_days_sum as f64 / self.cycle_known as f64)
    }
}

/// What the tiers of a funnel are: the scheme's final tiers, or ABC classes without a scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierBasis {
    /// The scheme's final dimension (tier index in scheme order).
    Scheme,
    /// ABC classes (index in [`crate::AbcClass::ALL`]).
    Abc,
}

/// The funnel of a run.
#[derive(Debug, Clone)]
pub struct FunnelRun {
    /// The settings.
    pub params: CheckedFunnelParams,
    /// The opportunities counted, in id order.
    pub opportunities: Vec<Opportunity>,
    /// Per opportunity: its customer's tier, `None` when the customer is not among the run's
    /// customers (a prospect, or no purchase before the analysis date).
    pub tiers: Vec<Option<u16>>,
    /// Per opportunity: whether its customer is in a high tier.
    pub high: Vec<bool>,
    /// What the tiers are.
    pub basis: TierBasis,
    /// Opportunities created on or after the analysis date (not counted).
    pub after_as_of: usize,
    /// Every opportunity.
    pub all: FunnelFigures,
    /// By owner, in owner order.
    pub by_owner: Vec<(String, FunnelFigures)>,
    /// By tier, in tier order, then the customers without a tier.
    pub by_tier: Vec<(Option<u16>, FunnelFigures)>,
    /// By the period they were created in, in time order.
    pub by_period: Vec<(Period, FunnelFigures)>,
}

/// A funnel as the history store keeps it with its run and the dashboard shows it: codes and
/// figures only (tiers by code, periods as `2026-Q3` or `2026-07`), no display language.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FunnelSummary {
    /// The stages, first to last.
    pub stages: Vec<StageName>,
    /// The dimension the tiers are of: the scheme's final dimension, else `abc_class`.
    pub tier_dimension: String,
    /// Opportunities created on or after the analysis date (not counted).
    pub after_as_of: usize,
    /// Every opportunity.
    pub all: FunnelFigures,
    /// By owner.
    pub by_owner: Vec<GroupFigures>,
    /// By tier code (empty: customers without a tier), in tier order.
    pub by_tier: Vec<GroupFigures>,
    /// By period created.
    pub by_period: Vec<GroupFigures>,
    /// The open opportunities of high-tier customers, largest amount first.
    pub flagged: Vec<FlaggedOpportunity>,
}

/// A stage's key and names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StageName {
    /// The key.
    pub key: String,
    /// Chinese.
    pub zh: String,
    /// English.
    pub en: String,
}

impl StageName {
    /// The name in `lang`, else the other, else the key.
    pub fn pick(&self, lang: crate::Lang) -> &str {
        let (first, second) = match lang {
            crate::Lang::Zh => (&self.zh, &self.en),
            crate::Lang::En => (&self.en, &self.zh),
        };
        [first, second, &self.key]
            .into_iter()
            .find(|s| !s.is_empty())
            .map_or("", String::as_str)
    }
}

/// One group's figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GroupFigures {
    /// The group: an owner, a tier code or a period.
    pub group: String,
    /// Its figures.
    pub figures: FunnelFigures,
}

/// An open opportunity of a high-tier customer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FlaggedOpportunity {
    /// Its id.
    pub id: String,
    /// The customer.
    pub customer_id: String,
    /// The owner.
    pub owner: String,
    /// The customer's tier code.
    pub tier: String,
    /// The stage it is at (key).
    pub stage: String,
    /// Its amount.
    pub amount: Money,
    /// The day it entered the stage, when known.
    pub entered: Option<NaiveDate>,
}

impl FunnelRun {
    /// The summary, tiers of `tier_dimension` named by `tier_code`.
    pub fn summary(
        &self,
        tier_dimension: &str,
        tier_code: &dyn Fn(u16) -> String,
    ) -> FunnelSummary {
        let group = |(g, f): (String, &FunnelFigures)| GroupFigures {
            group: g,
            figures: f.clone(),
        };
        let stages = self.params.stages();
        let mut flagged: Vec<FlaggedOpportunity> = self
            .opportunities
            .iter()
            .zip(&self.tiers)
            .zip(&self.high)
            .filter(|((o, _), high)| **high && o.status == Status::Open)
            .map(|((o, t), _)| FlaggedOpportunity {
                id: o.id.clone(),
                customer_id: o.customer_id.clone(),
                owner: o.owner.clone(),
                tier: t.map(tier_code).unwrap_or_default(),
                stage: stages[o.current].key.clone(),
                amount: o.amount,
                entered: o.entered[o.current],
            })
            .collect();
        flagged.sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.id.cmp(&b.id)));
        FunnelSummary {
            stages: stages
                .iter()
                .map(|s| StageName {
                    key: s.key.clone(),
                    zh: s.label.zh.clone(),
                    en: s.label.en.clone(),
                })
                .collect(),
            tier_dimension: tier_dimension.to_string(),
            after_as_of: self.after_as_of,
            all: self.all.clone(),
            by_owner: self
                .by_owner
                .iter()
                .map(|(o, f)| group((o.clone(), f)))
                .collect(),
            by_tier: self
                .by_tier
                .iter()
                .map(|(t, f)| group((t.map(tier_code).unwrap_or_default(), f)))
                .collect(),
            by_period: self
                .by_period
                .iter()
                .map(|(p, f)| group((p.to_string(), f)))
                .collect(),
            flagged,
        }
    }
}

/// The funnel of `log` at `as_of`; `tier_of(customer)` gives a customer's tier and whether
/// it is a high one.
pub fn funnel(
    log: &OpportunityLog,
    params: &CheckedFunnelParams,
    as_of: NaiveDate,
    basis: TierBasis,
    tier_of: &dyn Fn(&str) -> Option<(u16, bool)>,
) -> FunnelRun {
    let n = params.stages.len();
    let (opportunities, after_as_of) = log.finish(n, as_of);
    let mut all = FunnelFigures::new(n);
    let mut by_owner: BTreeMap<&str, FunnelFigures> = BTreeMap::new();
    let mut by_tier: BTreeMap<(bool, u16), FunnelFigures> = BTreeMap::new();
    let mut by_period: BTreeMap<Period, FunnelFigures> = BTreeMap::new();
    let mut tiers = Vec::with_capacity(opportunities.len());
    let mut high = Vec::with_capacity(opportunities.len());
    for o in &opportunities {
        let t = tier_of(&o.customer_id);
        tiers.push(t.map(|(t, _)| t));
        high.push(t.is_some_and(|(_, h)| h));
        all.add(o);
        by_owner
            .entry(o.owner.as_str())
            .or_insert_with(|| FunnelFigures::new(n))
            .add(o);
        // the customers without a tier after the tiers
        let key = t.map_or((true, 0), |(t, _)| (false, t));
        by_tier
            .entry(key)
            .or_insert_with(|| FunnelFigures::new(n))
            .add(o);
        by_period
            .entry(Period::of(o.created, params.grain))
            .or_insert_with(|| FunnelFigures::new(n))
            .add(o);
    }
    FunnelRun {
        params: params.clone(),
        tiers,
        high,
        basis,
        after_as_of,
        all,
        by_owner: by_owner
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        by_tier: by_tier
            .into_iter()
            .map(|((none, t), v)| ((!none).then_some(t), v))
            .collect(),
        by_period: by_period.into_iter().collect(),
        opportunities,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn params() -> CheckedFunnelParams {
        FunnelParams::default().check().expect("the default stages")
    }

    /// A row at stage `stage` entered on `entered`.
    fn row(id: &str, owner: &str, stage: usize, entered: &str) -> OpportunityRow {
        OpportunityRow {
            id: id.into(),
            customer_id: format!("C-{id}"),
            owner: owner.into(),
            stage: Some(stage),
            entered: Some(d(entered)),
            ..OpportunityRow::default()
        }
    }

    /// Six opportunities through lead → qualified → proposal → negotiation, worked by hand:
    /// O1 won (lead 01-01, qualified 01-11, proposal 01-21, negotiation 02-10, closed 03-02);
    /// O2 lost at proposal (lead 01-05, qualified 01-15, proposal 02-04, closed 02-14);
    /// O3 open at qualified (lead 02-01, qualified 02-08);
    /// O4 lost at lead (created 02-10, closed 02-20, no stage days but the first);
    /// O5 won, one row only (created 01-10, closed 04-10, amount 300);
    /// O6 open at negotiation from a single current-stage row (created 03-01).
    fn log() -> OpportunityLog {
        let mut log = OpportunityLog::new();
        for r in [
            row("O1", "amy", 0, "2026-01-01"),
            row("O1", "amy", 1, "2026-01-11"),
            row("O1", "amy", 2, "2026-01-21"),
            OpportunityRow {
                status: Some(Status::Won),
                closed: Some(d("2026-03-02")),
                amount: Some(Money::from_major(1000)),
                ..row("O1", "amy", 3, "2026-02-10")
            },
            row("O2", "bob", 0, "2026-01-05"),
            row("O2", "bob", 1, "2026-01-15"),
            OpportunityRow {
                status: Some(Status::Lost),
                closed: Some(d("2026-02-14")),
                lost_reason: "price".into(),
                amount: Some(Money::from_major(500)),
                ..row("O2", "bob", 2, "2026-02-04")
            },
            row("O3", "amy", 0, "2026-02-01"),
            OpportunityRow {
                amount: Some(Money::from_major(200)),
                ..row("O3", "amy", 1, "2026-02-08")
            },
            OpportunityRow {
                id: "O4".into(),
                customer_id: "C-O4".into(),
                owner: "bob".into(),
                stage: Some(0),
                created: Some(d("2026-02-10")),
                closed: Some(d("2026-02-20")),
                status: Some(Status::Lost),
                ..OpportunityRow::default()
            },
            OpportunityRow {
                id: "O5".into(),
                customer_id: "C-O5".into(),
                owner: "amy".into(),
                created: Some(d("2026-01-10")),
                closed: Some(d("2026-04-10")),
                status: Some(Status::Won),
                amount: Some(Money::from_major(300)),
                ..OpportunityRow::default()
            },
            OpportunityRow {
                id: "O6".into(),
                customer_id: "C-O6".into(),
                owner: "amy".into(),
                stage: Some(3),
                created: Some(d("2026-03-01")),
                amount: Some(Money::from_major(400)),
                ..OpportunityRow::default()
            },
            // created after the analysis date
            row("O7", "amy", 0, "2026-06-01"),
        ] {
            log.add(r);
        }
        log
    }

    fn run() -> FunnelRun {
        let tier_of = |c: &str| match c {
            "C-O1" | "C-O2" => Some((0, true)),
            "C-O3" => Some((1, false)),
            _ => None,
        };
        funnel(
            &log(),
            &params(),
            d("2026-05-01"),
            TierBasis::Scheme,
            &tier_of,
        )
    }

    #[test]
    fn stages_reached_lost_and_open_by_hand() {
        let f = run();
        assert_eq!(f.after_as_of, 1);
        let a = &f.all;
        assert_eq!((a.opportunities, a.open, a.won, a.lost), (6, 2, 2, 2));
        // reached: every one the lead; O1 O2 O3 O5 O6 qualified; O1 O2 O5 O6 proposal;
        // O1 O5 O6 negotiation
        let reached: Vec<usize> = a.stages.iter().map(|s| s.reached).collect();
        assert_eq!(reached, [6, 5, 4, 3]);
        let lost: Vec<usize> = a.stages.iter().map(|s| s.lost).collect();
        assert_eq!(lost, [1, 0, 1, 0]);
        let open: Vec<usize> = a.stages.iter().map(|s| s.open).collect();
        assert_eq!(open, [0, 1, 0, 1]);
        // the identity the definitions promise
        for i in 0..4 {
            let s = a.stages[i];
            assert_eq!(s.reached, a.moved_on(i) + s.lost + s.open, "stage {i}");
        }
        assert_eq!(a.next_rate(0), Some(5.0 / 6.0));
        assert_eq!(a.next_rate(3), Some(2.0 / 3.0));
        assert_eq!(a.cumulative_rate(2), Some(4.0 / 6.0));
        assert_eq!(a.overall_conversion(), Some(2.0 / 6.0));
        assert_eq!(a.win_rate(), Some(0.5));
        assert_eq!(a.won_amount, Money::from_major(1300));
        assert_eq!(a.open_amount, Money::from_major(600));
        assert_eq!(a.amount, Money::from_major(2400));
    }

    #[test]
    fn days_in_stage_and_cycle_by_hand() {
        let a = run().all;
        // lead: O1 10, O2 10, O3 7, O4 10 (created 02-10 → closed 02-20 at its furthest);
        // O5 has no qualified day; O6 none
        assert_eq!((a.stages[0].days_sum, a.stages[0].days_known), (37, 4));
        // qualified: O1 10, O2 20; O3 still open
        assert_eq!((a.stages[1].days_sum, a.stages[1].days_known), (30, 2));
        // proposal: O1 20, O2 10 (to its close)
        assert_eq!(a.stages[2].mean_days(), Some(15.0));
        // negotiation: O1 20 (02-10 → 03-02)
        assert_eq!(a.stages[3].mean_days(), Some(20.0));
        // cycle: O1 60 (01-01 → 03-02), O5 90 (01-10 → 04-10)
        assert_eq!(a.mean_cycle_days(), Some(75.0));
    }

    #[test]
    fn groups_by_owner_tier_and_period() {
        let f = run();
        let owners: Vec<(&str, usize, usize)> = f
            .by_owner
            .iter()
            .map(|(o, g)| (o.as_str(), g.opportunities, g.won))
            .collect();
        assert_eq!(owners, [("amy", 4, 2), ("bob", 2, 0)]);
        let tiers: Vec<(Option<u16>, usize)> = f
            .by_tier
            .iter()
            .map(|(t, g)| (*t, g.opportunities))
            .collect();
        assert_eq!(tiers, [(Some(0), 2), (Some(1), 1), (None, 3)]);
        let periods: Vec<(String, usize)> = f
            .by_period
            .iter()
            .map(|(p, g)| (p.to_string(), g.opportunities))
            .collect();
        assert_eq!(periods, [("2026-Q1".to_string(), 6)]);
        assert_eq!(f.high, [true, true, false, false, false, false]);
    }

    #[test]
    fn the_latest_row_wins_and_the_earliest_day_is_created() {
        let f = run();
        let o2 = &f.opportunities[1];
        assert_eq!(o2.created, d("2026-01-05"));
        assert_eq!((o2.furthest, o2.current), (2, 2));
        assert_eq!(o2.lost_reason, "price");
        // won with no stage row: every stage reached, closed at the last
        assert_eq!(
            (f.opportunities[4].furthest, f.opportunities[4].current),
            (3, 3)
        );
    }

    #[test]
    fn stages_are_named_by_key_or_name_and_must_differ() {
        let p = params();
        assert_eq!(p.stage_of(" Proposal "), Some(2));
        assert_eq!(p.stage_of("商务谈判"), Some(3));
        assert_eq!(p.stage_of("demo"), None);
        let twice = FunnelParams {
            stages: vec![
                Stage {
                    key: "a".into(),
                    label: Label::default(),
                },
                Stage {
                    key: "b".into(),
                    label: Label {
                        zh: String::new(),
                        en: "A".into(),
                    },
                },
            ],
            ..FunnelParams::default()
        };
        assert_eq!(
            twice.check().err(),
            Some(FunnelError::Duplicate { name: "A".into() })
        );
        assert_eq!(Status::from_text("赢单"), Some(Status::Won));
        assert_eq!(Status::from_text("Closed Lost"), Some(Status::Lost));
        assert_eq!(Status::from_text("maybe"), None);
    }

    #[test]
    fn the_summary_flags_open_high_tier_opportunities_and_reads_back_from_json() {
        let f = run();
        let summary = f.summary("tier", &|t| ["gold", "silver"][usize::from(t)].to_string());
        // O1 and O2 are high but closed; none of the open ones (O3 silver, O6 none) is high
        assert!(summary.flagged.is_empty());
        let tiers: Vec<(&str, usize)> = summary
            .by_tier
            .iter()
            .map(|g| (g.group.as_str(), g.figures.opportunities))
            .collect();
        assert_eq!(tiers, [("gold", 2), ("silver", 1), ("", 3)]);
        let json = serde_json::to_string(&summary).expect("json");
        let back: FunnelSummary = serde_json::from_str(&json).expect("read back");
        assert_eq!(back, summary);
        // with every customer high, the two open ones are flagged, largest first
        let all_high = funnel(
            &log(),
            &params(),
            d("2026-05-01"),
            TierBasis::Scheme,
            &|_| Some((0, true)),
        );
        let flagged: Vec<(String, String)> = all_high
            .summary("tier", &|_| "gold".into())
            .flagged
            .into_iter()
            .map(|o| (o.id, o.stage))
            .collect();
        assert_eq!(
            flagged,
            [
                ("O6".to_string(), "negotiation".to_string()),
                ("O3".to_string(), "qualified".to_string())
            ]
        );
    }

    #[test]
    fn periods_are_months_or_quarters() {
        assert_eq!(
            Period::of(d("2026-08-31"), Grain::Quarter).to_string(),
            "2026-Q3"
        );
        assert_eq!(
            Period::of(d("2026-08-31"), Grain::Month).to_string(),
            "2026-08"
        );
    }
}
