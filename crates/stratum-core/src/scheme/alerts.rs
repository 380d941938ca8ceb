//! Alerts: rules over a run and the run before it (`[[alerts]]` in a scheme) that tell the
//! people who act which customers changed, one digest per alert and recipient.
//!
//! ```toml
//! [[alerts]]
//! name = "strategic_lost"
//! label = { zh = "战略客户降级", en = "Strategic account downgraded" }
//! rule = "previous.value = 'strategic' AND value <> 'strategic'"
//! owner = "account_manager"      # each customer's digest goes to the value of this column
//! recipients = ["销售总监"]        # and every digest to these
//! channels = ["sales-group"]
//! lang = "zh"
//!
//! [[channels]]
//! name = "sales-group"
//! kind = "wecom"                 # webhook, wecom, dingtalk, feishu, email or file
//! url_env = "STRATUM_WECOM_URL"  # the URL (with its key) comes from the environment
//! ```
//!
//! A rule reads the new run's columns (every profile column, every dimension's tier,
//! `final_tier`) and the same columns of the run before as `previous.<column>` (empty for a
//! customer the run before did not score: a comparison with it is unknown, so not true).
//! Rules are checked like tier rules: unknown columns and typos in tier names are errors with a
//! suggestion. Channels name where secrets come from (environment variables), never the
//! secrets.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::expr::{Catalog, Row, Rule, Value};
use super::params::{CheckedScheme, Label};
use super::profile::{ColumnData, Profile};
use super::{KnownValues, SchemeResult};
use crate::labels::Lang;

/// The prefix of the run before's columns in alert rules.
pub const PREVIOUS: &str = "previous.";

/// The column of the final tier in alert rules.
pub const FINAL_TIER: &str = "final_tier";

/// `[[alerts]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileAlert {
    pub(crate) name: toml::Spanned<String>,
    #[serde(default)]
    pub(crate) label: Label,
    pub(crate) rule: toml::Spanned<String>,
    pub(crate) owner: Option<toml::Spanned<String>>,
    #[serde(default)]
    pub(crate) recipients: Vec<String>,
    pub(crate) channels: toml::Spanned<Vec<String>>,
    pub(crate) lang: Option<toml::Spanned<String>>,
}

/// `[[channels]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileChannel {
    pub(crate) name: toml::Spanned<String>,
    pub(crate) kind: toml::Spanned<String>,
    pub(crate) url_env: Option<String>,
    pub(crate) secret_env: Option<String>,
    pub(crate) path: Option<String>,
    pub(crate) from: Option<String>,
    #[serde(default)]
    pub(crate) to: Vec<String>,
}

/// Where a channel delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// An HTTP endpoint, signed as Standard Webhooks sign (`webhook-id`, `webhook-timestamp`,
    /// `webhook-signature`).
    Webhook,
    /// A WeCom (企业微信) group robot.
    WeCom,
    /// A DingTalk (钉钉) custom robot, signed with its secret when it has one.
    DingTalk,
    /// A Feishu (飞书) custom bot, signed with its secret when it has one.
    Feishu,
    /// A file of JSON lines, one digest a line.
    File,
    /// E-mail over SMTP, plain text and HTML.
    Email,
}

impl ChannelKind {
    /// The names of the kinds, as written in a scheme.
    pub const NAMES: [&'static str; 6] =
        ["webhook", "wecom", "dingtalk", "feishu", "file", "email"];

    fn of(name: &str) -> Option<ChannelKind> {
        Some(match name {
            "webhook" => ChannelKind::Webhook,
            "wecom" => ChannelKind::WeCom,
            "dingtalk" => ChannelKind::DingTalk,
            "feishu" => ChannelKind::Feishu,
            "file" => ChannelKind::File,
            "email" => ChannelKind::Email,
            _ => return None,
        })
    }

    /// The name, as written in a scheme.
    pub fn name(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::WeCom => "wecom",
            ChannelKind::DingTalk => "dingtalk",
            ChannelKind::Feishu => "feishu",
            ChannelKind::File => "file",
            ChannelKind::Email => "email",
        }
    }
}

