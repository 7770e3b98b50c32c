//! Event header, FORMAT_DESCRIPTION and the bodies of every decoded event
//! type. Layouts: MySQL `libs/mysql/binlog/event/{binlog_event,control_events,
//! statement_events,rows_event}.h`, MariaDB `sql/log_event.h`,
//! `sql/log_event.cc`, `sql/log_event_server.cc`.

use crate::consts::event_type as et;
use crate::rd::{Rd, lossy};
use crate::rows::RowsEvent;
use crate::table_map::TableMap;
use replog_core::{Error, ErrorKind, Result};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

/// Size of the v4 common event header.
pub const HEADER_LEN: usize = 19;
/// Size of a CRC32 event checksum.
pub const CHECKSUM_LEN: usize = 4;

/// The common header of every event (19 bytes, little-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventHeader {
    /// Seconds since the epoch when the statement started.
    pub timestamp: u32,
    /// Event type code (in an [`Event`], the current code: files with the
    /// MySQL 5.1 pre-GA numbering are translated).
    pub type_code: u8,
    /// Id of the server that wrote the event first.
    pub server_id: u32,
    /// Whole event size: header, body and checksum.
    pub event_length: u32,
    /// Offset of the next event in the file (0 inside transaction payloads).
    pub next_position: u32,
    /// Header flags (`LOG_EVENT_*_F`).
    pub flags: u16,
}

/// Header flag: the QUERY event's database is not to be made the default
/// database when the statement is executed (`LOG_EVENT_SUPPRESS_USE_F`,
/// set on CREATE / ALTER / DROP DATABASE).
pub const LOG_EVENT_SUPPRESS_USE_F: u16 = 0x8;

impl EventHeader {
    /// Parses the first 19 bytes of `b` (the caller checks the length).
    pub(crate) fn parse(b: &[u8], pos: u64) -> Result<EventHeader> {
        let mut r = Rd::new(b, pos);
        Ok(EventHeader {
            timestamp: r.u32("event timestamp")?,
            type_code: r.u8("event type")?,
            server_id: r.u32("server id")?,
            event_length: r.u32("event length")?,
            next_position: r.u32("next position")?,
            flags: r.u16("event flags")?,
        })
    }
}

/// FORMAT_DESCRIPTION_EVENT (15): how the rest of the file is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatDescription {
    /// Binlog format version (4).
    pub binlog_version: u16,
    /// Server version string, e.g. `8.0.27` or `10.11.6-MariaDB-log`.
    pub server_version: String,
    /// Creation timestamp (0 unless the file was created at server startup).
    pub create_timestamp: u32,
    /// Length of the common header of the following events.
    pub header_len: u8,
    /// Post-header length of each event type, indexed by `type - 1`.
    pub post_header_lens: Vec<u8>,
    /// Checksum algorithm byte (0 = off, 1 = CRC32), `None` for servers
    /// older than checksums (MySQL < 5.6.1, MariaDB < 5.3).
    pub checksum_alg: Option<u8>,
    /// Whether the file uses the event numbering of the MySQL 5.1 pre-GA
    /// trees (server versions `5.1.x-a_drop5…`); codes are translated with
    /// [`FormatDescription::current_type_code`] and `post_header_lens` is
    /// already indexed by the current codes.
    pub pre_ga_numbering: bool,
}

impl FormatDescription {
    /// The post-header length for `type_code`, falling back to the MySQL
    /// 8.0 / MariaDB default when the FDE does not list the type.
    pub fn post_header_len(&self, type_code: u8) -> u8 {
        match self
            .post_header_lens
            .get(usize::from(type_code).wrapping_sub(1))
        {
            Some(&n) if type_code > 0 => n,
            _ => default_post_header_len(type_code),
        }
    }

    /// Whether events after this FDE end with a CRC32.
    pub fn has_crc32(&self) -> bool {
        self.checksum_alg == Some(1)
    }

    /// A default description (MySQL 5.7+ layout, no checksums), used before
    /// any FDE has been seen.
    pub fn default_v4() -> FormatDescription {
        FormatDescription {
            binlog_version: 4,
            server_version: String::new(),
            create_timestamp: 0,
            header_len: HEADER_LEN as u8,
            post_header_lens: Vec::new(),
            checksum_alg: None,
            pre_ga_numbering: false,
        }
    }

    /// Parses a whole FORMAT_DESCRIPTION event (`raw`, header included, at
    /// absolute `position`). Damage that would change how the rest of the
    /// file is read is an error, never a quiet fallback: a server version
    /// that is not `major.minor.patch[suffix]`, an unknown checksum
    /// algorithm, and a checksum-algorithm byte that was flipped to "off"
    /// (the stored CRC32 is the one the event has with the byte set to
    /// CRC32). The CRC32 itself is checked by the caller, and so is the
    /// event after it (see `Context::no_crc_decided_at`).
    fn parse(raw: &[u8], position: u64) -> Result<FormatDescription> {
        let base = position + HEADER_LEN as u64;
        let body = raw.get(HEADER_LEN..).unwrap_or(&[]);
        let mut r = Rd::new(body, base);
        let binlog_version = r.u16("binlog version")?;
        let vat = r.offset();
        let sv = r.bytes(50, "server version")?;
        let end = sv.iter().position(|&b| b == 0).unwrap_or(sv.len());
        let server_version = lossy(&sv[..end]);
        let Some(version) = parse_server_version(&sv[..end]) else {
            return Err(Error::malformed(
                vat,
                format!(
                    "unparsable server version {server_version:?} in the format description event (damaged: it decides the layout of every event)"
                ),
            ));
        };
        let create_timestamp = r.u32("create timestamp")?;
        let hat = r.offset();
        let header_len = r.u8("header length")?;
        if usize::from(header_len) < HEADER_LEN {
            return Err(Error::malformed(
                hat,
                format!("common header length {header_len} < 19"),
            ));
        }
        let rest = r.rest();
        let mariadb = server_version.contains("MariaDB");
        let (lens, alg) = if has_checksum_field(version, mariadb) {
            if rest.len() < 1 + CHECKSUM_LEN {
                return Err(Error::eof(
                    r.offset(),
                    (1 + CHECKSUM_LEN - rest.len()) as u64,
                    "FDE checksum algorithm",
                ));
            }
            let n = rest.len() - 1 - CHECKSUM_LEN;
            let alg = rest[n];
            let aat = r.offset() + n as u64;
            match alg {
                1 => {}
                0 if fde_crc_with_alg(raw, 1) == Some(stored_crc(raw)) => {
                    return Err(Error::malformed(
                        aat,
                        "checksum algorithm byte of the format description event reads 0 (off), but the event carries the CRC32 it has with the byte set to 1 (CRC32): damaged algorithm byte",
                    ));
                }
                0 => {}
                a => {
                    return Err(Error::malformed(
                        aat,
                        format!(
                            "unknown checksum algorithm {a} in the format description event (0 = off, 1 = CRC32)"
                        ),
                    ));
                }
            }
            (&rest[..n], Some(alg))
        } else {
            (rest, None)
        };
        let pre_ga_numbering = is_pre_ga_numbering(&server_version);
        let mut post_header_lens = lens.to_vec();
        if pre_ga_numbering {
            if post_header_lens.len() != PRE_GA_PERMUTATION.len() - 1 {
                return Err(Error::malformed(
                    hat + 1,
                    format!(
                        "server {server_version} uses the MySQL 5.1 pre-GA event numbering, which lists {} event types; this event lists {}",
                        PRE_GA_PERMUTATION.len() - 1,
                        post_header_lens.len()
                    ),
                ));
            }
            // The post-header lengths are indexed by the old codes: move
            // each to its current code.
            let mut permuted = vec![0u8; post_header_lens.len()];
            for (old, &len) in post_header_lens.iter().enumerate() {
                permuted[usize::from(PRE_GA_PERMUTATION[old + 1]) - 1] = len;
            }
            post_header_lens = permuted;
        }
        Ok(FormatDescription {
            binlog_version,
            server_version,
            create_timestamp,
            header_len,
            post_header_lens,
            checksum_alg: alg,
            pre_ga_numbering,
        })
    }

