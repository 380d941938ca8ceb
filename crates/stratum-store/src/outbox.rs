//! The alerts' outbox: the digests a run's `[[alerts]]` made, one row per digest and channel,
//! written in the same transaction as the run, then delivered, retried and logged by a
//! delivery step (`stratum-alerts`). A row keeps its id for good: a resend carries it, so
//! receivers can drop what they have seen.

use std::collections::HashMap;

use sha2::{Digest as _, Sha256};
use stratum_core::run::RunResult;
use stratum_core::scheme::alerts::{Addressed, Channel, Digest, Previous, previous_table};

use crate::overview::final_dimension;
use crate::{RunMeta, Store, StoreError};

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not delivered yet; tried again at its next attempt.
    Pending,
    /// Delivered (the receiver answered 2xx).
    Delivered,
    /// Given up on after the last retry.
    Failed,
    /// The endpoint said it is gone (HTTP 410): not tried again.
    Disabled,
}

impl Status {
    /// The code kept in the store.
    pub fn code(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Delivered => "delivered",
            Status::Failed => "failed",
            Status::Disabled => "disabled",
        }
    }

    pub(crate) fn of(code: &str) -> Result<Status, StoreError> {
        Ok(match code {
            "pending" => Status::Pending,
            "delivered" => Status::Delivered,
            "failed" => Status::Failed,
            "disabled" => Status::Disabled,
            _ => {
                return Err(StoreError::Corrupt {
                    what: "alert status",
                    value: code.to_string(),
                });
            }
        })
    }
}

/// The channel of a message as kept: where it goes and the names of the environment variables
/// of its URL and secret (never the values).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeptChannel {
    /// The channel's name.
    pub name: String,
    /// `webhook`, `wecom`, `dingtalk`, `feishu` or `file`.
    pub kind: String,
    /// The environment variable of its URL.
    pub url_env: Option<String>,
    /// The environment variable of its signing secret.
    pub secret_env: Option<String>,
    /// The file of a file channel.
    pub path: Option<String>,
    /// The sender of an e-mail channel.
    #[serde(default)]
    pub from: Option<String>,
    /// The addresses of an e-mail channel.
    #[serde(default)]
    pub to: Vec<String>,
}

impl KeptChannel {
    fn of(c: &Channel) -> Self {
        KeptChannel {
            name: c.name.clone(),
            kind: c.kind.name().to_string(),
            url_env: c.url_env.clone(),
            secret_env: c.secret_env.clone(),
            path: c.path.clone(),
            from: c.from.clone(),
            to: c.to.clone(),
        }
    }
}

/// A message of the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Its id (`msg_…`), the same on every attempt.
    pub id: String,
    /// The run that made it.
    pub run: i64,
    /// The run's as-of date.
    pub as_of: String,
    /// The channel.
    pub channel: KeptChannel,
    /// The digest.
    pub digest: Digest,
    /// Where it stands.
    pub status: Status,
    /// Attempts so far.
    pub attempts: u32,
    /// When it is due (RFC 3339, UTC).
    pub next_attempt_at: String,
    /// When it was made.
    pub created_at: String,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was delivered.
    pub delivered_at: Option<String>,
}

/// A message as the backends insert it.
#[derive(Debug, Clone)]
pub(crate) struct NewMessage {
    pub(crate) alert: String,
    pub(crate) recipient: String,
    pub(crate) channel: String,
    pub(crate) payload: String,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered.
    Delivered,
    /// Failed; try again at `next` (RFC 3339).
    Retry {
        /// Why.
        error: String,
        /// When.
        next: String,
    },
    /// Failed for the last time.
    Failed {
        /// Why.
        error: String,
    },
    /// The endpoint is gone.
    Disabled {
        /// Why.
        error: String,
    },
}

impl NewMessage {
    /// The message's id in run `run`: `msg_` and 26 hex digits of the SHA-256 of the run,
    /// the time it is kept (in nanoseconds: a store emptied and filled again reuses run
    /// numbers), the alert, the recipient and the channel; the same on every attempt.
    pub(crate) fn id(&self, run: i64) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let key = format!(
            "{run}\n{nanos}\n{}\n{}\n{}",
            self.alert, self.recipient, self.channel
        );
        let hash = Sha256::digest(key.as_bytes());
        let hex: String = hash[..13].iter().map(|b| format!("{b:02x}")).collect();
        format!("msg_{hex}")
    }
}

