//! What the log captured for a statement: the replay context.
//!
//! Both inputs map onto the same [`ContextFlags`]: a native STATEMENT record
//! by its presence mask ([`ContextFlags::from_statement`]), a binlog QUERY by
//! its status variables and the INTVAR / RAND / USER_VAR events that
//! preceded it ([`crate::input`]).

use std::collections::BTreeSet;

use serde::Serialize;

/// One replay-context item a rule may need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContextItem {
    /// The statement time (`SET TIMESTAMP`).
    Timestamp,
    /// The state of `RAND()` (`SET RAND_SEED1/2`).
    RandSeed,
    /// The first auto-increment value (`SET INSERT_ID`).
    InsertId,
    /// `LAST_INSERT_ID()` (`SET LAST_INSERT_ID`).
    LastInsertId,
    /// The user variables the statement reads (`SET @v = …`).
    UserVariables,
    /// `auto_increment_increment` / `auto_increment_offset`.
    AutoIncrement,
    /// The connection id (`SET pseudo_thread_id`), what `CONNECTION_ID()` returns.
    ThreadId,
    /// `sql_mode`.
    SqlMode,
    /// `time_zone`.
    TimeZone,
    /// Character sets and collations.
    Charset,
    /// The default database.
    Database,
}

impl ContextItem {
    /// How a follower restores the item, for explanations.
    pub fn how(self) -> &'static str {
        match self {
            ContextItem::Timestamp => "SET TIMESTAMP",
            ContextItem::RandSeed => "SET RAND_SEED1/RAND_SEED2",
            ContextItem::InsertId => "SET INSERT_ID",
            ContextItem::LastInsertId => "SET LAST_INSERT_ID",
            ContextItem::UserVariables => "SET @variable",
            ContextItem::AutoIncrement => "SET auto_increment_increment/offset",
            ContextItem::ThreadId => "SET pseudo_thread_id",
            ContextItem::SqlMode => "SET sql_mode",
            ContextItem::TimeZone => "SET time_zone",
            ContextItem::Charset => "SET character_set_*/collation_*",
            ContextItem::Database => "USE",
        }
    }
}

/// Which context items the log captured for one statement.
///
/// `false` / `None` means "not captured", which is different from a
/// captured zero.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContextFlags {
    /// Default database.
    pub database: bool,
    /// Statement timestamp.
    pub timestamp: bool,
    /// The timestamp includes microseconds (what `NOW(6)` needs). A binlog
    /// QUERY has whole seconds and carries microseconds only when the
    /// statement used them (`Q_MICROSECONDS`).
    pub timestamp_micros: bool,
    /// RAND() seeds.
    pub rand_seed: bool,
    /// INSERT_ID.
    pub insert_id: bool,
    /// LAST_INSERT_ID.
    pub last_insert_id: bool,
    /// User variables: `None` not captured; `Some(names)` captured, with the
    /// lower-case names of the variables whose values were recorded.
    pub user_vars: Option<BTreeSet<String>>,
    /// sql_mode (bit set or text).
    pub sql_mode: bool,
    /// Session time zone.
    pub time_zone: bool,
    /// auto_increment_increment / offset.
    pub auto_increment: bool,
    /// Character sets.
    pub charset: bool,
    /// Error code on the leader.
    pub error_code: bool,
    /// Originating server id.
    pub server_id: bool,
    /// Connection (thread) id.
    pub thread_id: bool,
    /// The log records every per-statement item the statement *used*, so an
    /// absent RAND seed, INSERT_ID, LAST_INSERT_ID, user variable or
    /// microsecond part means the statement did not need it. True for
    /// binlogs (the server writes RAND / INTVAR / USER_VAR events and
    /// `Q_MICROSECONDS` / `Q_HRNOW` exactly when the statement uses them);
    /// false for native logs, where a clear bit only says "not captured".
    pub complete: bool,
}

impl ContextFlags {
    /// Nothing captured: a raw log.
    pub fn none() -> ContextFlags {
        ContextFlags::default()
    }

    /// Everything captured, every user variable included (for tests and for
    /// "what if the log were complete" questions).
    pub fn all() -> ContextFlags {
        ContextFlags {
            database: true,
            timestamp: true,
            timestamp_micros: true,
            rand_seed: true,
            insert_id: true,
            last_insert_id: true,
            user_vars: None,
            sql_mode: true,
            time_zone: true,
            auto_increment: true,
            charset: true,
            error_code: true,
            server_id: true,
            thread_id: true,
            complete: false,
        }
        .with_all_user_vars()
    }

