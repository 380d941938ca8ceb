//! Command-line arguments. The doc comment on each field is its `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Stratum: customer tiering (客户分级) from transaction exports: RFM scores and classes, named
/// segments, ABC classes, tier schemes, lifetime value and clusters, with a data-quality report, an
/// HTML report with charts, an analyst's workbook and files your CRM can re-import.
#[derive(Debug, Parser)]
#[command(name = "stratum", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a seeded synthetic data set (transactions.csv, customers.csv) to a folder.
    Demo(DemoArgs),
    /// Tier every customer of a transaction export: RFM scores, classes, segments, ABC, and a
    /// tier scheme's tiers, strategies and action lists with --scheme.
    Segment(Box<SegmentArgs>),
    /// The report: `stratum segment --report --clv`. Tiers the customers as `segment` does,
    /// writes its files, and report.html: one self-contained page (charts inline, opens
    /// offline, prints to PDF) with the 80/20 curve, the RFM grid and classes, the scheme's
    /// tiers and strategies, clusters, validation, lifetime value and churn risk.
    Report(Box<SegmentArgs>),
    /// Check a tier scheme against the columns its rules can use, without running it.
    Check(CheckArgs),
    /// Fit a lifetime-value model (MBG/NBD, BG/NBD, Pareto/NBD or BG/BB, with Gamma-Gamma
    /// spend) and predict each customer's purchases, P(alive), churn risk and CLV.
    Clv(Box<ClvArgs>),
    /// Cluster customers by k-means on chosen features (K fixed or chosen by silhouette),
    /// numbered in business order and described in words, with the clusters validated.
    Cluster(Box<ClusterArgs>),
    /// Check that the segments of a segmentation (RFM classes, named segments, ABC classes,
    /// lifecycle stages or any text column of the customer master) really differ.
    Validate(Box<ValidateArgs>),
    /// List the runs kept in a history store (`segment --db`), or prune them.
    Runs(RunsArgs),
    /// One customer's history: the tier of every kept run, the reason each time, since when
    /// in the current tier.
    History(HistoryArgs),
    /// Who moved between two kept runs: the transition matrix (customers and revenue), shares
    /// up, stable and down, new and lost customers, the biggest movers, high-value customers
    /// who moved down.
    Migrations(MigrationsArgs),
    /// Why a customer moved between two kept runs: every dimension's tier before and after,
    /// both reasons, and the values the rules read, before → after.
    Diff(DiffArgs),
    /// Write the tiers of a kept run (every customer: tiers, classes, features, CLV, reason) as
    /// CSV or XLSX, for other teams and CRM re-import.
    Export(ExportArgs),
    /// History from one export: re-tier at every month or quarter end from --from (each as-of
    /// using only the lines before it) and keep each run in the store, reading the input once.
    Backfill(Box<BackfillArgs>),
    /// Scheme versions in a history store: publish a scheme with a message, list the versions,
    /// show the rule changes between two.
    Scheme(SchemeArgs),
    /// Preview a draft scheme on the latest kept run, recording nothing: the matrix old → new
    /// tier (customers and revenue), every customer who would move with both reasons, and the
    /// tiers that would be empty.
    Preview(PreviewArgs),
    /// The alerts' outbox: send the messages due (retrying failed ones on schedule), or list
    /// them with where they stand.
    Alerts(AlertsArgs),
    /// Show what a database source runs: the plan and, with --print-sql, the two SQL
    /// statements `segment --source URL --table NAME` pushes down (the row accounting, then
    /// one row per customer). Connects to read the table's columns; runs nothing else.
    Pushdown(PushdownArgs),
    /// Serve the history store to the team: an HTTP API (OpenAPI at /api/openapi.json) and a
    /// dashboard in Chinese and English, with roles (admin, analyst, account manager, viewer).
    Serve(ServeArgs),
    /// The server's users: add one with a role, list them, create or revoke API tokens.
    Users(UsersArgs),
    /// Account managers' scorecards (绩效考核) for a period, from the runs kept at its start
    /// and end: customers by tier, upgrades and downgrades, top-tier retention, revenue in
    /// the period and its growth, disputes raised and approved.
    Scorecards(ScorecardsArgs),
    /// The public pool (公海): customers not followed up or sold to for too long are released
    /// to it ([pool] in the config: days per tier, warnings, locks, caps, daily claims and a
    /// cool-down), and claimed from it; every release and claim is logged.
    Pool(PoolArgs),
    /// Follow-ups (visits, calls, messages) kept in the store: import them from an
    /// interactions file, or list them.
    Followups(FollowupsArgs),
    /// Tier review by sales (kept in the store by the server): the agreement rate of a run per
    /// tier and per account manager, the reviews and disputes, the overrides in force.
    Review(ReviewArgs),
}

