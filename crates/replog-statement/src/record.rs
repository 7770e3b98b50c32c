//! The STATEMENT record: layout, encoder and zero-copy decoder.
//!
//! ```text
//! STATEMENT = u8 type=0x10 | u32 presence mask | u32 len + UTF-8 SQL | context items in mask-bit order
//! ```

use crate::rtype;
use replog_core::codec::{self, Cursor};
use replog_core::error::{Error, ErrorKind, Result};
use replog_core::value::Value;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

/// Presence bits of the context items, in the order the items are laid out.
pub mod ctx {
    /// Default database: `u16 len + UTF-8`.
    pub const DATABASE: u32 = 1 << 0;
    /// Statement timestamp: `i64` µs since the Unix epoch (what `NOW()` sees).
    pub const TIMESTAMP: u32 = 1 << 1;
    /// RAND() seeds: `u64 seed1 | u64 seed2`.
    pub const RAND_SEED: u32 = 1 << 2;
    /// INSERT_ID: `u64`, the next auto-increment value the statement uses.
    pub const INSERT_ID: u32 = 1 << 3;
    /// LAST_INSERT_ID(): `u64`.
    pub const LAST_INSERT_ID: u32 = 1 << 4;
    /// User variables read by the statement: `u16 count | count × (u16 len + UTF-8 name | value)`.
    pub const USER_VARS: u32 = 1 << 5;
    /// sql_mode as a bit set: `u64`.
    pub const SQL_MODE: u32 = 1 << 6;
    /// sql_mode as text: `u16 len + UTF-8`.
    pub const SQL_MODE_TEXT: u32 = 1 << 7;
    /// Session time zone: `u16 len + UTF-8`.
    pub const TIME_ZONE: u32 = 1 << 8;
    /// auto_increment_increment and auto_increment_offset: `u16 | u16`.
    pub const AUTO_INCREMENT: u32 = 1 << 9;
    /// Character sets: `u16 client | u16 connection | u16 server` collation ids.
    pub const CHARSET: u32 = 1 << 10;
    /// Error code the statement ended with on the leader: `u32` (0 = success).
    pub const ERROR_CODE: u32 = 1 << 11;
    /// Server id of the originating server: `u32`.
    pub const SERVER_ID: u32 = 1 << 12;
    /// Thread (connection) id on the originating server: `u64`.
    pub const THREAD_ID: u32 = 1 << 13;
    /// Every bit this version defines; any other bit makes a record unreadable.
    pub const KNOWN: u32 = (1 << 14) - 1;
}

/// The two seeds of MySQL's RAND event, restoring the state of `RAND()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RandSeed {
    /// First seed.
    pub seed1: u64,
    /// Second seed.
    pub seed2: u64,
}

/// auto_increment_increment and auto_increment_offset of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AutoIncrement {
    /// auto_increment_increment.
    pub increment: u16,
    /// auto_increment_offset.
    pub offset: u16,
}

/// Character-set context as collation ids (MySQL's `Q_CHARSET_CODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Charset {
    /// character_set_client.
    pub client: u16,
    /// collation_connection.
    pub connection: u16,
    /// collation_server.
    pub server: u16,
}

/// One user variable the statement reads (`@name`), with its value at the
/// time the statement ran. NULL is a value like any other.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserVar<'a> {
    /// Name without the `@`.
    pub name: &'a str,
    /// Value.
    pub value: Value<'a>,
}

