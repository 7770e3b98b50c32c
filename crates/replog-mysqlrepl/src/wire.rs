//! The client/server protocol subset a replica speaks (formats/mysql-replication.md):
//! packet framing, the initial handshake, the handshake response and
//! `mysql_native_password`, OK / ERR / EOF packets, text result sets, and
//! the replication commands. Every parser takes a payload and the absolute
//! stream offset of its first byte, so errors name where they were found.

use replog_core::{Error, ErrorKind, Result};
use std::io::Read;

/// Largest payload of one packet; a payload of exactly this length is
/// continued by the next packet.
pub const MAX_PAYLOAD: usize = 0xff_ff_ff;

/// Capability flags the client asks for.
pub mod cap {
    /// CLIENT_LONG_PASSWORD
    pub const LONG_PASSWORD: u32 = 1;
    /// CLIENT_LONG_FLAG
    pub const LONG_FLAG: u32 = 1 << 2;
    /// CLIENT_PROTOCOL_41
    pub const PROTOCOL_41: u32 = 1 << 9;
    /// CLIENT_TRANSACTIONS
    pub const TRANSACTIONS: u32 = 1 << 13;
    /// CLIENT_SECURE_CONNECTION (4.1 authentication)
    pub const SECURE_CONNECTION: u32 = 1 << 15;
    /// CLIENT_PLUGIN_AUTH
    pub const PLUGIN_AUTH: u32 = 1 << 19;
    /// CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
    pub const PLUGIN_AUTH_LENENC: u32 = 1 << 21;
}

/// Reads packets from a stream, reassembling continued payloads, with
/// the payload size limited before anything is allocated.
#[derive(Debug)]
pub struct PacketReader<R> {
    inner: R,
    /// Stream offset of the next packet header.
    offset: u64,
    /// Sequence number the next packet must carry.
    pub seq: u8,
    max: usize,
    buf: Vec<u8>,
}

impl<R: Read> PacketReader<R> {
    /// A reader whose payloads (reassembled) may not exceed `max` bytes.
    pub fn new(inner: R, max: usize) -> PacketReader<R> {
        PacketReader {
            inner,
            offset: 0,
            seq: 0,
            max,
            buf: Vec::new(),
        }
    }

    /// Stream offset of the next packet.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The inner stream.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The next payload, with the stream offset of its packet; `Ok(None)`
    /// when the stream ends cleanly between packets.
    pub fn next_packet(&mut self) -> Result<Option<(u64, &[u8])>> {
        let start = self.offset;
        self.buf.clear();
        loop {
            let mut h = [0u8; 4];
            let n = read_full(&mut self.inner, &mut h, self.offset)?;
            if n == 0 && self.buf.is_empty() && self.offset == start {
                return Ok(None);
            }
            if n < 4 {
                return Err(Error::new(
                    ErrorKind::UnexpectedEof {
                        needed: (4 - n) as u64,
                    },
                    self.offset,
                    format!("connection closed inside a packet header ({n} of 4 bytes)"),
                ));
            }
            let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
            if h[3] != self.seq {
                return Err(Error::malformed(
                    self.offset,
                    format!(
                        "packet sequence number {} where {} was expected",
                        h[3], self.seq
                    ),
                ));
            }
            self.seq = self.seq.wrapping_add(1);
            if self.buf.len() + len > self.max {
                return Err(Error::malformed(
                    self.offset,
                    format!(
                        "packet payload of {} bytes exceeds the limit of {} bytes",
                        self.buf.len() + len,
                        self.max
                    ),
                ));
            }
            let at = self.buf.len();
            self.buf.resize(at + len, 0);
            let got = read_full(&mut self.inner, &mut self.buf[at..], self.offset + 4)?;
            if got < len {
                return Err(Error::new(
                    ErrorKind::UnexpectedEof {
                        needed: (len - got) as u64,
                    },
                    self.offset + 4 + got as u64,
                    format!("connection closed inside a packet ({got} of {len} bytes)"),
                ));
            }
            self.offset += 4 + len as u64;
            if len < MAX_PAYLOAD {
                return Ok(Some((start, &self.buf)));
            }
        }
    }
}

