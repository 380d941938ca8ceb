//! A run as a value: the per-customer features in, every computed value out (tiers, lifetime
//! value, scheme tiers with their reasons as data, clusters), with no paths, clock, printing or
//! display language inside. The CLI renders its outputs from a [`RunResult`]; the history
//! store and the server will keep and show the same value.
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
//! agg.add("C1", Some("o2"), day(20), Money::from_major(300));
//! agg.add("C2", Some("o3"), day(5), Money::from_major(80));
//! let (rfm, abc) = (RfmParams::new().check().unwrap(), AbcParams::new().check().unwrap());
//! let result = run(RunInput::new(agg.finish(day(21)), day(21), &rfm, &abc)).unwrap();
//! assert_eq!(result.tiering.revenue, Money::from_major(880));
//! assert_eq!(result.tiering.rfm.customers()[0].score_code(), "333");
//! assert!(result.clv.is_none() && result.scheme.is_none());
//! ```

use chrono::NaiveDate;

use crate::abc::{AbcClass, CheckedAbcParams};
use crate::cluster::{ClusterError, Clustering};
use crate::clv::{CheckedClvParams, ChurnBand, ClvError, ClvModel, Prediction, Summary, ValueTier};
use crate::features::{CustomerFeatures, Features};
use crate::funnel::{CheckedFunnelParams, FunnelRun, OpportunityLog, TierBasis};
use crate::interactions::InteractionLog;
use crate::labels::Labelled;
use crate::money::Money;
use crate::rfm::{CheckedRfmParams, RfmClass};
use crate::scheme::{
    Attributes, CheckedScheme, ColumnData, Override, Profile, SchemeError, SchemeParams,
    SchemeResult, profile,
};
use crate::tiering::{Tiering, tier_beside};
use crate::validate::{
    CheckedValidateParams, FeatureOrder, PendingOrder, ValidateError, ValidateParams, Validation,
};

/// What a run needs: the features of every customer and the checked settings.
pub struct RunInput<'a> {
    /// Every customer's features (from the ingest engine, or from a database).
    pub features: Features,
    /// The analysis date.
    pub as_of: NaiveDate,
    /// RFM settings.
    pub rfm: &'a CheckedRfmParams,
    /// ABC settings.
    pub abc: &'a CheckedAbcParams,
    /// Lifetime-value settings, when lifetime value is asked for.
    pub clv: Option<&'a CheckedClvParams>,
    /// A tier scheme, checked by the run against the columns it makes.
    pub scheme: Option<SchemeParams>,
    /// The customer master's attributes, for the scheme's rules.
    pub attributes: Option<&'a dyn Attributes>,
    /// The interactions, for the scheme's rules.
    pub interactions: Option<&'a InteractionLog>,
    /// Manual placements in the scheme's final tiers.
    pub overrides: &'a [Override],
    /// Whether to validate the segmentations ([`RunResult::validations`]); on by default.
    pub validate: bool,
    /// The opportunities and the funnel's settings, for the sales funnel.
    pub funnel: Option<(&'a OpportunityLog, &'a CheckedFunnelParams)>,
}

impl std::fmt::Debug for RunInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunInput")
            .field("customers", &self.features.customers.len())
            .field("as_of", &self.as_of)
            .field("clv", &self.clv.is_some())
            .field("scheme", &self.scheme.is_some())
            .field("attributes", &self.attributes.is_some())
            .field("interactions", &self.interactions.is_some())
            .field("overrides", &self.overrides.len())
            .field("validate", &self.validate)
            .field("opportunities", &self.funnel.map(|(log, _)| log.len()))
            .finish()
    }
}

impl<'a> RunInput<'a> {
    /// A run of RFM and ABC tiers only; set the other fields for more.
    pub fn new(
        features: Features,
        as_of: NaiveDate,
        rfm: &'a CheckedRfmParams,
        abc: &'a CheckedAbcParams,
    ) -> Self {
        RunInput {
            features,
            as_of,
            rfm,
            abc,
            clv: None,
            scheme: None,
            attributes: None,
            interactions: None,
            overrides: &[],
            validate: true,
            funnel: None,
        }
    }
}

