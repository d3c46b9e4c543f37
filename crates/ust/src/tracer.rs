//! Call sites, providers, the process's connection to the session daemon,
//! and the per-event fast path.
//!
//! A call site's state starts as "unregistered", which the fast check
//! treats like "enabled": the first hit takes the slow path, registers the
//! whole provider (connecting to the daemon if this is the process's first
//! provider) and waits, boundedly, for the daemon's verdict. From then on a
//! listener thread applies what the daemon sends: events enabled or
//! disabled by `ltt enable-event`, new channels when a session starts.
//! Without a daemon every event stays disabled for good.

use std::cell::Cell;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use ltt_filter::{Bytecode, FieldSource, Value};
use ltt_ringbuf::Channel;

use crate::context::ContextSet;
use crate::proto::{self, MAX_SLOTS};
use crate::schema::{EventDesc, Out};

/// Environment variable naming the session daemon's socket (set by
/// `ltt record`). Unset: the user's daemon at [`app_socket_path`], if any.
pub const SOCKET_ENV: &str = "LTT_UST_SOCKET";
/// Environment variable naming the per-user daemon's directory (default
/// `~/.ltt`, and `/run/ltt` for root).
pub const HOME_ENV: &str = "LTT_HOME";
/// Name of the daemon's app socket in its directory.
pub const APP_SOCKET_NAME: &str = "app.sock";
/// Set to `1` to print why registration failed (the app runs on anyway).
pub const DEBUG_ENV: &str = "LTT_UST_DEBUG";

/// Time allowed for each step of the handshake with the daemon.
const STEP_TIMEOUT: Duration = Duration::from_millis(500);

/// Call-site state bits: bit `i` (i < [`MAX_SLOTS`]) records into session
/// slot `i`; bit `FILTER_SHIFT + i` says that slot's filters decide first;
/// `UNREGISTERED` until the daemon's first verdict (the fast check treats
/// it as enabled, so that the first hit registers).
const SLOT_BITS: u32 = (1 << MAX_SLOTS) - 1;
const FILTER_SHIFT: u32 = 8;
const UNREGISTERED: u32 = 1 << 31;
const _: () = assert!(MAX_SLOTS.is_power_of_two() && MAX_SLOTS <= FILTER_SHIFT as usize);

/// What one hit of an event does: the session slots to record into, and
/// those whose filters must accept it first (the macro's `emit` asks).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit(u32);

impl Hit {
    /// Nothing to record.
    #[inline(always)]
    pub fn is_none(self) -> bool {
        self.0 & SLOT_BITS == 0
    }

    /// Some slot's filters must run ([`CallSite::filter`]).
    #[inline(always)]
    pub fn needs_filter(self) -> bool {
        self.0 >> FILTER_SHIFT != 0
    }

    /// The slots of the low bits, lowest first.
    #[inline(always)]
    fn slots(self) -> impl Iterator<Item = usize> {
        let mut bits = self.0 & SLOT_BITS;
        std::iter::from_fn(move || {
            (bits != 0).then(|| {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                // Masked: the compiler sees the index is in bounds.
                i & (MAX_SLOTS - 1)
            })
        })
    }
}

/// A session slot's view of one event: its id there, and its filters.
struct SlotState {
    id: AtomicU32,
    /// Null when the slot records every hit. Replaced ones are leaked: a
    /// concurrent hit may still be reading them, and filters change only
    /// when a user changes the session's rules.
    filters: AtomicPtr<SlotFilters>,
}

/// A slot's filters (a hit is recorded if one accepts it).
struct SlotFilters {
    all: Box<[Bytecode]>,
    /// The one filter, when it is a plain integer comparison.
    int_test: Option<ltt_filter::IntTest>,
}

impl SlotFilters {
    #[inline(always)]
    fn accept(&self, source: &HitSource<'_>) -> bool {
        if let Some(verdict) = self.int_test.and_then(|t| t.test(source.fields)) {
            return verdict;
        }
        self.all.iter().any(|f| f.matches(source))
    }
}

/// Bytes of the event header before the contexts and the payload: LTTng's
/// large event header in its extended form (u16 65535, u32 id, u64
/// timestamp).
pub const HEADER_LEN: usize = 14;
/// The same header in its compact form (u16 id, u32 timestamp).
pub const SHORT_HEADER_LEN: usize = 6;
/// Length of the `procname` context (LTTng: 16 + NUL).
pub const PROCNAME_LEN: usize = 17;

