//! A run as records: one row per customer with every value the run gave it (features, RFM
//! scores and class, segment, ABC class, every scheme dimension's tier, the final tier with its
//! reason as data, cluster, lifetime value and churn), and one summary of the run. All codes,
//! no display language: the history store keeps these, and any output can render them.
//!
//! ```
//! use chrono::NaiveDate;
//! use stratum_core::abc::AbcParams;
//! use stratum_core::run::{RunInput, run};
//! use stratum_core::{Aggregator, FrequencyBasis, Money, RfmParams};
//!
//! let day = |d| NaiveDate::from_ymd_opt(2025, 3, d).unwrap();
//! let mut agg = Aggregator::new(None, FrequencyBasis::Orders);
//! agg.add("C1", Some("o1"), day(1), Money::from_major(500));
//! agg.add("C2", Some("o2"), day(5), Money::from_major(80));
//! let (rfm, abc) = (RfmParams::new().check().unwrap(), AbcParams::new().check().unwrap());
//! let result = run(RunInput::new(agg.finish(day(21)), day(21), &rfm, &abc)).unwrap();
//! let first = result.record(0);
//! assert_eq!((first.customer_id, first.abc_class), ("C1", "A"));
//! assert!(first.final_tier.is_none() && first.clv.is_none());
//! assert_eq!(result.summary().customers, 2);
//! ```

use chrono::NaiveDate;

use crate::Labelled;
use crate::money::Money;
use crate::run::{ClvGroup, RunResult, SchemeRun, TierTotal};
use crate::scheme::{Clause, Operand, Reason, Shown};
use crate::summary::GroupSummary;
use crate::validate::Validation;
use crate::{AbcClass, RfmClass, Segment};

/// One customer's values in a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CustomerRecord<'a> {
    /// The customer.
    pub customer_id: &'a str,
    /// The first purchase.
    pub first_purchase: NaiveDate,
    /// The last purchase.
    pub last_purchase: NaiveDate,
    /// Days from the last purchase to the analysis date.
    pub recency_days: i64,
    /// Purchases (orders or days, as the run counted them).
    pub frequency: u64,
    /// Net revenue.
    pub monetary: Money,
    /// Days from the first purchase to the analysis date.
    pub tenure_days: i64,
    /// The R, F and M scores.
    pub rfm_scores: [u8; 3],
    /// The RFM class code.
    pub rfm_class: &'static str,
    /// The named segment's code.
    pub rfm_segment: &'static str,
    /// The ABC class code.
    pub abc_class: &'static str,
    /// The tier in every dimension of the scheme, in scheme order (empty without a scheme).
    pub tiers: Vec<DimensionTier<'a>>,
    /// The final tier, with a scheme.
    pub final_tier: Option<&'a str>,
    /// Why the customer has the final tier, with a scheme.
    pub reason: Option<ReasonCode<'a>>,
    /// The customer's value of every column the scheme's rules read (besides the dimensions'
    /// own tiers), in catalog order: what explains every dimension's tier, and what moved
    /// when a tier changes between runs (empty without a scheme).
    pub values: Vec<ColumnValue<'a>>,
    /// The scheme's cluster (counting from 1), when the scheme clusters and the customer has one.
    pub cluster: Option<usize>,
    /// Lifetime value and churn, when the model was fitted and the customer has a prediction.
    pub clv: Option<ClvRecord>,
}

/// A customer's tier in one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DimensionTier<'a> {
    /// The dimension's name.
    pub dimension: &'a str,
    /// The tier's code.
    pub tier: &'a str,
}

/// Why a customer has its final tier, as codes and values.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReasonCode<'a> {
    /// The tier's rule is true.
    Rule {
        /// The rule: the final dimension's tier whose rule it is.
        tier: &'a str,
        /// The columns the true comparisons read, with the customer's values, in rule order.
        columns: Vec<ColumnValue<'a>>,
    },
    /// No rule was true: the default tier.
    Default,
    /// A manual override.
    Override {
        /// Who set it.
        set_by: &'a str,
        /// When it was set, if known.
        set_on: Option<NaiveDate>,
        /// The last day it applies, if it expires.
        expires: Option<NaiveDate>,
        /// The note given with it.
        note: &'a str,
    },
}

/// A column's value for a customer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ColumnValue<'a> {
    /// The column.
    pub column: &'a str,
    /// Its value (`null` when empty).
    pub value: Value<'a>,
}

/// A value in a reason.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Value<'a> {
    /// A number.
    Number(f64),
    /// Text.
    Text(&'a str),
    /// No value.
    Empty,
}

