//! Alert delivery against real receivers: a local HTTP server that checks every signature as
//! the robots' and Standard Webhooks' documentation says, fails when told to, and counts what
//! arrives; the store on SQLite (and PostgreSQL when `STRATUM_TEST_DATABASE_URL` is set).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use chrono::{NaiveDate, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use stratum_alerts::{Secrets, Sent, send_due};
use stratum_core::abc::AbcParams;
use stratum_core::run::{RunInput, RunResult, run};
use stratum_core::scheme::{Attributes, SchemeParams};
use stratum_core::{Aggregator, FrequencyBasis, Money, RfmParams};
use stratum_store::outbox::Status;
use stratum_store::{RunMeta, Store};

/// A request as the receiver saw it.
#[derive(Debug, Clone)]
struct Request {
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

/// A local HTTP receiver: answers each request with the next status of `script` (200 once it
/// runs out) and keeps every request.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Request>>>,
    script: Arc<Mutex<Vec<u16>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let seen: Arc<Mutex<Vec<Request>>> = Arc::default();
        let script: Arc<Mutex<Vec<u16>>> = Arc::default();
        let state = (seen.clone(), script.clone());
        let at = listen(state, |stream, (s, sc)| serve(stream, s, sc));
        Receiver {
            url: format!("http://{at}"),
            seen,
            script,
        }
    }

    fn requests(&self) -> Vec<Request> {
        self.seen.lock().expect("seen").clone()
    }

    fn fail_next(&self, statuses: &[u16]) {
        self.script
            .lock()
            .expect("script")
            .extend_from_slice(statuses);
    }
}

/// Listens on a free local port, serving each connection on a thread of its own (a request
/// held unanswered does not stop the others) with `serve` and a clone of `state`; returns the
/// address.
fn listen<S: Clone + Send + 'static>(
    state: S,
    serve: fn(std::net::TcpStream, &S),
) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let at = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let state = state.clone();
            std::thread::spawn(move || serve(stream, &state));
        }
    });
    at
}

