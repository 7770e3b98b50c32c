//! RELATION records and column type descriptors.
//!
//! ```text
//! RELATION = u8 type=0x10 | u32 relation_id | u32 schema_version
//!          | u16 len + UTF-8 database | u16 len + UTF-8 table
//!          | u16 column_count | column*
//! column   = u16 len + UTF-8 name | u8 flags | u8 type code | type parameters
//! ```

use crate::rtype;
use replog_core::codec::{self, Cursor};
use replog_core::error::{Error, Result};
use serde::{Serialize, Serializer};
use std::fmt;

/// Column flag bits.
pub mod flags {
    /// The column accepts NULL.
    pub const NULLABLE: u8 = 0x01;
    /// The column is part of the primary key (replica identity).
    pub const KEY: u8 = 0x02;
    /// The column is filled by auto-increment.
    pub const AUTO_INCREMENT: u8 = 0x04;
    /// Every defined bit.
    pub const KNOWN: u8 = 0x07;
}

/// Column type codes: the byte that starts a column type descriptor.
#[allow(missing_docs)]
pub mod code {
    pub const TINYINT: u8 = 0x01;
    pub const SMALLINT: u8 = 0x02;
    pub const MEDIUMINT: u8 = 0x03;
    pub const INT: u8 = 0x04;
    pub const BIGINT: u8 = 0x05;
    pub const DECIMAL: u8 = 0x06;
    pub const FLOAT: u8 = 0x07;
    pub const DOUBLE: u8 = 0x08;
    pub const CHAR: u8 = 0x09;
    pub const VARCHAR: u8 = 0x0A;
    pub const TEXT: u8 = 0x0B;
    pub const BLOB: u8 = 0x0C;
    pub const BINARY: u8 = 0x0D;
    pub const VARBINARY: u8 = 0x0E;
    pub const DATE: u8 = 0x0F;
    pub const TIME: u8 = 0x10;
    pub const DATETIME: u8 = 0x11;
    pub const TIMESTAMP: u8 = 0x12;
    pub const YEAR: u8 = 0x13;
    pub const ENUM: u8 = 0x14;
    pub const SET: u8 = 0x15;
    pub const BIT: u8 = 0x16;
    pub const BOOLEAN: u8 = 0x17;
    pub const JSON: u8 = 0x18;
    /// A PostgreSQL type: a [`super::PgType`] descriptor follows (format
    /// version 2).
    pub const POSTGRES: u8 = 0x19;
    pub const OTHER: u8 = 0xFF;
}

/// PostgreSQL type codes: the byte after [`code::POSTGRES`].
#[allow(missing_docs)]
pub mod pgcode {
    pub const INT2: u8 = 0x01;
    pub const INT4: u8 = 0x02;
    pub const INT8: u8 = 0x03;
    pub const NUMERIC: u8 = 0x04;
    pub const FLOAT4: u8 = 0x05;
    pub const FLOAT8: u8 = 0x06;
    pub const TEXT: u8 = 0x07;
    pub const VARCHAR: u8 = 0x08;
    pub const CHAR: u8 = 0x09;
    pub const BOOL: u8 = 0x0A;
    pub const BYTEA: u8 = 0x0B;
    pub const DATE: u8 = 0x0C;
    pub const TIME: u8 = 0x0D;
    pub const TIMETZ: u8 = 0x0E;
    pub const TIMESTAMP: u8 = 0x0F;
    pub const TIMESTAMPTZ: u8 = 0x10;
    pub const INTERVAL: u8 = 0x11;
    pub const UUID: u8 = 0x12;
    pub const JSON: u8 = 0x13;
    pub const JSONB: u8 = 0x14;
    pub const INET: u8 = 0x15;
    pub const CIDR: u8 = 0x16;
    pub const MACADDR: u8 = 0x17;
    pub const MACADDR8: u8 = 0x18;
    pub const MONEY: u8 = 0x19;
    pub const OID: u8 = 0x1A;
    pub const XML: u8 = 0x1B;
    pub const BIT: u8 = 0x1C;
    pub const VARBIT: u8 = 0x1D;
    pub const ENUM: u8 = 0x1E;
    pub const ARRAY: u8 = 0x1F;
    pub const OTHER: u8 = 0x20;
}

/// Largest `numeric` precision PostgreSQL accepts.
pub const MAX_NUMERIC_PRECISION: u16 = 1000;
/// Largest magnitude of a `numeric` scale (PostgreSQL 15 allows negative
/// scales).
pub const MAX_NUMERIC_SCALE: i16 = 1000;
/// Byte meaning "no precision given" in time, timestamp and interval
/// descriptors.
pub const NO_PRECISION: u8 = 0xFF;

