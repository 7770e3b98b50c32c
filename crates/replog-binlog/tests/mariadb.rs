//! Compares the reader with `mariadb-binlog` on the MariaDB oracle fixtures
//! under `fixtures/mariadb/out/<workload>/<format>/`: event positions and
//! types against `events.txt`, decoded row values against `rows.txt`
//! (typed comparison, not formatting). Skips only when the directory is
//! absent; a missing file skips that one case.

use replog_binlog::{Column, EventBody, Events, RowsKind};
use replog_core::Value;
use replog_test_support::mariadb::binlogs_in as binlogs;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/mariadb/out")
}

fn cases() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(workloads) = std::fs::read_dir(root()) else {
        return out;
    };
    for w in workloads.flatten() {
        if let Ok(formats) = std::fs::read_dir(w.path()) {
            for f in formats.flatten() {
                if f.path().join("mariadb-bin.000001").exists() {
                    out.push(f.path());
                }
            }
        }
    }
    out.sort();
    out
}

/// The type codes a `mariadb-binlog` header description stands for.
fn types_for(desc: &str) -> &'static [u8] {
    const T: &[(&str, &[u8])] = &[
        ("Start:", &[15]),
        ("Gtid list", &[163]),
        ("Binlog checkpoint", &[161]),
        ("GTID ", &[162]),
        ("Query", &[2, 165]),
        ("Annotate_rows:", &[160]),
        ("Table_map:", &[19]),
        ("Write_rows", &[23, 30, 166, 169]),
        ("Update_rows", &[24, 31, 167, 170]),
        ("Delete_rows", &[25, 32, 168, 171]),
        ("Xid =", &[16]),
        ("Rotate to", &[4]),
        ("Stop", &[3]),
        ("Intvar", &[5]),
        ("Rand", &[13]),
        ("User_var", &[14]),
        ("Start_encryption", &[164]),
    ];
    T.iter()
        .find(|(p, _)| desc.starts_with(p))
        .map(|(_, t)| *t)
        .unwrap_or(&[])
}

/// Per binlog file (in order): the `# at N` positions and the header
/// descriptions, paired by index.
fn parse_events_txt(text: &str) -> Vec<Vec<(u64, String)>> {
    let mut files: Vec<(Vec<u64>, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("# at ") {
            let p: u64 = p.trim().parse().unwrap();
            if p == 4 {
                files.push((Vec::new(), Vec::new()));
            }
            files.last_mut().unwrap().0.push(p);
        } else if line.starts_with('#')
            && line.contains(" end_log_pos ")
            && line.contains("server id")
        {
            let desc = line.split('\t').nth(1).unwrap_or("").to_string();
            if let Some(f) = files.last_mut() {
                f.1.push(desc);
            }
        }
    }
    files
        .into_iter()
        .map(|(pos, desc)| {
            assert_eq!(
                pos.len(),
                desc.len(),
                "positions and headers do not pair up"
            );
            pos.into_iter().zip(desc).collect()
        })
        .collect()
}

#[test]
fn events_match_mariadb_binlog() {
    if !root().exists() {
        eprintln!("fixtures/mariadb/out absent: skipped");
        return;
    }
    let cases = cases();
    assert!(
        !cases.is_empty(),
        "fixtures/mariadb/out exists but holds no cases"
    );
    let mut compared = 0;
    for dir in cases {
        let Ok(text) = std::fs::read(dir.join("events.txt")) else {
            continue;
        };
        let expected = parse_events_txt(&String::from_utf8_lossy(&text));
        let files = binlogs(&dir);
        assert_eq!(expected.len(), files.len(), "{}", dir.display());
        for (file, exp) in files.iter().zip(expected) {
            let data = std::fs::read(file).unwrap();
            let mut got = Vec::new();
            for ev in Events::new(&data).unwrap() {
                let ev = ev.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                got.push((ev.position(), ev.type_code()));
            }
            assert_eq!(got.len(), exp.len(), "{}: event count", file.display());
            for ((p, t), (ep, desc)) in got.iter().zip(&exp) {
                assert_eq!(p, ep, "{}: position", file.display());
                assert!(
                    types_for(desc).contains(t),
                    "{} at {p}: type {t} vs {desc:?}",
                    file.display()
                );
            }
            compared += 1;
        }
    }
    assert!(compared > 0);
}

/// One row image as `mariadb-binlog -v` prints it.
#[derive(Debug)]
struct Image {
    table: String,
    values: Vec<Vec<u8>>,
}

