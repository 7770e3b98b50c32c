//! Reasons: why a statement is (or would be) unsafe for statement-based
//! replication, with stable codes.

use serde::{Serialize, Serializer};

use crate::context::ContextItem;

/// Stable reason codes.
///
/// `UNSAFE_*` codes are MySQL's categories (`enum_binlog_stmt_unsafe` in
/// `sql/sql_lex.h`, `BINLOG_STMT_UNSAFE_<X>` is `UNSAFE_<X>`; the server
/// reports them as note/warning 1592 `ER_BINLOG_UNSAFE_STATEMENT` with the
/// `ER_BINLOG_UNSAFE_<X>` text). `NEEDS_*` codes are statements that the
/// servers consider safe because their binlog captures the context the
/// statement depends on; they are unsafe in a log that did not capture it.
/// `REPLOG_*` codes are replog's own rules, which MySQL has no category for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ReasonCode {
    /// `BINLOG_STMT_UNSAFE_LIMIT`: LIMIT in a data-changing statement.
    UnsafeLimit,
    /// `BINLOG_STMT_UNSAFE_SYSTEM_TABLE`: reads the general/slow log or
    /// performance_schema tables.
    UnsafeSystemTable,
    /// `BINLOG_STMT_UNSAFE_SYSTEM_VARIABLE`: reads a system variable that the
    /// binlog does not carry.
    UnsafeSystemVariable,
    /// `BINLOG_STMT_UNSAFE_SYSTEM_FUNCTION`: UUID(), SYSDATE(), USER(), …
    UnsafeSystemFunction,
    /// `BINLOG_STMT_UNSAFE_INSERT_IGNORE_SELECT`.
    UnsafeInsertIgnoreSelect,
    /// `BINLOG_STMT_UNSAFE_INSERT_SELECT_UPDATE`.
    UnsafeInsertSelectUpdate,
    /// `BINLOG_STMT_UNSAFE_WRITE_AUTOINC_SELECT`.
    UnsafeWriteAutoincSelect,
    /// `BINLOG_STMT_UNSAFE_REPLACE_SELECT`.
    UnsafeReplaceSelect,
    /// `BINLOG_STMT_UNSAFE_CREATE_SELECT_AUTOINC`.
    UnsafeCreateSelectAutoinc,
    /// `BINLOG_STMT_UNSAFE_UPDATE_IGNORE`.
    UnsafeUpdateIgnore,
    /// `BINLOG_STMT_UNSAFE_INSERT_TWO_KEYS`.
    UnsafeInsertTwoKeys,
    /// `BINLOG_STMT_UNSAFE_AUTOINC_NOT_FIRST`.
    UnsafeAutoincNotFirst,
    /// `BINLOG_STMT_UNSAFE_SKIP_LOCKED`.
    UnsafeSkipLocked,
    /// `BINLOG_STMT_UNSAFE_NOWAIT`.
    UnsafeNowait,
    /// Reads the statement time (NOW(), CURRENT_TIMESTAMP, CURDATE(),
    /// UNIX_TIMESTAMP(), `DEFAULT CURRENT_TIMESTAMP` columns, …).
    NeedsTimestamp,
    /// RAND() without a seed argument.
    NeedsRandSeed,
    /// Reads user variables.
    NeedsUserVariable,
    /// LAST_INSERT_ID() without an argument.
    NeedsLastInsertId,
    /// Generates auto-increment values.
    NeedsInsertId,
    /// Generates several auto-increment values (their spacing depends on
    /// auto_increment_increment / offset).
    NeedsAutoIncrementSettings,
    /// CONNECTION_ID().
    NeedsThreadId,
    /// Reads a session variable the binlog carries (`@@sql_mode`,
    /// `@@time_zone`, `@@timestamp`, …).
    NeedsSessionVariable,
    /// replog: the result of a C-library floating-point function (EXP, LN,
    /// POW, SIN, …) stored into an exact (integer or DECIMAL) column, where
    /// a last-bit difference between platforms can change the stored value.
    /// Arithmetic, SQRT and RAND are correctly rounded IEEE operations that
    /// every server computes alike, and are not flagged.
    ReplogFloatToExact,
    /// replog: a rule needs a table the schema tracker does not know (the
    /// log did not contain its CREATE TABLE).
    ReplogUnknownTable,
}