/// A PostgreSQL column type, with its type modifier decoded. Which value
/// kind each holds is in `formats/logical.md` section 3.2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgType<'a> {
    /// `smallint` (int2).
    Int2,
    /// `integer` (int4).
    Int4,
    /// `bigint` (int8).
    Int8,
    /// `numeric(precision, scale)`, or unconstrained `numeric` (None).
    Numeric(Option<(u16, i16)>),
    /// `real` (float4).
    Float4,
    /// `double precision` (float8).
    Float8,
    /// `text`.
    Text,
    /// `character varying(n)`; None: no limit.
    VarChar(Option<u32>),
    /// `character(n)`; None: `bpchar` without a length.
    Char(Option<u32>),
    /// `boolean`.
    Bool,
    /// `bytea`.
    Bytea,
    /// `date`.
    Date,
    /// `time(p) without time zone`.
    Time(Option<u8>),
    /// `time(p) with time zone`.
    TimeTz(Option<u8>),
    /// `timestamp(p) without time zone`.
    Timestamp(Option<u8>),
    /// `timestamp(p) with time zone`.
    TimestampTz(Option<u8>),
    /// `interval(p)` (the fields restriction is not kept).
    Interval(Option<u8>),
    /// `uuid`.
    Uuid,
    /// `json`.
    Json,
    /// `jsonb`.
    Jsonb,
    /// `inet`.
    Inet,
    /// `cidr`.
    Cidr,
    /// `macaddr`.
    MacAddr,
    /// `macaddr8`.
    MacAddr8,
    /// `money`.
    Money,
    /// `oid`.
    Oid,
    /// `xml`.
    Xml,
    /// `bit(n)`; None: no length given.
    Bit(Option<u32>),
    /// `bit varying(n)`; None: no limit.
    VarBit(Option<u32>),
    /// A user-defined enum: its type name and labels in sort order.
    Enum {
        /// The type's name as the source gives it (may be schema-qualified).
        name: &'a str,
        /// Labels, in the enum's sort order.
        labels: Vec<&'a str>,
    },
    /// An array of the element type (any number of dimensions; never an
    /// array of arrays).
    Array(Box<PgType<'a>>),
    /// Any other type, by name.
    Other(&'a str),
}

impl<'a> PgType<'a> {
    /// The PostgreSQL type code byte.
    pub fn code(&self) -> u8 {
        use PgType as P;
        match self {
            P::Int2 => pgcode::INT2,
            P::Int4 => pgcode::INT4,
            P::Int8 => pgcode::INT8,
            P::Numeric(_) => pgcode::NUMERIC,
            P::Float4 => pgcode::FLOAT4,
            P::Float8 => pgcode::FLOAT8,
            P::Text => pgcode::TEXT,
            P::VarChar(_) => pgcode::VARCHAR,
            P::Char(_) => pgcode::CHAR,
            P::Bool => pgcode::BOOL,
            P::Bytea => pgcode::BYTEA,
            P::Date => pgcode::DATE,
            P::Time(_) => pgcode::TIME,
            P::TimeTz(_) => pgcode::TIMETZ,
            P::Timestamp(_) => pgcode::TIMESTAMP,
            P::TimestampTz(_) => pgcode::TIMESTAMPTZ,
            P::Interval(_) => pgcode::INTERVAL,
            P::Uuid => pgcode::UUID,
            P::Json => pgcode::JSON,
            P::Jsonb => pgcode::JSONB,
            P::Inet => pgcode::INET,
            P::Cidr => pgcode::CIDR,
            P::MacAddr => pgcode::MACADDR,
            P::MacAddr8 => pgcode::MACADDR8,
            P::Money => pgcode::MONEY,
            P::Oid => pgcode::OID,
            P::Xml => pgcode::XML,
            P::Bit(_) => pgcode::BIT,
            P::VarBit(_) => pgcode::VARBIT,
            P::Enum { .. } => pgcode::ENUM,
            P::Array(_) => pgcode::ARRAY,
            P::Other(_) => pgcode::OTHER,
        }
    }

    /// Whether values of this type are plain strings to replog: character
    /// types, network and MAC addresses, and types it does not know. They
    /// have no value kind of their own (they are held as text) and no
    /// meaning any consumer adds (Debezium writes them as plain strings).
    pub fn is_plain_text(&self) -> bool {
        use PgType as P;
        match self {
            P::Text
            | P::VarChar(_)
            | P::Char(_)
            | P::Inet
            | P::Cidr
            | P::MacAddr
            | P::MacAddr8
            | P::Other(_) => true,
            P::Int2
            | P::Int4
            | P::Int8
            | P::Numeric(_)
            | P::Float4
            | P::Float8
            | P::Bool
            | P::Bytea
            | P::Date
            | P::Time(_)
            | P::TimeTz(_)
            | P::Timestamp(_)
            | P::TimestampTz(_)
            | P::Interval(_)
            | P::Uuid
            | P::Json
            | P::Jsonb
            | P::Money
            | P::Oid
            | P::Xml
            | P::Bit(_)
            | P::VarBit(_)
            | P::Enum { .. }
            | P::Array(_) => false,
        }
    }

    /// The type without borrowed parts, for a consumer that keeps it
    /// beyond the relation it came from: `None` for the types that carry
    /// names (an enum, an unknown type) and for arrays.
    pub fn without_names(&self) -> Option<PgType<'static>> {
        use PgType as P;
        Some(match self {
            P::Int2 => P::Int2,
            P::Int4 => P::Int4,
            P::Int8 => P::Int8,
            P::Numeric(x) => P::Numeric(*x),
            P::Float4 => P::Float4,
            P::Float8 => P::Float8,
            P::Text => P::Text,
            P::VarChar(n) => P::VarChar(*n),
            P::Char(n) => P::Char(*n),
            P::Bool => P::Bool,
            P::Bytea => P::Bytea,
            P::Date => P::Date,
            P::Time(p) => P::Time(*p),
            P::TimeTz(p) => P::TimeTz(*p),
            P::Timestamp(p) => P::Timestamp(*p),
            P::TimestampTz(p) => P::TimestampTz(*p),
            P::Interval(p) => P::Interval(*p),
            P::Uuid => P::Uuid,
            P::Json => P::Json,
            P::Jsonb => P::Jsonb,
            P::Inet => P::Inet,
            P::Cidr => P::Cidr,
            P::MacAddr => P::MacAddr,
            P::MacAddr8 => P::MacAddr8,
            P::Money => P::Money,
            P::Oid => P::Oid,
            P::Xml => P::Xml,
            P::Bit(n) => P::Bit(*n),
            P::VarBit(n) => P::VarBit(*n),
            P::Enum { .. } | P::Array(_) | P::Other(_) => return None,
        })
    }

    /// Checks parameter ranges (the same rules when encoding and decoding).
    pub fn check(&self) -> std::result::Result<(), String> {
        use PgType as P;
        match self {
            P::Numeric(Some((p, s)))
                if *p == 0
                    || *p > MAX_NUMERIC_PRECISION
                    || s.unsigned_abs() > MAX_NUMERIC_SCALE as u16 =>
            {
                Err(format!("numeric({p},{s}) out of range"))
            }
            P::Time(Some(p))
            | P::TimeTz(Some(p))
            | P::Timestamp(Some(p))
            | P::TimestampTz(Some(p))
            | P::Interval(Some(p))
                if *p > MAX_FSP =>
            {
                Err(format!("precision {p} exceeds {MAX_FSP}"))
            }
            P::VarChar(Some(0)) | P::Char(Some(0)) | P::Bit(Some(0)) | P::VarBit(Some(0)) => {
                Err("length 0 (no limit is written as absent)".into())
            }
            P::Enum { name, labels } => {
                if !codec::fits_u16(name.as_bytes()) || labels.len() > usize::from(u16::MAX) {
                    return Err("enum type name or label count too large".into());
                }
                if labels.iter().any(|l| !codec::fits_u16(l.as_bytes())) {
                    return Err("enum label longer than 65535 bytes".into());
                }
                Ok(())
            }
            P::Array(e) if matches!(**e, P::Array(_)) => Err("array of arrays".into()),
            P::Array(e) => e.check(),
            P::Other(name) if !codec::fits_u16(name.as_bytes()) => {
                Err("type name longer than 65535 bytes".into())
            }
            _ => Ok(()),
        }
    }

    /// The descriptor's bytes (PostgreSQL type code and parameters, without
    /// the `0x19` before them), as stored in a RELATION column.
    pub fn descriptor(&self) -> std::result::Result<Vec<u8>, String> {
        self.check()?;
        let mut out = Vec::new();
        self.encode(&mut out);
        Ok(out)
    }

    /// Reads a descriptor written by [`PgType::descriptor`]; all of `c` must
    /// be used.
    pub fn from_descriptor(c: &mut Cursor<'a>) -> Result<PgType<'a>> {
        let t = PgType::decode(c, 0)?;
        c.finish("PostgreSQL type descriptor")?;
        Ok(t)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        use PgType as P;
        out.push(self.code());
        let prec = |out: &mut Vec<u8>, p: &Option<u8>| out.push(p.unwrap_or(NO_PRECISION));
        let len = |out: &mut Vec<u8>, n: &Option<u32>| codec::put_u32(out, n.unwrap_or(0));
        match self {
            P::Numeric(ps) => {
                let (p, s) = ps.unwrap_or((0, 0));
                codec::put_u16(out, p);
                codec::put_u16(out, s as u16);
            }
            P::VarChar(n) | P::Char(n) | P::Bit(n) | P::VarBit(n) => len(out, n),
            P::Time(p) | P::TimeTz(p) | P::Timestamp(p) | P::TimestampTz(p) | P::Interval(p) => {
                prec(out, p)
            }
            P::Enum { name, labels } => {
                codec::put_bytes_u16(out, name.as_bytes());
                codec::put_u16(out, labels.len() as u16);
                for l in labels {
                    codec::put_bytes_u16(out, l.as_bytes());
                }
            }
            P::Array(e) => e.encode(out),
            P::Other(name) => codec::put_bytes_u16(out, name.as_bytes()),
            _ => {}
        }
    }

    fn decode(c: &mut Cursor<'a>, depth: u8) -> Result<PgType<'a>> {
        use PgType as P;
        let at = c.offset();
        let t = c.u8("PostgreSQL type code")?;
        let prec = |c: &mut Cursor<'a>| -> Result<Option<u8>> {
            let p = c.u8("precision")?;
            Ok((p != NO_PRECISION).then_some(p))
        };
        let len = |c: &mut Cursor<'a>| -> Result<Option<u32>> {
            let n = c.u32("length")?;
            Ok((n != 0).then_some(n))
        };
        let ty = match t {
            pgcode::INT2 => P::Int2,
            pgcode::INT4 => P::Int4,
            pgcode::INT8 => P::Int8,
            pgcode::NUMERIC => {
                let p = c.u16("numeric precision")?;
                let s = c.u16("numeric scale")? as i16;
                if p == 0 && s != 0 {
                    return Err(Error::malformed(at, "unconstrained numeric with a scale"));
                }
                P::Numeric((p != 0).then_some((p, s)))
            }
            pgcode::FLOAT4 => P::Float4,
            pgcode::FLOAT8 => P::Float8,
            pgcode::TEXT => P::Text,
            pgcode::VARCHAR => P::VarChar(len(c)?),
            pgcode::CHAR => P::Char(len(c)?),
            pgcode::BOOL => P::Bool,
            pgcode::BYTEA => P::Bytea,
            pgcode::DATE => P::Date,
            pgcode::TIME => P::Time(prec(c)?),
            pgcode::TIMETZ => P::TimeTz(prec(c)?),
            pgcode::TIMESTAMP => P::Timestamp(prec(c)?),
            pgcode::TIMESTAMPTZ => P::TimestampTz(prec(c)?),
            pgcode::INTERVAL => P::Interval(prec(c)?),
            pgcode::UUID => P::Uuid,
            pgcode::JSON => P::Json,
            pgcode::JSONB => P::Jsonb,
            pgcode::INET => P::Inet,
            pgcode::CIDR => P::Cidr,
            pgcode::MACADDR => P::MacAddr,
            pgcode::MACADDR8 => P::MacAddr8,
            pgcode::MONEY => P::Money,
            pgcode::OID => P::Oid,
            pgcode::XML => P::Xml,
            pgcode::BIT => P::Bit(len(c)?),
            pgcode::VARBIT => P::VarBit(len(c)?),
            pgcode::ENUM => {
                let name = c.str_u16("enum type name")?;
                let n = c.u16("label count")?;
                let mut labels = Vec::with_capacity(usize::from(n).min(c.remaining() / 2));
                for _ in 0..n {
                    labels.push(c.str_u16("label")?);
                }
                P::Enum { name, labels }
            }
            pgcode::ARRAY if depth == 0 => P::Array(Box::new(PgType::decode(c, 1)?)),
            pgcode::ARRAY => return Err(Error::malformed(at, "array of arrays")),
            pgcode::OTHER => P::Other(c.str_u16("type name")?),
            other => {
                return Err(Error::malformed(
                    at,
                    format!("unknown PostgreSQL type code 0x{other:02x}"),
                ));
            }
        };
        ty.check().map_err(|m| Error::malformed(at, m))?;
        Ok(ty)
    }
}

