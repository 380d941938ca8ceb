//! The customer profile: every feature, built-in tier and attribute of every scored customer
//! as one table of named, typed columns, the table a scheme's rules are evaluated on.
//!
//! Built-in columns (numbers unless marked):
//! - `recency_days` and `days_since_last_order` (days from the last purchase to `as_of`),
//!   `frequency`, `orders`, `monetary`, `gross`, `refunds`, `avg_order_value`;
//! - `tenure_days`, `tenure_months`: from the signup date when the master data has one, else
//!   from the first purchase; `tenure_months` counts whole calendar months;
//! - `annual_revenue` (net revenue in the twelve months before `as_of`), `revenue_prev_12m`
//!   (the twelve before those), `revenue_growth` (`annual_revenue / revenue_prev_12m − 1`,
//!   empty when the earlier year has no positive revenue), `orders_12m`;
//! - `repurchase_rate`: the share of a customer's orders that were repeat orders,
//!   `(orders − 1) / orders`, read as the repurchase probability;
//! - from interactions ([`crate::interactions`]): `interactions_90d`, `complaints_90d`,
//!   `complaint_rate`, `avg_satisfaction`, `last_nps` and as text `nps_category` (empty
//!   without interactions);
//! - `loyalty` (text): `high` when the repurchase rate is above 70% and the average
//!   satisfaction, if any, at least 4; `low` when the repurchase rate is below 30% or the
//!   satisfaction at most 2; `medium` otherwise;
//! - `r_score`, `f_score`, `m_score`, and as text `rfm_class`, `rfm_segment`, `abc_class`
//!   (their codes, e.g. `important_value`, `champions`, `A`), `lifecycle` (see
//!   [`LifecycleParams`]);
//! - every master-data attribute, by its header: a number column when every non-empty value
//!   is a number, text otherwise.

use chrono::{Datelike, NaiveDate};

use super::expr::{Catalog, ColumnType, KnownValues, Row, Value};
use crate::interactions::{InteractionLog, InteractionStats, nps_category};
use crate::labels::Labelled;
use crate::tiering::Tiering;

/// One column's values, one per customer.
#[derive(Debug, Clone)]
pub enum ColumnData {
    /// Numbers (`None` is empty).
    Number(Vec<Option<f64>>),
    /// Text.
    Text(TextColumn),
}

/// A text column, dictionary-encoded: a few distinct values (classes, stages, industries,
/// regions) over a million customers take four bytes a customer, not a string each.
#[derive(Debug, Clone, Default)]
pub struct TextColumn {
    /// Each customer's index into `values`; [`TextColumn::EMPTY`] for no value.
    codes: Vec<u32>,
    values: Vec<String>,
}

impl TextColumn {
    const EMPTY: u32 = u32::MAX;

    /// The value of customer `row` (`None` when empty).
    pub fn get(&self, row: usize) -> Option<&str> {
        self.code(row)
            .and_then(|c| self.values.get(c))
            .map(String::as_str)
    }

    /// The distinct values, in order of first appearance.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Customer `row`'s value as an index into [`TextColumn::values`] (`None` when empty).
    pub fn code(&self, row: usize) -> Option<usize> {
        match self.codes.get(row) {
            Some(&c) if c != Self::EMPTY => Some(c as usize),
            _ => None,
        }
    }

    /// The number of customers.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether there are no customers.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

impl<S: AsRef<str>> FromIterator<Option<S>> for TextColumn {
    fn from_iter<I: IntoIterator<Item = Option<S>>>(iter: I) -> Self {
        let mut index: rustc_hash::FxHashMap<String, u32> = Default::default();
        let mut col = TextColumn::default();
        for v in iter {
            let code = match v {
                None => TextColumn::EMPTY,
                Some(v) => {
                    let v = v.as_ref();
                    match index.get(v) {
                        Some(&c) => c,
                        None => {
                            let c = col.values.len() as u32;
                            col.values.push(v.to_string());
                            index.insert(v.to_string(), c);
                            c
                        }
                    }
                }
            };
            col.codes.push(code);
        }
        col
    }
}

impl From<Vec<Option<String>>> for TextColumn {
    fn from(v: Vec<Option<String>>) -> Self {
        v.into_iter().collect()
    }
}

/// Named, typed columns over the scored customers (in the order of
/// `tiering.features.customers`).
#[derive(Debug, Clone, Default)]
pub struct Profile {
    catalog: Catalog,
    columns: Vec<ColumnData>,
    rows: usize,
}

impl Profile {
    /// A profile of the given columns (all of `rows` values).
    pub fn from_columns(rows: usize, columns: Vec<(String, ColumnData)>) -> Profile {
        let mut p = Profile {
            rows,
            ..Profile::default()
        };
        for (name, data) in columns {
            p.push(&name, data);
        }
        p
    }

