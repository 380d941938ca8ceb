//! A set of keys that are already hashes, whose slots a caller can warm before inserting.
//!
//! Deduplicating rows and counting distinct orders make one look-up per line into tables of
//! millions of keys, far larger than the caches: each look-up waits for memory. A general hash
//! set hides where a key will land; this one exposes it ([`KeySet::warm`]), so that a loop can
//! load the slots of the keys a few lines ahead while it works on the current one, and the
//! memory accesses overlap instead of queueing. Keys are their own hash (96 bits of a row's
//! hash, a customer number with an order key), so nothing is hashed again; the table is
//! open-addressed with linear probing, at most three quarters full.
//!
//! (A first version without prefetching, in an earlier commit, was slower than hashbrown: the
//! prefetch is what it is for.)

/// A key stored in a [`KeySet`].
pub trait HashKey: Copy + Eq {
    /// The value that marks an empty slot (it can still be inserted: it is kept apart).
    const EMPTY: Self;
    /// 64 well-mixed bits of the key; the slot is chosen by them.
    fn spread(self) -> u64;
}

/// 96 of a 128-bit row hash's bits, in 12 bytes (three quarters of a `u128`'s slot, so a
/// table of every row of a file takes 16 bytes a row, not 21): a false match needs two rows
/// whose hashes agree in 96 bits (below 10⁻¹¹ for 10⁹ rows in one set). Its spread is the
/// hash's low half.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RowKey([u32; 3]);

impl RowKey {
    /// The key of a row with this hash.
    #[inline]
    pub fn of(hash: u128) -> Self {
        RowKey([hash as u32, (hash >> 32) as u32, (hash >> 64) as u32])
    }
}

impl HashKey for RowKey {
    const EMPTY: Self = RowKey([0; 3]);
    fn spread(self) -> u64 {
        u64::from(self.0[0]) | (u64::from(self.0[1]) << 32)
    }
}

/// A number below 2³² and a 64-bit key, e.g. (customer number, order key), in 12 bytes (a
/// pair of `u64`s took 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NumberedKey([u32; 3]);

impl NumberedKey {
    /// The key of `key` under `number`.
    #[inline]
    pub fn new(number: u32, key: u64) -> Self {
        NumberedKey([number, key as u32, (key >> 32) as u32])
    }
}