impl<'a> From<&'a Shown> for Value<'a> {
    fn from(s: &'a Shown) -> Self {
        match s {
            Shown::Number(x) => Value::Number(*x),
            Shown::Text(t) => Value::Text(t),
            Shown::Empty => Value::Empty,
        }
    }
}

/// A customer's lifetime value and churn.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ClvRecord {
    /// Predicted value over the horizon.
    pub clv: f64,
    /// Probability of being alive at the analysis date.
    pub p_alive: f64,
    /// 1 − P(alive).
    pub churn_risk: f64,
    /// The churn band's code.
    pub churn_band: Option<&'static str>,
    /// The value tier's code (by CLV among the predicted customers).
    pub value_tier: &'static str,
}

/// The run as a whole: every grouping's summary, computed once by the run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunSummary<'a> {
    /// The analysis date.
    pub as_of: NaiveDate,
    /// Scored customers.
    pub customers: usize,
    /// Their net revenue.
    pub revenue: Money,
    /// Per RFM class.
    pub rfm_classes: &'a [GroupSummary<RfmClass>],
    /// Per named segment.
    pub rfm_segments: &'a [GroupSummary<Segment>],
    /// Per ABC class.
    pub abc_classes: &'a [GroupSummary<AbcClass>],
    /// Per scheme dimension, per tier (empty without a scheme).
    pub tiers: Vec<DimensionSummary<'a>>,
    /// Lifetime value of all customers with a prediction, when the model was fitted.
    pub clv: Option<&'a ClvGroup>,
    /// Each segmentation's validation.
    pub validations: &'a [(String, Validation)],
    /// The sales funnel, when opportunities were given.
    pub funnel: Option<crate::funnel::FunnelSummary>,
}

/// One scheme dimension's tiers.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DimensionSummary<'a> {
    /// The dimension.
    pub dimension: &'a str,
    /// Per tier in scheme order: its code and totals.
    pub tiers: Vec<(&'a str, &'a TierTotal)>,
}

impl SchemeRun {
    /// The profile columns the scheme's rules read (catalog indices, in catalog order), the
    /// dimensions' own columns left out: the values that explain every dimension's tier.
    pub fn explaining_columns(&self) -> Vec<usize> {
        let mut used = vec![false; self.profile.catalog().names().len()];
        let rules = self.checked.dimensions.iter().flat_map(|d| &d.tiers);
        for rule in rules.filter_map(|t| t.rule.as_ref()) {
            for &(column, _) in rule.columns() {
                if let Some(u) = used.get_mut(column) {
                    *u = true;
                }
            }
        }
        used.iter()
            .enumerate()
            .filter_map(|(k, &u)| u.then_some(k))
            .collect()
    }
}

