//! A set of keys that are already hashes, whose slots a caller can warm before inserting.
//!
//! Deduplicating rows and counting distinct orders make one look-up per line into tables of
//! millions of keys, far larger than the caches: each look-up waits for memory. A general hash
//! set hides where a key will land; this one exposes it ([`KeySet::warm`]), so that a loop can
//! load the slots of the keys a few lines ahead while it works on the current one, and the
//! memory accesses overlap instead of queueing. Keys are their own hash (a 128-bit row hash, a
//! pair of 64-bit keys), so nothing is hashed again; the table is open-addressed with linear
//! probing, at most three quarters full.

/// A key stored in a [`KeySet`].
pub trait HashKey: Copy + Eq {
    /// The value that marks an empty slot (it can still be inserted: it is kept apart).
    const EMPTY: Self;
    /// 64 well-mixed bits of the key; the slot is chosen by the top bits.
    fn spread(self) -> u64;
}

/// A 128-bit hash (of a row): its low half is already uniformly mixed.
impl HashKey for u128 {
    const EMPTY: Self = 0;
    fn spread(self) -> u64 {
        self as u64
    }
}

/// A pair of keys, e.g. (customer key, order key).
impl HashKey for (u64, u64) {
    const EMPTY: Self = (0, 0);
    fn spread(self) -> u64 {
        (self.0 ^ self.1.rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

/// The smallest table allocated.
const MIN_SLOTS: usize = 16;

/// An exact set of [`HashKey`]s (keys are compared whole, never only by their spread).
#[derive(Debug, Clone)]
pub struct KeySet<K> {
    /// A power of two long (or empty).
    slots: Vec<K>,
    /// Keys in `slots`.
    len: usize,
    /// Whether [`HashKey::EMPTY`] itself is in the set.
    has_empty: bool,
    /// `64 − log2(slots.len())`: the spread's top bits pick the home slot.
    shift: u32,
}

impl<K: HashKey> Default for KeySet<K> {
    fn default() -> Self {
        KeySet {
            slots: Vec::new(),
            len: 0,
            has_empty: false,
            shift: 64,
        }
    }
}

impl<K: HashKey> KeySet<K> {
    /// An empty set that holds `n` keys before it grows.
    pub fn with_capacity(n: usize) -> Self {
        let mut set = KeySet::default();
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
            self.resize(slots_for(self.len + 1));
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            let slot = &mut self.slots[i];
            if *slot == key {
                return false;
            }
            if *slot == K::EMPTY {
                *slot = key;
                self.len += 1;
                return true;
            }
            i = (i + 1) & mask;
        }
    }

    /// Whether `key` is in the set.
    pub fn contains(&self, key: K) -> bool {
        if key == K::EMPTY {
            return self.has_empty;
        }
        if self.slots.is_empty() {
            return false;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            let slot = self.slots[i];
            if slot == key {
                return true;
            }
            if slot == K::EMPTY {
                return false;
            }
            i = (i + 1) & mask;
        }
    }

    /// Loads the cache line where `key` would be found, so that an [`KeySet::insert`] of it a
    /// little later finds it in cache. Only a hint: the set is unchanged.
    #[inline]
    pub fn warm(&self, key: K) {
        if let Some(slot) = self.slots.get(self.home(key)) {
            prefetch(slot);
        }
    }

    /// The most keys `slots` holds before growing (three quarters: linear probing's
    /// look-ups stay short, about 2.5 slots for a new key on average, 8.5 at the limit).
    fn limit(&self) -> usize {
        self.slots.len() / 4 * 3
    }

    fn home(&self, key: K) -> usize {
        // `shift` is 64 only while the table is empty; `checked_shr` keeps that defined
        key.spread().checked_shr(self.shift).unwrap_or(0) as usize
    }

    fn resize(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.slots, filled(slots, K::EMPTY));
        self.shift = 64 - slots.trailing_zeros();
        let mask = slots - 1;
        for key in old.into_iter().filter(|&k| k != K::EMPTY) {
            let mut i = self.home(key);
            while self.slots[i] != K::EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = key;
        }
    }
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

/// Asks the processor to load the cache line `value` starts in, without waiting for it (on
/// x86-64; elsewhere nothing).
#[inline]
#[expect(
    unsafe_code,
    reason = "the prefetch instruction; measured in the commit"
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

/// The table length that holds `n` keys at most three quarters full.
fn slots_for(n: usize) -> usize {
    n.saturating_mul(4)
        .div_ceil(3)
        .max(MIN_SLOTS)
        .checked_next_power_of_two()
        .unwrap_or(1 << (usize::BITS - 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn inserts_report_new_keys_exactly_like_a_std_set() {
        let mut ours: KeySet<(u64, u64)> = KeySet::default();
        let mut std = HashSet::new();
        // small, clustered keys (not hashes) to exercise collisions and wrapping probes
        for i in 0..20_000u64 {
            let key = (i % 97, (i * 7919) % 1009);
            assert_eq!(ours.insert(key), std.insert(key), "key {key:?}");
        }
        assert_eq!(ours.len(), std.len());
        for i in 0..200u64 {
            let key = (i, i + 1);
            assert_eq!(ours.contains(key), std.contains(&key), "key {key:?}");
        }
    }

    #[test]
    fn the_empty_marker_is_a_key_like_any_other() {
        let mut set: KeySet<u128> = KeySet::default();
        assert!(!set.contains(0));
        assert!(set.insert(0));
        assert!(!set.insert(0));
        assert!(set.contains(0));
        assert!(set.insert(1));
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn keys_with_one_spread_are_told_apart() {
        // the low halves are equal, so the spreads are: the keys must still be distinct
        let mut set: KeySet<u128> = KeySet::default();
        let keys: Vec<u128> = (1..=50u128).map(|hi| (hi << 64) | 5).collect();
        for &k in &keys {
            assert!(set.insert(k));
        }
        assert!(keys.iter().all(|&k| set.contains(k)));
        assert!(!set.contains((51 << 64) | 5));
        assert_eq!(set.len(), 50);
    }

    #[test]
    fn reserve_and_growth_keep_every_key() {
        let mut set: KeySet<u128> = KeySet::with_capacity(10);
        let slots = set.slots.len();
        for k in 1..=12u128 {
            set.insert(k.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835));
        }
        assert_eq!(
            set.slots.len(),
            slots,
            "ten reserved, twelve fit in sixteen slots"
        );
        for k in 13..=5_000u128 {
            set.insert(k.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835));
        }
        assert_eq!(set.len(), 5_000);
        assert!(set.len() <= set.limit());
        for k in 1..=5_000u128 {
            assert!(set.contains(k.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)));
        }
        set.warm(3);
        set.reserve(100_000);
        assert!(set.slots.len() >= 131_072);
        assert_eq!(set.len(), 5_000);
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
        let set: KeySet<(u64, u64)> = KeySet::default();
        set.warm((1, 2));
        assert!(!set.contains((1, 2)));
        assert!(set.is_empty());
    }
}
