//! The logical record types and their dispatch.

use crate::relation::Relation;
use crate::rtype;
use crate::tuple::{ColumnValue, Tuple};
use replog_core::TableRef;
use replog_core::Value;
use replog_core::codec::{self, Cursor};
use replog_core::error::{Error, ErrorKind, Result};
use replog_core::record::RecordView;
use serde::{Serialize, Serializer};

/// Which columns a before-image holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageKind {
    /// Only the key columns carry values; the others are sent as unchanged.
    Key,
    /// Every column.
    Full,
}

/// Before-image kind byte: no before image (UPDATE only).
pub const IMAGE_NONE: u8 = 0;
/// Before-image kind byte: key columns only.
pub const IMAGE_KEY: u8 = 1;
/// Before-image kind byte: every column.
pub const IMAGE_FULL: u8 = 2;

impl ImageKind {
    /// `key` or `full`.
    pub fn name(self) -> &'static str {
        match self {
            ImageKind::Key => "key",
            ImageKind::Full => "full",
        }
    }

    /// The wire byte.
    pub fn code(self) -> u8 {
        match self {
            ImageKind::Key => IMAGE_KEY,
            ImageKind::Full => IMAGE_FULL,
        }
    }
}

/// A before-image: the row as it was before an UPDATE or DELETE.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OldImage<'a> {
    /// Key-only or full.
    pub kind: ImageKind,
    /// The columns.
    pub values: Tuple<'a>,
}

/// INSERT: a new row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Insert<'a> {
    /// Relation id bound by an earlier RELATION.
    pub relation_id: u32,
    /// The new row.
    pub new: Tuple<'a>,
}

/// UPDATE: a changed row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Update<'a> {
    /// Relation id bound by an earlier RELATION.
    pub relation_id: u32,
    /// The row before the change, when the leader sent one. Without it, the
    /// key columns of `after` identify the row (the key did not change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<OldImage<'a>>,
    /// The row after the change; unchanged columns may be sent as unchanged.
    pub after: Tuple<'a>,
}

/// DELETE: a removed row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Delete<'a> {
    /// Relation id bound by an earlier RELATION.
    pub relation_id: u32,
    /// The row that was removed (key-only or full).
    pub before: OldImage<'a>,
}

/// TRUNCATE flag: CASCADE.
pub const TRUNCATE_CASCADE: u8 = 0x01;
/// TRUNCATE flag: RESTART IDENTITY (reset auto-increment counters).
pub const TRUNCATE_RESTART_IDENTITY: u8 = 0x02;

/// TRUNCATE: every row of one or more relations removed at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Truncate {
    /// CASCADE was given.
    pub cascade: bool,
    /// RESTART IDENTITY was given.
    pub restart_identity: bool,
    /// The relations truncated.
    pub relation_ids: Vec<u32>,
}

/// DDL: a schema change, as SQL text, so that the schema history lives in
/// the log. RELATION records describing the result follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ddl<'a> {
    /// Default database the statement ran in; may be empty.
    pub database: &'a str,
    /// The DDL statement.
    pub sql: &'a str,
}

/// MESSAGE flag: the message was emitted inside the leader's transaction.
pub const MESSAGE_TRANSACTIONAL: u8 = 0x01;

/// MESSAGE: an application message (PostgreSQL's `pg_logical_emit_message`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Message<'a> {
    /// Emitted inside the transaction (deliver at COMMIT) or not (deliver
    /// as soon as read).
    pub transactional: bool,
    /// Prefix identifying the emitting application.
    pub prefix: &'a str,
    /// The content.
    #[serde(rename = "content_hex", serialize_with = "ser_hex")]
    pub content: &'a [u8],
}

fn ser_hex<S: Serializer>(b: &&[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&replog_core::segment::hex(b))
}

