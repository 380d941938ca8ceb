//! The JSON API under `/api`, every route described in the OpenAPI document served at
//! `/api/openapi.json` (built from these handlers' annotations, so the two cannot drift).
//!
//! Who may see what: a viewer sees aggregates only (runs, tier totals, migration matrices);
//! an account manager sees only the customers whose `account_manager` is theirs (another
//! manager's customer is "not found" on every route); analysts and admins see every customer;
//! admins also manage users and tokens and read the audit log.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use stratum_core::Lang;
use stratum_store::access::{AuditEntry, Role, Token, User};
use stratum_store::chunk::StoredValue;
use stratum_store::{CustomerHistory, RunInfo, why};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Caller, hash_password, new_token, now, token_hash};
use crate::book::{Book, Filter, Row, Sort};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use crate::state::AppState;

type Shared = State<Arc<AppState>>;

/// The API's routes; uploads up to `max_upload` bytes.
pub(crate) fn routes(max_upload: usize) -> OpenApiRouter<Arc<AppState>> {
    let (schemas, paths, runs) = routes!(list_runs, start_run);
    let runs = runs.layer(axum::extract::DefaultBodyLimit::max(max_upload));
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes((schemas, paths, runs))
        .routes(routes!(list_jobs))
        .routes(routes!(list_schedules))
        .routes(routes!(list_sources))
        .routes(routes!(run_schedule))
        .routes(routes!(job))
        .routes(routes!(job_rejects))
        .routes(routes!(run_detail))
        .routes(routes!(crate::funnel::funnel))
        .routes(routes!(crate::review::reviews))
        .routes(routes!(crate::review::stats))
        .routes(routes!(crate::review::review_customer))
        .routes(routes!(crate::review::decision))
        .routes(routes!(crate::scorecards::scorecards))
        .routes(routes!(crate::followups::add, crate::followups::list))
        .routes(routes!(crate::pool::list))
        .routes(routes!(crate::pool::claim))
        .routes(routes!(crate::pool::release))
        .routes(routes!(export))
        .routes(routes!(list_customers))
        .routes(routes!(customer_detail))
        .routes(routes!(customer_profile))
        .routes(routes!(migrations))
        .routes(routes!(worklist))
        .routes(routes!(alerts))
        .routes(routes!(schemes, publish))
        .routes(routes!(preview))
        .routes(routes!(scheme_version))
        .routes(routes!(scheme_diff))
        .routes(routes!(list_users, add_user))
        .routes(routes!(list_tokens, add_token))
        .routes(routes!(revoke_token))
        .routes(routes!(audit_log))
}

/// The language asked for, else the server's.
pub(crate) fn lang_of(asked: Option<&str>, state: &AppState) -> Lang {
    match asked {
        Some("en") => Lang::En,
        Some("zh") => Lang::Zh,
        _ => state.config.lang,
    }
}

/// The language a request may ask for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LangQuery {
    /// `zh` or `en` (default: the server's).
    pub(crate) lang: Option<String>,
}

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Me {
    /// The login name.
    pub(crate) name: String,
    /// `viewer`, `manager`, `analyst` or `admin`.
    pub(crate) role: String,
    /// For an account manager, the `account_manager` value whose customers they see.
    pub(crate) book: Option<String>,
}

/// Who is calling.
#[utoipa::path(get, path = "/api/me", tag = "session",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(caller: Caller) -> Json<Me> {
    Json(Me {
        name: caller.user.name.clone(),
        role: caller.role().code().into(),
        book: (caller.role() == Role::Manager).then(|| caller.user.book().to_string()),
    })
}

/// A kept run.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RunOut {
    /// The run's id.
    pub(crate) id: i64,
    /// The analysis date.
    pub(crate) as_of: String,
    /// When it started and finished (RFC 3339).
    pub(crate) started_at: String,
    pub(crate) finished_at: String,
    /// The program and version that made it.
    pub(crate) tool_version: String,
    /// Its scheme's name.
    pub(crate) scheme_name: Option<String>,
    /// Scored customers.
    pub(crate) customers: u64,
    /// Their net revenue.
    pub(crate) revenue: f64,
}

impl From<&RunInfo> for RunOut {
    fn from(r: &RunInfo) -> Self {
        RunOut {
            id: r.id,
            as_of: r.as_of.to_string(),
            started_at: r.started_at.clone(),
            finished_at: r.finished_at.clone(),
            tool_version: r.tool_version.clone(),
            scheme_name: r.scheme_name.clone(),
            customers: r.customers,
            revenue: r.revenue.to_f64(),
        }
    }
}

/// Every kept run, newest first.
#[utoipa::path(get, path = "/api/runs", tag = "runs",
    responses((status = 200, body = Vec<RunOut>), (status = 401, body = ErrorBody)))]
async fn list_runs(State(state): Shared, _caller: Caller) -> Result<Json<Vec<RunOut>>, ApiError> {
    let runs = state.with_store(|s| Ok(s.runs()?)).await?;
    Ok(Json(runs.iter().rev().map(RunOut::from).collect()))
}

/// Customers and revenue in one tier of one dimension.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TierTotalOut {
    /// The dimension (a scheme's, or `rfm_class`, `rfm_segment`, `abc_class`).
    pub(crate) dimension: String,
    /// The tier's code.
    pub(crate) tier: String,
    /// Its label in the language asked.
    pub(crate) label: String,
    /// Its customers.
    pub(crate) customers: u64,
    /// Their net revenue.
    pub(crate) revenue: f64,
}

/// A run with its data quality, inputs and tier totals.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RunDetail {
    pub(crate) run: RunOut,
    /// The run's summary (counts, totals, validations), as kept.
    #[schema(value_type = Object)]
    pub(crate) summary: serde_json::Value,
    /// Its inputs: role, path, size, digest and row counts (read, accepted, rejected).
    #[schema(value_type = Vec<Object>)]
    pub(crate) inputs: serde_json::Value,
    /// Customers and revenue per tier of every dimension.
    pub(crate) tiers: Vec<TierTotalOut>,
}

