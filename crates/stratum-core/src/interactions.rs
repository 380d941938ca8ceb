//! Customer interactions (visits, calls, tickets, complaints, surveys) and the features a
//! scheme uses from them: interactions and complaints in the last 90 days, the complaint rate,
//! the average satisfaction and the last NPS answer.
//!
//! Definitions, all at `as_of` (interactions on or after it are left out):
//! - `interactions_90d`, `complaints_90d`: dated in `[as_of − 90 days, as_of)`;
//! - `complaint_rate`: complaints / interactions over the last twelve months (empty without
//!   interactions in that time);
//! - `avg_satisfaction`: the mean of every satisfaction answer (1–5);
//! - `last_nps`: the latest NPS answer (0–10); its category is `promoter` (9–10), `passive`
//!   (7–8) or `detractor` (0–6). The NPS of a group is the share of promoters minus the share
//!   of detractors among its customers with an answer, in points (−100 to 100).

use chrono::NaiveDate;
use rustc_hash::FxHashMap;

/// What kind of contact an interaction was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InteractionKind {
    /// A visit.
    Visit,
    /// A phone call.
    Call,
    /// A support ticket.
    Ticket,
    /// A complaint.
    Complaint,
    /// A survey answer.
    Survey,
    /// Anything else (counted as an interaction).
    Other,
}

impl InteractionKind {
    /// The kind named by an export's type column, in English or Chinese (`拜访`, `电话`,
    /// `工单`, `投诉`, `问卷`, …); unknown words are [`InteractionKind::Other`].
    pub fn from_text(text: &str) -> InteractionKind {
        let t = text.trim().to_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
        if has(&["complain", "投诉", "抱怨", "客诉"]) {
            InteractionKind::Complaint
        } else if has(&["survey", "nps", "问卷", "调查", "调研", "评价"]) {
            InteractionKind::Survey
        } else if has(&["ticket", "support", "工单", "售后", "服务单"]) {
            InteractionKind::Ticket
        } else if has(&["visit", "meeting", "拜访", "走访", "上门", "会面"]) {
            InteractionKind::Visit
        } else if has(&["call", "phone", "电话", "来电", "回访"]) {
            InteractionKind::Call
        } else {
            InteractionKind::Other
        }
    }
}

/// One interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interaction {
    /// The day.
    pub date: NaiveDate,
    /// The kind.
    pub kind: InteractionKind,
    /// Satisfaction 1–5, if asked.
    pub satisfaction: Option<u8>,
    /// NPS answer 0–10, if asked.
    pub nps: Option<u8>,
}

/// A customer's interaction features at `as_of`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct InteractionStats {
    /// Interactions in the last 90 days.
    pub interactions_90d: u64,
    /// Complaints in the last 90 days.
    pub complaints_90d: u64,
    /// Complaints / interactions over the last twelve months.
    pub complaint_rate: Option<f64>,
    /// Mean satisfaction over every answer.
    pub avg_satisfaction: Option<f64>,
    /// The latest NPS answer.
    pub last_nps: Option<u8>,
}

/// The NPS category of an answer: `promoter`, `passive` or `detractor`.
pub fn nps_category(answer: u8) -> &'static str {
    match answer {
        9.. => "promoter",
        7..=8 => "passive",
        _ => "detractor",
    }
}

/// The NPS of a set of answers: % promoters − % detractors, or `None` without answers.
pub fn nps_score(answers: impl IntoIterator<Item = u8>) -> Option<f64> {
    let (mut n, mut promoters, mut detractors) = (0u64, 0u64, 0u64);
    for a in answers {
        n += 1;
        match nps_category(a) {
            "promoter" => promoters += 1,
            "detractor" => detractors += 1,
            _ => {}
        }
    }
    (n > 0).then(|| (promoters as f64 - detractors as f64) * 100.0 / n as f64)
}

/// Every customer's interactions.
#[derive(Debug, Clone, Default)]
pub struct InteractionLog {
    by_customer: FxHashMap<String, Vec<Interaction>>,
}

impl InteractionLog {
    /// An empty log.
    pub fn new() -> Self {
        InteractionLog::default()
    }

    /// Adds an interaction of `customer_id`.
    pub fn add(&mut self, customer_id: &str, interaction: Interaction) {
        match self.by_customer.get_mut(customer_id) {
            Some(v) => v.push(interaction),
            None => {
                self.by_customer
                    .insert(customer_id.to_string(), vec![interaction]);
            }
        }
    }

    /// Interactions dated on or after `as_of` (left out of every feature).
    pub fn on_or_after(&self, as_of: NaiveDate) -> u64 {
        self.by_customer
            .values()
            .flatten()
            .filter(|i| i.date >= as_of)
            .count() as u64
    }

