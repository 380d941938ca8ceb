//! Delivery of the alerts a run wrote to the store's outbox: each message (one digest of one
//! alert for one recipient, to one channel) is sent, and every attempt is recorded. A message
//! that fails is tried again on the Standard Webhooks schedule (5 s, 5 min, 30 min, 2 h, 5 h,
//! 10 h, 14 h, 20 h, 24 h: ten attempts over about three days), then marked failed. Nothing is
//! marked delivered before the receiver said so: a delivery killed midway is sent again by the
//! next `send`, with the same id (`webhook-id`), so receivers can drop what they have seen.
//!
//! Channels: Standard Webhooks (signed), WeCom (企业微信) group robots, DingTalk (钉钉) custom
//! robots (signed with their secret when they have one), Feishu (飞书) custom bots (likewise),
//! e-mail over SMTP (plain text and HTML), and files of JSON lines. URLs and secrets come from environment variables, or from a
//! secrets file (`NAME = "value"` lines of TOML), named by the scheme; they never reach the
//! store or a message kept.

mod email;
pub mod render;
pub mod sign;

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use stratum_store::outbox::{Message, Outcome};
use stratum_store::{Store, StoreError};

/// Seconds to wait after the n-th failed attempt (n from 1) before the next; after the last,
/// the message has failed.
pub const RETRY_AFTER: [i64; 9] = [5, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 86_400];

/// How long one HTTP attempt may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Why delivery could not go on at all (a message that fails is an outcome, not an error).
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The secrets file cannot be read.
    #[error("the secrets file `{path}`: {message}")]
    Secrets {
        /// The file.
        path: String,
        /// What is wrong (never a secret's value).
        message: String,
    },
}

/// Where URLs and secrets come from: a secrets file first, then the environment.
#[derive(Clone, Default)]
pub struct Secrets {
    file: HashMap<String, String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // the names only, never the values
        let mut names: Vec<&String> = self.file.keys().collect();
        names.sort();
        f.debug_struct("Secrets").field("file", &names).finish()
    }
}

impl Secrets {
    /// The secrets of the TOML file at `path` (`NAME = "value"`), when given, before the
    /// environment.
    pub fn load(path: Option<&Path>) -> Result<Secrets, AlertError> {
        let Some(path) = path else {
            return Ok(Secrets::default());
        };
        let err = |message: String| AlertError::Secrets {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            // the parser's message may quote the line: keep only where
            let line = e
                .span()
                .map(|s| text[..s.start].matches('\n').count() + 1)
                .unwrap_or(1);
            err(format!("line {line} is not `NAME = \"value\"`"))
        })?;
        let mut file = HashMap::new();
        for (k, v) in table {
            match v {
                toml::Value::String(s) => {
                    file.insert(k, s);
                }
                _ => return Err(err(format!("`{k}` is not a text value"))),
            }
        }
        Ok(Secrets { file })
    }

    /// The value of `name`: the file's, else the environment's.
    pub fn get(&self, name: &str) -> Option<String> {
        self.file
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
            .filter(|v| !v.is_empty())
    }
}

/// What one `send` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    /// Messages delivered.
    pub delivered: usize,
    /// Messages that failed and will be tried again.
    pub retrying: usize,
    /// Messages given up on.
    pub failed: usize,
    /// Messages whose endpoint is gone.
    pub disabled: usize,
}

/// Why one attempt failed: the message (never a URL or secret), whether the endpoint is gone
/// and whether trying again cannot help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What happened.
    pub error: String,
    /// The endpoint answered 410 Gone.
    pub gone: bool,
    /// The message cannot be delivered as it is (an address that is none, a mail server's
    /// permanent refusal): it fails at once.
    pub permanent: bool,
}

impl Failure {
    fn new(error: impl Into<String>) -> Self {
        Failure {
            error: error.into(),
            gone: false,
            permanent: false,
        }
    }

