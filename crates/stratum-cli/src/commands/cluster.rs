//! `stratum cluster`: k-means on chosen features, clusters in business order and words, the
//! K-selection table and the clusters' validation.

use std::io::Write;

use anyhow::{Context, Result};
use stratum_core::Lang;
use stratum_core::cluster::{ClusterParams, Clustering, KChoice, Scaling};
use stratum_core::validate::{ValidateParams, Validation};
use stratum_io::cluster::{
    K_COLUMNS, k_rows, profile_header, profile_row, write_clusters_csv, write_k_csv,
    write_profiles_csv,
};
use stratum_io::output::Cell;
use stratum_io::validation::{TEST_COLUMNS, test_rows, write_tests_csv, write_validation_csv};

use super::prepare::{number_columns, prepare};
use super::segment::{Timer, create};
use crate::BadInput;
use crate::cli::ClusterArgs;
use crate::settings::{input_settings, parse_cli_date};
use crate::terminal::table;

/// The output files.
pub const OUTPUT_FILES: [&str; 7] = [
    "rejects.csv",
    "clusters.csv",
    "cluster_profiles.csv",
    "k_selection.csv",
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
    let input = input_settings(input)?;
    let lang = input.lang;
    let as_of = as_of.map(|d| parse_cli_date("--as-of", &d)).transpose()?;
    let k = match k.trim() {
        "auto" => {
            let (lo, hi) = k_range
                .split_once('-')
                .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
                .ok_or_else(|| bad(format!("--k-range must look like 2-8, got `{k_range}`")))?;
            KChoice::Auto { min: lo, max: hi }
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
    for name in OUTPUT_FILES {
        let path = out.join(name);
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("failed to remove the earlier `{}`", path.display()))?;
        }
    }
    let mut timer = Timer::new();
    let prepared = prepare(&transactions, customers.as_deref(), &input, as_of, &out)?;
    timer.lap("read and profile");
    let columns = number_columns(&prepared.profile, &features)?;
    let order = match &order_by {
        Some(name) => columns.iter().position(|c| &c.0 == name).ok_or_else(|| {
            bad(format!(
                "--order-by `{name}` is not one of the features ({features})"
            ))
        })?,
        None => columns.iter().position(|c| c.0 == "monetary").unwrap_or(0),
    };
    let clustering = params
        .fit(&columns, order)
        .map_err(|e| bad(format!("`{}`: {e}", transactions.display())))?;
    timer.lap("cluster");

    let customers = &prepared.tiering.features.customers;
    let ids: Vec<&str> = customers.iter().map(|c| c.customer_id.as_str()).collect();
    // revenue share per cluster
    let total: f64 = customers.iter().map(|c| c.monetary.to_f64()).sum();
    let mut revenue = vec![0.0; clustering.k];
    for (c, l) in customers.iter().zip(&clustering.labels) {
        if let Some(l) = l {
            revenue[l - 1] += c.monetary.to_f64();
        }
    }
    let shares: Vec<f64> = revenue
        .iter()
        .map(|r| r / total.max(f64::MIN_POSITIVE))
        .collect();
    // validation of the clusters on the same features
    let clustered: Vec<usize> = (0..ids.len())
        .filter(|&i| clustering.labels[i].is_some())
        .collect();
    let labels: Vec<usize> = clustered
        .iter()
        .filter_map(|&i| clustering.labels[i].map(|l| l - 1))
        .collect();
    let names: Vec<String> = (1..=clustering.k).map(|i| i.to_string()).collect();
    let cols: Vec<(String, Vec<Option<f64>>)> = columns
        .iter()
        .map(|(n, v)| (n.clone(), clustered.iter().map(|&i| v[i]).collect()))
        .collect();
    let validation = ValidateParams::new()
        .check()
        .and_then(|p| p.validate(&labels, &names, &cols))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    timer.lap("validate");

    let mut written = vec!["rejects.csv"];
    let path = out.join("clusters.csv");
    write_clusters_csv(create(&path)?, &ids, &clustering, &columns, lang)
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    let path = out.join("cluster_profiles.csv");
    write_profiles_csv(create(&path)?, &clustering, &shares, lang)
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    written.extend(["clusters.csv", "cluster_profiles.csv"]);
    if !clustering.k_table.is_empty() {
        let path = out.join("k_selection.csv");
        write_k_csv(create(&path)?, &clustering)
            .with_context(|| format!("failed to write `{}`", path.display()))?;
        written.push("k_selection.csv");
    }
    let all = [("cluster", &validation)];
    let path = out.join("validation.csv");
    write_validation_csv(create(&path)?, &all)
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    let path = out.join("validation_tests.csv");
    write_tests_csv(create(&path)?, &all)
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    let path = out.join("validation.json");
    let json = serde_json::json!({
        "clustering": &clustering_summary(&clustering),
        "validation": &validation,
    });
    let mut w = create(&path)?;
    serde_json::to_writer_pretty(&mut w, &json)
        .map_err(std::io::Error::from)
        .and_then(|_| w.write_all(b"\n"))
        .and_then(|_| w.flush())
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    written.extend(["validation.csv", "validation_tests.csv", "validation.json"]);
    timer.lap("outputs");

    let mut stdout = std::io::stdout().lock();
    let _ = write!(
        stdout,
        "{}",
        cluster_text(&clustering, &shares, &validation, lang)
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
    if clustering.skipped > 0 {
        let _ = writeln!(
            err,
            "{} {}",
            clustering.skipped,
            lang.pick(
                "位客户缺少某项指标，未参与聚类",
                "customers lack a feature value and were not clustered",
            )
        );
    }
    let _ = writeln!(
        err,
        "{} {}: {}",
        lang.pick("结果已写入", "wrote"),
        out.display(),
        written.join(", ")
    );
    Ok(())
}

/// The clustering without its per-customer labels (those are in clusters.csv).
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
            table(&K_COLUMNS.map(String::from), &rows)
        ));
    }
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
        table(&profile_header(c), &show(profile_rows))
    ));
    let tests: Vec<Vec<String>> = show(test_rows("cluster", v))
        .into_iter()
        .map(|r| r[1..].to_vec())
        .collect();
    text.push_str(&format!(
        "{}:\n{}\n",
        lang.pick(
            "各指标的差异检验",
            "do the clusters differ? (Kruskal–Wallis, ANOVA)"
        ),
        table(
            &TEST_COLUMNS[1..]
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
            &tests
        )
    ));
    text
}