    /// The current event type code for a code as written under this
    /// description (differs only for the MySQL 5.1 pre-GA numbering).
    #[inline]
    pub fn current_type_code(&self, code: u8) -> u8 {
        if self.pre_ga_numbering {
            PRE_GA_PERMUTATION
                .get(usize::from(code))
                .copied()
                .unwrap_or(code)
        } else {
            code
        }
    }
}

/// The stored CRC32 (last four bytes) of an event at least four bytes long.
fn stored_crc(raw: &[u8]) -> u32 {
    let n = raw.len().saturating_sub(CHECKSUM_LEN);
    match raw.get(n..) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// The CRC32 a format description event would carry with its
/// checksum-algorithm byte (the fifth byte from the end) set to `alg`
/// (`LOG_EVENT_BINLOG_IN_USE_F` cleared, as servers compute it).
fn fde_crc_with_alg(raw: &[u8], alg: u8) -> Option<u32> {
    let n = raw.len().checked_sub(CHECKSUM_LEN + 1)?;
    if n < HEADER_LEN {
        return None;
    }
    let mut h = crc32fast::Hasher::new();
    h.update(&raw[..17]);
    h.update(&[raw[17] & !1]);
    h.update(&raw[18..n]);
    h.update(&[alg]);
    Some(h.finalize())
}

/// `major.minor.patch` at the start of a server version string whose rest
/// is printable ASCII (`8.0.27`, `10.11.6-MariaDB-log`,
/// `5.1.37-ndb-6.2.19-debug-log`); `None` for anything else.
fn parse_server_version(v: &[u8]) -> Option<(u32, u32, u32)> {
    if !v.iter().all(|&c| (0x20..0x7f).contains(&c)) {
        return None;
    }
    let s = std::str::from_utf8(v).ok()?;
    let mut parts = [0u32; 3];
    let mut rest = s;
    for (i, slot) in parts.iter_mut().enumerate() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 4 {
            return None;
        }
        *slot = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        if i < 2 {
            rest = rest.strip_prefix('.')?;
        }
    }
    if rest.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    Some((parts[0], parts[1], parts[2]))
}

/// MySQL writes the checksum-algorithm byte (and a checksum field) from
/// 5.6.1 on, MariaDB from 5.3.0 on.
fn has_checksum_field(v: (u32, u32, u32), mariadb: bool) -> bool {
    if mariadb {
        v >= (5, 3, 0)
    } else {
        v >= (5, 6, 1)
    }
}

/// Event codes of the MySQL 5.1 pre-GA trees (`mysql-5.1-wl2325-*`, 2005-2006)
/// mapped to the current codes: after FORMAT_DESCRIPTION (15) they numbered
/// TABLE_MAP 16, the three rows events 17-19, XID 20, BEGIN_LOAD_QUERY 21 and
/// EXECUTE_LOAD_QUERY 22 (MySQL `Format_description_event`'s
/// `event_type_permutation`).
const PRE_GA_PERMUTATION: [u8; 23] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 19, 20, 21, 22, 16, 17, 18,
];

/// Whether a server version is one of the pre-GA 5.1/5.2 trees that used the
/// old numbering: `5.1.[1-5]-a_drop5*`, `5.1.4-a_drop6*`, `5.2.[0-2]-a_drop6*`
/// (the versions MySQL itself recognises).
fn is_pre_ga_numbering(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() < 13 || &b[..2] != b"5." || b[3] != b'.' || &b[5..12] != b"-a_drop" {
        return false;
    }
    let (minor, patch, drop) = (b[2], b[4], b[12]);
    (minor == b'1' && (b'1'..=b'5').contains(&patch) && drop == b'5')
        || (minor == b'1' && patch == b'4' && drop == b'6')
        || (minor == b'2' && (b'0'..=b'2').contains(&patch) && drop == b'6')
}

/// Post-header lengths of MySQL 8 / MariaDB 10 when no FDE lists them.
pub fn default_post_header_len(type_code: u8) -> u8 {
    match type_code {
        et::QUERY | et::QUERY_COMPRESSED => 13,
        et::ROTATE => 8,
        et::FORMAT_DESCRIPTION => 98,
        et::TABLE_MAP => 8,
        et::WRITE_ROWS_V1 | et::UPDATE_ROWS_V1 | et::DELETE_ROWS_V1 => 8,
        et::WRITE_ROWS_COMPRESSED_V1
        | et::UPDATE_ROWS_COMPRESSED_V1
        | et::DELETE_ROWS_COMPRESSED_V1 => 8,
        et::WRITE_ROWS | et::UPDATE_ROWS | et::DELETE_ROWS | et::PARTIAL_UPDATE_ROWS => 10,
        et::WRITE_ROWS_COMPRESSED | et::UPDATE_ROWS_COMPRESSED | et::DELETE_ROWS_COMPRESSED => 10,
        et::INCIDENT => 2,
        et::ROWS_QUERY => 0,
        et::GTID | et::ANONYMOUS_GTID => 42,
        et::MARIA_GTID => 19,
        et::GTID_LIST => 4,
        et::BINLOG_CHECKPOINT => 4,
        et::XA_PREPARE => 0,
        et::TRANSACTION_PAYLOAD => 0,
        _ => 0,
    }
}

/// Options of the event readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Verify CRC32 checksums when the FDE announces them (default true).
    pub verify_checksums: bool,
    /// Largest event accepted, checked before any buffer grows (default 1 GiB).
    pub max_event_size: u32,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            verify_checksums: true,
            max_event_size: 1 << 30,
        }
    }
}

/// Parse state carried from event to event: the format description and the
/// table maps seen so far.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub(crate) fde: Arc<FormatDescription>,
    pub(crate) crc: bool,
    pub(crate) opts: ReadOptions,
    pub(crate) tables: HashMap<u64, Arc<TableMap>>,
    pub(crate) encrypted: bool,
    /// Set while the next event is the first of a file: it must be the
    /// format description.
    pub(crate) expect_fde: bool,
    /// After a format description that turns checksums off (an old server
    /// version, or algorithm 0): the offset of the field that decided it.
    /// If the next event nevertheless ends with its own valid CRC32, that
    /// field is damaged (a flipped digit of `10.11` reads `00.11`, a
    /// MariaDB version without checksums) and the file is not read on
    /// without checks.
    pub(crate) no_crc_decided_at: Option<u64>,
}

impl Context {
    pub(crate) fn new(opts: ReadOptions) -> Context {
        Context {
            fde: Arc::new(FormatDescription::default_v4()),
            crc: false,
            opts,
            tables: HashMap::new(),
            encrypted: false,
            expect_fde: false,
            no_crc_decided_at: None,
        }
    }
}

/// Result of looking at the start of a buffer for one whole event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// The buffer starts with a whole event of `len` bytes.
    Complete {
        /// Event length.
        len: usize,
    },
    /// At least `needed` more bytes are required.
    NeedMore {
        /// Bytes missing.
        needed: usize,
    },
}

/// Frames one event at the start of `buf` (absolute `position`): checks the
/// declared length against the header size and `max_event_size` before
/// anyone allocates for it.
pub fn frame_event(buf: &[u8], position: u64, max_event_size: u32) -> Result<Framing> {
    if buf.len() < HEADER_LEN {
        return Ok(Framing::NeedMore {
            needed: HEADER_LEN - buf.len(),
        });
    }
    let len = u32::from_le_bytes([buf[9], buf[10], buf[11], buf[12]]);
    if (len as usize) < HEADER_LEN {
        return Err(Error::malformed(
            position + 9,
            format!("event length {len} is shorter than the 19-byte header"),
        ));
    }
    if len > max_event_size {
        return Err(Error::new(
            ErrorKind::TooLarge,
            position + 9,
            format!("event length {len} exceeds the limit of {max_event_size} bytes"),
        ));
    }
    let len = len as usize;
    if buf.len() < len {
        return Ok(Framing::NeedMore {
            needed: len - buf.len(),
        });
    }
    Ok(Framing::Complete { len })
}