/// Everything a run computed, keyed by the customers' order in `tiering.features.customers`.
#[derive(Debug)]
pub struct RunResult {
    /// The analysis date.
    pub as_of: NaiveDate,
    /// The RFM settings the scores were made with.
    pub rfm: CheckedRfmParams,
    /// The ABC settings the classes were made with.
    pub abc: CheckedAbcParams,
    /// RFM scores, classes, segments, ABC classes and their summaries.
    pub tiering: Tiering,
    /// The lifetime-value model and its predictions, when asked for; `Err` when the model
    /// cannot be fitted (the run goes on without lifetime value, and says so).
    pub clv: Option<Result<ClvRun, ClvError>>,
    /// The scheme's tiers, when a scheme was given.
    pub scheme: Option<SchemeRun>,
    /// How well each segmentation separates the customers (see [`validations`]).
    pub validations: Vec<(String, Validation)>,
    /// The sales funnel, when opportunities were given.
    pub funnel: Option<FunnelRun>,
}

impl RunResult {
    /// The fitted lifetime-value model, if there is one.
    pub fn clv(&self) -> Option<&ClvRun> {
        self.clv.as_ref().and_then(|c| c.as_ref().ok())
    }
}

/// The lifetime-value model fitted in a run, with each scored customer's predictions.
#[derive(Debug)]
pub struct ClvRun {
    /// The fitted model.
    pub model: ClvModel,
    /// Per scored customer (in the tiering's order): predictions and value tier.
    pub per_customer: Vec<Option<(Prediction, ValueTier)>>,
    /// Per scored customer: the calibration summary (`None` when it has none).
    pub summaries: Vec<Option<Summary>>,
    /// The last day of the calibration period.
    pub calibration_end: NaiveDate,
    /// Every customer's figures together.
    pub total: ClvGroup,
    /// Per RFM class with a usable prediction, in class order.
    pub classes: Vec<ClassClv>,
    /// Per final tier of the scheme (every tier, in scheme order), when a scheme ran.
    pub tiers: Option<Vec<ClvGroup>>,
}

/// Predicted value and churn of a group of customers (all of them, an RFM class, a tier),
/// over those with a usable prediction ([`Prediction::is_finite`]), summed in customer order.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct ClvGroup {
    /// Customers with a usable prediction.
    pub customers: usize,
    /// Their total CLV.
    pub total_clv: f64,
    /// The sum of their churn risks (the mean once divided by `customers`).
    #[serde(rename = "churn_risk_sum")]
    pub churn_risk: f64,
    /// The sum of their probabilities of being alive.
    #[serde(rename = "p_alive_sum")]
    pub p_alive: f64,
    /// How many are in each churn band, in [`ChurnBand::ALL`] order.
    #[serde(rename = "churn_bands")]
    pub bands: [usize; 3],
}

impl ClvGroup {
    fn add(&mut self, p: &Prediction) {
        if !p.is_finite() {
            return;
        }
        self.customers += 1;
        self.total_clv += p.clv;
        self.churn_risk += p.churn_risk;
        self.p_alive += p.p_alive;
        if let Some(band) = p.churn_band {
            self.bands[band.index()] += 1;
        }
    }

    /// Customers at high churn risk.
    pub fn high_risk(&self) -> usize {
        self.bands[ChurnBand::High.index()]
    }

    /// The groups of `per_customer` by `group` (an index below `groups`), one pass.
    fn by(
        per_customer: &[Option<(Prediction, ValueTier)>],
        groups: usize,
        group: impl Fn(usize) -> usize,
    ) -> Vec<ClvGroup> {
        let mut out = vec![ClvGroup::default(); groups];
        for (i, p) in per_customer.iter().enumerate() {
            if let (Some((p, _)), Some(g)) = (p, out.get_mut(group(i))) {
                g.add(p);
            }
        }
        out
    }
}