/// One event's call site: its enable state and, per session slot, its id
/// in that session's trace. One `static` per declared event.
pub struct CallSite {
    state: AtomicU32,
    slots: [SlotState; MAX_SLOTS],
    desc: &'static EventDesc,
    provider: &'static Provider,
}

impl CallSite {
    #[doc(hidden)]
    pub const fn new(provider: &'static Provider, desc: &'static EventDesc) -> CallSite {
        CallSite {
            state: AtomicU32::new(UNREGISTERED),
            slots: [const {
                SlotState {
                    id: AtomicU32::new(0),
                    filters: AtomicPtr::new(std::ptr::null_mut()),
                }
            }; MAX_SLOTS],
            desc,
            provider,
        }
    }

    /// The fast check: one relaxed load and a compare. True also before
    /// registration, so that the first hit registers.
    #[inline(always)]
    pub fn is_enabled(&self) -> bool {
        self.state.load(Ordering::Relaxed) != 0
    }

    /// The event's declaration.
    pub fn desc(&self) -> &'static EventDesc {
        self.desc
    }

    /// Write one record with a payload of `payload_len` bytes written by
    /// `write` (once per session recording the event). Registers the
    /// provider first if needed; does nothing when the event is disabled or
    /// tracing is off; a full buffer drops the record (the ring buffer
    /// counts it). Filters see a hit without payload fields (the
    /// macro-generated `emit` gives them its arguments).
    #[inline(always)]
    pub fn record(&self, payload_len: usize, write: impl Fn(&mut Out<'_>)) {
        let mut hit = self.hit();
        if hit.needs_filter() {
            hit = self.filter(hit, &[]);
        }
        if !hit.is_none() {
            self.write_records(hit, payload_len, write)
        }
    }

    /// Registers the provider if needed and says what this hit does.
    #[doc(hidden)]
    #[inline(always)]
    pub fn hit(&self) -> Hit {
        let mut state = self.state.load(Ordering::Acquire);
        if state & UNREGISTERED != 0 {
            self.provider.register();
            state = self.state.load(Ordering::Acquire);
        }
        Hit(state & !UNREGISTERED)
    }

    /// `hit` without the slots whose filters all reject a hit whose payload
    /// fields, in declaration order, are `fields`. Never allocates.
    #[doc(hidden)]
    #[inline(never)]
    pub fn filter(&self, hit: Hit, fields: &[Value<'_>]) -> Hit {
        let source = HitSource { fields };
        let mut out = hit.0 & SLOT_BITS;
        let mut filtered = (hit.0 >> FILTER_SHIFT) & SLOT_BITS;
        while filtered != 0 {
            let i = filtered.trailing_zeros() as usize & (MAX_SLOTS - 1);
            filtered &= filtered - 1;
            let filters = self.slots[i].filters.load(Ordering::Acquire);
            // SAFETY: non-null filters were leaked by `set_state`: never freed.
            let accepted = !filters.is_null() && unsafe { &*filters }.accept(&source);
            if !accepted {
                out &= !(1 << i);
            }
        }
        Hit(out)
    }

    /// [`record`](Self::record) once [`hit`](Self::hit) (and
    /// [`filter`](Self::filter)) said to: one record per slot.
    #[doc(hidden)]
    #[inline(always)]
    pub fn write_records(&self, hit: Hit, payload_len: usize, write: impl Fn(&mut Out<'_>)) {
        let Some(tracer) = current_tracer() else {
            return;
        };
        for i in hit.slots() {
            let Some(active) = tracer.active(i) else {
                continue;
            };
            let id = self.slots[i].id.load(Ordering::Relaxed);
            let body = active.contexts.len + payload_len;
            let clock = ltt_ringbuf::monotonic_ns;
            // LTTng's large event header: the compact form (u16 id, u32
            // timestamp) when the ring buffer says a reader can rebuild the
            // timestamp and the id fits; else the extended form (u16 65535,
            // u32 id, u64 timestamp).
            let ch = &active.channel;
            let short = id < u16::MAX as u32;
            let reserved = match active.blocking {
                None if short => {
                    ch.reserve_short(SHORT_HEADER_LEN + body, HEADER_LEN + body, clock)
                }
                None => ch.reserve(HEADER_LEN + body, clock),
                Some(b) => reserve_waiting(tracer, ch, b, short, body),
            };
            let Ok(mut r) = reserved else {
                continue;
            };
            let ts = r.timestamp();
            let short = r.is_short();
            let mut out = Out::new(r.bytes_mut());
            if short {
                out.put(&(id as u16).to_le_bytes());
                out.put(&(ts as u32).to_le_bytes());
            } else {
                out.put(&0xffffu16.to_le_bytes());
                out.put(&id.to_le_bytes());
                out.put(&ts.to_le_bytes());
            }
            active
                .contexts
                .write(&mut out, &tracer.procname, call_site_address());
            write(&mut out);
            r.commit();
        }
    }

    /// Apply what the daemon says about this event in session slot `slot`
    /// (`None`: disabled there).
    fn set_state(&self, slot: usize, ids: Option<&proto::EventIds>) {
        let bits = (1 << slot) | (1 << (FILTER_SHIFT as usize + slot));
        // Off in this slot while its id and filters change, so that no hit
        // sees a new id with old filters.
        self.state.fetch_and(!bits, Ordering::AcqRel);
        let Some(ids) = ids.filter(|ids| ids.enabled) else {
            return;
        };
        self.slots[slot].id.store(ids.id, Ordering::Relaxed);
        if ids.filters.is_empty() {
            self.state.fetch_or(1 << slot, Ordering::AcqRel);
            return;
        }
        match ids
            .filters
            .iter()
            .map(|b| Bytecode::from_bytes(b))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(f) => {
                let int_test = match f.as_slice() {
                    [one] => one.int_test(),
                    _ => None,
                };
                let new = Box::into_raw(Box::new(SlotFilters {
                    all: f.into_boxed_slice(),
                    int_test,
                }));
                self.slots[slot].filters.store(new, Ordering::Release);
                self.state.fetch_or(bits, Ordering::AcqRel);
            }
            Err(e) => debug(&format!(
                "{}: filter refused, event disabled: {e}",
                self.desc.name
            )),
        }
    }

    /// Registered (a verdict applies, or none will come).
    fn set_registered(&self) {
        self.state.fetch_and(!UNREGISTERED, Ordering::AcqRel);
    }
}

/// Indices of the contexts in [`ltt_filter::Schema::with_ust_contexts`].
mod ctx {
    pub const VPID: usize = 0;
    pub const VTID: usize = 1;
    pub const PROCNAME: usize = 2;
    pub const PTHREAD_ID: usize = 3;
    pub const CPU_ID: usize = 4;
    pub const VUID: usize = 6;
    pub const VEUID: usize = 7;
    pub const VGID: usize = 9;
    pub const VEGID: usize = 10;
}

/// What a filter reads during one hit: the call's arguments and the
/// process's contexts (computed only when a filter asks).
struct HitSource<'a> {
    fields: &'a [Value<'a>],
}

