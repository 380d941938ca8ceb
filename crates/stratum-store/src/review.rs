//! Tier review by sales: an account manager agrees with a customer's final tier in a run, or
//! disputes it with a proposed tier and a reason; an approver (analyst or admin) approves or
//! rejects each dispute. An approved dispute becomes the customer's override in force (one per
//! customer, until it expires), which every later run kept in the store applies
//! ([`Store::overrides`]; the run skips those expired at its analysis date);
//! a rejected one keeps the rule's tier, with the answer.
//!
//! Agreement rate of a run ([`Store::review_stats`]): over the customers reviewed in it, each
//! by their latest review, those agreed / those reviewed, per tier and per account manager.
//! A dispute counts as disagreement whatever its decision.

use chrono::NaiveDate;
use stratum_core::scheme::Override;

use crate::access::Value;
use crate::{Store, StoreError};

/// What a reviewer said of a tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The tier is right.
    Agree,
    /// The tier is wrong; another is proposed.
    Dispute,
}

impl Verdict {
    /// The code kept and given in the API.
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Agree => "agree",
            Verdict::Dispute => "dispute",
        }
    }

    /// The verdict of `code`.
    pub fn parse(code: &str) -> Option<Verdict> {
        match code {
            "agree" => Some(Verdict::Agree),
            "dispute" => Some(Verdict::Dispute),
            _ => None,
        }
    }
}

/// Where a review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewStatus {
    /// An agreement (nothing to decide).
    Agreed,
    /// A dispute waiting for a decision.
    Pending,
    /// A dispute approved: an override.
    Approved,
    /// A dispute rejected: the rule's tier stays.
    Rejected,
}

impl ReviewStatus {
    /// Every status.
    pub const ALL: [ReviewStatus; 4] = [
        ReviewStatus::Agreed,
        ReviewStatus::Pending,
        ReviewStatus::Approved,
        ReviewStatus::Rejected,
    ];

    /// The code kept and given in the API.
    pub fn code(self) -> &'static str {
        match self {
            ReviewStatus::Agreed => "agreed",
            ReviewStatus::Pending => "pending",
            ReviewStatus::Approved => "approved",
            ReviewStatus::Rejected => "rejected",
        }
    }

    /// The status of `code`.
    pub fn parse(code: &str) -> Option<ReviewStatus> {
        ReviewStatus::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// A review to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReview {
    /// The run whose tier is reviewed.
    pub run: i64,
    /// The customer.
    pub customer: String,
    /// The final dimension.
    pub dimension: String,
    /// The customer's tier in it.
    pub tier: String,
    /// Agree or dispute.
    pub verdict: Verdict,
    /// The tier proposed (a dispute).
    pub proposed: Option<String>,
    /// Why.
    pub reason: String,
    /// Who reviewed (a user name).
    pub reviewer: String,
    /// The customer's account manager.
    pub manager: String,
    /// When (RFC 3339).
    pub created_at: String,
}

/// A review as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// Its id.
    pub id: i64,
    /// What was said.
    pub review: NewReview,
    /// Where it stands.
    pub status: ReviewStatus,
    /// Who decided (a dispute).
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<String>,
    /// The answer.
    pub answer: Option<String>,
    /// The last day the override applies (an approved dispute).
    pub expires: Option<NaiveDate>,
}

/// A decision on a dispute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Approve (the proposed tier becomes an override) or reject.
    pub approve: bool,
    /// Who decides.
    pub by: String,
    /// When (RFC 3339); its day is the override's `set_on`.
    pub at: String,
    /// The answer to the reviewer.
    pub answer: String,
    /// The last day the override applies (approval; none: until removed).
    pub expires: Option<NaiveDate>,
}

/// An override in force, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptOverride {
    /// The override.
    pub item: Override,
    /// The review it came from.
    pub review: Option<i64>,
}

/// Agreement among the customers reviewed in a run, in one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Agreement {
    /// Customers whose latest review agrees.
    pub agreed: usize,
    /// Customers whose latest review disputes.
    pub disputed: usize,
    /// Of those disputes, approved.
    pub approved: usize,
    /// Of those disputes, rejected.
    pub rejected: usize,
}

impl Agreement {
    /// Customers reviewed.
    pub fn reviewed(&self) -> usize {
        self.agreed + self.disputed
    }

