//! The dashboard: server-rendered pages (askama templates), in Chinese or English (`?lang=`,
//! kept in a cookie), with the report's styles and charts. No page loads anything from
//! elsewhere. Pages read the same data, with the same role checks, as the API.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use stratum_core::Lang;
use stratum_core::format::{thousands, wan};
use stratum_store::access::Role;

use crate::api::{
    CustomerQuery, MigrationsQuery, WorklistQuery, customer_out, tier_label, visible_customer,
    worklist_of,
};
use crate::auth::{Caller, SESSION_COOKIE, cookie, digest, now, secret, verify_password};
use crate::book::Sort;
use crate::error::ApiError;
use crate::state::AppState;

/// The language cookie's name.
const LANG_COOKIE: &str = "stratum_lang";

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/", get(overview))
        .route("/customers", get(customers))
        .route("/customers/{id}", get(customer))
        .route("/my", get(my_customers))
        .route("/migrations", get(migrations))
        .route("/runs", get(runs).post(start_run))
        .route("/schemes", get(schemes))
        .route("/schemes/{id}", get(scheme_text))
        .route("/schemes/preview", post(preview))
        .route("/schemes/diff", get(scheme_diff))
        .route("/funnel", get(funnel))
        .route("/customers/{id}/review", post(review_customer))
        .route("/customers/{id}/follow-ups", post(follow_up_customer))
        .route("/reviews", get(reviews))
        .route("/scorecards", get(scorecards))
        .route("/pool", get(pool_page))
        .route("/pool/{id}/claim", post(pool_claim))
        .route("/pool/{id}/release", post(pool_release))
        .route("/scorecards/export", get(scorecards_export))
        .route("/reviews/{id}/decision", post(decide_review))
        .route("/alerts", get(alerts))
        .route("/at-risk", get(at_risk))
}

/// Words and numbers in the page's language.
#[derive(Debug, Clone)]
pub(crate) struct Words {
    pub(crate) lang: Lang,
    currency: String,
}

impl Words {
    /// `zh` or `en`, whichever the page is in.
    pub(crate) fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(zh, en)
    }

    /// The page's `lang` attribute.
    pub(crate) fn html_lang(&self) -> &'static str {
        self.lang.pick("zh-CN", "en")
    }

    /// An amount: 万/亿 in Chinese, thousands separated in English.
    pub(crate) fn amount(&self, v: &f64) -> String {
        let body = match self.lang {
            Lang::Zh => wan(v.abs()),
            Lang::En => stratum_core::format::number(v.abs(), 0),
        };
        let sign = if *v < 0.0 { "-" } else { "" };
        format!("{sign}{}{body}", self.currency)
    }

    /// An optional amount.
    pub(crate) fn maybe_amount(&self, v: &Option<f64>) -> String {
        v.map_or_else(|| "–".into(), |v| self.amount(&v))
    }

    /// A probability as a percentage.
    pub(crate) fn maybe_pct(&self, v: &Option<f64>) -> String {
        v.map_or_else(|| "–".into(), |v| format!("{:.0}%", v * 100.0))
    }
}

/// The signed-in caller of a page (else a redirect to the sign-in page), with the page's words.
pub(crate) struct Page {
    caller: Caller,
    words: Words,
    path: String,
}

/// The page's language: `?lang=` (kept in a cookie by the response), the cookie, else the
/// server's.
fn lang_of(parts: &Parts, state: &AppState) -> Lang {
    let asked = parts
        .uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")))
        .or_else(|| cookie(parts, LANG_COOKIE));
    match asked {
        Some("en") => Lang::En,
        Some("zh") => Lang::Zh,
        _ => state.config.lang,
    }
}

impl FromRequestParts<Arc<AppState>> for Page {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let words = Words {
            lang: lang_of(parts, state),
            currency: state.config.currency.clone(),
        };
        let path = parts
            .uri
            .path_and_query()
            .map_or("/".into(), |p| p.as_str().to_string());
        match crate::auth::caller(parts, state).await {
            Ok(caller) => Ok(Page {
                caller,
                words,
                path,
            }),
            Err(ApiError::Unauthorized) => {
                let next = percent_encode(&path);
                Err(Redirect::to(&format!("/login?next={next}")).into_response())
            }
            Err(e) => Err(error_page(&words, &e)),
        }
    }
}

/// `s` percent-encoded for a query value (slashes kept).
fn percent_encode(s: &str) -> String {
    encode(s, b"/")
}

/// `text` as one segment of a URL path (slashes encoded too).
fn path_segment(text: &str) -> String {
    encode(text, b"")
}

/// `s` with every byte but the unreserved ones and `keep` percent-encoded.
fn encode(s: &str, keep: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The frame every page shares.
pub(crate) struct Frame {
    pub(crate) w: Words,
    pub(crate) title: String,
    pub(crate) user: String,
    pub(crate) role: String,
    pub(crate) csrf: String,
    pub(crate) sees_customers: bool,
    pub(crate) sees_all: bool,
    pub(crate) path: String,
    pub(crate) style: &'static str,
}

impl Frame {
    fn of(page: &Page, title: &str) -> Frame {
        Frame {
            w: page.words.clone(),
            title: title.to_string(),
            user: page.caller.user.name.clone(),
            role: role_name(page.caller.role(), page.words.lang).to_string(),
            csrf: page.caller.csrf.clone().unwrap_or_default(),
            sees_customers: page.caller.role().sees_customers(),
            sees_all: page.caller.role().sees_all_customers(),
            path: page.path.split('?').next().unwrap_or("/").to_string(),
            style: stratum_io::report::style(),
        }
    }

    /// The link to this page in the other language.
    pub(crate) fn other_lang(&self) -> (&'static str, &'static str) {
        other_lang(self.w.lang)
    }
}

/// The other language than `lang`: its code and its name in itself.
fn other_lang(lang: Lang) -> (&'static str, &'static str) {
    match lang {
        Lang::Zh => ("en", "English"),
        Lang::En => ("zh", "中文"),
    }
}

fn role_name(role: Role, lang: Lang) -> &'static str {
    match role {
        Role::Viewer => lang.pick("访客（仅汇总）", "viewer"),
        Role::Manager => lang.pick("客户经理", "account manager"),
        Role::Analyst => lang.pick("分析师", "analyst"),
        Role::Admin => lang.pick("管理员", "admin"),
    }
}

