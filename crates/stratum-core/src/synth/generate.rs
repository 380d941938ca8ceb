//! The generator behind [`CheckedDemoParams::customers`] and
//! [`CheckedDemoParams::try_for_each_line`].
//!
//! Model:
//!
//! * Signups follow a growing business (the signup density doubles over the history window);
//!   customer ids follow signup order.
//! * Each customer has a purchase rate and a typical line amount, both lognormal and both scaled
//!   by company size, so revenue is heavy-tailed.
//! * Each buying customer gets a fixed number of line *slots*: one, plus a share of the remaining
//!   lines proportional to `rate × active days` (largest-remainder rounding, so the slots add up
//!   to the requested line count exactly). Every emitted line — purchase, return or duplicate —
//!   uses one slot.
//! * A customer's slots are spread over its active window as sorted uniform points, generated
//!   one after the other (so no customer ever holds its future in memory); weekend points mostly
//!   move to a weekday of the same week.
//! * A calendar queue (one first-in-first-out bucket per day) merges the customers' next orders
//!   and the pending returns, so lines come out in date order and order numbers increase with
//!   the date, at constant cost per event.

use chrono::{Datelike, NaiveDate};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::words::{
    BRAND_SYLLABLES, CATEGORIES, CATEGORY_PRICE, CHANNELS, INDUSTRIES, INDUSTRY_CATEGORY,
    INDUSTRY_WEIGHT, INDUSTRY_WORDS, REGION_CITIES, REGION_MANAGERS, REGION_WEIGHT, REGIONS,
    SIZE_AMOUNT, SIZE_CHANNEL_WEIGHT, SIZE_RATE, SIZE_WEIGHT, SIZES,
};
use super::{CheckedDemoParams, DemoCustomer, DemoLine, Lifecycle};
use crate::Money;

/// ChaCha stream of the customer list.
const STREAM_CUSTOMERS: u64 = 1;
/// ChaCha stream of the transaction lines.
const STREAM_LINES: u64 = 2;

/// Share of non-new customers drawn as churned (when their signup allows it).
const P_CHURNED: f64 = 0.22;
/// Share of non-new customers drawn as dormant (when their signup allows it).
const P_DORMANT: f64 = 0.18;
/// Days between signup and the earliest possible stop of a dormant or churned customer.
const MIN_ACTIVE_DAYS: i32 = 30;
/// Spread (log scale) of the customers' purchase rates.
const SIGMA_RATE: f64 = 0.6;
/// Spread (log scale) of the customers' typical line amounts.
const SIGMA_AMOUNT: f64 = 0.5;
/// Spread (log scale) of one customer's line amounts.
const SIGMA_LINE: f64 = 0.55;
/// Smallest purchase line, in cents.
const MIN_LINE_CENTS: f64 = 1_000.0;
/// Chance that an order uses the customer's preferred channel.
const P_PREFERRED_CHANNEL: f64 = 0.8;
/// Chance that a line is in the customer's preferred category.
const P_PREFERRED_CATEGORY: f64 = 0.45;
/// Chance that a customer's preferred category is its industry's usual one.
const P_INDUSTRY_CATEGORY: f64 = 0.65;
/// Chance that a purchase line is returned.
const P_RETURN: f64 = 0.015;
/// Chance that a return gives back the whole line (otherwise 10–90 % of it).
const P_FULL_RETURN: f64 = 0.5;
/// Longest delay of a return, in days.
const MAX_RETURN_DAYS: u32 = 30;
/// Chance that a purchase line is exported twice.
const P_DUPLICATE: f64 = 0.003;
/// Chance that an order falling on a weekend moves to a weekday of the same week.
const P_WEEKEND_MOVE: f64 = 0.85;
/// Cumulative percentages of orders with 1, 2 and 3 lines.
const ORDER_LINES_CUMULATIVE: [u32; 3] = [55, 85, 100];

