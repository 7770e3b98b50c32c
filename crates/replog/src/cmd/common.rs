//! Pieces shared by subcommands: the arguments every command takes in the
//! same way (the log read, the output format, the recovery policy), time parsing, and dispatch
//! on the kind of a native log.

use crate::input::Inputs;
use replog_core::recovery::RecoveryPolicy;
use std::path::Path;

/// The log a command reads, as every command takes it.
#[derive(Debug, Clone, clap::Args)]
pub struct Input {
    /// Log files, directories of segments, or `-` for standard input
    /// (once; never written to a file: a binlog is read as a stream, a
    /// native log held in memory); together one log. MySQL/MariaDB binlogs
    /// are read too: files, a directory of binlogs, or a binlog index file
    /// (`*.index`).
    #[arg(required = true, value_name = "LOG")]
    pub paths: Vec<String>,
    /// PostgreSQL WAL only: the catalog file of the server that wrote it
    /// (the output of fixtures/postgres/catalog.sql; see formats/pgheap.md).
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<std::path::PathBuf>,
    /// PostgreSQL sources only: bytes of open transactions' changes held in
    /// memory; beyond, the largest go to temporary files.
    #[arg(long, value_name = "BYTES", value_parser = parse_size, long_help = SPILL_HELP)]
    pub spill_limit: Option<usize>,
    /// Server URLs only: read the password from this file (its first
    /// line). Without it the password comes from the environment
    /// (mysql://: REPLOG_PASSWORD, else MYSQL_PWD; postgres://: PGPASSWORD,
    /// else ~/.pgpass); it is never taken on the command line and never
    /// printed.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<std::path::PathBuf>,
}

/// Help text of `--spill-limit`.
pub const SPILL_HELP: &str = "\
PostgreSQL sources only (WAL with --catalog, logical decoding captures,
postgres:// servers): the most bytes of open transactions' changes held in
memory, as a number with an optional suffix K, M or G (KiB, MiB, GiB);
default 256M. Beyond it the largest open transactions' changes move to
temporary files, which are deleted when the command ends (the one case
where replog writes temporary files); they are made in TMPDIR (else /tmp).
A committed transaction is read back from its file change by change, so
memory stays near the limit whatever the size of a transaction, when
writing a log (convert --to logical, invert); other commands take a
committed transaction whole.";

/// A size with an optional suffix K, M or G (binary units): `256M`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 10),
        Some((i, 'm' | 'M')) => (&t[..i], 20),
        Some((i, 'g' | 'G')) => (&t[..i], 30),
        _ => (t, 0),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size (a number, optionally with K, M or G)"))?;
    n.checked_mul(1usize << shift)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// The log a command reads to its end, as every such command takes it:
/// the log ([`Input`]) and which of its damage ends it ([`Recovery`]).
#[derive(Debug, Clone, clap::Args)]
pub struct ReadLog {
    /// The log.
    #[command(flatten)]
    pub input: Input,
    /// Which damage ends it without an error.
    #[command(flatten)]
    pub recovery: Recovery,
}

/// How a command prints its results, as every command takes it:
/// `--format table|json|ndjson` (`replog dump` adds `tsv`).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Output {
    /// Output format: aligned tables for people, one JSON document, or one
    /// JSON object per line (per record, statement or difference, then the
    /// summary).
    #[arg(long, value_enum, default_value_t)]
    pub format: crate::output::OutputFormat,
}

/// Help text of `--follow`, the same for every command that takes it.
pub const FOLLOW_HELP: &str = "\
Keep reading as the log grows, as `tail -f` does: at the end of the valid
data wait for more (a torn tail is waited for, not reported), go on into
the successor a binlog rotates to (`mariadb-bin.000002` after
`mariadb-bin.000001`; a tail still incomplete once the successor exists is
damage), and end on SIGINT or SIGTERM at the last whole transaction or
event read, printing that position (file:pos, GTID) on standard error,
with exit status 0. MySQL/MariaDB binlogs, and PostgreSQL server URLs
(postgres://…?slot=…: streaming goes on past the server's WAL end at the
start; SIGINT or SIGTERM ends it after the last whole transaction, which
is confirmed to the server). Not yet other logs.";

/// `--follow`, as every command that can follow a growing log takes it.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct FollowArg {
    /// Keep reading as the log grows (binlogs); end on SIGINT/SIGTERM.
    #[arg(long, long_help = FOLLOW_HELP)]
    pub follow: bool,
}

