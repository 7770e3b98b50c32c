//! The perturbed environments of the dynamic measurement's replicas.
//!
//! The reference store takes every nondeterministic input from its
//! [`Environment`]: the clock, random numbers, UUIDs, the connection id
//! and the order of unordered row visits. Each replica gets its own
//! [`ReplicaEnv`], described by a [`ReplicaSpec`] that [`replica_specs`]
//! derives from the run's seed:
//!
//! | replica | clock | visit order |
//! |---|---|---|
//! | 0 | 2023-11-14 22:13:20 UTC, +1 µs per reading (the default follower) | forward (primary-key order, as InnoDB) |
//! | 1, 4, 7, … | offset by up to ±1 day, drifting up to 1 s per reading | reverse |
//! | 2, 5, 8, … | likewise | shuffled (a permutation from the replica's random source) |
//! | 3, 6, 9, … | likewise | forward |
//!
//! Every replica has its own random source (session RAND() seeds, shuffles),
//! its own UUID sequence (a separate stream, so that UUID() values differ
//! even where random draws happen to line up) and its own connection id
//! (replica `i` is connection `i + 1`). Replica 0 is the ordinary follower:
//! what a statement-based replica would compute.
//!
//! Everything is a function of the seed: the same seed gives the same
//! replicas and therefore the same run.

use replog_store::env::splitmix64;
use replog_store::{SimEnvironment, VisitOrder};
use serde::Serialize;

/// The seed used when none is given: "replog" in ASCII.
pub const DEFAULT_SEED: u64 = 0x7265_706c_6f67;

/// Replica 0's clock: 2023-11-14 22:13:20 UTC in µs (what
/// `replog_store::SimEnvironment::default` starts at).
pub const BASE_CLOCK_US: i64 = 1_700_000_000_000_000;

/// How one replica's environment is perturbed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplicaSpec {
    /// Replica number (0 is the unperturbed follower).
    pub index: usize,
    /// Clock offset from [`BASE_CLOCK_US`], µs.
    pub clock_offset_us: i64,
    /// How far the clock advances at every reading, µs (drift).
    pub clock_tick_us: i64,
    /// Seed of the replica's random source.
    pub random_seed: u64,
    /// Seed of the replica's UUID sequence.
    pub uuid_seed: u64,
    /// CONNECTION_ID() when the log did not capture the thread id.
    pub connection_id: u64,
    /// Visit order of unordered row visits.
    #[serde(serialize_with = "ser_order")]
    pub visit_order: VisitOrder,
}

fn ser_order<S: serde::Serializer>(o: &VisitOrder, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(order_name(*o))
}

/// `forward`, `reverse` or `shuffled`.
pub fn order_name(o: VisitOrder) -> &'static str {
    match o {
        VisitOrder::Forward => "forward",
        VisitOrder::Reverse => "reverse",
        VisitOrder::Shuffled => "shuffled",
    }
}

impl ReplicaSpec {
    /// One line for tables: `#1 reverse, clock +3600.000s, +1000µs/read`.
    pub fn describe(&self) -> String {
        format!(
            "#{} {}, clock {:+.6}s, +{}µs/read",
            self.index,
            order_name(self.visit_order),
            self.clock_offset_us as f64 / 1e6,
            self.clock_tick_us
        )
    }

    /// The environment.
    pub fn env(&self) -> ReplicaEnv {
        SimEnvironment::new(
            BASE_CLOCK_US.saturating_add(self.clock_offset_us),
            self.random_seed,
        )
        .with_tick(self.clock_tick_us)
        .with_uuid_seed(self.uuid_seed)
        .with_connection_id(self.connection_id)
        .with_visit_order(self.visit_order)
        // A shuffled replica visits the rows a WHERE pins by key in a
        // random order, without scanning the table: the same rows, at the
        // cost of a lookup.
        .with_shuffled_key_lookups(true)
    }
}

/// The specs of `n` replicas for a run with `seed` (see the module docs).
pub fn replica_specs(n: usize, seed: u64) -> Vec<ReplicaSpec> {
    let mut state = seed;
    (0..n)
        .map(|i| {
            let random_seed = splitmix64(&mut state);
            let uuid_seed = splitmix64(&mut state);
            let h = splitmix64(&mut state);
            if i == 0 {
                return ReplicaSpec {
                    index: 0,
                    clock_offset_us: 0,
                    clock_tick_us: 1,
                    random_seed,
                    uuid_seed,
                    connection_id: 1,
                    visit_order: VisitOrder::Forward,
                };
            }
            // An offset of 1 ms to 1 day, either way, and a tick of 2 µs to
            // 1 s: never replica 0's clock.
            let magnitude = 1_000 + (h % 86_400_000_000) as i64;
            let offset = if h >> 63 == 1 { -magnitude } else { magnitude };
            let tick = 2 + ((h >> 20) % 1_000_000) as i64;
            let visit_order = match i % 3 {
                1 => VisitOrder::Reverse,
                2 => VisitOrder::Shuffled,
                _ => VisitOrder::Forward,
            };
            ReplicaSpec {
                index: i,
                clock_offset_us: offset,
                clock_tick_us: tick,
                random_seed,
                uuid_seed,
                connection_id: i as u64 + 1,
                visit_order,
            }
        })
        .collect()
}

/// A replica's environment: the store's simulated one, with a drifting
/// clock, a SplitMix64 random source, a separate UUID stream, a connection
/// id and a visit order ([`ReplicaSpec::env`]).
pub type ReplicaEnv = SimEnvironment;

#[cfg(test)]
mod tests {
    use super::*;
    use replog_store::Environment;

    #[test]
    fn specs_are_reproducible_and_distinct() {
        let a = replica_specs(7, 42);
        assert_eq!(a, replica_specs(7, 42));
        assert_ne!(a, replica_specs(7, 43));
        assert_eq!(a[0].visit_order, VisitOrder::Forward);
        assert_eq!((a[0].clock_offset_us, a[0].clock_tick_us), (0, 1));
        assert_eq!(a[1].visit_order, VisitOrder::Reverse);
        assert_eq!(a[2].visit_order, VisitOrder::Shuffled);
        for s in &a[1..] {
            assert!(s.clock_offset_us.abs() >= 1_000, "{s:?}");
            assert!(s.clock_tick_us >= 2);
        }
        let mut e0 = a[0].env();
        let mut e1 = a[1].env();
        assert_eq!(e0.now_micros(), BASE_CLOCK_US);
        assert_eq!(e0.now_micros(), BASE_CLOCK_US + 1);
        assert_ne!(e0.uuid(), e1.uuid());
        assert_ne!(e0.random_u64(), e1.random_u64());
    }
}
