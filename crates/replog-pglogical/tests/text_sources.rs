//! Every source against test_decoding: the transactions each capture of
//! the one workload (`fixtures/postgres/logical/`) yields, rendered in
//! test_decoding's text form, are test_decoding's captured lines,
//! transaction by transaction. What a plugin cannot carry (wal2json prints
//! numeric and float NaN / ±Infinity as null, format 1 has no TRUNCATE,
//! format 2 no TRUNCATE flags) must be the only differences, and is
//! counted.

mod common;
use common::*;
use replog_core::error::ErrorKind;
use replog_core::txn::{TxnEvent, TxnSource};
use replog_logical::{ColumnType, ColumnValue, LogicalRecord, PgType, Tuple};
use replog_pglogical::{Container, Plugin};
use std::collections::HashMap;

/// How test_decoding prints a type's values.
#[derive(Clone, Copy, PartialEq)]
enum Quote {
    Raw,
    Bit,
    Bool,
    Literal,
}

/// A relation as the renderer needs it: name, columns (name, type as
/// test_decoding spells it, quoting).
struct Rel {
    name: String,
    cols: Vec<(String, String, Quote)>,
}

/// test_decoding's spelling of a column type: `format_type` without the
/// modifier; a type of schema public unqualified, as in the COPY capture
/// (the SQL session's search_path holds public; pg_recvlogical's does not,
/// so its capture prints `public.mood`).
fn type_name(t: &PgType<'_>) -> String {
    let s = match t {
        PgType::Char(_) => "character".to_string(),
        PgType::Other(n) => n.strip_prefix("public.").unwrap_or(n).to_string(),
        t => t.to_string(),
    };
    match (s.find('('), s.find(')')) {
        (Some(a), Some(b)) if a < b => format!("{}{}", &s[..a], &s[b + 1..]),
        _ => s,
    }
}

fn quote(t: &PgType<'_>) -> Quote {
    match t {
        PgType::Int2
        | PgType::Int4
        | PgType::Int8
        | PgType::Oid
        | PgType::Float4
        | PgType::Float8
        | PgType::Numeric(_) => Quote::Raw,
        PgType::Bit(_) | PgType::VarBit(_) => Quote::Bit,
        PgType::Bool => Quote::Bool,
        _ => Quote::Literal,
    }
}