    /// Agreed / reviewed.
    pub fn rate(&self) -> Option<f64> {
        let n = self.reviewed();
        (n > 0).then(|| self.agreed as f64 / n as f64)
    }

    fn add(&mut self, r: &Review) {
        match r.status {
            ReviewStatus::Agreed => self.agreed += 1,
            ReviewStatus::Pending => self.disputed += 1,
            ReviewStatus::Approved => {
                self.disputed += 1;
                self.approved += 1;
            }
            ReviewStatus::Rejected => {
                self.disputed += 1;
                self.rejected += 1;
            }
        }
    }
}

/// A run's agreement rates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReviewStats {
    /// The run.
    pub run: i64,
    /// Every customer reviewed.
    pub all: Agreement,
    /// By the tier reviewed, in code order.
    pub by_tier: Vec<(String, Agreement)>,
    /// By account manager, in name order.
    pub by_manager: Vec<(String, Agreement)>,
}

/// Which reviews to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewFilter {
    /// Of this run.
    pub run: Option<i64>,
    /// In this status.
    pub status: Option<ReviewStatus>,
    /// Of this account manager's customers.
    pub manager: Option<String>,
    /// Of this customer.
    pub customer: Option<String>,
}

const REVIEW_COLUMNS: &str = "id, run, customer, dimension, tier, verdict, proposed, reason, \
     reviewer, manager, created_at, status, decided_by, decided_at, answer, expires";

fn text(row: &[Value], i: usize) -> Result<String, StoreError> {
    crate::access::text_at(row, i, "review")
}

fn opt(row: &[Value], i: usize) -> Option<String> {
    crate::access::opt_text_at(row, i)
}

fn int(row: &[Value], i: usize) -> Result<i64, StoreError> {
    crate::access::int_at(row, i, "review")
}

fn day(text: Option<String>) -> Result<Option<NaiveDate>, StoreError> {
    text.map(|t| {
        t.parse::<NaiveDate>().map_err(|_| StoreError::Corrupt {
            what: "date",
            value: t.clone(),
        })
    })
    .transpose()
}

fn review_of(row: &[Value]) -> Result<Review, StoreError> {
    let verdict = text(row, 5)?;
    let status = text(row, 11)?;
    Ok(Review {
        id: int(row, 0)?,
        review: NewReview {
            run: int(row, 1)?,
            customer: text(row, 2)?,
            dimension: text(row, 3)?,
            tier: text(row, 4)?,
            verdict: Verdict::parse(&verdict).ok_or(StoreError::Corrupt {
                what: "verdict",
                value: verdict,
            })?,
            proposed: opt(row, 6),
            reason: text(row, 7)?,
            reviewer: text(row, 8)?,
            manager: text(row, 9)?,
            created_at: text(row, 10)?,
        },
        status: ReviewStatus::parse(&status).ok_or(StoreError::Corrupt {
            what: "review status",
            value: status,
        })?,
        decided_by: opt(row, 12),
        decided_at: opt(row, 13),
        answer: opt(row, 14),
        expires: day(opt(row, 15))?,
    })
}

