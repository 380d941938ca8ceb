//! `stratum report` and the workbook: the report's structure on demo data, the workbook read
//! back with calamine.

use std::path::Path;

use crate::stratum;

/// A seeded demo data set with a scheme run: `demo --segment` writes the report.
fn demo(dir: &Path, lang: &str, tmp: &Path) {
    let scheme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemes/b2b.toml");
    let run = stratum(
        &[
            "demo",
            "--out",
            dir.to_str().expect("path"),
            "--customers",
            "400",
            "--transactions",
            "8000",
            "--seed",
            "7",
            "--segment",
            "--scheme",
            scheme.to_str().expect("path"),
            "--lang",
            lang,
        ],
        tmp,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// The text of an HTML report, one line per heading, paragraph, figure, caption, list item
/// and table row (cells joined by `|`); each chart as its title and shape count.
fn outline(html: &str) -> String {
    // the style sheet is not content
    let html = match (html.find("<style>"), html.find("</style>")) {
        (Some(a), Some(b)) => format!("{}{}", &html[..a], &html[b + 8..]),
        _ => html.to_string(),
    };
    let mut out = String::new();
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<svg") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("</svg>")
            .map_or(rest.len(), |e| start + e + 6);
        let svg = &rest[start..end];
        let title = svg
            .split_once("<title>")
            .and_then(|(_, t)| t.split_once("</title>"))
            .map_or("", |(t, _)| t);
        let shapes = svg.matches("<rect").count() + svg.matches("<path").count();
        out.push_str(&format!("[chart: {title}; {shapes} shapes]\n"));
        // the numbers the chart draws: its labels, and each shape's tooltip
        let inner = |tag: &str| -> Vec<String> {
            let open = format!("<{tag}");
            let close = format!("</{tag}>");
            svg.split(open.as_str())
                .skip(1)
                .filter_map(|piece| {
                    let (_, after) = piece.split_once('>')?;
                    let (value, _) = after.split_once(close.as_str())?;
                    Some(value.to_string())
                })
                .collect()
        };
        let tips = inner("title");
        for (what, values) in [
            ("labels", inner("text")),
            ("tips", tips[1.min(tips.len())..].to_vec()),
        ] {
            if !values.is_empty() {
                out.push_str(&format!("[{what}: {}]\n", values.join(" | ")));
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    let mut text = String::new();
    let mut tags = out.split('<');
    text.push_str(tags.next().unwrap_or(""));
    for piece in tags {
        let (tag, after) = piece.split_once('>').unwrap_or((piece, ""));
        let name = tag.split_whitespace().next().unwrap_or("");
        match name {
            "/h1" | "/h2" | "/h3" | "/p" | "/li" | "/figcaption" | "/tr" | "/header"
            | "/footer" | "/nav" => text.push('\n'),
            "h2" => text.push_str("\n## "),
            "h3" => text.push_str("### "),
            "li" => text.push_str("* "),
            "td" | "th" => text.push_str("| "),
            "/td" | "/th" | "/a" => text.push(' '),
            "title" => text.push_str("<title> "),
            "div" if tag.contains("class=\"figure\"") => text.push_str("\n- "),
            "div" if tag.contains("class=\"value\"") => text.push_str(": "),
            "div" if tag.contains("class=\"note\"") => text.push_str(" · "),
            _ => {}
        }
        text.push_str(after);
    }
    text.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_report_on_demo_data_has_every_section() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("demo");
    demo(&dir, "en", tmp.path());
    let html = std::fs::read_to_string(dir.join("result/report.html")).expect("report.html");
    // self-contained: no scripts, nothing fetched
    assert!(html.starts_with("<!DOCTYPE html>"));
    for outside in ["<script", "src=\"http", "href=\"http", "@import", "url("] {
        assert!(
            !html.contains(outside),
            "the report refers outside: {outside}"
        );
    }
    insta::assert_snapshot!(outline(&html));
}

#[test]
fn the_chinese_report_groups_large_amounts_in_wan() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("demo");
    demo(&dir, "zh", tmp.path());
    let html = std::fs::read_to_string(dir.join("result/report.html")).expect("report.html");
    let text = outline(&html);
    assert!(html.contains("<html lang=\"zh-CN\">"));
    for heading in [
        "## 概览",
        "## 价值集中度（帕累托 / ABC）",
        "## RFM 分析",
        "## 分级方案与服务策略",
        "## 客户生命周期价值与流失风险",
        "## 分群验证",
        "## R、F、M 的分布",
    ] {
        assert!(text.contains(heading), "no {heading} in\n{text}");
    }
    // the net revenue as 万 or 亿, the class labels and strategies in Chinese
    let revenue = text
        .lines()
        .find(|l| l.starts_with("- 净收入: "))
        .expect("net revenue figure");
    assert!(
        revenue.contains("万 ·") || revenue.contains("亿 ·"),
        "{revenue}"
    );
    assert!(text.contains("| 重要价值客户 |"));
    assert!(text.contains("重点保持：VIP 专属服务"));
}

#[test]
fn the_report_command_writes_the_segment_files_and_the_report() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let run = stratum(
        &[
            "demo",
            "--out",
            data.to_str().expect("path"),
            "--customers",
            "200",
            "--transactions",
            "3000",
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = tmp.path().join("out");
    let transactions = data.join("transactions.csv");
    // `command -t transactions -o out extra…`, which must succeed
    let run_ok = |command: &str, extra: &[&str]| {
        let mut args = vec![
            command,
            "-t",
            transactions.to_str().expect("path"),
            "-o",
            out.to_str().expect("path"),
        ];
        args.extend_from_slice(extra);
        let run = stratum(&args, tmp.path());
        assert_eq!(run.code, 0, "{}", run.stderr);
        run
    };
    let report_text =
        || outline(&std::fs::read_to_string(out.join("report.html")).expect("report"));
    let run = run_ok("report", &["--currency", "$"]);
    assert!(run.stderr.contains("clv.csv"), "{}", run.stderr);
    assert!(run.stderr.contains("report.html"), "{}", run.stderr);
    let text = report_text();
    // no scheme: no tiers section; the CLV section by RFM class; amounts with the symbol
    assert!(!text.contains("## Tiers and service strategies"));
    assert!(text.contains("## Lifetime value and churn risk"));
    assert!(text.contains("### Churn risk by RFM class"));
    assert!(text.contains("\n- net revenue: $"), "{text}");
    // the currency from the config file, with segment --report
    let config = tmp.path().join("stratum.toml");
    std::fs::write(&config, "[output]\ncurrency = \"€\"\n").expect("config");
    run_ok(
        "segment",
        &["--report", "--config", config.to_str().expect("path")],
    );
    let text = report_text();
    assert!(text.contains("\n- net revenue: €"), "{text}");
    // no --clv: no lifetime-value section
    assert!(!text.contains("## Lifetime value and churn risk"));
    // segment without --report writes none, and removes an earlier one
    run_ok("segment", &[]);
    assert!(!out.join("report.html").exists());
}

/// The index of the column headed `name` in a sheet.
fn column(sheet: &calamine::Range<calamine::Data>, name: &str) -> usize {
    sheet
        .rows()
        .next()
        .and_then(|h| {
            h.iter()
                .position(|c| *c == calamine::Data::String(name.into()))
        })
        .unwrap_or_else(|| panic!("no column {name}"))
}

#[test]
fn the_workbook_has_a_summary_with_native_charts_and_typed_sheets() {
    use calamine::{Data, Reader, open_workbook_auto};
    use std::io::Read;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("demo");
    demo(&dir, "en", tmp.path());
    let path = dir.join("result/stratum.xlsx");
    let mut book = open_workbook_auto(&path).expect("open workbook");
    let names = book.sheet_names();
    assert_eq!(
        names[..5],
        ["summary", "customers", "segments", "tiers", "clv"],
        "{names:?}"
    );
    assert_eq!(names[names.len() - 2..], ["quality", "rejects"]);
    // one action list per account manager between them, as in actions.xlsx
    let actions = open_workbook_auto(dir.join("result/actions.xlsx"))
        .expect("actions.xlsx")
        .sheet_names();
    assert_eq!(names[5..names.len() - 2], actions[..]);

    // the summary: labels beside typed values
    let summary = book.worksheet_range("summary").expect("summary");
    let value_of = |label: &str| -> Data {
        summary
            .rows()
            .find(|r| r.first() == Some(&Data::String(label.into())))
            .and_then(|r| r.get(1).cloned())
            .unwrap_or_else(|| panic!("no {label} on the summary sheet"))
    };
    // the figures are the run's, as quality.json has them
    let q = crate::quality_json(&dir.join("result"));
    assert_eq!(value_of("customers scored"), Data::Float(400.0));
    assert_eq!(q["customers"], 400);
    let Data::Float(revenue) = value_of("net revenue") else {
        panic!("net revenue is not a number")
    };
    assert_eq!(Some(revenue), q["scored_revenue"].as_f64());
    let Data::DateTime(as_of) = value_of("as-of date") else {
        panic!("the as-of date is not a date cell")
    };
    assert_eq!(as_of.to_ymd_hms_milli().0, 2026);
    let Data::Float(top20) = value_of("revenue share of the top 20%") else {
        panic!("the top-20% share is not a number")
    };
    assert_eq!(Some(top20), q["pareto"]["top20_revenue_share"].as_f64());
    // the customers sheet agrees with customers.csv, row by row
    let customers = book.worksheet_range("customers").expect("customers");
    let mut csv = csv::Reader::from_path(dir.join("result/customers.csv")).expect("csv");
    let monetary = column(&customers, "monetary");
    let mut rows = 0;
    for (sheet, file) in customers.rows().skip(1).zip(csv.records()) {
        let file = file.expect("record");
        assert_eq!(sheet[0], Data::String(file[0].to_string()));
        assert_eq!(
            sheet[monetary],
            Data::Float(file[monetary].parse().expect("monetary"))
        );
        rows += 1;
    }
    assert_eq!((rows, customers.height()), (400, 401));
    // the clv sheet: numbers, not text
    let clv = book.worksheet_range("clv").expect("clv");
    let p_alive = column(&clv, "p_alive");
    assert!(
        matches!(clv.rows().nth(1).expect("row")[p_alive], Data::Float(p) if (0.0..=1.0).contains(&p))
    );
    // the tiers sheet: due dates are dates
    let tiers = book.worksheet_range("tiers").expect("tiers");
    let due = column(&tiers, "next_action_due");
    assert!(
        tiers
            .rows()
            .skip(1)
            .any(|r| matches!(r[due], Data::DateTime(_)))
    );

    // native charts on the summary sheet: the Pareto curve, classes, segments, tiers, churn
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).expect("open")).expect("zip");
    let mut charts: Vec<String> = (0..zip.len())
        .filter_map(|i| {
            zip.by_index(i)
                .ok()
                .and_then(|f| f.name().ok().map(|n| n.to_string()))
        })
        .filter(|n| n.starts_with("xl/charts/chart"))
        .collect();
    charts.sort();
    assert_eq!(charts.len(), 5, "{charts:?}");
    let mut xml = String::new();
    zip.by_name("xl/charts/chart1.xml")
        .expect("chart1")
        .read_to_string(&mut xml)
        .expect("read");
    assert!(
        xml.contains("<c:scatterChart>"),
        "the first chart is not the Pareto curve"
    );
    assert!(
        xml.contains("summary!$B$"),
        "the curve does not read the summary sheet"
    );
}

#[test]
fn the_report_lists_the_rejected_rows_by_reason() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let run = stratum(
        &[
            "report",
            "-t",
            crate::fixture("bad_rows.csv").to_str().expect("path"),
            "-o",
            out.to_str().expect("path"),
            "--max-reject-rate",
            "100%",
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // too few customers for the lifetime-value model: a warning, and no CLV section
    assert!(
        run.stderr.contains("warning: no lifetime value"),
        "{}",
        run.stderr
    );
    let text = outline(&std::fs::read_to_string(out.join("report.html")).expect("report"));
    assert!(!text.contains("## Lifetime value"));
    let quality: String = text
        .lines()
        .skip_while(|l| *l != "### Data quality")
        .take_while(|l| !l.starts_with("## "))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(quality);
}

/// The rows of a CSV file as maps from header to value.
fn csv_rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).expect("csv");
    let header = reader.headers().expect("header").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            header
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn the_b2b_scheme_and_the_report_agree_on_the_high_value_customers_at_risk() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("demo");
    demo(&dir, "en", tmp.path());
    let customers = csv_rows(&dir.join("result/customers.csv"));
    let tiers = csv_rows(&dir.join("result/tiers.csv"));
    assert_eq!(customers.len(), tiers.len());
    let class: std::collections::HashMap<&str, (&str, i64, f64)> = customers
        .iter()
        .map(|c| {
            (
                c["customer_id"].as_str(),
                (
                    c["abc_class"].as_str(),
                    c["recency_days"].parse().expect("recency"),
                    c["monetary"].parse().expect("monetary"),
                ),
            )
        })
        .collect();
    // the documented definition, evaluated here from the files: high value by past revenue
    // (class A) or by the last 12 months (strategic, key), in churn warning or churned
    let mut at_risk = Vec::new();
    let mut class_a_churned = 0;
    for t in &tiers {
        let id = t["customer_id"].as_str();
        let (abc, recency, monetary) = class[id];
        let high_value = abc == "A" || ["strategic", "key"].contains(&t["value"].as_str());
        let lapsing = ["churn_warning", "churned"].contains(&t["stage"].as_str());
        assert_eq!(
            t["final_tier"] == "vip_at_risk",
            high_value && lapsing,
            "{t:?}"
        );
        if t["final_tier"] == "vip_at_risk" {
            at_risk.push((id, monetary));
        }
        // dormant: no order for more than 365 days, and never a class A customer
        if t["final_tier"] == "dormant" {
            assert!(abc != "A" && recency > 365, "{t:?} {abc} {recency}");
        }
        if abc == "A" && t["stage"] == "churned" {
            class_a_churned += 1;
        }
    }
    // the data hold the case the old rule missed: class A customers gone for over a year
    assert!(class_a_churned > 0, "no class A customer has churned");
    // the report lists the same customers, by past revenue, highest first
    at_risk.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let text = outline(&std::fs::read_to_string(dir.join("result/report.html")).expect("html"));
    let shown = at_risk.len().min(20);
    let heading = format!(
        "### High-value customers at risk ({} customers, top {shown})",
        at_risk.len()
    );
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == heading)
        .unwrap_or_else(|| panic!("no `{heading}` in\n{text}"));
    let listed: Vec<&str> = lines[at + 2..at + 2 + shown]
        .iter()
        .map(|l| l.trim_start_matches("| ").split(' ').next().expect("id"))
        .collect();
    let expected: Vec<&str> = at_risk.iter().take(shown).map(|(id, _)| *id).collect();
    assert_eq!(listed, expected);
    assert!(
        lines[at + 2 + shown].starts_with("* Every customer of the scheme's tier \"High value at risk\" (rule: (abc_class = 'A' OR value IN ('strategic', 'key')) AND stage IN ('churn_warning', 'churned'))"),
        "{}",
        lines[at + 2 + shown]
    );
}