/// One run: quality, inputs, tier totals.
#[utoipa::path(get, path = "/api/runs/{id}", tag = "runs",
    params(("id" = i64, Path, description = "the run's id"), LangQuery),
    responses((status = 200, body = RunDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn run_detail(
    State(state): Shared,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<LangQuery>,
) -> Result<Json<RunDetail>, ApiError> {
    let lang = lang_of(q.lang.as_deref(), &state);
    let book = state.latest().await.ok();
    let detail = state
        .with_store(move |s| {
            let info = s
                .runs()?
                .into_iter()
                .find(|r| r.id == id)
                .ok_or(ApiError::NotFound {
                    what: "run",
                    id: id.to_string(),
                })?;
            let docs = s.run_documents(id)?;
            let scheme = s
                .scheme_text(id)?
                .and_then(|t| stratum_core::scheme::SchemeParams::from_toml(&t).ok());
            let tiers = s
                .tier_totals(id)?
                .into_iter()
                .map(|t| TierTotalOut {
                    label: tier_label(scheme.as_ref(), &t.dimension, &t.tier, lang),
                    dimension: t.dimension,
                    tier: t.tier,
                    customers: t.customers,
                    revenue: t.revenue.to_f64(),
                })
                .collect();
            let mut summary = docs.summary;
            crate::funnel::visible_json(&mut summary, &caller, book.as_deref());
            Ok(RunDetail {
                run: RunOut::from(&info),
                summary,
                inputs: docs.inputs,
                tiers,
            })
        })
        .await?;
    Ok(Json(detail))
}

/// The form a run is started with (multipart/form-data), as documented.
#[derive(Debug, ToSchema)]
pub struct RunUpload {
    /// The transactions file (CSV in any common encoding, XLSX/XLS, or Parquet); or `source`.
    #[schema(value_type = Option<String>, format = Binary)]
    pub transactions: Option<Vec<u8>>,
    /// Instead of a transactions file: the name of a database source of the server's config
    /// (`GET /api/sources`), whose table is read where it lives.
    pub source: Option<String>,
    /// A customer master file.
    #[schema(value_type = Option<String>, format = Binary)]
    pub customers: Option<Vec<u8>>,
    /// An interactions file.
    #[schema(value_type = Option<String>, format = Binary)]
    pub interactions: Option<Vec<u8>>,
    /// An opportunities file (the sales funnel).
    #[schema(value_type = Option<String>, format = Binary)]
    pub opportunities: Option<Vec<u8>>,
    /// The analysis date (YYYY-MM-DD; default: the day after the last transaction).
    pub as_of: Option<String>,
}

/// The `segment` flag of an uploaded file's field.
fn flag_of(field: &str) -> Option<&'static str> {
    match field {
        "transactions" => Some("--transactions"),
        "customers" => Some("--customers"),
        "interactions" => Some("--interactions"),
        "opportunities" => Some("--opportunities"),
        _ => None,
    }
}

/// Starts a re-tiering run on uploaded files, or on a configured database source's table
/// (`source`), with the latest published scheme (analysts and admins). The files are kept as
/// given; the run is recorded as `stratum segment --db` records it, alerts included. Runs go one at a time; follow one at `/api/jobs/{id}`.
#[utoipa::path(post, path = "/api/runs", tag = "runs",
    request_body(content_type = "multipart/form-data", content = RunUpload),
    responses((status = 202, body = crate::jobs::Job), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
async fn start_run(
    State(state): Shared,
    caller: Caller,
    form: crate::error::ApiMultipart,
) -> Result<(StatusCode, Json<crate::jobs::Job>), ApiError> {
    let job = start_upload(&state, &caller, form).await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// Keeps the uploaded files and queues their run: the API's and the runs page's. A caller
/// signed in by a browser session must send the session's form token as a `csrf` field.
pub(crate) async fn start_upload(
    state: &Arc<AppState>,
    caller: &Caller,
    crate::error::ApiMultipart(mut form): crate::error::ApiMultipart,
) -> Result<crate::jobs::Job, ApiError> {
    use tokio::io::AsyncWriteExt;
    caller.at_least(Role::Analyst)?;
    let runner = crate::jobs::runner(state)?;
    let io = |e: std::io::Error| ApiError::Internal(format!("upload: {e}"));
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::BadRequest(format!("the upload: {}", e.body_text()))
    };
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    let dir = state.config.uploads.join(format!(
        "run-{stamp}-{}",
        &crate::auth::digest(&crate::auth::secret(8))[..8]
    ));
    tokio::fs::create_dir_all(&dir).await.map_err(io)?;
    let mut files: Vec<(&'static str, std::path::PathBuf)> = Vec::new();
    let mut table = None;
    let mut as_of = None;
    let mut csrf = None;
    let result = async {
        while let Some(mut field) = form.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or("").to_string();
            if let Some(flag) = flag_of(&name) {
                if files.iter().any(|(f, _)| *f == flag) {
                    return Err(ApiError::BadRequest(format!("`{name}` is given twice")));
                }
                let file =
                    crate::jobs::safe_name(field.file_name().unwrap_or(""), &format!("{name}.csv"));
                let path = dir.join(format!("{name}-{file}"));
                let chosen = field.file_name().is_some_and(|n| !n.is_empty());
                let mut out = tokio::fs::File::create(&path).await.map_err(io)?;
                let mut bytes = 0;
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    bytes += chunk.len();
                    out.write_all(&chunk).await.map_err(io)?;
                }
                out.flush().await.map_err(io)?;
                if chosen || bytes > 0 {
                    files.push((flag, path));
                } else {
                    // a form's file input left empty: no file was given
                    tokio::fs::remove_file(&path).await.map_err(io)?;
                }
            } else if name == "source" {
                let text = field.text().await.map_err(bad)?.trim().to_string();
                if !text.is_empty() {
                    let names = || {
                        let names: Vec<&str> =
                            state.config.sources.iter().map(|s| s.name.as_str()).collect();
                        if names.is_empty() {
                            "the server's config names none".to_string()
                        } else {
                            format!("expected one of {}", names.join(", "))
                        }
                    };
                    let found = state.config.sources.iter().find(|s| s.name == text);
                    let found = found.ok_or_else(|| {
                        ApiError::BadRequest(format!("source `{text}`: {}", names()))
                    })?;
                    table = Some(found.table.clone());
                }
            } else if name == "csrf" {
                csrf = Some(field.text().await.map_err(bad)?);
            } else if name == "as_of" {
                let text = field.text().await.map_err(bad)?.trim().to_string();
                if !text.is_empty() {
                    chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
                        ApiError::BadRequest(format!("as_of `{text}`: expected a date, YYYY-MM-DD"))
                    })?;
                    as_of = Some(text);
                }
            } else {
                return Err(ApiError::BadRequest(format!(
                    "unknown field `{name}`: expected transactions, source, customers, interactions, opportunities, as_of"
                )));
            }
        }
        if caller.csrf.is_some() && csrf != caller.csrf {
            return Err(ApiError::Csrf);
        }
        match (files.iter().any(|(f, _)| *f == "--transactions"), &table) {
            (false, None) => {
                return Err(ApiError::BadRequest(
                    "no `transactions` file uploaded and no `source` named".into(),
                ));
            }
            (true, Some(_)) => {
                return Err(ApiError::BadRequest(
                    "a `transactions` file and a `source`: give one".into(),
                ));
            }
            _ => {}
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        // nothing is kept of a refused upload
        let _ = tokio::fs::remove_dir_all(&dir).await;
        return Err(e);
    }
    let input = crate::jobs::JobInput {
        dir,
        files,
        table,
        scheme: None,
        as_of,
    };
    let job = crate::jobs::queue(state, &caller.user.name, runner, input).await?;
    let actor = caller.user.name.clone();
    let detail = format!("job {}: {}", job.id, job.inputs.join(", "));
    state
        .with_store(move |s| {
            Ok(s.audit(&AuditEntry {
                at: now(),
                actor,
                action: "run.start".into(),
                detail,
            })?)
        })
        .await?;
    Ok(job)
}

/// The runs started from the server, newest first (analysts and admins).
#[utoipa::path(get, path = "/api/jobs", tag = "runs",
    responses((status = 200, body = Vec<crate::jobs::Job>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn list_jobs(
    State(state): Shared,
    caller: Caller,
) -> Result<Json<Vec<crate::jobs::Job>>, ApiError> {
    caller.at_least(Role::Analyst)?;
    Ok(Json(state.jobs.all()))
}

/// A run started from the server: where it stands and what it printed.
#[utoipa::path(get, path = "/api/jobs/{id}", tag = "runs",
    params(("id" = u64, Path, description = "the job's number")),
    responses((status = 200, body = crate::jobs::Job), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn job(
    State(state): Shared,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<crate::jobs::Job>, ApiError> {
    caller.at_least(Role::Analyst)?;
    state.jobs.get(id).map(Json).ok_or(ApiError::NotFound {
        what: "job",
        id: id.to_string(),
    })
}

/// The rows a job's run rejected (`rejects.csv`: file, line, reason, column, value, message,
/// row), streamed; 404 before it finished or when it rejected none.
#[utoipa::path(get, path = "/api/jobs/{id}/rejects", tag = "runs",
    params(("id" = u64, Path, description = "the job")),
    responses((status = 200, description = "rejects.csv", content_type = "text/csv"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn job_rejects(
    State(state): Shared,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    caller.at_least(Role::Analyst)?;
    let not_found = || ApiError::NotFound {
        what: "rejected rows of job",
        id: id.to_string(),
    };
    let path = state
        .jobs
        .get(id)
        .and_then(|j| j.rejects())
        .ok_or_else(not_found)?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| not_found())?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"rejects-job-{id}.csv\""),
            ),
        ],
        axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file)),
    )
        .into_response())
}

