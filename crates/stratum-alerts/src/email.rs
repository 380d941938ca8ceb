//! The e-mail channel: a digest as plain text and HTML over SMTP (`lettre`).

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message as Mail, SmtpTransport, Transport};
use stratum_store::outbox::Message;

use crate::{Failure, TIMEOUT, render};

/// The user of an SMTP URL (`smtp://user@host:587`), percent-decoding left to the reader of
/// the URL: a user name with no `%`.
fn user_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let auth = rest.split_once('@')?.0;
    Some(auth.split_once(':').map_or(auth, |(u, _)| u)).filter(|u| !u.is_empty())
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
        builder = builder.credentials(Credentials::new(user.to_string(), password));
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
        assert_eq!(
            user_of("smtp://alerts@mail.example.com:587"),
            Some("alerts")
        );
        assert_eq!(user_of("smtps://u:p@h"), Some("u"));
        assert_eq!(user_of("smtp://mail.example.com"), None);
    }
}