/// A decoded logical record, borrowing from the body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum LogicalRecord<'a> {
    /// RELATION (0x10).
    Relation(Relation<'a>),
    /// INSERT (0x11).
    Insert(Insert<'a>),
    /// UPDATE (0x12).
    Update(Update<'a>),
    /// DELETE (0x13).
    Delete(Delete<'a>),
    /// TRUNCATE (0x14).
    Truncate(Truncate),
    /// DDL (0x15).
    Ddl(Ddl<'a>),
    /// MESSAGE (0x16).
    Message(Message<'a>),
}

fn put_str16(out: &mut Vec<u8>, s: &str, what: &str) -> std::result::Result<(), String> {
    if !codec::fits_u16(s.as_bytes()) {
        return Err(format!("{what} longer than 65535 bytes"));
    }
    codec::put_bytes_u16(out, s.as_bytes());
    Ok(())
}

fn put_bytes32(out: &mut Vec<u8>, b: &[u8], what: &str) -> std::result::Result<(), String> {
    if u32::try_from(b.len()).is_err() {
        return Err(format!("{what} longer than 4 GiB"));
    }
    codec::put_bytes_u32(out, b);
    Ok(())
}

fn read_image_kind(c: &mut Cursor<'_>, allow_none: bool) -> Result<Option<ImageKind>> {
    let at = c.offset();
    match c.u8("before-image kind")? {
        IMAGE_NONE if allow_none => Ok(None),
        IMAGE_KEY => Ok(Some(ImageKind::Key)),
        IMAGE_FULL => Ok(Some(ImageKind::Full)),
        b => Err(Error::malformed(
            at,
            format!(
                "before-image kind {b} is not {}1 (key) or 2 (full)",
                if allow_none { "0 (none), " } else { "" }
            ),
        )),
    }
}

impl<'a> LogicalRecord<'a> {
    /// The record-type byte.
    pub fn record_type(&self) -> u8 {
        match self {
            LogicalRecord::Relation(_) => rtype::RELATION,
            LogicalRecord::Insert(_) => rtype::INSERT,
            LogicalRecord::Update(_) => rtype::UPDATE,
            LogicalRecord::Delete(_) => rtype::DELETE,
            LogicalRecord::Truncate(_) => rtype::TRUNCATE,
            LogicalRecord::Ddl(_) => rtype::DDL,
            LogicalRecord::Message(_) => rtype::MESSAGE,
        }
    }

    /// The relation a row record (INSERT, UPDATE, DELETE) or RELATION concerns.
    pub fn relation_id(&self) -> Option<u32> {
        match self {
            LogicalRecord::Relation(r) => Some(r.relation_id),
            LogicalRecord::Insert(r) => Some(r.relation_id),
            LogicalRecord::Update(r) => Some(r.relation_id),
            LogicalRecord::Delete(r) => Some(r.relation_id),
            _ => None,
        }
    }

    /// Appends the whole body (type byte included) to `out`. Fails, leaving
    /// `out` as it was, when a field does not fit its layout.
    pub fn encode(&self, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        replog_core::codec::all_or_nothing(out, |out| self.encode_inner(out))
    }

    fn encode_inner(&self, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        match self {
            LogicalRecord::Relation(r) => return r.encode_inner(out),
            LogicalRecord::Insert(r) => {
                out.push(rtype::INSERT);
                codec::put_u32(out, r.relation_id);
                r.new.encode(out);
            }
            LogicalRecord::Update(r) => {
                out.push(rtype::UPDATE);
                codec::put_u32(out, r.relation_id);
                match &r.before {
                    None => out.push(IMAGE_NONE),
                    Some(b) => {
                        out.push(b.kind.code());
                        b.values.encode(out);
                    }
                }
                r.after.encode(out);
            }
            LogicalRecord::Delete(r) => {
                out.push(rtype::DELETE);
                codec::put_u32(out, r.relation_id);
                out.push(r.before.kind.code());
                r.before.values.encode(out);
            }
            LogicalRecord::Truncate(r) => {
                out.push(rtype::TRUNCATE);
                let flags = (if r.cascade { TRUNCATE_CASCADE } else { 0 })
                    | (if r.restart_identity {
                        TRUNCATE_RESTART_IDENTITY
                    } else {
                        0
                    });
                out.push(flags);
                let n = u16::try_from(r.relation_ids.len())
                    .map_err(|_| "more than 65535 relations".to_string())?;
                codec::put_u16(out, n);
                for id in &r.relation_ids {
                    codec::put_u32(out, *id);
                }
            }
            LogicalRecord::Ddl(r) => {
                out.push(rtype::DDL);
                put_str16(out, r.database, "database name")?;
                put_bytes32(out, r.sql.as_bytes(), "DDL text")?;
            }
            LogicalRecord::Message(r) => {
                out.push(rtype::MESSAGE);
                out.push(if r.transactional {
                    MESSAGE_TRANSACTIONAL
                } else {
                    0
                });
                put_str16(out, r.prefix, "message prefix")?;
                put_bytes32(out, r.content, "message content")?;
            }
        }
        Ok(())
    }

    /// Decodes a body (`body[0]` is the type byte) whose first byte is at
    /// absolute `offset`. Tuples are sliced, not validated: iterate their
    /// values or call [`LogicalRecord::validate`].
    #[inline]
    pub fn decode(body: &'a [u8], offset: u64) -> Result<LogicalRecord<'a>> {
        let mut c = Cursor::new(body, offset);
        let t = c.u8("record type")?;
        let r = match t {
            rtype::INSERT => {
                let relation_id = c.u32("relation id")?;
                LogicalRecord::Insert(Insert {
                    relation_id,
                    new: Tuple::read(&mut c)?,
                })
            }
            rtype::UPDATE => {
                let relation_id = c.u32("relation id")?;
                let before = match read_image_kind(&mut c, true)? {
                    None => None,
                    Some(kind) => Some(OldImage {
                        kind,
                        values: Tuple::read(&mut c)?,
                    }),
                };
                LogicalRecord::Update(Update {
                    relation_id,
                    before,
                    after: Tuple::read(&mut c)?,
                })
            }
            rtype::DELETE => {
                let relation_id = c.u32("relation id")?;
                let kind = read_image_kind(&mut c, false)?.unwrap_or(ImageKind::Full);
                LogicalRecord::Delete(Delete {
                    relation_id,
                    before: OldImage {
                        kind,
                        values: Tuple::read(&mut c)?,
                    },
                })
            }
            rtype::RELATION => LogicalRecord::Relation(Relation::decode_after_type(&mut c)?),
            rtype::TRUNCATE => {
                let flags_at = c.offset();
                let flags = c.u8("truncate flags")?;
                if flags & !(TRUNCATE_CASCADE | TRUNCATE_RESTART_IDENTITY) != 0 {
                    return Err(Error::malformed(
                        flags_at,
                        format!("unknown TRUNCATE flags 0x{flags:02x}"),
                    ));
                }
                let n = c.u16("relation count")?;
                let ids = c.bytes(usize::from(n) * 4, "relation ids")?;
                let relation_ids = ids
                    .chunks_exact(4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                LogicalRecord::Truncate(Truncate {
                    cascade: flags & TRUNCATE_CASCADE != 0,
                    restart_identity: flags & TRUNCATE_RESTART_IDENTITY != 0,
                    relation_ids,
                })
            }
            rtype::DDL => LogicalRecord::Ddl(Ddl {
                database: c.str_u16("database name")?,
                sql: c.str_u32("DDL text")?,
            }),
            rtype::MESSAGE => {
                let flags_at = c.offset();
                let flags = c.u8("message flags")?;
                if flags & !MESSAGE_TRANSACTIONAL != 0 {
                    return Err(Error::malformed(
                        flags_at,
                        format!("unknown MESSAGE flags 0x{flags:02x}"),
                    ));
                }
                LogicalRecord::Message(Message {
                    transactional: flags & MESSAGE_TRANSACTIONAL != 0,
                    prefix: c.str_u16("message prefix")?,
                    content: c.bytes_u32("message content")?,
                })
            }
            other => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    offset,
                    format!("unknown logical record type 0x{other:02x}"),
                ));
            }
        };
        c.finish(crate::type_name(t))?;
        Ok(r)
    }

    /// The tuples of the record: before-image first, then the new row.
    pub fn tuples(&self) -> impl Iterator<Item = Tuple<'a>> {
        let (a, b) = match self {
            LogicalRecord::Insert(r) => (Some(r.new), None),
            LogicalRecord::Update(r) => (r.before.map(|b| b.values), Some(r.after)),
            LogicalRecord::Delete(r) => (Some(r.before.values), None),
            _ => (None, None),
        };
        a.into_iter().chain(b)
    }

    /// Validates every tuple of the record; returns the number of columns
    /// checked.
    pub fn validate(&self) -> Result<usize> {
        let mut n = 0;
        for t in self.tuples() {
            n += t.validate()?;
        }
        Ok(n)
    }
}

/// A tuple as `(v1, v2, …)` for one-line summaries: text is quoted, unchanged
/// columns are `~`, long tuples are cut at about 60 characters, and a
/// malformed column shows as `<error>`.
fn render(t: &Tuple<'_>) -> String {
    use std::fmt::Write;
    const MAX: usize = 60;
    const TEXT_MAX: usize = 24;
    let mut s = String::from("(");
    for (i, v) in t.values().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        if s.len() > MAX {
            s.push('…');
            break;
        }
        let _ = match v {
            Ok(ColumnValue::Unchanged) => write!(s, "~"),
            // Text is cut (the cut marked with …); a number, date or time
            // is never cut, since a part of one reads as another value.
            Ok(ColumnValue::Value(v @ (Value::Text(_) | Value::Enum(_) | Value::Set(_)))) => {
                let text = v.to_string();
                match text.char_indices().nth(TEXT_MAX) {
                    Some((cut, _)) => write!(s, "'{}…'", &text[..cut]),
                    None => write!(s, "'{text}'"),
                }
            }
            Ok(ColumnValue::Value(v)) => write!(s, "{v}"),
            Err(_) => {
                s.push_str("<error>");
                break;
            }
        };
    }
    s.push(')');
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

impl RecordView for LogicalRecord<'_> {
    fn type_name(&self) -> &'static str {
        crate::type_name(self.record_type())
    }

    /// Row records name their relation id; TRUNCATE names its first relation.
    fn table(&self) -> Option<TableRef<'_>> {
        match self {
            LogicalRecord::Insert(_)
            | LogicalRecord::Update(_)
            | LogicalRecord::Delete(_)
            | LogicalRecord::Relation(_) => {
                self.relation_id().map(|id| TableRef::Id(u64::from(id)))
            }
            LogicalRecord::Truncate(t) => t
                .relation_ids
                .first()
                .map(|&id| TableRef::Id(u64::from(id))),
            LogicalRecord::Ddl(_) | LogicalRecord::Message(_) => None,
        }
    }

    fn defines_table(&self) -> Option<(u64, String)> {
        match self {
            LogicalRecord::Relation(r) => Some((u64::from(r.relation_id), r.qualified_name())),
            _ => None,
        }
    }

    fn summary(&self) -> String {
        fn short(s: &str) -> String {
            let s = s.trim();
            let mut cut = s.len().min(60);
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            let mut out: String = s[..cut]
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            if cut < s.len() {
                out.push('…');
            }
            out
        }
        match self {
            LogicalRecord::Relation(r) => format!(
                "rel={} {} v{} ({} columns)",
                r.relation_id,
                r.qualified_name(),
                r.schema_version,
                r.columns.len()
            ),
            LogicalRecord::Insert(r) => format!("rel={} new={}", r.relation_id, render(&r.new)),
            LogicalRecord::Update(r) => match &r.before {
                Some(b) => format!(
                    "rel={} before[{}]={} after={}",
                    r.relation_id,
                    b.kind.name(),
                    render(&b.values),
                    render(&r.after)
                ),
                None => format!("rel={} after={}", r.relation_id, render(&r.after)),
            },
            LogicalRecord::Delete(r) => {
                format!(
                    "rel={} before[{}]={}",
                    r.relation_id,
                    r.before.kind.name(),
                    render(&r.before.values)
                )
            }
            LogicalRecord::Truncate(t) => {
                let ids: Vec<String> = t.relation_ids.iter().map(u32::to_string).collect();
                let mut s = format!("rels={}", ids.join(","));
                if t.cascade {
                    s.push_str(" CASCADE");
                }
                if t.restart_identity {
                    s.push_str(" RESTART IDENTITY");
                }
                s
            }
            LogicalRecord::Ddl(d) if d.database.is_empty() => short(d.sql),
            LogicalRecord::Ddl(d) => format!("[{}] {}", d.database, short(d.sql)),
            LogicalRecord::Message(m) => format!(
                "prefix={} {} bytes{}",
                m.prefix,
                m.content.len(),
                if m.transactional {
                    ""
                } else {
                    " (non-transactional)"
                }
            ),
        }
    }
}
