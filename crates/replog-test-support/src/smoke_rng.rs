//! The random generator of smoke tests and of seeded test loops.

/// A small deterministic generator for smoke tests (SplitMix64).
#[derive(Debug, Clone)]
pub struct SmokeRng(pub u64);

impl SmokeRng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> SmokeRng {
        SmokeRng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    /// Between 0 and `max` random bytes.
    pub fn bytes_up_to(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        self.bytes(n)
    }

    /// A copy of `base` with a few random bytes changed, inserted or cut.
    pub fn mutate(&mut self, base: &[u8]) -> Vec<u8> {
        let mut v = base.to_vec();
        for _ in 0..=(self.next_u64() % 4) {
            if v.is_empty() {
                break;
            }
            let i = self.below(v.len());
            match self.next_u64() % 5 {
                0 => v[i] ^= 1 << (self.next_u64() % 8),
                1 => v[i] = self.next_u64() as u8,
                2 => v.truncate(i),
                3 => v.insert(i, self.next_u64() as u8),
                // Boundary bytes: lengths and counts at their limits.
                _ => v[i] = [0, 0xff, 0x7f, 0x80, 0xfe][self.below(5)],
            }
        }
        v
    }
}

/// A fuzz target's smoke run: `check` on random inputs of up to `max_len`
/// bytes from a generator seeded with `seed` (and the generator, to derive
/// more inputs). `default` inputs, or as many as the environment variable
/// `REPLOG_SMOKE_ITERATIONS` says, for a longer run:
/// `REPLOG_SMOKE_ITERATIONS=300000 cargo test --release -p CRATE smoke`.
pub fn smoke(
    seed: u64,
    default: usize,
    max_len: usize,
    mut check: impl FnMut(&mut SmokeRng, &[u8]),
) {
    let iterations = std::env::var("REPLOG_SMOKE_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    let mut rng = SmokeRng::new(seed);
    for _ in 0..iterations {
        let input = rng.bytes_up_to(max_len);
        check(&mut rng, &input);
    }
}