impl FieldSource for HitSource<'_> {
    #[inline]
    fn field(&self, index: usize) -> Option<Value<'_>> {
        self.fields.get(index).copied()
    }

    fn context(&self, index: usize) -> Option<Value<'_>> {
        // SAFETY (all calls below): the functions have no preconditions.
        Some(match index {
            ctx::VPID => Value::Signed(vpid().into()),
            ctx::VTID => Value::Signed(vtid().into()),
            ctx::PROCNAME => Value::Str(&current_tracer()?.procname),
            ctx::PTHREAD_ID => Value::Unsigned(unsafe { libc::pthread_self() } as u64),
            ctx::CPU_ID => Value::Signed(unsafe { libc::sched_getcpu() }.into()),
            ctx::VUID => Value::Unsigned(unsafe { libc::getuid() }.into()),
            ctx::VEUID => Value::Unsigned(unsafe { libc::geteuid() }.into()),
            ctx::VGID => Value::Unsigned(unsafe { libc::getgid() }.into()),
            ctx::VEGID => Value::Unsigned(unsafe { libc::getegid() }.into()),
            _ => return None,
        })
    }
}

/// A provider: a named group of events registered together (like an LTTng
/// tracepoint provider), so the trace's metadata lists all of them.
pub struct Provider {
    name: &'static str,
    events: &'static [&'static CallSite],
    registered: AtomicBool,
    /// In [`PROVIDERS`] (the list a forked child walks).
    listed: AtomicBool,
}