/// A rendered page, with the language cookie set when `?lang=` asked for one.
fn render(t: &impl Template, lang: Lang, set_lang: bool) -> Response {
    match t.render() {
        Ok(body) => {
            let mut r = Html(body).into_response();
            if set_lang
                && let Ok(v) = HeaderValue::from_str(&format!(
                    "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
                    lang.pick("zh", "en")
                ))
            {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r.headers_mut().insert(
                "content-security-policy",
                HeaderValue::from_static(
                    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
                ),
            );
            r
        }
        Err(e) => ApiError::Internal(format!("template: {e}")).into_response(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    w: Words,
    status: u16,
    message: String,
    style: &'static str,
}

/// An error as a page, with the status the API would answer.
/// A page's answer: the page rendered in the caller's language (kept when `?lang=` asked for
/// it), else the error page.
fn page_answer(result: Result<impl Template, ApiError>, page: &Page) -> Response {
    match result {
        Ok(p) => render(&p, page.words.lang, page.path.contains("lang=")),
        Err(e) => error_page(&page.words, &e),
    }
}

fn error_page(w: &Words, e: &ApiError) -> Response {
    let (status, body) = e.answer();
    let page = ErrorPage {
        w: w.clone(),
        status: status.as_u16(),
        message: body.message,
        style: stratum_io::report::style(),
    };
    let mut r = render(&page, w.lang, false);
    *r.status_mut() = status;
    r
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    w: Words,
    next: String,
    error: Option<String>,
    style: &'static str,
    other: (&'static str, &'static str),
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only a path on this server (never `//elsewhere` or a URL) is followed after signing in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".into(),
    }
}

async fn login_page(
    State(state): State<Arc<AppState>>,
    parts: Parts,
    Query(q): Query<NextQuery>,
) -> Response {
    let lang = lang_of(&parts, &state);
    let page = LoginPage {
        w: Words {
            lang,
            currency: state.config.currency.clone(),
        },
        next: safe_next(q.next.as_deref()),
        error: None,
        style: stratum_io::report::style(),
        other: other_lang(lang),
    };
    render(
        &page,
        lang,
        parts.uri.query().is_some_and(|q| q.contains("lang=")),
    )
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = match headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| {
            c.split(';')
                .find_map(|kv| kv.trim().strip_prefix("stratum_lang="))
        }) {
        Some("en") => Lang::En,
        Some("zh") => Lang::Zh,
        _ => state.config.lang,
    };
    let words = Words {
        lang,
        currency: state.config.currency.clone(),
    };
    let address = peer.ip().to_string();
    let next = safe_next(form.next.as_deref());
    let failed = |message: String, status: StatusCode| {
        let page = LoginPage {
            w: words.clone(),
            next: next.clone(),
            error: Some(message),
            style: stratum_io::report::style(),
            other: other_lang(lang),
        };
        let mut r = render(&page, lang, false);
        *r.status_mut() = status;
        r
    };
    if let Err(wait) = state.limiter.check(&address, &form.name) {
        let e = ApiError::TooManyRequests(wait);
        return failed(e.to_string(), StatusCode::TOO_MANY_REQUESTS);
    }
    let name = form.name.clone();
    let user = state.with_store(move |s| Ok(s.user(&name)?)).await;
    let user = match user {
        Ok(u) => u,
        Err(e) => return error_page(&words, &e),
    };
    // the hash is checked on the blocking pool (argon2 takes tens of milliseconds); an unknown
    // name is checked against a hash too, so both take as long
    let password = form.password.clone();
    let stored = user
        .as_ref()
        .filter(|u| !u.disabled)
        .and_then(|u| u.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || match stored {
        Some(h) => verify_password(&password, &h),
        None => {
            let _ = verify_password(&password, DUMMY_HASH);
            false
        }
    })
    .await
    .unwrap_or(false);
    let Some(user) = user.filter(|_| ok) else {
        state.limiter.failed(&address, &form.name);
        return failed(
            words.t("用户名或密码错误", "wrong name or password").into(),
            StatusCode::UNAUTHORIZED,
        );
    };
    state.limiter.succeeded(&address, &form.name);
    let id = secret(32);
    let csrf = secret(24);
    let hours = state.config.session_hours;
    let expires = (chrono::Utc::now() + chrono::Duration::hours(hours))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (hash, name) = (digest(&id), user.name.clone());
    let kept = state
        .with_store(move |s| Ok(s.add_session(&hash, &name, &csrf, &now(), &expires)?))
        .await;
    if let Err(e) = kept {
        return error_page(&words, &e);
    }
    tracing::info!(user = %user.name, "signed in");
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let mut r = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        hours * 3600
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// An argon2 hash of nothing anyone knows: what an unknown name's password is checked against.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c3RyYXR1bWR1bW15$3sX3C3IMdFjyhVL7ou1gVQEbyNGBJbn6Oe2YGUaCZfQ";

#[derive(Debug, Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// Fails unless a page's form carried its session's form token.
fn check_form(page: &Page, given: &str) -> Result<(), ApiError> {
    match page.caller.csrf.as_deref() {
        Some(t) if t == given => Ok(()),
        _ => Err(ApiError::Csrf),
    }
}

async fn logout(
    State(state): State<Arc<AppState>>,
    page: Page,
    parts: Parts,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(e) = check_form(&page, &form.csrf) {
        return error_page(&page.words, &e);
    }
    if let Some(id) = cookie(&parts, SESSION_COOKIE) {
        let hash = digest(id);
        let _ = state
            .with_store(move |s| Ok(s.end_session(&hash, &now())?))
            .await;
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("stratum_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    r
}

/// A headline figure.
pub(crate) struct Figure {
    pub(crate) label: String,
    pub(crate) value: String,
    pub(crate) note: String,
}

/// A tier's size in the latest run.
pub(crate) struct TierLine {
    pub(crate) code: String,
    pub(crate) label: String,
    pub(crate) customers: String,
    pub(crate) share: String,
    pub(crate) revenue: String,
    pub(crate) revenue_share: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    f: Frame,
    empty: bool,
    figures: Vec<Figure>,
    tiers: Vec<TierLine>,
    dimension: String,
    history: String,
    quality: Vec<Figure>,
}

async fn overview(State(state): State<Arc<AppState>>, page: Page) -> Response {
    let w = page.words.clone();
    match overview_page(&state, &page).await {
        Ok(p) => render(&p, w.lang, page.path.contains("lang=")),
        Err(e) => error_page(&w, &e),
    }
}

async fn overview_page(state: &Arc<AppState>, page: &Page) -> Result<OverviewPage, ApiError> {
    let w = &page.words;
    let mut f = Frame::of(page, w.t("概览", "Overview"));
    f.title = w.t("概览", "Overview").into();
    let Some(book) = state.book().await? else {
        return Ok(OverviewPage {
            f,
            empty: true,
            figures: Vec::new(),
            tiers: Vec::new(),
            dimension: String::new(),
            history: String::new(),
            quality: Vec::new(),
        });
    };
    // movers are customer rows: listed for those who see every customer only
    let top = if page.caller.role().sees_all_customers() {
        10
    } else {
        0
    };
    let lang = w.lang;
    let run = book.run.id;
    // the history is worked out once per run, language and list length
    let cached = book
        .overviews
        .lock()
        .ok()
        .and_then(|c| c.get(&(lang, top)).cloned());
    let view = match cached {
        Some(v) => v,
        None => {
            let v = Arc::new(
                state
                    .with_store(move |s| Ok(s.overview(None, None, top, lang)?))
                    .await?,
            );
            if let Ok(mut c) = book.overviews.lock() {
                c.insert((lang, top), v.clone());
            }
            v
        }
    };
    let (totals, docs) = state
        .with_store(move |s| Ok((s.tier_totals(run)?, s.run_documents(run)?)))
        .await?;
    let mut figures = vec![
        Figure {
            label: w.t("客户", "customers").into(),
            value: thousands(book.run.customers),
            note: format!("{} {}", w.t("分析日期", "as of"), book.run.as_of),
        },
        Figure {
            label: w.t("净收入", "net revenue").into(),
            value: w.amount(&book.run.revenue.to_f64()),
            note: format!("{} #{}", w.t("运行", "run"), book.run.id),
        },
    ];
    let dimension = book.dimension.as_ref().map(|d| d.0.clone());
    let dim_name = dimension.clone().unwrap_or_else(|| "rfm_class".into());
    let in_dim: Vec<_> = totals.iter().filter(|t| t.dimension == dim_name).collect();
    let all_customers: u64 = in_dim.iter().map(|t| t.customers).sum();
    let all_revenue: f64 = in_dim.iter().map(|t| t.revenue.to_f64()).sum();
    let order: Vec<String> = match &book.dimension {
        Some((_, tiers)) => tiers.clone(),
        None => in_dim.iter().map(|t| t.tier.clone()).collect(),
    };
    let share = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.1}%", a / b * 100.0)
        } else {
            "–".into()
        }
    };
    let tiers: Vec<TierLine> = order
        .iter()
        .filter_map(|code| in_dim.iter().find(|t| &t.tier == code))
        .map(|t| TierLine {
            code: t.tier.clone(),
            label: tier_label(book.scheme.as_ref(), &dim_name, &t.tier, lang),
            customers: thousands(t.customers),
            share: share(t.customers as f64, all_customers as f64),
            revenue: w.amount(&t.revenue.to_f64()),
            revenue_share: share(t.revenue.to_f64(), all_revenue),
        })
        .collect();
    if let Some(top_tier) = tiers.first() {
        figures.push(Figure {
            label: format!(
                "{} {}",
                top_tier.label,
                w.t("的收入占比", "share of revenue")
            ),
            value: top_tier.revenue_share.clone(),
            note: format!("{} {}", top_tier.customers, w.t("位客户", "customers")),
        });
    }
    let mut history = String::new();
    if let Some(view) = view.as_ref() {
        let dim_label = book
            .scheme
            .as_ref()
            .and_then(|s| s.dimension_label(&view.dimension))
            .map_or(view.dimension.clone(), |l| {
                l.pick(lang, &view.dimension).to_string()
            });
        let scheme = book.scheme.as_ref();
        let label = |t: &str| tier_label(scheme, &view.dimension, t, lang);
        if let Some(section) = stratum_io::report::history_section(
            view,
            &label,
            &dim_label,
            lang,
            &state.config.currency,
        ) {
            history = stratum_io::report::blocks_html(&section);
        }
    }
    Ok(OverviewPage {
        f,
        empty: false,
        figures,
        tiers,
        dimension: dimension
            .as_deref()
            .and_then(|d| book.scheme.as_ref()?.dimension_label(d))
            .map_or(dim_name.clone(), |l| l.pick(lang, &dim_name).to_string()),
        history,
        quality: quality_figures(&docs.inputs, w),
    })
}

/// The row counts of the run's inputs: read, accepted, rejected, per input.
fn quality_figures(inputs: &serde_json::Value, w: &Words) -> Vec<Figure> {
    let mut out = Vec::new();
    let Some(list) = inputs.as_array() else {
        return out;
    };
    for input in list {
        let role = input
            .get("role")
            .and_then(|v| v.as_str())
            .unwrap_or("input");
        let path = input.get("path").and_then(|v| v.as_str()).unwrap_or("");
        let n = |k: &str| input.get(k).and_then(serde_json::Value::as_u64);
        let (Some(read), accepted) = (n("rows_read").or(n("rows")), n("rows_accepted")) else {
            continue;
        };
        out.push(Figure {
            label: format!("{role}: {path}"),
            value: format!("{} {}", thousands(read), w.t("行", "rows")),
            note: accepted.map_or(String::new(), |a| {
                format!(
                    "{} {} · {} {}",
                    thousands(a),
                    w.t("行可用", "accepted"),
                    thousands(read.saturating_sub(a)),
                    w.t("行剔除", "rejected or duplicate")
                )
            }),
        });
    }
    out
}

/// A customer as a list shows it.
pub(crate) struct ListRow {
    pub(crate) id: String,
    pub(crate) href: String,
    pub(crate) name: String,
    pub(crate) tier: String,
    pub(crate) manager: String,
    pub(crate) industry: String,
    pub(crate) lifecycle: String,
    pub(crate) churn: String,
    pub(crate) revenue: String,
    pub(crate) recency: String,
    pub(crate) frequency: String,
}

fn list_row(c: &crate::api::CustomerOut, w: &Words) -> ListRow {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    ListRow {
        href: format!("/customers/{}", percent_encode(&c.id)),
        id: c.id.clone(),
        name: text(&c.name),
        tier: text(&c.tier_label),
        manager: text(&c.account_manager),
        industry: text(&c.industry),
        lifecycle: text(&c.lifecycle),
        churn: text(&c.churn_band),
        revenue: w.amount(&c.revenue),
        recency: c.recency_days.to_string(),
        frequency: c.frequency.to_string(),
    }
}

/// A choice of a filter.
pub(crate) struct Choice {
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) selected: bool,
}