/// Answers one connection of a [`Receiver`].
fn serve(mut stream: std::net::TcpStream, s: &Mutex<Vec<Request>>, sc: &Mutex<Vec<u16>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let status = {
        let mut q = sc.lock().expect("script");
        if q.is_empty() { 200 } else { q.remove(0) }
    };
    // 0: take the request and never answer (the sender is killed meanwhile)
    if status == 0 {
        s.lock().expect("seen").push(Request {
            path,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        std::thread::sleep(std::time::Duration::from_secs(60));
        return;
    }
    s.lock().expect("seen").push(Request {
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let answer = r#"{"errcode":0,"code":0}"#;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
        answer.len()
    );
}

/// A secrets file of the channels' URLs at the receiver `url` and the webhook's secret, then
/// `more`.
fn secrets_file(dir: &std::path::Path, url: &str, more: &str) -> std::path::PathBuf {
    let path = dir.join("secrets.toml");
    let text = format!(
        "T_HOOK_URL = \"{url}/hook\"\nT_HOOK_SECRET = \"{SECRET}\"\nT_WECOM_URL = \"{url}/wecom?key=k\"\nT_DING_URL = \"{url}/ding?access_token=t\"\nT_FEISHU_URL = \"{url}/feishu\"\n{more}"
    );
    std::fs::write(&path, text).expect("secrets");
    path
}

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ROBOT_SECRET: &str = "SECabcdef0123456789";

fn scheme(file: &str) -> String {
    format!(
        r#"
name = "value"

[[dimensions]]
name = "value"
[[dimensions.tiers]]
name = "strategic"
label = {{ zh = "战略客户", en = "Strategic" }}
rule = "monetary >= 1000"
[[dimensions.tiers]]
name = "standard"
label = {{ zh = "普通客户", en = "Standard" }}

[[alerts]]
name = "strategic_lost"
label = {{ zh = "战略客户降级", en = "Strategic account downgraded" }}
rule = "previous.value = 'strategic' AND value <> 'strategic'"
owner = "account_manager"
channels = ["hook", "wecom", "dingtalk", "feishu", "file"]
lang = "zh"

[[channels]]
name = "hook"
kind = "webhook"
url_env = "T_HOOK_URL"
secret_env = "T_HOOK_SECRET"

[[channels]]
name = "wecom"
kind = "wecom"
url_env = "T_WECOM_URL"

[[channels]]
name = "dingtalk"
kind = "dingtalk"
url_env = "T_DING_URL"
secret_env = "T_ROBOT_SECRET"

[[channels]]
name = "feishu"
kind = "feishu"
url_env = "T_FEISHU_URL"
secret_env = "T_ROBOT_SECRET"

[[channels]]
name = "file"
kind = "file"
path = "{file}"
"#
    )
}

struct Managers(Vec<String>);
impl Attributes for Managers {
    fn names(&self) -> &[String] {
        &self.0
    }
    fn values(&self, customer_id: &str) -> Option<&[String]> {
        let at = ["A", "B", "C"].iter().position(|c| *c == customer_id)?;
        Some(std::slice::from_ref(&self.0[at + 1]))
    }
    fn signup(&self, _: &str) -> Option<NaiveDate> {
        None
    }
    fn is_number(&self, _: usize) -> bool {
        false
    }
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, m, d).expect("date")
}

/// A, B and C strategic at first; then A and B refund (down to standard), C stays.
fn run_of(later: bool, scheme: &str) -> RunResult {
    let managers = Managers(
        ["account_manager", "王芳", "张伟", "王芳"]
            .map(String::from)
            .to_vec(),
    );
    let mut agg = Aggregator::new(None, FrequencyBasis::Orders);
    agg.add("A", Some("a1"), day(1, 10), Money::from_major(1_500));
    agg.add("B", Some("b1"), day(1, 12), Money::from_major(1_200));
    agg.add("C", Some("c1"), day(1, 20), Money::from_major(3_000));
    if later {
        agg.add("A", Some("a2"), day(3, 5), Money::from_major(-800));
        agg.add("B", Some("b2"), day(3, 6), Money::from_major(-500));
    }
    let as_of = if later { day(4, 1) } else { day(3, 1) };
    let (rfm, abc) = (
        RfmParams::new().check().expect("rfm"),
        AbcParams::new().check().expect("abc"),
    );
    let input = RunInput {
        scheme: Some(SchemeParams::from_toml(scheme).expect("scheme")),
        attributes: Some(&managers),
        validate: false,
        ..RunInput::new(agg.finish(as_of), as_of, &rfm, &abc)
    };
    run(input).expect("run")
}

/// Keeps the run at March's end, then April's (A and B leave strategic); returns the second's id.
fn two_runs(store: &mut Store, text: &str) -> i64 {
    store
        .record(&run_of(false, text), &meta(text, "2025-03-01T08:00:00Z"))
        .expect("record");
    store
        .record(&run_of(true, text), &meta(text, "2025-04-01T08:00:00Z"))
        .expect("record")
}

fn meta(scheme: &str, started: &str) -> RunMeta {
    RunMeta {
        started_at: started.into(),
        finished_at: started.into(),
        tool_version: "Stratum test".into(),
        inputs: serde_json::json!([]),
        settings: serde_json::json!({}),
        scheme_text: Some(scheme.into()),
        alerts: true,
    }
}

fn hmac(key: &[u8], message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("key");
    mac.update(message);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The stores: SQLite, and PostgreSQL in a schema of its own when the server is given.
fn stores(name: &str, dir: &std::path::Path) -> Vec<String> {
    let mut out = vec![dir.join("stratum.db").to_string_lossy().into_owned()];
    if let Ok(server) = std::env::var("STRATUM_TEST_DATABASE_URL") {
        let schema = format!("t_{name}_{}", std::process::id());
        let mut client = postgres_client(&server);
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .expect("schema");
        let sep = if server.contains('?') { '&' } else { '?' };
        out.push(format!("{server}{sep}options=-c%20search_path%3D{schema}"));
    }
    out
}

fn postgres_client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("postgres")
}

#[test]
fn digests_reach_every_channel_signed_once_each_through_failures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("alerts.jsonl");
    let text = scheme(&file.to_string_lossy());
    let rx = Receiver::start();
    let secrets_path = secrets_file(
        dir.path(),
        &rx.url,
        &format!("T_ROBOT_SECRET = \"{ROBOT_SECRET}\"\n"),
    );
    let secrets = Secrets::load(Some(&secrets_path)).expect("secrets");
    assert!(!format!("{secrets:?}").contains(ROBOT_SECRET));
    for (k, url) in stores("alerts", dir.path()).into_iter().enumerate() {
        let _ = std::fs::remove_file(&file);
        let before = rx.requests().len();
        let mut store = Store::open(&url).expect("open");
        store
            .record(&run_of(false, &text), &meta(&text, "2025-03-01T08:00:00Z"))
            .expect("record");
        // the first run has no run before: nothing fires
        assert!(store.messages().expect("messages").is_empty());
        let run2 = store
            .record(&run_of(true, &text), &meta(&text, "2025-04-01T08:00:00Z"))
            .expect("record");
        let messages = store.messages().expect("messages");
        // A (王芳) and B (张伟) lost strategic: a digest each, to five channels
        assert_eq!(messages.len(), 10, "{url}");
        let recipients: Vec<&str> = messages
            .iter()
            .map(|m| m.digest.recipient.as_str())
            .collect();
        assert_eq!(recipients.iter().filter(|r| **r == "王芳").count(), 5);
        assert!(
            messages
                .iter()
                .all(|m| m.run == run2 && m.status == Status::Pending)
        );
        // no secret in the store
        let kept = format!("{messages:?}");
        assert!(
            !kept.contains(ROBOT_SECRET) && !kept.contains(&rx.url),
            "{kept}"
        );

        // the receiver fails the first two requests: those two are retried, the rest arrive
        rx.fail_next(&[500, 503]);
        // messages are due from when they were made (now)
        let t0 = Utc::now() + chrono::Duration::seconds(60);
        let sent = send_due(&mut store, t0, &secrets).expect("send");
        assert_eq!(
            sent,
            Sent {
                delivered: 8,
                retrying: 2,
                failed: 0,
                disabled: 0
            },
            "{url}"
        );
        // not due yet four seconds on; due at five
        let early =
            send_due(&mut store, t0 + chrono::Duration::seconds(4), &secrets).expect("send");
        assert_eq!(early, Sent::default());
        let later =
            send_due(&mut store, t0 + chrono::Duration::seconds(5), &secrets).expect("send");
        assert_eq!(later.delivered, 2, "{url}");
        let again = send_due(&mut store, t0 + chrono::Duration::days(5), &secrets).expect("send");
        assert_eq!(again, Sent::default());
        let messages = store.messages().expect("messages");
        assert!(
            messages.iter().all(|m| m.status == Status::Delivered),
            "{url}"
        );
        let retried: Vec<_> = messages.iter().filter(|m| m.attempts == 2).collect();
        assert_eq!(retried.len(), 2);
        let log = store.attempts(&retried[0].id).expect("attempts");
        assert_eq!(log.len(), 2);
        assert_eq!(
            (log[0].1.as_str(), log[1].1.as_str()),
            ("retry", "delivered")
        );
        assert!(log[0].2.starts_with("HTTP 50"), "{log:?}");

        // every message arrived exactly once, by id (HTTP) and by line (file)
        let requests: Vec<Request> = rx.requests()[before..].to_vec();
        assert_eq!(
            requests.len(),
            10,
            "8 at once, 2 failed, 2 again: 12 tries, 10 answered 200"
        );
        let hooks: Vec<&Request> = requests.iter().filter(|r| r.path == "/hook").collect();
        let mut ids: Vec<&str> = hooks
            .iter()
            .map(|r| r.headers["webhook-id"].as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 2);
        for r in &hooks {
            // Standard Webhooks: v1, base64 HMAC over id.timestamp.body, keyed by the secret
            let key = base64::engine::general_purpose::STANDARD
                .decode(&SECRET["whsec_".len()..])
                .expect("key");
            let signed = format!(
                "{}.{}.{}",
                r.headers["webhook-id"], r.headers["webhook-timestamp"], r.body
            );
            assert_eq!(
                r.headers["webhook-signature"],
                format!("v1,{}", hmac(&key, signed.as_bytes()))
            );
            let event: serde_json::Value = serde_json::from_str(&r.body).expect("json");
            assert_eq!(event["type"], "stratum.alert");
            assert_eq!(
                event["data"]["id"].as_str(),
                Some(r.headers["webhook-id"].as_str())
            );
            assert_eq!(event["data"]["alerts"][0]["customers"][0]["to"], "standard");
        }
        for r in requests.iter().filter(|r| r.path.starts_with("/ding")) {
            // DingTalk: timestamp (ms) and sign in the URL, HMAC of "ts\nsecret" keyed by it
            let query: HashMap<&str, &str> = r
                .path
                .split_once('?')
                .expect("query")
                .1
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .collect();
            let ts = query["timestamp"];
            let want = hmac(
                ROBOT_SECRET.as_bytes(),
                format!("{ts}\n{ROBOT_SECRET}").as_bytes(),
            );
            assert_eq!(query["sign"], stratum_alerts::sign::percent(&want));
            let body: serde_json::Value = serde_json::from_str(&r.body).expect("json");
            assert_eq!(body["msgtype"], "markdown");
            assert!(
                body["markdown"]["text"]
                    .as_str()
                    .expect("text")
                    .contains("战略客户 → 普通客户")
            );
        }
        for r in requests.iter().filter(|r| r.path == "/feishu") {
            let body: serde_json::Value = serde_json::from_str(&r.body).expect("json");
            let ts = body["timestamp"].as_str().expect("timestamp");
            let want = hmac(format!("{ts}\n{ROBOT_SECRET}").as_bytes(), b"");
            assert_eq!(body["sign"].as_str(), Some(want.as_str()));
            assert_eq!(body["msg_type"], "interactive");
        }
        for r in requests.iter().filter(|r| r.path.starts_with("/wecom")) {
            let body: serde_json::Value = serde_json::from_str(&r.body).expect("json");
            let content = body["markdown"]["content"].as_str().expect("content");
            assert!(content.len() <= 4096 && content.starts_with("### 战略客户降级 · "));
        }
        let lines = std::fs::read_to_string(&file).expect("file");
        assert_eq!(lines.lines().count(), 2, "{lines}");
        if k == 0 {
            let wecom = requests
                .iter()
                .find(|r| r.path.starts_with("/wecom") && r.body.contains("张伟"))
                .expect("wecom");
            let body: serde_json::Value = serde_json::from_str(&wecom.body).expect("json");
            insta::assert_snapshot!(body["markdown"]["content"].as_str().expect("content"));
        }
    }
}

#[test]
fn a_gone_endpoint_is_disabled_and_a_failing_one_gives_up_after_three_days() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = scheme(&dir.path().join("alerts.jsonl").to_string_lossy());
    let rx = Receiver::start();
    let secrets_path = secrets_file(dir.path(), &rx.url, "");
    let secrets = Secrets::load(Some(&secrets_path)).expect("secrets");
    let mut store = Store::open(&dir.path().join("s.db").to_string_lossy()).expect("open");
    two_runs(&mut store, &text);
    // every HTTP attempt fails from now on; the first answer is 410 Gone
    rx.fail_next(&[410]);
    rx.fail_next(&[500; 200]);
    let mut t = Utc::now() + chrono::Duration::seconds(60);
    let mut total = Sent::default();
    for _ in 0..12 {
        let s = send_due(&mut store, t, &secrets).expect("send");
        total.delivered += s.delivered;
        total.failed += s.failed;
        total.disabled += s.disabled;
        t += chrono::Duration::hours(25);
    }
    // 2 file messages delivered; the 410 disables its channel: both its messages (one tried,
    // the other not); the 6 others given up on after 10 attempts
    assert_eq!((total.delivered, total.disabled, total.failed), (2, 2, 6));
    let messages = store.messages().expect("messages");
    let failed: Vec<_> = messages
        .iter()
        .filter(|m| m.status == Status::Failed)
        .collect();
    assert!(failed.iter().all(|m| m.attempts == 10), "{failed:?}");
    let disabled: Vec<_> = messages
        .iter()
        .filter(|m| m.status == Status::Disabled)
        .collect();
    assert_eq!(disabled.len(), 2);
    assert_eq!(disabled[0].channel.name, disabled[1].channel.name);
    assert!(disabled.iter().all(|m| m.attempts == 1));
    let errors: Vec<&str> = disabled
        .iter()
        .filter_map(|m| m.last_error.as_deref())
        .collect();
    assert!(
        errors.contains(&"HTTP 410 Gone: the endpoint is disabled"),
        "{errors:?}"
    );
    // the same two runs kept again, started in the same seconds, fire again with new ids
    store
        .record(&run_of(false, &text), &meta(&text, "2025-03-01T08:00:00Z"))
        .expect("a re-run is kept");
    store
        .record(&run_of(true, &text), &meta(&text, "2025-04-01T08:00:00Z"))
        .expect("a re-run is kept");
    let mut ids: Vec<String> = store
        .messages()
        .expect("messages")
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids.len(), 20);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 20);
}