impl Provider {
    #[doc(hidden)]
    pub const fn new(name: &'static str, events: &'static [&'static CallSite]) -> Provider {
        Provider {
            name,
            events,
            registered: AtomicBool::new(false),
            listed: AtomicBool::new(false),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The provider's call sites, in declaration order.
    pub fn events(&self) -> &'static [&'static CallSite] {
        self.events
    }

    /// Register now rather than at the first hit (keeps the handshake out
    /// of timed code). Idempotent; never fails and never blocks for long:
    /// without a daemon, or if it does not answer in time, the events stay
    /// disabled until the daemon says otherwise.
    ///
    /// Every other provider of the process registers with the first one,
    /// so that `ltt list -u` shows all the events of a traced app.
    pub fn register(&'static self) {
        if self.registered.load(Ordering::Acquire) {
            return;
        }
        // One registration at a time; others wait (bounded by the
        // handshake timeouts) so that no early event is silently dropped.
        let _guard = RegistrationLock::take();
        if self.registered.load(Ordering::Acquire) {
            return;
        }
        self.list();
        // This one first, then the others not registered yet.
        let others = listed_providers().filter(|p| !std::ptr::eq(*p, self));
        let todo: Vec<&'static Provider> = std::iter::once(self)
            .chain(others.filter(|p| !p.registered.load(Ordering::Acquire)))
            .collect();
        let outcome = match tracer() {
            Some(t) => t.register_providers(&todo),
            None => Err(std::io::Error::other("no session daemon")),
        };
        if let Err(e) = outcome {
            debug(&format!("provider {}: {e}", self.name));
        }
        for p in todo {
            for site in p.events {
                // A verdict that arrives late still applies (the listener).
                site.set_registered();
            }
            p.registered.store(true, Ordering::Release);
        }
    }

    /// Add the provider to the process's list, once (the `provider!`
    /// macro does it before `main`, from `.init_array`; it only touches
    /// atomics).
    #[doc(hidden)]
    pub fn list(&'static self) {
        if !self.listed.swap(true, Ordering::AcqRel) {
            let n = NUM_PROVIDERS.fetch_add(1, Ordering::AcqRel);
            if let Some(slot) = PROVIDERS.get(n) {
                slot.store(self as *const Provider as *mut Provider, Ordering::Release);
            }
        }
    }
}

/// The providers listed so far.
fn listed_providers() -> impl Iterator<Item = &'static Provider> {
    let n = NUM_PROVIDERS.load(Ordering::Acquire).min(MAX_PROVIDERS);
    PROVIDERS[..n].iter().filter_map(|slot| {
        let p = slot.load(Ordering::Acquire);
        // SAFETY: only `&'static Provider`s are stored.
        (!p.is_null()).then(|| unsafe { &*p })
    })
}

/// The per-user daemon's directory: `$LTT_HOME`, else `/run/ltt` for root
/// and `~/.ltt` for other users.
pub fn daemon_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os(HOME_ENV).filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(home));
    }
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } == 0 {
        return Some(PathBuf::from("/run/ltt"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ltt"))
}

/// The socket an app connects to: `$LTT_UST_SOCKET` (a one-shot `ltt
/// record` session), else the per-user daemon's.
pub fn app_socket_path() -> Option<PathBuf> {
    match std::env::var_os(SOCKET_ENV).filter(|s| !s.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None => daemon_dir().map(|d| d.join(APP_SOCKET_NAME)),
    }
}

/// A session's channel and the contexts its records carry.
struct Active {
    channel: Channel,
    contexts: ContextSet,
    /// How long a writer waits for room in a full buffer (a blocking
    /// channel in a process that allows it); `None`: never.
    blocking: Option<Blocking>,
}

/// How long a writer of a blocking channel waits for room.
#[derive(Clone, Copy, Debug)]
enum Blocking {
    For(Duration),
    Forever,
}

/// Environment variable a process sets (to anything but empty or `0`) to
/// let blocking channels make its writers wait (LTTng's
/// `LTTNG_UST_ALLOW_BLOCKING`, which is accepted too).
pub const ALLOW_BLOCKING_ENV: &str = "LTT_UST_ALLOW_BLOCKING";

/// Pause between two tries of a writer waiting for room.
const BLOCK_RETRY: Duration = Duration::from_micros(50);

impl Blocking {
    /// What a channel's timeout means for a process that `allowed` it.
    fn of(timeout_us: u64, allowed: bool) -> Option<Blocking> {
        match timeout_us {
            _ if !allowed => None,
            0 => None,
            proto::BLOCK_FOREVER => Some(Blocking::Forever),
            us => Some(Blocking::For(Duration::from_micros(us))),
        }
    }
}

/// The process's link to the session daemon and the channel it writes to.
struct Tracer {
    /// The process that connected: a forked child shares the socket, so it
    /// must not talk on it (its messages would interleave with the parent's).
    pid: i32,
    /// Writing half (the listener thread does all the reading).
    conn: Mutex<UnixStream>,
    /// Per session slot: the channel and contexts, null before the first
    /// session there and after it stopped. Replaced ones are retired and
    /// leaked (a few hundred bytes): a hit in progress may still be writing
    /// into them.
    active: [AtomicPtr<Active>; MAX_SLOTS],
    procname: [u8; PROCNAME_LEN],
    /// Providers sent to the daemon, by number, and whether it answered.
    providers: Mutex<Vec<(&'static Provider, bool)>>,
    answered: Condvar,
    /// The daemon went away.
    closed: AtomicBool,
    /// The process lets blocking channels make its writers wait (read
    /// once, when connecting).
    allow_blocking: bool,
}

/// This process's tracer (null: none), and the process that set it: a
/// forked child sees another pid and connects anew.
static TRACER: AtomicPtr<Tracer> = AtomicPtr::new(std::ptr::null_mut());
static TRACER_PID: AtomicI32 = AtomicI32::new(0);

/// Providers this process registered, without a lock: the child of a fork
/// walks them to register them again.
const MAX_PROVIDERS: usize = 1024;
static PROVIDERS: [AtomicPtr<Provider>; MAX_PROVIDERS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; MAX_PROVIDERS];
static NUM_PROVIDERS: AtomicUsize = AtomicUsize::new(0);

/// Serializes registrations. A flag rather than a mutex so that a forked
/// child can reset it (the thread that held it does not exist there).
static REGISTERING: AtomicBool = AtomicBool::new(false);

struct RegistrationLock;

impl RegistrationLock {
    fn take() -> RegistrationLock {
        while REGISTERING
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::thread::sleep(Duration::from_micros(100));
        }
        RegistrationLock
    }
}

impl Drop for RegistrationLock {
    fn drop(&mut self) {
        REGISTERING.store(false, Ordering::Release);
    }
}

#[inline(always)]
fn current_tracer() -> Option<&'static Tracer> {
    let t = TRACER.load(Ordering::Acquire);
    // SAFETY: tracers are leaked by `tracer()`: never freed.
    (!t.is_null()).then(|| unsafe { &*t })
}
static VPID: AtomicI32 = AtomicI32::new(0);

thread_local! {
    static VTID: Cell<i32> = const { Cell::new(0) };
}

/// An address inside the code that hit the event (the `ip` context):
/// this is inlined into the call site.
#[inline(always)]
fn call_site_address() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        let ip: u64;
        // SAFETY: only computes an address; touches no memory.
        unsafe {
            std::arch::asm!("lea {}, [rip]", out(reg) ip, options(nomem, nostack, preserves_flags))
        };
        ip
    }
    #[cfg(not(target_arch = "x86_64"))]
    0
}

