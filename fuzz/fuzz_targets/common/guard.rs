//! Shared by the fuzz targets that read files through `stratum_io`.

/// libFuzzer aborts on any panic; a third-party panic that Stratum catches and reports as the
/// file's error (under `stratum_io::guard`) is not a crash of Stratum, every other panic is.
pub fn abort_on_unguarded_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !stratum_io::guard::guarded() {
                fuzzer_hook(info);
            }
        }));
    });
}
