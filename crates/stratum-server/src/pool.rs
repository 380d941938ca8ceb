//! The public pool (公海) over the API and on the `/pool` page ([`stratum_store::pool`]): who
//! is in the pool, due or warned; claims (an account manager for themselves, analysts and
//! admins for anyone); releases by hand (a customer's owner, analysts and admins) and by the
//! rules after each run started here. An account manager sees the pool and their own
//! customers; a viewer none.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use stratum_store::access::Role;
use stratum_store::pool::{PoolEntry, PoolState};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, now};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use crate::state::AppState;

/// Today, the day the rules are applied at.
fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

/// The server's pool rules, or the answer that the pool is off.
fn rules(state: &AppState) -> Result<stratum_store::pool::PoolRules, ApiError> {
    state.config.pool.clone().ok_or_else(|| {
        ApiError::BadRequest(
            "the public pool is off: give the server's config a [pool] section".into(),
        )
    })
}

/// Releases the customers due today under the server's rules (none without them); how many.
pub(crate) async fn release_due(state: &Arc<AppState>) -> Result<usize, ApiError> {
    let Some(rules) = state.config.pool.clone() else {
        return Ok(0);
    };
    let released = state
        .with_store(move |s| Ok(s.pool_release_due(&rules, today(), &now())?))
        .await?;
    if let Ok(book) = state.latest().await {
        for e in &released {
            book.note_owner(&e.customer, "");
        }
    }
    Ok(released.len())
}

/// A customer as the pool sees them.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PoolOut {
    pub(crate) customer: String,
    /// The owner (empty: the pool).
    pub(crate) owner: String,
    pub(crate) tier: String,
    /// `in_pool`, `due`, `warning`, `owned` or `exempt`.
    pub(crate) status: String,
    pub(crate) release_on: Option<String>,
    /// `no_follow_up` or `no_deal`: the clock that runs out first.
    pub(crate) reason: String,
    pub(crate) last_follow_up: Option<String>,
    pub(crate) last_purchase: Option<String>,
    pub(crate) locked: bool,
}

impl From<&PoolEntry> for PoolOut {
    fn from(e: &PoolEntry) -> Self {
        let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string());
        PoolOut {
            customer: e.customer.clone(),
            owner: e.owner.clone(),
            tier: e.tier.clone(),
            status: e.state.code().into(),
            release_on: day(e.release_on),
            reason: e.reason.into(),
            last_follow_up: day(e.last_follow_up),
            last_purchase: day(e.last_purchase),
            locked: e.locked,
        }
    }
}

/// Which customers.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PoolQuery {
    /// `in_pool`, `due`, `warning`, `owned`, `exempt` (default: all the caller may see).
    pub(crate) status: Option<String>,
}

/// The pool's entries `caller` may see: an account manager the pool and their own.
pub(crate) async fn entries(
    state: &Arc<AppState>,
    caller: &Caller,
    status: Option<&str>,
) -> Result<Vec<PoolEntry>, ApiError> {
    caller.sees_customers()?;
    if let Some(s) = status
        && !["in_pool", "due", "warning", "owned", "exempt"].contains(&s)
    {
        return Err(ApiError::BadRequest(format!(
            "status `{s}`: give in_pool, due, warning, owned or exempt"
        )));
    }
    let rules = rules(state)?;
    let mut all = state
        .with_store(move |s| Ok(s.pool(&rules, today())?))
        .await?;
    if caller.role() == Role::Manager {
        let book = caller.user.book().to_string();
        all.retain(|e| e.state == PoolState::InPool || e.owner == book);
    }
    if let Some(s) = status {
        all.retain(|e| e.state.code() == s);
    }
    Ok(all)
}

/// The public pool as the caller may see it: the customers in it, and those owned (an account
/// manager: their own) with when the rules release them.
#[utoipa::path(get, path = "/api/pool", tag = "customers", params(PoolQuery),
    responses((status = 200, body = Vec<PoolOut>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PoolQuery>,
) -> Result<Json<Vec<PoolOut>>, ApiError> {
    let all = entries(&state, &caller, q.status.as_deref()).await?;
    Ok(Json(all.iter().map(PoolOut::from).collect()))
}

/// A claim.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct ClaimIn {
    /// Who takes the customer (analysts and admins; an account manager claims for themselves).
    pub(crate) manager: Option<String>,
}

/// Claims `id` from the pool.
pub(crate) async fn claim_for(
    state: &Arc<AppState>,
    caller: &Caller,
    id: &str,
    manager: Option<String>,
) -> Result<PoolEntry, ApiError> {
    caller.sees_customers()?;
    let manager = match (caller.role(), manager) {
        (Role::Manager, _) => caller.user.book().to_string(),
        (_, Some(m)) if !m.trim().is_empty() => m.trim().to_string(),
        _ => {
            return Err(ApiError::BadRequest(
                "give the account manager who takes the customer".into(),
            ));
        }
    };
    let (rules, id, actor) = (rules(state)?, id.to_string(), caller.user.name.clone());
    let e = state
        .with_store(move |s| Ok(s.pool_claim(&rules, &id, &manager, today(), &now(), &actor)?))
        .await?;
    note_owner(state, &e).await;
    Ok(e)
}

/// Tells the latest run's book who owns `e` now.
async fn note_owner(state: &Arc<AppState>, e: &PoolEntry) {
    if let Ok(book) = state.latest().await {
        book.note_owner(&e.customer, &e.owner);
    }
}

/// Claims a customer from the pool, within the owner's cap, the daily limit and the
/// cool-down (409 when a rule refuses).
#[utoipa::path(post, path = "/api/pool/{id}/claim", tag = "customers",
    params(("id" = String, Path, description = "the customer id")), request_body = ClaimIn,
    responses((status = 200, body = PoolOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn claim(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ClaimIn>,
) -> Result<Json<PoolOut>, ApiError> {
    let e = claim_for(&state, &caller, &id, input.manager).await?;
    Ok(Json(PoolOut::from(&e)))
}

/// A release by hand.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct ReleaseIn {
    /// Why.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub(crate) reason: String,
}

/// Releases `id` to the pool by hand: its owner, or an analyst or admin.
pub(crate) async fn release_by(
    state: &Arc<AppState>,
    caller: &Caller,
    id: &str,
    reason: String,
) -> Result<PoolEntry, ApiError> {
    caller.sees_customers()?;
    let rules = rules(state)?;
    if caller.role() == Role::Manager {
        let book = caller.user.book().to_string();
        let all = entries(state, caller, None).await?;
        if !all.iter().any(|e| e.customer == id && e.owner == book) {
            return Err(ApiError::NotFound {
                what: "customer",
                id: id.to_string(),
            });
        }
    }
    let reason = if reason.trim().is_empty() {
        "released by hand".to_string()
    } else {
        reason.trim().chars().take(2000).collect()
    };
    let (id, actor) = (id.to_string(), caller.user.name.clone());
    let e = state
        .with_store(move |s| Ok(s.pool_release(&rules, &id, today(), &now(), &actor, &reason)?))
        .await?;
    note_owner(state, &e).await;
    Ok(e)
}

/// Releases a customer to the pool by hand (their owner, analysts and admins).
#[utoipa::path(post, path = "/api/pool/{id}/release", tag = "customers",
    params(("id" = String, Path, description = "the customer id")), request_body = ReleaseIn,
    responses((status = 200, body = PoolOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn release(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ReleaseIn>,
) -> Result<Json<PoolOut>, ApiError> {
    let e = release_by(&state, &caller, &id, input.reason).await?;
    Ok(Json(PoolOut::from(&e)))
}
