//! The dashboard in a real browser: headless Chromium driven by ChromeDriver (W3C WebDriver over
//! HTTP), signing in as each role, walking the main pages, saving screenshots to
//! `target/browser/`, and failing on a console error, a broken link or a missing chart.
//!
//! Runs where `chromedriver` is installed (CI installs Debian's `chromium` and
//! `chromium-driver` and sets `STRATUM_BROWSER_TESTS=1`, which makes a missing driver a failure).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use super::fixture::fixtures;

const PASSWORD: &str = "browser-pass";

/// ChromeDriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    base: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Driver {
    fn start() -> Option<Driver> {
        let path = std::env::var_os("PATH")?;
        let found = std::env::split_paths(&path).any(|d| d.join("chromedriver").is_file());
        if !found {
            return None;
        }
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if ureq::get(&format!("{}/status", driver.base)).call().is_ok() {
                return Some(driver);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("chromedriver did not start");
    }

    fn send(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let req = ureq::request(method, &url).timeout(Duration::from_secs(60));
        let result = match body {
            Some(b) => req
                .set("content-type", "application/json")
                .send_string(&b.to_string()),
            None => req.call(),
        };
        let text = match result {
            Ok(r) => r.into_string().expect("body"),
            Err(ureq::Error::Status(code, r)) => {
                panic!(
                    "webdriver {method} {path}: {code} {}",
                    r.into_string().unwrap_or_default()
                )
            }
            Err(e) => panic!("webdriver {method} {path}: {e}"),
        };
        let v: Value = serde_json::from_str(&text).expect("webdriver JSON");
        v["value"].clone()
    }

    /// A new headless browser window of `width` pixels.
    fn session(&self, width: u32) -> Session<'_> {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("/usr/bin/chromium");
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         format!("--window-size={width},1000"), "--lang=zh-CN"]
            }
        }}});
        let v = self.send("POST", "/session", Some(caps));
        Session {
            driver: self,
            id: v["sessionId"].as_str().expect("session id").to_string(),
        }
    }
}

struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.driver.base, self.id)).call();
    }
}

