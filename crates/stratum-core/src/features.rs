//! Per-customer features from transaction lines.
//!
//! [`Aggregator`] takes cleaned transaction lines one at a time (it never holds the lines) and
//! keeps one small accumulator per customer plus the sets needed to count distinct orders and
//! purchase days. [`Aggregator::finish`] turns them into [`CustomerFeatures`] as of a date.
//!
//! Definitions (the documented contract of every output column):
//! - a line with amount > 0 is a *purchase line*; a line with amount < 0 is a *refund line*;
//!   a line of exactly 0 (a free replacement, a fully discounted order) is counted but is
//!   neither: it moves no money and is not a purchase;
//! - refund lines are netted into monetary value and never count as orders or purchase days;
//! - `frequency` is the number of distinct order ids among purchase lines (a purchase line
//!   without an order id counts as an order of its own), or with [`FrequencyBasis::Days`] the
//!   number of distinct purchase days;
//! - `monetary` is the net total: purchases plus refunds;
//! - `recency_days` is `as_of − last purchase date`, `tenure_days` is `as_of − first purchase
//!   date`; `as_of` is the analysis date: only lines dated strictly before it are used, so with
//!   the default `as_of` (the day after the last line) the most recent buyer has recency 1;
//! - `avg_order_value` is monetary / orders (distinct orders, whatever `frequency` counts),
//!   rounded to the cent.
//!
//! A customer with refund or zero lines but no purchase line before `as_of` cannot be scored;
//! such customers are returned apart in [`Features::no_purchase`].

use chrono::NaiveDate;

use crate::Money;
use crate::keyset::{KeySet, NumberedKey, drop_aside, filled, prefetch};

/// What `frequency` counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrequencyBasis {
    /// Distinct order ids among purchase lines (the default).
    #[default]
    Orders,
    /// Distinct purchase days.
    Days,
}

/// One customer's measured features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerFeatures {
    /// The customer id as found in the data (trimmed).
    pub customer_id: String,
    /// Date of the first purchase line.
    pub first_purchase: NaiveDate,
    /// Date of the last purchase line.
    pub last_purchase: NaiveDate,
    /// Days from the last purchase to `as_of` (at least 1).
    pub recency_days: i64,
    /// Distinct orders (or purchase days, see [`FrequencyBasis`]).
    pub frequency: u64,
    /// Distinct orders, whatever `frequency` counts.
    pub orders: u64,
    /// Net total: purchases plus refunds.
    pub monetary: Money,
    /// Sum of purchase lines.
    pub gross: Money,
    /// Sum of refund lines (zero or negative).
    pub refunds: Money,
    /// Number of refund lines.
    pub refund_lines: u64,
    /// `monetary / orders`, rounded to the cent.
    pub avg_order_value: Money,
    /// Days from the first purchase to `as_of`.
    pub tenure_days: i64,
    /// Trailing-window figures, when the aggregator kept daily history
    /// ([`Aggregator::keep_history`]). Boxed: inline they took 64 bytes of every record
    /// (224 bytes, 160 now), which a run without history (the default) leaves empty and every
    /// pass over the customers read; with history it is one small allocation per customer
    /// beside `days`.
    pub windows: Option<Box<Windows>>,
    /// Net amount and new orders by day, sorted by date, when the aggregator kept daily
    /// history.
    pub days: Option<Box<[DayTotal]>>,
}

/// A customer's net amount and new orders on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayTotal {
    /// The day.
    pub date: NaiveDate,
    /// Net amount of the day's lines (purchases plus refunds).
    pub net: Money,
    /// Orders whose first purchase line is on this day (with no order column, purchase lines).
    pub new_orders: u32,
}

/// A customer's figures over the twelve months before `as_of` and the twelve before those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Windows {
    /// Net revenue (purchases plus refunds) dated in `[as_of − 12 months, as_of)`.
    pub revenue_12m: Money,
    /// Net revenue dated in `[as_of − 24 months, as_of − 12 months)`.
    pub revenue_prev_12m: Money,
    /// Distinct orders whose first line is dated in the last twelve months.
    pub orders_12m: u64,
}

/// One customer's net amount and new orders on one day.
#[derive(Debug, Clone, Copy)]
struct DayBucket {
    day: i32,
    net: Money,
    new_orders: u32,
}

/// A customer with lines before `as_of` but no purchase line among them (refunds or zero
/// amounts only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoPurchaseCustomer {
    /// The customer id.
    pub customer_id: String,
    /// Net total of the refund lines.
    pub refunds: Money,
    /// Number of refund lines.
    pub refund_lines: u64,
    /// Number of zero-amount lines.
    pub zero_lines: u64,
}

/// The features of every customer, sorted by customer id.
#[derive(Debug, Clone, Default)]
pub struct Features {
    /// The date the features are measured at.
    pub as_of: Option<NaiveDate>,
    /// Customers with at least one purchase, sorted by id.
    pub customers: Vec<CustomerFeatures>,
    /// Customers without a purchase line, sorted by id; not scored.
    pub no_purchase: Vec<NoPurchaseCustomer>,
    /// Lines dated on or after `as_of`, left out of every feature.
    pub lines_after_as_of: u64,
    /// Net amount of the lines left out for being on or after `as_of`.
    pub amount_after_as_of: Money,
}

impl Features {
    /// The scored customers' ids, in their order.
    pub fn customer_ids(&self) -> Vec<&str> {
        self.customers
            .iter()
            .map(|c| c.customer_id.as_str())
            .collect()
    }
}

/// A customer's running state: what every purchase line reads and writes, in one cache line.
///
/// Lines come in no order of customer, so each one's state is a cache miss; at 96 bytes it
/// spanned two lines, and the second was not prefetched (paired whole runs, 1M customers:
/// prefetching it too took 0.976 of the time). Refunds and zero-amount lines, a small share
/// of most files, keep their figures apart ([`AccRest`]).
#[derive(Debug, Clone)]
#[repr(align(64))]
struct Acc {
    first: Option<NaiveDate>,
    last: Option<NaiveDate>,
    /// With history, the day of `last_order`'s earliest purchase line: a repeat on or after
    /// it needs no look-up either.
    last_order_day: i32,
    /// Where the customer's refunds and zero-amount lines are counted in
    /// [`Aggregator::rests`] ([`Acc::NO_REST`] while it has none).
    rest: u32,
    orders: u64,
    days: u64,
    gross: Money,
    /// The last order key added: lines of one order usually come together, and a repeat of
    /// it needs no set look-up.
    last_order: Option<u64>,
}

const _: () = assert!(std::mem::size_of::<Acc>() == 64);

impl Acc {
    const NO_REST: u32 = u32::MAX;

    const EMPTY: Acc = Acc {
        first: None,
        last: None,
        last_order_day: 0,
        rest: Acc::NO_REST,
        orders: 0,
        days: 0,
        gross: Money::ZERO,
        last_order: None,
    };
}

/// A customer's refunds and zero-amount lines, kept apart from its [`Acc`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct AccRest {
    refunds: Money,
    refund_lines: u64,
    zero_lines: u64,
}

impl AccRest {
    /// Adds `more` to customer `acc`'s figures in `rests`, made on first need (at most one per
    /// customer: `rests` never holds more entries than there are customers, so a `u32`
    /// numbers them as it does the customers); nothing is made for nothing to add.
    fn add(acc: &mut Acc, rests: &mut Vec<AccRest>, more: AccRest) {
        if more == AccRest::default() {
            return;
        }
        if acc.rest == Acc::NO_REST {
            debug_assert!(rests.len() < Acc::NO_REST as usize);
            acc.rest = rests.len() as u32;
            rests.push(AccRest::default());
        }
        let rest = &mut rests[acc.rest as usize];
        rest.refunds += more.refunds;
        rest.refund_lines += more.refund_lines;
        rest.zero_lines += more.zero_lines;
    }
}

type FastSet<K> = std::collections::HashSet<K, rustc_hash::FxBuildHasher>;

/// One customer's totals over its lines before `as_of`, aggregated elsewhere (a database
/// running the same rules, see `stratum-pushdown`): the state [`Aggregator::add`] would reach
/// from those lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CustomerTotals {
    /// Date of the first purchase line (amount > 0), if any.
    pub first_purchase: Option<NaiveDate>,
    /// Date of the last purchase line, if any.
    pub last_purchase: Option<NaiveDate>,
    /// Distinct orders among the purchase lines (a line without an order id is one).
    pub orders: u64,
    /// Distinct days of the purchase lines.
    pub purchase_days: u64,
    /// Sum of the purchase lines.
    pub gross: Money,
    /// Sum of the refund lines (zero or negative).
    pub refunds: Money,
    /// Number of refund lines.
    pub refund_lines: u64,
    /// Number of zero-amount lines.
    pub zero_lines: u64,
    /// The earliest and latest date of any of its lines.
    pub dates: Option<(NaiveDate, NaiveDate)>,
}

/// One customer's accepted lines of one day, aggregated elsewhere (a database running the
/// same rules, see `stratum-pushdown`): unlike [`CustomerTotals`], days can be held back by
/// period ([`Aggregator::in_periods`]), so that a backfill can be read from a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayLines {
    /// The day.
    pub date: NaiveDate,
    /// Sum of the day's purchase lines (amount > 0).
    pub gross: Money,
    /// Sum of its refund lines (zero or negative).
    pub refunds: Money,
    /// Its purchase lines.
    pub purchase_lines: u64,
    /// Its refund lines.
    pub refund_lines: u64,
    /// Its zero-amount lines.
    pub zero_lines: u64,
    /// Orders whose earliest purchase line is on this day (a purchase line without an order
    /// id is an order of its own).
    pub new_orders: u64,
}

impl DayLines {
    /// Every line of the day.
    fn lines(&self) -> u64 {
        self.purchase_lines + self.refund_lines + self.zero_lines
    }

