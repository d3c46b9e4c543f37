//! A per-CPU counter: the model for every per-CPU structure built on the
//! critical sections. Slots are updated by rseq (no lock prefix); a thread
//! whose sections keep aborting (debugger, valgrind) or that has no rseq area
//! adds to a separate shared word with an atomic instead, so rseq stores and
//! atomic read-modify-writes never touch the same word.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::cpu::{possible_cpus, sched_getcpu};
use crate::cs::cs_supported;
use crate::registration::{mode, thread_area, Mode};

/// Consecutive aborts after which an operation takes its fallback.
pub const MAX_ABORTS: u32 = 64;

/// How per-CPU updates are done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// rseq critical sections, with a bounded-retry fallback.
    Rseq,
    /// Lock-prefixed atomics on the slot of `sched_getcpu()`.
    Atomic,
}

/// The strategy chosen once for this process: [`Strategy::Rseq`] when rseq is
/// usable (see [`mode`]) and this architecture has the critical sections.
pub fn default_strategy() -> Strategy {
    if cs_supported() && mode() != Mode::Unavailable {
        Strategy::Rseq
    } else {
        Strategy::Atomic
    }
}

#[repr(align(128))]
#[derive(Debug, Default)]
struct Slot(AtomicU64);

/// A counter with one cache-line-padded slot per possible CPU.
#[derive(Debug)]
pub struct PerCpuCounter {
    slots: Box<[Slot]>,
    shared: Slot,
    strategy: Strategy,
    fallbacks: AtomicU64,
}

impl Default for PerCpuCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl PerCpuCounter {
    /// A counter using the process's [`default_strategy`].
    pub fn new() -> Self {
        Self::with_strategy(default_strategy())
    }

    /// A counter with a fixed strategy (`Rseq` degrades to `Atomic` where rseq
    /// is unavailable).
    pub fn with_strategy(strategy: Strategy) -> Self {
        let strategy = if strategy == Strategy::Rseq {
            default_strategy()
        } else {
            strategy
        };
        PerCpuCounter {
            slots: (0..possible_cpus()).map(|_| Slot::default()).collect(),
            shared: Slot::default(),
            strategy,
            fallbacks: AtomicU64::new(0),
        }
    }

    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Add `n` to the calling CPU's slot.
    #[inline]
    pub fn add(&self, n: u64) {
        match self.strategy {
            Strategy::Rseq => self.add_rseq(n),
            Strategy::Atomic => {
                let cpu = sched_getcpu() as usize;
                self.slots[cpu % self.slots.len()]
                    .0
                    .fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    #[inline]
    fn add_rseq(&self, n: u64) {
        if let Some(area) = thread_area() {
            for _ in 0..MAX_ABORTS {
                let cpu = area.cpu_id();
                let Some(slot) = self.slots.get(cpu as usize) else {
                    break;
                };
                if area.add(cpu, &slot.0, n).is_ok() {
                    return;
                }
            }
        }
        self.add_fallback(n);
    }

    #[cold]
    fn add_fallback(&self, n: u64) {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        self.shared.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The total (exact once the adders have stopped).
    pub fn sum(&self) -> u64 {
        self.slots
            .iter()
            .map(|s| s.0.load(Ordering::Relaxed))
            .fold(self.shared.0.load(Ordering::Relaxed), u64::wrapping_add)
    }

    /// The value of one CPU's slot.
    pub fn slot(&self, cpu: usize) -> u64 {
        self.slots
            .get(cpu)
            .map_or(0, |s| s.0.load(Ordering::Relaxed))
    }

    /// How many additions took the atomic fallback of the rseq strategy.
    pub fn fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }
}