/// Arguments of `stratum pool`.
#[derive(Debug, Args)]
pub struct PoolArgs {
    /// The history store: a SQLite file or a `postgres://` URL.
    #[arg(long, default_value = "stratum.db", global = true)]
    pub db: String,
    /// A TOML config file with a [pool] section: no_follow_up_days (N, default 30),
    /// no_deal_days (M, default 90), warning_days (K, default 7), max_owned, daily_claims,
    /// cooldown_days (default 30), exempt_tiers, and [pool.tiers.CODE] with a tier's own
    /// no_follow_up_days and no_deal_days.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// The day the rules are applied at (default: today).
    #[arg(long, global = true)]
    pub as_of: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub action: PoolAction,
}

/// What `stratum pool` does.
#[derive(Debug, Subcommand)]
pub enum PoolAction {
    /// The customers and where they stand: in the pool, due for release, warned, owned or
    /// exempt (default: all but the plainly owned).
    List {
        /// in_pool, due, warning, owned, exempt or all.
        #[arg(long)]
        status: Option<String>,
        /// Only this owner's customers.
        #[arg(long)]
        owner: Option<String>,
    },
    /// Claim a customer from the pool for an account manager.
    Claim {
        /// The customer.
        customer: String,
        /// The account manager who takes them.
        #[arg(long)]
        manager: String,
    },
    /// Release every customer due under the rules, or one customer by hand (--customer).
    Release {
        /// Release this customer now, whatever the rules say.
        #[arg(long)]
        customer: Option<String>,
        /// Why (with --customer).
        #[arg(long, default_value = "released by hand")]
        reason: String,
    },
    /// Lock a customer with their owner: never released.
    Lock {
        /// The customer.
        customer: String,
    },
    /// Unlock a customer.
    Unlock {
        /// The customer.
        customer: String,
    },
    /// The log of releases, claims and locks, newest first.
    Log {
        /// Only this customer's.
        #[arg(long)]
        customer: Option<String>,
    },
}

/// Arguments of `stratum followups`.
#[derive(Debug, Args)]
pub struct FollowupsArgs {
    /// The history store: a SQLite file or a `postgres://` URL.
    #[arg(long, default_value = "stratum.db", global = true)]
    pub db: String,
    /// What to do.
    #[command(subcommand)]
    pub action: FollowupsAction,
}

/// What `stratum followups` does.
#[derive(Debug, Subcommand)]
pub enum FollowupsAction {
    /// Import the visits and calls of an interactions file (CSV/XLSX: customer_id, date, type;
    /// see `segment --interactions`) as follow-ups, each customer, day and kind once however
    /// often imported; the account manager of each is the latest run's.
    Import {
        /// The interactions file.
        file: PathBuf,
    },
    /// List the follow-ups, latest first.
    List {
        /// Only this customer's.
        #[arg(long)]
        customer: Option<String>,
        /// Only this account manager's customers'.
        #[arg(long)]
        manager: Option<String>,
    },
}

/// Arguments of `stratum scorecards`.
#[derive(Debug, Args)]
pub struct ScorecardsArgs {
    /// The period: a quarter (2026-Q3), a month (2026-07) or a year (2026). The store needs a
    /// run as of its first day or before and another as of the day after it or before.
    #[arg(long)]
    pub period: String,
    /// The history store: a SQLite file or a `postgres://` URL.
    #[arg(long, default_value = "stratum.db")]
    pub db: String,
    /// Also write scorecards.csv and scorecards.xlsx to this folder (created if missing).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Label language: zh or en.
    #[arg(long, default_value = "en")]
    pub lang: String,
}

/// Arguments of `stratum review`.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The history store: a SQLite file or a `postgres://` URL.
    #[arg(long, default_value = "stratum.db", global = true)]
    pub db: String,
    /// What to show.
    #[command(subcommand)]
    pub action: ReviewAction,
}

/// What `stratum review` shows.
#[derive(Debug, Subcommand)]
pub enum ReviewAction {
    /// The agreement rate of a run: of the customers reviewed (each by their latest review),
    /// the share whose tier sales agreed with, in all, per tier and per account manager, with
    /// the disputes approved and rejected.
    Stats {
        /// The run: its id, or `latest`.
        #[arg(long, default_value = "latest")]
        run: String,
    },
    /// The reviews, newest first.
    List {
        /// Only the reviews of this status.
        #[arg(long, value_parser = ["agreed", "pending", "approved", "rejected"])]
        status: Option<String>,
        /// Only the reviews of this run.
        #[arg(long)]
        run: Option<i64>,
    },
    /// The overrides in force: approved disputes, applied by every run kept in the store.
    Overrides,
}