fn read_full<R: Read>(r: &mut R, buf: &mut [u8], at: u64) -> Result<usize> {
    replog_core::reader::read_full(r, buf).map_err(|e| {
        Error::io(e, format!("reading from the server at stream offset {at}")).with_offset(at)
    })
}

/// Frames `payload` as packets (continued past [`MAX_PAYLOAD`]) starting
/// at sequence number `seq`; returns the next sequence number.
pub fn frame(out: &mut Vec<u8>, payload: &[u8], mut seq: u8) -> u8 {
    let mut rest = payload;
    loop {
        let n = rest.len().min(MAX_PAYLOAD);
        out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        out.push(seq);
        seq = seq.wrapping_add(1);
        out.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        if n < MAX_PAYLOAD {
            return seq;
        }
    }
}

/// A cursor over one payload; errors name absolute offsets.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
}

impl<'a> Cursor<'a> {
    /// Over `data`, whose first byte is at stream offset `base`.
    pub fn new(data: &'a [u8], base: u64) -> Cursor<'a> {
        Cursor { data, pos: 0, base }
    }

    /// Absolute offset of the next byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let Some(end) = end else {
            return Err(Error::new(
                ErrorKind::UnexpectedEof {
                    needed: (self.pos + n - self.data.len()) as u64,
                },
                self.offset(),
                format!(
                    "{what}: {n} bytes needed, {} left",
                    self.data.len() - self.pos
                ),
            ));
        };
        let b = &self.data[self.pos..end];
        self.pos = end;
        Ok(b)
    }

    /// A little-endian integer of `n` (≤ 8) bytes.
    pub fn uint(&mut self, n: usize, what: &str) -> Result<u64> {
        let b = self.bytes(n, what)?;
        Ok(b.iter().rev().fold(0u64, |v, &x| v << 8 | u64::from(x)))
    }

    /// A length-encoded integer; `None` for the NULL marker 0xFB.
    pub fn lenenc(&mut self, what: &str) -> Result<Option<u64>> {
        let at = self.offset();
        Ok(Some(match self.uint(1, what)? {
            0xfb => return Ok(None),
            0xfc => self.uint(2, what)?,
            0xfd => self.uint(3, what)?,
            0xfe => self.uint(8, what)?,
            0xff => {
                return Err(Error::malformed(
                    at,
                    format!("{what}: 0xFF is not a length"),
                ));
            }
            n => n,
        }))
    }

    /// A length-encoded string; `None` for NULL.
    pub fn lenenc_bytes(&mut self, what: &str) -> Result<Option<&'a [u8]>> {
        match self.lenenc(what)? {
            None => Ok(None),
            Some(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                self.bytes(n, what).map(Some)
            }
        }
    }

    /// A NUL-terminated string (without the NUL).
    pub fn cstr(&mut self, what: &str) -> Result<&'a [u8]> {
        let rest = self.rest();
        let Some(n) = rest.iter().position(|&b| b == 0) else {
            return Err(Error::malformed(
                self.offset(),
                format!("{what}: no terminating NUL"),
            ));
        };
        self.pos += n + 1;
        Ok(&rest[..n])
    }
}

/// The server's initial handshake (protocol version 10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The server's version string (MariaDB: `…-MariaDB…`).
    pub server_version: String,
    /// The connection id.
    pub connection_id: u32,
    /// Capability flags (lower and upper halves).
    pub capabilities: u32,
    /// The scramble (both parts, without the trailing NUL).
    pub scramble: Vec<u8>,
    /// The authentication plugin the server proposes.
    pub auth_plugin: String,
}