fn choices(values: &[(String, String)], chosen: Option<&str>) -> Vec<Choice> {
    values
        .iter()
        .map(|(v, l)| Choice {
            value: v.clone(),
            label: l.clone(),
            selected: chosen == Some(v.as_str()),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "customers.html")]
struct CustomersPage {
    f: Frame,
    q: String,
    tiers: Vec<Choice>,
    managers: Vec<Choice>,
    industries: Vec<Choice>,
    lifecycles: Vec<Choice>,
    churn: Vec<Choice>,
    rows: Vec<ListRow>,
    total: String,
    page: usize,
    pages: usize,
    prev: Option<String>,
    next: Option<String>,
}

async fn customers(
    State(state): State<Arc<AppState>>,
    page: Page,
    Query(q): Query<CustomerQuery>,
) -> Response {
    let w = page.words.clone();
    match customers_page(&state, &page, &q).await {
        Ok(p) => render(&p, w.lang, q.lang.is_some()),
        Err(e) => error_page(&w, &e),
    }
}

async fn customers_page(
    state: &Arc<AppState>,
    page: &Page,
    q: &CustomerQuery,
) -> Result<CustomersPage, ApiError> {
    page.caller.sees_customers()?;
    let w = &page.words;
    let (number, per_page) = q.paging()?;
    let descending = q.descending()?;
    let book = state.latest().await?;
    let filter = q.filter(&page.caller);
    let (total, rows) = book.select(
        &filter,
        q.sort.unwrap_or(Sort::Revenue),
        descending,
        (number - 1) * per_page,
        per_page,
    );
    let pages = total.div_ceil(per_page).max(1);
    let link = |to: usize| {
        let mut params: Vec<String> = Vec::new();
        for (k, v) in [
            ("q", &q.q),
            ("tier", &q.tier),
            ("manager", &q.manager),
            ("industry", &q.industry),
            ("lifecycle", &q.lifecycle),
            ("churn", &q.churn),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                params.push(format!("{k}={}", percent_encode(v)));
            }
        }
        params.push(format!("page={to}"));
        format!("/customers?{}", params.join("&"))
    };
    let dim = book.dimension.clone();
    let tier_choices: Vec<(String, String)> = dim.as_ref().map_or(Vec::new(), |(d, tiers)| {
        tiers
            .iter()
            .map(|t| (t.clone(), tier_label(book.scheme.as_ref(), d, t, w.lang)))
            .collect()
    });
    let plain = |d: &crate::book::Dict| -> Vec<(String, String)> {
        d.sorted()
            .into_iter()
            .map(|v| (v.to_string(), v.to_string()))
            .collect()
    };
    let managers = if page.caller.role().sees_all_customers() {
        plain(&book.managers)
    } else {
        Vec::new()
    };
    Ok(CustomersPage {
        f: Frame::of(page, w.t("客户", "Customers")),
        q: q.q.clone().unwrap_or_default(),
        tiers: choices(&tier_choices, q.tier.as_deref()),
        managers: choices(&managers, q.manager.as_deref()),
        industries: choices(&plain(&book.industries), q.industry.as_deref()),
        lifecycles: choices(&plain(&book.lifecycles), q.lifecycle.as_deref()),
        churn: choices(&plain(&book.churn), q.churn.as_deref()),
        rows: rows
            .iter()
            .map(|r| list_row(&customer_out(&book, r, w.lang), w))
            .collect(),
        total: thousands(total as u64),
        page: number,
        pages,
        prev: (number > 1).then(|| link(number - 1)),
        next: (number < pages).then(|| link(number + 1)),
    })
}

/// A customer in one run, as the timeline shows it.
pub(crate) struct TimelineRow {
    pub(crate) run: i64,
    pub(crate) as_of: String,
    pub(crate) tiers: String,
    pub(crate) tier: String,
    pub(crate) changed: bool,
    pub(crate) reason: String,
    pub(crate) revenue: String,
    pub(crate) recency: i64,
    pub(crate) frequency: u64,
    pub(crate) clv: String,
}

