//! Writers: reserve, write, commit. No lock, no system call, no allocation.
//!
//! Reserve reads the stream's write word, the timestamp (after the word, so
//! that records of a stream are in timestamp order), and then commits the new
//! word only if it is unchanged:
//! - rseq channels: a critical section on the thread's CPU buffer
//!   ([`ltt_rseq::Area::cmpeqv_trystorev_storev`]), which also stores the
//!   record's index entry; the sub-buffer switch is
//!   [`ltt_rseq::Area::cmpeqv_trystores_storev`] (close record + entry). No
//!   lock prefix. A thread without rseq, or whose sections keep aborting,
//!   uses the shared stream with compare-and-swap: per-CPU words only ever
//!   see rseq stores.
//! - atomic channels: compare-and-swap on the buffer of the current CPU.
//!
//! Commit is one release store into the record's own entry (its length, its
//! sub-buffer's tag, and the committed bit), so it is correct from any CPU
//! after a migration and needs no read-modify-write. The consumer reads the
//! entries to know which records are complete; a record never committed (dead
//! writer) is found exactly, and the packet is cut before it.
//!
//! In overwrite mode, a sub-buffer is reopened only once every record of its
//! previous lap was committed (see `previous_lap_done`): a writer preempted
//! between reserve and commit would otherwise write its record into a newer
//! packet. Records that find the next sub-buffer still held are dropped.
//!
//! Closing a sub-buffer writes its close record (tag, end, record count,
//! timestamp). In a critical section these are speculative stores that may
//! land even when the section aborts, so the consumer trusts a close record
//! only once the write word has moved past the sub-buffer's end (which only
//! the committing store of a switch does). With compare-and-swap, only the
//! winner writes the close record and the entries, after its swap.
//!
//! The flush (switch timer, stop) of a per-CPU stream of an rseq channel runs
//! on that CPU: as a critical section, or as a compare-and-swap when the
//! flushing thread has no rseq (no writer section can interleave with it
//! there). A writer stopped (not dead) for longer than the consumer's commit
//! timeout may still write into a sub-buffer handed back meanwhile; choose
//! the timeout accordingly.

use std::sync::atomic::{AtomicU64, Ordering};

use ltt_rseq::{Area, CsError, Store, MAX_ABORTS};

use crate::channel::{
    Channel, Mode, Reserve, COMMITTED, OFF_BITS, OFF_MASK, S_CONSUMED, S_LAST_TS, S_LOST_BIG,
    S_LOST_FULL, S_WRITE, TAG_MASK,
};
use crate::error::{Error, ReserveError};
use crate::sys::Affinity;

/// The tag of sub-buffer `k` in entries and close records.
#[inline]
pub(crate) fn tag(k: u64) -> u64 {
    (k + 1) & TAG_MASK
}

/// What reserving from a given write word means.
enum Plan {
    /// The record fits in the open sub-buffer.
    Fast {
        slot: u64,
        idx: u64,
        start: u64,
        new_w: u64,
    },
    /// Close sub-buffer `close_k` and open `new_k` (with the record as its
    /// first one, if any).
    Switch {
        close_k: u64,
        close_end: u64,
        close_cnt: u64,
        new_k: u64,
        new_w: u64,
    },
    /// The next sub-buffer cannot be opened: not yet consumed (discard mode),
    /// or its previous lap still has a record being written (overwrite mode).
    Full,
    /// Flush of an empty open sub-buffer: nothing to do.
    Empty,
}

/// Result of [`Channel::flush`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushOutcome {
    /// The open sub-buffer was closed; the consumer can take it.
    Switched,
    /// Nothing to flush.
    Empty,
    /// Discard mode and the consumer must hand back sub-buffers first.
    Full,
}

