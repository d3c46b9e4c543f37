//! One session's trace being recorded: the per-CPU channel apps write
//! into, the registry of event classes with the session's rules, the
//! consumer thread writing stream files, and the metadata.

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
use crate::registry::{AppEnv, Registry, TraceEnv};
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
    /// Period of the switch timer (none: sub-buffers reach the files when
    /// full, and at stop).
    pub switch_timer: Option<std::time::Duration>,
    /// Trace-file rotation.
    pub trace_files: consumer::TraceFiles,
}

/// A trace being recorded. Apps attach through a [`crate::hub::Hub`].
pub struct Recording {
    channel: Arc<Channel>,
    registry: Arc<Mutex<Registry>>,
    env: TraceEnv,
    trace_dir: PathBuf,
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
fn write_metadata(dir: &Path, env: &TraceEnv, reg: &Registry) -> Result<u64, Error> {
    let bytes = packetize_metadata(
        &to_tsdl(&reg.metadata(env)),
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
    /// Create the per-UID trace directory, the channel and the consumer.
    pub fn start(cfg: RecordingConfig) -> Result<Recording, Error> {
        let dir = cfg
            .output
            .join("ust")
            .join("uid")
            .join(sys::uid().to_string())
            .join("64-bit");
        Recording::start_in(cfg, dir, None)
    }

    /// A per-PID recording of `app`: `ust/pid/PROCNAME-PID-DATETIME/`.
    pub fn start_per_pid(cfg: RecordingConfig, app: &AppInfo) -> Result<Recording, Error> {
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
        let dir = cfg.output.join("ust").join("pid").join(format!(
            "{safe}-{}-{}",
            app.pid,
            registered.dir_suffix()
        ));
        let app = AppEnv {
            vpid: app.pid,
            procname: app.procname.clone(),
            registered,
        };
        Recording::start_in(cfg, dir, Some(app))
    }

    fn start_in(
        cfg: RecordingConfig,
        trace_dir: PathBuf,
        app: Option<AppEnv>,
    ) -> Result<Recording, Error> {
        let registry = Registry::new(cfg.rules, cfg.contexts).map_err(Error::Config)?;
        let uid = sys::uid();
        if trace_dir.join("metadata").exists() {
            return Err(Error::TraceExists(trace_dir));
        }
        std::fs::create_dir_all(&trace_dir).map_err(io_err(&trace_dir))?;
        let uuid = sys::random_uuid().map_err(io_err(Path::new("getrandom")))?;
        let env = TraceEnv {
            trace_name: cfg.trace_name.clone(),
            created: sys::LocalTime::now(),
            hostname: sys::hostname(),
            uid,
            uuid,
            clock_offset_ns: sys::monotonic_offset_ns(),
            clock_uuid: sys::boot_id(),
            app,
        };
        let subbuf_size = pow2_at_least(cfg.subbuf_size, 4096)?;
        let num_subbufs = pow2_at_least(cfg.num_subbufs, 2)?;
        let channel = Arc::new(Channel::create(&Config {
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
            stream_id: 0,
            uuid,
            ..Config::default()
        })?);
        // Best effort: without it, apps only fault pages in more slowly.
        let _ = sys::preallocate(channel.fd(), channel.size());
        write_metadata(&trace_dir, &env, &registry)?;
        let registry = Arc::new(Mutex::new(registry));
        let control = Arc::new(ConsumerControl::new(cfg.switch_timer));
        let consumer = {
            let (ch, dir, control) = (channel.clone(), trace_dir.clone(), control.clone());
            let files = cfg.trace_files;
            std::thread::Builder::new()
                .name("ltt-consumer".into())
                .spawn(move || consumer::run(ch, dir, files, control))
                .map_err(io_err(Path::new("consumer thread")))?
        };
        Ok(Recording {
            channel,
            registry,
            env,
            trace_dir,
            apps: Mutex::new(Vec::new()),
            warnings: Mutex::new(Vec::new()),
            control,
            consumer: Mutex::new(Some(consumer)),
        })
    }

    /// The CTF trace directory.
    pub fn trace_dir(&self) -> &Path {
        &self.trace_dir
    }

    /// The contexts every record carries.
    pub fn contexts(&self) -> Vec<Context> {
        self.registry().contexts().to_vec()
    }

    /// The channel's memfd, for apps.
    pub fn channel_fd(&self) -> BorrowedFd<'_> {
        self.channel.fd()
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
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
        let mut reg = self.registry();
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
            if let Err(e) = write_metadata(&self.trace_dir, &self.env, &reg) {
                drop(reg);
                self.warn(format!("metadata not updated: {e}"));
            }
        }
        ids
    }

    /// New event rules (`enable-event`, `disable-event`).
    pub fn set_rules(&self, rules: Vec<EventRule>) -> Result<(), Error> {
        self.registry().set_rules(rules).map_err(Error::Config)
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
        let reg = self.registry();
        report.count(&reg)?;
        let metadata_bytes = write_metadata(&self.trace_dir, &self.env, &reg)?;
        let mut events: Vec<(String, u64)> = Vec::new();
        for id in 0..reg.len() as u32 {
            let name = reg.name(id).unwrap_or_default();
            let n = report.counts.get(id as usize).copied().unwrap_or(0);
            match events.iter_mut().find(|(e, _)| e == name) {
                Some((_, c)) => *c += n,
                None => events.push((name.to_string(), n)),
            }
        }
        drop(reg);
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
            trace_dir: self.trace_dir.clone(),
            recorded: events.iter().map(|(_, n)| n).sum(),
            events,
            discarded,
            bytes: report.bytes + metadata_bytes,
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
        let _ = std::fs::remove_file(self.trace_dir.join("metadata"));
        let mut dir = Some(self.trace_dir.as_path());
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
