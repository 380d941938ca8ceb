//! `stratum cluster`: k-means on chosen features, clusters in business order and words, the
//! K-selection table and the clusters' validation.

use anyhow::{Context, Result};
use stratum_core::Lang;
use stratum_core::cluster::{ClusterParams, Clustering, KChoice, Scaling};
use stratum_core::labels::{Statistic, column_label, statistic_label};
use stratum_core::validate::{ValidateParams, Validation};
use stratum_io::cluster::{
    K_COLUMNS, k_rows, profile_header, profile_row, write_clusters_csv, write_k_csv,
    write_profiles_csv,
};
use stratum_io::output::Cell;

use super::ingest::{Timer, create};
use super::outputs::Outputs;
use super::prepare::{
    inputs, number_columns, order_index, prepare, settings, tests_table, validate_clusters,
};
use crate::BadInput;
use crate::cli::ClusterArgs;
use crate::terminal::table;
use stratum_core::run::revenue_shares;
use stratum_io::render::{write_json, write_validation_files};

/// The output files.
pub const OUTPUT_FILES: [&str; 8] = [
    "rejects.csv",
    "clusters.csv",
    "cluster_profiles.csv",
    "k_selection.csv",
    "clustering.json",
    "validation.csv",
    "validation_tests.csv",
    "validation.json",
];

fn bad(message: String) -> anyhow::Error {
    BadInput(message).into()
}

/// Runs `stratum cluster`.
pub fn run(args: ClusterArgs) -> Result<()> {
    let ClusterArgs {
        transactions,
        customers,
        as_of,
        out,
        k,
        k_range,
        features,
        scale,
        no_log,
        order_by,
        runs,
        seed,
        input,
    } = args;
    let settings = settings(transactions, customers, as_of, out, input)?;
    let lang = settings.lang;
    let k = match k.trim() {
        "auto" => {
            let range: Option<(usize, usize)> = k_range
                .split_once('-')
                .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)));
            match range {
                Some((lo, hi)) if 2 <= lo && lo <= hi && hi <= 30 => {
                    KChoice::Auto { min: lo, max: hi }
                }
                _ => {
                    return Err(bad(format!(
                        "--k-range must be a range within 2-30, smallest first, like 2-8; got `{k_range}`"
                    )));
                }
            }
        }
        n => KChoice::Fixed(
            n.parse()
                .map_err(|_| bad(format!("--k must be a number or `auto`, got `{n}`")))?,
        ),
    };
    let scaling: Scaling = scale.parse().map_err(bad)?;
    let params = ClusterParams::new()
        .k(k)
        .scaling(scaling)
        .log(!no_log)
        .runs(runs)
        .seed(seed)
        .check()
        .map_err(|e| bad(e.to_string()))?;
    let mut outputs = Outputs::begin(&settings.out, &inputs(&settings), &OUTPUT_FILES)?;
    let result = (|| -> Result<(Vec<&str>, String)> {
        let out = &outputs.dir().to_path_buf();
        let mut timer = Timer::new();
        let prepared = prepare(&settings, &mut outputs)?;
        timer.lap("read and profile");
        let columns = number_columns(&prepared.profile, &features)?;
        let order = order_index(&columns, order_by.as_deref())?;
        let clustering = params
            .fit(&columns, order)
            .map_err(|e| bad(format!("`{}`: {e}", settings.transactions.shown())))?;
        timer.lap("cluster");

        let ids = prepared.tiering.features.customer_ids();
        let shares = revenue_shares(&prepared.tiering, &clustering);
        let validation = validate_clusters(
            &ValidateParams::new()
                .check()
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            &clustering,
            &columns,
        )?;
        timer.lap("validate");

        let mut written = vec!["rejects.csv"];
        let path = out.join("clusters.csv");
        write_clusters_csv(
            create(&path)?,
            &ids,
            &clustering,
            &columns,
            lang,
            settings.csv_text,
        )
        .with_context(|| format!("failed to write `{}`", path.display()))?;
        let path = out.join("cluster_profiles.csv");
        write_profiles_csv(
            create(&path)?,
            &clustering,
            &shares,
            lang,
            settings.csv_text,
        )
        .with_context(|| format!("failed to write `{}`", path.display()))?;
        written.extend(["clusters.csv", "cluster_profiles.csv"]);
        if !clustering.k_table.is_empty() {
            let path = out.join("k_selection.csv");
            write_k_csv(create(&path)?, &clustering, settings.csv_text)
                .with_context(|| format!("failed to write `{}`", path.display()))?;
            written.push("k_selection.csv");
        }
        write_json(
            &out.join("clustering.json"),
            &clustering_summary(&clustering),
        )?;
        write_validation_files(out, &[("cluster", &validation)], settings.csv_text)?;
        written.extend([
            "clustering.json",
            "validation.csv",
            "validation_tests.csv",
            "validation.json",
        ]);
        timer.lap("outputs");

        for w in &validation.warnings {
            eprintln!(
                "{} {}",
                lang.pick("验证提示：", "validation:"),
                w.text(lang)
            );
        }
        if clustering.skipped > 0 {
            eprintln!(
                "{} {}",
                clustering.skipped,
                lang.pick(
                    "位客户缺少某项指标，未参与聚类",
                    "customers lack a feature value and were not clustered",
                )
            );
        }
        Ok((
            written,
            cluster_text(&clustering, &shares, &validation, lang),
        ))
    })();
    let (written, text) = outputs.finish(result)?;
    super::outputs::print_done(&text, lang, &settings.out, &written);
    Ok(())
}