/// One event, borrowing from the buffer it was read from.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    position: u64,
    header: EventHeader,
    raw: &'a [u8],
    body: EventBody<'a>,
}

impl<'a> Event<'a> {
    /// Absolute offset of the event's first byte (inside a transaction
    /// payload: the offset in the uncompressed payload).
    pub fn position(&self) -> u64 {
        self.position
    }
    /// Offset just past the event.
    pub fn end_position(&self) -> u64 {
        self.position + u64::from(self.header.event_length)
    }
    /// Whole event size in bytes (header, body and checksum).
    pub fn size(&self) -> u32 {
        self.header.event_length
    }
    /// Header timestamp (seconds since the epoch).
    pub fn timestamp(&self) -> u32 {
        self.header.timestamp
    }
    /// Originating server id.
    pub fn server_id(&self) -> u32 {
        self.header.server_id
    }
    /// Event type code.
    pub fn type_code(&self) -> u8 {
        self.header.type_code
    }
    /// Event type name as `mariadb-binlog` prints it.
    pub fn type_name(&self) -> &'static str {
        crate::consts::type_name(self.header.type_code)
    }
    /// The common header.
    pub fn header(&self) -> &EventHeader {
        &self.header
    }
    /// The raw bytes of the whole event.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
    /// The decoded body.
    pub fn body(&self) -> &EventBody<'a> {
        &self.body
    }
    /// Consumes the event, returning its body.
    pub fn into_body(self) -> EventBody<'a> {
        self.body
    }
}

