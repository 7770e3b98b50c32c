//! The messages carried in CopyData during streaming replication
//! (`formats/pg-replication.md` §4): the server's XLogData (`w`) and
//! primary keepalive (`k`), the client's standby status update (`r`).
//! All integers are big-endian; LSNs are 64-bit WAL positions; times are
//! microseconds since 2000-01-01 00:00 UTC.

use replog_core::error::{Error, Result};

/// XLogData header length: `w`, data start, WAL end, send time.
pub const XLOGDATA_HEADER: usize = 1 + 8 + 8 + 8;
/// Primary keepalive length: `k`, WAL end, send time, reply requested.
pub const KEEPALIVE_LEN: usize = 1 + 8 + 8 + 1;
/// Standby status update length.
pub const STATUS_LEN: usize = 1 + 8 + 8 + 8 + 8 + 1;

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
pub const PG_EPOCH_UNIX_US: i64 = 946_684_800_000_000;

/// A message the server sends inside CopyData, borrowed from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerCopy<'a> {
    /// `w`: WAL (physical) or one output plugin message (logical).
    XLogData {
        /// WAL position of the data's first byte (logical: the LSN of the
        /// record the message was decoded from).
        start: u64,
        /// The server's current end of WAL.
        wal_end: u64,
        /// The server's clock when sending (µs since 2000-01-01).
        send_time: i64,
        /// The payload.
        data: &'a [u8],
    },
    /// `k`: the server's position; it wants a status update back when
    /// `reply` is set.
    Keepalive {
        /// The server's current end of WAL (logical: how far decoding has
        /// read).
        wal_end: u64,
        /// The server's clock when sending.
        send_time: i64,
        /// The client must answer at once (or be disconnected at
        /// `wal_sender_timeout`).
        reply: bool,
    },
}

fn be_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

/// Reads the CopyData payload `data`, whose first byte is at absolute
/// offset `base` of the connection's byte stream.
pub fn parse(data: &[u8], base: u64) -> Result<ServerCopy<'_>> {
    let Some(&tag) = data.first() else {
        return Err(Error::eof(base, 1, "CopyData message type"));
    };
    let need = |n: usize, what: &str| -> Result<()> {
        if data.len() < n {
            Err(Error::eof(
                base + data.len() as u64,
                (n - data.len()) as u64,
                what,
            ))
        } else {
            Ok(())
        }
    };
    match tag {
        b'w' => {
            need(XLOGDATA_HEADER, "XLogData header")?;
            Ok(ServerCopy::XLogData {
                start: be_u64(data, 1),
                wal_end: be_u64(data, 9),
                send_time: be_u64(data, 17) as i64,
                data: &data[XLOGDATA_HEADER..],
            })
        }
        b'k' => {
            need(KEEPALIVE_LEN, "primary keepalive")?;
            if data.len() > KEEPALIVE_LEN {
                return Err(Error::malformed(
                    base + KEEPALIVE_LEN as u64,
                    format!(
                        "primary keepalive of {} bytes, not {KEEPALIVE_LEN}",
                        data.len()
                    ),
                ));
            }
            let reply = match data[17] {
                0 => false,
                1 => true,
                b => {
                    return Err(Error::malformed(
                        base + 17,
                        format!("primary keepalive's reply flag is {b}, not 0 or 1"),
                    ));
                }
            };
            Ok(ServerCopy::Keepalive {
                wal_end: be_u64(data, 1),
                send_time: be_u64(data, 9) as i64,
                reply,
            })
        }
        t => Err(Error::malformed(
            base,
            format!(
                "CopyData message type {:?} (0x{t:02x}) is neither XLogData 'w' nor keepalive 'k'",
                char::from(t)
            ),
        )),
    }
}