    /// Whether the figures can come from lines: sums only where there are lines of their
    /// kind, and no more new orders than purchase lines.
    fn consistent(&self) -> bool {
        self.new_orders <= self.purchase_lines
            && (self.purchase_lines > 0 || self.gross == Money::ZERO)
            && (self.refund_lines > 0 || self.refunds == Money::ZERO)
            && !self.gross.is_negative()
            && self.refunds <= Money::ZERO
    }
}

/// Totals that cannot be added to an aggregator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotalsError {
    /// The customer was added already.
    #[error("customer `{0}` was given twice")]
    Twice(String),
    /// The aggregator holds its lines back by period, which needs the lines themselves.
    #[error("per-customer totals cannot be held back by period: this needs the lines themselves")]
    NeedsLines,
    /// The totals contradict themselves (a purchase date without purchases, days that do not
    /// add up to the totals).
    #[error("the totals of customer `{0}` contradict themselves")]
    Inconsistent(String),
}

/// Accumulates transaction lines into per-customer state.
///
/// Memory grows with the number of customers plus the number of distinct (customer, order) and
/// (customer, day) pairs, which are kept as 64-bit keys; the lines themselves are not kept.
#[derive(Debug, Default)]
pub struct Aggregator {
    /// Customer index by [`customer_key`].
    index: CustomerIndex,
    /// Per customer, its key (kept for rehashing) and where its id is in `id_text`.
    entries: Vec<Entry>,
    /// The customer ids one after another: small and contiguous, so that checking a found id
    /// stays in cache (one allocation per id scattered them over the heap, a cache miss per
    /// line).
    id_text: String,
    accs: Vec<Acc>,
    /// The refunds and zero-amount lines of the customers that have any (see [`Acc::rest`]).
    rests: Vec<AccRest>,
    /// (customer number, order key) of every order seen.
    orders: KeySet<NumberedKey>,
    days: FastSet<(u32, i32)>,
    /// Per customer (beside `accs`), amounts by day, when history is kept.
    history: Option<Vec<Vec<DayBucket>>>,
    /// With history: the day of each order's earliest purchase line so far, by (customer
    /// number, order key), so that an order is a new order of that day whatever the order of
    /// its lines (about 24 bytes per order).
    order_days: rustc_hash::FxHashMap<(u32, u64), i32>,
    as_of: Option<NaiveDate>,
    basis: FrequencyBasis,
    max_date: Option<NaiveDate>,
    min_date: Option<NaiveDate>,
    lines_after_as_of: u64,
    amount_after_as_of: Money,
    /// With [`Aggregator::in_periods`], the lines held back by period until they are taken
    /// one period at a time.
    staged: Option<Staged>,
}

/// The lines of an aggregator working through a [`PeriodSchedule`], held by period.
#[derive(Debug)]
struct Staged {
    schedule: PeriodSchedule,
    /// The lines of each period not yet taken, in the order they came.
    periods: Vec<Vec<StagedLine>>,
    /// The days of each period not yet taken ([`Aggregator::add_day`]), by customer number.
    days: Vec<Vec<(u32, DayLines)>>,
    /// Lines of each period (a day counts its lines).
    lines: Vec<u64>,
    /// Net amount of each period's lines.
    amounts: Vec<Money>,
    /// The next period to take.
    next: usize,
}

/// A line held back for its period: its customer is already known.
#[derive(Debug, Clone, Copy)]
struct StagedLine {
    amount: Money,
    order: u64,
    /// The customer number; the top bit says whether the line has an order key.
    customer: u32,
    day: i32,
}

impl StagedLine {
    const HAS_ORDER: u32 = 1 << 31;
}

impl Staged {
    /// The period of a line dated `date`, its slots made.
    fn period(&mut self, date: NaiveDate) -> usize {
        let period = self.schedule.period_of(date);
        if self.periods.len() <= period {
            self.periods.resize_with(period + 1, Vec::new);
            self.days.resize_with(period + 1, Vec::new);
            self.lines.resize(period + 1, 0);
            self.amounts.resize(period + 1, Money::ZERO);
        }
        period
    }
}

/// Period ends at a fixed number of months apart (a month, a quarter), for re-tiering the
/// past at every period end from one read of the lines: the periods start on the first day
/// of a month whose number counting from January is a multiple of the step (quarters start in
/// January, April, July and October).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodSchedule {
    /// The first day of the first period.
    origin: NaiveDate,
    /// Months per period.
    months: u32,
}

impl PeriodSchedule {
    /// The periods of `months` months (1 to 12) from the one that holds `from`; `None` for a
    /// step out of range.
    pub fn new(from: NaiveDate, months: u32) -> Option<Self> {
        use chrono::Datelike;
        if !(1..=12).contains(&months) {
            return None;
        }
        let month0 = from.month0() / months * months;
        let origin = NaiveDate::from_ymd_opt(from.year(), month0 + 1, 1)?;
        Some(PeriodSchedule { origin, months })
    }

    /// The analysis date at the end of period `n` (counting from 0): the first day of the
    /// next period, so that every line dated in period `n` or before is used.
    pub fn end(&self, n: usize) -> Option<NaiveDate> {
        let months = u32::try_from(n + 1).ok()?.checked_mul(self.months)?;
        self.origin.checked_add_months(chrono::Months::new(months))
    }

    /// The period ends from the first through `last` (included).
    pub fn ends_through(&self, last: NaiveDate) -> Vec<NaiveDate> {
        (0..)
            .map_while(|n| self.end(n).filter(|end| *end <= last))
            .collect()
    }

    /// The period a line dated `date` belongs to: lines before the first period belong to it.
    fn period_of(&self, date: NaiveDate) -> usize {
        use chrono::Datelike;
        if date < self.origin {
            return 0;
        }
        let index = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
        ((index(date) - index(self.origin)) / i64::from(self.months)) as usize
    }
}

/// A customer's key and the place of its id in [`Aggregator::id_text`].
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: u64,
    start: usize,
    len: usize,
}

impl Entry {
    /// Where the id is in the text.
    fn span(&self) -> std::ops::Range<usize> {
        self.start..self.start + self.len
    }
}

/// A slot of the [`CustomerIndex`]: a customer's key tag, its number and where its id is in
/// [`Aggregator::id_text`], so that a line's id is compared with the customer's straight from
/// the slot (16 bytes, four to a cache line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(16))]
struct Slot {
    /// The key's top half, whose bits the slot's place does not use: a probe rarely needs the
    /// customer's id to rule it out.
    tag: u32,
    /// The customer number + 1 (0: an empty slot).
    number: u32,
    /// Where the id starts in the text, or [`Slot::FAR`] when that is beyond `u32` (then the
    /// customer's [`Entry`] has it).
    start: u32,
    /// The id's length in bytes ([`Slot::FAR`] as for `start`).
    len: u32,
}

impl Slot {
    const FAR: u32 = u32::MAX;

    fn tag(key: u64) -> u32 {
        (key >> 32) as u32
    }

    /// The slot of customer `i` with `key`, whose id is at `span` of the text.
    fn new(key: u64, i: u32, span: std::ops::Range<usize>) -> Self {
        let near = (
            u32::try_from(span.start).ok().filter(|&s| s != Self::FAR),
            u32::try_from(span.len()).ok().filter(|&l| l != Self::FAR),
        );
        let (start, len) = match near {
            (Some(start), Some(len)) => (start, len),
            _ => (Self::FAR, Self::FAR),
        };
        // customer numbers are below 2³² − 1 (an aggregator per shard of 32)
        Slot {
            tag: Self::tag(key),
            number: i + 1,
            start,
            len,
        }
    }

    /// The customer's number.
    fn customer(self) -> u32 {
        self.number.wrapping_sub(1)
    }

    /// Where the customer's id is in the text, from the slot or from its entry.
    fn span(self, entries: &[Entry]) -> std::ops::Range<usize> {
        if self.start == Self::FAR {
            entries
                .get(self.customer() as usize)
                .map_or(0..0, Entry::span)
        } else {
            self.start as usize..self.start as usize + self.len as usize
        }
    }
}

/// The customer index: an open-addressed table of [`Slot`]s, probed linearly from the key's
/// low bits, at most half full. It replaces a hashbrown table so that a customer's slot can be
/// prefetched, then the slot read to prefetch the customer's state and id, before the line is
/// added. The slot holds the id's place, so a line needs no look-up of the customer's
/// [`Entry`] (a cache miss a line when the entries held it).
#[derive(Debug, Default)]
struct CustomerIndex {
    /// A power of two long (or empty).
    slots: Vec<Slot>,
    /// Customers in the table.
    len: usize,
}

impl CustomerIndex {
    fn home(&self, key: u64) -> usize {
        key as usize & (self.slots.len().wrapping_sub(1))
    }

    /// The slots in `key`'s probe run whose tag matches, in probe order.
    fn candidates(&self, key: u64) -> impl Iterator<Item = Slot> + '_ {
        let mask = self.slots.len().wrapping_sub(1);
        let tag = Slot::tag(key);
        let start = self.home(key);
        (0..self.slots.len())
            .map(move |step| self.slots[(start + step) & mask])
            .take_while(|slot| slot.number != 0)
            .filter(move |slot| slot.tag == tag)
    }

    /// The customer with `key` whose id is `id` in `text`.
    fn find(&self, key: u64, id: &[u8], text: &[u8], entries: &[Entry]) -> Option<u32> {
        self.candidates(key)
            .find(|slot| {
                text.get(slot.span(entries))
                    .is_some_and(|held| same_bytes(held, id))
            })
            .map(Slot::customer)
    }

    /// The first slot whose tag matches `key`'s, for a prefetch.
    fn guess(&self, key: u64) -> Option<Slot> {
        self.candidates(key).next()
    }

    fn warm(&self, key: u64) {
        if let Some(slot) = self.slots.get(self.home(key)) {
            prefetch(slot);
        }
    }

    /// Adds the last customer of `entries` (every customer's key and id span, in number
    /// order), the only one not yet in the table; growing places them all again.
    fn insert_last(&mut self, entries: &[Entry]) {
        let placed = if (self.len + 1) * 2 > self.slots.len() {
            let size = (self.slots.len() * 2).max(16);
            self.slots = filled(size, Slot::default());
            self.len = 0;
            0
        } else {
            entries.len().saturating_sub(1)
        };
        for (j, e) in entries.iter().enumerate().skip(placed) {
            self.place(Slot::new(e.key, j as u32, e.span()), e.key);
        }
    }

    fn place(&mut self, slot: Slot, key: u64) {
        let mask = self.slots.len() - 1;
        let mut at = self.home(key);
        while self.slots[at].number != 0 {
            at = (at + 1) & mask;
        }
        self.slots[at] = slot;
        self.len += 1;
    }
}