/// The child of [`a_delivery_killed_midway_loses_nothing`]: sends what is due in
/// `STRATUM_ALERTS_DB` with the secrets of `STRATUM_ALERTS_SECRETS`.
#[test]
#[ignore = "run by a_delivery_killed_midway_loses_nothing, which kills it"]
fn send_child_until_killed() {
    let (Ok(url), Ok(secrets)) = (
        std::env::var("STRATUM_ALERTS_DB"),
        std::env::var("STRATUM_ALERTS_SECRETS"),
    ) else {
        return;
    };
    let secrets = Secrets::load(Some(std::path::Path::new(&secrets))).expect("secrets");
    let mut store = Store::open(&url).expect("open");
    eprintln!("sending");
    let _ = send_due(
        &mut store,
        Utc::now() + chrono::Duration::seconds(60),
        &secrets,
    );
}

/// A delivery killed with SIGKILL while a receiver holds its request: the message stays
/// pending, the next send delivers it with the same id, and every message is delivered.
#[test]
fn a_delivery_killed_midway_loses_nothing() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("tempdir");
    let text = scheme(&dir.path().join("alerts.jsonl").to_string_lossy());
    let rx = Receiver::start();
    let secrets_path = secrets_file(dir.path(), &rx.url, "");
    for url in stores("killed", dir.path()) {
        let before = rx.requests().len();
        let mut store = Store::open(&url).expect("open");
        two_runs(&mut store, &text);
        let ids: Vec<String> = store
            .messages()
            .expect("messages")
            .into_iter()
            .map(|m| m.id)
            .collect();
        drop(store);
        // the first request is held and never answered
        rx.fail_next(&[0]);
        let mut child = std::process::Command::new(std::env::current_exe().expect("exe"))
            .args([
                "--exact",
                "send_child_until_killed",
                "--ignored",
                "--nocapture",
            ])
            .env("STRATUM_ALERTS_DB", &url)
            .env("STRATUM_ALERTS_SECRETS", &secrets_path)
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("child");
        let stderr = child.stderr.take().expect("stderr");
        assert!(
            BufReader::new(stderr)
                .lines()
                .any(|l| l.is_ok_and(|l| l.contains("sending")))
        );
        while rx.requests().len() == before {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        child.kill().expect("kill");
        child.wait().expect("wait");
        let held = rx.requests()[before].clone();
        let mut store = Store::open(&url).expect("the store opens after the kill");
        let pending = store
            .messages()
            .expect("messages")
            .into_iter()
            .filter(|m| m.status == Status::Pending)
            .count();
        assert!(pending >= 1, "the held message is still pending");
        let secrets = Secrets::load(Some(&secrets_path)).expect("secrets");
        // the killed send's claim runs out after its lease
        let after = Utc::now() + chrono::Duration::seconds(stratum_alerts::LEASE_SECONDS + 60);
        send_due(&mut store, after, &secrets).expect("send");
        let messages = store.messages().expect("messages");
        assert!(
            messages.iter().all(|m| m.status == Status::Delivered),
            "{url}: {messages:?}"
        );
        let got: Vec<String> = messages.iter().map(|m| m.id.clone()).collect();
        assert_eq!(got, ids);
        // the held webhook request came again with the same id
        if held.path == "/hook" {
            let again = rx.requests()[before + 1..]
                .iter()
                .filter(|r| r.headers.get("webhook-id") == held.headers.get("webhook-id"))
                .count();
            assert_eq!(again, 1);
        }
    }
}