/// Arguments of `stratum serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The history store: a SQLite file or a `postgres://` URL.
    #[arg(long, default_value = "stratum.db")]
    pub db: String,
    /// The address to listen on (default 127.0.0.1:8321, or [server] bind in the config).
    #[arg(long)]
    pub bind: Option<String>,
    /// A TOML config file with a [server] section: bind, lang, currency, secure_cookies,
    /// session_hours, uploads (the folder uploaded inputs are kept in; default
    /// `stratum-uploads` beside the SQLite file), max_upload_mb (default 2048), run_nice (the
    /// scheduling priority runs started from the server get, 0 to 19, default 10, so requests
    /// stay fast while one executes); and
    /// [[schedules]]: name, cron (e.g. "0 2 1 * *", local time), transactions, customers,
    /// interactions, opportunities, scheme (default: the latest published version); instead
    /// of transactions, source (a database URL, as --source takes it) and table; and
    /// [[sources]]: name, source, table: database tables a run can be started on from the
    /// dashboard or `POST /api/runs` (field `source`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Start on a temporary store filled by `backfill` of the demo data (quarterly runs of
    /// 2,000 customers, the B2B scheme), with demo users whose password is printed.
    #[arg(long, conflicts_with = "db")]
    pub demo: bool,
    /// The pages' language when a browser asks for none: zh or en (default zh).
    #[arg(long)]
    pub lang: Option<String>,
    /// The currency symbol amounts are shown with.
    #[arg(long)]
    pub currency: Option<String>,
}

/// Arguments of `stratum users`.
#[derive(Debug, Args)]
pub struct UsersArgs {
    /// The history store: a SQLite file or a `postgres://` URL.
    #[arg(long, default_value = "stratum.db", global = true)]
    pub db: String,
    /// What to do.
    #[command(subcommand)]
    pub action: UsersAction,
}

/// What `stratum users` does.
#[derive(Debug, Subcommand)]
pub enum UsersAction {
    /// Add a user. The password is read from $STRATUM_PASSWORD, or from the first line of
    /// standard input with --password-stdin; without either the user signs in with API tokens
    /// only.
    Add {
        /// The login name.
        name: String,
        /// admin (users, schemes, schedules, channels), analyst (every customer, runs,
        /// previews, exports), manager (an account manager: only their own customers) or
        /// viewer (aggregates only).
        #[arg(long, value_parser = ["admin", "analyst", "manager", "viewer"])]
        role: String,
        /// For a manager: the value of the customers' account_manager column that is theirs
        /// (default: the login name).
        #[arg(long)]
        book: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the users.
    List,
    /// Create an API token for a user (acting with the user's role); it is printed once.
    Token {
        /// The user.
        name: String,
        /// What the token is for.
        #[arg(long, default_value = "api")]
        label: String,
    },
    /// Revoke an API token by its id (st_…).
    Revoke {
        /// The token's id.
        id: String,
    },
}

/// Arguments of `stratum alerts`.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// The history store: a SQLite file or a `postgres://` URL.
    #[arg(long, default_value = "stratum.db", global = true)]
    pub db: String,
    /// What to do.
    #[command(subcommand)]
    pub action: AlertsAction,
}

/// What `stratum alerts` does.
#[derive(Debug, Subcommand)]
pub enum AlertsAction {
    /// Send every message due now; a failed one is tried again later (5 s, 5 min, 30 min,
    /// 2 h, … for about three days). Run it from cron, or after a run.
    Send {
        /// A TOML file of `NAME = "value"` secrets (URLs, signing secrets), read before the
        /// environment (default: $STRATUM_SECRETS).
        #[arg(long, env = "STRATUM_SECRETS")]
        secrets: Option<PathBuf>,
    },
    /// List the messages: pending, delivered, failed or disabled, with the last error.
    List {
        /// Only the messages of this status.
        #[arg(long, value_parser = ["pending", "delivered", "failed", "disabled"])]
        status: Option<String>,
    },
}

/// Arguments of `stratum preview`.
#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The draft scheme (TOML).
    #[arg(long, short = 's')]
    pub scheme: PathBuf,
    /// The history store: a SQLite file or a `postgres://` URL.
    #[arg(long, default_value = "stratum.db")]
    pub db: String,
    /// The draft's dimension compared (default: its final one), with the run's dimension of
    /// that name, else the run's final one.
    #[arg(long)]
    pub dimension: Option<String>,
    /// Also write preview.csv (every customer who would move) and preview.html here.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Movers listed on the terminal.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Language of the reasons and of preview.html: zh or en.
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// The currency symbol before amounts in preview.html (may be empty).
    #[arg(long, default_value = "")]
    pub currency: String,
}

