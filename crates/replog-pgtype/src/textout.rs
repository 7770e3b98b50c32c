//! PostgreSQL's text output of the types that travel as text (inet, cidr,
//! macaddr, money, bit strings, arrays): what the binary and on-disk
//! decoders produce, so that every source yields the same Value.

use replog_core::Value;
use std::borrow::Cow;
use std::fmt::Write as _;

/// An `inet` (with `cidr`: a `cidr`) value from the fields both its binary
/// and its on-disk form hold: the address family (2: IPv4, 3: IPv6), the
/// prefix length and the address bytes.
pub(crate) fn inet_value(
    family: u8,
    bits: u8,
    addr: &[u8],
    cidr: bool,
) -> Result<Value<'static>, String> {
    if !matches!(family, 2 | 3) {
        return Err(format!("inet family {family}"));
    }
    Ok(Value::Text(Cow::Owned(inet(
        family == 3,
        bits,
        addr,
        cidr,
    )?)))
}

/// `inet` / `cidr` output: `family` 4 or 6, the address bytes, the prefix
/// length. `inet` omits a full-length prefix; `cidr` always shows it.
pub(crate) fn inet(v6: bool, bits: u8, addr: &[u8], cidr: bool) -> Result<String, String> {
    let max = if v6 { 128 } else { 32 };
    if addr.len() != if v6 { 16 } else { 4 } || bits > max {
        return Err(format!(
            "inet: {} address bytes with /{bits} ({})",
            addr.len(),
            if v6 { "IPv6" } else { "IPv4" }
        ));
    }
    let mut s = String::new();
    if v6 {
        ipv6(addr, &mut s);
    } else {
        let _ = write!(s, "{}.{}.{}.{}", addr[0], addr[1], addr[2], addr[3]);
    }
    if cidr || bits != max {
        let _ = write!(s, "/{bits}");
    }
    Ok(s)
}

