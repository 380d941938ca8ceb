//! Clustering outputs: `clusters.csv` (each customer's cluster with the features it was
//! clustered on), `cluster_profiles.csv` (each cluster's size, revenue share, feature means and
//! description) and `k_selection.csv` (the figures behind the choice of K).

use std::io::Write;

use stratum_core::Lang;
use stratum_core::cluster::{Cluster, Clustering};

use crate::output::{Cell, CsvOut, CsvText};

/// The header of `cluster_profiles.csv`: fixed columns, then `mean_<feature>` per feature.
pub fn profile_header(c: &Clustering) -> Vec<String> {
    [
        "cluster",
        "code",
        "label",
        "customers",
        "share",
        "revenue_share",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(c.features.iter().map(|f| format!("mean_{f}")))
    .collect()
}

/// The cells of one cluster's profile row; `revenue_share` is its share of total revenue.
pub fn profile_row(cluster: &Cluster, revenue_share: f64, lang: Lang) -> Vec<Cell<'_>> {
    let label = cluster.label(lang);
    let mut row = vec![
        Cell::Int(cluster.id as i64),
        Cell::Text(&cluster.code),
        Cell::Text(label),
        Cell::Int(cluster.size as i64),
        Cell::Share(cluster.share),
        Cell::Share(revenue_share),
    ];
    row.extend(cluster.means.iter().map(|m| Cell::Number(*m)));
    row
}

/// Writes `cluster_profiles.csv`; `revenue_shares` by cluster id order.
pub fn write_profiles_csv<W: Write>(
    out: W,
    c: &Clustering,
    revenue_shares: &[f64],
    lang: Lang,
    text: CsvText,
) -> csv::Result<()> {
    let mut w = CsvOut::new(out, text);
    w.texts(profile_header(c))?;
    for (cluster, share) in c.clusters.iter().zip(revenue_shares) {
        w.cells(&profile_row(cluster, *share, lang))?;
    }
    w.flush()?;
    Ok(())
}

/// Writes `clusters.csv`: `customer_id`, `cluster`, `cluster_code` (what rules compare
/// `cluster_label` with), `cluster_label` (its words in `lang`), then the features; a
/// customer without every feature has an empty cluster.
pub fn write_clusters_csv<W: Write>(
    out: W,
    ids: &[&str],
    c: &Clustering,
    features: &[(String, Vec<Option<f64>>)],
    lang: Lang,
    text: CsvText,
) -> csv::Result<()> {
    let mut w = CsvOut::new(out, text);
    let header = ["customer_id", "cluster", "cluster_code", "cluster_label"]
        .iter()
        .map(|s| s.to_string())
        .chain(features.iter().map(|f| f.0.clone()));
    w.texts(header)?;
    for (i, id) in ids.iter().enumerate() {
        let cluster = c.labels[i].and_then(|l| c.clusters.get(l - 1));
        let mut row = vec![
            Cell::Text(id),
            cluster.map_or(Cell::Text(""), |k| Cell::Int(k.id as i64)),
            Cell::Text(cluster.map_or("", |k| k.code.as_str())),
            Cell::Text(cluster.map_or("", |k| k.label(lang))),
        ];
        row.extend(
            features
                .iter()
                .map(|f| f.1[i].map_or(Cell::Text(""), Cell::Number)),
        );
        w.cells(&row)?;
    }
    w.flush()?;
    Ok(())
}

/// The header of `k_selection.csv`.
pub const K_COLUMNS: [&str; 4] = ["k", "inertia", "silhouette", "calinski_harabasz"];

/// The rows of the K-selection table.
pub fn k_rows(c: &Clustering) -> Vec<Vec<Cell<'static>>> {
    c.k_table
        .iter()
        .map(|r| {
            vec![
                Cell::Int(r.k as i64),
                Cell::Number(r.inertia),
                Cell::Number(r.silhouette),
                Cell::Number(r.calinski_harabasz),
            ]
        })
        .collect()
}

/// Writes `k_selection.csv`.
pub fn write_k_csv<W: Write>(out: W, c: &Clustering, text: CsvText) -> csv::Result<()> {
    let mut w = CsvOut::new(out, text);
    w.texts(K_COLUMNS)?;
    for row in k_rows(c) {
        w.cells(&row)?;
    }
    w.flush()?;
    Ok(())
}
