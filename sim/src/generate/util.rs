//! Small helpers shared by the generator: time arithmetic in epoch milliseconds, random
//! distributions, ids and hashes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub(super) const SEC: i64 = 1_000;
pub(super) const MIN: i64 = 60 * SEC;
pub(super) const HOUR: i64 = 60 * MIN;
pub(super) const DAY: i64 = 24 * HOUR;

/// Epoch milliseconds → timestamp.
pub(super) fn ts(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Timestamp → epoch milliseconds (sub-millisecond digits dropped, so never later than `t`).
pub(super) fn ms_of(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(super) fn floor_sec(ms: i64) -> i64 {
    ms.div_euclid(SEC) * SEC
}

/// splitmix64: decorrelates seeds so neighbouring seeds give unrelated streams.
pub(super) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// An independent random stream for one part of the generator, so that changing one part does
/// not reshuffle the others.
pub(super) fn rng_for(seed: u64, stream: u64) -> StdRng {
    StdRng::seed_from_u64(mix(mix(seed) ^ mix(stream.wrapping_mul(0xA24B_AED4_963E_E407))))
}

/// Log-uniform duration in `[lo, hi]` (most values near `lo`, a long tail towards `hi`).
pub(super) fn log_uniform(rng: &mut StdRng, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        return lo.max(0);
    }
    let (a, b) = ((lo.max(1)) as f64, hi as f64);
    let x: f64 = rng.random();
    let v = (a.ln() + x * (b.ln() - a.ln())).exp() as i64;
    v.clamp(lo, hi)
}

/// Poisson-distributed count (Knuth; fine for the small means used here).
pub(super) fn poisson(rng: &mut StdRng, mean: f64) -> usize {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 30.0 {
        // Normal approximation.
        let u1: f64 = rng.random::<f64>().max(1e-12);
        let u2: f64 = rng.random();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        return (mean + z * mean.sqrt()).round().max(0.0) as usize;
    }
    let l = (-mean).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.random::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

/// Rounds an expected count to an integer, up or down at random in proportion.
pub(super) fn round_random(rng: &mut StdRng, x: f64) -> usize {
    if x <= 0.0 {
        return 0;
    }
    let f = x.floor();
    f as usize + usize::from(rng.random::<f64>() < x - f)
}

/// Index chosen with probability proportional to `weights`.
pub(super) fn weighted(rng: &mut StdRng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    if total == 0 {
        return 0;
    }
    let mut r = rng.random_range(0..total);
    for (i, w) in weights.iter().enumerate() {
        if r < *w {
            return i;
        }
        r -= w;
    }
    weights.len() - 1
}

/// Monday = 0 … Sunday = 6.
pub(super) fn weekday(ms: i64) -> i64 {
    (ms.div_euclid(DAY) + 3).rem_euclid(7)
}

/// A time in `[lo, hi)`, biased towards weekdays and office hours (UTC 07–19), like real teams.
pub(super) fn work_time(rng: &mut StdRng, lo: i64, hi: i64) -> i64 {
    if hi <= lo + 1 {
        return lo;
    }
    let mut t = rng.random_range(lo..hi);
    for _ in 0..3 {
        let hour = t.rem_euclid(DAY) / HOUR;
        let off = weekday(t) >= 5 || !(7..19).contains(&hour);
        if !off || rng.random_bool(0.25) {
            break;
        }
        t = rng.random_range(lo..hi);
    }
    t
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `n` random lower-case hex digits (git shas, Atlassian account ids).
pub(super) fn hex(rng: &mut StdRng, n: usize) -> String {
    let mut s = String::with_capacity(n);
    let mut bits = 0u64;
    let mut left = 0;
    for _ in 0..n {
        if left == 0 {
            bits = rng.random();
            left = 16;
        }
        s.push(char::from(HEX[(bits & 15) as usize]));
        bits >>= 4;
        left -= 1;
    }
    s
}

pub(super) fn sha(rng: &mut StdRng) -> String {
    hex(rng, 40)
}

/// GitHub-style opaque node id: a type prefix and the base64url of the database id.
pub(super) fn node_id(prefix: &str, id: u64) -> String {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    let mut s = String::with_capacity(prefix.len() + 12);
    s.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(&bytes[skip..], &mut s);
    s
}

/// Hands out increasing ids with occasional gaps (ids used elsewhere in a real instance).
pub(super) struct IdSeq {
    next: u64,
}

impl IdSeq {
    pub(super) fn new(start: u64) -> Self {
        Self { next: start }
    }

    pub(super) fn take(&mut self, rng: &mut StdRng) -> u64 {
        let id = self.next;
        self.next += if rng.random_ratio(1, 8) {
            rng.random_range(2..40)
        } else {
            1
        };
        id
    }
}

/// Sorts `(time, key)` pairs chronologically (ties by key) and hands out increasing ids in that
/// order, so ids grow with time as in the real services.
pub(super) fn ids_by_time<K: Ord + Copy>(
    mut keys: Vec<(i64, K)>,
    seq: &mut IdSeq,
    rng: &mut StdRng,
    mut set: impl FnMut(K, u64),
) {
    keys.sort_unstable();
    for (_, k) in keys {
        set(k, seq.take(rng));
    }
}
