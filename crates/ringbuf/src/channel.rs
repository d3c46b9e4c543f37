//! A channel: one shared-memory file holding a header page and one ring per
//! stream (one per possible CPU, plus a shared stream for writers that cannot
//! use rseq). Every process maps the same file; the layout is below.
//!
//! ```text
//! page 0            channel header (config, wake-up futex)
//! stream s at 4096 + s * stride:
//!   +0    write word   (writers)         low 48 bits: free-running byte offset,
//!                                        high 16 bits: records in the open sub-buffer
//!   +128  consumed     (consumer)        number of sub-buffers handed back
//!   +256  lost_full, lost_too_big (writers, atomic, slow path only)
//!   +384  lost_dead    (consumer)
//!   +512  close records [N] x 32 bytes   {tag = k + 1, end | count << 32, timestamp,
//!                                         released: tag of a lap the consumer gave up on}
//!   ...   record entries [N][cap] x u64  {len | tag << 32 | committed << 63}
//!   ...   data [N][S]  (page aligned)
//! ```

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use crate::error::Error;
use crate::packet;
use crate::sys::{self, Mapping};

pub(crate) const MAGIC: u64 = u64::from_le_bytes(*b"LTTRBUF1");
pub(crate) const VERSION: u32 = 1;
const PAGE: u64 = 4096;
pub(crate) const OFF_BITS: u32 = 48;
pub(crate) const OFF_MASK: u64 = (1 << OFF_BITS) - 1;
/// Largest number of records per sub-buffer (the count shares the write word).
pub const MAX_RECORDS_LIMIT: u32 = 1 << 15;
pub(crate) const COMMITTED: u64 = 1 << 63;
pub(crate) const TAG_MASK: u64 = 0x7fff_ffff;

/// What a full buffer does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A record that does not fit is dropped and counted.
    Discard,
    /// Flight recorder: the oldest sub-buffer is reused; the consumer counts
    /// the packets it never saw (`packet_seq_num` gaps). A sub-buffer is not
    /// reused while a record of its previous lap is still being written (a
    /// preempted writer): records that would need it are dropped and counted
    /// as `lost_full` meanwhile.
    Overwrite,
}

/// How writers reserve space, fixed at channel creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reserve {
    /// rseq critical sections on the per-CPU streams; writers that cannot use
    /// rseq (no area, sections that keep aborting) use the shared stream with
    /// compare-and-swap.
    Rseq,
    /// Compare-and-swap on the per-CPU streams (LTTng-UST's way).
    Atomic,
}

/// Channel geometry and identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Bytes per sub-buffer (one CTF packet); a power of two, 256..=1 GiB.
    pub subbuf_size: u32,
    /// Sub-buffers per stream; a power of two, 2..=65536.
    pub num_subbufs: u32,
    /// Bytes left free at the start of each sub-buffer for the packet header
    /// and context, filled by the consumer.
    pub header_size: u32,
    /// Records per sub-buffer at most (a power of two, up to 32768); a
    /// sub-buffer holding that many is closed early.
    pub max_records: u32,
    pub mode: Mode,
    pub reserve: Reserve,
    /// CTF stream class id (packet header `stream_id`).
    pub stream_id: u32,
    /// Trace UUID written in every packet header.
    pub uuid: [u8; 16],
    /// Number of per-CPU streams; `None`: the possible CPUs of this machine.
    pub cpus: Option<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            subbuf_size: 64 * 1024,
            num_subbufs: 4,
            header_size: packet::HEADER_SIZE as u32,
            max_records: 2048,
            mode: Mode::Discard,
            reserve: Reserve::Rseq,
            stream_id: 0,
            uuid: [0; 16],
            cpus: None,
        }
    }
}

