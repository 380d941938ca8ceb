//! The history the report and the workbook show: tier sizes over the latest runs, the
//! migration matrix of the last two, how long each customer of the latest run has been in its
//! tier, and the biggest moves with why. The run being written can be the latest before it is
//! kept (`segment --db` writes its report first and keeps the run once its files are whole).
//!
//! One pass over the runs, newest first, decoding one run at a time: the latest run's
//! customers carry the as-of date from which they have been in their tier, pushed back run by
//! run while they stay in it, as far as the first run over a year back (time in tier tops
//! out at "over 365 days"), into runs older than those shown when needed; each run's tier sizes are counted on the same decode. Older runs
//! are not decoded: their tier sizes are the exact totals kept with each run (runs kept before
//! the totals were are decoded).

use std::collections::HashMap;

use chrono::NaiveDate;
use stratum_core::history::{
    Direction, HistoryView, MatrixCell, MatrixView, MoverView, RunRef, RunSizes,
    TIME_IN_TIER_BANDS, TIME_IN_TIER_DAYS, TimeInTier, time_band,
};
use stratum_core::run::RunResult;
use stratum_core::scheme::SchemeParams;
use stratum_core::{Lang, Money};

use crate::chunk::{Layout, Stored};
use crate::migrate::{Migrations, Mover, Tiers, compare};
use crate::{RunInfo, Store, StoreError, TierTotalRow, layout_of, stored_run, why};

/// The most runs the history looks back over (two years of monthly runs).
pub const WINDOW: usize = 24;

/// The run being written, not kept yet: its result and its scheme's text.
#[derive(Debug, Clone, Copy)]
pub struct Current<'a> {
    /// The run.
    pub run: &'a RunResult,
    /// Its scheme's text (for why customers moved).
    pub scheme_text: Option<&'a str>,
}

/// A customer of the latest run with a tier in the dimension.
struct Stay {
    id: u64,
    tier: usize,
    since: NaiveDate,
    /// Whether the stay goes on in the runs looked at so far.
    going: bool,
}

