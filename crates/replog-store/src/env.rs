//! Injected nondeterminism: the clock, random numbers, UUIDs, connection id
//! and the order in which unordered row visits happen.
//!
//! Nothing in the store reads the wall clock or an ambient random source;
//! everything comes from an [`Environment`], so a run is reproducible from
//! its environment's seed, and a test can make "unsafe" statements choose
//! differently on a follower.

/// The order in which a statement without ORDER BY visits candidate rows
/// (UPDATE/DELETE … LIMIT, INSERT … SELECT, SELECT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitOrder {
    /// Primary-key order (what InnoDB does).
    Forward,
    /// Reverse primary-key order.
    Reverse,
    /// A permutation drawn from the environment's random source.
    Shuffled,
}

/// The source of every nondeterministic input of the store.
pub trait Environment {
    /// Wall-clock time, microseconds since the Unix epoch (UTC). Read once
    /// per statement for NOW()/CURRENT_TIMESTAMP and at every SYSDATE() call.
    fn now_micros(&mut self) -> i64;
    /// A fresh 64-bit random number (session RAND seeds, shuffles).
    fn random_u64(&mut self) -> u64;
    /// The next UUID() as 16 bytes (formatted 8-4-4-4-12 in lowercase hex).
    fn uuid(&mut self) -> [u8; 16];
    /// CONNECTION_ID().
    fn connection_id(&self) -> u64;
    /// Visit order of unordered row visits.
    fn visit_order(&self) -> VisitOrder;
    /// With [`VisitOrder::Shuffled`]: whether a WHERE that pins primary or
    /// unique keys visits just those rows, in an order drawn from
    /// [`Environment::random_u64`], instead of scanning the whole table in
    /// a shuffled order. Both visit the same rows; the lookup costs far
    /// less on large tables but draws other random numbers. `false` (scan)
    /// unless an environment says otherwise; the other orders always look
    /// keys up.
    fn shuffle_key_lookups(&self) -> bool {
        false
    }
}

/// A deterministic environment: a clock that starts at `start_us` and
/// advances `tick_us` at every reading, a SplitMix64 random source, v4-style
/// UUIDs from that source.
#[derive(Debug, Clone)]
pub struct SimEnvironment {
    now_us: i64,
    tick_us: i64,
    rng: u64,
    /// A separate UUID stream (None: UUIDs come from `rng`).
    uuid_rng: Option<u64>,
    connection_id: u64,
    order: VisitOrder,
    shuffle_key_lookups: bool,
}

impl SimEnvironment {
    /// A simulated environment with the given start time (µs since the
    /// epoch) and random seed; the clock ticks 1 µs per reading, the
    /// connection id is 1, visits are in primary-key order.
    pub fn new(start_us: i64, seed: u64) -> SimEnvironment {
        SimEnvironment {
            now_us: start_us,
            tick_us: 1,
            rng: seed,
            uuid_rng: None,
            connection_id: 1,
            order: VisitOrder::Forward,
            shuffle_key_lookups: false,
        }
    }

    /// Sets how far the clock advances per reading.
    pub fn with_tick(mut self, tick_us: i64) -> SimEnvironment {
        self.tick_us = tick_us;
        self
    }

    /// Sets the visit order.
    pub fn with_visit_order(mut self, order: VisitOrder) -> SimEnvironment {
        self.order = order;
        self
    }

    /// Draws UUIDs from a stream of their own, seeded with `seed`, so that
    /// UUID() calls do not move the random numbers.
    pub fn with_uuid_seed(mut self, seed: u64) -> SimEnvironment {
        self.uuid_rng = Some(seed);
        self
    }

    /// Sets [`Environment::shuffle_key_lookups`].
    pub fn with_shuffled_key_lookups(mut self, on: bool) -> SimEnvironment {
        self.shuffle_key_lookups = on;
        self
    }

    /// Sets CONNECTION_ID().
    pub fn with_connection_id(mut self, id: u64) -> SimEnvironment {
        self.connection_id = id;
        self
    }

    /// Moves the clock to an absolute time.
    pub fn set_now(&mut self, us: i64) {
        self.now_us = us;
    }
}

impl Default for SimEnvironment {
    /// 2023-11-14 22:13:20 UTC, seed 0.
    fn default() -> SimEnvironment {
        SimEnvironment::new(1_700_000_000_000_000, 0)
    }
}

impl Environment for SimEnvironment {
    fn now_micros(&mut self) -> i64 {
        let t = self.now_us;
        self.now_us = self.now_us.saturating_add(self.tick_us);
        t
    }

