//! test_decoding and wal2json outputs: each line (test_decoding, wal2json
//! format 2) or document (wal2json format 1) parsed into changes named by
//! schema, table and columns, then assembled as pgoutput's are.
//!
//! These plugins name no relation by OID and say nothing of keys
//! (wal2json's `pk`, with include-pk, excepted): a relation is known by
//! `schema.table` and gets an id at first sight; a change whose columns
//! (names and types) are not all in the current version makes a new
//! version with exactly its columns. A change naming fewer columns is the
//! same version: wal2json leaves unchanged TOAST columns out, and
//! test_decoding leaves NULLs out of old tuples; the columns a change does
//! not name are unchanged (an old tuple naming them all is a full image,
//! else a key image).

use crate::assemble::{Assembler, ColDef, CommitInfo, PG_EPOCH_UNIX_US, Place, RelDef};
use crate::coltype::ColType;
use crate::file::Plugin;
use crate::pgoutput::parse_lsn;
use crate::source::{Bufs, enc};
use replog_core::Value;
use replog_core::error::{Error, ErrorKind, Result};
use replog_logical::{
    Delete, ImageKind, Insert, LogicalRecord, Message, OldImage, PgType, Truncate, TupleBuf, Update,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;

/// Decoding state of the text plugins.
#[derive(Debug, Default)]
pub(crate) struct TextState {
    /// Type names seen, mapped.
    types: HashMap<String, ColType>,
    /// The open transaction (BEGIN, wal2json's `B`).
    cur: Option<u32>,
    /// The streamed transaction whose block is open (test_decoding).
    stream: Option<u32>,
    /// Streamed transactions → changes test_decoding printed without data.
    lost: HashMap<u32, u64>,
    /// Prepared transactions by GID (test_decoding without include-xids).
    gids: HashMap<String, u32>,
    /// Xids given to transactions of outputs that carry none.
    next_xid: u32,
    /// wal2json format 2's one `T` per table of one TRUNCATE: relations
    /// gathered until another action.
    trunc: Option<PendingTruncate>,
}

#[derive(Debug)]
struct PendingTruncate {
    place: Place,
    lsn_text: String,
    relids: Vec<(u32, u32)>,
}

impl TextState {
    /// The xid of a transaction whose output names none: the COPY row's,
    /// else one numbered in file order.
    fn xid_or(&mut self, given: Option<u32>) -> u32 {
        given.unwrap_or_else(|| {
            self.next_xid += 1;
            self.next_xid
        })
    }
}

/// A column value as a text plugin prints it.
#[derive(Debug, Clone)]
pub(crate) enum TVal<'a> {
    Null,
    Unchanged,
    Text(Cow<'a, str>),
}

/// One column of a change.
#[derive(Debug, Clone)]
pub(crate) struct TCol<'a> {
    name: Cow<'a, str>,
    ty: Cow<'a, str>,
    val: TVal<'a>,
}

/// Where the unit (line, document) being handled came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unit {
    /// Absolute offset of its first byte (of the COPY data column).
    pub(crate) at: u64,
    /// The COPY row's LSN and xid.
    pub(crate) row: Option<(u64, u32)>,
}

impl Unit {
    fn lsn(&self) -> u64 {
        self.row.map_or(0, |r| r.0)
    }
    fn xid(&self) -> Option<u32> {
        self.row.map(|r| r.1).filter(|&x| x != 0)
    }
}

/// Length of the next unit of a `pg_recvlogical` file of `plugin` at the
/// start of `rest`, and how many bytes to skip to the one after.
pub(crate) fn unit_len(plugin: Plugin, rest: &[u8]) -> (usize, usize) {
    let line = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let len = match plugin {
        Plugin::TestDecoding => message_len(rest).unwrap_or(line),
        _ => json_len(rest).unwrap_or(rest.len()),
    };
    let next = if rest.get(len) == Some(&b'\n') {
        len + 1
    } else {
        len
    };
    (len, next.max(1).min(rest.len()))
}

/// A test_decoding message line's length: its content is `sz` bytes that
/// may hold newlines.
fn message_len(rest: &[u8]) -> Option<usize> {
    let body = rest
        .strip_prefix(b"message: ")
        .or_else(|| rest.strip_prefix(b"streaming message: "))?;
    let skip = rest.len() - body.len();
    let line = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let l = std::str::from_utf8(&body[..line]).ok()?;
    let sz_at = l.find(", sz: ")? + 6;
    let digits = l[sz_at..].bytes().take_while(u8::is_ascii_digit).count();
    let sz: usize = l[sz_at..sz_at + digits].parse().ok()?;
    let content = l[sz_at + digits..].strip_prefix(" content:")?;
    let start = skip + line - content.len();
    Some(start.saturating_add(sz).min(rest.len()))
}