/// A channel of a checked scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Its name, as alerts name it.
    pub name: String,
    /// Where it delivers.
    pub kind: ChannelKind,
    /// The environment variable that holds its URL (HTTP kinds).
    pub url_env: Option<String>,
    /// The environment variable that holds its signing secret.
    pub secret_env: Option<String>,
    /// The file it appends to (file channels).
    pub path: Option<String>,
    /// The sender (e-mail channels).
    pub from: Option<String>,
    /// The addresses every message goes to (e-mail channels; else each digest's recipient).
    pub to: Vec<String>,
}

/// An alert of a checked scheme.
#[derive(Debug, Clone)]
pub struct Alert {
    /// Its code.
    pub name: String,
    /// Its labels.
    pub label: Label,
    /// Its rule, compiled against [`CheckedScheme::alert_catalog`].
    pub rule: Rule,
    /// The rule as written.
    pub rule_text: String,
    /// The profile column that names each customer's recipient (its account manager).
    pub owner: Option<String>,
    /// Recipients of every digest of the alert.
    pub recipients: Vec<String>,
    /// The channels its digests go to.
    pub channels: Vec<String>,
    /// The language of its digests.
    pub lang: Lang,
}

/// Why an alert or channel does not fit: the line and the message.
pub(crate) type Invalid = (usize, String);

/// Checks the channels.
pub(crate) fn check_channels(
    channels: &[FileChannel],
    line: &dyn Fn(std::ops::Range<usize>) -> usize,
) -> Result<Vec<Channel>, Invalid> {
    let mut out: Vec<Channel> = Vec::new();
    for c in channels {
        let name = c.name.get_ref().trim().to_string();
        let at = line(c.name.span());
        if name.is_empty() {
            return Err((at, "a channel has an empty name".into()));
        }
        if out.iter().any(|x| x.name == name) {
            return Err((at, format!("two channels are named \"{name}\"")));
        }
        let kind = ChannelKind::of(c.kind.get_ref().trim()).ok_or_else(|| {
            (
                line(c.kind.span()),
                format!(
                    "channel \"{name}\": kind \"{}\" is none of {}",
                    c.kind.get_ref(),
                    ChannelKind::NAMES.join(", ")
                ),
            )
        })?;
        let env_name = |v: &Option<String>, what: &str| -> Result<Option<String>, Invalid> {
            match v.as_deref().map(str::trim) {
                Some(v)
                    if v.is_empty()
                        || !v.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') =>
                {
                    Err((
                        at,
                        format!(
                            "channel \"{name}\": {what} = \"{v}\" is not the name of an environment variable (letters, digits and _); the secret itself never goes in the scheme"
                        ),
                    ))
                }
                v => Ok(v.map(str::to_string)),
            }
        };
        let url_env = env_name(&c.url_env, "url_env")?;
        let secret_env = env_name(&c.secret_env, "secret_env")?;
        match kind {
            ChannelKind::File if c.path.as_deref().is_none_or(|p| p.trim().is_empty()) => {
                return Err((at, format!("channel \"{name}\" (file) needs a path")));
            }
            ChannelKind::File => {}
            ChannelKind::Email if c.from.as_deref().is_none_or(|f| !f.contains('@')) => {
                return Err((
                    at,
                    format!("channel \"{name}\" (email) needs from: the sender's address"),
                ));
            }
            _ if url_env.is_none() => {
                return Err((
                    at,
                    format!(
                        "channel \"{name}\" ({}) needs url_env: the environment variable that holds its URL",
                        kind.name()
                    ),
                ));
            }
            ChannelKind::Webhook if secret_env.is_none() => {
                return Err((
                    at,
                    format!(
                        "channel \"{name}\" (webhook) needs secret_env: the environment variable that holds its signing secret"
                    ),
                ));
            }
            _ => {}
        }
        out.push(Channel {
            name,
            kind,
            url_env,
            secret_env,
            path: c.path.clone(),
            from: c.from.clone(),
            to: c.to.iter().map(|t| t.trim().to_string()).collect(),
        });
    }
    Ok(out)
}

