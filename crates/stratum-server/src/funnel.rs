//! The sales funnel of a kept run, as its summary holds it: `GET /api/funnel` and the data of
//! the `/funnel` page. Everyone signed in sees the funnel's figures (aggregates: by stage,
//! owner, tier and period); the open opportunities of high-tier customers are customer rows,
//! so an account manager sees only those of their own customers (and of prospects they own the
//! opportunity of) and a viewer none.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use stratum_core::Lang;
use stratum_core::funnel::FunnelSummary;
use stratum_store::RunInfo;
use utoipa::{IntoParams, ToSchema};

use crate::api::{RunOut, tier_label};
use crate::auth::Caller;
use crate::book::Book;
use crate::error::{ApiError, ApiQuery, ErrorBody};
use crate::state::AppState;

/// Which run's funnel, in which language.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FunnelQuery {
    /// The run (default: the latest).
    pub(crate) run: Option<i64>,
    /// `zh` or `en` (default: the server's).
    pub(crate) lang: Option<String>,
}

/// A run's sales funnel.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FunnelOut {
    pub(crate) run: RunOut,
    /// The funnel (stages, figures of every opportunity and by owner, tier code and period,
    /// the open opportunities of high-tier customers the caller may see); null when the run
    /// had no opportunities.
    #[schema(value_type = Option<Object>)]
    pub(crate) funnel: Option<FunnelSummary>,
    /// The name of each tier code of the funnel, in the language asked.
    pub(crate) tier_labels: BTreeMap<String, String>,
}

/// Keeps of `s.flagged` what `caller` may see: every one for analysts and admins, none for a
/// viewer, and for an account manager those of their customers in the latest run's `book`
/// (an opportunity of a prospect, not in the run: theirs when they own the opportunity).
pub(crate) fn visible(s: &mut FunnelSummary, caller: &Caller, book: Option<&Book>) {
    if !caller.role().sees_customers() {
        s.flagged.clear();
    } else if let Some(scope) = caller.scope() {
        s.flagged.retain(
            |o| match book.filter(|b| b.find(&o.customer_id).is_some()) {
                Some(b) => b
                    .find(&o.customer_id)
                    .and_then(|r| b.owner_of(r))
                    .is_some_and(|m| m == scope),
                None => o.owner == scope,
            },
        );
    }
}

/// [`visible`] on a run summary as kept (JSON), for routes that return it whole.
pub(crate) fn visible_json(summary: &mut serde_json::Value, caller: &Caller, book: Option<&Book>) {
    let Some(funnel) = summary.get_mut("funnel").filter(|f| !f.is_null()) else {
        return;
    };
    if let Ok(mut s) = serde_json::from_value::<FunnelSummary>(funnel.clone()) {
        visible(&mut s, caller, book);
        if let Ok(v) = serde_json::to_value(&s) {
            *funnel = v;
        }
    } else if let Some(flagged) = funnel.get_mut("flagged") {
        // a summary this server cannot read: no customer rows at all
        *flagged = serde_json::Value::Array(Vec::new());
    }
}

/// A run's funnel as `caller` may see it, with its tiers' names in `lang`.
pub(crate) async fn read(
    state: &Arc<AppState>,
    run: Option<i64>,
    caller: &Caller,
    lang: Lang,
) -> Result<(RunInfo, Option<FunnelSummary>, BTreeMap<String, String>), ApiError> {
    let (info, summary, scheme) = state
        .with_store(move |s| {
            let runs = s.runs()?;
            let info = match run {
                Some(id) => runs
                    .into_iter()
                    .find(|r| r.id == id)
                    .ok_or(ApiError::NotFound {
                        what: "run",
                        id: id.to_string(),
                    })?,
                None => runs.into_iter().last().ok_or(ApiError::NoRuns)?,
            };
            let docs = s.run_documents(info.id)?;
            let scheme = s.scheme_text(info.id)?;
            Ok((info, docs.summary, scheme))
        })
        .await?;
    let mut funnel = match summary.get("funnel") {
        Some(v) if !v.is_null() => Some(
            serde_json::from_value::<FunnelSummary>(v.clone())
                .map_err(|e| ApiError::Internal(format!("run {}'s funnel: {e}", info.id)))?,
        ),
        _ => None,
    };
    let scheme = scheme.and_then(|t| stratum_core::scheme::SchemeParams::from_toml(&t).ok());
    let mut labels = BTreeMap::new();
    let book = state.latest().await.ok();
    if let Some(f) = &mut funnel {
        visible(f, caller, book.as_deref());
        let codes = f
            .by_tier
            .iter()
            .map(|g| g.group.as_str())
            .chain(f.flagged.iter().map(|o| o.tier.as_str()))
            .filter(|c| !c.is_empty());
        for code in codes {
            labels.insert(
                code.to_string(),
                tier_label(scheme.as_ref(), &f.tier_dimension, code, lang),
            );
        }
    }
    Ok((info, funnel, labels))
}

/// The sales funnel of a run: stage-to-stage conversion, drop-off, days in stage, cycle and
/// win rate, by owner, customer tier and period.
#[utoipa::path(get, path = "/api/funnel", tag = "runs", params(FunnelQuery),
    responses((status = 200, body = FunnelOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn funnel(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<FunnelQuery>,
) -> Result<Json<FunnelOut>, ApiError> {
    let lang = crate::api::lang_of(q.lang.as_deref(), &state);
    let (info, funnel, tier_labels) = read(&state, q.run, &caller, lang).await?;
    Ok(Json(FunnelOut {
        run: RunOut::from(&info),
        funnel,
        tier_labels,
    }))
}