impl Channel {
    #[inline]
    fn plan(&self, s: usize, w: u64, record: Option<u64>) -> Plan {
        let g = &self.geo;
        let off = w & OFF_MASK;
        let cnt = w >> OFF_BITS;
        let k = off >> g.sb_shift;
        let sboff = off & (g.sb_size - 1);
        if let Some(len) = record {
            if sboff != 0 && cnt < g.cap && sboff + len <= g.sb_size {
                return Plan::Fast {
                    slot: k & (g.n_sb - 1),
                    idx: cnt,
                    start: sboff,
                    new_w: (off + len) | ((cnt + 1) << OFF_BITS),
                };
            }
        } else if sboff == g.header_size && cnt == 0 {
            return Plan::Empty;
        }
        let (close_k, close_end, new_k) = if sboff == 0 {
            // The last record filled sub-buffer k - 1 exactly; close it now.
            (k - 1, g.sb_size, k)
        } else {
            (k, sboff, k + 1)
        };
        if self.config().mode == Mode::Discard {
            let consumed = self.stream_word(s, S_CONSUMED).load(Ordering::Acquire);
            if new_k.wrapping_sub(consumed) >= g.n_sb {
                return Plan::Full;
            }
        } else if !self.previous_lap_done(s, new_k) {
            return Plan::Full;
        }
        let (len, n) = record.map_or((0, 0), |l| (l, 1));
        Plan::Switch {
            close_k,
            close_end,
            close_cnt: cnt,
            new_k,
            new_w: ((new_k << g.sb_shift) + g.header_size + len) | (n << OFF_BITS),
        }
    }

    /// Overwrite mode: whether sub-buffer `new_k` may be opened, that is,
    /// whether every record of the previous lap of its slot (`new_k - N`) was
    /// committed (or given up by the consumer after its commit timeout).
    ///
    /// A writer preempted between reserve and commit keeps its slot from
    /// being reused under it: without this, it would write its record into
    /// a later lap of the slot, in the middle of another packet, and the
    /// consumer could not tell (the write word says nothing about it).
    /// Records that would open the slot meanwhile are dropped and counted
    /// (`lost_full`), like LTTng's `records_lost_wrap`.
    ///
    /// Monotonic: once true for `new_k`, it stays true until `new_k` opens
    /// (entries of lap `new_k - N` only ever get committed), so checking it
    /// before the switch's compare-and-swap or critical section is enough.
    fn previous_lap_done(&self, s: usize, new_k: u64) -> bool {
        let g = &self.geo;
        let Some(p) = new_k.checked_sub(g.n_sb) else {
            return true;
        };
        let slot = p & (g.n_sb - 1);
        if self.close_word(s, slot, 3).load(Ordering::Acquire) == tag(p) {
            return true;
        }
        if self.close_word(s, slot, 0).load(Ordering::Acquire) != tag(p) {
            // Closed by a compare-and-swap switcher that has not written the
            // close record yet: its count is unknown.
            return false;
        }
        let count = (self.close_word(s, slot, 1).load(Ordering::Acquire) >> 32).min(g.cap);
        (0..count).all(|i| {
            let e = self.entry(s, slot, i).load(Ordering::Acquire);
            let t = (e >> 32) & TAG_MASK;
            (e & COMMITTED != 0 && t == tag(p))
                // The first entry of `new_k`, stored speculatively by an
                // aborted critical section that passed this check already.
                || (i == 0 && t == tag(new_k))
        })
    }