fn ident(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// ` name[type]:value` per column; `old`: test_decoding's old tuples
/// leave NULLs out (and unchanged columns are not known).
fn tuple(out: &mut String, rel: &Rel, t: &Tuple<'_>, old: bool) {
    for ((name, ty, q), v) in rel.cols.iter().zip(t.values()) {
        let v = v.expect("tuple decodes");
        let text = match &v {
            ColumnValue::Unchanged if old => continue,
            ColumnValue::Value(replog_core::Value::Null) if old => continue,
            ColumnValue::Unchanged => "unchanged-toast-datum".to_string(),
            ColumnValue::Value(replog_core::Value::Null) => "null".to_string(),
            ColumnValue::Value(v) => {
                let s = replog_pgtype::to_text(v);
                match q {
                    Quote::Raw => s,
                    Quote::Bit => format!("B'{s}'"),
                    Quote::Bool => (if s == "t" { "true" } else { "false" }).to_string(),
                    Quote::Literal => format!("'{}'", s.replace('\'', "''")),
                }
            }
        };
        out.push_str(&format!(" {}[{ty}]:{text}", ident(name)));
    }
}

/// Each transaction a source yields, rendered as test_decoding's lines
/// (changes and messages; BEGIN and COMMIT left out).
fn rendered(name: &str) -> Vec<Vec<String>> {
    let mut src = open(name);
    let mut rels: HashMap<u32, Rel> = HashMap::new();
    let mut out = Vec::new();
    while let Some(ev) = src.next() {
        let TxnEvent::Transaction(t) = ev.unwrap_or_else(|e| panic!("{name}: {e}")) else {
            continue;
        };
        let mut lines = Vec::new();
        for r in t.records() {
            let rec = LogicalRecord::decode(r.body, 0).expect("record decodes");
            let mut l = String::new();
            match rec {
                LogicalRecord::Relation(r) => {
                    let cols = r
                        .columns
                        .iter()
                        .map(|c| match &c.ty {
                            ColumnType::Pg(t) => (c.name.to_string(), type_name(t), quote(t)),
                            t => panic!("{name}: column {} of type {t}", c.name),
                        })
                        .collect();
                    let name = format!("{}.{}", ident(r.database), ident(r.table));
                    rels.insert(r.relation_id, Rel { name, cols });
                    continue;
                }
                LogicalRecord::Insert(i) => {
                    let rel = &rels[&i.relation_id];
                    l.push_str(&format!("table {}: INSERT:", rel.name));
                    tuple(&mut l, rel, &i.new, false);
                }
                LogicalRecord::Update(u) => {
                    let rel = &rels[&u.relation_id];
                    l.push_str(&format!("table {}: UPDATE:", rel.name));
                    if let Some(b) = &u.before {
                        l.push_str(" old-key:");
                        tuple(&mut l, rel, &b.values, true);
                        l.push_str(" new-tuple:");
                    }
                    tuple(&mut l, rel, &u.after, false);
                }
                LogicalRecord::Delete(d) => {
                    let rel = &rels[&d.relation_id];
                    l.push_str(&format!("table {}: DELETE:", rel.name));
                    tuple(&mut l, rel, &d.before.values, true);
                }
                LogicalRecord::Truncate(t) => {
                    let names: Vec<&str> = t
                        .relation_ids
                        .iter()
                        .map(|id| rels[id].name.as_str())
                        .collect();
                    l.push_str(&format!("table {}: TRUNCATE:", names.join(", ")));
                    match (t.restart_identity, t.cascade) {
                        (false, false) => l.push_str(" (no-flags)"),
                        (r, c) => {
                            if r {
                                l.push_str(" restart_seqs");
                            }
                            if c {
                                l.push_str(" cascade");
                            }
                        }
                    }
                }
                LogicalRecord::Message(m) => {
                    l.push_str(&format!(
                        "message: transactional: {} prefix: {}, sz: {} content:{}",
                        u8::from(m.transactional),
                        m.prefix,
                        m.content.len(),
                        String::from_utf8_lossy(m.content)
                    ));
                }
                other => panic!("{name}: unexpected record {other:?}"),
            }
            lines.push(l);
        }
        out.push(lines);
    }
    out
}

/// test_decoding's captured transactions (lines between BEGIN and COMMIT;
/// a non-transactional message alone), the empty ones left out.
fn captured() -> Vec<Vec<String>> {
    let text = String::from_utf8(load("test_decoding.copy")).unwrap();
    let mut out = Vec::new();
    let mut cur: Option<Vec<String>> = None;
    for row in text.lines() {
        let data = row.splitn(3, '\t').nth(2).expect("lsn, xid, data");
        // COPY text escapes: only `\\` and `\t` occur in this capture.
        let data = data.replace("\\t", "\t").replace("\\\\", "\\");
        if data.starts_with("BEGIN") {
            cur = Some(Vec::new());
        } else if data.starts_with("COMMIT") {
            let t = cur.take().expect("COMMIT after BEGIN");
            if !t.is_empty() {
                out.push(t);
            }
        } else if let Some(t) = &mut cur {
            t.push(data);
        } else {
            out.push(vec![data]);
        }
    }
    out
}

/// What a source may lose against test_decoding, counted.
#[derive(Debug, Default, PartialEq)]
struct Losses {
    /// NaN / ±Infinity cells printed as null.
    special_as_null: usize,
    /// TRUNCATE lines missing.
    truncate_missing: usize,
    /// TRUNCATE lines without their flags.
    truncate_flags: usize,
}

/// One cell's difference is wal2json's NaN / ±Infinity → null.
fn special_as_null(want: &str, got: &str) -> Option<usize> {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.split(' ').collect(), got.split(' ').collect());
    if w.len() != g.len() {
        return None;
    }
    let mut n = 0;
    for (a, b) in w.iter().zip(&g) {
        if a != b {
            let (ca, va) = a.rsplit_once(':')?;
            let (cb, vb) = b.rsplit_once(':')?;
            if ca != cb || vb != "null" || !matches!(va, "NaN" | "Infinity" | "-Infinity") {
                return None;
            }
            n += 1;
        }
    }
    Some(n)
}

fn compare(name: &str, allowed: bool) -> Losses {
    let want = captured();
    let mut got = rendered(name);
    let mut losses = Losses::default();
    let mut w = want.iter().peekable();
    for (i, g) in got.iter_mut().enumerate() {
        let mut wt = w
            .next()
            .unwrap_or_else(|| panic!("{name}: extra transaction {i}"));
        // wal2json format 1 prints no TRUNCATE: a transaction of only
        // TRUNCATEs is missing.
        while allowed
            && wt.iter().all(|l| l.contains(": TRUNCATE:"))
            && !g.iter().all(|l| l.contains(": TRUNCATE:"))
        {
            losses.truncate_missing += wt.len();
            wt = w
                .next()
                .unwrap_or_else(|| panic!("{name}: extra transaction {i}"));
        }
        let mut gi = g.iter().peekable();
        for wl in wt {
            let truncate = |l: &str| l.contains(": TRUNCATE:");
            if allowed && truncate(wl) && gi.peek().is_none_or(|gl| !truncate(gl)) {
                losses.truncate_missing += 1;
                continue;
            }
            let Some(gl) = gi.next() else {
                panic!("{name}: transaction {i} ends before {wl:?}");
            };
            if gl == wl {
                continue;
            }
            if allowed {
                if let Some(n) = special_as_null(wl, gl) {
                    losses.special_as_null += n;
                    continue;
                }
                if wl.contains(": TRUNCATE:") && gl.ends_with(": TRUNCATE: (no-flags)") {
                    let strip = |l: &str| l.split(": TRUNCATE:").next().unwrap().to_string();
                    assert_eq!(strip(wl), strip(gl), "{name}: transaction {i}");
                    losses.truncate_flags += 1;
                    continue;
                }
            }
            panic!("{name}: transaction {i}\n want {wl}\n  got {gl}");
        }
        assert!(
            gi.next().is_none(),
            "{name}: transaction {i} has more lines"
        );
    }
    let rest: usize = w.map(Vec::len).sum();
    assert_eq!(rest, 0, "{name}: {rest} lines of test_decoding's not given");
    losses
}

