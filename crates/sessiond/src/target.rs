//! Where a session's apps write: one recording shared by all the user's
//! apps (per-UID buffers, LTTng's default), or one recording per app
//! (`--buffers-pid`: `ust/pid/PROCNAME-PID-DATETIME/`, each with its own
//! channel and metadata, so that apps cannot touch each other's records).

use std::sync::{Arc, Mutex, MutexGuard};

use crate::hub::AppInfo;
use crate::recording::{Recording, RecordingConfig};
use crate::rules::EventRule;
use crate::{Error, Summary};

/// The recordings of an active session.
pub enum Target {
    PerUid(Arc<Recording>),
    PerPid(Box<PerPid>),
}

/// Per-PID recordings, made when each app attaches.
pub struct PerPid {
    cfg: Mutex<RecordingConfig>,
    recordings: Mutex<Vec<(u32, Arc<Recording>)>>,
    warnings: Mutex<Vec<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Target {
    /// Per-UID: start the one recording now; per-PID: check the rules now,
    /// start recordings as apps come.
    pub fn start(cfg: RecordingConfig, per_pid: bool) -> Result<Target, Error> {
        if !per_pid {
            return Ok(Target::PerUid(Arc::new(Recording::start(cfg)?)));
        }
        crate::Registry::new(cfg.rules.clone(), Vec::new()).map_err(Error::Config)?;
        Ok(Target::PerPid(Box::new(PerPid {
            cfg: Mutex::new(cfg),
            recordings: Mutex::new(Vec::new()),
            warnings: Mutex::new(Vec::new()),
        })))
    }

    /// The recording `app` writes to (per-PID: made on its first attach).
    pub fn for_app(&self, app: &AppInfo) -> Result<Arc<Recording>, Error> {
        match self {
            Target::PerUid(rec) => Ok(rec.clone()),
            Target::PerPid(p) => {
                let mut recs = lock(&p.recordings);
                if let Some((_, rec)) = recs.iter().find(|(pid, _)| *pid == app.pid) {
                    return Ok(rec.clone());
                }
                let rec = Arc::new(Recording::start_per_pid(lock(&p.cfg).clone(), app)?);
                recs.push((app.pid, rec.clone()));
                Ok(rec)
            }
        }
    }

    fn all(&self) -> Vec<Arc<Recording>> {
        match self {
            Target::PerUid(rec) => vec![rec.clone()],
            Target::PerPid(p) => lock(&p.recordings).iter().map(|(_, r)| r.clone()).collect(),
        }
    }

    /// New event rules for every recording (and those to come).
    pub fn set_rules(&self, rules: Vec<EventRule>) -> Result<(), Error> {
        if let Target::PerPid(p) = self {
            crate::Registry::new(rules.clone(), Vec::new()).map_err(Error::Config)?;
            lock(&p.cfg).rules = rules.clone();
        }
        for rec in self.all() {
            rec.set_rules(rules.clone())?;
        }
        Ok(())
    }

    /// Write everything recorded so far to the files.
    pub fn flush(&self) {
        for rec in self.all() {
            rec.flush();
        }
    }

    /// Events lost so far, all recordings together.
    pub fn discarded(&self) -> u64 {
        self.all().iter().map(|r| r.discarded()).sum()
    }

    /// A problem to report with the summary.
    pub fn warn(&self, msg: String) {
        match self {
            Target::PerUid(rec) => rec.warn(msg),
            Target::PerPid(p) => lock(&p.warnings).push(msg),
        }
    }

    /// Finish every recording; their summaries added up.
    pub fn finish(&self) -> Result<Summary, Error> {
        match self {
            Target::PerUid(rec) => rec.finish(),
            Target::PerPid(p) => {
                let mut total = Summary {
                    trace_dir: lock(&p.cfg).output.join("ust").join("pid"),
                    warnings: std::mem::take(&mut *lock(&p.warnings)),
                    ..Summary::default()
                };
                for (_, rec) in lock(&p.recordings).iter() {
                    let s = rec.finish()?;
                    for (name, n) in s.events {
                        match total.events.iter_mut().find(|(e, _)| *e == name) {
                            Some((_, c)) => *c += n,
                            None => total.events.push((name, n)),
                        }
                    }
                    total.recorded += s.recorded;
                    total.discarded += s.discarded;
                    total.bytes += s.bytes;
                    total.stream_files += s.stream_files;
                    total.apps.extend(s.apps);
                    total.warnings.extend(s.warnings);
                }
                total.events.sort();
                Ok(total)
            }
        }
    }

    /// Give up before anything was traced.
    pub fn abandon(&self) {
        for rec in self.all() {
            rec.abandon();
        }
    }
}