    /// A profile kept and read back (see [`Profile::columns`]): the columns in their order,
    /// the built-in ones knowing their values as in the profile a run builds.
    pub fn restored(rows: usize, columns: Vec<(String, ColumnData)>) -> Profile {
        let mut p = Profile::from_columns(rows, columns);
        set_builtin_known(&mut p.catalog, 0);
        p
    }

    /// Every column with its name, in order.
    pub fn columns(&self) -> impl ExactSizeIterator<Item = (&str, &ColumnData)> {
        self.catalog
            .names()
            .iter()
            .map(String::as_str)
            .zip(&self.columns)
    }

    /// The profile with `columns` added after its own.
    pub fn extended(mut self, columns: Vec<(String, ColumnData)>) -> Profile {
        for (name, data) in columns {
            self.push(&name, data);
        }
        self
    }

    /// The profile without its last `n` columns.
    pub fn without_last(self, n: usize) -> Profile {
        let keep = self.columns.len().saturating_sub(n);
        let names = self.catalog.names().to_vec();
        let mut p = Profile {
            rows: self.rows,
            ..Profile::default()
        };
        for (k, (name, data)) in names.into_iter().zip(self.columns).take(keep).enumerate() {
            p.push(&name, data);
            p.catalog
                .set_known(k, self.catalog.known_values(k).cloned());
        }
        p
    }

    /// Works the `lifecycle` column out again with `params`, from the days since the last
    /// order, the tenure in months and the revenue growth, as [`profile`] does.
    pub fn restage(&mut self, params: &LifecycleParams) {
        let number = |name: &str| match self.column(name) {
            Some(ColumnData::Number(v)) => Some(v),
            _ => None,
        };
        let (Some(recency), Some(tenure), Some(growth), Some(at)) = (
            number("recency_days"),
            number("tenure_months"),
            number("revenue_growth"),
            self.catalog.find("lifecycle"),
        ) else {
            return;
        };
        let stages: TextColumn = (0..self.rows)
            .map(|i| {
                let whole = |v: &[Option<f64>]| v[i].map_or(0, |x| x as i64);
                Some(params.stage(whole(recency), whole(tenure), growth[i]))
            })
            .collect();
        self.columns[at] = ColumnData::Text(stages);
    }

    /// The columns' names and types.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The number of customers.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Customer `row` as a [`Row`] for rules.
    pub fn row(&self, row: usize) -> ProfileRow<'_> {
        ProfileRow { profile: self, row }
    }

