//! Follow-ups over the API and on the customer's page: an account manager records a visit,
//! call or message with one of their customers (analysts and admins with any); the customer's
//! next action is then due their tier's interval after it, in the worklists at once.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use stratum_store::access::AuditEntry;
use stratum_store::followup::{FollowUp, FollowUpFilter, KINDS, NewFollowUp};
use utoipa::ToSchema;

use crate::auth::{Caller, now};
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use crate::state::AppState;

/// A follow-up to record.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct FollowUpIn {
    /// `visit`, `call` or `message`.
    #[schema(pattern = "^(visit|call|message)$")]
    pub(crate) kind: String,
    /// The day (YYYY-MM-DD; default: today).
    pub(crate) date: Option<String>,
    /// What was said or agreed.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub(crate) note: String,
}

/// A follow-up, as listed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FollowUpOut {
    pub(crate) id: i64,
    pub(crate) customer: String,
    pub(crate) manager: String,
    pub(crate) kind: String,
    pub(crate) date: String,
    pub(crate) note: String,
    pub(crate) created_by: String,
    pub(crate) created_at: String,
    /// `dashboard` or `import`.
    pub(crate) source: String,
}

impl From<&FollowUp> for FollowUpOut {
    fn from(f: &FollowUp) -> Self {
        let i = &f.item;
        FollowUpOut {
            id: f.id,
            customer: i.customer.clone(),
            manager: i.manager.clone(),
            kind: i.kind.clone(),
            date: i.day.to_string(),
            note: i.note.clone(),
            created_by: i.created_by.clone(),
            created_at: i.created_at.clone(),
            source: f.source.clone(),
        }
    }
}

/// A customer's follow-ups, latest first, if the caller may see the customer.
pub(crate) async fn of_customer(
    state: &Arc<AppState>,
    caller: &Caller,
    id: &str,
) -> Result<Vec<FollowUp>, ApiError> {
    crate::api::book_showing(state, caller, id).await?;
    let filter = FollowUpFilter {
        customer: Some(id.to_string()),
        ..FollowUpFilter::default()
    };
    state.with_store(move |s| Ok(s.follow_ups(&filter)?)).await
}

/// Records `caller`'s follow-up of customer `id`.
pub(crate) async fn record(
    state: &Arc<AppState>,
    caller: &Caller,
    id: &str,
    input: FollowUpIn,
) -> Result<FollowUp, ApiError> {
    let book = crate::api::book_showing(state, caller, id).await?;
    let row = book.find(id).ok_or_else(|| ApiError::NotFound {
        what: "customer",
        id: id.to_string(),
    })?;
    if !KINDS.contains(&input.kind.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "kind `{}`: give {}",
            input.kind,
            KINDS.join(", ")
        )));
    }
    let created_at = now();
    let day = match input.date.as_deref().map(str::trim) {
        None | Some("") => created_at
            .get(..10)
            .and_then(|d| d.parse::<NaiveDate>().ok())
            .ok_or_else(|| ApiError::Internal(format!("the time `{created_at}`")))?,
        Some(t) => t
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("date `{t}`: give a date as YYYY-MM-DD")))?,
    };
    // a follow-up has happened: not after tomorrow (time zones), not before 1900
    let today = chrono::Utc::now().date_naive();
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
    if day > today + chrono::Days::new(1) || day < earliest {
        return Err(ApiError::BadRequest(format!(
            "date {day}: a follow-up is recorded once it has happened, from 1900 to today"
        )));
    }
    let note = input.note.trim().to_string();
    if note.chars().count() > 2000 {
        return Err(ApiError::BadRequest(
            "the note is longer than 2000 characters".into(),
        ));
    }
    let item = NewFollowUp {
        customer: id.to_string(),
        manager: book.owner_of(row).unwrap_or_default(),
        kind: input.kind,
        day,
        note,
        created_by: caller.user.name.clone(),
        created_at,
    };
    let kept = state
        .with_store(move |s| {
            let id = s.add_follow_up(&item)?;
            s.audit(&AuditEntry {
                at: item.created_at.clone(),
                actor: item.created_by.clone(),
                action: "follow_up.add".into(),
                detail: format!(
                    "follow-up {id}: {} {} on {}",
                    item.customer, item.kind, item.day
                ),
            })?;
            Ok(FollowUp {
                id,
                item,
                source: "dashboard".into(),
            })
        })
        .await?;
    book.note_follow_up(id, kept.item.day);
    Ok(kept)
}

/// Records a follow-up (visit, call, message) of a customer: an account manager of their own
/// customers, analysts and admins of any. Their next action is due their tier's interval after
/// it.
#[utoipa::path(post, path = "/api/customers/{id}/follow-ups", tag = "customers",
    params(("id" = String, Path, description = "the customer id")),
    request_body = FollowUpIn,
    responses((status = 201, body = FollowUpOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn add(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<FollowUpIn>,
) -> Result<(StatusCode, Json<FollowUpOut>), ApiError> {
    let f = record(&state, &caller, &id, input).await?;
    Ok((StatusCode::CREATED, Json(FollowUpOut::from(&f))))
}

/// A customer's follow-ups, latest first.
#[utoipa::path(get, path = "/api/customers/{id}/follow-ups", tag = "customers",
    params(("id" = String, Path, description = "the customer id")),
    responses((status = 200, body = Vec<FollowUpOut>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<FollowUpOut>>, ApiError> {
    let list = of_customer(&state, &caller, &id).await?;
    Ok(Json(list.iter().map(FollowUpOut::from).collect()))
}
