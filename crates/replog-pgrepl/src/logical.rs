//! Logical streaming from a slot with pgoutput: the
//! [`MessageFeed`] of [`replog_pglogical`]'s live source.

use crate::conn::{Conn, Frame, Mode};
use crate::copy::{self, ServerCopy, lsn_text};
use crate::url::{Password, PgUrl};
use replog_core::error::{Error, ErrorKind, Result};
use replog_pglogical::{FedMessage, MessageFeed, PgStreamSource, stream_source};
use std::time::{Duration, Instant};

/// Newly consumed transactions are confirmed within this delay.
const CONFIRM_DELAY: Duration = Duration::from_secs(1);

/// What `IDENTIFY_SYSTEM` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemInfo {
    /// The cluster's system identifier.
    pub system_id: String,
    /// Current timeline.
    pub timeline: u32,
    /// Current WAL flush position.
    pub xlogpos: u64,
    /// The connection's database (logical connections).
    pub dbname: Option<String>,
}

/// Runs `IDENTIFY_SYSTEM`.
pub fn identify_system(conn: &mut Conn) -> Result<SystemInfo> {
    let rows = conn.query("IDENTIFY_SYSTEM")?;
    let bad = || {
        Error::unplaced(
            ErrorKind::Malformed,
            format!("{}: IDENTIFY_SYSTEM answered an unexpected row", conn.url),
        )
    };
    let row = rows.first().filter(|r| r.len() >= 4).ok_or_else(bad)?;
    Ok(SystemInfo {
        system_id: row[0].clone().ok_or_else(bad)?,
        timeline: row[1]
            .as_deref()
            .and_then(|t| t.parse().ok())
            .ok_or_else(bad)?,
        xlogpos: row[2]
            .as_deref()
            .and_then(copy::parse_lsn)
            .ok_or_else(bad)?,
        dbname: row[3].clone(),
    })
}

/// How to stream from a logical slot.
#[derive(Debug, Clone)]
pub struct LogicalOptions {
    /// Where to start: 0 for the slot's confirmed position, else the end
    /// LSN of the last transaction the consumer holds (transactions
    /// committed before it are not sent again).
    pub start: u64,
    /// Keep streaming after reaching the server's WAL end at the start.
    pub follow: bool,
    /// Confirm consumed transactions to the server (the slot then keeps
    /// no WAL before them). A consumer that keeps nothing (inspect) does
    /// not confirm, so the slot still holds everything it read.
    pub confirm: bool,
    /// How often a status update is sent while streaming.
    pub status_interval: Duration,
}

impl Default for LogicalOptions {
    fn default() -> LogicalOptions {
        LogicalOptions {
            start: 0,
            follow: false,
            confirm: false,
            status_interval: Duration::from_secs(10),
        }
    }
}

/// A logical replication stream (the [`MessageFeed`]).
pub struct LogicalStream {
    /// `None` once the session has ended.
    conn: Option<Conn>,
    identity: String,
    /// The server at the start.
    pub system: SystemInfo,
    /// Stop (between transactions) once the server's decoding has passed
    /// this LSN; `None` with `follow`.
    stop_at: Option<u64>,
    in_txn: bool,
    /// Highest WAL position heard from the server (decoding progress).
    seen: u64,
    /// Highest WAL position received in a message.
    received: u64,
    /// End LSN of the last consumed transaction (what is confirmed).
    consumed: u64,
    /// The flush position sent last.
    sent_flush: u64,
    confirm: bool,
    interval: Duration,
    last_status: Instant,
    last_ping: Instant,
    cur: Option<(Frame, u64)>,
    done: bool,
}

/// Quoted as a string literal of a replication command.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A logical replication connection before streaming: the server is
/// identified, the slot and publication exist.
pub struct Session {
    conn: Conn,
    /// The server.
    pub system: SystemInfo,
    slot: String,
}