    /// The value of column `column` for customer `row`.
    pub fn value(&self, column: usize, row: usize) -> Value<'_> {
        match &self.columns[column] {
            ColumnData::Number(v) => v[row].map_or(Value::Null, Value::Number),
            ColumnData::Text(v) => v.get(row).map_or(Value::Null, Value::Text),
        }
    }

    /// The column called `name`, if any.
    pub fn column(&self, name: &str) -> Option<&ColumnData> {
        self.catalog.find(name).map(|i| &self.columns[i])
    }

    /// Adds the lifetime-value columns ([`CLV_COLUMNS`]) from each customer's predictions and
    /// predicted-value tier, in the profile's customer order.
    pub fn add_clv(
        &mut self,
        predictions: &[Option<(crate::clv::Prediction, crate::clv::ValueTier)>],
    ) {
        let num = |f: &dyn Fn(&crate::clv::Prediction) -> f64| {
            ColumnData::Number(
                predictions
                    .iter()
                    // a prediction that failed (not a finite number) is an empty value
                    .map(|p| p.as_ref().map(|(p, _)| f(p)).filter(|v| v.is_finite()))
                    .collect(),
            )
        };
        self.push("clv", num(&|p| p.clv));
        self.push("p_alive", num(&|p| p.p_alive));
        self.push("churn_risk", num(&|p| p.churn_risk));
        self.push(
            "churn_band",
            ColumnData::Text(
                predictions
                    .iter()
                    .map(|p| p.as_ref().and_then(|(p, _)| p.churn_band).map(|b| b.code()))
                    .collect(),
            ),
        );
        self.push("expected_purchases_90d", num(&|p| p.expected_purchases_90d));
        self.push(
            "value_tier",
            ColumnData::Text(
                predictions
                    .iter()
                    .map(|p| p.as_ref().map(|(_, t)| t.code()))
                    .collect(),
            ),
        );
        let from = self.catalog.names().len() - CLV_COLUMNS.len();
        set_builtin_known(&mut self.catalog, from);
    }

    /// Adds the cluster columns ([`CLUSTER_COLUMNS`]): each customer's cluster id and its
    /// code (`high_value+recent`: the same in every language; the words are for display),
    /// in the profile's customer order.
    pub fn add_cluster(&mut self, clustering: &crate::cluster::Clustering) {
        let cluster = |l: &Option<usize>| l.and_then(|l| clustering.clusters.get(l - 1));
        self.push(
            "cluster",
            ColumnData::Number(
                clustering
                    .labels
                    .iter()
                    .map(|l| l.map(|l| l as f64))
                    .collect(),
            ),
        );
        self.push(
            "cluster_label",
            ColumnData::Text(
                clustering
                    .labels
                    .iter()
                    .map(|l| cluster(l).map(|c| c.code.as_str()))
                    .collect(),
            ),
        );
        let i = self.catalog.names().len() - 1;
        self.catalog
            .set_known(i, Some(cluster_codes(&clustering.features)));
    }

    fn push(&mut self, name: &str, data: ColumnData) {
        let ty = match data {
            ColumnData::Number(_) => ColumnType::Number,
            ColumnData::Text(_) => ColumnType::Text,
        };
        // a master-data header equal to a built-in name is reachable only as the built-in
        self.catalog.push(name, ty);
        self.columns.push(data);
    }
}

/// One customer of a [`Profile`].
#[derive(Debug, Clone, Copy)]
pub struct ProfileRow<'a> {
    profile: &'a Profile,
    row: usize,
}

impl Row for ProfileRow<'_> {
    fn get(&self, column: usize) -> Value<'_> {
        self.profile.value(column, self.row)
    }
}

/// Lifecycle stages, first matching wins: `churned` when the last order is more than
/// `churned_days` old; `churn_warning` when it is more than `churn_warning_days` old or
/// revenue fell by more than `falling_growth` year on year; else `new` below `new_months` of
/// tenure, `growing` up to `stable_months`, `stable` beyond.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LifecycleParams {
    /// Tenure below which a customer is new, in months (default 6).
    pub new_months: u32,
    /// Tenure above which a customer is stable, in months (default 24).
    pub stable_months: u32,
    /// Days without an order after which a customer is in churn warning (default 180).
    pub churn_warning_days: u32,
    /// Days without an order after which a customer is churned (default 365).
    pub churned_days: u32,
    /// Year-on-year revenue growth below which a customer is in churn warning (default −0.5,
    /// a halving).
    pub falling_growth: f64,
}

impl Default for LifecycleParams {
    fn default() -> Self {
        LifecycleParams {
            new_months: 6,
            stable_months: 24,
            churn_warning_days: 180,
            churned_days: 365,
            falling_growth: -0.5,
        }
    }
}

impl LifecycleParams {
    /// The stage of a customer.
    pub fn stage(
        &self,
        days_since_last_order: i64,
        tenure_months: i64,
        growth: Option<f64>,
    ) -> &'static str {
        if days_since_last_order > i64::from(self.churned_days) {
            "churned"
        } else if days_since_last_order > i64::from(self.churn_warning_days)
            || growth.is_some_and(|g| g < self.falling_growth)
        {
            "churn_warning"
        } else if tenure_months < i64::from(self.new_months) {
            "new"
        } else if tenure_months <= i64::from(self.stable_months) {
            "growing"
        } else {
            "stable"
        }
    }
}

