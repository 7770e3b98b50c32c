//! Fuzz-target bodies for the framing layer, kept in the library so that
//! `cargo test` runs them (see the smoke tests) and `fuzz/` only wraps them.

use crate::frame::FrameIter;
use crate::reader::{Event, LogReader, ReaderOptions, SegmentInput};
use crate::record::{Begin, Commit, LogKind};
use crate::recovery::RecoveryPolicy;
use crate::value::{Date, DateTime, TIME_MAX_MICROS, Value};
use crate::writer::{LogWriter, WriterOptions};
use std::borrow::Cow;

/// Arbitrary bytes as a segment: every reader drains without panicking, and
/// the streaming reader, whatever its buffer size, yields the same frames
/// and stops at the same offset as the zero-copy iterator.
pub fn fuzz_reader(data: &[u8]) {
    let whole = FrameIter::new(data, 0).map(|(_, it)| {
        let mut frames = Vec::new();
        let mut err = None;
        for f in it {
            match f {
                Ok(f) => frames.push((f.offset, f.body.to_vec())),
                Err(e) => err = e.offset(),
            }
        }
        (frames, err)
    });
    let buffer = 8 + data.first().map_or(0, |&b| usize::from(b));
    let chunk = 1 + data.get(1).map_or(0, |&b| usize::from(b % 13));
    for (policy, cont, buffer_size) in [
        (RecoveryPolicy::Strict, false, buffer),
        (RecoveryPolicy::Strict, true, 0),
        (RecoveryPolicy::TolerateTail, false, 0),
        (RecoveryPolicy::StopAtFirst, false, 3),
    ] {
        let opts = ReaderOptions {
            policy,
            continue_after_damage: cont,
            buffer_size,
        };
        // Short reads of arbitrary sizes, as pipes and network filesystems give.
        let source = Box::new(Chunky {
            data: data.to_vec(),
            chunk,
        });
        let mut r = LogReader::new(
            vec![SegmentInput {
                name: "fuzz".into(),
                source,
            }],
            opts,
        );
        let mut frames = Vec::new();
        let mut first_damage = None;
        while let Some(ev) = r.next() {
            match ev {
                Ok(Event::Frame(f)) => frames.push((f.offset, f.body.to_vec())),
                Ok(Event::Damage(d)) => {
                    first_damage.get_or_insert(d.offset);
                }
                Ok(Event::Segment { .. }) => {}
                Err(_) => break,
            }
        }
        let s = r.into_summary();
        assert!(s.frames <= frames.len() as u64);
        if let (Ok((wf, werr)), false) = (&whole, cont) {
            // Structure damage (valid frames in an impossible order) is
            // found only by the reader, which then stops earlier.
            let structural = s.damage.iter().any(|d| {
                matches!(
                    d.kind,
                    crate::reader::DamageKind::Structure { .. }
                        | crate::reader::DamageKind::StateGap { .. }
                )
            });
            if !structural {
                assert_eq!(&frames, wf, "streaming and zero-copy frames differ");
                assert_eq!(
                    first_damage, *werr,
                    "streaming and zero-copy stop at different offsets"
                );
            }
        }
    }
}

/// A source that returns at most `chunk` bytes per read.
struct Chunky {
    data: Vec<u8>,
    chunk: usize,
}

impl crate::reader::Source for Chunky {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.chunk);
        self.data.as_slice().read_at(offset, &mut buf[..n])
    }
}

