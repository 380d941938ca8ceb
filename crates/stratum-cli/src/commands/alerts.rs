//! `stratum alerts send|list`: the alerts' outbox from the command line. `segment --db` sends
//! the messages its run made right after keeping it; `alerts send` sends what is due (retries
//! included), from cron or by hand; `alerts list` shows where every message stands.

use anyhow::Result;
use chrono::Utc;
use stratum_alerts::{Secrets, Sent, send_due};
use stratum_store::Store;
use stratum_store::outbox::Status;

use super::history::{open, shown};
use crate::BadInput;
use crate::cli::{AlertsAction, AlertsArgs};
use crate::terminal::table;

/// Runs `stratum alerts`.
pub fn run(args: AlertsArgs) -> Result<()> {
    if !args.db.contains("://") && !std::path::Path::new(&args.db).exists() {
        return Err(BadInput(format!("no history store at `{}`", args.db)).into());
    }
    let mut store = open(&args.db)?;
    match args.action {
        AlertsAction::Send { secrets } => {
            let secrets = Secrets::load(secrets.as_deref()).map_err(|e| BadInput(e.to_string()))?;
            let sent = send_due(&mut store, Utc::now(), &secrets)?;
            eprintln!("{}", sent_text(&sent));
            Ok(())
        }
        AlertsAction::List { status } => {
            let messages = store.messages()?;
            let rows: Vec<Vec<String>> = messages
                .iter()
                .filter(|m| status.as_deref().is_none_or(|s| m.status.code() == s))
                .map(|m| {
                    let when = match m.status {
                        Status::Delivered => m.delivered_at.clone().unwrap_or_default(),
                        Status::Pending => format!("next {}", m.next_attempt_at),
                        _ => String::new(),
                    };
                    vec![
                        m.id.clone(),
                        m.run.to_string(),
                        m.digest.alert.clone(),
                        if m.digest.recipient.is_empty() {
                            "-".into()
                        } else {
                            m.digest.recipient.clone()
                        },
                        format!("{} ({})", m.channel.name, m.channel.kind),
                        m.digest.customers().to_string(),
                        m.status.code().to_string(),
                        m.attempts.to_string(),
                        when,
                        m.last_error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            if rows.is_empty() {
                eprintln!("no alert messages in `{}`", shown(&args.db));
                return Ok(());
            }
            let header = [
                "id",
                "run",
                "alert",
                "recipient",
                "channel",
                "customers",
                "status",
                "attempts",
                "when",
                "last error",
            ]
            .map(String::from);
            print!("{}", table(&header, &rows));
            Ok(())
        }
    }
}

/// Sends the messages a run just kept made (with the secrets of `$STRATUM_SECRETS`); a
/// failure to send is a warning: the run is kept, and `stratum alerts send` tries again.
pub(crate) fn send_after_run(store: &mut Store, db: &str) {
    let due = match store.due(&Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) {
        Ok(due) => due,
        Err(e) => {
            eprintln!(
                "warning: the alerts of `{}` could not be read: {e}",
                shown(db)
            );
            return;
        }
    };
    if due.is_empty() {
        return;
    }
    let path = std::env::var_os("STRATUM_SECRETS").map(std::path::PathBuf::from);
    let sent = Secrets::load(path.as_deref())
        .map_err(anyhow::Error::new)
        .and_then(|secrets| Ok(send_due(store, Utc::now(), &secrets)?));
    match sent {
        Ok(sent) => eprintln!("{}", sent_text(&sent)),
        Err(e) => eprintln!(
            "warning: alerts not sent: {e}; they stay in the outbox for `stratum alerts send`"
        ),
    }
}

fn sent_text(s: &Sent) -> String {
    let mut out = format!("alerts: {} delivered", s.delivered);
    if s.retrying > 0 {
        out.push_str(&format!(
            ", {} failed and will be tried again (stratum alerts send)",
            s.retrying
        ));
    }
    if s.failed > 0 {
        out.push_str(&format!(", {} given up on", s.failed));
    }
    if s.disabled > 0 {
        out.push_str(&format!(
            ", {} to an endpoint that is gone (410)",
            s.disabled
        ));
    }
    out
}