/// The replay context of a statement. Every item is optional: `None` means
/// "not captured", which is different from a captured zero or empty value.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Context<'a> {
    /// Default database (`USE db`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'a str>,
    /// Statement timestamp, µs since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp_us: Option<i64>,
    /// RAND() seeds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rand_seed: Option<RandSeed>,
    /// INSERT_ID: the first auto-increment value the statement generates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insert_id: Option<u64>,
    /// LAST_INSERT_ID() as the statement sees it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_insert_id: Option<u64>,
    /// User variables read by the statement, sorted by name (byte order),
    /// names unique. `Some(vec![])` means "captured: reads none".
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_vars")]
    pub user_vars: Option<Vec<UserVar<'a>>>,
    /// sql_mode as a bit set (MySQL's numeric representation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql_mode: Option<u64>,
    /// sql_mode as text, such as `STRICT_TRANS_TABLES,NO_ZERO_DATE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql_mode_text: Option<&'a str>,
    /// Session time zone, such as `+00:00` or `Europe/Paris`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<&'a str>,
    /// auto_increment_increment / auto_increment_offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_increment: Option<AutoIncrement>,
    /// Character-set collation ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charset: Option<Charset>,
    /// Error code the statement ended with on the leader (0 = success).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u32>,
    /// Server id of the server where the statement originated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_id: Option<u32>,
    /// Thread (connection) id on the originating server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<u64>,
}

fn ser_vars<S: Serializer>(
    vars: &Option<Vec<UserVar<'_>>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    let vars = vars.as_deref().unwrap_or(&[]);
    let mut m = s.serialize_map(Some(vars.len()))?;
    for v in vars {
        m.serialize_entry(v.name, &v.value)?;
    }
    m.end()
}

/// A STATEMENT record: SQL text and its replay context, borrowing from the
/// record body when decoded (or from the writer's own strings when built).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Statement<'a> {
    /// The SQL text, exactly as run on the leader.
    pub sql: &'a str,
    /// Replay context.
    #[serde(flatten)]
    pub context: Context<'a>,
}

impl<'a> Context<'a> {
    /// The presence mask of this context: one [`ctx`] bit per `Some` item.
    pub fn mask(&self) -> u32 {
        let bit = |present: bool, b: u32| if present { b } else { 0 };
        bit(self.database.is_some(), ctx::DATABASE)
            | bit(self.timestamp_us.is_some(), ctx::TIMESTAMP)
            | bit(self.rand_seed.is_some(), ctx::RAND_SEED)
            | bit(self.insert_id.is_some(), ctx::INSERT_ID)
            | bit(self.last_insert_id.is_some(), ctx::LAST_INSERT_ID)
            | bit(self.user_vars.is_some(), ctx::USER_VARS)
            | bit(self.sql_mode.is_some(), ctx::SQL_MODE)
            | bit(self.sql_mode_text.is_some(), ctx::SQL_MODE_TEXT)
            | bit(self.time_zone.is_some(), ctx::TIME_ZONE)
            | bit(self.auto_increment.is_some(), ctx::AUTO_INCREMENT)
            | bit(self.charset.is_some(), ctx::CHARSET)
            | bit(self.error_code.is_some(), ctx::ERROR_CODE)
            | bit(self.server_id.is_some(), ctx::SERVER_ID)
            | bit(self.thread_id.is_some(), ctx::THREAD_ID)
    }

    /// True when no item was captured (a raw statement log).
    pub fn is_empty(&self) -> bool {
        self.mask() == 0
    }

    /// Sets user variable `name` (keeping the list sorted and unique), and
    /// marks user variables as captured.
    pub fn set_user_var(&mut self, name: &'a str, value: Value<'a>) {
        let vars = self.user_vars.get_or_insert_with(Vec::new);
        match vars.binary_search_by(|v| v.name.as_bytes().cmp(name.as_bytes())) {
            Ok(i) => vars[i].value = value,
            Err(i) => vars.insert(i, UserVar { name, value }),
        }
    }

    /// The value of user variable `name`, if captured.
    pub fn user_var(&self, name: &str) -> Option<&Value<'a>> {
        let vars = self.user_vars.as_deref()?;
        vars.binary_search_by(|v| v.name.as_bytes().cmp(name.as_bytes()))
            .ok()
            .map(|i| &vars[i].value)
    }
}

fn put_str16(out: &mut Vec<u8>, s: &str, what: &str) -> std::result::Result<(), String> {
    if !codec::fits_u16(s.as_bytes()) {
        return Err(format!("{what} longer than 65535 bytes"));
    }
    codec::put_bytes_u16(out, s.as_bytes());
    Ok(())
}

