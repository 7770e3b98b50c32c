//! Damage that must never be read as something else: a damaged format
//! description (bit flips on committed MariaDB binlogs with CRC32), an
//! Incident event with an unknown number, the MySQL 5.1 pre-GA event
//! numbering, and resynchronisation after mid-file damage.

use replog_binlog::{EventBody, Events, ReadOptions, StreamReader};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn mariadb(run: &str) -> Vec<u8> {
    std::fs::read(
        root()
            .join("fixtures/mariadb/out")
            .join(run)
            .join("mariadb-bin.000001"),
    )
    .unwrap()
}

/// Reads every event (and every row) of `data`; the first error's offset
/// and message, or `None` when the whole file reads clean.
fn first_error(data: &[u8]) -> Option<(u64, String)> {
    let events = match Events::new(data) {
        Ok(e) => e,
        Err(e) => return Some((e.offset().unwrap_or(0), e.to_string())),
    };
    for ev in events {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => return Some((e.offset().unwrap_or(0), e.to_string())),
        };
        if let EventBody::Rows(r) = ev.body() {
            for ch in r.rows() {
                if let Err(e) = ch {
                    return Some((e.offset().unwrap_or(0), e.to_string()));
                }
            }
        }
    }
    // The streaming reader agrees.
    let mut s = StreamReader::new(data).unwrap();
    while let Some(ev) = s.next_event() {
        if let Err(e) = ev {
            panic!("streaming reader fails where the in-memory one does not: {e}");
        }
    }
    None
}

fn fde_len(data: &[u8]) -> usize {
    u32::from_le_bytes([data[13], data[14], data[15], data[16]]) as usize
}

/// Every single-bit flip of the format description event of a CRC32
/// binlog is reported (none may switch checksum verification off), except
/// the LOG_EVENT_BINLOG_IN_USE_F flag, which servers leave out of the
/// checksum on purpose.
#[test]
fn no_bit_flip_in_the_format_description_passes() {
    for run in ["dml/row-full", "types/statement", "txn/mixed-minimal"] {
        let data = mariadb(run);
        assert_eq!(first_error(&data), None, "{run} reads clean");
        let end = 4 + fde_len(&data);
        for byte in 4..end {
            for bit in 0..8 {
                if byte == 4 + 17 && bit == 0 {
                    continue;
                }
                let mut d = data.clone();
                d[byte] ^= 1 << bit;
                assert!(
                    first_error(&d).is_some(),
                    "{run}: flipping bit {bit} of byte {byte} (FDE offset {}) reads clean",
                    byte - 4
                );
            }
        }
    }
}

/// The three ways a damaged FDE used to turn checking off, each reported
/// as damage with the offset of the damaged field.
#[test]
fn damaged_format_description_fields_are_named() {
    let data = mariadb("dml/row-full");
    let end = 4 + fde_len(&data);
    // The type byte: the first event is no longer a format description.
    let mut d = data.clone();
    d[8] ^= 0x01;
    let (at, msg) = first_error(&d).unwrap();
    assert_eq!(at, 8, "{msg}");
    assert!(msg.contains("must be a format description"), "{msg}");
    // The server version: "10.11…" read as "00.11…" (MariaDB 0.11 has no
    // checksum field, so the algorithm byte and CRC would be read as
    // post-header lengths and checking would be off).
    let mut d = data.clone();
    let v = 4 + 19 + 2;
    assert_eq!(&d[v..v + 2], b"10");
    d[v] = b'0';
    let (at, msg) = first_error(&d).unwrap();
    assert_eq!(at, v as u64, "{msg}");
    assert!(msg.contains("damaged format description"), "{msg}");
    // An unparsable version.
    let mut d = data.clone();
    d[v + 2] = b'/';
    let (at, msg) = first_error(&d).unwrap();
    assert_eq!(at, v as u64, "{msg}");
    assert!(msg.contains("unparsable server version"), "{msg}");
    // The checksum-algorithm byte flipped from CRC32 to off.
    let mut d = data.clone();
    let alg = end - 5;
    assert_eq!(d[alg], 1);
    d[alg] = 0;
    let (at, msg) = first_error(&d).unwrap();
    assert_eq!(at, alg as u64, "{msg}");
    assert!(msg.contains("damaged algorithm byte"), "{msg}");
    // An unknown algorithm.
    d[alg] = 3;
    let (at, msg) = first_error(&d).unwrap();
    assert_eq!(at, alg as u64, "{msg}");
    assert!(msg.contains("unknown checksum algorithm 3"), "{msg}");
}

/// Builds an event: 19-byte header, body, and a CRC32 when `crc`.
fn event(type_code: u8, pos: u32, body: &[u8], crc: bool) -> Vec<u8> {
    let len = 19 + body.len() + if crc { 4 } else { 0 };
    let mut e = Vec::with_capacity(len);
    e.extend_from_slice(&1_700_000_000u32.to_le_bytes());
    e.push(type_code);
    e.extend_from_slice(&1u32.to_le_bytes());
    e.extend_from_slice(&(len as u32).to_le_bytes());
    e.extend_from_slice(&(pos + len as u32).to_le_bytes());
    e.extend_from_slice(&0u16.to_le_bytes());
    e.extend_from_slice(body);
    if crc {
        let c = crc32fast::hash(&e);
        e.extend_from_slice(&c.to_le_bytes());
    }
    e
}