impl Aggregator {
    /// A new aggregator; when `as_of` is given, lines dated on or after it are counted apart
    /// and left out of the features. `basis` says what `frequency` counts; distinct purchase
    /// days are only tracked when it is [`FrequencyBasis::Days`].
    pub fn new(as_of: Option<NaiveDate>, basis: FrequencyBasis) -> Self {
        Aggregator {
            as_of,
            basis,
            ..Aggregator::default()
        }
    }

    /// Also keeps each customer's net amount and new orders by day (about 32 bytes per
    /// distinct customer and day), so that [`CustomerFeatures::windows`] can be computed for
    /// whatever `as_of` the features are finished at.
    pub fn keep_history(mut self) -> Self {
        self.history = Some(Vec::new());
        self
    }

    /// Holds every line back by its period of `schedule` instead of adding it: after the
    /// lines, [`Aggregator::next_period`] adds one period's lines at a time and gives the
    /// features at its end, so that every period end of the past is measured from one read.
    /// Costs about 32 bytes per line until its period is taken.
    pub fn in_periods(mut self, schedule: PeriodSchedule) -> Self {
        self.staged = Some(Staged {
            schedule,
            periods: Vec::new(),
            days: Vec::new(),
            lines: Vec::new(),
            amounts: Vec::new(),
            next: 0,
        });
        self
    }

    /// Adds one cleaned line. `order_id` is `None` when the data has no order column or the
    /// line's order id is empty.
    pub fn add(
        &mut self,
        customer_id: &str,
        order_id: Option<&str>,
        date: NaiveDate,
        amount: Money,
    ) {
        self.add_keyed(
            customer_id,
            customer_key(customer_id),
            order_id.map(order_key),
            date,
            amount,
        );
    }

    /// Like [`Aggregator::add`], with the customer id's [`customer_key`] and the order id's
    /// [`order_key`] already computed (so that the hashing can run on another thread).
    pub fn add_keyed(
        &mut self,
        customer_id: &str,
        customer_key: u64,
        order_key: Option<u64>,
        date: NaiveDate,
        amount: Money,
    ) {
        if self.as_of.is_some_and(|as_of| date >= as_of) {
            self.lines_after_as_of += 1;
            self.amount_after_as_of += amount;
            return;
        }
        self.min_date = Some(self.min_date.map_or(date, |d| d.min(date)));
        self.max_date = Some(self.max_date.map_or(date, |d| d.max(date)));
        let idx = self.customer_number(customer_id, customer_key);
        if let Some(staged) = &mut self.staged {
            let period = staged.period(date);
            staged.lines[period] += 1;
            staged.amounts[period] += amount;
            staged.periods[period].push(StagedLine {
                amount,
                order: order_key.unwrap_or(0),
                customer: idx | order_key.map_or(0, |_| StagedLine::HAS_ORDER),
                day: days_from_ce(date),
            });
            return;
        }
        self.apply(idx, order_key, date, amount);
    }

    /// The number of the customer with this id and key, added if new.
    #[inline(always)]
    fn customer_number(&mut self, customer_id: &str, customer_key: u64) -> u32 {
        let found = self.index.find(
            customer_key,
            customer_id.as_bytes(),
            self.id_text.as_bytes(),
            &self.entries,
        );
        match found {
            Some(i) => i,
            None => {
                let i = self.accs.len() as u32;
                self.entries.push(Entry {
                    key: customer_key,
                    start: self.id_text.len(),
                    len: customer_id.len(),
                });
                self.id_text.push_str(customer_id);
                self.index.insert_last(&self.entries);
                self.accs.push(Acc::EMPTY);
                if let Some(h) = &mut self.history {
                    h.push(Vec::new());
                }
                i
            }
        }
    }

    /// Adds one customer's lines of one day, aggregated elsewhere ([`DayLines`]); a customer
    /// may come with any number of days, in any order, each day once. Days dated on or after
    /// the aggregator's `as_of` are counted apart; with [`Aggregator::in_periods`] each day is
    /// held back by its period like a line.
    pub fn add_day(&mut self, customer_id: &str, day: &DayLines) -> Result<(), TotalsError> {
        if !day.consistent() {
            return Err(TotalsError::Inconsistent(customer_id.to_string()));
        }
        let date = day.date;
        if self.as_of.is_some_and(|as_of| date >= as_of) {
            self.lines_after_as_of += day.lines();
            self.amount_after_as_of += day.gross + day.refunds;
            return Ok(());
        }
        self.min_date = Some(self.min_date.map_or(date, |d| d.min(date)));
        self.max_date = Some(self.max_date.map_or(date, |d| d.max(date)));
        let idx = self.customer_number(customer_id, customer_key(customer_id));
        match &mut self.staged {
            Some(staged) => {
                let period = staged.period(date);
                staged.lines[period] += day.lines();
                staged.amounts[period] += day.gross + day.refunds;
                staged.days[period].push((idx, *day));
            }
            None => self.apply_day(idx, day),
        }
        Ok(())
    }

    /// Adds a day of customer `idx` to its state, as its lines would have been.
    fn apply_day(&mut self, idx: u32, day: &DayLines) {
        let acc = &mut self.accs[idx as usize];
        acc.gross += day.gross;
        let more = AccRest {
            refunds: day.refunds,
            refund_lines: day.refund_lines,
            zero_lines: day.zero_lines,
        };
        AccRest::add(acc, &mut self.rests, more);
        acc.orders += day.new_orders;
        if day.purchase_lines > 0 {
            acc.first = Some(acc.first.map_or(day.date, |d| d.min(day.date)));
            acc.last = Some(acc.last.map_or(day.date, |d| d.max(day.date)));
            if self.basis == FrequencyBasis::Days {
                acc.days += 1;
            }
        }
        // a day of zero-amount lines alone is no day of the history, as for lines
        if day.purchase_lines + day.refund_lines > 0 {
            let new_orders = u32::try_from(day.new_orders).unwrap_or(u32::MAX);
            record(
                &mut self.history,
                idx,
                day.date,
                day.gross + day.refunds,
                new_orders,
            );
        }
    }

    /// Adds a customer whose lines were aggregated elsewhere ([`CustomerTotals`]) and, when
    /// the aggregator keeps history, its days (each day's net amount and the orders whose
    /// earliest purchase line is that day, the days without a non-zero line left out). The
    /// customer may not have been added before, and the aggregator may not hold periods.
    pub fn add_totals(
        &mut self,
        customer_id: &str,
        t: &CustomerTotals,
        days: &[DayTotal],
    ) -> Result<(), TotalsError> {
        if self.staged.is_some() {
            return Err(TotalsError::NeedsLines);
        }
        let days_agree = self.history.is_none()
            || (days.iter().map(|d| d.net).sum::<Money>() == t.gross + t.refunds
                && days.iter().map(|d| u64::from(d.new_orders)).sum::<u64>() == t.orders);
        let consistent = t.first_purchase.is_some() == t.last_purchase.is_some()
            && t.first_purchase.is_some() == (t.orders > 0)
            && (t.dates.is_some() || (t.refund_lines == 0 && t.zero_lines == 0))
            && days_agree;
        if !consistent {
            return Err(TotalsError::Inconsistent(customer_id.to_string()));
        }
        let key = customer_key(customer_id);
        let found = self.index.find(
            key,
            customer_id.as_bytes(),
            self.id_text.as_bytes(),
            &self.entries,
        );
        if found.is_some() {
            return Err(TotalsError::Twice(customer_id.to_string()));
        }
        self.entries.push(Entry {
            key,
            start: self.id_text.len(),
            len: customer_id.len(),
        });
        self.id_text.push_str(customer_id);
        self.index.insert_last(&self.entries);
        let mut acc = Acc {
            first: t.first_purchase,
            last: t.last_purchase,
            orders: t.orders,
            days: t.purchase_days,
            gross: t.gross,
            ..Acc::EMPTY
        };
        let rest = AccRest {
            refunds: t.refunds,
            refund_lines: t.refund_lines,
            zero_lines: t.zero_lines,
        };
        AccRest::add(&mut acc, &mut self.rests, rest);
        self.accs.push(acc);
        if let Some(h) = &mut self.history {
            h.push(
                days.iter()
                    .map(|d| DayBucket {
                        day: days_from_ce(d.date),
                        net: d.net,
                        new_orders: d.new_orders,
                    })
                    .collect(),
            );
        }
        if let Some((first, last)) = t.dates {
            self.min_date = Some(self.min_date.map_or(first, |d| d.min(first)));
            self.max_date = Some(self.max_date.map_or(last, |d| d.max(last)));
        }
        Ok(())
    }

    /// Counts lines dated on or after `as_of` that were left out elsewhere (see
    /// [`Aggregator::add_totals`]), with their net amount.
    pub fn add_after_as_of(&mut self, lines: u64, amount: Money) {
        self.lines_after_as_of += lines;
        self.amount_after_as_of += amount;
    }