impl HashKey for NumberedKey {
    const EMPTY: Self = NumberedKey([0; 3]);
    fn spread(self) -> u64 {
        let key = u64::from(self.0[1]) | (u64::from(self.0[2]) << 32);
        (u64::from(self.0[0]) ^ key.rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

/// The smallest table allocated.
const MIN_SLOTS: usize = 16;

/// An exact set of [`HashKey`]s (keys are compared whole, never only by their spread).
///
/// The table can have any length (the home slot is the spread scaled to it, not masked), so a
/// set reserved for `n` keys takes `4n/3` slots, not the next power of two above: 16 bytes
/// per 12-byte key instead of up to 32.
#[derive(Debug, Clone, Default)]
pub struct KeySet<K> {
    slots: Vec<K>,
    /// Keys in `slots`.
    len: usize,
    /// Whether [`HashKey::EMPTY`] itself is in the set.
    has_empty: bool,
}

impl<K: HashKey> KeySet<K> {
    /// An empty set that holds `n` keys before it grows.
    pub fn with_capacity(n: usize) -> Self {
        let mut set = KeySet {
            slots: Vec::new(),
            len: 0,
            has_empty: false,
        };
        set.reserve(n);
        set
    }

    /// Number of keys in the set.
    pub fn len(&self) -> usize {
        self.len + usize::from(self.has_empty)
    }

    /// Whether the set has no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes room for `additional` more keys without growing.
    pub fn reserve(&mut self, additional: usize) {
        let needed = self.len.saturating_add(additional);
        if needed > self.limit() {
            self.resize(slots_for(needed));
        }
    }

    /// Adds `key`; `false` when it was already there.
    pub fn insert(&mut self, key: K) -> bool {
        if key == K::EMPTY {
            return !std::mem::replace(&mut self.has_empty, true);
        }
        if self.len >= self.limit() {
            // doubling keeps the cost of growing proportional to the keys
            self.resize(slots_for(self.len + 1).max(self.slots.len() * 2));
        }
        match self.probe(key) {
            Ok(_) => false,
            Err(i) => {
                self.slots[i] = key;
                self.len += 1;
                true
            }
        }
    }

    /// Whether `key` is in the set.
    pub fn contains(&self, key: K) -> bool {
        if key == K::EMPTY {
            return self.has_empty;
        }
        !self.slots.is_empty() && self.probe(key).is_ok()
    }

    /// Loads the cache line where `key` would be found, so that an [`KeySet::insert`] of it a
    /// little later finds it in cache. Only a hint: the set is unchanged.
    #[inline]
    pub fn warm(&self, key: K) {
        let home = self.home(key);
        if let Some(slot) = self.slots.get(home) {
            prefetch(slot);
        }
        // a 12-byte slot can end in the next cache line, where the slot after it starts
        if !std::mem::size_of::<K>().is_multiple_of(16)
            && let Some(next) = self.slots.get(home + 1)
        {
            prefetch(next);
        }
    }

    /// The most keys `slots` holds before growing (three quarters: linear probing's
    /// look-ups stay short, about 2.5 slots for a new key on average, 8.5 at the limit).
    fn limit(&self) -> usize {
        self.slots.len().saturating_mul(3) / 4
    }

    /// The key's home slot: its spread scaled to the table's length (0 while it is empty).
    fn home(&self, key: K) -> usize {
        ((u128::from(key.spread()) * self.slots.len() as u128) >> 64) as usize
    }

    /// `Ok` with the slot holding `key`, or `Err` with the empty slot where it would go
    /// (linear probing from its home, wrapping around; the table must not be empty, and it
    /// always has an empty slot).
    fn probe(&self, key: K) -> Result<usize, usize> {
        let mut i = self.home(key);
        loop {
            let slot = self.slots[i];
            if slot == key {
                return Ok(i);
            }
            if slot == K::EMPTY {
                return Err(i);
            }
            i = if i + 1 == self.slots.len() { 0 } else { i + 1 };
        }
    }

    fn resize(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.slots, filled(slots, K::EMPTY));
        for key in old.into_iter().filter(|&k| k != K::EMPTY) {
            if let Err(i) = self.probe(key) {
                self.slots[i] = key;
            }
        }
    }
}

/// The table length that holds `n` keys at most three quarters full.
fn slots_for(n: usize) -> usize {
    n.saturating_mul(4).div_ceil(3).max(MIN_SLOTS)
}

/// A table of `len` copies of `value`, written now. Not `vec![0; len]`: a zeroed allocation
/// maps its pages lazily to the shared zero page, and a prefetch (a read) of one before the
/// first write costs a second page fault and a TLB flush on every core (measured: 1.8 s of
/// system time on 10M rows).
pub(crate) fn filled<T: Clone>(len: usize, value: T) -> Vec<T> {
    let mut table = Vec::with_capacity(len);
    table.resize(len, value);
    table
}

/// Frees `value` on a thread of its own: a run's look-up tables are hundreds of megabytes, and
/// giving their pages back to the system takes tens of milliseconds that the run need not wait
/// for (10M lines over 1M customers, paired whole runs: 0.965-0.97 of the time measured alone,
/// within 1% in a later comparison of the whole session's changes on a noisy machine).
///
/// One thread frees for the whole process, a value at a time, with room for one more value
/// waiting (a caller that frees faster than that waits here), so that values freed in a loop
/// never pile up. Where that thread cannot be started, or has stopped (a panicking `Drop`),
/// `value` is freed here.
pub fn drop_aside<T: Send + 'static>(value: T) {
    type Freed = Box<dyn Send>;
    static FREER: std::sync::OnceLock<Option<std::sync::mpsc::SyncSender<Freed>>> =
        std::sync::OnceLock::new();
    let freer = FREER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Freed>(1);
        std::thread::Builder::new()
            .name("stratum-free".into())
            .spawn(move || rx.into_iter().for_each(drop))
            .ok()
            .map(|_| tx)
    });
    match freer {
        // a send that fails hands the value back, dropped here
        Some(tx) => drop(tx.send(Box::new(value))),
        None => drop(value),
    }
}