/// A message a [`SmtpSink`] took.
#[derive(Debug, Clone)]
struct Mail {
    auth: Option<String>,
    to: Vec<String>,
    data: String,
}

/// A local SMTP server: logs in anyone (keeping the AUTH PLAIN credentials), takes every
/// message, and answers the first `busy` MAIL commands 451 (try later).
struct SmtpSink {
    url: String,
    mails: Arc<Mutex<Vec<Mail>>>,
    busy: Arc<Mutex<u32>>,
}

impl SmtpSink {
    fn start(user: &str) -> SmtpSink {
        let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let busy: Arc<Mutex<u32>> = Arc::default();
        let state = (mails.clone(), busy.clone());
        let at = listen(state, |stream, (m, b)| smtp_session(stream, m, b));
        SmtpSink {
            url: format!("smtp://{user}@{at}"),
            mails,
            busy,
        }
    }
}

fn smtp_session(mut stream: std::net::TcpStream, mails: &Mutex<Vec<Mail>>, busy: &Mutex<u32>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut say = |s: &str| {
        let _ = stream.write_all(s.as_bytes());
    };
    say("220 sink ESMTP\r\n");
    let mut mail = Mail {
        auth: None,
        to: Vec::new(),
        data: String::new(),
    };
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let upper = line.to_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            say("250-sink\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
        } else if upper.starts_with("AUTH PLAIN") {
            let b64 = line.trim()["AUTH PLAIN".len()..].trim().to_string();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap_or_default();
            mail.auth = Some(String::from_utf8_lossy(&decoded).replace('\0', "|"));
            say("235 2.7.0 ok\r\n");
        } else if upper.starts_with("MAIL FROM") {
            let mut left = busy.lock().expect("busy");
            if *left > 0 {
                *left -= 1;
                say("451 4.3.0 try again later\r\n");
            } else {
                say("250 ok\r\n");
            }
        } else if upper.starts_with("RCPT TO") {
            mail.to.push(line.trim()["RCPT TO:".len()..].to_string());
            say("250 ok\r\n");
        } else if upper.starts_with("DATA") {
            say("354 go on\r\n");
            loop {
                let mut l = String::new();
                if reader.read_line(&mut l).unwrap_or(0) == 0 || l == ".\r\n" {
                    break;
                }
                mail.data.push_str(&l);
            }
            mails.lock().expect("mails").push(mail.clone());
            say("250 queued\r\n");
        } else if upper.starts_with("QUIT") {
            say("221 bye\r\n");
            return;
        } else {
            say("250 ok\r\n");
        }
    }
}

