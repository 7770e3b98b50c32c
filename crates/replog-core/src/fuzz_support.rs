//! Fuzz-target bodies for the framing layer, kept in the library so that
//! `cargo test` runs them (see the smoke tests) and `fuzz/` only wraps them.

use crate::frame::FrameIter;
use crate::reader::{Event, LogReader, ReaderOptions, SegmentInput};
use crate::record::{Begin, Commit, LogKind};
use crate::recovery::RecoveryPolicy;
use crate::writer::{LogWriter, WriterOptions};

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
        let mut r = LogReader::new(vec![SegmentInput::memory("fuzz", data.to_vec())], opts);
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

/// A small deterministic generator for smoke tests (SplitMix64).
#[derive(Debug, Clone)]
pub struct SmokeRng(pub u64);

impl SmokeRng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    /// A copy of `base` with a few random bytes changed, inserted or cut.
    pub fn mutate(&mut self, base: &[u8]) -> Vec<u8> {
        let mut v = base.to_vec();
        for _ in 0..=(self.next_u64() % 4) {
            if v.is_empty() {
                break;
            }
            let i = (self.next_u64() as usize) % v.len();
            match self.next_u64() % 4 {
                0 => v[i] ^= 1 << (self.next_u64() % 8),
                1 => v[i] = self.next_u64() as u8,
                2 => v.truncate(i),
                _ => v.insert(i, self.next_u64() as u8),
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
