//! The consumer thread: takes packets out of the channel's ring buffers and
//! appends them to the trace's stream files (`channel0_CPU`, with an LTTng
//! index beside each), counting events per class on the way.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use ltt_ringbuf::{Channel, Consumer, ConsumerConfig, FlushOutcome, Packet};

use crate::registry::Registry;
use crate::Error;

/// Name of the one channel `ltt record` creates (LTTng's default).
pub const CHANNEL_NAME: &str = "channel0";
/// How long the final flush may wait for writers still inside a record.
const FINISH_DEADLINE: Duration = Duration::from_secs(10);

/// Where one packet went, for counting its records afterwards.
#[derive(Debug, Clone, Copy)]
struct Written {
    stream: usize,
    /// Which file of the stream (0, 1, ... in creation order).
    file_seq: u64,
    /// Offset of its records in the stream file, and their length.
    records_at: u64,
    records_len: usize,
    /// Records the ring buffer says it holds.
    records: u64,
}

/// What the consumer wrote.
#[derive(Debug, Default)]
pub struct ConsumerReport {
    /// Events per class id (filled by [`ConsumerReport::count`]).
    pub counts: Vec<u64>,
    /// Every packet written and still in the files, in order.
    written: Vec<Written>,
    rotation: TraceFiles,
    /// The trace directory.
    dir: PathBuf,
    /// Bytes written to stream files.
    pub bytes: u64,
    pub packets: u64,
    /// Stream files written.
    pub files: usize,
    /// Records the consumer could not step over (a bug or a hostile app);
    /// the packets are written anyway.
    pub undecodable_packets: u64,
    /// Problems that did not stop recording.
    pub warnings: Vec<String>,
}

impl ConsumerReport {
    /// Count the records of every packet written, per class, by reading
    /// the stream files back (they are in the page cache).
    pub fn count(&mut self, registry: &Registry) -> Result<(), Error> {
        use std::io::{Read, Seek, SeekFrom};
        let mut open: Option<((usize, u64), File)> = None;
        let mut buf = Vec::new();
        for w in std::mem::take(&mut self.written) {
            let path = self.dir.join(self.rotation.name(w.stream, w.file_seq));
            if open
                .as_ref()
                .is_none_or(|(k, _)| *k != (w.stream, w.file_seq))
            {
                let f = File::open(&path).map_err(io_err(&path))?;
                open = Some(((w.stream, w.file_seq), f));
            }
            let f = &mut open.as_mut().expect("just opened").1;
            buf.resize(w.records_len, 0);
            f.seek(SeekFrom::Start(w.records_at))
                .and_then(|_| f.read_exact(&mut buf))
                .map_err(io_err(&path))?;
            let (mut body, mut n) = (&buf[..], 0);
            while !body.is_empty() {
                let Some((id, len)) = registry.record_len(body) else {
                    self.undecodable_packets += 1;
                    break;
                };
                if self.counts.len() <= id as usize {
                    self.counts.resize(id as usize + 1, 0);
                }
                self.counts[id as usize] += 1;
                body = &body[len..];
                n += 1;
            }
            if n != w.records && self.undecodable_packets == 0 {
                self.warnings.push(format!(
                    "stream {}: a packet holds {} records, {n} decoded",
                    w.stream, w.records
                ));
            }
        }
        Ok(())
    }
}

struct StreamFile {
    data: BufWriter<File>,
    index: BufWriter<File>,
    offset: u64,
    /// Files of this stream made so far, this one included.
    made: u64,
}

/// A channel's stream files: their name and rotation (`--tracefile-size`,
/// `--tracefile-count`).
#[derive(Clone, Debug)]
pub struct TraceFiles {
    /// The channel's name, which the files are named after.
    pub channel: String,
    /// Start a new file before one would grow past this many bytes.
    pub max_size: Option<u64>,
    /// Keep at most this many files per stream (the oldest is replaced).
    pub max_count: Option<u32>,
}

impl Default for TraceFiles {
    fn default() -> Self {
        TraceFiles {
            channel: CHANNEL_NAME.to_string(),
            max_size: None,
            max_count: None,
        }
    }
}

impl TraceFiles {
    /// The name of file `seq` of stream `s`: LTTng's `channel0_0` without
    /// rotation, `channel0_0_N` with it (N cycling through the count).
    fn name(&self, s: usize, seq: u64) -> String {
        let ch = &self.channel;
        match (self.max_size, self.max_count) {
            (None, _) => format!("{ch}_{s}"),
            (Some(_), Some(c)) => format!("{ch}_{s}_{}", seq % c.max(1) as u64),
            (Some(_), None) => format!("{ch}_{s}_{seq}"),
        }
    }
}