impl Session {
    /// Connects to `url`, runs `IDENTIFY_SYSTEM`, and creates the
    /// publications (`FOR ALL TABLES`) and the slot when asked
    /// (`create=1`) and missing.
    pub fn connect(url: &PgUrl, password: &Password) -> Result<Session> {
        let slot = url.slot.clone().ok_or_else(|| {
            Error::unplaced(
                ErrorKind::Malformed,
                format!("{url}: logical streaming needs a slot (?slot=NAME)"),
            )
        })?;
        if url.publications.is_empty() {
            return Err(Error::unplaced(
                ErrorKind::Malformed,
                format!("{url}: pgoutput needs a publication (&publication=NAME)"),
            ));
        }
        let mut conn = Conn::connect(url, password, Mode::Logical)?;
        let system = identify_system(&mut conn)?;
        if url.create {
            for p in &url.publications {
                let have = conn.query(&format!(
                    "SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = {}",
                    literal(p)
                ))?;
                if have.is_empty() {
                    conn.query(&format!("CREATE PUBLICATION {p} FOR ALL TABLES"))?;
                }
            }
            let have = conn.query(&format!(
                "SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = {}",
                literal(&slot)
            ))?;
            if have.is_empty() {
                conn.query(&format!(
                    "CREATE_REPLICATION_SLOT {slot} LOGICAL pgoutput NOEXPORT_SNAPSHOT"
                ))?;
            }
        }
        Ok(Session { conn, system, slot })
    }

    /// The stream's identity, the same on every connection to the same
    /// slot of the same cluster and database.
    pub fn identity(&self) -> String {
        format!(
            "postgres system {} database {} slot {}",
            self.system.system_id, self.conn.url.dbname, self.slot
        )
    }

    /// The slot's confirmed position (`None`: no such slot, or none
    /// confirmed yet).
    pub fn confirmed_flush(&mut self) -> Result<Option<u64>> {
        let rows = self.conn.query(&format!(
            "SELECT confirmed_flush_lsn FROM pg_catalog.pg_replication_slots WHERE slot_name = {}",
            literal(&self.slot)
        ))?;
        Ok(rows
            .first()
            .and_then(|r| r.first())
            .and_then(|v| v.as_deref())
            .and_then(copy::parse_lsn)
            .filter(|&l| l != 0))
    }

    /// Starts streaming.
    pub fn stream(mut self, opts: &LogicalOptions) -> Result<LogicalStream> {
        let url = self.conn.url.clone();
        let mut options = vec![
            format!("proto_version {}", literal(&url.proto_version.to_string())),
            format!("publication_names {}", literal(&url.publications.join(","))),
        ];
        // Logical messages (pg_logical_emit_message) exist in pgoutput
        // from PostgreSQL 14 on; 13 refuses the option.
        if self.conn.server_major() >= 14 {
            options.push("messages 'true'".to_string());
        }
        if let Some(s) = &url.streaming {
            options.push(format!("streaming {}", literal(s)));
        }
        let command = format!(
            "START_REPLICATION SLOT {} LOGICAL {} ({})",
            self.slot,
            lsn_text(opts.start),
            options.join(", ")
        );
        self.conn.start_copy_both(&command).map_err(|e| {
            let m = format!("{} (start LSN {})", e.message(), lsn_text(opts.start));
            Error::new(e.kind(), e.offset().unwrap_or(0), m)
        })?;
        let now = Instant::now();
        let identity = self.identity();
        Ok(LogicalStream {
            stop_at: (!opts.follow).then_some(self.system.xlogpos),
            system: self.system,
            identity,
            conn: Some(self.conn),
            in_txn: false,
            seen: opts.start,
            received: opts.start,
            consumed: opts.start,
            sent_flush: 0,
            confirm: opts.confirm,
            interval: opts.status_interval,
            last_status: now,
            last_ping: now,
            cur: None,
            done: false,
        })
    }
}

impl LogicalStream {
    /// Connects and starts streaming ([`Session::connect`], then
    /// [`Session::stream`]).
    pub fn start(url: &PgUrl, password: &Password, opts: &LogicalOptions) -> Result<LogicalStream> {
        Session::connect(url, password)?.stream(opts)
    }

    /// The stream's identity ([`Session::identity`]).
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The end LSN of the last consumed transaction.
    pub fn consumed_lsn(&self) -> u64 {
        self.consumed
    }

    /// Where the server's decoding stood last heard.
    pub fn server_lsn(&self) -> u64 {
        self.seen
    }

    fn status(&mut self, reply: bool) -> Result<()> {
        let flush = if self.confirm { self.consumed } else { 0 };
        self.sent_flush = flush;
        let m = copy::status_update(self.received, flush, flush, copy::now_pg_us(), reply);
        self.last_status = Instant::now();
        self.conn()?.send_copy_data(&m)
    }

    fn conn(&mut self) -> Result<&mut Conn> {
        self.conn.as_mut().ok_or_else(|| {
            Error::unplaced(ErrorKind::Mismatch, "the replication session has ended")
        })
    }