/// PostgreSQL's spelling, as `format_type` gives it: `character varying(10)`,
/// `numeric(12,2)`, `timestamp(3) with time zone`, `integer[]`.
impl fmt::Display for PgType<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use PgType as P;
        let with_len = |f: &mut fmt::Formatter<'_>, name: &str, n: &Option<u32>| match n {
            Some(n) => write!(f, "{name}({n})"),
            None => f.write_str(name),
        };
        let time = |f: &mut fmt::Formatter<'_>, name: &str, p: &Option<u8>, tz: &str| match p {
            Some(p) => write!(f, "{name}({p}) {tz}"),
            None => write!(f, "{name} {tz}"),
        };
        match self {
            P::Int2 => f.write_str("smallint"),
            P::Int4 => f.write_str("integer"),
            P::Int8 => f.write_str("bigint"),
            P::Numeric(Some((p, s))) => write!(f, "numeric({p},{s})"),
            P::Numeric(None) => f.write_str("numeric"),
            P::Float4 => f.write_str("real"),
            P::Float8 => f.write_str("double precision"),
            P::Text => f.write_str("text"),
            P::VarChar(n) => with_len(f, "character varying", n),
            P::Char(None) => f.write_str("bpchar"),
            P::Char(n) => with_len(f, "character", n),
            P::Bool => f.write_str("boolean"),
            P::Bytea => f.write_str("bytea"),
            P::Date => f.write_str("date"),
            P::Time(p) => time(f, "time", p, "without time zone"),
            P::TimeTz(p) => time(f, "time", p, "with time zone"),
            P::Timestamp(p) => time(f, "timestamp", p, "without time zone"),
            P::TimestampTz(p) => time(f, "timestamp", p, "with time zone"),
            P::Interval(Some(p)) => write!(f, "interval({p})"),
            P::Interval(None) => f.write_str("interval"),
            P::Uuid => f.write_str("uuid"),
            P::Json => f.write_str("json"),
            P::Jsonb => f.write_str("jsonb"),
            P::Inet => f.write_str("inet"),
            P::Cidr => f.write_str("cidr"),
            P::MacAddr => f.write_str("macaddr"),
            P::MacAddr8 => f.write_str("macaddr8"),
            P::Money => f.write_str("money"),
            P::Oid => f.write_str("oid"),
            P::Xml => f.write_str("xml"),
            P::Bit(n) => with_len(f, "bit", n),
            P::VarBit(n) => with_len(f, "bit varying", n),
            P::Enum { name, .. } => f.write_str(name),
            P::Array(e) => write!(f, "{e}[]"),
            P::Other(name) => f.write_str(name),
        }
    }
}

