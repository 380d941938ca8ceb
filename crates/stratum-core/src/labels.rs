//! Labels in Chinese and English.
//!
//! Every class, segment and tier Stratum shows has a stable machine code (used in files that are
//! re-imported and in rule expressions) and a human label in each supported language.

use std::fmt;
use std::str::FromStr;

/// The language of human-facing labels.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English (the default).
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// Picks the Chinese or English text.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

impl FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" | "english" => Ok(Lang::En),
            "zh" | "cn" | "zh-cn" | "chinese" | "中文" => Ok(Lang::Zh),
            other => Err(format!("language must be `zh` or `en`, got `{other}`")),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.pick("zh", "en"))
    }
}

/// Something with a stable code and a label in each language.
pub trait Labelled {
    /// The stable machine code, e.g. `important_value`.
    fn code(&self) -> &'static str;
    /// The human label in `lang`.
    fn label(&self, lang: Lang) -> &'static str;
}

/// Classes and segments are written to data (JSON, the history store) as their codes.
macro_rules! serialize_as_code {
    ($($t:ty),*) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(Labelled::code(self))
            }
        }
    )*};
}

serialize_as_code!(crate::RfmClass, crate::Segment, crate::AbcClass);

/// The label of a column — a feature of the customer profile (`recency_days`), a column of an
/// output table (`revenue_share`) or of a statistics table (`kruskal_wallis_h`) — in `lang`.
/// Codes stay the columns' names in files that are read back (CSV); tables people read
/// (the workbook, the report, the terminal) show this label. In English, and for a code
/// without a label (a master-data column), the code itself.
pub fn column_label(code: &str, lang: Lang) -> &str {
    match lang {
        Lang::En => code,
        Lang::Zh => zh_column_label(code).unwrap_or(code),
    }
}

/// The label of a column with a statistic of it: `均值：消费金额` (mean of `monetary`) —
/// a prefix, so that a long column label wraps after the statistic, not inside it. In
/// English, `{statistic}_{code}` as the CSV files name it (`mean_monetary`).
pub fn statistic_label(statistic: Statistic, code: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{}_{code}", statistic.code()),
        Lang::Zh => format!("{}：{}", statistic.zh(), column_label(code, lang)),
    }
}

/// A statistic of a column in a table's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    /// The arithmetic mean.
    Mean,
    /// The median.
    Median,
}

impl Statistic {
    fn code(self) -> &'static str {
        match self {
            Statistic::Mean => "mean",
            Statistic::Median => "median",
        }
    }

    fn zh(self) -> &'static str {
        match self {
            Statistic::Mean => "均值",
            Statistic::Median => "中位数",
        }
    }
}