/// The lifecycle stages [`LifecycleParams::stage`] gives, in the customer's life order.
pub const STAGES: [&str; 5] = ["new", "growing", "stable", "churn_warning", "churned"];

/// The label of a lifecycle stage code (the code itself when it is not one of [`STAGES`]).
pub fn stage_label(code: &str, lang: crate::Lang) -> &str {
    match code {
        "new" => lang.pick("新客户", "new"),
        "growing" => lang.pick("成长期", "growing"),
        "stable" => lang.pick("稳定期", "stable"),
        "churn_warning" => lang.pick("流失预警", "churn warning"),
        "churned" => lang.pick("已流失", "churned"),
        other => other,
    }
}

/// The loyalty band from the repurchase probability and the average satisfaction.
pub fn loyalty(repurchase: f64, satisfaction: Option<f64>) -> &'static str {
    if repurchase < 0.3 || satisfaction.is_some_and(|s| s <= 2.0) {
        "low"
    } else if repurchase > 0.7 && satisfaction.is_none_or(|s| s >= 4.0) {
        "high"
    } else {
        "medium"
    }
}

/// Whole calendar months from `from` to `to` (0 when `to` is earlier). A month is complete
/// on the same day of the month, or on the last day of a shorter month (Jan 31 → Apr 30 is
/// three months, Feb 29 → next Feb 28 is twelve).
pub fn whole_months(from: NaiveDate, to: NaiveDate) -> i64 {
    let last_day = to
        .checked_add_days(chrono::Days::new(1))
        .is_some_and(|next| next.month() != to.month());
    let short = to.day() < from.day() && !last_day;
    let months = i64::from(to.year() - from.year()) * 12 + i64::from(to.month())
        - i64::from(from.month())
        - i64::from(short);
    months.max(0)
}

/// Master data for the profile: attribute names and, per customer id, their values.
pub trait Attributes {
    /// The attribute names, in order.
    fn names(&self) -> &[String];
    /// The values of `customer_id` (in `names` order), if the customer is in the master data.
    fn values(&self, customer_id: &str) -> Option<&[String]>;
    /// The customer's signup or contract date, when the master data has one.
    fn signup(&self, customer_id: &str) -> Option<NaiveDate>;
    /// Whether attribute `k` is a number column: every non-empty value of it, over the whole
    /// master data (not only the scored customers, so that a scheme checked against the
    /// master file sees the same types as a run), is a number (`1,200` counts).
    fn is_number(&self, k: usize) -> bool;
}

/// Whether `text` reads as an attribute number.
pub fn attribute_number(text: &str) -> Option<f64> {
    text.trim()
        .replace(',', "")
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
}

/// Attribute names a rule cannot reach because a built-in column or an earlier attribute
/// has the same name (ASCII case ignored): rules see the first.
pub fn shadowed(attributes: &dyn Attributes) -> Vec<String> {
    // the computed columns too: a master column named like one would hide it from rules
    let mut seen: Vec<String> = BUILTIN_COLUMNS
        .iter()
        .chain(&CLV_COLUMNS)
        .chain(&CLUSTER_COLUMNS)
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    let mut out = Vec::new();
    for name in attributes.names() {
        let lower = name.to_ascii_lowercase();
        if seen.contains(&lower) {
            out.push(name.clone());
        } else {
            seen.push(lower);
        }
    }
    out
}

/// The built-in columns of every profile, in order, before the attributes.
pub const BUILTIN_COLUMNS: [(&str, ColumnType); 29] = [
    ("recency_days", ColumnType::Number),
    ("days_since_last_order", ColumnType::Number),
    ("frequency", ColumnType::Number),
    ("orders", ColumnType::Number),
    ("monetary", ColumnType::Number),
    ("gross", ColumnType::Number),
    ("refunds", ColumnType::Number),
    ("avg_order_value", ColumnType::Number),
    ("tenure_days", ColumnType::Number),
    ("tenure_months", ColumnType::Number),
    ("annual_revenue", ColumnType::Number),
    ("revenue_prev_12m", ColumnType::Number),
    ("revenue_growth", ColumnType::Number),
    ("orders_12m", ColumnType::Number),
    ("repurchase_rate", ColumnType::Number),
    ("interactions_90d", ColumnType::Number),
    ("complaints_90d", ColumnType::Number),
    ("complaint_rate", ColumnType::Number),
    ("avg_satisfaction", ColumnType::Number),
    ("last_nps", ColumnType::Number),
    ("nps_category", ColumnType::Text),
    ("loyalty", ColumnType::Text),
    ("r_score", ColumnType::Number),
    ("f_score", ColumnType::Number),
    ("m_score", ColumnType::Number),
    ("rfm_class", ColumnType::Text),
    ("rfm_segment", ColumnType::Text),
    ("abc_class", ColumnType::Text),
    ("lifecycle", ColumnType::Text),
];

