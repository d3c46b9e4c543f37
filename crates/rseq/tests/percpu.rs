//! Behaviour of the per-CPU critical sections under preemption, migration and
//! signals, with glibc's registration and with our own.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use ltt_rseq::{
    current_cpu, mode, possible_cpus, registration_stats, thread_area, CsError, Mode,
    PerCpuCounter, Store,
};

const CHILD_ENV: &str = "LTT_RSEQ_TEST_CHILD";

fn gettid() -> libc::pid_t {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

fn set_affinity(tid: libc::pid_t, cpus: &[usize]) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &c in cpus {
        // SAFETY: c < CPU_SETSIZE for the CPUs of this machine.
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    // SAFETY: `set` is a valid cpu_set_t of the given size; a vanished thread
    // only makes the call fail with ESRCH.
    unsafe { libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) };
}

static HANDLER_COUNTER: OnceLock<PerCpuCounter> = OnceLock::new();
static HANDLER_CALLS: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_sigusr1(_: libc::c_int) {
    // Nested critical sections in a signal handler interrupt the thread's own.
    if let Some(c) = HANDLER_COUNTER.get() {
        c.add(1);
        HANDLER_CALLS.fetch_add(1, Ordering::Relaxed);
    }
}

fn install_handler() {
    HANDLER_COUNTER.get_or_init(PerCpuCounter::new);
    // SAFETY: a zeroed sigaction with a valid handler address; the handler only
    // touches pre-initialised statics (no allocation).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigusr1 as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut());
    }
}

/// Per-CPU words incremented with `cmpeqv_storev` (load, compare, store),
/// plus a separate atomic word for the fallback.
struct CasCounter {
    slots: Vec<CachePadded>,
    fallback: AtomicU64,
}

#[repr(align(128))]
#[derive(Default)]
struct CachePadded(AtomicU64);

impl CasCounter {
    fn new() -> Self {
        CasCounter {
            slots: (0..possible_cpus())
                .map(|_| CachePadded::default())
                .collect(),
            fallback: AtomicU64::new(0),
        }
    }

    fn incr(&self) {
        if let Some(area) = thread_area() {
            for _ in 0..ltt_rseq::MAX_ABORTS {
                let cpu = area.cpu_id();
                let Some(slot) = self.slots.get(cpu as usize) else {
                    break;
                };
                let old = slot.0.load(Ordering::Relaxed);
                match area.cmpeqv_storev(cpu, &slot.0, old, old + 1) {
                    Ok(()) => return,
                    Err(CsError::NotEqual) | Err(CsError::Aborted) => continue,
                }
            }
        }
        self.fallback.fetch_add(1, Ordering::Relaxed);
    }

    fn sum(&self) -> u64 {
        self.slots
            .iter()
            .map(|s| s.0.load(Ordering::Relaxed))
            .sum::<u64>()
            + self.fallback.load(Ordering::Relaxed)
    }
}

