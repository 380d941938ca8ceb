//! The latest run's customers in memory, column by column: what searches, filters, pages and
//! worklists read (a million customers fit in well under a gigabyte, and a filter is one pass
//! over small integer columns). Built once per run from the store's kept profile.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use stratum_core::Money;
use stratum_core::clv::ChurnBand;
use stratum_core::history::HistoryView;
use stratum_core::scheme::{ColumnData, SchemeParams};
use stratum_store::chunk::date;
use stratum_store::{RunInfo, Store};

use crate::error::ApiError;
use crate::grams::Trigrams;

/// No value in a dictionary column.
pub(crate) const NONE: u32 = u32::MAX;

/// The distinct values of a text column, each once.
#[derive(Debug, Default)]
pub(crate) struct Dict {
    pub(crate) values: Vec<String>,
    index: HashMap<String, u32>,
}

impl Dict {
    fn code(&mut self, value: Option<&str>) -> u32 {
        let Some(v) = value.filter(|v| !v.is_empty()) else {
            return NONE;
        };
        if let Some(&c) = self.index.get(v) {
            return c;
        }
        let c = self.values.len() as u32;
        self.values.push(v.to_string());
        self.index.insert(v.to_string(), c);
        c
    }

    /// The code of `value`; [`NONE`] when no customer has it.
    pub(crate) fn find(&self, value: &str) -> u32 {
        self.index.get(value).copied().unwrap_or(NONE)
    }

    /// The value of `code`.
    pub(crate) fn get(&self, code: u32) -> Option<&str> {
        self.values.get(code as usize).map(String::as_str)
    }

    /// The values, sorted.
    pub(crate) fn sorted(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.values.iter().map(String::as_str).collect();
        v.sort_unstable();
        v
    }
}

/// A customer of the latest run.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) code: String,
    pub(crate) name: Option<String>,
    pub(crate) manager: u32,
    pub(crate) industry: u32,
    pub(crate) lifecycle: u32,
    pub(crate) churn: u32,
    /// The final tier's index in the final dimension; [`u16::MAX`] for none.
    pub(crate) tier: u16,
    pub(crate) monetary: Money,
    pub(crate) recency_days: i64,
    pub(crate) frequency: u64,
    pub(crate) last_purchase: Option<NaiveDate>,
    pub(crate) clv: Option<f64>,
    pub(crate) p_alive: Option<f64>,
}

/// The latest run's customers.
#[derive(Debug)]
pub(crate) struct Book {
    pub(crate) run: RunInfo,
    pub(crate) scheme: Option<SchemeParams>,
    /// The final dimension's name and tier codes (none without a scheme).
    pub(crate) dimension: Option<(String, Vec<String>)>,
    /// The customers by net revenue, largest first (ties by id): the default order, so a
    /// list by revenue is a walk from the start.
    pub(crate) rows: Vec<Row>,
    by_code: HashMap<String, u32>,
    pub(crate) managers: Dict,
    pub(crate) industries: Dict,
    pub(crate) lifecycles: Dict,
    pub(crate) churn: Dict,
    /// The filters' columns, in the rows' order (a filter reads only the columns it tests).
    columns: Columns,
    /// Each account manager's rows (by manager code), in the rows' order.
    by_manager: Vec<Vec<u32>>,
    /// Each final tier's, industry's, lifecycle stage's and churn band's rows, in the rows'
    /// order: a filter walks the shortest list that applies.
    by_tier: Vec<Vec<u32>>,
    by_industry: Vec<Vec<u32>>,
    by_lifecycle: Vec<Vec<u32>>,
    by_churn: Vec<Vec<u32>>,
    /// Every row's id and name in lowercase, `id \u{1} name \n`, one after the other.
    search: String,
    /// Where each row's text starts in `search`.
    starts: Vec<u32>,
    /// The trigrams of `search`: a search reads the rows that have all of its trigrams.
    grams: Trigrams,
    /// The follow-up interval of each final tier (by index), from its strategy.
    follow_up: Vec<Option<u32>>,
    /// Worklists worked out so far, by manager code: (days overdue, row), most overdue first.
    worklists: std::sync::Mutex<HashMap<u32, Arc<Work>>>,
    /// Each customer's last follow-up, by customer id (read with the book, kept up to date
    /// as follow-ups are recorded).
    follow_ups: std::sync::RwLock<HashMap<String, NaiveDate>>,
    /// The owners the public pool gave customers since the run (empty: in the pool), by
    /// customer id: read with the book (and applied to its rows), kept up to date as customers
    /// are claimed and released.
    owners: std::sync::RwLock<HashMap<String, String>>,
    /// Overviews worked out so far, by language and number of movers listed.
    pub(crate) overviews: std::sync::Mutex<HashMap<(stratum_core::Lang, usize), Overview>>,
}

