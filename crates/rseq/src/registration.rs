//! Who owns this thread's rseq area: glibc (2.35+ registers every thread and
//! publishes `__rseq_offset`/`__rseq_size`), us (only when nobody registered:
//! `GLIBC_TUNABLES=glibc.pthread.rseq=0`, musl, old glibc), or nobody (kernel
//! without rseq, or `LTT_RSEQ=off`). Decided once per process, on first use.

use std::cell::{Cell, UnsafeCell};
use std::ffi::CStr;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicIsize, AtomicU64, AtomicU8, Ordering};
use std::sync::Once;

use crate::abi::{self, Rseq};

/// Who provides the rseq area of the threads of this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// glibc registered every thread; we use its area at thread pointer + `__rseq_offset`.
    Glibc,
    /// Nobody had registered; we register one area per thread, lazily, and
    /// unregister it at thread exit.
    Own,
    /// No rseq: callers use their atomic fallback.
    Unavailable,
}

const UNINIT: u8 = 0;
const GLIBC: u8 = 1;
const OWN: u8 = 2;
const NONE: u8 = 3;

static MODE: AtomicU8 = AtomicU8::new(UNINIT);
/// glibc's `__rseq_offset` once the mode is known to be [`Mode::Glibc`];
/// [`NO_OFFSET`] otherwise. One relaxed load on the fast path.
static GLIBC_OFFSET: AtomicIsize = AtomicIsize::new(NO_OFFSET);
pub(crate) const NO_OFFSET: isize = isize::MIN;

/// The glibc offset if known (the fast path of `current_cpu`).
#[inline(always)]
pub(crate) fn glibc_offset() -> isize {
    GLIBC_OFFSET.load(Ordering::Relaxed)
}
static INIT: Once = Once::new();

pub(crate) static REGISTRATIONS: AtomicU64 = AtomicU64::new(0);
pub(crate) static UNREGISTRATIONS: AtomicU64 = AtomicU64::new(0);
pub(crate) static FAILED_REGISTRATIONS: AtomicU64 = AtomicU64::new(0);

/// The process-wide mode, decided on the first call.
#[inline]
pub fn mode() -> Mode {
    match MODE.load(Ordering::Acquire) {
        GLIBC => Mode::Glibc,
        OWN => Mode::Own,
        NONE => Mode::Unavailable,
        _ => init_slow(),
    }
}

#[cold]
fn init_slow() -> Mode {
    INIT.call_once(|| {
        let (m, offset) = detect();
        if let Some(offset) = offset {
            GLIBC_OFFSET.store(offset, Ordering::Relaxed);
        }
        MODE.store(m, Ordering::Release);
    });
    mode()
}

fn detect() -> (u8, Option<isize>) {
    if let Ok(v) = std::env::var("LTT_RSEQ") {
        if matches!(v.as_str(), "0" | "off" | "no" | "false") {
            return (NONE, None);
        }
    }
    if let Some(offset) = glibc_registration().filter(|&o| o != NO_OFFSET) {
        return (GLIBC, Some(offset));
    }
    if kernel_has_rseq() {
        (OWN, None)
    } else {
        (NONE, None)
    }
}

fn dlsym_default(name: &CStr) -> *mut libc::c_void {
    // SAFETY: `name` is NUL-terminated; dlsym with RTLD_DEFAULT only looks the
    // symbol up and returns null when absent.
    unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }
}

/// glibc's registration, if glibc registered this process's threads:
/// `__rseq_offset` when `__rseq_size` is non-zero.
fn glibc_registration() -> Option<isize> {
    let off = dlsym_default(c"__rseq_offset") as *const isize;
    let size = dlsym_default(c"__rseq_size") as *const u32;
    let flags = dlsym_default(c"__rseq_flags") as *const u32;
    if off.is_null() || size.is_null() || flags.is_null() {
        return None;
    }
    // SAFETY: glibc defines these as `const ptrdiff_t __rseq_offset` and
    // `const unsigned int __rseq_size/__rseq_flags`, initialised before main.
    let (off, size) = unsafe { (off.read(), size.read()) };
    if size == 0 {
        return None;
    }
    Some(off)
}

fn kernel_has_rseq() -> bool {
    // SAFETY: rseq(NULL, 0, 0, 0) registers nothing; it fails with EINVAL
    // when the system call exists and ENOSYS when it does not.
    let r = unsafe {
        libc::syscall(
            libc::SYS_rseq,
            std::ptr::null_mut::<Rseq>(),
            0u32,
            0i32,
            0u32,
        )
    };
    r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL)
}

/// This thread's registered rseq area. Not `Send`: it is only meaningful on
/// the thread that obtained it.
#[derive(Clone, Copy, Debug)]
pub struct Area {
    ptr: NonNull<Rseq>,
    _not_send: PhantomData<*mut ()>,
}

impl Area {
    #[inline]
    pub(crate) fn as_ptr(self) -> *mut Rseq {
        self.ptr.as_ptr()
    }

