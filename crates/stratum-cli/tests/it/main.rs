//! stratum-cli integration tests: the binary run as a user runs it, whole outputs snapshotted.

mod cluster;
mod clv;
mod engine_trust;
mod errors;
mod exports;
mod funnel;
mod history;
mod preview;
mod pushdown;
mod report;
mod review;
mod scheme;
mod segment;
mod serve;
mod text;
mod trust;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The output of one run, with temp paths replaced by `[TMP]` and the fixture folder by
/// `[FIXTURES]`.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../stratum-io/tests/fixtures")
        .join(name)
}

/// A fixture of the CLI tests.
pub fn test_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn stratum(args: &[&str], tmp: &Path) -> Run {
    stratum_env(args, tmp, &[])
}

/// [`stratum`] with `vars` set in its environment.
pub fn stratum_env(args: &[&str], tmp: &Path, vars: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_stratum"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("STRATUM_SOURCE")
        .envs(vars.iter().copied())
        .output()
        .expect("run stratum");
    let clean = |b: &[u8]| {
        let fixtures = fixture("");
        String::from_utf8_lossy(b)
            .replace(&tmp.display().to_string(), "[TMP]")
            .replace(&test_fixture("").display().to_string(), "[CLI_FIXTURES]/")
            .replace("[CLI_FIXTURES]//", "[CLI_FIXTURES]/")
            .replace(&fixtures.display().to_string(), "[FIXTURES]/")
            .replace("[FIXTURES]//", "[FIXTURES]/")
    };
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: clean(&out.stdout),
        stderr: clean(&out.stderr),
    }
}

/// `stratum segment -t INPUT -o OUT EXTRA…`.
pub fn segment(input: &str, out: &Path, extra: &[&str], tmp: &Path) -> Run {
    let out = out.to_str().expect("utf-8 path");
    let mut args = vec!["segment", "-t", input, "-o", out];
    args.extend_from_slice(extra);
    stratum(&args, tmp)
}

/// A path as the `&str` a command line takes.
pub fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `quality.json` of a finished run in `out`.
pub fn quality_json(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("quality.json")).expect("quality.json");
    serde_json::from_str(&text).expect("json")
}

/// The columns `names` of every row of the CSV file `path`.
pub fn csv_columns(path: &Path, names: &[&str]) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(path).expect("csv file");
    let header = reader.headers().expect("header").clone();
    let at: Vec<usize> = names
        .iter()
        .map(|n| header.iter().position(|h| h == *n).expect(n))
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            at.iter().map(|&i| r[i].to_string()).collect()
        })
        .collect()
}