/// E-mail: the digest goes to the channel's addresses as plain text and HTML, logging in with
/// the password of the secrets; a server busy at first is tried again; a recipient that is no
/// address fails at once, naming it.
#[test]
fn an_email_digest_arrives_as_text_and_html() {
    let dir = tempfile::tempdir().expect("tempdir");
    let smtp = SmtpSink::start("alerts");
    let text = r#"
name = "value"

[[dimensions]]
name = "value"
[[dimensions.tiers]]
name = "strategic"
label = { zh = "战略客户", en = "Strategic" }
rule = "monetary >= 1000"
[[dimensions.tiers]]
name = "standard"
label = { zh = "普通客户", en = "Standard" }

[[alerts]]
name = "strategic_lost"
label = { en = "Strategic account downgraded" }
rule = "previous.value = 'strategic' AND value <> 'strategic'"
recipients = ["sales director"]
channels = ["mail"]

[[alerts]]
name = "to_owners"
rule = "previous.value = 'strategic' AND value <> 'strategic'"
owner = "account_manager"
channels = ["owners"]

[[channels]]
name = "mail"
kind = "email"
url_env = "T_SMTP_URL"
secret_env = "T_SMTP_PASSWORD"
from = "Stratum <stratum@example.com>"
to = ["director@example.com", "ops@example.com"]

[[channels]]
name = "owners"
kind = "email"
url_env = "T_SMTP_URL"
from = "stratum@example.com"
"#;
    let secrets_path = dir.path().join("secrets.toml");
    std::fs::write(
        &secrets_path,
        format!(
            "T_SMTP_URL = \"{}\"\nT_SMTP_PASSWORD = \"s3cret-pw\"\n",
            smtp.url
        ),
    )
    .expect("secrets");
    let secrets = Secrets::load(Some(&secrets_path)).expect("secrets");
    let mut store = Store::open(&dir.path().join("s.db").to_string_lossy()).expect("open");
    store
        .record(&run_of(false, text), &meta(text, "2025-03-01T08:00:00Z"))
        .expect("record");
    store
        .record(&run_of(true, text), &meta(text, "2025-04-01T08:00:00Z"))
        .expect("record");
    *smtp.busy.lock().expect("busy") = 1;
    let t0 = Utc::now() + chrono::Duration::seconds(60);
    let first = send_due(&mut store, t0, &secrets).expect("send");
    // the director's digest meets a busy server; the owners' (王芳, 张伟) are no addresses
    assert_eq!((first.delivered, first.retrying, first.failed), (0, 1, 2));
    let second = send_due(&mut store, t0 + chrono::Duration::seconds(5), &secrets).expect("send");
    assert_eq!(second.delivered, 1);
    let mails = smtp.mails.lock().expect("mails").clone();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.auth.as_deref(), Some("|alerts|s3cret-pw"));
    assert_eq!(mail.to, ["<director@example.com>", "<ops@example.com>"]);
    assert!(mail.data.contains("multipart/alternative"), "{}", mail.data);
    assert!(mail.data.contains("text/plain") && mail.data.contains("text/html"));
    assert!(
        mail.data.contains("Strategic account downgraded"),
        "{}",
        mail.data
    );
    let failed: Vec<_> = store
        .messages()
        .expect("messages")
        .into_iter()
        .filter(|m| m.status == Status::Failed)
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(
        failed[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("is not an e-mail address")),
        "{failed:?}"
    );
    assert!(!format!("{failed:?}").contains("s3cret-pw"));
}