impl FollowArg {
    /// The follow options when `--follow` was given; declares the process
    /// a follower ([`replog_core::follow::start`]), so that SIGINT and
    /// SIGTERM stop it at a whole transaction instead of ending it.
    pub fn start(&self) -> Option<replog_core::follow::Follow> {
        self.follow.then(|| {
            replog_core::follow::start();
            replog_core::follow::Follow::default()
        })
    }
}

/// The password for a server: the first line of `file` when given, else
/// the first of the environment variables `env` that is set, else none
/// (empty). Never part of a message.
pub fn password(file: Option<&Path>, env: &[&str]) -> anyhow::Result<Vec<u8>> {
    if let Some(f) = file {
        let text = std::fs::read(f)
            .map_err(|e| anyhow::anyhow!("reading the password file {}: {e}", f.display()))?;
        let line = text.split(|&b| b == b'\n').next().unwrap_or_default();
        return Ok(line.strip_suffix(b"\r").unwrap_or(line).to_vec());
    }
    Ok(env
        .iter()
        .find_map(std::env::var_os)
        .map(|v| v.into_encoded_bytes())
        .unwrap_or_default())
}

impl Input {
    /// The MySQL/MariaDB server the input names (`mysql://…`, alone),
    /// with its password ([`password`]: `--password-file`,
    /// REPLOG_PASSWORD, MYSQL_PWD); `None` for files.
    pub fn server(&self) -> anyhow::Result<Option<(replog_mysqlrepl::url::Source, Vec<u8>)>> {
        let urls = self
            .paths
            .iter()
            .filter(|p| replog_mysqlrepl::url::is_url(p))
            .count();
        if urls == 0 {
            return Ok(None);
        }
        if self.paths.len() > 1 {
            anyhow::bail!("a server URL is read alone: give no other input with it");
        }
        let src =
            replog_mysqlrepl::url::Source::parse(&self.paths[0]).map_err(anyhow::Error::msg)?;
        let pw = password(
            self.password_file.as_deref(),
            &["REPLOG_PASSWORD", "MYSQL_PWD"],
        )?;
        Ok(Some((src, pw)))
    }

    /// The inputs as given (binlogs left as binlogs).
    pub fn resolve(&self) -> anyhow::Result<Inputs> {
        Inputs::resolve(&expand_binlog_sets(&self.paths)?)
    }

    /// The inputs, binlogs read as transactions as they are imported
    /// ([`Inputs::resolve_source`]).
    pub fn resolve_source(&self) -> anyhow::Result<Inputs> {
        let mut inputs = Inputs::resolve_source_with(
            &expand_binlog_sets(&self.paths)?,
            self.catalog.as_deref(),
        )?;
        if let Some(l) = self.spill_limit {
            inputs.set_spill_limit(l);
        }
        Ok(inputs)
    }

    /// [`Input::resolve_source`], binlogs followed as they grow when
    /// `follow` is given (other logs are refused with `--follow`).
    pub fn resolve_following(
        &self,
        follow: Option<replog_core::follow::Follow>,
    ) -> anyhow::Result<Inputs> {
        if let Some((src, password)) = self.server()? {
            let name = src.file.clone().unwrap_or_else(|| src.display());
            let following = follow.is_some();
            let open: replog_convert::source::FeedOpener = std::sync::Arc::new(move || {
                Box::new(replog_mysqlrepl::feed::Dump::new(
                    src.clone(),
                    password.clone(),
                    following,
                ))
            });
            let remote = replog_convert::source::RemoteBinlogs { name, open };
            return Ok(Inputs::remote(replog_convert::source::BinlogInput::remote(
                remote,
            )));
        }
        let Some(follow) = follow else {
            return self.resolve_source();
        };
        let inputs = Inputs::resolve(&expand_binlog_sets(&self.paths)?)?;
        if inputs.detected != crate::input::Detected::Binlog {
            anyhow::bail!(
                "{}: --follow reads MySQL/MariaDB binlogs only, for now",
                inputs.name(0)
            );
        }
        inputs.following(follow)
    }
}

/// Whether `path` starts with the binlog magic.
fn is_binlog(path: &Path) -> bool {
    let mut head = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && head == *b"\xfebin"
}

