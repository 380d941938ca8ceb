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
    /// How much lower than the server's the scheduling priority of the runs it starts is
    /// (`nice`, 0 to 19; 0: the same), so requests stay fast while a run executes.
    pub run_nice: i32,
    /// Scheduled re-tiering runs.
    pub schedules: Vec<crate::schedules::Schedule>,
    /// Database tables runs can be started on, by name.
    pub sources: Vec<crate::schedules::RunSource>,
    /// The public pool's rules (the config's [pool] section); without them the pool is off.
    pub pool: Option<stratum_store::pool::PoolRules>,
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
            run_nice: 10,
            schedules: Vec::new(),
            sources: Vec::new(),
            pool: None,
        }
    }
}

/// The shared state.
#[derive(Debug)]
pub struct AppState {
    pub(crate) config: ServerConfig,
    pool: Mutex<Vec<Store>>,
    /// Store calls at once: more only share the processors, and the latest callers wait
    /// longest; beyond these, callers queue in order.
    store_slots: tokio::sync::Semaphore,
    book: tokio::sync::Mutex<Latest>,
    pub(crate) limiter: Limiter,
    pub(crate) jobs: Arc<crate::jobs::Jobs>,
}

/// The threads a run is read into memory on: all processors but one, so requests keep one
/// while a new run is read (none: the global pool, when one could not be made).
fn reading_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        rayon::ThreadPoolBuilder::new()
            .num_threads(cores.saturating_sub(1).max(1))
            .thread_name(|i| format!("stratum-read-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// The latest run held in memory.
#[derive(Debug)]
struct Latest {
    book: Option<Arc<Book>>,
    /// When the store was last asked for its latest run.
    checked: Instant,
    /// Whether the store is being asked (and a newer run read) in the background.
    checking: bool,
    /// How many times a run was installed: a check that started before the last install
    /// does not replace it.
    generation: u64,
}

impl Latest {
    fn install(&mut self, book: Option<Arc<Book>>) {
        let old = std::mem::replace(&mut self.book, book);
        self.generation += 1;
        // a million customers take a while to free: not on a thread that answers requests
        if let Some(old) = old {
            tokio::task::spawn_blocking(move || drop(old));
        }
    }
}

/// How long the latest run in memory is taken as the latest before the store is asked again.
const FRESH: Duration = Duration::from_secs(2);

impl Drop for AppState {
    /// The store's connections close off the async workers: a PostgreSQL connection waits for
    /// its closing, which may not block a thread that runs async tasks.
    fn drop(&mut self) {
        let stores = self.pool.get_mut().map(std::mem::take).unwrap_or_default();
        if !stores.is_empty() && tokio::runtime::Handle::try_current().is_ok() {
            std::thread::spawn(move || drop(stores));
        }
    }
}

impl AppState {
    /// The state of a server on `config`, its store opened once (migrations applied).
    pub fn new(config: ServerConfig) -> Result<Arc<AppState>, stratum_store::StoreError> {
        let store = Store::open(&config.db)?;
        Ok(Arc::new(AppState {
            config,
            pool: Mutex::new(vec![store]),
            store_slots: tokio::sync::Semaphore::new(
                2 * std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
            book: tokio::sync::Mutex::new(Latest {
                book: None,
                checked: Instant::now(),
                checking: false,
                generation: 0,
            }),
            limiter: Limiter::default(),
            jobs: Arc::default(),
        }))
    }

    /// Runs `f` on a store connection on the blocking pool (store calls block).
    pub(crate) async fn with_store<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Store) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let _slot = self
            .store_slots
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(format!("store slots: {e}")))?;
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

    /// The latest run's customers; `None` when the store has no run. Read on first use. After
    /// that, every [`FRESH`] the store is asked for its latest run in the background, and a
    /// newer one (recorded by another process) is read there too: requests are answered from
    /// the run held meanwhile, so none waits for the store's answer or for a run being read.
    pub(crate) async fn book(self: &Arc<Self>) -> Result<Option<Arc<Book>>, ApiError> {
        let mut latest = self.book.lock().await;
        if let Some(book) = latest.book.clone() {
            if latest.checked.elapsed() >= FRESH && !latest.checking {
                latest.checking = true;
                latest.checked = Instant::now();
                let (me, generation, held) = (self.clone(), latest.generation, book.run.id);
                tokio::spawn(async move { me.check(generation, held).await });
            }
            return Ok(Some(book));
        }
        latest.checked = Instant::now();
        let book = self.newer_than(None).await?.flatten();
        if book.is_some() {
            latest.install(book.clone());
        }
        Ok(book)
    }

    /// The store's latest run, read into memory, when it is not run `held`: `None` when it
    /// is, `Some(None)` when the store has no run (any more).
    async fn newer_than(
        self: &Arc<Self>,
        held: Option<i64>,
    ) -> Result<Option<Option<Arc<Book>>>, ApiError> {
        match self.with_store(|s| Ok(s.latest_run_id()?)).await? {
            id if id == held => Ok(None),
            Some(id) => Ok(Some(Some(self.read_book(id).await?))),
            None => Ok(Some(None)),
        }
    }

    /// Reads the store's latest run when it is not run `held`; kept unless another was
    /// installed since `generation`.
    async fn check(self: Arc<Self>, generation: u64, held: i64) {
        let read = self.newer_than(Some(held)).await;
        let mut latest = self.book.lock().await;
        latest.checking = false;
        match read {
            Ok(Some(book)) if latest.generation == generation => latest.install(book),
            Ok(_) => {}
            Err(e) => tracing::warn!("the latest run was not read: {e}"),
        }
    }

    /// Reads the latest run into memory now (after a run this server started, so the job is
    /// done only when its run is what every request sees).
    pub(crate) async fn refresh(self: &Arc<Self>) -> Result<(), ApiError> {
        let held = self.book.lock().await.book.as_ref().map(|b| b.run.id);
        if let Some(book) = self.newer_than(held).await? {
            self.book.lock().await.install(book);
        }
        Ok(())
    }

    /// Run `id`'s customers, read from the store.
    async fn read_book(self: &Arc<Self>, id: i64) -> Result<Arc<Book>, ApiError> {
        let started = Instant::now();
        let book = Arc::new(
            self.with_store(move |s| match reading_pool() {
                Some(pool) => pool.install(|| Book::load(s, id)),
                None => Book::load(s, id),
            })
            .await?,
        );
        tracing::info!(
            run = id,
            customers = book.rows.len(),
            search_index_bytes = book.search_index_size(),
            seconds = started.elapsed().as_secs_f64(),
            "latest run read into memory"
        );
        Ok(book)
    }

    /// [`AppState::book`], or [`ApiError::NoRuns`].
    pub(crate) async fn latest(self: &Arc<Self>) -> Result<Arc<Book>, ApiError> {
        self.book().await?.ok_or(ApiError::NoRuns)
    }
}
