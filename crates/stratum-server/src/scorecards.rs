//! Account managers' scorecards over the API and on the `/scorecards` page: per manager and
//! period, customers by tier, upgrades and downgrades, top-tier retention, revenue in the
//! period and its growth, disputes raised and approved ([`stratum_store::scorecard`]). An
//! account manager sees their own card; the other roles (viewers too: the cards are
//! aggregates) every card and the total.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use stratum_core::Lang;
use stratum_core::scheme::SchemeParams;
use stratum_store::access::Role;
use stratum_store::scorecard::{ScorePeriod, Scorecard, Scorecards};
use utoipa::{IntoParams, ToSchema};

use crate::api::{RunOut, lang_of, tier_label};
use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery, ErrorBody};
use crate::state::AppState;

/// Which period.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ScorecardQuery {
    /// `2026-Q3`, `2026-07` or `2026`.
    pub(crate) period: String,
    /// `zh` or `en` (default: the server's).
    pub(crate) lang: Option<String>,
}

/// One manager's scorecard.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScorecardOut {
    /// The account manager (empty: customers without one).
    pub(crate) manager: String,
    pub(crate) customers: usize,
    /// Customers at the end per tier, in the order of `tiers`.
    pub(crate) by_tier: Vec<usize>,
    pub(crate) upgrades: usize,
    pub(crate) downgrades: usize,
    pub(crate) stable: usize,
    pub(crate) new_customers: usize,
    pub(crate) lost_customers: usize,
    pub(crate) top_tier_at_start: usize,
    pub(crate) top_tier_kept: usize,
    /// kept / at start; null without top-tier customers at the start.
    pub(crate) top_tier_retention: Option<f64>,
    pub(crate) revenue_before: f64,
    pub(crate) revenue_in_period: f64,
    /// revenue in the period / before; null when nothing before.
    pub(crate) growth: Option<f64>,
    pub(crate) disputes_raised: usize,
    pub(crate) disputes_approved: usize,
    /// Follow-ups recorded in the period.
    pub(crate) follow_ups: usize,
    /// Of those, made by the day the customer was due.
    pub(crate) follow_ups_on_time: usize,
    /// Of those, made after it.
    pub(crate) follow_ups_late: usize,
    /// Customers overdue for their next action at the end.
    pub(crate) overdue_at_end: usize,
    /// Customers released from the manager to the public pool in the period.
    pub(crate) lost_to_pool: usize,
}

impl From<&Scorecard> for ScorecardOut {
    fn from(c: &Scorecard) -> Self {
        ScorecardOut {
            manager: c.manager.clone(),
            customers: c.customers,
            by_tier: c.by_tier.clone(),
            upgrades: c.upgrades,
            downgrades: c.downgrades,
            stable: c.stable,
            new_customers: c.new_customers,
            lost_customers: c.lost_customers,
            top_tier_at_start: c.top_at_start,
            top_tier_kept: c.top_kept,
            top_tier_retention: c.top_retention(),
            revenue_before: c.revenue_before.to_f64(),
            revenue_in_period: c.revenue_in_period.to_f64(),
            growth: c.growth(),
            disputes_raised: c.disputes_raised,
            disputes_approved: c.disputes_approved,
            follow_ups: c.follow_ups,
            follow_ups_on_time: c.follow_ups_on_time,
            follow_ups_late: c.follow_ups_late,
            overdue_at_end: c.overdue_at_end,
            lost_to_pool: c.lost_to_pool,
        }
    }
}

/// A tier of the scorecards.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScoreTierOut {
    pub(crate) tier: String,
    pub(crate) label: String,
}

/// The scorecards of a period.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScorecardsOut {
    pub(crate) period: String,
    /// The run at the period's start and at its end.
    pub(crate) from: RunOut,
    pub(crate) to: RunOut,
    pub(crate) dimension: String,
    /// The tiers, best first.
    pub(crate) tiers: Vec<ScoreTierOut>,
    /// Per account manager (an account manager: their own only).
    pub(crate) cards: Vec<ScorecardOut>,
    /// Every manager together (null for an account manager).
    pub(crate) total: Option<ScorecardOut>,
}

/// The scorecards of `period` as `caller` may see them.
/// The scorecards of `period` as `caller` may see them, with the end run's scheme (which
/// names the tiers).
pub(crate) async fn read(
    state: &Arc<AppState>,
    caller: &Caller,
    period: &str,
) -> Result<(Scorecards, Option<SchemeParams>), ApiError> {
    let period = ScorePeriod::parse(period).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "period `{period}`: give a quarter (2026-Q3), a month (2026-07) or a year (2026)"
        ))
    })?;
    let (mut cards, scheme) = state
        .with_store(move |s| {
            let cards = s.scorecards(&period).map_err(|e| match e {
                e @ stratum_store::StoreError::NoPeriodRuns { .. } => {
                    ApiError::BadRequest(e.to_string())
                }
                e => e.into(),
            })?;
            let text = s.scheme_text(cards.to.id)?;
            Ok((cards, text.and_then(|t| SchemeParams::from_toml(&t).ok())))
        })
        .await?;
    if caller.role() == Role::Manager {
        let book = caller.user.book().to_string();
        cards.cards.retain(|c| c.manager == book);
    }
    Ok((cards, scheme))
}