/// A JSON document's length (`{` … its matching `}`), None when it does
/// not end in `rest`.
fn json_len(rest: &[u8]) -> Option<usize> {
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for (i, &b) in rest.iter().enumerate() {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Everything a handler changes.
pub(crate) struct Ctx<'s> {
    pub(crate) st: &'s mut TextState,
    pub(crate) asm: &'s mut Assembler,
    pub(crate) bufs: &'s mut Bufs,
    pub(crate) scratch: &'s mut Vec<u8>,
}

/// Handles one unit of `plugin`; true when a transaction was handed over.
pub(crate) fn handle(plugin: Plugin, cx: Ctx<'_>, data: &[u8], u: Unit) -> Result<bool> {
    match plugin {
        Plugin::TestDecoding => test_decoding(cx, data, u),
        Plugin::Wal2JsonV1 => json_unit(cx, data, u, wal2json_v1),
        Plugin::Wal2JsonV2 => json_unit(cx, data, u, wal2json_v2),
        Plugin::PgOutput => unreachable!("pgoutput is decoded by the source"),
    }
}

fn bad(at: u64, m: impl Into<String>) -> Error {
    Error::malformed(at, m)
}

fn utf8(b: &[u8], at: u64) -> Result<&str> {
    std::str::from_utf8(b).map_err(|e| {
        bad(
            at + e.valid_up_to() as u64,
            "not UTF-8 (test_decoding and wal2json print text)",
        )
    })
}

/// A commit time as the plugins print it (`2026-12-07 06:49:18.235993+00`)
/// → µs since the Unix epoch.
fn time_us(s: &str, at: u64) -> Result<i64> {
    match replog_pgtype::from_text("commit time", &PgType::TimestampTz(None), s) {
        Ok(Value::PgTimestampTz(t)) => Ok(t.saturating_add(PG_EPOCH_UNIX_US)),
        _ => Err(bad(at, format!("{s:?} is not a timestamp with time zone"))),
    }
}

fn col_type<'t>(types: &'t mut HashMap<String, ColType>, name: &str) -> &'t ColType {
    if !types.contains_key(name) {
        types.insert(name.to_string(), ColType::from_name(name));
    }
    &types[name]
}

/// The relation (id, version) a change of `schema.table` naming `cols`
/// (and keys `pk`, when the output says) belongs to.
fn resolve(
    cx: &mut Ctx<'_>,
    schema: &str,
    table: &str,
    cols: &[TCol<'_>],
    pk: Option<&[Cow<'_, str>]>,
    at: u64,
) -> Result<(u32, u32)> {
    if let Some(def) = cx.asm.by_name(schema, table) {
        let types = &mut cx.st.types;
        let fits = cols.iter().all(|c| {
            let t = col_type(types, &c.ty);
            def.cols.iter().any(|d| d.name == c.name && &d.ty == t)
        }) && pk.is_none_or(|pk| {
            def.cols
                .iter()
                .all(|d| d.key == pk.iter().any(|k| *k == d.name))
        });
        if fits {
            return Ok((def.relid, def.version));
        }
    }
    let defs = cols
        .iter()
        .map(|c| ColDef {
            name: c.name.to_string(),
            ty: col_type(&mut cx.st.types, &c.ty).clone(),
            key: pk.is_some_and(|pk| pk.contains(&c.name)),
            nullable: !pk.is_some_and(|pk| pk.contains(&c.name)),
        })
        .collect();
    cx.asm.relation_by_name(schema, table, defs, at)
}

/// Fills `buf` with `cols` in the order of `def`'s columns (the ones not
/// named are unchanged); returns how many were named.
fn fill(buf: &mut TupleBuf, def: &RelDef, cols: &[TCol<'_>], at: u64) -> Result<usize> {
    buf.clear();
    let mut named = 0;
    for (i, d) in def.cols.iter().enumerate() {
        let c = match cols.get(i) {
            Some(c) if c.name == d.name => Some(c),
            _ => cols.iter().find(|c| c.name == d.name),
        };
        let r = match c.map(|c| &c.val) {
            None | Some(TVal::Unchanged) => buf.push_unchanged(),
            Some(TVal::Null) => buf.push_value(&Value::Null),
            Some(TVal::Text(s)) => {
                let v =
                    d.ty.from_text(&d.name, s)
                        .map_err(|m| bad(at, format!("{}: {m}", def.qualified())))?;
                buf.push_value(&v)
            }
        };
        named += usize::from(c.is_some());
        r.map_err(|m| bad(at, format!("{} column {}: {m}", def.qualified(), d.name)))?;
    }
    Ok(named)
}

/// A row change, parsed.
struct Change<'a> {
    kind: u8,
    schema: Cow<'a, str>,
    table: Cow<'a, str>,
    old: Option<Vec<TCol<'a>>>,
    new: Vec<TCol<'a>>,
    pk: Option<Vec<Cow<'a, str>>>,
    /// wal2json prints the replica identity's columns with every UPDATE,
    /// from the new row when the key did not change.
    old_repeats_key: bool,
}

impl TVal<'_> {
    fn same(&self, o: &TVal<'_>) -> bool {
        match (self, o) {
            (TVal::Null, TVal::Null) | (TVal::Unchanged, TVal::Unchanged) => true,
            (TVal::Text(a), TVal::Text(b)) => a == b,
            _ => false,
        }
    }
}

/// wal2json's old key that only repeats the new row's (the key did not
/// change): not an old image.
fn repeated_key(old: &[TCol<'_>], new: &[TCol<'_>]) -> bool {
    old.len() < new.len()
        && old
            .iter()
            .all(|o| new.iter().any(|n| n.name == o.name && n.val.same(&o.val)))
}

/// Encodes a change into transaction `place.xid`.
fn change(cx: &mut Ctx<'_>, ch: &Change<'_>, place: Place) -> Result<()> {
    let at = place.offset;
    flush_truncate(cx)?;
    let (schema, table) = (&ch.schema, &ch.table);
    let defining = if ch.kind == b'D' {
        ch.old.as_deref().unwrap_or_default()
    } else {
        &ch.new
    };
    let (relid, v) = resolve(cx, schema, table, defining, ch.pk.as_deref(), at)?;
    let def = cx
        .asm
        .current(relid)
        .ok_or_else(|| bad(at, "relation vanished"))?;
    let bufs = &mut *cx.bufs;
    let before = match &ch.old {
        Some(o) if ch.old_repeats_key && repeated_key(o, &ch.new) => None,
        Some(o) => {
            let n = fill(&mut bufs.old, def, o, at)?;
            Some(OldImage {
                kind: if n == def.cols.len() {
                    ImageKind::Full
                } else {
                    ImageKind::Key
                },
                values: bufs.old.as_tuple(),
            })
        }
        None => None,
    };
    let rec = match ch.kind {
        b'I' => {
            fill(&mut bufs.new, def, &ch.new, at)?;
            LogicalRecord::Insert(Insert {
                relation_id: relid,
                new: bufs.new.as_tuple(),
            })
        }
        b'U' => {
            fill(&mut bufs.new, def, &ch.new, at)?;
            LogicalRecord::Update(Update {
                relation_id: relid,
                before,
                after: bufs.new.as_tuple(),
            })
        }
        _ => LogicalRecord::Delete(Delete {
            relation_id: relid,
            before: before.ok_or_else(|| {
                Error::new(
                    ErrorKind::Unsupported,
                    at,
                    format!(
                        "DELETE on {schema}.{table} without its old row (a table without \
                         replica identity): the deleted row is not known"
                    ),
                )
            })?,
        }),
    };
    cx.asm.push(place, &[(relid, v)], true, |o| enc(rec, o, at))
}

/// TRUNCATE of `tables` in transaction `place.xid`.
fn truncate(
    cx: &mut Ctx<'_>,
    tables: &[TableName<'_>],
    cascade: bool,
    restart_identity: bool,
    place: Place,
) -> Result<()> {
    let mut refs = Vec::with_capacity(tables.len());
    for (s, t) in tables {
        let def = cx.asm.by_name(s, t).ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                place.offset,
                format!(
                    "TRUNCATE of {s}.{t} before any change shows its columns (these outputs \
                     describe a table only with its rows)"
                ),
            )
        })?;
        refs.push((def.relid, def.version));
    }
    let rec = LogicalRecord::Truncate(Truncate {
        cascade,
        restart_identity,
        relation_ids: refs.iter().map(|r| r.0).collect(),
    });
    let at = place.offset;
    cx.asm.push(place, &refs, false, |o| enc(rec, o, at))
}