impl RunResult {
    /// Customer `i`'s record (in the order of `tiering.features.customers`).
    ///
    /// # Panics
    /// When `i` is not below the number of scored customers.
    pub fn record(&self, i: usize) -> CustomerRecord<'_> {
        let explaining = self.scheme.as_ref().map(SchemeRun::explaining_columns);
        self.record_explained(i, explaining.as_deref().unwrap_or_default())
    }

    /// [`RunResult::record`] with the scheme's explaining columns worked out.
    fn record_explained(&self, i: usize, explaining: &[usize]) -> CustomerRecord<'_> {
        let c = &self.tiering.features.customers[i];
        let r = &self.tiering.rfm.customers()[i];
        let scheme = self.scheme.as_ref();
        let assignment = scheme.map(|s| (s, &s.result.assignments[i]));
        let tiers = assignment.map_or_else(Vec::new, |(s, a)| {
            s.checked
                .dimensions
                .iter()
                .zip(&a.tiers)
                .map(|(d, &t)| DimensionTier {
                    dimension: &d.name,
                    tier: &d.tiers[usize::from(t)].name,
                })
                .collect()
        });
        let final_tier = assignment.map(|(s, _)| tiers[s.checked.final_dimension].tier);
        let reason = assignment.map(|(s, a)| match &a.reason {
            Reason::Rule(clauses) => ReasonCode::Rule {
                tier: tiers[s.checked.final_dimension].tier,
                columns: clause_columns(clauses, s.checked.catalog.names()),
            },
            Reason::Default => ReasonCode::Default,
            Reason::Override(o) => ReasonCode::Override {
                set_by: &o.set_by,
                set_on: o.set_on,
                expires: o.expires,
                note: &o.reason,
            },
        });
        let cluster = scheme
            .and_then(|s| s.clusters.as_ref())
            .and_then(|c| c.clustering.labels[i]);
        let clv = self
            .clv()
            .and_then(|c| c.per_customer[i].as_ref())
            .map(|(p, tier)| ClvRecord {
                clv: p.clv,
                p_alive: p.p_alive,
                churn_risk: p.churn_risk,
                churn_band: p.churn_band.map(|b| b.code()),
                value_tier: tier.code(),
            });
        let values = scheme.map_or_else(Vec::new, |s| {
            let names = s.checked.catalog.names();
            explaining
                .iter()
                .map(|&k| ColumnValue {
                    column: &names[k],
                    value: match s.profile.value(k, i) {
                        crate::scheme::Value::Null => Value::Empty,
                        crate::scheme::Value::Number(x) => Value::Number(x),
                        crate::scheme::Value::Text(t) => Value::Text(t),
                    },
                })
                .collect()
        });
        CustomerRecord {
            customer_id: &c.customer_id,
            first_purchase: c.first_purchase,
            last_purchase: c.last_purchase,
            recency_days: c.recency_days,
            frequency: c.frequency,
            monetary: c.monetary,
            tenure_days: c.tenure_days,
            rfm_scores: [r.r, r.f, r.m],
            rfm_class: r.class.code(),
            rfm_segment: r.segment.code(),
            abc_class: self.tiering.abc.classes()[i].code(),
            tiers,
            final_tier,
            reason,
            values,
            cluster,
            clv,
        }
    }

    /// Every customer's record, in the tiering's order.
    pub fn records(&self) -> impl ExactSizeIterator<Item = CustomerRecord<'_>> {
        let explaining = self
            .scheme
            .as_ref()
            .map(SchemeRun::explaining_columns)
            .unwrap_or_default();
        (0..self.tiering.features.customers.len())
            .map(move |i| self.record_explained(i, &explaining))
    }

    /// The dimension a funnel's tiers are of (the scheme's final dimension, else `abc_class`)
    /// and the code of each tier index.
    pub fn funnel_tiers(&self) -> (String, Vec<String>) {
        use crate::funnel::TierBasis;
        match (self.funnel.as_ref().map(|f| f.basis), &self.scheme) {
            (Some(TierBasis::Scheme), Some(s)) => {
                let d = &s.checked.dimensions[s.checked.final_dimension];
                (
                    d.name.clone(),
                    d.tiers.iter().map(|t| t.name.clone()).collect(),
                )
            }
            _ => (
                "abc_class".into(),
                AbcClass::ALL.iter().map(|c| c.code().to_string()).collect(),
            ),
        }
    }

    /// The funnel's summary, its tiers named by code ([`RunResult::funnel_tiers`]).
    pub fn funnel_summary(&self) -> Option<crate::funnel::FunnelSummary> {
        let f = self.funnel.as_ref()?;
        let (dimension, codes) = self.funnel_tiers();
        Some(f.summary(&dimension, &|t| {
            codes
                .get(usize::from(t))
                .cloned()
                .unwrap_or_else(|| t.to_string())
        }))
    }

    /// The run's summary.
    pub fn summary(&self) -> RunSummary<'_> {
        let t = &self.tiering;
        RunSummary {
            as_of: self.as_of,
            customers: t.features.customers.len(),
            revenue: t.revenue,
            rfm_classes: &t.classes,
            rfm_segments: &t.segments,
            abc_classes: &t.abc_classes,
            tiers: self.scheme.as_ref().map_or_else(Vec::new, |s| {
                s.checked
                    .dimensions
                    .iter()
                    .zip(&s.tier_totals)
                    .map(|(d, totals)| DimensionSummary {
                        dimension: &d.name,
                        tiers: d
                            .tiers
                            .iter()
                            .map(|t| t.name.as_str())
                            .zip(totals)
                            .collect(),
                    })
                    .collect()
            }),
            clv: self.clv().map(|c| &c.total),
            validations: &self.validations,
            funnel: self.funnel_summary(),
        }
    }
}

/// The columns the clauses read, with their values, in order, each column once.
fn clause_columns<'a>(clauses: &'a [Clause], names: &'a [String]) -> Vec<ColumnValue<'a>> {
    let mut out: Vec<ColumnValue<'a>> = Vec::new();
    for clause in clauses {
        for operand in clause.operands() {
            if let Operand::Column { column, value } = operand
                && let Some(name) = names.get(*column)
                && !out.iter().any(|c| c.column == name)
            {
                out.push(ColumnValue {
                    column: name,
                    value: value.into(),
                });
            }
        }
    }
    out
}
