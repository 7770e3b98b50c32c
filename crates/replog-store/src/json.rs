//! JSON functions (`JSON_EXTRACT`, `JSON_SET`, `JSON_OBJECT`, …) over a
//! small order-keeping document model: MariaDB keeps an object's members
//! in document order and writes documents it builds as `{"a": 1, "b":
//! [1, 2]}` (`": "` and `", "`), which is how results are written here.
//!
//! Documents nest at most [`MAX_DEPTH`] levels (MariaDB's limit), so
//! parsing and writing recurse a bounded number of times.

use crate::error::{Error, ErrorKind, Result};
use crate::types::Datum;

/// The deepest nesting of arrays and objects accepted (MariaDB: 32).
pub const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
enum J {
    Null,
    Bool(bool),
    /// A number as written.
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

fn bad(msg: &str) -> Error {
    Error::new(ErrorKind::BadValue, msg.to_string())
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Option<J> {
        self.ws();
        let c = *self.s.get(self.at)?;
        match c {
            b'{' | b'[' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.at += 1;
                let close = if c == b'{' { b'}' } else { b']' };
                let mut arr = Vec::new();
                let mut obj = Vec::new();
                self.ws();
                if self.s.get(self.at) == Some(&close) {
                    self.at += 1;
                } else {
                    loop {
                        if c == b'{' {
                            self.ws();
                            let J::Str(k) = self.string()? else {
                                return None;
                            };
                            self.ws();
                            if self.s.get(self.at) != Some(&b':') {
                                return None;
                            }
                            self.at += 1;
                            obj.push((k, self.value(depth + 1)?));
                        } else {
                            arr.push(self.value(depth + 1)?);
                        }
                        self.ws();
                        match self.s.get(self.at) {
                            Some(b',') => self.at += 1,
                            Some(x) if *x == close => {
                                self.at += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                Some(if c == b'{' { J::Obj(obj) } else { J::Arr(arr) })
            }
            b'"' => self.string(),
            b't' | b'f' | b'n' => {
                for (w, v) in [
                    (&b"true"[..], J::Bool(true)),
                    (b"false", J::Bool(false)),
                    (b"null", J::Null),
                ] {
                    if self.s[self.at..].starts_with(w) {
                        self.at += w.len();
                        return Some(v);
                    }
                }
                None
            }
            _ => {
                let start = self.at;
                while self
                    .s
                    .get(self.at)
                    .is_some_and(|b| b.is_ascii_digit() || b"+-.eE".contains(b))
                {
                    self.at += 1;
                }
                let t = std::str::from_utf8(&self.s[start..self.at]).ok()?;
                t.parse::<f64>().ok()?;
                Some(J::Num(t.to_string()))
            }
        }
    }

    fn string(&mut self) -> Option<J> {
        if self.s.get(self.at) != Some(&b'"') {
            return None;
        }
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let c = *self.s.get(self.at)?;
            self.at += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = *self.s.get(self.at)?;
                    self.at += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let h = std::str::from_utf8(self.s.get(self.at..self.at + 4)?).ok()?;
                            self.at += 4;
                            let ch = char::from_u32(u32::from_str_radix(h, 16).ok()?)
                                .unwrap_or('\u{fffd}');
                            let mut b = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                        }
                        _ => return None,
                    }
                }
                c => out.push(c),
            }
        }
        String::from_utf8(out).ok().map(J::Str)
    }
}

fn parse(s: &str) -> Option<J> {
    let mut p = Parser {
        s: s.as_bytes(),
        at: 0,
    };
    let v = p.value(0)?;
    p.ws();
    (p.at == s.len()).then_some(v)
}

/// `s` as a JSON string, escaped as serde_json (and MariaDB) escape:
/// `\b \f \n \r \t \" \\`, other controls as `\u00xx`.
fn quote(s: &str, out: &mut String) {
    // Serializing a `str` cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

fn write(v: &J, out: &mut String) {
    match v {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Num(n) => out.push_str(n),
        J::Str(s) => quote(s, out),
        J::Arr(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(x, out);
            }
            out.push(']');
        }
        J::Obj(o) => {
            out.push('{');
            for (i, (k, x)) in o.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                quote(k, out);
                out.push_str(": ");
                write(x, out);
            }
            out.push('}');
        }
    }
}

