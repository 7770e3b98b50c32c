//! Fuzz-target bodies: text, send-form and on-disk decoding of every
//! mapped type. The first input byte picks the type, the rest is the input.

use crate::datum::{Datum, from_datum};
use crate::{from_binary, from_text, to_text};
use replog_logical::PgType;

/// The types the targets decode, one per value of the first byte (modulo).
pub fn types() -> Vec<PgType<'static>> {
    use PgType as P;
    let scalars = vec![
        P::Int2,
        P::Int4,
        P::Int8,
        P::Numeric(None),
        P::Float4,
        P::Float8,
        P::Text,
        P::Char(Some(3)),
        P::Bool,
        P::Bytea,
        P::Date,
        P::Time(None),
        P::TimeTz(None),
        P::Timestamp(None),
        P::TimestampTz(None),
        P::Interval(None),
        P::Uuid,
        P::Json,
        P::Jsonb,
        P::Inet,
        P::Cidr,
        P::MacAddr,
        P::MacAddr8,
        P::Money,
        P::Oid,
        P::Xml,
        P::Bit(None),
        P::VarBit(None),
        P::Enum {
            name: "e",
            labels: vec!["a", "b"],
        },
    ];
    let mut all = scalars.clone();
    all.extend(scalars.into_iter().map(|t| P::Array(Box::new(t))));
    all
}

fn pick(data: &[u8]) -> Option<(PgType<'static>, &[u8])> {
    let (&sel, rest) = data.split_first()?;
    let t = types();
    Some((t[usize::from(sel) % t.len()].clone(), rest))
}

/// Arbitrary text as each type's text output: no panic; what parses
/// prints as text that parses back to the same value.
pub fn fuzz_text(data: &[u8]) {
    let Some((ty, rest)) = pick(data) else { return };
    let Ok(s) = std::str::from_utf8(rest) else {
        return;
    };
    if let Ok(v) = from_text("f", &ty, s) {
        let again = to_text(&v);
        let back = from_text("f", &ty, &again).expect("printed text parses");
        assert_eq!(format!("{back:?}"), format!("{:?}", v), "{s:?} → {again:?}");
    }
}

/// Arbitrary bytes as each type's send form: no panic; a value decoded
/// prints as text that parses back to the same value.
pub fn fuzz_binary(data: &[u8]) {
    let Some((ty, rest)) = pick(data) else { return };
    if let Ok(v) = from_binary("f", &ty, rest) {
        check_printable(&ty, &v);
    }
}

/// Arbitrary bytes as each type's on-disk datum: no panic.
pub fn fuzz_datum(data: &[u8]) {
    let Some((ty, rest)) = pick(data) else { return };
    let enums = vec![(1u32, "a".to_string()), (2, "b".to_string())];
    if let Ok(Datum::Value(v)) = from_datum("f", &ty, rest, &enums) {
        check_printable(&ty, &v);
    }
}

fn check_printable(ty: &PgType<'_>, v: &replog_core::Value<'_>) {
    // Values encode (within their kind's range) and their text parses.
    let mut out = Vec::new();
    v.encode(&mut out).expect("decoded values encode");
    if !matches!(ty, PgType::Json | PgType::Jsonb | PgType::Xml) {
        let s = to_text(v);
        from_text("f", ty, &s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
            .collect()
    }

    /// Every input the fuzz targets crashed on, kept under
    /// `fuzz/regressions/<target>/`, runs again here: a binary numeric too
    /// long for a decimal value (refused, not an unencodable value) and a
    /// BC leap day (2345-02-29 BC exists) whose text did not parse back.
    #[test]
    fn fuzz_regressions() {
        let root =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions");
        let mut n = 0;
        for (target, run) in [
            ("pgtype_binary", fuzz_binary as fn(&[u8])),
            ("pgtype_datum", fuzz_datum as fn(&[u8])),
            ("pgtype_text", fuzz_text as fn(&[u8])),
        ] {
            let Ok(rd) = std::fs::read_dir(root.join(target)) else {
                continue;
            };
            for e in rd.flatten() {
                run(&std::fs::read(e.path()).unwrap());
                n += 1;
            }
        }
        assert!(n >= 2, "regression inputs under {}", root.display());
    }

    /// Seeds from the server's own cells, mutated, and random bytes.
    #[test]
    fn smoke() {
        let cells = include_str!("../../../fixtures/postgres/types/values.tsv");
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let n = types().len() as u8;
        for line in cells.lines().take(400) {
            let f: Vec<&str> = line.split('\t').collect();
            for (k, field) in f.iter().skip(2).enumerate() {
                let mut b = unhex(field);
                for round in 0..6 {
                    let sel = (rnd() % u64::from(n)) as u8;
                    let mut input = vec![sel];
                    input.extend_from_slice(&b);
                    match k {
                        0 => fuzz_text(&input),
                        1 => fuzz_binary(&input),
                        _ => fuzz_datum(&input),
                    }
                    if !b.is_empty() && round > 0 {
                        let i = (rnd() as usize) % b.len();
                        b[i] ^= 1 << (rnd() % 8);
                    }
                }
            }
        }
        for len in 0..3000usize {
            let b: Vec<u8> = (0..len % 64).map(|_| rnd() as u8).collect();
            fuzz_text(&b);
            fuzz_binary(&b);
            fuzz_datum(&b);
        }
    }
}