/// Puts out the TRUNCATE gathered from wal2json format 2's `T` lines.
fn flush_truncate(cx: &mut Ctx<'_>) -> Result<()> {
    let Some(p) = cx.st.trunc.take() else {
        return Ok(());
    };
    let at = p.place.offset;
    let rec = LogicalRecord::Truncate(Truncate {
        cascade: false,
        restart_identity: false,
        relation_ids: p.relids.iter().map(|r| r.0).collect(),
    });
    cx.asm.push(p.place, &p.relids, false, |o| enc(rec, o, at))
}

fn message(
    cx: &mut Ctx<'_>,
    transactional: bool,
    prefix: &str,
    content: &[u8],
    place: Place,
) -> Result<bool> {
    let at = place.offset;
    let rec = LogicalRecord::Message(Message {
        transactional,
        prefix,
        content,
    });
    if transactional {
        cx.asm.push(place, &[], false, |o| enc(rec, o, at))?;
        Ok(false)
    } else {
        cx.asm.standalone(place.lsn, at, |o| enc(rec, o, at))
    }
}

fn commit(
    cx: &mut Ctx<'_>,
    xid: u32,
    lsn: u64,
    end_lsn: u64,
    time: i64,
    at: u64,
    prepared: bool,
) -> Result<bool> {
    flush_truncate(cx)?;
    cx.asm.commit(
        CommitInfo {
            xid,
            commit_lsn: lsn,
            end_lsn,
            time_us: time,
            offset: at,
        },
        prepared,
    )
}

// ---------------------------------------------------------------------
// test_decoding

/// An identifier as `quote_identifier` prints it; the rest after it.
fn ident(s: &str) -> Option<(Cow<'_, str>, &str)> {
    if s.starts_with('"') {
        return quoted(s);
    }
    let n = s.find(['.', ',', ':', ' ', '[']).unwrap_or(s.len());
    (n > 0).then(|| (Cow::Borrowed(&s[..n]), &s[n..]))
}

/// Text in quotes (its first character), the quote doubled inside: the
/// text and the rest after the closing quote.
fn quoted(s: &str) -> Option<(Cow<'_, str>, &str)> {
    let q = s.chars().next()?;
    let inner = &s[1..];
    let i = crate::file::closing_quote(inner.as_bytes(), q as u8)?;
    let text = &inner[..i];
    let doubled: String = [q, q].iter().collect();
    let text = if text.contains(&doubled) {
        Cow::Owned(text.replace(&doubled, &q.to_string()))
    } else {
        Cow::Borrowed(text)
    };
    Some((text, &inner[i + 1..]))
}

/// A table's `(schema, name)`.
type TableName<'a> = (Cow<'a, str>, Cow<'a, str>);

/// `schema.table`.
fn qualified(s: &str) -> Option<(TableName<'_>, &str)> {
    let (schema, rest) = ident(s)?;
    let (table, rest) = ident(rest.strip_prefix('.')?)?;
    Some(((schema, table), rest))
}