/// The binlogs a binlog index file names (one per line, relative to the
/// index's directory, as MariaDB and MySQL write them: `./name.000001`).
fn index_entries(index: &Path) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(index).map_err(|e| anyhow::anyhow!("{}: {e}", index.display()))?;
    let dir = index.parent().unwrap_or(Path::new("."));
    let files: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| dir.join(l).display().to_string())
        .collect();
    if files.is_empty() {
        anyhow::bail!("{}: the binlog index names no binlog", index.display());
    }
    Ok(files)
}

/// `paths` with every binlog index file (`*.index`) replaced by the
/// binlogs it names, and every directory that holds binlogs and no replog
/// segments by its binlogs (in the order of its one index file, else by
/// name); anything else is kept as given.
fn expand_binlog_sets(paths: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        let path = Path::new(p);
        if p != "-" && path.is_file() && path.extension().is_some_and(|e| e == "index") {
            out.extend(index_entries(path)?);
            continue;
        }
        if !path.is_dir() {
            out.push(p.clone());
            continue;
        }
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(path)
            .map_err(|e| anyhow::anyhow!("{p}: {e}"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| f.is_file())
            .collect();
        files.sort();
        if files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "replog"))
        {
            out.push(p.clone());
            continue;
        }
        let indexes: Vec<&std::path::PathBuf> = files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "index"))
            .collect();
        if let [index] = indexes.as_slice() {
            out.extend(index_entries(index)?);
            continue;
        }
        let binlogs: Vec<String> = files
            .iter()
            .filter(|f| is_binlog(f))
            .map(|f| f.display().to_string())
            .collect();
        if binlogs.is_empty() {
            out.push(p.clone());
        } else {
            out.extend(binlogs);
        }
    }
    Ok(out)
}

/// Fails unless `dir` holds a follower store (`replay --store`).
pub fn require_store(dir: &Path) -> anyhow::Result<()> {
    if !replog_follower::is_store_dir(dir) {
        anyhow::bail!(
            "{}: not a follower store (no page store, no store.snapshot)",
            dir.display()
        );
    }
    Ok(())
}

/// Help text of the recovery policy, the same for every command.
pub const RECOVERY_HELP: &str = "\
Which damage ends the log without an error. The default, for every
command, is strict: any damage (a torn tail included) is reported and
nothing is passed off as the end of the log; a log still being written,
or cut by a crash, is read with --recovery tolerate-tail.";

/// `--recovery`, as every command takes it (default: strict).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct Recovery {
    #[arg(long, value_enum, default_value = "strict", long_help = RECOVERY_HELP)]
    /// Which damage ends the log without an error (default: strict).
    pub recovery: RecoveryArg,
}

impl From<Recovery> for RecoveryPolicy {
    fn from(r: Recovery) -> RecoveryPolicy {
        r.recovery.into()
    }
}

impl From<Recovery> for RecoveryArg {
    fn from(r: Recovery) -> RecoveryArg {
        r.recovery
    }
}

/// `--recovery` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RecoveryArg {
    /// Any damage is an error.
    Strict,
    /// A torn tail in the last segment ends the log (reported).
    TolerateTail,
    /// The first damage ends the log (reported): point-in-time recovery.
    StopAtFirst,
}

impl From<RecoveryArg> for RecoveryPolicy {
    fn from(a: RecoveryArg) -> RecoveryPolicy {
        match a {
            RecoveryArg::Strict => RecoveryPolicy::Strict,
            RecoveryArg::TolerateTail => RecoveryPolicy::TolerateTail,
            RecoveryArg::StopAtFirst => RecoveryPolicy::StopAtFirst,
        }
    }
}

