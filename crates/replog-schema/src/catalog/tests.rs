use super::*;

const FOLLOW: DdlMode = DdlMode::Follow {
    temporary_tables: false,
};

fn executed(sqls: &[&str]) -> Catalog {
    let mut c = Catalog::new(DdlMode::Execute);
    for s in sqls {
        c.apply(s, Some("d")).unwrap();
    }
    c
}

fn followed(sqls: &[&str]) -> Catalog {
    let mut c = Catalog::new(FOLLOW);
    for s in sqls {
        c.apply(s, Some("d")).unwrap();
    }
    c
}

fn names(c: &Catalog, db: &str, t: &str) -> Vec<String> {
    c.table(db, t)
        .unwrap()
        .def
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect()
}

fn err(c: &mut Catalog, sql: &str) -> SqlError {
    c.apply(sql, Some("d")).unwrap_err()
}

#[test]
fn create_database_once_unless_if_not_exists() {
    let mut c = executed(&["CREATE DATABASE d", "CREATE DATABASE IF NOT EXISTS d"]);
    let e = err(&mut c, "CREATE DATABASE d");
    assert_eq!(e.kind(), SqlErrorKind::DatabaseExists);
    assert_eq!(
        e.to_string(),
        "Can't create database 'd'; database exists (in statement: CREATE DATABASE d)"
    );
    let e = err(&mut c, "CREATE DATABASE a.b");
    assert_eq!(e.kind(), SqlErrorKind::Unsupported);
}

#[test]
fn create_table_builds_the_table_model() {
    let c = executed(&[
        "CREATE DATABASE d",
        "CREATE TABLE t (id INT UNSIGNED NOT NULL AUTO_INCREMENT, code VARCHAR(8) CHARACTER SET latin1 NOT NULL UNIQUE, \
         n DECIMAL(5,2) DEFAULT NULL, at DATETIME DEFAULT CURRENT_TIMESTAMP, \
         PRIMARY KEY (id), UNIQUE KEY uk_n (n)) ENGINE=InnoDB",
    ]);
    let t = c.table("d", "t").unwrap();
    assert_eq!(t.def.qualified_name(), "d.t");
    assert_eq!(t.def.version, 1);
    assert_eq!(t.def.primary_key, [0]);
    assert_eq!(
        t.def.columns[0].ty,
        SqlType::Int {
            bytes: 4,
            unsigned: true,
            boolean: false
        }
    );
    assert!(t.def.columns[0].auto_increment && !t.def.columns[0].nullable);
    assert_eq!(t.def.columns[0].default, ColumnDefault::Missing);
    assert_eq!(t.def.columns[1].ty, SqlType::VarChar(8));
    assert_eq!(t.def.columns[2].default, ColumnDefault::Value(Value::Null));
    assert_eq!(t.def.columns[3].default, ColumnDefault::CurrentTimestamp);
    let uk: Vec<(&str, &[usize])> = t
        .def
        .unique_keys
        .iter()
        .map(|u| (u.name.as_str(), u.columns.as_slice()))
        .collect();
    assert_eq!(uk, [("code", &[1][..]), ("uk_n", &[2][..])]);
    assert_eq!(t.declared[1].type_text, "VARCHAR(8)");
    assert_eq!(t.declared[1].charset.as_deref(), Some("latin1"));
    assert_eq!(t.engine.as_deref(), Some("InnoDB"));
    assert!(!t.uncertain);
}