/// A tuple as test_decoding prints it: ` name[type]:value` for each
/// column, up to ` new-tuple:` or the end.
fn td_tuple(mut s: &str) -> std::result::Result<(Vec<TCol<'_>>, &str), (usize, String)> {
    let start_len = s.len();
    let pos = |s: &str| start_len - s.len();
    let mut cols = Vec::new();
    while !s.is_empty() && !s.starts_with(" new-tuple:") {
        let r = s
            .strip_prefix(' ')
            .ok_or_else(|| (pos(s), "a space before the column".to_string()))?;
        let (name, r) = ident(r).ok_or_else(|| (pos(s), "a column name".to_string()))?;
        let r = r
            .strip_prefix('[')
            .ok_or_else(|| (pos(r), format!("`[type]` after column {name}")))?;
        let e = r
            .find("]:")
            .ok_or_else(|| (pos(r), format!("`]:` after the type of column {name}")))?;
        let (ty, r) = (&r[..e], &r[e + 2..]);
        let (val, r) = if r.starts_with('\'') {
            let (v, rest) = quoted(r)
                .ok_or_else(|| (pos(r), format!("unterminated value of column {name}")))?;
            (TVal::Text(v), rest)
        } else if let Some(b) = r.strip_prefix("B'") {
            let e = b
                .find('\'')
                .ok_or_else(|| (pos(r), format!("unterminated bit string of {name}")))?;
            (TVal::Text(Cow::Borrowed(&b[..e])), &b[e + 1..])
        } else {
            let e = r.find(' ').unwrap_or(r.len());
            let v = match &r[..e] {
                "null" => TVal::Null,
                "unchanged-toast-datum" => TVal::Unchanged,
                "" => return Err((pos(r), format!("no value for column {name}"))),
                t => TVal::Text(Cow::Borrowed(t)),
            };
            (v, &r[e..])
        };
        cols.push(TCol {
            name,
            ty: Cow::Borrowed(ty),
            val,
        });
        s = r;
    }
    Ok((cols, s))
}

/// ` TXN 123`, or nothing (without include-xids).
fn txn_suffix(s: &str) -> Option<u32> {
    s.trim().strip_prefix("TXN ")?.parse().ok()
}

/// `'gid'[, txid N][ (at T)]` (two-phase lines).
fn gid_tail(s: &str) -> Option<(String, Option<u32>, Option<&str>)> {
    if !s.starts_with('\'') {
        return None;
    }
    let (gid, rest) = quoted(s)?;
    let gid = gid.into_owned();
    let (xid, rest) = match rest.strip_prefix(", txid ") {
        Some(r) => {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            (Some(r[..n].parse().ok()?), &r[n..])
        }
        None => (None, rest),
    };
    Some((gid, xid, at_time(rest)))
}

/// ` (at T)` → T.
fn at_time(s: &str) -> Option<&str> {
    s.trim_start().strip_prefix("(at ")?.strip_suffix(')')
}