    /// The CPU this thread runs on, as last written by the kernel; a value of
    /// `u32::MAX - 1` or above means "not registered".
    #[inline]
    pub fn cpu_id(self) -> u32 {
        // SAFETY: the area is registered for this thread and lives as long as
        // the thread; the kernel updates `cpu_id` only while the thread is not
        // running user code, so a volatile read sees a complete value.
        unsafe { std::ptr::addr_of!((*self.ptr.as_ptr()).cpu_id).read_volatile() }
    }
}

/// The calling thread's rseq area, registering it first in [`Mode::Own`].
/// `None` when rseq is unavailable to this thread (mode `Unavailable`, a
/// failed registration, or a thread already tearing down its TLS).
#[inline]
pub fn thread_area() -> Option<Area> {
    let off = glibc_offset();
    if off != NO_OFFSET {
        return glibc_area(off);
    }
    thread_area_slow()
}

#[inline(always)]
fn glibc_area(off: isize) -> Option<Area> {
    let ptr = thread_pointer().wrapping_offset(off) as *mut Rseq;
    NonNull::new(ptr).map(|ptr| Area {
        ptr,
        _not_send: PhantomData,
    })
}

#[inline(never)]
fn thread_area_slow() -> Option<Area> {
    match mode() {
        Mode::Glibc => glibc_area(glibc_offset()),
        Mode::Own => own_area(),
        Mode::Unavailable => None,
    }
}

/// The thread pointer (the TCB address glibc's `__rseq_offset` is relative to).
#[inline(always)]
fn thread_pointer() -> *mut u8 {
    #[cfg(target_arch = "x86_64")]
    {
        let tp: *mut u8;
        // SAFETY: on x86_64 Linux, %fs:0 holds the TCB's self pointer (glibc
        // and musl); reading it has no side effect.
        unsafe {
            std::arch::asm!("mov {}, qword ptr fs:[0]", out(reg) tp,
                options(nostack, readonly, preserves_flags, pure));
        }
        tp
    }
    #[cfg(target_arch = "aarch64")]
    {
        let tp: *mut u8;
        // SAFETY: reading tpidr_el0 has no side effect.
        unsafe {
            std::arch::asm!("mrs {}, tpidr_el0", out(reg) tp,
                options(nostack, nomem, preserves_flags, pure));
        }
        tp
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        std::ptr::null_mut()
    }
}

const T_UNREGISTERED: u8 = 0;
const T_REGISTERED: u8 = 1;
const T_FAILED: u8 = 2;

/// Our own per-thread area, used only in [`Mode::Own`].
struct OwnRegistration {
    area: UnsafeCell<Rseq>,
    state: Cell<u8>,
}

impl OwnRegistration {
    const fn new() -> Self {
        OwnRegistration {
            area: UnsafeCell::new(Rseq::new()),
            state: Cell::new(T_UNREGISTERED),
        }
    }

    fn register(&self) -> Option<Area> {
        let ptr = self.area.get();
        // SAFETY: `ptr` points to a 32-byte, 32-aligned `struct rseq` in this
        // thread's TLS that stays valid until our destructor unregisters it.
        let r = unsafe {
            libc::syscall(
                libc::SYS_rseq,
                ptr,
                abi::RSEQ_ORIG_SIZE,
                0i32,
                abi::RSEQ_SIG,
            )
        };
        if r == 0 {
            self.state.set(T_REGISTERED);
            REGISTRATIONS.fetch_add(1, Ordering::Relaxed);
            NonNull::new(ptr).map(|ptr| Area {
                ptr,
                _not_send: PhantomData,
            })
        } else {
            // EINVAL/EBUSY/EPERM: another library owns this thread's
            // registration. Never fight it: this thread uses the fallback.
            self.state.set(T_FAILED);
            FAILED_REGISTRATIONS.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

impl Drop for OwnRegistration {
    fn drop(&mut self) {
        if self.state.get() == T_REGISTERED {
            // SAFETY: same area, length and signature as at registration; after
            // this call the kernel no longer writes to the area.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_rseq,
                    self.area.get(),
                    abi::RSEQ_ORIG_SIZE,
                    abi::RSEQ_FLAG_UNREGISTER,
                    abi::RSEQ_SIG,
                )
            };
            if r == 0 {
                UNREGISTRATIONS.fetch_add(1, Ordering::Relaxed);
            }
            self.state.set(T_UNREGISTERED);
        }
    }
}

thread_local! {
    static OWN_AREA: OwnRegistration = const { OwnRegistration::new() };
}

#[inline]
fn own_area() -> Option<Area> {
    OWN_AREA
        .try_with(|r| match r.state.get() {
            T_REGISTERED => NonNull::new(r.area.get()).map(|ptr| Area {
                ptr,
                _not_send: PhantomData,
            }),
            T_FAILED => None,
            _ => r.register(),
        })
        .ok()
        .flatten()
}

/// Registration counters of [`Mode::Own`] (all zero in the other modes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegistrationStats {
    pub registered: u64,
    pub unregistered: u64,
    pub failed: u64,
}

pub fn registration_stats() -> RegistrationStats {
    RegistrationStats {
        registered: REGISTRATIONS.load(Ordering::Relaxed),
        unregistered: UNREGISTRATIONS.load(Ordering::Relaxed),
        failed: FAILED_REGISTRATIONS.load(Ordering::Relaxed),
    }
}