/// A database table runs can be started on.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SourceOut {
    /// Its name, as `POST /api/runs` takes it in `source`.
    pub(crate) name: String,
    /// The database, without its password.
    pub(crate) source: String,
    /// The table.
    pub(crate) table: String,
}

/// The database sources of the server's config (analysts and admins).
#[utoipa::path(get, path = "/api/sources", tag = "runs",
    responses((status = 200, body = Vec<SourceOut>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn list_sources(
    State(state): Shared,
    caller: Caller,
) -> Result<Json<Vec<SourceOut>>, ApiError> {
    caller.at_least(Role::Analyst)?;
    Ok(Json(
        state
            .config
            .sources
            .iter()
            .map(|s| SourceOut {
                name: s.name.clone(),
                source: s.table.shown_url.clone(),
                table: s.table.table.clone(),
            })
            .collect(),
    ))
}

/// A schedule and its next occurrence.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScheduleOut {
    pub(crate) name: String,
    /// The cron pattern (minute hour day-of-month month day-of-week, local time).
    pub(crate) cron: String,
    /// The next run (RFC 3339, local time).
    pub(crate) next: Option<String>,
    /// The transactions file(s) (none when they are a table).
    pub(crate) transactions: Option<String>,
    /// The database holding the transactions table, without its password.
    pub(crate) source: Option<String>,
    /// That table.
    pub(crate) table: Option<String>,
    pub(crate) customers: Option<String>,
    pub(crate) interactions: Option<String>,
    pub(crate) opportunities: Option<String>,
    /// The scheme file (none: the latest published version).
    pub(crate) scheme: Option<String>,
}

/// The configured schedules (analysts and admins).
#[utoipa::path(get, path = "/api/schedules", tag = "runs",
    responses((status = 200, body = Vec<ScheduleOut>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn list_schedules(
    State(state): Shared,
    caller: Caller,
) -> Result<Json<Vec<ScheduleOut>>, ApiError> {
    caller.at_least(Role::Analyst)?;
    let now = chrono::Local::now();
    Ok(Json(
        state
            .config
            .schedules
            .iter()
            .map(|s| ScheduleOut {
                name: s.name.clone(),
                cron: s.cron.clone(),
                next: s
                    .pattern()
                    .ok()
                    .and_then(|c| crate::schedules::next_after(&c, &now))
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)),
                transactions: s.source.is_none().then(|| s.transactions.clone()),
                source: s.source.as_ref().map(|t| t.shown_url.clone()),
                table: s.source.as_ref().map(|t| t.table.clone()),
                customers: s.customers.clone(),
                interactions: s.interactions.clone(),
                opportunities: s.opportunities.clone(),
                scheme: s.scheme.as_ref().map(|p| p.display().to_string()),
            })
            .collect(),
    ))
}

/// Runs a schedule now (admins); audited.
#[utoipa::path(post, path = "/api/schedules/{name}/run", tag = "runs",
    params(("name" = String, Path, description = "the schedule's name")),
    responses((status = 202, body = crate::jobs::Job), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn run_schedule(
    State(state): Shared,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<(StatusCode, Json<crate::jobs::Job>), ApiError> {
    caller.at_least(Role::Admin)?;
    let schedule = state
        .config
        .schedules
        .iter()
        .find(|s| s.name == name)
        .cloned()
        .ok_or(ApiError::NotFound {
            what: "schedule",
            id: name.clone(),
        })?;
    let job = crate::schedules::fire(&state, &schedule, &caller.user.name).await?;
    let actor = caller.user.name.clone();
    state
        .with_store(move |s| {
            Ok(s.audit(&AuditEntry {
                at: now(),
                actor,
                action: "schedule.run".into(),
                detail: format!("{name}: job {}", job.id),
            })?)
        })
        .await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// What to download.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportQuery {
    /// `csv` (default), `xlsx` or `parquet`.
    pub(crate) format: Option<String>,
}

/// A run's tiers as a file: one row per customer (an account manager's own customers only).
#[utoipa::path(get, path = "/api/runs/{id}/export", tag = "runs",
    params(("id" = i64, Path, description = "the run's id"), ExportQuery),
    responses(
        (status = 200, description = "the tiers of the run's customers: every dimension's tier, the final tier, RFM class and segment, ABC class, recency, frequency, net revenue, CLV, P(alive), the reason",
            content((String = "text/csv"),
                (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (String = "application/vnd.apache.parquet"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn export(
    State(state): Shared,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    use stratum_io::export::ExportFormat;
    caller.sees_customers()?;
    let asked = q.format.as_deref().unwrap_or("csv");
    let format = ExportFormat::parse(asked).ok_or_else(|| {
        ApiError::BadRequest(format!("format `{asked}`: expected csv, xlsx or parquet"))
    })?;
    let scope = caller.scope();
    // written to a temporary file, then sent from it as it is read (the file is removed once
    // open: it goes when the answer is sent)
    let file = state
        .with_store(move |s| {
            let dir = tempfile::tempdir().map_err(|e| ApiError::Internal(e.to_string()))?;
            let path = dir.path().join(format.file_name());
            crate::export::write_run(s, id, scope.as_deref(), format, &path).map_err(
                |e| match e {
                    crate::export::RunExportError::Store(e) => ApiError::from(e),
                    e => ApiError::Internal(format!("export: {e}")),
                },
            )?;
            std::fs::File::open(&path).map_err(|e| ApiError::Internal(e.to_string()))
        })
        .await?;
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(
        tokio::fs::File::from_std(file),
    ));
    let name = format
        .file_name()
        .replacen("tiers", &format!("tiers-run-{id}"), 1);
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                format.media_type().to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// A tier's label: the scheme's, Stratum's for the built-in dimensions, else its code.
pub fn tier_label(
    scheme: Option<&stratum_core::scheme::SchemeParams>,
    dimension: &str,
    tier: &str,
    lang: Lang,
) -> String {
    match scheme.and_then(|s| s.tier_label(dimension, tier)) {
        Some(l) => l.pick(lang, tier).to_string(),
        None => stratum_core::history::tier_label(None, dimension, tier, lang),
    }
}

/// A customer of the latest run, as lists show it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CustomerOut {
    /// The customer id.
    pub(crate) id: String,
    /// The name, from the customer master data.
    pub(crate) name: Option<String>,
    /// The account manager.
    pub(crate) account_manager: Option<String>,
    /// The industry.
    pub(crate) industry: Option<String>,
    /// The lifecycle stage.
    pub(crate) lifecycle: Option<String>,
    /// The churn band (`low`, `medium`, `high`) with a lifetime-value model.
    pub(crate) churn_band: Option<String>,
    /// The final tier's code (with a scheme).
    pub(crate) tier: Option<String>,
    /// Its label in the language asked.
    pub(crate) tier_label: Option<String>,
    /// Net revenue.
    pub(crate) revenue: f64,
    /// Days since the last purchase.
    pub(crate) recency_days: i64,
    /// Purchases.
    pub(crate) frequency: u64,
    /// Predicted lifetime value.
    pub(crate) clv: Option<f64>,
    /// Probability the customer is still active.
    pub(crate) p_alive: Option<f64>,
}

pub(crate) fn customer_out(book: &Book, r: &Row, lang: Lang) -> CustomerOut {
    let tier = book.tier_of(r);
    CustomerOut {
        id: r.code.clone(),
        name: r.name.clone(),
        account_manager: book.manager_of(r).map(str::to_string),
        industry: book.industries.get(r.industry).map(str::to_string),
        lifecycle: book.lifecycles.get(r.lifecycle).map(str::to_string),
        churn_band: book.churn.get(r.churn).map(str::to_string),
        tier: tier.map(str::to_string),
        tier_label: tier.map(|t| {
            let dim = book.dimension.as_ref().map_or("", |d| d.0.as_str());
            tier_label(book.scheme.as_ref(), dim, t, lang)
        }),
        revenue: r.monetary.to_f64(),
        recency_days: r.recency_days,
        frequency: r.frequency,
        clv: r.clv,
        p_alive: r.p_alive,
    }
}

/// A customer search.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CustomerQuery {
    /// Part of the id or the name, any case.
    pub(crate) q: Option<String>,
    /// A final tier's code.
    pub(crate) tier: Option<String>,
    /// An account manager.
    pub(crate) manager: Option<String>,
    /// An industry.
    pub(crate) industry: Option<String>,
    /// A lifecycle stage.
    pub(crate) lifecycle: Option<String>,
    /// A churn band.
    pub(crate) churn: Option<String>,
    /// `revenue` (default), `recency`, `frequency`, `clv`, `id` or `name`.
    #[param(inline)]
    pub(crate) sort: Option<Sort>,
    /// `desc` (default) or `asc`.
    pub(crate) order: Option<String>,
    /// The page, from 1.
    pub(crate) page: Option<usize>,
    /// Customers per page (default 50, at most 500).
    pub(crate) per_page: Option<usize>,
    /// `zh` or `en`.
    pub(crate) lang: Option<String>,
}

impl CustomerQuery {
    pub(crate) fn filter(&self, caller: &Caller) -> Filter {
        let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        Filter {
            q: given(&self.q),
            tier: given(&self.tier),
            manager: given(&self.manager),
            industry: given(&self.industry),
            lifecycle: given(&self.lifecycle),
            churn: given(&self.churn),
            scope: caller.scope(),
        }
    }

    /// (page from 1, per page).
    pub(crate) fn paging(&self) -> Result<(usize, usize), ApiError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(50);
        if page == 0 || !(1..=500).contains(&per_page) {
            return Err(ApiError::BadRequest(format!(
                "page {page}, per_page {per_page}: pages count from 1, per_page is 1 to 500"
            )));
        }
        Ok((page, per_page))
    }

    pub(crate) fn descending(&self) -> Result<bool, ApiError> {
        match self.order.as_deref() {
            None | Some("desc") => Ok(true),
            Some("asc") => Ok(false),
            Some(o) => Err(ApiError::BadRequest(format!(
                "order `{o}`: expected asc or desc"
            ))),
        }
    }
}

/// A page of customers.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CustomerPage {
    /// The run the customers are of (the latest).
    pub(crate) run: i64,
    /// Customers that match, on all pages.
    pub(crate) total: usize,
    /// This page, from 1.
    pub(crate) page: usize,
    /// Customers per page.
    pub(crate) per_page: usize,
    /// The customers of this page.
    pub(crate) customers: Vec<CustomerOut>,
}

/// Customers of the latest run: searched, filtered, sorted and paged. An account manager
/// gets only their own.
#[utoipa::path(get, path = "/api/customers", tag = "customers", params(CustomerQuery),
    responses((status = 200, body = CustomerPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn list_customers(
    State(state): Shared,
    caller: Caller,
    ApiQuery(q): ApiQuery<CustomerQuery>,
) -> Result<Json<CustomerPage>, ApiError> {
    caller.sees_customers()?;
    let (page, per_page) = q.paging()?;
    let descending = q.descending()?;
    let lang = lang_of(q.lang.as_deref(), &state);
    let book = state.latest().await?;
    let filter = q.filter(&caller);
    let sort = q.sort.unwrap_or(Sort::Revenue);
    let (total, rows) = book.select(&filter, sort, descending, (page - 1) * per_page, per_page);
    Ok(Json(CustomerPage {
        run: book.run.id,
        total,
        page,
        per_page,
        customers: rows.iter().map(|r| customer_out(&book, r, lang)).collect(),
    }))
}

/// A dimension's tier in one run.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DimensionTier {
    pub(crate) dimension: String,
    pub(crate) tier: String,
    pub(crate) label: String,
}

/// A customer in one run.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HistoryOut {
    pub(crate) run: i64,
    pub(crate) as_of: String,
    /// The tier in each dimension, the final last.
    pub(crate) tiers: Vec<DimensionTier>,
    /// Why the final tier, in words.
    pub(crate) reason: String,
    pub(crate) recency_days: i64,
    pub(crate) frequency: u64,
    pub(crate) revenue: f64,
    pub(crate) clv: Option<f64>,
    pub(crate) p_alive: Option<f64>,
}

/// A customer with their history.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CustomerDetail {
    pub(crate) customer: CustomerOut,
    /// Since when (an as-of date) the customer has had their current final tier.
    pub(crate) in_tier_since: Option<String>,
    /// In how many runs in a row.
    pub(crate) runs_in_tier: Option<usize>,
    /// Every run the customer was scored in, oldest first.
    pub(crate) history: Vec<HistoryOut>,
}

pub(crate) fn history_out(
    h: &CustomerHistory,
    scheme: Option<&stratum_core::scheme::SchemeParams>,
    lang: Lang,
) -> Vec<HistoryOut> {
    h.entries
        .iter()
        .map(|e| HistoryOut {
            run: e.run,
            as_of: e.as_of.to_string(),
            tiers: e
                .tiers
                .iter()
                .map(|(d, t)| DimensionTier {
                    label: tier_label(scheme, d, t, lang),
                    dimension: d.clone(),
                    tier: t.clone(),
                })
                .collect(),
            reason: why::reason_text(e.reason.as_ref(), lang),
            recency_days: e.recency_days,
            frequency: e.frequency,
            revenue: e.monetary.to_f64(),
            clv: e.clv.map(|c| c.0),
            p_alive: e.clv.map(|c| c.1),
        })
        .collect()
}

/// The latest run, if it has customer `id` and the caller may see them; else "not found",
/// the same answer as for no such customer.
pub(crate) async fn book_showing(
    state: &Arc<AppState>,
    caller: &Caller,
    id: &str,
) -> Result<Arc<Book>, ApiError> {
    caller.sees_customers()?;
    let book = state.latest().await?;
    if book.find(id).is_none() || !book.visible(id, caller.scope().as_deref()) {
        return Err(ApiError::NotFound {
            what: "customer",
            id: id.to_string(),
        });
    }
    Ok(book)
}

/// The customer `id` of the latest run if the caller may see them (else "not found", the
/// same answer as for no such customer), with their history.
pub(crate) async fn visible_customer(
    state: &Arc<AppState>,
    caller: &Caller,
    id: &str,
) -> Result<(Arc<Book>, CustomerHistory), ApiError> {
    let book = book_showing(state, caller, id).await?;
    let not_found = || ApiError::NotFound {
        what: "customer",
        id: id.to_string(),
    };
    let code = id.to_string();
    let history = state
        .with_store(move |s| Ok(s.history(&code)?))
        .await?
        .ok_or_else(not_found)?;
    Ok((book, history))
}

/// A customer of the latest run with their history, reasons, lifetime value and churn.
#[utoipa::path(get, path = "/api/customers/{id}", tag = "customers",
    params(("id" = String, Path, description = "the customer id"), LangQuery),
    responses((status = 200, body = CustomerDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn customer_detail(
    State(state): Shared,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<LangQuery>,
) -> Result<Json<CustomerDetail>, ApiError> {
    let lang = lang_of(q.lang.as_deref(), &state);
    let (book, history) = visible_customer(&state, &caller, &id).await?;
    let row = book.find(&id).ok_or(ApiError::NotFound {
        what: "customer",
        id: id.clone(),
    })?;
    let since = history.in_current_tier();
    Ok(Json(CustomerDetail {
        customer: customer_out(&book, row, lang),
        in_tier_since: since.map(|s| s.0.to_string()),
        runs_in_tier: since.map(|s| s.1),
        history: history_out(&history, book.scheme.as_ref(), lang),
    }))
}

/// One value of a customer's profile.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProfileValueOut {
    pub(crate) column: String,
    /// The column's name in the asked language.
    pub(crate) label: String,
    /// A number, a text, or null (no value).
    pub(crate) value: serde_json::Value,
}

/// What the latest run knew of a customer: every feature its scheme could read (orders,
/// interactions, satisfaction, NPS, complaints), the built-in segments and the master data.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProfileOut {
    pub(crate) run: i64,
    pub(crate) values: Vec<ProfileValueOut>,
}

/// Customer `id`'s values in run `run` (of `book`), as kept: column, label in `lang`, value;
/// `None` for a run kept without a profile.
pub(crate) async fn profile_values(
    state: &Arc<AppState>,
    book: &Book,
    id: &str,
    lang: Lang,
) -> Result<Option<Vec<(String, String, StoredValue)>>, ApiError> {
    let (run, code) = (book.run.id, id.to_string());
    let values = state
        .with_store(move |s| Ok(s.profile(run, &code)?))
        .await?;
    Ok(values.map(|values| {
        values
            .into_iter()
            .map(|(column, v)| {
                let label = stratum_core::labels::column_label(&column, lang).to_string();
                (column, label, v)
            })
            .collect()
    }))
}

/// A customer's profile in the latest run: every feature (interactions, satisfaction, NPS and
/// complaints included), segment and master-data attribute the run kept; 404 for a run kept
/// without a profile.
#[utoipa::path(get, path = "/api/customers/{id}/profile", tag = "customers",
    params(("id" = String, Path, description = "the customer id"), LangQuery),
    responses((status = 200, body = ProfileOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn customer_profile(
    State(state): Shared,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<LangQuery>,
) -> Result<Json<ProfileOut>, ApiError> {
    let lang = lang_of(q.lang.as_deref(), &state);
    let book = book_showing(&state, &caller, &id).await?;
    let values = profile_values(&state, &book, &id, lang)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: "profile of customer",
            id: id.clone(),
        })?;
    Ok(Json(ProfileOut {
        run: book.run.id,
        values: values
            .into_iter()
            .map(|(column, label, v)| ProfileValueOut {
                column,
                label,
                value: match v {
                    StoredValue::Number(x) => serde_json::json!(x),
                    StoredValue::Text(t) => serde_json::Value::String(t),
                    StoredValue::Empty => serde_json::Value::Null,
                },
            })
            .collect(),
    }))
}

/// Two runs to compare.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MigrationsQuery {
    /// The earlier run (default: the one before `to`).
    pub(crate) from: Option<i64>,
    /// The later run (default: the latest).
    pub(crate) to: Option<i64>,
    /// The dimension (default: the final dimension of `to`'s scheme, else `rfm_class`).
    pub(crate) dimension: Option<String>,
    /// The most movers listed (default 100, at most 10,000).
    pub(crate) top: Option<usize>,
    /// `zh` or `en`.
    pub(crate) lang: Option<String>,
}

/// A cell of the migration matrix.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CellOut {
    /// The tier before (none: new customers).
    pub(crate) from: Option<String>,
    /// The tier after (none: lost customers).
    pub(crate) to: Option<String>,
    pub(crate) customers: u64,
    pub(crate) revenue_from: f64,
    pub(crate) revenue_to: f64,
}

/// A customer who moved.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MoverOut {
    pub(crate) id: String,
    pub(crate) from: Option<String>,
    pub(crate) to: Option<String>,
    /// `up`, `stable`, `down`, `new` or `lost`.
    pub(crate) direction: String,
    pub(crate) revenue_from: f64,
    pub(crate) revenue_to: f64,
    /// Why the tier before and after, in words.
    pub(crate) reason_from: String,
    pub(crate) reason_to: String,
}

