//! CPU numbers: the current CPU from the rseq area, and the number of
//! possible CPUs that per-CPU arrays are sized from.

use std::sync::OnceLock;

use crate::registration::thread_area;

/// Number of possible CPUs (highest id in `/sys/devices/system/cpu/possible`
/// plus one), so that every CPU that may ever come online has a slot.
pub fn possible_cpus() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| {
        std::fs::read_to_string("/sys/devices/system/cpu/possible")
            .ok()
            .and_then(|s| parse_cpu_list_max(&s))
            .map(|max| max + 1)
            .unwrap_or_else(|| {
                // SAFETY: sysconf has no preconditions.
                let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) };
                usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(1)
            })
    })
}

/// The highest CPU number in a kernel CPU list such as `0-3,5,8-11`.
pub fn parse_cpu_list_max(list: &str) -> Option<usize> {
    let mut max = None;
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        let hi = match part.split_once('-') {
            Some((_, hi)) => hi,
            None => part,
        };
        let v: usize = hi.trim().parse().ok()?;
        max = Some(max.map_or(v, |m: usize| m.max(v)));
    }
    max
}

/// The CPU the calling thread runs on: read from the rseq area (a plain load),
/// or from `sched_getcpu()` when this thread has no rseq area. Always below
/// [`possible_cpus()`].
#[inline]
pub fn current_cpu() -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        let off = crate::registration::glibc_offset();
        if off != crate::registration::NO_OFFSET {
            let cpu: u32;
            // SAFETY: glibc registered this thread's area at %fs:0 + off (its
            // `__rseq_offset`, the same for every thread); `cpu_id` is at +4.
            // Not `pure`: the kernel changes the value between two reads.
            unsafe {
                std::arch::asm!("mov {cpu:e}, dword ptr fs:[{off} + 4]",
                    cpu = lateout(reg) cpu, off = in(reg) off,
                    options(nostack, readonly, preserves_flags));
            }
            // The kernel's cpu_id is always below nr_cpu_ids, the number of
            // possible CPUs; the two top values mean "not registered".
            if cpu < crate::abi::RSEQ_CPU_ID_REGISTRATION_FAILED {
                return cpu;
            }
        }
    }
    current_cpu_slow()
}

#[inline(never)]
fn current_cpu_slow() -> u32 {
    if let Some(area) = thread_area() {
        let cpu = area.cpu_id();
        if (cpu as usize) < possible_cpus_fast() {
            return cpu;
        }
    }
    sched_getcpu()
}

#[inline]
fn possible_cpus_fast() -> usize {
    static CACHED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CACHED.load(std::sync::atomic::Ordering::Relaxed);
    if n != 0 {
        return n;
    }
    let n = possible_cpus();
    CACHED.store(n, std::sync::atomic::Ordering::Relaxed);
    n
}

/// `sched_getcpu()`, clamped into `0..possible_cpus()` (0 on error).
#[inline]
pub fn sched_getcpu() -> u32 {
    // SAFETY: sched_getcpu has no preconditions.
    let c = unsafe { libc::sched_getcpu() };
    if c >= 0 && (c as usize) < possible_cpus_fast() {
        c as u32
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list_max("0-1\n"), Some(1));
        assert_eq!(parse_cpu_list_max("0"), Some(0));
        assert_eq!(parse_cpu_list_max("0-3,5,8-11"), Some(11));
        assert_eq!(parse_cpu_list_max("x"), None);
    }

    #[test]
    fn current_cpu_is_possible() {
        for _ in 0..1000 {
            assert!((current_cpu() as usize) < possible_cpus());
        }
    }
}