    /// Ends the session: a last status update (confirming what was
    /// consumed), CopyDone, Terminate. Also done when the stream is
    /// dropped.
    pub fn finish(&mut self) -> Result<()> {
        if self.conn.is_none() {
            return Ok(());
        }
        let r = self
            .status(false)
            .and_then(|()| self.conn()?.send_copy_done());
        if let Some(c) = self.conn.take() {
            c.terminate();
        }
        r
    }

    fn caught_up(&self) -> bool {
        !self.in_txn && self.stop_at.is_some_and(|t| self.seen >= t)
    }
}

impl MessageFeed for LogicalStream {
    fn next_message(&mut self) -> Result<Option<FedMessage<'_>>> {
        self.cur = None;
        loop {
            if self.done {
                return Ok(None);
            }
            // Caught up (without follow), or asked to stop (SIGINT or
            // SIGTERM while following): end after the last whole
            // transaction; an open one is not handed over.
            if self.caught_up() || replog_core::follow::stop_requested() {
                self.done = true;
                self.finish()?;
                return Ok(None);
            }
            // A status update every interval, and within a second of
            // newly consumed transactions (the slot then frees their WAL).
            let since = self.last_status.elapsed();
            if since >= self.interval
                || (self.confirm && self.consumed > self.sent_flush && since >= CONFIRM_DELAY)
            {
                self.status(false)?;
            }
            // Following: wake up often enough to see a stop request.
            let wait = if self.stop_at.is_some() {
                Duration::from_millis(100)
            } else {
                Duration::from_millis(200)
            };
            let Some(f) = self.conn()?.poll_frame(Some(wait))? else {
                // Idle: ask where the server stands (to see that it has
                // nothing more before the stop position).
                if self.stop_at.is_some() && self.last_ping.elapsed() >= wait {
                    self.last_ping = Instant::now();
                    self.status(true)?;
                }
                continue;
            };
            match f.tag {
                b'd' => {}
                b'c' => {
                    self.done = true;
                    self.finish()?;
                    return Ok(None);
                }
                b'N' => continue,
                b'E' => {
                    let e = self.conn()?.server_error(&f, "streaming");
                    return Err(at_lsn(e, self.received));
                }
                t => {
                    let e = self.conn()?.protocol(
                        &f,
                        format!(
                            "unexpected message type {:?} while streaming",
                            char::from(t)
                        ),
                    );
                    return Err(at_lsn(e, self.received));
                }
            }
            match copy::parse(&f.body, f.body_offset()).map_err(|e| at_lsn(e, self.received))? {
                ServerCopy::Keepalive { wal_end, reply, .. } => {
                    self.seen = self.seen.max(wal_end);
                    if reply {
                        self.status(false)?;
                    }
                }
                ServerCopy::XLogData { start, data, .. } => {
                    self.received = self.received.max(start);
                    self.seen = self.seen.max(start);
                    match data.first() {
                        Some(b'B' | b'b' | b'S') => self.in_txn = true,
                        Some(b'C' | b'P' | b'E') => self.in_txn = false,
                        _ => {}
                    }
                    if let (Some(b'C'), Some(end)) = (data.first(), data.get(10..18)) {
                        let mut a = [0u8; 8];
                        a.copy_from_slice(end);
                        self.seen = self.seen.max(u64::from_be_bytes(a));
                    }
                    let offset = f.body_offset() + copy::XLOGDATA_HEADER as u64;
                    self.cur = Some((f, start));
                    let (f, lsn) = self.cur.as_ref().expect("just set");
                    return Ok(Some(FedMessage {
                        bytes: &f.body[copy::XLOGDATA_HEADER..],
                        offset,
                        lsn: *lsn,
                    }));
                }
            }
        }
    }

    fn consumed(&mut self, end_lsn: u64) {
        self.consumed = self.consumed.max(end_lsn);
    }
}

impl Drop for LogicalStream {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Adds the LSN reached to an error's message.
pub(crate) fn at_lsn(e: Error, lsn: u64) -> Error {
    let m = format!("{} (at LSN {})", e.message(), lsn_text(lsn));
    match e.offset() {
        Some(o) => Error::new(e.kind(), o, m),
        None => Error::unplaced(e.kind(), m),
    }
}

/// A live pgoutput stream as a transaction source.
pub type LogicalSource = PgStreamSource<LogicalStream>;

/// Connects and starts streaming (see [`LogicalStream::start`]); the
/// transactions come through `replog_pglogical`'s decoder and assembler.
pub fn open_logical(
    url: &PgUrl,
    password: &Password,
    opts: &LogicalOptions,
) -> Result<LogicalSource> {
    let s = LogicalStream::start(url, password, opts)?;
    let id = s.identity().to_string();
    Ok(stream_source(s, &id))
}