/// Parses the initial handshake payload at stream offset `base`.
pub fn parse_handshake(p: &[u8], base: u64) -> Result<Handshake> {
    if p.first() == Some(&0xff) {
        return Err(server_error(p, base, "connecting"));
    }
    let mut c = Cursor::new(p, base);
    let version = c.uint(1, "protocol version")?;
    if version != 10 {
        return Err(Error::malformed(
            base,
            format!("handshake protocol version {version}; only 10 is spoken"),
        ));
    }
    let server_version = String::from_utf8_lossy(c.cstr("server version")?).into_owned();
    let connection_id = c.uint(4, "connection id")? as u32;
    let mut scramble = c.bytes(8, "scramble")?.to_vec();
    c.bytes(1, "filler")?;
    let mut capabilities = c.uint(2, "capabilities")? as u32;
    let mut auth_plugin = String::from("mysql_native_password");
    if !c.is_empty() {
        c.uint(1, "character set")?;
        c.uint(2, "status flags")?;
        capabilities |= (c.uint(2, "capabilities (upper)")? as u32) << 16;
        let data_len = c.uint(1, "scramble length")? as usize;
        c.bytes(10, "reserved")?;
        if capabilities & cap::SECURE_CONNECTION != 0 {
            let n = data_len.saturating_sub(8).max(13);
            let part2 = c.bytes(n, "scramble (part 2)")?;
            // The second part ends with a NUL that is not part of it.
            scramble.extend_from_slice(part2.strip_suffix(&[0]).unwrap_or(part2));
        }
        if capabilities & cap::PLUGIN_AUTH != 0 {
            let rest = c.rest();
            let name = rest.strip_suffix(&[0]).unwrap_or(rest);
            auth_plugin = String::from_utf8_lossy(name).into_owned();
        }
    }
    Ok(Handshake {
        server_version,
        connection_id,
        capabilities,
        scramble,
        auth_plugin,
    })
}

/// The `mysql_native_password` answer to `scramble`:
/// SHA1(password) XOR SHA1(scramble ‖ SHA1(SHA1(password))); empty for an
/// empty password.
pub fn native_password(password: &[u8], scramble: &[u8]) -> Vec<u8> {
    use sha1::{Digest, Sha1};
    if password.is_empty() {
        return Vec::new();
    }
    let h1 = Sha1::digest(password);
    let h2 = Sha1::digest(h1);
    let mut h = Sha1::new();
    h.update(scramble.get(..20).unwrap_or(scramble));
    h.update(h2);
    let h3 = h.finalize();
    h1.iter().zip(h3.iter()).map(|(a, b)| a ^ b).collect()
}

/// The client's handshake response (protocol 4.1) for `user` with the
/// authentication answer `auth` of `plugin`.
pub fn handshake_response(user: &str, auth: &[u8], plugin: &str, server_caps: u32) -> Vec<u8> {
    let caps = (cap::LONG_PASSWORD
        | cap::LONG_FLAG
        | cap::PROTOCOL_41
        | cap::TRANSACTIONS
        | cap::SECURE_CONNECTION
        | cap::PLUGIN_AUTH
        | cap::PLUGIN_AUTH_LENENC)
        & (server_caps | cap::PROTOCOL_41);
    let mut p = Vec::with_capacity(64 + user.len() + auth.len());
    p.extend_from_slice(&caps.to_le_bytes());
    p.extend_from_slice(&(1u32 << 24).to_le_bytes());
    p.push(45); // utf8mb4_general_ci
    p.extend_from_slice(&[0; 23]);
    p.extend_from_slice(user.as_bytes());
    p.push(0);
    if caps & cap::PLUGIN_AUTH_LENENC != 0 {
        put_lenenc(&mut p, auth.len() as u64);
    } else {
        p.push(auth.len().min(255) as u8);
    }
    p.extend_from_slice(auth);
    if caps & cap::PLUGIN_AUTH != 0 {
        p.extend_from_slice(plugin.as_bytes());
        p.push(0);
    }
    p
}

/// Appends a length-encoded integer.
pub fn put_lenenc(p: &mut Vec<u8>, n: u64) {
    match n {
        0..=250 => p.push(n as u8),
        251..=0xffff => {
            p.push(0xfc);
            p.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..=0xff_ffff => {
            p.push(0xfd);
            p.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        }
        _ => {
            p.push(0xfe);
            p.extend_from_slice(&n.to_le_bytes());
        }
    }
}

/// What the server answered to an authentication step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthReply {
    /// Authenticated.
    Ok,
    /// The server asks for another method (auth switch request).
    Switch {
        /// The plugin to answer with.
        plugin: String,
        /// Its scramble.
        data: Vec<u8>,
    },
    /// More data for the current method (0x01 packet).
    More(Vec<u8>),
}