/// Arguments of `stratum scheme`.
#[derive(Debug, Args)]
pub struct SchemeArgs {
    /// The history store: a SQLite file or a `postgres://` URL.
    #[arg(long, default_value = "stratum.db", global = true)]
    pub db: String,
    /// What to do.
    #[command(subcommand)]
    pub action: SchemeAction,
}

/// What `stratum scheme` does.
#[derive(Debug, Subcommand)]
pub enum SchemeAction {
    /// Keep a scheme file as a new version, with why (runs keep the schemes they use as
    /// versions by themselves).
    Publish {
        /// The scheme file (TOML).
        file: PathBuf,
        /// Why: what changed and for whom.
        #[arg(short, long)]
        message: String,
        /// Who publishes it (default: $USER).
        #[arg(long)]
        author: Option<String>,
    },
    /// List the scheme versions: number, when, who, name, message.
    Log,
    /// The rule changes between two versions (a version number or a scheme file each).
    Diff {
        /// The older version, or a scheme file.
        from: String,
        /// The newer version, or a scheme file.
        to: String,
    },
}

/// Arguments of `stratum backfill`.
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// Re-tier at the end of every: month or quarter.
    #[arg(long)]
    pub every: String,
    /// The first period (YYYY-MM-DD): the first run is at the end of the month or quarter
    /// that holds this date.
    #[arg(long)]
    pub from: String,
    /// The last period (YYYY-MM-DD): the last run is at the end of the month or quarter that
    /// holds it. Default: the last period that ends by the day after the last transaction.
    #[arg(long)]
    pub to: Option<String>,
    /// The inputs and settings of each run, as for `segment` (--db default `stratum.db`,
    /// --out default `stratum-backfill`: rejects.csv, quality.json and backfill.csv, one line
    /// per run).
    #[command(flatten)]
    pub run: SegmentArgs,
}

/// Arguments of `stratum cluster`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The transaction file(s): CSV (any common encoding and delimiter), XLSX/XLS or Parquet.
    /// Repeat it or give a glob (`-t 'exports/2025-*.csv'`) to read several files of the same
    /// kind as one input; duplicates are judged across them.
    #[arg(long, short = 't', required = true, num_args = 1..)]
    pub transactions: Vec<PathBuf>,
    /// A customer master file: its number columns can be clustered on too.
    #[arg(long, short = 'c')]
    pub customers: Option<PathBuf>,
    /// The analysis date (YYYY-MM-DD; default: the day after the last transaction).
    #[arg(long)]
    pub as_of: Option<String>,
    /// The output folder (created if missing).
    #[arg(long, short = 'o', default_value = "stratum-cluster")]
    pub out: PathBuf,
    /// The number of clusters, or `auto` to choose it by silhouette over --k-range.
    #[arg(long, default_value = "auto")]
    pub k: String,
    /// The K range for --k auto, e.g. 2-8.
    #[arg(long, default_value = "2-8")]
    pub k_range: String,
    /// The features, comma-separated: any number column of `stratum check --columns`
    /// (e.g. recency_days,frequency,monetary,tenure_months,annual_revenue) or of the master.
    #[arg(long, default_value = "recency_days,frequency,monetary")]
    pub features: String,
    /// How features are scaled: zscore or robust (median and interquartile range).
    #[arg(long, default_value = "zscore")]
    pub scale: String,
    /// Do not log-transform the features first.
    #[arg(long)]
    pub no_log: bool,
    /// The feature clusters are numbered by (descending mean): cluster 1 has the highest.
    /// Default: monetary when clustered on, else the first feature.
    #[arg(long)]
    pub order_by: Option<String>,
    /// k-means++ restarts.
    #[arg(long, default_value_t = 10)]
    pub runs: usize,
    /// Random seed: the same data and seed give the same clusters.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// How the input is read, the config file and the language.
    #[command(flatten)]
    pub input: InputArgs,
}

/// Arguments of `stratum validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The transaction file(s): CSV (any common encoding and delimiter), XLSX/XLS or Parquet.
    /// Repeat it or give a glob (`-t 'exports/2025-*.csv'`) to read several files of the same
    /// kind as one input; duplicates are judged across them.
    #[arg(long, short = 't', required = true, num_args = 1..)]
    pub transactions: Vec<PathBuf>,
    /// A customer master file (its text columns can be validated, its number columns used as
    /// features).
    #[arg(long, short = 'c')]
    pub customers: Option<PathBuf>,
    /// The analysis date (YYYY-MM-DD; default: the day after the last transaction).
    #[arg(long)]
    pub as_of: Option<String>,
    /// The output folder (created if missing).
    #[arg(long, short = 'o', default_value = "stratum-validate")]
    pub out: PathBuf,
    /// The segmentation: rfm_class, rfm_segment, abc_class, lifecycle, loyalty, or a text
    /// column of the customer master.
    #[arg(long, default_value = "rfm_class")]
    pub by: String,
    /// The features, comma-separated (number columns, as for `stratum cluster`).
    #[arg(long, default_value = "recency_days,frequency,monetary")]
    pub features: String,
    /// Segments below this share of customers are flagged (e.g. 0.01 or 1%).
    #[arg(long, default_value = "1%")]
    pub min_share: String,
    /// How the input is read, the config file and the language.
    #[command(flatten)]
    pub input: InputArgs,
}