/// More threads than CPUs increment per-CPU counters while one thread moves
/// them between CPUs and another signals them; every sum must be exact.
fn stress(duration: Duration) {
    install_handler();
    let ncpu = possible_cpus();
    let nworkers = 2 * ncpu + 2;
    let counter = Arc::new(PerCpuCounter::new());
    let cas = Arc::new(CasCounter::new());
    let stop = Arc::new(AtomicBool::new(false));
    let tids = Arc::new(Mutex::new(Vec::new()));
    let aborts_before = ltt_rseq::aborts();

    let workers: Vec<_> = (0..nworkers)
        .map(|_| {
            let (counter, cas, stop, tids) =
                (counter.clone(), cas.clone(), stop.clone(), tids.clone());
            std::thread::spawn(move || {
                counter.add(1);
                cas.incr();
                let mut n = 1u64;
                tids.lock().unwrap().push(gettid());
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..64 {
                        counter.add(1);
                        cas.incr();
                    }
                    n += 64;
                }
                n
            })
        })
        .collect();
    while tids.lock().unwrap().len() < nworkers {
        std::thread::yield_now();
    }
    let tids: Vec<_> = tids.lock().unwrap().clone();

    let migrator = {
        let (stop, tids) = (stop.clone(), tids.clone());
        std::thread::spawn(move || {
            let mut i = 0usize;
            let mut moves = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for (k, &tid) in tids.iter().enumerate() {
                    let cpu = (i + k) % ncpu;
                    if (i + k) % 3 == 2 {
                        set_affinity(tid, &(0..ncpu).collect::<Vec<_>>());
                    } else {
                        set_affinity(tid, &[cpu]);
                    }
                    moves += 1;
                }
                i += 1;
                std::thread::sleep(Duration::from_micros(200));
            }
            for &tid in &tids {
                set_affinity(tid, &(0..ncpu).collect::<Vec<_>>());
            }
            moves
        })
    };
    let signaller = {
        let (stop, tids) = (stop.clone(), tids.clone());
        std::thread::spawn(move || {
            // SAFETY: getpid has no preconditions.
            let pid = unsafe { libc::getpid() };
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for &tid in &tids {
                    // SAFETY: tgkill to a thread of this process; a thread that
                    // already exited only makes it fail with ESRCH.
                    unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, libc::SIGUSR1) };
                    sent += 1;
                }
                std::thread::sleep(Duration::from_micros(100));
            }
            sent
        })
    };

    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let done: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let moves = migrator.join().unwrap();
    let signals = signaller.join().unwrap();
    let aborts = ltt_rseq::aborts() - aborts_before;
    eprintln!(
        "mode {:?}: {done} increments by {nworkers} threads on {ncpu} CPUs, {moves} affinity changes, \
         {signals} signals, {aborts} aborts, {} counter fallbacks",
        mode(),
        counter.fallbacks()
    );
    assert_eq!(
        counter.sum(),
        done,
        "rseq per-CPU add lost or duplicated updates"
    );
    assert_eq!(
        cas.sum(),
        done,
        "rseq cmpeqv_storev lost or duplicated updates"
    );
    let h = HANDLER_COUNTER.get().unwrap();
    assert_eq!(h.sum(), HANDLER_CALLS.load(Ordering::Relaxed));
    if mode() != Mode::Unavailable && ltt_rseq::cs_supported() {
        assert!(
            aborts > 0,
            "signals and migrations never aborted a critical section"
        );
    }
}

/// Threads created and torn down in a loop, each using rseq once.
fn churn(rounds: usize) {
    let before = registration_stats();
    let counter = Arc::new(PerCpuCounter::new());
    for _ in 0..rounds {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let c = counter.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        c.add(1);
                    }
                    assert!((current_cpu() as usize) < possible_cpus());
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    }
    assert_eq!(counter.sum(), rounds as u64 * 400);
    let after = registration_stats();
    if mode() == Mode::Own {
        let reg = after.registered - before.registered;
        let unreg = after.unregistered - before.unregistered;
        assert_eq!(reg, rounds as u64 * 4, "one registration per thread");
        assert_eq!(unreg, reg, "every thread unregistered at exit");
    } else {
        assert_eq!(after.registered, before.registered);
    }
}

