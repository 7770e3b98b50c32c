//! The canonical TSV text of rows (`formats/store.md` §3), identical to the
//! MariaDB fixtures' `tables/*.tsv`.

use crate::text;
use crate::types::{Row, SqlType, TableDef, timestamp_to_datetime};
use replog_core::Value;
use std::fmt::Write as _;

/// The canonical text of one stored value of a column of type `ty`.
pub fn format_value(v: &Value<'_>, ty: &SqlType) -> String {
    match (v, ty) {
        (Value::Null, _) => "NULL".into(),
        // PostgreSQL's columns: the server's text output.
        (v, SqlType::Pg(_)) => replog_pgtype::to_text(v),
        (Value::UInt(b), SqlType::Bit(n)) => {
            let bytes = usize::from(n.div_ceil(8));
            let all = b.to_be_bytes();
            let mut s = String::from("0x");
            for x in &all[8 - bytes..] {
                let _ = write!(s, "{x:02X}");
            }
            s
        }
        (Value::UInt(y), SqlType::Year) => format!("{y:04}"),
        (Value::F32(f), _) => text::format_double(f64::from(*f), true),
        (Value::F64(f), _) => text::format_double(*f, false),
        (Value::Time(us), SqlType::Time(fsp)) => text::format_time(*us, *fsp),
        (Value::DateTime(dt), SqlType::DateTime(fsp)) => text::format_datetime(dt, *fsp),
        (Value::Timestamp(us), SqlType::Timestamp(fsp)) => {
            text::format_datetime(&timestamp_to_datetime(*us), *fsp)
        }
        (other, _) => other.to_string(),
    }
}

/// Appends one row as a TSV line.
pub fn push_row(def: &TableDef, row: &Row, out: &mut String) {
    for (i, (v, c)) in row.iter().zip(&def.columns).enumerate() {
        if i > 0 {
            out.push('\t');
        }
        out.push_str(&format_value(v, &c.ty));
    }
    out.push('\n');
}