fn test_decoding(mut cx: Ctx<'_>, data: &[u8], u: Unit) -> Result<bool> {
    let at = u.at;
    let lsn = u.lsn();
    let place = |xid: u32| Place {
        xid,
        subxid: xid,
        lsn,
        offset: at,
    };
    if let Some(b) = data
        .strip_prefix(b"message: ")
        .or_else(|| data.strip_prefix(b"streaming message: "))
    {
        let streaming = data.starts_with(b"streaming");
        let line = b.iter().position(|&c| c == b'\n').unwrap_or(b.len());
        let l = b
            .windows(9)
            .position(|w| w == b" content:")
            .filter(|&p| p <= line)
            .map_or(&b[..line], |p| &b[..p]);
        let head = utf8(l, at)?;
        let m = (|| {
            let r = head.strip_prefix("transactional: ")?;
            let (t, r) = r.split_once(" prefix: ")?;
            let (prefix, sz) = r.rsplit_once(", sz: ")?;
            Some((t == "1", prefix, sz.parse::<usize>().ok()?))
        })()
        .ok_or_else(|| bad(at, format!("not a test_decoding message line: {head:?}")))?;
        let (transactional, prefix, sz) = m;
        if streaming && transactional {
            // Printed without content: lost like a streamed change.
            let x = cx.st.stream.unwrap_or(0);
            *cx.st.lost.entry(x).or_default() += 1;
            return Ok(false);
        }
        let c0 = (data.len() - b.len()) + l.len() + 9;
        let content = data
            .get(c0..c0 + sz)
            .ok_or_else(|| Error::eof(at + data.len() as u64, 1, "message content"))?;
        let xid = if transactional {
            cx.st
                .cur
                .ok_or_else(|| bad(at, "transactional message outside any transaction"))?
        } else {
            0
        };
        return message(&mut cx, transactional, prefix, content, place(xid));
    }
    let s = utf8(data, at)?;
    let s = s.strip_suffix('\r').unwrap_or(s);
    if let Some(r) = s.strip_prefix("table ") {
        let xid = cx
            .st
            .cur
            .ok_or_else(|| bad(at, "a change outside any transaction (no BEGIN before it)"))?;
        return td_change(&mut cx, s, r, place(xid)).map(|()| false);
    }
    if let Some(r) = s.strip_prefix("BEGIN") {
        if let Some(open) = cx.st.cur {
            return Err(bad(at, format!("BEGIN while transaction {open} is open")));
        }
        let given = if r.is_empty() {
            u.xid()
        } else {
            Some(
                r.trim()
                    .parse()
                    .map_err(|_| bad(at, format!("BEGIN of {r:?}: not an xid")))?,
            )
        };
        let xid = cx.st.xid_or(given);
        cx.st.cur = Some(xid);
        cx.asm.begin(xid, at);
        return Ok(false);
    }
    if let Some(r) = s.strip_prefix("PREPARE TRANSACTION ") {
        let (gid, xid, _) =
            gid_tail(r).ok_or_else(|| bad(at, format!("not a PREPARE TRANSACTION line: {s:?}")))?;
        let xid = xid
            .or(cx.st.cur)
            .ok_or_else(|| bad(at, "PREPARE TRANSACTION outside any transaction"))?;
        cx.st.cur = None;
        flush_truncate(&mut cx)?;
        cx.st.gids.insert(gid.clone(), xid);
        cx.asm.prepare(xid, &gid, at)?;
        return Ok(false);
    }
    for (p, roll) in [("COMMIT PREPARED ", false), ("ROLLBACK PREPARED ", true)] {
        if let Some(r) = s.strip_prefix(p) {
            let (gid, xid, time) =
                gid_tail(r).ok_or_else(|| bad(at, format!("not a {p}line: {s:?}")))?;
            let xid = match (xid, cx.st.gids.remove(&gid)) {
                (Some(x), _) | (None, Some(x)) => x,
                (None, None) => {
                    return Err(bad(at, format!("{p}of {gid:?}, which was not prepared")));
                }
            };
            if roll {
                cx.asm.rollback_prepared(xid);
                return Ok(false);
            }
            let t = time.map(|t| time_us(t, at)).transpose()?.unwrap_or(0);
            return commit(&mut cx, xid, lsn, lsn, t, at, true);
        }
    }
    if let Some(r) = s.strip_prefix("COMMIT") {
        let (x, time) = match r.find(" (at ") {
            Some(i) => (&r[..i], at_time(&r[i..])),
            None => (r, None),
        };
        let open = cx.st.cur.take();
        let xid = match x.trim() {
            "" => open.ok_or_else(|| bad(at, "COMMIT without a BEGIN"))?,
            n => n
                .parse()
                .map_err(|_| bad(at, format!("COMMIT of {n:?}: not an xid")))?,
        };
        let t = time.map(|t| time_us(t, at)).transpose()?.unwrap_or(0);
        return commit(&mut cx, xid, lsn, lsn, t, at, false);
    }
    if let Some(r) = s.strip_prefix("opening a streamed block for transaction") {
        let xid = txn_suffix(r).or(u.xid()).unwrap_or(0);
        cx.st.stream = Some(xid);
        cx.asm.begin(xid, at);
        return Ok(false);
    }
    if s.starts_with("closing a streamed block for transaction") {
        cx.st.stream = None;
        return Ok(false);
    }
    for p in ["streaming change for", "streaming truncate for"] {
        if let Some(r) = s.strip_prefix(p) {
            let xid = txn_suffix(r).or(cx.st.stream).unwrap_or(0);
            *cx.st.lost.entry(xid).or_default() += 1;
            return Ok(false);
        }
    }
    if let Some(r) = s.strip_prefix("aborting streamed (sub)transaction") {
        let xid = txn_suffix(r).or(cx.st.stream).unwrap_or(0);
        if cx.asm.is_open(xid) {
            cx.st.lost.remove(&xid);
            cx.asm.abort(xid, xid, u.at)?;
        } else {
            // A subtransaction: its changes were printed without data anyway.
            cx.asm.counts.aborted_subxacts += 1;
        }
        return Ok(false);
    }
    let streamed_end = [
        ("committing streamed transaction", false),
        ("preparing streamed transaction ", true),
    ];
    for (p, prepare) in streamed_end {
        if let Some(r) = s.strip_prefix(p) {
            let (xid, time, gid) = if prepare {
                let r = r.strip_prefix("TXN ").unwrap_or(r);
                let (gid, xid, time) = gid_tail(r)
                    .ok_or_else(|| bad(at, format!("not a streamed prepare line: {s:?}")))?;
                (xid.or(cx.st.stream), time, Some(gid))
            } else {
                let (x, time) = match r.find(" (at ") {
                    Some(i) => (&r[..i], at_time(&r[i..])),
                    None => (r, None),
                };
                (txn_suffix(x).or(cx.st.stream), time, None)
            };
            let xid = xid.unwrap_or(0);
            if let Some(n) = cx.st.lost.remove(&xid) {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    at,
                    format!(
                        "transaction {xid} was streamed: test_decoding with stream-changes \
                         printed its {n} change(s) without their data, so they cannot be \
                         read (capture without stream-changes, or use pgoutput)"
                    ),
                ));
            }
            if let Some(gid) = gid {
                cx.st.gids.insert(gid.clone(), xid);
                cx.asm.prepare(xid, &gid, at)?;
                return Ok(false);
            }
            let t = time.map(|t| time_us(t, at)).transpose()?.unwrap_or(0);
            return commit(&mut cx, xid, lsn, lsn, t, at, false);
        }
    }
    Err(bad(
        at,
        format!(
            "not a test_decoding line: {:?}",
            s.chars().take(60).collect::<String>()
        ),
    ))
}