impl Config {
    fn validate(&self) -> Result<(), Error> {
        let bad = |what: &'static str| Err(Error::Config(what));
        if !self.subbuf_size.is_power_of_two() || !(256..=1 << 30).contains(&self.subbuf_size) {
            return bad("subbuf_size must be a power of two in 256..=1GiB");
        }
        if !self.num_subbufs.is_power_of_two() || !(2..=1 << 16).contains(&self.num_subbufs) {
            return bad("num_subbufs must be a power of two in 2..=65536");
        }
        if self.header_size == 0 || self.header_size >= self.subbuf_size / 2 {
            return bad("header_size must be non-zero and below half a sub-buffer");
        }
        if !self.max_records.is_power_of_two() || self.max_records > MAX_RECORDS_LIMIT {
            return bad("max_records must be a power of two up to 32768");
        }
        if self.cpus == Some(0) || self.cpus.is_some_and(|c| c > 1 << 16) {
            return bad("cpus must be in 1..=65536");
        }
        Ok(())
    }
}

/// Byte offsets of one stream's parts, and of the channel's streams.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub sb_size: u64,
    pub sb_shift: u32,
    pub n_sb: u64,
    pub header_size: u64,
    pub cap: u64,
    pub n_cpus: usize,
    pub n_streams: usize,
    pub close_off: u64,
    pub entries_off: u64,
    pub data_off: u64,
    pub stride: u64,
    pub total: u64,
}

impl Geometry {
    fn new(sb_size: u32, n_sb: u32, header_size: u32, cap: u32, n_cpus: usize) -> Option<Geometry> {
        let (sb_size, n_sb, cap) = (sb_size as u64, n_sb as u64, cap as u64);
        let close_off = 512u64;
        let entries_off = close_off + 32 * n_sb;
        let data_off = (entries_off + 8 * n_sb.checked_mul(cap)?).next_multiple_of(PAGE);
        let stride = data_off
            .checked_add(n_sb.checked_mul(sb_size)?)?
            .next_multiple_of(PAGE);
        let n_streams = n_cpus + 1;
        let total = PAGE.checked_add(stride.checked_mul(n_streams as u64)?)?;
        Some(Geometry {
            sb_size,
            sb_shift: sb_size.trailing_zeros(),
            n_sb,
            header_size: header_size as u64,
            cap,
            n_cpus,
            n_streams,
            close_off,
            entries_off,
            data_off,
            stride,
            total,
        })
    }
}

// Channel header field offsets.
const H_MAGIC: usize = 0;
const H_VERSION: usize = 8;
const H_NCPUS: usize = 12;
const H_SBSIZE: usize = 16;
const H_NSB: usize = 20;
const H_HEADER: usize = 24;
const H_CAP: usize = 28;
const H_MODE: usize = 32;
const H_RESERVE: usize = 36;
const H_STREAM_ID: usize = 40;
const H_UUID: usize = 48;
const H_TOTAL: usize = 64;
const H_CREATED: usize = 72;
const H_WAKE_SEQ: usize = 128;
const H_WAITING: usize = 132;
const H_FALLBACKS: usize = 192;

// Stream control offsets.
pub(crate) const S_WRITE: u64 = 0;
/// Timestamp of a recent record (never of a later one than the last):
/// writers compare against it to choose a short header.
pub(crate) const S_LAST_TS: u64 = 8;
pub(crate) const S_CONSUMED: u64 = 128;
pub(crate) const S_LOST_FULL: u64 = 256;
pub(crate) const S_LOST_BIG: u64 = 264;
pub(crate) const S_LOST_DEAD: u64 = 384;

/// A mapped channel. Cheap to share between threads (`&Channel`); writers and
/// consumers borrow it.
#[derive(Debug)]
pub struct Channel {
    fd: OwnedFd,
    map: Mapping,
    pub(crate) geo: Geometry,
    config: Config,
    created_ts: u64,
    /// Set by [`Channel::retire`].
    retired: AtomicBool,
}