/// Who moved between two runs.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MigrationsOut {
    pub(crate) from: RunOut,
    pub(crate) to: RunOut,
    pub(crate) dimension: String,
    /// Customers in both runs who moved up, stayed and moved down.
    pub(crate) up: u64,
    pub(crate) stable: u64,
    pub(crate) down: u64,
    /// Customers only in the later run, only in the earlier one.
    pub(crate) new: u64,
    pub(crate) lost: u64,
    /// The matrix's non-empty cells.
    pub(crate) cells: Vec<CellOut>,
    /// Movers the caller may see (none for a viewer; an account manager's own only), by
    /// revenue, at most `top`.
    pub(crate) movers: Vec<MoverOut>,
    /// How many movers the caller may see in all.
    pub(crate) movers_total: usize,
}

/// The migration matrix between two runs and the customers who moved.
#[utoipa::path(get, path = "/api/migrations", tag = "runs", params(MigrationsQuery),
    responses((status = 200, body = MigrationsOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn migrations(
    State(state): Shared,
    caller: Caller,
    ApiQuery(q): ApiQuery<MigrationsQuery>,
) -> Result<Json<MigrationsOut>, ApiError> {
    let lang = lang_of(q.lang.as_deref(), &state);
    let top = q.top.unwrap_or(100).min(10_000);
    let (from, to, dimension) = (q.from, q.to, q.dimension.clone());
    let m = state
        .with_store(move |s| {
            let runs = s.runs()?;
            let to = match to {
                Some(t) => t,
                None => runs.last().ok_or(ApiError::NoRuns)?.id,
            };
            let from = match from {
                Some(f) => f,
                None => {
                    runs.iter()
                        .rev()
                        .find(|r| r.id < to)
                        .ok_or_else(|| {
                            ApiError::BadRequest(format!(
                                "run {to} has no run before it to compare with"
                            ))
                        })?
                        .id
                }
            };
            Ok(s.migrations(from, to, dimension.as_deref())?)
        })
        .await?;
    // movers are customer rows: none for a viewer, only their own for an account manager
    let book = match caller.role() {
        Role::Viewer => None,
        _ => state.book().await?,
    };
    let scope = caller.scope();
    let visible: Vec<&stratum_store::migrate::Mover> = match &book {
        None => Vec::new(),
        Some(book) => m
            .movers
            .iter()
            .filter(|mv| book.visible(&mv.customer_id, scope.as_deref()))
            .collect(),
    };
    Ok(Json(MigrationsOut {
        from: RunOut::from(&m.from),
        to: RunOut::from(&m.to),
        dimension: m.dimension.clone(),
        up: m.counts[0],
        stable: m.counts[1],
        down: m.counts[2],
        new: m.new_and_lost[0],
        lost: m.new_and_lost[1],
        cells: m
            .cells
            .iter()
            .map(|c| CellOut {
                from: c.from.clone(),
                to: c.to.clone(),
                customers: c.customers,
                revenue_from: c.revenue_from.to_f64(),
                revenue_to: c.revenue_to.to_f64(),
            })
            .collect(),
        movers_total: visible.len(),
        movers: visible
            .iter()
            .take(top)
            .map(|mv| MoverOut {
                id: mv.customer_id.clone(),
                from: mv.from.clone(),
                to: mv.to.clone(),
                direction: mv.direction.code().into(),
                revenue_from: mv.monetary_from.to_f64(),
                revenue_to: mv.monetary_to.to_f64(),
                reason_from: why::reason_text(mv.reason_from.as_ref(), lang),
                reason_to: why::reason_text(mv.reason_to.as_ref(), lang),
            })
            .collect(),
    }))
}

/// Whose action list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct WorklistQuery {
    /// The account manager (analysts and admins; an account manager always gets their own).
    pub(crate) manager: Option<String>,
    /// The page, from 1.
    pub(crate) page: Option<usize>,
    /// Customers per page (default 100, at most 1,000).
    pub(crate) per_page: Option<usize>,
    /// `zh` or `en`.
    pub(crate) lang: Option<String>,
}

/// A customer to act on.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WorkItem {
    pub(crate) customer: CustomerOut,
    /// When the next action is due: the tier's follow-up interval after the later of the last
    /// purchase and the last follow-up.
    pub(crate) due: Option<String>,
    /// The last follow-up recorded.
    pub(crate) last_follow_up: Option<String>,
    /// Days past due at the run's as-of date (negative: days left).
    pub(crate) overdue_days: Option<i64>,
    /// The strategy's next step for the tier.
    pub(crate) next_step: String,
}

