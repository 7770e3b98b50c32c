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
        if let crate::tuple::Datum::Fixed(b) | crate::tuple::Datum::Varlena(b) = *d {
            let ty = crate::types::pg_type(a);
            let _ = replog_pgtype::from_datum(&a.name, &ty, b, &a.enum_labels);
        }
    }
}
