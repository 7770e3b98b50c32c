//! Conflicts of a logical follower: a row change that does not apply
//! cleanly to the follower's rows, and what the follower did about it
//! (`formats/store.md` §9.3).

use serde_json::json;
use std::fmt;

/// What a follower does when a row change conflicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConflictPolicy {
    /// Stop: the transaction is rolled back and replay ends there.
    #[default]
    Abort,
    /// Leave the follower's row as it is and go on with the next change.
    Skip,
    /// Make the follower's row what the leader's after-image says: an
    /// insert replaces the rows it collides with, an update of a missing row
    /// inserts the after-image, an update or delete whose before-image
    /// differs is applied anyway. (A delete of a missing row has nothing to
    /// overwrite and is skipped.)
    Overwrite,
}

impl ConflictPolicy {
    /// `abort`, `skip` or `overwrite`.
    pub fn name(self) -> &'static str {
        match self {
            ConflictPolicy::Abort => "abort",
            ConflictPolicy::Skip => "skip",
            ConflictPolicy::Overwrite => "overwrite",
        }
    }
}

/// Why a change did not apply cleanly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictKind {
    /// An insert (or an update's new key) collides with an existing row on
    /// the primary key or a unique key.
    DuplicateKey,
    /// The row an update or delete names by its key does not exist.
    MissingRow,
    /// The row exists but differs from the change's before-image.
    BeforeImageMismatch,
}

impl ConflictKind {
    /// `duplicate key`, `missing row`, `before-image mismatch`.
    pub fn name(self) -> &'static str {
        match self {
            ConflictKind::DuplicateKey => "duplicate key",
            ConflictKind::MissingRow => "missing row",
            ConflictKind::BeforeImageMismatch => "before-image mismatch",
        }
    }
}

/// What the follower did about a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Nothing: the transaction is to be rolled back (policy `abort`).
    Aborted,
    /// The change was not applied.
    Skipped,
    /// The change was forced.
    Overwritten,
}

impl Resolution {
    /// `aborted`, `skipped`, `overwritten`.
    pub fn name(self) -> &'static str {
        match self {
            Resolution::Aborted => "aborted",
            Resolution::Skipped => "skipped",
            Resolution::Overwritten => "overwritten",
        }
    }
}

/// One conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Which kind.
    pub kind: ConflictKind,
    /// `db.table`.
    pub table: String,
    /// The change's primary key as `col=value, …` (canonical text).
    pub key: String,
    /// For a duplicate key: the index it collided on (`PRIMARY`, `uk_code`).
    pub index: Option<String>,
    /// The change: `insert`, `update`, `delete`.
    pub change: &'static str,
    /// What was done.
    pub resolution: Resolution,
}

impl Conflict {
    /// The conflict as a JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "kind": self.kind.name(),
            "table": self.table,
            "key": self.key,
            "index": self.index,
            "change": self.change,
            "resolution": self.resolution.name(),
        })
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} on {} of {} key ({})",
            self.kind.name(),
            self.change,
            self.table,
            self.key
        )?;
        if let Some(i) = &self.index {
            write!(f, " [index {i}]")?;
        }
        Ok(())
    }
}
