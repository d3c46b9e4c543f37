//! A session's trace being recorded: a [`SharedTrace`] (the directory, its
//! environment and the metadata describing every channel) and, per
//! channel, a [`Recording`]: the per-CPU ring buffers apps write into, the
//! registry of its event classes with the channel's rules, and the
//! consumer thread writing its stream files.

use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use ltt_ctf::metadata::ByteOrder;
use ltt_ctf::write::{packetize_metadata, to_tsdl};
use ltt_ringbuf::{Channel, Config, Mode, Reserve};
use ltt_ust::proto::{EventIds, WireEvent};
use ltt_ust::Context;

use crate::consumer::{self, ConsumerControl};
use crate::registry::{trace_metadata, AppEnv, Registry, TraceEnv};
use crate::rules::EventRule;
use crate::{io_err, sys, AppInfo, Error, Summary};

/// Defaults of LTTng's per-UID UST channels.
pub const DEFAULT_SUBBUF_SIZE: u32 = 512 * 1024;
pub const DEFAULT_NUM_SUBBUFS: u32 = 4;

/// What a recording writes and how its channel is shaped.
#[derive(Clone, Debug)]
pub struct RecordingConfig {
    /// Session output directory; the trace goes to `ust/uid/UID/64-bit/`.
    pub output: PathBuf,
    /// `trace_name` in the metadata (LTTng: the session name).
    pub trace_name: String,
    /// The channel's event rules.
    pub rules: Vec<EventRule>,
    /// Context fields of every record.
    pub contexts: Vec<Context>,
    /// Bytes per sub-buffer (rounded up to a power of two, at least 4 KiB).
    pub subbuf_size: u32,
    /// Sub-buffers per CPU (rounded up to a power of two, at least 2).
    pub num_subbufs: u32,
    /// Overwrite the oldest sub-buffers when full (flight recorder)
    /// instead of discarding new records.
    pub overwrite: bool,
    /// Switch and read timers (none: sub-buffers reach the files when
    /// full, and at stop; the consumer is woken by writers).
    pub timers: consumer::Timers,
    /// The channel's name and file rotation.
    pub trace_files: consumer::TraceFiles,
    /// How long writers wait for room in a full buffer, in µs (0: never;
    /// [`ltt_ust::proto::BLOCK_FOREVER`]), in apps that allow it.
    pub blocking_us: u64,
}

/// A trace directory the channels of a session share: its environment and
/// every channel's event classes (stream class `k` is the channel whose
/// registry is `registries[k]`), which one metadata file describes.
pub struct SharedTrace {
    env: TraceEnv,
    dir: PathBuf,
    registries: Mutex<Vec<Registry>>,
}

impl SharedTrace {
    /// The per-UID trace directory `ust/uid/UID/64-bit/` below `output`.
    pub fn for_uid(output: &Path, trace_name: &str) -> Result<Arc<SharedTrace>, Error> {
        let dir = output
            .join("ust")
            .join("uid")
            .join(sys::uid().to_string())
            .join("64-bit");
        SharedTrace::create(dir, trace_name, None)
    }

    /// A per-PID trace directory of `app`: `ust/pid/PROCNAME-PID-DATETIME/`.
    pub fn for_app(
        output: &Path,
        trace_name: &str,
        app: &AppInfo,
    ) -> Result<Arc<SharedTrace>, Error> {
        let registered = sys::LocalTime::now();
        // The name comes from the app: never let it climb out of `pid/`.
        let safe: String = app
            .procname
            .chars()
            .take(16)
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let dir = output.join("ust").join("pid").join(format!(
            "{safe}-{}-{}",
            app.pid,
            registered.dir_suffix()
        ));
        let app = AppEnv {
            vpid: app.pid,
            procname: app.procname.clone(),
            registered,
        };
        SharedTrace::create(dir, trace_name, Some(app))
    }

    fn create(
        dir: PathBuf,
        trace_name: &str,
        app: Option<AppEnv>,
    ) -> Result<Arc<SharedTrace>, Error> {
        if dir.join("metadata").exists() {
            return Err(Error::TraceExists(dir));
        }
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let uuid = sys::random_uuid().map_err(io_err(Path::new("getrandom")))?;
        let env = TraceEnv {
            trace_name: trace_name.to_string(),
            created: sys::LocalTime::now(),
            hostname: sys::hostname(),
            uid: sys::uid(),
            uuid,
            clock_offset_ns: sys::monotonic_offset_ns(),
            clock_uuid: sys::boot_id(),
            app,
        };
        Ok(Arc::new(SharedTrace {
            env,
            dir,
            registries: Mutex::new(Vec::new()),
        }))
    }