/// An account manager's action list.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Worklist {
    pub(crate) manager: String,
    /// The run's as-of date the list is counted at.
    pub(crate) as_of: String,
    /// The manager's customers.
    pub(crate) total: usize,
    /// Of which overdue.
    pub(crate) overdue: usize,
    /// This page, from 1.
    pub(crate) page: usize,
    /// Customers per page.
    pub(crate) per_page: usize,
    /// Overdue first (most overdue first), then by due date; those without a due date last,
    /// by revenue.
    pub(crate) items: Vec<WorkItem>,
}

/// A page of the action list of one account manager.
pub(crate) fn worklist_of(
    book: &Book,
    manager: &str,
    lang: Lang,
    page: usize,
    per_page: usize,
) -> Worklist {
    let list = book.worklist(manager);
    let items = list
        .iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .map(|&(overdue, i)| {
            let r = &book.rows[i as usize];
            let strategy = book
                .tier_of(r)
                .and_then(|t| book.scheme.as_ref()?.strategy(t));
            WorkItem {
                customer: customer_out(book, r, lang),
                due: book.due(r).map(|d| d.to_string()),
                last_follow_up: book.last_follow_up(&r.code).map(|d| d.to_string()),
                overdue_days: overdue,
                next_step: strategy
                    .map(|s| s.next_step(lang).to_string())
                    .unwrap_or_default(),
            }
        })
        .collect();
    Worklist {
        manager: manager.to_string(),
        as_of: book.run.as_of.to_string(),
        total: list.len(),
        overdue: list
            .iter()
            .filter(|(o, _)| o.is_some_and(|d| d > 0))
            .count(),
        page,
        per_page,
        items,
    }
}