    /// Reserve `len` bytes for one record. `clock` gives the record's
    /// timestamp (CLOCK_MONOTONIC ns for CTF); it is read after the write
    /// position, and again on every retry.
    #[inline]
    pub fn reserve<F: FnMut() -> u64>(
        &self,
        len: usize,
        clock: F,
    ) -> Result<Reservation<'_>, ReserveError> {
        self.reserve_either::<F, true>(None, len, clock)
    }

    /// Like [`reserve`](Self::reserve), for a record whose header has a
    /// short form with a 32-bit timestamp (LTTng's compact event header):
    /// `short_len` bytes when a reader can rebuild the full timestamp from
    /// the previous record of the packet (the record is not the first of
    /// its sub-buffer, and less than 2^32 clock units passed since a
    /// recorded earlier timestamp of the stream, which is never later than
    /// the previous record's), else `len`. [`Reservation::is_short`] says
    /// which was reserved.
    #[inline]
    pub fn reserve_short<F: FnMut() -> u64>(
        &self,
        short_len: usize,
        len: usize,
        clock: F,
    ) -> Result<Reservation<'_>, ReserveError> {
        self.reserve_either::<F, true>(Some(short_len as u64), len, clock)
    }

    /// [`reserve`](Self::reserve) that does not count a full buffer as a
    /// lost record (see [`reserve_short_again`](Self::reserve_short_again)).
    #[inline]
    pub fn reserve_again<F: FnMut() -> u64>(
        &self,
        len: usize,
        clock: F,
    ) -> Result<Reservation<'_>, ReserveError> {
        self.reserve_either::<F, false>(None, len, clock)
    }

    /// [`reserve_short`](Self::reserve_short) for a writer that waits for
    /// room when the buffer is full and tries again (blocking channels): a
    /// full buffer is not counted as a lost record here; the writer's last
    /// try, with `reserve_short`, counts it if it gives up.
    #[inline]
    pub fn reserve_short_again<F: FnMut() -> u64>(
        &self,
        short_len: usize,
        len: usize,
        clock: F,
    ) -> Result<Reservation<'_>, ReserveError> {
        self.reserve_either::<F, false>(Some(short_len as u64), len, clock)
    }

    #[inline(always)]
    fn reserve_either<F: FnMut() -> u64, const COUNT_FULL: bool>(
        &self,
        short_len: Option<u64>,
        len: usize,
        mut clock: F,
    ) -> Result<Reservation<'_>, ReserveError> {
        let g = &self.geo;
        if len as u64 > g.sb_size - g.header_size {
            return Err(self.too_big());
        }
        let len = len as u64;
        if self.config().reserve == Reserve::Atomic {
            let s = ltt_rseq::current_cpu() as usize % g.n_cpus;
            return self.reserve_cas::<F, COUNT_FULL>(s, len, &mut clock);
        }
        if let Some(area) = ltt_rseq::thread_area() {
            if let Some(r) = self.reserve_rseq::<F, COUNT_FULL>(area, short_len, len, &mut clock) {
                return r;
            }
        }
        self.fallbacks_word().fetch_add(1, Ordering::Relaxed);
        self.reserve_cas::<F, COUNT_FULL>(self.shared_stream(), len, &mut clock)
    }

    /// Convenience: reserve with a fixed timestamp.
    #[inline]
    pub fn reserve_at(&self, len: usize, ts: u64) -> Result<Reservation<'_>, ReserveError> {
        self.reserve(len, || ts)
    }

    #[cold]
    fn too_big(&self) -> ReserveError {
        let s = ltt_rseq::current_cpu() as usize % self.geo.n_cpus;
        self.stream_word(s, S_LOST_BIG)
            .fetch_add(1, Ordering::Relaxed);
        ReserveError::TooBig
    }

    #[cold]
    fn full(&self, s: usize, count: bool) -> ReserveError {
        if count {
            self.stream_word(s, S_LOST_FULL)
                .fetch_add(1, Ordering::Relaxed);
        }
        ReserveError::Full
    }

    /// `None`: give up on rseq for this record (no CPU number, or too many aborts).
    #[inline(always)]
    fn reserve_rseq<F: FnMut() -> u64, const COUNT_FULL: bool>(
        &self,
        area: Area,
        short_len: Option<u64>,
        len: u64,
        clock: &mut F,
    ) -> Option<Result<Reservation<'_>, ReserveError>> {
        let g = &self.geo;
        let mut aborts = 0;
        let mut tries = 0;
        while aborts < MAX_ABORTS && tries < 4 * MAX_ABORTS {
            tries += 1;
            let cpu = area.cpu_id();
            let s = cpu as usize;
            if s >= g.n_cpus {
                return None;
            }
            let word = self.stream_word(s, S_WRITE);
            let w0 = word.load(Ordering::Relaxed);
            let ts = clock();
            let off = w0 & OFF_MASK;
            let cnt = w0 >> OFF_BITS;
            let sboff = off & (g.sb_size - 1);
            let last = self.stream_word(s, S_LAST_TS);
            let rlen = match short_len {
                Some(short) if ts.wrapping_sub(last.load(Ordering::Relaxed)) < 1 << 32 => short,
                _ => len,
            };
            let r = if sboff != 0 && cnt < g.cap && sboff + rlen <= g.sb_size {
                // Fast path: the record fits in the open sub-buffer.
                let k = off >> g.sb_shift;
                let slot = k & (g.n_sb - 1);
                let entry = self.entry(s, slot, cnt);
                let val = rlen | (tag(k) << 32);
                let new_w = (off + rlen) | ((cnt + 1) << OFF_BITS);
                match area.cmpeqv_trystorev_storev(cpu, word, w0, entry, val, new_w) {
                    Ok(()) => {
                        last.store(ts, Ordering::Relaxed);
                        let mut r = self.reservation(s, slot, sboff, rlen, entry, val, ts);
                        r.short = rlen != len;
                        return Some(Ok(r));
                    }
                    Err(e) => e,
                }
            } else {
                // First of its sub-buffer: the full header.
                match self.switch_rseq::<COUNT_FULL>(area, cpu, s, w0, len, ts) {
                    Ok(r) => {
                        last.store(ts, Ordering::Relaxed);
                        return Some(r);
                    }
                    Err(e) => e,
                }
            };
            if r == CsError::Aborted {
                aborts += 1;
            }
        }
        None
    }

    /// Slow path of the rseq reserve: close the open sub-buffer and put the
    /// record first in the next one.
    #[inline(never)]
    fn switch_rseq<const COUNT_FULL: bool>(
        &self,
        area: Area,
        cpu: u32,
        s: usize,
        w0: u64,
        len: u64,
        ts: u64,
    ) -> Result<Result<Reservation<'_>, ReserveError>, CsError> {
        let g = &self.geo;
        match self.plan(s, w0, Some(len)) {
            Plan::Fast { .. } | Plan::Empty => Err(CsError::NotEqual),
            Plan::Full => Ok(Err(self.full(s, COUNT_FULL))),
            Plan::Switch {
                close_k,
                close_end,
                close_cnt,
                new_k,
                new_w,
            } => {
                let cslot = close_k & (g.n_sb - 1);
                let slot = new_k & (g.n_sb - 1);
                let entry = self.entry(s, slot, 0);
                let val = len | (tag(new_k) << 32);
                // Speculative stores (they may land even if the section
                // aborts): the consumer trusts a close record only once the
                // write word has moved past the sub-buffer's end.
                let stores = [
                    Store::new(self.close_word(s, cslot, 1), close_end | (close_cnt << 32)),
                    Store::new(self.close_word(s, cslot, 2), ts),
                    Store::new(self.close_word(s, cslot, 0), tag(close_k)),
                    Store::new(entry, val),
                ];
                area.cmpeqv_trystores_storev(
                    cpu,
                    self.stream_word(s, S_WRITE),
                    w0,
                    &stores,
                    new_w,
                )?;
                self.wake_consumer();
                Ok(Ok(self.reservation(
                    s,
                    slot,
                    g.header_size,
                    len,
                    entry,
                    val,
                    ts,
                )))
            }
        }
    }

    /// Compare-and-swap reserve on stream `s` (atomic channels, shared stream).
    fn reserve_cas<F: FnMut() -> u64, const COUNT_FULL: bool>(
        &self,
        s: usize,
        len: u64,
        clock: &mut F,
    ) -> Result<Reservation<'_>, ReserveError> {
        let g = &self.geo;
        let word = self.stream_word(s, S_WRITE);
        loop {
            let w0 = word.load(Ordering::Acquire);
            let ts = clock();
            match self.plan(s, w0, Some(len)) {
                Plan::Fast {
                    slot,
                    idx,
                    start,
                    new_w,
                } => {
                    if word
                        .compare_exchange(w0, new_w, Ordering::AcqRel, Ordering::Relaxed)
                        .is_ok()
                    {
                        // Written once the index is ours (a speculative store
                        // could land late and clobber a newer record's entry).
                        let entry = self.entry(s, slot, idx);
                        let k = (w0 & OFF_MASK) >> g.sb_shift;
                        let val = len | (tag(k) << 32);
                        entry.store(val, Ordering::Relaxed);
                        return Ok(self.reservation(s, slot, start, len, entry, val, ts));
                    }
                }
                Plan::Switch {
                    close_k,
                    close_end,
                    close_cnt,
                    new_k,
                    new_w,
                } => {
                    if self.switch_cas(
                        s,
                        w0,
                        close_k,
                        close_end,
                        close_cnt,
                        new_k,
                        new_w,
                        ts,
                        Some(len),
                    ) {
                        let slot = new_k & (g.n_sb - 1);
                        let entry = self.entry(s, slot, 0);
                        let val = len | (tag(new_k) << 32);
                        return Ok(self.reservation(s, slot, g.header_size, len, entry, val, ts));
                    }
                }
                Plan::Full => return Err(self.full(s, COUNT_FULL)),
                Plan::Empty => unreachable!("a record is never an empty flush"),
            }
            std::hint::spin_loop();
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn switch_cas(
        &self,
        s: usize,
        w0: u64,
        close_k: u64,
        close_end: u64,
        close_cnt: u64,
        new_k: u64,
        new_w: u64,
        ts: u64,
        record: Option<u64>,
    ) -> bool {
        let g = &self.geo;
        let word = self.stream_word(s, S_WRITE);
        if word
            .compare_exchange(w0, new_w, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        // The winner alone writes the close record and the first entry. The
        // consumer waits for the tag after seeing the word move; a switcher
        // that dies right here is recovered from the entries after a timeout.
        if let Some(len) = record {
            self.entry(s, new_k & (g.n_sb - 1), 0)
                .store(len | (tag(new_k) << 32), Ordering::Relaxed);
        }
        let cslot = close_k & (g.n_sb - 1);
        self.close_word(s, cslot, 1)
            .store(close_end | (close_cnt << 32), Ordering::Relaxed);
        self.close_word(s, cslot, 2).store(ts, Ordering::Relaxed);
        self.close_word(s, cslot, 0)
            .store(tag(close_k), Ordering::Release);
        self.wake_consumer();
        true
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn reservation<'a>(
        &'a self,
        s: usize,
        slot: u64,
        start: u64,
        len: u64,
        entry: &'a AtomicU64,
        val: u64,
        ts: u64,
    ) -> Reservation<'a> {
        if self.config().mode == Mode::Overwrite {
            // Seqlock writer side: the record's bytes are stored after the
            // write word that accounts for them (the consumer copies, then
            // re-reads the word, to see whether the slot was reused).
            std::sync::atomic::fence(Ordering::Release);
        }
        // SAFETY: start + len <= S, inside slot `slot` of stream `s`.
        let data = unsafe { self.data_ptr(s, slot).add(start as usize) };
        Reservation {
            data,
            len: len as usize,
            entry,
            val,
            ts,
            stream: s,
            short: false,
        }
    }

    /// Close the open sub-buffer of stream `s` so that the consumer can take
    /// it (switch timer, stop). For the per-CPU streams of an rseq channel,
    /// this thread moves to that CPU for the duration of the call.
    pub fn flush(&self, s: usize) -> Result<FlushOutcome, Error> {
        if s >= self.num_streams() {
            return Err(Error::NoStream(s));
        }
        let ts = crate::sys::monotonic_ns;
        if self.config().reserve == Reserve::Rseq && s < self.num_cpus() {
            let saved = Affinity::current()?;
            Affinity::only(s)
                .and_then(|a| a.apply())
                .map_err(|source| Error::Pin { cpu: s, source })?;
            let r = self.flush_rseq(s, ts);
            saved.apply()?;
            return r;
        }
        loop {
            let word = self.stream_word(s, S_WRITE);
            let w0 = word.load(Ordering::Acquire);
            let now = ts();
            match self.plan(s, w0, None) {
                Plan::Empty => return Ok(FlushOutcome::Empty),
                Plan::Full => return Ok(FlushOutcome::Full),
                Plan::Fast { .. } => unreachable!("a flush has no record"),
                Plan::Switch {
                    close_k,
                    close_end,
                    close_cnt,
                    new_k,
                    new_w,
                } => {
                    if self.switch_cas(
                        s, w0, close_k, close_end, close_cnt, new_k, new_w, now, None,
                    ) {
                        return Ok(FlushOutcome::Switched);
                    }
                }
            }
        }
    }

    fn flush_rseq(&self, s: usize, ts: fn() -> u64) -> Result<FlushOutcome, Error> {
        let Some(area) = ltt_rseq::thread_area().filter(|_| ltt_rseq::cs_supported()) else {
            return self.flush_pinned_cas(s, ts);
        };
        let g = &self.geo;
        for _ in 0..16 * MAX_ABORTS {
            let cpu = area.cpu_id();
            if cpu as usize != s {
                std::thread::yield_now();
                continue;
            }
            let word = self.stream_word(s, S_WRITE);
            let w0 = word.load(Ordering::Relaxed);
            let now = ts();
            match self.plan(s, w0, None) {
                Plan::Empty => return Ok(FlushOutcome::Empty),
                Plan::Full => return Ok(FlushOutcome::Full),
                Plan::Fast { .. } => unreachable!("a flush has no record"),
                Plan::Switch {
                    close_k,
                    close_end,
                    close_cnt,
                    new_w,
                    ..
                } => {
                    let cslot = close_k & (g.n_sb - 1);
                    let stores = [
                        Store::new(self.close_word(s, cslot, 1), close_end | (close_cnt << 32)),
                        Store::new(self.close_word(s, cslot, 2), now),
                        Store::new(self.close_word(s, cslot, 0), tag(close_k)),
                    ];
                    if area
                        .cmpeqv_trystores_storev(cpu, word, w0, &stores, new_w)
                        .is_ok()
                    {
                        return Ok(FlushOutcome::Switched);
                    }
                }
            }
        }
        Err(Error::FlushAborted(s))
    }
}