/// The clustering without its per-customer labels (those are in clusters.csv): clustering.json.
fn clustering_summary(c: &Clustering) -> serde_json::Value {
    serde_json::json!({
        "features": c.features,
        "k": c.k,
        "clusters": c.clusters,
        "inertia": c.inertia,
        "silhouette": c.silhouette,
        "calinski_harabasz": c.calinski_harabasz,
        "k_table": c.k_table,
        "selection_sample": c.selection_sample,
        "silhouette_sample": c.silhouette_sample,
        "skipped": c.skipped,
    })
}

fn cluster_text(c: &Clustering, shares: &[f64], v: &Validation, lang: Lang) -> String {
    let show = |rows: Vec<Vec<Cell<'_>>>| -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(Cell::display).collect())
            .collect()
    };
    let mut text = String::new();
    if !c.k_table.is_empty() {
        // the silhouette with three decimals: the choice often turns on the second
        let rows: Vec<Vec<String>> = k_rows(c)
            .iter()
            .zip(&c.k_table)
            .map(|(r, k)| {
                let mut cells: Vec<String> = r.iter().map(Cell::display).collect();
                cells[2] = format!("{:.3}", k.silhouette);
                cells
            })
            .collect();
        let sample = c.selection_sample.map_or(String::new(), |n| {
            format!(
                ", {} {n} {}",
                lang.pick("在", "on a sample of"),
                lang.pick("位客户的样本上", "customers")
            )
        });
        text.push_str(&format!(
            "{} (K = {}{sample}):\n{}\n",
            lang.pick(
                "K 的选择：轮廓系数最高者",
                "choosing K: the best silhouette"
            ),
            c.k,
            table(&K_COLUMNS.map(|c| column_label(c, lang).to_string()), &rows)
        ));
    }
    // the profile's columns, then a mean per feature, in the table's language
    let fixed = profile_header(c).len() - c.features.len();
    let mut header: Vec<String> = profile_header(c)[..fixed]
        .iter()
        .map(|h| column_label(h, lang).to_string())
        .collect();
    header.extend(
        c.features
            .iter()
            .map(|x| statistic_label(Statistic::Mean, x, lang)),
    );
    let profile_rows: Vec<Vec<Cell<'_>>> = c
        .clusters
        .iter()
        .zip(shares)
        .map(|(k, s)| profile_row(k, *s, lang))
        .collect();
    text.push_str(&format!(
        "{} (K = {}, {} {:.3}, Calinski–Harabasz {:.1}):\n{}\n",
        lang.pick("聚类画像", "clusters"),
        c.k,
        lang.pick("轮廓系数", "silhouette"),
        c.silhouette,
        c.calinski_harabasz,
        table(&header, &show(profile_rows))
    ));
    text.push_str(&format!(
        "{}:\n{}\n",
        lang.pick(
            "各指标的差异检验",
            "do the clusters differ? (Kruskal–Wallis, ANOVA)"
        ),
        tests_table(v, lang)
    ));
    text
}