/// Asks the processor to load the cache line `value` starts in, without waiting for it (on
/// x86-64; elsewhere nothing).
#[inline]
#[cfg_attr(
    target_arch = "x86_64",
    expect(
        unsafe_code,
        reason = "the prefetch instruction; measured in the commit"
    )
)]
pub fn prefetch<T: ?Sized>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never faults and changes no memory; the pointer comes
    // from a reference, so it is valid anyway. SSE is part of the x86_64 baseline.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(value).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn drop_aside_drops_every_value() {
        struct Signal(std::sync::mpsc::Sender<()>);
        impl Drop for Signal {
            fn drop(&mut self) {
                let _ = self.0.send(());
            }
        }
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..5 {
            drop_aside(Signal(tx.clone()));
        }
        drop(tx);
        for _ in 0..5 {
            let dropped = rx.recv_timeout(std::time::Duration::from_secs(30));
            assert_eq!(dropped, Ok(()));
        }
    }

    #[test]
    fn inserts_report_new_keys_exactly_like_a_std_set() {
        let mut ours: KeySet<NumberedKey> = KeySet::default();
        let mut std = HashSet::new();
        // small, clustered keys (not hashes) to exercise collisions and wrapping probes, some
        // with bits of the order key's upper half
        for i in 0..20_000u64 {
            let key = ((i % 97) as u32, ((i * 7919) % 1009) | ((i % 3) << 40));
            let numbered = NumberedKey::new(key.0, key.1);
            assert_eq!(ours.insert(numbered), std.insert(key), "key {key:?}");
        }
        assert_eq!(ours.len(), std.len());
        assert!(ours.contains(NumberedKey::new(5, (5 * 7919 % 1009) | (2 << 40))));
        assert!(!ours.contains(NumberedKey::new(u32::MAX, 1)));
        for i in 0..200u32 {
            let key = (i, u64::from(i) + 1);
            let numbered = NumberedKey::new(key.0, key.1);
            assert_eq!(ours.contains(numbered), std.contains(&key), "key {key:?}");
        }
    }

    #[test]
    fn the_empty_marker_is_a_key_like_any_other() {
        let mut set: KeySet<RowKey> = KeySet::default();
        assert!(!set.contains(RowKey::of(0)));
        assert!(set.insert(RowKey::of(0)));
        assert!(!set.insert(RowKey::of(0)));
        assert!(set.contains(RowKey::of(0)));
        assert!(set.insert(RowKey::of(1)));
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn keys_with_one_spread_are_told_apart() {
        // the low halves are equal, so the spreads are: the keys must still be distinct
        let mut set: KeySet<RowKey> = KeySet::default();
        let keys: Vec<RowKey> = (1..=50u128).map(|hi| RowKey::of((hi << 64) | 5)).collect();
        for &k in &keys {
            assert!(set.insert(k));
        }
        assert!(keys.iter().all(|&k| set.contains(k)));
        assert!(!set.contains(RowKey::of((51 << 64) | 5)));
        assert_eq!(set.len(), 50);
    }

    #[test]
    fn row_keys_are_told_apart_by_every_bit_they_keep() {
        // row keys: hashes apart only in bits 64..96 (equal spreads) are distinct keys, bits
        // 96..128 are not kept
        let mut rows: KeySet<RowKey> = KeySet::default();
        let low = 0x0123_4567_89AB_CDEFu128;
        for k in 1..=40u128 {
            assert!(rows.insert(RowKey::of((k << 64) | low)));
        }
        assert!(!rows.insert(RowKey::of((7 << 64) | low)));
        assert!(!rows.insert(RowKey::of((1 << 96) | (7 << 64) | low)));
        assert!(rows.contains(RowKey::of((40 << 64) | low)));
        assert!(!rows.contains(RowKey::of((41 << 64) | low)));
        assert!(rows.insert(RowKey::of(0)), "the empty marker is a key too");
        assert_eq!(rows.len(), 41);
        // (numbered keys are exact: `inserts_report_new_keys_exactly_like_a_std_set`)
    }

    #[test]
    fn reserve_and_growth_keep_every_key() {
        // an odd multiplier keeps the keys distinct in the 96 bits kept
        let key = |k: u128| RowKey::of(k.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835));
        let mut set: KeySet<RowKey> = KeySet::with_capacity(10);
        let slots = set.slots.len();
        for k in 1..=12u128 {
            set.insert(key(k));
        }
        assert_eq!(
            set.slots.len(),
            slots,
            "ten reserved, twelve fit in sixteen slots"
        );
        for k in 13..=5_000u128 {
            set.insert(key(k));
        }
        assert_eq!(set.len(), 5_000);
        assert!(set.len() <= set.limit());
        for k in 1..=5_000u128 {
            assert!(set.contains(key(k)));
        }
        set.warm(RowKey::of(3));
        set.reserve(100_000);
        assert_eq!(
            set.slots.len(),
            140_000,
            "4/3 of the keys, not a power of two"
        );
        assert_eq!(set.len(), 5_000);
        for k in 5_001..=105_000u128 {
            set.insert(key(k));
        }
        assert_eq!(set.slots.len(), 140_000, "reserved room is enough");
        assert_eq!(set.len(), 105_000);
    }

    #[test]
    fn prefetching_any_reference_is_harmless() {
        let empty: &[u8] = &[];
        prefetch(empty);
        prefetch(&0u128);
        prefetch("id");
    }

    #[test]
    fn an_empty_set_can_be_warmed_and_searched() {
        let set: KeySet<NumberedKey> = KeySet::default();
        set.warm(NumberedKey::new(1, 2));
        assert!(!set.contains(NumberedKey::new(1, 2)));
        assert!(set.is_empty());
    }
}
