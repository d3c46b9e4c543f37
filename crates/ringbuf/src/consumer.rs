//! The consumer side: hands out closed, fully committed sub-buffers as CTF
//! packets (header and context filled in the space writers left at the start
//! of each sub-buffer), flushes partial ones, sleeps on a futex that writers
//! touch only when they switch sub-buffers, and recovers from writers that
//! died between reserve and commit.
//!
//! One consumer per channel. In discard mode a packet is a view of the shared
//! sub-buffer itself (writers cannot enter it until it is handed back); in
//! overwrite mode it is copied out and checked not to have been overwritten
//! meanwhile.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::channel::{
    Channel, Mode, COMMITTED, OFF_BITS, OFF_MASK, S_CONSUMED, S_LOST_DEAD, S_WRITE, TAG_MASK,
};
use crate::error::Error;
use crate::packet::{self, PacketFields};
use crate::sys;
use crate::writer::{tag, FlushOutcome};

/// Consumer settings.
#[derive(Clone, Debug)]
pub struct ConsumerConfig {
    /// How long a closed sub-buffer may hold uncommitted records before the
    /// consumer decides their writer is dead, cuts the packet before the first
    /// of them and counts the rest as lost.
    pub commit_timeout: Duration,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            commit_timeout: Duration::from_secs(2),
        }
    }
}

#[derive(Debug, Default)]
struct StreamState {
    /// Next sub-buffer number to hand out.
    next: u64,
    /// `timestamp_begin` of that sub-buffer.
    ts_begin: u64,
    lost_dead: u64,
    lost_packets: u64,
    stuck_since: Option<Instant>,
    scratch: Vec<u8>,
    packets: u64,
    records: u64,
}

/// What one packet holds, beyond its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketInfo {
    pub stream: usize,
    /// Complete records in the packet.
    pub records: u64,
    /// Records cut from this packet because a writer never committed.
    pub lost_records: u64,
    /// The header and context written at its start.
    pub fields: PacketFields,
}

/// Consumer counters for one stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConsumerStats {
    pub packets: u64,
    pub records: u64,
    /// Records reserved but never committed (cut from packets).
    pub lost_dead: u64,
    /// Packets overwritten before they could be read (overwrite mode).
    pub lost_packets: u64,
}

/// A packet being handed out; the sub-buffer goes back to the writers when
/// it is dropped.
pub struct Packet<'c> {
    info: PacketInfo,
    shm: Option<(*const u8, usize)>,
    state: &'c mut StreamState,
    consumed: &'c AtomicU64,
    seq: u64,
}

impl Packet<'_> {
    /// The whole packet: header, context, records (`content_size` bytes).
    pub fn bytes(&self) -> &[u8] {
        match self.shm {
            // SAFETY: discard mode: writers cannot enter this sub-buffer
            // before `consumed` moves past it (on drop), and the range lies
            // inside the mapping, which outlives the borrow of the consumer.
            Some((p, len)) => unsafe { std::slice::from_raw_parts(p, len) },
            None => &self.state.scratch,
        }
    }

    /// The records only (after the header space).
    pub fn records_bytes(&self, header_size: usize) -> &[u8] {
        self.bytes().get(header_size..).unwrap_or(&[])
    }

    pub fn info(&self) -> &PacketInfo {
        &self.info
    }
}

impl Drop for Packet<'_> {
    fn drop(&mut self) {
        self.state.next = self.seq + 1;
        self.consumed.store(self.seq + 1, Ordering::Release);
    }
}

enum Closed {
    No,
    Yes {
        end: u64,
        count: u64,
        ts_end: u64,
    },
    /// The write word moved on but the close record is missing (a
    /// compare-and-swap switcher between its two steps, or dead there).
    Pending,
}

/// The consumer of one channel.
pub struct Consumer<'a> {
    ch: &'a Channel,
    streams: Vec<StreamState>,
    cfg: ConsumerConfig,
}

impl<'a> Consumer<'a> {
    pub fn new(ch: &'a Channel, cfg: ConsumerConfig) -> Consumer<'a> {
        let streams = (0..ch.num_streams())
            .map(|_| StreamState {
                ts_begin: ch.created_ts(),
                ..Default::default()
            })
            .collect();
        Consumer { ch, streams, cfg }
    }

    pub fn channel(&self) -> &'a Channel {
        self.ch
    }

    pub fn stats(&self, s: usize) -> ConsumerStats {
        let st = &self.streams[s];
        ConsumerStats {
            packets: st.packets,
            records: st.records,
            lost_dead: st.lost_dead,
            lost_packets: st.lost_packets,
        }
    }