fn text(v: &J) -> String {
    let mut s = String::new();
    write(v, &mut s);
    s
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// `$`, `.key`, `."key"`, `[n]`; wildcards are refused.
fn path(p: &str) -> Result<Vec<Step>> {
    let b = p.trim().as_bytes();
    let invalid = || bad(&format!("Invalid JSON path expression '{p}'"));
    if b.first() != Some(&b'$') {
        return Err(invalid());
    }
    let mut i = 1;
    let mut out = Vec::new();
    while i < b.len() {
        match b[i] {
            b'.' => {
                i += 1;
                if b.get(i) == Some(&b'"') {
                    let end = b[i + 1..]
                        .iter()
                        .position(|&c| c == b'"')
                        .ok_or_else(invalid)?;
                    out.push(Step::Key(
                        String::from_utf8_lossy(&b[i + 1..i + 1 + end]).into_owned(),
                    ));
                    i += end + 2;
                } else {
                    let start = i;
                    while i < b.len() && b[i] != b'.' && b[i] != b'[' {
                        i += 1;
                    }
                    let k = &b[start..i];
                    if k.is_empty() {
                        return Err(invalid());
                    }
                    if k == b"*" {
                        return Err(Error::unsupported("JSON path wildcards"));
                    }
                    out.push(Step::Key(String::from_utf8_lossy(k).into_owned()));
                }
            }
            b'[' => {
                let end = b[i..].iter().position(|&c| c == b']').ok_or_else(invalid)?;
                let n = std::str::from_utf8(&b[i + 1..i + end])
                    .map_err(|_| invalid())?
                    .trim();
                if n == "*" {
                    return Err(Error::unsupported("JSON path wildcards"));
                }
                out.push(Step::Index(n.parse().map_err(|_| invalid())?));
                i += end + 1;
            }
            b' ' => i += 1,
            _ => return Err(invalid()),
        }
    }
    Ok(out)
}

fn get<'a>(mut v: &'a J, steps: &[Step]) -> Option<&'a J> {
    for s in steps {
        v = match (s, v) {
            (Step::Key(k), J::Obj(o)) => &o.iter().find(|(x, _)| x == k)?.1,
            (Step::Index(i), J::Arr(a)) => a.get(*i)?,
            // MariaDB: `$[0]` of a scalar is the scalar.
            (Step::Index(0), other) => other,
            _ => return None,
        };
    }
    Some(v)
}