impl Session<'_> {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver
            .send(method, &format!("/session/{}{path}", self.id), body)
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    fn type_in(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    fn script(&self, js: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": js, "args": [] })),
        )
    }

    fn path(&self) -> String {
        self.script("return location.pathname;")
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Waits (up to 20 s) for the page to leave `path`, as a form's answer arrives.
    fn leave(&self, path: &str) -> String {
        let start = Instant::now();
        loop {
            let now = self.path();
            if now != path || start.elapsed() > Duration::from_secs(20) {
                return now;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn screenshot(&self, name: &str) {
        let png = self.cmd("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64"))
            .expect("png");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser");
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        std::fs::write(dir.join(format!("{name}.png")), bytes).expect("screenshot");
    }

    /// The console's errors since the last call.
    fn console_errors(&self) -> Vec<String> {
        let log = self.cmd("POST", "/se/log", Some(json!({ "type": "browser" })));
        log.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["level"] == "SEVERE")
                    .map(|e| e["message"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The links of the page that stay on the server.
    fn links(&self) -> Vec<String> {
        self.script(
            "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href).filter(h => h.startsWith(location.origin));",
        )
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
    }

    fn count(&self, css: &str) -> u64 {
        self.script(&format!(
            "return document.querySelectorAll({css:?}).length;"
        ))
        .as_u64()
        .unwrap_or(0)
    }

    fn cookie(&self, name: &str) -> String {
        self.cmd("GET", &format!("/cookie/{name}"), None)["value"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

#[test]
fn each_role_signs_in_and_walks_the_dashboard_in_a_real_browser() {
    let Some(driver) = Driver::start() else {
        assert!(
            std::env::var_os("STRATUM_BROWSER_TESTS").is_none(),
            "STRATUM_BROWSER_TESTS is set but chromedriver is not installed"
        );
        eprintln!("skipped: no chromedriver (CI installs chromium-driver)");
        return;
    };
    let f = fixtures("browser").into_iter().next().expect("sqlite");
    let mut store = stratum_store::Store::open(&f.url).expect("store");
    for (name, role, book) in [
        ("viewer-b", "viewer", None),
        ("zhang-b", "manager", Some("张伟")),
        ("analyst-b", "analyst", None),
    ] {
        let user = stratum_server::api::make_user(name, role, book, Some(PASSWORD)).expect("user");
        store.add_user(&user).expect("add");
    }
    drop(store);
    let mut problems = Vec::new();
    for (name, pages) in [
        ("viewer-b", vec!["/", "/migrations", "/runs", "/schemes"]),
        (
            "zhang-b",
            vec![
                "/",
                "/my",
                "/customers",
                "/migrations",
                "/runs",
                "/funnel",
                "/reviews",
            ],
        ),
        (
            "analyst-b",
            vec![
                "/",
                "/customers",
                "/my",
                "/migrations",
                "/runs",
                "/schemes",
                "/alerts",
                "/funnel",
                "/reviews",
                "/?lang=en",
            ],
        ),
    ] {
        let s = driver.session(1280);
        s.go(&f.server.url("/migrations"));
        assert_eq!(
            s.path(),
            "/login",
            "{name}: a page sends to the sign-in page"
        );
        s.type_in("input[name=name]", name);
        s.type_in("input[name=password]", PASSWORD);
        s.click("button[type=submit]");
        // back where it was going
        assert_eq!(s.leave("/login"), "/migrations", "{name} signed in");
        let session = s.cookie("stratum_session");
        assert!(
            !session.is_empty(),
            "{name}: the session cookie is kept by the browser"
        );
        for page in &pages {
            s.go(&f.server.url(page));
            let shot = format!("{name}{}", page.replace(['/', '?', '='], "-"));
            s.screenshot(&shot);
            if page.starts_with("/?") || *page == "/" {
                // the overview's history: the report's SVG charts
                if s.count("svg.chart") < 2 {
                    problems.push(format!("{name} {page}: fewer than two charts"));
                }
            }
            if *page == "/customers" && s.count("tbody tr") == 0 {
                problems.push(format!("{name} {page}: no customers listed"));
            }
            // every link on the page answers 200 for this user
            for link in s.links() {
                let status = match ureq::get(&link)
                    .set("cookie", &format!("stratum_session={session}"))
                    .call()
                {
                    Ok(r) => r.status(),
                    Err(ureq::Error::Status(code, _)) => code,
                    Err(e) => panic!("{link}: {e}"),
                };
                if status != 200 {
                    problems.push(format!("{name} {page}: link {link} answers {status}"));
                }
            }
            for e in s.console_errors() {
                problems.push(format!("{name} {page}: console error: {e}"));
            }
        }
        // preview the latest scheme as a draft from the schemes page (analysts)
        if pages.contains(&"/alerts") {
            s.go(&f.server.url("/schemes"));
            s.click("form[action='/schemes/preview'] button");
            s.leave("/schemes");
            s.screenshot(&format!("{name}-preview"));
            if s.count(".figure") < 3 {
                problems.push(format!("{name}: the preview shows no figures"));
            }
            for e in s.console_errors() {
                problems.push(format!("{name} preview: console error: {e}"));
            }
        }
        // open a customer from the list, where the role lists customers
        if pages.contains(&"/customers") {
            s.go(&f.server.url("/customers"));
            s.click("tbody tr a");
            if !s.leave("/customers").starts_with("/customers/") {
                problems.push(format!("{name}: the first customer did not open"));
            }
            s.screenshot(&format!("{name}-customer"));
        }
    }
    // a phone's width: the overview still lays out (nothing wider than the window)
    let s = driver.session(390);
    s.go(&f.server.url("/login"));
    s.type_in("input[name=name]", "analyst-b");
    s.type_in("input[name=password]", PASSWORD);
    s.click("button[type=submit]");
    assert_eq!(s.leave("/login"), "/", "signed in on a phone");
    s.go(&f.server.url("/"));
    s.screenshot("analyst-phone-overview");
    let overflow = s
        .script("return document.documentElement.scrollWidth - window.innerWidth;")
        .as_i64()
        .unwrap_or(0);
    if overflow > 0 {
        problems.push(format!("the overview is {overflow}px wider than a phone"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Signs in as `name` in a new window of `driver`.
fn sign_in<'a>(driver: &'a Driver, f: &super::fixture::Fixture, name: &str) -> Session<'a> {
    let s = driver.session(1280);
    s.go(&f.server.url("/login"));
    s.type_in("input[name=name]", name);
    s.type_in("input[name=password]", PASSWORD);
    s.click("button[type=submit]");
    assert_eq!(s.leave("/login"), "/", "{name} signed in");
    s
}

#[test]
fn a_dispute_raised_and_approved_in_the_browser_is_the_next_run_s_tier() {
    let Some(driver) = Driver::start() else {
        assert!(
            std::env::var_os("STRATUM_BROWSER_TESTS").is_none(),
            "STRATUM_BROWSER_TESTS is set but chromedriver is not installed"
        );
        eprintln!("skipped: no chromedriver (CI installs chromium-driver)");
        return;
    };
    let f = fixtures("browser_review")
        .into_iter()
        .next()
        .expect("sqlite");
    let mut store = stratum_store::Store::open(&f.url).expect("store");
    for (name, role, book) in [
        ("zhang-r", "manager", Some("张伟")),
        ("director-r", "analyst", None),
    ] {
        let user = stratum_server::api::make_user(name, role, book, Some(PASSWORD)).expect("user");
        store.add_user(&user).expect("add");
    }
    drop(store);
    let mut problems = Vec::new();
    // the account manager disputes B's tier (big) on B's page, proposing small
    let zhang = sign_in(&driver, &f, "zhang-r");
    // from the list of their customers, agree with the first one's tier
    zhang.go(&f.server.url("/my"));
    zhang.click("form.inline button");
    std::thread::sleep(Duration::from_millis(300));
    if zhang.path() != "/my" {
        problems.push(format!("agreeing from the list went to {}", zhang.path()));
    }
    zhang.go(&f.server.url("/customers/B"));
    zhang.type_in("#reason", "只下过一次大单，采购已转给竞争对手");
    zhang.click("#dispute");
    std::thread::sleep(Duration::from_millis(300));
    zhang.screenshot("review-disputed");
    if zhang.count("#reviews .status-pending") != 1 {
        problems.push("the customer's page shows no pending dispute".to_string());
    }
    // the director approves it from the queue
    let director = sign_in(&driver, &f, "director-r");
    director.go(&f.server.url("/reviews"));
    director.screenshot("review-queue");
    // one agreement and one dispute: agreement 50%
    let rates = director
        .script("return document.querySelector('#agreement tbody tr').innerText;")
        .as_str()
        .unwrap_or("")
        .to_string();
    if !rates.contains("50.0%") {
        problems.push(format!("the agreement row reads `{rates}`"));
    }
    if director.count("#pending tbody tr") != 1 {
        problems.push("the queue does not list the dispute".to_string());
    }
    director.type_in("#pending input[name=answer]", "同意，下次复核再看");
    director.click("#pending button[value=approve]");
    std::thread::sleep(Duration::from_millis(300));
    director.screenshot("review-approved");
    if director.count("#pending tbody tr") != 0 || director.count("#decided .status-approved") != 1
    {
        problems.push("the approved dispute is still waiting, or not listed".to_string());
    }
    // the next run applies it; the manager sees the new tier and why on B's page
    super::fixture::record_next_run(&f.url, super::fixture::day(2025, 5, 1));
    let start = Instant::now();
    let page = loop {
        zhang.go(&f.server.url("/customers/B?lang=en"));
        let text = zhang
            .script("return document.body.innerText;")
            .as_str()
            .unwrap_or("")
            .to_string();
        if text.contains("#3") || start.elapsed() > Duration::from_secs(20) {
            break text;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    zhang.screenshot("review-next-run");
    for want in [
        "override by zhang-r",
        "只下过一次大单",
        "approved by director-r",
        "Small",
    ] {
        if !page.contains(want) {
            problems.push(format!("B's page after the next run lacks `{want}`"));
        }
    }
    for s in [&zhang, &director] {
        for e in s.console_errors() {
            problems.push(format!("console error: {e}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
