//! Clock classes and the conversion of clock values to nanoseconds from
//! origin, computed exactly as babeltrace2 does (integer for 1 GHz clocks,
//! `double` otherwise) so times and their ordering match.

use ltt_ctf::metadata::Clock;

/// A clock class with its offset normalized (0 <= offset_cycles < freq).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockClass {
    pub name: String,
    pub description: Option<String>,
    pub freq: u64,
    pub precision: u64,
    pub offset_s: i64,
    pub offset_cycles: u64,
    pub uuid: Option<[u8; 16]>,
    /// Whether the origin is the Unix epoch (LTTng clocks are forced to it).
    pub unix_epoch: bool,
    /// Precomputed `offset_s * 1e9 + ns(offset_cycles)`.
    base_ns: i128,
    /// `base_ns` when it fits an i64 and the clock runs at 1 GHz: then a
    /// value converts with one checked add.
    fast_base_ns: Option<i64>,
}

impl ClockClass {
    /// From the metadata clock; `extra_offset_ns` is the user's
    /// `--clock-offset`/`--clock-offset-ns`.
    pub fn new(c: &Clock, unix_epoch: bool, extra_offset_s: i64, extra_offset_ns: i64) -> Self {
        let freq = c.freq.max(1);
        let cycles = c.offset as i128;
        let f = freq as i128;
        let mut offset_s = c.offset_s as i128 + cycles.div_euclid(f);
        let mut offset_cycles = cycles.rem_euclid(f);
        // The user's offset applies in seconds plus nanoseconds converted
        // to cycles, as src.ctf.fs does.
        offset_s += extra_offset_s as i128;
        if extra_offset_ns != 0 {
            let extra_cycles = (extra_offset_ns as i128 * f) / 1_000_000_000;
            let total = offset_cycles + extra_cycles;
            offset_s += total.div_euclid(f);
            offset_cycles = total.rem_euclid(f);
        }
        let offset_s = offset_s.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
        let offset_cycles = offset_cycles as u64;
        let base_ns =
            offset_s as i128 * 1_000_000_000 + ns_from_cycles(freq, offset_cycles) as i128;
        let fast_base_ns = (freq == 1_000_000_000)
            .then(|| i64::try_from(base_ns).ok())
            .flatten();
        ClockClass {
            fast_base_ns,
            name: c.name.clone(),
            description: c.description.clone(),
            freq,
            precision: c.precision,
            offset_s,
            offset_cycles,
            uuid: c.uuid,
            unix_epoch,
            base_ns,
        }
    }

    /// Nanoseconds from origin of a clock value; `None` on overflow.
    #[inline]
    pub fn ns_from_origin(&self, cycles: u64) -> Option<i64> {
        if let Some(base) = self.fast_base_ns {
            return base.checked_add_unsigned(cycles);
        }
        let ns = self.base_ns + ns_from_cycles(self.freq, cycles) as i128;
        i64::try_from(ns).ok()
    }
}

impl ClockClass {
    /// The clock value at `ns` from origin (the inverse of
    /// [`ns_from_origin`](Self::ns_from_origin), rounded down); `None`
    /// before the clock's origin.
    pub fn cycles_from_ns(&self, ns: i64) -> Option<u64> {
        let rel = ns as i128 - self.base_ns;
        if rel < 0 {
            return None;
        }
        let cycles = if self.freq == 1_000_000_000 {
            rel
        } else {
            rel * self.freq as i128 / 1_000_000_000
        };
        u64::try_from(cycles).ok()
    }
}

/// Cycles to nanoseconds, babeltrace's way.
#[inline]
pub fn ns_from_cycles(freq: u64, cycles: u64) -> u64 {
    if freq == 1_000_000_000 {
        cycles
    } else {
        let ns = 1e9 * cycles as f64 / freq as f64;
        if ns >= u64::MAX as f64 {
            u64::MAX
        } else {
            ns as u64
        }
    }
}
