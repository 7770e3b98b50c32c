//! The JSON the envelopes write, appended to a reused buffer: strings
//! escaped as JSON requires, numbers without allocation, bytes in base64.
//! Every envelope writes through these, so one line costs no allocation
//! beyond the buffer's growth.

/// Where an envelope writes: one JSON document per line (NDJSON), counted.
/// Each envelope renders a line into its own reused buffer and hands it
/// here whole.
pub struct Lines<W: std::io::Write> {
    out: W,
    written: u64,
}

impl<W: std::io::Write> Lines<W> {
    /// Lines written to `out`.
    pub fn new(out: W) -> Lines<W> {
        Lines { out, written: 0 }
    }

    /// Ends `line` (one rendered document) with a newline and writes it.
    pub fn write(&mut self, line: &mut Vec<u8>) -> std::io::Result<()> {
        line.push(b'\n');
        self.written += 1;
        self.out.write_all(line)
    }

    /// Lines written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The output, flushed.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Appends `s` as a JSON string (quotes included).
pub fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => {
                out.extend_from_slice(&b[start..i]);
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 15)]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&b[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends a signed integer.
pub fn int(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends an unsigned integer.
pub fn uint(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends a double as the shortest text that reads back to it (always
/// with a fraction or an exponent, so it stays a floating-point number);
/// NaN and the infinities, which JSON cannot hold, as the strings `NaN`,
/// `Infinity`, `-Infinity`.
pub fn f64(out: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        return nonfinite(out, v.is_nan(), v > 0.0);
    }
    float_text(out, &format!("{v:?}"));
}

/// Appends a float (binary32) as the shortest text that reads back to it.
pub fn f32(out: &mut Vec<u8>, v: f32) {
    if !v.is_finite() {
        return nonfinite(out, v.is_nan(), v > 0.0);
    }
    float_text(out, &format!("{v:?}"));
}

fn nonfinite(out: &mut Vec<u8>, nan: bool, positive: bool) {
    string(
        out,
        match (nan, positive) {
            (true, _) => "NaN",
            (false, true) => "Infinity",
            (false, false) => "-Infinity",
        },
    );
}

/// Rust's `{:?}` of a float (`1e20`, `0.1`, `1.0`, `1e-7`) as JSON.
fn float_text(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
}

/// Appends `b` in standard base64 (with padding) as a JSON string.
pub fn base64(out: &mut Vec<u8>, b: &[u8]) {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.push(b'"');
    let mut chunks = b.chunks_exact(3);
    for c in &mut chunks {
        let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        out.extend_from_slice(&[
            A[(n >> 18) as usize & 63],
            A[(n >> 12) as usize & 63],
            A[(n >> 6) as usize & 63],
            A[n as usize & 63],
        ]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend_from_slice(&[
                A[(n >> 18) as usize & 63],
                A[(n >> 12) as usize & 63],
                b'=',
                b'=',
            ]);
        }
        [a, b2] => {
            let n = (u32::from(a) << 16) | (u32::from(b2) << 8);
            out.extend_from_slice(&[
                A[(n >> 18) as usize & 63],
                A[(n >> 12) as usize & 63],
                A[(n >> 6) as usize & 63],
                b'=',
            ]);
        }
        _ => {}
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn strings_read_back_as_serde_json_reads_them() {
        for t in [
            "",
            "plain",
            "q\"b\\s",
            "tab\tnl\ncr\r\u{1}\u{1f}\u{7f}",
            "ünï ✓ 😀",
        ] {
            let j = s(|o| string(o, t));
            assert_eq!(serde_json::from_str::<String>(&j).unwrap(), t);
        }
    }

    #[test]
    fn base64_matches_the_standard_alphabet() {
        // RFC 4648 section 10 test vectors.
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(s(|o| base64(o, raw.as_bytes())), format!("\"{enc}\""));
        }
    }

    #[test]
    fn floats_read_back_exactly() {
        for v in [0.1, -1e300, 1e20, 0.0, -0.0, 1.7976931348623157e308, 5e-324] {
            let j = s(|o| f64(o, v));
            assert_eq!(j.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{j}");
        }
        assert_eq!(s(|o| f32(o, 2.5e-10)), "2.5e-10");
        assert_eq!(s(|o| f64(o, f64::NAN)), "\"NaN\"");
    }
}