impl ReasonCode {
    /// Every code, in a stable order.
    pub const ALL: [ReasonCode; 24] = [
        ReasonCode::UnsafeLimit,
        ReasonCode::UnsafeSystemTable,
        ReasonCode::UnsafeSystemVariable,
        ReasonCode::UnsafeSystemFunction,
        ReasonCode::UnsafeInsertIgnoreSelect,
        ReasonCode::UnsafeInsertSelectUpdate,
        ReasonCode::UnsafeWriteAutoincSelect,
        ReasonCode::UnsafeReplaceSelect,
        ReasonCode::UnsafeCreateSelectAutoinc,
        ReasonCode::UnsafeUpdateIgnore,
        ReasonCode::UnsafeInsertTwoKeys,
        ReasonCode::UnsafeAutoincNotFirst,
        ReasonCode::UnsafeSkipLocked,
        ReasonCode::UnsafeNowait,
        ReasonCode::NeedsTimestamp,
        ReasonCode::NeedsRandSeed,
        ReasonCode::NeedsUserVariable,
        ReasonCode::NeedsLastInsertId,
        ReasonCode::NeedsInsertId,
        ReasonCode::NeedsAutoIncrementSettings,
        ReasonCode::NeedsThreadId,
        ReasonCode::NeedsSessionVariable,
        ReasonCode::ReplogFloatToExact,
        ReasonCode::ReplogUnknownTable,
    ];

