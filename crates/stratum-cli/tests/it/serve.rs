//! `stratum serve` as users start it: a child process on a free loopback port, runs started by
//! uploading files through the API (recorded as `segment --db` records them), `stratum users`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::stratum;

/// A `stratum serve` child, killed when dropped.
pub(super) struct Serving {
    child: Child,
    pub(super) address: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn serve(db: &Path, config: Option<&Path>) -> Serving {
    let mut args = vec![
        "serve",
        "--db",
        db.to_str().expect("utf-8"),
        "--bind",
        "127.0.0.1:0",
        "--lang",
        "en",
    ];
    if let Some(c) = config {
        args.extend(["--config", c.to_str().expect("utf-8")]);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_stratum"))
        .args(&args)
        .env("STRATUM_LOG", "warn")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let address = loop {
        let line = lines.next().expect("a line").expect("text");
        if let Some(rest) = line.split("on http://").nth(1) {
            break rest.split('/').next().expect("address").to_string();
        }
    };
    // keep reading the server's log so it never blocks on a full pipe
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Serving { child, address }
}

/// A raw HTTP/1.1 request; the status and body.
pub(super) fn request(
    address: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<(&str, &[u8])>,
) -> (u16, String) {
    let mut s = TcpStream::connect(address).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let (kind, bytes) = body.unwrap_or(("text/plain", b""));
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        bytes.len()
    );
    s.write_all(head.as_bytes()).expect("write");
    s.write_all(bytes).expect("write");
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).expect("read");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    // chunked bodies: the JSON is in one chunk here; take the text between the size lines
    let body = match body.split_once("\r\n") {
        Some((size, rest))
            if usize::from_str_radix(size.trim(), 16).is_ok()
                && !size.trim().is_empty()
                && !size.contains('{') =>
        {
            rest.rsplit_once("\r\n0\r\n")
                .map_or(rest.to_string(), |(b, _)| b.trim_end().to_string())
        }
        _ => body,
    };
    (status, body)
}