    /// Adds a line of customer `idx` to its state.
    #[inline(always)]
    fn apply(&mut self, idx: u32, order_key: Option<u64>, date: NaiveDate, amount: Money) {
        let acc = &mut self.accs[idx as usize];
        if amount.is_negative() {
            let refund = AccRest {
                refunds: amount,
                refund_lines: 1,
                zero_lines: 0,
            };
            AccRest::add(acc, &mut self.rests, refund);
            record(&mut self.history, idx, date, amount, 0);
            return;
        }
        if amount == Money::ZERO {
            let zero = AccRest {
                zero_lines: 1,
                ..AccRest::default()
            };
            AccRest::add(acc, &mut self.rests, zero);
            return;
        }
        acc.gross += amount;
        acc.first = Some(acc.first.map_or(date, |d| d.min(date)));
        acc.last = Some(acc.last.map_or(date, |d| d.max(date)));
        let repeat = order_key.is_some() && acc.last_order == order_key;
        let new_order = match order_key {
            Some(_) if repeat => false,
            Some(key) => {
                acc.last_order = Some(key);
                self.orders.insert(NumberedKey::new(idx, key))
            }
            None => true,
        };
        if new_order {
            acc.orders += 1;
        }
        // with history, an order is new on the day of its earliest purchase line: a line of
        // a known order dated before its day moves the order there
        let new_that_day = match (order_key, &mut self.history) {
            (Some(key), Some(h)) => {
                let day = days_from_ce(date);
                if repeat && day >= acc.last_order_day {
                    false
                } else if new_order {
                    self.order_days.insert((idx, key), day);
                    acc.last_order_day = day;
                    true
                } else {
                    let earliest = self.order_days.entry((idx, key)).or_insert(day);
                    let was = *earliest;
                    acc.last_order_day = was.min(day);
                    if day < was {
                        *earliest = day;
                        let days = &mut h[idx as usize];
                        if let Some(b) = days.iter_mut().find(|b| b.day == was && b.new_orders > 0)
                        {
                            b.new_orders -= 1;
                        }
                        true
                    } else {
                        false
                    }
                }
            }
            _ => new_order,
        };
        record(
            &mut self.history,
            idx,
            date,
            amount,
            u32::from(new_that_day),
        );
        if self.basis == FrequencyBasis::Days && self.days.insert((idx, days_from_ce(date))) {
            acc.days += 1;
        }
    }

    /// The first of two prefetches for a line that [`Aggregator::add_keyed`] will take a few
    /// lines later: loads the customer's slot in the index.
    #[inline]
    pub fn warm(&self, customer_key: u64) {
        self.index.warm(customer_key);
    }

    /// The second prefetch, once the index slot from [`Aggregator::warm`] has arrived: loads
    /// the state and the id of the customer the slot points to, and the order's slot in the
    /// order set (a guess: the slot may hold another customer with the same key bits, then
    /// nothing is lost but the hint).
    #[inline]
    pub fn warm_customer(&self, customer_key: u64, order_key: Option<u64>) {
        if let Some(slot) = self.index.guess(customer_key) {
            let i = slot.customer();
            if let Some(acc) = self.accs.get(i as usize) {
                prefetch(acc);
            }
            // (an id whose place is in its entry is not loaded)
            if slot.start != Slot::FAR
                && let Some(byte) = self.id_text.as_bytes().get(slot.start as usize)
            {
                prefetch(byte);
            }
            if let Some(order) = order_key {
                self.orders.warm(NumberedKey::new(i, order));
            }
        }
    }

    /// Loads the id of customer `i` (its entry is read for the id's place: when the features
    /// are measured, not per line).
    #[inline]
    fn warm_id_of(&self, i: usize) {
        if let Some(e) = self.entries.get(i)
            && let Some(byte) = self.id_text.as_bytes().get(e.start)
        {
            prefetch(byte);
        }
    }

    /// Distinct (customer, order) pairs seen so far.
    pub fn order_count(&self) -> usize {
        self.orders.len()
    }

    /// Makes room for `additional` more distinct (customer, order) pairs (a caller that can
    /// estimate them saves the set's growing).
    pub fn reserve_orders(&mut self, additional: usize) {
        self.orders.reserve(additional);
        if self.history.is_some() {
            self.order_days.reserve(additional);
        }
    }

    /// The earliest and latest line dates used so far.
    pub fn date_range(&self) -> Option<(NaiveDate, NaiveDate)> {
        self.min_date.zip(self.max_date)
    }

    /// The default analysis date: the day after the latest line used.
    pub fn default_as_of(&self) -> Option<NaiveDate> {
        self.max_date.and_then(|d| d.succ_opt())
    }

    /// The features of every customer as of `as_of` (must be after every line used: pass the
    /// aggregator's own `as_of` or [`Aggregator::default_as_of`]).
    pub fn finish(self, as_of: NaiveDate) -> Features {
        self.features_at(as_of, self.lines_after_as_of, self.amount_after_as_of)
    }

    /// With [`Aggregator::in_periods`]: adds the lines of the next period and gives the
    /// features at its end (lines of later periods count as after it); `None` without a
    /// schedule or past the last date there is.
    pub fn next_period(&mut self) -> Option<Features> {
        let (as_of, after, amount_after) = self.advance()?;
        Some(self.features_at(as_of, after, amount_after))
    }

    /// Adds the lines of the next period: its end, and the lines (and their net amount) of
    /// later periods.
    fn advance(&mut self) -> Option<(NaiveDate, u64, Money)> {
        let staged = self.staged.as_mut()?;
        let n = staged.next;
        let as_of = staged.schedule.end(n)?;
        staged.next += 1;
        let lines = staged.periods.get_mut(n).map(std::mem::take);
        let days = staged.days.get_mut(n).map(std::mem::take);
        let (mut after, mut amount_after) = (self.lines_after_as_of, self.amount_after_as_of);
        for (lines, amount) in staged.lines.iter().zip(&staged.amounts).skip(n + 1) {
            after += *lines;
            amount_after += *amount;
        }
        for (idx, day) in days.unwrap_or_default() {
            self.apply_day(idx, &day);
        }
        for line in lines.unwrap_or_default() {
            let order = (line.customer & StagedLine::HAS_ORDER != 0).then_some(line.order);
            let date = NaiveDate::from_num_days_from_ce_opt(line.day).unwrap_or_default();
            self.apply(
                line.customer & !StagedLine::HAS_ORDER,
                order,
                date,
                line.amount,
            );
        }
        Some((as_of, after, amount_after))
    }

    /// Loads the state and the id of customer `i`, which [`Aggregator::scored`] will read a
    /// little later (customers are measured in id order, not in the order they came).
    #[inline]
    fn warm_scored(&self, i: usize) {
        if let Some(acc) = self.accs.get(i) {
            prefetch(acc);
        }
        self.warm_id_of(i);
    }

    /// The refunds and zero-amount lines of the customer whose state is `acc` (none counted
    /// while it has none).
    fn rest(&self, acc: &Acc) -> AccRest {
        self.rests
            .get(acc.rest as usize)
            .copied()
            .unwrap_or_default()
    }

    /// Customer `i`'s id.
    fn id(&self, i: usize) -> &str {
        self.entries
            .get(i)
            .and_then(|e| self.id_text.get(e.span()))
            .unwrap_or_default()
    }

    /// The features of every customer with a line so far, as of `as_of`.
    fn features_at(&self, as_of: NaiveDate, lines_after: u64, amount_after: Money) -> Features {
        let mut customers = Vec::with_capacity(self.accs.len());
        let mut no_purchase = Vec::new();
        for i in 0..self.accs.len() {
            match self.measure(i, as_of) {
                Measured::Scored(c) => customers.push(c),
                Measured::NoPurchase(c) => no_purchase.push(c),
                Measured::NotYet => {}
            }
        }
        customers.sort_unstable_by(|a, b| a.customer_id.cmp(&b.customer_id));
        no_purchase.sort_unstable_by(|a, b| a.customer_id.cmp(&b.customer_id));
        Features {
            as_of: Some(as_of),
            customers,
            no_purchase,
            lines_after_as_of: lines_after,
            amount_after_as_of: amount_after,
        }
    }
}

/// One customer's features at an analysis date.
enum Measured {
    /// With a purchase.
    Scored(CustomerFeatures),
    /// With lines, none a purchase.
    NoPurchase(NoPurchaseCustomer),
    /// Every line of the customer is in a later period.
    NotYet,
}

impl Aggregator {
    /// Customer `i`'s features at `as_of`.
    fn measure(&self, i: usize, as_of: NaiveDate) -> Measured {
        let acc = &self.accs[i];
        let rest = self.rest(acc);
        if acc.first.is_none() && rest.refund_lines == 0 && rest.zero_lines == 0 {
            return Measured::NotYet;
        }
        match (acc.first, acc.last) {
            (Some(first), Some(last)) => Measured::Scored(self.scored(i, as_of, (first, last))),
            _ => Measured::NoPurchase(NoPurchaseCustomer {
                customer_id: String::from(self.id(i)),
                refunds: rest.refunds,
                refund_lines: rest.refund_lines,
                zero_lines: rest.zero_lines,
            }),
        }
    }

    /// The features of customer `i`, whose first and last purchases are `first` and `last`.
    fn scored(
        &self,
        i: usize,
        as_of: NaiveDate,
        (first, last): (NaiveDate, NaiveDate),
    ) -> CustomerFeatures {
        let acc = &self.accs[i];
        let history = &self.history;
        let frequency = match self.basis {
            FrequencyBasis::Orders => acc.orders,
            FrequencyBasis::Days => acc.days,
        };
        let rest = self.rest(acc);
        let monetary = acc.gross + rest.refunds;
        CustomerFeatures {
            customer_id: String::from(self.id(i)),
            first_purchase: first,
            last_purchase: last,
            recency_days: (as_of - last).num_days(),
            frequency,
            orders: acc.orders,
            monetary,
            gross: acc.gross,
            refunds: rest.refunds,
            refund_lines: rest.refund_lines,
            avg_order_value: monetary.div_count(acc.orders).round_cents(),
            tenure_days: (as_of - first).num_days(),
            windows: history.as_ref().map(|h| Box::new(windows(&h[i], as_of))),
            days: history.as_ref().map(|h| day_totals(&h[i])),
        }
    }
}

/// Aggregators over disjoint sets of customers (as when lines are sharded by customer id),
/// finished in parallel into one [`Features`] equal to what a single aggregator would give.
#[derive(Debug, Default)]
pub struct ShardedAggregator {
    shards: Vec<Aggregator>,
    /// Every customer (shard, number) sorted by id, worked out at the first period: the
    /// periods' features come out in id order without a sort each.
    order: Option<Vec<(u32, u32)>>,
}