#[inline(always)]
pub(crate) fn vpid() -> i32 {
    VPID.load(Ordering::Relaxed)
}

#[inline(always)]
pub(crate) fn vtid() -> i32 {
    VTID.with(|t| {
        let v = t.get();
        if v != 0 {
            return v;
        }
        // SAFETY: gettid has no preconditions.
        let v = unsafe { libc::gettid() };
        t.set(v);
        v
    })
}

/// A record of a blocking channel: when the buffer is full, try again
/// until there is room, the timeout passes (the last try counts the record
/// as lost if it fails), or the daemon goes away or takes the channel back.
#[cold]
#[inline(never)]
fn reserve_waiting<'c>(
    tracer: &Tracer,
    ch: &'c Channel,
    blocking: Blocking,
    short: bool,
    body: usize,
) -> Result<ltt_ringbuf::Reservation<'c>, ltt_ringbuf::ReserveError> {
    let clock = ltt_ringbuf::monotonic_ns;
    let (short_len, len) = (SHORT_HEADER_LEN + body, HEADER_LEN + body);
    let reserve = |count_full: bool| match (short, count_full) {
        (true, true) => ch.reserve_short(short_len, len, clock),
        (true, false) => ch.reserve_short_again(short_len, len, clock),
        (false, true) => ch.reserve(len, clock),
        (false, false) => ch.reserve_again(len, clock),
    };
    let deadline = match blocking {
        Blocking::For(t) => Some(Instant::now() + t),
        Blocking::Forever => None,
    };
    let mut give_up = false;
    loop {
        match reserve(give_up) {
            Err(ltt_ringbuf::ReserveError::Full) if !give_up => {}
            r => return r,
        }
        std::thread::sleep(BLOCK_RETRY);
        give_up = tracer.closed.load(Ordering::Acquire)
            || ch.is_retired()
            || deadline.is_some_and(|d| Instant::now() >= d);
    }
}