/// A worklist: (days overdue at the run's date, row), most overdue first.
pub(crate) type Work = Vec<(Option<i64>, u32)>;

/// An overview's history, once worked out (none without runs).
pub(crate) type Overview = Arc<Option<HistoryView>>;

/// The filters' columns.
#[derive(Debug, Default)]
struct Columns {
    tier: Vec<u16>,
    manager: Vec<u32>,
    industry: Vec<u32>,
    lifecycle: Vec<u32>,
    churn: Vec<u32>,
}

/// The profile columns the book reads.
const ATTRIBUTES: [&str; 5] = [
    "name",
    "account_manager",
    "industry",
    "lifecycle",
    "churn_band",
];

impl Book {
    /// Run `run`'s customers, read from `store`.
    pub(crate) fn load(store: &mut Store, run: i64) -> Result<Book, ApiError> {
        let wanted: Vec<String> = ATTRIBUTES.iter().map(|s| s.to_string()).collect();
        let kept = store.kept_columns(run, Some(&wanted))?;
        let scheme = store
            .scheme_text(run)?
            .and_then(|t| SchemeParams::from_toml(&t).ok());
        let text = |name: &str| match kept.profile.column(name) {
            Some(ColumnData::Text(t)) => Some(t),
            _ => None,
        };
        let (names, managers_col, industries_col, lifecycles_col, churn_col) = (
            text("name"),
            text("account_manager"),
            text("industry"),
            text("lifecycle"),
            text("churn_band"),
        );
        let owners = store.pool_owner_map()?;
        let final_index = kept.layout.dimensions.len().checked_sub(1);
        let mut managers = Dict::default();
        let mut industries = Dict::default();
        let mut lifecycles = Dict::default();
        let mut churn = Dict::default();
        let mut rows = Vec::with_capacity(kept.rows.len());
        for (i, (s, code)) in kept.rows.iter().zip(kept.codes).enumerate() {
            let band = churn_col.and_then(|c| c.get(i)).or_else(|| {
                let b = s.clv.as_ref()?.churn_band?;
                ChurnBand::ALL.get(usize::from(b)).map(|b| b.code())
            });
            let tier = final_index
                .and_then(|d| s.tiers.get(d).copied())
                .unwrap_or(u16::MAX);
            rows.push(Row {
                name: names.and_then(|c| c.get(i)).map(str::to_string),
                // the pool's owner, when it changed the run's account manager
                manager: managers.code(
                    owners
                        .get(code.as_str())
                        .map(String::as_str)
                        .or_else(|| managers_col.and_then(|c| c.get(i))),
                ),
                industry: industries.code(industries_col.and_then(|c| c.get(i))),
                lifecycle: lifecycles.code(lifecycles_col.and_then(|c| c.get(i))),
                churn: churn.code(band),
                tier,
                monetary: s.monetary(),
                recency_days: s.recency_days,
                frequency: s.frequency,
                last_purchase: date(s.last_purchase),
                clv: s.clv.map(|c| c.clv),
                p_alive: s.clv.map(|c| c.p_alive),
                code,
            });
        }
        rows.sort_by(|a, b| {
            b.monetary
                .cmp(&a.monetary)
                .then_with(|| a.code.cmp(&b.code))
        });
        let dimension = final_index.and_then(|d| kept.layout.dimensions.get(d).cloned());
        let mut columns = Columns::default();
        let mut by_code = HashMap::with_capacity(rows.len());
        let mut by_manager: Vec<Vec<u32>> = vec![Vec::new(); managers.values.len()];
        let tiers = dimension.as_ref().map_or(0, |d| d.1.len());
        let mut by_tier: Vec<Vec<u32>> = vec![Vec::new(); tiers];
        let mut by_industry: Vec<Vec<u32>> = vec![Vec::new(); industries.values.len()];
        let mut by_lifecycle: Vec<Vec<u32>> = vec![Vec::new(); lifecycles.values.len()];
        let mut by_churn: Vec<Vec<u32>> = vec![Vec::new(); churn.values.len()];
        let mut search = String::new();
        let mut starts = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let i = i as u32;
            columns.tier.push(r.tier);
            columns.manager.push(r.manager);
            columns.industry.push(r.industry);
            columns.lifecycle.push(r.lifecycle);
            columns.churn.push(r.churn);
            by_code.insert(r.code.clone(), i);
            for (lists, code) in [
                (&mut by_manager, r.manager as usize),
                (&mut by_tier, usize::from(r.tier)),
                (&mut by_industry, r.industry as usize),
                (&mut by_lifecycle, r.lifecycle as usize),
                (&mut by_churn, r.churn as usize),
            ] {
                if let Some(list) = lists.get_mut(code) {
                    list.push(i);
                }
            }
            starts.push(search.len() as u32);
            push_key(&mut search, &r.code);
            search.push('\u{1}');
            push_key(&mut search, r.name.as_deref().unwrap_or(""));
            search.push('\n');
        }
        let follow_ups = store.last_follow_ups(None)?;
        let follow_up = dimension.as_ref().map_or(Vec::new(), |(_, tiers)| {
            tiers
                .iter()
                .map(|t| scheme.as_ref()?.strategy(t)?.follow_up_days)
                .collect()
        });
        Ok(Book {
            run: kept.info,
            scheme,
            dimension,
            rows,
            by_code,
            managers,
            industries,
            lifecycles,
            churn,
            columns,
            by_manager,
            by_tier,
            by_industry,
            by_lifecycle,
            by_churn,
            grams: Trigrams::build(search.as_bytes(), &starts),
            search,
            starts,
            follow_up,
            worklists: Default::default(),
            follow_ups: std::sync::RwLock::new(follow_ups),
            owners: std::sync::RwLock::new(owners),
            overviews: Default::default(),
        })
    }

    /// The row of the customer with id `code`.
    pub(crate) fn find(&self, code: &str) -> Option<&Row> {
        self.by_code
            .get(code)
            .and_then(|&i| self.rows.get(i as usize))
    }

    /// The final tier's code of `row`.
    pub(crate) fn tier_of(&self, row: &Row) -> Option<&str> {
        self.dimension
            .as_ref()
            .and_then(|(_, tiers)| tiers.get(usize::from(row.tier)))
            .map(String::as_str)
    }

    /// Whether customer `code` is one that a caller limited to account manager `scope`'s
    /// book may see (with no scope: every customer).
    pub(crate) fn visible(&self, code: &str, scope: Option<&str>) -> bool {
        scope.is_none_or(|s| {
            // the owner now (the pool's claims included); a customer in the pool is listed
            // on the pool's page, not opened
            self.find(code)
                .is_some_and(|r| self.owner_of(r).is_some_and(|o| o == s))
        })
    }

    /// The owner of `row`: the pool's since the run, else the run's account manager; `None`
    /// for a customer in the public pool, or without a manager.
    pub(crate) fn owner_of(&self, row: &Row) -> Option<String> {
        let owned = self
            .owners
            .read()
            .ok()
            .and_then(|m| m.get(&row.code).cloned());
        match owned {
            Some(o) => (!o.is_empty()).then_some(o),
            None => self.manager_of(row).map(str::to_string),
        }
    }

    /// Notes that the pool gave customer `code` to `owner` (empty: the pool): who sees them
    /// and whose worklist they are on change at once.
    pub(crate) fn note_owner(&self, code: &str, owner: &str) {
        if let Ok(mut m) = self.owners.write() {
            m.insert(code.to_string(), owner.to_string());
        }
        if let Ok(mut cached) = self.worklists.lock() {
            cached.clear();
        }
    }

    /// The bytes of the search text and its index.
    pub(crate) fn search_index_size(&self) -> usize {
        self.search.len() + 4 * self.starts.len() + self.grams.size()
    }

    /// The account manager of `row`.
    pub(crate) fn manager_of(&self, row: &Row) -> Option<&str> {
        self.managers.get(row.manager)
    }

    /// The rows whose id or name holds `needle` (lowercase), in the rows' order.
    fn search_hits(&self, needle: &str) -> Vec<u32> {
        self.grams
            .search(self.search.as_bytes(), &self.starts, needle.as_bytes())
    }

    /// The customers `filter` selects, in `sort` order: the total, and the rows of the page
    /// from `offset` of at most `limit`.
    pub(crate) fn select(
        &self,
        filter: &Filter,
        sort: Sort,
        descending: bool,
        offset: usize,
        limit: usize,
    ) -> (usize, Vec<&Row>) {
        let Some(test) = filter.compile(self) else {
            return (0, Vec::new());
        };
        // the fewest rows that can match: a search's hits, else the shortest list of a value
        // filtered on, else all
        let no_test = test.q.is_none()
            && [
                test.scope,
                test.manager,
                test.industry,
                test.lifecycle,
                test.churn,
            ]
            .iter()
            .all(Option::is_none)
            && test.tier.is_none();
        if no_test && sort == Sort::Revenue {
            let n = self.rows.len();
            let page: Vec<&Row> = if descending {
                self.rows.iter().skip(offset).take(limit).collect()
            } else {
                self.rows.iter().rev().skip(offset).take(limit).collect()
            };
            return (n, page);
        }
        let hits: Vec<u32>;
        let shortest = [
            list(&self.by_manager, test.scope),
            list(&self.by_manager, test.manager),
            list(&self.by_tier, test.tier.map(u32::from)),
            list(&self.by_industry, test.industry),
            list(&self.by_lifecycle, test.lifecycle),
            list(&self.by_churn, test.churn),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|l| l.len());
        let candidates: Box<dyn Iterator<Item = u32> + '_> = if let Some(q) = &test.q {
            hits = self.search_hits(q);
            Box::new(hits.iter().copied())
        } else if let Some(l) = shortest {
            Box::new(l.iter().copied())
        } else {
            Box::new(0..self.rows.len() as u32)
        };
        let matching = candidates.filter(|&i| test.matches(&self.columns, i as usize));
        if sort == Sort::Revenue {
            // the rows' own order (largest first): the page is picked up on the way
            if descending {
                let mut total = 0;
                let mut page = Vec::with_capacity(limit.min(1024));
                for i in matching {
                    if total >= offset && page.len() < limit {
                        page.push(&self.rows[i as usize]);
                    }
                    total += 1;
                }
                return (total, page);
            }
            let all: Vec<u32> = matching.collect();
            let page = all
                .iter()
                .rev()
                .skip(offset)
                .take(limit)
                .map(|&i| &self.rows[i as usize])
                .collect();
            return (all.len(), page);
        }
        let mut hits: Vec<&Row> = matching.map(|i| &self.rows[i as usize]).collect();
        let total = hits.len();
        let cmp = |a: &&Row, b: &&Row| {
            let o = sort.compare(a, b);
            let o = if descending { o.reverse() } else { o };
            o.then_with(|| a.code.cmp(&b.code))
        };
        let end = offset.saturating_add(limit).min(total);
        if end == 0 || offset >= total {
            return (total, Vec::new());
        }
        // only the rows up to the page's end are put in order
        if end < total {
            hits.select_nth_unstable_by(end - 1, cmp);
            hits.truncate(end);
        }
        hits.sort_unstable_by(cmp);
        (total, hits.split_off(offset))
    }

    /// Account manager `manager`'s customers to act on: (days overdue at the run's date, row),
    /// most overdue first, those without a due date last (by revenue); worked out once per
    /// manager and run.
    pub(crate) fn worklist(&self, manager: &str) -> Arc<Work> {
        let code = self.managers.find(manager);
        if let Ok(cached) = self.worklists.lock()
            && let Some(list) = cached.get(&code)
        {
            return list.clone();
        }
        // the manager's rows as the book was read, less those the pool took since, plus those
        // claimed since
        let mut rows: Vec<u32> = self
            .by_manager
            .get(code as usize)
            .cloned()
            .unwrap_or_default();
        if let Ok(owners) = self.owners.read()
            && !owners.is_empty()
        {
            rows.retain(|&i| {
                owners
                    .get(&self.rows[i as usize].code)
                    .is_none_or(|o| o == manager)
            });
            let claimed = owners
                .iter()
                .filter(|(_, o)| o.as_str() == manager)
                .filter_map(|(c, _)| self.by_code.get(c).copied())
                .filter(|&i| self.manager_of(&self.rows[i as usize]) != Some(manager));
            rows.extend(claimed);
        }
        if rows.is_empty() {
            return Arc::new(Vec::new());
        }
        let as_of = self.run.as_of;
        let mut list: Vec<(Option<i64>, u32)> = rows
            .iter()
            .map(|&i| {
                let r = &self.rows[i as usize];
                let due = self.due(r);
                (due.map(|d| (as_of - d).num_days()), i)
            })
            .collect();
        list.sort_by_key(|(o, _)| std::cmp::Reverse(o.unwrap_or(i64::MIN)));
        let list = Arc::new(list);
        if let Ok(mut cached) = self.worklists.lock() {
            cached.insert(code, list.clone());
        }
        list
    }

    /// When `row`'s next action is due: its tier's interval after the later of its last
    /// purchase and last follow-up ([`stratum_store::followup::due`]).
    pub(crate) fn due(&self, row: &Row) -> Option<NaiveDate> {
        let days = self
            .follow_up
            .get(usize::from(row.tier))
            .copied()
            .flatten()?;
        let last = self
            .follow_ups
            .read()
            .ok()
            .and_then(|m| m.get(&row.code).copied());
        stratum_store::followup::due(row.last_purchase, last, days)
    }

    /// Customer `code`'s last follow-up.
    pub(crate) fn last_follow_up(&self, code: &str) -> Option<NaiveDate> {
        self.follow_ups.read().ok()?.get(code).copied()
    }

    /// Notes a follow-up of customer `code` on `day`: their due date moves, and the
    /// worklists are worked out again.
    pub(crate) fn note_follow_up(&self, code: &str, day: NaiveDate) {
        if let Ok(mut m) = self.follow_ups.write() {
            let last = m.entry(code.to_string()).or_insert(day);
            *last = (*last).max(day);
        }
        if let Ok(mut cached) = self.worklists.lock() {
            cached.clear();
        }
    }
}

