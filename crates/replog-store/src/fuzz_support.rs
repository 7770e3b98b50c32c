//! Pure functions for fuzz targets (wired into cargo-fuzz by `fuzz/`), with
//! smoke tests so that `cargo test` exercises them too.
//!
//! - [`fuzz_snapshot`]: arbitrary bytes as a store snapshot
//!   (`formats/store.md`, what `--base` and follower directories read)
//!   must decode or fail with an error, never panic or allocate from an
//!   unchecked count; whatever decodes is a consistent store that encodes
//!   back to a snapshot with the same position, digest and dump.
//! - [`fuzz_script`]: arbitrary text as a SQL script must split, parse and
//!   run on a store without a panic (errors are fine).

use crate::snapshot::{decode, encode};
use crate::{SimEnvironment, Store};

/// Decodes `data` as a snapshot, and `data` with its checksum made
/// right (so that mutations reach the structure behind the checksum); see
/// the module documentation.
pub fn fuzz_snapshot(data: &[u8]) {
    snapshot_decodes(data);
}

/// [`fuzz_snapshot`]; returns how many of the two inputs decoded.
fn snapshot_decodes(data: &[u8]) -> usize {
    let mut n = usize::from(check_snapshot(data));
    if let Some(split) = data.len().checked_sub(4) {
        let mut fixed = data[..split].to_vec();
        fixed.extend_from_slice(&crc32c::crc32c(&fixed).to_le_bytes());
        n += usize::from(check_snapshot(&fixed));
    }
    n
}

fn check_snapshot(data: &[u8]) -> bool {
    let Ok((pos, storage)) = decode(data) else {
        return false;
    };
    let store = Store::with_storage(storage, SimEnvironment::default());
    let mut dump = Vec::new();
    store.dump(&mut dump).expect("dump to memory");
    let again = encode(&store, &pos).expect("a decoded snapshot re-encodes");
    let (pos2, storage2) = decode(&again).expect("a re-encoded snapshot decodes");
    assert_eq!(pos, pos2);
    let store2 = Store::with_storage(storage2, SimEnvironment::default());
    assert_eq!(store.digest(), store2.digest());
    let mut dump2 = Vec::new();
    store2.dump(&mut dump2).expect("dump to memory");
    assert_eq!(dump, dump2);
    true
}

/// Runs `data` (lossily as UTF-8) as a script, statement by statement.
pub fn fuzz_script(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut store = Store::new(SimEnvironment::default());
    let Ok(statements) = crate::script::split(&text) else {
        return;
    };
    for s in statements.into_iter().take(64) {
        let _ = store.execute(s);
    }
    let _ = store.digest();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::AppliedPosition;
    use replog_test_support::SmokeRng;

    fn sample() -> Vec<u8> {
        let mut s = Store::new(SimEnvironment::default());
        s.execute_script(
            "CREATE DATABASE d; USE d;
             CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20), n DECIMAL(6,2),
                             e ENUM('a','b'), ts DATETIME(3), UNIQUE KEY uv (v));
             INSERT INTO t (v, n, e, ts) VALUES ('x', 1.5, 'a', '2024-01-02 03:04:05.678'),
               ('y', NULL, 'b', NULL), (NULL, -2.25, NULL, '1999-12-31 23:59:59');",
        )
        .unwrap();
        let pos = AppliedPosition {
            last_txid: 4,
            applied_lsn: 4096,
            digest: s.digest(),
            ..AppliedPosition::default()
        };
        encode(&s, &pos).unwrap()
    }

    #[test]
    fn snapshot_smoke() {
        let base = sample();
        fuzz_snapshot(&base);
        let mut rng = SmokeRng::new(0x5AA9);
        for n in 0..base.len() {
            fuzz_snapshot(&base[..n]);
        }
        let mut decoded = 0;
        for _ in 0..3000 {
            let m = rng.mutate(&base);
            decoded += snapshot_decodes(&m);
        }
        // Mutants with their checksum fixed reach the decoder, and some of
        // them are still valid snapshots (a changed value, say).
        assert!(decoded > 30, "{decoded} of 3000 mutants decoded");
        for _ in 0..300 {
            fuzz_snapshot(&rng.bytes_up_to(256));
        }
    }

    #[test]
    fn script_smoke() {
        let base = b"CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(5));
            INSERT INTO t VALUES (1, 'abc'), (2, NULL); UPDATE t SET v = CONCAT(v, 'x') WHERE id = 1;
            DELETE FROM t WHERE id = 2 LIMIT 1; SELECT * FROM t ORDER BY id";
        fuzz_script(base);
        let mut rng = SmokeRng::new(0xC0DE);
        for _ in 0..400 {
            fuzz_script(&rng.mutate(base));
        }
    }
}