/// After `fork`, the child has a new pid, its only thread a new tid, and
/// no listener thread: it forgets the parent's connection and registers
/// again at the next hit of each event (as lttng-ust's children do), so
/// that it follows the session on its own. Only atomics are touched here.
extern "C" fn after_fork_in_child() {
    // SAFETY: getpid has no preconditions.
    VPID.store(unsafe { libc::getpid() }, Ordering::Relaxed);
    let _ = VTID.try_with(|t| t.set(0));
    REGISTERING.store(false, Ordering::Release);
    TRACER.store(std::ptr::null_mut(), Ordering::Release);
    for p in listed_providers() {
        for site in p.events {
            site.state.store(UNREGISTERED, Ordering::Release);
        }
        p.registered.store(false, Ordering::Release);
    }
}

fn debug(msg: &str) {
    if std::env::var_os(DEBUG_ENV).is_some_and(|v| v == "1") {
        eprintln!("ltt-ust: {msg}");
    }
}

/// Whether this process is connected to a session daemon (connecting on
/// the first call).
pub fn is_tracing() -> bool {
    let _guard = RegistrationLock::take();
    tracer().is_some()
}

/// How often a process without a daemon looks for one again.
const RETRY: Duration = Duration::from_secs(1);

/// The tracer, connecting on the first call in this process (the caller
/// holds the registration lock).
fn tracer() -> Option<&'static Tracer> {
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    if TRACER_PID.load(Ordering::Acquire) != pid {
        TRACER_PID.store(pid, Ordering::Release);
        let path = app_socket_path()?;
        try_connect(&path);
        spawn_supervisor(path);
    }
    current_tracer()
}

/// Connect and start listening; `None` if no daemon answers.
fn try_connect(path: &Path) -> Option<&'static Tracer> {
    match connect(path) {
        Ok(t) => {
            let t: &'static Tracer = Box::leak(Box::new(t));
            TRACER.store(t as *const Tracer as *mut Tracer, Ordering::Release);
            t.spawn_listener();
            Some(t)
        }
        Err(e) => {
            debug(&format!(
                "not tracing: session daemon at {}: {e}",
                path.display()
            ));
            None
        }
    }
}

/// While the process has no daemon (none ran yet, or it died), look for
/// one every [`RETRY`] and register every provider hit so far with it, as
/// lttng-ust's apps do: an app started before `ltt create` gets traced.
fn spawn_supervisor(path: PathBuf) {
    let spawned = std::thread::Builder::new()
        .name("ltt-ust-retry".into())
        .stack_size(256 * 1024)
        .spawn(move || loop {
            std::thread::sleep(RETRY);
            if current_tracer().is_some_and(|t| !t.closed.load(Ordering::Acquire)) {
                continue;
            }
            let _guard = RegistrationLock::take();
            let Some(t) = try_connect(&path) else {
                continue;
            };
            let registered: Vec<&'static Provider> = listed_providers()
                .filter(|p| p.registered.load(Ordering::Acquire))
                .collect();
            if let Err(e) = t.register_providers(&registered) {
                debug(&format!("providers: {e}"));
            }
        });
    if let Err(e) = spawned {
        debug(&format!("no retry thread: {e}"));
    }
}