impl<'a> Statement<'a> {
    /// A statement without any context.
    pub fn new(sql: &'a str) -> Statement<'a> {
        Statement {
            sql,
            context: Context::default(),
        }
    }

    /// Replaces the context.
    #[must_use]
    pub fn with_context(mut self, context: Context<'a>) -> Statement<'a> {
        self.context = context;
        self
    }

    /// Appends the whole record body (type byte included) to `out`.
    ///
    /// Fails, leaving `out` as it was, when a field does not fit its length
    /// prefix, a value is out of range, or user variables are not sorted and
    /// unique; whatever this writes, [`Statement::decode`] reads back.
    pub fn encode(&self, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        replog_core::codec::all_or_nothing(out, |out| self.encode_inner(out))
    }

    fn encode_inner(&self, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        let cx = &self.context;
        out.push(rtype::STATEMENT);
        codec::put_u32(out, cx.mask());
        if u32::try_from(self.sql.len()).is_err() {
            return Err("SQL text longer than 4 GiB".into());
        }
        codec::put_bytes_u32(out, self.sql.as_bytes());
        if let Some(db) = cx.database {
            put_str16(out, db, "database name")?;
        }
        if let Some(ts) = cx.timestamp_us {
            codec::put_i64(out, ts);
        }
        if let Some(r) = cx.rand_seed {
            codec::put_u64(out, r.seed1);
            codec::put_u64(out, r.seed2);
        }
        if let Some(v) = cx.insert_id {
            codec::put_u64(out, v);
        }
        if let Some(v) = cx.last_insert_id {
            codec::put_u64(out, v);
        }
        if let Some(vars) = &cx.user_vars {
            let n = u16::try_from(vars.len())
                .map_err(|_| "more than 65535 user variables".to_string())?;
            codec::put_u16(out, n);
            let mut prev: Option<&str> = None;
            for v in vars {
                if prev.is_some_and(|p| p.as_bytes() >= v.name.as_bytes()) {
                    return Err(format!(
                        "user variables not sorted and unique at {:?}",
                        v.name
                    ));
                }
                prev = Some(v.name);
                put_str16(out, v.name, "user variable name")?;
                v.value.encode(out)?;
            }
        }
        if let Some(v) = cx.sql_mode {
            codec::put_u64(out, v);
        }
        if let Some(s) = cx.sql_mode_text {
            put_str16(out, s, "sql_mode text")?;
        }
        if let Some(s) = cx.time_zone {
            put_str16(out, s, "time zone")?;
        }
        if let Some(a) = cx.auto_increment {
            codec::put_u16(out, a.increment);
            codec::put_u16(out, a.offset);
        }
        if let Some(c) = cx.charset {
            codec::put_u16(out, c.client);
            codec::put_u16(out, c.connection);
            codec::put_u16(out, c.server);
        }
        if let Some(v) = cx.error_code {
            codec::put_u32(out, v);
        }
        if let Some(v) = cx.server_id {
            codec::put_u32(out, v);
        }
        if let Some(v) = cx.thread_id {
            codec::put_u64(out, v);
        }
        Ok(())
    }

    /// Decodes a STATEMENT body (`body[0]` is the type byte) whose first
    /// byte is at absolute `offset`. Strings borrow from `body`.
    pub fn decode(body: &'a [u8], offset: u64) -> Result<Statement<'a>> {
        let mut c = Cursor::new(body, offset);
        let t = c.u8("record type")?;
        if t != rtype::STATEMENT {
            return Err(Error::new(
                ErrorKind::Unsupported,
                offset,
                format!("unknown statement record type 0x{t:02x}"),
            ));
        }
        let mask_at = c.offset();
        let mask = c.u32("presence mask")?;
        if mask & !ctx::KNOWN != 0 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                mask_at,
                format!(
                    "unknown context presence bits 0x{:08x} (record written by a newer version)",
                    mask & !ctx::KNOWN
                ),
            ));
        }
        let sql = c.str_u32("SQL text")?;
        let has = |b: u32| mask & b != 0;
        let mut cx = Context::default();
        if has(ctx::DATABASE) {
            cx.database = Some(c.str_u16("database name")?);
        }
        if has(ctx::TIMESTAMP) {
            cx.timestamp_us = Some(c.i64("timestamp")?);
        }
        if has(ctx::RAND_SEED) {
            cx.rand_seed = Some(RandSeed {
                seed1: c.u64("rand seed1")?,
                seed2: c.u64("rand seed2")?,
            });
        }
        if has(ctx::INSERT_ID) {
            cx.insert_id = Some(c.u64("insert id")?);
        }
        if has(ctx::LAST_INSERT_ID) {
            cx.last_insert_id = Some(c.u64("last insert id")?);
        }
        if has(ctx::USER_VARS) {
            let n = c.u16("user variable count")?;
            // Each variable takes at least 3 bytes: never reserve more than the body could hold.
            let mut vars = Vec::with_capacity(usize::from(n).min(c.remaining() / 3));
            let mut prev: Option<&str> = None;
            for _ in 0..n {
                let name_at = c.offset();
                let name = c.str_u16("user variable name")?;
                if prev.is_some_and(|p| p.as_bytes() >= name.as_bytes()) {
                    return Err(Error::malformed(
                        name_at,
                        format!(
                            "user variable {name:?} is out of order or repeated (names must be strictly ascending)"
                        ),
                    ));
                }
                prev = Some(name);
                let value = Value::decode(&mut c)?;
                vars.push(UserVar { name, value });
            }
            cx.user_vars = Some(vars);
        }
        if has(ctx::SQL_MODE) {
            cx.sql_mode = Some(c.u64("sql_mode")?);
        }
        if has(ctx::SQL_MODE_TEXT) {
            cx.sql_mode_text = Some(c.str_u16("sql_mode text")?);
        }
        if has(ctx::TIME_ZONE) {
            cx.time_zone = Some(c.str_u16("time zone")?);
        }
        if has(ctx::AUTO_INCREMENT) {
            cx.auto_increment = Some(AutoIncrement {
                increment: c.u16("auto_increment_increment")?,
                offset: c.u16("auto_increment_offset")?,
            });
        }
        if has(ctx::CHARSET) {
            cx.charset = Some(Charset {
                client: c.u16("charset client")?,
                connection: c.u16("charset connection")?,
                server: c.u16("charset server")?,
            });
        }
        if has(ctx::ERROR_CODE) {
            cx.error_code = Some(c.u32("error code")?);
        }
        if has(ctx::SERVER_ID) {
            cx.server_id = Some(c.u32("server id")?);
        }
        if has(ctx::THREAD_ID) {
            cx.thread_id = Some(c.u64("thread id")?);
        }
        c.finish("STATEMENT")?;
        Ok(Statement { sql, context: cx })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use replog_core::value::{Date, DateTime};
    use std::borrow::Cow;

    fn enc(st: &Statement<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        st.encode(&mut out).unwrap();
        out
    }

    #[test]
    fn raw_statement_layout() {
        let st = Statement::new("SELECT 1");
        #[rustfmt::skip]
        let expected = [
            0x10,                               // type STATEMENT
            0x00, 0x00, 0x00, 0x00,             // presence mask: nothing captured
            0x08, 0x00, 0x00, 0x00,             // SQL length 8
            b'S', b'E', b'L', b'E', b'C', b'T', b' ', b'1',
        ];
        assert_eq!(enc(&st), expected);
        let back = Statement::decode(&expected, 0).unwrap();
        assert_eq!(back, st);
        assert!(back.context.is_empty());
    }

    #[test]
    fn full_context_layout() {
        let mut cx = Context {
            database: Some("db"),
            timestamp_us: Some(0x0102),
            rand_seed: Some(RandSeed { seed1: 3, seed2: 4 }),
            insert_id: Some(5),
            last_insert_id: Some(6),
            sql_mode: Some(0x80),
            sql_mode_text: Some("ANSI"),
            time_zone: Some("UTC"),
            auto_increment: Some(AutoIncrement {
                increment: 2,
                offset: 1,
            }),
            charset: Some(Charset {
                client: 33,
                connection: 33,
                server: 8,
            }),
            error_code: Some(0),
            server_id: Some(7),
            thread_id: Some(9),
            ..Context::default()
        };
        cx.set_user_var("b", Value::Null);
        cx.set_user_var("a", Value::Int(-1));
        let st = Statement {
            sql: "X",
            context: cx,
        };
        #[rustfmt::skip]
        let expected = [
            0x10,                                           // type STATEMENT
            0xff, 0x3f, 0x00, 0x00,                         // mask: bits 0..=13
            0x01, 0x00, 0x00, 0x00, b'X',                   // SQL "X"
            0x02, 0x00, b'd', b'b',                         // bit 0  database "db"
            0x02, 0x01, 0, 0, 0, 0, 0, 0,                   // bit 1  timestamp_us 0x0102
            3, 0, 0, 0, 0, 0, 0, 0,                         // bit 2  rand seed1 = 3
            4, 0, 0, 0, 0, 0, 0, 0,                         //        rand seed2 = 4
            5, 0, 0, 0, 0, 0, 0, 0,                         // bit 3  insert_id 5
            6, 0, 0, 0, 0, 0, 0, 0,                         // bit 4  last_insert_id 6
            0x02, 0x00,                                     // bit 5  two user variables
            0x01, 0x00, b'a',                               //        name "a"
            0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, //    Int -1
            0x01, 0x00, b'b',                               //        name "b"
            0x00,                                           //        NULL
            0x80, 0, 0, 0, 0, 0, 0, 0,                      // bit 6  sql_mode 0x80
            0x04, 0x00, b'A', b'N', b'S', b'I',             // bit 7  sql_mode text
            0x03, 0x00, b'U', b'T', b'C',                   // bit 8  time zone
            0x02, 0x00, 0x01, 0x00,                         // bit 9  auto_increment 2 / 1
            33, 0, 33, 0, 8, 0,                             // bit 10 charset 33/33/8
            0, 0, 0, 0,                                     // bit 11 error code 0
            7, 0, 0, 0,                                     // bit 12 server id 7
            9, 0, 0, 0, 0, 0, 0, 0,                         // bit 13 thread id 9
        ];
        assert_eq!(enc(&st), expected);
        assert_eq!(Statement::decode(&expected, 0).unwrap(), st);
        assert_eq!(st.context.user_var("a"), Some(&Value::Int(-1)));
        assert_eq!(st.context.user_var("c"), None);
    }

    #[test]
    fn captured_zero_differs_from_absent() {
        let a = enc(&Statement::new("s"));
        let b = enc(&Statement::new("s").with_context(Context {
            timestamp_us: Some(0),
            ..Context::default()
        }));
        let c = enc(&Statement::new("s").with_context(Context {
            user_vars: Some(vec![]),
            ..Context::default()
        }));
        assert_ne!(a, b);
        assert_eq!(
            Statement::decode(&b, 0).unwrap().context.timestamp_us,
            Some(0)
        );
        assert_eq!(
            Statement::decode(&c, 0).unwrap().context.user_vars,
            Some(vec![])
        );
        assert_eq!(Statement::decode(&a, 0).unwrap().context.user_vars, None);
    }

    #[test]
    fn unknown_presence_bit_is_rejected_at_the_mask() {
        #[rustfmt::skip]
        let body = [
            0x10,                   // type STATEMENT          @ 1000
            0x00, 0x40, 0x00, 0x00, // mask bit 14: undefined  @ 1001
            0x00, 0x00, 0x00, 0x00, // empty SQL
        ];
        let e = Statement::decode(&body, 1000).unwrap_err();
        assert_eq!(e.offset(), Some(1001));
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(e.to_string().contains("0x00004000"), "{e}");
    }

    #[test]
    fn wrong_type_byte() {
        let e = Statement::decode(&[0x11, 0, 0, 0, 0], 64).unwrap_err();
        assert_eq!(e.offset(), Some(64));
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn truncated_item_reports_where_it_ends() {
        #[rustfmt::skip]
        let body = [
            0x10,                   // type                     @ 100
            0x02, 0x00, 0x00, 0x00, // mask: TIMESTAMP          @ 101
            0x00, 0x00, 0x00, 0x00, // empty SQL                @ 105
            0x01, 0x02, 0x03,       // 3 of 8 timestamp bytes   @ 109
        ];
        let e = Statement::decode(&body, 100).unwrap_err();
        assert_eq!(e.offset(), Some(109));
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof { needed: 5 });
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        #[rustfmt::skip]
        let body = [
            0x10,                   // type                     @ 0
            0x00, 0x00, 0x00, 0x00, // mask: nothing
            0x00, 0x00, 0x00, 0x00, // empty SQL
            0xAA,                   // stray byte               @ 9
        ];
        assert_eq!(Statement::decode(&body, 0).unwrap_err().offset(), Some(9));
    }

    #[test]
    fn bad_utf8_in_sql_points_at_the_byte() {
        #[rustfmt::skip]
        let body = [
            0x10,                   // type                     @ 0
            0x00, 0x00, 0x00, 0x00, // mask
            0x03, 0x00, 0x00, 0x00, // SQL length 3
            b'a', b'b', 0xff,       // invalid byte             @ 11
        ];
        assert_eq!(Statement::decode(&body, 0).unwrap_err().offset(), Some(11));
    }

    #[test]
    fn user_vars_out_of_order_are_rejected() {
        #[rustfmt::skip]
        let body = [
            0x10,                   // type                     @ 0
            0x20, 0x00, 0x00, 0x00, // mask: USER_VARS
            0x00, 0x00, 0x00, 0x00, // empty SQL
            0x02, 0x00,             // two variables            @ 9
            0x01, 0x00, b'b', 0x00, // "b" = NULL               @ 11
            0x01, 0x00, b'a', 0x00, // "a" = NULL (out of order) @ 15
        ];
        let e = Statement::decode(&body, 0).unwrap_err();
        assert_eq!(e.offset(), Some(15));
        let st = Statement {
            sql: "",
            context: Context {
                user_vars: Some(vec![
                    UserVar {
                        name: "b",
                        value: Value::Null,
                    },
                    UserVar {
                        name: "a",
                        value: Value::Null,
                    },
                ]),
                ..Context::default()
            },
        };
        let mut out = vec![0xEE];
        assert!(st.encode(&mut out).is_err());
        assert_eq!(out, [0xEE], "a failed encode leaves the buffer untouched");
    }

    #[test]
    fn bad_user_var_value_reports_its_tag_offset() {
        #[rustfmt::skip]
        let body = [
            0x10,                   // type                     @ 0
            0x20, 0x00, 0x00, 0x00, // mask: USER_VARS
            0x00, 0x00, 0x00, 0x00, // empty SQL
            0x01, 0x00,             // one variable
            0x01, 0x00, b'x',       // "x"
            0x42,                   // unknown value tag        @ 14
        ];
        assert_eq!(Statement::decode(&body, 0).unwrap_err().offset(), Some(14));
    }

    #[test]
    fn huge_user_var_count_does_not_allocate() {
        #[rustfmt::skip]
        let body = [
            0x10, 0x20, 0x00, 0x00, 0x00, // type, mask USER_VARS
            0x00, 0x00, 0x00, 0x00,       // empty SQL
            0xff, 0xff,                   // 65535 variables, none present @ 9
        ];
        let e = Statement::decode(&body, 0).unwrap_err();
        assert_eq!(e.offset(), Some(11));
    }

    #[test]
    fn json_shows_only_captured_items() {
        let mut cx = Context {
            timestamp_us: Some(5),
            ..Context::default()
        };
        cx.set_user_var(
            "d",
            Value::Date(Date {
                year: 2024,
                month: 1,
                day: 2,
            }),
        );
        cx.set_user_var("t", Value::Text(Cow::Borrowed("x")));
        cx.set_user_var(
            "dt",
            Value::DateTime(DateTime {
                date: Date {
                    year: 1,
                    month: 2,
                    day: 3,
                },
                hour: 4,
                minute: 5,
                second: 6,
                micro: 0,
            }),
        );
        let st = Statement::new("SELECT @d").with_context(cx);
        let j = serde_json::to_string(&st).unwrap();
        assert_eq!(
            j,
            r#"{"sql":"SELECT @d","timestamp_us":5,"user_vars":{"d":"2024-01-02","dt":"0001-02-03 04:05:06","t":"x"}}"#
        );
    }
}

#[cfg(test)]
mod prop {
    use super::*;
    use proptest::prelude::*;
    use replog_core::value::arb;