fn parse_rows_txt(b: &[u8]) -> Vec<Image> {
    let mut out: Vec<Image> = Vec::new();
    let mut table = String::new();
    let mut in_image = false;
    for line in b.split(|&c| c == b'\n') {
        if let Some(rest) = line.strip_prefix(b"### ") {
            let s = String::from_utf8_lossy(rest);
            if let Some(t) = s
                .strip_prefix("INSERT INTO ")
                .or_else(|| s.strip_prefix("UPDATE "))
                .or_else(|| s.strip_prefix("DELETE FROM "))
            {
                table = t.trim().to_string();
                in_image = false;
            } else if s.trim() == "SET" || s.trim() == "WHERE" {
                out.push(Image {
                    table: table.clone(),
                    values: Vec::new(),
                });
                in_image = true;
            } else if let Some(v) = rest.strip_prefix(b"  @") {
                let eq = v.iter().position(|&c| c == b'=').unwrap();
                if in_image {
                    out.last_mut().unwrap().values.push(v[eq + 1..].to_vec());
                }
            }
        } else if in_image && !line.starts_with(b"#") && !line.is_empty() {
            // Continuation of a string value that contains a newline.
            if let Some(last) = out.last_mut().and_then(|i| i.values.last_mut()) {
                last.push(b'\n');
                last.extend_from_slice(line);
            }
        } else if line.starts_with(b"# at ") {
            in_image = false;
        }
    }
    out
}

fn trim(v: &[u8]) -> &[u8] {
    let end = v.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
    &v[..end]
}

/// mariadb-binlog writes control bytes of quoted strings as `\xHH`.
fn unescape(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') && i + 3 < b.len() {
            if let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 2..i + 4]).unwrap_or("zz"), 16)
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn micros_of(frac: &str) -> i64 {
    if frac.is_empty() {
        return 0;
    }
    let mut s = frac.to_string();
    while s.len() < 6 {
        s.push('0');
    }
    s[..6].parse().unwrap()
}

/// Whether our value matches what mariadb-binlog printed.
fn matches(v: &Value<'_>, col: &Column, printed: &[u8]) -> bool {
    let p = trim(printed);
    let ps = String::from_utf8_lossy(p).into_owned();
    if ps == "NULL" {
        return v.is_null();
    }
    let quoted = p.len() >= 2 && p[0] == b'\'' && p[p.len() - 1] == b'\'';
    let inner_owned = if quoted {
        unescape(&p[1..p.len() - 1])
    } else {
        p.to_vec()
    };
    let inner = inner_owned.as_slice();
    let inner_s = String::from_utf8_lossy(inner).into_owned();
    let nums: Vec<&str> = ps
        .split([' ', '(', ')'])
        .filter(|s| !s.is_empty())
        .collect();
    match v {
        Value::Null => false,
        // mariadb-binlog prints a stored YEAR 0 (year 0000) as 1900.
        Value::Int(0) if col.real_type == replog_binlog::consts::column_type::YEAR => {
            ps == "1900" || ps == "0"
        }
        Value::Int(i) => nums.iter().any(|n| n.parse::<i64>().ok() == Some(*i)),
        Value::UInt(u) => {
            if let Some(bits) = ps.strip_prefix("b'") {
                let bits = bits.trim_end_matches('\'');
                if col.real_type == replog_binlog::consts::column_type::SET {
                    // Stored bytes in order; SET masks are little-endian.
                    let mut mask = 0u64;
                    for (i, chunk) in bits.as_bytes().chunks(8).enumerate() {
                        let Ok(b) =
                            u64::from_str_radix(std::str::from_utf8(chunk).unwrap_or("x"), 2)
                        else {
                            return false;
                        };
                        mask |= b << (8 * i);
                    }
                    return mask == *u;
                }
                return u64::from_str_radix(bits, 2).ok() == Some(*u);
            }
            nums.iter().any(|n| {
                n.parse::<u64>().ok() == Some(*u) || n.parse::<i64>().ok() == Some(*u as i64)
            })
        }
        Value::F32(f) => ps
            .trim()
            .parse::<f64>()
            .is_ok_and(|x| (x - f64::from(*f)).abs() <= 1e-6 * x.abs().max(1e-30)),
        Value::F64(f) => ps
            .trim()
            .parse::<f64>()
            .is_ok_and(|x| (x - f).abs() <= 1e-12 * x.abs().max(1e-300)),
        Value::Decimal(d) => d.as_ref() == ps.trim(),
        Value::Text(t) | Value::Json(t) => {
            t.as_bytes() == inner
                || (std::str::from_utf8(inner).is_err()
                    && inner.iter().map(|&c| char::from(c)).collect::<String>() == t.as_ref())
        }
        Value::Bytes(b) => b.as_ref() == inner,
        Value::Enum(label) => {
            let idx: usize = ps.parse().unwrap_or(usize::MAX);
            let labels = col.labels.as_deref().unwrap_or(&[]);
            (idx == 0 && label.is_empty())
                || labels.get(idx.wrapping_sub(1)).map(String::as_str) == Some(label.as_ref())
        }
        Value::Set(s) => {
            let Some(bits) = ps.strip_prefix("b'") else {
                return false;
            };
            // mariadb-binlog prints the stored bytes in order; SET masks are
            // stored little-endian.
            let bits = bits.trim_end_matches('\'');
            let mut mask = 0u64;
            for (i, chunk) in bits.as_bytes().chunks(8).enumerate() {
                let Ok(b) = u64::from_str_radix(std::str::from_utf8(chunk).unwrap_or("x"), 2)
                else {
                    return false;
                };
                mask |= b << (8 * i);
            }
            let labels = col.labels.as_deref().unwrap_or(&[]);
            let want: Vec<&str> = labels
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, l)| l.as_str())
                .collect();
            want.join(",") == s.as_ref()
        }
        Value::Date(d) => inner_s == format!("{:04}:{:02}:{:02}", d.year, d.month, d.day),
        Value::Time(us) => {
            let (neg, body) = match inner_s.strip_prefix('-') {
                Some(b) => (true, b),
                None => (false, inner_s.as_str()),
            };
            let (hms, frac) = body.split_once('.').unwrap_or((body, ""));
            let parts: Vec<i64> = hms.split(':').filter_map(|x| x.parse().ok()).collect();
            if parts.len() != 3 {
                return false;
            }
            let t = (parts[0] * 3600 + parts[1] * 60 + parts[2]) * 1_000_000 + micros_of(frac);
            (if neg { -t } else { t }) == *us
        }
        Value::DateTime(dt) => {
            let (main, frac) = inner_s.split_once('.').unwrap_or((inner_s.as_str(), ""));
            let mine = format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                dt.date.year, dt.date.month, dt.date.day, dt.hour, dt.minute, dt.second
            );
            main == mine && micros_of(frac) == i64::from(dt.micro)
        }
        Value::Timestamp(us) => {
            let (secs, frac) = ps.split_once('.').unwrap_or((ps.as_str(), ""));
            secs.parse::<i64>()
                .ok()
                .map(|s| s * 1_000_000 + micros_of(frac))
                == Some(*us)
        }
        Value::Bool(b) => ps == if *b { "1" } else { "0" },
        // PostgreSQL's kinds never come from a binlog.
        Value::Uuid(_)
        | Value::Interval(_)
        | Value::TimeTz { .. }
        | Value::PgDate(_)
        | Value::PgTimestamp(_)
        | Value::PgTimestampTz(_)
        | Value::NumericSpecial(_) => false,
    }
}

