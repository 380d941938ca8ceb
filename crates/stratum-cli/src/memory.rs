//! How the process's memory allocator is set for a command that runs once and exits.
//!
//! A run allocates and frees tables of tens to hundreds of megabytes phase after phase (the
//! reading's look-up tables, the customers' features, the validation's columns). glibc's malloc
//! serves each allocation above its threshold (128 KiB at first, growing up to 32 MiB as such
//! blocks are freed) with a fresh `mmap` and gives it back on `free`, so the next phase's
//! tables are fresh pages again: every 4 KiB page costs a fault and
//! the kernel's zeroing (about 1.5 µs each on the benchmark machines), 260,000 of them at a
//! million customers. Kept in the process instead, the freed memory is used again by the later
//! phases.
//!
//! Measured on 10M lines (paired whole runs, alternated, medians, `--no-xlsx`): over 1M
//! customers 0.964 of the time (page faults 262k → 209k; the tiers phase 0.35 → 0.26 s), peak
//! 627 → 827 MiB; over 200k customers 0.993 (no change), peak 539 → 577 MiB. A long-running
//! process (`stratum serve`) keeps glibc's defaults: it gives back what it frees.
//!
//! For the same reason a one-shot command does not free its results at its end
//! ([`release`]): the exit gives the process's memory back whole, where freeing a million
//! customers' results first cost tens of milliseconds on one core, the other idle.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the process runs one command and exits (set by [`keep_freed`]).
static ONE_SHOT: AtomicBool = AtomicBool::new(false);

/// Lets go of `value`, a command's results, at the end of the command: in a one-shot process
/// without freeing it (the exit gives the memory back), otherwise by dropping it. For values
/// whose drop only frees memory: no file, lock or connection is left to the exit.
pub(crate) fn release<T>(value: T) {
    if ONE_SHOT.load(Ordering::Relaxed) {
        std::mem::forget(value);
    } else {
        drop(value);
    }
}

/// The largest allocation served from the heap, and the free memory at the heap's top that is
/// kept rather than given back: 1 GiB. Larger allocations (a table for several million
/// customers) are still mapped on their own and given back when freed, and so are those over
/// 64 MiB made on a worker thread (glibc's heaps for other threads are at most that large).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const KEEP: libc::c_int = 1 << 30;

/// Keeps the memory the process frees for its later allocations (see the module's text).
/// Called once by `main`, before any other thread exists; elsewhere than glibc it only marks
/// the process as one-shot for [`release`].
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "glibc's own setting, `mallopt`; measured in the module's text"
)]
pub(crate) fn keep_freed() {
    ONE_SHOT.store(true, Ordering::Relaxed);
    // SAFETY: `mallopt` takes plain integers and changes two of glibc's allocator settings;
    // it touches no memory of ours. It is called before any other thread exists, so no
    // allocation runs beside it.
    let mapped = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, KEEP) };
    // An older glibc refuses a threshold above 32 MiB (0). The trim threshold alone would
    // switch off glibc's growing `mmap` threshold and fault more (352k pages against 262k):
    // then both stay as they are.
    if mapped == 1 {
        // SAFETY: as above.
        unsafe { libc::mallopt(libc::M_TRIM_THRESHOLD, KEEP) };
    }
}

/// Keeps the memory the process frees for its later allocations: nothing to set here but
/// [`release`]'s flag.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn keep_freed() {
    ONE_SHOT.store(true, Ordering::Relaxed);
}