    /// The CTF trace directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn registries(&self) -> std::sync::MutexGuard<'_, Vec<Registry>> {
        self.registries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Add a channel: `make` builds it for its stream class id, then its
    /// registry joins the metadata.
    fn add_channel<T>(
        &self,
        registry: Registry,
        make: impl FnOnce(u16) -> Result<T, Error>,
    ) -> Result<(u16, T), Error> {
        let mut regs = self.registries();
        let id = u16::try_from(regs.len())
            .map_err(|_| Error::Config("too many channels in one trace".into()))?;
        let made = make(id)?;
        regs.push(registry);
        write_metadata(&self.dir, &self.env, &regs)?;
        Ok((id, made))
    }
}

/// A channel being recorded. Apps attach through a [`crate::hub::Hub`].
pub struct Recording {
    channel: Arc<Channel>,
    trace: Arc<SharedTrace>,
    /// Stream class id of the channel: its registry in the trace.
    stream_id: u16,
    blocking_us: u64,
    apps: Mutex<Vec<AppInfo>>,
    warnings: Mutex<Vec<String>>,
    control: Arc<ConsumerControl>,
    consumer: Mutex<Option<JoinHandle<Result<consumer::ConsumerReport, Error>>>>,
}

/// Round `v` up to a power of two, at least `min`.
fn pow2_at_least(v: u32, min: u32) -> Result<u32, Error> {
    v.max(min)
        .checked_next_power_of_two()
        .ok_or_else(|| Error::Config(format!("{v} is too large")))
}

/// Writes the metadata file atomically (readers never see half of it).
fn write_metadata(dir: &Path, env: &TraceEnv, regs: &[Registry]) -> Result<u64, Error> {
    let bytes = packetize_metadata(
        &to_tsdl(&trace_metadata(regs, env)),
        env.uuid,
        ByteOrder::Little,
        4096,
    );
    let tmp = dir.join(".metadata.tmp");
    let path = dir.join("metadata");
    std::fs::write(&tmp, &bytes).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
    Ok(bytes.len() as u64)
}

impl Recording {
    /// Create the channel's ring buffers and consumer, and add it to
    /// `trace`.
    pub fn start(cfg: RecordingConfig, trace: &Arc<SharedTrace>) -> Result<Recording, Error> {
        let registry = Registry::new(cfg.rules, cfg.contexts).map_err(Error::Config)?;
        let subbuf_size = pow2_at_least(cfg.subbuf_size, 4096)?;
        let num_subbufs = pow2_at_least(cfg.num_subbufs, 2)?;
        let (stream_id, channel) = trace.add_channel(registry, |stream_id| {
            Ok(Arc::new(Channel::create(&Config {
                subbuf_size,
                num_subbufs,
                // The smallest record (no payload) is 39 bytes.
                max_records: (subbuf_size / 32)
                    .next_power_of_two()
                    .clamp(16, ltt_ringbuf::MAX_RECORDS_LIMIT),
                mode: if cfg.overwrite {
                    Mode::Overwrite
                } else {
                    Mode::Discard
                },
                reserve: Reserve::Rseq,
                stream_id: stream_id.into(),
                uuid: trace.env.uuid,
                ..Config::default()
            })?))
        })?;
        // Best effort: without it, apps only fault pages in more slowly.
        let _ = sys::preallocate(channel.fd(), channel.size());
        let control = Arc::new(ConsumerControl::new(cfg.timers));
        let consumer = {
            let (ch, dir, control) = (channel.clone(), trace.dir.clone(), control.clone());
            let files = cfg.trace_files;
            std::thread::Builder::new()
                .name("ltt-consumer".into())
                .spawn(move || consumer::run(ch, dir, files, control))
                .map_err(io_err(Path::new("consumer thread")))?
        };
        Ok(Recording {
            channel,
            trace: trace.clone(),
            stream_id,
            blocking_us: cfg.blocking_us,
            apps: Mutex::new(Vec::new()),
            warnings: Mutex::new(Vec::new()),
            control,
            consumer: Mutex::new(Some(consumer)),
        })
    }

    /// The CTF trace directory.
    pub fn trace_dir(&self) -> &Path {
        &self.trace.dir
    }

    /// How long writers may wait for room (see [`RecordingConfig`]).
    pub fn blocking_us(&self) -> u64 {
        self.blocking_us
    }

    /// The contexts every record carries.
    pub fn contexts(&self) -> Vec<Context> {
        self.with_registry(|r| r.contexts().to_vec())
    }