    /// Owned inputs of a statement: every context item optional.
    #[derive(Debug, Clone)]
    struct Owned {
        sql: String,
        db: Option<String>,
        ts: Option<i64>,
        rand: Option<(u64, u64)>,
        ids: (Option<u64>, Option<u64>),
        vars: Option<std::collections::BTreeMap<String, Value<'static>>>,
        mode: (Option<u64>, Option<String>),
        tz: Option<String>,
        auto: Option<(u16, u16)>,
        charset: Option<(u16, u16, u16)>,
        origin: (Option<u32>, Option<u32>, Option<u64>),
    }

    fn arb_owned() -> impl Strategy<Value = Owned> {
        use proptest::option::of;
        (
            (
                any::<String>(),
                of(".{0,12}"),
                of(any::<i64>()),
                of(any::<(u64, u64)>()),
            ),
            (of(any::<u64>()), of(any::<u64>())),
            of(proptest::collection::btree_map(
                "[a-z_]{0,6}",
                arb::value(),
                0..5,
            )),
            (of(any::<u64>()), of("[A-Z_,]{0,30}"), of(".{0,10}")),
            (of(any::<(u16, u16)>()), of(any::<(u16, u16, u16)>())),
            (of(any::<u32>()), of(any::<u32>()), of(any::<u64>())),
        )
            .prop_map(
                |((sql, db, ts, rand), ids, vars, (m, mt, tz), (auto, charset), origin)| Owned {
                    sql,
                    db,
                    ts,
                    rand,
                    ids,
                    vars,
                    mode: (m, mt),
                    tz,
                    auto,
                    charset,
                    origin,
                },
            )
    }