#[test]
fn every_text_capture_is_recognised() {
    for (name, plugin, container) in [
        (
            "test_decoding.copy",
            Plugin::TestDecoding,
            Container::CopyText,
        ),
        (
            "test_decoding-noxids.copy",
            Plugin::TestDecoding,
            Container::CopyText,
        ),
        (
            "test_decoding-2pc.copy",
            Plugin::TestDecoding,
            Container::CopyText,
        ),
        (
            "test_decoding-stream.copy",
            Plugin::TestDecoding,
            Container::CopyText,
        ),
        (
            "test_decoding.recvlogical",
            Plugin::TestDecoding,
            Container::RecvLogical,
        ),
        ("wal2json-v1.copy", Plugin::Wal2JsonV1, Container::CopyText),
        (
            "wal2json-v1.recvlogical",
            Plugin::Wal2JsonV1,
            Container::RecvLogical,
        ),
        ("wal2json-v2.copy", Plugin::Wal2JsonV2, Container::CopyText),
        (
            "wal2json-v2.recvlogical",
            Plugin::Wal2JsonV2,
            Container::RecvLogical,
        ),
    ] {
        let d = open(name).producer().detected();
        assert_eq!((d.plugin, d.container), (plugin, container), "{name}");
    }
}

#[test]
fn test_decoding_sources_render_to_their_own_lines() {
    for name in [
        "test_decoding.copy",
        "test_decoding.recvlogical",
        "test_decoding-noxids.copy",
        "test_decoding-2pc.copy",
    ] {
        assert_eq!(compare(name, false), Losses::default(), "{name}");
    }
    let mut src = open("test_decoding-2pc.copy");
    transactions(&mut src);
    assert_eq!(src.producer().counts().rolled_back_prepared, 1);
}

#[test]
fn pgoutput_renders_to_test_decoding() {
    for name in [
        "pgoutput-v1.copy",
        "pgoutput-v2-binary.recvlogical",
        "pgoutput-v3.copy",
    ] {
        assert_eq!(compare(name, false), Losses::default(), "{name}");
    }
}

#[test]
fn wal2json_renders_to_test_decoding_but_for_what_it_cannot_print() {
    for name in [
        "wal2json-v1.copy",
        "wal2json-v1.recvlogical",
        "wal2json-v2.copy",
        "wal2json-v2.recvlogical",
    ] {
        let l = compare(name, true);
        assert_eq!(l, expected_losses(name.contains("v1")), "{name}");
    }
}

/// What wal2json cannot print, counted in test_decoding's capture: every
/// NaN / ±Infinity cell; every TRUNCATE (format 1), or the TRUNCATEs with
/// flags (format 2).
fn expected_losses(format_1: bool) -> Losses {
    let lines: Vec<String> = captured().into_iter().flatten().collect();
    let special = lines
        .iter()
        .flat_map(|l| l.split(' '))
        .filter(|c| {
            [":NaN", ":Infinity", ":-Infinity"]
                .iter()
                .any(|s| c.ends_with(s))
        })
        .count();
    let truncates = lines.iter().filter(|l| l.contains(": TRUNCATE:"));
    let (missing, flags) = if format_1 {
        (truncates.count(), 0)
    } else {
        (0, truncates.filter(|l| !l.ends_with("(no-flags)")).count())
    };
    assert!(special >= 4 && missing + flags > 0);
    Losses {
        special_as_null: special,
        truncate_missing: missing,
        truncate_flags: flags,
    }
}

#[test]
fn streamed_test_decoding_changes_without_data_are_refused() {
    let mut src = open("test_decoding-stream.copy");
    let mut committed = 0;
    let err = loop {
        match src.next() {
            Some(Ok(TxnEvent::Transaction(_))) => committed += 1,
            Some(Ok(_)) => {}
            Some(Err(e)) => break e,
            None => panic!("the streamed transaction was read"),
        }
    };
    assert!(committed > 5);
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    let m = err.to_string();
    assert!(
        m.contains("was streamed") && m.contains("without their data"),
        "{m}"
    );
    assert!(m.contains("(LSN 0/"), "{m}");
}