/// Largest DECIMAL precision.
pub const MAX_DECIMAL_PRECISION: u8 = 65;
/// Largest fractional-seconds precision of TIME, DATETIME and TIMESTAMP.
pub const MAX_FSP: u8 = 6;
/// Largest number of SET members.
pub const MAX_SET_MEMBERS: usize = 64;

/// The declared type of a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType<'a> {
    /// TINYINT (8 bits).
    TinyInt {
        /// UNSIGNED.
        unsigned: bool,
    },
    /// SMALLINT (16 bits).
    SmallInt {
        /// UNSIGNED.
        unsigned: bool,
    },
    /// MEDIUMINT (24 bits).
    MediumInt {
        /// UNSIGNED.
        unsigned: bool,
    },
    /// INT (32 bits).
    Int {
        /// UNSIGNED.
        unsigned: bool,
    },
    /// BIGINT (64 bits).
    BigInt {
        /// UNSIGNED.
        unsigned: bool,
    },
    /// DECIMAL(precision, scale): 1 ≤ precision ≤ 65, scale ≤ precision.
    Decimal {
        /// Total digits.
        precision: u8,
        /// Digits after the point.
        scale: u8,
    },
    /// FLOAT (binary32).
    Float,
    /// DOUBLE (binary64).
    Double,
    /// CHAR(n), n in characters.
    Char(u32),
    /// VARCHAR(n), n in characters.
    VarChar(u32),
    /// TEXT of any size.
    Text,
    /// BLOB of any size.
    Blob,
    /// BINARY(n), n in bytes.
    Binary(u32),
    /// VARBINARY(n), n in bytes.
    VarBinary(u32),
    /// DATE.
    Date,
    /// TIME(fsp), fsp ≤ 6.
    Time(u8),
    /// DATETIME(fsp), fsp ≤ 6.
    DateTime(u8),
    /// TIMESTAMP(fsp), fsp ≤ 6.
    Timestamp(u8),
    /// YEAR.
    Year,
    /// ENUM(labels), in declaration order.
    Enum(Vec<&'a str>),
    /// SET(labels): at most 64 labels, none containing a comma.
    Set(Vec<&'a str>),
    /// BIT(n), 1 ≤ n ≤ 64.
    Bit(u8),
    /// BOOLEAN.
    Boolean,
    /// JSON.
    Json,
    /// Any other type, by its name in the source database (such as `GEOMETRY`).
    Other(&'a str),
    /// A PostgreSQL type (format version 2).
    Pg(PgType<'a>),
}

impl<'a> ColumnType<'a> {
    /// The type code byte.
    pub fn code(&self) -> u8 {
        match self {
            ColumnType::TinyInt { .. } => code::TINYINT,
            ColumnType::SmallInt { .. } => code::SMALLINT,
            ColumnType::MediumInt { .. } => code::MEDIUMINT,
            ColumnType::Int { .. } => code::INT,
            ColumnType::BigInt { .. } => code::BIGINT,
            ColumnType::Decimal { .. } => code::DECIMAL,
            ColumnType::Float => code::FLOAT,
            ColumnType::Double => code::DOUBLE,
            ColumnType::Char(_) => code::CHAR,
            ColumnType::VarChar(_) => code::VARCHAR,
            ColumnType::Text => code::TEXT,
            ColumnType::Blob => code::BLOB,
            ColumnType::Binary(_) => code::BINARY,
            ColumnType::VarBinary(_) => code::VARBINARY,
            ColumnType::Date => code::DATE,
            ColumnType::Time(_) => code::TIME,
            ColumnType::DateTime(_) => code::DATETIME,
            ColumnType::Timestamp(_) => code::TIMESTAMP,
            ColumnType::Year => code::YEAR,
            ColumnType::Enum(_) => code::ENUM,
            ColumnType::Set(_) => code::SET,
            ColumnType::Bit(_) => code::BIT,
            ColumnType::Boolean => code::BOOLEAN,
            ColumnType::Json => code::JSON,
            ColumnType::Other(_) => code::OTHER,
            ColumnType::Pg(_) => code::POSTGRES,
        }
    }

    /// Checks the parameter ranges that the layout allows; the same rules
    /// apply when encoding and decoding.
    pub fn check(&self) -> std::result::Result<(), String> {
        match self {
            ColumnType::Decimal { precision, scale }
                if *precision == 0 || *precision > MAX_DECIMAL_PRECISION || scale > precision =>
            {
                return Err(format!("DECIMAL({precision},{scale}) out of range"));
            }
            ColumnType::Time(f) | ColumnType::DateTime(f) | ColumnType::Timestamp(f)
                if *f > MAX_FSP =>
            {
                return Err(format!(
                    "fractional-seconds precision {f} exceeds {MAX_FSP}"
                ));
            }
            ColumnType::Bit(n) if *n == 0 || *n > 64 => {
                return Err(format!("BIT({n}) out of range"));
            }
            ColumnType::Enum(labels) => {
                if labels.len() > usize::from(u16::MAX) {
                    return Err("ENUM with more than 65535 labels".into());
                }
                if labels.iter().any(|l| !codec::fits_u16(l.as_bytes())) {
                    return Err("ENUM label longer than 65535 bytes".into());
                }
            }
            ColumnType::Set(labels) => {
                if labels.len() > MAX_SET_MEMBERS {
                    return Err(format!(
                        "SET with {} members (at most {MAX_SET_MEMBERS})",
                        labels.len()
                    ));
                }
                if let Some(l) = labels
                    .iter()
                    .find(|l| l.contains(',') || !codec::fits_u16(l.as_bytes()))
                {
                    return Err(format!("SET label {l:?} contains a comma or is too long"));
                }
            }
            ColumnType::Other(name) if !codec::fits_u16(name.as_bytes()) => {
                return Err("type name longer than 65535 bytes".into());
            }
            ColumnType::Pg(t) => t.check()?,
            _ => {}
        }
        Ok(())
    }

    /// Appends the descriptor: type code, then parameters.
    pub fn encode(&self, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        self.check()?;
        out.push(self.code());
        match self {
            ColumnType::TinyInt { unsigned }
            | ColumnType::SmallInt { unsigned }
            | ColumnType::MediumInt { unsigned }
            | ColumnType::Int { unsigned }
            | ColumnType::BigInt { unsigned } => out.push(u8::from(*unsigned)),
            ColumnType::Decimal { precision, scale } => {
                out.extend_from_slice(&[*precision, *scale])
            }
            ColumnType::Char(n)
            | ColumnType::VarChar(n)
            | ColumnType::Binary(n)
            | ColumnType::VarBinary(n) => codec::put_u32(out, *n),
            ColumnType::Time(f) | ColumnType::DateTime(f) | ColumnType::Timestamp(f) => {
                out.push(*f)
            }
            ColumnType::Bit(n) => out.push(*n),
            ColumnType::Enum(labels) | ColumnType::Set(labels) => {
                codec::put_u16(out, labels.len() as u16);
                for l in labels {
                    codec::put_bytes_u16(out, l.as_bytes());
                }
            }
            ColumnType::Other(name) => codec::put_bytes_u16(out, name.as_bytes()),
            ColumnType::Pg(t) => t.encode(out),
            ColumnType::Float
            | ColumnType::Double
            | ColumnType::Text
            | ColumnType::Blob
            | ColumnType::Date
            | ColumnType::Year
            | ColumnType::Boolean
            | ColumnType::Json => {}
        }
        Ok(())
    }

    /// Decodes a descriptor at the cursor.
    pub fn decode(c: &mut Cursor<'a>) -> Result<ColumnType<'a>> {
        let at = c.offset();
        let t = c.u8("column type")?;
        let unsigned = |c: &mut Cursor<'a>| -> Result<bool> {
            let at = c.offset();
            match c.u8("unsigned flag")? {
                0 => Ok(false),
                1 => Ok(true),
                b => Err(Error::malformed(
                    at,
                    format!("unsigned flag {b} is not 0 or 1"),
                )),
            }
        };
        let labels = |c: &mut Cursor<'a>| -> Result<Vec<&'a str>> {
            let n = c.u16("label count")?;
            // Each label takes at least 2 bytes: never reserve more than the body holds.
            let mut v = Vec::with_capacity(usize::from(n).min(c.remaining() / 2));
            for _ in 0..n {
                v.push(c.str_u16("label")?);
            }
            Ok(v)
        };
        let ty = match t {
            code::TINYINT => ColumnType::TinyInt {
                unsigned: unsigned(c)?,
            },
            code::SMALLINT => ColumnType::SmallInt {
                unsigned: unsigned(c)?,
            },
            code::MEDIUMINT => ColumnType::MediumInt {
                unsigned: unsigned(c)?,
            },
            code::INT => ColumnType::Int {
                unsigned: unsigned(c)?,
            },
            code::BIGINT => ColumnType::BigInt {
                unsigned: unsigned(c)?,
            },
            code::DECIMAL => ColumnType::Decimal {
                precision: c.u8("precision")?,
                scale: c.u8("scale")?,
            },
            code::FLOAT => ColumnType::Float,
            code::DOUBLE => ColumnType::Double,
            code::CHAR => ColumnType::Char(c.u32("length")?),
            code::VARCHAR => ColumnType::VarChar(c.u32("length")?),
            code::TEXT => ColumnType::Text,
            code::BLOB => ColumnType::Blob,
            code::BINARY => ColumnType::Binary(c.u32("length")?),
            code::VARBINARY => ColumnType::VarBinary(c.u32("length")?),
            code::DATE => ColumnType::Date,
            code::TIME => ColumnType::Time(c.u8("fsp")?),
            code::DATETIME => ColumnType::DateTime(c.u8("fsp")?),
            code::TIMESTAMP => ColumnType::Timestamp(c.u8("fsp")?),
            code::YEAR => ColumnType::Year,
            code::ENUM => ColumnType::Enum(labels(c)?),
            code::SET => ColumnType::Set(labels(c)?),
            code::BIT => ColumnType::Bit(c.u8("bit width")?),
            code::BOOLEAN => ColumnType::Boolean,
            code::JSON => ColumnType::Json,
            code::OTHER => ColumnType::Other(c.str_u16("type name")?),
            code::POSTGRES => ColumnType::Pg(PgType::decode(c, 0)?),
            other => {
                return Err(Error::malformed(
                    at,
                    format!("unknown column type code 0x{other:02x}"),
                ));
            }
        };
        ty.check().map_err(|m| Error::malformed(at, m))?;
        Ok(ty)
    }
}

fn quoted_list(f: &mut fmt::Formatter<'_>, name: &str, labels: &[&str]) -> fmt::Result {
    write!(f, "{name}(")?;
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "'{}'", l.replace('\'', "''"))?;
    }
    f.write_str(")")
}

/// SQL spelling, such as `BIGINT UNSIGNED`, `DECIMAL(10,2)`, `ENUM('a','b')`.
impl fmt::Display for ColumnType<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let int = |f: &mut fmt::Formatter<'_>, n: &str, u: bool| {
            f.write_str(n)?;
            if u { f.write_str(" UNSIGNED") } else { Ok(()) }
        };
        let fsp = |f: &mut fmt::Formatter<'_>, n: &str, p: u8| {
            if p == 0 {
                f.write_str(n)
            } else {
                write!(f, "{n}({p})")
            }
        };
        match self {
            ColumnType::TinyInt { unsigned } => int(f, "TINYINT", *unsigned),
            ColumnType::SmallInt { unsigned } => int(f, "SMALLINT", *unsigned),
            ColumnType::MediumInt { unsigned } => int(f, "MEDIUMINT", *unsigned),
            ColumnType::Int { unsigned } => int(f, "INT", *unsigned),
            ColumnType::BigInt { unsigned } => int(f, "BIGINT", *unsigned),
            ColumnType::Decimal { precision, scale } => write!(f, "DECIMAL({precision},{scale})"),
            ColumnType::Float => f.write_str("FLOAT"),
            ColumnType::Double => f.write_str("DOUBLE"),
            ColumnType::Char(n) => write!(f, "CHAR({n})"),
            ColumnType::VarChar(n) => write!(f, "VARCHAR({n})"),
            ColumnType::Text => f.write_str("TEXT"),
            ColumnType::Blob => f.write_str("BLOB"),
            ColumnType::Binary(n) => write!(f, "BINARY({n})"),
            ColumnType::VarBinary(n) => write!(f, "VARBINARY({n})"),
            ColumnType::Date => f.write_str("DATE"),
            ColumnType::Time(p) => fsp(f, "TIME", *p),
            ColumnType::DateTime(p) => fsp(f, "DATETIME", *p),
            ColumnType::Timestamp(p) => fsp(f, "TIMESTAMP", *p),
            ColumnType::Year => f.write_str("YEAR"),
            ColumnType::Enum(l) => quoted_list(f, "ENUM", l),
            ColumnType::Set(l) => quoted_list(f, "SET", l),
            ColumnType::Bit(n) => write!(f, "BIT({n})"),
            ColumnType::Boolean => f.write_str("BOOLEAN"),
            ColumnType::Json => f.write_str("JSON"),
            ColumnType::Other(name) => f.write_str(name),
            ColumnType::Pg(t) => write!(f, "{t}"),
        }
    }
}