/// Predicted value and churn of one RFM class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassClv {
    /// The class.
    pub class: RfmClass,
    /// Its customers' figures.
    pub clv: ClvGroup,
}

impl ClvRun {
    /// Mean CLV and churn per RFM class, in class order, for the classes with a usable
    /// prediction (one pass over the customers).
    fn by_class(
        tiering: &Tiering,
        per_customer: &[Option<(Prediction, ValueTier)>],
    ) -> Vec<ClassClv> {
        let rfm = tiering.rfm.customers();
        let index = |i: usize| {
            RfmClass::ALL
                .iter()
                .position(|&k| k == rfm[i].class)
                .unwrap_or(0)
        };
        ClvGroup::by(per_customer, RfmClass::ALL.len(), index)
            .into_iter()
            .zip(RfmClass::ALL)
            .filter(|(g, _)| g.customers > 0)
            .map(|(clv, class)| ClassClv { class, clv })
            .collect()
    }
}

/// A scheme applied in a run.
#[derive(Debug)]
pub struct SchemeRun {
    /// The columns the rules saw, per customer.
    pub profile: Profile,
    /// The scheme, checked against the profile.
    pub checked: CheckedScheme,
    /// Every customer's tiers and reasons.
    pub result: SchemeResult,
    /// Per dimension, per tier in scheme order: its customers, their net revenue and what they
    /// look like on average.
    pub tier_totals: Vec<Vec<TierTotal>>,
    /// The scheme's clustering (its `[cluster]` section), when it has one.
    pub clusters: Option<SchemeClusters>,
}

/// The customers of one tier, their net revenue and their means.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TierTotal {
    /// Customers in the tier.
    pub customers: usize,
    /// The sum of their monetary values.
    pub revenue: Money,
    /// Their share of the scored customers.
    pub customer_share: f64,
    /// Their share of the net revenue (0 when the net revenue is not positive).
    pub revenue_share: f64,
    /// Their mean recency in days (0 for an empty tier).
    pub mean_recency_days: f64,
    /// Their mean frequency (0 for an empty tier).
    pub mean_frequency: f64,
    /// Their mean monetary value (0 for an empty tier).
    pub mean_monetary: f64,
    /// The mean of their average satisfaction scores, over those who have one.
    pub mean_satisfaction: Option<f64>,
    /// The NPS of their last answers, over those who gave one.
    pub nps: Option<f64>,
}

/// The sums a [`TierTotal`] is made from, added in customer order.
#[derive(Debug, Clone, Copy, Default)]
struct TierSums {
    customers: usize,
    revenue: Money,
    recency: f64,
    frequency: f64,
    monetary: f64,
    satisfaction: (f64, u64),
    /// Answers, promoters, detractors.
    nps: (u64, u64, u64),
}

impl TierSums {
    fn total(&self, tiering: &Tiering) -> TierTotal {
        let customers = tiering.features.customers.len().max(1) as f64;
        let revenue = tiering.revenue;
        let mean = |sum: f64| {
            if self.customers == 0 {
                0.0
            } else {
                sum / self.customers as f64
            }
        };
        let (sum, n) = self.satisfaction;
        let (answers, promoters, detractors) = self.nps;
        TierTotal {
            customers: self.customers,
            revenue: self.revenue,
            customer_share: self.customers as f64 / customers,
            revenue_share: if revenue.units() > 0 {
                self.revenue.to_f64() / revenue.to_f64()
            } else {
                0.0
            },
            mean_recency_days: mean(self.recency),
            mean_frequency: mean(self.frequency),
            mean_monetary: mean(self.monetary),
            mean_satisfaction: (n > 0).then(|| sum / n as f64),
            nps: (answers > 0)
                .then(|| (promoters as f64 - detractors as f64) * 100.0 / answers as f64),
        }
    }
}