/// An account manager's customers to act on, overdue first, with each tier's next step.
#[utoipa::path(get, path = "/api/worklist", tag = "customers", params(WorklistQuery),
    responses((status = 200, body = Worklist), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn worklist(
    State(state): Shared,
    caller: Caller,
    ApiQuery(q): ApiQuery<WorklistQuery>,
) -> Result<Json<Worklist>, ApiError> {
    caller.sees_customers()?;
    let lang = lang_of(q.lang.as_deref(), &state);
    let page = q.page.unwrap_or(1);
    let per_page = q.per_page.unwrap_or(100);
    if page == 0 || !(1..=1000).contains(&per_page) {
        return Err(ApiError::BadRequest(format!(
            "page {page}, per_page {per_page}: pages count from 1, per_page is 1 to 1000"
        )));
    }
    let manager = match caller.scope() {
        Some(own) => own,
        None => q.manager.clone().ok_or_else(|| {
            ApiError::BadRequest("manager: whose action list (an account manager's name)".into())
        })?,
    };
    let book = state.latest().await?;
    Ok(Json(worklist_of(&book, &manager, lang, page, per_page)))
}

/// A message of the alerts' outbox.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AlertOut {
    pub(crate) id: String,
    pub(crate) run: i64,
    /// The alerts that fired, comma separated.
    pub(crate) alert: String,
    pub(crate) title: String,
    pub(crate) recipient: String,
    pub(crate) channel: String,
    /// The channel's kind: webhook, wecom, dingtalk, feishu, email or file.
    pub(crate) kind: String,
    /// pending, delivered or failed.
    pub(crate) status: String,
    pub(crate) attempts: u32,
    pub(crate) next_attempt_at: String,
    pub(crate) created_at: String,
    pub(crate) delivered_at: Option<String>,
    pub(crate) last_error: Option<String>,
    /// Customers listed in the digest.
    pub(crate) customers: usize,
}

/// The alerts' outbox: every digest, its delivery and the last error (analysts and admins).
#[utoipa::path(get, path = "/api/alerts", tag = "alerts",
    responses((status = 200, body = Vec<AlertOut>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn alerts(State(state): Shared, caller: Caller) -> Result<Json<Vec<AlertOut>>, ApiError> {
    caller.at_least(Role::Analyst)?;
    let messages = state.with_store(|s| Ok(s.messages()?)).await?;
    Ok(Json(
        messages
            .into_iter()
            .rev()
            .map(|m| AlertOut {
                customers: m.digest.alerts.iter().map(|a| a.customers.len()).sum(),
                id: m.id,
                run: m.run,
                alert: m.digest.alert.clone(),
                title: m.digest.title.clone(),
                recipient: m.digest.recipient.clone(),
                channel: m.channel.name.clone(),
                kind: m.channel.kind.clone(),
                status: m.status.code().into(),
                attempts: m.attempts,
                next_attempt_at: m.next_attempt_at,
                created_at: m.created_at,
                delivered_at: m.delivered_at,
                last_error: m.last_error,
            })
            .collect(),
    ))
}

/// A scheme version.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SchemeVersionOut {
    pub(crate) id: i64,
    /// The sha256 of the text.
    pub(crate) hash: String,
    pub(crate) name: Option<String>,
    pub(crate) message: String,
    pub(crate) author: String,
    pub(crate) created_at: String,
    /// The scheme file's text (in a single version's detail only).
    pub(crate) text: Option<String>,
}

pub(crate) fn version_out(v: stratum_store::SchemeVersion, text: bool) -> SchemeVersionOut {
    SchemeVersionOut {
        id: v.id,
        hash: v.hash,
        name: v.name,
        message: v.message,
        author: v.author,
        created_at: v.created_at,
        text: text.then_some(v.text),
    }
}

/// Every scheme version, newest first.
#[utoipa::path(get, path = "/api/schemes", tag = "schemes",
    responses((status = 200, body = Vec<SchemeVersionOut>), (status = 401, body = ErrorBody)))]
async fn schemes(
    State(state): Shared,
    _caller: Caller,
) -> Result<Json<Vec<SchemeVersionOut>>, ApiError> {
    let versions = state.with_store(|s| Ok(s.versions()?)).await?;
    Ok(Json(
        versions
            .into_iter()
            .rev()
            .map(|v| version_out(v, false))
            .collect(),
    ))
}

/// A scheme to publish.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewVersion {
    /// The scheme file's text (TOML).
    pub(crate) text: String,
    /// What changed and why.
    #[schema(min_length = 1, pattern = "\\S")]
    pub(crate) message: String,
}

/// A version published.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Published {
    pub(crate) version: SchemeVersionOut,
    /// Whether the text is new (a text kept already keeps its first version).
    pub(crate) new: bool,
}

/// A scheme file's text, parsed; its error (with the line) is a bad request.
pub(crate) fn scheme_of_text(text: &str) -> Result<stratum_core::scheme::SchemeParams, ApiError> {
    stratum_core::scheme::SchemeParams::from_toml(text)
        .map_err(|e| ApiError::BadRequest(format!("the scheme: {e}")))
}