impl Channel {
    /// Create a channel in a new memfd.
    pub fn create(config: &Config) -> Result<Channel, Error> {
        config.validate()?;
        let n_cpus = config
            .cpus
            .map_or_else(ltt_rseq::possible_cpus, |c| c as usize);
        let geo = Geometry::new(
            config.subbuf_size,
            config.num_subbufs,
            config.header_size,
            config.max_records,
            n_cpus,
        )
        .ok_or(Error::Config("channel too large"))?;
        let fd = sys::memfd(c"ltt-ringbuf", geo.total).map_err(Error::Io)?;
        let len = usize::try_from(geo.total).map_err(|_| Error::Config("channel too large"))?;
        let map = Mapping::map(fd.as_fd(), len).map_err(Error::Io)?;
        let created_ts = sys::monotonic_ns();
        let ch = Channel {
            fd,
            map,
            geo,
            config: config.clone(),
            created_ts,
            retired: AtomicBool::new(false),
        };
        ch.u32_at(H_VERSION).store(VERSION, Ordering::Relaxed);
        ch.u32_at(H_NCPUS).store(n_cpus as u32, Ordering::Relaxed);
        ch.u32_at(H_SBSIZE)
            .store(config.subbuf_size, Ordering::Relaxed);
        ch.u32_at(H_NSB)
            .store(config.num_subbufs, Ordering::Relaxed);
        ch.u32_at(H_HEADER)
            .store(config.header_size, Ordering::Relaxed);
        ch.u32_at(H_CAP)
            .store(config.max_records, Ordering::Relaxed);
        ch.u32_at(H_MODE)
            .store((config.mode == Mode::Overwrite) as u32, Ordering::Relaxed);
        ch.u32_at(H_RESERVE).store(
            (config.reserve == Reserve::Atomic) as u32,
            Ordering::Relaxed,
        );
        ch.u32_at(H_STREAM_ID)
            .store(config.stream_id, Ordering::Relaxed);
        for (i, chunk) in config.uuid.chunks(4).enumerate() {
            let w = u32::from_le_bytes(chunk.try_into().unwrap_or([0; 4]));
            ch.u32_at(H_UUID + 4 * i).store(w, Ordering::Relaxed);
        }
        ch.u64_at(H_TOTAL).store(geo.total, Ordering::Relaxed);
        ch.u64_at(H_CREATED).store(created_ts, Ordering::Relaxed);
        for s in 0..geo.n_streams {
            // Sub-buffer 0 is open from the start, its header space reserved.
            ch.stream_word(s, S_WRITE)
                .store(geo.header_size, Ordering::Relaxed);
        }
        ch.u64_at(H_MAGIC).store(MAGIC, Ordering::Release);
        Ok(ch)
    }

    /// Map a channel received from another process, validating its header.
    pub fn open(fd: OwnedFd) -> Result<Channel, Error> {
        let size = sys::file_size(fd.as_fd()).map_err(Error::Io)?;
        if size < PAGE {
            return Err(Error::BadChannel("file smaller than the header"));
        }
        let len = usize::try_from(size).map_err(|_| Error::BadChannel("file too large"))?;
        let map = Mapping::map(fd.as_fd(), len).map_err(Error::Io)?;
        let word = |off: usize| {
            // SAFETY: off + 8 <= PAGE <= len and off is 8-aligned in the mapping.
            unsafe { &*(map.as_ptr().add(off) as *const AtomicU64) }.load(Ordering::Acquire)
        };
        let half = |off: usize| {
            // SAFETY: off + 4 <= PAGE <= len and off is 4-aligned.
            unsafe { &*(map.as_ptr().add(off) as *const AtomicU32) }.load(Ordering::Relaxed)
        };
        if word(H_MAGIC) != MAGIC {
            return Err(Error::BadChannel("bad magic"));
        }
        if half(H_VERSION) != VERSION {
            return Err(Error::BadChannel("unsupported version"));
        }
        let mut uuid = [0u8; 16];
        for i in 0..4 {
            uuid[4 * i..4 * i + 4].copy_from_slice(&half(H_UUID + 4 * i).to_le_bytes());
        }
        let config = Config {
            subbuf_size: half(H_SBSIZE),
            num_subbufs: half(H_NSB),
            header_size: half(H_HEADER),
            max_records: half(H_CAP),
            mode: if half(H_MODE) == 1 {
                Mode::Overwrite
            } else {
                Mode::Discard
            },
            reserve: if half(H_RESERVE) == 1 {
                Reserve::Atomic
            } else {
                Reserve::Rseq
            },
            stream_id: half(H_STREAM_ID),
            uuid,
            cpus: Some(half(H_NCPUS)),
        };
        config
            .validate()
            .map_err(|_| Error::BadChannel("invalid geometry"))?;
        let geo = Geometry::new(
            config.subbuf_size,
            config.num_subbufs,
            config.header_size,
            config.max_records,
            half(H_NCPUS) as usize,
        )
        .ok_or(Error::BadChannel("invalid geometry"))?;
        if geo.total != size || word(H_TOTAL) != size {
            return Err(Error::BadChannel("size does not match geometry"));
        }
        let created_ts = word(H_CREATED);
        Ok(Channel {
            fd,
            map,
            geo,
            config,
            created_ts,
            retired: AtomicBool::new(false),
        })
    }

