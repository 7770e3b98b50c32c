//! PostgreSQL values that replog keeps as their text output
//! (`formats/logical.md` section 3.2: arrays, `money`, `bit`), taken apart
//! for the envelopes that carry them as structured values.

/// One element of an array's text form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elem {
    /// `NULL` (unquoted).
    Null,
    /// An element's text, unquoted and unescaped.
    Text(String),
    /// A sub-array (a dimension of a multi-dimensional array).
    Array(Vec<Elem>),
}

/// Parses an array's text output (`{1,2,NULL}`, `{"a b",c}`,
/// `{{1,2},{3,4}}`, `[0:1]={1,2}`; `delim` is the element type's delimiter,
/// `,` for every built-in type but `box`).
pub fn parse_array(s: &str, delim: u8) -> Result<Vec<Elem>, String> {
    let b = s.as_bytes();
    // Explicit bounds: `[lo:hi]...=`.
    let mut i = 0;
    if b.first() == Some(&b'[') {
        i = s.find('=').ok_or("array bounds without '='")? + 1;
    }
    let (v, end) = array_at(b, i, delim, 0)?;
    if end != b.len() {
        return Err(format!("bytes after the array at {end}"));
    }
    Ok(v)
}

fn array_at(b: &[u8], mut i: usize, delim: u8, depth: usize) -> Result<(Vec<Elem>, usize), String> {
    if depth > 6 {
        return Err("more than 6 dimensions".into());
    }
    if b.get(i) != Some(&b'{') {
        return Err(format!("'{{' expected at {i}"));
    }
    i += 1;
    let mut out = Vec::new();
    if b.get(i) == Some(&b'}') {
        return Ok((out, i + 1));
    }
    loop {
        match b.get(i) {
            Some(b'{') => {
                let (v, e) = array_at(b, i, delim, depth + 1)?;
                out.push(Elem::Array(v));
                i = e;
            }
            Some(b'"') => {
                i += 1;
                let mut t = Vec::new();
                loop {
                    match b.get(i) {
                        Some(b'\\') => {
                            t.push(*b.get(i + 1).ok_or("unterminated escape")?);
                            i += 2;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(&c) => {
                            t.push(c);
                            i += 1;
                        }
                        None => return Err("unterminated quoted element".into()),
                    }
                }
                out.push(Elem::Text(String::from_utf8(t).map_err(|e| e.to_string())?));
            }
            Some(_) => {
                let start = i;
                while let Some(&c) = b.get(i) {
                    if c == delim || c == b'}' {
                        break;
                    }
                    i += 1;
                }
                let raw = std::str::from_utf8(&b[start..i]).map_err(|e| e.to_string())?;
                let raw = raw.trim();
                out.push(if raw.eq_ignore_ascii_case("NULL") {
                    Elem::Null
                } else {
                    Elem::Text(raw.replace('\\', ""))
                });
            }
            None => return Err("unterminated array".into()),
        }
        match b.get(i) {
            Some(&c) if c == delim => i += 1,
            Some(b'}') => return Ok((out, i + 1)),
            _ => return Err(format!("',' or '}}' expected at {i}")),
        }
    }
}

/// `money`'s text output (`$1,234.56`, `-$0.01`, in the C locale) as a
/// plain decimal (`1234.56`, `-0.01`).
pub fn money_decimal(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let neg = s.starts_with('-') || (s.starts_with('(') && s.ends_with(')'));
    if neg {
        out.push('-');
    }
    for c in s.chars() {
        match c {
            '0'..='9' | '.' => out.push(c),
            '-' | '$' | ',' | '(' | ')' | ' ' => {}
            _ => return Err(format!("{s:?} is not a money amount of the C locale")),
        }
    }
    if out.trim_start_matches('-').is_empty() {
        return Err(format!("{s:?} has no digits"));
    }
    Ok(out)
}

/// A bit string's text (`101011110001`, first character the most
/// significant bit) as the bytes of `java.util.BitSet.toByteArray`: bit `i`
/// counted from the last character, little-endian, trailing zero bytes
/// dropped.
pub fn bits_le(s: &str) -> Result<Vec<u8>, String> {
    let n = s.len();
    let mut out = vec![0u8; n.div_ceil(8)];
    for (k, c) in s.bytes().enumerate() {
        let bit = n - 1 - k;
        match c {
            b'1' => out[bit / 8] |= 1 << (bit % 8),
            b'0' => {}
            _ => return Err(format!("{s:?} is not a bit string")),
        }
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    Ok(out)
}

/// The unscaled integer of decimal text `s` at `scale` fraction digits
/// (padded with zeros; digits beyond `scale` are an error), as
/// `java.math.BigInteger.toByteArray` gives it: two's complement,
/// big-endian, minimal.
pub fn unscaled_bytes(s: &str, scale: usize) -> Result<Vec<u8>, String> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if frac.len() > scale {
        return Err(format!("{s} has more than {scale} fraction digits"));
    }
    // Up to 38 digits fit an i128: no big-number arithmetic.
    if int.len() + scale <= 38 && int.bytes().chain(frac.bytes()).all(|d| d.is_ascii_digit()) {
        let mut v: i128 = 0;
        for d in int.bytes().chain(frac.bytes()) {
            v = v * 10 + i128::from(d - b'0');
        }
        for _ in frac.len()..scale {
            v *= 10;
        }
        if neg {
            v = -v;
        }
        let be = v.to_be_bytes();
        // Minimal: drop leading bytes that only repeat the sign.
        let mut start = 0;
        while start < 15 {
            let (b, next) = (be[start], be[start + 1]);
            if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
                start += 1;
            } else {
                break;
            }
        }
        return Ok(be[start..].to_vec());
    }
    unscaled_big(s, neg, int, frac, scale)
}