impl Store {
    /// Keeps a review; returns its id. An agreement is `agreed`, a dispute `pending`.
    pub fn add_review(&mut self, r: &NewReview) -> Result<i64, StoreError> {
        let status = match r.verdict {
            Verdict::Agree => ReviewStatus::Agreed,
            Verdict::Dispute => ReviewStatus::Pending,
        };
        let rows = self.db.query(
            "INSERT INTO reviews (run, customer, dimension, tier, verdict, proposed, reason, \
             reviewer, manager, created_at, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &[
                Value::Int(r.run),
                r.customer.as_str().into(),
                r.dimension.as_str().into(),
                r.tier.as_str().into(),
                r.verdict.code().into(),
                r.proposed.as_deref().into(),
                r.reason.as_str().into(),
                r.reviewer.as_str().into(),
                r.manager.as_str().into(),
                r.created_at.as_str().into(),
                status.code().into(),
            ],
        )?;
        rows.first().map_or(
            Err(StoreError::Corrupt {
                what: "review id",
                value: String::new(),
            }),
            |row| int(row, 0),
        )
    }

    /// The reviews `filter` selects, newest first.
    pub fn reviews(&mut self, filter: &ReviewFilter) -> Result<Vec<Review>, StoreError> {
        let conditions = [
            filter.run.map(|r| ("run = ?", Value::Int(r))),
            filter.status.map(|s| ("status = ?", s.code().into())),
            filter.manager.as_deref().map(|m| ("manager = ?", m.into())),
            filter
                .customer
                .as_deref()
                .map(|c| ("customer = ?", c.into())),
        ];
        let (filter, params) = crate::access::where_of(conditions.into_iter().flatten().collect());
        let rows = self.db.query(
            &format!("SELECT {REVIEW_COLUMNS} FROM reviews{filter} ORDER BY id DESC"),
            &params,
        )?;
        rows.iter().map(|r| review_of(r)).collect()
    }

    /// Review `id`, if kept.
    pub fn review(&mut self, id: i64) -> Result<Option<Review>, StoreError> {
        let rows = self.db.query(
            &format!("SELECT {REVIEW_COLUMNS} FROM reviews WHERE id = $1"),
            &[Value::Int(id)],
        )?;
        rows.first().map(|r| review_of(r)).transpose()
    }

    /// Decides dispute `id`: approved, its proposed tier becomes the customer's override in
    /// force (replacing any other), set on the decision's day with the reviewer's reason;
    /// rejected, the rule's tier stays. All of it or nothing; [`StoreError::Conflict`] when
    /// the review is not a pending dispute (decided already, or an agreement).
    pub fn decide(&mut self, id: i64, d: &Decision) -> Result<Review, StoreError> {
        let review = self.review(id)?.ok_or(StoreError::NoReview(id))?;
        let status = if d.approve {
            ReviewStatus::Approved
        } else {
            ReviewStatus::Rejected
        };
        let expires = d.expires.map(|e| e.to_string());
        let mut statements: Vec<crate::Statement<'_>> = vec![(
            "UPDATE reviews SET status = $1, decided_by = $2, decided_at = $3, answer = $4, \
             expires = $5 WHERE id = $6 AND status = 'pending'",
            vec![
                status.code().into(),
                d.by.as_str().into(),
                d.at.as_str().into(),
                d.answer.as_str().into(),
                expires.as_deref().into(),
                Value::Int(id),
            ],
            true,
        )];
        if d.approve {
            let r = &review.review;
            let day = d.at.get(..10).unwrap_or(&d.at).to_string();
            statements.push((
                "DELETE FROM tier_overrides WHERE customer = $1",
                vec![r.customer.as_str().into()],
                false,
            ));
            statements.push((
                "INSERT INTO tier_overrides (customer, tier, reason, set_by, set_on, expires, \
                 review) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                vec![
                    r.customer.as_str().into(),
                    r.proposed.as_deref().unwrap_or(&r.tier).into(),
                    override_reason(&review, d).as_str().into(),
                    r.reviewer.as_str().into(),
                    day.as_str().into(),
                    expires.as_deref().into(),
                    Value::Int(id),
                ],
                true,
            ));
        }
        self.db.execute_all(&statements)?;
        self.review(id)?.ok_or(StoreError::NoReview(id))
    }

    /// Every override kept, by customer.
    pub fn overrides(&mut self) -> Result<Vec<KeptOverride>, StoreError> {
        let rows = self.db.query(
            "SELECT customer, tier, reason, set_by, set_on, expires, review FROM tier_overrides \
             ORDER BY customer",
            &[],
        )?;
        rows.iter()
            .map(|row| {
                Ok(KeptOverride {
                    item: Override {
                        customer_id: text(row, 0)?,
                        tier: text(row, 1)?,
                        reason: text(row, 2)?,
                        set_by: text(row, 3)?,
                        set_on: day(opt(row, 4))?,
                        expires: day(opt(row, 5))?,
                    },
                    review: match row.get(6) {
                        Some(Value::Int(n)) => Some(*n),
                        _ => None,
                    },
                })
            })
            .collect()
    }

    /// Run `run`'s agreement rates (see the module's definition).
    pub fn review_stats(&mut self, run: i64) -> Result<ReviewStats, StoreError> {
        let reviews = self.reviews(&ReviewFilter {
            run: Some(run),
            ..ReviewFilter::default()
        })?;
        Ok(stats_of(run, &reviews))
    }
}

