//! Clusters in business words: each feature whose cluster mean is at least 0.5 above or below
//! the overall mean after scaling (standard deviations for z-scores, interquartile ranges for
//! robust scaling) is named, value first, then
//! recency, then frequency, then the rest in feature order.

/// Words for a feature that stands out: (priority, high en, low en, high zh, low zh).
fn words(feature: &str) -> (u8, String, String, String, String) {
    let s = |a: &str| a.to_string();
    match feature {
        "monetary" | "gross" | "annual_revenue" | "clv" | "avg_order_value" => {
            (0, s("high value"), s("low value"), s("高价值"), s("低价值"))
        }
        "recency_days" | "days_since_last_order" => {
            (1, s("lapsed"), s("recent"), s("久未购买"), s("近期活跃"))
        }
        "frequency" | "orders" | "orders_12m" => {
            (2, s("frequent"), s("infrequent"), s("高频"), s("低频"))
        }
        "tenure_days" | "tenure_months" => {
            (3, s("long-standing"), s("new"), s("老客户"), s("新客户"))
        }
        other => (
            4,
            format!("high {other}"),
            format!("low {other}"),
            format!("{other}高"),
            format!("{other}低"),
        ),
    }
}

/// The description of a cluster from each feature's scaled mean relative to the overall mean:
/// (English, Chinese).
pub fn describe_cluster(features: &[String], relative: &[f64]) -> (String, String) {
    let mut notable: Vec<(u8, usize, String, String)> = Vec::new();
    for (i, (name, &z)) in features.iter().zip(relative).enumerate() {
        let (priority, hi_en, lo_en, hi_zh, lo_zh) = words(name);
        if z >= 0.5 {
            notable.push((priority, i, hi_en, hi_zh));
        } else if z <= -0.5 {
            notable.push((priority, i, lo_en, lo_zh));
        }
    }
    if notable.is_empty() {
        return ("average on every feature".into(), "各项指标接近平均".into());
    }
    notable.sort_by_key(|n| (n.0, n.1));
    let en: Vec<&str> = notable.iter().map(|n| n.2.as_str()).collect();
    let zh: Vec<&str> = notable.iter().map(|n| n.3.as_str()).collect();
    (en.join(", "), zh.join("、"))
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
            (
                "high value, recent, frequent".to_string(),
                "高价值、近期活跃、高频".to_string()
            )
        );
        assert_eq!(
            describe_cluster(&f, &[0.1, -0.2, 0.3]).0,
            "average on every feature"
        );
    }
}
