//! What every request shares: the store's connections, the latest run's customers held in
//! memory, the sign-in limiter and the settings.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stratum_store::Store;

use crate::auth::Limiter;
use crate::book::Book;
use crate::error::ApiError;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The store: a SQLite file's path or a `postgres://` URL.
    pub db: String,
    /// Where to listen.
    pub bind: SocketAddr,
    /// Whether cookies carry `Secure` (sent over HTTPS only). Default: when the server listens
    /// on anything but loopback (behind a TLS proxy); browsers keep secure cookies of
    /// `http://127.0.0.1` and `localhost`.
    pub secure_cookies: bool,
    /// How long a browser session lasts.
    pub session_hours: i64,
    /// The language of pages and texts when the caller asks for none.
    pub lang: stratum_core::Lang,
    /// The currency symbol amounts are shown with.
    pub currency: String,
    /// The `stratum` binary that runs re-tiering started from the server (none: the server
    /// cannot start runs).
    pub runner: Option<std::path::PathBuf>,
    /// Where uploaded inputs are kept, a folder per run started.
    pub uploads: std::path::PathBuf,
    /// The largest upload, in bytes.
    pub max_upload: usize,
    /// Scheduled re-tiering runs.
    pub schedules: Vec<crate::schedules::Schedule>,
}

impl ServerConfig {
    /// The defaults for store `db` listening on `bind`.
    pub fn new(db: &str, bind: SocketAddr) -> ServerConfig {
        ServerConfig {
            db: db.to_string(),
            bind,
            secure_cookies: !bind.ip().is_loopback(),
            session_hours: 12,
            lang: stratum_core::Lang::Zh,
            currency: String::new(),
            runner: None,
            uploads: std::env::temp_dir().join("stratum-uploads"),
            max_upload: 2 << 30,
            schedules: Vec::new(),
        }
    }
}

/// The shared state.
#[derive(Debug)]
pub struct AppState {
    pub(crate) config: ServerConfig,
    pool: Mutex<Vec<Store>>,
    book: tokio::sync::Mutex<Option<(Arc<Book>, Instant)>>,
    pub(crate) limiter: Limiter,
    pub(crate) jobs: Arc<crate::jobs::Jobs>,
}

/// How long the latest run in memory is taken as the latest before the store is asked again.
const FRESH: Duration = Duration::from_secs(2);

impl AppState {
    /// The state of a server on `config`, its store opened once (migrations applied).
    pub fn new(config: ServerConfig) -> Result<Arc<AppState>, stratum_store::StoreError> {
        let store = Store::open(&config.db)?;
        Ok(Arc::new(AppState {
            config,
            pool: Mutex::new(vec![store]),
            book: tokio::sync::Mutex::new(None),
            limiter: Limiter::default(),
            jobs: Arc::default(),
        }))
    }

    /// Runs `f` on a store connection on the blocking pool (store calls block).
    pub(crate) async fn with_store<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Store) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let taken = state.pool.lock().ok().and_then(|mut p| p.pop());
            let mut store = match taken {
                Some(s) => s,
                None => Store::open(&state.config.db).map_err(ApiError::Unavailable)?,
            };
            let out = f(&mut store);
            // a connection that failed may be broken: it is dropped, the next call opens one
            if !matches!(out, Err(ApiError::Unavailable(_)))
                && let Ok(mut p) = state.pool.lock()
            {
                p.push(store);
            }
            out
        })
        .await
        .map_err(|e| ApiError::Internal(format!("store task: {e}")))?
    }

    /// The latest run's customers (built on first use and after each new run); `None` when
    /// the store has no run.
    pub(crate) async fn book(self: &Arc<Self>) -> Result<Option<Arc<Book>>, ApiError> {
        let mut cached = self.book.lock().await;
        if let Some((book, at)) = cached.as_ref()
            && at.elapsed() < FRESH
        {
            return Ok(Some(book.clone()));
        }
        let latest = self
            .with_store(|s| Ok(s.runs()?.last().map(|r| r.id)))
            .await?;
        let Some(latest) = latest else {
            *cached = None;
            return Ok(None);
        };
        if let Some((book, at)) = cached.as_mut()
            && book.run.id == latest
        {
            *at = Instant::now();
            return Ok(Some(book.clone()));
        }
        let book = Arc::new(self.with_store(move |s| Book::load(s, latest)).await?);
        *cached = Some((book.clone(), Instant::now()));
        Ok(Some(book))
    }

    /// [`AppState::book`], or [`ApiError::NoRuns`].
    pub(crate) async fn latest(self: &Arc<Self>) -> Result<Arc<Book>, ApiError> {
        self.book().await?.ok_or(ApiError::NoRuns)
    }
}