    fn closed(&self, s: usize, k: u64) -> Closed {
        let g = &self.ch.geo;
        let off = self.ch.stream_word(s, S_WRITE).load(Ordering::Acquire) & OFF_MASK;
        // Closing k leaves the word past k + 1's header space; before that
        // (even at the exact boundary) any close record seen is speculative.
        if off <= (k + 1) << g.sb_shift {
            return Closed::No;
        }
        let slot = k & (g.n_sb - 1);
        if self.ch.close_word(s, slot, 0).load(Ordering::Acquire) != tag(k) {
            return Closed::Pending;
        }
        let ec = self.ch.close_word(s, slot, 1).load(Ordering::Acquire);
        let ts_end = self.ch.close_word(s, slot, 2).load(Ordering::Acquire);
        Closed::Yes {
            end: ec & 0xffff_ffff,
            count: ec >> 32,
            ts_end,
        }
    }

    /// Hand out the next packet of stream `s`, if one is ready.
    pub fn try_next(&mut self, s: usize) -> Result<Option<Packet<'_>>, Error> {
        if s >= self.streams.len() {
            return Err(Error::NoStream(s));
        }
        let ch = self.ch;
        let g = ch.geo;
        let overwrite = ch.config().mode == Mode::Overwrite;
        loop {
            let k = self.streams[s].next;
            if overwrite {
                let wk =
                    (ch.stream_word(s, S_WRITE).load(Ordering::Acquire) & OFF_MASK) >> g.sb_shift;
                if wk >= k + g.n_sb {
                    let nk = wk + 1 - g.n_sb;
                    let st = &mut self.streams[s];
                    st.lost_packets += nk - k;
                    st.next = nk;
                    st.stuck_since = None;
                    continue;
                }
            }
            let slot = k & (g.n_sb - 1);
            let (end, count, ts_end, recovered) = match self.closed(s, k) {
                Closed::No => return Ok(None),
                Closed::Yes { end, count, ts_end } => (end, count, ts_end, false),
                Closed::Pending => {
                    if !self.timed_out(s) {
                        return Ok(None);
                    }
                    // Rebuild the close record from the entries.
                    let (mut end, mut count) = (g.header_size, 0);
                    while count < g.cap {
                        let e = ch.entry(s, slot, count).load(Ordering::Acquire);
                        if (e >> 32) & TAG_MASK != tag(k) {
                            break;
                        }
                        end += e & 0xffff_ffff;
                        count += 1;
                    }
                    (end.min(g.sb_size), count, sys::monotonic_ns(), true)
                }
            };
            let count = count.min(g.cap);
            // Find the committed prefix.
            let mut content = g.header_size;
            let mut good = 0;
            while good < count {
                let e = ch.entry(s, slot, good).load(Ordering::Acquire);
                let len = e & 0xffff_ffff;
                if e & COMMITTED == 0 || (e >> 32) & TAG_MASK != tag(k) || content + len > g.sb_size
                {
                    break;
                }
                content += len;
                good += 1;
            }
            let complete = good == count && content == end.clamp(g.header_size, g.sb_size);
            if !complete && !recovered && !self.timed_out(s) {
                return Ok(None);
            }
            let lost = count - good;
            let st = &mut self.streams[s];
            let base = ch.data_ptr(s, slot);
            let content_len = content as usize;
            let hs = g.header_size as usize;
            let mut ts_begin = st.ts_begin;
            let shm = if overwrite {
                // Seqlock reader: everything used below (close record,
                // entries, bytes, and the previous sub-buffer's close
                // timestamp) was read after the write word at the top of the
                // loop showed slot k still holding lap k; the word read again
                // after the copy tells whether lap k + N may have started
                // meanwhile (writers store the word before the bytes, and
                // cannot start lap k + N before every record of lap k is
                // committed). If it may have, all is dropped and counted.
                let prev = k.checked_sub(1).map(|pk| {
                    let ps = pk & (g.n_sb - 1);
                    let t = ch.close_word(s, ps, 0).load(Ordering::Acquire);
                    let ts = ch.close_word(s, ps, 2).load(Ordering::Acquire);
                    (pk, t, ts)
                });
                st.scratch.clear();
                st.scratch.resize(content_len, 0);
                // SAFETY: [base, base + content_len) lies in the slot; writers
                // may be overwriting it concurrently, which the check below
                // detects (we then drop the copy): bytes are copied raw.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        base.add(hs),
                        st.scratch.as_mut_ptr().add(hs),
                        content_len - hs,
                    )
                };
                std::sync::atomic::fence(Ordering::Acquire);
                let wk =
                    (ch.stream_word(s, S_WRITE).load(Ordering::Relaxed) & OFF_MASK) >> g.sb_shift;
                if wk >= k + g.n_sb {
                    continue; // counted as overwritten at the top of the loop
                }
                // After packets were overwritten, `st.ts_begin` is an old
                // bound: take the close time of sub-buffer k - 1 (the opening
                // of k) when that close record was still of lap k - 1.
                if let Some((pk, t, ts)) = prev {
                    if t == tag(pk) && wk < pk + g.n_sb {
                        ts_begin = ts_begin.max(ts.min(ts_end));
                    }
                }
                if lost > 0 || recovered {
                    // Given up on the missing commits (or close record): let
                    // writers reuse the slot (see `previous_lap_done`).
                    ch.close_word(s, slot, 3).store(tag(k), Ordering::Release);
                }
                None
            } else {
                Some((base as *const u8, content_len))
            };
            st.stuck_since = None;
            st.lost_dead += lost;
            if lost > 0 {
                ch.stream_word(s, S_LOST_DEAD)
                    .store(st.lost_dead, Ordering::Relaxed);
            }
            let lost_total =
                ch.stream_stats(s).lost_full + ch.stream_stats(s).lost_too_big + st.lost_dead;
            let ts_end = ts_end.max(ts_begin);
            let fields = PacketFields {
                uuid: ch.config().uuid,
                stream_id: ch.config().stream_id,
                stream_instance_id: s as u64,
                timestamp_begin: ts_begin,
                timestamp_end: ts_end,
                content_size: content * 8,
                packet_size: content * 8,
                packet_seq_num: k,
                events_discarded: lost_total,
                cpu_id: s as u32,
            };
            let header: &mut [u8] = match shm {
                // SAFETY: discard mode: the header space of a closed sub-buffer
                // not yet handed back belongs to the consumer alone.
                Some(_) => unsafe { std::slice::from_raw_parts_mut(base, hs) },
                None => &mut st.scratch[..hs],
            };
            header.fill(0);
            packet::write_header(header, &fields);
            st.ts_begin = ts_end;
            st.packets += 1;
            st.records += good;
            let info = PacketInfo {
                stream: s,
                records: good,
                lost_records: lost,
                fields,
            };
            let consumed = ch.stream_word(s, S_CONSUMED);
            return Ok(Some(Packet {
                info,
                shm,
                state: &mut self.streams[s],
                consumed,
                seq: k,
            }));
        }
    }

    fn timed_out(&mut self, s: usize) -> bool {
        let st = &mut self.streams[s];
        let now = Instant::now();
        match st.stuck_since {
            None => {
                st.stuck_since = Some(now);
                self.cfg.commit_timeout.is_zero()
            }
            Some(t) => now.duration_since(t) >= self.cfg.commit_timeout,
        }
    }

    /// Hand every ready packet of every stream to `f`; returns how many.
    pub fn drain(&mut self, mut f: impl FnMut(&Packet<'_>)) -> Result<usize, Error> {
        let mut n = 0;
        for s in 0..self.streams.len() {
            while let Some(p) = self.try_next(s)? {
                f(&p);
                n += 1;
            }
        }
        Ok(n)
    }

    /// Whether stream `s` has nothing left: everything up to the open
    /// sub-buffer was handed out and the open one is empty.
    pub fn caught_up(&self, s: usize) -> bool {
        let g = &self.ch.geo;
        let w = self.ch.stream_word(s, S_WRITE).load(Ordering::Acquire);
        let off = w & OFF_MASK;
        off >> g.sb_shift == self.streams[s].next
            && off & (g.sb_size - 1) == g.header_size
            && w >> OFF_BITS == 0
    }

    /// Close every open sub-buffer (switch timer).
    pub fn flush_all(&self) -> Result<(), Error> {
        for s in 0..self.streams.len() {
            self.ch.flush(s)?;
        }
        Ok(())
    }

    /// Stop: flush and hand out everything, waiting at most `deadline` for
    /// uncommitted records (which time out as lost after the commit timeout).
    pub fn finish(
        &mut self,
        mut f: impl FnMut(&Packet<'_>),
        deadline: Duration,
    ) -> Result<(), Error> {
        let end = Instant::now() + deadline;
        loop {
            self.drain(&mut f)?;
            let mut pending = 0;
            for s in 0..self.streams.len() {
                match self.ch.flush(s)? {
                    FlushOutcome::Empty if self.caught_up(s) => {}
                    _ => pending += 1,
                }
            }
            self.drain(&mut f)?;
            if pending == 0 {
                return Ok(());
            }
            if Instant::now() >= end {
                return Err(Error::Timeout(pending));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn any_ready(&self) -> bool {
        (0..self.streams.len()).any(|s| !matches!(self.closed(s, self.streams[s].next), Closed::No))
    }

    /// Sleep until a writer closes a sub-buffer, or `timeout`. Writers pay a
    /// system call only when they switch sub-buffers while we sleep.
    pub fn wait(&self, timeout: Duration) {
        let seq = self.ch.wake_seq().load(Ordering::Acquire);
        self.ch.consumer_waiting().store(1, Ordering::SeqCst);
        std::sync::atomic::fence(Ordering::SeqCst);
        if !self.any_ready() {
            sys::futex_wait(self.ch.wake_seq(), seq, timeout);
        }
        self.ch.consumer_waiting().store(0, Ordering::Relaxed);
    }
}
