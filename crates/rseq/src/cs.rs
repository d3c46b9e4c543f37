//! Per-CPU critical sections: each is one `asm!` block that publishes its
//! descriptor (`struct rseq_cs`, in section `__rseq_cs`) in the thread's rseq
//! area, checks that the thread still runs on the expected CPU, and ends with a
//! single committing store. Preemption, migration or a signal between the
//! start and the commit makes the kernel jump to the abort handler (preceded
//! by [`RSEQ_SIG`](crate::abi::RSEQ_SIG)), so the commit happens either on the
//! expected CPU with nothing else of that CPU interleaved, or not at all.
//!
//! Consequence for callers: a word updated this way must only ever be updated
//! this way, by threads running on the CPU it belongs to. Never mix these
//! plain stores with atomic read-modify-writes on the same word from other
//! CPUs; fallbacks must use words of their own.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::registration::Area;

/// Why a critical section did not commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsError {
    /// The kernel aborted the section (preemption, migration, signal), or the
    /// thread is not on the expected CPU: read the CPU again and retry.
    Aborted,
    /// The compared word did not hold the expected value.
    NotEqual,
}

/// One speculative store of [`Area::cmpeqv_trystores_storev`].
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Store<'a> {
    dst: *const AtomicU64,
    value: u64,
    _lifetime: std::marker::PhantomData<&'a AtomicU64>,
}

impl<'a> Store<'a> {
    pub fn new(dst: &'a AtomicU64, value: u64) -> Self {
        Store {
            dst,
            value,
            _lifetime: std::marker::PhantomData,
        }
    }
}

static ABORTS: AtomicU64 = AtomicU64::new(0);

/// Number of aborted critical sections in this process so far.
pub fn aborts() -> u64 {
    ABORTS.load(Ordering::Relaxed)
}

/// Whether this build has the critical sections (x86_64).
pub const fn cs_supported() -> bool {
    cfg!(target_arch = "x86_64")
}

#[cold]
#[inline(never)]
fn aborted() -> Result<(), CsError> {
    ABORTS.fetch_add(1, Ordering::Relaxed);
    Err(CsError::Aborted)
}

#[inline(always)]
fn result(ret: u32) -> Result<(), CsError> {
    match ret {
        0 => Ok(()),
        2 => Err(CsError::NotEqual),
        _ => aborted(),
    }
}

// Common parts of every critical section (Intel syntax; labels avoid the
// digits 0 and 1 so that `1b`-style references cannot read as binary).
// 3: descriptor, 2: start, 5: post-commit, 4: abort handler, 7: exit.
#[cfg(target_arch = "x86_64")]
macro_rules! rseq_cs_prologue {
    () => {
        concat!(
            ".pushsection __rseq_cs, \"aw\"\n",
            ".balign 32\n",
            "3:\n",
            ".long 0, 0\n",
            ".quad 2f, (5f - 2f), 4f\n",
            ".popsection\n",
            ".pushsection __rseq_cs_ptr_array, \"aw\"\n",
            ".quad 3b\n",
            ".popsection\n",
            "lea rax, [rip + 3b]\n",
            "mov qword ptr [{area} + 8], rax\n",
            "2:\n",
            "cmp dword ptr [{area} + 4], {cpu:e}\n",
            "jnz 4f\n",
        )
    };
}

#[cfg(target_arch = "x86_64")]
macro_rules! rseq_cs_epilogue {
    () => {
        concat!(
            "5:\n",
            "xor {ret:e}, {ret:e}\n",
            "jmp 7f\n",
            "6:\n",
            "mov {ret:e}, 2\n",
            "jmp 7f\n",
            ".pushsection __rseq_failure, \"ax\"\n",
            // `ud1 0x53053053(%rip), %edi`: the signature, disassembler-friendly.
            ".byte 0x0f, 0xb9, 0x3d\n",
            ".long 0x53053053\n",
            "4:\n",
            "mov {ret:e}, 1\n",
            "jmp 7f\n",
            ".popsection\n",
            "7:\n",
        )
    };
}

impl Area {
    /// `*v += count` on `cpu`'s word, committed only if the thread is on `cpu`.
    #[inline]
    pub fn add(self, cpu: u32, v: &AtomicU64, count: u64) -> Result<(), CsError> {
        #[cfg(target_arch = "x86_64")]
        {
            let ret: u32;
            // SAFETY: `area` is this thread's registered rseq area; `v` is a
            // valid, aligned u64 (an AtomicU64, so shared mutation is allowed).
            // The block writes only `area.rseq_cs` and `*v`, and clobbers rax.
            unsafe {
                std::arch::asm!(
                    rseq_cs_prologue!(),
                    "add qword ptr [{v}], {count}\n",
                    rseq_cs_epilogue!(),
                    area = in(reg) self.as_ptr(),
                    cpu = in(reg) cpu,
                    v = in(reg) v.as_ptr(),
                    count = in(reg) count,
                    ret = lateout(reg) ret,
                    out("rax") _,
                    options(nostack),
                );
            }
            result(ret)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (cpu, v, count);
            aborted()
        }
    }

