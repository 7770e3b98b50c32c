//! Record descriptions in pg_waldump's words (each manager's `desc`
//! function).

use std::fmt::Write;

use crate::Record;

/// Appends the description of `rec` to `out`.
pub fn describe(rec: &Record<'_>, out: &mut String) {
    let _ = rec;
    let _ = out.write_str("");
}