    fn random_u64(&mut self) -> u64 {
        splitmix64(&mut self.rng)
    }

    fn uuid(&mut self) -> [u8; 16] {
        let rng = self.uuid_rng.as_mut().unwrap_or(&mut self.rng);
        let a = splitmix64(rng);
        let b = splitmix64(rng);
        uuid_v4(a, b)
    }

    fn connection_id(&self) -> u64 {
        self.connection_id
    }

    fn visit_order(&self) -> VisitOrder {
        self.order
    }

    fn shuffle_key_lookups(&self) -> bool {
        self.shuffle_key_lookups
    }
}

/// SplitMix64 step: advances `state` and returns its output (the simulated
/// environment's random numbers and UUIDs, and the determinism replicas').
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A version-4 (random) UUID from two random words, taken big-endian, with
/// the version and variant bits set.
pub fn uuid_v4(a: u64, b: u64) -> [u8; 16] {
    let mut u = [0u8; 16];
    u[..8].copy_from_slice(&a.to_be_bytes());
    u[8..].copy_from_slice(&b.to_be_bytes());
    u[6] = (u[6] & 0x0F) | 0x40;
    u[8] = (u[8] & 0x3F) | 0x80;
    u
}

/// Formats a UUID as MySQL's UUID() does: 36 characters, lowercase hex.
pub fn format_uuid(u: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// MySQL's `my_rnd` generator behind RAND(): two seeds modulo 0x3FFFFFFF.
///
/// `seed1 = (seed1*3 + seed2) % max; seed2 = (seed1 + seed2 + 33) % max;`
/// the result is `seed1 / max`. RAND(N) starts from
/// `seed1 = (u32)(N*0x10001 + 55555555)`, `seed2 = (u32)(N*0x10000001)`
/// (each then taken modulo max), as in MySQL's and MariaDB's
/// `Item_func_rand::seed_random` and `my_rnd_init`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MyRnd {
    /// First seed (what a binlog RAND event carries as RAND_SEED1).
    pub seed1: u32,
    /// Second seed (RAND_SEED2).
    pub seed2: u32,
}

/// The modulus of [`MyRnd`].
pub const MY_RND_MAX: u32 = 0x3FFF_FFFF;

impl MyRnd {
    /// `my_rnd_init(seed1, seed2)`: both taken modulo the maximum.
    pub fn new(seed1: u64, seed2: u64) -> MyRnd {
        MyRnd {
            seed1: (seed1 % u64::from(MY_RND_MAX)) as u32,
            seed2: (seed2 % u64::from(MY_RND_MAX)) as u32,
        }
    }

    /// The generator of RAND(n), `n` already converted to an integer.
    pub fn from_seed(n: i64) -> MyRnd {
        let tmp = n as u32; // (uint32) args[0]->val_int()
        let s1 = (u64::from(tmp)
            .wrapping_mul(0x10001)
            .wrapping_add(55_555_555)) as u32;
        let s2 = u64::from(tmp).wrapping_mul(0x1000_0001) as u32;
        MyRnd::new(u64::from(s1), u64::from(s2))
    }

    /// The next value in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        let max = u64::from(MY_RND_MAX);
        let s1 = (u64::from(self.seed1) * 3 + u64::from(self.seed2)) % max;
        let s2 = (s1 + u64::from(self.seed2) + 33) % max;
        self.seed1 = s1 as u32;
        self.seed2 = s2 as u32;
        s1 as f64 / max as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rand_with_seed_matches_mariadb() {
        // fixtures/mariadb/out/unsafe/statement/tables/w_unsafe.t_rand.tsv
        assert_eq!(MyRnd::from_seed(42).next_f64(), 0.6629110161800972);
        assert_eq!(MyRnd::from_seed(7).next_f64(), 0.9065021936842261);
    }

    #[test]
    fn rand_from_logged_seeds_matches_mariadb() {
        // events.txt: SET @@RAND_SEED1=100583839, @@RAND_SEED2=837789320
        let mut r = MyRnd::new(100_583_839, 837_789_320);
        assert_eq!(r.next_f64(), 0.061280107182711464);
    }

    #[test]
    fn uuid_text() {
        let u = [
            0x16, 0x59, 0x25, 0xfd, 0xe6, 0x37, 0x11, 0xf1, 0x8c, 0xfe, 2, 0xfc, 0, 0, 0, 1,
        ];
        assert_eq!(format_uuid(&u), "165925fd-e637-11f1-8cfe-02fc00000001");
    }
}
