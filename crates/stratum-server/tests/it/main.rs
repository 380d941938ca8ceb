//! The server end to end over real HTTP on a loopback port, on a real store (SQLite, and
//! PostgreSQL when `STRATUM_TEST_DATABASE_URL` is set): who may see what, route by route and
//! role by role; sign-in, sessions and the form token; the OpenAPI document against every
//! answer; and figures worked by hand (lists, migrations, worklists).

mod browser;
mod fixture;
mod followups;
mod openapi;
mod pool;
mod review;
mod roles;
mod scorecards;
mod sessions;

use fixture::Fixture;

/// An answer: status, body, and the `set-cookie` and `location` headers.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub cookies: Vec<String>,
    pub location: Option<String>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// How a request signs in.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    None,
    Token(&'a str),
    Cookie(&'a str, Option<&'a str>),
}

/// A request to the fixture's server.
pub fn call(
    f: &Fixture,
    method: &str,
    path: &str,
    auth: Auth<'_>,
    body: Option<(&str, &str)>,
) -> Answer {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let mut req = agent.request(method, &f.server.url(path));
    match auth {
        Auth::None => {}
        Auth::Token(t) => req = req.set("authorization", &format!("Bearer {t}")),
        Auth::Cookie(c, csrf) => {
            req = req.set("cookie", &format!("stratum_session={c}"));
            if let Some(t) = csrf {
                req = req.set("x-csrf-token", t);
            }
        }
    }
    let result = match body {
        Some((content_type, text)) => req.set("content-type", content_type).send_string(text),
        None => req.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    let status = response.status();
    let cookies = response
        .all("set-cookie")
        .iter()
        .map(|s| s.to_string())
        .collect();
    let location = response.header("location").map(str::to_string);
    let body = response.into_string().expect("body");
    Answer {
        status,
        body,
        cookies,
        location,
    }
}

/// A GET with an API token.
pub fn get(f: &Fixture, path: &str, token: &str) -> Answer {
    call(f, "GET", path, Auth::Token(token), None)
}
