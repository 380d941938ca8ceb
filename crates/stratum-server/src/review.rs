//! Tier review by sales over the API (the pages use the same functions): an account manager
//! agrees with a customer's final tier in the latest run, or disputes it with a proposed tier
//! and a reason (their own customers only; analysts and admins may review any); analysts and
//! admins approve or reject disputes from the queue, an approval becoming the customer's
//! override (applied by the next run kept in the store). Every review and decision is in the
//! audit log. Agreement rates are aggregates: every role sees them.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use stratum_core::Lang;
use stratum_store::access::{AuditEntry, Role};
use stratum_store::review::{
    Agreement, Decision, NewReview, Review, ReviewFilter, ReviewStats, ReviewStatus, Verdict,
};
use utoipa::{IntoParams, ToSchema};

use crate::api::{lang_of, tier_label};
use crate::auth::{Caller, now};
use crate::book::Book;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use crate::state::AppState;

/// The longest reason or answer kept, in characters.
const MAX_TEXT: usize = 2000;

/// A review of a customer's tier.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ReviewIn {
    /// `agree` or `dispute`.
    #[schema(pattern = "^(agree|dispute)$")]
    pub(crate) verdict: String,
    /// The tier proposed (a dispute): a final tier's code other than the customer's.
    pub(crate) proposed_tier: Option<String>,
    /// Why (required for a dispute).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub(crate) reason: String,
}

/// A decision on a dispute.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct DecisionIn {
    /// Approve (the proposed tier becomes an override) or reject (the rule's tier stays).
    pub(crate) approve: bool,
    /// The answer to the reviewer.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub(crate) answer: String,
    /// The last day the override applies (YYYY-MM-DD; approval only; none: until replaced).
    pub(crate) expires: Option<String>,
}

/// A review, as listed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReviewOut {
    pub(crate) id: i64,
    pub(crate) run: i64,
    pub(crate) customer: String,
    pub(crate) tier: String,
    /// The tier's name in the language asked.
    pub(crate) tier_label: String,
    /// `agree` or `dispute`.
    pub(crate) verdict: String,
    pub(crate) proposed_tier: Option<String>,
    pub(crate) proposed_label: Option<String>,
    pub(crate) reason: String,
    pub(crate) reviewer: String,
    /// The customer's account manager.
    pub(crate) manager: String,
    pub(crate) created_at: String,
    /// `agreed`, `pending`, `approved` or `rejected`.
    pub(crate) status: String,
    pub(crate) decided_by: Option<String>,
    pub(crate) decided_at: Option<String>,
    pub(crate) answer: Option<String>,
    /// The last day the override applies (an approved dispute).
    pub(crate) expires: Option<String>,
}

/// `r` as listed, its tiers named in `lang` by the scheme of `book` (the latest run's).
pub(crate) fn review_out(r: &Review, book: Option<&Book>, lang: Lang) -> ReviewOut {
    let scheme = book.and_then(|b| b.scheme.as_ref());
    let v = &r.review;
    let label = |t: &str| tier_label(scheme, &v.dimension, t, lang);
    ReviewOut {
        id: r.id,
        run: v.run,
        customer: v.customer.clone(),
        tier_label: label(&v.tier),
        tier: v.tier.clone(),
        verdict: v.verdict.code().into(),
        proposed_label: v.proposed.as_deref().map(label),
        proposed_tier: v.proposed.clone(),
        reason: v.reason.clone(),
        reviewer: v.reviewer.clone(),
        manager: v.manager.clone(),
        created_at: v.created_at.clone(),
        status: r.status.code().into(),
        decided_by: r.decided_by.clone(),
        decided_at: r.decided_at.clone(),
        answer: r.answer.clone(),
        expires: r.expires.map(|d| d.to_string()),
    }
}