/// Bytes drive the writer (transaction sizes, bodies, digests); reading the
/// result back gives exactly what was written, with no damage.
pub fn fuzz_roundtrip(data: &[u8]) {
    let mut opts = WriterOptions::new(LogKind::Logical);
    opts.salt = data
        .iter()
        .fold(7u64, |a, &b| a.rotate_left(5) ^ u64::from(b));
    let mut w = LogWriter::new(Vec::new(), &opts).expect("writer");
    let mut expected = Vec::new();
    let chunks = data.chunks(5);
    let mut txid = 0;
    let mut state = 1u64;
    let mut open = false;
    for c in chunks {
        let op = c.first().copied().unwrap_or(0);
        match op % 4 {
            0 if !open => {
                txid += 1;
                let origin = format!("o{op}");
                let b = Begin {
                    txid,
                    timestamp_us: i64::from(op),
                    server_id: u32::from(op),
                    origin: &origin,
                };
                let lsn = w.begin(&b).expect("begin");
                let mut body = Vec::new();
                b.encode(&mut body);
                expected.push((lsn, body));
                open = true;
            }
            1 | 2 if open => {
                let mut body = vec![0x10 | (op & 0x0f)];
                body.extend_from_slice(c);
                body.extend(std::iter::repeat_n(op, usize::from(op) * 3));
                let lsn = w.append(&body).expect("append");
                expected.push((lsn, body));
            }
            _ if open => {
                let next = state.wrapping_mul(31).wrapping_add(u64::from(op));
                let c = Commit {
                    txid,
                    timestamp_us: 0,
                    state_before: Some(state),
                    state_after: Some(next),
                };
                state = next;
                let lsn = w.commit(&c).expect("commit");
                let mut body = Vec::new();
                c.encode(&mut body);
                expected.push((lsn, body));
                open = false;
            }
            _ => {}
        }
    }
    let bytes = w.finish().expect("finish");
    let mut r = LogReader::new(
        vec![SegmentInput::memory("rt", bytes)],
        ReaderOptions::default(),
    );
    let mut got = Vec::new();
    while let Some(ev) = r.next() {
        if let Event::Frame(f) = ev.expect("no error") {
            got.push((f.lsn, f.body.to_vec()));
        }
    }
    let s = r.into_summary();
    assert!(s.damage.is_empty(), "{:?}", s.damage);
    assert_eq!(got, expected);
    assert_eq!(s.uncommitted.is_some(), open);
}

/// A byte-driven generator for structured fuzzing: reads its choices from
/// the fuzzer's input, and zeros past its end, so every input builds a
/// valid value.
#[derive(Debug)]
pub struct Gen<'a> {
    data: &'a [u8],
}

impl<'a> Gen<'a> {
    /// A generator over `data`.
    pub fn new(data: &'a [u8]) -> Gen<'a> {
        Gen { data }
    }

    /// The next `n` input bytes (fewer at the end).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (a, b) = self.data.split_at(n);
        self.data = b;
        a
    }

    /// One byte.
    pub fn u8(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }

    /// Eight bytes, little-endian.
    pub fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        let t = self.take(8);
        b[..t.len()].copy_from_slice(t);
        u64::from_le_bytes(b)
    }

    /// A coin toss.
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// `Some(f(self))` or `None`.
    pub fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        if self.bool() { Some(f(self)) } else { None }
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

    /// A date, zero dates included.
    pub fn date(&mut self) -> Date {
        Date {
            year: (self.u64() % 10_000) as u16,
            month: self.u8() % 13,
            day: self.u8() % 32,
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
                    format!("{sign}{int}.{:03}", self.u64() % 1000)
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use replog_test_support::SmokeRng;

    fn valid_log(rng: &mut SmokeRng) -> Vec<u8> {
        let mut opts = WriterOptions::new(LogKind::Statement);
        opts.salt = rng.next_u64();
        let mut w = LogWriter::new(Vec::new(), &opts).unwrap();
        for t in 1..=(1 + rng.next_u64() % 4) {
            w.begin(&Begin {
                txid: t,
                timestamp_us: 0,
                server_id: 1,
                origin: "",
            })
            .unwrap();
            for _ in 0..rng.next_u64() % 3 {
                let mut body = vec![0x10];
                let n = (rng.next_u64() % 40) as usize;
                body.extend(rng.bytes(n));
                w.append(&body).unwrap();
            }
            w.commit(&Commit {
                txid: t,
                timestamp_us: 0,
                state_before: None,
                state_after: None,
            })
            .unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn smoke() {
        let mut rng = SmokeRng(0x5eed);
        for i in 0..300 {
            let base = valid_log(&mut rng);
            let input = match i % 3 {
                0 => base,
                1 => rng.mutate(&base),
                _ => {
                    let n = (rng.next_u64() % 200) as usize;
                    let mut v = crate::segment::MAGIC.to_vec();
                    v.extend(rng.bytes(n));
                    v
                }
            };
            fuzz_reader(&input);
            let n = (rng.next_u64() % 120) as usize;
            fuzz_roundtrip(&rng.bytes(n));
        }
    }
}
