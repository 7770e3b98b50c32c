//! Built-in type OIDs (PostgreSQL's `pg_type.dat`; they are the same in
//! every version 13–18) and their mapping, with a type modifier, to the
//! logical format's [`PgType`].

use replog_logical::PgType;

/// One built-in type: what the mapping and the datum decoder need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    /// `pg_type.oid`.
    pub oid: u32,
    /// `pg_type.typarray`: the OID of the array type.
    pub array_oid: u32,
    /// `pg_type.typname`.
    pub name: &'static str,
    /// `pg_type.typlen`: bytes, or -1 for varlena.
    pub len: i16,
    /// `pg_type.typbyval`.
    pub byval: bool,
    /// `pg_type.typalign`: `c` 1, `s` 2, `i` 4, `d` 8 bytes.
    pub align: u8,
}

#[allow(missing_docs)]
pub mod oids {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const JSON: u32 = 114;
    pub const XML: u32 = 142;
    pub const CIDR: u32 = 650;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const MACADDR8: u32 = 774;
    pub const MONEY: u32 = 790;
    pub const MACADDR: u32 = 829;
    pub const INET: u32 = 869;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const INTERVAL: u32 = 1186;
    pub const TIMETZ: u32 = 1266;
    pub const BIT: u32 = 1560;
    pub const VARBIT: u32 = 1562;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;
}

macro_rules! builtins {
    ($($oid:expr, $arr:expr, $name:expr, $len:expr, $byval:expr, $align:expr;)*) => {
        /// Every built-in type this crate maps, by OID.
        pub const BUILTINS: &[Builtin] = &[
            $(Builtin { oid: $oid, array_oid: $arr, name: $name, len: $len, byval: $byval, align: $align },)*
        ];
    };
}

builtins! {
    16, 1000, "bool", 1, true, b'c';
    17, 1001, "bytea", -1, false, b'i';
    18, 1002, "char", 1, true, b'c';
    19, 1003, "name", 64, false, b'c';
    20, 1016, "int8", 8, true, b'd';
    21, 1005, "int2", 2, true, b's';
    23, 1007, "int4", 4, true, b'i';
    25, 1009, "text", -1, false, b'i';
    26, 1028, "oid", 4, true, b'i';
    114, 199, "json", -1, false, b'i';
    142, 143, "xml", -1, false, b'i';
    650, 651, "cidr", -1, false, b'i';
    700, 1021, "float4", 4, true, b'i';
    701, 1022, "float8", 8, true, b'd';
    774, 775, "macaddr8", 8, false, b'i';
    790, 791, "money", 8, true, b'd';
    829, 1040, "macaddr", 6, false, b'i';
    869, 1041, "inet", -1, false, b'i';
    1042, 1014, "bpchar", -1, false, b'i';
    1043, 1015, "varchar", -1, false, b'i';
    1082, 1182, "date", 4, true, b'i';
    1083, 1183, "time", 8, true, b'd';
    1114, 1115, "timestamp", 8, true, b'd';
    1184, 1185, "timestamptz", 8, true, b'd';
    1186, 1187, "interval", 16, false, b'd';
    1266, 1270, "timetz", 12, false, b'd';
    1560, 1561, "bit", -1, false, b'i';
    1562, 1563, "varbit", -1, false, b'i';
    1700, 1231, "numeric", -1, false, b'i';
    2950, 2951, "uuid", 16, false, b'c';
    3802, 3807, "jsonb", -1, false, b'i';
}

/// The built-in type with this OID.
pub fn builtin(oid: u32) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.oid == oid)
}

/// The built-in type whose array type has this OID.
pub fn builtin_of_array(array_oid: u32) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.array_oid == array_oid)
}

/// The column type of `oid` / `typmod` when the type is built-in, else of
/// the enum `typname` whose labels are `labels` in sort order; an array of
/// it when `elem` (`pg_type.typelem`) is not 0, `typname` then being the
/// array type's `_name`.
pub fn column_type_or_enum<'a>(
    oid: u32,
    typmod: i32,
    typname: &'a str,
    elem: u32,
    labels: &[&'a str],
) -> PgType<'a> {
    column_type(oid, typmod).unwrap_or_else(|| {
        let e = PgType::Enum {
            name: if elem != 0 {
                typname.strip_prefix('_').unwrap_or(typname)
            } else {
                typname
            },
            labels: labels.to_vec(),
        };
        if elem != 0 {
            PgType::Array(Box::new(e))
        } else {
            e
        }
    })
}

/// How replog names a type outside the built-in mapping (an enum, a
/// domain, a composite, …) that `name` in schema `namespace` is, as
/// `format_type` spells it under the default `search_path`: unqualified in
/// `public` and `pg_catalog`, else `schema.name`. test_decoding and
/// wal2json print that spelling; pgoutput's Type message gives the two
/// parts; the heap WAL decoder has them from its catalog file. Every
/// PostgreSQL source names such a column's type this way, so they agree.
pub fn type_name(namespace: &str, name: &str) -> String {
    if namespace.is_empty() || namespace == "public" || namespace == "pg_catalog" {
        name.to_string()
    } else {
        format!("{namespace}.{name}")
    }
}

