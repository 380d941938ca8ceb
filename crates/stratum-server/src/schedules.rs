//! Scheduled re-tiering: `[[schedules]]` in the config name a cron pattern (minute, hour, day
//! of month, month, day of week, in the server's local time) and the source files; at each
//! occurrence the server runs `stratum segment --db` on the files as they are then (or on a
//! database table, `source` and `table`, aggregated where it lives), with the schedule's
//! scheme file or else the latest published scheme, exactly as a run started by hand (one at
//! a time, alerts sent).

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Local, TimeZone};
use croner::Cron;

use crate::error::ApiError;
use crate::jobs::Job;
use crate::state::AppState;

/// A schedule, as configured.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Its name (unique).
    pub name: String,
    /// The cron pattern, e.g. `0 2 1 * *` (02:00 on the 1st of every month).
    pub cron: String,
    /// The transactions file(s): a path or a glob, as `segment -t` takes it; empty when the
    /// transactions are a table (`source`).
    pub transactions: String,
    /// Instead of files: the transactions table in a database, as `segment --source URL
    /// --table NAME` reads it.
    pub source: Option<TableInput>,
    /// A customer master file.
    pub customers: Option<String>,
    /// An interactions file.
    pub interactions: Option<String>,
    /// An opportunities file (the sales funnel).
    pub opportunities: Option<String>,
    /// A scheme file (default: the latest published version).
    pub scheme: Option<PathBuf>,
}

/// A transactions table in a database: the URL (which may hold a password: handed to the run
/// in its environment, never in its arguments, never shown), the URL as it may be shown, and
/// the table.
#[derive(Clone)]
pub struct TableInput {
    /// The URL, with its password if it has one.
    pub url: String,
    /// The URL without its password.
    pub shown_url: String,
    /// The table: `table` or `schema.table`.
    pub table: String,
}

impl std::fmt::Debug for TableInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableInput")
            .field("url", &self.shown_url)
            .field("table", &self.table)
            .finish()
    }
}

/// A database table runs can be started on from the dashboard or `POST /api/runs` (the
/// config's `[[sources]]`), by its name.
#[derive(Debug, Clone)]
pub struct RunSource {
    /// Its name (unique).
    pub name: String,
    /// The table.
    pub table: TableInput,
}

impl TableInput {
    /// `URL table NAME`, without the password.
    pub fn shown(&self) -> String {
        format!("{} table {}", self.shown_url, self.table)
    }
}

/// A schedule whose pattern does not parse.
#[derive(Debug, thiserror::Error)]
#[error("schedule `{name}`: cron `{cron}`: {message}")]
pub struct ScheduleError {
    /// The schedule.
    pub name: String,
    /// Its pattern.
    pub cron: String,
    /// Why.
    pub message: String,
}

impl Schedule {
    /// The parsed pattern.
    pub fn pattern(&self) -> Result<Cron, ScheduleError> {
        Cron::from_str(&self.cron).map_err(|e| ScheduleError {
            name: self.name.clone(),
            cron: self.cron.clone(),
            message: e.to_string(),
        })
    }
}