    fn permanent(error: impl Into<String>) -> Self {
        Failure {
            permanent: true,
            ..Failure::new(error)
        }
    }
}

/// How long a send holds a message it claimed: a send killed midway leaves it due again after
/// this (longer than an attempt can take).
pub const LEASE_SECONDS: i64 = 300;

/// Sends every message due at `now`, recording each attempt. Each message is claimed first,
/// so sends that overlap (a run's and cron's) never send one twice; a send killed midway
/// leaves its claimed message due again [`LEASE_SECONDS`] later. Signatures carry the clock's
/// time at each message; the schedule runs from `now` on.
pub fn send_due(
    store: &mut Store,
    now: DateTime<Utc>,
    secrets: &Secrets,
) -> Result<Sent, AlertError> {
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let started = Utc::now();
    let mut sent = Sent::default();
    // an endpoint that answered 410 is not tried again in this send
    let mut gone: Vec<(String, Option<String>)> = Vec::new();
    for m in store.due(&stamp(now))? {
        // the schedule's time moves on with the clock while the send goes on
        let now = now + (Utc::now() - started).max(chrono::Duration::zero());
        let lease = now + chrono::Duration::seconds(LEASE_SECONDS);
        if !store.claim(&m.id, &stamp(now), &stamp(lease))? {
            continue;
        }
        let endpoint = (m.channel.kind.clone(), m.channel.url_env.clone());
        let result = if gone.contains(&endpoint) {
            Err(Failure {
                gone: true,
                ..Failure::new(format!(
                    "the endpoint of channel {} answered 410 Gone: disabled",
                    m.channel.name
                ))
            })
        } else {
            deliver(&m, Utc::now(), secrets)
        };
        if result.as_ref().is_err_and(|f| f.gone) && !gone.contains(&endpoint) {
            gone.push(endpoint);
        }
        let outcome = match result {
            Ok(()) => {
                sent.delivered += 1;
                Outcome::Delivered
            }
            Err(f) if f.gone => {
                sent.disabled += 1;
                Outcome::Disabled { error: f.error }
            }
            Err(f) if f.permanent => {
                sent.failed += 1;
                Outcome::Failed { error: f.error }
            }
            Err(f) => match RETRY_AFTER.get(m.attempts as usize) {
                Some(&wait) => {
                    sent.retrying += 1;
                    Outcome::Retry {
                        error: f.error,
                        next: stamp(now + chrono::Duration::seconds(wait)),
                    }
                }
                None => {
                    sent.failed += 1;
                    Outcome::Failed { error: f.error }
                }
            },
        };
        store.attempted(&m.id, &stamp(now), &outcome)?;
    }
    Ok(sent)
}

