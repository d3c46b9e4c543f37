//! Application registration: a listener on the session's Unix socket and
//! one thread per connected app, speaking [`ltt_ust::proto`]. Apps are not
//! trusted: every message is validated, every read has a timeout, and a
//! misbehaving app is simply disconnected.

use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ltt_ringbuf::Channel;
use ltt_ust::proto;

use crate::registry::Registry;

/// How often blocked threads look at the stop flag.
const TICK: Duration = Duration::from_millis(100);
/// Time an app has to finish sending a message it started.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(2);

/// An app that registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppInfo {
    pub pid: u32,
    pub uid: u32,
    pub procname: String,
}

/// State shared by the listener, the app threads and the session.
pub struct Shared {
    pub channel: Arc<Channel>,
    pub registry: Arc<Mutex<Registry>>,
    pub apps: Mutex<Vec<AppInfo>>,
    pub stop: AtomicBool,
    /// Called (under the registry lock) after new event classes were
    /// registered and before their ids go to the app: rewrites the metadata.
    pub on_new_classes: Box<dyn Fn(&Registry) + Send + Sync>,
    pub warnings: Arc<Mutex<Vec<String>>>,
}

impl Shared {
    fn warn(&self, msg: String) {
        self.warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(msg);
    }
}

/// Wait until `fd` is readable or `timeout` passes.
fn readable(fd: &impl AsRawFd, timeout: Duration) -> bool {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as libc::c_int) };
    n > 0
}

/// Accept apps until `shared.stop`; returns the app threads to join.
pub fn listen(listener: UnixListener, shared: Arc<Shared>) -> Vec<JoinHandle<()>> {
    let mut handlers = Vec::new();
    while !shared.stop.load(Ordering::Acquire) {
        if !readable(&listener, TICK) {
            continue;
        }
        match listener.accept() {
            Ok((sock, _)) => {
                let app_shared = shared.clone();
                let spawned = std::thread::Builder::new()
                    .name("ltt-app".into())
                    .spawn(move || serve(sock, &app_shared));
                match spawned {
                    Ok(h) => handlers.push(h),
                    // The app times out on its side and runs on untraced.
                    Err(e) => shared.warn(format!("cannot serve an app: {e}")),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => {
                shared.warn(format!("accepting an app failed: {e}"));
                std::thread::sleep(TICK);
            }
        }
        handlers.retain(|h| !h.is_finished());
    }
    handlers
}

/// Read the next message, checking the stop flag while idle. `None`: the
/// app left, misbehaved, or the session stops.
fn next_message(sock: &mut UnixStream, shared: &Shared) -> Option<Vec<u8>> {
    loop {
        if shared.stop.load(Ordering::Acquire) {
            return None;
        }
        if readable(sock, TICK) {
            return proto::read_frame(sock).ok();
        }
    }
}

fn serve(mut sock: UnixStream, shared: &Shared) {
    if sock.set_read_timeout(Some(MESSAGE_TIMEOUT)).is_err()
        || sock.set_write_timeout(Some(MESSAGE_TIMEOUT)).is_err()
    {
        return;
    }
    let Some(frame) = next_message(&mut sock, shared) else {
        return;
    };
    let hello = match proto::decode_hello(&frame) {
        Ok(h) => h,
        Err(e) => {
            shared.warn(format!("an app sent a bad hello: {e}"));
            return;
        }
    };
    if hello.bits != 64 {
        let _ = proto::write_frame(&mut sock, &proto::encode_welcome(proto::STATUS_REFUSED));
        shared.warn(format!(
            "{} (pid {}) is a {}-bit app: not traced (64-bit only)",
            hello.procname, hello.pid, hello.bits
        ));
        return;
    }
    if proto::write_frame(&mut sock, &proto::encode_welcome(proto::STATUS_OK)).is_err()
        || ltt_ringbuf::send_fd(&sock, shared.channel.fd()).is_err()
    {
        return;
    }
    shared
        .apps
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(AppInfo {
            pid: hello.pid,
            uid: hello.uid,
            procname: hello.procname.clone(),
        });
    while let Some(frame) = next_message(&mut sock, shared) {
        let provider = match proto::decode_provider(&frame) {
            Ok(p) => p,
            Err(e) => {
                shared.warn(format!(
                    "{} (pid {}) sent a bad provider: {e}",
                    hello.procname, hello.pid
                ));
                return;
            }
        };
        let ids = {
            let mut reg = shared.registry.lock().unwrap_or_else(|e| e.into_inner());
            let before = reg.len();
            let ids: Vec<proto::EventIds> = provider
                .events
                .into_iter()
                // No room left: the event stays disabled (id unused).
                .map(|ev| {
                    reg.register_with_filters(ev)
                        .unwrap_or_else(|| proto::EventIds::new(u32::MAX, false))
                })
                .collect();
            if reg.len() != before {
                (shared.on_new_classes)(&reg);
            }
            ids
        };
        if proto::write_frame(&mut sock, &proto::encode_ids(&ids)).is_err() {
            return;
        }
    }
}