/// [`unscaled_bytes`] of any number of digits (`int` and `frac` are the
/// digits of `s` before and after the point).
fn unscaled_big(
    s: &str,
    neg: bool,
    int: &str,
    frac: &str,
    scale: usize,
) -> Result<Vec<u8>, String> {
    // Magnitude, big-endian base 256.
    let mut mag: Vec<u8> = Vec::new();
    let pad = std::iter::repeat_n(b'0', scale - frac.len());
    for d in int.bytes().chain(frac.bytes()).chain(pad) {
        if !d.is_ascii_digit() {
            return Err(format!("{s:?} is not a decimal"));
        }
        let mut carry = u32::from(d - b'0');
        for byte in mag.iter_mut().rev() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = v as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            mag.insert(0, carry as u8);
            carry >>= 8;
        }
    }
    while mag.first() == Some(&0) {
        mag.remove(0);
    }
    if mag.is_empty() {
        return Ok(vec![0]);
    }
    if !neg {
        if mag[0] & 0x80 != 0 {
            mag.insert(0, 0);
        }
        return Ok(mag);
    }
    // Two's complement of the magnitude.
    let mut carry = 1u16;
    for byte in mag.iter_mut().rev() {
        let v = u16::from(!*byte) + carry;
        *byte = v as u8;
        carry = v >> 8;
    }
    if mag[0] & 0x80 == 0 {
        mag.insert(0, 0xff);
    }
    // Minimal: drop a leading 0xff whose next byte keeps the sign.
    while mag.len() > 1 && mag[0] == 0xff && mag[1] & 0x80 != 0 {
        mag.remove(0);
    }
    Ok(mag)
}

/// The number of fraction digits of decimal text `s`.
pub fn scale_of(s: &str) -> usize {
    s.split_once('.').map_or(0, |(_, f)| f.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_of_every_shape() {
        let t = |s: &str| Elem::Text(s.into());
        assert_eq!(parse_array("{}", b',').unwrap(), vec![]);
        assert_eq!(
            parse_array("{1,2,NULL}", b',').unwrap(),
            vec![t("1"), t("2"), Elem::Null]
        );
        assert_eq!(
            parse_array(r#"{"a b",c,NULL,"","NULL","q\"uote","back\\slash"}"#, b',').unwrap(),
            vec![
                t("a b"),
                t("c"),
                Elem::Null,
                t(""),
                t("NULL"),
                t("q\"uote"),
                t("back\\slash")
            ]
        );
        assert_eq!(
            parse_array("{{1,2},{3,4}}", b',').unwrap(),
            vec![
                Elem::Array(vec![t("1"), t("2")]),
                Elem::Array(vec![t("3"), t("4")])
            ]
        );
        assert_eq!(
            parse_array("[0:1]={1,2}", b',').unwrap(),
            vec![t("1"), t("2")]
        );
        assert!(parse_array("{1,2", b',').is_err());
        assert!(parse_array("{1}x", b',').is_err());
    }

    #[test]
    fn unscaled_integers_as_java_writes_them() {
        let hex = |s: &str, k| {
            unscaled_bytes(s, k)
                .unwrap()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        assert_eq!(hex("12345.678", 3), "00bc614e");
        assert_eq!(hex("-1234.50", 2), "fe1dc6");
        assert_eq!(hex("-0.000001", 6), "ff");
        assert_eq!(hex("0", 2), "00");
        assert_eq!(hex("-128", 0), "80");
        assert_eq!(hex("128", 0), "0080");
        assert_eq!(hex("-129", 0), "ff7f");
        assert_eq!(hex("-256", 0), "ff00");
        assert_eq!(hex("9999999999.99", 2), "00e8d4a50fff");
        assert!(unscaled_bytes("1.234", 2).is_err());
        // The i128 path and the big-number path agree.
        for (d, k) in [
            ("-1234.50", 2),
            ("128", 0),
            ("-129", 0),
            ("0.00", 2),
            ("-99999999999999999999999999999999999.9", 1),
        ] {
            let neg = d.starts_with('-');
            let digits = d.trim_start_matches('-');
            let (i, f) = digits.split_once('.').unwrap_or((digits, ""));
            assert_eq!(
                unscaled_bytes(d, k).unwrap(),
                unscaled_big(d, neg, i, f, k).unwrap(),
                "{d}"
            );
        }
        // Beyond 38 digits: 10^40 = 0x1d6329f1c35ca4bfabb9f5610000000000.
        assert_eq!(
            hex(&format!("1{}", "0".repeat(40)), 0),
            "1d6329f1c35ca4bfabb9f5610000000000"
        );
    }

    #[test]
    fn bits_and_money() {
        assert_eq!(bits_le("101011110001").unwrap(), vec![0xf1, 0x0a]);
        assert_eq!(bits_le("000000000001").unwrap(), vec![0x01]);
        assert_eq!(bits_le("").unwrap(), Vec::<u8>::new());
        assert_eq!(money_decimal("$1,234.56").unwrap(), "1234.56");
        assert_eq!(money_decimal("-$0.01").unwrap(), "-0.01");
    }
}