#[derive(Template)]
#[template(path = "customer.html")]
struct CustomerPage {
    f: Frame,
    row: ListRow,
    facts: Vec<Figure>,
    timeline: Vec<TimelineRow>,
    next_step: String,
    /// The latest run's profile: label, value, column.
    profile: Vec<Figure>,
    /// The customer's reviews, newest first.
    reviews: Vec<crate::review::ReviewOut>,
    /// The customer's follow-ups, latest first.
    follow_ups: Vec<crate::followups::FollowUpOut>,
    /// Today, the follow-up form's default day.
    today: String,
    /// The tiers a dispute may propose (code, name), other than the customer's; empty when
    /// the latest run has no scheme.
    other_tiers: Vec<(String, String)>,
}

async fn customer(
    State(state): State<Arc<AppState>>,
    page: Page,
    Path(id): Path<String>,
) -> Response {
    let w = page.words.clone();
    match customer_page(&state, &page, &id).await {
        Ok(p) => render(&p, w.lang, page.path.contains("lang=")),
        Err(e) => error_page(&w, &e),
    }
}

async fn customer_page(
    state: &Arc<AppState>,
    page: &Page,
    id: &str,
) -> Result<CustomerPage, ApiError> {
    let w = &page.words;
    let (book, history) = visible_customer(state, &page.caller, id).await?;
    // a run kept without a profile has none to show
    let profile = crate::api::profile_values(state, &book, id, w.lang)
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(|(column, label, v)| Figure {
            note: column,
            label,
            value: match v {
                stratum_store::chunk::StoredValue::Empty => "–".into(),
                v => stratum_store::why::value_text(&v),
            },
        })
        .collect();
    let row = book.find(id).ok_or(ApiError::NotFound {
        what: "customer",
        id: id.to_string(),
    })?;
    let out = customer_out(&book, row, w.lang);
    let entries = crate::api::history_out(&history, book.scheme.as_ref(), w.lang);
    let mut timeline = Vec::new();
    let mut before: Option<&str> = None;
    for e in &entries {
        let last = e.tiers.last();
        timeline.push(TimelineRow {
            run: e.run,
            as_of: e.as_of.clone(),
            tiers: e
                .tiers
                .iter()
                .map(|t| t.label.as_str())
                .collect::<Vec<_>>()
                .join(" · "),
            changed: before.is_some() && before != last.map(|t| t.tier.as_str()),
            tier: last.map(|t| t.label.clone()).unwrap_or_default(),
            reason: e.reason.clone(),
            revenue: w.amount(&e.revenue),
            recency: e.recency_days,
            frequency: e.frequency,
            clv: w.maybe_amount(&e.clv),
        });
        before = last.map(|t| t.tier.as_str());
    }
    timeline.reverse();
    let since = history.in_current_tier();
    let mut facts = vec![
        Figure {
            label: w.t("净收入", "net revenue").into(),
            value: w.amount(&row.monetary.to_f64()),
            note: format!(
                "{} {} · {} {}",
                row.frequency,
                w.t("次购买", "purchases"),
                row.recency_days,
                w.t("天前最近一次", "days since the last")
            ),
        },
        Figure {
            label: w.t("预测生命周期价值", "predicted lifetime value").into(),
            value: w.maybe_amount(&row.clv),
            note: format!(
                "{} {}",
                w.t("仍活跃概率", "P(active)"),
                w.maybe_pct(&row.p_alive)
            ),
        },
    ];
    if let Some((since, runs)) = since {
        facts.push(Figure {
            label: w.t("当前等级始于", "in this tier since").into(),
            value: since.to_string(),
            note: format!("{runs} {}", w.t("次运行", "runs")),
        });
    }
    let next_step = book
        .tier_of(row)
        .and_then(|t| book.scheme.as_ref()?.strategy(t))
        .map(|s| s.next_step(w.lang).to_string())
        .unwrap_or_default();
    let current = book.tier_of(row).unwrap_or_default().to_string();
    let other_tiers = book.dimension.as_ref().map_or(Vec::new(), |(dim, tiers)| {
        tiers
            .iter()
            .filter(|t| **t != current)
            .map(|t| (t.clone(), tier_label(book.scheme.as_ref(), dim, t, w.lang)))
            .collect()
    });
    let filter = stratum_store::review::ReviewFilter {
        customer: Some(id.to_string()),
        ..Default::default()
    };
    let reviews = crate::review::list(state, &page.caller, filter)
        .await?
        .iter()
        .map(|r| crate::review::review_out(r, Some(&book), w.lang))
        .collect();
    let follow_ups = crate::followups::of_customer(state, &page.caller, id)
        .await?
        .iter()
        .map(crate::followups::FollowUpOut::from)
        .collect();
    Ok(CustomerPage {
        today: crate::auth::now().get(..10).unwrap_or_default().to_string(),
        follow_ups,
        f: Frame::of(
            page,
            &format!("{} {}", out.id, out.name.as_deref().unwrap_or("")),
        ),
        row: list_row(&out, w),
        facts,
        timeline,
        next_step,
        profile,
        reviews,
        other_tiers,
    })
}

/// A row of an action list.
pub(crate) struct WorkRow {
    pub(crate) row: ListRow,
    pub(crate) due: String,
    pub(crate) last_follow_up: String,
    pub(crate) overdue: Option<i64>,
    pub(crate) next_step: String,
}

#[derive(Template)]
#[template(path = "my.html")]
struct MyPage {
    f: Frame,
    manager: String,
    managers: Vec<Choice>,
    as_of: String,
    total: usize,
    overdue: usize,
    items: Vec<WorkRow>,
}

async fn my_customers(
    State(state): State<Arc<AppState>>,
    page: Page,
    Query(q): Query<WorklistQuery>,
) -> Response {
    let w = page.words.clone();
    match my_page(&state, &page, &q).await {
        Ok(p) => render(&p, w.lang, q.lang.is_some()),
        Err(e) => error_page(&w, &e),
    }
}

async fn my_page(
    state: &Arc<AppState>,
    page: &Page,
    q: &WorklistQuery,
) -> Result<MyPage, ApiError> {
    page.caller.sees_customers()?;
    let w = &page.words;
    let book = state.latest().await?;
    let manager = match page.caller.scope() {
        Some(own) => own,
        None => q
            .manager
            .clone()
            .or_else(|| book.managers.sorted().first().map(|m| m.to_string()))
            .unwrap_or_default(),
    };
    // the first 500: the most overdue (a manager works the list from the top)
    let list = worklist_of(&book, &manager, w.lang, 1, 500);
    let items: Vec<WorkRow> = list
        .items
        .iter()
        .map(|i| WorkRow {
            row: list_row(&i.customer, w),
            due: i.due.clone().unwrap_or_else(|| "–".into()),
            last_follow_up: i.last_follow_up.clone().unwrap_or_else(|| "–".into()),
            overdue: i.overdue_days,
            next_step: i.next_step.clone(),
        })
        .collect();
    let overdue = items
        .iter()
        .filter(|i| i.overdue.is_some_and(|d| d > 0))
        .count();
    let managers = if page.caller.role().sees_all_customers() {
        let all: Vec<(String, String)> = book
            .managers
            .sorted()
            .into_iter()
            .map(|m| (m.to_string(), m.to_string()))
            .collect();
        choices(&all, Some(&manager))
    } else {
        Vec::new()
    };
    Ok(MyPage {
        f: Frame::of(page, w.t("我的客户", "My customers")),
        manager,
        managers,
        as_of: list.as_of.clone(),
        total: list.total,
        overdue,
        items,
    })
}

/// A cell of the migration table.
pub(crate) struct MatrixRow {
    pub(crate) from: String,
    pub(crate) cells: Vec<String>,
}

/// A mover, as the page lists them.
pub(crate) struct MoverRow {
    pub(crate) id: String,
    pub(crate) href: String,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) direction: String,
    pub(crate) revenue: String,
    pub(crate) why: String,
}

#[derive(Template)]
#[template(path = "migrations.html")]
struct MigrationsPage {
    f: Frame,
    runs: Vec<Choice>,
    runs_to: Vec<Choice>,
    figures: Vec<Figure>,
    columns: Vec<String>,
    matrix: Vec<MatrixRow>,
    movers: Vec<MoverRow>,
    movers_total: String,
}