/// `s` as the API gives it, tiers named in `lang`.
pub(crate) fn out(
    s: &Scorecards,
    scheme: Option<&stratum_core::scheme::SchemeParams>,
    caller: &Caller,
    lang: Lang,
) -> ScorecardsOut {
    ScorecardsOut {
        period: s.period.label.clone(),
        from: RunOut::from(&s.from),
        to: RunOut::from(&s.to),
        dimension: s.dimension.clone(),
        tiers: s
            .tiers
            .iter()
            .map(|t| ScoreTierOut {
                tier: t.clone(),
                label: tier_label(scheme, &s.dimension, t, lang),
            })
            .collect(),
        cards: s.cards.iter().map(ScorecardOut::from).collect(),
        total: (caller.role() != Role::Manager).then(|| ScorecardOut::from(&s.total)),
    }
}

/// The account managers' scorecards of a period (an account manager: their own).
#[utoipa::path(get, path = "/api/scorecards", tag = "review", params(ScorecardQuery),
    responses((status = 200, body = ScorecardsOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn scorecards(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ScorecardQuery>,
) -> Result<Json<ScorecardsOut>, ApiError> {
    let lang = lang_of(q.lang.as_deref(), &state);
    let (s, scheme) = read(&state, &caller, &q.period).await?;
    Ok(Json(out(&s, scheme.as_ref(), &caller, lang)))
}

/// The scorecards as one table: the header (tier columns named by `label`) and a row per
/// manager, then the total when there is one. The CLI's files and terminal table, and the
/// page's downloads, are laid out from it.
pub fn table(
    s: &Scorecards,
    label: &dyn Fn(&str) -> String,
    with_total: bool,
    lang: Lang,
) -> (Vec<String>, Vec<Vec<stratum_io::cells::Cell<'static>>>) {
    use stratum_io::cells::Cell;
    let mut header: Vec<String> = vec![
        lang.pick("客户经理", "manager").into(),
        lang.pick("客户数", "customers").into(),
    ];
    header.extend(s.tiers.iter().map(|t| label(t)));
    header.extend(
        [
            ("升级", "upgrades"),
            ("降级", "downgrades"),
            ("不变", "stable"),
            ("新增客户", "new customers"),
            ("流失客户", "lost customers"),
            ("期初顶级客户", "top tier at start"),
            ("保留", "top tier kept"),
            ("顶级客户保留率", "top-tier retention"),
            ("期初收入", "revenue before"),
            ("期内收入", "revenue in period"),
            ("增长", "growth"),
            ("提出异议", "disputes raised"),
            ("异议获批", "disputes approved"),
            ("期内跟进", "follow-ups"),
            ("按时跟进", "on time"),
            ("逾期跟进", "late"),
            ("期末逾期客户", "overdue at end"),
            ("流失到公海", "lost to the pool"),
        ]
        .map(|(zh, en)| lang.pick(zh, en).to_string()),
    );
    let share = |v: Option<f64>| v.map_or(Cell::Text(""), Cell::Share);
    let row = |c: &Scorecard, name: String| {
        let mut r = vec![Cell::Owned(name), Cell::Int(c.customers as i64)];
        r.extend(c.by_tier.iter().map(|&n| Cell::Int(n as i64)));
        r.extend([
            Cell::Int(c.upgrades as i64),
            Cell::Int(c.downgrades as i64),
            Cell::Int(c.stable as i64),
            Cell::Int(c.new_customers as i64),
            Cell::Int(c.lost_customers as i64),
            Cell::Int(c.top_at_start as i64),
            Cell::Int(c.top_kept as i64),
            share(c.top_retention()),
            Cell::Money(c.revenue_before),
            Cell::Money(c.revenue_in_period),
            share(c.growth()),
            Cell::Int(c.disputes_raised as i64),
            Cell::Int(c.disputes_approved as i64),
            Cell::Int(c.follow_ups as i64),
            Cell::Int(c.follow_ups_on_time as i64),
            Cell::Int(c.follow_ups_late as i64),
            Cell::Int(c.overdue_at_end as i64),
            Cell::Int(c.lost_to_pool as i64),
        ]);
        r
    };
    let mut rows: Vec<Vec<Cell<'static>>> = s
        .cards
        .iter()
        .map(|c| {
            let name = if c.manager.is_empty() {
                lang.pick("（无客户经理）", "(no manager)").to_string()
            } else {
                c.manager.clone()
            };
            row(c, name)
        })
        .collect();
    if with_total {
        rows.push(row(&s.total, lang.pick("合计", "total").into()));
    }
    (header, rows)
}

/// The table as a CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese)
/// or XLSX file's bytes.
pub fn file(
    header: &[String],
    rows: &[Vec<stratum_io::cells::Cell<'static>>],
    xlsx: bool,
) -> Result<Vec<u8>, ApiError> {
    let fail = |e: String| ApiError::Internal(format!("scorecards file: {e}"));
    if xlsx {
        let dir = tempfile::tempdir().map_err(|e| fail(e.to_string()))?;
        let path = dir.path().join("scorecards.xlsx");
        stratum_io::output::write_table_xlsx(&path, "scorecards", header, rows.iter())
            .map_err(|e| fail(e.to_string()))?;
        std::fs::read(&path).map_err(|e| fail(e.to_string()))
    } else {
        let mut out = b"\xEF\xBB\xBF".to_vec();
        let mut w = stratum_io::cells::CsvOut::new(&mut out, stratum_io::output::CsvText::Safe);
        w.texts(header).map_err(|e| fail(e.to_string()))?;
        for r in rows {
            w.cells(r).map_err(|e| fail(e.to_string()))?;
        }
        w.flush().map_err(|e| fail(e.to_string()))?;
        drop(w);
        Ok(out)
    }
}
