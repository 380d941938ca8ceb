//! The scheme file (TOML) and its check against the columns available.
//!
//! ```toml
//! name = "B2B key accounts"
//! final = "tier"                  # the dimension that is the final tier (default: the last)
//! at_risk = "vip_at_risk"         # optional: the final tier the report lists as high-value
//!                                 # customers at risk
//!
//! [lifecycle]                     # optional; the brief's defaults
//! churn_warning_days = 180
//!
//! [[dimensions]]
//! name = "tier"
//! label = { zh = "客户等级", en = "Customer tier" }
//!
//! [[dimensions.tiers]]
//! name = "strategic"
//! label = { zh = "战略客户", en = "Strategic" }
//! rule = "annual_revenue >= 1000000 AND tenure_months >= 24"
//!
//! [[dimensions.tiers]]            # no rule: the default tier of the dimension
//! name = "standard"
//!
//! [strategies.strategic]
//! coverage = { zh = "专属客户经理", en = "dedicated account manager" }
//! response_hours = 4
//! follow_up_days = 30
//! ```
//!
//! A dimension's rules may name the features, attributes and built-in tiers of the profile
//! and every earlier dimension (as text: `value = 'high' AND lifecycle = 'stable'`).

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;

use super::error::SchemeError;
use super::expr::{Catalog, KnownValues, Rule};
use super::profile::LifecycleParams;
use crate::labels::Lang;

/// A text in Chinese and English (either may be left out; the other is shown instead).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// Chinese.
    #[serde(default)]
    pub zh: String,
    /// English.
    #[serde(default)]
    pub en: String,
}

impl Strategy {
    /// The next step for a customer of the tier, in `lang`: the follow-up cadence, else the
    /// coverage (empty when the strategy gives neither).
    pub fn next_step(&self, lang: Lang) -> &str {
        let cadence = self.cadence.pick(lang, "");
        if cadence.is_empty() {
            self.coverage.pick(lang, "")
        } else {
            cadence
        }
    }
}

impl Label {
    /// The text in `lang`, else in the other language, else `fallback`.
    pub fn pick<'a>(&'a self, lang: Lang, fallback: &'a str) -> &'a str {
        let (first, second) = match lang {
            Lang::Zh => (&self.zh, &self.en),
            Lang::En => (&self.en, &self.zh),
        };
        [first.as_str(), second.as_str(), fallback]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or(fallback)
    }
}