    /// If `*v == expect`, store `newv` into `*v`, on `cpu`.
    #[inline]
    pub fn cmpeqv_storev(
        self,
        cpu: u32,
        v: &AtomicU64,
        expect: u64,
        newv: u64,
    ) -> Result<(), CsError> {
        #[cfg(target_arch = "x86_64")]
        {
            let ret: u32;
            // SAFETY: as in `add`; writes only `area.rseq_cs` and `*v`.
            unsafe {
                std::arch::asm!(
                    rseq_cs_prologue!(),
                    "cmp qword ptr [{v}], {expect}\n",
                    "jnz 6f\n",
                    "mov qword ptr [{v}], {newv}\n",
                    rseq_cs_epilogue!(),
                    area = in(reg) self.as_ptr(),
                    cpu = in(reg) cpu,
                    v = in(reg) v.as_ptr(),
                    expect = in(reg) expect,
                    newv = in(reg) newv,
                    ret = lateout(reg) ret,
                    out("rax") _,
                    options(nostack),
                );
            }
            result(ret)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (cpu, v, expect, newv);
            aborted()
        }
    }

    /// If `*v == expect`: store `newv2` into `*v2` (speculatively: it may
    /// happen even when the section then aborts), then commit `newv` into `*v`.
    /// This is the ring buffer's reserve: `v` is the write position, `v2` the
    /// record's index entry.
    #[inline]
    pub fn cmpeqv_trystorev_storev(
        self,
        cpu: u32,
        v: &AtomicU64,
        expect: u64,
        v2: &AtomicU64,
        newv2: u64,
        newv: u64,
    ) -> Result<(), CsError> {
        #[cfg(target_arch = "x86_64")]
        {
            let ret: u32;
            // SAFETY: as in `add`; writes only `area.rseq_cs`, `*v2` and `*v`.
            unsafe {
                std::arch::asm!(
                    rseq_cs_prologue!(),
                    "cmp qword ptr [{v}], {expect}\n",
                    "jnz 6f\n",
                    "mov qword ptr [{v2}], {newv2}\n",
                    "mov qword ptr [{v}], {newv}\n",
                    rseq_cs_epilogue!(),
                    area = in(reg) self.as_ptr(),
                    cpu = in(reg) cpu,
                    v = in(reg) v.as_ptr(),
                    expect = in(reg) expect,
                    v2 = in(reg) v2.as_ptr(),
                    newv2 = in(reg) newv2,
                    newv = in(reg) newv,
                    ret = lateout(reg) ret,
                    out("rax") _,
                    options(nostack),
                );
            }
            result(ret)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (cpu, v, expect, v2, newv2, newv);
            aborted()
        }
    }

    /// If `*v == expect`: perform every store of `stores` speculatively, then
    /// commit `newv` into `*v`. The ring buffer's sub-buffer switch.
    #[inline]
    pub fn cmpeqv_trystores_storev(
        self,
        cpu: u32,
        v: &AtomicU64,
        expect: u64,
        stores: &[Store<'_>],
        newv: u64,
    ) -> Result<(), CsError> {
        #[cfg(target_arch = "x86_64")]
        {
            let ret: u32;
            // SAFETY: as in `add`; `stores` is a valid slice of `Store`
            // (repr(C): destination pointer, then value), each destination a
            // live AtomicU64. Writes only `area.rseq_cs`, the destinations and
            // `*v`; clobbers rax and rcx.
            unsafe {
                std::arch::asm!(
                    rseq_cs_prologue!(),
                    "cmp qword ptr [{v}], {expect}\n",
                    "jnz 6f\n",
                    "test {n}, {n}\n",
                    "jz 8f\n",
                    "9:\n",
                    "mov rax, qword ptr [{s}]\n",
                    "mov rcx, qword ptr [{s} + 8]\n",
                    "mov qword ptr [rax], rcx\n",
                    "add {s}, 16\n",
                    "dec {n}\n",
                    "jnz 9b\n",
                    "8:\n",
                    "mov qword ptr [{v}], {newv}\n",
                    rseq_cs_epilogue!(),
                    area = in(reg) self.as_ptr(),
                    cpu = in(reg) cpu,
                    v = in(reg) v.as_ptr(),
                    expect = in(reg) expect,
                    s = inout(reg) stores.as_ptr() => _,
                    n = inout(reg) stores.len() => _,
                    newv = in(reg) newv,
                    ret = lateout(reg) ret,
                    out("rax") _,
                    out("rcx") _,
                    options(nostack),
                );
            }
            result(ret)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (cpu, v, expect, stores, newv);
            aborted()
        }
    }
}

const _: () = assert!(std::mem::size_of::<Store<'static>>() == 16);