/// Every tier's total, per dimension (one pass over the customers).
fn tier_totals(
    tiering: &Tiering,
    profile: &Profile,
    scheme: &CheckedScheme,
    result: &SchemeResult,
) -> Vec<Vec<TierTotal>> {
    let number = |name: &str| match profile.column(name) {
        Some(ColumnData::Number(v)) => Some(v),
        _ => None,
    };
    let (satisfaction, nps) = (number("avg_satisfaction"), number("last_nps"));
    let mut sums: Vec<Vec<TierSums>> = scheme
        .dimensions
        .iter()
        .map(|d| vec![TierSums::default(); d.tiers.len()])
        .collect();
    let customers = &tiering.features.customers;
    for (i, (c, a)) in customers.iter().zip(&result.assignments).enumerate() {
        let satisfaction = satisfaction.and_then(|v| v[i]);
        let answer = nps.and_then(|v| v[i]).map(|x| x as u8);
        for (d, &t) in a.tiers.iter().enumerate() {
            let s = &mut sums[d][usize::from(t)];
            s.customers += 1;
            s.revenue += c.monetary;
            s.recency += c.recency_days as f64;
            s.frequency += c.frequency as f64;
            s.monetary += c.monetary.to_f64();
            if let Some(x) = satisfaction {
                s.satisfaction.0 += x;
                s.satisfaction.1 += 1;
            }
            if let Some(a) = answer {
                s.nps.0 += 1;
                match crate::interactions::nps_category(a) {
                    "promoter" => s.nps.1 += 1,
                    "detractor" => s.nps.2 += 1,
                    _ => {}
                }
            }
        }
    }
    sums.iter()
        .map(|d| d.iter().map(|t| t.total(tiering)).collect())
        .collect()
}

/// A scheme's clustering with what its outputs show.
#[derive(Debug)]
pub struct SchemeClusters {
    /// The clusters.
    pub clustering: Clustering,
    /// The feature columns it ran on.
    pub columns: FeatureColumns,
    /// Each cluster's share of the net revenue, by cluster id (see [`revenue_shares`]).
    pub revenue_shares: Vec<f64>,
}

/// Each cluster's share of the total net revenue, by cluster id (0 when the total is not
/// positive: a share of nothing is not defined).
pub fn revenue_shares(tiering: &Tiering, c: &Clustering) -> Vec<f64> {
    let total = tiering.revenue.to_f64();
    let mut shares = vec![0.0; c.k];
    if total <= 0.0 {
        return shares;
    }
    for (x, l) in tiering.features.customers.iter().zip(&c.labels) {
        if let Some(l) = l {
            shares[l - 1] += x.monetary.to_f64() / total;
        }
    }
    shares
}

/// Named number columns, one value per customer (empty where a customer has none): what
/// clusterings and validations run on.
pub type FeatureColumns = Vec<(String, Vec<Option<f64>>)>;

/// Why a run could not be done.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scheme does not fit the columns (an unknown column, a typo in a value, …).
    #[error("{error}")]
    Scheme {
        /// What is wrong.
        error: Box<SchemeError>,
        /// Whether the lifetime-value columns were there for the rules (asked for, and the
        /// model could be fitted).
        with_clv: bool,
        /// Why the lifetime-value model could not be fitted, when it was asked for and
        /// could not be (the columns the rule names are missing for that reason).
        clv_failure: Option<Box<ClvError>>,
    },
    /// The scheme's `[cluster]` section names features that cannot be clustered on.
    #[error(transparent)]
    Features(#[from] FeatureError),
    /// The scheme's clustering failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// A segmentation could not be validated.
    #[error(transparent)]
    Validate(#[from] ValidateError),
}

/// Features that cannot be used for clustering or validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeatureError {
    /// A name that is not a number column of the profile.
    #[error("`{name}` is not a number column; the number columns are: {numbers}")]
    NotANumber {
        /// The name given.
        name: String,
        /// The number columns, comma separated.
        numbers: String,
    },
    /// No feature named.
    #[error("no features given (--features)")]
    None,
    /// The feature clusters are ordered by is not among the features.
    #[error("the ordering feature `{name}` is not one of the features: {features}")]
    UnknownOrder {
        /// The name given.
        name: String,
        /// The features, comma separated.
        features: String,
    },
}

