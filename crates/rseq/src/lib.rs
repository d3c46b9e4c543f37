//! Restartable sequences (rseq) for the tracer's fast path.
//!
//! The one idea: a thread that runs on CPU `c` may update CPU `c`'s data with
//! plain, non-atomic instructions inside a *critical section* that the kernel
//! restarts (jumps to an abort handler) if the thread is preempted, migrated
//! or signalled before the final store. No lock prefix, no system call.
//!
//! - [`mode`] tells who owns the per-thread rseq area: glibc (2.35+, found
//!   through `__rseq_offset`/`__rseq_size`), this crate (only when nobody
//!   registered; one area per thread, registered lazily, unregistered at
//!   thread exit), or nobody.
//! - [`current_cpu`] reads the CPU number from the area (`sched_getcpu()`
//!   when there is none); [`possible_cpus`] sizes per-CPU arrays.
//! - [`Area`] has the critical sections (x86_64): [`Area::add`],
//!   [`Area::cmpeqv_storev`], [`Area::cmpeqv_trystorev_storev`] (the ring
//!   buffer's reserve) and [`Area::cmpeqv_trystores_storev`] (its sub-buffer
//!   switch).
//! - [`PerCpuCounter`] shows the fallback rules: the strategy is chosen once
//!   per process ([`default_strategy`]), and a thread whose sections keep
//!   aborting (debugger, valgrind) takes a bounded-retry fallback to an atomic
//!   on a separate word.

pub mod abi;
mod counter;
mod cpu;
mod cs;
mod registration;

#[cfg(feature = "bench")]
pub mod bench;

pub use counter::{default_strategy, PerCpuCounter, Strategy, MAX_ABORTS};
pub use cpu::{current_cpu, parse_cpu_list_max, possible_cpus, sched_getcpu};
pub use cs::{aborts, cs_supported, CsError, Store};
pub use registration::{mode, registration_stats, thread_area, Area, Mode, RegistrationStats};
