//! Signing in: passwords hashed with argon2, browser sessions (a random id in an HttpOnly,
//! SameSite=Strict cookie, kept as its sha256; a form token per session against cross-site
//! requests), API tokens (`Authorization: Bearer st_…`, kept as their sha256), and a limit on
//! failed sign-ins.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use stratum_store::access::{Role, User};

use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "stratum_session";

/// The header an API call with a session cookie carries its form token in.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("the password could not be hashed: {0}")]
pub struct HashError(String);

/// The argon2id hash of `password` (PHC string, with a random salt).
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| HashError(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` is the one `hash` was made from.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A long random secret, URL-safe.
pub(crate) fn secret(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(raw)
}

/// The sha256 of `secret`, in hex: how session ids and tokens are kept.
pub(crate) fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new API token: its public id and the whole token (shown once).
pub fn new_token() -> (String, String) {
    let id = format!("st_{}", &digest(&secret(16))[..10]);
    let token = format!("{id}_{}", secret(32));
    (id, token)
}

/// The hash a token is kept under.
pub fn token_hash(token: &str) -> String {
    digest(token)
}

/// Who is calling, and how.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: User,
    /// The session's form token, for a browser session (none for an API token).
    pub csrf: Option<String>,
}

impl Caller {
    /// The role.
    pub fn role(&self) -> Role {
        self.user.role
    }

    /// Fails unless the caller's role is at least `least` (viewer < manager < analyst < admin)
    /// and may see what `least` may.
    pub(crate) fn at_least(&self, least: Role) -> Result<(), ApiError> {
        if self.user.role >= least {
            Ok(())
        } else {
            Err(ApiError::Forbidden(self.user.role.code()))
        }
    }

    /// Fails for a viewer (no customer rows).
    pub(crate) fn sees_customers(&self) -> Result<(), ApiError> {
        if self.user.role.sees_customers() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(self.user.role.code()))
        }
    }

    /// The account manager whose customers only the caller sees (`None`: all customers).
    pub(crate) fn scope(&self) -> Option<String> {
        (!self.user.role.sees_all_customers()).then(|| self.user.book().to_string())
    }
}

/// The value of cookie `name` in the request.
pub(crate) fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Now, as the store keeps times (RFC 3339, UTC, seconds).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The caller of a request: by API token, else by session cookie (whose unsafe requests
/// must carry the session's form token in [`CSRF_HEADER`] or a form field checked by the page).
pub(crate) async fn caller(parts: &Parts, state: &Arc<AppState>) -> Result<Caller, ApiError> {
    if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?
            .trim()
            .to_string();
        let user = state
            .with_store(move |s| Ok(s.token_user(&token_hash(&token))?))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        return Ok(Caller { user, csrf: None });
    }
    let id = cookie(parts, SESSION_COOKIE).ok_or(ApiError::Unauthorized)?;
    let hash = digest(id);
    let session = state
        .with_store(move |s| Ok(s.session(&hash, &now())?))
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let caller = Caller {
        user: session.user,
        csrf: Some(session.csrf),
    };
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.starts_with("application/x-www-form-urlencoded")
                || v.starts_with("multipart/form-data")
        });
    // a form carries its token in a `csrf` field, which its handler checks
    if !safe && !form {
        let given = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if given != caller.csrf.as_deref() {
            return Err(ApiError::Csrf);
        }
    }
    Ok(caller)
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        caller(parts, state).await
    }
}

/// Failed sign-ins per (address, name) and per address, in a sliding window.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

/// The window failed sign-ins are counted in.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed sign-ins allowed per (address, name) in the window.
const PER_NAME: usize = 5;
/// Failed sign-ins allowed per address in the window.
const PER_ADDRESS: usize = 20;

impl Limiter {
    /// `Err(seconds to wait)` when `address` may not try to sign in as `name` now.
    pub(crate) fn check(&self, address: &str, name: &str) -> Result<(), u64> {
        let Ok(mut f) = self.failures.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        let mut wait = 0;
        for (key, limit) in [
            (format!("{address}\u{0}{name}"), PER_NAME),
            (address.to_string(), PER_ADDRESS),
        ] {
            if let Some(times) = f.get_mut(&key) {
                times.retain(|t| now.duration_since(*t) < WINDOW);
                if times.len() >= limit {
                    let oldest = times[times.len() - limit];
                    wait = wait.max((WINDOW - now.duration_since(oldest)).as_secs() + 1);
                }
            }
        }
        if wait > 0 { Err(wait) } else { Ok(()) }
    }

    /// Counts a failed sign-in.
    pub(crate) fn failed(&self, address: &str, name: &str) {
        if let Ok(mut f) = self.failures.lock() {
            let now = Instant::now();
            f.entry(format!("{address}\u{0}{name}"))
                .or_default()
                .push(now);
            f.entry(address.to_string()).or_default().push(now);
            // a flood of names cannot grow the map without end
            if f.len() > 100_000 {
                f.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < WINDOW));
            }
        }
    }

    /// Forgets the failures of (address, name) after a sign-in that succeeded.
    pub(crate) fn succeeded(&self, address: &str, name: &str) {
        if let Ok(mut f) = self.failures.lock() {
            f.remove(&format!("{address}\u{0}{name}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_hash_only() {
        let hash = hash_password("correct horse").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("Correct horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
        assert_ne!(
            hash,
            hash_password("correct horse").expect("hash"),
            "salted"
        );
    }

    #[test]
    fn tokens_are_long_distinct_and_start_with_their_id() {
        let (id, token) = new_token();
        let (id2, token2) = new_token();
        assert!(token.starts_with(&format!("{id}_")));
        assert!(token.len() > 50);
        assert_ne!((id, token), (id2, token2));
    }

    #[test]
    fn five_failures_lock_a_name_out_and_twenty_an_address() {
        let l = Limiter::default();
        for _ in 0..PER_NAME {
            assert!(l.check("10.0.0.1", "ada").is_ok());
            l.failed("10.0.0.1", "ada");
        }
        let wait = l.check("10.0.0.1", "ada").expect_err("locked");
        assert!(wait > 800 && wait <= 901, "{wait}");
        assert!(l.check("10.0.0.2", "ada").is_ok(), "another address");
        assert!(l.check("10.0.0.1", "bob").is_ok(), "another name");
        for i in 0..(PER_ADDRESS - PER_NAME) {
            l.failed("10.0.0.1", &format!("user{i}"));
        }
        assert!(
            l.check("10.0.0.1", "carol").is_err(),
            "the address is locked"
        );
        l.succeeded("10.0.0.2", "ada");
    }
}
