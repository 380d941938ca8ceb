//! Follow-ups: an account manager's visits, calls and messages with a customer, recorded on
//! the dashboard or imported from an interactions file. A customer's next action is due its
//! tier's follow-up interval after the later of their last purchase and last follow-up.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::access::Value;
use crate::{Store, StoreError};

/// What kind of contact.
pub const KINDS: [&str; 3] = ["visit", "call", "message"];

/// A follow-up to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFollowUp {
    /// The customer.
    pub customer: String,
    /// Their account manager.
    pub manager: String,
    /// `visit`, `call` or `message`.
    pub kind: String,
    /// The day it happened.
    pub day: NaiveDate,
    /// What was said or agreed.
    pub note: String,
    /// Who recorded it (a user name, or `import`).
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
}

/// A follow-up as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    /// Its id.
    pub id: i64,
    /// What it was.
    pub item: NewFollowUp,
    /// `dashboard` or `import`.
    pub source: String,
}

/// Which follow-ups to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowUpFilter {
    /// Of this customer.
    pub customer: Option<String>,
    /// Of this account manager's customers.
    pub manager: Option<String>,
    /// On or after this day.
    pub from: Option<NaiveDate>,
    /// Before this day.
    pub until: Option<NaiveDate>,
}

fn text(row: &[Value], i: usize) -> Result<String, StoreError> {
    crate::access::text_at(row, i, "follow-up")
}

fn day_of(row: &[Value], i: usize) -> Result<NaiveDate, StoreError> {
    let t = text(row, i)?;
    t.parse().map_err(|_| StoreError::Corrupt {
        what: "date",
        value: t,
    })
}

impl Store {
    /// Keeps a follow-up recorded on the dashboard; returns its id.
    pub fn add_follow_up(&mut self, f: &NewFollowUp) -> Result<i64, StoreError> {
        let rows = self.db.query(
            "INSERT INTO follow_ups (customer, manager, kind, day, note, created_by, created_at, \
             source) VALUES ($1, $2, $3, $4, $5, $6, $7, 'dashboard') RETURNING id",
            &params(f),
        )?;
        match rows.first().and_then(|r| r.first()) {
            Some(Value::Int(id)) => Ok(*id),
            _ => Err(StoreError::Corrupt {
                what: "follow-up id",
                value: String::new(),
            }),
        }
    }

    /// Imports follow-ups (from an interactions file), each customer, day and kind once
    /// however often imported; returns how many were new.
    pub fn import_follow_ups(&mut self, list: &[NewFollowUp]) -> Result<usize, StoreError> {
        let sql = "INSERT INTO follow_ups (customer, manager, kind, day, note, created_by, \
                   created_at, source) SELECT $1, $2, $3, $4, $5, $6, $7, 'import' \
                   WHERE NOT EXISTS (SELECT 1 FROM follow_ups WHERE customer = $1 AND day = $4 \
                   AND kind = $3 AND source = 'import')";
        let before = self.follow_up_count()?;
        let statements: Vec<crate::Statement<'_>> = list
            .iter()
            .map(|f| (sql, params(f).to_vec(), false))
            .collect();
        self.db.execute_all(&statements)?;
        Ok(self.follow_up_count()? - before)
    }

    fn follow_up_count(&mut self) -> Result<usize, StoreError> {
        let rows = self.db.query("SELECT COUNT(*) FROM follow_ups", &[])?;
        match rows.first().and_then(|r| r.first()) {
            Some(Value::Int(n)) => Ok(*n as usize),
            _ => Ok(0),
        }
    }

    /// The follow-ups `filter` selects, latest day first.
    pub fn follow_ups(&mut self, filter: &FollowUpFilter) -> Result<Vec<FollowUp>, StoreError> {
        let (from, until) = (
            filter.from.map(|d| d.to_string()),
            filter.until.map(|d| d.to_string()),
        );
        let conditions = [
            filter
                .customer
                .as_deref()
                .map(|c| ("customer = ?", c.into())),
            filter.manager.as_deref().map(|m| ("manager = ?", m.into())),
            from.as_deref().map(|d| ("day >= ?", d.into())),
            until.as_deref().map(|d| ("day < ?", d.into())),
        ];
        let (filter, params) = crate::access::where_of(conditions.into_iter().flatten().collect());
        let rows = self.db.query(
            &format!(
                "SELECT id, customer, manager, kind, day, note, created_by, created_at, source \
                 FROM follow_ups{filter} ORDER BY day DESC, id DESC"
            ),
            &params,
        )?;
        rows.iter()
            .map(|r| {
                Ok(FollowUp {
                    id: crate::access::int_at(r, 0, "follow-up id")?,
                    item: NewFollowUp {
                        customer: text(r, 1)?,
                        manager: text(r, 2)?,
                        kind: text(r, 3)?,
                        day: day_of(r, 4)?,
                        note: text(r, 5)?,
                        created_by: text(r, 6)?,
                        created_at: text(r, 7)?,
                    },
                    source: text(r, 8)?,
                })
            })
            .collect()
    }

    /// Each customer's last follow-up day before `until` (all when `None`).
    pub fn last_follow_ups(
        &mut self,
        until: Option<NaiveDate>,
    ) -> Result<HashMap<String, NaiveDate>, StoreError> {
        let until = until.map_or_else(|| "9999-12-31".to_string(), |d| d.to_string());
        let rows = self.db.query(
            "SELECT customer, MAX(day) FROM follow_ups WHERE day < $1 GROUP BY customer",
            &[until.as_str().into()],
        )?;
        rows.iter()
            .map(|r| Ok((text(r, 0)?, day_of(r, 1)?)))
            .collect()
    }
}

fn params(f: &NewFollowUp) -> [Value; 7] {
    [
        f.customer.as_str().into(),
        f.manager.as_str().into(),
        f.kind.as_str().into(),
        f.day.to_string().as_str().into(),
        f.note.as_str().into(),
        f.created_by.as_str().into(),
        f.created_at.as_str().into(),
    ]
}

/// When a customer's next action is due: `interval` days after the later of their last
/// purchase and last follow-up.
pub fn due(
    last_purchase: Option<NaiveDate>,
    last_follow_up: Option<NaiveDate>,
    interval: u32,
) -> Option<NaiveDate> {
    let base = last_purchase.max(last_follow_up)?;
    base.checked_add_days(chrono::Days::new(u64::from(interval)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).expect("date")
    }

    #[test]
    fn the_next_action_is_due_after_the_later_contact() {
        assert_eq!(due(Some(d(3, 1)), None, 30), Some(d(3, 31)));
        assert_eq!(due(Some(d(3, 1)), Some(d(4, 10)), 30), Some(d(5, 10)));
        assert_eq!(due(Some(d(5, 1)), Some(d(4, 10)), 7), Some(d(5, 8)));
        assert_eq!(due(None, Some(d(4, 10)), 7), Some(d(4, 17)));
        assert_eq!(due(None, None, 7), None);
    }
}
