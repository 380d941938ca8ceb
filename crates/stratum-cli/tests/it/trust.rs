//! Nothing a user gave is lost or touched, outputs are complete or clearly not, and every
//! failure has its exit code: the promises of the output folder, tested as a user meets them.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{fixture, segment, stratum, test_fixture};

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in fs::read_dir(dir).expect("list") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("inside").to_path_buf();
                out.insert(rel, fs::read(&path).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The relative paths of the files under `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    snapshot(dir)
        .keys()
        .map(|p| p.display().to_string())
        .collect()
}

/// Whether `dir` holds a complete run: its manifest says so and every file it lists has the
/// size and SHA-256 it records.
fn is_complete_run(dir: &Path) -> bool {
    let Ok(text) = fs::read_to_string(dir.join("manifest.json")) else {
        return false;
    };
    let manifest: serde_json::Value = serde_json::from_str(&text).expect("manifest is JSON");
    if manifest["status"] != "complete" {
        return false;
    }
    manifest["outputs"]
        .as_array()
        .expect("outputs")
        .iter()
        .all(|o| {
            let path = dir.join(o["path"].as_str().expect("path"));
            let digest = stratum_io::publish::digest_file(&path);
            digest.is_ok_and(|d| {
                Some(d.size) == o["size"].as_u64()
                    && Some(d.sha256.as_str()) == o["sha256"].as_str()
            })
        })
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn an_output_folder_that_holds_the_inputs_is_refused_before_anything_is_touched() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("d");
    fs::create_dir(&d).expect("mkdir");
    fs::copy(fixture("hand.csv"), d.join("transactions.csv")).expect("copy");
    fs::copy(test_fixture("hand_master.csv"), d.join("customers.csv")).expect("copy");
    let before = snapshot(&d);
    let run = stratum(
        &[
            "segment",
            "-t",
            s(&d.join("transactions.csv")),
            "-c",
            s(&d.join("customers.csv")),
            "-o",
            s(&d),
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!(run.stderr, @"error: the output `[TMP]/d/customers.csv` would replace the input `[TMP]/d/customers.csv`; choose another --out folder");
    assert_eq!(snapshot(&d), before, "the inputs are as they were");
    // the output file given as the folder
    let run = segment(
        s(&d.join("transactions.csv")),
        &d.join("transactions.csv"),
        &[],
        tmp.path(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(snapshot(&d), before);
}

#[test]
fn an_input_written_by_an_earlier_run_in_the_output_folder_is_not_removed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("demo");
    let run = stratum(
        &[
            "demo",
            "--out",
            s(&d),
            "--customers",
            "50",
            "--transactions",
            "500",
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let before = snapshot(&d);
    // segment's outputs in the demo folder would replace the demo's transactions.csv
    let run = segment(s(&d.join("transactions.csv")), &d, &[], tmp.path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!(run.stderr, @"error: the input `[TMP]/demo/transactions.csv` is in the output folder `[TMP]/demo`, where an earlier Stratum run wrote it; this run would replace or remove it, so choose another --out folder (or copy the input elsewhere)");
    assert_eq!(snapshot(&d), before);
}

#[test]
fn files_of_the_users_stay_and_outputs_of_another_kind_of_run_go() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let (master, scheme) = (
        test_fixture("hand_master.csv"),
        test_fixture("hand_scheme.toml"),
    );
    let scheme_run = |extra: &[&str]| {
        let mut args = vec!["-c", s(&master), "--scheme", s(&scheme), "--no-xlsx"];
        args.extend_from_slice(extra);
        let run = segment(
            fixture("hand.csv").to_str().expect("path"),
            &out,
            &args,
            tmp.path(),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    };
    scheme_run(&[]);
    assert!(out.join("actions/张伟.csv").exists() && out.join("tiers.csv").exists());
    // the user's own files, beside the outputs and among the action lists
    fs::write(out.join("notes.txt"), "my notes").expect("write");
    fs::write(out.join("actions/my list.csv"), "mine").expect("write");
    // a plain run: no scheme, so no tiers, no action lists
    let run = segment(
        fixture("hand.csv").to_str().expect("path"),
        &out,
        &["--no-xlsx"],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        names(&out),
        [
            "actions/my list.csv",
            "customers.csv",
            "manifest.json",
            "notes.txt",
            "quality.json",
            "rejects.csv",
            "segments.csv",
            "unscored.csv",
            "validation.csv",
            "validation.json",
            "validation_tests.csv",
        ]
    );
    assert!(is_complete_run(&out));
    assert_eq!(fs::read(out.join("notes.txt")).expect("read"), b"my notes");
    // an output file the user put in place of one of ours is never replaced
    scheme_run(&[]);
    fs::remove_file(out.join("manifest.json")).expect("remove");
    let before = snapshot(&out);
    let run = segment(
        fixture("hand.csv").to_str().expect("path"),
        &out,
        &["--no-xlsx"],
        tmp.path(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!(run.stderr, @"error: `[TMP]/out/rejects.csv` exists and was not written by Stratum (the folder's manifest.json does not list it); move it away or choose another --out folder");
    assert_eq!(snapshot(&out), before);
}

#[cfg(unix)]
#[test]
fn a_folder_behind_a_symbolic_link_keeps_the_files_stratum_did_not_write() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let real = tmp.path().join("shared");
    fs::create_dir(&real).expect("mkdir");
    fs::write(real.join("customers.csv"), "the user's own list").expect("write");
    let link = tmp.path().join("out");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let run = segment(
        fixture("hand.csv").to_str().expect("path"),
        &link,
        &["--no-xlsx"],
        tmp.path(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        fs::read_to_string(real.join("customers.csv")).expect("read"),
        "the user's own list"
    );
    // an action-list folder that is a link to somewhere else is not written through
    fs::remove_file(real.join("customers.csv")).expect("remove");
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir(&elsewhere).expect("mkdir");
    std::os::unix::fs::symlink(&elsewhere, real.join("actions")).expect("symlink");
    let run = segment(
        fixture("hand.csv").to_str().expect("path"),
        &link,
        &[
            "-c",
            test_fixture("hand_master.csv").to_str().expect("path"),
            "--scheme",
            test_fixture("hand_scheme.toml").to_str().expect("path"),
            "--no-xlsx",
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("is a symbolic link"), "{}", run.stderr);
    assert_eq!(fs::read_dir(&elsewhere).expect("list").count(), 0);
}

#[test]
fn a_failed_run_leaves_the_previous_complete_outputs_as_they_were() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let run = segment(
        fixture("hand.csv").to_str().expect("path"),
        &out,
        &[],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let before = snapshot(&out);
    assert!(is_complete_run(&out));
    let run = segment(
        fixture("bad_rows.csv").to_str().expect("path"),
        &out,
        &[],
        tmp.path(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(snapshot(&out), before, "the previous run is untouched");
    let failed = tmp.path().join("out.failed");
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(failed.join("manifest.json")).expect("read"))
            .expect("json");
    assert_eq!(manifest["status"], "failed");
    assert_eq!(
        names(&failed),
        ["manifest.json", "quality.json", "rejects.csv"]
    );
    // no staging folder is left behind
    let mut left: Vec<String> = fs::read_dir(tmp.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["out", "out.failed"]);
}

#[test]
fn the_manifest_lists_every_input_and_output_with_its_digest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let input = fixture("hand.csv");
    let run = segment(s(&input), &out, &["--no-xlsx"], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(is_complete_run(&out));
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("manifest.json")).expect("read"))
            .expect("json");
    let inputs = manifest["inputs"].as_array().expect("inputs");
    assert_eq!(inputs.len(), 1);
    let bytes = fs::read(&input).expect("read");
    assert_eq!(inputs[0]["role"], "transactions");
    assert_eq!(inputs[0]["size"], bytes.len() as u64);
    assert_eq!(
        inputs[0]["sha256"],
        stratum_io::publish::digest_file(&input)
            .expect("digest")
            .sha256
    );
    assert_eq!(inputs[0]["rows"]["rows_read"], 20);
    assert_eq!(inputs[0]["rows"]["duplicates"], 1);
    let customers = manifest["outputs"]
        .as_array()
        .expect("outputs")
        .iter()
        .find(|o| o["path"] == "customers.csv")
        .expect("customers.csv listed");
    // every customer of the hand-made file: C01 … C10
    assert_eq!(customers["rows"], 10);
    assert_eq!(manifest["command"][1], "segment");
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
}

/// The engine hashes a CSV file as it reads it: the manifest's digest is the whole file's,
/// what comes before the data (a byte-order mark, the header) included, in every encoding
/// and with blanks as the delimiter.
#[test]
fn the_manifest_digests_the_whole_transactions_file_in_every_encoding() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let text = fs::read_to_string(fixture("hand.csv")).expect("read");
    let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
    let chinese = text.replacen("customer_id", "客户编号", 1);
    let (gb, _, _) = encoding_rs::GB18030.encode(&chinese);
    let blanks = "customer_id  order_id\torder_date amount\nC01 o1  2025-06-25 10\nC02\to2 2025-06-26   20.5\n";
    let cases: [(&str, &[u8], &[&str], u64); 3] = [
        ("bom.csv", &bom, &[], 20),
        ("gb.csv", &gb, &["--map", "customer_id=客户编号"], 20),
        (
            "blanks.txt",
            blanks.as_bytes(),
            &["--delimiter", "whitespace"],
            2,
        ),
    ];
    for (name, bytes, flags, rows) in cases {
        let input = tmp.path().join(name);
        fs::write(&input, bytes).expect("write");
        let out = tmp.path().join(format!("out-{name}"));
        let args = [["--no-xlsx"].as_slice(), flags].concat();
        let run = segment(s(&input), &out, &args, tmp.path());
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        let manifest: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(out.join("manifest.json")).expect("read"))
                .expect("json");
        let listed = &manifest["inputs"][0];
        let whole = stratum_io::publish::digest_file(&input).expect("digest");
        assert_eq!(listed["size"], bytes.len() as u64, "{name}");
        assert_eq!(listed["sha256"], whole.sha256, "{name}");
        assert_eq!(listed["rows"]["rows_read"], rows, "{name}");
    }
}

/// `kill -9` in the middle of a large run: the folder holds the previous complete run, and the
/// next run succeeds and cleans up.
#[cfg(unix)]
#[test]
fn a_killed_run_leaves_the_previous_run_and_the_next_run_succeeds() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let run = stratum(
        &[
            "demo",
            "--out",
            s(&data),
            "--customers",
            "20000",
            "--transactions",
            "400000",
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = tmp.path().join("out");
    let transactions = data.join("transactions.csv");
    let first = segment(s(&transactions), &out, &["--no-xlsx"], tmp.path());
    assert_eq!(first.code, 0, "{}", first.stderr);
    let before = snapshot(&out);
    for delay_ms in [50u64, 400, 1500] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stratum"))
            .args(["segment", "-t", s(&transactions), "-o", s(&out)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        // wait until the run writes, then a little more
        let started = Instant::now();
        while staging_folders(tmp.path()).is_empty() && started.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("kill -9");
        child.wait().expect("wait");
        // either the previous run, untouched, or (had it finished first) the new complete one
        let now = snapshot(&out);
        assert!(
            now == before || is_complete_run(&out),
            "after {delay_ms} ms: neither the previous run nor a complete one"
        );
    }
    let again = segment(s(&transactions), &out, &["--no-xlsx"], tmp.path());
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(is_complete_run(&out));
    assert_eq!(
        staging_folders(tmp.path()),
        Vec::<String>::new(),
        "the killed runs' staging folders are cleaned up"
    );
}

fn staging_folders(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".out.stratum-"))
        .collect()
}

/// A full disk (here: a file-size limit, which fails writes the same way) while the workbook is
/// written ends the run with exit 2 and the OS error; before, the workbook's writer thread
/// panicked and blocked on the standard error lock the main thread held, for ever.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_while_the_workbook_is_written_ends_the_run_with_exit_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let run = stratum(
        &[
            "demo",
            "--out",
            s(&data),
            "--customers",
            "20000",
            "--transactions",
            "60000",
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = tmp.path().join("out");
    // every CSV output fits in 8 MiB; the workbook's customers sheet does not
    let script = format!(
        "trap '' XFSZ; ulimit -f 16384; exec '{}' segment -t '{}' -o '{}'",
        env!("CARGO_BIN_EXE_stratum"),
        s(&data.join("transactions.csv")),
        s(&out)
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            panic!("the run hung after the write failure");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read");
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out.exists(), "nothing half-written is published");
}

#[test]
fn every_command_exits_1_on_usage_errors_and_bad_input_and_0_on_help() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("missing.csv");
    let out = tmp.path().join("out");
    let store = tmp.path().join("stratum.db");
    let commands: [&[&str]; 8] = [
        &["demo", "--out", s(&out)],
        &["segment", "-t", s(&missing), "-o", s(&out)],
        &["report", "-t", s(&missing), "-o", s(&out)],
        &["check", s(&missing)],
        &["clv", "-t", s(&missing), "-o", s(&out)],
        &["cluster", "-t", s(&missing), "-o", s(&out)],
        &["validate", "-t", s(&missing), "-o", s(&out)],
        &["preview", "--scheme", s(&missing), "--db", s(&store)],
    ];
    for args in commands {
        let name = args[0];
        let mut unknown = args.to_vec();
        unknown.push("--no-such-flag");
        assert_eq!(
            stratum(&unknown, tmp.path()).code,
            1,
            "{name} --no-such-flag"
        );
        assert_eq!(
            stratum(&[name, "--help"], tmp.path()).code,
            0,
            "{name} --help"
        );
        if name != "demo" {
            let run = stratum(args, tmp.path());
            assert_eq!(run.code, 1, "{name} with a missing input: {}", run.stderr);
        }
    }
    assert_eq!(stratum(&[], tmp.path()).code, 1, "no command");
    assert_eq!(stratum(&["--version"], tmp.path()).code, 0);
    assert_eq!(
        stratum(&["demo", "--customers", "many"], tmp.path()).code,
        1
    );
}

#[test]
fn a_scheme_or_config_file_that_is_not_utf8_is_bad_input_with_its_place() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let scheme = tmp.path().join("gbk.toml");
    // 战 in GBK (D5 BD) happens to be valid UTF-8; 略 (C2 D4) is not
    let (text, _, _) = encoding_rs::GBK.encode("name = \"b2b\"\n# 战略客户\n");
    fs::write(&scheme, &text).expect("write");
    let run = stratum(&["check", s(&scheme)], tmp.path());
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stderr, @"error: the scheme `[TMP]/gbk.toml` is not UTF-8: byte 0xC2 at line 2, column 4; save it as UTF-8");
    let run = segment(
        fixture("hand.csv").to_str().expect("path"),
        &tmp.path().join("out"),
        &["--config", s(&scheme)],
        tmp.path(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error: the config file"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_master_file_with_mostly_rejected_rows_fails_the_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let master = tmp.path().join("master.csv");
    fs::write(
        &master,
        "customer_id,name\nC01,甲公司\n,乙公司\n,丙公司\nC01,丁公司\n",
    )
    .expect("write");
    let run = segment(
        fixture("hand.csv").to_str().expect("path"),
        &tmp.path().join("out"),
        &["-c", s(&master)],
        tmp.path(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let error = run.stderr.lines().rev().nth(1).unwrap_or_default();
    insta::assert_snapshot!(error, @"error: 75.0% of the rows of `[TMP]/master.csv` were rejected (3 of 4), more than the allowed 5.0% (--max-reject-rate); see `[TMP]/out.failed/rejects.csv`");
}

#[test]
fn text_a_spreadsheet_would_run_is_written_as_text_in_every_csv() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let master = tmp.path().join("master.csv");
    fs::write(
        &master,
        "customer_id,name,account_manager,industry\nC01,\"=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",@王芳,制造业\nC02,-2+3,+86 138,零售\nC03,-12.5,王芳,零售\n",
    )
    .expect("write");
    let scheme = test_fixture("hand_scheme.toml");
    let run_with = |out: &Path, extra: &[&str]| {
        let mut args = vec!["-c", s(&master), "--scheme", s(&scheme), "--no-xlsx"];
        args.extend_from_slice(extra);
        let run = segment(
            fixture("hand.csv").to_str().expect("path"),
            out,
            &args,
            tmp.path(),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    };
    let safe = tmp.path().join("safe");
    run_with(&safe, &[]);
    let customers = fs::read_to_string(safe.join("customers.csv")).expect("read");
    let names: Vec<&str> = customers
        .lines()
        .skip(1)
        .take(3)
        .map(|l| l.split(',').nth(20).unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        ["\"'=HYPERLINK(\"\"http://evil\"\"", "'-2+3", "-12.5"]
    );
    let list = fs::read_to_string(safe.join("actions/@王芳.csv")).expect("read");
    assert!(list.trim_end().ends_with(",'@王芳"), "{list}");
    let raw = tmp.path().join("raw");
    run_with(&raw, &["--csv-raw"]);
    let customers = fs::read_to_string(raw.join("customers.csv")).expect("read");
    assert!(customers.contains("\n\"C01\"") || customers.contains("\nC01,"));
    assert!(customers.contains(",-2+3,"), "{customers}");
    assert!(!customers.contains('\''), "{customers}");
}

#[test]
fn names_from_data_too_long_for_a_file_name_are_cut_and_kept_whole_inside() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let master = tmp.path().join("master.csv");
    let long = "客".repeat(84);
    fs::write(
        &master,
        format!("customer_id,account_manager,industry\nC01,{long},制造业\n"),
    )
    .expect("write");
    let out = tmp.path().join("out");
    let run = segment(
        fixture("hand.csv").to_str().expect("path"),
        &out,
        &[
            "-c",
            s(&master),
            "--scheme",
            test_fixture("hand_scheme.toml").to_str().expect("path"),
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let file = out.join(format!("actions/{}.csv", "客".repeat(38)));
    let list = fs::read_to_string(&file).expect("the list, under a shortened name");
    assert!(list.trim_end().ends_with(&format!(",{long}")), "{list}");
}

#[test]
fn the_report_escapes_text_from_the_data() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let master = tmp.path().join("master.csv");
    fs::write(
        &master,
        "customer_id,name,account_manager,industry\nC01,<script>alert(1)</script>,<img src=x onerror=alert(2)>,制造业\nC03,\"a & b\",王芳,零售\n",
    )
    .expect("write");
    let out = tmp.path().join("out");
    let run = stratum(
        &[
            "report",
            "-t",
            fixture("hand.csv").to_str().expect("path"),
            "-c",
            s(&master),
            "--scheme",
            test_fixture("hand_scheme.toml").to_str().expect("path"),
            "--no-xlsx",
            "-o",
            s(&out),
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let html = fs::read_to_string(out.join("report.html")).expect("read");
    assert!(
        html.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "the manager is shown, escaped"
    );
    assert!(!html.contains("<script") && !html.contains("<img"));
}

#[test]
fn every_command_writes_to_a_documented_default_folder_without_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let demo = Command::new(env!("CARGO_BIN_EXE_stratum"))
        .args(["demo", "--customer-count", "300", "--line-count", "4000"])
        .current_dir(tmp.path())
        .output()
        .expect("run");
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    assert!(is_complete_run(&tmp.path().join("demo")));
    for (command, folder) in [
        ("segment", "stratum-segment"),
        ("report", "stratum-report"),
        ("cluster", "stratum-cluster"),
        ("validate", "stratum-validate"),
        ("clv", "stratum-clv"),
    ] {
        let run = Command::new(env!("CARGO_BIN_EXE_stratum"))
            .args([command, "-t", "demo/transactions.csv"])
            .current_dir(tmp.path())
            .output()
            .expect("run");
        assert!(
            run.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(is_complete_run(&tmp.path().join(folder)), "{command}");
    }
}
