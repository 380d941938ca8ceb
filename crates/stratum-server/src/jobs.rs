//! Re-tiering runs started from the server: the uploaded files are kept as given in a folder of
//! their own, and `stratum segment --db …` runs on them with the latest published scheme, in a
//! process of its own (so requests stay fast while it works, and the run is recorded, alerts
//! included, exactly as the command line records it). Runs go one at a time, in the order
//! started; each one's progress (its state and the lines the command printed) is kept in
//! memory while the server runs.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::error::ApiError;
use crate::state::AppState;
use utoipa::ToSchema;

/// The most lines of a run's output kept.
const LOG_LINES: usize = 200;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for the run before it.
    Queued,
    /// Running.
    Running,
    /// Recorded.
    Succeeded,
    /// Failed: nothing recorded (see the log).
    Failed,
}

/// A re-tiering run started from the server.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Job {
    /// The job's number, from 1 since the server started.
    pub id: u64,
    /// Who started it (a user, or `schedule:NAME`).
    pub started_by: String,
    pub state: JobState,
    /// When it was started, began running and finished (RFC 3339).
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// The input files, as named when uploaded.
    pub inputs: Vec<String>,
    /// The scheme version it ran with (none: no version published).
    pub scheme_version: Option<i64>,
    /// The run it recorded.
    pub run: Option<i64>,
    /// The last lines the command printed.
    pub log: Vec<String>,
    /// Rows of the inputs the run could not use, with file, line, column, value and reason:
    /// how many (none before it finished), downloadable at `/api/jobs/{id}/rejects`.
    pub rejected_rows: Option<u64>,
    /// Where the run wrote its files.
    #[serde(skip)]
    pub(crate) result: PathBuf,
}

impl Job {
    /// The run's `rejects.csv`, once it has finished with rows rejected.
    pub(crate) fn rejects(&self) -> Option<PathBuf> {
        self.rejected_rows
            .filter(|&n| n > 0)
            .map(|_| self.result.join("rejects.csv"))
    }
}

/// The environment variable `segment --source` reads its URL from.
const SOURCE_VAR: &str = "STRATUM_SOURCE";

/// What a job runs: the files (role flag, path) and where its folder is.
#[derive(Debug, Clone)]
pub(crate) struct JobInput {
    pub(crate) dir: PathBuf,
    pub(crate) files: Vec<(&'static str, PathBuf)>,
    /// The transactions table, when they are one (a schedule's `source`).
    pub(crate) table: Option<crate::schedules::TableInput>,
    /// The scheme file, and its version when it is a published one.
    pub(crate) scheme: Option<(Option<i64>, PathBuf)>,
    pub(crate) as_of: Option<String>,
}

/// The jobs of this server.
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    list: Mutex<VecDeque<Job>>,
    /// One run at a time.
    running: tokio::sync::Mutex<()>,
}

/// The most jobs listed (older ones are forgotten; their runs stay in the store).
const KEPT: usize = 100;

impl Jobs {
    /// Every job, newest first.
    pub(crate) fn all(&self) -> Vec<Job> {
        self.list
            .lock()
            .map(|l| l.iter().rev().cloned().collect())
            .unwrap_or_default()
    }

    /// Job `id`.
    pub(crate) fn get(&self, id: u64) -> Option<Job> {
        self.list.lock().ok()?.iter().find(|j| j.id == id).cloned()
    }

    fn update(&self, id: u64, f: impl FnOnce(&mut Job)) {
        if let Ok(mut l) = self.list.lock()
            && let Some(j) = l.iter_mut().find(|j| j.id == id)
        {
            f(j);
        }
    }