/// Decoded event bodies. Types this reader does not decode are `Opaque`,
/// never rejected.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum EventBody<'a> {
    /// FORMAT_DESCRIPTION (15).
    FormatDescription(Arc<FormatDescription>),
    /// QUERY (2) and MariaDB QUERY_COMPRESSED (165).
    Query(QueryEvent<'a>),
    /// STOP (3).
    Stop,
    /// ROTATE (4).
    Rotate(RotateEvent<'a>),
    /// INTVAR (5).
    IntVar(IntVarEvent),
    /// RAND (13).
    Rand(RandEvent),
    /// USER_VAR (14).
    UserVar(UserVarEvent<'a>),
    /// XID (16): the transaction's XID.
    Xid(u64),
    /// TABLE_MAP (19).
    TableMap(Arc<TableMap>),
    /// All rows events (20-25, 30-32, 39, 166-171).
    Rows(RowsEvent<'a>),
    /// INCIDENT (26).
    Incident(IncidentEvent<'a>),
    /// HEARTBEAT (27): the current log file name.
    Heartbeat(&'a [u8]),
    /// ROWS_QUERY (29): the statement text.
    RowsQuery(&'a [u8]),
    /// MySQL GTID (33), ANONYMOUS_GTID (34) and tagged GTID (42).
    Gtid(GtidEvent),
    /// PREVIOUS_GTIDS (35).
    PreviousGtids(Vec<GtidSetEntry>),
    /// XA_PREPARE (38).
    XaPrepare(XaPrepareEvent<'a>),
    /// TRANSACTION_PAYLOAD (40).
    TransactionPayload(TransactionPayloadEvent<'a>),
    /// MariaDB ANNOTATE_ROWS (160): the statement text.
    AnnotateRows(&'a [u8]),
    /// MariaDB BINLOG_CHECKPOINT (161): the binlog file name.
    BinlogCheckpoint(&'a [u8]),
    /// MariaDB GTID (162).
    MariaGtid(MariaGtidEvent<'a>),
    /// MariaDB GTID_LIST (163).
    GtidList(GtidListEvent),
    /// MariaDB START_ENCRYPTION (164), kept raw; the events after it are
    /// encrypted and cannot be read.
    StartEncryption(&'a [u8]),
    /// Any other event type: the body without header and checksum.
    Opaque(&'a [u8]),
}

/// A QUERY event.
#[derive(Debug, Clone)]
pub struct QueryEvent<'a> {
    /// Connection id.
    pub thread_id: u32,
    /// Execution time in seconds.
    pub exec_time: u32,
    /// Error code the statement had on the source.
    pub error_code: u16,
    /// Decoded status variables in the order they appear.
    pub status_vars: Vec<StatusVar<'a>>,
    /// Default database.
    pub schema: &'a [u8],
    /// Statement text (decompressed for QUERY_COMPRESSED).
    pub query: Cow<'a, [u8]>,
    /// Whether the text was compressed (MariaDB 165).
    pub compressed: bool,
}

impl QueryEvent<'_> {
    /// The statement as text (lossy UTF-8).
    pub fn query_str(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.query)
    }
}

/// One status variable of a QUERY event (`Query_event_status_vars` in
/// MySQL `statement_events.h`, plus MariaDB's 128-131).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusVar<'a> {
    /// Q_FLAGS2 (0): OPTION_* bits.
    Flags2(u32),
    /// Q_SQL_MODE (1).
    SqlMode(u64),
    /// Q_CATALOG (2, old 5.0 form with a trailing NUL).
    Catalog(&'a [u8]),
    /// Q_AUTO_INCREMENT (3).
    AutoIncrement {
        /// auto_increment_increment.
        increment: u16,
        /// auto_increment_offset.
        offset: u16,
    },
    /// Q_CHARSET (4).
    Charset {
        /// character_set_client.
        client: u16,
        /// collation_connection.
        connection: u16,
        /// collation_server.
        server: u16,
    },
    /// Q_TIME_ZONE (5).
    TimeZone(&'a [u8]),
    /// Q_CATALOG_NZ (6).
    CatalogNz(&'a [u8]),
    /// Q_LC_TIME_NAMES (7).
    LcTimeNames(u16),
    /// Q_CHARSET_DATABASE (8).
    CharsetDatabase(u16),
    /// Q_TABLE_MAP_FOR_UPDATE (9).
    TableMapForUpdate(u64),
    /// Q_MASTER_DATA_WRITTEN (10).
    MasterDataWritten(u32),
    /// Q_INVOKER (11).
    Invoker {
        /// User name.
        user: &'a [u8],
        /// Host name.
        host: &'a [u8],
    },
    /// Q_UPDATED_DB_NAMES (12); `None` when more than 16 databases.
    UpdatedDbNames(Option<Vec<&'a [u8]>>),
    /// Q_MICROSECONDS (13).
    Microseconds(u32),
    /// Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP (16).
    ExplicitDefaultsForTimestamp(bool),
    /// Q_DDL_LOGGED_WITH_XID (17).
    DdlLoggedWithXid(u64),
    /// Q_DEFAULT_COLLATION_FOR_UTF8MB4 (18).
    DefaultCollationForUtf8mb4(u16),
    /// Q_SQL_REQUIRE_PRIMARY_KEY (19).
    SqlRequirePrimaryKey(u8),
    /// Q_DEFAULT_TABLE_ENCRYPTION (20).
    DefaultTableEncryption(u8),
    /// MariaDB Q_HRNOW (128): microseconds of NOW().
    HrNow(u32),
    /// MariaDB Q_XID (129).
    Xid(u64),
    /// MariaDB Q_GTID_FLAGS3 (130), with the start-alter sequence number.
    GtidFlags3 {
        /// Extra GTID flags.
        flags: u8,
        /// Sequence number of the START ALTER this commits or rolls back.
        sa_seq_no: Option<u64>,
    },
    /// MariaDB Q_CHARACTER_SET_COLLATIONS (131): (charset, collation) pairs.
    CharacterSetCollations(Vec<(u16, u16)>),
}

/// Status variable codes.
pub mod status_var {
    #![allow(missing_docs)]
    pub const Q_FLAGS2: u8 = 0;
    pub const Q_SQL_MODE: u8 = 1;
    pub const Q_CATALOG: u8 = 2;
    pub const Q_AUTO_INCREMENT: u8 = 3;
    pub const Q_CHARSET: u8 = 4;
    pub const Q_TIME_ZONE: u8 = 5;
    pub const Q_CATALOG_NZ: u8 = 6;
    pub const Q_LC_TIME_NAMES: u8 = 7;
    pub const Q_CHARSET_DATABASE: u8 = 8;
    pub const Q_TABLE_MAP_FOR_UPDATE: u8 = 9;
    pub const Q_MASTER_DATA_WRITTEN: u8 = 10;
    pub const Q_INVOKER: u8 = 11;
    pub const Q_UPDATED_DB_NAMES: u8 = 12;
    pub const Q_MICROSECONDS: u8 = 13;
    pub const Q_COMMIT_TS: u8 = 14;
    pub const Q_COMMIT_TS2: u8 = 15;
    pub const Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP: u8 = 16;
    pub const Q_DDL_LOGGED_WITH_XID: u8 = 17;
    pub const Q_DEFAULT_COLLATION_FOR_UTF8MB4: u8 = 18;
    pub const Q_SQL_REQUIRE_PRIMARY_KEY: u8 = 19;
    pub const Q_DEFAULT_TABLE_ENCRYPTION: u8 = 20;
    pub const Q_HRNOW: u8 = 128;
    pub const Q_XID: u8 = 129;
    pub const Q_GTID_FLAGS3: u8 = 130;
    pub const Q_CHARACTER_SET_COLLATIONS: u8 = 131;
}

fn parse_status_vars<'a>(b: &'a [u8], base: u64) -> Result<Vec<StatusVar<'a>>> {
    use status_var::*;
    let mut r = Rd::new(b, base);
    let mut out = Vec::new();
    while !r.is_empty() {
        let at = r.offset();
        let code = r.u8("status variable code")?;
        let v = match code {
            Q_FLAGS2 => StatusVar::Flags2(r.u32("Q_FLAGS2")?),
            Q_SQL_MODE => StatusVar::SqlMode(r.u64("Q_SQL_MODE")?),
            Q_CATALOG => {
                let n = r.u8("Q_CATALOG")?;
                let s = r.bytes(usize::from(n), "Q_CATALOG")?;
                r.skip(1, "Q_CATALOG terminator")?;
                StatusVar::Catalog(s)
            }
            Q_AUTO_INCREMENT => StatusVar::AutoIncrement {
                increment: r.u16("Q_AUTO_INCREMENT")?,
                offset: r.u16("Q_AUTO_INCREMENT")?,
            },
            Q_CHARSET => StatusVar::Charset {
                client: r.u16("Q_CHARSET")?,
                connection: r.u16("Q_CHARSET")?,
                server: r.u16("Q_CHARSET")?,
            },
            Q_TIME_ZONE => {
                let n = r.u8("Q_TIME_ZONE")?;
                StatusVar::TimeZone(r.bytes(usize::from(n), "Q_TIME_ZONE")?)
            }
            Q_CATALOG_NZ => {
                let n = r.u8("Q_CATALOG_NZ")?;
                StatusVar::CatalogNz(r.bytes(usize::from(n), "Q_CATALOG_NZ")?)
            }
            Q_LC_TIME_NAMES => StatusVar::LcTimeNames(r.u16("Q_LC_TIME_NAMES")?),
            Q_CHARSET_DATABASE => StatusVar::CharsetDatabase(r.u16("Q_CHARSET_DATABASE")?),
            Q_TABLE_MAP_FOR_UPDATE => {
                StatusVar::TableMapForUpdate(r.u64("Q_TABLE_MAP_FOR_UPDATE")?)
            }
            Q_MASTER_DATA_WRITTEN => StatusVar::MasterDataWritten(r.u32("Q_MASTER_DATA_WRITTEN")?),
            Q_INVOKER => {
                let n = r.u8("Q_INVOKER user")?;
                let user = r.bytes(usize::from(n), "Q_INVOKER user")?;
                let n = r.u8("Q_INVOKER host")?;
                let host = r.bytes(usize::from(n), "Q_INVOKER host")?;
                StatusVar::Invoker { user, host }
            }
            Q_UPDATED_DB_NAMES => {
                let n = r.u8("Q_UPDATED_DB_NAMES")?;
                if n > 16 {
                    StatusVar::UpdatedDbNames(None)
                } else {
                    let mut names = Vec::with_capacity(usize::from(n));
                    for _ in 0..n {
                        let rest = r.rest();
                        let Some(end) = rest.iter().position(|&c| c == 0) else {
                            return Err(Error::malformed(
                                r.offset(),
                                "unterminated database name in Q_UPDATED_DB_NAMES",
                            ));
                        };
                        names.push(r.bytes(end, "db name")?);
                        r.skip(1, "db name terminator")?;
                    }
                    StatusVar::UpdatedDbNames(Some(names))
                }
            }
            Q_MICROSECONDS => StatusVar::Microseconds(r.uint_n(3, "Q_MICROSECONDS")? as u32),
            Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP => StatusVar::ExplicitDefaultsForTimestamp(
                r.u8("Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP")? != 0,
            ),
            Q_DDL_LOGGED_WITH_XID => StatusVar::DdlLoggedWithXid(r.u64("Q_DDL_LOGGED_WITH_XID")?),
            Q_DEFAULT_COLLATION_FOR_UTF8MB4 => {
                StatusVar::DefaultCollationForUtf8mb4(r.u16("Q_DEFAULT_COLLATION_FOR_UTF8MB4")?)
            }
            Q_SQL_REQUIRE_PRIMARY_KEY => {
                StatusVar::SqlRequirePrimaryKey(r.u8("Q_SQL_REQUIRE_PRIMARY_KEY")?)
            }
            Q_DEFAULT_TABLE_ENCRYPTION => {
                StatusVar::DefaultTableEncryption(r.u8("Q_DEFAULT_TABLE_ENCRYPTION")?)
            }
            Q_HRNOW => StatusVar::HrNow(r.uint_n(3, "Q_HRNOW")? as u32),
            Q_XID => StatusVar::Xid(r.u64("Q_XID")?),
            Q_GTID_FLAGS3 => {
                let flags = r.u8("Q_GTID_FLAGS3")?;
                // FL_COMMIT_ALTER_E1 | FL_ROLLBACK_ALTER_E1
                let sa_seq_no = if flags & (4 | 8) != 0 {
                    Some(r.u64("Q_GTID_FLAGS3 sequence")?)
                } else {
                    None
                };
                StatusVar::GtidFlags3 { flags, sa_seq_no }
            }
            Q_CHARACTER_SET_COLLATIONS => {
                let n = r.u8("Q_CHARACTER_SET_COLLATIONS")?;
                let mut v = Vec::with_capacity(usize::from(n));
                for _ in 0..n {
                    v.push((r.u16("charset")?, r.u16("collation")?));
                }
                StatusVar::CharacterSetCollations(v)
            }
            Q_COMMIT_TS | Q_COMMIT_TS2 => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    at,
                    format!(
                        "status variable code {code} (Q_COMMIT_TS/Q_COMMIT_TS2) has no defined length; servers never write it"
                    ),
                ));
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    at,
                    format!(
                        "unknown query status variable code {code}: the remaining lengths cannot be known"
                    ),
                ));
            }
        };
        out.push(v);
    }
    Ok(out)
}

/// A ROTATE event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotateEvent<'a> {
    /// Position in the next file.
    pub position: u64,
    /// Next file name.
    pub next_file: &'a [u8],
}

/// An INTVAR event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntVarEvent {
    /// 1 = LAST_INSERT_ID, 2 = INSERT_ID.
    pub kind: u8,
    /// The value.
    pub value: u64,
}

/// A RAND event: the two seeds of the statement's RAND().
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandEvent {
    /// First seed.
    pub seed1: u64,
    /// Second seed.
    pub seed2: u64,
}

/// A USER_VAR event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserVarEvent<'a> {
    /// Variable name.
    pub name: &'a [u8],
    /// `None` for NULL; otherwise (type, charset, raw value, flags).
    pub value: Option<UserVarValue<'a>>,
}

/// The value of a non-NULL user variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserVarValue<'a> {
    /// Item_result type: 0 string, 1 real, 2 int, 3 row, 4 decimal.
    pub value_type: u8,
    /// Collation number.
    pub charset: u32,
    /// Raw value bytes (an 8-byte little-endian number for real/int).
    pub value: &'a [u8],
    /// Flags (1 = unsigned), when present.
    pub flags: Option<u8>,
}

/// The one incident number servers write: events were lost on the source.
pub const INCIDENT_LOST_EVENTS: u16 = 1;

/// An INCIDENT event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentEvent<'a> {
    /// Incident type (1 = lost events).
    pub kind: u16,
    /// Message.
    pub message: &'a [u8],
}

/// An XA_PREPARE event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XaPrepareEvent<'a> {
    /// Whether this is XA COMMIT ... ONE PHASE.
    pub one_phase: bool,
    /// XID format id.
    pub format_id: u32,
    /// Global transaction id part.
    pub gtrid: &'a [u8],
    /// Branch qualifier part.
    pub bqual: &'a [u8],
}

