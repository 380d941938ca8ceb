//! Signing in with a password: the session cookie, the form token on changes, signing out, and
//! the limit on failed sign-ins.

use stratum_store::Store;

use super::fixture::locations;
use super::{Auth, call};

/// The session id in a `set-cookie` header.
fn session_of(cookies: &[String]) -> Option<String> {
    cookies.iter().find_map(|c| {
        c.strip_prefix("stratum_session=")
            .map(|rest| rest.split(';').next().unwrap_or("").to_string())
            .filter(|v| !v.is_empty())
    })
}

#[test]
fn a_session_signs_in_checks_the_form_token_signs_out_and_limits_failures() {
    for super::fixture::Location {
        url,
        dir: _dir,
        schema,
    } in locations("session")
    {
        let mut store = Store::open(&url).expect("open");
        let user = stratum_server::api::make_user("ada", "admin", None, Some("correct horse"))
            .expect("user");
        store.add_user(&user).expect("add");
        drop(store);
        let config = stratum_server::ServerConfig::new(&url, "127.0.0.1:0".parse().expect("addr"));
        let server = stratum_server::Server::bind(config).expect("bind").spawn();
        let f = super::fixture::Fixture::around(server, schema);
        let form = |name: &str, password: &str| {
            format!(
                "name={name}&password={}&next=%2Fmigrations",
                password.replace(' ', "+")
            )
        };
        let urlencoded = "application/x-www-form-urlencoded";
        // a wrong password: the sign-in page again, 401, no cookie
        let a = call(
            &f,
            "POST",
            "/login",
            Auth::None,
            Some((urlencoded, &form("ada", "wrong horse"))),
        );
        assert_eq!(a.status, 401);
        assert!(session_of(&a.cookies).is_none());
        // the right one: a redirect to where the user was going, an HttpOnly SameSite cookie
        let a = call(
            &f,
            "POST",
            "/login",
            Auth::None,
            Some((urlencoded, &form("ada", "correct horse"))),
        );
        assert_eq!(a.status, 303, "{}", a.body);
        assert_eq!(a.location.as_deref(), Some("/migrations"));
        let cookie = a
            .cookies
            .iter()
            .find(|c| c.starts_with("stratum_session="))
            .expect("cookie");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        assert!(
            !cookie.contains("Secure"),
            "loopback: browsers keep it without TLS"
        );
        let session = session_of(&a.cookies).expect("session");
        let me = call(&f, "GET", "/api/me", Auth::Cookie(&session, None), None).json();
        assert_eq!(me["role"], "admin");
        // a change through the API with the cookie needs the session's form token
        let body = r#"{"name":"bo","role":"viewer"}"#;
        let json = Some(("application/json", body));
        assert_eq!(
            call(&f, "POST", "/api/users", Auth::Cookie(&session, None), json).status,
            403
        );
        assert_eq!(
            call(
                &f,
                "POST",
                "/api/users",
                Auth::Cookie(&session, Some("forged")),
                json
            )
            .status,
            403
        );
        // the token is on every page (the sign-out form)
        let page = call(&f, "GET", "/", Auth::Cookie(&session, None), None).body;
        let token = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("form token on the page")
            .to_string();
        assert!(token.len() >= 24);
        assert_eq!(
            call(
                &f,
                "POST",
                "/api/users",
                Auth::Cookie(&session, Some(&token)),
                json
            )
            .status,
            201
        );
        // signing out needs the token too, then the session is over
        let out = call(
            &f,
            "POST",
            "/logout",
            Auth::Cookie(&session, None),
            Some((urlencoded, "csrf=forged")),
        );
        assert_eq!(out.status, 403);
        let out = call(
            &f,
            "POST",
            "/logout",
            Auth::Cookie(&session, None),
            Some((urlencoded, &format!("csrf={token}"))),
        );
        assert_eq!(out.status, 303);
        assert_eq!(
            call(&f, "GET", "/api/me", Auth::Cookie(&session, None), None).status,
            401
        );
        // only a path on this server is followed after signing in
        let evil = "name=ada&password=correct+horse&next=%2F%2Fevil.example";
        let a = call(&f, "POST", "/login", Auth::None, Some((urlencoded, evil)));
        assert_eq!(a.location.as_deref(), Some("/"));
        // five failures lock the name out for this address, even with the right password
        for _ in 0..5 {
            let a = call(
                &f,
                "POST",
                "/login",
                Auth::None,
                Some((urlencoded, &form("ada", "guess guess"))),
            );
            assert_eq!(a.status, 401);
        }
        let a = call(
            &f,
            "POST",
            "/login",
            Auth::None,
            Some((urlencoded, &form("ada", "correct horse"))),
        );
        assert_eq!(a.status, 429);
        assert!(session_of(&a.cookies).is_none());
        // the audit log has the user added through the API
        let mut store = Store::open(&url).expect("open");
        let log = store.audit_log(10).expect("log");
        assert!(
            log.iter()
                .any(|e| e.action == "user.add" && e.actor == "ada" && e.detail.starts_with("bo ")),
            "{log:?}"
        );
    }
}