fn get_mut<'a>(mut v: &'a mut J, steps: &[Step]) -> Option<&'a mut J> {
    for s in steps {
        v = match (s, v) {
            (Step::Key(k), J::Obj(o)) => &mut o.iter_mut().find(|(x, _)| x == k)?.1,
            (Step::Index(i), J::Arr(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// A SQL value as a JSON value: numbers as numbers, NULL as null, text as
/// a string.
fn of_datum(d: &Datum) -> J {
    match d {
        Datum::Null => J::Null,
        Datum::Int(_) | Datum::UInt(_) | Datum::Dec(_) | Datum::Double(_) => {
            J::Num(d.to_text().unwrap_or_default())
        }
        other => J::Str(other.to_text().unwrap_or_default()),
    }
}

fn doc(d: &Datum) -> Result<Option<J>> {
    match d.to_text() {
        None => Ok(None),
        Some(s) => Ok(parse(&s)),
    }
}

/// A JSON function, or `None` when `name` is not one.
pub(crate) fn call(name: &str, args: &[Datum]) -> Option<Result<Datum>> {
    if !name.starts_with("JSON_") {
        return None;
    }
    Some(call_json(name, args, &[]))
}

/// Whether the function `name` returns a JSON document (which a JSON
/// function taking it as a value nests as JSON, not as a string).
pub(crate) fn returns_json(name: &str) -> bool {
    matches!(
        name,
        "JSON_ARRAY"
            | "JSON_OBJECT"
            | "JSON_EXTRACT"
            | "JSON_QUERY"
            | "JSON_SET"
            | "JSON_INSERT"
            | "JSON_REPLACE"
            | "JSON_REMOVE"
            | "JSON_ARRAY_APPEND"
            | "JSON_ARRAY_INSERT"
            | "JSON_MERGE"
            | "JSON_MERGE_PATCH"
            | "JSON_MERGE_PRESERVE"
            | "JSON_COMPACT"
            | "JSON_KEYS"
    )
}

/// A JSON function whose arguments `json_args[i]` are documents returned
/// by JSON functions: as values they are nested as JSON
/// (`JSON_OBJECT('k', JSON_ARRAY(1))` is `{"k": [1]}`).
pub(crate) fn call_nesting(name: &str, args: &[Datum], json_args: &[bool]) -> Result<Datum> {
    call_json(name, args, json_args)
}

fn call_json(name: &str, args: &[Datum], json_args: &[bool]) -> Result<Datum> {
    // The value of argument `i` in a document.
    let value = |i: usize| -> J {
        if json_args.get(i) == Some(&true)
            && let Some(v) = args[i].to_text().and_then(|t| parse(&t))
        {
            return v;
        }
        of_datum(&args[i])
    };
    let count = |ok: bool| -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Parse,
                format!("Incorrect parameter count in the call to native function '{name}'"),
            ))
        }
    };
    let str_of = |v: &J| Datum::Str(text(v));
    Ok(match name {
        "JSON_OBJECT" => {
            count(args.len() % 2 == 0)?;
            let mut o = Vec::new();
            for (i, kv) in args.chunks(2).enumerate() {
                let Some(k) = kv[0].to_text() else {
                    return Err(bad("JSON documents may not contain NULL member names"));
                };
                o.push((k, value(2 * i + 1)));
            }
            str_of(&J::Obj(o))
        }
        "JSON_ARRAY" => str_of(&J::Arr((0..args.len()).map(value).collect())),
        "JSON_QUOTE" => {
            count(args.len() == 1)?;
            match args[0].to_text() {
                None => Datum::Null,
                Some(s) => str_of(&J::Str(s)),
            }
        }
        "JSON_VALID" => {
            count(args.len() == 1)?;
            match args[0].to_text() {
                None => Datum::Null,
                Some(s) => Datum::Int(i64::from(parse(&s).is_some())),
            }
        }
        "JSON_UNQUOTE" => {
            count(args.len() == 1)?;
            match args[0].to_text() {
                None => Datum::Null,
                Some(s) => match parse(&s) {
                    Some(J::Str(u)) if s.trim_start().starts_with('"') => Datum::Str(u),
                    _ => Datum::Str(s),
                },
            }
        }
        "JSON_COMPACT" => {
            count(args.len() == 1)?;
            match doc(&args[0])? {
                None => Datum::Null,
                Some(v) => Datum::Str(text(&v).replace(", ", ",").replace(": ", ":")),
            }
        }
        "JSON_EXTRACT" | "JSON_VALUE" | "JSON_LENGTH" | "JSON_TYPE" | "JSON_DEPTH"
        | "JSON_KEYS" => {
            let Some((d, paths)) = args.split_first() else {
                return count(false).map(|_| Datum::Null);
            };
            if args.iter().any(Datum::is_null) {
                return Ok(Datum::Null);
            }
            let Some(v) = doc(d)? else {
                return Ok(Datum::Null);
            };
            let mut found = Vec::new();
            for p in paths {
                let steps = path(&p.to_text().unwrap_or_default())?;
                if let Some(x) = get(&v, &steps) {
                    found.push(x.clone());
                }
            }
            let one = if paths.is_empty() {
                Some(v.clone())
            } else {
                found.first().cloned()
            };
            match name {
                "JSON_EXTRACT" => {
                    count(!paths.is_empty())?;
                    match (paths.len(), found.len()) {
                        (_, 0) => Datum::Null,
                        (1, _) => str_of(&found[0]),
                        _ => str_of(&J::Arr(found)),
                    }
                }
                "JSON_VALUE" => {
                    count(paths.len() == 1)?;
                    match one {
                        Some(J::Str(s)) => Datum::Str(s),
                        Some(J::Num(n)) => Datum::Str(n),
                        Some(J::Bool(b)) => Datum::Str(b.to_string()),
                        _ => Datum::Null,
                    }
                }
                "JSON_LENGTH" => match one {
                    Some(J::Arr(a)) => Datum::Int(a.len() as i64),
                    Some(J::Obj(o)) => Datum::Int(o.len() as i64),
                    Some(_) => Datum::Int(1),
                    None => Datum::Null,
                },
                "JSON_KEYS" => match one {
                    Some(J::Obj(o)) => {
                        str_of(&J::Arr(o.into_iter().map(|(k, _)| J::Str(k)).collect()))
                    }
                    _ => Datum::Null,
                },
                "JSON_TYPE" => {
                    count(paths.is_empty())?;
                    Datum::Str(
                        match v {
                            J::Null => "NULL",
                            J::Bool(_) => "BOOLEAN",
                            J::Num(n) if n.contains(['.', 'e', 'E']) => "DOUBLE",
                            J::Num(_) => "INTEGER",
                            J::Str(_) => "STRING",
                            J::Arr(_) => "ARRAY",
                            J::Obj(_) => "OBJECT",
                        }
                        .into(),
                    )
                }
                _ => {
                    count(paths.is_empty())?;
                    Datum::Int(depth(&v) as i64)
                }
            }
        }
        "JSON_SET" | "JSON_INSERT" | "JSON_REPLACE" | "JSON_ARRAY_APPEND" => {
            count(args.len() >= 3 && args.len() % 2 == 1)?;
            if args[0].is_null() {
                return Ok(Datum::Null);
            }
            let Some(mut v) = doc(&args[0])? else {
                return Ok(Datum::Null);
            };
            for (i, pv) in args[1..].chunks(2).enumerate() {
                let Some(p) = pv[0].to_text() else {
                    return Ok(Datum::Null);
                };
                let steps = path(&p)?;
                let new = value(2 * i + 2);
                if name == "JSON_ARRAY_APPEND" {
                    if let Some(t) = get_mut(&mut v, &steps) {
                        match t {
                            J::Arr(a) => a.push(new),
                            other => {
                                let old = std::mem::replace(other, J::Null);
                                *other = J::Arr(vec![old, new]);
                            }
                        }
                    }
                    continue;
                }
                let exists = get(&v, &steps).is_some();
                if exists && name != "JSON_INSERT" {
                    if let Some(t) = get_mut(&mut v, &steps) {
                        *t = new;
                    }
                } else if !exists && name != "JSON_REPLACE" {
                    let Some((last, parent)) = steps.split_last() else {
                        continue;
                    };
                    match (last, get_mut(&mut v, parent)) {
                        (Step::Key(k), Some(J::Obj(o))) => o.push((k.clone(), new)),
                        (Step::Index(_), Some(J::Arr(a))) => a.push(new),
                        _ => {}
                    }
                }
            }
            str_of(&v)
        }
        "JSON_REMOVE" => {
            count(args.len() >= 2)?;
            if args.iter().any(Datum::is_null) {
                return Ok(Datum::Null);
            }
            let Some(mut v) = doc(&args[0])? else {
                return Ok(Datum::Null);
            };
            for p in &args[1..] {
                let steps = path(&p.to_text().unwrap_or_default())?;
                let Some((last, parent)) = steps.split_last() else {
                    return Err(bad(
                        "Path expression '$' is not allowed in argument 2 to function 'json_remove'.",
                    ));
                };
                match (last, get_mut(&mut v, parent)) {
                    (Step::Key(k), Some(J::Obj(o))) => o.retain(|(x, _)| x != k),
                    (Step::Index(i), Some(J::Arr(a))) if *i < a.len() => {
                        a.remove(*i);
                    }
                    _ => {}
                }
            }
            str_of(&v)
        }
        "JSON_CONTAINS_PATH" => {
            count(args.len() >= 3)?;
            if args.iter().any(Datum::is_null) {
                return Ok(Datum::Null);
            }
            let Some(v) = doc(&args[0])? else {
                return Ok(Datum::Null);
            };
            let all = match args[1]
                .to_text()
                .unwrap_or_default()
                .to_ascii_lowercase()
                .as_str()
            {
                "all" => true,
                "one" => false,
                _ => return Ok(Datum::Null),
            };
            let mut hits = Vec::new();
            for p in &args[2..] {
                hits.push(get(&v, &path(&p.to_text().unwrap_or_default())?).is_some());
            }
            Datum::Int(i64::from(if all {
                hits.iter().all(|&h| h)
            } else {
                hits.iter().any(|&h| h)
            }))
        }
        "JSON_CONTAINS" => {
            count(args.len() == 2 || args.len() == 3)?;
            if args.iter().any(Datum::is_null) {
                return Ok(Datum::Null);
            }
            let (Some(target), Some(candidate)) = (doc(&args[0])?, doc(&args[1])?) else {
                return Ok(Datum::Null);
            };
            let target = match args.get(2) {
                None => target,
                Some(p) => match get(&target, &path(&p.to_text().unwrap_or_default())?) {
                    Some(t) => t.clone(),
                    // MariaDB: 0 (MySQL: NULL).
                    None => return Ok(Datum::Int(0)),
                },
            };
            Datum::Int(i64::from(contains(&target, &candidate)))
        }
        "JSON_MERGE_PATCH" => {
            count(args.len() >= 2)?;
            let mut acc: Option<J> = None;
            for a in args {
                let Some(v) = doc(a)? else {
                    return Ok(Datum::Null);
                };
                acc = Some(match acc {
                    None => v,
                    Some(base) => merge_patch(base, v),
                });
            }
            acc.map_or(Datum::Null, |v| str_of(&v))
        }
        other => return Err(Error::unsupported(format!("function {other}()"))),
    })
}