/// The outbox rows of `run`'s alerts, the run before being the store's latest.
pub(crate) fn messages(
    store: &mut Store,
    run: &RunResult,
    meta: &RunMeta,
) -> Result<Vec<NewMessage>, StoreError> {
    let Some(s) = &run.scheme else {
        return Ok(Vec::new());
    };
    if !meta.alerts || s.checked.alerts.is_empty() {
        return Ok(Vec::new());
    }
    let latest = store.db.runs()?.last().map(|(r, _)| r.id);
    let mut kept = match latest {
        Some(id) => match store.kept_columns(id, Some(&previous_columns(&s.checked))) {
            // a run kept without a profile still gives its tiers (`previous.final_tier`, …)
            Ok(k) => Some(k),
            Err(e) => return Err(e),
        },
        None => None,
    };
    let table = match &mut kept {
        Some(k) => {
            let scheme = store
                .db
                .scheme_text(k.info.id)?
                .and_then(|t| stratum_core::scheme::SchemeParams::from_toml(&t).ok());
            let fin = final_dimension(scheme.as_ref(), &k.layout);
            let column = |d: usize| -> Vec<Option<String>> {
                k.rows
                    .iter()
                    .map(|r| {
                        r.tiers
                            .get(d)
                            .and_then(|&t| k.layout.dimensions[d].1.get(usize::from(t)))
                            .cloned()
                    })
                    .collect()
            };
            let dimensions: Vec<(String, Vec<Option<String>>)> = k
                .layout
                .dimensions
                .iter()
                .enumerate()
                .map(|(d, (name, _))| (name.clone(), column(d)))
                .collect();
            let final_tier = k
                .layout
                .dimensions
                .iter()
                .position(|(n, _)| *n == fin)
                .map_or_else(|| vec![None; k.rows.len()], column);
            let profile = std::mem::take(&mut k.profile);
            Some(previous_table(profile, dimensions, final_tier))
        }
        None => None,
    };
    let previous = match (&kept, &table) {
        (Some(k), Some(table)) => Some(Previous {
            table,
            rows: k
                .codes
                .iter()
                .enumerate()
                .map(|(j, c)| (c.as_str(), j))
                .collect::<HashMap<_, _>>(),
        }),
        _ => None,
    };
    let ids = run.tiering.features.customer_ids();
    let fired = s
        .checked
        .fire(&s.profile, &s.result, &ids, previous.as_ref());
    let digests = s
        .checked
        .digests(&fired, &s.profile, &s.result, &ids, previous.as_ref());
    let mut out = Vec::new();
    for Addressed { digest, channel } in digests {
        out.push(NewMessage {
            payload: serde_json::to_string(&digest)?,
            alert: digest.alert,
            recipient: digest.recipient,
            channel: serde_json::to_string(&KeptChannel::of(&channel))?,
        });
    }
    Ok(out)
}

/// The profile columns of the run before that the alerts' rules read (`previous.<column>`).
fn previous_columns(scheme: &stratum_core::scheme::CheckedScheme) -> Vec<String> {
    let names = scheme.alert_catalog.names();
    let half = names.len() / 2;
    let mut out: Vec<String> = Vec::new();
    for alert in &scheme.alerts {
        for &(column, _) in alert.rule.columns() {
            if let Some(name) = column.checked_sub(half).and_then(|c| names.get(c))
                && !out.contains(name)
            {
                out.push(name.clone());
            }
        }
    }
    out
}

/// A kept row as a [`Message`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn message(
    id: String,
    run: i64,
    as_of: String,
    channel: &str,
    payload: &str,
    status: &str,
    attempts: i64,
    times: (String, String, Option<String>, Option<String>),
) -> Result<Message, StoreError> {
    let (next_attempt_at, created_at, last_error, delivered_at) = times;
    Ok(Message {
        id,
        run,
        as_of,
        channel: serde_json::from_str(channel)?,
        digest: serde_json::from_str(payload)?,
        status: Status::of(status)?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_at,
        created_at,
        last_error,
        delivered_at,
    })
}

impl Store {
    /// Every message of the outbox, oldest first.
    pub fn messages(&mut self) -> Result<Vec<Message>, StoreError> {
        self.db.messages(None)
    }

    /// The pending messages due at `now` (RFC 3339, UTC), oldest first.
    pub fn due(&mut self, now: &str) -> Result<Vec<Message>, StoreError> {
        self.db.messages(Some(now))
    }

    /// Claims pending message `id`, due at `now`, for one attempt: its next attempt moves to
    /// `until`, so another send skips it, and a send killed midway leaves it due again then.
    /// `false` when another send has it, or it is no longer pending.
    pub fn claim(&mut self, id: &str, now: &str, until: &str) -> Result<bool, StoreError> {
        self.db.claim(id, now, until)
    }

    /// Records an attempt at message `id` at `at` and what came of it, in one transaction
    /// (a message no longer pending is left as it is).
    pub fn attempted(&mut self, id: &str, at: &str, outcome: &Outcome) -> Result<(), StoreError> {
        self.db.attempted(id, at, outcome)
    }

    /// The attempts at message `id`: when, the outcome's code and the detail, oldest first.
    pub fn attempts(&mut self, id: &str) -> Result<Vec<(String, String, String)>, StoreError> {
        self.db.attempts(id)
    }
}

impl Outcome {
    /// The status after the attempt, its code for the log and the error.
    pub(crate) fn parts(&self) -> (Status, &'static str, Option<&str>) {
        match self {
            Outcome::Delivered => (Status::Delivered, "delivered", None),
            Outcome::Retry { error, .. } => (Status::Pending, "retry", Some(error)),
            Outcome::Failed { error } => (Status::Failed, "failed", Some(error)),
            Outcome::Disabled { error } => (Status::Disabled, "disabled", Some(error)),
        }
    }
}