/// JSON: the SQL spelling.
impl Serialize for ColumnType<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One column of a relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column<'a> {
    /// Column name.
    pub name: &'a str,
    /// Declared type.
    #[serde(rename = "type")]
    pub ty: ColumnType<'a>,
    /// Accepts NULL.
    pub nullable: bool,
    /// Part of the primary key (replica identity).
    pub key: bool,
    /// Filled by auto-increment.
    pub auto_increment: bool,
}

impl<'a> Column<'a> {
    /// A nullable, non-key column.
    pub fn new(name: &'a str, ty: ColumnType<'a>) -> Column<'a> {
        Column {
            name,
            ty,
            nullable: true,
            key: false,
            auto_increment: false,
        }
    }

    /// Marks the column NOT NULL and part of the key.
    #[must_use]
    pub fn key(mut self) -> Column<'a> {
        self.key = true;
        self.nullable = false;
        self
    }

    /// Marks the column NOT NULL.
    #[must_use]
    pub fn not_null(mut self) -> Column<'a> {
        self.nullable = false;
        self
    }

    /// Marks the column auto-increment.
    #[must_use]
    pub fn auto_increment(mut self) -> Column<'a> {
        self.auto_increment = true;
        self
    }

    /// The flags byte.
    pub fn flags(&self) -> u8 {
        (if self.nullable { flags::NULLABLE } else { 0 })
            | (if self.key { flags::KEY } else { 0 })
            | (if self.auto_increment {
                flags::AUTO_INCREMENT
            } else {
                0
            })
    }
}