/// Runs the pipeline: tiers, then lifetime value, then the scheme (with its clustering).
pub fn run(input: RunInput<'_>) -> Result<RunResult, RunError> {
    let RunInput {
        features,
        as_of,
        rfm,
        abc,
        clv,
        scheme,
        attributes,
        interactions,
        overrides,
        validate,
        funnel,
    } = input;
    // the validation's features read and put in order while the tiers are computed
    let (tiering, inputs) = tier_beside(features, rfm, abc, |f| {
        validate.then(|| ValidationInputs::of(&f.customers))
    });
    let clv = clv.map(|params| fit_clv(&tiering, params, as_of));
    let scheme = match scheme {
        Some(params) => Some(
            apply_scheme(
                params,
                &tiering,
                attributes,
                interactions,
                clv.as_ref().and_then(|c| c.as_ref().ok()),
                overrides,
                as_of,
            )
            .map_err(|e| match e {
                RunError::Scheme {
                    error, with_clv, ..
                } => RunError::Scheme {
                    error,
                    with_clv,
                    clv_failure: clv
                        .as_ref()
                        .and_then(|c| c.as_ref().err().cloned().map(Box::new)),
                },
                e => e,
            })?,
        ),
        None => None,
    };
    let mut clv = clv;
    if let (Some(Ok(c)), Some(s)) = (&mut clv, &scheme) {
        let d = s.checked.final_dimension;
        let tiers = s.checked.dimensions[d].tiers.len();
        let assignments = &s.result.assignments;
        c.tiers = Some(ClvGroup::by(&c.per_customer, tiers, |i| {
            usize::from(assignments[i].tiers[d])
        }));
    }
    let validations = if let Some(inputs) = inputs {
        validations_of(
            inputs,
            &tiering,
            scheme.as_ref().map(|s| (&s.checked, &s.result)),
            scheme
                .as_ref()
                .and_then(|s| s.clusters.as_ref())
                .map(|c| &c.clustering),
        )?
    } else {
        Vec::new()
    };
    let funnel =
        funnel.map(|(log, params)| run_funnel(log, params, &tiering, scheme.as_ref(), as_of));
    Ok(RunResult {
        as_of,
        rfm: rfm.clone(),
        abc: *abc,
        tiering,
        clv,
        scheme,
        validations,
        funnel,
    })
}

/// The funnel of `log`, its opportunities grouped by their customer's tier: the scheme's final
/// tier (high: the tiers named in the settings, else the best ranked), else the ABC class
/// (high: the classes named, else A).
fn run_funnel(
    log: &OpportunityLog,
    params: &CheckedFunnelParams,
    tiering: &Tiering,
    scheme: Option<&SchemeRun>,
    as_of: NaiveDate,
) -> FunnelRun {
    let index: rustc_hash::FxHashMap<&str, usize> = tiering
        .features
        .customers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.customer_id.as_str(), i))
        .collect();
    let named = params.high_tiers();
    match scheme {
        Some(s) => {
            let d = s.checked.final_dimension;
            let dim = &s.checked.dimensions[d];
            let high: Vec<bool> = dim
                .tiers
                .iter()
                .zip(&dim.rank)
                .map(|(t, &rank)| {
                    if named.is_empty() {
                        rank == 0
                    } else {
                        named.contains(&t.name)
                    }
                })
                .collect();
            let tier_of = |c: &str| {
                let t = s.result.assignments[*index.get(c)?].tiers[d];
                Some((t, high.get(usize::from(t)).copied().unwrap_or(false)))
            };
            crate::funnel::funnel(log, params, as_of, TierBasis::Scheme, &tier_of)
        }
        None => {
            let classes = tiering.abc.classes();
            let tier_of = |c: &str| {
                let class = classes[*index.get(c)?];
                let t = AbcClass::ALL.iter().position(|&k| k == class).unwrap_or(0);
                let high = if named.is_empty() {
                    class == AbcClass::A
                } else {
                    named.iter().any(|n| n == class.code())
                };
                Some((t as u16, high))
            };
            crate::funnel::funnel(log, params, as_of, TierBasis::Abc, &tier_of)
        }
    }
}

