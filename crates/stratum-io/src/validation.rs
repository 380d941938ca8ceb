//! Validation outputs: `validation.csv` (per segment and feature: size, share, mean,
//! quartiles) and `validation_tests.csv` (per feature: Kruskal–Wallis H, df, p, ε², ANOVA F and
//! p, and why a test is undefined when the data leave it so), for one or more segmentations.

use std::io::Write;

use stratum_core::validate::Validation;

use crate::output::{Cell, CsvOut, CsvText};

/// The columns of `validation.csv`.
pub const SEGMENT_COLUMNS: [&str; 10] = [
    "segmentation",
    "segment",
    "customers",
    "share",
    "feature",
    "n",
    "mean",
    "q1",
    "median",
    "q3",
];

/// The columns of `validation_tests.csv`.
pub const TEST_COLUMNS: [&str; 9] = [
    "segmentation",
    "feature",
    "kruskal_wallis_h",
    "df",
    "p_value",
    "epsilon_squared",
    "anova_f",
    "anova_p_value",
    "undefined",
];

/// The rows of `validation_tests.csv`.
pub fn test_rows<'a>(name: &'a str, v: &'a Validation) -> Vec<Vec<Cell<'a>>> {
    v.tests
        .iter()
        .map(|t| {
            let kw = t.kruskal_wallis.ok();
            let anova = t.anova.ok();
            let undefined: Vec<String> = [
                t.kruskal_wallis
                    .err()
                    .map(|u| format!("kruskal_wallis: {}", u.code())),
                t.anova.err().map(|u| format!("anova: {}", u.code())),
            ]
            .into_iter()
            .flatten()
            .collect();
            vec![
                Cell::Text(name),
                Cell::Text(&t.feature),
                Cell::finite(kw.map(|k| k.h)),
                kw.map_or(Cell::Text(""), |k| Cell::Int(k.df as i64)),
                p_cell(kw.map(|k| k.p)),
                kw.map_or(Cell::Text(""), |k| {
                    Cell::Owned(format!("{:.4}", k.epsilon_sq))
                }),
                Cell::finite(anova.map(|a| a.f)),
                p_cell(anova.map(|a| a.p)),
                Cell::Owned(undefined.join("; ")),
            ]
        })
        .collect()
}

/// A p-value as people and programs read it: four decimals, scientific notation under 1e-4,
/// and `<1e-300` where it underflows (never a bare 0, never rounded to 0.0 or 0.1).
pub(crate) fn p_cell(p: Option<f64>) -> Cell<'static> {
    match p {
        Some(p) if p.is_finite() && p <= 0.0 => Cell::Text("<1e-300"),
        Some(p) if p.is_finite() && p < 1e-4 => Cell::Owned(format!("{p:.2e}")),
        Some(p) if p.is_finite() => Cell::Owned(format!("{p:.4}")),
        _ => Cell::Text(""),
    }
}

/// Writes `validation.csv` for `(segmentation name, validation)` pairs.
pub fn write_validation_csv<W: Write>(
    out: W,
    all: &[(&str, &Validation)],
    text: CsvText,
) -> csv::Result<()> {
    let mut w = CsvOut::new(out, text);
    w.texts(SEGMENT_COLUMNS)?;
    for (name, v) in all {
        for s in &v.segments {
            for (feature, d) in v.features.iter().zip(&s.features) {
                let row = [
                    Cell::Text(name),
                    Cell::Text(&s.name),
                    Cell::Int(s.size as i64),
                    Cell::Share(s.share),
                    Cell::Text(feature),
                    Cell::Int(d.n as i64),
                    // no values for this feature in the segment: no figures
                    Cell::finite((d.n > 0).then_some(d.mean)),
                    Cell::finite((d.n > 0).then_some(d.q1)),
                    Cell::finite((d.n > 0).then_some(d.median)),
                    Cell::finite((d.n > 0).then_some(d.q3)),
                ];
                w.cells(&row)?;
            }
        }
    }
    w.flush()?;
    Ok(())
}

/// Writes `validation_tests.csv`.
pub fn write_tests_csv<W: Write>(
    out: W,
    all: &[(&str, &Validation)],
    text: CsvText,
) -> csv::Result<()> {
    let mut w = CsvOut::new(out, text);
    w.texts(TEST_COLUMNS)?;
    for (name, v) in all {
        for row in test_rows(name, v) {
            w.cells(&row)?;
        }
    }
    w.flush()?;
    Ok(())
}