#[test]
fn create_table_errors_name_the_statement() {
    let mut c = executed(&["CREATE DATABASE d", "CREATE TABLE t (id INT PRIMARY KEY)"]);
    let cases: &[(&str, SqlErrorKind, &str)] = &[
        (
            "CREATE TABLE t (id INT PRIMARY KEY)",
            SqlErrorKind::TableExists,
            "Table 't' already exists",
        ),
        (
            "CREATE TABLE u (a INT AUTO_INCREMENT)",
            SqlErrorKind::BadDefinition,
            "Incorrect table definition; there can be only one auto column and it must be defined as a key",
        ),
        (
            "CREATE TABLE u (a INT PRIMARY KEY, A INT)",
            SqlErrorKind::BadDefinition,
            "Duplicate column name 'A'",
        ),
        (
            "CREATE TABLE u (a INT, PRIMARY KEY (b))",
            SqlErrorKind::UnknownColumn,
            "Key column 'b' doesn't exist in table",
        ),
        (
            "CREATE TABLE u (a INT PRIMARY KEY, g GEOMETRY)",
            SqlErrorKind::Unsupported,
            "unsupported: column type GEOMETRY",
        ),
        (
            "CREATE TABLE u (a INT PRIMARY KEY, b INT NOT NULL DEFAULT NULL)",
            SqlErrorKind::BadDefinition,
            "Invalid default value for 'b'",
        ),
        (
            "CREATE TABLE nope.u (a INT PRIMARY KEY)",
            SqlErrorKind::UnknownDatabase,
            "Unknown database 'nope'",
        ),
        (
            "CREATE TEMPORARY TABLE u (a INT PRIMARY KEY)",
            SqlErrorKind::Unsupported,
            "unsupported: CREATE TABLE variant (OR REPLACE / TEMPORARY / AS SELECT / LIKE)",
        ),
    ];
    for (sql, kind, message) in cases {
        let e = err(&mut c, sql);
        assert_eq!((e.kind(), e.message()), (*kind, *message), "{sql}");
        assert_eq!(e.statement(), Some(*sql));
    }
    let e = c
        .apply("CREATE TABLE u (a INT PRIMARY KEY)", None)
        .unwrap_err();
    assert_eq!(e.kind(), SqlErrorKind::NoDatabase);
    let e = err(&mut c, "CREATE TABLE (");
    assert_eq!(e.kind(), SqlErrorKind::Parse);
    assert_eq!(e.statement(), Some("CREATE TABLE ("));
    assert_eq!(c.len(), 1, "no failed statement left a table");
}

#[test]
fn drop_table_keeps_what_it_dropped_before_an_error() {
    let mut c = executed(&[
        "CREATE DATABASE d",
        "CREATE TABLE a (id INT PRIMARY KEY)",
        "CREATE TABLE b (id INT PRIMARY KEY)",
    ]);
    let e = err(&mut c, "DROP TABLE a, missing");
    assert_eq!(e.kind(), SqlErrorKind::UnknownTable);
    assert_eq!(e.message(), "Unknown table 'missing'");
    assert!(c.table("d", "a").is_none() && c.table("d", "b").is_some());
    let change = c
        .apply("DROP TABLE IF EXISTS missing, b", Some("d"))
        .unwrap();
    assert!(change.ddl);
    assert_eq!(
        change.tables,
        [("d".into(), "missing".into()), ("d".into(), "b".into())]
    );
    assert!(c.is_empty());
}

#[test]
fn alter_add_and_drop_column_shift_keys_and_count_versions() {
    let mut c = executed(&[
        "CREATE DATABASE d",
        "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, UNIQUE KEY ub (b))",
        "ALTER TABLE t ADD COLUMN z INT FIRST",
        "ALTER TABLE t ADD COLUMN y INT NOT NULL DEFAULT 7 AFTER id",
    ]);
    assert_eq!(names(&c, "d", "t"), ["z", "id", "y", "a", "b"]);
    let t = c.table("d", "t").unwrap();
    assert_eq!(t.def.primary_key, [1]);
    assert_eq!(t.def.unique_keys[0].columns, [4]);
    assert_eq!(t.def.version, 3);
    assert_eq!(t.declared.len(), 5);
    c.apply("ALTER TABLE t DROP COLUMN a, DROP COLUMN b", Some("d"))
        .unwrap();
    let t = c.table("d", "t").unwrap();
    assert_eq!(names(&c, "d", "t"), ["z", "id", "y"]);
    assert!(t.def.unique_keys.is_empty(), "a key left empty goes");
    assert_eq!(t.def.version, 5);
    let cases: &[(&str, SqlErrorKind, &str)] = &[
        (
            "ALTER TABLE t ADD COLUMN z INT",
            SqlErrorKind::BadDefinition,
            "Duplicate column name 'z'",
        ),
        (
            "ALTER TABLE t ADD COLUMN q INT AFTER nope",
            SqlErrorKind::UnknownColumn,
            "Unknown column 'nope' in 'table definition'",
        ),
        (
            "ALTER TABLE t DROP COLUMN nope",
            SqlErrorKind::UnknownColumn,
            "Can't DROP COLUMN `nope`; check that it exists",
        ),
        (
            "ALTER TABLE t DROP COLUMN id",
            SqlErrorKind::Unsupported,
            "unsupported: dropping a primary-key column",
        ),
        (
            "ALTER TABLE t MODIFY COLUMN z BIGINT",
            SqlErrorKind::Unsupported,
            "unsupported: ALTER TABLE operation MODIFY COLUMN z BIGINT",
        ),
        (
            "ALTER TABLE nope ADD COLUMN q INT",
            SqlErrorKind::UnknownTable,
            "Table 'd.nope' doesn't exist",
        ),
    ];
    for (sql, kind, message) in cases {
        let e = err(&mut c, sql);
        assert_eq!((e.kind(), e.message()), (*kind, *message), "{sql}");
        assert_eq!(e.statement(), Some(*sql));
    }
    assert_eq!(c.table("d", "t").unwrap().def.version, 5);
}