/// Checks the alerts against the channels and the alert catalog, whose first
/// `profile_columns` are the profile's.
pub(crate) fn check_alerts(
    alerts: &[FileAlert],
    channels: &[Channel],
    catalog: &Catalog,
    profile_columns: usize,
    line: &dyn Fn(std::ops::Range<usize>) -> usize,
    rule_line: &dyn Fn(&toml::Spanned<String>) -> usize,
) -> Result<Vec<Alert>, super::SchemeError> {
    let invalid = |line: usize, message: String| super::SchemeError::Invalid { line, message };
    let mut out: Vec<Alert> = Vec::new();
    for a in alerts {
        let name = a.name.get_ref().trim().to_string();
        let at = line(a.name.span());
        if name.is_empty() {
            return Err(invalid(at, "an alert has an empty name".into()));
        }
        if out.iter().any(|x| x.name == name) {
            return Err(invalid(at, format!("two alerts are named \"{name}\"")));
        }
        let rule =
            Rule::compile(a.rule.get_ref(), catalog).map_err(|error| super::SchemeError::Rule {
                line: rule_line(&a.rule) + error.line as usize - 1,
                dimension: "alerts".into(),
                tier: name.clone(),
                error,
            })?;
        let owner = match &a.owner {
            Some(o) => {
                let column = o.get_ref().trim();
                // a column of the customers' profile (not a dimension's tier)
                let ok = catalog.find(column).is_some_and(|i| i < profile_columns);
                if !ok {
                    let hint = catalog
                        .suggest(column)
                        .map(|s| format!("; did you mean \"{s}\"?"))
                        .unwrap_or_default();
                    return Err(invalid(
                        line(o.span()),
                        format!(
                            "alert \"{name}\": owner = \"{column}\" is no column of the customers (the account manager's column of the customer master){hint}"
                        ),
                    ));
                }
                Some(column.to_string())
            }
            None => None,
        };
        if owner.is_none() && a.recipients.is_empty() {
            return Err(invalid(
                at,
                format!(
                    "alert \"{name}\" has no recipient: give owner (a column naming each customer's account manager) or recipients"
                ),
            ));
        }
        let names = a.channels.get_ref();
        if names.is_empty() {
            return Err(invalid(
                line(a.channels.span()),
                format!("alert \"{name}\" has no channel"),
            ));
        }
        for c in names {
            if !channels.iter().any(|x| x.name == c.trim()) {
                let known: Vec<&str> = channels.iter().map(|x| x.name.as_str()).collect();
                return Err(invalid(
                    line(a.channels.span()),
                    format!(
                        "alert \"{name}\": channel \"{c}\" is not a [[channels]] name; the channels are: {}",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
        }
        let lang = match &a.lang {
            None => Lang::En,
            Some(l) => l
                .get_ref()
                .trim()
                .parse()
                .map_err(|e| invalid(line(l.span()), format!("alert \"{name}\": lang: {e}")))?,
        };
        out.push(Alert {
            name,
            label: a.label.clone(),
            rule,
            rule_text: a.rule.get_ref().trim().to_string(),
            owner,
            recipients: a
                .recipients
                .iter()
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect(),
            channels: names.iter().map(|c| c.trim().to_string()).collect(),
            lang,
        });
    }
    Ok(out)
}

/// The columns alert rules read: the scheme's (profile columns, then a text column per
/// dimension), `final_tier`, then each of those again as `previous.<name>`. The run before's
/// columns are the first half.
pub fn alert_catalog(scheme_catalog: &Catalog, final_tiers: &[String]) -> Catalog {
    let mut c = scheme_catalog.clone();
    c.push_known(FINAL_TIER, KnownValues::OneOf(final_tiers.to_vec()));
    let n = c.names().len();
    for i in 0..n {
        let name = format!("{PREVIOUS}{}", c.names()[i]);
        let at = if c.is_untyped(i) {
            c.push_untyped(name)
        } else {
            c.push(name, c.column_type(i))
        };
        c.set_known(at, c.known_values(i).cloned());
    }
    c
}

/// The run before, for alert rules: its customers' columns as one table named as in the
/// alert catalog (profile columns, a column per dimension, `final_tier`; a column it lacks is
/// empty), and each customer's row.
#[derive(Debug)]
pub struct Previous<'a> {
    /// The columns.
    pub table: &'a Profile,
    /// Each customer's row in `table`, by customer id.
    pub rows: HashMap<&'a str, usize>,
}

/// An alert that fired for a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fired {
    /// The alert (its index in [`CheckedScheme::alerts`]).
    pub alert: usize,
    /// The customer (its row in the new run).
    pub row: usize,
    /// Its row in the run before, when that run scored it.
    pub previous: Option<usize>,
}

/// A customer in a digest.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DigestItem {
    /// The customer id.
    pub customer_id: String,
    /// The final tier in the run before (none: not scored then).
    pub from: Option<String>,
    /// The final tier now.
    pub to: String,
    /// The final tier before, as labelled.
    pub from_label: Option<String>,
    /// The final tier now, as labelled.
    pub to_label: String,
    /// Why it has its tier now, in words.
    pub reason: String,
    /// The strategy's next step for its tier now (empty without strategies).
    pub next_step: String,
    /// Net revenue.
    pub revenue: f64,
}

/// One alert's customers in a digest, in the alert's language.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Section {
    /// The alert's code.
    pub alert: String,
    /// The alert's title in its language.
    pub title: String,
    /// The customers, by revenue from the highest.
    pub customers: Vec<DigestItem>,
}