/// RFC 5952 text of an IPv6 address: lower-case hex, the longest run of
/// two or more zero groups (the first of equal runs) as `::`, and the
/// IPv4-mapped and IPv4-compatible forms with a dotted tail.
fn ipv6(a: &[u8], s: &mut String) {
    let g: Vec<u16> = a
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect();
    let (mut best, mut best_len, mut i) = (8usize, 0usize, 0usize);
    while i < 8 {
        if g[i] == 0 {
            let start = i;
            while i < 8 && g[i] == 0 {
                i += 1;
            }
            if i - start > best_len && i - start >= 2 {
                best = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    // ::a.b.c.d and ::ffff:a.b.c.d (as inet_ntop writes them).
    let dotted = best == 0 && (best_len == 6 && g[6] != 0 || best_len == 5 && g[5] == 0xffff);
    let end = if dotted { 6 } else { 8 };
    let mut k = 0;
    while k < end {
        if k == best {
            s.push_str("::");
            k += best_len;
            continue;
        }
        if k > 0 && !s.ends_with(':') {
            s.push(':');
        }
        let _ = write!(s, "{:x}", g[k]);
        k += 1;
    }
    if dotted {
        if !s.ends_with(':') {
            s.push(':');
        }
        let _ = write!(s, "{}.{}.{}.{}", a[12], a[13], a[14], a[15]);
    }
}

/// `macaddr` / `macaddr8` output: `08:00:2b:01:02:03`.
pub(crate) fn mac(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 3);
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// `money` output in the C locale (`lc_monetary = 'C'`): `$1,234.56`,
/// `-$92,233,720,368,547,758.08`.
pub(crate) fn money(cents: i64) -> String {
    let a = cents.unsigned_abs();
    let int = (a / 100).to_string();
    let mut s = String::new();
    if cents < 0 {
        s.push('-');
    }
    s.push('$');
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            s.push(',');
        }
        s.push(c);
    }
    let _ = write!(s, ".{:02}", a % 100);
    s
}

/// `bit` / `varbit` output: `bits` bits from `data`, most significant first.
pub(crate) fn bits(nbits: usize, data: &[u8]) -> Result<String, String> {
    if data.len() != nbits.div_ceil(8) {
        return Err(format!(
            "bit string of {nbits} bits in {} bytes",
            data.len()
        ));
    }
    Ok((0..nbits)
        .map(|i| {
            if data[i / 8] & (0x80 >> (i % 8)) != 0 {
                '1'
            } else {
                '0'
            }
        })
        .collect())
}

/// Appends one array element as `array_out` writes it: quoted when empty,
/// `NULL` in any case, or holding `{`, `}`, `,`, `"`, `\` or white space;
/// `"` and `\` escaped with a backslash.
pub(crate) fn array_element(e: &str, out: &mut String) {
    let quote = e.is_empty()
        || e.eq_ignore_ascii_case("NULL")
        || e.bytes().any(|c| {
            matches!(
                c,
                b'{' | b'}' | b',' | b'"' | b'\\' | b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c
            )
        });
    if !quote {
        out.push_str(e);
        return;
    }
    out.push('"');
    for c in e.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Writes an array's text form from its dimensions, lower bounds and
/// elements in row-major order (None for NULL): `{{1,2},{3,NULL}}`, with
/// `[0:1][1:2]=` first when a lower bound is not 1; `{}` when empty.
pub(crate) fn array(dims: &[i32], lbounds: &[i32], elems: &[Option<String>]) -> String {
    let mut s = String::new();
    if dims.is_empty() || elems.is_empty() {
        return "{}".into();
    }
    if lbounds.iter().any(|&l| l != 1) {
        for (d, l) in dims.iter().zip(lbounds) {
            let _ = write!(s, "[{l}:{}]", i64::from(*l) + i64::from(*d) - 1);
        }
        s.push('=');
    }
    let mut idx = 0;
    nest(dims, elems, &mut idx, &mut s);
    s
}

fn nest(dims: &[i32], elems: &[Option<String>], idx: &mut usize, s: &mut String) {
    s.push('{');
    let n = dims.first().copied().unwrap_or(0).max(0) as usize;
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        if dims.len() > 1 {
            nest(&dims[1..], elems, idx, s);
        } else {
            match elems.get(*idx) {
                Some(Some(e)) => array_element(e, s),
                _ => s.push_str("NULL"),
            }
            *idx += 1;
        }
    }
    s.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let v6 = |s: &str| {
            let a: std::net::Ipv6Addr = s.parse().unwrap();
            inet(true, 128, &a.octets(), false).unwrap()
        };
        assert_eq!(v6("::1"), "::1");
        assert_eq!(v6("2001:db8::"), "2001:db8::");
        assert_eq!(v6("2001:db8:0:1:0:0:0:1"), "2001:db8:0:1::1");
        assert_eq!(v6("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
        assert_eq!(v6("1:0:2:0:3:0:4:5"), "1:0:2:0:3:0:4:5");
        assert_eq!(v6("::"), "::");
        assert_eq!(
            inet(false, 24, &[192, 168, 0, 1], false).unwrap(),
            "192.168.0.1/24"
        );
        assert_eq!(
            inet(false, 32, &[10, 0, 0, 0], true).unwrap(),
            "10.0.0.0/32"
        );
        assert_eq!(
            money(-9_223_372_036_854_775_808),
            "-$92,233,720,368,547,758.08"
        );
        assert_eq!(money(123_456), "$1,234.56");
        assert_eq!(money(5), "$0.05");
        assert_eq!(bits(3, &[0xa0]).unwrap(), "101");
        let e = |s: &str| Some(s.to_string());
        assert_eq!(
            array(&[2, 2], &[0, 1], &[e("1"), e("2"), e("3"), None]),
            "[0:1][1:2]={{1,2},{3,NULL}}"
        );
        assert_eq!(
            array(&[4], &[1], &[e("a b"), e(""), e("null"), e("q\"\\")]),
            r#"{"a b","","null","q\"\\"}"#
        );
    }
}
