//! The eight classic RFM classes (重要价值客户 … 一般挽留客户).

use crate::labels::{Labelled, Lang};

/// One of the eight classes formed by whether R, F and M are each high or low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RfmClass {
    /// R high, F high, M high: 重要价值客户.
    ImportantValue,
    /// R low, F high, M high: 重要保持客户.
    ImportantRetention,
    /// R high, F low, M high: 重要发展客户.
    ImportantDevelopment,
    /// R low, F low, M high: 重要挽留客户.
    ImportantWinBack,
    /// R high, F high, M low: 一般价值客户.
    GeneralValue,
    /// R low, F high, M low: 一般保持客户.
    GeneralRetention,
    /// R high, F low, M low: 一般发展客户.
    GeneralDevelopment,
    /// R low, F low, M low: 一般挽留客户.
    GeneralWinBack,
}

impl RfmClass {
    /// All classes in report order.
    pub const ALL: [RfmClass; 8] = [
        RfmClass::ImportantValue,
        RfmClass::ImportantRetention,
        RfmClass::ImportantDevelopment,
        RfmClass::ImportantWinBack,
        RfmClass::GeneralValue,
        RfmClass::GeneralRetention,
        RfmClass::GeneralDevelopment,
        RfmClass::GeneralWinBack,
    ];

    /// The class of a customer whose R, F and M are each high (`true`) or low.
    pub fn from_highs(r: bool, f: bool, m: bool) -> RfmClass {
        match (r, f, m) {
            (true, true, true) => RfmClass::ImportantValue,
            (false, true, true) => RfmClass::ImportantRetention,
            (true, false, true) => RfmClass::ImportantDevelopment,
            (false, false, true) => RfmClass::ImportantWinBack,
            (true, true, false) => RfmClass::GeneralValue,
            (false, true, false) => RfmClass::GeneralRetention,
            (true, false, false) => RfmClass::GeneralDevelopment,
            (false, false, false) => RfmClass::GeneralWinBack,
        }
    }
}

impl RfmClass {
    /// The recommended action for the class: what the classic reading of its R, F and M
    /// suggests (the service a CRM team would attach to it).
    pub fn strategy(&self, lang: Lang) -> &'static str {
        match self {
            RfmClass::ImportantValue => lang.pick(
                "重点保持：VIP 专属服务、专属客户经理、新品优先体验",
                "keep them close: VIP service, a dedicated account manager, early access",
            ),
            RfmClass::ImportantRetention => lang.pick(
                "主动回访，了解近期未购原因，个性化优惠唤回",
                "call them: learn why they have not bought lately, win them back with a tailored offer",
            ),
            RfmClass::ImportantDevelopment => lang.pick(
                "提升购买频次：会员计划、交叉销售、定期跟进",
                "raise their frequency: membership plan, cross-sell, scheduled follow-ups",
            ),
            RfmClass::ImportantWinBack => lang.pick(
                "重点挽留：客户经理联系，定向挽回方案",
                "win them back: account manager contact and a targeted retention offer",
            ),
            RfmClass::GeneralValue => lang.pick(
                "提升客单价：组合推荐、满额优惠",
                "raise their order value: bundles and spend-more offers",
            ),
            RfmClass::GeneralRetention => lang.pick(
                "低成本维系：自动化营销、积分与提醒",
                "keep them cheaply: automated marketing, points and reminders",
            ),
            RfmClass::GeneralDevelopment => lang.pick(
                "新客培育：欢迎礼包，引导复购",
                "nurture: welcome offer, prompt the second purchase",
            ),
            RfmClass::GeneralWinBack => lang.pick(
                "定期自动激活，不投入人工",
                "periodic automated re-activation, no manual effort",
            ),
        }
    }
}

impl Labelled for RfmClass {
    fn code(&self) -> &'static str {
        match self {
            RfmClass::ImportantValue => "important_value",
            RfmClass::ImportantRetention => "important_retention",
            RfmClass::ImportantDevelopment => "important_development",
            RfmClass::ImportantWinBack => "important_win_back",
            RfmClass::GeneralValue => "general_value",
            RfmClass::GeneralRetention => "general_retention",
            RfmClass::GeneralDevelopment => "general_development",
            RfmClass::GeneralWinBack => "general_win_back",
        }
    }

    fn label(&self, lang: Lang) -> &'static str {
        match self {
            RfmClass::ImportantValue => lang.pick("重要价值客户", "Important value"),
            RfmClass::ImportantRetention => lang.pick("重要保持客户", "Important retention"),
            RfmClass::ImportantDevelopment => lang.pick("重要发展客户", "Important development"),
            RfmClass::ImportantWinBack => lang.pick("重要挽留客户", "Important win-back"),
            RfmClass::GeneralValue => lang.pick("一般价值客户", "General value"),
            RfmClass::GeneralRetention => lang.pick("一般保持客户", "General retention"),
            RfmClass::GeneralDevelopment => lang.pick("一般发展客户", "General development"),
            RfmClass::GeneralWinBack => lang.pick("一般挽留客户", "General win-back"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_high_low_combination_is_a_different_class() {
        let mut seen = Vec::new();
        for r in [true, false] {
            for f in [true, false] {
                for m in [true, false] {
                    seen.push(RfmClass::from_highs(r, f, m));
                }
            }
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen, RfmClass::ALL.to_vec());
    }
}