/// `s` as the history view shows it (none without a customer reviewed).
pub fn agreement_view(s: &ReviewStats) -> Option<stratum_core::history::AgreementView> {
    use stratum_core::history::{AgreementRow, AgreementView};
    if s.all.reviewed() == 0 {
        return None;
    }
    let row = |kind: &'static str, group: &str, a: &Agreement| AgreementRow {
        kind,
        group: group.to_string(),
        reviewed: a.reviewed(),
        agreed: a.agreed,
        approved: a.approved,
        rejected: a.rejected,
    };
    let mut rows = vec![row("all", "", &s.all)];
    rows.extend(s.by_tier.iter().map(|(t, a)| row("tier", t, a)));
    rows.extend(s.by_manager.iter().map(|(m, a)| row("manager", m, a)));
    Some(AgreementView { run: s.run, rows })
}

/// The override's reason: the reviewer's, with the dispute and who approved it.
fn override_reason(review: &Review, d: &Decision) -> String {
    let mut reason = format!(
        "{} (dispute #{} approved by {})",
        review.review.reason, review.id, d.by
    );
    if !d.answer.is_empty() {
        reason.push_str(&format!(": {}", d.answer));
    }
    reason
}

/// The agreement rates of `reviews` (newest first, as [`Store::reviews`] lists them).
pub fn stats_of(run: i64, reviews: &[Review]) -> ReviewStats {
    use std::collections::{BTreeMap, HashSet};
    let mut seen = HashSet::new();
    let mut stats = ReviewStats {
        run,
        ..ReviewStats::default()
    };
    let mut by_tier: BTreeMap<&str, Agreement> = BTreeMap::new();
    let mut by_manager: BTreeMap<&str, Agreement> = BTreeMap::new();
    // the latest review of each customer
    for r in reviews.iter().filter(|r| r.review.run == run) {
        if !seen.insert(r.review.customer.as_str()) {
            continue;
        }
        stats.all.add(r);
        by_tier.entry(&r.review.tier).or_default().add(r);
        by_manager.entry(&r.review.manager).or_default().add(r);
    }
    stats.by_tier = by_tier
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    stats.by_manager = by_manager
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(id: i64, customer: &str, tier: &str, manager: &str, status: ReviewStatus) -> Review {
        Review {
            id,
            review: NewReview {
                run: 2,
                customer: customer.into(),
                dimension: "tier".into(),
                tier: tier.into(),
                verdict: if status == ReviewStatus::Agreed {
                    Verdict::Agree
                } else {
                    Verdict::Dispute
                },
                proposed: None,
                reason: String::new(),
                reviewer: manager.into(),
                manager: manager.into(),
                created_at: String::new(),
            },
            status,
            decided_by: None,
            decided_at: None,
            answer: None,
            expires: None,
        }
    }

    /// Newest first: A's dispute (pending) after A's agreement, so A counts as disputed;
    /// B agreed; C disputed and approved; D disputed and rejected (李娜).
    /// All: 1 agreed of 4, 25%. big (A, B): 1 of 2. small (C, D): 0 of 2.
    /// 张伟 (A, B, C): 1 of 3; 李娜 (D): 0 of 1.
    #[test]
    fn agreement_counts_each_customer_once_by_their_latest_review() {
        use ReviewStatus::*;
        let reviews = [
            review(5, "A", "big", "张伟", Pending),
            review(4, "D", "small", "李娜", Rejected),
            review(3, "C", "small", "张伟", Approved),
            review(2, "B", "big", "张伟", Agreed),
            review(1, "A", "big", "张伟", Agreed),
        ];
        let s = stats_of(2, &reviews);
        assert_eq!(
            s.all,
            Agreement {
                agreed: 1,
                disputed: 3,
                approved: 1,
                rejected: 1
            }
        );
        assert_eq!(s.all.rate(), Some(0.25));
        let tiers: Vec<(&str, Option<f64>)> = s
            .by_tier
            .iter()
            .map(|(t, a)| (t.as_str(), a.rate()))
            .collect();
        assert_eq!(tiers, [("big", Some(0.5)), ("small", Some(0.0))]);
        let managers: Vec<(&str, usize, usize)> = s
            .by_manager
            .iter()
            .map(|(m, a)| (m.as_str(), a.agreed, a.reviewed()))
            .collect();
        assert_eq!(managers, [("张伟", 1, 3), ("李娜", 0, 1)]);
    }

    #[test]
    fn codes_read_back() {
        for s in ReviewStatus::ALL {
            assert_eq!(ReviewStatus::parse(s.code()), Some(s));
        }
        assert_eq!(Verdict::parse("dispute"), Some(Verdict::Dispute));
        assert_eq!(Verdict::parse("maybe"), None);
    }
}