/// Keeps `caller`'s review of customer `id`'s final tier in the latest run.
pub(crate) async fn submit(
    state: &Arc<AppState>,
    caller: &Caller,
    id: &str,
    input: ReviewIn,
) -> Result<Review, ApiError> {
    let book = crate::api::book_showing(state, caller, id).await?;
    let row = book.find(id).ok_or_else(|| ApiError::NotFound {
        what: "customer",
        id: id.to_string(),
    })?;
    let Some((dimension, tiers)) = &book.dimension else {
        return Err(ApiError::BadRequest(
            "the latest run has no tier scheme: there is no tier to review".into(),
        ));
    };
    let tier = book.tier_of(row).unwrap_or_default().to_string();
    let verdict = Verdict::parse(&input.verdict).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "verdict `{}`: give agree or dispute",
            input.verdict
        ))
    })?;
    let reason = input.reason.trim().to_string();
    if reason.chars().count() > MAX_TEXT {
        return Err(ApiError::BadRequest(format!(
            "the reason is longer than {MAX_TEXT} characters"
        )));
    }
    let proposed = match verdict {
        Verdict::Agree => None,
        Verdict::Dispute => {
            let p = input.proposed_tier.unwrap_or_default();
            if !tiers.contains(&p) {
                return Err(ApiError::BadRequest(format!(
                    "proposed tier `{p}`: give one of {}",
                    tiers.join(", ")
                )));
            }
            if p == tier {
                return Err(ApiError::BadRequest(format!(
                    "proposed tier `{p}` is the customer's tier: agree instead"
                )));
            }
            if reason.is_empty() {
                return Err(ApiError::BadRequest(
                    "a dispute needs a reason: what does sales see?".into(),
                ));
            }
            Some(p)
        }
    };
    let new = NewReview {
        run: book.run.id,
        customer: id.to_string(),
        dimension: dimension.clone(),
        tier,
        verdict,
        proposed,
        reason,
        reviewer: caller.user.name.clone(),
        manager: book.owner_of(row).unwrap_or_default(),
        created_at: now(),
    };
    let actor = caller.user.name.clone();
    state
        .with_store(move |s| {
            let id = s.add_review(&new)?;
            s.audit(&AuditEntry {
                at: new.created_at.clone(),
                actor,
                action: format!("review.{}", new.verdict.code()),
                detail: format!(
                    "review {id}: {} in run {}: {}{}",
                    new.customer,
                    new.run,
                    new.tier,
                    new.proposed
                        .as_deref()
                        .map_or(String::new(), |p| format!(" → {p}"))
                ),
            })?;
            s.review(id)?
                .ok_or(ApiError::Internal(format!("review {id} not kept")))
        })
        .await
}

/// Decides dispute `id` (analysts and admins).
pub(crate) async fn decide(
    state: &Arc<AppState>,
    caller: &Caller,
    id: i64,
    input: DecisionIn,
) -> Result<Review, ApiError> {
    caller.at_least(Role::Analyst)?;
    let expires = match input.expires.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(text.parse::<NaiveDate>().map_err(|_| {
            ApiError::BadRequest(format!("expires `{text}`: give a date as YYYY-MM-DD"))
        })?),
    };
    if expires.is_some() && !input.approve {
        return Err(ApiError::BadRequest(
            "expires applies to an approval only".into(),
        ));
    }
    let answer = input.answer.trim().to_string();
    if answer.chars().count() > MAX_TEXT {
        return Err(ApiError::BadRequest(format!(
            "the answer is longer than {MAX_TEXT} characters"
        )));
    }
    let decision = Decision {
        approve: input.approve,
        by: caller.user.name.clone(),
        at: now(),
        answer,
        expires,
    };
    state
        .with_store(move |s| {
            let review = s.decide(id, &decision).map_err(|e| match e {
                stratum_store::StoreError::Conflict => ApiError::Conflict(format!(
                    "review {id} is not a dispute waiting for a decision"
                )),
                e => e.into(),
            })?;
            s.audit(&AuditEntry {
                at: decision.at.clone(),
                actor: decision.by.clone(),
                action: if decision.approve {
                    "review.approve"
                } else {
                    "review.reject"
                }
                .into(),
                detail: format!(
                    "review {id}: {} {} → {}",
                    review.review.customer,
                    review.review.tier,
                    review.review.proposed.as_deref().unwrap_or("")
                ),
            })?;
            Ok(review)
        })
        .await
}

/// The reviews `caller` may see that `filter` selects: an account manager's own customers',
/// every one for analysts and admins, none for a viewer.
pub(crate) async fn list(
    state: &Arc<AppState>,
    caller: &Caller,
    mut filter: ReviewFilter,
) -> Result<Vec<Review>, ApiError> {
    caller.sees_customers()?;
    if let Some(book) = caller.scope() {
        filter.manager = Some(book);
    }
    state.with_store(move |s| Ok(s.reviews(&filter)?)).await
}

/// Which reviews to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReviewQuery {
    /// `agreed`, `pending`, `approved` or `rejected`.
    pub(crate) status: Option<String>,
    /// Of this run.
    pub(crate) run: Option<i64>,
    /// Of this customer.
    pub(crate) customer: Option<String>,
    /// `zh` or `en` (default: the server's).
    pub(crate) lang: Option<String>,
}

/// The reviews the caller may see, newest first: an account manager's own customers', every
/// one for analysts and admins.
#[utoipa::path(get, path = "/api/reviews", tag = "review", params(ReviewQuery),
    responses((status = 200, body = Vec<ReviewOut>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn reviews(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ReviewQuery>,
) -> Result<Json<Vec<ReviewOut>>, ApiError> {
    let lang = lang_of(q.lang.as_deref(), &state);
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(ReviewStatus::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "status `{s}`: give agreed, pending, approved or rejected"
            ))
        })?),
    };
    let filter = ReviewFilter {
        run: q.run,
        status,
        customer: q.customer,
        manager: None,
    };
    let list = list(&state, &caller, filter).await?;
    let book = state.latest().await.ok();
    Ok(Json(
        list.iter()
            .map(|r| review_out(r, book.as_deref(), lang))
            .collect(),
    ))
}