/// Arguments of `stratum clv`.
#[derive(Debug, Args)]
pub struct ClvArgs {
    /// The transaction file(s) (CSV in any common encoding, XLSX, Parquet); repeat it or give
    /// a glob to read several files as one input.
    #[arg(long, short = 't', required_unless_present = "summary", num_args = 1..)]
    pub transactions: Vec<PathBuf>,
    /// Instead of transactions, a summary per customer: customer_id, frequency (repeat
    /// purchases), recency (t_x), T and monetary (mean repeat spend), times in --period units,
    /// as lifetimes' summary_data_from_transaction_data writes them.
    #[arg(long, conflicts_with_all = ["transactions", "holdout_from", "as_of"])]
    pub summary: Option<PathBuf>,
    /// The time unit of recency, age and predictions: day, week or month (default week).
    #[arg(long)]
    pub period: Option<String>,
    /// First day of the holdout (YYYY-MM-DD): the models are fitted on the purchases before
    /// it and checked against the purchases from it on. Without it, all purchases calibrate.
    #[arg(long)]
    pub holdout_from: Option<String>,
    /// The transaction model: mbgnbd, bgnbd, paretonbd or bgbb (default mbgnbd, under which
    /// one-time buyers can lapse; under bgnbd their churn risk is always 0).
    #[arg(long)]
    pub model: Option<String>,
    /// The output folder (created if missing).
    #[arg(long, short = 'o', default_value = "stratum-clv")]
    pub out: PathBuf,
    /// End of observation (YYYY-MM-DD, exclusive): lines on or after it are left out. Default:
    /// the day after the last line.
    #[arg(long)]
    pub as_of: Option<String>,
    /// L2 penalty on the parameters (as `penalizer_coef` in lifetimes; default 0).
    #[arg(long)]
    pub penalty: Option<f64>,
    /// CLV horizon in months (default 12).
    #[arg(long)]
    pub horizon_months: Option<u32>,
    /// CLV discount rate per month (default 0.01).
    #[arg(long)]
    pub discount_rate: Option<f64>,
    /// How the input is read, the config file and the language.
    #[command(flatten)]
    pub input: InputArgs,
}

/// Arguments of `stratum demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The folder to write to (created if missing).
    #[arg(long, short = 'o', default_value = "demo")]
    pub out: PathBuf,
    /// Number of customers (`--customers` is an older spelling; elsewhere that flag names a
    /// file).
    #[arg(long, default_value_t = 2_000, alias = "customers")]
    pub customer_count: usize,
    /// Number of transaction lines, including refund lines and duplicate rows
    /// (`--transactions` is an older spelling; elsewhere that flag names a file).
    #[arg(long, default_value_t = 50_000, alias = "transactions")]
    pub line_count: u64,
    /// Random seed: the same seed gives the same files, byte for byte.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The last day of the generated history (YYYY-MM-DD).
    #[arg(long, default_value = "2025-12-31")]
    pub end_date: String,
    /// Also write the transactions as Parquet (transactions.parquet: DATE and DECIMAL(18,2)
    /// columns, snappy, row groups of 1,048,576 lines).
    #[arg(long)]
    pub parquet: bool,
    /// Then run `stratum report` on the data (tiers, lifetime value, report.html), writing
    /// to OUT/result.
    #[arg(long)]
    pub segment: bool,
    /// With --segment: also tier the demo customers with this scheme (e.g. schemes/b2b.toml).
    #[arg(long, requires = "segment")]
    pub scheme: Option<PathBuf>,
    /// Label language when --segment is given: zh or en.
    #[arg(long, default_value = "en")]
    pub lang: String,
}