#[test]
fn rename_table_and_drop_database() {
    let mut c = executed(&[
        "CREATE DATABASE d",
        "CREATE DATABASE e",
        "CREATE TABLE a (id INT PRIMARY KEY)",
        "CREATE TABLE b (id INT PRIMARY KEY)",
    ]);
    let change = c.apply("RENAME TABLE a TO e.a2", Some("d")).unwrap();
    assert_eq!(
        change.tables,
        [("d".into(), "a".into()), ("e".into(), "a2".into())]
    );
    let t = c.table("e", "a2").unwrap();
    assert_eq!((t.def.database.as_str(), t.def.name.as_str()), ("e", "a2"));
    assert_eq!(
        err(&mut c, "RENAME TABLE a TO x").kind(),
        SqlErrorKind::UnknownTable
    );
    assert_eq!(
        err(&mut c, "RENAME TABLE b TO e.a2").kind(),
        SqlErrorKind::TableExists
    );
    let change = c.apply("DROP DATABASE e", None).unwrap();
    assert_eq!(change.tables, [("e".into(), "a2".into())]);
    assert_eq!(c.len(), 1);
    let e = err(&mut c, "DROP DATABASE e");
    assert_eq!(e.kind(), SqlErrorKind::UnknownDatabase);
    c.apply("DROP DATABASE IF EXISTS e", None).unwrap();
}

#[test]
fn truncate_names_its_tables_and_changes_no_definition() {
    let mut c = executed(&["CREATE DATABASE d", "CREATE TABLE t (id INT PRIMARY KEY)"]);
    let before = c.table("d", "t").cloned();
    let change = c.apply("TRUNCATE TABLE t", Some("d")).unwrap();
    assert_eq!(change.truncated, [("d".into(), "t".into())]);
    assert!(change.tables.is_empty());
    assert_eq!(c.table("d", "t").cloned(), before);
    assert_eq!(
        err(&mut c, "TRUNCATE TABLE u").kind(),
        SqlErrorKind::UnknownTable
    );
    let change = c.apply("SELECT 1", Some("d")).unwrap();
    assert!(!change.ddl);
}

#[test]
fn following_takes_every_alter_a_server_accepted() {
    let c = followed(&[
        "CREATE TABLE t (id INT NOT NULL, a INT, b VARCHAR(4), c FLOAT UNSIGNED, g GEOMETRY, KEY (a))",
        "ALTER TABLE t ADD PRIMARY KEY (id)",
        "ALTER TABLE t CHANGE COLUMN a a2 BIGINT NOT NULL AFTER b",
        "ALTER TABLE t MODIFY b VARCHAR(9) FIRST",
        "ALTER TABLE t RENAME COLUMN c TO c2",
        "ALTER TABLE t ADD UNIQUE KEY uk (a2), ADD COLUMN n INT ON UPDATE CURRENT_TIMESTAMP",
        "ALTER TABLE t DROP INDEX uk",
        "ALTER TABLE t ADD INDEX ix (n), ALTER COLUMN n SET DEFAULT 1, AUTO_INCREMENT = 5",
        "ALTER TABLE t ADD FOREIGN KEY (id) REFERENCES p (id), ALGORITHM = INPLACE",
    ]);
    let t = c.table("d", "t").unwrap();
    assert_eq!(names(&c, "d", "t"), ["b", "id", "a2", "c2", "g", "n"]);
    assert_eq!(t.def.primary_key, [1]);
    assert_eq!(t.def.columns[0].ty, SqlType::VarChar(9));
    assert_eq!(t.def.columns[3].ty, SqlType::Float);
    assert_eq!(t.def.columns[4].ty, SqlType::Other("GEOMETRY".into()));
    assert!(t.declared[5].on_update_now);
    assert!(t.def.unique_keys.is_empty());
    assert!(!t.uncertain, "{:?}", c.notes());
    assert!(c.notes().is_empty());
}