/// Publishes a scheme as a version (admins); audited.
#[utoipa::path(post, path = "/api/schemes", tag = "schemes", request_body = NewVersion,
    responses((status = 201, body = Published), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn publish(
    State(state): Shared,
    caller: Caller,
    ApiJson(new): ApiJson<NewVersion>,
) -> Result<(StatusCode, Json<Published>), ApiError> {
    caller.at_least(Role::Admin)?;
    if new.message.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "message is empty: say what changed and why".into(),
        ));
    }
    let scheme = scheme_of_text(&new.text)?;
    let author = caller.user.name.clone();
    let (version, fresh) = state
        .with_store(move |s| {
            let (v, fresh) =
                s.publish(scheme.text(), scheme.name(), new.message.trim(), &author)?;
            s.audit(&AuditEntry {
                at: now(),
                actor: author,
                action: "scheme.publish".into(),
                detail: format!(
                    "version {} ({}){}",
                    v.id,
                    &v.hash[..12.min(v.hash.len())],
                    if fresh { "" } else { ", a text kept already" }
                ),
            })?;
            Ok((v, fresh))
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Published {
            version: version_out(version, false),
            new: fresh,
        }),
    ))
}

/// A draft to preview.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct PreviewRequest {
    /// The draft scheme's text (TOML).
    pub(crate) text: String,
    /// The draft's dimension to compare (default: its final one).
    pub(crate) dimension: Option<String>,
    /// The most movers listed (default 100, at most 10,000).
    pub(crate) top: Option<usize>,
    /// `zh` or `en`.
    pub(crate) lang: Option<String>,
}

/// A tier's size now and with the draft.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PreviewSize {
    pub(crate) tier: String,
    pub(crate) customers_now: u64,
    pub(crate) revenue_now: f64,
    pub(crate) customers_draft: u64,
    pub(crate) revenue_draft: f64,
}

/// A customer the draft would move.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PreviewMoverOut {
    pub(crate) id: String,
    pub(crate) from: String,
    pub(crate) to: String,
    /// `up`, `stable` or `down`.
    pub(crate) direction: String,
    pub(crate) revenue: f64,
    pub(crate) reason_from: String,
    pub(crate) reason_to: String,
}

/// What a draft would do to the latest run's customers; nothing is recorded.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PreviewOut {
    /// The run previewed on (the latest).
    pub(crate) run: i64,
    pub(crate) draft_name: Option<String>,
    /// The run's dimension and the draft's compared.
    pub(crate) dimension_now: String,
    pub(crate) dimension_draft: String,
    pub(crate) customers: u64,
    pub(crate) revenue: f64,
    /// Customers who would change tier, and their revenue.
    pub(crate) moved: usize,
    pub(crate) revenue_moved: f64,
    pub(crate) up: u64,
    pub(crate) stable: u64,
    pub(crate) down: u64,
    pub(crate) sizes: Vec<PreviewSize>,
    /// The draft's tiers that would be empty.
    pub(crate) empty: Vec<String>,
    pub(crate) warnings: Vec<String>,
    /// The movers, by revenue, at most `top`.
    pub(crate) movers: Vec<PreviewMoverOut>,
}

/// Previews a draft scheme on the latest run's kept customers (analysts and admins): the
/// matrix counts, tier sizes now and with the draft, and who would move with both reasons.
#[utoipa::path(post, path = "/api/preview", tag = "schemes", request_body = PreviewRequest,
    responses((status = 200, body = PreviewOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn preview(
    State(state): Shared,
    caller: Caller,
    ApiJson(req): ApiJson<PreviewRequest>,
) -> Result<Json<PreviewOut>, ApiError> {
    caller.at_least(Role::Analyst)?;
    let lang = lang_of(req.lang.as_deref(), &state);
    let top = req.top.unwrap_or(100).min(10_000);
    let draft = scheme_of_text(&req.text)?;
    let dimension = req.dimension.clone();
    let p = state
        .with_store(move |s| Ok(s.preview(draft, dimension.as_deref(), lang)?))
        .await?;
    Ok(Json(PreviewOut {
        run: p.run.id.unwrap_or_default(),
        draft_name: p.draft_name.clone(),
        dimension_now: p.dimensions.0.clone(),
        dimension_draft: p.dimensions.1.clone(),
        customers: p.customers,
        revenue: p.revenue.to_f64(),
        moved: p.movers.len(),
        revenue_moved: p.revenue_moved.to_f64(),
        up: p.matrix.counts[0],
        stable: p.matrix.counts[1],
        down: p.matrix.counts[2],
        sizes: p
            .sizes
            .iter()
            .map(|(tier, cn, rn, cd, rd)| PreviewSize {
                tier: tier.clone(),
                customers_now: *cn,
                revenue_now: rn.to_f64(),
                customers_draft: *cd,
                revenue_draft: rd.to_f64(),
            })
            .collect(),
        empty: p.empty.clone(),
        warnings: p.warnings.clone(),
        movers: p
            .movers
            .iter()
            .take(top)
            .map(|m| PreviewMoverOut {
                id: m.customer_id.clone(),
                from: m.from.clone(),
                to: m.to.clone(),
                direction: m.direction.code().into(),
                revenue: m.monetary.to_f64(),
                reason_from: m.reason_from.clone(),
                reason_to: m.reason_to.clone(),
            })
            .collect(),
    }))
}

/// One scheme version with its text.
#[utoipa::path(get, path = "/api/schemes/{id}", tag = "schemes",
    params(("id" = i64, Path, description = "the version")),
    responses((status = 200, body = SchemeVersionOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn scheme_version(
    State(state): Shared,
    _caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<SchemeVersionOut>, ApiError> {
    let v = state.with_store(move |s| Ok(s.version(id)?)).await?;
    Ok(Json(version_out(v, true)))
}

/// Two scheme versions to compare.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DiffQuery {
    /// The older version (default: the one before `to`).
    pub(crate) from: Option<i64>,
    /// The newer version (default: the latest).
    pub(crate) to: Option<i64>,
    /// `zh` or `en`.
    pub(crate) lang: Option<String>,
}

/// One change between two scheme versions.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChangeOut {
    /// `+` added, `-` removed, `~` changed.
    pub(crate) mark: String,
    /// The change in words: `~ value.gold: monetary >= 1000 → monetary >= 2000`.
    pub(crate) text: String,
}

/// What changed from one scheme version to another.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SchemeDiffOut {
    pub(crate) from: i64,
    pub(crate) to: i64,
    /// Dimensions and tiers added or removed, rules rewritten, the tiers' rank and the order
    /// their rules are tried, the final dimension, and other sections that differ.
    pub(crate) changes: Vec<ChangeOut>,
}

/// The changes among `versions` (oldest first) from version `from` (default: the one before
/// `to`) to version `to` (default: the latest), as one list in `lang`.
pub(crate) fn diff_of(
    versions: &[stratum_store::SchemeVersion],
    from: Option<i64>,
    to: Option<i64>,
    lang: Lang,
) -> Result<SchemeDiffOut, ApiError> {
    let find = |id: i64| {
        versions
            .iter()
            .position(|v| v.id == id)
            .ok_or(ApiError::NotFound {
                what: "scheme version",
                id: id.to_string(),
            })
    };
    let to = match to {
        Some(id) => find(id)?,
        None => versions
            .len()
            .checked_sub(1)
            .ok_or_else(|| ApiError::BadRequest("no scheme version is kept yet".into()))?,
    };
    let from = match from {
        Some(id) => find(id)?,
        None => to.checked_sub(1).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "version {} is the first: name another to compare it with (from)",
                versions[to].id
            ))
        })?,
    };
    let (old, new) = (
        scheme_of_text(&versions[from].text)?,
        scheme_of_text(&versions[to].text)?,
    );
    Ok(SchemeDiffOut {
        from: versions[from].id,
        to: versions[to].id,
        changes: stratum_core::scheme::changes(&old, &new)
            .iter()
            .map(|c| ChangeOut {
                mark: stratum_io::changes::mark(c).to_string(),
                text: stratum_io::changes::line(c, lang),
            })
            .collect(),
    })
}

