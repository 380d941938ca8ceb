//! `stratum validate`: do a segmentation's segments really differ?

use anyhow::Result;
use stratum_core::scheme::ColumnData;
use stratum_core::validate::ValidateParams;
use stratum_io::output::Cell;

use super::outputs::Outputs;
use super::prepare::{
    inputs, number_columns, prepare, settings, tests_table, write_validation_files,
};
use crate::BadInput;
use crate::cli::ValidateArgs;
use crate::settings::parse_rate;
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
    let settings = settings(transactions, customers, as_of, out, input)?;
    let lang = settings.lang;
    let min_share = parse_rate("--min-share", &min_share)?;
    let params = ValidateParams::new()
        .min_share(min_share)
        .check()
        .map_err(|_| {
            BadInput(format!(
                "--min-share must be a share below 1 (e.g. 0.01 or 1%), got {min_share}"
            ))
        })?;
    let mut outputs = Outputs::begin(&settings.out, &inputs(&settings), &OUTPUT_FILES)?;
    let result = (|| -> Result<String> {
        let out = &outputs.dir().to_path_buf();
        let prepared = prepare(&settings, &mut outputs)?;
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
        // segments in a stable order: the built-in segmentations' own order, else sorted
        let values = segments.values();
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| values[a].cmp(&values[b]));
        if let Some(natural) = natural_order(&by) {
            order.sort_by_key(|&i| natural.iter().position(|o| *o == values[i]));
        }
        let names: Vec<String> = order.iter().map(|&i| values[i].clone()).collect();
        let mut rank = vec![0; values.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r;
        }
        let labels: Vec<Option<usize>> = (0..segments.len())
            .map(|row| segments.code(row).map(|c| rank[c]))
            .collect();
        let without = labels.iter().filter(|l| l.is_none()).count();
        let validation = params
            .validate(&labels, &names, &columns)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        write_validation_files(out, &[(by.as_str(), &validation)], settings.csv_text)?;

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
        let text = format!(
            "{}\n{}:\n{}\n",
            table(&header, &seg_rows),
            lang.pick(
                "各指标的差异检验",
                "do the segments differ? (Kruskal–Wallis, ANOVA)"
            ),
            tests_table(&validation)
        );
        if without > 0 {
            eprintln!(
                "{without} {} `{by}`{}",
                lang.pick("位客户没有", "customers have no"),
                lang.pick("取值，未参与验证", " value and are left out"),
            );
        }
        eprintln!(
        "{}",
        lang.pick(
            "注：用来划分分群的指标必然有显著差异；效应量 ε² 与两两比较的提示更有参考价值",
            "note: features that defined the segments differ by construction; ε² and the pairwise warnings say more",
        )
    );
        for w in &validation.warnings {
            eprintln!(
                "{} {}",
                lang.pick("验证提示：", "validation:"),
                w.text(lang)
            );
        }
        Ok(text)
    })();
    let text = outputs.finish(result)?;
    print!("{text}");
    eprintln!(
        "{} {}: {}",
        lang.pick("结果已写入", "wrote"),
        settings.out.display(),
        OUTPUT_FILES.join(", ")
    );
    Ok(())
}

/// The codes of a built-in segmentation in their own order (classes, segments and stages
/// as the product lists them), or `None` for a master column.
fn natural_order(by: &str) -> Option<Vec<&'static str>> {
    use stratum_core::Labelled;
    fn codes<K: Labelled>(all: &[K]) -> Vec<&'static str> {
        all.iter().map(|k| k.code()).collect()
    }
    match by {
        "rfm_class" => Some(codes(&stratum_core::RfmClass::ALL)),
        "rfm_segment" => Some(codes(&stratum_core::Segment::ALL)),
        "abc_class" => Some(codes(&stratum_core::AbcClass::ALL)),
        "lifecycle" => Some(stratum_core::scheme::STAGES.to_vec()),
        _ => None,
    }
}