impl Channel {
    /// Flush of a per-CPU stream of an rseq channel by a thread without rseq:
    /// running on CPU `s`, a compare-and-swap cannot interleave with the
    /// writers' critical sections there (any of them in progress was
    /// preempted by us, so it aborts).
    fn flush_pinned_cas(&self, s: usize, ts: fn() -> u64) -> Result<FlushOutcome, Error> {
        for _ in 0..1000 {
            if ltt_rseq::sched_getcpu() as usize == s {
                break;
            }
            std::thread::yield_now();
        }
        if ltt_rseq::sched_getcpu() as usize != s {
            return Err(Error::FlushAborted(s));
        }
        loop {
            let w0 = self.stream_word(s, S_WRITE).load(Ordering::Acquire);
            let now = ts();
            match self.plan(s, w0, None) {
                Plan::Empty => return Ok(FlushOutcome::Empty),
                Plan::Full => return Ok(FlushOutcome::Full),
                Plan::Fast { .. } => unreachable!("a flush has no record"),
                Plan::Switch {
                    close_k,
                    close_end,
                    close_cnt,
                    new_k,
                    new_w,
                } => {
                    if self.switch_cas(
                        s, w0, close_k, close_end, close_cnt, new_k, new_w, now, None,
                    ) {
                        return Ok(FlushOutcome::Switched);
                    }
                }
            }
        }
    }
}