/// Parses an answer to a handshake response or an auth switch response.
pub fn parse_auth_reply(p: &[u8], base: u64) -> Result<AuthReply> {
    match p.first() {
        Some(0x00) => Ok(AuthReply::Ok),
        Some(0xff) => Err(server_error(p, base, "authenticating")),
        Some(0xfe) => {
            let mut c = Cursor::new(&p[1..], base + 1);
            if c.is_empty() {
                // The old (pre-4.1) switch: not spoken.
                return Err(Error::malformed(
                    base,
                    "the server asks for the pre-4.1 password method, which is not supported",
                ));
            }
            let plugin = String::from_utf8_lossy(c.cstr("auth plugin name")?).into_owned();
            let rest = c.rest();
            Ok(AuthReply::Switch {
                plugin,
                data: rest.strip_suffix(&[0]).unwrap_or(rest).to_vec(),
            })
        }
        Some(0x01) => Ok(AuthReply::More(p[1..].to_vec())),
        _ => Err(Error::malformed(
            base,
            format!(
                "unexpected answer to authentication (first byte {:?})",
                p.first()
            ),
        )),
    }
}

/// The error an ERR packet carries, as an error at `base`: `doing`, the
/// server's error number, SQL state and message.
pub fn server_error(p: &[u8], base: u64, doing: &str) -> Error {
    let mut c = Cursor::new(p, base);
    let parsed = (|| -> Result<(u64, String, String)> {
        c.uint(1, "ERR marker")?;
        let code = c.uint(2, "error code")?;
        let mut state = String::new();
        if c.rest().first() == Some(&b'#') {
            let s = c.bytes(6, "SQL state")?;
            state = String::from_utf8_lossy(&s[1..]).into_owned();
        }
        Ok((code, state, String::from_utf8_lossy(c.rest()).into_owned()))
    })();
    match parsed {
        Ok((code, state, msg)) => Error::new(
            ErrorKind::Io,
            base,
            format!("{doing}: the server answered error {code} ({state}): {msg}"),
        ),
        Err(e) => e.context(format!("{doing}: a malformed ERR packet")),
    }
}

/// A text result set's rows (each column's text, `None` for NULL).
pub type Rows = Vec<Vec<Option<String>>>;

/// Collects a text result set from `next` (which yields payloads with
/// their offsets) after its first packet `first`: column count, column
/// definitions, EOF, rows, EOF. An OK packet first is an empty result.
pub fn read_result_set(
    first: (u64, &[u8]),
    mut next: impl FnMut() -> Result<(u64, Vec<u8>)>,
) -> Result<Rows> {
    let (base, p) = first;
    match p.first() {
        Some(0x00) => return Ok(Vec::new()),
        Some(0xff) => return Err(server_error(p, base, "running a query")),
        _ => {}
    }
    let columns = Cursor::new(p, base)
        .lenenc("column count")?
        .unwrap_or(0)
        .min(4096) as usize;
    for _ in 0..columns {
        next()?;
    }
    let (at, eof) = next()?;
    if !is_eof(&eof) {
        return Err(Error::malformed(
            at,
            "expected EOF after the column definitions",
        ));
    }
    let mut rows = Vec::new();
    loop {
        let (at, p) = next()?;
        if is_eof(&p) {
            return Ok(rows);
        }
        if p.first() == Some(&0xff) {
            return Err(server_error(&p, at, "reading a result"));
        }
        let mut c = Cursor::new(&p, at);
        let mut row = Vec::with_capacity(columns);
        for _ in 0..columns {
            row.push(
                c.lenenc_bytes("column value")?
                    .map(|b| String::from_utf8_lossy(b).into_owned()),
            );
        }
        rows.push(row);
    }
}