/// Everything a run has for one recipient on one channel: a section per alert that fired
/// for them, in scheme order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Digest {
    /// The alerts' codes, comma separated.
    pub alert: String,
    /// The title: the alert's, or for several `客户分级提醒` / `Tier alerts`.
    pub title: String,
    /// Who receives it (empty: customers without an owner).
    pub recipient: String,
    /// `zh` or `en`: the first alert's language.
    pub lang: String,
    /// The alerts and their customers.
    pub alerts: Vec<Section>,
}

impl Digest {
    /// The customers of every section.
    pub fn customers(&self) -> usize {
        self.alerts.iter().map(|s| s.customers.len()).sum()
    }
}

/// A digest and the channel it goes to.
#[derive(Debug, Clone, PartialEq)]
pub struct Addressed {
    /// The digest.
    pub digest: Digest,
    /// Its channel.
    pub channel: Channel,
}

/// A customer of the new run with the run before, as a [`Row`] of the alert catalog.
struct AlertRow<'a> {
    profile: &'a Profile,
    scheme: &'a CheckedScheme,
    result: &'a SchemeResult,
    row: usize,
    previous: Option<(&'a Profile, usize)>,
    /// Per column of the first half, its column in the run before's table.
    map: &'a [Option<usize>],
}

impl Row for AlertRow<'_> {
    fn get(&self, column: usize) -> Value<'_> {
        let p = self.profile.catalog().names().len();
        let d = self.scheme.dimensions.len();
        let half = p + d + 1;
        let tier = |dim: usize| {
            let t = self.result.assignments[self.row].tiers[dim];
            Value::Text(&self.scheme.dimensions[dim].tiers[usize::from(t)].name)
        };
        if column < p {
            self.profile.value(column, self.row)
        } else if column < p + d {
            tier(column - p)
        } else if column == p + d {
            tier(self.scheme.final_dimension)
        } else {
            match (
                self.previous,
                self.map.get(column - half).copied().flatten(),
            ) {
                (Some((table, j)), Some(c)) => table.value(c, j),
                _ => Value::Null,
            }
        }
    }
}