/// The rows of value `code` in `lists` (none filtered on: `None`).
fn list(lists: &[Vec<u32>], code: Option<u32>) -> Option<&[u32]> {
    code.map(|c| lists.get(c as usize).map_or(&[][..], Vec::as_slice))
}

/// Appends `text` in lowercase, without the separators the search text uses.
fn push_key(out: &mut String, text: &str) {
    for c in text.chars().flat_map(char::to_lowercase) {
        if c != '\n' && c != '\u{1}' {
            out.push(c);
        }
    }
}

/// Which customers a list shows.
#[derive(Debug, Default, Clone)]
pub(crate) struct Filter {
    /// Part of the id or the name, any case.
    pub(crate) q: Option<String>,
    /// A final tier's code.
    pub(crate) tier: Option<String>,
    /// An account manager.
    pub(crate) manager: Option<String>,
    /// An industry.
    pub(crate) industry: Option<String>,
    /// A lifecycle stage.
    pub(crate) lifecycle: Option<String>,
    /// A churn band.
    pub(crate) churn: Option<String>,
    /// The book the caller may see: only this account manager's customers.
    pub(crate) scope: Option<String>,
}

/// A [`Filter`] in the book's codes.
struct Test {
    q: Option<String>,
    tier: Option<u16>,
    manager: Option<u32>,
    scope: Option<u32>,
    industry: Option<u32>,
    lifecycle: Option<u32>,
    churn: Option<u32>,
}

