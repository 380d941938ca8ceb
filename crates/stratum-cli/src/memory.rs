//! How the process's memory allocator is set for a command that runs once and exits.
//!
//! A run allocates and frees tables of tens to hundreds of megabytes phase after phase (the
//! reading's look-up tables, the customers' features, the validation's columns). glibc's malloc
//! serves each allocation over 128 KiB to 32 MiB with a fresh `mmap` and gives it back on
//! `free`, so the next phase's tables are fresh pages again: every 4 KiB page costs a fault and
//! the kernel's zeroing (about 1.5 µs each on the benchmark machines), 260,000 of them at a
//! million customers. Kept in the process instead, the freed memory is used again by the later
//! phases.
//!
//! Measured on 10M lines (paired whole runs, alternated, medians, `--no-xlsx`): over 1M
//! customers 0.968 of the time (page faults 262k → 209k; the tiers phase 0.35 → 0.26 s), peak
//! 626 → 827 MiB; over 200k customers 0.993 (no change), peak 539 → 577 MiB. A long-running
//! process (`stratum serve`) keeps glibc's defaults: it gives back what it frees.

/// The largest allocation served from the heap, and the free memory at the heap's top that is
/// kept rather than given back: 1 GiB. Larger allocations (a table for several million
/// customers) are still mapped on their own and given back when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const KEEP: libc::c_int = 1 << 30;

/// Keeps the memory the process frees for its later allocations (see the module's text).
/// Called once, before any thread is started; elsewhere than glibc, nothing.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "glibc's own setting, `mallopt`; measured in the module's text"
)]
pub(crate) fn keep_freed() {
    // SAFETY: `mallopt` changes two thresholds of glibc's allocator, which it reads under its
    // own lock; it takes plain integers and touches no memory of ours. A refused setting
    // (return 0) leaves glibc's default, which is correct, only slower.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, KEEP);
        libc::mallopt(libc::M_TRIM_THRESHOLD, KEEP);
    }
}

/// Keeps the memory the process frees for its later allocations: nothing to set here.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn keep_freed() {}