/// Parses a time as microseconds since the epoch (UTC): `2024-05-01`,
/// `2024-05-01 12:00:00[.ffffff]`, `2024-05-01T12:00:00Z`, or `@SECONDS`.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Some(secs) = s.strip_prefix('@') {
        return secs
            .parse::<f64>()
            .map(|v| (v * 1e6).round() as i64)
            .map_err(|_| format!("bad epoch seconds {secs:?}"));
    }
    let s = s.trim_end_matches('Z');
    let (date, time) = match s.split_once([' ', 'T']) {
        Some((d, t)) => (d, t),
        None => (s, "00:00:00"),
    };
    let bad = || {
        format!("bad time {s:?}: expected YYYY-MM-DD[ HH:MM:SS[.ffffff]] (UTC) or @EPOCH_SECONDS")
    };
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(dd)), None) = (d.next(), d.next(), d.next(), d.next())
    else {
        return Err(bad());
    };
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.split(':').map(|x| x.parse::<i64>());
    let (Some(Ok(h)), Some(Ok(mi)), sec, None) = (t.next(), t.next(), t.next(), t.next()) else {
        return Err(bad());
    };
    let sec = match sec {
        Some(Ok(v)) => v,
        None => 0,
        Some(Err(_)) => return Err(bad()),
    };
    if !(1..=12).contains(&m)
        || !(1..=31).contains(&dd)
        || h > 23
        || mi > 59
        || sec > 60
        || frac.len() > 6
    {
        return Err(bad());
    }
    let micros = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse::<i64>().map_err(|_| bad())?
    };
    let days = replog_core::value::days_from_civil(y, m as u32, dd as u32);
    Ok(((days * 86_400 + h * 3600 + mi * 60 + sec) * 1_000_000) + micros)
}

/// Calls `$body` with the type `F` bound to the format of `$kind`.
#[macro_export]
macro_rules! with_format {
    ($kind:expr, $f:ident => $body:expr) => {
        match $kind {
            replog_core::LogKind::Statement => {
                type $f = replog_statement::StatementFormat;
                $body
            }
            replog_core::LogKind::Logical => {
                type $f = replog_logical::LogicalFormat;
                $body
            }
            replog_core::LogKind::Physical => {
                type $f = replog_physical::PhysicalFormat;
                $body
            }
        }
    };
}

/// `3 × CREATE PROCEDURE, 1 × DROP VIEW`: counts by kind, for people.
pub fn counts(by_kind: &std::collections::BTreeMap<String, u64>) -> String {
    by_kind
        .iter()
        .map(|(k, n)| format!("{n} × {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a follower or converter left out, by statement kind, under
/// `label`: the DDL of objects without rows it passed over
/// ([`PASSED_OVER`]) or the statements `--skip-unsupported` skipped
/// ([`SKIPPED_UNSUPPORTED`]); nothing when there was none.
pub fn print_counted(
    out: &mut dyn std::io::Write,
    label: &str,
    by_kind: &std::collections::BTreeMap<String, u64>,
) -> std::io::Result<()> {
    if by_kind.is_empty() {
        return Ok(());
    }
    writeln!(out, "{label}: {}", counts(by_kind))
}

/// [`print_counted`]'s label for DDL of objects without rows (routines,
/// triggers, views, events).
pub const PASSED_OVER: &str = "passed over (no rows; the row records carry their effects)";
/// [`print_counted`]'s label for statements `--skip-unsupported` skipped.
pub const SKIPPED_UNSUPPORTED: &str = "skipped (unsupported by the store, --skip-unsupported)";

/// Lists the statements whose rows came from their executor (`whose`:
/// "the converter's", "this follower's") rather than from the log.
pub fn print_dependence(
    out: &mut dyn std::io::Write,
    d: &replog_store::capture::Dependence,
    whose: &str,
) -> std::io::Result<()> {
    if d.dependent_total == 0 {
        return Ok(());
    }
    writeln!(
        out,
        "{} statements produced rows from {whose} environment, not from the log:",
        d.dependent_total
    )?;
    for s in &d.dependent {
        writeln!(
            out,
            "  {}, txid {}: {}\n    {}",
            s.position,
            s.txid,
            s.sql,
            s.reasons.join("; ")
        )?;
    }
    if d.dependent_total > d.dependent.len() as u64 {
        writeln!(
            out,
            "  ... and {} more",
            d.dependent_total - d.dependent.len() as u64
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(super::parse_size("256M"), Ok(256 << 20));
        assert_eq!(super::parse_size("64k"), Ok(64 << 10));
        assert_eq!(super::parse_size("1G"), Ok(1 << 30));
        assert_eq!(super::parse_size("1000"), Ok(1000));
        assert!(super::parse_size("M").is_err());
        assert!(super::parse_size("-1").is_err());
        assert!(super::parse_size("99999999999999999999G").is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1970-01-01").unwrap(), 0);
        assert_eq!(parse_time("1970-01-02 00:00:01.5").unwrap(), 86_401_500_000);
        assert_eq!(
            parse_time("2000-03-01T00:00:00Z").unwrap(),
            951_868_800_000_000
        );
        assert_eq!(parse_time("@1.25").unwrap(), 1_250_000);
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("2020-13-01").is_err());
    }
}