struct Output {
    dir: PathBuf,
    rotation: TraceFiles,
    files: Vec<Option<StreamFile>>,
    report: ConsumerReport,
    error: Option<Error>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Output {
    /// The file packet of `len` bytes of stream `s` goes to: opened on
    /// first use, and a new one when rotation says so.
    fn file(&mut self, s: usize, len: u64) -> Result<&mut StreamFile, Error> {
        let rotate = match (&self.files[s], self.rotation.max_size) {
            (None, _) => true,
            (Some(f), Some(max)) => f.offset > 0 && f.offset + len > max,
            (Some(_), None) => false,
        };
        if rotate {
            let seq = self.files[s].as_ref().map_or(0, |f| f.made);
            if let Some(old) = self.files[s].as_mut() {
                old.data.flush().map_err(io_err(&self.dir))?;
                old.index.flush().map_err(io_err(&self.dir))?;
            }
            if let Some(count) = self.rotation.max_count {
                // The file replaced is gone, and its events with it.
                let gone = seq.checked_sub(count.max(1) as u64);
                self.report
                    .written
                    .retain(|w| !(w.stream == s && Some(w.file_seq) == gone));
            }
            let name = self.rotation.name(s, seq);
            let data_path = self.dir.join(&name);
            let index_dir = self.dir.join("index");
            std::fs::create_dir_all(&index_dir).map_err(io_err(&index_dir))?;
            let index_path = index_dir.join(format!("{name}.idx"));
            let data = File::create(&data_path).map_err(io_err(&data_path))?;
            let mut index = BufWriter::new(File::create(&index_path).map_err(io_err(&index_path))?);
            // LTTng index 1.1 header, big-endian.
            for v in [0xC1F1_DCC1u32, 1, 1, 72] {
                index
                    .write_all(&v.to_be_bytes())
                    .map_err(io_err(&index_path))?;
            }
            if seq < self.rotation.max_count.map_or(u64::MAX, |c| c as u64) {
                self.report.files += 1;
            }
            self.files[s] = Some(StreamFile {
                data: BufWriter::with_capacity(1 << 16, data),
                index,
                offset: 0,
                made: seq + 1,
            });
        }
        Ok(self.files[s].as_mut().expect("just opened"))
    }

    fn write(&mut self, p: &Packet<'_>, header_size: usize) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.try_write(p, header_size) {
            self.error = Some(e);
        }
    }

    fn try_write(&mut self, p: &Packet<'_>, header_size: usize) -> Result<(), Error> {
        let info = *p.info();
        let bytes = p.bytes();
        // Records are counted after tracing (`ConsumerReport::count`): here
        // the consumer only copies, to keep up with the writers.
        let records_len = p.records_bytes(header_size).len();
        let dir = self.dir.clone();
        let f = self.file(info.stream, bytes.len() as u64)?;
        let (at, file_seq) = (f.offset, f.made - 1);
        f.data.write_all(bytes).map_err(io_err(&dir))?;
        let h = &info.fields;
        for v in [
            f.offset,
            h.packet_size,
            h.content_size,
            h.timestamp_begin,
            h.timestamp_end,
            h.events_discarded,
            h.stream_id as u64,
            h.stream_instance_id,
            h.packet_seq_num,
        ] {
            f.index.write_all(&v.to_be_bytes()).map_err(io_err(&dir))?;
        }
        f.offset += bytes.len() as u64;
        self.report.written.push(Written {
            stream: info.stream,
            file_seq,
            records_at: at + header_size as u64,
            records_len,
            records: info.records,
        });
        self.report.bytes += bytes.len() as u64;
        self.report.packets += 1;
        Ok(())
    }

    /// Push buffered bytes to the files (readers see whole packets).
    fn flush_files(&mut self) -> Result<(), Error> {
        for f in self.files.iter_mut().flatten() {
            f.data.flush().map_err(io_err(&self.dir))?;
            f.index.flush().map_err(io_err(&self.dir))?;
        }
        Ok(())
    }
}

/// A channel's consumer timers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timers {
    /// Close partly filled sub-buffers this often (`--switch-timer`), so
    /// that a slow stream reaches the files while tracing goes on.
    pub switch: Option<Duration>,
    /// Look for full sub-buffers this often (`--read-timer`) instead of
    /// being woken by the writers: they then never make the wake-up system
    /// call, at the price of more buffer space held between two looks.
    pub read: Option<Duration>,
}

/// How a session steers its consumer thread.
#[derive(Default)]
pub struct ConsumerControl {
    timers: Timers,
    /// Finish: flush everything and return.
    stop: AtomicBool,
    /// Flushes asked for and done (`lttng stop` flushes without ending).
    requested: AtomicU64,
    done: Mutex<u64>,
    done_cv: Condvar,
}