/// A MySQL GTID, ANONYMOUS_GTID or tagged GTID event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GtidEvent {
    /// Whether this is ANONYMOUS_GTID (34).
    pub anonymous: bool,
    /// GTID flags (1 = may have statement-based events).
    pub flags: u8,
    /// Source UUID.
    pub sid: [u8; 16],
    /// Tag (MySQL 8.3+ tagged GTIDs).
    pub tag: Option<String>,
    /// Transaction number.
    pub gno: i64,
    /// Logical clock: last committed.
    pub last_committed: Option<i64>,
    /// Logical clock: sequence number.
    pub sequence_number: Option<i64>,
    /// Commit time on this server, microseconds since the epoch.
    pub immediate_commit_timestamp: Option<u64>,
    /// Commit time on the originating server.
    pub original_commit_timestamp: Option<u64>,
    /// Transaction length in bytes.
    pub transaction_length: Option<u64>,
    /// Version of this server (e.g. 80027).
    pub immediate_server_version: Option<u32>,
    /// Version of the originating server.
    pub original_server_version: Option<u32>,
    /// Binlog group commit ticket.
    pub commit_group_ticket: Option<u64>,
}

/// Formats a 16-byte UUID in its canonical text form.
pub fn uuid_string(u: &[u8; 16]) -> String {
    let h: String = u.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

impl GtidEvent {
    /// `uuid:gno` or `uuid:tag:gno`.
    pub fn gtid_string(&self) -> String {
        match &self.tag {
            Some(t) => format!("{}:{}:{}", uuid_string(&self.sid), t, self.gno),
            None => format!("{}:{}", uuid_string(&self.sid), self.gno),
        }
    }

    fn parse(body: &[u8], base: u64, anonymous: bool) -> Result<GtidEvent> {
        let mut r = Rd::new(body, base);
        let flags = r.u8("GTID flags")?;
        let sid = r.array::<16>("GTID sid")?;
        let gno = r.u64("GTID gno")? as i64;
        let mut g = GtidEvent {
            anonymous,
            flags,
            sid,
            gno,
            ..GtidEvent::default()
        };
        // Logical timestamps (type code 2) since MySQL 5.7.
        if r.rest().first() == Some(&2) {
            r.skip(1, "logical clock type")?;
            g.last_committed = Some(r.u64("last committed")? as i64);
            g.sequence_number = Some(r.u64("sequence number")? as i64);
        } else {
            return Ok(g);
        }
        if r.remaining() >= 7 {
            let ts = r.uint_n(7, "immediate commit timestamp")?;
            if ts & (1 << 55) != 0 {
                g.immediate_commit_timestamp = Some(ts & !(1 << 55));
                g.original_commit_timestamp = Some(r.uint_n(7, "original commit timestamp")?);
            } else {
                g.immediate_commit_timestamp = Some(ts);
                g.original_commit_timestamp = Some(ts);
            }
        }
        if !r.is_empty() {
            g.transaction_length = Some(r.packed("transaction length")?);
        }
        if r.remaining() >= 4 {
            let v = r.u32("immediate server version")?;
            if v & (1 << 31) != 0 {
                g.immediate_server_version = Some(v & !(1 << 31));
                g.original_server_version = Some(r.u32("original server version")?);
            } else {
                g.immediate_server_version = Some(v);
                g.original_server_version = Some(v);
            }
        }
        if r.remaining() >= 8 {
            g.commit_group_ticket = Some(r.u64("commit group ticket")?);
        }
        Ok(g)
    }

    /// GTID_TAGGED_LOG_EVENT (42), written with MySQL's serialization
    /// library (`libs/mysql/serialization`): varlen integers whose first
    /// byte's trailing one-bits count the extra bytes.
    fn parse_tagged(body: &[u8], base: u64) -> Result<GtidEvent> {
        let mut r = Rd::new(body, base);
        let start = r.remaining();
        let _version = varlen_u(&mut r)?;
        let at = r.offset();
        let size = varlen_u(&mut r)?;
        let last_non_ignorable = varlen_u(&mut r)?;
        let used = (start - r.remaining()) as u64;
        if size < used || size - used > r.remaining() as u64 {
            return Err(Error::malformed(
                at,
                format!("tagged GTID payload size {size} does not fit the event"),
            ));
        }
        let fields = r.bytes((size - used) as usize, "tagged GTID fields")?;
        let mut f = Rd::new(fields, r.offset() - (size - used));
        let mut g = GtidEvent::default();
        while !f.is_empty() {
            let fat = f.offset();
            let id = varlen_u(&mut f)?;
            match id {
                0 => g.flags = varlen_u(&mut f)? as u8,
                1 => {
                    for b in g.sid.iter_mut() {
                        *b = varlen_u(&mut f)? as u8;
                    }
                }
                2 => g.gno = varlen_i(&mut f)?,
                3 => {
                    let n = varlen_u(&mut f)?;
                    if n > f.remaining() as u64 {
                        return Err(Error::eof(f.offset(), n - f.remaining() as u64, "GTID tag"));
                    }
                    g.tag = Some(lossy(f.bytes(n as usize, "GTID tag")?));
                }
                4 => g.last_committed = Some(varlen_i(&mut f)?),
                5 => g.sequence_number = Some(varlen_i(&mut f)?),
                6 => g.immediate_commit_timestamp = Some(varlen_u(&mut f)?),
                7 => g.original_commit_timestamp = Some(varlen_u(&mut f)?),
                8 => g.transaction_length = Some(varlen_u(&mut f)?),
                9 => g.immediate_server_version = Some(varlen_u(&mut f)? as u32),
                10 => g.original_server_version = Some(varlen_u(&mut f)? as u32),
                11 => g.commit_group_ticket = Some(varlen_u(&mut f)?),
                _ if id > last_non_ignorable => break,
                _ => {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        fat,
                        format!("unknown tagged GTID field {id}"),
                    ));
                }
            }
        }
        if g.original_commit_timestamp.is_none() {
            g.original_commit_timestamp = g.immediate_commit_timestamp;
        }
        if g.original_server_version.is_none() {
            g.original_server_version = g.immediate_server_version;
        }
        Ok(g)
    }
}

/// MySQL serialization-library unsigned varlen integer.
fn varlen_u(r: &mut Rd<'_>) -> Result<u64> {
    let at = r.offset();
    let first = *r.rest().first().ok_or_else(|| r.eof(1, "varlen integer"))?;
    let ones = first.trailing_ones() as usize;
    if ones == 8 {
        r.skip(1, "varlen integer")?;
        return r.u64("varlen integer");
    }
    let n = ones + 1;
    let b = r
        .bytes(n, "varlen integer")
        .map_err(|e| e.with_offset(at))?;
    Ok(crate::rd::le_uint(b) >> n)
}

/// Signed varlen integer (zig-zag: the sign in the lowest bit).
fn varlen_i(r: &mut Rd<'_>) -> Result<i64> {
    let u = varlen_u(r)?;
    Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
}

/// One source of a GTID set (PREVIOUS_GTIDS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GtidSetEntry {
    /// Source UUID.
    pub sid: [u8; 16],
    /// Tag, in the tagged format of MySQL 8.3+.
    pub tag: Option<String>,
    /// Intervals `[start, end)`.
    pub intervals: Vec<(i64, i64)>,
}