impl CheckedScheme {
    /// The customers each alert fires for: `profile` and `result` the new run's (`ids` its
    /// customer ids, in its order), `previous` the run before.
    pub fn fire(
        &self,
        profile: &Profile,
        result: &SchemeResult,
        ids: &[&str],
        previous: Option<&Previous<'_>>,
    ) -> Vec<Fired> {
        if self.alerts.is_empty() {
            return Vec::new();
        }
        let names = self.alert_catalog.names();
        let half = names.len() / 2;
        let map: Vec<Option<usize>> = match previous {
            Some(p) => names[..half]
                .iter()
                .map(|n| p.table.catalog().find(n))
                .collect(),
            None => vec![None; half],
        };
        let mut out = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let j = previous.and_then(|p| p.rows.get(id).map(|&j| (p.table, j)));
            let row = AlertRow {
                profile,
                scheme: self,
                result,
                row: i,
                previous: j,
                map: &map,
            };
            for (a, alert) in self.alerts.iter().enumerate() {
                if alert.rule.matches(&row) {
                    out.push(Fired {
                        alert: a,
                        row: i,
                        previous: j.map(|(_, j)| j),
                    });
                }
            }
        }
        out
    }

    /// The digests of `fired`: one per recipient (each customer's owner, and the alerts' fixed
    /// recipients) and channel, with a section per alert, in recipient then channel order.
    pub fn digests(
        &self,
        fired: &[Fired],
        profile: &Profile,
        result: &SchemeResult,
        ids: &[&str],
        previous: Option<&Previous<'_>>,
    ) -> Vec<Addressed> {
        let fin = &self.dimensions[self.final_dimension];
        let before = previous.and_then(|p| p.table.catalog().find(FINAL_TIER).map(|c| (p, c)));
        let monetary = match profile.column("monetary") {
            Some(ColumnData::Number(v)) => Some(v),
            _ => None,
        };
        // (recipient, channel) → the sections, with the language of the first
        let mut digests: BTreeMap<(String, String), (Lang, Vec<Section>)> = BTreeMap::new();
        for (a, alert) in self.alerts.iter().enumerate() {
            let lang = alert.lang;
            let label = |tier: &str| {
                fin.tiers
                    .iter()
                    .find(|t| t.name == tier)
                    .map_or(tier, |t| t.label.pick(lang, tier))
                    .to_string()
            };
            let owner = alert
                .owner
                .as_deref()
                .and_then(|o| profile.catalog().find(o));
            let mut by: BTreeMap<String, Vec<DigestItem>> = BTreeMap::new();
            for f in fired.iter().filter(|f| f.alert == a) {
                let i = f.row;
                let to = &fin.tiers[usize::from(result.assignments[i].tiers[self.final_dimension])];
                let from = match (before, f.previous) {
                    (Some((p, c)), Some(j)) => match p.table.value(c, j) {
                        Value::Text(t) => Some(t.to_string()),
                        _ => None,
                    },
                    _ => None,
                };
                let item = DigestItem {
                    customer_id: ids[i].to_string(),
                    from_label: from.as_deref().map(label),
                    from,
                    to: to.name.clone(),
                    to_label: to.label.pick(lang, &to.name).to_string(),
                    reason: result.assignments[i].reason.text(self, lang),
                    next_step: self
                        .strategies
                        .get(&to.name)
                        .map(|s| s.next_step(lang).to_string())
                        .unwrap_or_default(),
                    revenue: monetary.and_then(|m| m[i]).unwrap_or(0.0),
                };
                let mut to_whom: Vec<String> = alert.recipients.clone();
                if let Some(o) = owner {
                    let who = match profile.value(o, i) {
                        Value::Text(t) => t.trim().to_string(),
                        Value::Number(x) => crate::format::number(x, 0),
                        Value::Null => String::new(),
                    };
                    if !to_whom.contains(&who) {
                        to_whom.insert(0, who);
                    }
                }
                for who in to_whom {
                    by.entry(who).or_default().push(item.clone());
                }
            }
            for (recipient, mut items) in by {
                items.sort_by(|x, y| {
                    y.revenue
                        .total_cmp(&x.revenue)
                        .then_with(|| x.customer_id.cmp(&y.customer_id))
                });
                let section = Section {
                    alert: alert.name.clone(),
                    title: alert.label.pick(lang, &alert.name).to_string(),
                    customers: items,
                };
                for c in &alert.channels {
                    digests
                        .entry((recipient.clone(), c.clone()))
                        .or_insert_with(|| (lang, Vec::new()))
                        .1
                        .push(section.clone());
                }
            }
        }
        digests
            .into_iter()
            .filter_map(|((recipient, channel), (lang, sections))| {
                let channel = self.channels.iter().find(|x| x.name == channel)?.clone();
                let title = match sections.as_slice() {
                    [one] => one.title.clone(),
                    _ => lang.pick("客户分级提醒", "Tier alerts").to_string(),
                };
                let alert = sections
                    .iter()
                    .map(|s| s.alert.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                Some(Addressed {
                    digest: Digest {
                        alert,
                        title,
                        recipient,
                        lang: lang.pick("zh", "en").to_string(),
                        alerts: sections,
                    },
                    channel,
                })
            })
            .collect()
    }
}

