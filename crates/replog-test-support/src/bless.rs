//! Golden-file checks shared by every crate's tests: compare what the code
//! produces with a committed file, or rewrite the file when the environment
//! variable `REPLOG_BLESS` is set to `1` after an intended change.

use std::path::Path;

/// Whether `REPLOG_BLESS=1` asks for golden files to be rewritten.
pub fn blessing() -> bool {
    std::env::var_os("REPLOG_BLESS").is_some_and(|v| v == "1")
}

/// Compares `actual` with the committed file at `path`, or rewrites the
/// file when blessing. Panics (this is for tests) naming the first
/// differing byte and how to re-bless.
pub fn check(path: &Path, actual: &[u8]) {
    if blessing() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        }
        std::fs::write(path, actual).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let committed = std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; rerun with REPLOG_BLESS=1 to create it",
            path.display()
        )
    });
    if committed != actual {
        let at = committed
            .iter()
            .zip(actual)
            .position(|(a, b)| a != b)
            .unwrap_or(committed.len().min(actual.len()));
        let show = |b: &[u8]| {
            String::from_utf8_lossy(
                b.get(at.saturating_sub(40)..(at + 80).min(b.len()))
                    .unwrap_or(&[]),
            )
            .into_owned()
        };
        panic!(
            "{} differs from the output at byte {at} ({} committed vs {} produced bytes); \
             if the change is intended, rerun with REPLOG_BLESS=1\n--- committed near there:\n{}\n--- produced near there:\n{}",
            path.display(),
            committed.len(),
            actual.len(),
            show(&committed),
            show(actual),
        );
    }
}
