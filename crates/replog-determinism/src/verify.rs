//! Logical and physical logs must replay identically everywhere: row
//! changes and page images leave nothing to the follower's environment.
//! [`verify_logical`] and [`verify_physical`] replay such a log on N
//! replicas in parallel and report any difference (between replicas, or
//! from the digests the log's COMMITs carry) as a defect.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use comfy_table::{ContentArrangement, Table, presets};
use replog_core::reader::{Event, LogReader, ReaderOptions};
use replog_pagestore::{Options as PageOptions, PageStore, RedoOptions};
use replog_store::replay::{ReplayOptions, replay};
use replog_store::snapshot::AppliedPosition;
use replog_store::{Environment, Storage, Store};
use serde::Serialize;

use crate::input::Error;
use crate::replica::{ReplicaSpec, replica_specs};

/// What one replica reached.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicaReplay {
    /// Replica number.
    pub replica: usize,
    /// Committed transactions applied.
    pub transactions: u64,
    /// COMMITs whose `state_after` was compared with the replica's digest.
    pub states_checked: u64,
    /// The store digest at the end.
    pub digest: u64,
    /// Every table's digest at the end, by `db.table`.
    pub tables: BTreeMap<String, u64>,
    /// Where the replica did not reach the log's digest, failed or met a
    /// conflict.
    pub problems: Vec<String>,
}

/// The result of replaying a logical or physical log on every replica.
#[derive(Debug, Clone, Serialize)]
pub struct IdentityCheck {
    /// `logical` or `physical`.
    pub kind: &'static str,
    /// The input paths.
    pub inputs: Vec<String>,
    /// The replicas' environments (a physical redo reads none of it).
    pub replicas: Vec<ReplicaSpec>,
    /// What each replica reached.
    pub results: Vec<ReplicaReplay>,
    /// Every difference between replicas: a defect of replog.
    pub defects: Vec<String>,
    /// Problems every replica met alike: transactions that failed, or
    /// COMMIT digests that no replica reached.
    pub log_problems: Vec<String>,
}

impl IdentityCheck {
    /// The check of `kind` over `paths`: the replicas' `results` compared.
    fn compared(
        kind: &'static str,
        paths: &[PathBuf],
        replicas: Vec<ReplicaSpec>,
        results: Vec<ReplicaReplay>,
    ) -> IdentityCheck {
        let mut c = IdentityCheck {
            kind,
            inputs: names(paths),
            replicas,
            results,
            defects: Vec::new(),
            log_problems: Vec::new(),
        };
        c.compare();
        c
    }

    /// Whether every replica replayed identically and reached the log's
    /// digests.
    pub fn clean(&self) -> bool {
        self.defects.is_empty() && self.log_problems.is_empty()
    }

    fn compare(&mut self) {
        let Some((first, rest)) = self.results.split_first() else {
            return;
        };
        if self.results.iter().all(|r| r.problems == first.problems) {
            // The same on every replica: the log does not replay (or not to
            // its own digests) on a fresh store, deterministically.
            self.log_problems.clone_from(&first.problems);
        } else {
            for r in &self.results {
                for p in &r.problems {
                    self.defects.push(format!("replica {}: {p}", r.replica));
                }
            }
        }
        for r in rest {
            if r.transactions != first.transactions {
                self.defects.push(format!(
                    "replica {} applied {} transactions, replica 0 {}",
                    r.replica, r.transactions, first.transactions
                ));
            }
            if r.digest != first.digest || r.tables != first.tables {
                let mut names: Vec<&String> = first.tables.keys().chain(r.tables.keys()).collect();
                names.sort();
                names.dedup();
                let differ: Vec<&str> = names
                    .into_iter()
                    .filter(|n| first.tables.get(*n) != r.tables.get(*n))
                    .map(String::as_str)
                    .collect();
                self.defects.push(format!(
                    "replica {} ends at digest {:016x}, replica 0 at {:016x}; tables that differ: {}",
                    r.replica,
                    r.digest,
                    first.digest,
                    differ.join(", ")
                ));
            }
        }
    }
}

fn tables<S: Storage, E: Environment>(store: &Store<S, E>) -> BTreeMap<String, u64> {
    store
        .table_names()
        .into_iter()
        .filter_map(|(d, t)| {
            let dg = store.table_digest(&d, &t).ok()?;
            Some((format!("{d}.{t}"), dg))
        })
        .collect()
}

fn names(paths: &[PathBuf]) -> Vec<String> {
    paths.iter().map(|p| p.display().to_string()).collect()
}

fn run_parallel<F>(specs: &[ReplicaSpec], f: F) -> Result<Vec<ReplicaReplay>, Error>
where
    F: Fn(&ReplicaSpec) -> Result<ReplicaReplay, Error> + Sync,
{
    std::thread::scope(|s| {
        let handles = specs
            .iter()
            .map(|spec| {
                replog_store::deep::thread_builder(format!("replica-{}", spec.index))
                    .spawn_scoped(s, || f(spec))
                    .map_err(|e| Error::Dynamic(format!("starting a replica thread: {e}")))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| Error::Dynamic("a replica thread panicked".into()))?
            })
            .collect()
    })
}