/// The lifetime-value columns, in a profile only when the model was fitted
/// ([`Profile::add_clv`]).
pub const CLV_COLUMNS: [(&str, ColumnType); 6] = [
    ("clv", ColumnType::Number),
    ("p_alive", ColumnType::Number),
    ("churn_risk", ColumnType::Number),
    ("churn_band", ColumnType::Text),
    ("expected_purchases_90d", ColumnType::Number),
    ("value_tier", ColumnType::Text),
];

/// The cluster columns, in a profile only when the scheme has a `[cluster]` section
/// ([`Profile::add_cluster`]).
pub const CLUSTER_COLUMNS: [(&str, ColumnType); 2] = [
    ("cluster", ColumnType::Number),
    ("cluster_label", ColumnType::Text),
];

/// Attribute `k` of each customer row, as numbers when `number`, else as text.
fn attribute_column(rows: &[Option<&[String]>], k: usize, number: bool) -> ColumnData {
    let value = |i: usize| -> Option<&str> {
        rows[i]
            .and_then(|r| r.get(k))
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    let n = rows.len();
    if number {
        ColumnData::Number(
            (0..n)
                .map(|i| value(i).and_then(attribute_number))
                .collect(),
        )
    } else {
        ColumnData::Text((0..n).map(value).collect())
    }
}

/// The codes a built-in, lifetime-value or cluster text column can hold, when they are known
/// before the data are (`cluster_label`'s depend on the clustering's features:
/// [`cluster_codes`]).
pub fn builtin_known_values(name: &str) -> Option<KnownValues> {
    let codes = |c: &[&str]| {
        Some(KnownValues::OneOf(
            c.iter().map(|c| c.to_string()).collect(),
        ))
    };
    match name {
        "nps_category" => codes(&["promoter", "passive", "detractor"]),
        "loyalty" => codes(&["high", "medium", "low"]),
        "rfm_class" => codes(&crate::rfm::RfmClass::ALL.map(|c| c.code())),
        "rfm_segment" => codes(&crate::rfm::Segment::ALL.map(|c| c.code())),
        "abc_class" => codes(&crate::abc::AbcClass::ALL.map(|c| c.code())),
        "lifecycle" => codes(&STAGES),
        "churn_band" => codes(
            &[
                crate::clv::ChurnBand::Low,
                crate::clv::ChurnBand::Medium,
                crate::clv::ChurnBand::High,
            ]
            .map(|b| b.code()),
        ),
        "value_tier" => codes(
            &[
                crate::clv::ValueTier::High,
                crate::clv::ValueTier::Medium,
                crate::clv::ValueTier::Low,
            ]
            .map(|t| t.code()),
        ),
        _ => None,
    }
}

/// Sets the known values of the built-in columns of `catalog` from column `from` on (the
/// columns named like a built-in one; an attribute of that name is never reached).
fn set_builtin_known(catalog: &mut Catalog, from: usize) {
    for i in from..catalog.names().len() {
        if let Some(k) = builtin_known_values(&catalog.names()[i]) {
            catalog.set_known(i, Some(k));
        }
    }
}

/// The codes a cluster's `cluster_label` is made of for clustering features `features`: the
/// code of each feature that stands out (e.g. `high_value`, `recent`), joined by `+`, or
/// `average`.
pub fn cluster_codes(features: &[String]) -> KnownValues {
    let mut parts = vec![crate::cluster::AVERAGE_CODE.to_string()];
    for f in features {
        for code in crate::cluster::feature_codes(f) {
            if !parts.contains(&code) {
                parts.push(code);
            }
        }
    }
    KnownValues::Joined {
        parts,
        separator: crate::cluster::CODE_SEPARATOR,
    }
}

/// The columns a rule can use: the built-ins, the attributes and the lifetime-value columns
/// (for checking a scheme without transactions; a run has the last only with `--clv`).
pub fn catalog(attributes: Option<&dyn Attributes>) -> Catalog {
    let mut c = Catalog::new();
    for (name, ty) in BUILTIN_COLUMNS {
        c.push(name, ty);
    }
    set_builtin_known(&mut c, 0);
    if let Some(a) = attributes {
        for (k, name) in a.names().iter().enumerate() {
            let ty = if a.is_number(k) {
                ColumnType::Number
            } else {
                ColumnType::Text
            };
            c.push(name.as_str(), ty);
        }
    }
    let clv_start = c.names().len();
    for (name, ty) in CLV_COLUMNS.into_iter().chain(CLUSTER_COLUMNS) {
        c.push(name, ty);
    }
    set_builtin_known(&mut c, clv_start);
    c
}

/// Builds the profile of every scored customer of `tiering`.
pub fn profile(
    tiering: &Tiering,
    attributes: Option<&dyn Attributes>,
    interactions: Option<&InteractionLog>,
    lifecycle: &LifecycleParams,
) -> Profile {
    let customers = &tiering.features.customers;
    let n = customers.len();
    let as_of = tiering.features.as_of.unwrap_or_default();
    let mut p = Profile {
        rows: n,
        ..Profile::default()
    };
    let num = |f: &dyn Fn(usize) -> Option<f64>| ColumnData::Number((0..n).map(f).collect());
    let text =
        |f: &dyn Fn(usize) -> Option<&'static str>| ColumnData::Text((0..n).map(f).collect());
    let money = |m: crate::Money| m.to_f64();
    let start: Vec<NaiveDate> = customers
        .iter()
        .map(|c| {
            // the relationship starts at the signup date, or at the first order if earlier
            attributes
                .and_then(|a| a.signup(&c.customer_id))
                .filter(|d| *d <= as_of)
                .map_or(c.first_purchase, |d| d.min(c.first_purchase))
        })
        .collect();
    let tenure_months: Vec<i64> = start.iter().map(|&s| whole_months(s, as_of)).collect();
    let growth: Vec<Option<f64>> = customers
        .iter()
        .map(|c| {
            let w = c.windows.as_deref()?;
            let prev = money(w.revenue_prev_12m);
            (prev > 0.0).then(|| money(w.revenue_12m) / prev - 1.0)
        })
        .collect();
    let repurchase: Vec<f64> = customers
        .iter()
        .map(|c| (c.orders.saturating_sub(1)) as f64 / c.orders.max(1) as f64)
        .collect();

    p.push(
        "recency_days",
        num(&|i| Some(customers[i].recency_days as f64)),
    );
    p.push(
        "days_since_last_order",
        num(&|i| Some(customers[i].recency_days as f64)),
    );
    p.push("frequency", num(&|i| Some(customers[i].frequency as f64)));
    p.push("orders", num(&|i| Some(customers[i].orders as f64)));
    p.push("monetary", num(&|i| Some(money(customers[i].monetary))));
    p.push("gross", num(&|i| Some(money(customers[i].gross))));
    p.push("refunds", num(&|i| Some(money(customers[i].refunds))));
    p.push(
        "avg_order_value",
        num(&|i| Some(money(customers[i].avg_order_value))),
    );
    p.push(
        "tenure_days",
        num(&|i| Some((as_of - start[i]).num_days() as f64)),
    );
    p.push("tenure_months", num(&|i| Some(tenure_months[i] as f64)));
    p.push(
        "annual_revenue",
        num(&|i| customers[i].windows.as_ref().map(|w| money(w.revenue_12m))),
    );
    p.push(
        "revenue_prev_12m",
        num(&|i| {
            customers[i]
                .windows
                .as_ref()
                .map(|w| money(w.revenue_prev_12m))
        }),
    );
    p.push("revenue_growth", num(&|i| growth[i]));
    p.push(
        "orders_12m",
        num(&|i| customers[i].windows.as_ref().map(|w| w.orders_12m as f64)),
    );
    p.push("repurchase_rate", num(&|i| Some(repurchase[i])));
    let stats: Vec<Option<InteractionStats>> = customers
        .iter()
        .map(|c| interactions.and_then(|l| l.stats(&c.customer_id, as_of)))
        .collect();
    p.push(
        "interactions_90d",
        num(&|i| stats[i].map(|s| s.interactions_90d as f64)),
    );
    p.push(
        "complaints_90d",
        num(&|i| stats[i].map(|s| s.complaints_90d as f64)),
    );
    p.push(
        "complaint_rate",
        num(&|i| stats[i].and_then(|s| s.complaint_rate)),
    );
    p.push(
        "avg_satisfaction",
        num(&|i| stats[i].and_then(|s| s.avg_satisfaction)),
    );
    p.push(
        "last_nps",
        num(&|i| stats[i].and_then(|s| s.last_nps).map(f64::from)),
    );
    p.push(
        "nps_category",
        text(&|i| stats[i].and_then(|s| s.last_nps).map(|n| nps_category(n))),
    );
    p.push(
        "loyalty",
        text(&|i| {
            let sat = stats[i].and_then(|s| s.avg_satisfaction);
            Some(loyalty(repurchase[i], sat))
        }),
    );
    let rfm = tiering.rfm.customers();
    p.push("r_score", num(&|i| Some(f64::from(rfm[i].r))));
    p.push("f_score", num(&|i| Some(f64::from(rfm[i].f))));
    p.push("m_score", num(&|i| Some(f64::from(rfm[i].m))));
    p.push("rfm_class", text(&|i| Some(rfm[i].class.code())));
    p.push("rfm_segment", text(&|i| Some(rfm[i].segment.code())));
    let abc = tiering.abc.classes();
    p.push("abc_class", text(&|i| Some(abc[i].code())));
    p.push(
        "lifecycle",
        text(&|i| Some(lifecycle.stage(customers[i].recency_days, tenure_months[i], growth[i]))),
    );
    set_builtin_known(&mut p.catalog, 0);
    if let Some(a) = attributes {
        let rows: Vec<Option<&[String]>> =
            customers.iter().map(|c| a.values(&c.customer_id)).collect();
        for (k, name) in a.names().iter().enumerate() {
            p.push(name, attribute_column(&rows, k, a.is_number(k)));
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    struct Master(Vec<String>);
    impl Attributes for Master {
        fn names(&self) -> &[String] {
            &self.0
        }
        fn values(&self, customer_id: &str) -> Option<&[String]> {
            (customer_id == "A").then_some(&self.0[..])
        }
        fn signup(&self, customer_id: &str) -> Option<NaiveDate> {
            match customer_id {
                "A" => Some(d("2023-01-15")),
                // after B's first order: the first order starts the relationship
                "B" => Some(d("2025-03-01")),
                _ => None,
            }
        }
        fn is_number(&self, k: usize) -> bool {
            k == 0
        }
    }

    #[test]
    fn the_profile_has_the_builtin_columns_then_the_attributes_with_their_values() {
        use crate::{AbcParams, Aggregator, FrequencyBasis, Money, RfmParams};
        let mut agg = Aggregator::new(None, FrequencyBasis::Orders).keep_history();
        agg.add("A", Some("o1"), d("2024-03-01"), Money::from_major(100));
        agg.add("A", Some("o2"), d("2025-03-01"), Money::from_major(300));
        agg.add("B", Some("o3"), d("2025-02-01"), Money::from_major(50));
        let features = agg.finish(d("2025-03-15"));
        let rfm = RfmParams::new().check().expect("rfm");
        let abc = AbcParams::new().check().expect("abc");
        let t = crate::tier(features, &rfm, &abc);
        // attribute names "7" and "x": "7" is a number column, the second text
        let master = Master(vec!["7".into(), "x".into()]);
        let mut log = InteractionLog::new();
        let survey = |date, nps| crate::interactions::Interaction {
            date: d(date),
            kind: crate::interactions::InteractionKind::Survey,
            satisfaction: Some(4),
            nps: Some(nps),
        };
        log.add("A", survey("2025-01-10", 6));
        log.add("A", survey("2025-03-01", 10));
        let p = profile(&t, Some(&master), Some(&log), &LifecycleParams::default());
        let names = p.catalog().names();
        for (k, (name, ty)) in BUILTIN_COLUMNS.iter().enumerate() {
            assert_eq!(
                (names[k].as_str(), p.catalog().column_type(k)),
                (*name, *ty)
            );
        }
        assert_eq!(&names[29..], ["7", "x"]);
        assert_eq!(catalog(Some(&master)).names()[..names.len()], names[..]);
        assert_eq!(catalog(Some(&master)).column_type(30), ColumnType::Text);
        let v = |col: &str, row| p.value(p.catalog().find(col).expect(col), row);
        // A: signup 2023-01-15 → 26 whole months to 2025-03-15; 12-month revenue 300 (the
        // 100 of 2024-03-01 is more than 12 months back) against 100 the year before: +200%
        assert_eq!(v("tenure_months", 0), Value::Number(26.0));
        assert_eq!(v("annual_revenue", 0), Value::Number(300.0));
        assert_eq!(v("revenue_growth", 0), Value::Number(2.0));
        assert_eq!(v("repurchase_rate", 0), Value::Number(0.5));
        assert_eq!(v("loyalty", 0), Value::Text("medium"));
        assert_eq!(v("last_nps", 0), Value::Number(10.0));
        assert_eq!(v("nps_category", 0), Value::Text("promoter"));
        assert_eq!(v("interactions_90d", 0), Value::Number(2.0));
        assert_eq!(v("nps_category", 1), Value::Null);
        assert_eq!(v("lifecycle", 0), Value::Text("stable"));
        assert_eq!(v("7", 0), Value::Number(7.0));
        // B has no master row and a signup after its first order: attributes empty, tenure
        // from its first order (2025-02-01), no growth
        assert_eq!(v("x", 1), Value::Null);
        assert_eq!(v("tenure_months", 1), Value::Number(1.0));
        assert_eq!(v("revenue_growth", 1), Value::Null);
        assert_eq!(v("lifecycle", 1), Value::Text("new"));
    }

    #[test]
    fn loyalty_bands_combine_repurchase_and_satisfaction() {
        assert_eq!(loyalty(0.8, None), "high");
        assert_eq!(loyalty(0.8, Some(4.0)), "high");
        assert_eq!(loyalty(0.8, Some(3.5)), "medium");
        assert_eq!(loyalty(0.7, None), "medium");
        assert_eq!(loyalty(0.3, None), "medium");
        assert_eq!(loyalty(0.29, Some(5.0)), "low");
        assert_eq!(loyalty(0.9, Some(2.0)), "low");
    }

    #[test]
    fn whole_months_count_calendar_months() {
        assert_eq!(whole_months(d("2024-01-31"), d("2024-02-29")), 1);
        assert_eq!(whole_months(d("2024-01-31"), d("2024-02-28")), 0);
        assert_eq!(whole_months(d("2024-01-15"), d("2024-02-15")), 1);
        assert_eq!(whole_months(d("2022-03-10"), d("2024-03-09")), 23);
        assert_eq!(whole_months(d("2022-03-10"), d("2024-03-10")), 24);
        assert_eq!(whole_months(d("2025-01-01"), d("2024-01-01")), 0);
        assert_eq!(whole_months(d("2025-01-31"), d("2025-04-30")), 3);
        assert_eq!(whole_months(d("2025-01-31"), d("2025-04-29")), 2);
        assert_eq!(whole_months(d("2024-02-29"), d("2025-02-28")), 12);
    }

    #[test]
    fn lifecycle_boundaries_follow_the_brief() {
        let l = LifecycleParams::default();
        // tenure: < 6 new, 6..=24 growing, > 24 stable
        assert_eq!(l.stage(10, 5, None), "new");
        assert_eq!(l.stage(10, 6, None), "growing");
        assert_eq!(l.stage(10, 24, None), "growing");
        assert_eq!(l.stage(10, 25, None), "stable");
        // no order for more than 180 days: churn warning; more than 365: churned
        assert_eq!(l.stage(180, 30, None), "stable");
        assert_eq!(l.stage(181, 30, None), "churn_warning");
        assert_eq!(l.stage(365, 30, None), "churn_warning");
        assert_eq!(l.stage(366, 2, None), "churned");
        // revenue halved year on year: churn warning even when recent
        assert_eq!(l.stage(5, 30, Some(-0.5)), "stable");
        assert_eq!(l.stage(5, 30, Some(-0.51)), "churn_warning");
    }
}