/// `table S.T[, S.T…]: ACTION: …`.
fn td_change(cx: &mut Ctx<'_>, line: &str, r: &str, place: Place) -> Result<()> {
    let at = place.offset;
    let err = |off: usize, m: String| bad(at + off as u64, m);
    let off = |s: &str| line.len() - s.len();
    let mut tables = Vec::new();
    let mut rest = r;
    loop {
        let (q, rr) = qualified(rest)
            .ok_or_else(|| err(off(rest), "a schema-qualified table name".into()))?;
        tables.push(q);
        match rr.strip_prefix(", ") {
            Some(more) => rest = more,
            None => {
                rest = rr;
                break;
            }
        }
    }
    let rest = rest
        .strip_prefix(": ")
        .ok_or_else(|| err(off(rest), "`: ` after the table name".into()))?;
    let (action, body) = rest.split_once(':').ok_or_else(|| {
        err(
            off(rest),
            "an action (INSERT:, UPDATE:, DELETE:, TRUNCATE:)".into(),
        )
    })?;
    if action == "TRUNCATE" {
        let flags = body.trim();
        let (restart, cascade) = match flags {
            "(no-flags)" => (false, false),
            f => (f.contains("restart_seqs"), f.contains("cascade")),
        };
        return truncate(cx, &tables, cascade, restart, place);
    }
    let [(schema, table)] = <[_; 1]>::try_from(tables)
        .map_err(|_| err(off(r), format!("{action} of more than one table")))?;
    let tuple = |s| td_tuple(s).map_err(|(o, m)| err(off(s) + o, format!("expected {m}")));
    let kind = match action {
        "INSERT" => b'I',
        "UPDATE" => b'U',
        "DELETE" => b'D',
        a => return Err(err(off(rest), format!("unknown action {a:?}"))),
    };
    let (old, new) = if body == " (no-tuple-data)" {
        (None, Vec::new())
    } else if kind == b'D' {
        (Some(tuple(body)?.0), Vec::new())
    } else if let Some(o) = body.strip_prefix(" old-key:") {
        let (old, r) = tuple(o)?;
        let n = r.strip_prefix(" new-tuple:").unwrap_or(r);
        (Some(old), tuple(n)?.0)
    } else {
        (None, tuple(body)?.0)
    };
    if kind != b'D' && new.is_empty() {
        return Err(err(
            off(body),
            format!("{action} on {schema}.{table} without its new row"),
        ));
    }
    let ch = Change {
        kind,
        schema,
        table,
        old,
        new,
        pk: None,
        old_repeats_key: false,
    };
    change(cx, &ch, place)
}

// ---------------------------------------------------------------------
// wal2json

/// A JSON value as wal2json prints a column: a string, a number, a
/// boolean or null.
fn w2j_value<'a>(raw: Option<&'a RawValue>, ty: &str, at: u64) -> Result<TVal<'a>> {
    let Some(raw) = raw else {
        return Ok(TVal::Null);
    };
    let s = raw.get();
    let text: Cow<'a, str> = if s.starts_with('"') {
        match serde_json::from_str::<&'a str>(s) {
            Ok(b) => Cow::Borrowed(b),
            Err(_) => Cow::Owned(
                serde_json::from_str::<String>(s)
                    .map_err(|e| bad(at, format!("column value {s:?}: {e}")))?,
            ),
        }
    } else if s.starts_with(['{', '[']) {
        return Err(bad(at, format!("column value {s:?} is not a scalar")));
    } else {
        Cow::Borrowed(s)
    };
    // bytea: wal2json prints the hex digits without `\x`.
    Ok(TVal::Text(if ty == "bytea" {
        Cow::Owned(format!("\\x{text}"))
    } else {
        text
    }))
}

/// A wal2json unit handled by `f`, given the document's bytes with
/// wal2json's `"change":[,{` (a non-transactional message first in format
/// 1) repaired.
fn json_unit(
    mut cx: Ctx<'_>,
    data: &[u8],
    u: Unit,
    f: fn(&mut Ctx<'_>, &[u8], Unit) -> Result<bool>,
) -> Result<bool> {
    let mut scratch = std::mem::take(cx.scratch);
    let comma = (|| {
        let c = data.windows(8).position(|w| w == b"\"change\"")?;
        let open = c + data[c..].iter().position(|&b| b == b'[')?;
        let next = open
            + 1
            + data[open + 1..]
                .iter()
                .position(|b| !b.is_ascii_whitespace())?;
        (data[next] == b',').then_some(next)
    })();
    let doc = match comma {
        Some(comma) => {
            scratch.clear();
            scratch.extend_from_slice(&data[..comma]);
            scratch.extend_from_slice(&data[comma + 1..]);
            &scratch[..]
        }
        None => data,
    };
    let r = f(&mut cx, doc, u);
    *cx.scratch = scratch;
    r
}

/// A column of a wal2json change (type `unknown` when the output names
/// none).
fn w2j_col<'a>(
    name: &Cow<'a, str>,
    ty: Option<&Cow<'a, str>>,
    value: Option<&'a RawValue>,
    at: u64,
) -> Result<TCol<'a>> {
    let ty = ty.cloned().unwrap_or(Cow::Borrowed("unknown"));
    Ok(TCol {
        name: name.clone(),
        val: w2j_value(value, &ty, at)?,
        ty,
    })
}

/// An LSN field (`0/16B3748`), or `default` when absent.
fn lsn_field(s: Option<&str>, default: u64, at: u64) -> Result<u64> {
    match s {
        Some(s) => parse_lsn(s).ok_or_else(|| bad(at, format!("{s:?} is not an LSN"))),
        None => Ok(default),
    }
}

/// A serde_json error at its line and column of a document at `at`.
fn json_err(e: serde_json::Error, at: u64) -> Error {
    match e.classify() {
        serde_json::error::Category::Eof => Error::eof(at, 1, "wal2json document"),
        _ => bad(at, format!("wal2json document: {e}")),
    }
}

#[derive(Deserialize)]
struct V1Doc<'a> {
    xid: Option<u32>,
    #[serde(borrow)]
    nextlsn: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    change: Vec<V1Change<'a>>,
}

#[derive(Deserialize)]
struct V1Change<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    schema: Option<Cow<'a, str>>,
    #[serde(borrow)]
    table: Option<Cow<'a, str>>,
    #[serde(borrow)]
    columnnames: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow)]
    columntypes: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow)]
    columnvalues: Option<Vec<Option<&'a RawValue>>>,
    #[serde(borrow)]
    pk: Option<V1Pk<'a>>,
    #[serde(borrow)]
    oldkeys: Option<V1Old<'a>>,
    transactional: Option<bool>,
    #[serde(borrow)]
    prefix: Option<Cow<'a, str>>,
    #[serde(borrow)]
    content: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct V1Pk<'a> {
    #[serde(borrow)]
    pknames: Vec<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct V1Old<'a> {
    #[serde(borrow)]
    keynames: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    keytypes: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow)]
    keyvalues: Vec<Option<&'a RawValue>>,
}