#[test]
fn following_marks_what_it_cannot_follow() {
    let mut c = followed(&[
        "CREATE TABLE t (id INT PRIMARY KEY, a INT)",
        "ALTER TABLE t DROP COLUMN nope",
    ]);
    assert!(c.table("d", "t").unwrap().uncertain);
    assert_eq!(c.notes().len(), 1);
    assert_eq!(c.notes()[0].table, "d.t");
    // A server would have refused these: following fails on none.
    c.apply("CREATE TABLE t (id INT)", Some("d")).unwrap();
    assert!(c.table("d", "t").unwrap().def.primary_key.is_empty());
    c.apply("DROP TABLE nope", Some("d")).unwrap();
    c.apply("CREATE TABLE x (id INT)", None).unwrap();
    assert_eq!(c.len(), 1, "no database: nothing to follow");
}

#[test]
fn following_create_like_as_select_and_temporary() {
    let mut c = followed(&[
        "CREATE TABLE t (id INT PRIMARY KEY, a INT)",
        "CREATE TABLE u LIKE t",
        "CREATE TEMPORARY TABLE t (x INT)",
    ]);
    assert_eq!(names(&c, "d", "u"), ["id", "a"]);
    assert_eq!(
        names(&c, "d", "t"),
        ["id", "a"],
        "a temporary table is not followed"
    );
    c.apply("CREATE TABLE v LIKE nope", Some("d")).unwrap();
    c.apply("CREATE TABLE w AS SELECT 1 AS one", Some("d"))
        .unwrap();
    assert!(c.table("d", "v").is_none() && c.table("d", "w").is_none());
    let tables: Vec<&str> = c.notes().iter().map(|n| n.table.as_str()).collect();
    assert_eq!(tables, ["d.v", "d.w"]);
    let mut c = Catalog::new(DdlMode::Follow {
        temporary_tables: true,
    });
    c.apply("CREATE TEMPORARY TABLE t (x INT)", Some("d"))
        .unwrap();
    assert!(c.table("d", "t").is_some());
}

#[test]
fn changes_name_tables_as_the_catalog_holds_them() {
    let mut c = followed(&["CREATE TABLE Items (id INT)"]);
    let change = c
        .apply("ALTER TABLE items ADD COLUMN a INT", Some("d"))
        .unwrap();
    assert_eq!(change.tables, [("d".into(), "Items".into())]);
    let change = c.apply("TRUNCATE TABLE ITEMS", Some("d")).unwrap();
    assert_eq!(change.truncated, [("d".into(), "Items".into())]);
    let change = c.apply("RENAME TABLE items TO t2", Some("d")).unwrap();
    assert_eq!(
        change.tables,
        [("d".into(), "Items".into()), ("d".into(), "t2".into())]
    );
    let change = c.apply("DROP TABLE T2, nope", Some("d")).unwrap();
    assert_eq!(
        change.tables,
        [("d".into(), "t2".into()), ("d".into(), "nope".into())]
    );
    assert!(c.is_empty());
}

#[test]
fn lookup_is_exact_then_case_insensitive() {
    let c = followed(&[
        "CREATE TABLE T (id INT)",
        "CREATE TABLE u (id INT)",
        "CREATE TABLE U (x INT)",
    ]);
    assert_eq!(c.table("d", "t").unwrap().def.name, "T");
    assert_eq!(names(&c, "d", "U"), ["x"]);
    assert_eq!(names(&c, "d", "u"), ["id"], "the exact name first");
    assert!(
        c.table("D", "u").is_none(),
        "two tables match ignoring case: neither"
    );
    assert!(c.table("d", "x").is_none());
}

#[test]
fn the_encoding_refuses_what_only_a_followed_catalog_holds() {
    let c = followed(&["CREATE TABLE t (id INT PRIMARY KEY, g GEOMETRY, n INT DEFAULT (1 + 1))"]);
    let t = c.table("d", "t").unwrap();
    assert!(matches!(
        t.def.columns[2].default,
        ColumnDefault::Expression(_)
    ));
    let e = t.def.encode(&mut Vec::new()).unwrap_err();
    assert!(e.to_string().contains("GEOMETRY"), "{e}");
}