/// Whether a payload is an EOF packet (0xFE, shorter than 9 bytes).
pub fn is_eof(p: &[u8]) -> bool {
    p.first() == Some(&0xfe) && p.len() < 9
}

/// COM_QUERY.
pub fn com_query(sql: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(1 + sql.len());
    p.push(0x03);
    p.extend_from_slice(sql.as_bytes());
    p
}

/// COM_REGISTER_SLAVE for replica `server_id`.
pub fn com_register_slave(server_id: u32, host: &str, user: &str, port: u16) -> Vec<u8> {
    let mut p = vec![0x15];
    p.extend_from_slice(&server_id.to_le_bytes());
    for s in [host, user, ""] {
        let b = &s.as_bytes()[..s.len().min(255)];
        p.push(b.len() as u8);
        p.extend_from_slice(b);
    }
    p.extend_from_slice(&port.to_le_bytes());
    p.extend_from_slice(&0u32.to_le_bytes()); // replication rank
    p.extend_from_slice(&0u32.to_le_bytes()); // master id
    p
}

/// COM_BINLOG_DUMP flag: send EOF at the end of the binlogs instead of
/// waiting for more.
pub const DUMP_NON_BLOCK: u16 = 1;
/// COM_BINLOG_DUMP flag (MariaDB): send ANNOTATE_ROWS events too (the
/// server leaves them out otherwise, and the events sent would not be the
/// file's).
pub const DUMP_SEND_ANNOTATE_ROWS: u16 = 2;

