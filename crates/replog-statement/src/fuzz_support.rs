//! Pure functions for fuzz targets (wired into cargo-fuzz by `fuzz/`), with
//! smoke tests so that `cargo test` exercises them too.
//!
//! - [`fuzz_decode`]: arbitrary bytes as a record body must decode or fail
//!   with an error inside the input, never panic; whatever decodes must
//!   re-encode to the very same bytes (the encoding is canonical).
//! - [`fuzz_roundtrip`]: bytes drive the construction of a valid record,
//!   which must survive encode → decode unchanged.

use crate::{AutoIncrement, Charset, Context, RandSeed, Statement, StatementFormat, UserVar};
use replog_core::record::{RecordView, decode_record};

/// Decodes `data` as a statement-format record body (BEGIN and COMMIT
/// included) and exercises everything a reader may call on the result.
pub fn fuzz_decode(data: &[u8]) {
    const BASE: u64 = 1 << 40;
    match decode_record::<StatementFormat>(data, BASE) {
        Ok(r) => {
            let _ = r.summary();
            let _ = r.type_name();
        }
        Err(e) => {
            let off = e.offset().expect("decode errors carry an offset");
            assert!(
                off >= BASE && off <= BASE + data.len() as u64,
                "offset {off} outside the input"
            );
        }
    }
    if let Ok(st) = Statement::decode(data, 0) {
        let mut again = Vec::new();
        st.encode(&mut again)
            .expect("a decoded statement re-encodes");
        assert_eq!(again, data, "decode → encode is not the identity");
    }
}

/// Builds a statement from `data`, encodes it, decodes it and checks that the
/// result is equal and re-encodes to the same bytes.
pub fn fuzz_roundtrip(data: &[u8]) {
    let mut g = Gen::new(data);
    let st = g.statement();
    let mut body = Vec::new();
    st.encode(&mut body)
        .expect("generated statements are encodable");
    let back = Statement::decode(&body, 7).expect("encoded statement decodes");
    assert_eq!(back, st);
    let mut again = Vec::new();
    back.encode(&mut again).unwrap();
    assert_eq!(again, body);
}

pub use replog_core::fuzz_support::Gen;

/// Statement records built by the byte-driven generator.
pub trait GenStatement<'a> {
    /// A valid statement record.
    fn statement(&mut self) -> Statement<'a>;
}

impl<'a> GenStatement<'a> for Gen<'a> {
    fn statement(&mut self) -> Statement<'a> {
        let sql = self.str(64);
        let mut cx = Context {
            database: self.opt(|g| g.str(16)),
            timestamp_us: self.opt(|g| g.u64() as i64),
            rand_seed: self.opt(|g| RandSeed {
                seed1: g.u64(),
                seed2: g.u64(),
            }),
            insert_id: self.opt(Gen::u64),
            last_insert_id: self.opt(Gen::u64),
            user_vars: None,
            sql_mode: self.opt(Gen::u64),
            sql_mode_text: self.opt(|g| g.str(32)),
            time_zone: self.opt(|g| g.str(16)),
            auto_increment: self.opt(|g| AutoIncrement {
                increment: g.u64() as u16,
                offset: g.u64() as u16,
            }),
            charset: self.opt(|g| Charset {
                client: g.u64() as u16,
                connection: g.u64() as u16,
                server: g.u64() as u16,
            }),
            error_code: self.opt(|g| g.u64() as u32),
            server_id: self.opt(|g| g.u64() as u32),
            thread_id: self.opt(Gen::u64),
        };
        if self.bool() {
            let n = self.u8() % 6;
            let mut vars: Vec<UserVar<'a>> = Vec::new();
            for _ in 0..n {
                let name = self.str(8);
                let value = self.value();
                vars.push(UserVar { name, value });
            }
            vars.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
            vars.dedup_by(|a, b| a.name == b.name);
            cx.user_vars = Some(vars);
        }
        Statement { sql, context: cx }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke() {
        replog_test_support::smoke(42, 400, 199, |rng, input| {
            fuzz_roundtrip(input);
            fuzz_decode(input);
            let mut body = Vec::new();
            Gen::new(input).statement().encode(&mut body).unwrap();
            fuzz_decode(&body);
            // Start from a valid encoding, mutated.
            fuzz_decode(&rng.mutate(&body));
        });
    }
}
