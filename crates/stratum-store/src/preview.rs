//! A draft scheme previewed on the latest run: its kept customer profiles placed by the
//! draft (no transaction read again, nothing recorded), compared with the run's tiers: the
//! transition matrix old → new tier, every customer who would move with both reasons, the
//! tiers that would be empty.
//!
//! The profile a run keeps holds every column a rule can read (features, built-in tiers,
//! lifetime value, attributes), so the draft is placed as a run of it on the same data would
//! place it: its `[lifecycle]` is applied again, its `[cluster]` fitted again, and the run's
//! overrides of its final tier applied to the draft's.

use std::collections::HashMap;

use stratum_core::history::{Direction, PreviewMover, PreviewView, RunRef};
use stratum_core::run::place_draft;
use stratum_core::scheme::{ColumnData, Override, Profile, SchemeParams, TextColumn};
use stratum_core::{Lang, Money};

use crate::chunk::{self, Kind, Layout, Stored, StoredReason};
use crate::migrate::{Migrations, Tiers, Transition};
use crate::overview::{final_dimension, kept_ref, matrix_view};
use crate::{RunInfo, Store, StoreError, layout_of, reason_of, why};

/// A kept run's customers with their profile read back.
#[derive(Debug)]
pub struct KeptProfile {
    /// The run.
    pub info: RunInfo,
    /// Its layout.
    pub layout: Layout,
    /// Its customers, in the run's order.
    pub rows: Vec<Stored>,
    /// Their customer ids, in the same order.
    pub codes: Vec<String>,
    /// Their profile, in the same order.
    pub profile: Profile,
}

impl Store {
    /// Run `run`'s customers and the profile kept with them.
    pub fn kept_profile(&mut self, run: i64) -> Result<KeptProfile, StoreError> {
        self.kept_columns(run, None)
    }

