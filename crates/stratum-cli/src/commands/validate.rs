//! `stratum validate`: do a segmentation's segments really differ?

use anyhow::Result;
use stratum_core::Lang;
use stratum_core::labels::{Statistic, column_label, statistic_label};
use stratum_core::scheme::ColumnData;
use stratum_core::validate::ValidateParams;
use stratum_io::output::Cell;

use super::outputs::Outputs;
use super::prepare::{inputs, number_columns, prepare, settings, tests_table};
use crate::BadInput;
use crate::cli::ValidateArgs;
use crate::settings::parse_rate;
use crate::terminal::table;
use stratum_io::render::write_validation_files;

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
                    segment_label(&by, &s.name, lang),
                    Cell::Int(s.size as i64).display(),
                    Cell::Share(s.share).display(),
                ];
                r.extend(s.features.iter().map(|d| Cell::Number(d.median).display()));
                r
            })
            .collect();
        // the built-in segmentations are shown by label: their label column's name
        let by_column = match by.as_str() {
            "rfm_class" => "rfm_class_label",
            "rfm_segment" => "segment_label",
            other => other,
        };
        let mut header = vec![
            column_label(by_column, lang).to_string(),
            column_label("customers", lang).to_string(),
            column_label("share", lang).to_string(),
        ];
        header.extend(validation.features.iter().map(|f| match lang {
            // (as before in English)
            Lang::En => format!("median {f}"),
            Lang::Zh => statistic_label(Statistic::Median, f, lang),
        }));
        let text = format!(
            "{}\n{}:\n{}\n",
            table(&header, &seg_rows),
            lang.pick(
                "各指标的差异检验",
                "do the segments differ? (Kruskal–Wallis, ANOVA)"
            ),
            tests_table(&validation, lang)
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
    super::outputs::print_done(&text, lang, &settings.out, &OUTPUT_FILES);
    Ok(())
}

/// A segment of segmentation `by` as people read it in Chinese: the label of a built-in
/// class, segment or stage; a master column's value as it is.
fn segment_label(by: &str, code: &str, lang: Lang) -> String {
    use stratum_core::Labelled;
    // English tables show the codes, as the files do
    if lang == Lang::En {
        return code.to_string();
    }
    fn find<K: Labelled>(all: &[K], code: &str, lang: Lang) -> Option<String> {
        all.iter()
            .find(|k| k.code() == code)
            .map(|k| k.label(lang).to_string())
    }
    let found = match by {
        "rfm_class" => find(&stratum_core::RfmClass::ALL, code, lang),
        "rfm_segment" => find(&stratum_core::Segment::ALL, code, lang),
        "abc_class" => find(&stratum_core::AbcClass::ALL, code, lang),
        "lifecycle" => Some(stratum_core::scheme::stage_label(code, lang).to_string()),
        _ => None,
    };
    found.unwrap_or_else(|| code.to_string())
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