/// Space reserved for one record. Write it, then [`commit`](Self::commit).
/// Dropping a reservation commits it as written; `std::mem::forget` leaves it
/// uncommitted, like a writer that died (the consumer then cuts the packet
/// before it after its timeout and counts the loss).
#[must_use = "a reservation must be written and committed"]
pub struct Reservation<'a> {
    data: *mut u8,
    len: usize,
    entry: &'a AtomicU64,
    val: u64,
    ts: u64,
    stream: usize,
    /// Reserved with the short length of [`Channel::reserve_short`].
    short: bool,
}

impl Reservation<'_> {
    /// Whether the short form was reserved (see [`Channel::reserve_short`]).
    #[inline]
    pub fn is_short(&self) -> bool {
        self.short
    }

    /// The record's timestamp, as read from the clock given to `reserve`.
    #[inline]
    pub fn timestamp(&self) -> u64 {
        self.ts
    }

    /// The stream (CPU buffer, or the shared one) the record went to.
    #[inline]
    pub fn stream(&self) -> usize {
        self.stream
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The reserved bytes (previous contents are unspecified).
    #[inline]
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: [data, data + len) was reserved for this record alone: no
        // other writer gets it, and the consumer reads it only after commit.
        unsafe { std::slice::from_raw_parts_mut(self.data, self.len) }
    }

    /// Copy `bytes` at `offset` in the record (panics past the end, like slicing).
    #[inline]
    pub fn write_at(&mut self, offset: usize, bytes: &[u8]) {
        self.bytes_mut()[offset..offset + bytes.len()].copy_from_slice(bytes);
    }

    /// Publish the record: one release store into its entry.
    #[inline]
    pub fn commit(self) {
        drop(self)
    }
}

impl Drop for Reservation<'_> {
    #[inline]
    fn drop(&mut self) {
        self.entry.store(self.val | COMMITTED, Ordering::Release);
    }
}