impl ShardedAggregator {
    /// Shards that hold disjoint sets of customers.
    pub fn new(shards: Vec<Aggregator>) -> Self {
        ShardedAggregator {
            shards,
            order: None,
        }
    }

    /// The earliest and latest line dates used.
    pub fn date_range(&self) -> Option<(NaiveDate, NaiveDate)> {
        let ranges = self.shards.iter().filter_map(Aggregator::date_range);
        ranges.reduce(|(a, b), (c, d)| (a.min(c), b.max(d)))
    }

    /// The day after the latest line used.
    pub fn default_as_of(&self) -> Option<NaiveDate> {
        self.date_range().and_then(|(_, last)| last.succ_opt())
    }

    /// The first customer id (in id order) held by two shards, with the two shards' numbers
    /// (from 0): the shards were to be disjoint, and a customer on two of them would be
    /// measured twice. The order found serves [`ShardedAggregator::finish`] and the periods.
    pub fn shared_customer(&mut self) -> Option<(String, usize, usize)> {
        let shards = &self.shards;
        let order = self.order.get_or_insert_with(|| id_order(shards));
        let id = |&(s, i): &(u32, u32)| shards[s as usize].id(i as usize);
        order.windows(2).find(|w| id(&w[0]) == id(&w[1])).map(|w| {
            let (a, b) = (w[0].0.min(w[1].0), w[0].0.max(w[1].0));
            (id(&w[0]).to_string(), a as usize, b as usize)
        })
    }

    /// The features of every customer as of `as_of`, sorted by customer id.
    pub fn finish(mut self, as_of: NaiveDate) -> Features {
        let order = self.order.take().unwrap_or_else(|| id_order(&self.shards));
        let after = self.shards.iter().map(|a| a.lines_after_as_of).sum();
        let amount = self.shards.iter().map(|a| a.amount_after_as_of).sum();
        let features = in_order(&self.shards, &order, as_of, (after, amount));
        // the order sets and the customers' state, freed while the run goes on
        drop_aside(std::mem::take(&mut self.shards));
        features
    }

    /// With every shard [`Aggregator::in_periods`]: the features at the end of the next
    /// period (see [`Aggregator::next_period`]).
    pub fn next_period(&mut self) -> Option<Features> {
        use rayon::prelude::*;
        let advanced: Option<Vec<(NaiveDate, u64, Money)>> = self
            .shards
            .par_iter_mut()
            .map(Aggregator::advance)
            .collect();
        let advanced = advanced?;
        let as_of = advanced.first()?.0;
        // no customer is added after the lines are read: one sort serves every period
        if self.order.is_none() {
            self.order = Some(id_order(&self.shards));
        }
        let order = self.order.as_deref().unwrap_or_default();
        let after = (
            advanced.iter().map(|a| a.1).sum(),
            advanced.iter().map(|a| a.2).sum(),
        );
        Some(in_order(&self.shards, order, as_of, after))
    }
}

/// Every customer of `shards` as (shard, number), sorted by customer id. The sort compares
/// the ids' first eight bytes as one number and reads the whole ids only when those are equal
/// (no customer id is copied, and short ids are never read from their shard's text).
fn id_order(shards: &[Aggregator]) -> Vec<(u32, u32)> {
    use rayon::prelude::*;
    // the first eight bytes, big-endian, padded with zeros: ordered as the ids are, ties and
    // all (an id that is a prefix of another, or holds NUL bytes, ties and is compared whole)
    let prefix = |id: &str| {
        let mut bytes = [0u8; 8];
        let head = &id.as_bytes()[..id.len().min(8)];
        bytes[..head.len()].copy_from_slice(head);
        u64::from_be_bytes(bytes)
    };
    let mut keyed: Vec<(u64, u32, u32)> = shards
        .par_iter()
        .enumerate()
        .flat_map_iter(|(s, a)| {
            (0..a.accs.len()).map(move |i| (prefix(a.id(i)), s as u32, i as u32))
        })
        .collect();
    let id = |&(_, s, i): &(u64, u32, u32)| shards[s as usize].id(i as usize);
    keyed.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| id(a).cmp(id(b))));
    keyed.into_par_iter().map(|(_, s, i)| (s, i)).collect()
}

/// How many customers ahead [`in_order`] loads the state of the one it will measure.
const WARM_AHEAD: usize = 8;

/// The features at `as_of` of the customers of `shards` in `order` (by id), measured in
/// parallel straight into place; `after`: the lines after `as_of` and their net amount.
fn in_order(
    shards: &[Aggregator],
    order: &[(u32, u32)],
    as_of: NaiveDate,
    (lines_after_as_of, amount_after_as_of): (u64, Money),
) -> Features {
    use rayon::prelude::*;
    let acc = |s: u32, i: u32| &shards[s as usize].accs[i as usize];
    // the scored customers with their first and last purchase, found first so that they can
    // be measured into a vector of known length
    let scored: Vec<(u32, u32, NaiveDate, NaiveDate)> = order
        .par_iter()
        .enumerate()
        .filter_map(|(k, &(s, i))| {
            if let Some(&(s, i)) = order.get(k + WARM_AHEAD) {
                prefetch(acc(s, i));
            }
            Some((s, i, acc(s, i).first?, acc(s, i).last?))
        })
        .collect();
    let mut customers = Vec::with_capacity(scored.len());
    scored
        .par_iter()
        .enumerate()
        .map(|(k, &(s, i, first, last))| {
            if let Some(&(s, i, ..)) = scored.get(k + WARM_AHEAD) {
                shards[s as usize].warm_scored(i as usize);
            }
            shards[s as usize].scored(i as usize, as_of, (first, last))
        })
        .collect_into_vec(&mut customers);
    // the others have no purchase, or no line yet (measured as such without a record built);
    // a pass over every customer's state in id order, that is in no order in memory: in
    // parallel, loading a state a few customers ahead
    let no_purchase = order
        .par_iter()
        .enumerate()
        .filter_map(|(k, &(s, i))| {
            if let Some(&(s, i)) = order.get(k + WARM_AHEAD) {
                prefetch(acc(s, i));
            }
            if acc(s, i).first.is_some() {
                return None;
            }
            match shards[s as usize].measure(i as usize, as_of) {
                Measured::NoPurchase(c) => Some(c),
                _ => None,
            }
        })
        .collect();
    Features {
        as_of: Some(as_of),
        customers,
        no_purchase,
        lines_after_as_of,
        amount_after_as_of,
    }
}

/// Adds a line to customer `idx`'s daily history, if kept.
fn record(
    history: &mut Option<Vec<Vec<DayBucket>>>,
    idx: u32,
    date: NaiveDate,
    amount: Money,
    new_orders: u32,
) {
    let Some(h) = history else { return };
    let days = &mut h[idx as usize];
    let day = days_from_ce(date);
    match days.last_mut() {
        Some(b) if b.day == day => {
            b.net += amount;
            b.new_orders += new_orders;
        }
        _ => days.push(DayBucket {
            day,
            net: amount,
            new_orders,
        }),
    }
}

/// One customer's daily history sorted by date, one entry per day.
fn day_totals(days: &[DayBucket]) -> Box<[DayTotal]> {
    let mut sorted = days.to_vec();
    sorted.sort_by_key(|b| b.day);
    let mut out: Vec<DayTotal> = Vec::with_capacity(sorted.len());
    for b in sorted {
        match out.last_mut() {
            Some(last) if days_from_ce(last.date) == b.day => {
                last.net += b.net;
                last.new_orders += b.new_orders;
            }
            _ => out.push(DayTotal {
                date: NaiveDate::from_num_days_from_ce_opt(b.day).unwrap_or_default(),
                net: b.net,
                new_orders: b.new_orders,
            }),
        }
    }
    out.into_boxed_slice()
}

/// The trailing-window figures of one customer's daily history at `as_of`.
fn windows(days: &[DayBucket], as_of: NaiveDate) -> Windows {
    let back = |months| {
        as_of
            .checked_sub_months(chrono::Months::new(months))
            .map_or(i32::MIN, days_from_ce)
    };
    let (from_12, from_24) = (back(12), back(24));
    let mut w = Windows::default();
    for b in days.iter() {
        if b.day >= from_12 {
            w.revenue_12m += b.net;
            w.orders_12m += u64::from(b.new_orders);
        } else if b.day >= from_24 {
            w.revenue_prev_12m += b.net;
        }
    }
    w
}

fn days_from_ce(date: NaiveDate) -> i32 {
    use chrono::Datelike;
    date.num_days_from_ce()
}

/// Byte equality without a library call for the short ids that are the rule.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// The 64-bit key of a customer id (xxh3), used to find the customer's state.
pub fn customer_key(customer_id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(customer_id.as_bytes())
}