    /// [`Store::kept_profile`] with only the profile columns called `wanted` (all when `None`).
    pub fn kept_columns(
        &mut self,
        run: i64,
        wanted: Option<&[String]>,
    ) -> Result<KeptProfile, StoreError> {
        let (info, text) = self
            .db
            .runs()?
            .into_iter()
            .find(|(r, _)| r.id == run)
            .ok_or(StoreError::NoRun(run))?;
        let layout = layout_of(run, &text)?;
        // a run kept without a profile still gives its tiers when only some columns are asked
        if layout.profile.is_empty() && wanted.is_none() {
            return Err(StoreError::NoProfile(run));
        }
        let by_id = self.decoded(run)?;
        let parts = {
            use rayon::prelude::*;
            let bytes = self.db.run_profiles(run)?;
            bytes
                .par_iter()
                .map(|b| chunk::decode_profile(b))
                .collect::<Result<Vec<_>, _>>()?
        };
        let corrupt = |value: String| StoreError::Corrupt {
            what: "profile chunk",
            value,
        };
        let n = by_id.len();
        // the customers back in the run's order: `order[k]` is the one at place k
        let mut order: Vec<usize> = vec![usize::MAX; n];
        if layout.profile.is_empty() {
            // no places kept: the customers in store-id order
            order = (0..n).collect();
        }
        let positions = parts.iter().flat_map(|p| &p.positions);
        let mut seen = 0;
        for (i, &at) in positions.enumerate() {
            match order.get_mut(at as usize) {
                Some(slot) if *slot == usize::MAX && i < n => *slot = i,
                _ => return Err(corrupt(format!("run {run}: customer place {at}"))),
            }
            seen += 1;
        }
        if seen != n && !layout.profile.is_empty() {
            return Err(corrupt(format!(
                "run {run}: {seen} customers in the profile, {n} in the run"
            )));
        }
        let mut columns = Vec::with_capacity(layout.profile.len());
        for (k, (name, kind)) in layout.profile.iter().enumerate() {
            if wanted.is_some_and(|w| !w.contains(name)) {
                continue;
            }
            let pieces = parts.iter().map(|p| p.columns.get(k));
            let broken = || corrupt(format!("run {run} column {name}"));
            let data = match kind {
                Kind::Number => {
                    let mut v = Vec::with_capacity(n);
                    for piece in pieces {
                        piece
                            .and_then(|c| c.numbers_into(&mut v))
                            .ok_or_else(broken)?;
                    }
                    if v.len() != n {
                        return Err(broken());
                    }
                    ColumnData::Number(order.iter().map(|&i| v[i]).collect())
                }
                Kind::Text => {
                    let mut v: Vec<Option<&str>> = Vec::with_capacity(n);
                    for piece in pieces {
                        v.extend(piece.and_then(|c| c.texts()).ok_or_else(broken)?);
                    }
                    if v.len() != n {
                        return Err(broken());
                    }
                    ColumnData::Text(order.iter().map(|&i| v[i]).collect::<TextColumn>())
                }
            };
            columns.push((name.clone(), data));
        }
        let ids: Vec<u64> = by_id.iter().map(|s| s.id).collect();
        let mut named = self.db.codes(&ids)?;
        let mut slots: Vec<Option<Stored>> = by_id.into_iter().map(Some).collect();
        let rows: Vec<Stored> = order
            .iter()
            .map(|&i| slots[i].take().ok_or_else(|| corrupt(format!("run {run}"))))
            .collect::<Result<_, _>>()?;
        let codes = rows
            .iter()
            .map(|s| {
                named.remove(&s.id).ok_or_else(|| StoreError::Corrupt {
                    what: "customer id",
                    value: s.id.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(KeptProfile {
            info,
            layout,
            rows,
            codes,
            profile: Profile::restored(n, columns),
        })
    }

    /// What `draft` would do to the latest run's customers in `dimension` of the draft
    /// (default: its final dimension), compared with the run's tiers in the dimension of that
    /// name, else in its final one; the reasons in `lang`.
    pub fn preview(
        &mut self,
        draft: SchemeParams,
        dimension: Option<&str>,
        lang: Lang,
    ) -> Result<PreviewView, StoreError> {
        let latest = self.db.runs()?.last().map(|(r, _)| r.id);
        let run = latest.ok_or(StoreError::NoRuns)?;
        let kept = self.kept_profile(run)?;
        let old_scheme = self
            .db
            .scheme_text(run)?
            .and_then(|t| SchemeParams::from_toml(&t).ok());
        let old_final = final_dimension(old_scheme.as_ref(), &kept.layout);
        let overrides = overrides_of(&kept, &old_final);
        let draft_name = draft.name().map(str::to_string);
        let ids: Vec<&str> = kept.codes.iter().map(String::as_str).collect();
        let placed = place_draft(draft, kept.profile, &ids, &overrides, kept.info.as_of)
            .map_err(|e| StoreError::Draft(Box::new(e)))?;
        let checked = &placed.checked;
        let new_dim = match dimension {
            Some(d) => checked
                .dimensions
                .iter()
                .position(|x| x.name == d)
                .ok_or_else(|| StoreError::NoDimension {
                    dimension: d.to_string(),
                    known: names(checked.dimensions.iter().map(|x| x.name.as_str())),
                })?,
            None => checked.final_dimension,
        };
        let new = &checked.dimensions[new_dim];
        // a dimension the run does not have is compared with the run's final one
        let old_name = dimension
            .filter(|d| kept.layout.dimensions.iter().any(|(n, _)| n == d))
            .unwrap_or(&old_final);
        let old = Tiers::of(&kept.layout, old_name).ok_or_else(|| StoreError::NoDimension {
            dimension: old_name.to_string(),
            known: names(kept.layout.dimensions.iter().map(|(d, _)| d.as_str())),
        })?;
        let old_ranked = old.ranked();
        let mut new_order: Vec<usize> = (0..new.tiers.len()).collect();
        new_order.sort_by_key(|&t| new.rank.get(t).copied().unwrap_or(u16::MAX));
        let new_ranked: Vec<String> = new_order
            .iter()
            .map(|&t| new.tiers[t].name.clone())
            .collect();
        let place = |list: &[String], t: &str| list.iter().position(|x| x == t);
        // by the draft's ranking when it has both tiers, else by the run's when it has both,
        // else by their places in their own lists
        let direction = |from: &str, to: &str| {
            let places = match (place(&new_ranked, from), place(&old_ranked, to)) {
                (Some(p), _) => (Some(p), place(&new_ranked, to)),
                (None, Some(q)) => (place(&old_ranked, from), Some(q)),
                (None, None) => (place(&old_ranked, from), place(&new_ranked, to)),
            };
            match places {
                _ if from == to => Direction::Stable,
                (Some(p), Some(q)) if q > p => Direction::Down,
                (Some(p), Some(q)) if q < p => Direction::Up,
                _ => Direction::Stable,
            }
        };

        let mut cells: HashMap<(usize, usize), Transition> = HashMap::new();
        let mut counts = [0u64; 3];
        let mut old_sizes = vec![(0u64, Money::ZERO); old.names.len()];
        let mut new_sizes = vec![(0u64, Money::ZERO); new.tiers.len()];
        let mut moved: Vec<(usize, usize, usize, Direction)> = Vec::new();
        let mut revenue = Money::ZERO;
        for (i, s) in kept.rows.iter().enumerate() {
            let money = s.monetary();
            revenue += money;
            let b = usize::from(placed.result.assignments[i].tiers[new_dim]);
            new_sizes[b].0 += 1;
            new_sizes[b].1 += money;
            let Some(a) = (old.pick)(s).filter(|&a| a < old.names.len()) else {
                continue;
            };
            old_sizes[a].0 += 1;
            old_sizes[a].1 += money;
            let (from, to) = (&old.names[a], &new.tiers[b].name);
            let direction = direction(from, to);
            counts[match direction {
                Direction::Up => 0,
                Direction::Down => 2,
                _ => 1,
            }] += 1;
            let cell = cells.entry((a, b)).or_insert_with(|| Transition {
                from: Some(from.clone()),
                to: Some(to.clone()),
                customers: 0,
                revenue_from: Money::ZERO,
                revenue_to: Money::ZERO,
            });
            cell.customers += 1;
            cell.revenue_from += money;
            cell.revenue_to += money;
            if from != to {
                moved.push((i, a, b, direction));
            }
        }
        let mut cells: Vec<Transition> = cells.into_values().collect();
        cells.sort_by_key(|c| {
            (
                c.from.as_deref().and_then(|t| place(&old_ranked, t)),
                c.to.as_deref().and_then(|t| place(&new_ranked, t)),
            )
        });
        let m = Migrations {
            from: kept.info.clone(),
            to: kept.info.clone(),
            dimension: new.name.clone(),
            from_tiers: old_ranked.clone(),
            to_tiers: new_ranked.clone(),
            cells,
            counts,
            new_and_lost: [0, 0],
            movers: Vec::new(),
        };
        let draft_ref = RunRef {
            draft: true,
            ..kept_ref(&kept.info)
        };
        let mut matrix = matrix_view(&m, draft_ref);
        for (r, row) in matrix.rows.iter().zip(&mut matrix.cells) {
            for (c, cell) in matrix.columns.iter().zip(row) {
                if let (Some(r), Some(c)) = (r, c) {
                    cell.direction = direction(r, c);
                }
            }
        }

        moved.sort_by(|x, y| {
            let (p, q) = (kept.rows[x.0].monetary(), kept.rows[y.0].monetary());
            q.cmp(&p).then(x.0.cmp(&y.0))
        });
        let mut revenue_moved = Money::ZERO;
        let movers = moved
            .iter()
            .map(|&(i, a, b, direction)| {
                let s = &kept.rows[i];
                revenue_moved += s.monetary();
                Ok(PreviewMover {
                    customer_id: kept.codes[i].clone(),
                    from: old.names[a].clone(),
                    to: new.tiers[b].name.clone(),
                    direction,
                    monetary: s.monetary(),
                    reason_from: why::reason_text(reason_of(&kept.layout, s)?.as_ref(), lang),
                    reason_to: placed.result.assignments[i].reason.text(checked, lang),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;

        let mut sizes: Vec<(String, u64, Money, u64, Money)> = new_order
            .iter()
            .map(|&t| {
                let name = &new.tiers[t].name;
                let (c, r) = old
                    .names
                    .iter()
                    .position(|x| x == name)
                    .map_or((0, Money::ZERO), |a| old_sizes[a]);
                (name.clone(), c, r, new_sizes[t].0, new_sizes[t].1)
            })
            .collect();
        for name in &old_ranked {
            if !sizes.iter().any(|x| &x.0 == name) {
                let a = old.names.iter().position(|x| x == name).unwrap_or(0);
                let (c, r) = old_sizes.get(a).copied().unwrap_or((0, Money::ZERO));
                sizes.push((name.clone(), c, r, 0, Money::ZERO));
            }
        }
        let empty = new_order
            .iter()
            .filter(|&&t| new_sizes[t].0 == 0)
            .map(|&t| new.tiers[t].name.clone())
            .collect();
        let mut warnings: Vec<String> = checked
            .warnings(&placed.profile, &placed.result)
            .iter()
            .map(|w| w.text(lang))
            .collect();
        for skipped in &placed.result.skipped {
            warnings.push(match lang {
                Lang::Zh => format!(
                    "客户 {} 的手动调整（{}）未应用：{}",
                    skipped.item.customer_id,
                    skipped.item.tier,
                    skipped.why.code()
                ),
                Lang::En => format!(
                    "the override of {} ({}) is not applied: {}",
                    skipped.item.customer_id,
                    skipped.item.tier,
                    skipped.why.code()
                ),
            });
        }
        Ok(PreviewView {
            run: kept_ref(&kept.info),
            draft_name,
            dimensions: (old_name.to_string(), new.name.clone()),
            matrix,
            sizes,
            customers: kept.rows.len() as u64,
            revenue,
            movers,
            revenue_moved,
            empty,
            warnings,
        })
    }
}

/// The overrides run `kept` applied, to its final tiers (in `dimension`), as a run would read
/// them from the overrides file.
fn overrides_of(kept: &KeptProfile, dimension: &str) -> Vec<Override> {
    let Some(d) = kept
        .layout
        .dimensions
        .iter()
        .position(|(n, _)| n == dimension)
    else {
        return Vec::new();
    };
    kept.rows
        .iter()
        .zip(&kept.codes)
        .filter_map(|(s, code)| match &s.reason {
            Some(StoredReason::Override {
                set_by,
                set_on,
                expires,
                note,
            }) => {
                let tier = s
                    .tiers
                    .get(d)
                    .and_then(|&t| kept.layout.dimensions[d].1.get(usize::from(t)))?;
                Some(Override {
                    customer_id: code.clone(),
                    tier: tier.clone(),
                    reason: note.clone(),
                    set_by: set_by.clone(),
                    set_on: set_on.and_then(chunk::date),
                    expires: expires.and_then(chunk::date),
                })
            }
            _ => None,
        })
        .collect()
}

/// Names, comma separated.
fn names<'a>(list: impl Iterator<Item = &'a str>) -> String {
    list.collect::<Vec<_>>().join(", ")
}