/// The replicas of a check of the log `paths` (at least one); fails when
/// no log is given.
fn check_plan(paths: &[PathBuf], replicas: usize, seed: u64) -> Result<Vec<ReplicaSpec>, Error> {
    if paths.is_empty() {
        return Err(Error::NoInput);
    }
    Ok(replica_specs(replicas.max(1), seed))
}

/// Replays a native logical log on `replicas` replicas, each with a
/// perturbed environment, and compares them.
pub fn verify_logical(
    paths: &[PathBuf],
    replicas: usize,
    seed: u64,
) -> Result<IdentityCheck, Error> {
    let specs = check_plan(paths, replicas, seed)?;
    let results = run_parallel(&specs, |spec| {
        let mut store = Store::new(spec.env());
        let mut reader = LogReader::open(paths, ReaderOptions::default())?;
        let opts = ReplayOptions {
            keep_going: true,
            ..ReplayOptions::default()
        };
        let rep = replay(&mut store, AppliedPosition::default(), &mut reader, &opts)?;
        let mut problems = Vec::new();
        for d in &rep.divergences {
            problems.push(format!(
                "transaction {} (COMMIT at lsn {}): digest {:016x}, the log says {:016x}{}",
                d.txid,
                d.lsn,
                d.actual,
                d.expected,
                if d.delta { " (delta)" } else { "" }
            ));
        }
        for f in &rep.failures {
            problems.push(format!(
                "transaction {} at lsn {}: {}",
                f.txid, f.lsn, f.message
            ));
        }
        for c in &rep.conflicts {
            problems.push(format!(
                "transaction {} at lsn {}: conflict {:?}",
                c.txid, c.lsn, c.conflict
            ));
        }
        let states_checked = if rep.expected_digest.is_some() {
            rep.applied
        } else {
            0
        };
        Ok(ReplicaReplay {
            replica: spec.index,
            transactions: rep.applied,
            states_checked,
            digest: store.digest(),
            tables: tables(&store),
            problems,
        })
    })?;
    Ok(IdentityCheck::compared("logical", paths, specs, results))
}

/// Redoes a physical WAL `replicas` times in parallel (page redo reads no
/// environment; each rebuilt store is opened with a replica's) and compares
/// the per-transaction and final digests.
pub fn verify_physical(
    paths: &[PathBuf],
    replicas: usize,
    seed: u64,
) -> Result<IdentityCheck, Error> {
    let specs = check_plan(paths, replicas, seed)?;
    let page_size = {
        let mut probe = LogReader::open(paths, ReaderOptions::default())?;
        match probe.next() {
            Some(Ok(Event::Segment { header, .. })) => header.page_size as usize,
            Some(Err(e)) => return Err(e.into()),
            _ => {
                return Err(Error::Log(replog_core::Error::malformed(
                    0,
                    "no readable segment header",
                )));
            }
        }
    };
    let results = run_parallel(&specs, |spec| {
        let reader = LogReader::open(paths, ReaderOptions::default())?;
        let ropts = RedoOptions {
            until: None,
            check_states: true,
        };
        let (pages, rep) =
            PageStore::from_wal_with(reader, &PageOptions::with_page_size(page_size), &ropts)?;
        let store = Store::with_storage(pages, spec.env());
        let mut problems: Vec<String> = rep
            .state_mismatches
            .iter()
            .map(|m| {
                format!(
                    "transaction {} (COMMIT at lsn {}): pages digest {:016x}, the log says {:016x}",
                    m.txid, m.lsn, m.actual, m.expected
                )
            })
            .collect();
        for (txid, lsn) in &rep.state_gaps {
            problems.push(format!(
                "transaction {txid} (COMMIT at lsn {lsn}) does not start from the previous COMMIT's state"
            ));
        }
        Ok(ReplicaReplay {
            replica: spec.index,
            transactions: rep.transactions,
            states_checked: rep.states_checked,
            digest: store.digest(),
            tables: tables(&store),
            problems,
        })
    })?;
    Ok(IdentityCheck::compared("physical", paths, specs, results))
}

/// Writes an [`IdentityCheck`] as tables.
pub fn render_identity(c: &IdentityCheck, out: &mut impl Write) -> std::io::Result<()> {
    let mut t = Table::new();
    t.load_style(presets::ASCII_MARKDOWN)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(160)
        .set_header([
            "replica",
            "environment",
            "transactions",
            "COMMIT digests checked",
            "final digest",
            "problems",
        ]);
    for r in &c.results {
        let env = c
            .replicas
            .get(r.replica)
            .map(ReplicaSpec::describe)
            .unwrap_or_default();
        t.add_row([
            r.replica.to_string(),
            env,
            r.transactions.to_string(),
            r.states_checked.to_string(),
            format!("{:016x}", r.digest),
            r.problems.len().to_string(),
        ]);
    }
    writeln!(
        out,
        "{} log replayed on {} replicas",
        c.kind,
        c.results.len()
    )?;
    writeln!(out, "{t}")?;
    if c.defects.is_empty() {
        writeln!(
            out,
            "every replica replayed identically (per-COMMIT and final digests)"
        )?;
    } else {
        for d in &c.defects {
            writeln!(out, "DEFECT: {d}")?;
        }
    }
    for p in &c.log_problems {
        writeln!(out, "every replica: {p}")?;
    }
    Ok(())
}