    /// Let go of the shared memory while references into the channel may
    /// remain (a writer still in a record), for a channel that is never
    /// dropped: the mapping becomes private zero-filled memory at the same
    /// addresses and the descriptor points at /dev/null, so that the
    /// memory is freed once the other processes let go of it too. What is
    /// written afterwards is lost; the channel must not be used again.
    pub fn retire(&self) -> Result<(), Error> {
        // The header and every stream's control words keep their values, so
        // that late writers see a consistent ring (with no consumer: once
        // full, they discard).
        let mut keep = vec![(0, PAGE as usize)];
        keep.extend(
            (0..self.num_streams())
                .map(|s| (self.stream_base(s) as usize, self.geo.data_off as usize)),
        );
        self.map.replace_with_private(&keep).map_err(Error::Io)?;
        self.retired.store(true, Ordering::Release);
        sys::point_at_null(self.fd.as_fd()).map_err(Error::Io)
    }

    /// Whether [`retire`](Self::retire) was called: writers waiting for
    /// room (blocking channels) give up.
    pub fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Acquire)
    }

    /// The shared-memory file, to pass to other processes ([`crate::send_fd`]).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Number of streams: the per-CPU ones, then the shared one.
    pub fn num_streams(&self) -> usize {
        self.geo.n_streams
    }

    /// Number of per-CPU streams.
    pub fn num_cpus(&self) -> usize {
        self.geo.n_cpus
    }

    /// Index of the shared (fallback) stream.
    pub fn shared_stream(&self) -> usize {
        self.geo.n_cpus
    }

    /// CLOCK_MONOTONIC time of creation: the first packets' `timestamp_begin`.
    pub fn created_ts(&self) -> u64 {
        self.created_ts
    }

    /// Bytes of shared memory.
    pub fn size(&self) -> usize {
        self.map.len()
    }

    fn u32_at(&self, off: usize) -> &AtomicU32 {
        debug_assert!(off + 4 <= PAGE as usize && off & 3 == 0);
        // SAFETY: header offsets are inside the first page, 4-aligned; the
        // reference lives no longer than the mapping (borrowed from self).
        unsafe { &*(self.map.as_ptr().add(off) as *const AtomicU32) }
    }

    fn u64_at(&self, off: usize) -> &AtomicU64 {
        debug_assert!(off + 8 <= PAGE as usize && off & 7 == 0);
        // SAFETY: as in `u32_at`, 8-aligned.
        unsafe { &*(self.map.as_ptr().add(off) as *const AtomicU64) }
    }

    pub(crate) fn wake_seq(&self) -> &AtomicU32 {
        self.u32_at(H_WAKE_SEQ)
    }

    pub(crate) fn consumer_waiting(&self) -> &AtomicU32 {
        self.u32_at(H_WAITING)
    }

    pub(crate) fn fallbacks_word(&self) -> &AtomicU64 {
        self.u64_at(H_FALLBACKS)
    }

    /// Records written through the shared stream because rseq could not be used.
    pub fn fallback_reserves(&self) -> u64 {
        self.fallbacks_word().load(Ordering::Relaxed)
    }

    #[inline]
    fn stream_base(&self, s: usize) -> u64 {
        PAGE + s as u64 * self.geo.stride
    }

    /// A control word of stream `s` (`S_*` offsets).
    #[inline]
    pub(crate) fn stream_word(&self, s: usize, off: u64) -> &AtomicU64 {
        debug_assert!(s < self.geo.n_streams && off < self.geo.close_off);
        // SAFETY: s < n_streams and off < close_off keep the word inside the
        // stream's control block, 8-aligned, within the mapping.
        unsafe {
            &*(self.map.as_ptr().add((self.stream_base(s) + off) as usize) as *const AtomicU64)
        }
    }

    /// Word `w` (0..3) of the close record of slot `slot`.
    #[inline]
    pub(crate) fn close_word(&self, s: usize, slot: u64, w: u64) -> &AtomicU64 {
        debug_assert!(slot < self.geo.n_sb && w < 4);
        let off = self.stream_base(s) + self.geo.close_off + slot * 32 + w * 8;
        // SAFETY: slot < N and w < 4 stay inside the close records, 8-aligned.
        unsafe { &*(self.map.as_ptr().add(off as usize) as *const AtomicU64) }
    }

    /// Entry of record `idx` of slot `slot`.
    #[inline]
    pub(crate) fn entry(&self, s: usize, slot: u64, idx: u64) -> &AtomicU64 {
        debug_assert!(slot < self.geo.n_sb && idx < self.geo.cap);
        let off = self.stream_base(s) + self.geo.entries_off + (slot * self.geo.cap + idx) * 8;
        // SAFETY: slot < N and idx < cap stay inside the entry table, 8-aligned.
        unsafe { &*(self.map.as_ptr().add(off as usize) as *const AtomicU64) }
    }

    /// Start of the data of slot `slot` of stream `s`.
    #[inline]
    pub(crate) fn data_ptr(&self, s: usize, slot: u64) -> *mut u8 {
        debug_assert!(slot < self.geo.n_sb);
        let off = self.stream_base(s) + self.geo.data_off + slot * self.geo.sb_size;
        // SAFETY: the whole slot [off, off + S) lies inside the mapping.
        unsafe { self.map.as_ptr().add(off as usize) }
    }

    /// Wake the consumer if it sleeps (called by writers after a sub-buffer
    /// switch only: never on the per-record path).
    pub(crate) fn wake_consumer(&self) {
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.consumer_waiting().load(Ordering::Relaxed) != 0 {
            self.wake_seq().fetch_add(1, Ordering::SeqCst);
            sys::futex_wake(self.wake_seq());
        }
    }

    /// Per-stream loss counters.
    pub fn stream_stats(&self, s: usize) -> StreamStats {
        StreamStats {
            lost_full: self.stream_word(s, S_LOST_FULL).load(Ordering::Relaxed),
            lost_too_big: self.stream_word(s, S_LOST_BIG).load(Ordering::Relaxed),
            lost_dead: self.stream_word(s, S_LOST_DEAD).load(Ordering::Relaxed),
        }
    }
}

/// Records lost in one stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Dropped by a writer because the buffer was full (discard mode), or
    /// because the sub-buffer to reuse still had a record being written
    /// (overwrite mode).
    pub lost_full: u64,
    /// Rejected by a writer because larger than a sub-buffer.
    pub lost_too_big: u64,
    /// Reserved but never committed (writer died), found by the consumer.
    pub lost_dead: u64,
}

impl StreamStats {
    pub fn total(&self) -> u64 {
        self.lost_full + self.lost_too_big + self.lost_dead
    }
}
