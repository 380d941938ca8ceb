//! Stratum's server: the history store behind an HTTP API and a dashboard, for the whole team,
//! with roles.
//!
//! * `/api/…`: JSON, described by the OpenAPI 3.1 document at `/api/openapi.json`;
//! * `/`, `/customers`, `/my`, `/migrations`, `/login`: server-rendered pages in Chinese or
//!   English;
//! * `/healthz` (the process answers) and `/readyz` (the store answers).
//!
//! Store calls block, so they run on tokio's blocking pool; the latest run's customers are
//! held in memory ([`book`]) so searches and worklists do not decode the run per request.
//! Every request gets an id (`x-request-id`, kept when the caller sends one) that its log lines
//! carry.

pub mod api;
pub mod auth;
mod book;
pub mod error;
pub mod export;
pub(crate) mod followups;
mod funnel;
mod grams;
mod jobs;
mod pages;
mod pool;
mod review;
pub mod schedules;
pub mod scorecards;
mod state;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

pub use state::{AppState, ServerConfig};

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store could not be opened.
    #[error("the store `{location}`: {source}")]
    Store {
        /// Where.
        location: String,
        /// Why.
        source: stratum_store::StoreError,
    },
    /// The address could not be listened on.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A schedule is wrong.
    #[error(transparent)]
    Schedule(#[from] schedules::ScheduleError),
    /// The server failed while serving.
    #[error("the server stopped: {0}")]
    Serve(std::io::Error),
}

/// The OpenAPI document's frame; the paths come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Stratum",
        description = "Customer tiers kept over time: runs, customers with their history, migrations, worklists, alerts, scheme versions. Sign in with an API token (`Authorization: Bearer st_…`, created by an admin) or a browser session.",
        license(name = "MIT OR Apache-2.0")
    ),
    security(("token" = []), ("session" = [])),
    tags(
        (name = "session", description = "who is calling"),
        (name = "runs", description = "runs kept, their quality, tiers and migrations"),
        (name = "customers", description = "customers of the latest run, their history and worklists"),
        (name = "alerts", description = "the alerts' outbox and delivery"),
        (name = "schemes", description = "scheme versions"),
        (name = "admin", description = "users, API tokens and the audit log")
    )
)]
struct ApiDoc;

/// The router of the whole server, and its OpenAPI document.
pub fn app(state: Arc<AppState>) -> (Router, utoipa::openapi::OpenApi) {
    let (api, mut doc) = utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api::routes(state.config.max_upload))
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "token",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("an API token created by an admin"))
                .build(),
        ),
    );
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(auth::SESSION_COOKIE))),
    );
    let doc_json = Arc::new(doc.clone());
    let request_id = HeaderName::from_static("x-request-id");
    let router = Router::new()
        .merge(api)
        .route(
            "/api/openapi.json",
            get(move || {
                let doc = doc_json.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .merge(pages::routes())
        .fallback(|| async {
            crate::error::ApiError::NotFound {
                what: "page",
                id: String::new(),
            }
        })
        .with_state(state)
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            })
            .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid));
    (router, doc)
}

/// Ready when the store answers.
async fn readyz(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    match state.with_store(|s| Ok(s.runs()?.len())).await {
        Ok(runs) => (StatusCode::OK, format!("ready: {runs} runs kept")),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// A server listening, not serving yet.
#[derive(Debug)]
pub struct Server {
    listener: std::net::TcpListener,
    state: Arc<AppState>,
}

impl Server {
    /// Opens the store and listens on `config.bind` (port 0: any free port).
    pub fn bind(config: ServerConfig) -> Result<Server, ServerError> {
        schedules::check(&config.schedules)?;
        let location = config.db.clone();
        let address = config.bind;
        let state = AppState::new(config).map_err(|source| ServerError::Store {
            location: location.clone(),
            source,
        })?;
        let listener = std::net::TcpListener::bind(address)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|source| ServerError::Bind { address, source })?;
        Ok(Server { listener, state })
    }

    /// The address listened on.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.state.config.bind)
    }

    /// Serves until `shutdown` completes, then finishes the requests under way.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let listener =
            tokio::net::TcpListener::from_std(self.listener).map_err(ServerError::Serve)?;
        schedules::start(&self.state);
        let (router, _) = app(self.state);
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServerError::Serve)
    }

    /// Serves on a runtime of its own until Ctrl-C or SIGTERM.
    pub fn run(self) -> Result<(), ServerError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(ServerError::Serve)?;
        runtime.block_on(self.serve(shutdown_signal()))
    }

    /// Serves on a thread of its own until the handle is stopped or dropped (for tests and
    /// embedding).
    pub fn spawn(self) -> Running {
        let address = self.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(ServerError::Serve)?;
            runtime.block_on(self.serve(async {
                let _ = stopped.await;
            }))
        });
        Running {
            address,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

/// A server serving on its own thread.
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub address: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), ServerError>>>,
}

impl Running {
    /// The URL of `path` on the server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing the requests under way");
}