/// Columns from wal2json format 1's parallel arrays.
fn v1_cols<'a>(
    names: &[Cow<'a, str>],
    types: Option<&[Cow<'a, str>]>,
    values: &[Option<&'a RawValue>],
    at: u64,
) -> Result<Vec<TCol<'a>>> {
    if values.len() != names.len() || types.is_some_and(|t| t.len() != names.len()) {
        return Err(bad(
            at,
            "column names, types and values of different lengths",
        ));
    }
    names
        .iter()
        .enumerate()
        .map(|(i, n)| w2j_col(n, types.map(|t| &t[i]), values[i], at))
        .collect()
}

fn wal2json_v1(cx: &mut Ctx<'_>, data: &[u8], u: Unit) -> Result<bool> {
    let at = u.at;
    {
        let doc: V1Doc<'_> = serde_json::from_slice(data).map_err(|e| json_err(e, at))?;
        let end = lsn_field(doc.nextlsn.as_deref(), u.lsn(), at)?;
        let Some(xid) = doc.xid.or(u.xid()) else {
            // Only non-transactional messages travel outside transactions.
            let mut handed = false;
            for c in &doc.change {
                if c.kind != "message" || c.transactional != Some(false) {
                    return Err(bad(at, "a change in a document without xid"));
                }
                let place = Place {
                    xid: 0,
                    subxid: 0,
                    lsn: u.lsn(),
                    offset: at,
                };
                let content = c.content.as_deref().unwrap_or_default();
                let prefix = c.prefix.as_deref().unwrap_or_default();
                handed |= message(cx, false, prefix, content.as_bytes(), place)?;
            }
            return Ok(handed);
        };
        cx.asm.begin(xid, at);
        let place = Place {
            xid,
            subxid: xid,
            lsn: 0,
            offset: at,
        };
        for c in &doc.change {
            v1_change(cx, c, place)?;
        }
        let t = doc
            .timestamp
            .as_deref()
            .map(|t| time_us(t, at))
            .transpose()?
            .unwrap_or(0);
        commit(cx, xid, end, end, t, at, false)
    }
}

fn v1_change(cx: &mut Ctx<'_>, c: &V1Change<'_>, place: Place) -> Result<()> {
    let at = place.offset;
    if c.kind == "message" {
        let content = c.content.as_deref().unwrap_or_default();
        let prefix = c.prefix.as_deref().unwrap_or_default();
        let tr = c.transactional.unwrap_or(true);
        message(cx, tr, prefix, content.as_bytes(), place)?;
        return Ok(());
    }
    let kind = match &*c.kind {
        "insert" => b'I',
        "update" => b'U',
        "delete" => b'D',
        k => return Err(bad(at, format!("unknown change kind {k:?}"))),
    };
    let (Some(schema), Some(table)) = (&c.schema, &c.table) else {
        return Err(bad(
            at,
            format!("{} change without schema and table", c.kind),
        ));
    };
    let new = match (&c.columnnames, &c.columnvalues) {
        (Some(n), Some(v)) => v1_cols(n, c.columntypes.as_deref(), v, at)?,
        _ => Vec::new(),
    };
    let old = match &c.oldkeys {
        Some(o) => Some(v1_cols(
            &o.keynames,
            o.keytypes.as_deref(),
            &o.keyvalues,
            at,
        )?),
        None => None,
    };
    let ch = Change {
        kind,
        schema: schema.clone(),
        table: table.clone(),
        old,
        new,
        pk: c.pk.as_ref().map(|p| p.pknames.clone()),
        old_repeats_key: true,
    };
    change(cx, &ch, place)
}

#[derive(Deserialize)]
struct V2Line<'a> {
    #[serde(borrow)]
    action: Cow<'a, str>,
    xid: Option<u32>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    lsn: Option<Cow<'a, str>>,
    #[serde(borrow)]
    nextlsn: Option<Cow<'a, str>>,
    #[serde(borrow)]
    schema: Option<Cow<'a, str>>,
    #[serde(borrow)]
    table: Option<Cow<'a, str>>,
    #[serde(borrow)]
    columns: Option<Vec<V2Col<'a>>>,
    #[serde(borrow)]
    identity: Option<Vec<V2Col<'a>>>,
    #[serde(borrow)]
    pk: Option<Vec<V2Col<'a>>>,
    transactional: Option<bool>,
    #[serde(borrow)]
    prefix: Option<Cow<'a, str>>,
    #[serde(borrow)]
    content: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct V2Col<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, rename = "type")]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow)]
    value: Option<&'a RawValue>,
}

fn v2_cols<'a>(cols: &[V2Col<'a>], at: u64) -> Result<Vec<TCol<'a>>> {
    cols.iter()
        .map(|c| w2j_col(&c.name, c.ty.as_ref(), c.value, at))
        .collect()
}