/// Sends that overlap (a run's and cron's) never send a message twice: a message claimed by
/// one is left by the other until its lease runs out.
#[test]
fn a_claimed_message_is_left_to_the_send_that_claimed_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = scheme(&dir.path().join("alerts.jsonl").to_string_lossy());
    let rx = Receiver::start();
    let secrets_path = secrets_file(dir.path(), &rx.url, "");
    let secrets = Secrets::load(Some(&secrets_path)).expect("secrets");
    let mut store = Store::open(&dir.path().join("s.db").to_string_lossy()).expect("open");
    two_runs(&mut store, &text);
    let stamp = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let t0 = Utc::now() + chrono::Duration::seconds(60);
    let lease = t0 + chrono::Duration::seconds(stratum_alerts::LEASE_SECONDS);
    let claimed = store.messages().expect("messages")[0].id.clone();
    assert!(
        store
            .claim(&claimed, &stamp(t0), &stamp(lease))
            .expect("claim")
    );
    assert!(
        !store
            .claim(&claimed, &stamp(t0), &stamp(lease))
            .expect("claim")
    );
    let first = send_due(&mut store, t0, &secrets).expect("send");
    assert_eq!(first.delivered, 9);
    let pending: Vec<String> = store
        .messages()
        .expect("messages")
        .into_iter()
        .filter(|m| m.status == Status::Pending)
        .map(|m| m.id)
        .collect();
    assert_eq!(pending, [claimed]);
    let later = lease + chrono::Duration::seconds(1);
    assert_eq!(
        send_due(&mut store, later, &secrets)
            .expect("send")
            .delivered,
        1
    );
}

