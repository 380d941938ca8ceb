//! `stratum validate`: do a segmentation's segments really differ?

use std::io::Write;

use anyhow::{Context, Result};
use stratum_core::scheme::ColumnData;
use stratum_core::validate::ValidateParams;
use stratum_io::output::Cell;
use stratum_io::validation::{TEST_COLUMNS, test_rows, write_tests_csv, write_validation_csv};

use super::prepare::{number_columns, prepare};
use super::segment::create;
use crate::BadInput;
use crate::cli::ValidateArgs;
use crate::settings::{input_settings, parse_cli_date, parse_rate};
use crate::terminal::table;

/// The output files.
pub const OUTPUT_FILES: [&str; 4] = [
    "rejects.csv",
    "validation.csv",
    "validation_tests.csv",
    "validation.json",
];

/// Runs `stratum validate`.
pub fn run(args: ValidateArgs) -> Result<()> {
    let ValidateArgs {
        transactions,
        customers,
        as_of,
        out,
        by,
        features,
        min_share,
        input,
    } = args;
    let input = input_settings(input)?;
    let lang = input.lang;
    let as_of = as_of.map(|d| parse_cli_date("--as-of", &d)).transpose()?;
    let min_share = parse_rate("--min-share", &min_share)?;
    let params = ValidateParams::new()
        .min_share(min_share)
        .check()
        .map_err(|e| BadInput(e.to_string()))?;
    for name in OUTPUT_FILES {
        let path = out.join(name);
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("failed to remove the earlier `{}`", path.display()))?;
        }
    }
    let prepared = prepare(&transactions, customers.as_deref(), &input, as_of, &out)?;
    let columns = number_columns(&prepared.profile, &features)?;
    let Some(ColumnData::Text(segments)) = prepared.profile.column(&by) else {
        let texts: Vec<&str> = prepared
            .profile
            .catalog()
            .names()
            .iter()
            .filter(|n| matches!(prepared.profile.column(n), Some(ColumnData::Text(_))))
            .map(String::as_str)
            .collect();
        return Err(BadInput(format!(
            "--by `{by}` is not a text column; the text columns are: {}",
            texts.join(", ")
        ))
        .into());
    };
    // segments in a stable order: the codes' natural order for the built-in ones, else sorted
    let mut names: Vec<String> = (0..segments.len())
        .filter_map(|i| segments.get(i).map(str::to_string))
        .collect();
    names.sort();
    names.dedup();
    if by == "rfm_class" {
        use stratum_core::Labelled;
        let order: Vec<&str> = stratum_core::RfmClass::ALL
            .iter()
            .map(|c| c.code())
            .collect();
        names.sort_by_key(|n| order.iter().position(|o| o == n));
    }
    let rows: Vec<usize> = (0..segments.len())
        .filter(|&i| segments.get(i).is_some())
        .collect();
    let labels: Vec<usize> = rows
        .iter()
        .filter_map(|&i| segments.get(i))
        .map(|s| names.iter().position(|n| n == s).unwrap_or(0))
        .collect();
    let cols: Vec<(String, Vec<Option<f64>>)> = columns
        .iter()
        .map(|(n, v)| (n.clone(), rows.iter().map(|&i| v[i]).collect()))
        .collect();
    let validation = params
        .validate(&labels, &names, &cols)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let all = [(by.as_str(), &validation)];
    let path = out.join("validation.csv");
    write_validation_csv(create(&path)?, &all)
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    let path = out.join("validation_tests.csv");
    write_tests_csv(create(&path)?, &all)
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    let path = out.join("validation.json");
    let mut w = create(&path)?;
    serde_json::to_writer_pretty(&mut w, &serde_json::json!({ by.as_str(): &validation }))
        .map_err(std::io::Error::from)
        .and_then(|_| w.write_all(b"\n"))
        .and_then(|_| w.flush())
        .with_context(|| format!("failed to write `{}`", path.display()))?;

    let mut stdout = std::io::stdout().lock();
    let seg_rows: Vec<Vec<String>> = validation
        .segments
        .iter()
        .map(|s| {
            let mut r = vec![
                s.name.clone(),
                Cell::Int(s.size as i64).display(),
                Cell::Share(s.share).display(),
            ];
            r.extend(s.features.iter().map(|d| Cell::Number(d.median).display()));
            r
        })
        .collect();
    let mut header = vec![
        by.clone(),
        lang.pick("客户数", "customers").to_string(),
        lang.pick("占比", "share").to_string(),
    ];
    header.extend(
        validation
            .features
            .iter()
            .map(|f| format!("{} {f}", lang.pick("中位数", "median"))),
    );
    let tests: Vec<Vec<String>> = test_rows(&by, &validation)
        .iter()
        .map(|r| r[1..].iter().map(Cell::display).collect())
        .collect();
    let _ = write!(
        stdout,
        "{}\n{}:\n{}\n",
        table(&header, &seg_rows),
        lang.pick(
            "各指标的差异检验",
            "do the segments differ? (Kruskal–Wallis, ANOVA)"
        ),
        table(
            &TEST_COLUMNS[1..]
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
            &tests
        )
    );
    let mut err = std::io::stderr().lock();
    for w in &validation.warnings {
        let _ = writeln!(
            err,
            "{} {}",
            lang.pick("验证提示：", "validation:"),
            w.text(lang)
        );
    }
    let _ = writeln!(
        err,
        "{} {}: {}",
        lang.pick("结果已写入", "wrote"),
        out.display(),
        OUTPUT_FILES.join(", ")
    );
    Ok(())
}