async fn migrations(
    State(state): State<Arc<AppState>>,
    page: Page,
    Query(q): Query<MigrationsQuery>,
) -> Response {
    let w = page.words.clone();
    match migrations_page(&state, &page, &q).await {
        Ok(p) => render(&p, w.lang, q.lang.is_some()),
        Err(e) => error_page(&w, &e),
    }
}

async fn migrations_page(
    state: &Arc<AppState>,
    page: &Page,
    q: &MigrationsQuery,
) -> Result<MigrationsPage, ApiError> {
    let w = &page.words;
    let lang = w.lang;
    let runs = state.with_store(|s| Ok(s.runs()?)).await?;
    let to = q.to.or(runs.last().map(|r| r.id)).ok_or(ApiError::NoRuns)?;
    let from = q
        .from
        .or_else(|| runs.iter().rev().find(|r| r.id < to).map(|r| r.id));
    let label = |r: &stratum_store::RunInfo| format!("#{} · {}", r.id, r.as_of);
    let run_choices: Vec<(String, String)> = runs
        .iter()
        .rev()
        .map(|r| (r.id.to_string(), label(r)))
        .collect();
    let mut out = MigrationsPage {
        f: Frame::of(page, w.t("等级迁移", "Migrations")),
        runs: choices(&run_choices, from.map(|f| f.to_string()).as_deref()),
        runs_to: choices(&run_choices, Some(&to.to_string())),
        figures: Vec::new(),
        columns: Vec::new(),
        matrix: Vec::new(),
        movers: Vec::new(),
        movers_total: "0".into(),
    };
    let Some(from) = from else {
        return Ok(out);
    };
    let dimension = q.dimension.clone();
    let m = state
        .with_store(move |s| Ok(s.migrations(from, to, dimension.as_deref())?))
        .await?;
    let scheme = state
        .with_store(move |s| Ok(s.scheme_text(to)?))
        .await?
        .and_then(|t| stratum_core::scheme::SchemeParams::from_toml(&t).ok());
    let name = |t: &Option<String>| match t {
        Some(t) => tier_label(scheme.as_ref(), &m.dimension, t, lang),
        None => String::new(),
    };
    let [up, stable, down] = m.counts;
    for (l, n) in [
        (w.t("升级", "moved up"), up),
        (w.t("不变", "stayed"), stable),
        (w.t("降级", "moved down"), down),
        (w.t("新客户", "new"), m.new_and_lost[0]),
        (w.t("流失", "lost"), m.new_and_lost[1]),
    ] {
        out.figures.push(Figure {
            label: l.into(),
            value: thousands(n),
            note: String::new(),
        });
    }
    let mut froms: Vec<Option<String>> = m.from_tiers.iter().cloned().map(Some).collect();
    froms.insert(0, None);
    let mut tos: Vec<Option<String>> = m.to_tiers.iter().cloned().map(Some).collect();
    tos.push(None);
    out.columns = tos
        .iter()
        .map(|t| match t {
            Some(_) => name(t),
            None => w.t("流失", "lost").into(),
        })
        .collect();
    let mut at: HashMap<(Option<String>, Option<String>), u64> = HashMap::new();
    for c in &m.cells {
        at.insert((c.from.clone(), c.to.clone()), c.customers);
    }
    for f in &froms {
        out.matrix.push(MatrixRow {
            from: match f {
                Some(_) => name(f),
                None => w.t("新客户", "new").into(),
            },
            cells: tos
                .iter()
                .map(|t| {
                    at.get(&(f.clone(), t.clone()))
                        .map_or(String::new(), |n| thousands(*n))
                })
                .collect(),
        });
    }
    // movers are customer rows: none for a viewer, only their own for an account manager
    if page.caller.role().sees_customers() {
        let book = state.latest().await?;
        let scope = page.caller.scope();
        let visible: Vec<_> = m
            .movers
            .iter()
            .filter(|mv| book.visible(&mv.customer_id, scope.as_deref()))
            .collect();
        out.movers_total = thousands(visible.len() as u64);
        out.movers = visible
            .iter()
            .take(200)
            .map(|mv| MoverRow {
                id: mv.customer_id.clone(),
                href: format!("/customers/{}", percent_encode(&mv.customer_id)),
                from: match &mv.from {
                    Some(_) => name(&mv.from),
                    None => w.t("（新）", "(new)").into(),
                },
                to: match &mv.to {
                    Some(_) => name(&mv.to),
                    None => w.t("（流失）", "(lost)").into(),
                },
                direction: match mv.direction.code() {
                    "up" => w.t("升级", "up"),
                    "down" => w.t("降级", "down"),
                    "new" => w.t("新", "new"),
                    "lost" => w.t("流失", "lost"),
                    _ => w.t("不变", "stable"),
                }
                .into(),
                revenue: format!(
                    "{} → {}",
                    w.amount(&mv.monetary_from.to_f64()),
                    w.amount(&mv.monetary_to.to_f64())
                ),
                why: stratum_store::why::reason_text(mv.reason_to.as_ref(), lang),
            })
            .collect();
    }
    Ok(out)
}

/// A kept run, as the runs page lists it.
pub(crate) struct RunLine {
    pub(crate) id: i64,
    pub(crate) as_of: String,
    pub(crate) finished: String,
    pub(crate) scheme: String,
    pub(crate) customers: String,
    pub(crate) revenue: String,
    pub(crate) tool: String,
}

#[derive(Template)]
#[template(path = "runs.html")]
struct RunsPage {
    f: Frame,
    runs: Vec<RunLine>,
    quality: Vec<Figure>,
    may_run: bool,
    can_run: bool,
    /// The database sources a run can read instead of an uploaded file: name, what it is.
    sources: Vec<(String, String)>,
    jobs: Vec<JobLine>,
    busy: bool,
}

/// A run started from the server, as the runs page lists it.
pub(crate) struct JobLine {
    pub(crate) id: u64,
    pub(crate) state: String,
    pub(crate) by: String,
    pub(crate) created: String,
    pub(crate) inputs: String,
    pub(crate) run: String,
    pub(crate) last: String,
    /// The rows rejected (download link), when any.
    pub(crate) rejected: Option<u64>,
}

fn job_lines(jobs: &[crate::jobs::Job], w: &Words) -> Vec<JobLine> {
    use crate::jobs::JobState;
    jobs.iter()
        .map(|j| JobLine {
            id: j.id,
            rejected: j.rejected_rows.filter(|&n| n > 0),
            state: match j.state {
                JobState::Queued => w.t("排队中", "queued"),
                JobState::Running => w.t("运行中", "running"),
                JobState::Succeeded => w.t("已记录", "recorded"),
                JobState::Failed => w.t("失败", "failed"),
            }
            .into(),
            by: j.started_by.clone(),
            created: j.created_at.clone(),
            inputs: j.inputs.join(", "),
            run: j.run.map_or(String::new(), |r| format!("#{r}")),
            last: j.log.last().cloned().unwrap_or_default(),
        })
        .collect()
}

async fn start_run(
    State(state): State<Arc<AppState>>,
    page: Page,
    form: crate::error::ApiMultipart,
) -> Response {
    match crate::api::start_upload(&state, &page.caller, form).await {
        Ok(_) => Redirect::to("/runs").into_response(),
        Err(e) => error_page(&page.words, &e),
    }
}