#[test]
fn in_chinese_the_workbook_and_the_report_have_chinese_headers() {
    use calamine::{Reader, open_workbook_auto};
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("demo");
    demo(&dir, "zh", tmp.path());
    let mut book = open_workbook_auto(dir.join("result/stratum.xlsx")).expect("open workbook");
    let mut headers = String::new();
    for sheet in ["客户", "分群", "等级", "客户价值", "拒绝行"] {
        let range = book.worksheet_range(sheet).expect(sheet);
        let header: Vec<String> = range
            .rows()
            .next()
            .expect("header")
            .iter()
            .map(|c| c.to_string())
            .collect();
        headers.push_str(&format!("{sheet}: {}\n", header.join(" | ")));
    }
    // the report's tables: every header row, once
    let text = outline(&std::fs::read_to_string(dir.join("result/report.html")).expect("html"));
    let mut seen = std::collections::BTreeSet::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        // a header row is the first row of a table: the line after a heading or text
        let first_row = i > 0 && !lines[i - 1].starts_with('|');
        if line.starts_with('|') && first_row && seen.insert(line.to_string()) {
            headers.push_str(&format!("report: {line}\n"));
        }
    }
    insta::assert_snapshot!(headers);
    // the CSV files keep the codes
    let csv = std::fs::read_to_string(dir.join("result/customers.csv")).expect("csv");
    assert!(csv.starts_with("customer_id,first_order_date,"), "{csv}");
}