#[test]
fn rows_match_mariadb_binlog_verbose() {
    if !root().exists() {
        eprintln!("fixtures/mariadb/out absent: skipped");
        return;
    }
    let mut compared_values = 0usize;
    for dir in cases() {
        let Ok(text) = std::fs::read(dir.join("rows.txt")) else {
            continue;
        };
        let expected = parse_rows_txt(&text);
        let mut got: Vec<(String, Vec<(Column, Value<'static>)>)> = Vec::new();
        for file in binlogs(&dir) {
            let data = std::fs::read(&file).unwrap();
            for ev in Events::new(&data).unwrap() {
                let ev = ev.unwrap();
                let EventBody::Rows(r) = ev.body() else {
                    continue;
                };
                let table = r.table.clone().unwrap();
                for ch in r.rows() {
                    let ch = ch.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                    let mut push = |row: &replog_binlog::Row<'_>| {
                        let vals = row
                            .iter()
                            .map(|(c, v)| (table.columns[c].clone(), v.clone().into_owned()))
                            .collect();
                        got.push((table.qualified_name(), vals));
                    };
                    match r.kind {
                        RowsKind::Write => push(ch.after.as_ref().unwrap()),
                        RowsKind::Delete => push(ch.before.as_ref().unwrap()),
                        RowsKind::Update | RowsKind::PartialUpdate => {
                            push(ch.before.as_ref().unwrap());
                            push(ch.after.as_ref().unwrap());
                        }
                    }
                }
            }
        }
        assert_eq!(
            got.len(),
            expected.len(),
            "{}: row image count",
            dir.display()
        );
        for (i, ((table, vals), exp)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(table, &exp.table, "{} image {i}", dir.display());
            assert_eq!(
                vals.len(),
                exp.values.len(),
                "{} image {i} of {table}",
                dir.display()
            );
            for (k, ((col, v), p)) in vals.iter().zip(&exp.values).enumerate() {
                assert!(
                    matches(v, col, p),
                    "{} image {i} of {table}, value {k} ({}): ours {v:?}, mariadb-binlog {:?}",
                    dir.display(),
                    col.type_name(),
                    String::from_utf8_lossy(p)
                );
                compared_values += 1;
            }
        }
    }
    eprintln!("compared {compared_values} values");
    assert!(
        compared_values > 1000,
        "only {compared_values} values compared"
    );
}