async fn runs(State(state): State<Arc<AppState>>, page: Page) -> Response {
    let w = page.words.clone();
    let result = async {
        let runs = state.with_store(|s| Ok(s.runs()?)).await?;
        let latest = runs.last().map(|r| r.id);
        let jobs = if page.caller.role() >= Role::Analyst {
            state.jobs.all()
        } else {
            Vec::new()
        };
        let docs = match latest {
            Some(id) => Some(state.with_store(move |s| Ok(s.run_documents(id)?)).await?),
            None => None,
        };
        Ok::<_, ApiError>(RunsPage {
            f: Frame::of(&page, w.t("运行", "Runs")),
            runs: runs
                .iter()
                .rev()
                .map(|r| RunLine {
                    id: r.id,
                    as_of: r.as_of.to_string(),
                    finished: r.finished_at.clone(),
                    scheme: r.scheme_name.clone().unwrap_or_default(),
                    customers: thousands(r.customers),
                    revenue: w.amount(&r.revenue.to_f64()),
                    tool: r.tool_version.clone(),
                })
                .collect(),
            quality: docs.map_or(Vec::new(), |d| quality_figures(&d.inputs, &w)),
            may_run: page.caller.role() >= Role::Analyst,
            can_run: state.config.runner.is_some(),
            sources: state
                .config
                .sources
                .iter()
                .map(|s| (s.name.clone(), s.table.shown()))
                .collect(),
            busy: jobs.iter().any(|j| {
                matches!(
                    j.state,
                    crate::jobs::JobState::Queued | crate::jobs::JobState::Running
                )
            }),
            jobs: job_lines(&jobs, &w),
        })
    }
    .await;
    page_answer(result, &page)
}

#[derive(Template)]
#[template(path = "funnel.html")]
struct FunnelPage {
    f: Frame,
    runs: Vec<(i64, String)>,
    run: i64,
    /// The funnel's section, drawn as the report draws it (empty: the run had none).
    html: String,
}

async fn funnel(
    State(state): State<Arc<AppState>>,
    page: Page,
    Query(q): Query<crate::funnel::FunnelQuery>,
) -> Response {
    let w = page.words.clone();
    let result = async {
        let runs = state.with_store(|s| Ok(s.runs()?)).await?;
        let (info, summary, labels) =
            crate::funnel::read(&state, q.run, &page.caller, w.lang).await?;
        let html = summary.map_or_else(String::new, |s| {
            let label = |t: &str| labels.get(t).cloned().unwrap_or_else(|| t.to_string());
            let section = stratum_io::report::funnel_section(
                &s,
                &label,
                info.as_of,
                FUNNEL_LISTED,
                w.lang,
                &state.config.currency,
            );
            stratum_io::report::blocks_html(&section)
        });
        Ok::<_, ApiError>(FunnelPage {
            f: Frame::of(&page, w.t("销售漏斗", "Sales funnel")),
            runs: runs
                .iter()
                .rev()
                .map(|r| (r.id, r.as_of.to_string()))
                .collect(),
            run: info.id,
            html,
        })
    }
    .await;
    page_answer(result, &page)
}

#[derive(Debug, Deserialize)]
struct FollowUpForm {
    csrf: String,
    kind: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    note: String,
}

/// A page form's answer: its form token checked, then `act`; done, to `to`, else the error
/// page.
async fn form_answer<T>(
    page: &Page,
    csrf: &str,
    to: &str,
    act: impl Future<Output = Result<T, ApiError>>,
) -> Response {
    if let Err(e) = check_form(page, csrf) {
        return error_page(&page.words, &e);
    }
    match act.await {
        Ok(_) => Redirect::to(to).into_response(),
        Err(e) => error_page(&page.words, &e),
    }
}

async fn follow_up_customer(
    State(state): State<Arc<AppState>>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<FollowUpForm>,
) -> Response {
    let input = crate::followups::FollowUpIn {
        kind: form.kind,
        date: (!form.date.is_empty()).then_some(form.date),
        note: form.note,
    };
    let to = format!("/customers/{}", path_segment(&id));
    let act = crate::followups::record(&state, &page.caller, &id, input);
    form_answer(&page, &form.csrf, &to, act).await
}

#[derive(Debug, Deserialize)]
struct ReviewForm {
    csrf: String,
    verdict: String,
    /// Where to go after (`/my`; default: the customer's page).
    #[serde(default)]
    back: String,
    #[serde(default)]
    proposed_tier: String,
    #[serde(default)]
    reason: String,
}

async fn review_customer(
    State(state): State<Arc<AppState>>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<ReviewForm>,
) -> Response {
    let input = crate::review::ReviewIn {
        verdict: form.verdict,
        proposed_tier: (!form.proposed_tier.is_empty()).then_some(form.proposed_tier),
        reason: form.reason,
    };
    let back = if form.back == "/my" {
        "/my".to_string()
    } else {
        format!("/customers/{}", path_segment(&id))
    };
    let act = crate::review::submit(&state, &page.caller, &id, input);
    form_answer(&page, &form.csrf, &back, act).await
}

#[derive(Debug, Deserialize)]
struct DecisionForm {
    csrf: String,
    /// `approve` or `reject` (the button pressed).
    decision: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    expires: String,
}

async fn decide_review(
    State(state): State<Arc<AppState>>,
    page: Page,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let approve = form.decision == "approve";
    let input = crate::review::DecisionIn {
        approve,
        answer: form.answer,
        // a rejection has no expiry, whatever the form's date field holds
        expires: (approve && !form.expires.is_empty()).then_some(form.expires),
    };
    let act = crate::review::decide(&state, &page.caller, id, input);
    form_answer(&page, &form.csrf, "/reviews", act).await
}

#[derive(Template)]
#[template(path = "reviews.html")]
struct ReviewsPage {
    f: Frame,
    /// Whether the caller decides disputes.
    approver: bool,
    /// The latest run's agreement: all, per tier, per manager.
    run: i64,
    all: crate::review::AgreementOut,
    by_tier: Vec<crate::review::AgreementOut>,
    by_manager: Vec<crate::review::AgreementOut>,
    /// With the customer's page.
    pending: Vec<(crate::review::ReviewOut, String)>,
    decided: Vec<(crate::review::ReviewOut, String)>,
}

/// Decided reviews the page lists.
const DECIDED_LISTED: usize = 100;

