//! What a DDL statement is about, told from its first words alone, so that
//! statements the SQL parser cannot read (a stored procedure's body in
//! MariaDB's dialect) are still recognised.
//!
//! The reference store holds tables. Stored routines, triggers, events,
//! views, users, roles and privileges hold no rows: a follower of a
//! row-based log (whose row events already carry what a trigger or a
//! routine changed) passes them over and counts them; a follower that
//! executes statements cannot run them and says so by name
//! (`unsupported: CREATE PROCEDURE`), never with a parser error.

use crate::dialect::MariaDbDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// A schema object that holds no table rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonTableObject {
    /// A stored procedure.
    Procedure,
    /// A stored or loadable function.
    Function,
    /// A trigger.
    Trigger,
    /// A scheduled event.
    Event,
    /// A view.
    View,
    /// A user account.
    User,
    /// A role.
    Role,
    /// A federated server definition.
    Server,
    /// Privileges (GRANT, REVOKE).
    Privileges,
}

impl NonTableObject {
    /// Whether a follower that executes a leader's statements must run the
    /// object to reach the leader's rows: a trigger (a statement-based
    /// binlog logs the statement, not what its triggers changed). A
    /// routine's statements, an event's statements and a view's writes are
    /// logged as statements of their own; the others change no rows.
    pub fn runs_on_statement_followers(self) -> bool {
        matches!(self, NonTableObject::Trigger)
    }

    /// The object's name in SQL (`PROCEDURE`, …).
    pub fn keyword(self) -> &'static str {
        match self {
            NonTableObject::Procedure => "PROCEDURE",
            NonTableObject::Function => "FUNCTION",
            NonTableObject::Trigger => "TRIGGER",
            NonTableObject::Event => "EVENT",
            NonTableObject::View => "VIEW",
            NonTableObject::User => "USER",
            NonTableObject::Role => "ROLE",
            NonTableObject::Server => "SERVER",
            NonTableObject::Privileges => "PRIVILEGES",
        }
    }
}

/// A DDL statement about an object that holds no table rows: the verb
/// (`CREATE`, `ALTER`, `DROP`, `GRANT`, `REVOKE`) and the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonTableDdl {
    /// `CREATE`, `ALTER`, `DROP`, `RENAME`, `GRANT` or `REVOKE`.
    pub verb: &'static str,
    /// What it creates, changes or drops.
    pub object: NonTableObject,
}

impl std::fmt::Display for NonTableDdl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.object {
            NonTableObject::Privileges => f.write_str(self.verb),
            o => write!(f, "{} {}", self.verb, o.keyword()),
        }
    }
}

/// How many words after the verb are looked at for the object keyword
/// (`CREATE OR REPLACE ALGORITHM = MERGE DEFINER = u@h SQL SECURITY
/// INVOKER VIEW` is the longest prefix MariaDB writes).
const MAX_PREFIX_WORDS: usize = 24;

/// The object a DDL statement is about, when it is not a table, a
/// database or an index; `None` for those, for anything else, and for text
/// that does not start like DDL.
pub fn non_table_ddl(sql: &str) -> Option<NonTableDdl> {
    // A statement whose first word is not one of the verbs is answered
    // without tokenizing it (an INSERT can be as long as max_allowed_packet).
    let head = sql.trim_start();
    let word_len = head.bytes().take_while(u8::is_ascii_alphabetic).count();
    if word_len > 0
        && !["CREATE", "ALTER", "DROP", "RENAME", "GRANT", "REVOKE"]
            .iter()
            .any(|k| head[..word_len].eq_ignore_ascii_case(k))
    {
        return None;
    }
    let mut words = Tokenizer::new(&MariaDbDialect, sql)
        .tokenize()
        .ok()?
        .into_iter()
        .filter_map(|t| match t {
            // Quoted identifiers (`view`) are names, never keywords.
            Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            Token::Word(_) | Token::SingleQuotedString(_) | Token::Number(..) => {
                Some(String::new())
            }
            _ => None,
        });
    let verb = match words.next()?.as_str() {
        "CREATE" => "CREATE",
        "ALTER" => "ALTER",
        "DROP" => "DROP",
        "RENAME" => "RENAME",
        "GRANT" => {
            return Some(NonTableDdl {
                verb: "GRANT",
                object: NonTableObject::Privileges,
            });
        }
        "REVOKE" => {
            return Some(NonTableDdl {
                verb: "REVOKE",
                object: NonTableObject::Privileges,
            });
        }
        _ => return None,
    };
    for w in words.take(MAX_PREFIX_WORDS) {
        let object = match w.as_str() {
            "PROCEDURE" => NonTableObject::Procedure,
            "FUNCTION" => NonTableObject::Function,
            "TRIGGER" => NonTableObject::Trigger,
            "EVENT" => NonTableObject::Event,
            "VIEW" => NonTableObject::View,
            "USER" => NonTableObject::User,
            "ROLE" => NonTableObject::Role,
            "SERVER" => NonTableObject::Server,
            // Objects that hold or index rows, and what names them.
            "TABLE" | "TABLES" | "DATABASE" | "SCHEMA" | "INDEX" | "SEQUENCE" | "TABLESPACE" => {
                return None;
            }
            _ => continue,
        };
        return Some(NonTableDdl { verb, object });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(sql: &str) -> Option<String> {
        non_table_ddl(sql).map(|d| d.to_string())
    }

    #[test]
    fn routines_triggers_views_and_privileges_are_recognised_from_their_first_words() {
        // As MariaDB 10.11 logs them (the body is not valid for the parser).
        let proc = "CREATE DEFINER=`root`@`localhost` PROCEDURE `small_txns`(n INT)\nBEGIN \
                    DECLARE i INT DEFAULT 0; WHILE i < n DO SET i = i + 1; END WHILE; END";
        assert_eq!(named(proc).as_deref(), Some("CREATE PROCEDURE"));
        let view = "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY \
                    DEFINER VIEW `v` AS select 1";
        assert_eq!(named(view).as_deref(), Some("CREATE VIEW"));
        assert_eq!(
            named("CREATE OR REPLACE DEFINER=`u`@`%` TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET NEW.a = 1").as_deref(),
            Some("CREATE TRIGGER")
        );
        assert_eq!(
            named("DROP FUNCTION IF EXISTS f").as_deref(),
            Some("DROP FUNCTION")
        );
        assert_eq!(named("/* c */ drop event e").as_deref(), Some("DROP EVENT"));
        assert_eq!(
            named("ALTER USER 'a'@'%' IDENTIFIED BY 'x'").as_deref(),
            Some("ALTER USER")
        );
        assert_eq!(
            named("GRANT SELECT ON db.* TO 'a'@'%'").as_deref(),
            Some("GRANT")
        );
        assert_eq!(named("CREATE ROLE r").as_deref(), Some("CREATE ROLE"));
    }

    #[test]
    fn tables_databases_indexes_and_data_are_not() {
        for sql in [
            "CREATE TABLE `view` (id INT PRIMARY KEY)",
            "CREATE TABLE t (`trigger` INT PRIMARY KEY, `procedure` INT)",
            "DROP TABLE IF EXISTS `event`",
            "ALTER TABLE t ADD COLUMN `user` INT",
            "CREATE DATABASE d",
            "CREATE INDEX i ON t (a)",
            "RENAME TABLE a TO b",
            "CREATE SEQUENCE s",
            "INSERT INTO t VALUES (1)",
            "TRUNCATE t",
            "",
            "CREATE",
        ] {
            assert_eq!(named(sql), None, "{sql}");
        }
    }
}
