//! Fuzz-target body (`fuzz/fuzz_targets/pgrepl_copydata.rs`): arbitrary
//! bytes as one CopyData payload of streaming replication. No panic; an
//! error names an offset inside the input; an XLogData's payload is what
//! follows its header, and a logical payload decodes (or fails) as pgoutput
//! at an offset inside the input.

use crate::copy::{ServerCopy, XLOGDATA_HEADER, parse};

/// Reads `data` as a CopyData payload whose first byte is at offset 1000.
pub fn fuzz_copydata(data: &[u8]) {
    const BASE: u64 = 1000;
    match parse(data, BASE) {
        Ok(ServerCopy::XLogData { data: payload, .. }) => {
            assert_eq!(payload.len() + XLOGDATA_HEADER, data.len());
            let at = BASE + XLOGDATA_HEADER as u64;
            let mut d = replog_pglogical::pgoutput::Decoder::new();
            if let Err(e) = d.decode(payload, at, replog_pglogical::pgoutput::Framing::Exact) {
                let o = e.offset().expect("errors name an offset");
                assert!((at..=BASE + data.len() as u64).contains(&o), "{e}");
            }
        }
        Ok(ServerCopy::Keepalive { .. }) => assert_eq!(data.len(), crate::copy::KEEPALIVE_LEN),
        Err(e) => {
            let o = e.offset().expect("errors name an offset");
            assert!((BASE..=BASE + data.len() as u64).contains(&o), "{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    /// A few hundred inputs: every prefix of real messages, and bytes
    /// from a fixed-seed generator.
    #[test]
    fn smoke() {
        #[rustfmt::skip]
        let seeds: [&[u8]; 3] = [
            &[b'k', 0, 0, 0, 1, 0, 0, 0, 0x28, 0, 0, 0, 0, 0, 0, 0, 7, 1],
            &[b'w', 0, 0, 0, 0, 1, 0x6B, 0x2A, 0x10, 0, 0, 0, 0, 1, 0x6B, 0x30, 0,
              0, 0, 0, 0, 0, 0, 0, 42,
              b'B', 0, 0, 0, 0, 1, 0x6B, 0x2A, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2, 0x10],
            &[b'w', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
              b'R', 0, 0, 0x40, 0, b'p', 0, b't', 0, b'd', 0, 1, 1, b'i', 0, 0, 0, 0, 23, 0xFF, 0xFF, 0xFF, 0xFF],
        ];
        for s in seeds {
            for n in 0..=s.len() {
                super::fuzz_copydata(&s[..n]);
            }
        }
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..300 {
            let mut v = Vec::new();
            for _ in 0..(i % 64) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                v.push(x as u8);
            }
            if let Some(b) = v.first_mut() {
                *b = [b'w', b'k', b'r'][i % 3];
            }
            super::fuzz_copydata(&v);
        }
    }
}