/// The column type of a built-in type OID (or of an array of one) with
/// its type modifier (`atttypmod`, -1 when none). None for an OID this
/// table does not know: the caller names it ([`PgType::Other`]) or, for an
/// enum, builds [`PgType::Enum`] from its labels.
pub fn column_type(oid: u32, typmod: i32) -> Option<PgType<'static>> {
    if let Some(b) = builtin_of_array(oid) {
        return column_type(b.oid, typmod).map(|t| PgType::Array(Box::new(t)));
    }
    let len = |off: i32| -> Option<u32> {
        (typmod >= off)
            .then(|| (typmod - off) as u32)
            .filter(|n| *n > 0)
    };
    // Time precisions are the modifier itself; interval keeps the
    // precision in the low 16 bits (0xFFFF: none).
    let prec = (0..=6).contains(&typmod).then_some(typmod as u8);
    Some(match oid {
        oids::BOOL => PgType::Bool,
        oids::BYTEA => PgType::Bytea,
        oids::INT8 => PgType::Int8,
        oids::INT2 => PgType::Int2,
        oids::INT4 => PgType::Int4,
        oids::TEXT => PgType::Text,
        oids::OID => PgType::Oid,
        oids::JSON => PgType::Json,
        oids::XML => PgType::Xml,
        oids::CIDR => PgType::Cidr,
        oids::FLOAT4 => PgType::Float4,
        oids::FLOAT8 => PgType::Float8,
        oids::MACADDR8 => PgType::MacAddr8,
        oids::MONEY => PgType::Money,
        oids::MACADDR => PgType::MacAddr,
        oids::INET => PgType::Inet,
        oids::BPCHAR => PgType::Char(len(4)),
        oids::VARCHAR => PgType::VarChar(len(4)),
        oids::DATE => PgType::Date,
        oids::TIME => PgType::Time(prec),
        oids::TIMESTAMP => PgType::Timestamp(prec),
        oids::TIMESTAMPTZ => PgType::TimestampTz(prec),
        oids::TIMETZ => PgType::TimeTz(prec),
        oids::INTERVAL => {
            let p = typmod & 0xFFFF;
            PgType::Interval((typmod >= 0 && p <= 6).then_some(p as u8))
        }
        oids::BIT => PgType::Bit(len(0)),
        oids::VARBIT => PgType::VarBit(len(0)),
        oids::NUMERIC => PgType::Numeric((typmod >= 4).then(|| {
            let t = typmod - 4;
            // The scale is an 11-bit signed field since PostgreSQL 15.
            let scale = ((t & 0x7FF) ^ 1024) - 1024;
            (((t >> 16) & 0xFFFF) as u16, scale as i16)
        })),
        oids::UUID => PgType::Uuid,
        oids::JSONB => PgType::Jsonb,
        oids::CHAR => PgType::Other("\"char\""),
        oids::NAME => PgType::Other("name"),
        _ => return None,
    })
}

/// The OID of a column type, when it is a built-in one (not for enums and
/// other types, whose OIDs belong to one database).
pub fn type_oid(t: &PgType<'_>) -> Option<u32> {
    Some(match t {
        PgType::Int2 => oids::INT2,
        PgType::Int4 => oids::INT4,
        PgType::Int8 => oids::INT8,
        PgType::Numeric(_) => oids::NUMERIC,
        PgType::Float4 => oids::FLOAT4,
        PgType::Float8 => oids::FLOAT8,
        PgType::Text => oids::TEXT,
        PgType::VarChar(_) => oids::VARCHAR,
        PgType::Char(_) => oids::BPCHAR,
        PgType::Bool => oids::BOOL,
        PgType::Bytea => oids::BYTEA,
        PgType::Date => oids::DATE,
        PgType::Time(_) => oids::TIME,
        PgType::TimeTz(_) => oids::TIMETZ,
        PgType::Timestamp(_) => oids::TIMESTAMP,
        PgType::TimestampTz(_) => oids::TIMESTAMPTZ,
        PgType::Interval(_) => oids::INTERVAL,
        PgType::Uuid => oids::UUID,
        PgType::Json => oids::JSON,
        PgType::Jsonb => oids::JSONB,
        PgType::Inet => oids::INET,
        PgType::Cidr => oids::CIDR,
        PgType::MacAddr => oids::MACADDR,
        PgType::MacAddr8 => oids::MACADDR8,
        PgType::Money => oids::MONEY,
        PgType::Oid => oids::OID,
        PgType::Xml => oids::XML,
        PgType::Bit(_) => oids::BIT,
        PgType::VarBit(_) => oids::VARBIT,
        PgType::Array(e) => return type_oid(e).and_then(builtin).map(|b| b.array_oid),
        PgType::Enum { .. } | PgType::Other(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modifiers() {
        assert_eq!(
            column_type(oids::VARCHAR, 14),
            Some(PgType::VarChar(Some(10)))
        );
        assert_eq!(column_type(oids::VARCHAR, -1), Some(PgType::VarChar(None)));
        assert_eq!(column_type(oids::BPCHAR, 5), Some(PgType::Char(Some(1))));
        // numeric(12,2): ((12 << 16) | 2) + 4
        assert_eq!(
            column_type(oids::NUMERIC, (12 << 16 | 2) + 4),
            Some(PgType::Numeric(Some((12, 2))))
        );
        // numeric(5,-2) (PostgreSQL 15): the scale's 11 bits hold -2.
        assert_eq!(
            column_type(oids::NUMERIC, (5 << 16 | 0x7FE) + 4),
            Some(PgType::Numeric(Some((5, -2))))
        );
        assert_eq!(column_type(oids::NUMERIC, -1), Some(PgType::Numeric(None)));
        assert_eq!(
            column_type(oids::TIMESTAMPTZ, 3),
            Some(PgType::TimestampTz(Some(3)))
        );
        assert_eq!(column_type(oids::TIME, -1), Some(PgType::Time(None)));
        assert_eq!(
            column_type(1007, -1),
            Some(PgType::Array(Box::new(PgType::Int4)))
        );
        assert_eq!(column_type(999_999, -1), None);
        for b in BUILTINS {
            if let Some(t) = column_type(b.oid, -1) {
                if !matches!(t, PgType::Other(_)) {
                    assert_eq!(type_oid(&t), Some(b.oid), "{}", b.name);
                }
            }
        }
    }
}