fn single_thread_semantics() {
    let Some(area) = thread_area() else {
        eprintln!(
            "no rseq area in this thread (mode {:?}): skipping section checks",
            mode()
        );
        return;
    };
    let v = AtomicU64::new(5);
    let w = AtomicU64::new(0);
    let x = AtomicU64::new(0);
    let retry = |f: &dyn Fn(u32) -> Result<(), CsError>| -> Result<(), CsError> {
        loop {
            match f(area.cpu_id()) {
                Err(CsError::Aborted) => continue,
                r => return r,
            }
        }
    };
    retry(&|cpu| area.add(cpu, &v, 10)).unwrap();
    assert_eq!(v.load(Ordering::Relaxed), 15);
    assert_eq!(
        retry(&|cpu| area.cmpeqv_storev(cpu, &v, 14, 99)),
        Err(CsError::NotEqual)
    );
    assert_eq!(v.load(Ordering::Relaxed), 15);
    retry(&|cpu| area.cmpeqv_storev(cpu, &v, 15, 20)).unwrap();
    assert_eq!(v.load(Ordering::Relaxed), 20);
    retry(&|cpu| area.cmpeqv_trystorev_storev(cpu, &v, 20, &w, 7, 21)).unwrap();
    assert_eq!(
        (v.load(Ordering::Relaxed), w.load(Ordering::Relaxed)),
        (21, 7)
    );
    assert_eq!(
        retry(&|cpu| area.cmpeqv_trystorev_storev(cpu, &v, 20, &w, 8, 22)),
        Err(CsError::NotEqual)
    );
    assert_eq!(w.load(Ordering::Relaxed), 7);
    retry(&|cpu| {
        area.cmpeqv_trystores_storev(cpu, &v, 21, &[Store::new(&w, 1), Store::new(&x, 2)], 30)
    })
    .unwrap();
    assert_eq!(
        (
            v.load(Ordering::Relaxed),
            w.load(Ordering::Relaxed),
            x.load(Ordering::Relaxed)
        ),
        (30, 1, 2)
    );
    retry(&|cpu| area.cmpeqv_trystores_storev(cpu, &v, 30, &[], 31)).unwrap();
    assert_eq!(v.load(Ordering::Relaxed), 31);
    // The wrong CPU never commits.
    let wrong = (area.cpu_id() + 1) % possible_cpus().max(2) as u32;
    if (wrong as usize) < possible_cpus() {
        assert_eq!(area.add(wrong, &v, 1), Err(CsError::Aborted));
        assert_eq!(v.load(Ordering::Relaxed), 31);
    }
}

#[test]
fn sections_do_what_they_say() {
    single_thread_semantics();
}

#[test]
fn current_cpu_matches_sched_getcpu() {
    let mut same = 0;
    for _ in 0..1000 {
        let a = current_cpu();
        // SAFETY: sched_getcpu has no preconditions.
        let b = unsafe { libc::sched_getcpu() } as u32;
        if a == b {
            same += 1;
        }
    }
    assert!(
        same > 900,
        "current_cpu disagreed with sched_getcpu {} times",
        1000 - same
    );
}

#[test]
fn glibc_registration_is_used() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let m = mode();
    eprintln!("rseq mode: {m:?}");
    // glibc >= 2.35 registers every thread unless told not to.
    if std::env::var("GLIBC_TUNABLES").map_or(true, |t| !t.contains("rseq=0"))
        && std::env::var_os("LTT_RSEQ").is_none()
        && glibc_at_least_2_35()
    {
        assert_eq!(m, Mode::Glibc);
        assert_eq!(
            registration_stats().registered,
            0,
            "registered over glibc's area"
        );
    }
}

fn glibc_at_least_2_35() -> bool {
    // SAFETY: gnu_get_libc_version returns a static NUL-terminated string.
    let v = unsafe { std::ffi::CStr::from_ptr(gnu_get_libc_version()) };
    let v = v.to_string_lossy();
    let mut it = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (maj, min) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    (maj, min) >= (2, 35)
}

extern "C" {
    fn gnu_get_libc_version() -> *const libc::c_char;
}

#[test]
fn stress_with_default_registration() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    stress(Duration::from_secs(2));
}

#[test]
fn thread_churn() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    churn(100);
}

/// Runs in a re-executed copy of this test binary with glibc's rseq turned
/// off: we must register our own areas, and everything must hold again.
#[test]
fn child_without_glibc_rseq() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    assert_eq!(
        mode(),
        Mode::Own,
        "glibc.pthread.rseq=0 must leave registration to us"
    );
    single_thread_semantics();
    stress(Duration::from_secs(2));
    churn(50);
}

#[test]
fn stress_without_glibc_rseq() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let start = Instant::now();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "child_without_glibc_rseq",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .env("GLIBC_TUNABLES", "glibc.pthread.rseq=0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("child ({:?}):\n{stdout}\n{stderr}", start.elapsed());
    assert!(out.status.success(), "child failed");
    assert!(
        stdout.contains("1 passed"),
        "the child did not run its test"
    );
}