/// Fits the lifetime-value model on all purchases before `as_of` and predicts every scored
/// customer.
pub fn fit_clv(
    tiering: &Tiering,
    params: &CheckedClvParams,
    as_of: NaiveDate,
) -> Result<ClvRun, ClvError> {
    let calibration_end = as_of - chrono::Days::new(1);
    let summaries = crate::clv::summaries(&tiering.features.customers, calibration_end, params);
    let fitted: Vec<Summary> = summaries.iter().flatten().copied().collect();
    let model = params.fit(&fitted)?;
    let predictions = model.predict_all(&fitted);
    let tiers = ValueTier::assign(&predictions.iter().map(|p| p.clv).collect::<Vec<_>>());
    let mut it = predictions.into_iter().zip(tiers);
    let per_customer: Vec<_> = summaries
        .iter()
        .map(|s| s.and_then(|_| it.next()))
        .collect();
    let classes = ClvRun::by_class(tiering, &per_customer);
    let total = ClvGroup::by(&per_customer, 1, |_| 0)[0];
    Ok(ClvRun {
        model,
        per_customer,
        summaries,
        calibration_end,
        total,
        classes,
        tiers: None,
    })
}

/// Builds the profile the scheme's rules see, runs its clustering, checks it and places every
/// customer.
pub fn apply_scheme(
    params: SchemeParams,
    tiering: &Tiering,
    attributes: Option<&dyn Attributes>,
    interactions: Option<&InteractionLog>,
    clv: Option<&ClvRun>,
    overrides: &[Override],
    as_of: NaiveDate,
) -> Result<SchemeRun, RunError> {
    let mut profile = profile(tiering, attributes, interactions, params.lifecycle());
    if let Some(c) = clv {
        profile.add_clv(&c.per_customer);
    }
    let ids = tiering.features.customer_ids();
    let placed = place(params, profile, &ids, overrides, as_of, clv.is_some())?;
    let tier_totals = tier_totals(tiering, &placed.profile, &placed.checked, &placed.result);
    let clusters = placed.clusters.map(|(clustering, columns)| SchemeClusters {
        revenue_shares: revenue_shares(tiering, &clustering),
        clustering,
        columns,
    });
    Ok(SchemeRun {
        profile: placed.profile,
        checked: placed.checked,
        result: placed.result,
        tier_totals,
        clusters,
    })
}

/// A scheme placed on a profile: the profile (with the scheme's cluster columns), the
/// checked scheme and every customer's tiers.
#[derive(Debug)]
pub struct Placed {
    /// The columns the rules saw.
    pub profile: Profile,
    /// The scheme, checked against them.
    pub checked: CheckedScheme,
    /// Every customer's tiers and reasons.
    pub result: SchemeResult,
    /// The scheme's clustering and the feature columns it ran on, when it has a `[cluster]`.
    pub clusters: Option<(Clustering, FeatureColumns)>,
}

/// Runs the scheme's clustering on `profile`, checks the scheme against its columns and places
/// every customer (`ids` in the profile's order).
fn place(
    params: SchemeParams,
    mut profile: Profile,
    ids: &[&str],
    overrides: &[Override],
    as_of: NaiveDate,
    with_clv: bool,
) -> Result<Placed, RunError> {
    let scheme_error = |error| RunError::Scheme {
        error: Box::new(error),
        with_clv,
        clv_failure: None,
    };
    let clusters = match params.cluster().map_err(scheme_error)? {
        Some(spec) => {
            let columns = number_columns(&profile, &spec.features.join(","))?;
            let order = order_index(&columns, spec.order_by.as_deref())?;
            let clustering = spec.params.fit(&columns, order)?;
            profile.add_cluster(&clustering);
            Some((clustering, columns))
        }
        None => None,
    };
    let checked = params.check(profile.catalog()).map_err(scheme_error)?;
    let result = checked.apply(&profile, ids, overrides, as_of);
    Ok(Placed {
        profile,
        checked,
        result,
        clusters,
    })
}