    impl Owned {
        fn view(&self) -> Statement<'_> {
            Statement {
                sql: &self.sql,
                context: Context {
                    database: self.db.as_deref(),
                    timestamp_us: self.ts,
                    rand_seed: self.rand.map(|(seed1, seed2)| RandSeed { seed1, seed2 }),
                    insert_id: self.ids.0,
                    last_insert_id: self.ids.1,
                    user_vars: self.vars.as_ref().map(|m| {
                        m.iter()
                            .map(|(k, v)| UserVar {
                                name: k,
                                value: v.clone(),
                            })
                            .collect()
                    }),
                    sql_mode: self.mode.0,
                    sql_mode_text: self.mode.1.as_deref(),
                    time_zone: self.tz.as_deref(),
                    auto_increment: self
                        .auto
                        .map(|(increment, offset)| AutoIncrement { increment, offset }),
                    charset: self.charset.map(|(client, connection, server)| Charset {
                        client,
                        connection,
                        server,
                    }),
                    error_code: self.origin.0,
                    server_id: self.origin.1,
                    thread_id: self.origin.2,
                },
            }
        }
    }

    proptest! {
        #[test]
        fn statements_round_trip(o in arb_owned(), base in any::<u32>()) {
            let st = o.view();
            let mut body = Vec::new();
            st.encode(&mut body).unwrap();
            let back = Statement::decode(&body, u64::from(base)).unwrap();
            prop_assert_eq!(&back, &st);
            let mut again = Vec::new();
            back.encode(&mut again).unwrap();
            prop_assert_eq!(again, body);
        }
    }
}
