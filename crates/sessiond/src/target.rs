//! Where a session channel's apps write: one recording shared by all the
//! user's apps (per-UID buffers, LTTng's default), or one recording per
//! app (`--buffers-pid`: `ust/pid/PROCNAME-PID-DATETIME/`, each with its
//! own ring buffers and metadata, so that apps cannot touch each other's
//! records). The channels of a session share their trace directories: one
//! per user, or one per app.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::hub::AppInfo;
use crate::recording::{Recording, RecordingConfig, SharedTrace};
use crate::rules::EventRule;
use crate::{Error, Summary};

/// The recordings of one channel of an active session.
pub enum Target {
    PerUid(Arc<Recording>),
    PerPid(Box<PerPid>),
}

/// The per-PID traces of a session, by app pid.
type AppTraces = Mutex<Vec<(u32, Arc<SharedTrace>)>>;

/// Per-PID recordings of a channel, made when each app attaches.
pub struct PerPid {
    cfg: Mutex<RecordingConfig>,
    /// Each app's trace, shared with the session's other channels.
    traces: Arc<AppTraces>,
    recordings: Mutex<Vec<(u32, Arc<Recording>)>>,
    warnings: Mutex<Vec<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Target {
    /// One channel: see [`Target::start_all`].
    pub fn start(cfg: RecordingConfig, per_pid: bool) -> Result<Target, Error> {
        let mut all = Target::start_all(vec![cfg], per_pid)?;
        Ok(all.pop().expect("one channel"))
    }

    /// The channels of a session, in one trace: per-UID, start their
    /// recordings now; per-PID, check the rules now and start recordings
    /// as apps come. Nothing is left behind on error.
    pub fn start_all(cfgs: Vec<RecordingConfig>, per_pid: bool) -> Result<Vec<Target>, Error> {
        let Some(first) = cfgs.first() else {
            return Ok(Vec::new());
        };
        if per_pid {
            let traces = Arc::new(Mutex::new(Vec::new()));
            return cfgs
                .into_iter()
                .map(|cfg| {
                    crate::Registry::new(cfg.rules.clone(), Vec::new()).map_err(Error::Config)?;
                    Ok(Target::PerPid(Box::new(PerPid {
                        cfg: Mutex::new(cfg),
                        traces: traces.clone(),
                        recordings: Mutex::new(Vec::new()),
                        warnings: Mutex::new(Vec::new()),
                    })))
                })
                .collect();
        }
        let trace = SharedTrace::for_uid(&first.output, &first.trace_name)?;
        let mut targets = Vec::new();
        for cfg in cfgs {
            match Recording::start(cfg, &trace) {
                Ok(rec) => targets.push(Target::PerUid(Arc::new(rec))),
                Err(e) => {
                    targets.iter().for_each(Target::abandon);
                    return Err(e);
                }
            }
        }
        Ok(targets)
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
                let cfg = lock(&p.cfg).clone();
                let trace = {
                    let mut traces = lock(&p.traces);
                    match traces.iter().find(|(pid, _)| *pid == app.pid) {
                        Some((_, t)) => t.clone(),
                        None => {
                            let t = SharedTrace::for_app(&cfg.output, &cfg.trace_name, app)?;
                            traces.push((app.pid, t.clone()));
                            t
                        }
                    }
                };
                let rec = Arc::new(Recording::start(cfg, &trace)?);
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
                    total.add(rec.finish()?);
                }
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
