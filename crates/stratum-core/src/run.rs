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

use crate::abc::CheckedAbcParams;
use crate::cluster::{ClusterError, Clustering};
use crate::clv::{CheckedClvParams, ChurnBand, ClvError, ClvModel, Prediction, Summary, ValueTier};
use crate::features::Features;
use crate::interactions::InteractionLog;
use crate::rfm::{CheckedRfmParams, RfmClass};
use crate::scheme::{
    Attributes, CheckedScheme, ColumnData, Override, Profile, SchemeError, SchemeParams,
    SchemeResult, profile,
};
use crate::tiering::{Tiering, tier};
use crate::validate::{CheckedValidateParams, ValidateError, ValidateParams, Validation};

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
        }
    }
}

/// Everything a run computed, keyed by the customers' order in `tiering.features.customers`.
#[derive(Debug)]
pub struct RunResult {
    /// RFM scores, classes, segments, ABC classes and their summaries.
    pub tiering: Tiering,
    /// The lifetime-value model and its predictions, when asked for; `Err` when the model
    /// cannot be fitted (the run goes on without lifetime value, and says so).
    pub clv: Option<Result<ClvRun, ClvError>>,
    /// The scheme's tiers, when a scheme was given.
    pub scheme: Option<SchemeRun>,
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
}

/// Predicted value and churn of one RFM class.
#[derive(Debug, Clone, Copy)]
pub struct ClassClv {
    /// The class.
    pub class: RfmClass,
    /// Customers with a prediction.
    pub customers: usize,
    /// Their total CLV.
    pub total_clv: f64,
    /// The sum of their churn risks (the mean once divided by `customers`).
    pub churn_risk: f64,
    /// Customers at high churn risk.
    pub high_risk: usize,
}

impl ClassClv {
    /// An empty row for `class`.
    pub fn new(class: RfmClass) -> Self {
        ClassClv {
            class,
            customers: 0,
            total_clv: 0.0,
            churn_risk: 0.0,
            high_risk: 0,
        }
    }
}

impl ClvRun {
    /// Mean CLV and churn per RFM class, in class order, for the classes with a usable
    /// prediction (one pass over the customers).
    pub fn by_class(&self, tiering: &Tiering) -> Vec<ClassClv> {
        let mut classes: Vec<ClassClv> = RfmClass::ALL.iter().map(|&k| ClassClv::new(k)).collect();
        for (r, p) in tiering.rfm.customers().iter().zip(&self.per_customer) {
            if let Some((p, _)) = p
                && p.is_finite()
                && let Some(k) = classes.iter_mut().find(|k| k.class == r.class)
            {
                k.customers += 1;
                k.total_clv += p.clv;
                k.churn_risk += p.churn_risk;
                k.high_risk += usize::from(p.churn_band == Some(ChurnBand::High));
            }
        }
        classes.retain(|k| k.customers > 0);
        classes
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
    /// The scheme's clustering (its `[cluster]` section) and the feature columns it ran on.
    pub clusters: Option<(Clustering, FeatureColumns)>,
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
    } = input;
    let tiering = tier(features, rfm, abc);
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
    Ok(RunResult {
        tiering,
        clv,
        scheme,
    })
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
    let per_customer = summaries
        .iter()
        .map(|s| s.and_then(|_| it.next()))
        .collect();
    Ok(ClvRun {
        model,
        per_customer,
        summaries,
        calibration_end,
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
    let scheme_error = |error| RunError::Scheme {
        error: Box::new(error),
        with_clv: clv.is_some(),
        clv_failure: None,
    };
    let mut profile = profile(tiering, attributes, interactions, params.lifecycle());
    if let Some(c) = clv {
        profile.add_clv(&c.per_customer);
    }
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
    let result = checked.apply(&profile, &tiering.features.customer_ids(), overrides, as_of);
    Ok(SchemeRun {
        profile,
        checked,
        result,
        clusters,
    })
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
/// in parallel: each sorts every feature). Named `rfm_class`, `rfm_segment`, `abc_class`, the
/// final dimension's name and `cluster`.
pub fn validations(
    tiering: &Tiering,
    scheme: Option<(&CheckedScheme, &SchemeResult)>,
    clusters: Option<&Clustering>,
) -> Result<Vec<(String, Validation)>, ValidateError> {
    use crate::Labelled;
    use crate::abc::AbcClass;
    use crate::rfm::{RfmClass, Segment};
    use rayon::prelude::*;
    let customers = &tiering.features.customers;
    let features: FeatureColumns = vec![
        (
            "recency_days".into(),
            customers
                .iter()
                .map(|c| Some(c.recency_days as f64))
                .collect(),
        ),
        (
            "frequency".into(),
            customers.iter().map(|c| Some(c.frequency as f64)).collect(),
        ),
        (
            "monetary".into(),
            customers
                .iter()
                .map(|c| Some(c.monetary.to_f64()))
                .collect(),
        ),
    ];
    let params = ValidateParams::new().check()?;
    let rfm = tiering.rfm.customers();
    let index_of = |all: &[&str], code: &str| all.iter().position(|c| *c == code).unwrap_or(0);
    let class_codes: Vec<&str> = RfmClass::ALL.iter().map(|c| c.code()).collect();
    let segment_codes: Vec<&str> = Segment::ALL.iter().map(|c| c.code()).collect();
    let abc_codes: Vec<&str> = AbcClass::ALL.iter().map(|c| c.code()).collect();
    let mut sets: Vec<(String, Vec<usize>, Vec<String>)> = vec![
        (
            "rfm_class".into(),
            rfm.iter()
                .map(|r| index_of(&class_codes, r.class.code()))
                .collect(),
            class_codes.iter().map(|c| c.to_string()).collect(),
        ),
        (
            "rfm_segment".into(),
            rfm.iter()
                .map(|r| index_of(&segment_codes, r.segment.code()))
                .collect(),
            segment_codes.iter().map(|c| c.to_string()).collect(),
        ),
        (
            "abc_class".into(),
            tiering
                .abc
                .classes()
                .iter()
                .map(|c| index_of(&abc_codes, c.code()))
                .collect(),
            abc_codes.iter().map(|c| c.to_string()).collect(),
        ),
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
    let mut done = sets
        .par_iter()
        .map(|(name, labels, names)| {
            params
                .validate(labels, names, &features)
                .map(|v| (name.clone(), v))
        })
        .collect::<Result<Vec<_>, ValidateError>>()?;
    if let Some(c) = clusters {
        done.push(("cluster".into(), validate_clusters(&params, c, &features)?));
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
    // cluster ids count from 1; customers left out of the clustering are in no segment
    let labels: Vec<Option<usize>> = c.labels.iter().map(|l| l.map(|l| l - 1)).collect();
    let names: Vec<String> = (1..=c.k).map(|k| k.to_string()).collect();
    params.validate(&labels, &names, features)
}
