//! The apps' side of a daemon: a listener on its app socket, one thread
//! per connected app speaking [`ltt_ust::proto`], and the link between the
//! apps and the active recording. Apps stay connected for their whole life:
//! when a recording starts they get its channel and their events' states;
//! when rules change, new states; when it stops, "all disabled" and a SYNC
//! whose answer proves they applied it.
//!
//! Apps are not trusted: every message is validated, every read of a
//! started message has a timeout, only the daemon's own user may connect,
//! and a misbehaving app is simply disconnected.

use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ltt_ust::proto::{self, EventIds, WireEvent, MAX_SLOTS};

use crate::control::{AppEvent, Trackers};
use crate::recording::Recording;
use crate::target::Target;

/// How often blocked threads look at the stop flag.
const TICK: Duration = Duration::from_millis(100);
/// Time an app has to take or finish a message.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(2);
/// Time apps have to confirm they stopped writing.
const SYNC_TIMEOUT: Duration = Duration::from_secs(2);

/// An app that registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppInfo {
    pub pid: u32,
    pub uid: u32,
    pub gid: u32,
    pub procname: String,
}

/// A connected app, as `ltt list -u` shows it.
#[derive(Clone, Debug)]
pub struct AppEvents {
    pub app: AppInfo,
    /// Every event the app declared.
    pub events: Vec<AppEvent>,
}

struct App {
    key: u64,
    info: AppInfo,
    /// Writing half; the app's thread reads.
    writer: UnixStream,
    /// Per session slot, the recording it writes to.
    recs: [Option<Arc<Recording>>; MAX_SLOTS],
    /// Event classes of each provider, by the app's provider number.
    providers: Vec<Vec<WireEvent>>,
    /// Highest SYNC the app answered.
    synced: Arc<(Mutex<u32>, Condvar)>,
}

#[derive(Default)]
struct State {
    apps: Vec<App>,
    /// The tracing sessions, by slot, with the processes each records.
    active: [Option<Arc<Target>>; MAX_SLOTS],
    trackers: [Trackers; MAX_SLOTS],
    next_sync: u32,
}

impl State {
    fn slots(&self) -> Vec<(usize, Arc<Target>)> {
        let active = self.active.iter().enumerate();
        active.filter_map(|(i, t)| Some((i, t.clone()?))).collect()
    }
}

impl App {
    fn tracked_by(&self, trackers: &Trackers) -> bool {
        trackers.allows(self.info.pid, self.info.uid, self.info.gid)
    }
}

/// Apps and the recording they write to.
#[derive(Default)]
pub struct Hub {
    state: Mutex<State>,
    stop: AtomicBool,
    next_key: AtomicU64,
    warnings: Mutex<Vec<String>>,
}

impl App {
    fn send(&mut self, payload: &[u8]) -> bool {
        proto::write_frame(&mut self.writer, payload).is_ok()
    }

    /// Give the app its recording's channel in `slot` and its events'
    /// states there.
    fn attach(&mut self, slot: usize, target: &Target) -> bool {
        let rec = match target.for_app(&self.info) {
            Ok(rec) => rec,
            Err(e) => {
                target.warn(format!(
                    "{} (pid {}) not traced: {e}",
                    self.info.procname, self.info.pid
                ));
                return true;
            }
        };
        rec.note_app(&self.info);
        if !self.send(&proto::encode_channel(
            slot as u8,
            &rec.contexts(),
            rec.blocking_us(),
        )) || ltt_ringbuf::send_fd(&self.writer, rec.channel_fd()).is_err()
        {
            return false;
        }
        self.recs[slot] = Some(rec);
        self.send_all_states(slot)
    }

    /// Stop writing into `slot`: every event disabled there.
    /// Disable the app's events in `slot`, then take the channel back.
    fn detach(&mut self, slot: usize) -> bool {
        let had = self.recs[slot].take().is_some();
        self.send_all_states(slot) && (!had || self.send(&proto::encode_detach(slot as u8)))
    }

    fn send_all_states(&mut self, slot: usize) -> bool {
        (0..self.providers.len()).all(|p| self.send_states(slot, p))
    }

    fn send_states(&mut self, slot: usize, provider: usize) -> bool {
        let events = &self.providers[provider];
        let states = match &self.recs[slot] {
            Some(rec) => rec.register(events),
            None => vec![EventIds::new(u32::MAX, false); events.len()],
        };
        self.send(&proto::encode_states(slot as u8, provider as u32, &states))
    }
}