    /// The stable code, such as `UNSAFE_LIMIT`.
    pub fn as_str(self) -> &'static str {
        use ReasonCode as R;
        match self {
            R::UnsafeLimit => "UNSAFE_LIMIT",
            R::UnsafeSystemTable => "UNSAFE_SYSTEM_TABLE",
            R::UnsafeSystemVariable => "UNSAFE_SYSTEM_VARIABLE",
            R::UnsafeSystemFunction => "UNSAFE_SYSTEM_FUNCTION",
            R::UnsafeInsertIgnoreSelect => "UNSAFE_INSERT_IGNORE_SELECT",
            R::UnsafeInsertSelectUpdate => "UNSAFE_INSERT_SELECT_UPDATE",
            R::UnsafeWriteAutoincSelect => "UNSAFE_WRITE_AUTOINC_SELECT",
            R::UnsafeReplaceSelect => "UNSAFE_REPLACE_SELECT",
            R::UnsafeCreateSelectAutoinc => "UNSAFE_CREATE_SELECT_AUTOINC",
            R::UnsafeUpdateIgnore => "UNSAFE_UPDATE_IGNORE",
            R::UnsafeInsertTwoKeys => "UNSAFE_INSERT_TWO_KEYS",
            R::UnsafeAutoincNotFirst => "UNSAFE_AUTOINC_NOT_FIRST",
            R::UnsafeSkipLocked => "UNSAFE_SKIP_LOCKED",
            R::UnsafeNowait => "UNSAFE_NOWAIT",
            R::NeedsTimestamp => "NEEDS_TIMESTAMP",
            R::NeedsRandSeed => "NEEDS_RAND_SEED",
            R::NeedsUserVariable => "NEEDS_USER_VARIABLE",
            R::NeedsLastInsertId => "NEEDS_LAST_INSERT_ID",
            R::NeedsInsertId => "NEEDS_INSERT_ID",
            R::NeedsAutoIncrementSettings => "NEEDS_AUTO_INCREMENT_SETTINGS",
            R::NeedsThreadId => "NEEDS_THREAD_ID",
            R::NeedsSessionVariable => "NEEDS_SESSION_VARIABLE",
            R::ReplogFloatToExact => "REPLOG_FLOAT_TO_EXACT",
            R::ReplogUnknownTable => "REPLOG_UNKNOWN_TABLE",
        }
    }

    /// MySQL's `enum_binlog_stmt_unsafe` name, for `UNSAFE_*` codes.
    pub fn mysql_name(self) -> Option<&'static str> {
        use ReasonCode as R;
        Some(match self {
            R::UnsafeLimit => "BINLOG_STMT_UNSAFE_LIMIT",
            R::UnsafeSystemTable => "BINLOG_STMT_UNSAFE_SYSTEM_TABLE",
            R::UnsafeSystemVariable => "BINLOG_STMT_UNSAFE_SYSTEM_VARIABLE",
            R::UnsafeSystemFunction => "BINLOG_STMT_UNSAFE_SYSTEM_FUNCTION",
            R::UnsafeInsertIgnoreSelect => "BINLOG_STMT_UNSAFE_INSERT_IGNORE_SELECT",
            R::UnsafeInsertSelectUpdate => "BINLOG_STMT_UNSAFE_INSERT_SELECT_UPDATE",
            R::UnsafeWriteAutoincSelect => "BINLOG_STMT_UNSAFE_WRITE_AUTOINC_SELECT",
            R::UnsafeReplaceSelect => "BINLOG_STMT_UNSAFE_REPLACE_SELECT",
            R::UnsafeCreateSelectAutoinc => "BINLOG_STMT_UNSAFE_CREATE_SELECT_AUTOINC",
            R::UnsafeUpdateIgnore => "BINLOG_STMT_UNSAFE_UPDATE_IGNORE",
            R::UnsafeInsertTwoKeys => "BINLOG_STMT_UNSAFE_INSERT_TWO_KEYS",
            R::UnsafeAutoincNotFirst => "BINLOG_STMT_UNSAFE_AUTOINC_NOT_FIRST",
            R::UnsafeSkipLocked => "BINLOG_STMT_UNSAFE_SKIP_LOCKED",
            R::UnsafeNowait => "BINLOG_STMT_UNSAFE_NOWAIT",
            _ => return None,
        })
    }

    /// The server's message for the category (`ER_BINLOG_UNSAFE_<X>`), as
    /// MariaDB 10.11 prints it after "Unsafe statement written to the binary
    /// log using statement format since BINLOG_FORMAT = STATEMENT.".
    pub fn server_message(self) -> Option<&'static str> {
        use ReasonCode as R;
        Some(match self {
            R::UnsafeLimit => {
                "The statement is unsafe because it uses a LIMIT clause. This is unsafe because the set of rows included cannot be predicted"
            }
            R::UnsafeSystemTable => {
                "Statement is unsafe because it uses the general log, slow query log, or performance_schema table(s). This is unsafe because system tables may differ on slaves"
            }
            R::UnsafeSystemVariable => {
                "Statement is unsafe because it uses a system variable that may have a different value on the slave"
            }
            R::UnsafeSystemFunction => {
                "Statement is unsafe because it uses a system function that may return a different value on the slave"
            }
            R::UnsafeInsertIgnoreSelect => {
                "INSERT IGNORE... SELECT is unsafe because the order in which rows are retrieved by the SELECT determines which (if any) rows are ignored"
            }
            R::UnsafeInsertSelectUpdate => {
                "INSERT... SELECT... ON DUPLICATE KEY UPDATE is unsafe because the order in which rows are retrieved by the SELECT determines which (if any) rows are updated"
            }
            R::UnsafeWriteAutoincSelect => {
                "Statements writing to a table with an auto-increment column after selecting from another table are unsafe because the order in which rows are retrieved determines what (if any) rows will be written"
            }
            R::UnsafeReplaceSelect => {
                "REPLACE... SELECT is unsafe because the order in which rows are retrieved by the SELECT determines which (if any) rows are replaced"
            }
            R::UnsafeCreateSelectAutoinc => {
                "CREATE TABLE... SELECT...  on a table with an auto-increment column is unsafe because the order in which rows are retrieved by the SELECT determines which (if any) rows are inserted"
            }
            R::UnsafeUpdateIgnore => {
                "UPDATE IGNORE is unsafe because the order in which rows are updated determines which (if any) rows are ignored"
            }
            R::UnsafeInsertTwoKeys => {
                "INSERT... ON DUPLICATE KEY UPDATE  on a table with more than one UNIQUE KEY is unsafe"
            }
            R::UnsafeAutoincNotFirst => {
                "INSERT into autoincrement field which is not the first part in the composed primary key is unsafe"
            }
            R::UnsafeSkipLocked => "Statement is unsafe because it uses SKIP LOCKED",
            R::UnsafeNowait => "Statement is unsafe because it uses NOWAIT",
            _ => return None,
        })
    }
}