fn zh_column_label(code: &str) -> Option<&'static str> {
    Some(match code {
        // customers and their features
        "customer_id" => "客户编号",
        "name" => "客户名称",
        "first_order_date" => "首次购买日期",
        "last_order_date" => "最近购买日期",
        "recency_days" => "距今天数",
        "days_since_last_order" => "距上次下单天数",
        "frequency" => "购买次数",
        "orders" => "订单数",
        "monetary" => "消费金额",
        "gross" => "购买金额",
        "refunds" => "退款金额",
        "avg_order_value" => "客单价",
        "tenure_days" => "合作天数",
        "tenure_months" => "合作月数",
        "annual_revenue" => "近 12 个月收入",
        "revenue_prev_12m" => "前 12 个月收入",
        "revenue_growth" => "收入同比增长",
        "orders_12m" => "近 12 个月订单数",
        "repurchase_rate" => "复购率",
        "interactions_90d" => "近 90 天互动次数",
        "complaints_90d" => "近 90 天投诉次数",
        "complaint_rate" => "投诉率",
        "avg_satisfaction" => "平均满意度",
        "last_nps" => "最近 NPS",
        "nps_category" => "NPS 类别",
        "loyalty" => "忠诚度",
        "r_score" => "R 分",
        "f_score" => "F 分",
        "m_score" => "M 分",
        "rfm_score" => "RFM 分值",
        "rfm_class" => "RFM 八类代码",
        "rfm_class_label" => "RFM 八类",
        "rfm_segment" => "RFM 分群代码",
        "segment" => "RFM 分群代码",
        "segment_label" => "RFM 分群",
        "abc_class" => "ABC 分类",
        "revenue_cum_share" => "累计收入占比",
        "lifecycle" => "生命周期阶段",
        // lifetime value
        "recency" => "最近购买时点",
        "T" => "观察期",
        "p_alive" => "存活概率",
        "churn_risk" => "流失风险",
        "churn_band" => "流失风险等级代码",
        "churn_band_label" => "流失风险等级",
        "expected_purchases_90d" => "预计 90 天购买次数",
        "expected_spend" => "预计客单价",
        "clv" => "预测客户价值",
        "holdout_purchases" => "验证期购买次数",
        "mean_clv" => "平均预测客户价值",
        "total_clv" => "预测客户价值合计",
        "mean_churn_risk" => "平均流失风险",
        "high_churn_risk_customers" => "高流失风险客户数",
        "value_tier" => "预测价值等级代码",
        "value_tier_label" => "预测价值等级",
        // clusters
        "cluster" => "簇",
        "cluster_label" => "簇描述代码",
        "code" => "代码",
        "label" => "名称",
        "k" => "K",
        "inertia" => "簇内平方和",
        "silhouette" => "轮廓系数",
        "calinski_harabasz" => "Calinski–Harabasz 指数",
        // group summaries
        "dimension" => "维度",
        "customers" => "客户数",
        "share" => "占比",
        "customer_share" => "客户占比",
        "revenue" => "收入",
        "revenue_share" => "收入占比",
        "mean_recency_days" => "平均距今天数",
        "mean_frequency" => "平均购买次数",
        "mean_monetary" => "平均消费金额",
        "mean_r_score" => "平均 R 分",
        "mean_f_score" => "平均 F 分",
        "mean_m_score" => "平均 M 分",
        // tiers and action lists
        "final_tier" => "最终等级代码",
        "final_tier_label" => "最终等级",
        "tier" => "等级",
        "strategy" => "服务策略",
        "response_hours" => "响应时间（小时）",
        "next_action" => "下一步行动",
        "next_action_due" => "行动到期日",
        "marketing" => "营销",
        "discount" => "折扣",
        "reason" => "原因",
        "overridden" => "人工调整",
        "account_manager" => "客户经理",
        "priority" => "优先级",
        // validation
        "segmentation" => "分群方式",
        "feature" => "特征",
        "kruskal_wallis_h" => "Kruskal–Wallis H",
        "df" => "自由度",
        "p_value" => "p 值",
        "epsilon_squared" => "ε²",
        "anova_f" => "ANOVA F",
        "anova_p_value" => "ANOVA p 值",
        "undefined" => "无法检验的原因",
        // rejected rows
        "file" => "文件",
        "line" => "行号",
        "column" => "列",
        "value" => "值",
        "message" => "说明",
        "row" => "原始行",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_read_in_chinese_and_keep_their_code_in_english() {
        assert_eq!(column_label("recency_days", Lang::Zh), "距今天数");
        assert_eq!(column_label("recency_days", Lang::En), "recency_days");
        // a master-data column has no label: its own name
        assert_eq!(column_label("行业", Lang::Zh), "行业");
        assert_eq!(
            statistic_label(Statistic::Mean, "monetary", Lang::Zh),
            "均值：消费金额"
        );
        assert_eq!(
            statistic_label(Statistic::Median, "monetary", Lang::En),
            "median_monetary"
        );
    }

    #[test]
    fn every_profile_column_has_a_chinese_label() {
        let builtin = crate::scheme::BUILTIN_COLUMNS
            .iter()
            .chain(&crate::scheme::CLV_COLUMNS)
            .chain(&crate::scheme::CLUSTER_COLUMNS);
        for (name, _) in builtin {
            assert!(zh_column_label(name).is_some(), "{name}");
        }
    }
}