/// The 64-bit key of an order id (xxh3): two distinct order ids of one customer are counted as
/// one order only on a hash collision, probability about 2⁻⁶⁴ per pair.
pub fn order_key(order_id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(order_id.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn the_records_read_per_line_and_per_customer_stay_small() {
        // a customer's running state is one cache line; a measured customer 160 bytes
        assert_eq!(std::mem::size_of::<Acc>(), 64);
        assert_eq!(std::mem::align_of::<Acc>(), 64);
        // four index slots to a cache line, none across two
        assert_eq!(std::mem::size_of::<Slot>(), 16);
        assert_eq!(std::mem::align_of::<Slot>(), 16);
        assert_eq!(std::mem::size_of::<CustomerFeatures>(), 160);
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn m(v: i64) -> Money {
        Money::from_major(v)
    }

    /// Totals aggregated elsewhere finish into the same features as the lines they sum.
    #[test]
    fn totals_finish_like_the_lines_they_sum() {
        let as_of = d("2025-01-01");
        let mut lines = Aggregator::new(Some(as_of), FrequencyBasis::Orders);
        lines.add("a", Some("o1"), d("2024-01-05"), m(10));
        lines.add("a", Some("o1"), d("2024-01-07"), m(5));
        lines.add("a", None, d("2024-03-01"), m(20));
        lines.add("a", Some("o2"), d("2024-02-01"), m(-4));
        lines.add("b", Some("o3"), d("2024-06-01"), m(0));
        lines.add("b", Some("o4"), d("2024-06-02"), m(-3));
        lines.add("c", Some("o5"), d("2025-02-01"), m(8));
        let mut totals = Aggregator::new(Some(as_of), FrequencyBasis::Orders);
        let a = CustomerTotals {
            first_purchase: Some(d("2024-01-05")),
            last_purchase: Some(d("2024-03-01")),
            orders: 2,
            purchase_days: 3,
            gross: m(35),
            refunds: m(-4),
            refund_lines: 1,
            zero_lines: 0,
            dates: Some((d("2024-01-05"), d("2024-03-01"))),
        };
        let b = CustomerTotals {
            refunds: m(-3),
            refund_lines: 1,
            zero_lines: 1,
            dates: Some((d("2024-06-01"), d("2024-06-02"))),
            ..CustomerTotals::default()
        };
        assert_eq!(totals.add_totals("b", &b, &[]), Ok(()));
        assert_eq!(totals.add_totals("a", &a, &[]), Ok(()));
        assert_eq!(
            totals.add_totals("a", &a, &[]),
            Err(TotalsError::Twice("a".into()))
        );
        let broken = CustomerTotals {
            orders: 1,
            ..CustomerTotals::default()
        };
        assert_eq!(
            totals.add_totals("x", &broken, &[]),
            Err(TotalsError::Inconsistent("x".into()))
        );
        totals.add_after_as_of(1, m(8));
        assert_eq!(totals.date_range(), lines.date_range());
        let (left, right) = (lines.finish(as_of), totals.finish(as_of));
        assert_eq!(left.customers, right.customers);
        assert_eq!(left.no_purchase, right.no_purchase);
        assert_eq!(left.lines_after_as_of, right.lines_after_as_of);
        assert_eq!(left.amount_after_as_of, right.amount_after_as_of);
        let schedule = PeriodSchedule::new(d("2024-01-01"), 1).expect("schedule");
        let mut staged = Aggregator::new(None, FrequencyBasis::Orders).in_periods(schedule);
        assert_eq!(
            staged.add_totals("a", &a, &[]),
            Err(TotalsError::NeedsLines)
        );
    }

    /// With history, days given with the totals finish like the lines' own days; days that
    /// do not add up to the totals are refused.
    #[test]
    fn totals_with_days_finish_like_the_lines() {
        let as_of = d("2025-01-01");
        let mut lines = Aggregator::new(Some(as_of), FrequencyBasis::Orders).keep_history();
        lines.add("a", Some("o1"), d("2024-03-05"), m(10));
        lines.add("a", Some("o1"), d("2023-12-20"), m(5));
        lines.add("a", Some("o2"), d("2024-03-05"), m(-2));
        let mut totals = Aggregator::new(Some(as_of), FrequencyBasis::Orders).keep_history();
        let a = CustomerTotals {
            first_purchase: Some(d("2023-12-20")),
            last_purchase: Some(d("2024-03-05")),
            orders: 1,
            purchase_days: 2,
            gross: m(15),
            refunds: m(-2),
            refund_lines: 1,
            zero_lines: 0,
            dates: Some((d("2023-12-20"), d("2024-03-05"))),
        };
        let day = |date: &str, net: i64, new_orders: u32| DayTotal {
            date: d(date),
            net: m(net),
            new_orders,
        };
        let wrong = [day("2023-12-20", 5, 0), day("2024-03-05", 8, 1)];
        assert_eq!(
            totals.add_totals("a", &a, &wrong[..1]),
            Err(TotalsError::Inconsistent("a".into()))
        );
        assert_eq!(totals.add_totals("a", &a, &wrong), Ok(()));
        let (left, right) = (lines.finish(as_of), totals.finish(as_of));
        // the order is new on the day of its earliest line, though that line came second
        let expected = [day("2023-12-20", 5, 1), day("2024-03-05", 8, 0)];
        assert_eq!(left.customers[0].days.as_deref(), Some(&expected[..]));
        assert_eq!(
            left.customers[0].windows.as_ref().map(|w| w.orders_12m),
            Some(0)
        );
        // the totals were given the order on the later day: the features say so
        assert_eq!(right.customers[0].days.as_deref(), Some(&wrong[..]));
    }

    #[test]
    fn customers_whose_keys_collide_stay_apart_and_the_index_grows() {
        // two customers get the same key, others keys that share its low bits (one home
        // slot) or its top half (one tag): ids decide
        let mut agg = Aggregator::new(None, FrequencyBasis::Orders);
        let day = d("2025-01-01");
        for (i, key) in [(0, 7u64), (1, 7), (2, 7 | (1 << 40)), (3, (9 << 32) | 7)] {
            for _ in 0..2 {
                agg.add_keyed(&format!("C{i}"), key, Some(1), day, m(10));
            }
        }
        for i in 0..1_000u64 {
            let key = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            agg.add_keyed(&format!("N{i}"), key, Some(i), day, m(1));
            agg.warm(key);
            agg.warm_customer(key, Some(i));
        }
        let f = agg.finish(d("2025-01-02"));
        assert_eq!(f.customers.len(), 1_004);
        let c: Vec<(&str, Money, u64)> = f.customers[..4]
            .iter()
            .map(|c| (c.customer_id.as_str(), c.monetary, c.orders))
            .collect();
        assert_eq!(
            c,
            [
                ("C0", m(20), 1),
                ("C1", m(20), 1),
                ("C2", m(20), 1),
                ("C3", m(20), 1)
            ]
        );
        assert!(
            f.customers[4..]
                .iter()
                .all(|c| c.monetary == m(1) && c.orders == 1)
        );
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_id_whose_place_does_not_fit_its_slot_is_found_through_its_entry() {
        // a place or length beyond `u32` (or at its largest value, the marker) is not held in
        // the slot, whose span then comes from the customer's entry
        let near = Slot::new(5, 2, 4..7);
        assert_eq!(near.span(&[]), 4..7);
        for span in [(1usize << 32)..(1 << 32) + 3, 0..u32::MAX as usize] {
            let far = Slot::new(5, 2, span);
            assert_eq!((far.start, far.len), (Slot::FAR, Slot::FAR));
        }
        let entry = |start, len| Entry { key: 5, start, len };
        let entries = [entry(0, 0), entry(0, 0), entry(1, 2)];
        let far = Slot::new(5, 2, (1 << 32)..(1 << 32) + 2);
        assert_eq!(far.span(&entries), 1..3);
        assert_eq!(far.span(&entries[..2]), 0..0, "no entry: an empty span");
        let mut index = CustomerIndex {
            slots: filled(16, Slot::default()),
            len: 0,
        };
        index.place(far, 5);
        assert_eq!(index.find(5, b"ab", b"xabc", &entries), Some(2));
        assert_eq!(index.find(5, b"bc", b"xabc", &entries), None);
        assert_eq!(index.guess(5), Some(far));
    }

    #[test]
    fn windows_split_revenue_at_twelve_and_twenty_four_months_before_as_of() {
        // as of 2025-07-01 the last 12 months start on 2024-07-01 and the 12 before on
        // 2023-07-01 (both included): 12m = 100 + 50 − 40 = 110 with orders o1, o2 and the
        // second line of o1; the 12 before = 30 + 20; 2023-06-30 is in neither.
        let mut agg = Aggregator::new(None, FrequencyBasis::Orders).keep_history();
        agg.add("A", Some("o1"), d("2025-06-30"), m(100));
        agg.add("A", Some("o1"), d("2025-06-30"), m(0));
        agg.add("A", Some("o2"), d("2024-07-01"), m(50));
        agg.add("A", None, d("2025-01-01"), m(-40));
        agg.add("A", Some("o3"), d("2024-06-30"), m(30));
        agg.add("A", Some("o4"), d("2023-07-01"), m(20));
        agg.add("A", Some("o5"), d("2023-06-30"), m(10));
        let f = agg.finish(d("2025-07-01"));
        assert_eq!(
            f.customers[0].windows.as_deref(),
            Some(&Windows {
                revenue_12m: m(110),
                revenue_prev_12m: m(50),
                orders_12m: 2,
            })
        );
        let plain = Aggregator::new(None, FrequencyBasis::Orders);
        assert!(plain.history.is_none());
    }

    #[test]
    fn lines_of_one_order_count_once_and_refunds_are_netted() {
        let mut agg = Aggregator::new(None, FrequencyBasis::Orders);
        agg.add("A", Some("o1"), d("2025-01-01"), m(100));
        agg.add("A", Some("o1"), d("2025-01-01"), m(50));
        agg.add("A", Some("o2"), d("2025-01-10"), m(30));
        agg.add("A", Some("o2"), d("2025-01-12"), m(-30));
        let as_of = agg.default_as_of().unwrap_or_default();
        assert_eq!(as_of, d("2025-01-13"));
        let f = agg.finish(as_of);
        let a = &f.customers[0];
        assert_eq!(a.frequency, 2);
        assert_eq!(a.monetary, m(150));
        assert_eq!(a.gross, m(180));
        assert_eq!(a.refunds, m(-30));
        assert_eq!(a.recency_days, 3);
        assert_eq!(a.tenure_days, 12);
        assert_eq!(a.avg_order_value, m(75));
    }

    #[test]
    fn recency_uses_as_of_not_today_and_later_lines_are_left_out() {
        let mut agg = Aggregator::new(Some(d("2025-02-01")), FrequencyBasis::Orders);
        agg.add("A", Some("o1"), d("2025-01-01"), m(10));
        agg.add("A", Some("o2"), d("2025-02-01"), m(99));
        let f = agg.finish(d("2025-02-01"));
        assert_eq!(f.customers[0].recency_days, 31);
        assert_eq!(f.customers[0].monetary, m(10));
        assert_eq!(f.lines_after_as_of, 1);
        assert_eq!(f.amount_after_as_of, m(99));
    }

    #[test]
    fn frequency_can_count_distinct_purchase_days() {
        let mut agg = Aggregator::new(None, FrequencyBasis::Days);
        agg.add("A", Some("o1"), d("2025-01-01"), m(1));
        agg.add("A", Some("o2"), d("2025-01-01"), m(1));
        agg.add("A", None, d("2025-01-02"), m(1));
        agg.add("A", None, d("2025-01-02"), m(1));
        let f = agg.finish(d("2025-01-03"));
        assert_eq!(f.customers[0].frequency, 2);
        let mut agg = Aggregator::new(None, FrequencyBasis::Orders);
        agg.add("A", None, d("2025-01-02"), m(1));
        agg.add("A", None, d("2025-01-02"), m(1));
        let f = agg.finish(d("2025-01-03"));
        assert_eq!(
            f.customers[0].frequency, 2,
            "lines without an order id are orders of their own"
        );
    }

    #[test]
    fn customers_without_a_purchase_are_kept_apart() {
        let mut agg = Aggregator::new(None, FrequencyBasis::Orders);
        agg.add("B", Some("o9"), d("2025-01-05"), m(-20));
        agg.add("C", Some("o8"), d("2025-01-05"), m(0));
        agg.add("A", Some("o1"), d("2025-01-01"), m(10));
        let f = agg.finish(d("2025-01-06"));
        assert_eq!(f.customers.len(), 1);
        assert_eq!(f.no_purchase[0].customer_id, "B");
        assert_eq!(f.no_purchase[0].refunds, m(-20));
        assert_eq!(
            (
                f.no_purchase[1].customer_id.as_str(),
                f.no_purchase[1].zero_lines
            ),
            ("C", 1)
        );
    }

    #[test]
    fn zero_amount_lines_are_not_orders_and_aov_divides_by_orders_not_days() {
        let mut agg = Aggregator::new(None, FrequencyBasis::Days);
        agg.add("A", Some("o1"), d("2025-01-01"), m(100));
        agg.add("A", Some("o2"), d("2025-01-01"), m(100));
        agg.add("A", Some("o3"), d("2025-01-02"), m(0));
        let f = agg.finish(d("2025-01-03"));
        let a = &f.customers[0];
        assert_eq!((a.frequency, a.orders), (1, 2));
        assert_eq!(a.last_purchase, d("2025-01-01"));
        assert_eq!(a.avg_order_value, m(100));
    }

    #[test]
    fn sharded_aggregators_give_the_same_features_as_one() {
        let lines = [
            ("A", "o1", "2025-01-01", 100),
            ("B", "o2", "2025-01-02", 50),
            ("A", "o3", "2025-01-05", -20),
            ("C", "o4", "2025-01-07", 70),
            ("B", "o2", "2025-01-02", 30),
            ("D", "o5", "2025-01-03", -5),
        ];
        let mut one = Aggregator::new(None, FrequencyBasis::Orders);
        let mut shards = vec![
            Aggregator::new(None, FrequencyBasis::Orders),
            Aggregator::new(None, FrequencyBasis::Orders),
        ];
        for (c, o, day, v) in lines {
            one.add(c, Some(o), d(day), m(v));
            shards[usize::from(c == "B" || c == "C")].add(c, Some(o), d(day), m(v));
        }
        let sharded = ShardedAggregator::new(shards);
        assert_eq!(sharded.date_range(), one.date_range());
        let as_of = one.default_as_of().unwrap_or_default();
        assert_eq!(sharded.default_as_of(), Some(as_of));
        let a = one.finish(as_of);
        let b = sharded.finish(as_of);
        assert_eq!(a.customers, b.customers);
        assert_eq!(a.no_purchase, b.no_purchase);
    }

    /// The sharded order compares ids by their first eight bytes first: ids equal there
    /// (longer ids, one a prefix of another, NUL bytes, several bytes a character) still come
    /// out in the order of the ids themselves, over shards of different sizes.
    #[test]
    fn sharded_ids_sort_as_strings_past_their_first_eight_bytes() {
        let ids = [
            "CUST-000012",
            "CUST-000002",
            "CUST-0000",
            "CUST-000",
            "CUST\0",
            "CUST\0\0a",
            "CUST",
            "客户甲乙",
            "客户甲",
            "b",
            "B",
            "CUST-0000121",
            "CUST-00001",
            "",
        ];
        let mut one = Aggregator::new(None, FrequencyBasis::Orders);
        let mut shards: Vec<Aggregator> = (0..3)
            .map(|_| Aggregator::new(None, FrequencyBasis::Orders))
            .collect();
        for (k, id) in ids.iter().enumerate() {
            let amount = if k % 5 == 4 { m(-3) } else { m(10 + k as i64) };
            one.add(id, Some("o"), d("2025-01-01"), amount);
            shards[k * k % 3].add(id, Some("o"), d("2025-01-01"), amount);
        }
        let as_of = d("2025-01-02");
        let (a, b) = (
            one.finish(as_of),
            ShardedAggregator::new(shards).finish(as_of),
        );
        assert_eq!(a.customers, b.customers);
        assert_eq!(a.no_purchase, b.no_purchase);
        assert_eq!(b.customers.len() + b.no_purchase.len(), ids.len());
        assert!(
            b.customers
                .windows(2)
                .all(|w| w[0].customer_id < w[1].customer_id)
        );
    }

    #[test]
    fn same_order_id_for_two_customers_counts_for_each() {
        let mut agg = Aggregator::new(None, FrequencyBasis::Orders);
        agg.add("A", Some("o1"), d("2025-01-01"), m(10));
        agg.add("B", Some("o1"), d("2025-01-01"), m(10));
        let f = agg.finish(d("2025-01-02"));
        assert_eq!(f.customers[0].frequency, 1);
        assert_eq!(f.customers[1].frequency, 1);
    }

    #[test]
    fn a_customer_total_beyond_an_i64_is_exact() {
        // 10,000 lines of 99,999,999,999.99 (under the largest amount a reader accepts):
        // 10^19 units of 1/10,000 in all, more than an i64 holds
        let mut agg = Aggregator::new(None, FrequencyBasis::Orders);
        let amount = Money::from_units(999_999_999_999_900);
        for i in 0..10_000 {
            agg.add("A", Some(&format!("o{i}")), d("2025-01-01"), amount);
        }
        let f = agg.finish(d("2025-02-01"));
        let a = &f.customers[0];
        assert_eq!(a.monetary.units(), 10_000 * 999_999_999_999_900);
        assert_eq!(a.monetary.to_string(), "999999999999900.00");
        assert_eq!(a.avg_order_value, amount.round_cents());
    }

    #[test]
    fn period_schedules_start_on_the_period_that_holds_from() {
        let months = PeriodSchedule::new(d("2024-01-15"), 1).expect("schedule");
        assert_eq!(months.end(0), Some(d("2024-02-01")));
        assert_eq!(months.end(11), Some(d("2025-01-01")));
        assert_eq!(
            months.ends_through(d("2024-04-30")),
            [d("2024-02-01"), d("2024-03-01"), d("2024-04-01")]
        );
        assert_eq!(months.period_of(d("2023-05-05")), 0);
        assert_eq!(months.period_of(d("2024-01-31")), 0);
        assert_eq!(months.period_of(d("2024-03-01")), 2);
        let quarters = PeriodSchedule::new(d("2024-05-20"), 3).expect("schedule");
        assert_eq!(quarters.end(0), Some(d("2024-07-01")));
        assert_eq!(quarters.end(1), Some(d("2024-10-01")));
        assert_eq!(quarters.period_of(d("2024-09-30")), 1);
        assert_eq!(quarters.period_of(d("2025-01-01")), 3);
        assert!(PeriodSchedule::new(d("2024-05-20"), 0).is_none());
        assert!(PeriodSchedule::new(d("2024-05-20"), 13).is_none());
    }

    /// A line: customer, order (lines of one order share its date), amount.
    type Line = (u8, Option<u8>, i64);

    fn order_date(customer: u8, order: Option<u8>, index: usize) -> NaiveDate {
        // an order's lines share a date; a line without an order gets one of its own
        let seed = order.map_or(index as i64 * 7, |o| {
            i64::from(o) * 13 + i64::from(customer)
        });
        d("2023-11-01") + chrono::Duration::days(seed.rem_euclid(240))
    }

    fn add_all(agg: &mut Aggregator, lines: &[Line]) {
        for (i, (c, o, a)) in lines.iter().enumerate() {
            let order = o.map(|o| format!("o{o}"));
            agg.add(
                &format!("C{c}"),
                order.as_deref(),
                order_date(*c, *o, i),
                m(*a),
            );
        }
    }

    /// A line dated by its place, so that an order's lines can fall on several days and
    /// periods: customer, order, day offset, amount.
    type DatedLine = (u8, Option<u8>, u16, i64);

    fn add_dated(agg: &mut Aggregator, lines: &[DatedLine]) {
        for (c, o, day, a) in lines {
            let order = o.map(|o| format!("o{o}"));
            let date = d("2023-11-01") + chrono::Duration::days(i64::from(*day));
            agg.add(&format!("C{c}"), order.as_deref(), date, m(*a));
        }
    }

    /// The lines as a database gives them back, worked out apart from the aggregator: per
    /// customer and day, the sums and counts, and the orders whose earliest purchase line is
    /// on that day (a purchase line without an order an order of its own).
    fn days_of(lines: &[DatedLine]) -> Vec<(String, DayLines)> {
        use std::collections::BTreeMap;
        let mut days: BTreeMap<(u8, u16), DayLines> = BTreeMap::new();
        let mut earliest: BTreeMap<(u8, u8), u16> = BTreeMap::new();
        for (c, o, day, a) in lines {
            let date = d("2023-11-01") + chrono::Duration::days(i64::from(*day));
            let t = days.entry((*c, *day)).or_insert(DayLines {
                date,
                gross: Money::ZERO,
                refunds: Money::ZERO,
                purchase_lines: 0,
                refund_lines: 0,
                zero_lines: 0,
                new_orders: 0,
            });
            match (a.cmp(&0), o) {
                (std::cmp::Ordering::Greater, order) => {
                    t.gross += m(*a);
                    t.purchase_lines += 1;
                    match order {
                        Some(o) => {
                            let e = earliest.entry((*c, *o)).or_insert(*day);
                            *e = (*e).min(*day);
                        }
                        None => t.new_orders += 1,
                    }
                }
                (std::cmp::Ordering::Less, _) => {
                    t.refunds += m(*a);
                    t.refund_lines += 1;
                }
                (std::cmp::Ordering::Equal, _) => t.zero_lines += 1,
            }
        }
        for ((c, _), day) in earliest {
            if let Some(t) = days.get_mut(&(c, day)) {
                t.new_orders += 1;
            }
        }
        // newest first: the aggregator may not depend on the order days come in
        days.into_iter()
            .rev()
            .map(|((c, _), t)| (format!("C{c}"), t))
            .collect()
    }

    fn same_features(a: &Features, b: &Features) {
        assert_eq!(a.as_of, b.as_of);
        assert_eq!(a.customers, b.customers);
        assert_eq!(a.no_purchase, b.no_purchase);
        assert_eq!(a.lines_after_as_of, b.lines_after_as_of);
        assert_eq!(a.amount_after_as_of, b.amount_after_as_of);
    }

    proptest::proptest! {
        /// Days aggregated elsewhere give what their lines give: at one as-of, and held back
        /// by period at every period end, with history or not, counting orders or days.
        #[test]
        fn days_added_equal_their_lines(
            lines in proptest::collection::vec(
                (0u8..5, proptest::option::of(0u8..8), 0u16..300, -30i64..100),
                0..60,
            ),
            days_basis in proptest::bool::ANY,
            history in proptest::bool::ANY,
        ) {
            let basis = if days_basis { FrequencyBasis::Days } else { FrequencyBasis::Orders };
            let new = |as_of| {
                let a = Aggregator::new(as_of, basis);
                if history { a.keep_history() } else { a }
            };
            let day_rows = days_of(&lines);
            let as_of = d("2024-05-01");
            let (mut by_lines, mut by_days) = (new(Some(as_of)), new(Some(as_of)));
            add_dated(&mut by_lines, &lines);
            for (id, day) in &day_rows {
                proptest::prop_assert_eq!(by_days.add_day(id, day), Ok(()));
            }
            proptest::prop_assert_eq!(by_lines.date_range(), by_days.date_range());
            same_features(&by_lines.finish(as_of), &by_days.finish(as_of));
            let schedule = PeriodSchedule::new(d("2023-12-10"), 1).expect("schedule");
            let (mut by_lines, mut by_days) =
                (new(None).in_periods(schedule), new(None).in_periods(schedule));
            add_dated(&mut by_lines, &lines);
            for (id, day) in &day_rows {
                proptest::prop_assert_eq!(by_days.add_day(id, day), Ok(()));
            }
            for _ in schedule.ends_through(d("2024-09-01")) {
                let (a, b) = (by_lines.next_period(), by_days.next_period());
                same_features(&a.expect("period"), &b.expect("period"));
            }
        }
    }

    #[test]
    fn days_that_no_lines_could_give_are_refused() {
        let day = DayLines {
            date: d("2024-01-01"),
            gross: m(10),
            refunds: Money::ZERO,
            purchase_lines: 1,
            refund_lines: 0,
            zero_lines: 0,
            new_orders: 1,
        };
        let mut agg = Aggregator::new(None, FrequencyBasis::Orders);
        assert_eq!(agg.add_day("a", &day), Ok(()));
        let broken = [
            DayLines {
                new_orders: 2,
                ..day
            },
            DayLines {
                purchase_lines: 0,
                new_orders: 0,
                ..day
            },
            DayLines {
                refunds: m(-1),
                ..day
            },
            DayLines {
                refunds: m(1),
                refund_lines: 1,
                ..day
            },
        ];
        for b in broken {
            assert_eq!(
                agg.add_day("x", &b),
                Err(TotalsError::Inconsistent("x".into()))
            );
        }
    }

    proptest::proptest! {
        /// Every period end measured from one read equals a separate aggregator given only the
        /// lines before it, in the same order: features, daily history, lines left out.
        #[test]
        fn each_period_end_equals_an_aggregator_of_the_lines_before_it(
            lines in proptest::collection::vec(
                (0u8..6, proptest::option::of(0u8..12), -50i64..200),
                0..80,
            ),
            days in proptest::bool::ANY,
        ) {
            let basis = if days { FrequencyBasis::Days } else { FrequencyBasis::Orders };
            let schedule = PeriodSchedule::new(d("2023-12-10"), 1).expect("schedule");
            let mut staged = Aggregator::new(None, basis).keep_history().in_periods(schedule);
            add_all(&mut staged, &lines);
            for end in schedule.ends_through(d("2024-08-01")) {
                let mut alone = Aggregator::new(Some(end), basis).keep_history();
                add_all(&mut alone, &lines);
                let expected = alone.finish(end);
                let got = staged.next_period().expect("period");
                proptest::prop_assert_eq!(got.as_of, Some(end));
                proptest::prop_assert_eq!(&got.customers, &expected.customers);
                proptest::prop_assert_eq!(&got.no_purchase, &expected.no_purchase);
                proptest::prop_assert_eq!(got.lines_after_as_of, expected.lines_after_as_of);
                proptest::prop_assert_eq!(got.amount_after_as_of, expected.amount_after_as_of);
            }
        }
    }

    #[test]
    fn sharded_periods_come_out_in_id_order_equal_to_one_aggregator() {
        // customers split over three shards by the last digit of their number, as the
        // ingest engine splits them by key; each period end equals one aggregator's
        let schedule = PeriodSchedule::new(d("2024-01-01"), 1).expect("schedule");
        let lines: Vec<(String, String, NaiveDate, i64)> = (0..300)
            .map(|k| {
                let c = (k * 7) % 40;
                let day = d("2023-12-20") + chrono::Duration::days((k * 11) % 150);
                let amount = if k % 13 == 0 { -5 } else { 10 + k };
                (format!("C{c}"), format!("o{}", k / 2), day, amount)
            })
            .collect();
        let mut shards: Vec<Aggregator> = (0..3)
            .map(|_| Aggregator::new(None, FrequencyBasis::Orders).in_periods(schedule))
            .collect();
        let mut one = Aggregator::new(None, FrequencyBasis::Orders).in_periods(schedule);
        for (c, o, day, a) in &lines {
            let shard = c.bytes().last().map_or(0, |b| usize::from(b) % 3);
            shards[shard].add(c, Some(o), *day, m(*a));
            one.add(c, Some(o), *day, m(*a));
        }
        let mut sharded = ShardedAggregator::new(shards);
        for _ in 0..6 {
            let (got, want) = (sharded.next_period(), one.next_period());
            let (got, want) = (got.expect("sharded"), want.expect("one"));
            assert_eq!(got.as_of, want.as_of);
            assert_eq!(got.customers, want.customers);
            assert_eq!(got.no_purchase, want.no_purchase);
            assert_eq!(got.lines_after_as_of, want.lines_after_as_of);
            assert_eq!(got.amount_after_as_of, want.amount_after_as_of);
        }
    }

    #[test]
    fn a_customer_on_two_shards_is_found() {
        let shard = |ids: &[&str]| {
            let mut a = Aggregator::new(None, FrequencyBasis::Orders);
            for id in ids {
                a.add(id, None, d("2024-01-01"), m(5));
            }
            a
        };
        let mut disjoint = ShardedAggregator::new(vec![shard(&["a", "c"]), shard(&["b", "d"])]);
        assert_eq!(disjoint.shared_customer(), None);
        // the order worked out for the check is the one finish uses
        let ids = disjoint.finish(d("2024-02-01")).customers;
        let ids: Vec<&str> = ids.iter().map(|c| c.customer_id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c", "d"]);
        let mut split =
            ShardedAggregator::new(vec![shard(&["a", "x"]), shard(&["b"]), shard(&["x", "c"])]);
        assert_eq!(split.shared_customer(), Some(("x".to_string(), 0, 2)));
    }

    #[test]
    fn an_order_over_two_periods_counts_once_from_its_first_period() {
        // o1 has a line in March seen before its line in January: as of February it is one
        // order (January's line), as of April still one
        let schedule = PeriodSchedule::new(d("2024-01-01"), 1).expect("schedule");
        let mut agg = Aggregator::new(None, FrequencyBasis::Orders).in_periods(schedule);
        agg.add("A", Some("o1"), d("2024-03-05"), m(30));
        agg.add("A", Some("o1"), d("2024-01-20"), m(10));
        agg.add("A", Some("o2"), d("2024-03-06"), m(5));
        let feb = agg.next_period().expect("period");
        assert_eq!(
            (
                feb.customers[0].orders,
                feb.customers[0].monetary,
                feb.lines_after_as_of
            ),
            (1, m(10), 2)
        );
        assert_eq!(feb.amount_after_as_of, m(35));
        let mar = agg.next_period().expect("period");
        assert_eq!(mar.customers[0].orders, 1);
        let apr = agg.next_period().expect("period");
        assert_eq!(
            (apr.customers[0].orders, apr.customers[0].monetary),
            (2, m(45))
        );
        assert_eq!(apr.customers[0].recency_days, 26);
        assert_eq!(apr.lines_after_as_of, 0);
        // a customer whose only lines are later is not there yet
        let mut late = Aggregator::new(None, FrequencyBasis::Orders).in_periods(schedule);
        late.add("B", Some("x"), d("2024-02-10"), m(1));
        let jan = late.next_period().expect("period");
        assert!(jan.customers.is_empty() && jan.no_purchase.is_empty());
        assert_eq!(late.next_period().expect("period").customers.len(), 1);
        assert!(
            Aggregator::new(None, FrequencyBasis::Orders)
                .next_period()
                .is_none()
        );
    }
}