/// Job `id` once it has succeeded or failed (at most two minutes).
pub(super) fn finished(server: &Serving, token: &str, id: u64) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let (_, j) = request(
            &server.address,
            "GET",
            &format!("/api/jobs/{id}"),
            token,
            None,
        );
        let j: serde_json::Value = serde_json::from_str(&j).expect("job");
        if j["state"] == "succeeded" || j["state"] == "failed" {
            return j;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the run did not finish: {j}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A multipart/form-data body of files (field, file name, bytes).
pub(super) fn multipart(files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "stratum-test-boundary-7f3a";
    let mut body = Vec::new();
    for (field, name, bytes) in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[test]
fn a_run_uploaded_to_the_server_is_recorded_as_the_command_line_records_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let demo = dir.join("demo");
    let run = stratum(
        &[
            "demo",
            "--out",
            demo.to_str().expect("utf-8"),
            "--customer-count",
            "300",
            "--line-count",
            "6000",
        ],
        dir,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let db = dir.join("stratum.db");
    let db_text = db.to_str().expect("utf-8");
    // a store with a published scheme and an analyst with a token
    let scheme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemes/b2b.toml");
    let published = stratum(
        &[
            "scheme",
            "publish",
            scheme.to_str().expect("utf-8"),
            "-m",
            "the B2B scheme",
            "--db",
            db_text,
        ],
        dir,
    );
    assert_eq!(published.code, 0, "{}", published.stderr);
    let added = stratum(
        &["users", "add", "ann", "--role", "analyst", "--db", db_text],
        dir,
    );
    assert_eq!(added.code, 0, "{}", added.stderr);
    let viewer = stratum(
        &["users", "add", "vic", "--role", "viewer", "--db", db_text],
        dir,
    );
    assert_eq!(viewer.code, 0, "{}", viewer.stderr);
    let token = stratum(&["users", "token", "ann", "--db", db_text], dir)
        .stdout
        .trim()
        .to_string();
    let viewer_token = stratum(&["users", "token", "vic", "--db", db_text], dir)
        .stdout
        .trim()
        .to_string();
    assert!(token.starts_with("st_"), "{token}");
    let server = serve(&db, None);
    // the demo's orders and one line with an impossible date, which the run rejects
    let mut transactions = std::fs::read_to_string(demo.join("transactions.csv")).expect("demo");
    let bad: Vec<String> = transactions
        .lines()
        .nth(1)
        .expect("a line")
        .split(',')
        .map(|f| {
            let date = f.len() >= 10 && f.as_bytes()[4] == b'-' && f.as_bytes()[7] == b'-';
            if date {
                "2025-13-45".into()
            } else {
                f.to_string()
            }
        })
        .collect();
    transactions.push_str(&(bad.join(",") + "\n"));
    let transactions = transactions.into_bytes();
    let customers = std::fs::read(demo.join("customers.csv")).expect("demo");
    let (kind, body) = multipart(&[
        ("transactions", "订单 2025.csv", &transactions),
        ("customers", "../customers.csv", &customers),
    ]);
    // a viewer may not start a run
    let (status, _) = request(
        &server.address,
        "POST",
        "/api/runs",
        &viewer_token,
        Some((&kind, &body)),
    );
    assert_eq!(status, 403);
    let (status, job) = request(
        &server.address,
        "POST",
        "/api/runs",
        &token,
        Some((&kind, &body)),
    );
    assert_eq!(status, 202, "{job}");
    let job: serde_json::Value = serde_json::from_str(&job).expect("job");
    assert_eq!(
        job["inputs"],
        serde_json::json!(["transactions-订单 2025.csv", "customers-customers.csv"])
    );
    assert_eq!(job["scheme_version"], 1);
    let id = job["id"].as_u64().expect("id");
    let done = finished(&server, &token, id);
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["run"], 1);
    // its rejected row, with the reason, for analysts to download
    assert_eq!(done["rejected_rows"], 1, "{done}");
    let path = format!("/api/jobs/{id}/rejects");
    let (status, rejects) = request(&server.address, "GET", &path, &token, None);
    assert_eq!(status, 200);
    assert_eq!(rejects.lines().count(), 2, "{rejects}");
    assert!(rejects.contains("2025-13-45"), "{rejects}");
    let (status, _) = request(&server.address, "GET", &path, &viewer_token, None);
    assert_eq!(status, 403);
    // the run is in the store as the command line keeps one: its scheme, its inputs
    let runs = stratum(&["runs", "--db", db_text], dir);
    assert!(
        runs.stdout.contains("B2B key accounts") || runs.stderr.contains("B2B key accounts"),
        "{}{}",
        runs.stdout,
        runs.stderr
    );
    let (_, detail) = request(&server.address, "GET", "/api/runs/1", &token, None);
    let detail: serde_json::Value = serde_json::from_str(&detail).expect("run");
    assert_eq!(detail["run"]["customers"], 300);
    let roles: Vec<&str> = detail["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .filter_map(|i| i["role"].as_str())
        .collect();
    assert!(
        roles.contains(&"transactions") && roles.contains(&"customers"),
        "{roles:?}"
    );
    // the uploaded files are kept as given, beside the store
    let kept = std::fs::read_dir(dir.join("stratum-uploads"))
        .expect("uploads")
        .count();
    assert_eq!(kept, 1);
    // a request without a transactions file is refused and keeps nothing
    let (kind, body) = multipart(&[("customers", "c.csv", &customers)]);
    let (status, answer) = request(
        &server.address,
        "POST",
        "/api/runs",
        &token,
        Some((&kind, &body)),
    );
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        std::fs::read_dir(dir.join("stratum-uploads"))
            .expect("uploads")
            .count(),
        1
    );
}

#[test]
fn a_schedule_runs_now_when_an_admin_asks_and_says_when_it_runs_next() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let demo = dir.join("demo");
    let run = stratum(
        &[
            "demo",
            "--out",
            demo.to_str().expect("utf-8"),
            "--customer-count",
            "200",
            "--line-count",
            "4000",
        ],
        dir,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let db = dir.join("stratum.db");
    let db_text = db.to_str().expect("utf-8");
    // an empty store: the first run keeps it
    let added = stratum(
        &["users", "add", "ada", "--role", "admin", "--db", db_text],
        dir,
    );
    assert_eq!(added.code, 1, "no store yet: {}", added.stderr);
    let seeded = stratum(
        &[
            "segment",
            "-t",
            demo.join("transactions.csv").to_str().expect("utf-8"),
            "--as-of",
            "2025-06-01",
            "--db",
            db_text,
            "-o",
            dir.join("first").to_str().expect("utf-8"),
        ],
        dir,
    );
    assert_eq!(seeded.code, 0, "{}", seeded.stderr);
    assert_eq!(
        stratum(
            &["users", "add", "ada", "--role", "admin", "--db", db_text],
            dir
        )
        .code,
        0
    );
    let admin = stratum(&["users", "token", "ada", "--db", db_text], dir)
        .stdout
        .trim()
        .to_string();
    let config = dir.join("stratum.toml");
    let scheme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemes/b2b.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlang = \"en\"\n\n[[schedules]]\nname = \"monthly\"\ncron = \"0 2 1 * *\"\ntransactions = {:?}\ncustomers = {:?}\nscheme = {:?}\n",
            demo.join("transactions.csv").to_str().expect("utf-8"),
            demo.join("customers.csv").to_str().expect("utf-8"),
            scheme.to_str().expect("utf-8"),
        ),
    )
    .expect("config");
    let server = serve(&db, Some(&config));
    let (status, list) = request(&server.address, "GET", "/api/schedules", &admin, None);
    assert_eq!(status, 200, "{list}");
    let list: serde_json::Value = serde_json::from_str(&list).expect("schedules");
    let next = list[0]["next"].as_str().expect("next").to_string();
    assert!(next.contains("-01T02:00:00"), "the 1st at 02:00: {next}");
    let (status, job) = request(
        &server.address,
        "POST",
        "/api/schedules/monthly/run",
        &admin,
        None,
    );
    assert_eq!(status, 202, "{job}");
    let job: serde_json::Value = serde_json::from_str(&job).expect("job");
    assert_eq!(job["started_by"], "ada");
    let id = job["id"].as_u64().expect("id");
    let done = finished(&server, &admin, id);
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["run"], 2);
    let (status, _) = request(
        &server.address,
        "POST",
        "/api/schedules/nope/run",
        &admin,
        None,
    );
    assert_eq!(status, 404);
    // a config with a bad pattern does not start
    std::fs::write(
        &config,
        "[[schedules]]\nname = \"x\"\ncron = \"every month\"\ntransactions = \"t.csv\"\n",
    )
    .expect("config");
    let bad = stratum(
        &[
            "serve",
            "--db",
            db_text,
            "--bind",
            "127.0.0.1:0",
            "--config",
            config.to_str().expect("utf-8"),
        ],
        dir,
    );
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(bad.stderr.contains("schedule `x`"), "{}", bad.stderr);
}
