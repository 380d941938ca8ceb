//! Clusters in business words: each feature whose cluster mean is at least 0.5 above or below
//! the overall mean after scaling (standard deviations for z-scores, interquartile ranges for
//! robust scaling) is named, value first, then
//! recency, then frequency, then the rest in feature order.
//!
//! Each description has a code made the same way from language-independent words
//! (`high_value+recent+frequent`, or `average`): the code is what data and rules hold, the
//! English or Chinese words are only shown.

/// The code of a cluster where no feature stands out.
pub const AVERAGE_CODE: &str = "average";

/// What joins the words of a cluster's code.
pub const CODE_SEPARATOR: char = '+';

/// The codes a feature can add to a cluster's code: (high, low).
pub fn feature_codes(feature: &str) -> [String; 2] {
    let (_, hi, lo, ..) = words(feature);
    [hi, lo]
}

/// Words for a feature that stands out: (priority, high code, low code, high en, low en,
/// high zh, low zh).
fn words(feature: &str) -> (u8, String, String, String, String, String, String) {
    let s = |a: &str| a.to_string();
    match feature {
        "monetary" | "gross" | "annual_revenue" | "clv" | "avg_order_value" => (
            0,
            s("high_value"),
            s("low_value"),
            s("high value"),
            s("low value"),
            s("高价值"),
            s("低价值"),
        ),
        "recency_days" | "days_since_last_order" => (
            1,
            s("lapsed"),
            s("recent"),
            s("lapsed"),
            s("recent"),
            s("久未购买"),
            s("近期活跃"),
        ),
        "frequency" | "orders" | "orders_12m" => (
            2,
            s("frequent"),
            s("infrequent"),
            s("frequent"),
            s("infrequent"),
            s("高频"),
            s("低频"),
        ),
        "tenure_days" | "tenure_months" => (
            3,
            s("long_standing"),
            s("new"),
            s("long-standing"),
            s("new"),
            s("老客户"),
            s("新客户"),
        ),
        other => (
            4,
            format!("high_{other}"),
            format!("low_{other}"),
            format!("high {other}"),
            format!("low {other}"),
            format!("{other}高"),
            format!("{other}低"),
        ),
    }
}

/// A cluster described: its code and its words in English and Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    /// The code (`high_value+recent`), the same in every language.
    pub code: String,
    /// English words.
    pub en: String,
    /// Chinese words.
    pub zh: String,
}

/// The description of a cluster from each feature's scaled mean relative to the overall mean.
pub fn describe_cluster(features: &[String], relative: &[f64]) -> Description {
    let mut notable: Vec<(u8, usize, String, String, String)> = Vec::new();
    for (i, (name, &z)) in features.iter().zip(relative).enumerate() {
        let (priority, hi_code, lo_code, hi_en, lo_en, hi_zh, lo_zh) = words(name);
        if z >= 0.5 {
            notable.push((priority, i, hi_code, hi_en, hi_zh));
        } else if z <= -0.5 {
            notable.push((priority, i, lo_code, lo_en, lo_zh));
        }
    }
    if notable.is_empty() {
        return Description {
            code: AVERAGE_CODE.into(),
            en: "average on every feature".into(),
            zh: "各项指标接近平均".into(),
        };
    }
    notable.sort_by_key(|n| (n.0, n.1));
    let join = |pick: fn(&(u8, usize, String, String, String)) -> &str, sep: &str| {
        notable.iter().map(pick).collect::<Vec<_>>().join(sep)
    };
    Description {
        code: join(|n| &n.2, &CODE_SEPARATOR.to_string()),
        en: join(|n| &n.3, ", "),
        zh: join(|n| &n.4, "、"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_follow_the_business_order() {
        let f: Vec<String> = ["recency_days", "frequency", "monetary"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            describe_cluster(&f, &[-1.2, 0.9, 1.5]),
            Description {
                code: "high_value+recent+frequent".to_string(),
                en: "high value, recent, frequent".to_string(),
                zh: "高价值、近期活跃、高频".to_string()
            }
        );
        let average = describe_cluster(&f, &[0.1, -0.2, 0.3]);
        assert_eq!(
            (average.code.as_str(), average.en.as_str()),
            ("average", "average on every feature")
        );
    }
}