impl Store {
    /// The history of the latest [`WINDOW`] runs, `current` (not kept yet) the latest when
    /// given, in `dimension` (default: the latest run's final dimension, else `rfm_class`),
    /// with the `top` biggest moves of each kind; the reasons in words in `lang`. `None` when
    /// there is no run.
    pub fn overview(
        &mut self,
        current: Option<Current<'_>>,
        dimension: Option<&str>,
        top: usize,
        lang: Lang,
    ) -> Result<Option<HistoryView>, StoreError> {
        let kept = self.db.runs()?;
        let runs_in_store = kept.len() + usize::from(current.is_some());
        let room = WINDOW - usize::from(current.is_some());
        let start = kept.len().saturating_sub(room);
        let mut window: Vec<(RunInfo, Layout)> = kept[start..]
            .iter()
            .map(|(info, text)| Ok((info.clone(), layout_of(info.id, text)?)))
            .collect::<Result<_, StoreError>>()?;
        // the latest run's customers in stored form, by store id (new customers of a run not
        // kept yet get ids from the customers table's next id on)
        let mut named: HashMap<u64, String> = HashMap::new();
        let (latest_ref, latest_layout, latest_rows, latest_scheme) = match current {
            Some(c) => {
                let codes: Vec<&str> = c.run.records().map(|r| r.customer_id).collect();
                let (ids, next) = self.db.ids(&codes)?;
                for (&id, code) in ids.iter().zip(&codes) {
                    if id >= next {
                        named.insert(id, code.to_string());
                    }
                }
                let (_, layout, mut rows) = stored_run(c.run, |i| ids[i]);
                rows.sort_unstable_by_key(|s| s.id);
                let run = RunRef {
                    id: None,
                    as_of: c.run.as_of,
                    draft: false,
                };
                (run, layout, rows, c.scheme_text.map(str::to_string))
            }
            None => {
                let Some((info, layout)) = window.pop() else {
                    return Ok(None);
                };
                let rows = self.decoded(info.id)?;
                let scheme = self.db.scheme_text(info.id)?;
                (kept_ref(&info), layout, rows, scheme)
            }
        };
        let parse = |t: Option<&str>| t.and_then(|t| SchemeParams::from_toml(t).ok());
        let latest_params = parse(latest_scheme.as_deref());
        let dimension = match dimension {
            Some(d) => d.to_string(),
            None => final_dimension(latest_params.as_ref(), &latest_layout),
        };
        let Some(latest_tiers) = Tiers::of(&latest_layout, &dimension) else {
            return Err(StoreError::NoDimension {
                dimension,
                known: latest_layout
                    .dimensions
                    .iter()
                    .map(|(d, _)| d.as_str())
                    .chain(["rfm_class", "rfm_segment", "abc_class"])
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let mut tiers = latest_tiers.ranked();
        let latest_index = union_index(&latest_tiers, &mut tiers);
        let mut stays: Vec<Stay> = latest_rows
            .iter()
            .filter_map(|s| {
                let t = (latest_tiers.pick)(s)?;
                Some(Stay {
                    id: s.id,
                    tier: *latest_index.get(t)?,
                    since: latest_ref.as_of,
                    going: true,
                })
            })
            .collect();
        let mut sizes = vec![RunSizes {
            run: latest_ref,
            tiers: count(&latest_rows, &latest_tiers, &latest_index),
        }];
        let mut matrix = None;
        // stays are followed back to the first run over a year before the latest (whoever
        // is still in the tier there has been in it over 365 days, the last band); older runs
        // give only their tier sizes, from the totals kept with them
        let mut walking = true;
        for (info, layout) in window.iter().rev() {
            let run_tiers = Tiers::of(layout, &dimension);
            if !walking && matrix.is_some() {
                let kept = self.db.tier_totals(info.id)?;
                if !kept.is_empty() {
                    sizes.push(RunSizes {
                        run: kept_ref(info),
                        tiers: sizes_of(&kept, &dimension, run_tiers.as_ref(), &mut tiers)?,
                    });
                    continue;
                }
            }
            let rows = self.decoded(info.id)?;
            let Some(run_tiers) = run_tiers else {
                sizes.push(RunSizes {
                    run: kept_ref(info),
                    tiers: Vec::new(),
                });
                for stay in &mut stays {
                    stay.going = false;
                }
                walking = false;
                continue;
            };
            let index = union_index(&run_tiers, &mut tiers);
            sizes.push(RunSizes {
                run: kept_ref(info),
                tiers: count(&rows, &run_tiers, &index),
            });
            if matrix.is_none() {
                let to = latest_info(&latest_ref);
                let m = compare(
                    (info, layout, &rows),
                    (&to, &latest_layout, &latest_rows),
                    &dimension,
                )?;
                let scheme = self.db.scheme_text(info.id)?;
                matrix = Some((m, scheme));
            }
            if walking {
                push_back(&mut stays, &rows, &run_tiers, &index, info.as_of);
                let year_back = (latest_ref.as_of - info.as_of).num_days() > TIME_IN_TIER_DAYS[2];
                walking = !year_back && stays.iter().any(|s| s.going);
            }
        }
        // stays that go on past the runs shown are followed into the older runs (a store of
        // weekly runs shows 24 weeks, and time in tier still reaches back a year)
        for (info, text) in kept[..start].iter().rev() {
            if !walking {
                break;
            }
            let layout = layout_of(info.id, text)?;
            let Some(run_tiers) = Tiers::of(&layout, &dimension) else {
                break;
            };
            let rows = self.decoded(info.id)?;
            let index = union_index(&run_tiers, &mut tiers);
            push_back(&mut stays, &rows, &run_tiers, &index, info.as_of);
            let year_back = (latest_ref.as_of - info.as_of).num_days() > TIME_IN_TIER_DAYS[2];
            walking = !year_back && stays.iter().any(|s| s.going);
        }
        sizes.reverse();
        for s in &mut sizes {
            s.tiers.resize(tiers.len(), (0, Money::ZERO));
        }
        let time_in_tier = time_in_tier(&stays, &tiers, latest_ref.as_of);
        let (matrix, movers) = match matrix {
            Some((m, from_scheme)) => {
                let schemes = (parse(from_scheme.as_deref()), latest_params);
                let movers = self.shown_movers(&m, &named, top, &schemes, lang)?;
                (Some(matrix_view(&m, latest_ref)), movers)
            }
            None => (None, [Vec::new(), Vec::new(), Vec::new()]),
        };
        let [upgrades, downgrades, high_value_down] = movers;
        let agreement = match kept.last() {
            Some((info, _)) => crate::review::agreement_view(&self.review_stats(info.id)?),
            None => None,
        };
        Ok(Some(HistoryView {
            agreement,
            dimension,
            tiers,
            runs: sizes,
            runs_in_store,
            matrix,
            time_in_tier,
            upgrades,
            downgrades,
            high_value_down,
        }))
    }

    /// The `top` biggest moves up, down, and down or lost of class-A customers, named and with
    /// why (`named`: the customers the store does not have yet).
    fn shown_movers(
        &mut self,
        m: &Migrations,
        named: &HashMap<u64, String>,
        top: usize,
        schemes: &(Option<SchemeParams>, Option<SchemeParams>),
        lang: Lang,
    ) -> Result<[Vec<MoverView>; 3], StoreError> {
        let pick = |keep: &dyn Fn(&Mover) -> bool| -> Vec<&Mover> {
            m.movers.iter().filter(|x| keep(x)).take(top).collect()
        };
        let lists = [
            pick(&|x| x.direction == Direction::Up),
            pick(&|x| x.direction == Direction::Down),
            pick(&|x| x.was_class_a && matches!(x.direction, Direction::Down | Direction::Lost)),
        ];
        let ids: Vec<u64> = lists.iter().flatten().map(|x| x.id).collect();
        let codes = self.db.codes(&ids)?;
        let view = |x: &Mover| MoverView {
            customer_id: codes
                .get(&x.id)
                .or_else(|| named.get(&x.id))
                .cloned()
                .unwrap_or_default(),
            from: x.from.clone(),
            to: x.to.clone(),
            direction: x.direction,
            monetary_from: x.monetary_from,
            monetary_to: x.monetary_to,
            why: why::mover_why(
                x,
                &m.dimension,
                (schemes.0.as_ref(), schemes.1.as_ref()),
                lang,
            ),
        };
        Ok(lists.map(|list| list.into_iter().map(view).collect()))
    }
}

/// The final dimension of a run with `scheme` and `layout`: the scheme's `final`,
/// else its last dimension; `rfm_class` without a scheme.
pub(crate) fn final_dimension(scheme: Option<&SchemeParams>, layout: &Layout) -> String {
    scheme
        .and_then(|s| s.final_name().map(str::to_string))
        .filter(|d| layout.dimensions.iter().any(|(n, _)| n == d))
        .or_else(|| layout.dimensions.last().map(|(d, _)| d.clone()))
        .unwrap_or_else(|| "rfm_class".to_string())
}

/// A kept run as the history names it.
pub(crate) fn kept_ref(info: &RunInfo) -> RunRef {
    RunRef {
        id: Some(info.id),
        as_of: info.as_of,
        draft: false,
    }
}

/// The run info [`compare`] needs of the latest run (only its id and date are read).
fn latest_info(run: &RunRef) -> RunInfo {
    RunInfo {
        id: run.id.unwrap_or(0),
        as_of: run.as_of,
        started_at: String::new(),
        finished_at: String::new(),
        tool_version: String::new(),
        scheme_name: None,
        scheme_hash: None,
        customers: 0,
        revenue: Money::ZERO,
    }
}

/// Each of a run's tiers' place in `tiers` (the history's list), tiers not there yet added.
fn union_index(run: &Tiers<'_>, tiers: &mut Vec<String>) -> Vec<usize> {
    run.names
        .iter()
        .map(|name| match tiers.iter().position(|t| t == name) {
            Some(i) => i,
            None => {
                tiers.push(name.clone());
                tiers.len() - 1
            }
        })
        .collect()
}

/// Customers and net revenue per history tier of one run.
fn count(rows: &[Stored], run: &Tiers<'_>, index: &[usize]) -> Vec<(u64, Money)> {
    let mut out = vec![(0u64, Money::ZERO); index.iter().max().map_or(0, |m| m + 1)];
    for s in rows {
        if let Some(&t) = (run.pick)(s).and_then(|t| index.get(t)) {
            out[t].0 += 1;
            out[t].1 += s.monetary();
        }
    }
    out
}

/// Pushes back the start of the stays still going to `as_of` for the customers in the same
/// tier in this earlier run (`rows` by store id); the others' stays end.
fn push_back(
    stays: &mut [Stay],
    rows: &[Stored],
    run: &Tiers<'_>,
    index: &[usize],
    as_of: NaiveDate,
) {
    let mut j = 0;
    for stay in stays.iter_mut().filter(|s| s.going) {
        while j < rows.len() && rows[j].id < stay.id {
            j += 1;
        }
        let same = rows.get(j).is_some_and(|s| {
            s.id == stay.id && (run.pick)(s).and_then(|t| index.get(t).copied()) == Some(stay.tier)
        });
        if same {
            stay.since = as_of;
        } else {
            stay.going = false;
        }
    }
}

/// Time in tier per history tier (those the latest run has customers in).
fn time_in_tier(stays: &[Stay], tiers: &[String], latest: NaiveDate) -> Vec<TimeInTier> {
    let mut days: Vec<Vec<i64>> = vec![Vec::new(); tiers.len()];
    for s in stays {
        days[s.tier].push((latest - s.since).num_days());
    }
    tiers
        .iter()
        .zip(days)
        .filter(|(_, d)| !d.is_empty())
        .map(|(tier, mut d)| {
            let mut bands = [0u64; TIME_IN_TIER_BANDS];
            for &x in &d {
                bands[time_band(x)] += 1;
            }
            let mid = (d.len() - 1) / 2;
            let median_days = *d.select_nth_unstable(mid).1;
            TimeInTier {
                tier: tier.clone(),
                customers: d.len() as u64,
                bands,
                median_days,
            }
        })
        .collect()
}

/// Every dimension's tier totals of a run's customers (`rows`), as the store keeps them: the
/// scheme's dimensions, then `rfm_class`, `rfm_segment` and `abc_class`.
pub(crate) fn tier_totals(layout: &Layout, rows: &[Stored]) -> Vec<TierTotalRow> {
    let names = layout.dimensions.iter().map(|(d, _)| d.as_str()).chain([
        "rfm_class",
        "rfm_segment",
        "abc_class",
    ]);
    let mut out = Vec::new();
    for dimension in names {
        let Some(tiers) = Tiers::of(layout, dimension) else {
            continue;
        };
        let mut totals = vec![(0i64, Money::ZERO); tiers.names.len()];
        for s in rows {
            if let Some(t) = (tiers.pick)(s).and_then(|t| totals.get_mut(t)) {
                t.0 += 1;
                t.1 += s.monetary();
            }
        }
        for (name, (customers, revenue)) in tiers.names.iter().zip(totals) {
            if customers > 0 {
                out.push((
                    dimension.to_string(),
                    name.clone(),
                    customers,
                    revenue.units().to_string(),
                ));
            }
        }
    }
    out
}

/// A run's tier sizes in `dimension` from the totals kept with it, in the history's tier order
/// (tiers not there yet added); none when its scheme lacks the dimension.
fn sizes_of(
    kept: &[TierTotalRow],
    dimension: &str,
    run: Option<&Tiers<'_>>,
    tiers: &mut Vec<String>,
) -> Result<Vec<(u64, Money)>, StoreError> {
    let Some(run) = run else {
        return Ok(Vec::new());
    };
    union_index(run, tiers);
    let mut out = vec![(0u64, Money::ZERO); tiers.len()];
    for (d, tier, customers, units) in kept {
        if d != dimension {
            continue;
        }
        let corrupt = |what: &'static str, value: String| StoreError::Corrupt { what, value };
        let at = tiers
            .iter()
            .position(|t| t == tier)
            .ok_or_else(|| corrupt("tier of a run's totals", tier.clone()))?;
        let units: i128 = units
            .parse()
            .map_err(|_| corrupt("revenue of a run's totals", units.clone()))?;
        out[at] = (
            u64::try_from(*customers)
                .map_err(|_| corrupt("customer count", customers.to_string()))?,
            Money::from_units_i128(units),
        );
    }
    Ok(out)
}

/// The matrix of `m` for the report: new customers the first row, lost ones the last column.
pub(crate) fn matrix_view(m: &Migrations, to: RunRef) -> MatrixView {
    let has = |none: &dyn Fn(&crate::migrate::Transition) -> bool| m.cells.iter().any(none);
    let rows: Vec<Option<String>> = has(&|c| c.from.is_none())
        .then_some(None)
        .into_iter()
        .chain(m.from_tiers.iter().cloned().map(Some))
        .collect();
    let columns: Vec<Option<String>> = m
        .to_tiers
        .iter()
        .cloned()
        .map(Some)
        .chain(has(&|c| c.to.is_none()).then_some(None))
        .collect();
    let cells = rows
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| {
                    m.cells.iter().find(|x| &x.from == r && &x.to == c).map_or(
                        MatrixCell {
                            customers: 0,
                            revenue_from: Money::ZERO,
                            revenue_to: Money::ZERO,
                            direction: direction(m, r, c),
                        },
                        |x| MatrixCell {
                            customers: x.customers,
                            revenue_from: x.revenue_from,
                            revenue_to: x.revenue_to,
                            direction: direction(m, r, c),
                        },
                    )
                })
                .collect()
        })
        .collect();
    MatrixView {
        from: kept_ref(&m.from),
        to,
        rows,
        columns,
        cells,
        counts: m.counts,
        new_and_lost: m.new_and_lost,
    }
}

/// How the customers of a cell moved: new, lost, stable when the tier is the same, else up or
/// down by the tiers' places in their runs' lists (best first), as [`compare`] decides.
fn direction(m: &Migrations, from: &Option<String>, to: &Option<String>) -> Direction {
    match (from, to) {
        (None, _) => Direction::New,
        (_, None) => Direction::Lost,
        (Some(a), Some(b)) if a == b => Direction::Stable,
        (Some(a), Some(b)) => {
            let place = |list: &[String], t: &str| list.iter().position(|x| x == t);
            match (place(&m.from_tiers, a), place(&m.to_tiers, b)) {
                (Some(p), Some(q)) if q > p => Direction::Down,
                (Some(p), Some(q)) if q < p => Direction::Up,
                _ => Direction::Stable,
            }
        }
    }
}
