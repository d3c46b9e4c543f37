//! The kernel's rseq ABI (`include/uapi/linux/rseq.h`).

/// Signature placed before every abort handler; the kernel refuses to jump to
/// an abort address not preceded by the signature given at registration.
/// This is the value glibc and librseq use on x86, so their registrations and
/// our critical sections agree.
#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
pub const RSEQ_SIG: u32 = 0x5305_3053;
/// aarch64: `brk #0x45e0` (little-endian encoding), as in glibc and librseq.
#[cfg(target_arch = "aarch64")]
pub const RSEQ_SIG: u32 = 0xd428_bc00;
#[cfg(not(any(target_arch = "x86_64", target_arch = "x86", target_arch = "aarch64")))]
pub const RSEQ_SIG: u32 = 0x5305_3053;

/// `rseq_flags` argument: unregister the area.
pub const RSEQ_FLAG_UNREGISTER: i32 = 1;
/// `cpu_id` before the first registration.
pub const RSEQ_CPU_ID_UNINITIALIZED: u32 = u32::MAX;
/// `cpu_id` after a failed registration (glibc sets it).
pub const RSEQ_CPU_ID_REGISTRATION_FAILED: u32 = u32::MAX - 1;
/// Size of the original ABI structure, accepted by every kernel with rseq.
pub const RSEQ_ORIG_SIZE: u32 = 32;

/// Offset of `cpu_id` in [`Rseq`], used by the assembly.
pub const CPU_ID_OFFSET: usize = 4;
/// Offset of `rseq_cs` in [`Rseq`], used by the assembly.
pub const RSEQ_CS_OFFSET: usize = 8;

/// `struct rseq`: the per-thread area the kernel updates on return to user space.
#[repr(C, align(32))]
#[derive(Debug)]
pub struct Rseq {
    pub cpu_id_start: u32,
    pub cpu_id: u32,
    /// Address of the current `struct rseq_cs`, or 0.
    pub rseq_cs: u64,
    pub flags: u32,
    pub node_id: u32,
    pub mm_cid: u32,
    pub _pad: u32,
}

impl Rseq {
    pub const fn new() -> Self {
        Rseq {
            cpu_id_start: 0,
            cpu_id: RSEQ_CPU_ID_UNINITIALIZED,
            rseq_cs: 0,
            flags: 0,
            node_id: 0,
            mm_cid: 0,
            _pad: 0,
        }
    }
}

impl Default for Rseq {
    fn default() -> Self {
        Self::new()
    }
}

const _: () = assert!(std::mem::size_of::<Rseq>() == 32);
const _: () = assert!(std::mem::offset_of!(Rseq, cpu_id) == CPU_ID_OFFSET);
const _: () = assert!(std::mem::offset_of!(Rseq, rseq_cs) == RSEQ_CS_OFFSET);