/// COM_BINLOG_DUMP from `file`:`pos` for replica `server_id`.
pub fn com_binlog_dump(pos: u32, flags: u16, server_id: u32, file: &str) -> Vec<u8> {
    let mut p = vec![0x12];
    p.extend_from_slice(&pos.to_le_bytes());
    p.extend_from_slice(&flags.to_le_bytes());
    p.extend_from_slice(&server_id.to_le_bytes());
    p.extend_from_slice(file.as_bytes());
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_frame_and_read_back() {
        let mut wire = Vec::new();
        let seq = frame(&mut wire, b"hello", 0);
        frame(&mut wire, b"", seq);
        let mut r = PacketReader::new(&wire[..], 1 << 20);
        assert_eq!(r.next_packet().unwrap(), Some((0, &b"hello"[..])));
        assert_eq!(r.next_packet().unwrap(), Some((9, &b""[..])));
        assert_eq!(r.next_packet().unwrap(), None);
    }

    #[test]
    fn packet_errors_name_their_offset() {
        // Wrong sequence number in the second packet.
        let mut wire = Vec::new();
        frame(&mut wire, b"ab", 0);
        frame(&mut wire, b"c", 7);
        let mut r = PacketReader::new(&wire[..], 1 << 20);
        r.next_packet().unwrap();
        let e = r.next_packet().unwrap_err();
        assert_eq!(e.offset(), Some(6));
        assert!(e.to_string().contains("sequence number 7"), "{e}");
        // A length beyond the limit is refused before allocating.
        let wire = [0xff, 0xff, 0x7f, 0];
        let e = PacketReader::new(&wire[..], 1000)
            .next_packet()
            .unwrap_err();
        assert!(e.to_string().contains("exceeds the limit"), "{e}");
        // Cut inside the payload.
        let wire = [5, 0, 0, 0, b'a', b'b'];
        let e = PacketReader::new(&wire[..], 1000)
            .next_packet()
            .unwrap_err();
        assert_eq!(e.offset(), Some(6));
    }

    #[test]
    fn continued_payloads_are_joined() {
        let big = vec![7u8; MAX_PAYLOAD + 3];
        let mut wire = Vec::new();
        frame(&mut wire, &big, 0);
        assert_eq!(wire.len(), big.len() + 8);
        let mut r = PacketReader::new(&wire[..], 1 << 25);
        let (_, p) = r.next_packet().unwrap().unwrap();
        assert_eq!(p.len(), big.len());
    }

    /// An initial handshake laid out as MariaDB 10.11 sends it (written by
    /// hand: version string, connection id and scramble made up).
    #[rustfmt::skip]
    const HANDSHAKE: &[u8] = &[
        0x0a,                                           // protocol 10
        b'5', b'.', b'5', b'.', b'5', b'-', b'1', b'0', b'.', b'1', b'1', b'.', b'1', b'1',
        b'-', b'M', b'a', b'r', b'i', b'a', b'D', b'B', 0,                       // version
        0x2a, 0, 0, 0,                                  // connection id 42
        b'a', b'b', b'c', b'd', b'e', b'f', b'g', b'h', // scramble 1
        0,                                              // filler
        0xfe, 0xf7,                                     // capabilities (lower)
        0x2d,                                           // charset
        0x02, 0x00,                                     // status
        0xff, 0x81,                                     // capabilities (upper)
        21,                                             // scramble length
        0, 0, 0, 0, 0, 0, 0x1d, 0, 0, 0,                // reserved / MariaDB caps
        b'i', b'j', b'k', b'l', b'm', b'n', b'o', b'p', b'q', b'r', b's', b't', 0, // scramble 2
        b'm', b'y', b's', b'q', b'l', b'_', b'n', b'a', b't', b'i', b'v', b'e', b'_',
        b'p', b'a', b's', b's', b'w', b'o', b'r', b'd', 0,
    ];

    #[test]
    fn handshake_fields() {
        let h = parse_handshake(HANDSHAKE, 4).unwrap();
        assert_eq!(h.server_version, "5.5.5-10.11.11-MariaDB");
        assert_eq!(h.connection_id, 42);
        assert_eq!(h.scramble, b"abcdefghijklmnopqrst");
        assert_eq!(h.auth_plugin, "mysql_native_password");
        assert!(h.capabilities & cap::PLUGIN_AUTH != 0);
        // Every truncation is an error at an offset inside the payload.
        for n in 0..HANDSHAKE.len() - 1 {
            if let Err(e) = parse_handshake(&HANDSHAKE[..n], 4) {
                let at = e.offset().unwrap();
                assert!((4..=4 + n as u64).contains(&at), "{n}: {e}");
            }
        }
    }

    /// The scramble answer for password "secret": its defining property
    /// is that the server can undo it with SHA1(SHA1(password)), the value
    /// it stores (mysql.user's `*…` hash).
    #[test]
    fn native_password_is_undone_by_the_stored_hash() {
        use sha1::{Digest, Sha1};
        let scramble = b"abcdefghijklmnopqrst";
        let answer = native_password(b"secret", scramble);
        let stored = Sha1::digest(Sha1::digest(b"secret"));
        let mut h = Sha1::new();
        h.update(scramble);
        h.update(stored);
        let mask = h.finalize();
        let sha1_password: Vec<u8> = answer.iter().zip(mask.iter()).map(|(a, b)| a ^ b).collect();
        assert_eq!(Sha1::digest(&sha1_password).as_slice(), stored.as_slice());
        assert!(native_password(b"", scramble).is_empty());
    }

    #[test]
    fn server_errors_carry_code_state_and_message() {
        let mut p = vec![0xff, 0x15, 0x04, b'#'];
        p.extend_from_slice(b"28000Access denied for user 'r'@'localhost'");
        let e = server_error(&p, 100, "authenticating");
        assert_eq!(e.offset(), Some(100));
        let t = e.to_string();
        assert!(t.contains("error 1045 (28000): Access denied"), "{t}");
    }

    #[test]
    fn result_sets() {
        let mut packets: Vec<Vec<u8>> = vec![
            vec![2],
            b"coldef1".to_vec(),
            b"coldef2".to_vec(),
            vec![0xfe, 0, 0, 2, 0],
            vec![3, b'a', b'b', b'c', 0xfb],
            vec![0xfe, 0, 0, 2, 0],
        ];
        packets.reverse();
        let first = packets.pop().unwrap();
        let rows = read_result_set((0, &first), || Ok((0, packets.pop().unwrap()))).unwrap();
        assert_eq!(rows, vec![vec![Some("abc".to_string()), None]]);
    }
}