    /// Keeps the lines `stream` gives in job `id`'s log (its last [`LOG_LINES`]).
    async fn log_lines(&self, id: u64, stream: Option<impl tokio::io::AsyncRead + Unpin>) {
        use tokio::io::AsyncBufReadExt;
        let Some(s) = stream else { return };
        let mut lines = tokio::io::BufReader::new(s).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            // progress bars redraw with carriage returns: keep the last state
            let line = line.rsplit('\r').next().unwrap_or("").trim().to_string();
            if line.is_empty() {
                continue;
            }
            self.update(id, |j| {
                j.log.push(line);
                if j.log.len() > LOG_LINES {
                    j.log.remove(0);
                }
            });
        }
    }

    /// Queues a job; returns it.
    pub(crate) fn add(&self, started_by: &str, input: &JobInput) -> Job {
        let Ok(mut l) = self.list.lock() else {
            return Job::failed("the job list is unavailable");
        };
        let id = l.back().map_or(1, |j| j.id + 1);
        let job = Job {
            id,
            started_by: started_by.to_string(),
            state: JobState::Queued,
            created_at: crate::auth::now(),
            started_at: None,
            finished_at: None,
            inputs: input
                .table
                .iter()
                .map(|t| t.shown())
                .chain(input.files.iter().map(|(_, p)| file_name(p)))
                .collect(),
            scheme_version: input.scheme.as_ref().and_then(|s| s.0),
            run: None,
            log: Vec::new(),
            rejected_rows: None,
            result: input.dir.join("result"),
        };
        l.push_back(job.clone());
        while l.len() > KEPT {
            l.pop_front();
        }
        job
    }

    /// Runs job `id` with `runner` (the `stratum` binary) on store `db`, after the jobs before
    /// it; records its progress.
    pub(crate) async fn run(
        self: Arc<Self>,
        id: u64,
        runner: PathBuf,
        state: Arc<AppState>,
        input: JobInput,
    ) {
        let _turn = self.running.lock().await;
        let db = &state.config.db;
        let lang = state.config.lang.pick("zh", "en");
        self.update(id, |j| {
            j.state = JobState::Running;
            j.started_at = Some(crate::auth::now());
        });
        let out = input.dir.join("result");
        let mut cmd = match nice(state.config.run_nice) {
            Some(nice) => {
                let mut cmd = tokio::process::Command::new(nice);
                cmd.arg("-n")
                    .arg(state.config.run_nice.to_string())
                    .arg(&runner);
                cmd
            }
            None => tokio::process::Command::new(&runner),
        };
        cmd.arg("segment").arg("--db").arg(db).arg("-o").arg(&out);
        cmd.arg("--lang").arg(lang).arg("--no-xlsx");
        for (flag, path) in &input.files {
            cmd.arg(flag).arg(path);
        }
        // the URL goes in the run's environment: its password stays out of the process list
        match &input.table {
            Some(t) => {
                cmd.env(SOURCE_VAR, &t.url).arg("--table").arg(&t.table);
            }
            None => {
                cmd.env_remove(SOURCE_VAR);
            }
        }
        if let Some((_, scheme)) = &input.scheme {
            cmd.arg("--scheme").arg(scheme);
        }
        if let Some(as_of) = &input.as_of {
            cmd.arg("--as-of").arg(as_of);
        }
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let outcome = match cmd.spawn() {
            Ok(mut child) => {
                let stderr = child.stderr.take();
                let stdout = child.stdout.take();
                tokio::join!(self.log_lines(id, stderr), self.log_lines(id, stdout));
                child.wait().await.map_err(|e| e.to_string())
            }
            Err(e) => Err(format!("cannot start `{}`: {e}", runner.display())),
        };
        let finished = Some(crate::auth::now());
        // the rows rejected: the records of `rejects.csv` (none when the run wrote none)
        let rejects = out.join("rejects.csv");
        let rejected = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(rejects).ok()?;
            stratum_io::rejects::count_rows(std::io::BufReader::new(file)).ok()
        })
        .await
        .ok()
        .flatten();
        self.update(id, |j| j.rejected_rows = Some(rejected.unwrap_or(0)));
        match outcome {
            Ok(status) if status.success() => {
                // the job is done when its run is what requests see
                if let Err(e) = state.refresh().await {
                    tracing::warn!(job = id, "the new run was not read: {e}");
                }
                // the pool's rules, when the server has them, are applied at each run
                match crate::pool::release_due(&state).await {
                    Ok(0) => {}
                    Ok(n) => self.update(id, |j| {
                        j.log
                            .push(format!("released {n} customers to the public pool"))
                    }),
                    Err(e) => tracing::warn!(job = id, "the pool's release failed: {e}"),
                }
                self.update(id, |j| {
                    j.state = JobState::Succeeded;
                    j.finished_at = finished;
                    j.run = j.log.iter().rev().find_map(|l| recorded_run(l));
                });
            }
            Ok(status) => self.update(id, |j| {
                j.state = JobState::Failed;
                j.finished_at = finished;
                j.log.push(format!("the run failed ({status})"));
            }),
            Err(e) => self.update(id, |j| {
                j.state = JobState::Failed;
                j.finished_at = finished;
                j.log.push(e);
            }),
        }
        tracing::info!(job = id, "run finished");
    }
}