impl std::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ReasonCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How bad a reason is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Unsafe whatever the log captured: a statement replay can diverge.
    Unsafe,
    /// Unsafe because the log did not capture a context item the statement
    /// depends on ([`Reason::needs`]); safe in a log that captures it.
    MissingContext,
    /// A rule needed something the analyzer does not know (a table's
    /// schema); treat as unsafe.
    Undecided,
    /// The value may differ between server builds or platforms (the C
    /// library's transcendental functions are not correctly rounded), which
    /// no replica can show: reported, not counted as unsafe.
    Platform,
    /// MySQL / MariaDB flag the statement (note 1592), but replog concludes
    /// it is deterministic (for example LIMIT with an ORDER BY over the
    /// primary key).
    ServerOnly,
    /// The statement depends on a context item and the log captured it: safe.
    Covered,
}

impl Severity {
    /// Unsafe, MissingContext or Undecided: replog concludes the statement
    /// may replay differently.
    pub fn is_unsafe(self) -> bool {
        matches!(
            self,
            Severity::Unsafe | Severity::MissingContext | Severity::Undecided
        )
    }
}

/// Advice for statements that should not be replicated as statements.
pub const ADVICE_ROWS: &str = "log this statement as rows (binlog_format=ROW or MIXED; in replog a logical log) instead of as a statement";

/// One reason a statement is, or would be, unsafe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// Stable code.
    pub code: ReasonCode,
    /// MySQL's category name (`BINLOG_STMT_UNSAFE_*`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mysql: Option<&'static str>,
    /// What replog concludes.
    pub severity: Severity,
    /// Whether MySQL / MariaDB flag this under `binlog_format=STATEMENT`
    /// (note 1592, and a switch to rows under MIXED).
    pub server_flags: bool,
    /// The function, variable, table or column concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The context item that makes the statement safe when captured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs: Option<ContextItem>,
    /// A short human explanation.
    pub explanation: String,
    /// What to do about it.
    pub advice: String,
}

impl Reason {
    /// A reason with the advice to log the statement as rows.
    pub fn new(
        code: ReasonCode,
        severity: Severity,
        server_flags: bool,
        subject: Option<String>,
        explanation: impl Into<String>,
    ) -> Reason {
        Reason {
            code,
            mysql: code.mysql_name(),
            severity,
            server_flags,
            subject,
            needs: None,
            explanation: explanation.into(),
            advice: ADVICE_ROWS.to_string(),
        }
    }

    /// A context-dependent reason: `MissingContext` or `Covered` depending
    /// on `captured`.
    pub fn context(
        code: ReasonCode,
        item: ContextItem,
        captured: bool,
        subject: Option<String>,
        explanation: impl Into<String>,
    ) -> Reason {
        let explanation = explanation.into();
        let (severity, explanation, advice) = if captured {
            (
                Severity::Covered,
                format!("{explanation}; the log captured it ({})", item.how()),
                "none: the captured context makes the replay identical".to_string(),
            )
        } else {
            (
                Severity::MissingContext,
                format!("{explanation}, and the log did not capture it"),
                format!(
                    "capture it with the statement (a follower restores it with {}), or {ADVICE_ROWS}",
                    item.how()
                ),
            )
        };
        Reason {
            code,
            mysql: None,
            severity,
            server_flags: false,
            subject,
            needs: Some(item),
            explanation,
            advice,
        }
    }
}
