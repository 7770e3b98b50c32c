//! The MariaDB oracle fixtures (`fixtures/mariadb/out/WORKLOAD/RUN/`, made
//! by `fixtures/mariadb/generate.sh`): where a run is and its binlogs.

use std::path::{Path, PathBuf};

/// The directory of run `run` (`row-full`, `statement`, …) of workload
/// `workload`.
pub fn run_dir(workload: &str, run: &str) -> PathBuf {
    crate::root()
        .join("fixtures/mariadb/out")
        .join(workload)
        .join(run)
}

/// The binlogs of `dir` (`mariadb-bin.NNNNNN`, not the index), in order.
pub fn binlogs_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("listing a fixture directory").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("mariadb-bin."))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    v.sort();
    v
}

/// The binlogs of run `run` of workload `workload`, in order; there must
/// be at least one.
pub fn binlogs(workload: &str, run: &str) -> Vec<PathBuf> {
    let dir = run_dir(workload, run);
    let v = binlogs_in(&dir);
    assert!(!v.is_empty(), "no binlog in {}", dir.display());
    v
}
