//! Tables for the terminal, aligned by display width (Chinese characters are two columns).

use unicode_width::UnicodeWidthStr;

/// Right-aligns numbers and left-aligns text; a column is numeric when its first data cell
/// starts with a digit or a minus sign.
pub fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let cols = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in rows {
        for (c, cell) in row.iter().enumerate().take(cols) {
            widths[c] = widths[c].max(cell.width());
        }
    }
    let numeric: Vec<bool> = (0..cols)
        .map(|c| {
            rows.first()
                .and_then(|r| r.get(c))
                .is_some_and(|s| s.starts_with(|ch: char| ch.is_ascii_digit() || ch == '-'))
        })
        .collect();
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut parts = Vec::with_capacity(cols);
        for (c, cell) in cells.iter().enumerate().take(cols) {
            let pad = " ".repeat(widths[c].saturating_sub(cell.width()));
            parts.push(if numeric[c] {
                format!("{pad}{cell}")
            } else {
                format!("{cell}{pad}")
            });
        }
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(header);
    let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
    line(&rule);
    for row in rows {
        line(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_labels_align_by_display_width() {
        let t = table(
            &["class".into(), "n".into()],
            &[
                vec!["重要价值客户".into(), "12".into()],
                vec!["ab".into(), "3".into()],
            ],
        );
        assert_eq!(
            t,
            "class          n\n────────────  ──\n重要价值客户  12\nab             3\n"
        );
    }
}
