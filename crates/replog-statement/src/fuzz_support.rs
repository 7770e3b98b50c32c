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
use replog_core::value::{Date, DateTime, TIME_MAX_MICROS, Value};
use std::borrow::Cow;

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

/// A byte-driven generator: reads choices from the input, zeros past its end.
#[derive(Debug)]
pub struct Gen<'a> {
    data: &'a [u8],
}

impl<'a> Gen<'a> {
    /// A generator over `data`.
    pub fn new(data: &'a [u8]) -> Gen<'a> {
        Gen { data }
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (a, b) = self.data.split_at(n);
        self.data = b;
        a
    }

    fn u8(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }

    fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        let t = self.take(8);
        b[..t.len()].copy_from_slice(t);
        u64::from_le_bytes(b)
    }

    fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// Up to `max` bytes of the input, cut back to valid UTF-8.
    pub fn str(&mut self, max: usize) -> &'a str {
        let n = usize::from(self.u8()) % (max + 1);
        let b = self.take(n);
        match std::str::from_utf8(b) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(&b[..e.valid_up_to()]).unwrap_or(""),
        }
    }

    /// A value of any kind, valid for its kind (NaN floats become 0).
    pub fn value(&mut self) -> Value<'a> {
        match self.u8() % 16 {
            0 => Value::Null,
            1 => Value::Bool(self.bool()),
            2 => Value::Int(self.u64() as i64),
            3 => Value::UInt(self.u64()),
            4 => {
                let f = f32::from_bits(self.u64() as u32);
                Value::F32(if f.is_nan() { 0.0 } else { f })
            }
            5 => {
                let f = f64::from_bits(self.u64());
                Value::F64(if f.is_nan() { 0.0 } else { f })
            }
            6 => {
                let sign = if self.bool() { "-" } else { "" };
                let int = self.u64();
                let s = if self.bool() {
                    format!("{sign}{int}.{:02}", self.u8() % 100)
                } else {
                    format!("{sign}{int}")
                };
                Value::Decimal(Cow::Owned(s))
            }
            7 => Value::Text(Cow::Borrowed(self.str(24))),
            8 => {
                let n = usize::from(self.u8() % 24);
                Value::Bytes(Cow::Borrowed(self.take(n)))
            }
            9 => Value::Date(self.date()),
            10 => Value::Time((self.u64() as i64) % (TIME_MAX_MICROS + 1)),
            11 => {
                let date = self.date();
                Value::DateTime(DateTime {
                    date,
                    hour: self.u8() % 24,
                    minute: self.u8() % 60,
                    second: self.u8() % 60,
                    micro: (self.u64() % 1_000_000) as u32,
                })
            }
            12 => Value::Timestamp(self.u64() as i64),
            13 => Value::Enum(Cow::Borrowed(self.str(12))),
            14 => Value::Set(Cow::Borrowed(self.str(12))),
            _ => Value::Json(Cow::Borrowed(self.str(24))),
        }
    }

    fn date(&mut self) -> Date {
        Date {
            year: (self.u64() % 10_000) as u16,
            month: self.u8() % 13,
            day: self.u8() % 32,
        }
    }

    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        if self.bool() { Some(f(self)) } else { None }
    }

    /// A valid statement record.
    pub fn statement(&mut self) -> Statement<'a> {
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

/// A tiny deterministic PRNG (xorshift64*) for smoke tests.
#[derive(Debug, Clone)]
pub struct SmokeRng(u64);

impl SmokeRng {
    /// A generator seeded with `seed` (0 is replaced by a constant).
    pub fn new(seed: u64) -> SmokeRng {
        SmokeRng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke() {
        run(400);
    }

    /// A longer run: `cargo test --release -p replog-statement -- --ignored smoke_long`.
    #[test]
    #[ignore]
    fn smoke_long() {
        run(300_000);
    }

    fn run(iterations: usize) {
        let mut rng = SmokeRng::new(42);
        for i in 0..iterations {
            let len = (rng.next_u64() % 200) as usize;
            let input = rng.bytes(len);
            fuzz_roundtrip(&input);
            fuzz_decode(&input);
            // Start from a valid encoding and mutate it.
            let st = Gen::new(&input).statement();
            let mut body = Vec::new();
            st.encode(&mut body).unwrap();
            fuzz_decode(&body);
            let mut m = body.clone();
            for _ in 0..=(i % 4) {
                let at = (rng.next_u64() as usize) % m.len();
                match rng.next_u64() % 3 {
                    0 => m[at] = rng.next_u64() as u8,
                    1 => m.truncate(at.max(1)),
                    _ => m.insert(at, rng.next_u64() as u8),
                }
            }
            fuzz_decode(&m);
        }
    }
}