/// Renders a GTID set as MySQL does (`uuid:1-5:7,uuid2:3`).
pub fn gtid_set_string(set: &[GtidSetEntry]) -> String {
    let mut out = Vec::new();
    for e in set {
        let mut s = uuid_string(&e.sid);
        if let Some(t) = &e.tag {
            s.push(':');
            s.push_str(t);
        }
        for &(a, b) in &e.intervals {
            if b - 1 == a {
                s.push_str(&format!(":{a}"));
            } else {
                s.push_str(&format!(":{a}-{}", b - 1));
            }
        }
        out.push(s);
    }
    out.join(",")
}

fn parse_gtid_set(body: &[u8], base: u64) -> Result<Vec<GtidSetEntry>> {
    let mut r = Rd::new(body, base);
    let at = r.offset();
    let head = r.u64("GTID set header")?;
    let tagged = (head >> 56) != 0;
    let n = if tagged {
        (head >> 8) & ((1 << 48) - 1)
    } else {
        head & ((1 << 56) - 1)
    };
    if n > (r.remaining() / 16) as u64 {
        return Err(Error::malformed(
            at,
            format!("GTID set claims {n} sources, more than the event holds"),
        ));
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let sid = r.array::<16>("GTID set uuid")?;
        let tag = if tagged {
            let tl = varlen_u(&mut r)?;
            if tl > r.remaining() as u64 {
                return Err(Error::eof(
                    r.offset(),
                    tl - r.remaining() as u64,
                    "GTID set tag",
                ));
            }
            let t = r.bytes(tl as usize, "GTID set tag")?;
            if t.is_empty() { None } else { Some(lossy(t)) }
        } else {
            None
        };
        let iat = r.offset();
        let k = r.u64("GTID interval count")?;
        if k > (r.remaining() / 16) as u64 {
            return Err(Error::malformed(
                iat,
                format!("GTID set claims {k} intervals, more than the event holds"),
            ));
        }
        let mut intervals = Vec::with_capacity(k as usize);
        for _ in 0..k {
            let a = r.u64("interval start")? as i64;
            let b = r.u64("interval end")? as i64;
            intervals.push((a, b));
        }
        out.push(GtidSetEntry {
            sid,
            tag,
            intervals,
        });
    }
    Ok(out)
}

/// A TRANSACTION_PAYLOAD event: a compressed run of events without
/// checksums. Use [`TransactionPayloadEvent::decompress`] then
/// [`TransactionPayloadEvent::events`].
#[derive(Debug, Clone)]
pub struct TransactionPayloadEvent<'a> {
    /// Absolute position of the payload event.
    pub position: u64,
    /// Compression type: 0 = zstd, 255 = none.
    pub compression: u64,
    /// Declared uncompressed size.
    pub uncompressed_size: Option<u64>,
    /// The compressed bytes.
    pub payload: &'a [u8],
    fde: Arc<FormatDescription>,
    opts: ReadOptions,
}

impl TransactionPayloadEvent<'_> {
    fn parse<'a>(
        body: &'a [u8],
        base: u64,
        position: u64,
        ctx: &Context,
    ) -> Result<TransactionPayloadEvent<'a>> {
        let mut r = Rd::new(body, base);
        let mut size = None;
        let mut compression = None;
        let mut uncompressed_size = None;
        loop {
            let at = r.offset();
            let t = r.packed("payload field type")?;
            if t == 0 {
                break;
            }
            let len = r.packed_len("payload field length")?;
            let v = r.bytes(len, "payload field")?;
            let mut vr = Rd::new(v, at);
            match t {
                1 => size = Some(vr.packed("payload size")?),
                2 => compression = Some(vr.packed("compression type")?),
                3 => uncompressed_size = Some(vr.packed("uncompressed size")?),
                _ => {}
            }
        }
        let at = r.offset();
        let size =
            size.ok_or_else(|| Error::malformed(at, "transaction payload without a size field"))?;
        let compression = compression.ok_or_else(|| {
            Error::malformed(at, "transaction payload without a compression type")
        })?;
        if size > r.remaining() as u64 {
            return Err(Error::eof(
                at,
                size - r.remaining() as u64,
                "transaction payload",
            ));
        }
        let payload = r.bytes(size as usize, "transaction payload")?;
        Ok(TransactionPayloadEvent {
            position,
            compression,
            uncompressed_size,
            payload,
            fde: ctx.fde.clone(),
            opts: ctx.opts,
        })
    }

    /// Decompresses the payload, refusing output beyond the declared size or
    /// the reader's event-size limit.
    pub fn decompress(&self) -> Result<Vec<u8>> {
        let limit = self
            .uncompressed_size
            .unwrap_or(u64::MAX)
            .min(u64::from(self.opts.max_event_size));
        match self.compression {
            255 => Ok(self.payload.to_vec()),
            0 => {
                let dec = zstd::stream::read::Decoder::new(self.payload).map_err(|e| {
                    Error::new(ErrorKind::Malformed, self.position, format!("zstd: {e}"))
                })?;
                let mut out = Vec::with_capacity(limit.min(1 << 20) as usize);
                dec.take(limit + 1).read_to_end(&mut out).map_err(|e| {
                    Error::new(
                        ErrorKind::Malformed,
                        self.position,
                        format!("zstd payload: {e}"),
                    )
                })?;
                if out.len() as u64 > limit {
                    return Err(Error::new(
                        ErrorKind::TooLarge,
                        self.position,
                        "transaction payload larger than declared",
                    ));
                }
                if let Some(n) = self.uncompressed_size
                    && n != out.len() as u64
                {
                    return Err(Error::malformed(
                        self.position,
                        format!(
                            "transaction payload decompressed to {} bytes, {n} declared",
                            out.len()
                        ),
                    ));
                }
                Ok(out)
            }
            c => Err(Error::new(
                ErrorKind::Unsupported,
                self.position,
                format!("unknown payload compression {c}"),
            )),
        }
    }

    /// Iterates over the events inside an uncompressed payload. Inner
    /// events have no checksum; their positions are offsets in the payload,
    /// and errors report the payload event's absolute position.
    pub fn events<'b>(&self, uncompressed: &'b [u8]) -> crate::reader::Events<'b> {
        let mut ctx = Context::new(self.opts);
        ctx.fde = self.fde.clone();
        ctx.crc = false;
        crate::reader::Events::inner(uncompressed, ctx, self.position)
    }
}

/// A MariaDB GTID event: `domain-server-sequence`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MariaGtidEvent<'a> {
    /// Sequence number.
    pub seq_no: u64,
    /// Replication domain.
    pub domain_id: u32,
    /// Flags (1 standalone, 2 group commit id, 4 transactional, 8 allow
    /// parallel, 16 waited, 32 DDL, 64 prepared XA, 128 completed XA).
    pub flags: u8,
    /// Group commit id, when flag 2 is set.
    pub commit_id: Option<u64>,
    /// XA XID (format id, gtrid, bqual) for XA transactions.
    pub xid: Option<(u32, &'a [u8], &'a [u8])>,
    /// Extra flags byte of newer servers and what follows, kept raw.
    pub extra: &'a [u8],
}

/// MariaDB GTID event flags (`Gtid_log_event::FL_*`).
pub mod maria_gtid_flag {
    #![allow(missing_docs)]
    pub const STANDALONE: u8 = 1;
    pub const GROUP_COMMIT_ID: u8 = 2;
    pub const TRANSACTIONAL: u8 = 4;
    pub const ALLOW_PARALLEL: u8 = 8;
    pub const WAITED: u8 = 16;
    pub const DDL: u8 = 32;
    pub const PREPARED_XA: u8 = 64;
    pub const COMPLETED_XA: u8 = 128;
}