/// One attempt at delivering `m`.
pub fn deliver(m: &Message, now: DateTime<Utc>, secrets: &Secrets) -> Result<(), Failure> {
    let c = &m.channel;
    let need = |var: &Option<String>, what: &str| -> Result<String, Failure> {
        let name = var
            .as_deref()
            .ok_or_else(|| Failure::new(format!("channel {} has no {what}", c.name)))?;
        secrets.get(name).ok_or_else(|| {
            Failure::new(format!(
                "the environment variable {name} ({what} of channel {}) is not set",
                c.name
            ))
        })
    };
    let secret = |var: &Option<String>| var.as_deref().and_then(|n| secrets.get(n));
    match c.kind.as_str() {
        "file" => {
            let path = c
                .path
                .as_deref()
                .ok_or_else(|| Failure::new(format!("channel {} has no path", c.name)))?;
            let line = serde_json::to_string(&render::event(m, now))
                .map_err(|e| Failure::new(e.to_string()))?;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| Failure::new(format!("{path}: {e}")))?;
            f.write_all(format!("{line}\n").as_bytes())
                .and_then(|()| f.sync_data())
                .map_err(|e| Failure::new(format!("{path}: {e}")))
        }
        "webhook" => {
            let url = need(&c.url_env, "url_env")?;
            let key = need(&c.secret_env, "secret_env")?;
            let body = serde_json::to_string(&render::event(m, now))
                .map_err(|e| Failure::new(e.to_string()))?;
            let ts = now.timestamp();
            let signature = sign::standard_webhook(&key, &m.id, ts, &body)
                .map_err(|e| Failure::new(format!("channel {}: {e}", c.name)))?;
            let request = ureq::post(&url)
                .timeout(TIMEOUT)
                .set("content-type", "application/json")
                .set("webhook-id", &m.id)
                .set("webhook-timestamp", &ts.to_string())
                .set("webhook-signature", &signature);
            post(request, &body, None)
        }
        "wecom" => {
            let url = need(&c.url_env, "url_env")?;
            let body = serde_json::json!({
                "msgtype": "markdown",
                "markdown": { "content": render::markdown(m, render::WECOM_BYTES) },
            });
            post(json(&url), &body.to_string(), Some("errcode"))
        }
        "dingtalk" => {
            let mut url = need(&c.url_env, "url_env")?;
            if let Some(s) = secret(&c.secret_env) {
                let ms = now.timestamp_millis();
                let sep = if url.contains('?') { '&' } else { '?' };
                url = format!(
                    "{url}{sep}timestamp={ms}&sign={}",
                    sign::percent(&sign::dingtalk(&s, ms))
                );
            }
            let body = serde_json::json!({
                "msgtype": "markdown",
                "markdown": {
                    "title": render::title(m),
                    "text": render::markdown(m, render::DINGTALK_BYTES),
                },
            });
            post(json(&url), &body.to_string(), Some("errcode"))
        }
        "feishu" => {
            let url = need(&c.url_env, "url_env")?;
            let mut body = serde_json::json!({
                "msg_type": "interactive",
                "card": {
                    "header": { "title": { "tag": "plain_text", "content": render::title(m) } },
                    "elements": [
                        { "tag": "markdown", "content": render::markdown(m, render::FEISHU_BYTES) }
                    ],
                },
            });
            if let Some(s) = secret(&c.secret_env) {
                let ts = now.timestamp();
                body["timestamp"] = serde_json::json!(ts.to_string());
                body["sign"] = serde_json::json!(sign::feishu(&s, ts));
            }
            post(json(&url), &body.to_string(), Some("code"))
        }
        "email" => {
            let url = need(&c.url_env, "url_env")?;
            email::send(m, &url, secret(&c.secret_env))
        }
        other => Err(Failure::new(format!("unknown channel kind {other}"))),
    }
}

fn json(url: &str) -> ureq::Request {
    ureq::post(url)
        .timeout(TIMEOUT)
        .set("content-type", "application/json")
}

/// Posts `body`: 2xx is delivered (and, for chat robots, the JSON answer's `code_field` 0),
/// 410 is gone, anything else a failure, worded without the URL (it holds the robot's key).
fn post(request: ureq::Request, body: &str, code_field: Option<&str>) -> Result<(), Failure> {
    match request.send_string(body) {
        Ok(response) => {
            let Some(field) = code_field else {
                return Ok(());
            };
            let text = response.into_string().unwrap_or_default();
            let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            match answer.get(field).and_then(serde_json::Value::as_i64) {
                Some(0) | None => Ok(()),
                Some(code) => {
                    let why = answer
                        .get("errmsg")
                        .or_else(|| answer.get("msg"))
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("");
                    Err(Failure::new(format!(
                        "the robot answered {field} {code}: {why}"
                    )))
                }
            }
        }
        Err(ureq::Error::Status(410, _)) => Err(Failure {
            gone: true,
            ..Failure::new("HTTP 410 Gone: the endpoint is disabled")
        }),
        Err(ureq::Error::Status(code, _)) => Err(Failure::new(format!("HTTP {code}"))),
        Err(ureq::Error::Transport(t)) => Err(Failure::new(format!("{}", t.kind()))),
    }
}