fn procname() -> [u8; PROCNAME_LEN] {
    let mut name = [0u8; PROCNAME_LEN];
    if let Ok(comm) = std::fs::read("/proc/self/comm") {
        let comm = comm.strip_suffix(b"\n").unwrap_or(&comm);
        let n = comm.len().min(PROCNAME_LEN - 1);
        name[..n].copy_from_slice(&comm[..n]);
    }
    name
}

/// Connect without ever blocking for long: a non-blocking connect polled
/// for `STEP_TIMEOUT`, then blocking I/O with that timeout on every step.
fn connect_socket(path: &Path) -> std::io::Result<UnixStream> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: a zeroed sockaddr_un is valid (AF_UNSPEC, empty path).
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "socket path too long",
        ));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, &s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = s as libc::c_char;
    }
    // SAFETY: plain socket creation.
    let fd = unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh socket owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: addr is a valid sockaddr_un of the given size.
    let r = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_un).cast(),
            std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        if !matches!(e.raw_os_error(), Some(libc::EINPROGRESS | libc::EAGAIN)) {
            return Err(e);
        }
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, STEP_TIMEOUT.as_millis() as libc::c_int) };
        if n <= 0 || pfd.revents & libc::POLLOUT == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connect timed out",
            ));
        }
    }
    let sock = UnixStream::from(fd);
    sock.set_nonblocking(false)?;
    sock.set_read_timeout(Some(STEP_TIMEOUT))?;
    sock.set_write_timeout(Some(STEP_TIMEOUT))?;
    Ok(sock)
}

fn connect(path: &Path) -> std::io::Result<Tracer> {
    let mut sock = connect_socket(path)?;
    let procname = procname();
    let name_len = procname.iter().position(|&b| b == 0).unwrap_or(0);
    // SAFETY: getpid/getuid/getgid have no preconditions.
    let (pid, uid, gid) = unsafe { (libc::getpid(), libc::getuid(), libc::getgid()) };
    let hello = proto::Hello {
        pid: pid as u32,
        uid,
        gid,
        bits: usize::BITS as u8,
        procname: String::from_utf8_lossy(&procname[..name_len]).into_owned(),
    };
    proto::write_frame(&mut sock, &proto::encode_hello(&hello))?;
    let status = proto::decode_welcome(&proto::read_frame(&mut sock)?)?;
    if status != proto::STATUS_OK {
        return Err(std::io::Error::other("the session daemon refused tracing"));
    }
    // From now on only the listener reads, and it waits for as long as
    // the daemon lives.
    sock.set_read_timeout(None)?;
    VPID.store(pid, Ordering::Relaxed);
    static AT_FORK: std::sync::Once = std::sync::Once::new();
    // SAFETY: registers a plain extern "C" function with no arguments.
    AT_FORK.call_once(|| unsafe {
        libc::pthread_atfork(None, None, Some(after_fork_in_child));
    });
    Ok(Tracer {
        pid,
        conn: Mutex::new(sock),
        active: [const { AtomicPtr::new(std::ptr::null_mut()) }; MAX_SLOTS],
        procname,
        providers: Mutex::new(Vec::new()),
        answered: Condvar::new(),
        closed: AtomicBool::new(false),
        allow_blocking: [ALLOW_BLOCKING_ENV, "LTTNG_UST_ALLOW_BLOCKING"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty() && x != "0")),
    })
}

impl Tracer {
    /// Put `new` (or nothing) in `slot`; the channel replaced lets go of
    /// its shared memory ([`Channel::retire`]), while the struct itself is
    /// leaked: a hit in progress may still hold it.
    fn replace_active(&self, slot: usize, new: *mut Active) {
        let old = self.active[slot].swap(new, Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: non-null pointers come from Box::into_raw and are
            // never freed.
            if let Err(e) = unsafe { &*old }.channel.retire() {
                debug(&format!("slot {slot}: old channel kept: {e}"));
            }
        }
    }

