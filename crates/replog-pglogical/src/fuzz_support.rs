//! Fuzz-target bodies (`fuzz/fuzz_targets/pglogical_*.rs`): arbitrary bytes
//! as a logical decoding output file. No panic; every error names an
//! offset inside the input; a file that reads to its end reports what it
//! assembled.

use crate::file::{Container, Detected, Plugin};
use replog_core::txn::{TxnEvent, TxnSource};

const CONTAINERS: [Container; 3] = [
    Container::RecvLogical,
    Container::CopyText,
    Container::CopyCsv,
];

/// Reads `data` as `plugin` in `container` to its end or first error.
fn drain(data: &[u8], plugin: Plugin, container: Container) {
    let det = Detected { plugin, container };
    let mut src = crate::source::source(data.to_vec(), det, "fuzz".into());
    let mut last = 0;
    while let Some(ev) = src.next() {
        match ev {
            Ok(TxnEvent::Transaction(t)) => {
                // Records decode as logical records.
                for r in t.records() {
                    let _ = replog_logical::LogicalRecord::decode(r.body, r.offset);
                }
                last = t.commit_offset;
            }
            Ok(_) => {}
            Err(e) => {
                let at = e.offset().expect("errors name an offset");
                assert!(at <= data.len() as u64, "{e} beyond {} bytes", data.len());
                return;
            }
        }
    }
    assert!(last <= data.len() as u64);
}

/// The first byte picks the container; the rest is read as pgoutput (and
/// each message decoded alone, both framings).
pub fn fuzz_pgoutput(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    drain(rest, Plugin::PgOutput, CONTAINERS[usize::from(sel) % 3]);
    let mut d = crate::pgoutput::Decoder::default();
    for framing in [
        crate::pgoutput::Framing::Exact,
        crate::pgoutput::Framing::Newline,
    ] {
        if let Err(e) = d.decode(rest, 0, framing) {
            assert!(e.offset().expect("offset") <= rest.len() as u64, "{e}");
        }
    }
}

/// The first byte picks the container; the rest is read as test_decoding.
pub fn fuzz_test_decoding(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    drain(rest, Plugin::TestDecoding, CONTAINERS[usize::from(sel) % 3]);
}

/// The first byte picks the container and the format (1 or 2); the rest
/// is read as wal2json.
pub fn fuzz_wal2json(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let plugin = if sel & 0x80 == 0 {
        Plugin::Wal2JsonV1
    } else {
        Plugin::Wal2JsonV2
    };
    drain(rest, plugin, CONTAINERS[usize::from(sel & 0x7F) % 3]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(name: &str) -> Vec<u8> {
        let p = format!(
            "{}/../../fixtures/postgres/logical/debian-15/{name}.zst",
            env!("CARGO_MANIFEST_DIR")
        );
        zstd::decode_all(std::fs::File::open(&p).expect(&p)).expect("zstd")
    }

    /// Seeds from the server's captures (their first 16 KiB, cut and
    /// mutated), and random bytes.
    #[test]
    fn smoke() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        type Target = fn(&[u8]);
        let targets: [(&str, u8, Target); 6] = [
            ("pgoutput-v1.copy", 1, fuzz_pgoutput),
            ("pgoutput-v2-binary.recvlogical", 0, fuzz_pgoutput),
            ("pgoutput-v1.csv", 2, fuzz_pgoutput),
            ("test_decoding.copy", 1, fuzz_test_decoding),
            ("wal2json-v1.recvlogical", 0, fuzz_wal2json),
            ("wal2json-v2.copy", 0x81, fuzz_wal2json),
        ];
        for (name, sel, f) in targets {
            let full = capture(name);
            let seed = &full[..full.len().min(16 << 10)];
            let mut input = vec![sel];
            input.extend_from_slice(seed);
            f(&input);
            for _ in 0..60 {
                let mut m = input.clone();
                for _ in 0..1 + rnd() % 4 {
                    let i = 1 + (rnd() as usize) % (m.len() - 1);
                    m[i] ^= 1 << (rnd() % 8);
                }
                let cut = 1 + (rnd() as usize) % (m.len() - 1);
                f(&m);
                f(&m[..cut]);
            }
        }
        for len in 0..2000usize {
            let b: Vec<u8> = (0..len % 96).map(|_| rnd() as u8).collect();
            fuzz_pgoutput(&b);
            fuzz_test_decoding(&b);
            fuzz_wal2json(&b);
        }
    }
}
