//! Third-party code that panics where it should return an error: `calamine` on some malformed
//! workbooks, `rust_xlsxwriter` when a temporary file cannot be written (a full disk). Under
//! [`catch`] such a panic becomes an error of the file at hand, and [`guarded`] tells a
//! binary's panic hook to stay quiet about it (the error is reported once, as an error).

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

thread_local! {
    /// How many [`catch`] calls the current thread is inside.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Whether the current thread is running code under [`catch`].
pub fn guarded() -> bool {
    DEPTH.with(Cell::get) > 0
}

/// Runs `f`; a panic inside it comes back as its message.
pub(crate) fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    DEPTH.with(|d| d.set(d.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get() - 1));
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
    fn a_panic_becomes_its_message_and_the_thread_is_guarded_only_inside() {
        assert!(!guarded());
        let inside = catch(guarded);
        assert_eq!(inside, Ok(true));
        let failed: Result<(), String> = catch(|| panic!("disk full: {}", 28));
        assert_eq!(failed, Err("disk full: 28".to_string()));
        assert!(!guarded());
    }
}