/// The service strategy of a final tier.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Strategy {
    /// Account manager coverage (dedicated, pooled, self-service, …).
    #[serde(default)]
    pub coverage: Label,
    /// Response time target, in hours.
    pub response_hours: Option<f64>,
    /// Days between follow-ups (visits, calls); the next action is due this long after the
    /// last order.
    pub follow_up_days: Option<u32>,
    /// Visit or follow-up cadence, in words.
    #[serde(default)]
    pub cadence: Label,
    /// Marketing actions.
    #[serde(default)]
    pub marketing: Label,
    /// Discount policy.
    #[serde(default)]
    pub discount: Label,
    /// Anything else.
    #[serde(default)]
    pub notes: Label,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTier {
    name: toml::Spanned<String>,
    #[serde(default)]
    label: Label,
    rule: Option<toml::Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDimension {
    name: toml::Spanned<String>,
    #[serde(default)]
    label: Label,
    #[serde(default)]
    tiers: Vec<FileTier>,
    /// The tiers best first, when that is not the order of the rules.
    rank: Option<toml::Spanned<Vec<String>>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemeFile {
    name: Option<String>,
    #[serde(rename = "final")]
    final_dimension: Option<toml::Spanned<String>>,
    at_risk: Option<toml::Spanned<String>>,
    #[serde(default)]
    lifecycle: LifecycleParams,
    #[serde(default)]
    dimensions: Vec<FileDimension>,
    #[serde(default)]
    strategies: BTreeMap<String, toml::Spanned<Strategy>>,
    cluster: Option<toml::Spanned<ClusterSection>>,
    #[serde(default)]
    alerts: Vec<super::alerts::FileAlert>,
    #[serde(default)]
    channels: Vec<super::alerts::FileChannel>,
}

/// `[cluster]`: k-means clusters whose id and description rules can use as the columns
/// `cluster` and `cluster_label` (every key optional, defaults as `stratum cluster`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterSection {
    k: Option<KSpec>,
    k_range: Option<[usize; 2]>,
    features: Option<Vec<String>>,
    scale: Option<String>,
    log: Option<bool>,
    seed: Option<u64>,
    runs: Option<usize>,
    order_by: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum KSpec {
    Number(usize),
    Text(String),
}

/// A scheme's `[cluster]` section, checked.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// The k-means settings.
    pub params: crate::cluster::CheckedClusterParams,
    /// The features (number columns of the profile).
    pub features: Vec<String>,
    /// The feature clusters are numbered by; `None` for monetary if clustered on, else the
    /// first.
    pub order_by: Option<String>,
}

/// A tier of a checked scheme.
#[derive(Debug, Clone)]
pub struct Tier {
    /// The tier's code.
    pub name: String,
    /// Its labels.
    pub label: Label,
    /// Its rule; `None` for the default tier.
    pub rule: Option<Rule>,
    /// The rule as written in the scheme file (trimmed); `None` for the default tier.
    pub rule_text: Option<String>,
}

/// A dimension of a checked scheme.
#[derive(Debug, Clone)]
pub struct Dimension {
    /// The dimension's code (also the column later rules use).
    pub name: String,
    /// Its labels.
    pub label: Label,
    /// Its tiers, in rule order.
    pub tiers: Vec<Tier>,
    /// The index of the default tier.
    pub default: usize,
    /// Each tier's rank, 0 the best (by tier index): the dimension's `rank` list, else the
    /// order of the tiers. Moving to a lower rank is an upgrade.
    pub rank: Vec<u16>,
}

/// A scheme parsed from its file but not yet checked against the columns (see
/// [`SchemeParams::check`]).
#[derive(Debug, Clone)]
pub struct SchemeParams {
    file: SchemeFile,
    text: String,
}

/// A scheme whose rules are compiled against the profile's columns.
#[derive(Debug, Clone)]
pub struct CheckedScheme {
    /// The scheme's name.
    pub name: Option<String>,
    /// Lifecycle thresholds.
    pub lifecycle: LifecycleParams,
    /// Dimensions, in evaluation order.
    pub dimensions: Vec<Dimension>,
    /// The index of the final dimension.
    pub final_dimension: usize,
    /// The final tier (its index) whose customers are the high-value customers at risk
    /// (`at_risk = "vip_at_risk"` in the file): the report lists this tier's customers under
    /// that heading, so that the scheme and the report use one definition.
    pub at_risk: Option<usize>,
    /// Strategies by final tier name.
    pub strategies: BTreeMap<String, Strategy>,
    /// The columns the rules were compiled against, then one text column per dimension.
    pub catalog: Catalog,
    /// The alerts (`[[alerts]]`), compiled against `alert_catalog`.
    pub alerts: Vec<super::alerts::Alert>,
    /// The channels alerts go to (`[[channels]]`).
    pub channels: Vec<super::alerts::Channel>,
    /// The columns alert rules read (see [`super::alerts::alert_catalog`]).
    pub alert_catalog: Catalog,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

impl SchemeParams {
    /// The label of dimension `dimension`'s tier `tier` as the file writes it (for wording the
    /// codes a history store keeps); `None` for a dimension or tier the file does not have.
    pub fn tier_label(&self, dimension: &str, tier: &str) -> Option<&Label> {
        Some(&self.file_tier(dimension, tier)?.label)
    }

    /// Dimension `dimension`'s tier `tier` as the file writes it.
    fn file_tier(&self, dimension: &str, tier: &str) -> Option<&FileTier> {
        let d = self.file_dimension(dimension)?;
        d.tiers.iter().find(|t| t.name.get_ref() == tier)
    }

    /// Dimension `dimension` as the file writes it.
    fn file_dimension(&self, dimension: &str) -> Option<&FileDimension> {
        let mut all = self.file.dimensions.iter();
        all.find(|d| d.name.get_ref() == dimension)
    }

    /// The rule of dimension `dimension`'s tier `tier` as the file writes it; `None` for the
    /// default tier or a tier the file does not have.
    pub fn tier_rule(&self, dimension: &str, tier: &str) -> Option<&str> {
        let t = self.file_tier(dimension, tier)?;
        t.rule.as_ref().map(|r| r.get_ref().as_str())
    }

    /// The scheme's `name`, if the file gives one.
    pub fn name(&self) -> Option<&str> {
        self.file.name.as_deref()
    }

    /// The scheme file's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The dimensions' names, in the file's order.
    pub fn dimension_names(&self) -> Vec<&str> {
        self.file
            .dimensions
            .iter()
            .map(|d| d.name.get_ref().trim())
            .collect()
    }

    /// Dimension `dimension`'s tiers' names in the file's order (the order rules are tried).
    pub fn tier_names(&self, dimension: &str) -> Vec<&str> {
        self.file_dimension(dimension)
            .map(|d| d.tiers.iter().map(|t| t.name.get_ref().trim()).collect())
            .unwrap_or_default()
    }

    /// Dimension `dimension`'s tiers best first: its `rank` list, else the file's order.
    pub fn ranked_tiers(&self, dimension: &str) -> Vec<&str> {
        match self.file_dimension(dimension).and_then(|d| d.rank.as_ref()) {
            Some(rank) => rank.get_ref().iter().map(|t| t.trim()).collect(),
            None => self.tier_names(dimension),
        }
    }

    /// The final dimension's name as the file gives it (`final`, else the last dimension).
    pub fn final_name(&self) -> Option<&str> {
        match &self.file.final_dimension {
            Some(f) => Some(f.get_ref().trim()),
            None => self
                .file
                .dimensions
                .last()
                .map(|d| d.name.get_ref().as_str()),
        }
    }

    /// The final tier the file names as its high-value customers at risk (`at_risk = "…"`).
    pub fn at_risk_tier(&self) -> Option<&str> {
        self.file.at_risk.as_ref().map(|t| t.get_ref().as_str())
    }

    /// The service strategy of final tier `tier`, as the file writes it.
    pub fn strategy(&self, tier: &str) -> Option<&Strategy> {
        self.file.strategies.get(tier).map(|s| s.get_ref())
    }

    /// The label of dimension `dimension` as the file writes it.
    pub fn dimension_label(&self, dimension: &str) -> Option<&Label> {
        Some(&self.file_dimension(dimension)?.label)
    }

    /// Parses a scheme file's text.
    pub fn from_toml(text: &str) -> Result<SchemeParams, SchemeError> {
        let file: SchemeFile = toml::from_str(text).map_err(|e| SchemeError::Toml {
            line: e.span().map_or(1, |s| line_of(text, s.start)),
            message: e.message().trim().to_string(),
        })?;
        Ok(SchemeParams {
            file,
            text: text.to_string(),
        })
    }

    /// The `[cluster]` section, if any, checked; the error names its line.
    pub fn cluster(&self) -> Result<Option<ClusterSpec>, SchemeError> {
        use crate::cluster::{ClusterParams, KChoice};
        let Some(section) = &self.file.cluster else {
            return Ok(None);
        };
        let line = self.line(section.span());
        let c = section.get_ref();
        let invalid = |message: String| SchemeError::Invalid { line, message };
        let k = match (&c.k, c.k_range) {
            (Some(KSpec::Number(_)), Some(_)) => {
                return Err(invalid(
                    "cluster: give k (a number) or k_range (with k = \"auto\"), not both".into(),
                ));
            }
            (Some(KSpec::Number(k)), None) => KChoice::Fixed(*k),
            (None, range) | (Some(KSpec::Text(_)), range) => {
                if let Some(KSpec::Text(t)) = &c.k
                    && t != "auto"
                {
                    return Err(invalid(format!(
                        "cluster: k must be a number or \"auto\", got \"{t}\""
                    )));
                }
                let [min, max] = range.unwrap_or([2, 8]);
                KChoice::Auto { min, max }
            }
        };
        let mut params = ClusterParams::new().k(k);
        if let Some(scale) = &c.scale {
            params = params.scaling(
                scale
                    .parse()
                    .map_err(|e: String| invalid(format!("cluster: {e}")))?,
            );
        }
        if let Some(log) = c.log {
            params = params.log(log);
        }
        if let Some(seed) = c.seed {
            params = params.seed(seed);
        }
        if let Some(runs) = c.runs {
            params = params.runs(runs);
        }
        let params = params
            .check()
            .map_err(|e| invalid(format!("cluster: {e}")))?;
        let features = c.features.clone().unwrap_or_else(|| {
            ["recency_days", "frequency", "monetary"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        });
        Ok(Some(ClusterSpec {
            params,
            features,
            order_by: c.order_by.clone(),
        }))
    }

    /// The lifecycle thresholds (needed to build the profile before the check).
    pub fn lifecycle(&self) -> &LifecycleParams {
        &self.file.lifecycle
    }

    fn line(&self, span: Range<usize>) -> usize {
        line_of(&self.text, span.start)
    }

    /// Each tier's rank in `dim` (see [`Dimension::rank`]): its `rank` list must name every
    /// tier once.
    fn rank(
        &self,
        dim: &FileDimension,
        name: &str,
        tiers: &[Tier],
    ) -> Result<Vec<u16>, SchemeError> {
        let Some(list) = &dim.rank else {
            return Ok((0..tiers.len()).map(|k| k as u16).collect());
        };
        let line = self.line(list.span());
        let invalid = |message: String| SchemeError::Invalid { line, message };
        let mut rank = vec![u16::MAX; tiers.len()];
        for (r, tier) in list.get_ref().iter().enumerate() {
            let tier = tier.trim();
            let Some(k) = tiers.iter().position(|t| t.name == tier) else {
                let known: Vec<&str> = tiers.iter().map(|t| t.name.as_str()).collect();
                return Err(invalid(format!(
                    "dimension \"{name}\": rank names \"{tier}\", which is not one of its tiers ({})",
                    known.join(", ")
                )));
            };
            if rank[k] != u16::MAX {
                return Err(invalid(format!(
                    "dimension \"{name}\": rank names \"{tier}\" twice"
                )));
            }
            rank[k] = r as u16;
        }
        if let Some(k) = rank.iter().position(|&r| r == u16::MAX) {
            return Err(invalid(format!(
                "dimension \"{name}\": rank leaves out \"{}\"; list every tier, best first",
                tiers[k].name
            )));
        }
        Ok(rank)
    }

    /// Compiles every rule against `columns` (the profile's catalog), checking names,
    /// defaults, the final dimension and the strategies.
    pub fn check(self, columns: &Catalog) -> Result<CheckedScheme, SchemeError> {
        let file = &self.file;
        let lc = &file.lifecycle;
        if lc.new_months > lc.stable_months {
            return Err(SchemeError::Invalid {
                line: 1,
                message: format!(
                    "lifecycle: new_months ({}) must not exceed stable_months ({})",
                    lc.new_months, lc.stable_months
                ),
            });
        }
        if lc.churn_warning_days > lc.churned_days {
            return Err(SchemeError::Invalid {
                line: 1,
                message: format!(
                    "lifecycle: churn_warning_days ({}) must not exceed churned_days ({})",
                    lc.churn_warning_days, lc.churned_days
                ),
            });
        }
        if file.dimensions.is_empty() {
            return Err(SchemeError::Invalid {
                line: 1,
                message: "the scheme has no dimension; add a [[dimensions]] table".into(),
            });
        }
        let mut catalog = columns.clone();
        let mut dimensions = Vec::with_capacity(file.dimensions.len());
        for dim in &file.dimensions {
            let name = dim.name.get_ref().trim().to_string();
            let line = self.line(dim.name.span());
            if name.is_empty() {
                return Err(SchemeError::Invalid {
                    line,
                    message: "a dimension has an empty name".into(),
                });
            }
            if catalog.find(&name).is_some() {
                return Err(SchemeError::Invalid {
                    line,
                    message: format!(
                        "dimension \"{name}\" has the name of a column or an earlier dimension; rename it"
                    ),
                });
            }
            if dim.tiers.is_empty() {
                return Err(SchemeError::Invalid {
                    line,
                    message: format!("dimension \"{name}\" has no tiers"),
                });
            }
            let mut tiers: Vec<Tier> = Vec::with_capacity(dim.tiers.len());
            let mut default = None;
            for (k, t) in dim.tiers.iter().enumerate() {
                let tier = t.name.get_ref().trim().to_string();
                let tline = self.line(t.name.span());
                if tier.is_empty() {
                    return Err(SchemeError::Invalid {
                        line: tline,
                        message: format!("a tier of dimension \"{name}\" has an empty name"),
                    });
                }
                if tiers.iter().any(|x| x.name == tier) {
                    return Err(SchemeError::Invalid {
                        line: tline,
                        message: format!("dimension \"{name}\" has two tiers named \"{tier}\""),
                    });
                }
                let rule = match &t.rule {
                    None => {
                        if let Some(d) = default {
                            let first: &Tier = &tiers[d];
                            return Err(SchemeError::Invalid {
                                line: tline,
                                message: format!(
                                    "dimension \"{name}\" has two tiers without a rule (\"{}\" and \"{tier}\"); exactly one, the default, catches the customers no rule matches",
                                    first.name
                                ),
                            });
                        }
                        default = Some(k);
                        None
                    }
                    Some(r) => Some(Rule::compile(r.get_ref(), &catalog).map_err(|error| {
                        SchemeError::Rule {
                            line: self.rule_line(r) + error.line as usize - 1,
                            dimension: name.clone(),
                            tier: tier.clone(),
                            error,
                        }
                    })?),
                };
                tiers.push(Tier {
                    name: tier,
                    label: t.label.clone(),
                    rule,
                    rule_text: t.rule.as_ref().map(|r| r.get_ref().trim().to_string()),
                });
            }
            let Some(default) = default else {
                return Err(SchemeError::Invalid {
                    line,
                    message: format!(
                        "dimension \"{name}\" has no default tier; give one tier no rule, so that every customer lands in a tier"
                    ),
                });
            };
            // later rules compare this dimension's tier with its tier names only
            catalog.push_known(
                name.clone(),
                KnownValues::OneOf(tiers.iter().map(|t| t.name.clone()).collect()),
            );
            let rank = self.rank(dim, &name, &tiers)?;
            dimensions.push(Dimension {
                name,
                label: dim.label.clone(),
                tiers,
                default,
                rank,
            });
        }
        let final_dimension = match &file.final_dimension {
            None => dimensions.len() - 1,
            Some(f) => dimensions
                .iter()
                .position(|d| d.name == f.get_ref().trim())
                .ok_or_else(|| SchemeError::Invalid {
                    line: self.line(f.span()),
                    message: format!(
                        "final = \"{}\" names no dimension; the dimensions are {}",
                        f.get_ref(),
                        dimensions
                            .iter()
                            .map(|d| format!("\"{}\"", d.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })?,
        };
        let fin = &dimensions[final_dimension];
        let at_risk = match &file.at_risk {
            None => None,
            Some(a) => Some(
                fin.tiers
                    .iter()
                    .position(|t| t.name == a.get_ref().trim())
                    .ok_or_else(|| SchemeError::Invalid {
                        line: self.line(a.span()),
                        message: format!(
                            "at_risk = \"{}\" names no tier of the final dimension \"{}\"; its tiers are {}",
                            a.get_ref(),
                            fin.name,
                            tier_list(fin)
                        ),
                    })?,
            ),
        };
        let mut strategies = BTreeMap::new();
        for (tier, s) in &file.strategies {
            if !fin.tiers.iter().any(|t| t.name == *tier) {
                return Err(SchemeError::Invalid {
                    line: self.line(s.span()),
                    message: format!(
                        "strategy \"{tier}\" is for no tier of the final dimension \"{}\"; its tiers are {}",
                        fin.name,
                        tier_list(fin)
                    ),
                });
            }
            strategies.insert(tier.clone(), s.get_ref().clone());
        }
        if !strategies.is_empty()
            && let Some(t) = fin.tiers.iter().find(|t| !strategies.contains_key(&t.name))
        {
            // the line of the tier's name in the final dimension
            let line = file.dimensions[final_dimension]
                .tiers
                .iter()
                .find(|x| x.name.get_ref().trim() == t.name)
                .map_or(1, |x| self.line(x.name.span()));
            return Err(SchemeError::Invalid {
                line,
                message: format!(
                    "final tier \"{}\" has no strategy; add [strategies.{}]",
                    t.name, t.name
                ),
            });
        }
        let line = |span| self.line(span);
        let invalid = |(line, message)| SchemeError::Invalid { line, message };
        let channels = super::alerts::check_channels(&file.channels, &line).map_err(invalid)?;
        let final_tiers: Vec<String> = fin.tiers.iter().map(|t| t.name.clone()).collect();
        let alert_catalog = super::alerts::alert_catalog(&catalog, &final_tiers);
        let alerts = super::alerts::check_alerts(
            &file.alerts,
            &channels,
            &alert_catalog,
            columns.names().len(),
            &line,
            &|r| self.rule_line(r),
        )?;
        Ok(CheckedScheme {
            name: file.name.clone(),
            lifecycle: file.lifecycle,
            dimensions,
            final_dimension,
            at_risk,
            strategies,
            catalog,
            alerts,
            channels,
            alert_catalog,
        })
    }

    /// The line of the file where rule `r`'s text starts: after its opening quote, or after
    /// the newline that follows the opening quotes of a multi-line string.
    fn rule_line(&self, r: &toml::Spanned<String>) -> usize {
        let raw = &self.text[r.span()];
        let skip = raw.len() - raw.trim_start_matches(['"', '\'']).len();
        let start = r.span().start + skip;
        let rest = &self.text[start..];
        line_of(&self.text, start) + usize::from(rest.starts_with('\n') || rest.starts_with("\r\n"))
    }
}

fn tier_list(d: &Dimension) -> String {
    d.tiers
        .iter()
        .map(|t| format!("\"{}\"", t.name))
        .collect::<Vec<_>>()
        .join(", ")
}