/// The flags of every command that reads a transaction file.
#[derive(Debug, Args, Default)]
pub struct InputArgs {
    /// A TOML config file ([input], [columns], [rfm], [abc], [output], [customers], [clv]
    /// sections); flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Label language: zh or en (default en, or [output] lang in the config).
    #[arg(long)]
    pub lang: Option<String>,
    /// Map a field to a header, e.g. --map customer_id=客户编号 (repeatable).
    #[arg(long = "map", value_name = "FIELD=HEADER")]
    pub map: Vec<String>,
    /// Text encoding of CSV inputs, e.g. utf-8, gb18030, gbk, utf-16le (default: detected).
    #[arg(long)]
    pub encoding: Option<String>,
    /// CSV delimiter: a single character, `tab`, or `whitespace` (runs of spaces and tabs, as
    /// in fixed-width looking text files) (default: detected among , ; tab |).
    #[arg(long)]
    pub delimiter: Option<String>,
    /// The text file has no header row: name its columns with --columns.
    #[arg(long, requires = "columns")]
    pub no_header: bool,
    /// The names of the columns of a file without a header row, comma separated, e.g.
    /// --columns customer_id,order_date,quantity,amount (with --no-header).
    #[arg(
        long,
        value_name = "NAMES",
        requires = "no_header",
        value_delimiter = ','
    )]
    pub columns: Vec<String>,
    /// Worksheet of an Excel input (default: the first); `all` reads every sheet, and a
    /// comma-separated list (`--sheet 2009-2010,2010-2011`) those sheets, as one input with
    /// one header and mapping (rejects name the sheet).
    #[arg(long)]
    pub sheet: Option<String>,
    /// Amounts use a decimal comma (`1 234,50`).
    #[arg(long)]
    pub decimal_comma: bool,
    /// `--amount`, `--where`, `--refund-when`.
    #[command(flatten)]
    pub expressions: ExpressionArgs,
    /// Rows identical to an earlier row: drop (default) or keep. Keep them when the export
    /// lists the same product twice in one order and has no column that tells the lines apart.
    #[arg(long, value_name = "drop|keep")]
    pub duplicates: Option<String>,
    /// Fail when more than this share of the rows of any input is rejected, e.g. 0.05 or 5%
    /// (default 5%).
    #[arg(long)]
    pub max_reject_rate: Option<String>,
    /// Write CSV text exactly as it is. By default text that a spreadsheet would run as a
    /// formula (beginning with = + - @, a tab or a carriage return) gets a leading ' (OWASP CSV
    /// injection); numbers are never changed. For programs that read the CSV files.
    #[arg(long)]
    pub csv_raw: bool,
}

/// The expressions over an input's columns (a file's or a table's).
#[derive(Debug, Args, Default)]
pub struct ExpressionArgs {
    /// The line amount as an expression over the file's columns, e.g. "Quantity * Price" or
    /// "数量 * 单价 - COALESCE(折扣, 0)" (+ - * /, parentheses, COALESCE; the language of scheme
    /// rules), instead of an amount column. A value that is not a number rejects the row,
    /// naming the column. Also `[columns] amount = "..."` in the config file.
    #[arg(long, value_name = "EXPR")]
    pub amount: Option<String>,
    /// Use only the rows where this condition holds, e.g. "StockCode NOT IN ('POST', 'M') AND
    /// Country <> 'Unspecified'"; the others are counted as filtered, with their amount, never
    /// as rejects. A condition on an empty value is unknown, and unknown does not keep a row.
    #[arg(long = "where", value_name = "EXPR")]
    pub filter: Option<String>,
    /// Lines that are refunds by a rule, e.g. "Invoice LIKE 'C%'", besides those with a
    /// negative amount: a positive amount on such a line counts negative.
    #[arg(long, value_name = "EXPR")]
    pub refund_when: Option<String>,
}

/// A transaction table in a database (`--source URL --table NAME`).
#[derive(Debug, Args, Default, Clone)]
pub struct TableArgs {
    /// Instead of -t: the database holding the transaction table, where the dedupe and the
    /// per-customer aggregation run as SQL and one row per customer (or per customer and day)
    /// comes back: postgres://user@host:5432/db (PostgreSQL), mysql://user@host:3306/db
    /// (MySQL 8, MariaDB), clickhouse://user@host:8123/db (one server or a sharded
    /// cluster) or sc://host:15002 (Spark Connect, in builds with the `spark` feature). The
    /// password may be in the URL or in PGPASSWORD / MYSQL_PWD /
    /// CLICKHOUSE_PASSWORD; it is never printed. With --table and no --source, the URL is
    /// read from $STRATUM_SOURCE (out of the process list: the server hands it to its runs
    /// so). `stratum pushdown --print-sql` shows the statements and the plan.
    #[arg(
        long,
        value_name = "URL",
        requires = "table",
        conflicts_with = "transactions"
    )]
    pub source: Option<String>,
    /// The table of --source: `table` or `schema.table`.
    #[arg(long, value_name = "NAME", conflicts_with = "transactions")]
    pub table: Option<String>,
}