fn slot_of(state: &State, target: &Arc<Target>) -> Option<usize> {
    state
        .active
        .iter()
        .position(|t| t.as_ref().is_some_and(|t| Arc::ptr_eq(t, target)))
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn warn(&self, msg: String) {
        self.warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(msg);
    }

    /// Problems met since the last call (bad apps, failed accepts).
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Accept apps on `listener` in a thread until [`Hub::shutdown`].
    pub fn serve(self: &Arc<Self>, listener: UnixListener) -> std::io::Result<JoinHandle<()>> {
        let hub = self.clone();
        std::thread::Builder::new()
            .name("ltt-apps".into())
            .spawn(move || hub.listen(listener))
    }

    /// Stop accepting apps and drop every connection (apps stop tracing
    /// and run on).
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Release);
        for app in self.lock().apps.drain(..) {
            let _ = app.writer.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Make every app write into `target` too (a free session slot);
    /// returns once every app confirmed (or did not in time), so that
    /// events hit after `ltt start` returns are recorded.
    pub fn activate(&self, target: Arc<Target>, trackers: Trackers) -> Result<(), String> {
        let mut state = self.lock();
        let Some(slot) = state.active.iter().position(Option::is_none) else {
            return Err(format!(
                "{MAX_SLOTS} channels (of all sessions) are recording already: stop a session first"
            ));
        };
        state
            .apps
            .retain_mut(|app| !app.tracked_by(&trackers) || app.attach(slot, &target));
        state.active[slot] = Some(target.clone());
        state.trackers[slot] = trackers;
        self.sync(state, &target);
        Ok(())
    }

    /// New trackers for `target`: apps now tracked start writing into it,
    /// apps no longer tracked stop.
    pub fn track(&self, target: &Arc<Target>, trackers: Trackers) {
        let mut state = self.lock();
        let Some(slot) = slot_of(&state, target) else {
            return;
        };
        state.apps.retain_mut(
            |app| match (app.tracked_by(&trackers), app.recs[slot].is_some()) {
                (true, false) => app.attach(slot, target),
                (false, true) => app.detach(slot),
                _ => true,
            },
        );
        state.trackers[slot] = trackers;
        self.sync(state, target);
    }

    /// Send every app its events' states again (a session's rules
    /// changed), and wait for them to apply them.
    pub fn refresh(&self, target: &Arc<Target>) {
        let mut state = self.lock();
        let Some(slot) = slot_of(&state, target) else {
            return;
        };
        state.apps.retain_mut(|app| app.send_all_states(slot));
        self.sync(state, target);
    }

    /// Stop every app writing into `target`, and wait (boundedly) until
    /// each one confirmed.
    pub fn deactivate(&self, target: &Arc<Target>) {
        let mut state = self.lock();
        let Some(slot) = slot_of(&state, target) else {
            return;
        };
        state.apps.retain_mut(|app| app.detach(slot));
        state.active[slot] = None;
        state.trackers[slot] = Trackers::default();
        self.sync(state, target);
    }

    /// Send SYNC to every app and wait, without the lock, until each one
    /// answered (it applied everything sent before) or `SYNC_TIMEOUT`
    /// passed; laggards are reported in `rec`'s warnings.
    fn sync(&self, mut state: MutexGuard<'_, State>, target: &Target) {
        state.next_sync += 1;
        let seq = state.next_sync;
        state
            .apps
            .retain_mut(|app| app.send(&proto::encode_sync(seq)));
        let waits: Vec<_> = state
            .apps
            .iter()
            .map(|a| (a.synced.clone(), a.info.clone()))
            .collect();
        drop(state);
        let deadline = Instant::now() + SYNC_TIMEOUT;
        for (synced, info) in waits {
            let (lock, cv) = &*synced;
            let left = deadline.saturating_duration_since(Instant::now());
            let got = cv
                .wait_timeout_while(lock.lock().unwrap_or_else(|e| e.into_inner()), left, |s| {
                    *s < seq
                })
                .unwrap_or_else(|e| e.into_inner())
                .0;
            if *got < seq {
                target.warn(format!(
                    "{} (pid {}) did not confirm in time",
                    info.procname, info.pid
                ));
            }
        }
    }

    /// The connected apps and the events they declared.
    pub fn apps(&self) -> Vec<AppEvents> {
        self.lock()
            .apps
            .iter()
            .map(|a| AppEvents {
                app: a.info.clone(),
                events: a.providers.iter().flatten().map(AppEvent::of).collect(),
            })
            .collect()
    }

    fn listen(self: Arc<Self>, listener: UnixListener) {
        while !self.stop.load(Ordering::Acquire) {
            if !readable(&listener, TICK) {
                continue;
            }
            match listener.accept() {
                Ok((sock, _)) => {
                    let hub = self.clone();
                    let spawned = std::thread::Builder::new()
                        .name("ltt-app".into())
                        .spawn(move || hub.serve_app(sock));
                    if let Err(e) = spawned {
                        // The app times out on its side and runs on untraced.
                        self.warn(format!("cannot serve an app: {e}"));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    self.warn(format!("accepting an app failed: {e}"));
                    std::thread::sleep(TICK);
                }
            }
        }
    }

    /// Read the next message, checking the stop flag while idle. `None`:
    /// the app left, misbehaved, or the hub stops.
    fn next_message(&self, sock: &mut UnixStream) -> Option<Vec<u8>> {
        loop {
            if self.stop.load(Ordering::Acquire) {
                return None;
            }
            if readable(sock, TICK) {
                return proto::read_frame(sock).ok();
            }
        }
    }

    fn serve_app(&self, mut sock: UnixStream) {
        if sock.set_read_timeout(Some(MESSAGE_TIMEOUT)).is_err()
            || sock.set_write_timeout(Some(MESSAGE_TIMEOUT)).is_err()
        {
            return;
        }
        if let Err(e) = same_user(&sock) {
            self.warn(e);
            return;
        }
        let Some(hello) = self.next_message(&mut sock) else {
            return;
        };
        let hello = match proto::decode_hello(&hello) {
            Ok(h) => h,
            Err(e) => return self.warn(format!("an app sent a bad hello: {e}")),
        };
        let info = AppInfo {
            pid: hello.pid,
            uid: hello.uid,
            gid: hello.gid,
            procname: hello.procname,
        };
        if hello.bits != 64 {
            let _ = proto::write_frame(&mut sock, &proto::encode_welcome(proto::STATUS_REFUSED));
            return self.warn(format!(
                "{} (pid {}) is a {}-bit app: not traced (64-bit only)",
                info.procname, info.pid, hello.bits
            ));
        }
        let Ok(writer) = sock.try_clone() else {
            return;
        };
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let synced = Arc::new((Mutex::new(0), Condvar::new()));
        {
            let mut state = self.lock();
            let mut app = App {
                key,
                info: info.clone(),
                writer,
                recs: Default::default(),
                providers: Vec::new(),
                synced: synced.clone(),
            };
            if !app.send(&proto::encode_welcome(proto::STATUS_OK)) {
                return;
            }
            for (slot, target) in state.slots() {
                if app.tracked_by(&state.trackers[slot]) && !app.attach(slot, &target) {
                    return;
                }
            }
            state.apps.push(app);
        }
        while let Some(frame) = self.next_message(&mut sock) {
            if let Err(e) = self.handle(key, &frame, &synced) {
                self.warn(format!("{} (pid {}): {e}", info.procname, info.pid));
                break;
            }
        }
        let mut state = self.lock();
        state.apps.retain(|a| a.key != key);
    }

    fn handle(
        &self,
        key: u64,
        frame: &[u8],
        synced: &(Mutex<u32>, Condvar),
    ) -> Result<(), proto::ProtoError> {
        match frame.first() {
            Some(&proto::MSG_PROVIDER) => {
                let provider = proto::decode_provider(frame)?;
                let mut state = self.lock();
                let Some(app) = state.apps.iter_mut().find(|a| a.key == key) else {
                    return Ok(());
                };
                app.providers.push(provider.events);
                let p = app.providers.len() - 1;
                if !(0..MAX_SLOTS).all(|slot| app.send_states(slot, p)) {
                    return Err(proto::ProtoError("cannot answer"));
                }
            }
            Some(&proto::MSG_SYNC) => {
                let seq = proto::decode_sync(frame)?;
                let (lock, cv) = synced;
                *lock.lock().unwrap_or_else(|e| e.into_inner()) = seq;
                cv.notify_all();
            }
            _ => return Err(proto::ProtoError("unexpected message")),
        }
        Ok(())
    }
}

/// Wait until `fd` is readable or `timeout` passes.
pub(crate) fn readable(fd: &impl AsRawFd, timeout: Duration) -> bool {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as libc::c_int) };
    n > 0
}

/// Refuse peers of another user: a user traces only their own processes,
/// and the channel memory handed out holds every app's records.
pub(crate) fn same_user(sock: &UnixStream) -> Result<(), String> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: SO_PEERCRED fills a ucred of the given length.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(format!(
            "cannot identify a peer: {}",
            std::io::Error::last_os_error()
        ));
    }
    if cred.uid != crate::sys::uid() {
        return Err(format!(
            "refused pid {}: it runs as uid {}, this daemon serves uid {} only",
            cred.pid,
            cred.uid,
            crate::sys::uid()
        ));
    }
    Ok(())
}