#[test]
fn without_the_model_the_schemes_at_risk_list_is_in_the_tiers_section() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let run = stratum(
        &[
            "demo",
            "--out",
            data.to_str().expect("path"),
            "--customers",
            "400",
            "--transactions",
            "8000",
            "--seed",
            "7",
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let scheme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemes/b2b.toml");
    let out = tmp.path().join("out");
    let run = stratum(
        &[
            "segment",
            "-t",
            data.join("transactions.csv").to_str().expect("path"),
            "-c",
            data.join("customers.csv").to_str().expect("path"),
            "--scheme",
            scheme.to_str().expect("path"),
            "--report",
            "-o",
            out.to_str().expect("path"),
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = outline(&std::fs::read_to_string(out.join("report.html")).expect("report"));
    assert!(!text.contains("## Lifetime value and churn risk"));
    // the list sits in the tiers section, before the next one, with its members counted
    let tiers = text
        .split("\n## ")
        .find(|s| s.starts_with("Tiers and service strategies"))
        .expect("tiers section");
    let members = csv_rows(&out.join("tiers.csv"))
        .iter()
        .filter(|t| t["final_tier"] == "vip_at_risk")
        .count();
    assert!(members > 0);
    let heading = format!(
        "### High-value customers at risk ({members} customers, top {})",
        members.min(20)
    );
    assert!(tiers.contains(&heading), "no `{heading}` in\n{tiers}");
    // without the model, no P(alive) and CLV columns
    assert!(
        tiers.contains("| customer | RFM class | monetary | last order | days since | Service tier | account manager"),
        "{tiers}"
    );
}