fn wal2json_v2(cx: &mut Ctx<'_>, data: &[u8], u: Unit) -> Result<bool> {
    let at = u.at;
    {
        let l: V2Line<'_> = serde_json::from_slice(data).map_err(|e| json_err(e, at))?;
        let lsn = lsn_field(l.lsn.as_deref(), u.lsn(), at)?;
        let action = l.action.as_bytes().first().copied().unwrap_or(0);
        if action != b'T' {
            flush_truncate(cx)?;
        }
        let in_txn = |cx: &Ctx<'_>| {
            cx.st.cur.ok_or_else(|| {
                bad(
                    at,
                    format!(
                        "action {:?} outside any transaction (no B before it)",
                        l.action
                    ),
                )
            })
        };
        match action {
            b'B' => {
                if let Some(open) = cx.st.cur {
                    return Err(bad(at, format!("B while transaction {open} is open")));
                }
                let xid = cx.st.xid_or(l.xid.or(u.xid()));
                cx.st.cur = Some(xid);
                cx.asm.begin(xid, at);
                Ok(false)
            }
            b'C' => {
                let xid = in_txn(cx)?;
                cx.st.cur = None;
                let end = lsn_field(l.nextlsn.as_deref(), lsn, at)?;
                let t = l
                    .timestamp
                    .as_deref()
                    .map(|t| time_us(t, at))
                    .transpose()?
                    .unwrap_or(0);
                commit(cx, xid, lsn, end, t, at, false)
            }
            b'I' | b'U' | b'D' => {
                let xid = in_txn(cx)?;
                let (Some(schema), Some(table)) = (&l.schema, &l.table) else {
                    return Err(bad(at, "change without schema and table"));
                };
                let new = match &l.columns {
                    Some(c) => v2_cols(c, at)?,
                    None => Vec::new(),
                };
                let old = match &l.identity {
                    Some(c) => Some(v2_cols(c, at)?),
                    None => None,
                };
                let ch = Change {
                    kind: action,
                    schema: schema.clone(),
                    table: table.clone(),
                    old,
                    new,
                    pk: l
                        .pk
                        .as_ref()
                        .map(|p| p.iter().map(|c| c.name.clone()).collect()),
                    old_repeats_key: true,
                };
                let place = Place {
                    xid,
                    subxid: xid,
                    lsn,
                    offset: at,
                };
                change(cx, &ch, place)?;
                Ok(false)
            }
            b'T' => {
                let xid = in_txn(cx)?;
                let (Some(schema), Some(table)) = (&l.schema, &l.table) else {
                    return Err(bad(at, "T without schema and table"));
                };
                let def = cx.asm.by_name(schema, table).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Unsupported,
                        at,
                        format!(
                            "TRUNCATE of {schema}.{table} before any change shows its columns \
                             (these outputs describe a table only with its rows)"
                        ),
                    )
                })?;
                let r = (def.relid, def.version);
                let lsn_text = l.lsn.as_deref().unwrap_or_default().to_string();
                // One T per table of one TRUNCATE, at one LSN.
                match &mut cx.st.trunc {
                    Some(p) if p.place.xid == xid && p.lsn_text == lsn_text => p.relids.push(r),
                    _ => {
                        flush_truncate(cx)?;
                        cx.st.trunc = Some(PendingTruncate {
                            place: Place {
                                xid,
                                subxid: xid,
                                lsn,
                                offset: at,
                            },
                            lsn_text,
                            relids: vec![r],
                        });
                    }
                }
                Ok(false)
            }
            b'M' => {
                let tr = l.transactional.unwrap_or(true);
                let xid = if tr { in_txn(cx)? } else { 0 };
                let content = l.content.as_deref().unwrap_or_default();
                let prefix = l.prefix.as_deref().unwrap_or_default();
                let place = Place {
                    xid,
                    subxid: xid,
                    lsn,
                    offset: at,
                };
                message(cx, tr, prefix, content.as_bytes(), place)
            }
            _ => Err(bad(at, format!("unknown wal2json action {:?}", l.action))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_decoding_tuples() {
        let (cols, rest) =
            td_tuple(" id[integer]:1 t[text]:'it''s a b' a[integer[]]:'{1,2}' x[bit(3)]:B'101' n[text]:null u[text]:unchanged-toast-datum \"we ird\"[boolean]:true new-tuple: z")
                .unwrap();
        assert_eq!(rest, " new-tuple: z");
        let got: Vec<(String, String, String)> = cols
            .iter()
            .map(|c| {
                let v = match &c.val {
                    TVal::Null => "NULL".to_string(),
                    TVal::Unchanged => "UNCHANGED".to_string(),
                    TVal::Text(t) => t.to_string(),
                };
                (c.name.to_string(), c.ty.to_string(), v)
            })
            .collect();
        let want = [
            ("id", "integer", "1"),
            ("t", "text", "it's a b"),
            ("a", "integer[]", "{1,2}"),
            ("x", "bit(3)", "101"),
            ("n", "text", "NULL"),
            ("u", "text", "UNCHANGED"),
            ("we ird", "boolean", "true"),
        ];
        assert_eq!(
            got,
            want.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        );
        assert!(td_tuple(" id[integer]:'open").is_err());
        assert!(td_tuple(" id[integer:1").is_err());
        assert!(td_tuple("id[integer]:1").is_err());
    }

    #[test]
    fn units_of_recvlogical_files() {
        let td = b"message: transactional: 1 prefix: p, sz: 3 content:a\nb\nBEGIN 1\n";
        assert_eq!(unit_len(Plugin::TestDecoding, td), (54, 55));
        assert_eq!(
            unit_len(Plugin::TestDecoding, b"BEGIN 1\nCOMMIT 1\n"),
            (7, 8)
        );
        let j = b"{\n\t\"a\": \"}\\\"\",\n\t\"b\": [1]\n}\n{}";
        assert_eq!(unit_len(Plugin::Wal2JsonV1, j), (26, 27));
        // An unterminated document is the whole rest (its parse fails).
        assert_eq!(unit_len(Plugin::Wal2JsonV2, b"{\"a\":"), (5, 5));
    }
}
