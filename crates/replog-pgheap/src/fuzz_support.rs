//! Fuzz-target bodies for heap record decoding.

use crate::catalog::Catalog;
use crate::tuple::HeapTuple;

/// A catalog with one table of every layout the decoder walks: fixed
/// by-value, varlena, name (fixed by reference), a dropped column.
pub fn fuzz_catalog() -> Catalog {
    let head = "server_version_num\tspcoid\tdboid\trelfilenode\treloid\tnspname\trelname\trelkind\trelreplident\ttoast_relfilenode\ttoast_reloid\tpkey_attnums\tident_attnums\tattnum\tattname\tatttypid\tatttypmod\tattlen\tattalign\tattbyval\tattstorage\tattisdropped\tattnotnull\tatthasmissing\tattmissingval\ttypname\ttyptype\ttypbasetype\ttypelem\tenum_labels\n";
    let mut s = String::from(head);
    for (n, name, typ, len, align, byval, tn) in [
        (1, "id", 23, 4, 'i', 't', "int4"),
        (2, "v", 25, -1, 'i', 'f', "text"),
        (3, "n", 20, 8, 'd', 't', "int8"),
        (4, "nm", 19, 64, 'c', 'f', "name"),
        (5, "x", 0, 2, 's', 't', ""),
        (6, "b", 17, -1, 'i', 'f', "bytea"),
    ] {
        let dropped = if typ == 0 { 't' } else { 'f' };
        let tn = if tn.is_empty() {
            String::new()
        } else {
            format!("\"{tn}\"")
        };
        s.push_str(&format!(
            "150000\t1663\t5\t16384\t16384\t\"public\"\t\"f\"\tr\td\t\t\t1\t1\t{n}\t\"{name}\"\t{typ}\t-1\t{len}\t{align}\t{byval}\tp\t{dropped}\tf\tf\t\t{tn}\tb\t\t\t\n"
        ));
    }
    Catalog::parse("fuzz", s.as_bytes()).expect("fuzz catalog")
}

/// Splits arbitrary bytes as a heap tuple of the fuzz catalog's table and
/// converts every datum: must never panic.
pub fn fuzz_tuple(data: &[u8]) {
    let cat = fuzz_catalog();
    let rel = &cat.relations[0];
    let Some(t) = HeapTuple::from_header(data) else {
        return;
    };
    let mut out = Vec::new();
    if t.datums(rel, &mut out).is_err() {
        return;
    }
    for (a, d) in rel.attrs.iter().zip(&out) {
        match *d {
            crate::tuple::Datum::Fixed(b) => {
                let _ = crate::types::fixed_value(a, b);
            }
            crate::tuple::Datum::Varlena(v) => {
                if let Ok(crate::varlena::VarData::Bytes(b)) = crate::varlena::var_data(v) {
                    let _ = crate::types::var_value(a, b);
                }
            }
            _ => {}
        }
    }
}

/// Decompresses arbitrary bytes as pglz and lz4 with a claimed size taken
/// from the first bytes: must never panic.
pub fn fuzz_decompress(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let raw = u32::from_le_bytes([data[0], data[1], data[2], data[3]]) & 0xFFFF;
    let _ = crate::varlena::decompress(&data[4..], raw, 0);
    let _ = crate::varlena::decompress(&data[4..], raw, 1);
}