/// What changed between two scheme versions.
#[utoipa::path(get, path = "/api/schemes/diff", tag = "schemes", params(DiffQuery),
    responses((status = 200, body = SchemeDiffOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn scheme_diff(
    State(state): Shared,
    _caller: Caller,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> Result<Json<SchemeDiffOut>, ApiError> {
    let lang = lang_of(q.lang.as_deref(), &state);
    let versions = state.with_store(|s| Ok(s.versions()?)).await?;
    Ok(Json(diff_of(&versions, q.from, q.to, lang)?))
}

/// A user, as listed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserOut {
    pub(crate) name: String,
    pub(crate) role: String,
    /// For an account manager, the `account_manager` value whose customers they see.
    pub(crate) book: Option<String>,
    pub(crate) created_at: String,
    pub(crate) disabled: bool,
}

impl From<&User> for UserOut {
    fn from(u: &User) -> Self {
        UserOut {
            name: u.name.clone(),
            role: u.role.code().into(),
            book: (u.role == Role::Manager).then(|| u.book().to_string()),
            created_at: u.created_at.clone(),
            disabled: u.disabled,
        }
    }
}

/// Every user (admins).
#[utoipa::path(get, path = "/api/users", tag = "admin",
    responses((status = 200, body = Vec<UserOut>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn list_users(State(state): Shared, caller: Caller) -> Result<Json<Vec<UserOut>>, ApiError> {
    caller.at_least(Role::Admin)?;
    let users = state.with_store(|s| Ok(s.users()?)).await?;
    Ok(Json(users.iter().map(UserOut::from).collect()))
}

/// A user to add.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewUser {
    #[schema(min_length = 1, max_length = 100)]
    pub(crate) name: String,
    /// `viewer`, `manager`, `analyst` or `admin`.
    #[schema(pattern = "^(viewer|manager|analyst|admin)$")]
    pub(crate) role: String,
    /// For an account manager: the `account_manager` value of their customers (default:
    /// their name).
    pub(crate) book: Option<String>,
    /// Their password (at least 8 characters); none for a user who uses API tokens only.
    #[schema(min_length = 8)]
    pub(crate) password: Option<String>,
}

/// Checks and makes a user: the shared rules of the API, the page and `stratum users add`.
pub fn make_user(
    name: &str,
    role: &str,
    book: Option<&str>,
    password: Option<&str>,
) -> Result<User, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "user name `{name}`: 1 to 100 characters, no control characters"
        )));
    }
    let role = Role::parse(role).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "role `{role}`: expected viewer, manager, analyst or admin"
        ))
    })?;
    let password_hash = match password {
        Some(p) if p.chars().count() < 8 => {
            return Err(ApiError::BadRequest(
                "password: at least 8 characters".into(),
            ));
        }
        Some(p) => Some(hash_password(p).map_err(|e| ApiError::Internal(e.to_string()))?),
        None => None,
    };
    Ok(User {
        name: name.to_string(),
        role,
        manager: book
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_string),
        password_hash,
        created_at: now(),
        disabled: false,
    })
}

/// Adds a user (admins).
#[utoipa::path(post, path = "/api/users", tag = "admin", request_body = NewUser,
    responses((status = 201, body = UserOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn add_user(
    State(state): Shared,
    caller: Caller,
    ApiJson(new): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<UserOut>), ApiError> {
    caller.at_least(Role::Admin)?;
    let actor = caller.user.name.clone();
    let user = state
        .with_store(move |s| {
            let user = make_user(
                &new.name,
                &new.role,
                new.book.as_deref(),
                new.password.as_deref(),
            )?;
            s.add_user(&user)?;
            s.audit(&AuditEntry {
                at: now(),
                actor,
                action: "user.add".into(),
                detail: format!("{} ({})", user.name, user.role.code()),
            })?;
            Ok(user)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(UserOut::from(&user))))
}

/// An API token, as listed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenOut {
    pub(crate) id: String,
    pub(crate) user: String,
    pub(crate) label: String,
    pub(crate) created_at: String,
    pub(crate) revoked_at: Option<String>,
}

/// Every API token (admins); their secrets are never shown again.
#[utoipa::path(get, path = "/api/tokens", tag = "admin",
    responses((status = 200, body = Vec<TokenOut>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn list_tokens(
    State(state): Shared,
    caller: Caller,
) -> Result<Json<Vec<TokenOut>>, ApiError> {
    caller.at_least(Role::Admin)?;
    let tokens = state.with_store(|s| Ok(s.tokens()?)).await?;
    Ok(Json(
        tokens
            .into_iter()
            .map(|t| TokenOut {
                id: t.id,
                user: t.user,
                label: t.label,
                created_at: t.created_at,
                revoked_at: t.revoked_at,
            })
            .collect(),
    ))
}

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewToken {
    /// Whose token (the token acts with their role).
    pub(crate) user: String,
    /// What it is for.
    pub(crate) label: String,
}

/// A token just created: the whole token is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub id: String,
    /// The token, for `Authorization: Bearer …`.
    pub token: String,
}

/// Creates an API token for a user (admins).
#[utoipa::path(post, path = "/api/tokens", tag = "admin", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn add_token(
    State(state): Shared,
    caller: Caller,
    ApiJson(new): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    caller.at_least(Role::Admin)?;
    let actor = caller.user.name.clone();
    let created = state
        .with_store(move |s| create_token(s, &new.user, &new.label, &actor))
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Creates a token for `user` labelled `label`, by `actor`, audited.
pub fn create_token(
    s: &mut stratum_store::Store,
    user: &str,
    label: &str,
    actor: &str,
) -> Result<CreatedToken, ApiError> {
    if s.user(user)?.is_none() {
        return Err(ApiError::NotFound {
            what: "user",
            id: user.to_string(),
        });
    }
    let (id, token) = new_token();
    s.add_token(
        &Token {
            id: id.clone(),
            user: user.to_string(),
            label: label.to_string(),
            created_at: now(),
            revoked_at: None,
        },
        &token_hash(&token),
    )?;
    s.audit(&AuditEntry {
        at: now(),
        actor: actor.to_string(),
        action: "token.add".into(),
        detail: format!("{id} for {user}: {label}"),
    })?;
    Ok(CreatedToken { id, token })
}

/// Revokes an API token (admins).
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "admin",
    params(("id" = String, Path, description = "the token's id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn revoke_token(
    State(state): Shared,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    caller.at_least(Role::Admin)?;
    let actor = caller.user.name.clone();
    state
        .with_store(move |s| {
            s.revoke_token(&id, &now())?;
            s.audit(&AuditEntry {
                at: now(),
                actor,
                action: "token.revoke".into(),
                detail: id,
            })?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An entry of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditOut {
    pub(crate) at: String,
    pub(crate) actor: String,
    pub(crate) action: String,
    pub(crate) detail: String,
}

/// The audit log, newest first (admins).
#[utoipa::path(get, path = "/api/audit", tag = "admin",
    responses((status = 200, body = Vec<AuditOut>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn audit_log(State(state): Shared, caller: Caller) -> Result<Json<Vec<AuditOut>>, ApiError> {
    caller.at_least(Role::Admin)?;
    let log = state.with_store(|s| Ok(s.audit_log(1000)?)).await?;
    Ok(Json(
        log.into_iter()
            .map(|e| AuditOut {
                at: e.at,
                actor: e.actor,
                action: e.action,
                detail: e.detail,
            })
            .collect(),
    ))
}
