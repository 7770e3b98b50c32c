//! No-panic smoke: arbitrary text, and SQL-shaped text, through the
//! analyzer and the schema tracker.

use proptest::prelude::*;
use replog_determinism::{ContextFlags, SchemaTracker, analyze};

fn schema() -> SchemaTracker {
    let mut s = SchemaTracker::new();
    s.observe_sql(
        "CREATE TABLE d.t (id INT AUTO_INCREMENT PRIMARY KEY, a INT, f DOUBLE, UNIQUE KEY (a))",
        None,
    );
    s.set_database(Some("d"));
    s
}

const PIECES: &[&str] = &[
    "INSERT",
    "REPLACE",
    "IGNORE",
    "INTO",
    "t",
    "(",
    ")",
    "VALUES",
    "SELECT",
    "FROM",
    "WHERE",
    "UPDATE",
    "SET",
    "DELETE",
    "ORDER BY",
    "LIMIT",
    "1",
    ",",
    "=",
    "id",
    "a",
    "f",
    "UUID()",
    "RAND()",
    "NOW(6)",
    "@x",
    "@@server_id",
    "ON DUPLICATE KEY UPDATE",
    "CREATE TABLE",
    "ALTER TABLE",
    "ADD COLUMN",
    "DROP COLUMN",
    "INT",
    "DECIMAL(5,2)",
    "*",
    "1e0",
    "/",
    "DEFAULT",
    "NULL",
    ";",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,200}") {
        let mut schema = schema();
        let _ = analyze(&s, &ContextFlags::none(), &schema);
        let _ = analyze(&s, &ContextFlags::all(), &schema);
        schema.observe_sql(&s, None);
    }

    #[test]
    fn sql_shaped_text_never_panics(idx in proptest::collection::vec(0..PIECES.len(), 0..30)) {
        let sql: Vec<&str> = idx.iter().map(|&i| PIECES[i]).collect();
        let sql = sql.join(" ");
        let mut schema = schema();
        let _ = analyze(&sql, &ContextFlags::none(), &schema);
        schema.observe_sql(&sql, None);
        let _ = analyze(&sql, &ContextFlags::all(), &schema);
    }
}