impl Filter {
    /// The filter in `book`'s codes; `None` when a value no customer has rules out all.
    fn compile(&self, book: &Book) -> Option<Test> {
        let find = |d: &Dict, v: &Option<String>| -> Option<Option<u32>> {
            match v {
                None => Some(None),
                Some(v) => {
                    let c = d.find(v);
                    (c != NONE).then_some(Some(c))
                }
            }
        };
        let tier = match &self.tier {
            None => None,
            Some(t) => {
                let (_, tiers) = book.dimension.as_ref()?;
                Some(tiers.iter().position(|x| x == t)? as u16)
            }
        };
        Some(Test {
            q: self
                .q
                .as_deref()
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(|q| {
                    let mut key = String::new();
                    push_key(&mut key, q);
                    key
                }),
            tier,
            manager: find(&book.managers, &self.manager)?,
            scope: find(&book.managers, &self.scope)?,
            industry: find(&book.industries, &self.industry)?,
            lifecycle: find(&book.lifecycles, &self.lifecycle)?,
            churn: find(&book.churn, &self.churn)?,
        })
    }
}

impl Test {
    fn matches(&self, c: &Columns, i: usize) -> bool {
        let is = |want: Option<u32>, column: &[u32]| want.is_none_or(|w| column.get(i) == Some(&w));
        is(self.scope, &c.manager)
            && is(self.manager, &c.manager)
            && is(self.industry, &c.industry)
            && is(self.lifecycle, &c.lifecycle)
            && is(self.churn, &c.churn)
            && self.tier.is_none_or(|t| c.tier.get(i) == Some(&t))
    }
}