/// Whether `t` contains `c` (JSON_CONTAINS): equal scalars; an array
/// contains a value one of its elements contains, and an array whose
/// every element it contains; an object contains an object whose every
/// member it has, with a value containing the candidate's. Recursion is
/// bounded by the documents' depth ([`MAX_DEPTH`]).
fn contains(t: &J, c: &J) -> bool {
    match (t, c) {
        (J::Arr(ts), J::Arr(cs)) => cs.iter().all(|x| ts.iter().any(|y| contains(y, x))),
        (J::Arr(ts), _) => ts.iter().any(|y| contains(y, c)),
        (J::Obj(tm), J::Obj(cm)) => cm.iter().all(|(k, v)| {
            tm.iter()
                .find(|(tk, _)| tk == k)
                .is_some_and(|(_, tv)| contains(tv, v))
        }),
        (J::Num(a), J::Num(b)) => {
            a == b || matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if x == y)
        }
        _ => t == c,
    }
}

/// A JSON_EXTRACT result as SQL compares it: a JSON string is its
/// unquoted text (MariaDB compares `JSON_EXTRACT(doc, '$.a') = 'x'` with
/// the scalar, not with `"x"`); anything else is unchanged.
pub(crate) fn comparable(d: Datum) -> Datum {
    if let Datum::Str(s) = &d
        && s.starts_with('"')
        && let Some(J::Str(x)) = parse(s)
    {
        return Datum::Str(x);
    }
    d
}

