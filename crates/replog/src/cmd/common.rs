//! Pieces shared by subcommands: the arguments every command takes in the
//! same way (the log read, the recovery policy), time parsing, and dispatch
//! on the kind of a native log.

use crate::input::Inputs;
use replog_core::recovery::RecoveryPolicy;

/// The log a command reads, as every command takes it.
#[derive(Debug, Clone, clap::Args)]
pub struct Input {
    /// Log files, directories of segments, or `-` for standard input
    /// (once); together one log. MySQL/MariaDB binlogs are read too.
    #[arg(required = true, value_name = "LOG")]
    pub paths: Vec<String>,
}

impl Input {
    /// The inputs as given (binlogs left as binlogs).
    pub fn resolve(&self) -> anyhow::Result<Inputs> {
        Inputs::resolve(&self.paths)
    }

    /// The inputs, binlogs imported as a native log.
    pub fn resolve_native(&self) -> anyhow::Result<Inputs> {
        Inputs::resolve_native(&self.paths)
    }
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