    /// Every interaction with its customer, customer by customer (in no set order).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Interaction)> {
        self.by_customer
            .iter()
            .flat_map(|(c, list)| list.iter().map(move |i| (c.as_str(), i)))
    }

    /// The customers with interactions.
    pub fn customer_ids(&self) -> impl Iterator<Item = &str> {
        self.by_customer.keys().map(String::as_str)
    }

    /// The features of `customer_id` at `as_of`; `None` without any interaction before it.
    pub fn stats(&self, customer_id: &str, as_of: NaiveDate) -> Option<InteractionStats> {
        let list = self.by_customer.get(customer_id)?;
        let d90 = as_of - chrono::Duration::days(90);
        let y1 = as_of
            .checked_sub_months(chrono::Months::new(12))
            .unwrap_or(NaiveDate::MIN);
        let mut s = InteractionStats::default();
        let (mut n12, mut c12, mut sat_sum, mut sat_n) = (0u64, 0u64, 0u64, 0u64);
        let mut last_nps: Option<(NaiveDate, u8)> = None;
        let mut any = false;
        for i in list.iter().filter(|i| i.date < as_of) {
            any = true;
            let complaint = i.kind == InteractionKind::Complaint;
            if i.date >= d90 {
                s.interactions_90d += 1;
                s.complaints_90d += u64::from(complaint);
            }
            if i.date >= y1 {
                n12 += 1;
                c12 += u64::from(complaint);
            }
            if let Some(v) = i.satisfaction {
                sat_sum += u64::from(v);
                sat_n += 1;
            }
            // the latest answer; on one day, the one read last
            if let Some(v) = i.nps
                && last_nps.is_none_or(|(d, _)| i.date >= d)
            {
                last_nps = Some((i.date, v));
            }
        }
        if !any {
            return None;
        }
        s.complaint_rate = (n12 > 0).then(|| c12 as f64 / n12 as f64);
        s.avg_satisfaction = (sat_n > 0).then(|| sat_sum as f64 / sat_n as f64);
        s.last_nps = last_nps.map(|(_, v)| v);
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn i(date: &str, kind: InteractionKind, sat: Option<u8>, nps: Option<u8>) -> Interaction {
        Interaction {
            date: d(date),
            kind,
            satisfaction: sat,
            nps,
        }
    }

    #[test]
    fn stats_count_windows_rates_and_the_last_answer() {
        use InteractionKind::*;
        let mut log = InteractionLog::new();
        // as of 2025-07-01: 90 days back is 2025-04-02, 12 months back 2024-07-01
        log.add("A", i("2025-06-30", Complaint, None, None));
        log.add("A", i("2025-04-02", Call, None, None));
        log.add("A", i("2025-04-01", Survey, Some(4), Some(9)));
        log.add("A", i("2024-07-01", Ticket, Some(2), None));
        log.add("A", i("2024-06-30", Complaint, None, None));
        log.add("A", i("2023-01-01", Survey, Some(3), Some(6)));
        log.add("A", i("2025-07-01", Survey, Some(5), Some(0))); // on as_of: left out
        let s = log.stats("A", d("2025-07-01")).expect("stats");
        // last 90 days: the complaint and the call; last 12 months: 4 interactions, 1 complaint;
        // satisfaction (4 + 2 + 3) / 3; the latest NPS answer before as_of is 9
        assert_eq!(
            s,
            InteractionStats {
                interactions_90d: 2,
                complaints_90d: 1,
                complaint_rate: Some(0.25),
                avg_satisfaction: Some(3.0),
                last_nps: Some(9),
            }
        );
        assert_eq!(log.stats("B", d("2025-07-01")), None);
        assert_eq!(log.on_or_after(d("2025-07-01")), 1);
        assert_eq!(log.stats("A", d("2022-01-01")), None);
    }

    #[test]
    fn nps_is_promoters_minus_detractors_in_points() {
        assert_eq!(nps_category(9), "promoter");
        assert_eq!(nps_category(8), "passive");
        assert_eq!(nps_category(6), "detractor");
        // 3 promoters, 1 passive, 2 detractors of 6: 50% − 33.3% = 16.7 points
        let s = nps_score([10, 9, 9, 7, 6, 0]).expect("answers");
        assert!((s - 100.0 / 6.0).abs() < 1e-9);
        assert_eq!(nps_score([]), None);
    }

    #[test]
    fn interaction_types_are_read_in_english_and_chinese() {
        use InteractionKind::*;
        for (text, kind) in [
            ("客户投诉", Complaint),
            ("Complaint", Complaint),
            ("满意度问卷", Survey),
            ("售后工单", Ticket),
            ("上门拜访", Visit),
            ("电话回访", Call),
            ("email", Other),
        ] {
            assert_eq!(InteractionKind::from_text(text), kind, "{text}");
        }
    }
}