/// Agrees with or disputes customer `id`'s final tier in the latest run (an account manager
/// their own customers; analysts and admins any).
#[utoipa::path(post, path = "/api/customers/{id}/review", tag = "review",
    params(("id" = String, Path, description = "the customer id"), ReviewQueryLang),
    request_body = ReviewIn,
    responses((status = 201, body = ReviewOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn review_customer(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ReviewQueryLang>,
    ApiJson(input): ApiJson<ReviewIn>,
) -> Result<(StatusCode, Json<ReviewOut>), ApiError> {
    let lang = lang_of(q.lang.as_deref(), &state);
    let review = submit(&state, &caller, &id, input).await?;
    let book = state.latest().await.ok();
    Ok((
        StatusCode::CREATED,
        Json(review_out(&review, book.as_deref(), lang)),
    ))
}

/// The language asked.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReviewQueryLang {
    /// `zh` or `en` (default: the server's).
    pub(crate) lang: Option<String>,
}

/// Approves or rejects a dispute (analysts and admins); 409 when it is not waiting for a
/// decision.
#[utoipa::path(post, path = "/api/reviews/{id}/decision", tag = "review",
    params(("id" = i64, Path, description = "the review's id"), ReviewQueryLang),
    request_body = DecisionIn,
    responses((status = 200, body = ReviewOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn decision(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ReviewQueryLang>,
    ApiJson(input): ApiJson<DecisionIn>,
) -> Result<Json<ReviewOut>, ApiError> {
    let lang = lang_of(q.lang.as_deref(), &state);
    let review = decide(&state, &caller, id, input).await?;
    let book = state.latest().await.ok();
    Ok(Json(review_out(&review, book.as_deref(), lang)))
}

/// One group's agreement.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AgreementOut {
    /// The tier's code or the account manager (empty for all).
    pub(crate) group: String,
    /// The tier's name, the manager, or "all", in the language asked.
    pub(crate) label: String,
    pub(crate) reviewed: usize,
    pub(crate) agreed: usize,
    pub(crate) disputed: usize,
    pub(crate) approved: usize,
    pub(crate) rejected: usize,
    /// agreed / reviewed; null when none was reviewed.
    pub(crate) agreement: Option<f64>,
}

/// A run's agreement rates.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReviewStatsOut {
    pub(crate) run: i64,
    pub(crate) all: AgreementOut,
    pub(crate) by_tier: Vec<AgreementOut>,
    pub(crate) by_manager: Vec<AgreementOut>,
}

fn agreement_out(group: &str, label: String, a: &Agreement) -> AgreementOut {
    AgreementOut {
        group: group.to_string(),
        label,
        reviewed: a.reviewed(),
        agreed: a.agreed,
        disputed: a.disputed,
        approved: a.approved,
        rejected: a.rejected,
        agreement: a.rate(),
    }
}

/// `s` as the API gives it, tiers named by the scheme of `book`.
pub(crate) fn stats_out(s: &ReviewStats, book: Option<&Book>, lang: Lang) -> ReviewStatsOut {
    let scheme = book.and_then(|b| b.scheme.as_ref());
    let dimension = book
        .and_then(|b| b.dimension.as_ref())
        .map_or("", |d| d.0.as_str());
    ReviewStatsOut {
        run: s.run,
        all: agreement_out("", lang.pick("全部", "all").into(), &s.all),
        by_tier: s
            .by_tier
            .iter()
            .map(|(t, a)| agreement_out(t, tier_label(scheme, dimension, t, lang), a))
            .collect(),
        by_manager: s
            .by_manager
            .iter()
            .map(|(m, a)| agreement_out(m, m.clone(), a))
            .collect(),
    }
}

/// Which run's agreement rates.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StatsQuery {
    /// The run (default: the latest).
    pub(crate) run: Option<i64>,
    /// `zh` or `en` (default: the server's).
    pub(crate) lang: Option<String>,
}

/// A run's agreement rates: of the customers reviewed (each by their latest review), the
/// share whose tier sales agreed with, in all, per tier and per account manager.
#[utoipa::path(get, path = "/api/reviews/stats", tag = "review", params(StatsQuery),
    responses((status = 200, body = ReviewStatsOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn stats(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Json<ReviewStatsOut>, ApiError> {
    let lang = lang_of(q.lang.as_deref(), &state);
    let stats = run_stats(&state, q.run).await?;
    let book = state.latest().await.ok();
    Ok(Json(stats_out(&stats, book.as_deref(), lang)))
}

/// Run `run`'s agreement rates (default: the latest run's).
pub(crate) async fn run_stats(
    state: &Arc<AppState>,
    run: Option<i64>,
) -> Result<ReviewStats, ApiError> {
    state
        .with_store(move |s| {
            let id = match run {
                Some(id) => {
                    if !s.runs()?.iter().any(|r| r.id == id) {
                        return Err(ApiError::NotFound {
                            what: "run",
                            id: id.to_string(),
                        });
                    }
                    id
                }
                None => s.latest_run_id()?.ok_or(ApiError::NoRuns)?,
            };
            Ok(s.review_stats(id)?)
        })
        .await
}