/// Places every customer of a kept profile (a run's, read back from the history) by a draft
/// scheme, as a run of the draft on the same data would: the lifecycle stages are worked out
/// again with the draft's `[lifecycle]`, the kept cluster columns are dropped and the draft's
/// own `[cluster]`, if any, is fitted on the profile. `ids` are the customers in the profile's
/// order; `overrides` the manual placements to apply.
pub fn place_draft(
    params: SchemeParams,
    mut profile: Profile,
    ids: &[&str],
    overrides: &[Override],
    as_of: NaiveDate,
) -> Result<Placed, RunError> {
    profile.restage(params.lifecycle());
    // the run's clustering added its two columns last; an attribute of the same name stays
    let names = profile.catalog().names();
    let clustered = names.len() >= 2
        && names[names.len() - 2..]
            .iter()
            .zip(crate::scheme::CLUSTER_COLUMNS)
            .all(|(n, (c, _))| n == c);
    let profile = if clustered {
        profile.without_last(2)
    } else {
        profile
    };
    let with_clv = profile.column(crate::scheme::CLV_COLUMNS[0].0).is_some();
    place(params, profile, ids, overrides, as_of, with_clv)
}

/// The number columns `names` (comma-separated) of the profile.
pub fn number_columns(profile: &Profile, names: &str) -> Result<FeatureColumns, FeatureError> {
    let mut out = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match profile.column(name) {
            Some(ColumnData::Number(v)) => out.push((name.to_string(), v.clone())),
            _ => {
                let numbers: Vec<&str> = profile
                    .catalog()
                    .names()
                    .iter()
                    .filter(|n| matches!(profile.column(n), Some(ColumnData::Number(_))))
                    .map(String::as_str)
                    .collect();
                return Err(FeatureError::NotANumber {
                    name: name.to_string(),
                    numbers: numbers.join(", "),
                });
            }
        }
    }
    if out.is_empty() {
        return Err(FeatureError::None);
    }
    Ok(out)
}