/// Arguments of `stratum pushdown`.
#[derive(Debug, Args)]
pub struct PushdownArgs {
    /// The database holding the transaction table: postgres://user@host:5432/db,
    /// mysql://user@host:3306/db or clickhouse://user@host:8123/db (or $STRATUM_SOURCE).
    #[arg(
        long,
        value_name = "URL",
        env = "STRATUM_SOURCE",
        hide_env_values = true
    )]
    pub source: String,
    /// The table: `table` or `schema.table`.
    #[arg(long, value_name = "NAME")]
    pub table: String,
    /// Print both SQL statements (the row accounting, then one row per customer) after the
    /// plan.
    #[arg(long)]
    pub print_sql: bool,
    /// The analysis date (YYYY-MM-DD) written into the per-customer statement; without it
    /// the statement shows `:as_of` (the run uses the day after the last accepted line).
    #[arg(long)]
    pub as_of: Option<String>,
    /// The config file (`[columns]`, `[input] duplicates`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Map a field to a column, as for files (repeatable).
    #[arg(long = "map", value_name = "FIELD=COLUMN")]
    pub map: Vec<String>,
    /// What to do with identical rows: drop (default) or keep.
    #[arg(long, value_name = "drop|keep")]
    pub duplicates: Option<String>,
    /// `--amount`, `--where`, `--refund-when`, as for `segment`.
    #[command(flatten)]
    pub expressions: ExpressionArgs,
}

/// Arguments of `stratum segment` (`Default` for the commands that run it with most flags
/// unset: `demo --segment`, `cluster`, `validate`).
#[derive(Debug, Args, Default)]
pub struct SegmentArgs {
    /// The transaction file(s): CSV (any common encoding and delimiter), XLSX/XLS or Parquet.
    /// Repeat it or give a glob (`-t 'exports/2025-*.csv'`) to read several files of the same
    /// kind as one input; duplicates are judged across them.
    #[arg(long, short = 't', required_unless_present_any = ["source", "table"], num_args = 1..)]
    pub transactions: Vec<PathBuf>,
    // instead of -t: a table in a database (--source URL --table NAME)
    #[command(flatten)]
    pub table: TableArgs,
    /// A customer master file; its columns are joined to the results by customer id.
    #[arg(long, short = 'c')]
    pub customers: Option<PathBuf>,
    /// The analysis date (YYYY-MM-DD): only lines before it are used and recency is counted
    /// to it. Default: the day after the last transaction.
    #[arg(long)]
    pub as_of: Option<String>,
    /// The output folder (created if missing; default `stratum-segment` for `segment`,
    /// `stratum-report` for `report`).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// How the input is read, the config file and the language.
    #[command(flatten)]
    pub input: InputArgs,
    /// Score levels for R, F and M: 3, 4 or 5 (default 5).
    #[arg(long)]
    pub bins: Option<u8>,
    /// What frequency counts: orders (distinct order ids) or days (distinct purchase days).
    #[arg(long)]
    pub frequency: Option<String>,
    /// What the eight RFM classes compare with: scores (mean score) or values (mean raw value).
    #[arg(long)]
    pub class_basis: Option<String>,
    /// Do not write the workbook (stratum.xlsx): for very large customer counts, where it is
    /// the slowest output, or when only the CSV files are wanted.
    #[arg(long)]
    pub no_xlsx: bool,
    /// How many customers the workbook's customer sheets hold: a number or `all` (default
    /// 10000, or [output] xlsx_customers in the config). With more customers than that, the
    /// workbook lists the top ones by net revenue (by predicted value on the lifetime-value
    /// sheet, by priority on each action list), and the rejects sheet its first rows; every
    /// customer is always in customers.csv, every rejected row in rejects.csv.
    #[arg(long, value_name = "N|all")]
    pub xlsx_customers: Option<String>,
    /// Worksheet of an Excel customer master file (default: the first; see also [customers]
    /// in the config file).
    #[arg(long)]
    pub customers_sheet: Option<String>,
    /// A tier scheme (TOML): dimensions of tiers with SQL rules, the final tier and its
    /// strategies. Adds tiers.csv, tier_summary.csv and the account managers' action lists.
    #[arg(long)]
    pub scheme: Option<PathBuf>,
    /// Manual tier overrides (CSV/XLSX: customer_id, tier, reason, set_by, set_on, expires);
    /// they win over the scheme's rules for the final tier until they expire.
    #[arg(long, requires = "scheme")]
    pub overrides: Option<PathBuf>,
    /// Interactions (CSV/XLSX: customer_id, date, type, satisfaction 1–5, nps 0–10): adds
    /// interactions and complaints in the last 90 days, complaint rate, satisfaction and NPS
    /// to the columns a scheme's rules can use.
    #[arg(long, requires = "scheme")]
    pub interactions: Option<PathBuf>,
    /// Opportunities for the sales funnel (CSV/XLSX: opportunity_id, customer_id, owner,
    /// stage, stage_date, created, amount, status open/won/lost, lost_reason, closed; one row
    /// per opportunity, or one per stage it entered): writes funnel.csv, funnel_summary.csv and
    /// opportunities.csv, with conversion, drop-off, days in stage, cycle and win rate, by
    /// owner, by customer tier and by period. Stages from [funnel] in the config (default:
    /// lead, qualified, proposal, negotiation).
    #[arg(long)]
    pub opportunities: Option<PathBuf>,
    /// Also fit the lifetime-value model ([clv] in the config file; default MBG/NBD in weeks
    /// with Gamma-Gamma): writes clv.csv, clv_by_class.csv and clv_params.json, and gives
    /// scheme rules the columns clv, p_alive, churn_risk, churn_band, expected_purchases_90d
    /// and value_tier.
    #[arg(long)]
    pub clv: bool,
    /// Also write report.html: the results as one self-contained HTML page with charts, in
    /// the --lang language (`stratum report` turns this and --clv on).
    #[arg(long)]
    pub report: bool,
    /// High-value customers at churn risk listed in the report (default 20).
    #[arg(long)]
    pub top: Option<usize>,
    /// Currency symbol shown before amounts in the report and the workbook, e.g. ¥ or $
    /// (default none, or [output] currency in the config).
    #[arg(long)]
    pub currency: Option<String>,
    /// Also keep the run in this history store: a SQLite file (created if missing) or a
    /// `postgres://` URL. See `stratum runs` and `stratum history`.
    #[arg(long)]
    pub db: Option<String>,
}