async fn reviews(State(state): State<Arc<AppState>>, page: Page) -> Response {
    let w = page.words.clone();
    let result = async {
        let stats = crate::review::run_stats(&state, None).await?;
        let book = state.latest().await.ok();
        let stats = crate::review::stats_out(&stats, book.as_deref(), w.lang);
        let (pending, decided) = if page.caller.role().sees_customers() {
            let all = crate::review::list(&state, &page.caller, Default::default()).await?;
            let out = |r: &stratum_store::review::Review| {
                (
                    crate::review::review_out(r, book.as_deref(), w.lang),
                    format!("/customers/{}", path_segment(&r.review.customer)),
                )
            };
            use stratum_store::review::ReviewStatus;
            (
                all.iter()
                    .filter(|r| r.status == ReviewStatus::Pending)
                    .map(out)
                    .collect(),
                all.iter()
                    .filter(|r| r.status != ReviewStatus::Pending)
                    .take(DECIDED_LISTED)
                    .map(out)
                    .collect(),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        Ok::<_, ApiError>(ReviewsPage {
            f: Frame::of(&page, w.t("等级复核", "Tier review")),
            approver: page.caller.role() >= Role::Analyst,
            run: stats.run,
            all: stats.all,
            by_tier: stats.by_tier,
            by_manager: stats.by_manager,
            pending,
            decided,
        })
    }
    .await;
    page_answer(result, &page)
}

#[derive(Debug, Deserialize)]
struct ScorecardPageQuery {
    period: Option<String>,
    format: Option<String>,
}

#[derive(Template)]
#[template(path = "scorecards.html")]
struct ScorecardsPage {
    f: Frame,
    period: String,
    /// The runs compared, in words.
    runs: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Why there is no table (no runs for the period).
    note: Option<String>,
}

/// The scorecards of the asked period (default: the last whole quarter before the latest run,
/// or today) for the page's caller, with the end run's scheme.
async fn scorecards_of(
    state: &Arc<AppState>,
    page: &Page,
    period: Option<String>,
) -> Result<
    (
        String,
        Result<
            (
                stratum_store::scorecard::Scorecards,
                Option<stratum_core::scheme::SchemeParams>,
            ),
            ApiError,
        >,
    ),
    ApiError,
> {
    let period = match period.filter(|p| !p.trim().is_empty()) {
        Some(p) => p,
        None => {
            let runs = state.with_store(|s| Ok(s.runs()?)).await?;
            let day = runs
                .last()
                .map_or_else(|| chrono::Local::now().date_naive(), |r| r.as_of);
            stratum_store::scorecard::ScorePeriod::quarter_before(day).label
        }
    };
    let result = crate::scorecards::read(state, &page.caller, &period).await;
    Ok((period, result))
}

async fn scorecards(
    State(state): State<Arc<AppState>>,
    page: Page,
    Query(q): Query<ScorecardPageQuery>,
) -> Response {
    let w = page.words.clone();
    let result = async {
        let (period, cards) = scorecards_of(&state, &page, q.period).await?;
        let mut p = ScorecardsPage {
            f: Frame::of(
                &page,
                w.t("客户经理绩效考核", "Account managers' scorecards"),
            ),
            period,
            runs: String::new(),
            header: Vec::new(),
            rows: Vec::new(),
            note: None,
        };
        match cards {
            Ok((s, scheme)) => {
                let label = |t: &str| tier_label(scheme.as_ref(), &s.dimension, t, w.lang);
                let (header, rows) = crate::scorecards::table(
                    &s,
                    &label,
                    page.caller.role() != Role::Manager,
                    w.lang,
                );
                p.runs = format!(
                    "#{} ({} {}) → #{} ({} {})",
                    s.from.id,
                    w.t("分析日期", "as of"),
                    s.from.as_of,
                    s.to.id,
                    w.t("分析日期", "as of"),
                    s.to.as_of
                );
                p.header = header;
                p.rows = rows
                    .iter()
                    .map(|r| r.iter().map(stratum_io::cells::Cell::display).collect())
                    .collect();
            }
            Err(ApiError::BadRequest(m)) => p.note = Some(m),
            Err(e) => return Err(e),
        }
        Ok::<_, ApiError>(p)
    }
    .await;
    page_answer(result, &page)
}

/// The scorecards as `scorecards.csv` or `scorecards.xlsx`.
async fn scorecards_export(
    State(state): State<Arc<AppState>>,
    page: Page,
    Query(q): Query<ScorecardPageQuery>,
) -> Response {
    let w = page.words.clone();
    let result = async {
        let (_, cards) = scorecards_of(&state, &page, q.period).await?;
        let (s, scheme) = cards?;
        let label = |t: &str| tier_label(scheme.as_ref(), &s.dimension, t, w.lang);
        let (header, rows) =
            crate::scorecards::table(&s, &label, page.caller.role() != Role::Manager, w.lang);
        let xlsx = q.format.as_deref() == Some("xlsx");
        let bytes =
            tokio::task::spawn_blocking(move || crate::scorecards::file(&header, &rows, xlsx))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))??;
        let (name, kind) = if xlsx {
            (
                "scorecards.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        } else {
            ("scorecards.csv", "text/csv; charset=utf-8")
        };
        Ok::<_, ApiError>(
            (
                [
                    (header::CONTENT_TYPE, kind.to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                ],
                bytes,
            )
                .into_response(),
        )
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => error_page(&w, &e),
    }
}

#[derive(Template)]
#[template(path = "pool.html")]
struct PoolPage {
    f: Frame,
    /// The server has no [pool] rules.
    off: bool,
    /// Whether the caller claims for others (analysts and admins).
    for_others: bool,
    /// With the customer's page and the customer id as a path segment.
    in_pool: Vec<(crate::pool::PoolOut, String, String)>,
    at_risk: Vec<(crate::pool::PoolOut, String, String)>,
    /// Customers in the pool not listed.
    more: usize,
}

/// A pool entry as the page lists it, with the customer's page and id as a path segment.
fn pool_line(e: &stratum_store::pool::PoolEntry) -> (crate::pool::PoolOut, String, String) {
    let seg = path_segment(&e.customer);
    (
        crate::pool::PoolOut::from(e),
        format!("/customers/{seg}"),
        seg,
    )
}

/// Customers of the pool the page lists.
const POOL_LISTED: usize = 200;

async fn pool_page(State(state): State<Arc<AppState>>, page: Page) -> Response {
    let w = page.words.clone();
    let result = async {
        if state.config.pool.is_none() {
            page.caller.sees_customers()?;
            return Ok(PoolPage {
                f: Frame::of(&page, w.t("公海", "Public pool")),
                off: true,
                for_others: false,
                in_pool: Vec::new(),
                at_risk: Vec::new(),
                more: 0,
            });
        }
        let all = crate::pool::entries(&state, &page.caller, None).await?;
        use stratum_store::pool::PoolState;
        let in_pool: Vec<_> = all
            .iter()
            .filter(|e| e.state == PoolState::InPool)
            .collect();
        let mut at_risk: Vec<_> = all
            .iter()
            .filter(|e| matches!(e.state, PoolState::Due | PoolState::Warning))
            .collect();
        at_risk.sort_by_key(|e| e.release_on);
        Ok::<_, ApiError>(PoolPage {
            f: Frame::of(&page, w.t("公海", "Public pool")),
            off: false,
            for_others: page.caller.role() >= Role::Analyst,
            more: in_pool.len().saturating_sub(POOL_LISTED),
            in_pool: in_pool
                .into_iter()
                .take(POOL_LISTED)
                .map(pool_line)
                .collect(),
            at_risk: at_risk
                .into_iter()
                .take(POOL_LISTED)
                .map(pool_line)
                .collect(),
        })
    }
    .await;
    page_answer(result, &page)
}

#[derive(Debug, Deserialize)]
struct PoolForm {
    csrf: String,
    #[serde(default)]
    manager: String,
    #[serde(default)]
    reason: String,
}

async fn pool_claim(
    State(state): State<Arc<AppState>>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<PoolForm>,
) -> Response {
    let manager = (!form.manager.is_empty()).then_some(form.manager);
    let act = crate::pool::claim_for(&state, &page.caller, &id, manager);
    form_answer(&page, &form.csrf, "/pool", act).await
}

async fn pool_release(
    State(state): State<Arc<AppState>>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<PoolForm>,
) -> Response {
    let act = crate::pool::release_by(&state, &page.caller, &id, form.reason);
    form_answer(&page, &form.csrf, "/pool", act).await
}

/// The open opportunities of high-tier customers the funnel page lists.
const FUNNEL_LISTED: usize = 50;

/// A scheme version, as listed.
pub(crate) struct VersionLine {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) message: String,
    pub(crate) author: String,
    pub(crate) created_at: String,
    pub(crate) hash: String,
    /// Whether an older version is kept (to compare it with).
    pub(crate) has_previous: bool,
}

#[derive(Template)]
#[template(path = "schemes.html")]
struct SchemesPage {
    f: Frame,
    versions: Vec<VersionLine>,
    may_preview: bool,
    draft: String,
    preview: String,
    error: Option<String>,
}

fn version_lines(versions: Vec<stratum_store::SchemeVersion>) -> Vec<VersionLine> {
    versions
        .into_iter()
        .enumerate()
        .rev()
        .map(|(i, v)| VersionLine {
            has_previous: i > 0,
            id: v.id,
            name: v.name.unwrap_or_default(),
            message: v.message,
            author: v.author,
            created_at: v.created_at,
            hash: v.hash.chars().take(12).collect(),
        })
        .collect()
}

async fn schemes(State(state): State<Arc<AppState>>, page: Page) -> Response {
    let w = page.words.clone();
    let versions = state.with_store(|s| Ok(s.versions()?)).await;
    match versions {
        Ok(v) => {
            let draft = v.last().map(|v| v.text.clone()).unwrap_or_default();
            let p = SchemesPage {
                f: Frame::of(&page, w.t("分级方案", "Schemes")),
                versions: version_lines(v),
                may_preview: page.caller.role() >= Role::Analyst,
                draft,
                preview: String::new(),
                error: None,
            };
            render(&p, w.lang, page.path.contains("lang="))
        }
        Err(e) => error_page(&w, &e),
    }
}

#[derive(Template)]
#[template(path = "scheme.html")]
struct SchemeTextPage {
    f: Frame,
    text: String,
    message: String,
}

async fn scheme_text(
    State(state): State<Arc<AppState>>,
    page: Page,
    Path(id): Path<i64>,
) -> Response {
    let w = page.words.clone();
    match state.with_store(move |s| Ok(s.version(id)?)).await {
        Ok(v) => {
            let p = SchemeTextPage {
                f: Frame::of(
                    &page,
                    &format!("{} {}", w.t("方案版本", "Scheme version"), v.id),
                ),
                message: format!("{} · {} · {}", v.message, v.author, v.created_at),
                text: v.text,
            };
            render(&p, w.lang, false)
        }
        Err(e) => error_page(&w, &e),
    }
}

/// A change between two versions, as the page lists it.
struct ChangeLine {
    class: &'static str,
    text: String,
}

#[derive(Template)]
#[template(path = "scheme_diff.html")]
struct SchemeDiffPage {
    f: Frame,
    versions: Vec<VersionLine>,
    from: i64,
    to: i64,
    changes: Vec<ChangeLine>,
}

async fn scheme_diff(
    State(state): State<Arc<AppState>>,
    page: Page,
    Query(q): Query<crate::api::DiffQuery>,
) -> Response {
    let w = page.words.clone();
    let versions = match state.with_store(|s| Ok(s.versions()?)).await {
        Ok(v) => v,
        Err(e) => return error_page(&w, &e),
    };
    let diff = match crate::api::diff_of(&versions, q.from, q.to, w.lang) {
        Ok(d) => d,
        Err(e) => return error_page(&w, &e),
    };
    let p = SchemeDiffPage {
        f: Frame::of(
            &page,
            &format!(
                "{} {} → {}",
                w.t("方案改动：版本", "Scheme changes: version"),
                diff.from,
                diff.to
            ),
        ),
        versions: version_lines(versions),
        from: diff.from,
        to: diff.to,
        changes: diff
            .changes
            .into_iter()
            .map(|c| ChangeLine {
                class: match c.mark.as_str() {
                    "+" => "up",
                    "-" => "down",
                    _ => "",
                },
                text: c.text,
            })
            .collect(),
    };
    render(&p, w.lang, page.path.contains("lang="))
}

#[derive(Debug, Deserialize)]
struct PreviewForm {
    csrf: String,
    text: String,
}

async fn preview(
    State(state): State<Arc<AppState>>,
    page: Page,
    Form(form): Form<PreviewForm>,
) -> Response {
    let w = page.words.clone();
    if let Err(e) = check_form(&page, &form.csrf).and_then(|()| page.caller.at_least(Role::Analyst))
    {
        return error_page(&w, &e);
    }
    let versions = match state.with_store(|s| Ok(s.versions()?)).await {
        Ok(v) => v,
        Err(e) => return error_page(&w, &e),
    };
    let mut p = SchemesPage {
        f: Frame::of(&page, w.t("分级方案", "Schemes")),
        versions: version_lines(versions),
        may_preview: true,
        draft: form.text.clone(),
        preview: String::new(),
        error: None,
    };
    let lang = w.lang;
    let outcome = async {
        let draft = crate::api::scheme_of_text(&form.text)?;
        let labels = draft.clone();
        let view = state
            .with_store(move |s| Ok(s.preview(draft, None, lang)?))
            .await?;
        let dimension = view.dimensions.1.clone();
        let label = |t: &str| tier_label(Some(&labels), &dimension, t, lang);
        let (_, _, sections, _) =
            stratum_io::report::preview_sections(&view, &label, lang, &state.config.currency, "");
        let mut html = String::new();
        for section in &sections {
            html.push_str(&format!(
                "<h3>{}</h3>",
                stratum_io::report::chart_esc(&section.title)
            ));
            html.push_str(&stratum_io::report::blocks_html(section));
        }
        Ok::<_, ApiError>(html)
    }
    .await;
    match outcome {
        Ok(html) => p.preview = html,
        Err(e) => p.error = Some(e.to_string()),
    }
    render(&p, lang, false)
}

/// A message of the outbox, as listed.
pub(crate) struct AlertLine {
    pub(crate) run: i64,
    pub(crate) title: String,
    pub(crate) recipient: String,
    pub(crate) channel: String,
    pub(crate) status: String,
    pub(crate) attempts: u32,
    pub(crate) when: String,
    pub(crate) error: String,
    pub(crate) customers: usize,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    f: Frame,
    alerts: Vec<AlertLine>,
}

async fn alerts(State(state): State<Arc<AppState>>, page: Page) -> Response {
    let w = page.words.clone();
    if let Err(e) = page.caller.at_least(Role::Analyst) {
        return error_page(&w, &e);
    }
    match state.with_store(|s| Ok(s.messages()?)).await {
        Ok(messages) => {
            let p = AlertsPage {
                f: Frame::of(&page, w.t("预警", "Alerts")),
                alerts: messages
                    .into_iter()
                    .rev()
                    .map(|m| AlertLine {
                        run: m.run,
                        title: m.digest.title.clone(),
                        recipient: m.digest.recipient.clone(),
                        channel: format!("{} ({})", m.channel.name, m.channel.kind),
                        status: m.status.code().into(),
                        attempts: m.attempts,
                        when: m.delivered_at.clone().unwrap_or(m.next_attempt_at.clone()),
                        error: m.last_error.clone().unwrap_or_default(),
                        customers: m.digest.alerts.iter().map(|a| a.customers.len()).sum(),
                    })
                    .collect(),
            };
            render(&p, w.lang, page.path.contains("lang="))
        }
        Err(e) => error_page(&w, &e),
    }
}

#[derive(Template)]
#[template(path = "at_risk.html")]
struct AtRiskPage {
    f: Frame,
    /// How the list is chosen, in words.
    rule: String,
    total: String,
    rows: Vec<ListRow>,
}

/// High-value customers at risk: the scheme's `at_risk` tier, or else the customers with a high
/// churn band; by revenue; an account manager's own only.
async fn at_risk(State(state): State<Arc<AppState>>, page: Page) -> Response {
    let w = page.words.clone();
    let result = async {
        page.caller.sees_customers()?;
        let book = state.latest().await?;
        let tier = book
            .scheme
            .as_ref()
            .and_then(|s| s.at_risk_tier())
            .map(str::to_string);
        let (rule, filter) = match &tier {
            Some(t) => {
                let dim = book.dimension.as_ref().map_or("", |d| d.0.as_str());
                (
                    format!(
                        "{} {}",
                        w.t("方案中的风险等级：", "the scheme's at-risk tier:"),
                        tier_label(book.scheme.as_ref(), dim, t, w.lang)
                    ),
                    crate::book::Filter {
                        tier: Some(t.clone()),
                        scope: page.caller.scope(),
                        ..Default::default()
                    },
                )
            }
            None => (
                w.t(
                    "流失风险高的客户（方案未指定风险等级）",
                    "customers with a high churn band (the scheme names no at-risk tier)",
                )
                .to_string(),
                crate::book::Filter {
                    churn: Some("high".into()),
                    scope: page.caller.scope(),
                    ..Default::default()
                },
            ),
        };
        let (total, rows) = book.select(&filter, Sort::Revenue, true, 0, 500);
        Ok::<_, ApiError>(AtRiskPage {
            f: Frame::of(&page, w.t("高价值风险客户", "High-value customers at risk")),
            rule,
            total: thousands(total as u64),
            rows: rows
                .iter()
                .map(|r| list_row(&customer_out(&book, r, w.lang), &w))
                .collect(),
        })
    }
    .await;
    page_answer(result, &page)
}
