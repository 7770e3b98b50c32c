//! Damaged pgoutput input: clear errors with the absolute offset (and the
//! LSN where known), never a panic.

use replog_core::txn::{TxnEvent, TxnSource};
use replog_pglogical::pgoutput::{Decoder, Framing, PgMessage};
use replog_pglogical::{Container, Detected, Plugin};

fn begin(xid: u32, final_lsn: u64) -> Vec<u8> {
    let mut m = vec![b'B'];
    m.extend_from_slice(&final_lsn.to_be_bytes());
    m.extend_from_slice(&0i64.to_be_bytes());
    m.extend_from_slice(&xid.to_be_bytes());
    m
}

fn relation(relid: u32) -> Vec<u8> {
    let mut m = vec![b'R'];
    m.extend_from_slice(&relid.to_be_bytes());
    m.extend_from_slice(b"public\0t\0d");
    m.extend_from_slice(&1i16.to_be_bytes());
    m.push(1);
    m.extend_from_slice(b"id\0");
    m.extend_from_slice(&23u32.to_be_bytes());
    m.extend_from_slice(&(-1i32).to_be_bytes());
    m
}

fn insert(relid: u32, v: &[u8]) -> Vec<u8> {
    let mut m = vec![b'I'];
    m.extend_from_slice(&relid.to_be_bytes());
    m.push(b'N');
    m.extend_from_slice(&1i16.to_be_bytes());
    m.push(b't');
    m.extend_from_slice(&(v.len() as i32).to_be_bytes());
    m.extend_from_slice(v);
    m
}

fn commit(lsn: u64) -> Vec<u8> {
    let mut m = vec![b'C', 0];
    m.extend_from_slice(&lsn.to_be_bytes());
    m.extend_from_slice(&(lsn + 8).to_be_bytes());
    m.extend_from_slice(&0i64.to_be_bytes());
    m
}

/// pg_recvlogical framing: each message then a newline.
fn recv(msgs: &[Vec<u8>]) -> Vec<u8> {
    let mut f = Vec::new();
    for m in msgs {
        f.extend_from_slice(m);
        f.push(b'\n');
    }
    f
}

fn run(file: Vec<u8>) -> Result<usize, replog_core::Error> {
    let det = Detected {
        plugin: Plugin::PgOutput,
        container: Container::RecvLogical,
    };
    let mut src = replog_pglogical::source::source(file, det, "test".into());
    let mut n = 0;
    while let Some(ev) = src.next() {
        if let TxnEvent::Transaction(_) = ev? {
            n += 1;
        }
    }
    Ok(n)
}

#[test]
fn a_valid_stream_gives_its_transaction() {
    let f = recv(&[
        begin(7, 0x100),
        relation(16384),
        insert(16384, b"42"),
        commit(0x100),
    ]);
    assert_eq!(run(f).unwrap(), 1);
}

#[test]
fn a_relation_used_before_its_relation_message_is_named_with_offset_and_lsn() {
    let b = begin(7, 0x16B3748);
    let at = b.len() + 1;
    let e = run(recv(&[b, insert(16384, b"42"), commit(0x16B3748)])).unwrap_err();
    assert_eq!(e.offset(), Some(at as u64));
    assert!(
        e.message().contains("used before its Relation message"),
        "{e}"
    );
    assert!(e.message().contains("LSN 0/16B3748"), "{e}");
}

#[test]
fn an_unknown_message_type_is_named() {
    let b = begin(7, 0x100);
    let at = b.len() + 1;
    let e = run(recv(&[b, vec![b'Z', 1, 2, 3]])).unwrap_err();
    assert_eq!(e.offset(), Some(at as u64));
    assert!(
        e.message()
            .contains("unknown pgoutput message type 0x5a ('Z')"),
        "{e}"
    );
}

#[test]
fn every_truncation_of_a_valid_stream_is_an_error_inside_the_input_or_a_shorter_stream() {
    let f = recv(&[
        begin(7, 0x100),
        relation(16384),
        insert(16384, b"42"),
        commit(0x100),
    ]);
    for n in 0..f.len() {
        match run(f[..n].to_vec()) {
            Ok(k) => assert_eq!(k, 0, "cut at {n}"),
            Err(e) => {
                let off = e.offset().expect("an offset");
                assert!(off <= n as u64, "cut at {n}: offset {off}");
            }
        }
    }
}

#[test]
fn a_bad_value_names_its_column() {
    let f = recv(&[
        begin(7, 0x100),
        relation(16384),
        insert(16384, b"4x2"),
        commit(0x100),
    ]);
    let e = run(f).unwrap_err();
    assert!(e.message().contains("public.t column id"), "{e}");
}

#[test]
fn a_negative_length_or_column_kind_is_malformed() {
    let mut m = insert(16384, b"42");
    let k = m.len() - 7; // the kind byte
    m[k] = b'x';
    let mut d = Decoder::new();
    let e = d.decode(&m, 1000, Framing::Exact).unwrap_err();
    assert_eq!(e.offset(), Some(1000 + k as u64));
    let mut m = insert(16384, b"42");
    let l = m.len() - 6;
    m[l..l + 4].copy_from_slice(&(-5i32).to_be_bytes());
    let e = d.decode(&m, 0, Framing::Exact).unwrap_err();
    assert_eq!(e.offset(), Some(l as u64));
}

#[test]
fn protocol_4_stream_abort_carries_lsn_and_time() {
    let mut m = vec![b'A'];
    m.extend_from_slice(&9u32.to_be_bytes());
    m.extend_from_slice(&10u32.to_be_bytes());
    let v2 = m.clone();
    m.extend_from_slice(&0x1234u64.to_be_bytes());
    m.extend_from_slice(&5i64.to_be_bytes());
    let mut d = Decoder::new();
    let (a, _) = d.decode(&v2, 0, Framing::Exact).unwrap();
    assert_eq!(
        a,
        PgMessage::StreamAbort {
            xid: 9,
            subxid: 10,
            abort: None
        }
    );
    let (a, n) = d.decode(&m, 0, Framing::Exact).unwrap();
    assert_eq!(n, m.len());
    assert_eq!(
        a,
        PgMessage::StreamAbort {
            xid: 9,
            subxid: 10,
            abort: Some((0x1234, 5))
        }
    );
    let mut nl = m.clone();
    nl.push(b'\n');
    assert!(d.decode(&nl, 0, Framing::Newline).is_ok());
    let mut nl = v2.clone();
    nl.push(b'\n');
    let (a, _) = d.decode(&nl, 0, Framing::Newline).unwrap();
    assert!(matches!(a, PgMessage::StreamAbort { abort: None, .. }));
}
