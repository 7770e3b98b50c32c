//! Damaged test_decoding and wal2json input: clear errors with the
//! absolute offset (and the LSN of a COPY row), never a panic; every cut
//! of a valid file is an error or a shorter file.

use replog_core::error::ErrorKind;
use replog_core::txn::{TxnEvent, TxnSource};
use replog_pglogical::{Container, Detected, Plugin, sniff};

fn run(file: &[u8], plugin: Plugin, container: Container) -> Result<usize, replog_core::Error> {
    let det = Detected { plugin, container };
    let mut src = replog_pglogical::source::source(file.to_vec(), det, "test".into());
    let mut n = 0;
    while let Some(ev) = src.next() {
        if let TxnEvent::Transaction(_) = ev? {
            n += 1;
        }
    }
    Ok(n)
}

const TD: &str = "BEGIN 7\n\
table public.t: INSERT: id[integer]:1 v[text]:'a''b'\n\
table public.t: UPDATE: old-key: id[integer]:1 new-tuple: id[integer]:2 v[text]:null\n\
table public.t: DELETE: id[integer]:2\n\
COMMIT 7 (at 2024-01-02 03:04:05.5+00)\n";

const W2J: &str = "{\"action\":\"B\",\"xid\":7}\n\
{\"action\":\"I\",\"xid\":7,\"lsn\":\"0/10\",\"schema\":\"public\",\"table\":\"t\",\"columns\":[{\"name\":\"id\",\"type\":\"integer\",\"value\":1}]}\n\
{\"action\":\"C\",\"xid\":7,\"lsn\":\"0/20\",\"nextlsn\":\"0/28\"}\n";

#[test]
fn valid_lines_give_their_transaction() {
    let td = Detected {
        plugin: Plugin::TestDecoding,
        container: Container::RecvLogical,
    };
    assert_eq!(sniff(TD.as_bytes()), Some(td));
    assert_eq!(
        run(TD.as_bytes(), Plugin::TestDecoding, Container::RecvLogical).unwrap(),
        1
    );
    assert_eq!(
        run(W2J.as_bytes(), Plugin::Wal2JsonV2, Container::RecvLogical).unwrap(),
        1
    );
}

#[test]
fn a_bad_line_is_named_with_its_offset() {
    let bad = TD.replace("DELETE: id[integer]:2", "DELETE: id[integer:2");
    let e = run(bad.as_bytes(), Plugin::TestDecoding, Container::RecvLogical).unwrap_err();
    let at = TD.find("table public.t: DELETE").unwrap() as u64;
    assert!(e.offset().unwrap() > at, "{e}");
    assert!(e.to_string().contains("`]:`"), "{e}");
    let bad = TD.replace("COMMIT 7", "ROLLBACK 7");
    let e = run(bad.as_bytes(), Plugin::TestDecoding, Container::RecvLogical).unwrap_err();
    assert!(e.to_string().contains("not a test_decoding line"), "{e}");
    let bad = TD.replace("v[text]:'a''b'", "v[integer]:'a''b'");
    let e = run(bad.as_bytes(), Plugin::TestDecoding, Container::RecvLogical).unwrap_err();
    assert!(e.to_string().contains("column v"), "{e}");
    // A change before any BEGIN.
    let e = run(
        &TD.as_bytes()[8..],
        Plugin::TestDecoding,
        Container::RecvLogical,
    )
    .unwrap_err();
    assert_eq!(e.offset(), Some(0), "{e}");
    // COPY rows: the row's LSN is named.
    let copy = "0/16B3748\t7\tBEGIN 7\n0/16B3750\t7\ttable public.t: INSERT: id[integer]:x\n";
    let e = run(copy.as_bytes(), Plugin::TestDecoding, Container::CopyText).unwrap_err();
    assert!(e.to_string().contains("(LSN 0/16B3750)"), "{e}");
}

#[test]
fn bad_json_is_named_with_its_offset() {
    let bad = W2J.replace("\"value\":1}", "\"value\":1");
    let e = run(bad.as_bytes(), Plugin::Wal2JsonV2, Container::RecvLogical).unwrap_err();
    assert!(e.to_string().contains("wal2json document"), "{e}");
    let second = W2J.find('\n').unwrap() as u64 + 1;
    assert_eq!(e.offset(), Some(second), "{e}");
    let bad = W2J.replace("\"action\":\"I\"", "\"action\":\"X\"");
    let e = run(bad.as_bytes(), Plugin::Wal2JsonV2, Container::RecvLogical).unwrap_err();
    assert!(e.to_string().contains("unknown wal2json action"), "{e}");
    let bad = W2J.replace(
        "\"type\":\"integer\",\"value\":1",
        "\"type\":\"integer\",\"value\":[1]",
    );
    let e = run(bad.as_bytes(), Plugin::Wal2JsonV2, Container::RecvLogical).unwrap_err();
    assert!(e.to_string().contains("not a scalar"), "{e}");
    // A TRUNCATE of a table no change described.
    let t = "{\"action\":\"B\",\"xid\":7}\n{\"action\":\"T\",\"xid\":7,\"schema\":\"public\",\"table\":\"u\"}\n";
    let e = run(t.as_bytes(), Plugin::Wal2JsonV2, Container::RecvLogical).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}

#[test]
fn every_cut_of_a_valid_file_is_an_error_or_a_shorter_file() {
    for (file, plugin) in [(TD, Plugin::TestDecoding), (W2J, Plugin::Wal2JsonV2)] {
        for cut in 0..file.len() {
            let part = &file.as_bytes()[..cut];
            match run(part, plugin, Container::RecvLogical) {
                Ok(n) => assert!(n <= 1),
                Err(e) => assert!(e.offset().unwrap() <= cut as u64, "cut {cut}: {e}"),
            }
        }
    }
}