impl MariaGtidEvent<'_> {
    /// The flags as words, in the order and spelling of `mariadb-binlog`
    /// (`ddl`, `trans`, `waited`) followed by those it does not print
    /// (`standalone`, `xa-prepare`, `xa-commit`). ALLOW_PARALLEL, set on
    /// almost every event, and GROUP_COMMIT_ID (shown as `cid=N` from
    /// [`MariaGtidEvent::commit_id`]) are left out.
    pub fn flag_words(&self) -> impl Iterator<Item = &'static str> + '_ {
        use maria_gtid_flag as f;
        [
            (f::DDL, "ddl"),
            (f::TRANSACTIONAL, "trans"),
            (f::WAITED, "waited"),
            (f::STANDALONE, "standalone"),
            (f::PREPARED_XA, "xa-prepare"),
            (f::COMPLETED_XA, "xa-commit"),
        ]
        .into_iter()
        .filter(|(bit, _)| self.flags & bit != 0)
        .map(|(_, w)| w)
    }

    fn parse(body: &[u8], base: u64) -> Result<MariaGtidEvent<'_>> {
        let mut r = Rd::new(body, base);
        let seq_no = r.u64("GTID sequence")?;
        let domain_id = r.u32("GTID domain")?;
        let flags = r.u8("GTID flags")?;
        let commit_id = if flags & 2 != 0 {
            Some(r.u64("commit id")?)
        } else {
            r.skip(6.min(r.remaining()), "GTID padding")?;
            None
        };
        let xid = if flags & (64 | 128) != 0 {
            let fid = r.u32("XID format id")?;
            let g = r.u8("gtrid length")?;
            let b = r.u8("bqual length")?;
            let gt = r.bytes(usize::from(g), "gtrid")?;
            let bq = r.bytes(usize::from(b), "bqual")?;
            Some((fid, gt, bq))
        } else {
            None
        };
        Ok(MariaGtidEvent {
            seq_no,
            domain_id,
            flags,
            commit_id,
            xid,
            extra: r.rest(),
        })
    }
}

/// A MariaDB GTID_LIST event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GtidListEvent {
    /// Flags (top 4 bits of the count).
    pub flags: u8,
    /// (domain, server, sequence) triples.
    pub gtids: Vec<(u32, u32, u64)>,
}

fn parse_gtid_list(body: &[u8], base: u64) -> Result<GtidListEvent> {
    let mut r = Rd::new(body, base);
    let at = r.offset();
    let v = r.u32("GTID list count")?;
    let n = (v & 0x0fff_ffff) as usize;
    if n > r.remaining() / 16 {
        return Err(Error::malformed(
            at,
            format!("GTID list claims {n} entries, more than the event holds"),
        ));
    }
    let mut gtids = Vec::with_capacity(n);
    for _ in 0..n {
        gtids.push((r.u32("domain")?, r.u32("server")?, r.u64("sequence")?));
    }
    Ok(GtidListEvent {
        flags: (v >> 28) as u8,
        gtids,
    })
}

/// Decompresses a MariaDB compressed payload: a header byte `0x80 |
/// algorithm << 4 | n` followed by the uncompressed length in `n` (1..=4)
/// big-endian bytes and a zlib stream (MariaDB `sql/log_event.cc`
/// `binlog_buf_uncompress`).
pub(crate) fn mariadb_uncompress(b: &[u8], at: u64, max: usize) -> Result<Vec<u8>> {
    let Some(&h) = b.first() else {
        return Err(Error::eof(at, 1, "compressed header"));
    };
    if h & 0x80 == 0 || h & 0x70 != 0 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            at,
            format!("unknown compression header 0x{h:02x}"),
        ));
    }
    let n = usize::from(h & 0x07);
    if !(1..=4).contains(&n) {
        return Err(Error::malformed(at, format!("compressed length width {n}")));
    }
    let Some(lb) = b.get(1..1 + n) else {
        return Err(Error::eof(
            at + 1,
            (1 + n - b.len()) as u64,
            "compressed length",
        ));
    };
    let len = crate::rd::be_uint(lb) as usize;
    if len > max {
        return Err(Error::new(
            ErrorKind::TooLarge,
            at,
            format!("uncompressed size {len} exceeds the limit"),
        ));
    }
    let mut out = Vec::with_capacity(len.min(1 << 20));
    let dec = flate2::read::ZlibDecoder::new(&b[1 + n..]);
    dec.take(len as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::malformed(at, format!("zlib: {e}")))?;
    if out.len() != len {
        return Err(Error::malformed(
            at,
            format!("decompressed {} bytes, {len} declared", out.len()),
        ));
    }
    Ok(out)
}

/// Parses one whole event (`raw` = exactly `event_length` bytes at absolute
/// `position`), verifying its checksum and updating the context.
pub(crate) fn parse_event<'a>(
    raw: &'a [u8],
    position: u64,
    ctx: &mut Context,
) -> Result<Event<'a>> {
    if raw.len() < HEADER_LEN {
        return Err(Error::eof(
            position,
            (HEADER_LEN - raw.len()) as u64,
            "event header",
        ));
    }
    let header = EventHeader::parse(raw, position)?;
    if header.event_length as usize != raw.len() {
        return Err(Error::malformed(
            position + 9,
            "event length does not match its frame",
        ));
    }
    if std::mem::take(&mut ctx.expect_fde) && header.type_code != et::FORMAT_DESCRIPTION {
        let what = if header.type_code == et::START_V3 {
            "a Start_v3 event (binlog format v1/v3 of MySQL before 5.0, which this reader does not read)"
        } else {
            "not a format description event: damaged, or not a v4 binlog"
        };
        return Err(Error::malformed(
            position + 4,
            format!(
                "the first event of a v4 binlog must be a format description event; the event at offset {position} has type {} ({}), {what}",
                header.type_code,
                crate::consts::type_name(header.type_code)
            ),
        ));
    }
    let code = ctx.fde.current_type_code(header.type_code);
    let mut header = header;
    header.type_code = code;
    if ctx.encrypted {
        return Err(Error::new(
            ErrorKind::Unsupported,
            position,
            "event follows START_ENCRYPTION: encrypted binlogs cannot be read",
        ));
    }
    if code == et::FORMAT_DESCRIPTION {
        let fde = FormatDescription::parse(raw, position)?;
        if fde.has_crc32() {
            verify_crc(raw, position, ctx.opts.verify_checksums)?;
        }
        ctx.no_crc_decided_at = match fde.checksum_alg {
            Some(1) => None,
            // The algorithm byte is the fifth from the end.
            Some(_) => Some(position + raw.len() as u64 - 5),
            // The server version.
            None => Some(position + HEADER_LEN as u64 + 2),
        };
        let fde = Arc::new(fde);
        ctx.crc = fde.has_crc32();
        ctx.fde = fde.clone();
        return Ok(Event {
            position,
            header,
            raw,
            body: EventBody::FormatDescription(fde),
        });
    }
    if let Some(at) = ctx.no_crc_decided_at.take()
        && ctx.opts.verify_checksums
        && raw.len() >= HEADER_LEN + CHECKSUM_LEN
        && crc32fast::hash(&raw[..raw.len() - CHECKSUM_LEN]) == stored_crc(raw)
    {
        return Err(Error::malformed(
            at,
            format!(
                "the format description event says the events carry no checksum (server {:?}, algorithm {:?}), but the event at {position} ends with its valid CRC32: damaged format description",
                ctx.fde.server_version, ctx.fde.checksum_alg
            ),
        ));
    }
    let hl = usize::from(ctx.fde.header_len).max(HEADER_LEN);
    let mut end = raw.len();
    if ctx.crc {
        if raw.len() < hl + CHECKSUM_LEN {
            return Err(Error::malformed(
                position + 9,
                format!(
                    "event length {} too short for header and checksum",
                    raw.len()
                ),
            ));
        }
        verify_crc(raw, position, ctx.opts.verify_checksums)?;
        end -= CHECKSUM_LEN;
    } else if raw.len() < hl {
        return Err(Error::malformed(
            position + 9,
            format!(
                "event length {} shorter than the {hl}-byte header",
                raw.len()
            ),
        ));
    }
    let body = &raw[hl..end];
    let base = position + hl as u64;
    let phl = ctx.fde.post_header_len(code);
    let body = parse_body(code, body, base, phl, position, ctx)?;
    Ok(Event {
        position,
        header,
        raw,
        body,
    })
}