/// The index of feature `order_by` among `columns` (default: monetary if clustered on, else
/// the first).
pub fn order_index(
    columns: &[(String, Vec<Option<f64>>)],
    order_by: Option<&str>,
) -> Result<usize, FeatureError> {
    match order_by {
        Some(name) => {
            columns
                .iter()
                .position(|c| c.0 == name)
                .ok_or_else(|| FeatureError::UnknownOrder {
                    name: name.to_string(),
                    features: columns
                        .iter()
                        .map(|c| c.0.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
        }
        None => Ok(columns.iter().position(|c| c.0 == "monetary").unwrap_or(0)),
    }
}

/// Validates the RFM classes, the named segments, the ABC classes and, when given, a scheme's
/// final tiers and a clustering, on recency, frequency and monetary value (the segmentations
/// in parallel, on one order per feature; the monetary value's read from ABC's ranking).
/// Named `rfm_class`, `rfm_segment`, `abc_class`, the final dimension's name and `cluster`.
pub fn validations(
    tiering: &Tiering,
    scheme: Option<(&CheckedScheme, &SchemeResult)>,
    clusters: Option<&Clustering>,
) -> Result<Vec<(String, Validation)>, ValidateError> {
    validations_of(
        ValidationInputs::of(&tiering.features.customers),
        tiering,
        scheme,
        clusters,
    )
}

/// The features every segmentation is validated on (recency, frequency and monetary value)
/// and the order of each but the monetary value's, which ABC's ranking gives: work that needs
/// no tiers.
struct ValidationInputs {
    features: FeatureColumns,
    order: PendingOrder,
}

impl ValidationInputs {
    /// The position of the monetary value among the features.
    const MONETARY: usize = 2;

    fn of(customers: &[CustomerFeatures]) -> Self {
        use rayon::prelude::*;
        // the three columns in one parallel pass over the customers' features (at a million
        // customers a pass reads 160 MB)
        let (recency, (frequency, monetary)): (Vec<_>, (Vec<_>, Vec<_>)) = customers
            .par_iter()
            .map(|c| {
                (
                    Some(c.recency_days as f64),
                    (Some(c.frequency as f64), Some(c.monetary.to_f64())),
                )
            })
            .unzip();
        let features: FeatureColumns = vec![
            ("recency_days".into(), recency),
            ("frequency".into(), frequency),
            ("monetary".into(), monetary),
        ];
        debug_assert_eq!(features[Self::MONETARY].0, "monetary");
        let order = FeatureOrder::all_but(&features, Self::MONETARY);
        ValidationInputs { features, order }
    }
}

/// [`validations`] on inputs read beforehand (beside the tiering).
fn validations_of(
    inputs: ValidationInputs,
    tiering: &Tiering,
    scheme: Option<(&CheckedScheme, &SchemeResult)>,
    clusters: Option<&Clustering>,
) -> Result<Vec<(String, Validation)>, ValidateError> {
    use crate::Labelled;
    use crate::abc::AbcClass;
    use crate::rfm::{RfmClass, Segment};
    use rayon::prelude::*;
    let ValidationInputs { features, order } = inputs;
    let params = ValidateParams::new().check()?;
    let rfm = tiering.rfm.customers();
    // a segmentation: each customer's label as its place among all of its kind (compared as
    // values, not by their codes' text), and the codes
    fn set<T: Labelled + Copy + PartialEq + Sync, L: Sync>(
        name: &str,
        all: &[T],
        of: &[L],
        label: impl Fn(&L) -> T + Sync,
    ) -> (String, Vec<usize>, Vec<String>) {
        let places = of
            .par_iter()
            .map(|x| all.iter().position(|c| *c == label(x)).unwrap_or(0))
            .collect();
        let codes = all.iter().map(|c| c.code().to_string()).collect();
        (name.to_string(), places, codes)
    }
    let mut sets: Vec<(String, Vec<usize>, Vec<String>)> = vec![
        set("rfm_class", &RfmClass::ALL, rfm, |r| r.class),
        set("rfm_segment", &Segment::ALL, rfm, |r| r.segment),
        set("abc_class", &AbcClass::ALL, tiering.abc.classes(), |c| *c),
    ];
    if let Some((scheme, result)) = scheme {
        let fin = &scheme.dimensions[scheme.final_dimension];
        sets.push((
            fin.name.clone(),
            result
                .assignments
                .iter()
                .map(|a| usize::from(a.tiers[scheme.final_dimension]))
                .collect(),
            fin.tiers.iter().map(|t| t.name.clone()).collect(),
        ));
    }
    // each feature sorted once for every segmentation; the monetary value's order read
    // from ABC's ranking of it
    let order = order.with_ranking(&features, tiering.abc.ranking());
    let mut done = sets
        .par_iter()
        .map(|(name, labels, names)| {
            params
                .validate_ordered(labels, names, &features, &order)
                .map(|v| (name.clone(), v))
        })
        .collect::<Result<Vec<_>, ValidateError>>()?;
    if let Some(c) = clusters {
        let (labels, names) = cluster_segments(c);
        done.push((
            "cluster".into(),
            params.validate_ordered(&labels, &names, &features, &order)?,
        ));
    }
    Ok(done)
}

/// The validation of a clustering on `features` (one value per clustered row's customer), over
/// the customers that have a cluster.
pub fn validate_clusters(
    params: &CheckedValidateParams,
    c: &Clustering,
    features: &[(String, Vec<Option<f64>>)],
) -> Result<Validation, ValidateError> {
    let (labels, names) = cluster_segments(c);
    params.validate(&labels, &names, features)
}

/// A clustering as segments: each customer's cluster index (cluster ids count from 1;
/// customers left out of the clustering are in no segment) and the clusters' names.
fn cluster_segments(c: &Clustering) -> (Vec<Option<usize>>, Vec<String>) {
    let labels = c.labels.iter().map(|l| l.map(|l| l - 1)).collect();
    let names = (1..=c.k).map(|k| k.to_string()).collect();
    (labels, names)
}
