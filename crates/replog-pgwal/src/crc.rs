//! CRC-32C (Castagnoli), as PostgreSQL computes a record's `xl_crc`.
//!
//! Most of a WAL's bytes are full-page images of 8 KB or less. The `crc32c`
//! crate runs the CPU's CRC instruction on three streams at once only in
//! blocks of 3 × 8 KB; below that, in blocks of 3 × 256 bytes, each followed
//! by table lookups that join the three streams. Here a buffer is cut into
//! three equal blocks of a multiple of 64 bytes (up to 8 KB each), their CRCs
//! computed at once, and joined with two carry-less multiplications
//! (`PCLMULQDQ`): on x86-64 with SSE 4.2 and PCLMULQDQ. Elsewhere, the crate.
//!
//! Joining: the CRC register is a polynomial over GF(2) in reflected bit
//! order, and feeding `n` zero bytes to a register `c` gives
//! `c · x^(8n) mod P`. With `clmul(a, b) = x · a · b` for reflected 32-bit
//! operands and the CRC instruction on a 64-bit value `v` from a zero
//! register giving `v · x^32 mod P`, `crc32_u64(0, clmul(c, K))` with
//! `K = x^(8n − 33) mod P` is `c` shifted by `n` zero bytes. The CRC of
//! blocks `A B C` is then `shift(crc(A), |B|+|C|) ⊕ shift(crc₀(B), |C|) ⊕
//! crc₀(C)`, where `crc₀` starts from a zero register.

/// Bytes per unit of a block.
const UNIT: usize = 64;
/// Largest block, in units (8 KB).
const MAX_UNITS: usize = 128;

/// The reflected CRC-32C polynomial.
const POLY: u32 = 0x82F6_3B78;

/// `x^m mod P` in reflected order.
const fn xpow(m: usize) -> u32 {
    // x^0 is the top bit in reflected order; each step multiplies by x.
    let mut r: u32 = 0x8000_0000;
    let mut i = 0;
    while i < m {
        r = if r & 1 != 0 { (r >> 1) ^ POLY } else { r >> 1 };
        i += 1;
    }
    r
}

/// `K[j] = x^(8 · 64j − 33) mod P`: shifts by `j` units (`K[0]` unused).
const fn shift_table() -> [u64; 2 * MAX_UNITS + 1] {
    let mut t = [0u64; 2 * MAX_UNITS + 1];
    // x^(512j - 33): start at j = 1 and multiply by x^512 each step.
    let mut r = xpow(8 * UNIT - 33);
    let mut j = 1;
    while j <= 2 * MAX_UNITS {
        t[j] = r as u64;
        let mut i = 0;
        while i < 8 * UNIT {
            r = if r & 1 != 0 { (r >> 1) ^ POLY } else { r >> 1 };
            i += 1;
        }
        j += 1;
    }
    t
}

static SHIFT: [u64; 2 * MAX_UNITS + 1] = shift_table();

/// CRC-32C of `data`.
#[inline]
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c_append(0, data)
}

/// CRC-32C of the bytes whose CRC is `crc` followed by `data` (as
/// `crc32c::crc32c_append`).
#[inline]
pub fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        if data.len() >= 3 * UNIT
            && std::arch::is_x86_feature_detected!("sse4.2")
            && std::arch::is_x86_feature_detected!("pclmulqdq")
        {
            // SAFETY: the CPU has the features the function is compiled for.
            #[allow(unsafe_code)]
            return unsafe { x86::append(crc, data) };
        }
    }
    crc32c::crc32c_append(crc, data)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{MAX_UNITS, SHIFT, UNIT};
    use std::arch::x86_64::{
        __m128i, _mm_clmulepi64_si128, _mm_crc32_u8, _mm_crc32_u64, _mm_cvtsi64_si128,
        _mm_cvtsi128_si64,
    };

    #[inline]
    fn word(b: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
    }

    /// `c` shifted by `units` × 64 zero bytes.
    #[inline]
    #[target_feature(enable = "sse4.2,pclmulqdq")]
    fn shift(c: u64, units: usize) -> u64 {
        let a: __m128i = _mm_cvtsi64_si128(c as i64);
        let k: __m128i = _mm_cvtsi64_si128(SHIFT[units] as i64);
        let p = _mm_cvtsi128_si64(_mm_clmulepi64_si128::<0>(a, k)) as u64;
        _mm_crc32_u64(0, p)
    }

    #[target_feature(enable = "sse4.2,pclmulqdq")]
    pub(super) fn append(crc: u32, data: &[u8]) -> u32 {
        let mut c0 = u64::from(!crc);
        let mut rest = data;
        while rest.len() >= 3 * UNIT {
            let units = (rest.len() / (3 * UNIT)).min(MAX_UNITS);
            let n = units * UNIT;
            let (a, tail) = rest.split_at(n);
            let (b, tail) = tail.split_at(n);
            let (c, tail) = tail.split_at(n);
            let (mut c1, mut c2) = (0u64, 0u64);
            let mut i = 0;
            while i < n {
                c0 = _mm_crc32_u64(c0, word(a, i));
                c1 = _mm_crc32_u64(c1, word(b, i));
                c2 = _mm_crc32_u64(c2, word(c, i));
                i += 8;
            }
            c0 = shift(c0, 2 * units) ^ shift(c1, units) ^ c2;
            rest = tail;
        }
        let mut words = rest.chunks_exact(8);
        for w in words.by_ref() {
            c0 = _mm_crc32_u64(c0, u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        let mut c = c0 as u32;
        for &b in words.remainder() {
            c = _mm_crc32_u8(c, b);
        }
        !c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_the_crc32c_crate_for_every_length_and_start() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let data: Vec<u8> = (0..70_000).map(|_| next() as u8).collect();
        for len in (0..2000).chain([8192, 8191, 8193, 24_575, 24_576, 24_577, 69_990]) {
            let off = (next() % 8) as usize;
            let init = next() as u32;
            let d = &data[off..off + len];
            assert_eq!(crc32c(d), crc32c::crc32c(d), "len {len}");
            assert_eq!(
                crc32c_append(init, d),
                crc32c::crc32c_append(init, d),
                "len {len} from {init:08x}"
            );
        }
        // The check value of CRC-32C.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn shift_constants_are_powers_of_x() {
        assert_eq!(xpow(0), 0x8000_0000);
        assert_eq!(xpow(32), POLY);
        assert_eq!(SHIFT[1], u64::from(xpow(512 - 33)));
        assert_eq!(SHIFT[7], u64::from(xpow(7 * 512 - 33)));
    }
}
