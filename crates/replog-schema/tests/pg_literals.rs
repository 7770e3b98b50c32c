//! The PostgreSQL dialect of the SQL writer against PostgreSQL 15: every
//! cell of `fixtures/postgres/types` (the server's text output, decoded by
//! replog-pgtype) is written as a literal of its column's type into
//! `literals.sql`, which `fixtures/postgres/types/generate.sh` runs on the
//! server — under another DateStyle, IntervalStyle and TimeZone than the
//! ones the values were printed with — recording what the server read back
//! (`literals.tsv`). The server must have read back every value exactly.

use replog_pgtype::{PgType, Value, column_type_or_enum, from_text};
use replog_schema::sql::{Dialect, pg_cast, push_pg_literal};
use replog_test_support::postgres::{type_cells, type_columns, type_enums, types_dir, unhex};
use std::fmt::Write as _;

/// `literals.sql`: a copy of the fixture table filled by one INSERT per row
/// of replog's literals, then every cell's text output as `generate.sh`
/// prints the originals.
fn literals_sql() -> String {
    let cols = type_columns();
    let enums = type_enums();
    let labels: Vec<&str> = enums.iter().map(|(_, l)| l.as_str()).collect();
    let types: Vec<PgType<'_>> = cols
        .iter()
        .map(|c| column_type_or_enum(c.oid, c.typmod, &c.typname, c.elem, &labels))
        .collect();
    let casts: Vec<Option<String>> = types.iter().map(pg_cast).collect();
    let mut s = String::from(
        "-- Written by `REPLOG_BLESS=1 cargo test -p replog-schema --test pg_literals`\n\
         -- (replog_schema::sql, PostgreSQL dialect); run by generate.sh.\n\
         -- The literals are read under settings other than the ones the\n\
         -- values were printed with; the output uses generate.sh's.\n\
         SET DateStyle = 'SQL, DMY';\n\
         SET IntervalStyle = 'sql_standard';\n\
         SET TimeZone = 'America/St_Johns';\n\
         CREATE TABLE lits (LIKE types_t);\n",
    );
    let names: Vec<String> = cols
        .iter()
        .map(|c| {
            let mut n = String::new();
            Dialect::Postgres.push_ident(&mut n, &c.name);
            n
        })
        .collect();
    let cells = type_cells();
    for row in cells.chunk_by(|a, b| a.id == b.id) {
        let _ = write!(s, "INSERT INTO lits ({}) VALUES (", names.join(", "));
        for (i, cell) in row.iter().enumerate() {
            let (c, ty) = (&cols[cell.attnum - 1], &types[cell.attnum - 1]);
            let v = match &cell.text {
                Some(t) => from_text(&c.name, ty, t).unwrap_or_else(|e| panic!("{e}")),
                None => Value::Null,
            };
            if i > 0 {
                s.push_str(", ");
            }
            push_pg_literal(&mut s, &v, casts[cell.attnum - 1].as_deref())
                .unwrap_or_else(|e| panic!("row {} {}: {e}", cell.id, c.name));
        }
        s.push_str(");\n");
    }
    s.push_str(
        "SET DateStyle = 'ISO, YMD';\nSET IntervalStyle = 'postgres';\nSET TimeZone = 'UTC';\n",
    );
    let parts: Vec<String> = cols
        .iter()
        .zip(&names)
        .map(|(c, n)| {
            format!(
                "SELECT id, {} AS attnum, coalesce(encode(convert_to({}({n})::text, 'UTF8'), 'hex'), '-') AS txt FROM lits",
                c.attnum, c.output
            )
        })
        .collect();
    let _ = writeln!(
        s,
        "SELECT id, attnum, txt FROM ({}) AS cells ORDER BY id, attnum;",
        parts.join("\nUNION ALL ")
    );
    s
}

#[test]
fn literals_sql_is_what_the_writer_writes() {
    replog_test_support::bless::check(&types_dir().join("literals.sql"), literals_sql().as_bytes());
}

#[test]
fn the_server_reads_every_literal_back_exactly() {
    let path = types_dir().join("literals.tsv");
    let got = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cols = type_columns();
    let want = type_cells();
    let mut n = 0;
    let mut lines = got.lines();
    for cell in &want {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("literals.tsv ends before row {}", cell.id));
        let f: Vec<&str> = line.split('\t').collect();
        let at = format!("row {} column {}", cell.id, cols[cell.attnum - 1].name);
        assert_eq!(f[0].parse::<i32>().ok(), Some(cell.id), "{at}: {line}");
        assert_eq!(
            f[1].parse::<usize>().ok(),
            Some(cell.attnum),
            "{at}: {line}"
        );
        let back = (f[2] != "-").then(|| String::from_utf8(unhex(f[2])).unwrap());
        assert_eq!(back, cell.text, "{at}");
        n += usize::from(back.is_some());
    }
    assert!(lines.next().is_none(), "literals.tsv has more cells");
    assert!(n > 180, "{n} cells");
}