/// RELATION: binds a relation id to a table and describes its columns at
/// one schema version. Sent before the first row record that uses the id in
/// a log, and again (with a higher schema version) after a schema change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Relation<'a> {
    /// Relation id, used by row records.
    pub relation_id: u32,
    /// Schema version of the table; increases with every schema change.
    pub schema_version: u32,
    /// Database (schema) name; may be empty.
    pub database: &'a str,
    /// Table name.
    pub table: &'a str,
    /// Columns in table order: row tuples have one entry per column.
    pub columns: Vec<Column<'a>>,
}

impl<'a> Relation<'a> {
    /// `database.table`, or `table` when the database is empty.
    pub fn qualified_name(&self) -> String {
        if self.database.is_empty() {
            self.table.to_string()
        } else {
            format!("{}.{}", self.database, self.table)
        }
    }

    /// Indexes of the key columns.
    pub fn key_columns(&self) -> impl Iterator<Item = usize> + '_ {
        self.columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.key)
            .map(|(i, _)| i)
    }

    /// Whether this is a PostgreSQL table (a column of a PostgreSQL type):
    /// its log carries no DDL, the RELATION is the table's definition.
    pub fn is_postgres(&self) -> bool {
        self.columns
            .iter()
            .any(|c| matches!(c.ty, ColumnType::Pg(_)))
    }

    /// The columns that identify a row: the key columns; for a PostgreSQL
    /// table with none (REPLICA IDENTITY NOTHING, or DEFAULT without a
    /// primary key), every column, as REPLICA IDENTITY FULL would.
    pub fn identity_columns(&self) -> Vec<usize> {
        let key: Vec<usize> = self.key_columns().collect();
        if key.is_empty() && self.is_postgres() {
            (0..self.columns.len()).collect()
        } else {
            key
        }
    }

    pub(crate) fn encode_inner(&self, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        out.push(rtype::RELATION);
        codec::put_u32(out, self.relation_id);
        codec::put_u32(out, self.schema_version);
        for (s, what) in [(self.database, "database name"), (self.table, "table name")] {
            if !codec::fits_u16(s.as_bytes()) {
                return Err(format!("{what} longer than 65535 bytes"));
            }
            codec::put_bytes_u16(out, s.as_bytes());
        }
        let n =
            u16::try_from(self.columns.len()).map_err(|_| "more than 65535 columns".to_string())?;
        codec::put_u16(out, n);
        for col in &self.columns {
            if !codec::fits_u16(col.name.as_bytes()) {
                return Err("column name longer than 65535 bytes".into());
            }
            codec::put_bytes_u16(out, col.name.as_bytes());
            out.push(col.flags());
            col.ty.encode(out)?;
        }
        Ok(())
    }

    pub(crate) fn decode_after_type(c: &mut Cursor<'a>) -> Result<Relation<'a>> {
        let relation_id = c.u32("relation id")?;
        let schema_version = c.u32("schema version")?;
        let database = c.str_u16("database name")?;
        let table = c.str_u16("table name")?;
        let n = c.u16("column count")?;
        // A column takes at least 4 bytes.
        let mut columns = Vec::with_capacity(usize::from(n).min(c.remaining() / 4));
        for _ in 0..n {
            let name = c.str_u16("column name")?;
            let flags_at = c.offset();
            let f = c.u8("column flags")?;
            if f & !flags::KNOWN != 0 {
                return Err(Error::malformed(
                    flags_at,
                    format!("unknown column flags 0x{f:02x}"),
                ));
            }
            let ty = ColumnType::decode(c)?;
            columns.push(Column {
                name,
                ty,
                nullable: f & flags::NULLABLE != 0,
                key: f & flags::KEY != 0,
                auto_increment: f & flags::AUTO_INCREMENT != 0,
            });
        }
        Ok(Relation {
            relation_id,
            schema_version,
            database,
            table,
            columns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_spellings() {
        assert_eq!(
            ColumnType::BigInt { unsigned: true }.to_string(),
            "BIGINT UNSIGNED"
        );
        assert_eq!(
            ColumnType::Decimal {
                precision: 10,
                scale: 2
            }
            .to_string(),
            "DECIMAL(10,2)"
        );
        assert_eq!(ColumnType::DateTime(0).to_string(), "DATETIME");
        assert_eq!(ColumnType::Timestamp(6).to_string(), "TIMESTAMP(6)");
        assert_eq!(
            ColumnType::Enum(vec!["a", "it's"]).to_string(),
            "ENUM('a','it''s')"
        );
        assert_eq!(ColumnType::Other("GEOMETRY").to_string(), "GEOMETRY");
    }

    #[test]
    fn parameter_ranges() {
        for bad in [
            ColumnType::Decimal {
                precision: 0,
                scale: 0,
            },
            ColumnType::Decimal {
                precision: 66,
                scale: 0,
            },
            ColumnType::Decimal {
                precision: 5,
                scale: 6,
            },
            ColumnType::Time(7),
            ColumnType::Bit(0),
            ColumnType::Bit(65),
            ColumnType::Set(vec!["a,b"]),
            ColumnType::Set(vec![""; 65]),
        ] {
            assert!(bad.encode(&mut Vec::new()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_type_descriptor_layout() {
        #[rustfmt::skip]
        let cases: Vec<(ColumnType<'_>, &[u8])> = vec![
            (ColumnType::TinyInt { unsigned: false },        &[0x01, 0x00]),
            (ColumnType::SmallInt { unsigned: true },        &[0x02, 0x01]),
            (ColumnType::MediumInt { unsigned: false },      &[0x03, 0x00]),
            (ColumnType::Int { unsigned: true },             &[0x04, 0x01]),
            (ColumnType::BigInt { unsigned: false },         &[0x05, 0x00]),
            (ColumnType::Decimal { precision: 10, scale: 2 }, &[0x06, 10, 2]),
            (ColumnType::Float,                              &[0x07]),
            (ColumnType::Double,                             &[0x08]),
            (ColumnType::Char(3),                            &[0x09, 3, 0, 0, 0]),
            (ColumnType::VarChar(255),                       &[0x0A, 255, 0, 0, 0]),
            (ColumnType::Text,                               &[0x0B]),
            (ColumnType::Blob,                               &[0x0C]),
            (ColumnType::Binary(16),                         &[0x0D, 16, 0, 0, 0]),
            (ColumnType::VarBinary(0x0100),                  &[0x0E, 0, 1, 0, 0]),
            (ColumnType::Date,                               &[0x0F]),
            (ColumnType::Time(3),                            &[0x10, 3]),
            (ColumnType::DateTime(6),                        &[0x11, 6]),
            (ColumnType::Timestamp(0),                       &[0x12, 0]),
            (ColumnType::Year,                               &[0x13]),
            (ColumnType::Enum(vec!["s", "m"]),               &[0x14, 2, 0, 1, 0, b's', 1, 0, b'm']),
            (ColumnType::Set(vec!["a"]),                     &[0x15, 1, 0, 1, 0, b'a']),
            (ColumnType::Bit(12),                            &[0x16, 12]),
            (ColumnType::Boolean,                            &[0x17]),
            (ColumnType::Json,                               &[0x18]),
            (ColumnType::Other("UUID"),                      &[0xFF, 4, 0, b'U', b'U', b'I', b'D']),
        ];
        for (ty, bytes) in cases {
            let mut out = Vec::new();
            ty.encode(&mut out).unwrap();
            assert_eq!(out, bytes, "{ty}");
            let mut c = Cursor::new(bytes, 0);
            assert_eq!(ColumnType::decode(&mut c).unwrap(), ty);
            assert!(c.is_empty());
        }
    }

    #[test]
    fn postgres_descriptor_layout() {
        use PgType as P;
        #[rustfmt::skip]
        let cases: Vec<(PgType<'_>, &[u8], &str)> = vec![
            (P::Int2,                          &[0x19, 0x01], "smallint"),
            (P::Numeric(Some((12, -2))),       &[0x19, 0x04, 12, 0, 0xFE, 0xFF], "numeric(12,-2)"),
            (P::Numeric(None),                 &[0x19, 0x04, 0, 0, 0, 0], "numeric"),
            (P::VarChar(Some(10)),             &[0x19, 0x08, 10, 0, 0, 0], "character varying(10)"),
            (P::Char(None),                    &[0x19, 0x09, 0, 0, 0, 0], "bpchar"),
            (P::TimestampTz(Some(3)),          &[0x19, 0x10, 3], "timestamp(3) with time zone"),
            (P::Time(None),                    &[0x19, 0x0D, 0xFF], "time without time zone"),
            (P::Interval(None),                &[0x19, 0x11, 0xFF], "interval"),
            (P::Enum { name: "mood", labels: vec!["ok"] },
                &[0x19, 0x1E, 4, 0, b'm', b'o', b'o', b'd', 1, 0, 2, 0, b'o', b'k'], "mood"),
            (P::Array(Box::new(P::Int4)),      &[0x19, 0x1F, 0x02], "integer[]"),
            (P::Other("tsvector"),             &[0x19, 0x20, 8, 0, b't', b's', b'v', b'e', b'c', b't', b'o', b'r'], "tsvector"),
        ];
        for (pg, bytes, spelling) in cases {
            let ty = ColumnType::Pg(pg);
            let mut out = Vec::new();
            ty.encode(&mut out).unwrap();
            assert_eq!(out, bytes, "{ty}");
            assert_eq!(ty.to_string(), spelling);
            let mut c = Cursor::new(bytes, 0);
            assert_eq!(ColumnType::decode(&mut c).unwrap(), ty);
            assert!(c.is_empty());
        }
        #[rustfmt::skip]
        let bad: [(&[u8], u64); 5] = [
            (&[0x19, 0x1F, 0x1F, 0x02], 702), // array of arrays: at the inner array code
            (&[0x19, 0x0D, 7],          701), // time(7)
            (&[0x19, 0x04, 0, 0, 2, 0], 701), // unconstrained numeric with a scale
            (&[0x19, 0x08, 0, 0, 0],    702), // cut short
            (&[0x19, 0x77],             701), // unknown PostgreSQL type code
        ];
        for (bytes, off) in bad {
            let e = ColumnType::decode(&mut Cursor::new(bytes, 700)).unwrap_err();
            assert_eq!(e.offset(), Some(off), "{bytes:?}: {e}");
        }
    }

    #[test]
    fn bad_descriptors_report_their_offset() {
        #[rustfmt::skip]
        let cases: [(&[u8], u64); 5] = [
            (&[0x04, 0x02],          501), // INT with unsigned flag 2: at the flag
            (&[0x06, 5, 6],          500), // DECIMAL(5,6): at the type code
            (&[0x16, 0],             500), // BIT(0)
            (&[0x42],                500), // unknown type code
            (&[0x14, 1, 0, 5, 0, b'a'], 505), // ENUM label declares 5 bytes, 1 present
        ];
        for (bytes, off) in cases {
            let e = ColumnType::decode(&mut Cursor::new(bytes, 500)).unwrap_err();
            assert_eq!(e.offset(), Some(off), "{bytes:?}: {e}");
        }
    }
}