/// What a list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Net revenue.
    Revenue,
    /// Days since the last purchase.
    Recency,
    /// Purchases.
    Frequency,
    /// Predicted lifetime value.
    Clv,
    /// The customer id.
    Id,
    /// The name.
    Name,
}

impl Sort {
    fn compare(self, a: &Row, b: &Row) -> std::cmp::Ordering {
        match self {
            Sort::Revenue => a.monetary.cmp(&b.monetary),
            Sort::Recency => a.recency_days.cmp(&b.recency_days),
            Sort::Frequency => a.frequency.cmp(&b.frequency),
            Sort::Clv => a
                .clv
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&b.clv.unwrap_or(f64::NEG_INFINITY)),
            Sort::Id => a.code.cmp(&b.code),
            Sort::Name => a.name.cmp(&b.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_keys_are_lowercase_without_the_separators() {
        let mut k = String::new();
        push_key(&mut k, "Acme\nGmbH\u{1}");
        assert_eq!(k, "acmegmbh");
        let mut k = String::new();
        push_key(&mut k, "上海华东");
        assert_eq!(k, "上海华东");
    }

    #[test]
    fn a_dictionary_codes_each_value_once_and_empty_as_none() {
        let mut d = Dict::default();
        assert_eq!(d.code(Some("张伟")), 0);
        assert_eq!(d.code(Some("李娜")), 1);
        assert_eq!(d.code(Some("张伟")), 0);
        assert_eq!(d.code(Some("")), NONE);
        assert_eq!(d.code(None), NONE);
        assert_eq!(d.find("李娜"), 1);
        assert_eq!(d.find("王芳"), NONE);
    }
}