/// The run before as [`Previous`] reads it: its profile columns, then a text column per
/// dimension (`dimensions`: name and each customer's tier) and `final_tier`.
pub fn previous_table(
    profile: Profile,
    dimensions: Vec<(String, Vec<Option<String>>)>,
    final_tier: Vec<Option<String>>,
) -> Profile {
    let mut columns: Vec<(String, ColumnData)> = Vec::new();
    for (name, tiers) in dimensions {
        columns.push((name, ColumnData::Text(tiers.into())));
    }
    columns.push((FINAL_TIER.to_string(), ColumnData::Text(final_tier.into())));
    profile.extended(columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abc::AbcParams;
    use crate::run::{RunInput, RunResult, run};
    use crate::scheme::{Attributes, SchemeError, SchemeParams};
    use crate::{Aggregator, FrequencyBasis, Money, RfmParams};
    use chrono::NaiveDate;

    const SCHEME: &str = r#"
name = "value"

[[dimensions]]
name = "value"
[[dimensions.tiers]]
name = "strategic"
label = { zh = "战略客户", en = "Strategic" }
rule = "monetary >= 1000"
[[dimensions.tiers]]
name = "standard"
label = { zh = "普通客户", en = "Standard" }

[strategies.strategic]
cadence = { zh = "每月拜访", en = "visit every month" }
[strategies.standard]
coverage = { zh = "自助服务", en = "self-service" }

[[alerts]]
name = "strategic_lost"
label = { zh = "战略客户降级", en = "Strategic account downgraded" }
rule = "previous.value = 'strategic' AND value <> 'strategic'"
owner = "account_manager"
recipients = ["director"]
channels = ["group"]

[[alerts]]
name = "new_strategic"
rule = "final_tier = 'strategic' AND previous.final_tier IS NULL"
recipients = ["sales-ops", "director"]
channels = ["log", "group"]
lang = "zh"

[[channels]]
name = "group"
kind = "wecom"
url_env = "STRATUM_WECOM_URL"

[[channels]]
name = "log"
kind = "file"
path = "alerts.jsonl"
"#;

    struct Managers(Vec<String>);
    impl Attributes for Managers {
        fn names(&self) -> &[String] {
            &self.0
        }
        fn values(&self, customer_id: &str) -> Option<&[String]> {
            let at = ["A", "B", "C", "D"]
                .iter()
                .position(|c| *c == customer_id)?;
            Some(std::slice::from_ref(&self.0[at + 1]))
        }
        fn signup(&self, _: &str) -> Option<NaiveDate> {
            None
        }
        fn is_number(&self, _: usize) -> bool {
            false
        }
    }

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, m, d).expect("date")
    }

    fn run_of(lines: &[(&str, &str, NaiveDate, i64)], as_of: NaiveDate) -> RunResult {
        // the attribute's name, then each customer's manager (A, B, C, D)
        let managers = Managers(
            ["account_manager", "王芳", "张伟", "王芳", "张伟"]
                .map(String::from)
                .to_vec(),
        );
        let mut agg = Aggregator::new(None, FrequencyBasis::Orders);
        for &(c, o, d, a) in lines {
            agg.add(c, Some(o), d, Money::from_major(a));
        }
        let (rfm, abc) = (
            RfmParams::new().check().expect("rfm"),
            AbcParams::new().check().expect("abc"),
        );
        let input = RunInput {
            scheme: Some(SchemeParams::from_toml(SCHEME).expect("scheme")),
            attributes: Some(&managers),
            validate: false,
            ..RunInput::new(agg.finish(as_of), as_of, &rfm, &abc)
        };
        run(input).expect("run")
    }

    /// Run 1: A 1,500 and B 1,200 strategic, C 100 standard. Run 2: B refunds 500 (700:
    /// standard, its strategic status lost), D new at 2,000 (strategic, not in run 1).
    #[test]
    fn alerts_on_a_hand_made_pair_of_runs_reach_their_recipients() {
        let run1 = run_of(
            &[
                ("A", "a1", day(1, 10), 1_500),
                ("B", "b1", day(1, 12), 1_200),
                ("C", "c1", day(1, 20), 100),
            ],
            day(3, 1),
        );
        let run2 = run_of(
            &[
                ("A", "a1", day(1, 10), 1_500),
                ("B", "b1", day(1, 12), 1_200),
                ("C", "c1", day(1, 20), 100),
                ("B", "b2", day(3, 5), -500),
                ("D", "d1", day(3, 10), 2_000),
            ],
            day(4, 1),
        );
        let s1 = run1.scheme.as_ref().expect("scheme");
        let tiers = |s: &crate::run::SchemeRun, d: usize| -> Vec<Option<String>> {
            s.result
                .assignments
                .iter()
                .map(|a| {
                    Some(
                        s.checked.dimensions[d].tiers[usize::from(a.tiers[d])]
                            .name
                            .clone(),
                    )
                })
                .collect()
        };
        let table = previous_table(
            s1.profile.clone(),
            vec![("value".into(), tiers(s1, 0))],
            tiers(s1, 0),
        );
        let ids1 = run1.tiering.features.customer_ids();
        let previous = Previous {
            table: &table,
            rows: ids1.iter().enumerate().map(|(j, id)| (*id, j)).collect(),
        };
        let s2 = run2.scheme.as_ref().expect("scheme");
        let ids2 = run2.tiering.features.customer_ids();
        let fired = s2
            .checked
            .fire(&s2.profile, &s2.result, &ids2, Some(&previous));
        let named: Vec<(&str, &str)> = fired
            .iter()
            .map(|f| (s2.checked.alerts[f.alert].name.as_str(), ids2[f.row]))
            .collect();
        assert_eq!(named, [("strategic_lost", "B"), ("new_strategic", "D")]);
        let digests = s2
            .checked
            .digests(&fired, &s2.profile, &s2.result, &ids2, Some(&previous));
        let shown: Vec<String> = digests
            .iter()
            .map(|a| {
                format!(
                    "{} → {:?}\n{:#?}",
                    a.channel.name, a.digest.recipient, a.digest
                )
            })
            .collect();
        insta::assert_snapshot!(shown.join("\n\n"));
        // without a run before, `previous.*` is empty: only the rule that asks for that fires
        let alone = s2.checked.fire(&s2.profile, &s2.result, &ids2, None);
        let named: Vec<(&str, &str)> = alone
            .iter()
            .map(|f| (s2.checked.alerts[f.alert].name.as_str(), ids2[f.row]))
            .collect();
        assert_eq!(named, [("new_strategic", "A"), ("new_strategic", "D")]);
    }

    fn check(text: &str) -> Result<CheckedScheme, SchemeError> {
        let mut catalog = crate::scheme::catalog(None);
        catalog.push("account_manager", crate::scheme::ColumnType::Text);
        SchemeParams::from_toml(text)?.check(&catalog)
    }

    #[test]
    fn alerts_are_checked_like_rules_and_channels_never_hold_secrets() {
        assert!(check(SCHEME).is_ok());
        let typo = SCHEME.replace(
            "previous.value = 'strategic'",
            "previous.value = 'stratgic'",
        );
        match check(&typo) {
            Err(SchemeError::Rule {
                line,
                dimension,
                tier,
                error,
            }) => {
                assert_eq!(
                    (dimension.as_str(), tier.as_str()),
                    ("alerts", "strategic_lost")
                );
                assert_eq!(line, 22);
                assert!(
                    matches!(&*error.kind, crate::scheme::RuleErrorKind::UnknownValue { suggestion: Some(s), .. } if s == "strategic"),
                    "{error:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        let column = SCHEME.replace("previous.value =", "previous.valeu =");
        let e = check(&column).expect_err("unknown column");
        assert!(
            e.to_string().contains("did you mean \"previous.value\""),
            "{e}"
        );
        let secret = SCHEME.replace(
            "url_env = \"STRATUM_WECOM_URL\"",
            "url_env = \"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc\"",
        );
        let e = check(&secret).expect_err("a URL is not a variable name");
        assert!(e.to_string().contains("never goes in the scheme"), "{e}");
        let channel = SCHEME.replace("channels = [\"group\"]", "channels = [\"grup\"]");
        let e = check(&channel).expect_err("unknown channel");
        assert!(
            e.to_string()
                .contains("channel \"grup\" is not a [[channels]] name"),
            "{e}"
        );
        let owner = SCHEME.replace("owner = \"account_manager\"", "owner = \"acount_manager\"");
        let e = check(&owner).expect_err("unknown owner column");
        assert!(
            e.to_string().contains("did you mean \"account_manager\""),
            "{e}"
        );
        // a dimension's tier names no one
        let owner = SCHEME.replace("owner = \"account_manager\"", "owner = \"value\"");
        let e = check(&owner).expect_err("a dimension is no owner column");
        assert!(e.to_string().contains("owner = \"value\""), "{e}");
        let kind = SCHEME.replace("kind = \"wecom\"", "kind = \"slack\"");
        let e = check(&kind).expect_err("unknown kind");
        assert!(
            e.to_string()
                .contains("webhook, wecom, dingtalk, feishu, file"),
            "{e}"
        );
    }
}