impl ConsumerControl {
    pub fn new(timers: Timers) -> ConsumerControl {
        ConsumerControl {
            timers,
            ..ConsumerControl::default()
        }
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// Ask for every buffer to be flushed to the files and wait until it
    /// is (or the consumer has ended).
    pub fn flush(&self, consumer: &std::thread::JoinHandle<Result<ConsumerReport, Error>>) {
        let want = self.requested.fetch_add(1, Ordering::AcqRel) + 1;
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        while *done < want && !consumer.is_finished() {
            done = self
                .done_cv
                .wait_timeout(done, Duration::from_millis(100))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Consume `ch` into `dir` until told to stop, then flush every buffer and
/// write what is left.
pub fn run(
    ch: Arc<Channel>,
    dir: PathBuf,
    rotation: TraceFiles,
    control: Arc<ConsumerControl>,
) -> Result<ConsumerReport, Error> {
    let header_size = ch.config().header_size as usize;
    // Ahead of the traced threads when allowed (root): a consumer that is
    // not scheduled in time is what makes full buffers discard records.
    // SAFETY: setpriority on this thread's id; failure changes nothing.
    unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, -10) };
    let mut consumer = Consumer::new(&ch, ConsumerConfig::default());
    let mut out = Output {
        dir: dir.clone(),
        rotation: rotation.clone(),
        files: (0..ch.num_streams()).map(|_| None).collect(),
        report: ConsumerReport {
            dir: dir.clone(),
            rotation,
            ..ConsumerReport::default()
        },
        error: None,
    };
    let mut unflushable = BTreeSet::new();
    let mut next_switch = control.timers.switch.map(|p| Instant::now() + p);
    while !control.stop.load(Ordering::Acquire) {
        consumer.drain(|p| out.write(p, header_size))?;
        if let Some(e) = out.error.take() {
            return Err(e);
        }
        let requested = control.requested.load(Ordering::Acquire);
        if requested > *control.done.lock().unwrap_or_else(|e| e.into_inner()) {
            flush_all(&ch, &mut consumer, &mut out, &mut unflushable)?;
            *control.done.lock().unwrap_or_else(|e| e.into_inner()) = requested;
            control.done_cv.notify_all();
        }
        let mut sleep = Duration::from_millis(100);
        if let (Some(at), Some(period)) = (next_switch, control.timers.switch) {
            let now = Instant::now();
            if now >= at {
                for s in 0..ch.num_streams() {
                    // Best effort: a full buffer or a CPU this thread may
                    // not run on waits for the next period.
                    let _ = ch.flush(s);
                }
                next_switch = Some(now + period);
                continue;
            }
            sleep = sleep.min(at - now);
        }
        // Idle: what was taken so far becomes readable.
        out.flush_files()?;
        match control.timers.read {
            Some(period) => std::thread::sleep(sleep.min(period)),
            None => consumer.wait(sleep),
        }
    }
    flush_all(&ch, &mut consumer, &mut out, &mut unflushable)?;
    Ok(out.report)
}

/// Close every open sub-buffer (on its CPU), hand out everything and write
/// it to the files, as `lttng stop` does.
fn flush_all(
    ch: &Channel,
    consumer: &mut Consumer<'_>,
    out: &mut Output,
    unflushable: &mut BTreeSet<usize>,
) -> Result<(), Error> {
    let header_size = ch.config().header_size as usize;
    let deadline = Instant::now() + FINISH_DEADLINE;
    loop {
        consumer.drain(|p| out.write(p, header_size))?;
        let mut pending = 0;
        for s in 0..ch.num_streams() {
            if unflushable.contains(&s) {
                continue;
            }
            match ch.flush(s) {
                Ok(FlushOutcome::Empty) if consumer.caught_up(s) => {}
                Ok(_) => pending += 1,
                Err(e @ (ltt_ringbuf::Error::Pin { .. } | ltt_ringbuf::Error::FlushAborted(_))) => {
                    out.report
                        .warnings
                        .push(format!("buffer {s} not flushed: {e}"));
                    unflushable.insert(s);
                }
                Err(e) => return Err(e.into()),
            }
        }
        consumer.drain(|p| out.write(p, header_size))?;
        if let Some(e) = out.error.take() {
            return Err(e);
        }
        if pending == 0 {
            break;
        }
        if Instant::now() >= deadline {
            out.report.warnings.push(format!(
                "{pending} buffers still held uncommitted records at the end"
            ));
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    out.flush_files()
}