/// Checks every schedule: patterns parse, names are unique and not empty.
pub fn check(schedules: &[Schedule]) -> Result<(), ScheduleError> {
    for (i, s) in schedules.iter().enumerate() {
        s.pattern()?;
        let error = |message: &str| ScheduleError {
            name: s.name.clone(),
            cron: s.cron.clone(),
            message: message.to_string(),
        };
        if s.name.trim().is_empty() {
            return Err(error("a schedule needs a name"));
        }
        if schedules[..i].iter().any(|o| o.name == s.name) {
            return Err(error("two schedules have this name"));
        }
        match (s.transactions.trim().is_empty(), &s.source) {
            (true, None) => {
                return Err(error(
                    "a schedule needs a transactions file, or a source and a table",
                ));
            }
            (false, Some(_)) => {
                return Err(error(
                    "a schedule reads a transactions file or a source's table, not both",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The first occurrence of `cron` after `from`.
pub(crate) fn next_after<Tz: TimeZone>(cron: &Cron, from: &DateTime<Tz>) -> Option<DateTime<Tz>> {
    cron.find_next_occurrence(from, false).ok()
}

/// Queues a run of `schedule` now, started by `by`.
pub(crate) async fn fire(
    state: &Arc<AppState>,
    schedule: &Schedule,
    by: &str,
) -> Result<Job, ApiError> {
    let runner = crate::jobs::runner(state)?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    let dir = state.config.uploads.join(format!(
        "schedule-{}-{stamp}",
        crate::jobs::safe_name(&schedule.name, "schedule")
    ));
    let io = |e: std::io::Error| ApiError::Internal(format!("schedule: {e}"));
    tokio::fs::create_dir_all(&dir).await.map_err(io)?;
    let mut files = Vec::new();
    if schedule.source.is_none() {
        files.push(("--transactions", PathBuf::from(&schedule.transactions)));
    }
    if let Some(c) = &schedule.customers {
        files.push(("--customers", PathBuf::from(c)));
    }
    if let Some(i) = &schedule.interactions {
        files.push(("--interactions", PathBuf::from(i)));
    }
    if let Some(o) = &schedule.opportunities {
        files.push(("--opportunities", PathBuf::from(o)));
    }
    let input = crate::jobs::JobInput {
        dir,
        files,
        table: schedule.source.clone(),
        scheme: schedule.scheme.clone().map(|path| (None, path)),
        as_of: None,
    };
    crate::jobs::queue(state, by, runner, input).await
}

/// Runs every schedule at its occurrences until the server stops.
pub(crate) fn start(state: &Arc<AppState>) {
    for schedule in state.config.schedules.clone() {
        let Ok(cron) = schedule.pattern() else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            loop {
                let now = Local::now();
                let Some(next) = next_after(&cron, &now) else {
                    tracing::warn!(schedule = %schedule.name, "no next occurrence");
                    return;
                };
                let wait = (next - now).to_std().unwrap_or_default();
                tokio::time::sleep(wait).await;
                let by = format!("schedule:{}", schedule.name);
                match fire(&state, &schedule, &by).await {
                    Ok(job) => {
                        tracing::info!(schedule = %schedule.name, job = job.id, "scheduled run queued")
                    }
                    Err(e) => {
                        tracing::error!(schedule = %schedule.name, error = %e, "scheduled run failed to start")
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn schedule(name: &str, cron: &str) -> Schedule {
        Schedule {
            name: name.into(),
            cron: cron.into(),
            transactions: "t.csv".into(),
            source: None,
            customers: None,
            interactions: None,
            opportunities: None,
            scheme: None,
        }
    }

    #[test]
    fn the_monthly_pattern_falls_on_the_first_at_two() {
        let cron = schedule("monthly", "0 2 1 * *").pattern().expect("cron");
        let from = Utc
            .with_ymd_and_hms(2026, 12, 5, 10, 0, 0)
            .single()
            .expect("time");
        let next = next_after(&cron, &from).expect("next");
        assert_eq!(
            next,
            Utc.with_ymd_and_hms(2027, 1, 1, 2, 0, 0)
                .single()
                .expect("time")
        );
        let after = next_after(&cron, &next).expect("next");
        assert_eq!(
            after,
            Utc.with_ymd_and_hms(2027, 2, 1, 2, 0, 0)
                .single()
                .expect("time")
        );
    }

    #[test]
    fn bad_patterns_and_names_are_refused() {
        assert!(check(&[schedule("a", "0 2 1 * *")]).is_ok());
        assert!(check(&[schedule("a", "every month")]).is_err());
        assert!(check(&[schedule("a", "0 25 * * *")]).is_err());
        assert!(check(&[schedule("", "0 2 1 * *")]).is_err());
        assert!(check(&[schedule("a", "0 2 1 * *"), schedule("a", "0 3 1 * *")]).is_err());
    }
}