impl Job {
    fn failed(why: &str) -> Job {
        Job {
            id: 0,
            started_by: String::new(),
            state: JobState::Failed,
            created_at: crate::auth::now(),
            started_at: None,
            finished_at: None,
            inputs: Vec::new(),
            scheme_version: None,
            run: None,
            log: vec![why.to_string()],
            rejected_rows: None,
            result: PathBuf::new(),
        }
    }
}

/// The `nice` program runs are started through at priority `n` (none for 0, or where the
/// system has none: the run then shares the processors evenly with the server).
fn nice(n: i32) -> Option<&'static Path> {
    static FOUND: std::sync::OnceLock<Option<&'static Path>> = std::sync::OnceLock::new();
    if n == 0 {
        return None;
    }
    *FOUND.get_or_init(|| {
        ["/usr/bin/nice", "/bin/nice"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.is_file())
    })
}

/// The run id in the line `segment --db` prints when it keeps a run (`recorded run 7 → …`,
/// `已记录运行 7 → …`).
fn recorded_run(line: &str) -> Option<i64> {
    let rest = line
        .strip_prefix("recorded run ")
        .or_else(|| line.strip_prefix("已记录运行 "))?;
    rest.split_whitespace().next()?.parse().ok()
}

/// A file's name for display.
fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A name safe to keep a file under: its last path part, control characters and separators
/// replaced, never empty or a dot name.
pub(crate) fn safe_name(given: &str, fallback: &str) -> String {
    let last = given.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .map(|c| if c.is_control() || c == ':' { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        fallback.to_string()
    } else {
        cleaned.chars().take(120).collect()
    }
}

/// The `stratum` binary runs are started with, or why the server cannot start one.
pub(crate) fn runner(state: &AppState) -> Result<PathBuf, ApiError> {
    state.config.runner.clone().ok_or_else(|| {
        ApiError::Conflict(
            "this server was started without the stratum binary and cannot run".into(),
        )
    })
}

/// Queues a run of `files` by `by` with `runner`, its folder `dir`: with `scheme` (a file), else
/// the latest published scheme written into the folder, else none; started when its turn comes.
pub(crate) async fn queue(
    state: &Arc<AppState>,
    by: &str,
    runner: PathBuf,
    mut input: JobInput,
) -> Result<Job, ApiError> {
    input.scheme = match input.scheme {
        Some(given) => Some(given),
        None => match state.with_store(|s| Ok(s.versions()?.pop())).await? {
            Some(v) => {
                let path = input.dir.join(format!("scheme-v{}.toml", v.id));
                tokio::fs::write(&path, &v.text)
                    .await
                    .map_err(|e| ApiError::Internal(format!("the run's scheme: {e}")))?;
                Some((Some(v.id), path))
            }
            None => None,
        },
    };
    let job = state.jobs.add(by, &input);
    tokio::spawn(state.jobs.clone().run(job.id, runner, state.clone(), input));
    Ok(job)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_uploaded_name_cannot_leave_its_folder() {
        assert_eq!(safe_name("../../etc/passwd", "x"), "passwd");
        assert_eq!(safe_name("C:\\exports\\订单.csv", "x"), "订单.csv");
        assert_eq!(safe_name("..", "transactions.csv"), "transactions.csv");
        assert_eq!(safe_name(".hidden", "x"), "hidden");
        assert_eq!(safe_name("a\nb.csv", "x"), "a_b.csv");
    }

    #[test]
    fn the_run_kept_is_read_from_what_segment_prints() {
        assert_eq!(recorded_run("recorded run 7 → stratum.db"), Some(7));
        assert_eq!(recorded_run("已记录运行 12 → stratum.db"), Some(12));
        assert_eq!(recorded_run("wrote demo/result"), None);
    }
}