/// Hidden purchase behaviour of a customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Traits {
    /// Relative purchase rate (lines per active day, unnormalised).
    rate: f64,
    /// Natural log of the median line amount, in currency units.
    log_amount: f64,
    /// Preferred channel, index into [`CHANNELS`].
    channel: u8,
    /// Preferred category, index into [`CATEGORIES`].
    category: u8,
}

pub(super) fn seeded(params: &CheckedDemoParams, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed());
    rng.set_stream(stream);
    rng
}

/// A standard normal draw, clipped to ±4 so no customer or line is absurd.
fn normal<R: Rng>(rng: &mut R) -> f64 {
    let z: f64 = rng.sample(StandardNormal);
    z.clamp(-4.0, 4.0)
}

/// An index drawn with the given relative weights.
pub(super) fn pick_weighted<R: Rng>(rng: &mut R, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut r = rng.random_range(0..total);
    for (i, &w) in weights.iter().enumerate() {
        if r < w {
            return i;
        }
        r -= w;
    }
    weights.len() - 1
}

/// A uniformly drawn element of a non-empty list.
fn pick<R: Rng>(rng: &mut R, items: &[&'static str]) -> &'static str {
    items[rng.random_range(0..items.len())]
}

/// The next of `remaining` sorted uniform points on `[0, 1)` after `x`: the minimum of
/// `remaining` uniforms on `[x, 1)`.
fn next_sorted_point<R: Rng>(rng: &mut R, x: f64, remaining: u32) -> f64 {
    let u = 1.0 - rng.random::<f64>(); // (0, 1]
    let y = 1.0 - (1.0 - x) * u.powf(1.0 / f64::from(remaining));
    y.clamp(x, 1.0)
}

pub(super) fn customers(params: &CheckedDemoParams) -> Vec<DemoCustomer> {
    let n = params.customer_count();
    let mut rng = seeded(params, STREAM_CUSTOMERS);
    let start = params.start_date().num_days_from_ce();
    let end = params.end_date().num_days_from_ce();
    let span = end - start + 1;
    let new_since = params.new_since.num_days_from_ce();
    let churn_before = params.churn_before.num_days_from_ce();
    let date = |day: i32| NaiveDate::from_num_days_from_ce_opt(day).unwrap_or(params.end_date());

    let mut out = Vec::with_capacity(n);
    let mut x = 0.0_f64;
    for index in 0..n {
        // Sorted signups: sorted uniforms through the inverse CDF of a density growing
        // linearly from 1 to 2 over the window, F(t) = (t + t²/2) / 1.5.
        x = next_sorted_point(&mut rng, x, (n - index) as u32);
        let t = (1.0 + 3.0 * x).sqrt() - 1.0;
        let signup = start + ((t * f64::from(span)) as i32).clamp(0, span - 1);

        let size = pick_weighted(&mut rng, &SIZE_WEIGHT);
        let industry = pick_weighted(&mut rng, &INDUSTRY_WEIGHT);
        let region = pick_weighted(&mut rng, &REGION_WEIGHT);

        let (lifecycle, until) = if signup > new_since {
            (Lifecycle::New, end)
        } else {
            let u: f64 = rng.random();
            let earliest_stop = signup + MIN_ACTIVE_DAYS;
            let dormant_from = earliest_stop.max(churn_before);
            if u < P_CHURNED && earliest_stop < churn_before {
                let stop = rng.random_range(earliest_stop..churn_before);
                (Lifecycle::Churned, stop)
            } else if u < P_CHURNED + P_DORMANT && dormant_from <= new_since {
                let stop = rng.random_range(dormant_from..=new_since);
                (Lifecycle::Dormant, stop)
            } else {
                (Lifecycle::Active, end)
            }
        };

        let rate = SIZE_RATE[size] * (SIGMA_RATE * normal(&mut rng)).exp();
        let log_amount = SIZE_AMOUNT[size].ln() + SIGMA_AMOUNT * normal(&mut rng);
        let channel = pick_weighted(&mut rng, &SIZE_CHANNEL_WEIGHT[size]) as u8;
        let category = if rng.random_bool(P_INDUSTRY_CATEGORY) {
            INDUSTRY_CATEGORY[industry]
        } else {
            rng.random_range(0..CATEGORIES.len() as u8)
        };

        let name = company_name(&mut rng, region, industry, size);
        let account_manager = pick(&mut rng, REGION_MANAGERS[region]);

        out.push(DemoCustomer {
            id: params.customer_id(index),
            name,
            industry: INDUSTRIES[industry],
            region: REGIONS[region],
            size: SIZES[size],
            signup_date: date(signup),
            account_manager,
            lifecycle,
            active_until: date(until),
            traits: Traits {
                rate,
                log_amount,
                channel,
                category,
            },
        });
    }
    out
}

/// `城市` + two trade-name syllables + an industry word + the legal form.
fn company_name<R: Rng>(rng: &mut R, region: usize, industry: usize, size: usize) -> String {
    let city = pick(rng, REGION_CITIES[region]);
    let first = rng.random_range(0..BRAND_SYLLABLES.len());
    let mut second = rng.random_range(0..BRAND_SYLLABLES.len() - 1);
    if second >= first {
        second += 1;
    }
    let word = pick(rng, INDUSTRY_WORDS[industry]);
    let legal = if size == 2 && rng.random_bool(0.4) {
        "股份有限公司"
    } else {
        "有限公司"
    };
    let mut name = String::with_capacity(48);
    name.push_str(city);
    name.push_str(BRAND_SYLLABLES[first]);
    name.push_str(BRAND_SYLLABLES[second]);
    name.push_str(word);
    name.push_str(legal);
    name
}

/// Splits `extra` lines over customers in proportion to `weights` (largest remainder, ties to
/// the lower index), on top of one line each. The result sums to `weights.len() + extra`.
fn allocate_slots(weights: &[f64], extra: u64) -> Vec<u32> {
    const SCALE: f64 = (1_u64 << 40) as f64;
    let total: f64 = weights.iter().sum();
    let scaled: Vec<u64> = weights
        .iter()
        .map(|w| ((w / total) * SCALE).max(1.0) as u64)
        .collect();
    let sum: u128 = scaled.iter().map(|&w| u128::from(w)).sum();
    let mut counts = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(u64, u32)> = Vec::with_capacity(weights.len());
    let mut given: u64 = 0;
    for (index, &w) in scaled.iter().enumerate() {
        let product = u128::from(extra) * u128::from(w);
        let share = (product / sum) as u64;
        given += share;
        counts.push(1 + share as u32);
        remainders.push(((product % sum) as u64, index as u32));
    }
    let leftover = (extra - given) as usize; // below weights.len()
    if leftover > 0 {
        let by_remainder = |a: &(u64, u32), b: &(u64, u32)| b.0.cmp(&a.0).then(a.1.cmp(&b.1));
        remainders.select_nth_unstable_by(leftover - 1, by_remainder);
        for &(_, index) in &remainders[..leftover] {
            counts[index as usize] += 1;
        }
    }
    counts
}

/// One customer's purchase process.
struct Stream {
    /// First day of the active window (offset from the start date).
    lo: u32,
    /// Active window length in days (at least 1).
    len: u32,
    /// Position in the window of the last generated point, in `[0, 1]`.
    x: f64,
    /// Slots (lines) not used yet.
    left: u32,
    /// The customer's purchase behaviour (copied here to keep the hot data together).
    traits: Traits,
}

impl Stream {
    /// Uses one slot, moving the position to its point.
    fn take_slot<R: Rng>(&mut self, rng: &mut R) {
        self.x = next_sorted_point(rng, self.x, self.left);
        self.left -= 1;
    }

    /// Uses one slot for a new order and returns its day (offset from the start date).
    fn next_order_day<R: Rng>(&mut self, rng: &mut R, start_weekday: u32) -> u32 {
        self.take_slot(rng);
        let offset = ((self.x * f64::from(self.len)) as u32).min(self.len - 1);
        let day = self.lo + offset;
        let weekday = (start_weekday + day) % 7; // 0 = Monday
        if weekday >= 5 && rng.random_bool(P_WEEKEND_MOVE) {
            let moved = i64::from(day) - i64::from(weekday) + rng.random_range(0..5_i64);
            let hi = i64::from(self.lo + self.len - 1);
            if moved >= i64::from(self.lo) && moved <= hi {
                return moved as u32;
            }
        }
        day
    }
}

/// A pending return line.
#[derive(Debug, Clone, Copy)]
struct PendingReturn {
    order_id: u64,
    /// Returned amount, in 1/10,000 units (positive).
    units: i64,
    channel: u8,
    category: u8,
}

/// A scheduled event: a customer's next order or a pending return.
#[derive(Debug, Clone, Copy)]
enum Event {
    Order,
    Return(PendingReturn),
}

/// A calendar queue: one first-in-first-out bucket per day of the history. Events are only
/// ever scheduled on the current day or later, so walking the days in order and each bucket
/// front to back yields every event in (day, scheduling order) order, with O(1) work per event.
struct Calendar {
    buckets: Vec<Vec<(u32, Event)>>,
}

impl Calendar {
    fn schedule(&mut self, day: u32, customer: u32, event: Event) {
        self.buckets[day as usize].push((customer, event));
    }
}

/// A purchase line amount in 1/10,000 units, rounded to cents.
fn line_units<R: Rng>(rng: &mut R, log_amount: f64, price: f64) -> i64 {
    let amount = (log_amount + SIGMA_LINE * normal(rng)).exp() * price;
    let cents = (amount * 100.0).round().max(MIN_LINE_CENTS);
    cents as i64 * 100
}

/// The returned part of a purchase line, in 1/10,000 units, rounded to cents (positive).
fn return_units<R: Rng>(rng: &mut R, units: i64) -> i64 {
    if rng.random_bool(P_FULL_RETURN) {
        return units;
    }
    let cents = (units / 100) as f64;
    let part = (cents * rng.random_range(0.1..0.9)).round().max(1.0);
    part as i64 * 100
}

pub(super) fn lines<E>(
    params: &CheckedDemoParams,
    customers: &[DemoCustomer],
    mut sink: impl FnMut(&DemoLine) -> Result<(), E>,
) -> Result<(), E> {
    let total = params.transaction_count();
    let buyers = (customers.len() as u64).min(total).min(u64::from(u32::MAX)) as usize;
    if buyers == 0 {
        return Ok(());
    }
    let customers = &customers[..buyers];

    let start = params.start_date();
    let start_day = start.num_days_from_ce();
    let last = (params.end_date().num_days_from_ce() - start_day) as u32;
    let dates: Vec<NaiveDate> = start.iter_days().take(last as usize + 1).collect();
    let start_weekday = start.weekday().num_days_from_monday();

    let mut streams: Vec<Stream> = customers
        .iter()
        .map(|c| {
            let offset = |d: NaiveDate| (d.num_days_from_ce() - start_day).clamp(0, last as i32);
            let lo = offset(c.signup_date);
            let hi = offset(c.active_until).max(lo);
            Stream {
                lo: lo as u32,
                len: (hi - lo + 1) as u32,
                x: 0.0,
                left: 0,
                traits: c.traits,
            }
        })
        .collect();
    let weights: Vec<f64> = streams
        .iter()
        .map(|s| s.traits.rate * f64::from(s.len))
        .collect();
    let slots = allocate_slots(&weights, total - buyers as u64);
    drop(weights);

    let mut rng = seeded(params, STREAM_LINES);
    let mut calendar = Calendar {
        buckets: vec![Vec::new(); last as usize + 1],
    };
    for (index, (stream, &slots)) in streams.iter_mut().zip(&slots).enumerate() {
        stream.left = slots;
        let day = stream.next_order_day(&mut rng, start_weekday);
        calendar.schedule(day, index as u32, Event::Order);
    }
    drop(slots);

    let mut order_id: u64 = 0;
    for day in 0..=last {
        let order_date = dates[day as usize];
        // Events scheduled for today while today is processed go to the back of `today`.
        let mut today = std::mem::take(&mut calendar.buckets[day as usize]);
        let mut next = 0;
        while let Some(&(customer, event)) = today.get(next) {
            next += 1;
            if let Event::Return(ret) = event {
                sink(&DemoLine {
                    customer,
                    order_id: ret.order_id,
                    order_date,
                    amount: Money::from_units(-ret.units),
                    channel: CHANNELS[usize::from(ret.channel)],
                    category: CATEGORIES[usize::from(ret.category)],
                })?;
                continue;
            }

            order_id += 1;
            let stream = &mut streams[customer as usize];
            let traits = stream.traits;
            let percent = rng.random_range(0..100_u32);
            let order_lines = ORDER_LINES_CUMULATIVE
                .iter()
                .position(|&c| percent < c)
                .unwrap_or(0)
                + 1;
            let channel = if rng.random_bool(P_PREFERRED_CHANNEL) {
                traits.channel
            } else {
                rng.random_range(0..CHANNELS.len() as u8)
            };
            for line_no in 0..order_lines {
                if line_no > 0 {
                    if stream.left == 0 {
                        break;
                    }
                    stream.take_slot(&mut rng);
                }
                let category = if rng.random_bool(P_PREFERRED_CATEGORY) {
                    traits.category
                } else {
                    rng.random_range(0..CATEGORIES.len() as u8)
                };
                let price = CATEGORY_PRICE[usize::from(category)];
                let units = line_units(&mut rng, traits.log_amount, price);
                let line = DemoLine {
                    customer,
                    order_id,
                    order_date,
                    amount: Money::from_units(units),
                    channel: CHANNELS[usize::from(channel)],
                    category: CATEGORIES[usize::from(category)],
                };
                sink(&line)?;
                if stream.left > 0 && rng.random_bool(P_DUPLICATE) {
                    stream.take_slot(&mut rng);
                    sink(&line)?;
                }
                if stream.left > 0 && day < last && rng.random_bool(P_RETURN) {
                    stream.take_slot(&mut rng);
                    let return_day = (day + rng.random_range(1..=MAX_RETURN_DAYS)).min(last);
                    let pending = PendingReturn {
                        order_id,
                        units: return_units(&mut rng, units),
                        channel,
                        category,
                    };
                    calendar.schedule(return_day, customer, Event::Return(pending));
                }
            }
            if stream.left > 0 {
                let next_day = stream.next_order_day(&mut rng, start_weekday).max(day);
                if next_day == day {
                    today.push((customer, Event::Order));
                } else {
                    calendar.schedule(next_day, customer, Event::Order);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_add_up_to_the_requested_lines_and_follow_the_weights() {
        let weights = [1.0, 2.0, 3.0, 0.001, 10.0];
        let slots = allocate_slots(&weights, 1_000);
        assert_eq!(slots.iter().map(|&s| u64::from(s)).sum::<u64>(), 1_005);
        assert!(slots.iter().all(|&s| s >= 1));
        assert!(slots[4] > slots[2] && slots[2] > slots[1] && slots[1] > slots[0]);
        assert_eq!(allocate_slots(&weights, 0), vec![1; 5]);
    }

    #[test]
    fn sorted_points_are_increasing_and_end_near_one() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut x = 0.0;
        for remaining in (1..=1_000).rev() {
            let y = next_sorted_point(&mut rng, x, remaining);
            assert!(y >= x && y <= 1.0);
            x = y;
        }
        assert!(x > 0.99);
    }
}