    #[inline(always)]
    fn active(&self, slot: usize) -> Option<&'static Active> {
        let a = self.active[slot].load(Ordering::Acquire);
        // SAFETY: non-null pointers were leaked by `apply`: never freed.
        (!a.is_null()).then(|| unsafe { &*a })
    }

    /// Send the providers' schemas, then wait (at most `STEP_TIMEOUT` for
    /// them all) for the daemon's STATES, which the listener applies.
    fn register_providers(&self, ps: &[&'static Provider]) -> std::io::Result<()> {
        // SAFETY: getpid has no preconditions.
        if unsafe { libc::getpid() } != self.pid {
            return Err(std::io::Error::other(
                "forked child: providers first hit after fork stay disabled",
            ));
        }
        let numbers = {
            let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
            let mut providers = self.providers.lock().unwrap_or_else(|e| e.into_inner());
            let mut numbers = Vec::with_capacity(ps.len());
            for p in ps {
                let descs: Vec<&EventDesc> = p.events.iter().map(|s| s.desc).collect();
                providers.push((p, false));
                numbers.push(providers.len() - 1);
                proto::write_frame(&mut *conn, &proto::encode_provider(p.name, &descs))?;
            }
            numbers
        };
        let providers = self.providers.lock().unwrap_or_else(|e| e.into_inner());
        let (providers, _) = self
            .answered
            .wait_timeout_while(providers, STEP_TIMEOUT, |ps| {
                numbers.iter().any(|&n| !ps[n].1)
            })
            .unwrap_or_else(|e| e.into_inner());
        if numbers.iter().all(|&n| providers[n].1) {
            Ok(())
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the session daemon did not answer",
            ))
        }
    }

    fn spawn_listener(&'static self) {
        let spawned = self
            .conn
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .try_clone()
            .and_then(|sock| {
                std::thread::Builder::new()
                    .name("ltt-ust-listener".into())
                    .spawn(move || self.listen(sock))
            });
        if let Err(e) = spawned {
            debug(&format!("not tracing: no listener thread: {e}"));
            self.disable_all();
            self.closed.store(true, Ordering::Release);
        }
    }

    /// Apply the daemon's messages until it goes away; then stop tracing
    /// (the app runs on, never blocked by a dead daemon).
    fn listen(&self, mut sock: UnixStream) {
        loop {
            let applied = proto::read_frame(&mut sock).and_then(|frame| self.apply(&frame, &sock));
            if let Err(e) = applied {
                debug(&format!("session daemon connection closed: {e}"));
                break;
            }
        }
        self.disable_all();
        self.closed.store(true, Ordering::Release);
    }

    fn apply(&self, frame: &[u8], sock: &UnixStream) -> std::io::Result<()> {
        match frame.first() {
            Some(&proto::MSG_STATES) => {
                let (slot, number, states) = proto::decode_states(frame)?;
                let mut providers = self.providers.lock().unwrap_or_else(|e| e.into_inner());
                let Some((provider, answered)) = providers.get_mut(number as usize) else {
                    return Err(proto::ProtoError("STATES for an unknown provider").into());
                };
                if states.len() != provider.events.len() {
                    return Err(proto::ProtoError("wrong number of states").into());
                }
                // The daemon answers a PROVIDER with STATES for every slot,
                // in order: registration is over with the last one.
                let last = slot as usize == MAX_SLOTS - 1;
                for (site, state) in provider.events.iter().zip(&states) {
                    site.set_state(slot as usize, Some(state));
                    if last {
                        site.set_registered();
                    }
                }
                if last {
                    *answered = true;
                    self.answered.notify_all();
                }
            }
            Some(&proto::MSG_CHANNEL) => {
                let msg = proto::decode_channel(frame)?;
                let fd = ltt_ringbuf::recv_fd(sock)?;
                let channel = Channel::open(fd).map_err(std::io::Error::other)?;
                let new = Box::into_raw(Box::new(Active {
                    channel,
                    contexts: ContextSet::new(msg.contexts),
                    blocking: Blocking::of(msg.blocking_us, self.allow_blocking),
                }));
                self.replace_active(msg.slot as usize, new);
            }
            Some(&proto::MSG_DETACH) => {
                let slot = proto::decode_detach(frame)?;
                self.replace_active(slot as usize, std::ptr::null_mut());
            }
            Some(&proto::MSG_SYNC) => {
                let seq = proto::decode_sync(frame)?;
                let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
                proto::write_frame(&mut *conn, &proto::encode_sync(seq))?;
            }
            _ => return Err(proto::ProtoError("unexpected message").into()),
        }
        Ok(())
    }

    fn disable_all(&self) {
        let providers = self.providers.lock().unwrap_or_else(|e| e.into_inner());
        for (p, _) in providers.iter() {
            for site in p.events {
                for slot in 0..MAX_SLOTS {
                    site.set_state(slot, None);
                }
            }
        }
    }
}