fn depth(v: &J) -> usize {
    match v {
        J::Arr(a) if !a.is_empty() => 1 + a.iter().map(depth).max().unwrap_or(0),
        J::Obj(o) if !o.is_empty() => 1 + o.iter().map(|(_, x)| depth(x)).max().unwrap_or(0),
        _ => 1,
    }
}

/// RFC 7396 merge patch (bounded by [`MAX_DEPTH`]: both documents parsed).
fn merge_patch(base: J, patch: J) -> J {
    let J::Obj(p) = patch else {
        return patch;
    };
    let mut o = match base {
        J::Obj(o) => o,
        _ => Vec::new(),
    };
    for (k, v) in p {
        let at = o.iter().position(|(x, _)| *x == k);
        if v == J::Null {
            if let Some(i) = at {
                o.remove(i);
            }
        } else if let Some(i) = at {
            let old = std::mem::replace(&mut o[i].1, J::Null);
            o[i].1 = merge_patch(old, v);
        } else {
            o.push((k, merge_patch(J::Null, v)));
        }
    }
    J::Obj(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings are escaped as MariaDB's `json_escape` does: backspace and
    /// form feed by their short escapes, other controls as `\u00xx`.
    #[test]
    fn json_quote_escapes_controls_as_mariadb_does() {
        let quoted = call(
            "JSON_QUOTE",
            &[Datum::Str("a\"\\\u{8}\u{c}\n\r\t\u{1}".into())],
        )
        .unwrap()
        .unwrap();
        assert_eq!(quoted, Datum::Str(r#""a\"\\\b\f\n\r\t\u0001""#.into()));
    }
}
