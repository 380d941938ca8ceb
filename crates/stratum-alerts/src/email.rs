//! The e-mail channel: a digest as plain text and HTML over SMTP (`lettre`).

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message as Mail, SmtpTransport, Transport};
use stratum_store::outbox::Message;

use crate::{Failure, TIMEOUT, render};

/// The user of an SMTP URL (`smtp://alerts%40corp.com@host:587`), percent-decoded.
fn user_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let auth = rest.split_once('@')?.0;
    let user = auth.split_once(':').map_or(auth, |(u, _)| u);
    let bytes = user.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok().filter(|u| !u.is_empty())
}

/// Whether a password may go to the server of `url`: over TLS (`smtps://`, or
/// `?tls=required`), or to this machine (a local relay).
fn safe_for_password(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let host = rest
        .rsplit_once('@')
        .map_or(rest, |(_, h)| h)
        .split(['/', '?'])
        .next()
        .unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    scheme == "smtps"
        || url.contains("tls=required")
        || matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// Sends `m` through the SMTP server of `url` (`smtp://[user@]host[:port][?tls=required]`, or
/// `smtps://…`), logging in with `password` when given.
pub(crate) fn send(m: &Message, url: &str, password: Option<String>) -> Result<(), Failure> {
    let c = &m.channel;
    let from: Mailbox =
        c.from.as_deref().unwrap_or_default().parse().map_err(|_| {
            Failure::permanent(format!("channel {}: from is not an address", c.name))
        })?;
    let to: Vec<&str> = if c.to.is_empty() {
        vec![m.digest.recipient.as_str()]
    } else {
        c.to.iter().map(String::as_str).collect()
    };
    let mut mail = Mail::builder().from(from).subject(render::title(m));
    for address in &to {
        let mailbox: Mailbox = address.parse().map_err(|_| {
            Failure::permanent(format!(
                "recipient `{address}` is not an e-mail address: give channel {} a `to` list, or make the alert's owner a column of addresses",
                c.name
            ))
        })?;
        mail = mail.to(mailbox);
    }
    let mail = mail
        .multipart(MultiPart::alternative_plain_html(
            render::markdown(m, usize::MAX),
            render::html(m),
        ))
        .map_err(|e| Failure::permanent(format!("the message cannot be built: {e}")))?;
    let mut builder = SmtpTransport::from_url(url)
        .map_err(|_| {
            Failure::permanent(format!("channel {}: the SMTP URL does not parse", c.name))
        })?
        .timeout(Some(TIMEOUT));
    if let (Some(password), Some(user)) = (password, user_of(url)) {
        if !safe_for_password(url) {
            return Err(Failure::permanent(format!(
                "channel {}: a password goes to a mail server over TLS only: use smtps://… or add ?tls=required to the URL",
                c.name
            )));
        }
        builder = builder.credentials(Credentials::new(user, password));
    }
    match builder.build().send(&mail) {
        Ok(_) => Ok(()),
        Err(e) if e.is_permanent() => Err(Failure::permanent(format!("SMTP: {e}"))),
        Err(e) => Err(Failure::new(format!("SMTP: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_of_an_smtp_url() {
        let user = |url| user_of(url);
        assert_eq!(
            user("smtp://alerts@mail.example.com:587").as_deref(),
            Some("alerts")
        );
        assert_eq!(user("smtps://u:p@h").as_deref(), Some("u"));
        assert_eq!(
            user("smtps://alerts%40corp.com@h").as_deref(),
            Some("alerts@corp.com")
        );
        assert_eq!(user("smtp://mail.example.com"), None);
    }

    #[test]
    fn a_password_goes_over_tls_or_to_this_machine_only() {
        assert!(safe_for_password("smtps://u@mail.example.com:465"));
        assert!(safe_for_password(
            "smtp://u@mail.example.com:587?tls=required"
        ));
        assert!(safe_for_password("smtp://u@127.0.0.1:2525"));
        assert!(!safe_for_password("smtp://u@mail.example.com:587"));
    }
}
