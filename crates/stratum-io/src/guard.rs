//! Third-party code that panics where it should return an error: `calamine` on some malformed
//! workbooks, `rust_xlsxwriter` when a temporary file cannot be written (a full disk), the
//! `parquet` reader on a footer whose column offsets are negative (found by fuzzing). Under
//! [`catch`] such a panic becomes an error of the file at hand, and [`guarded`] tells a
//! binary's panic hook to stay quiet about it (the error is reported once, as an error).
//!
//! The guard is process-wide, not per thread: the parquet reader decodes on rayon's threads,
//! whose panics rayon carries back to the caller of [`catch`].

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU32, Ordering};

/// How many [`catch`] calls are running.
static DEPTH: AtomicU32 = AtomicU32::new(0);

/// Whether code under [`catch`] is running (a panic now is most likely its, and reported as
/// an error of its file).
pub fn guarded() -> bool {
    DEPTH.load(Ordering::SeqCst) > 0
}

/// Runs `f`; a panic inside it (or on the threads it runs work on) comes back as its message.
pub(crate) fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    DEPTH.fetch_add(1, Ordering::SeqCst);
    let result = catch_unwind(AssertUnwindSafe(f));
    DEPTH.fetch_sub(1, Ordering::SeqCst);
    result.map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown failure".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_and_the_process_is_guarded_inside() {
        let inside = catch(guarded);
        assert_eq!(inside, Ok(true));
        let failed: Result<(), String> = catch(|| panic!("disk full: {}", 28));
        assert_eq!(failed, Err("disk full: 28".to_string()));
        // a panic on a rayon thread comes back to the caller
        let failed: Result<Vec<u32>, String> = catch(|| {
            use rayon::prelude::*;
            (0..4u32)
                .into_par_iter()
                .map(|i| {
                    if i == 3 {
                        panic!("column start is negative")
                    } else {
                        i
                    }
                })
                .collect()
        });
        assert_eq!(failed, Err("column start is negative".to_string()));
    }
}