/// Arguments of `stratum runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// The history store: a SQLite file or a `postgres://` URL.
    #[arg(long, default_value = "stratum.db", global = true)]
    pub db: String,
    /// What to do with the runs (default: list them).
    #[command(subcommand)]
    pub action: Option<RunsAction>,
}

/// What `stratum runs` does besides listing.
#[derive(Debug, Subcommand)]
pub enum RunsAction {
    /// Delete all runs but the newest N.
    Prune {
        /// How many of the newest runs to keep.
        #[arg(long)]
        keep: usize,
    },
}

/// Arguments of `stratum migrations`.
#[derive(Debug, Args)]
pub struct MigrationsArgs {
    /// The earlier run (default: the run before --to).
    #[arg(long)]
    pub from: Option<i64>,
    /// The later run (default: the latest).
    #[arg(long)]
    pub to: Option<i64>,
    /// The dimension compared: a scheme dimension, rfm_class, rfm_segment or abc_class
    /// (default: the final tier of the later run's scheme, else rfm_class).
    #[arg(long)]
    pub dimension: Option<String>,
    /// The history store: a SQLite file or a `postgres://` URL.
    #[arg(long, default_value = "stratum.db")]
    pub db: String,
    /// Also write migrations.csv (the matrix) and movers.csv (every customer who moved) here.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Movers listed on the terminal.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

/// Arguments of `stratum diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier run.
    pub from: i64,
    /// The later run.
    pub to: i64,
    /// The customer whose move to explain.
    #[arg(long)]
    pub customer: String,
    /// The history store: a SQLite file or a `postgres://` URL.
    #[arg(long, default_value = "stratum.db")]
    pub db: String,
}

/// Arguments of `stratum export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run: its id, or `latest`.
    #[arg(long, default_value = "latest")]
    pub run: String,
    /// The file format: csv, xlsx or parquet (typed columns, amounts as DECIMAL(38, 4)).
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// The folder to write `tiers.csv`, `tiers.xlsx` or `tiers.parquet` to (created if missing).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// The history store: a SQLite file or a `postgres://` URL.
    #[arg(long, default_value = "stratum.db")]
    pub db: String,
}

/// Arguments of `stratum history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The customer id.
    pub customer: String,
    /// The history store: a SQLite file or a `postgres://` URL.
    #[arg(long, default_value = "stratum.db")]
    pub db: String,
    /// Label language: zh or en.
    #[arg(long, default_value = "en")]
    pub lang: String,
}

/// Arguments of `stratum check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The tier scheme (TOML) to check.
    pub scheme: PathBuf,
    /// A customer master file whose columns the rules may use (read whole: a column is a
    /// number column when all its values are numbers).
    #[arg(long, short = 'c')]
    pub customers: Option<PathBuf>,
    /// List the columns a rule can use, with their types.
    #[arg(long)]
    pub columns: bool,
}