/// Appends an Incident event (kind `kind`, message "lost") before the
/// final Rotate of a real CRC32 binlog.
fn with_incident(kind: u16) -> (Vec<u8>, u64) {
    let data = mariadb("dml/row-full");
    let mut events = Vec::new();
    for ev in Events::new(&data).unwrap() {
        let ev = ev.unwrap();
        events.push((ev.position() as usize, ev.end_position() as usize));
    }
    let (last, _) = *events.last().unwrap();
    let mut out = data[..last].to_vec();
    let mut body = kind.to_le_bytes().to_vec();
    body.push(4);
    body.extend_from_slice(b"lost");
    let at = out.len() as u64;
    out.extend(event(26, at as u32, &body, true));
    (out, at)
}

#[test]
fn incident_numbers() {
    let (d, at) = with_incident(1);
    assert_eq!(first_error(&d), None);
    let incident = Events::new(&d)
        .unwrap()
        .map(Result::unwrap)
        .find(|e| e.position() == at)
        .unwrap();
    assert!(
        matches!(incident.body(), EventBody::Incident(i) if i.kind == 1 && i.message == b"lost")
    );
    for kind in [0u16, 2, 7, 0xffff] {
        let (d, at) = with_incident(kind);
        let (off, msg) = first_error(&d).unwrap();
        assert_eq!(off, at + 19, "{msg}");
        assert!(msg.contains(&format!("unknown incident {kind}")), "{msg}");
    }
}

/// A binlog of a MySQL 5.1 pre-GA tree (`5.1.2-a_drop5p9`): event codes
/// 16-22 meant TABLE_MAP, the three rows events, XID and the two LOAD
/// QUERY events. They are read under their current meaning, and the
/// pre-GA row images are refused with a clear error, never misread.
#[test]
fn pre_ga_event_numbering() {
    let mut fde = 4u16.to_le_bytes().to_vec();
    let mut v = [0u8; 50];
    v[..15].copy_from_slice(b"5.1.2-a_drop5p9");
    fde.extend_from_slice(&v);
    fde.extend_from_slice(&0u32.to_le_bytes());
    fde.push(19);
    // Post-header lengths in the old order (codes 1..=22): 16 TABLE_MAP,
    // 17-19 rows, 20 XID, 21-22 LOAD QUERY.
    fde.extend_from_slice(&[
        56, 13, 0, 8, 0, 18, 0, 4, 4, 4, 4, 18, 0, 0, 84, 8, 8, 8, 8, 0, 4, 26,
    ]);
    let mut file = replog_binlog::MAGIC.to_vec();
    file.extend(event(15, 4, &fde, false));
    // TABLE_MAP (old code 16): table id 7, db "d", table "t", one INT column.
    let mut tm = vec![7, 0, 0, 0, 0, 0, 0, 0];
    tm.extend_from_slice(&[1, b'd', 0, 1, b't', 0, 1, 3, 0, 0]);
    let at = file.len() as u32;
    file.extend(event(16, at, &tm, false));
    // WRITE_ROWS pre-GA (old code 17): one row, id = 5.
    let mut wr = vec![7, 0, 0, 0, 0, 0, 1, 0, 1, 0x01, 0x00];
    wr.extend_from_slice(&5i32.to_le_bytes());
    let rows_at = file.len() as u64;
    file.extend(event(17, rows_at as u32, &wr, false));
    // XID (old code 20).
    let at = file.len() as u32;
    file.extend(event(20, at, &9u64.to_le_bytes(), false));

    let events: Vec<_> = Events::new(&file).unwrap().map(Result::unwrap).collect();
    let names: Vec<_> = events.iter().map(|e| e.type_name()).collect();
    assert_eq!(
        names,
        ["Format_desc", "Table_map", "Write_rows_event_old", "Xid"]
    );
    assert!(matches!(events[0].body(), EventBody::FormatDescription(f) if f.pre_ga_numbering));
    match events[1].body() {
        EventBody::TableMap(t) => {
            assert_eq!(
                (t.table_id, t.schema.as_str(), t.table.as_str()),
                (7, "d", "t")
            );
            assert_eq!(t.columns.len(), 1);
        }
        b => panic!("{b:?}"),
    }
    assert!(matches!(events[3].body(), EventBody::Xid(9)));
    let EventBody::Rows(r) = events[2].body() else {
        panic!()
    };
    let e = r.rows().next().unwrap().unwrap_err();
    assert!(e.to_string().contains("pre-GA rows event"), "{e}");
    // A current-numbering binlog with the same codes means something else:
    // the translation depends on the version alone.
    let mut current = file.clone();
    let v = 4 + 19 + 2;
    current[v..v + 15].copy_from_slice(b"5.1.22-log\0\0\0\0\0");
    let names: Vec<_> = Events::with_options(
        &current,
        ReadOptions {
            verify_checksums: true,
            ..ReadOptions::default()
        },
    )
    .unwrap()
    .map_while(Result::ok)
    .map(|e| e.type_name())
    .collect();
    assert_eq!(names[1], "Xid");
}