    /// The channel's memfd, for apps.
    pub fn channel_fd(&self) -> BorrowedFd<'_> {
        self.channel.fd()
    }

    /// Run `f` on the channel's registry (the trace's registries are
    /// locked meanwhile).
    fn with_registry<R>(&self, f: impl FnOnce(&mut Registry) -> R) -> R {
        f(&mut self.trace.registries()[self.stream_id as usize])
    }

    pub(crate) fn warn(&self, msg: String) {
        self.warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(msg);
    }

    pub(crate) fn note_app(&self, app: &AppInfo) {
        let mut apps = self.apps.lock().unwrap_or_else(|e| e.into_inner());
        if !apps.contains(app) {
            apps.push(app.clone());
        }
    }

    /// Ids and states of an app's events (new classes are written to the
    /// metadata before their ids go out, so readers can always decode).
    pub fn register(&self, events: &[WireEvent]) -> Vec<EventIds> {
        let mut regs = self.trace.registries();
        let reg = &mut regs[self.stream_id as usize];
        let before = reg.len();
        let ids = events
            .iter()
            // No room left: the event stays disabled (id unused).
            .map(|ev| {
                reg.register(ev.clone())
                    .unwrap_or_else(|| EventIds::new(u32::MAX, false))
            })
            .collect();
        if reg.len() != before {
            if let Err(e) = write_metadata(&self.trace.dir, &self.trace.env, &regs) {
                drop(regs);
                self.warn(format!("metadata not updated: {e}"));
            }
        }
        ids
    }

    /// New event rules (`enable-event`, `disable-event`).
    pub fn set_rules(&self, rules: Vec<EventRule>) -> Result<(), Error> {
        self.with_registry(|r| r.set_rules(rules))
            .map_err(Error::Config)
    }

    /// Write everything recorded so far to the files (apps should be told
    /// to stop first).
    pub fn flush(&self) {
        if let Some(c) = self
            .consumer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            self.control.flush(c);
        }
    }

    /// Events lost so far (full buffers, records too large, dead writers).
    pub fn discarded(&self) -> u64 {
        let ch = &self.channel;
        (0..ch.num_streams())
            .map(|s| ch.stream_stats(s).total())
            .sum()
    }

    /// Flush every buffer, write the remaining packets and the final
    /// metadata, and say what was recorded.
    pub fn finish(&self) -> Result<Summary, Error> {
        self.control.stop();
        let consumer = self
            .consumer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or(Error::Config("the recording was already finished".into()))?;
        let mut report = consumer
            .join()
            .map_err(|_| Error::ThreadPanicked("consumer"))??;
        let regs = self.trace.registries();
        let reg = &regs[self.stream_id as usize];
        report.count(reg)?;
        let metadata_bytes = write_metadata(&self.trace.dir, &self.trace.env, &regs)?;
        let mut events: Vec<(String, u64)> = Vec::new();
        for id in 0..reg.len() as u32 {
            let name = reg.name(id).unwrap_or_default();
            let n = report.counts.get(id as usize).copied().unwrap_or(0);
            match events.iter_mut().find(|(e, _)| e == name) {
                Some((_, c)) => *c += n,
                None => events.push((name.to_string(), n)),
            }
        }
        drop(regs);
        events.sort();
        let discarded = self.discarded();
        let mut warnings =
            std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|e| e.into_inner()));
        warnings.extend(report.warnings);
        if report.undecodable_packets > 0 {
            warnings.push(format!(
                "{} packets held records the consumer could not count",
                report.undecodable_packets
            ));
        }
        Ok(Summary {
            trace_dir: self.trace.dir.clone(),
            recorded: events.iter().map(|(_, n)| n).sum(),
            events,
            discarded,
            // The trace's metadata counts once, with its first channel.
            bytes: report.bytes
                + if self.stream_id == 0 {
                    metadata_bytes
                } else {
                    0
                },
            stream_files: report.files,
            apps: self.apps.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            warnings,
        })
    }

    /// Give up before anything was traced: remove what `start` created (the
    /// metadata and the directories it made, if empty).
    pub fn abandon(&self) {
        self.control.stop();
        if let Some(c) = self
            .consumer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let _ = c.join();
        }
        let _ = std::fs::remove_file(self.trace.dir.join("metadata"));
        let mut dir = Some(self.trace.dir.as_path());
        for _ in 0..4 {
            match dir {
                Some(d) if std::fs::remove_dir(d).is_ok() => dir = d.parent(),
                _ => break,
            }
        }
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        self.control.stop();
    }
}