/// A standby status update (`r`): received through `write`, durably
/// stored through `flush`, applied through `apply` (LSNs one past the
/// last byte; 0: unknown), the client's clock, and whether the server
/// should answer at once with a keepalive.
pub fn status_update(
    write: u64,
    flush: u64,
    apply: u64,
    now_pg_us: i64,
    reply: bool,
) -> [u8; STATUS_LEN] {
    let mut m = [0u8; STATUS_LEN];
    m[0] = b'r';
    m[1..9].copy_from_slice(&write.to_be_bytes());
    m[9..17].copy_from_slice(&flush.to_be_bytes());
    m[17..25].copy_from_slice(&apply.to_be_bytes());
    m[25..33].copy_from_slice(&now_pg_us.to_be_bytes());
    m[33] = u8::from(reply);
    m
}

/// The system clock in µs since 2000-01-01.
pub fn now_pg_us() -> i64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    unix - PG_EPOCH_UNIX_US
}

/// `X/Y`, as PostgreSQL prints an LSN.
pub fn lsn_text(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// Parses `X/Y` (hexadecimal halves).
pub fn parse_lsn(s: &str) -> Option<u64> {
    let (hi, lo) = s.trim().split_once('/')?;
    if hi.is_empty() || lo.is_empty() || hi.len() > 8 || lo.len() > 8 {
        return None;
    }
    let hi = u32::from_str_radix(hi, 16).ok()?;
    let lo = u32::from_str_radix(lo, 16).ok()?;
    Some((u64::from(hi) << 32) | u64::from(lo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const XLOGDATA: &[u8] = &[
        b'w',
        0, 0, 0, 0, 0x01, 0x6B, 0x2A, 0x10,   // data start 0/16B2A10
        0, 0, 0, 0, 0x01, 0x6B, 0x30, 0x00,   // WAL end 0/16B3000
        0, 0, 0, 0, 0, 0, 0, 42,              // send time
        b'B', 1, 2,                           // payload
    ];

    #[test]
    fn reads_xlogdata() {
        let m = parse(XLOGDATA, 100).unwrap();
        assert_eq!(
            m,
            ServerCopy::XLogData {
                start: 0x016B_2A10,
                wal_end: 0x016B_3000,
                send_time: 42,
                data: b"B\x01\x02",
            }
        );
    }

    #[test]
    fn reads_keepalive_and_names_offsets_of_damage() {
        #[rustfmt::skip]
        let k: &[u8] = &[b'k', 0, 0, 0, 1, 0, 0, 0, 0x28, 0, 0, 0, 0, 0, 0, 0, 7, 1];
        assert_eq!(
            parse(k, 0).unwrap(),
            ServerCopy::Keepalive {
                wal_end: 0x1_0000_0028,
                send_time: 7,
                reply: true
            }
        );
        let e = parse(&k[..10], 1000).unwrap_err();
        assert_eq!(e.offset(), Some(1010), "{e}");
        let mut bad = k.to_vec();
        bad[17] = 9;
        let e = parse(&bad, 1000).unwrap_err();
        assert_eq!(e.offset(), Some(1017), "{e}");
        let e = parse(b"x", 5).unwrap_err();
        assert!(e.to_string().contains("neither XLogData"), "{e}");
        assert_eq!(parse(&[], 9).unwrap_err().offset(), Some(9));
    }

    #[test]
    fn status_update_layout() {
        let m = status_update(0x10, 0x20, 0x30, 5, true);
        assert_eq!(m[0], b'r');
        assert_eq!(&m[1..9], &0x10u64.to_be_bytes());
        assert_eq!(&m[9..17], &0x20u64.to_be_bytes());
        assert_eq!(&m[17..25], &0x30u64.to_be_bytes());
        assert_eq!(&m[25..33], &5i64.to_be_bytes());
        assert_eq!(m[33], 1);
    }

    #[test]
    fn lsn_text_round_trips() {
        for l in [0u64, 0x016B_2A10, 0xFFFF_FFFF_0000_0001] {
            assert_eq!(parse_lsn(&lsn_text(l)), Some(l));
        }
        assert_eq!(lsn_text(0x1_0000_0028), "1/28");
        assert_eq!(parse_lsn("1/"), None);
        assert_eq!(parse_lsn("zz/1"), None);
    }
}