/// A run before kept without its customers' profile (by a Stratum before profiles were kept)
/// still gives its tiers: `previous.value` reads them, and the alert fires.
#[test]
fn a_run_before_kept_without_a_profile_still_gives_its_tiers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = scheme(&dir.path().join("alerts.jsonl").to_string_lossy());
    let path = dir.path().join("s.db");
    let mut store = Store::open(&path.to_string_lossy()).expect("open");
    store
        .record(&run_of(false, &text), &meta(&text, "2025-03-01T08:00:00Z"))
        .expect("record");
    drop(store);
    // as an earlier Stratum kept it: no profile rows, no profile in the layout
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    conn.execute_batch(
        "DELETE FROM run_profiles; UPDATE runs SET layout = json_remove(layout, '$.profile');",
    )
    .expect("undo the profile");
    drop(conn);
    let mut store = Store::open(&path.to_string_lossy()).expect("open");
    assert!(matches!(
        store.kept_profile(1),
        Err(stratum_store::StoreError::NoProfile(1))
    ));
    store
        .record(&run_of(true, &text), &meta(&text, "2025-04-01T08:00:00Z"))
        .expect("record");
    let messages = store.messages().expect("messages");
    // A (王芳) and B (张伟) left strategic: a digest each, to five channels
    assert_eq!(messages.len(), 10);
    let mut fired: Vec<&str> = messages
        .iter()
        .flat_map(|m| &m.digest.alerts)
        .flat_map(|s| &s.customers)
        .map(|c| c.customer_id.as_str())
        .collect();
    fired.sort_unstable();
    fired.dedup();
    assert_eq!(fired, ["A", "B"]);
}