    fn with_all_user_vars(mut self) -> ContextFlags {
        // The sentinel "*" stands for "every variable" (a name never starts
        // with '*').
        self.user_vars = Some(BTreeSet::from(["*".to_string()]));
        self
    }

    /// The flags of a native STATEMENT record's context.
    pub fn from_statement(ctx: &replog_statement::Context<'_>) -> ContextFlags {
        ContextFlags {
            database: ctx.database.is_some(),
            timestamp: ctx.timestamp_us.is_some(),
            timestamp_micros: ctx.timestamp_us.is_some(),
            rand_seed: ctx.rand_seed.is_some(),
            insert_id: ctx.insert_id.is_some(),
            last_insert_id: ctx.last_insert_id.is_some(),
            user_vars: ctx.user_vars.as_ref().map(|v| {
                v.iter()
                    .map(|u| u.name.to_ascii_lowercase())
                    .collect::<BTreeSet<_>>()
            }),
            sql_mode: ctx.sql_mode.is_some() || ctx.sql_mode_text.is_some(),
            time_zone: ctx.time_zone.is_some(),
            auto_increment: ctx.auto_increment.is_some(),
            charset: ctx.charset.is_some(),
            error_code: ctx.error_code.is_some(),
            server_id: ctx.server_id.is_some(),
            thread_id: ctx.thread_id.is_some(),
            complete: false,
        }
    }

    /// Whether `item` was captured. For user variables: whether any were.
    pub fn has(&self, item: ContextItem) -> bool {
        match item {
            ContextItem::Timestamp => self.timestamp,
            ContextItem::RandSeed => self.rand_seed || self.complete,
            ContextItem::InsertId => self.insert_id || self.complete,
            ContextItem::LastInsertId => self.last_insert_id || self.complete,
            ContextItem::UserVariables => self.user_vars.is_some() || self.complete,
            ContextItem::AutoIncrement => self.auto_increment,
            ContextItem::ThreadId => self.thread_id,
            ContextItem::SqlMode => self.sql_mode,
            ContextItem::TimeZone => self.time_zone,
            ContextItem::Charset => self.charset,
            ContextItem::Database => self.database,
        }
    }

    /// Whether the value of user variable `name` (without `@`) was captured.
    pub fn has_user_var(&self, name: &str) -> bool {
        self.complete
            || self
                .user_vars
                .as_ref()
                .is_some_and(|s| s.contains("*") || s.contains(&name.to_ascii_lowercase()))
    }

    /// Whether the timestamp has microseconds (or did not need them).
    pub fn has_timestamp_micros(&self) -> bool {
        self.timestamp && (self.timestamp_micros || self.complete)
    }

    /// Names of the captured items, for tables (`db ts rand uv(a,b) …`).
    pub fn short(&self) -> String {
        let mut out = Vec::new();
        let mut push = |b: bool, s: &str| {
            if b {
                out.push(s.to_string());
            }
        };
        push(self.database, "db");
        push(
            self.timestamp,
            if self.timestamp_micros { "ts.us" } else { "ts" },
        );
        push(self.rand_seed, "rand");
        push(self.insert_id, "insert_id");
        push(self.last_insert_id, "last_id");
        let vars = self.user_vars.as_ref().map(|v| {
            let names: Vec<&str> = v.iter().map(String::as_str).collect();
            format!("@({})", names.join(","))
        });
        push(vars.is_some(), vars.as_deref().unwrap_or(""));
        push(self.sql_mode, "sql_mode");
        push(self.time_zone, "tz");
        push(self.auto_increment, "autoinc");
        push(self.charset, "charset");
        push(self.thread_id, "thread");
        if out.is_empty() {
            "-".to_string()
        } else {
            out.join(" ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use replog_core::Value;
    use replog_statement::Context;

    #[test]
    fn from_native_context() {
        let mut c = Context {
            database: Some("d"),
            timestamp_us: Some(1),
            ..Context::default()
        };
        c.set_user_var("Limit", Value::Int(1));
        let f = ContextFlags::from_statement(&c);
        assert!(f.database && f.timestamp && !f.rand_seed && !f.insert_id);
        assert!(f.has_user_var("limit") && f.has_user_var("LIMIT"));
        assert!(!f.has_user_var("other"));
        assert_eq!(f.short(), "db ts.us @(limit)");
        assert_eq!(
            ContextFlags::from_statement(&Context::default()),
            ContextFlags::none()
        );
        assert!(ContextFlags::all().has_user_var("anything"));
    }
}