pub(crate) fn verify_crc(raw: &[u8], position: u64, verify: bool) -> Result<()> {
    let n = raw.len() - CHECKSUM_LEN;
    if !verify {
        return Ok(());
    }
    let stored = u32::from_le_bytes([raw[n], raw[n + 1], raw[n + 2], raw[n + 3]]);
    // The FDE is checksummed with LOG_EVENT_BINLOG_IN_USE_F (0x1) clear:
    // the server clears the flag when it closes the file without updating
    // the checksum (MySQL `Log_event_footer::event_checksum_test`).
    let actual = if raw[4] == et::FORMAT_DESCRIPTION {
        let mut h = crc32fast::Hasher::new();
        h.update(&raw[..17]);
        h.update(&[raw[17] & !1]);
        h.update(&raw[18..n]);
        h.finalize()
    } else {
        crc32fast::hash(&raw[..n])
    };
    if stored != actual {
        return Err(Error::new(
            ErrorKind::Checksum {
                expected: stored,
                actual,
            },
            position,
            format!(
                "CRC32 mismatch in {} event",
                crate::consts::type_name(raw[4])
            ),
        ));
    }
    Ok(())
}

/// Skips a post-header of `phl` bytes of which the parser reads `known`.
fn skip_post_header(r: &mut Rd<'_>, phl: u8, known: usize) -> Result<()> {
    let phl = usize::from(phl);
    if phl > known {
        r.skip(phl - known, "post-header")?;
    }
    Ok(())
}

fn parse_body<'a>(
    code: u8,
    body: &'a [u8],
    base: u64,
    phl: u8,
    position: u64,
    ctx: &mut Context,
) -> Result<EventBody<'a>> {
    let mut r = Rd::new(body, base);
    Ok(match code {
        et::QUERY | et::QUERY_COMPRESSED => {
            let thread_id = r.u32("thread id")?;
            let exec_time = r.u32("exec time")?;
            let db_len = r.u8("schema length")?;
            let error_code = r.u16("error code")?;
            let sv_len = if phl >= 13 {
                r.u16("status vars length")?
            } else {
                0
            };
            skip_post_header(&mut r, phl, 13)?;
            let sv_at = r.offset();
            let sv = r.bytes(usize::from(sv_len), "status variables")?;
            let status_vars = parse_status_vars(sv, sv_at)?;
            let schema = r.bytes(usize::from(db_len), "schema")?;
            r.skip(1, "schema terminator")?;
            let qat = r.offset();
            let q = r.rest();
            let compressed = code == et::QUERY_COMPRESSED;
            let query = if compressed {
                Cow::Owned(mariadb_uncompress(
                    q,
                    qat,
                    ctx.opts.max_event_size as usize,
                )?)
            } else {
                Cow::Borrowed(q)
            };
            EventBody::Query(QueryEvent {
                thread_id,
                exec_time,
                error_code,
                status_vars,
                schema,
                query,
                compressed,
            })
        }
        et::STOP => EventBody::Stop,
        et::ROTATE => {
            let pos = if phl >= 8 {
                r.u64("rotate position")?
            } else {
                4
            };
            skip_post_header(&mut r, phl, 8)?;
            EventBody::Rotate(RotateEvent {
                position: pos,
                next_file: r.rest(),
            })
        }
        et::INTVAR => {
            skip_post_header(&mut r, phl, 0)?;
            EventBody::IntVar(IntVarEvent {
                kind: r.u8("intvar type")?,
                value: r.u64("intvar value")?,
            })
        }
        et::RAND => {
            skip_post_header(&mut r, phl, 0)?;
            EventBody::Rand(RandEvent {
                seed1: r.u64("rand seed1")?,
                seed2: r.u64("rand seed2")?,
            })
        }
        et::USER_VAR => {
            skip_post_header(&mut r, phl, 0)?;
            let n = r.u32("user var name length")? as usize;
            let name = r.bytes(n, "user var name")?;
            let is_null = r.u8("user var null flag")? != 0;
            let value = if is_null {
                None
            } else {
                let value_type = r.u8("user var type")?;
                let charset = r.u32("user var charset")?;
                let n = r.u32("user var value length")? as usize;
                let value = r.bytes(n, "user var value")?;
                let flags = if r.is_empty() {
                    None
                } else {
                    Some(r.u8("user var flags")?)
                };
                Some(UserVarValue {
                    value_type,
                    charset,
                    value,
                    flags,
                })
            };
            EventBody::UserVar(UserVarEvent { name, value })
        }
        et::XID => {
            skip_post_header(&mut r, phl, 0)?;
            EventBody::Xid(r.u64("xid")?)
        }
        et::TABLE_MAP => {
            let tm = Arc::new(TableMap::parse(body, base, phl, position)?);
            ctx.tables.insert(tm.table_id, tm.clone());
            EventBody::TableMap(tm)
        }
        et::PRE_GA_WRITE_ROWS..=et::DELETE_ROWS_V1
        | et::WRITE_ROWS..=et::DELETE_ROWS
        | et::PARTIAL_UPDATE_ROWS
        | et::WRITE_ROWS_COMPRESSED_V1..=et::DELETE_ROWS_COMPRESSED => {
            EventBody::Rows(RowsEvent::parse(
                code,
                body,
                base,
                phl,
                position,
                &ctx.tables,
                ctx.opts.max_event_size as usize,
            )?)
        }
        et::INCIDENT => {
            let at = r.offset();
            let kind = r.u16("incident type")?;
            // Servers define one incident, LOST_EVENTS (1); MySQL and
            // MariaDB reject any other number as an invalid event.
            if kind != INCIDENT_LOST_EVENTS {
                return Err(Error::malformed(
                    at,
                    format!(
                        "unknown incident {kind} in the Incident event at {position} (only 1, LOST_EVENTS, exists)"
                    ),
                ));
            }
            skip_post_header(&mut r, phl, 2)?;
            let n = r.u8("incident message length")?;
            EventBody::Incident(IncidentEvent {
                kind,
                message: r.bytes(usize::from(n), "incident message")?,
            })
        }
        et::HEARTBEAT => EventBody::Heartbeat(body),
        et::ROWS_QUERY => {
            skip_post_header(&mut r, phl, 0)?;
            r.skip(1, "rows query length")?;
            EventBody::RowsQuery(r.rest())
        }
        et::GTID | et::ANONYMOUS_GTID => {
            EventBody::Gtid(GtidEvent::parse(body, base, code == et::ANONYMOUS_GTID)?)
        }
        et::GTID_TAGGED => EventBody::Gtid(GtidEvent::parse_tagged(body, base)?),
        et::PREVIOUS_GTIDS => EventBody::PreviousGtids(parse_gtid_set(body, base)?),
        et::XA_PREPARE => {
            let one_phase = r.u8("one phase")? != 0;
            let format_id = r.u32("XID format id")?;
            let g = r.u32("gtrid length")? as usize;
            let b = r.u32("bqual length")? as usize;
            let gtrid = r.bytes(g, "gtrid")?;
            let bqual = r.bytes(b, "bqual")?;
            EventBody::XaPrepare(XaPrepareEvent {
                one_phase,
                format_id,
                gtrid,
                bqual,
            })
        }
        et::TRANSACTION_PAYLOAD => EventBody::TransactionPayload(TransactionPayloadEvent::parse(
            body, base, position, ctx,
        )?),
        et::ANNOTATE_ROWS => EventBody::AnnotateRows(body),
        et::BINLOG_CHECKPOINT => {
            let n = r.u32("checkpoint name length")? as usize;
            EventBody::BinlogCheckpoint(r.bytes(n, "checkpoint file name")?)
        }
        et::MARIA_GTID => EventBody::MariaGtid(MariaGtidEvent::parse(body, base)?),
        et::GTID_LIST => EventBody::GtidList(parse_gtid_list(body, base)?),
        et::START_ENCRYPTION => {
            ctx.encrypted = true;
            EventBody::StartEncryption(body)
        }
        _ => EventBody::Opaque(body),
    })
}
