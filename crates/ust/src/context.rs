//! Context fields (`ltt add-context -u -t TYPE`): values the tracer adds to
//! every record of a channel, after the event header and before the
//! payload, in the order the session lists them.
//!
//! Per-event values (thread ids, CPU, call-site address, per-thread perf
//! counters) are read at each hit; per-process ones (user and group ids,
//! parent, namespaces) are read once when the session's channel arrives,
//! as lttng-ust caches them.

use std::cell::Cell;

use crate::schema::Out;
use crate::PROCNAME_LEN;

/// A context type. The discriminant is its code on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Context {
    Vpid = 1,
    Vtid,
    Procname,
    PthreadId,
    CpuId,
    Ip,
    Vuid,
    Veuid,
    Vsuid,
    Vgid,
    Vegid,
    Vsgid,
    Vppid,
    CgroupNs,
    IpcNs,
    MntNs,
    NetNs,
    PidNs,
    TimeNs,
    UserNs,
    UtsNs,
    PerfTaskClock,
    PerfPageFault,
    PerfMajorFaults,
    PerfMinorFaults,
    PerfContextSwitches,
    PerfCpuMigrations,
    PerfCycles,
    PerfInstructions,
}

/// How a context is encoded (little-endian, byte-aligned).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContextKind {
    Signed32,
    Unsigned32,
    Unsigned64,
    /// Unsigned 64-bit shown in hexadecimal.
    Hex64,
    /// `char[17]`.
    Text17,
}

impl ContextKind {
    pub const fn size(self) -> usize {
        match self {
            ContextKind::Signed32 | ContextKind::Unsigned32 => 4,
            ContextKind::Unsigned64 | ContextKind::Hex64 => 8,
            ContextKind::Text17 => PROCNAME_LEN,
        }
    }
}

use Context::*;

/// Every context with its `add-context` names (first = canonical).
const TABLE: &[(Context, &[&str])] = &[
    (Vpid, &["vpid"]),
    (Vtid, &["vtid"]),
    (Procname, &["procname"]),
    (PthreadId, &["pthread_id"]),
    (CpuId, &["cpu_id"]),
    (Ip, &["ip"]),
    (Vuid, &["vuid"]),
    (Veuid, &["veuid"]),
    (Vsuid, &["vsuid"]),
    (Vgid, &["vgid"]),
    (Vegid, &["vegid"]),
    (Vsgid, &["vsgid"]),
    (Vppid, &["vppid"]),
    (CgroupNs, &["cgroup_ns"]),
    (IpcNs, &["ipc_ns"]),
    (MntNs, &["mnt_ns"]),
    (NetNs, &["net_ns"]),
    (PidNs, &["pid_ns"]),
    (TimeNs, &["time_ns"]),
    (UserNs, &["user_ns"]),
    (UtsNs, &["uts_ns"]),
    (PerfTaskClock, &["perf:thread:task-clock"]),
    (
        PerfPageFault,
        &["perf:thread:page-fault", "perf:thread:faults"],
    ),
    (PerfMajorFaults, &["perf:thread:major-faults"]),
    (PerfMinorFaults, &["perf:thread:minor-faults"]),
    (
        PerfContextSwitches,
        &["perf:thread:context-switches", "perf:thread:cs"],
    ),
    (
        PerfCpuMigrations,
        &["perf:thread:cpu-migrations", "perf:thread:migrations"],
    ),
    (
        PerfCycles,
        &["perf:thread:cpu-cycles", "perf:thread:cycles"],
    ),
    (PerfInstructions, &["perf:thread:instructions"]),
];

impl Context {
    /// The context named `name` as `add-context -t` spells it.
    pub fn from_name(name: &str) -> Option<Context> {
        TABLE
            .iter()
            .find(|(_, names)| names.contains(&name))
            .map(|(c, _)| *c)
    }

    /// The context with wire code `code`.
    pub fn from_code(code: u8) -> Option<Context> {
        TABLE.iter().map(|(c, _)| *c).find(|c| *c as u8 == code)
    }

    /// Canonical name.
    pub fn name(self) -> &'static str {
        TABLE
            .iter()
            .find(|(c, _)| *c == self)
            .map_or("?", |(_, n)| n[0])
    }

    /// Every canonical name, for help and error messages.
    pub fn names() -> impl Iterator<Item = &'static str> {
        TABLE.iter().map(|(_, n)| n[0])
    }

    /// Field name in the trace: `_` + name with `-` and `:` as `_`.
    pub fn field_name(self) -> String {
        format!("_{}", self.name().replace([':', '-'], "_"))
    }

    pub fn kind(self) -> ContextKind {
        match self {
            Vpid | Vtid | CpuId | Vppid => ContextKind::Signed32,
            Procname => ContextKind::Text17,
            Ip => ContextKind::Hex64,
            Vuid | Veuid | Vsuid | Vgid | Vegid | Vsgid => ContextKind::Unsigned32,
            _ => ContextKind::Unsigned64,
        }
    }

    /// The perf event (type, config) of a `perf:thread:*` context.
    pub fn perf(self) -> Option<(u32, u64)> {
        const SW: u32 = 1; // PERF_TYPE_SOFTWARE
        const HW: u32 = 0; // PERF_TYPE_HARDWARE
        Some(match self {
            PerfTaskClock => (SW, 1),
            PerfPageFault => (SW, 2),
            PerfContextSwitches => (SW, 3),
            PerfCpuMigrations => (SW, 4),
            PerfMinorFaults => (SW, 5),
            PerfMajorFaults => (SW, 6),
            PerfCycles => (HW, 0),
            PerfInstructions => (HW, 1),
            _ => return None,
        })
    }
}

/// A channel's contexts with the per-process values read once.
pub(crate) struct ContextSet {
    list: Box<[Context]>,
    /// Bytes the contexts take in each record.
    pub len: usize,
    /// Per-process values by context code (0 when not cached).
    cached: [u64; 32],
    /// The default set (vpid, vtid, procname): written without a loop.
    default_set: bool,
}

/// The contexts `ltt record` records.
pub const DEFAULT_CONTEXTS: [Context; 3] = [Vpid, Vtid, Procname];

fn ns_inode(name: &str) -> u64 {
    std::fs::read_link(format!("/proc/self/ns/{name}"))
        .ok()
        .and_then(|l| {
            let s = l.to_string_lossy().into_owned();
            s.split_once('[')?.1.strip_suffix(']')?.parse().ok()
        })
        .unwrap_or(0)
}

impl ContextSet {
    pub(crate) fn new(list: Vec<Context>) -> ContextSet {
        let mut cached = [0u64; 32];
        let (mut ruid, mut euid, mut suid, mut rgid, mut egid, mut sgid) = (0, 0, 0, 0, 0, 0);
        // SAFETY: the calls only write the given integers.
        unsafe {
            libc::getresuid(&mut ruid, &mut euid, &mut suid);
            libc::getresgid(&mut rgid, &mut egid, &mut sgid);
        }
        for c in &list {
            cached[*c as usize] = match c {
                Vuid => ruid as u64,
                Veuid => euid as u64,
                Vsuid => suid as u64,
                Vgid => rgid as u64,
                Vegid => egid as u64,
                Vsgid => sgid as u64,
                // SAFETY: getppid has no preconditions.
                Vppid => (unsafe { libc::getppid() }) as u64,
                CgroupNs => ns_inode("cgroup"),
                IpcNs => ns_inode("ipc"),
                MntNs => ns_inode("mnt"),
                NetNs => ns_inode("net"),
                PidNs => ns_inode("pid"),
                TimeNs => ns_inode("time"),
                UserNs => ns_inode("user"),
                UtsNs => ns_inode("uts"),
                _ => 0,
            };
        }
        ContextSet {
            len: list.iter().map(|c| c.kind().size()).sum(),
            default_set: list == DEFAULT_CONTEXTS,
            list: list.into_boxed_slice(),
            cached,
        }
    }

    /// Write the contexts of one hit at call-site address `ip`.
    #[inline(always)]
    pub(crate) fn write(&self, out: &mut Out<'_>, procname: &[u8; PROCNAME_LEN], ip: u64) {
        if self.default_set {
            out.put(&crate::tracer::vpid().to_le_bytes());
            out.put(&crate::tracer::vtid().to_le_bytes());
            out.put(procname);
            return;
        }
        self.write_each(out, procname, ip)
    }

    #[inline(never)]
    fn write_each(&self, out: &mut Out<'_>, procname: &[u8; PROCNAME_LEN], ip: u64) {
        for &c in self.list.iter() {
            let v: u64 = match c {
                Vpid => crate::tracer::vpid() as u32 as u64,
                Vtid => crate::tracer::vtid() as u32 as u64,
                Procname => {
                    out.put(procname);
                    continue;
                }
                // SAFETY: pthread_self has no preconditions.
                PthreadId => (unsafe { libc::pthread_self() }) as u64,
                CpuId => ltt_rseq::current_cpu() as u64,
                Ip => ip,
                c => match c.perf() {
                    Some(_) => perf_read(c),
                    None => self.cached[c as usize],
                },
            };
            match c.kind().size() {
                4 => out.put(&(v as u32).to_le_bytes()),
                _ => out.put(&v.to_le_bytes()),
            }
        }
    }
}

thread_local! {
    /// Per-thread perf counter fds by context code: -1 not opened yet,
    /// -2 unavailable (recorded as 0).
    static PERF_FDS: [Cell<i32>; 32] = const { [const { Cell::new(-1) }; 32] };
}

/// The calling thread's count of perf context `c` (opened on first use).
fn perf_read(c: Context) -> u64 {
    PERF_FDS
        .try_with(|fds| {
            let cell = &fds[c as usize];
            if cell.get() == -1 {
                cell.set(perf_open(c).unwrap_or(-2));
            }
            let fd = cell.get();
            if fd < 0 {
                return 0;
            }
            let mut v = 0u64;
            // SAFETY: reads 8 bytes into v from a perf fd this thread owns.
            let n = unsafe { libc::read(fd, (&mut v as *mut u64).cast(), 8) };
            if n == 8 {
                v
            } else {
                0
            }
        })
        .unwrap_or(0)
}

/// `PERF_FLAG_FD_CLOEXEC` of perf_event_open(2).
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;

fn perf_open(c: Context) -> Option<i32> {
    let (type_, config) = c.perf()?;
    // perf_event_attr, version 0 layout (64 bytes) is enough here.
    let mut attr = [0u64; 8];
    attr[0] = type_ as u64 | (64u64 << 32); // type, size
    attr[1] = config;
    // flags: exclude_kernel (bit 5) and exclude_hv (bit 6) for hardware
    // counters, which a non-root user may only count in user space.
    attr[5] = if type_ == 0 { (1 << 5) | (1 << 6) } else { 0 };
    // SAFETY: attr is a valid perf_event_attr of the size it declares.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            0,
            -1,
            -1,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    (fd >= 0).then_some(fd as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_codes_and_sizes() {
        for name in Context::names() {
            let c = Context::from_name(name).unwrap();
            assert_eq!(Context::from_code(c as u8), Some(c));
            assert_eq!(c.name(), name);
        }
        assert_eq!(
            Context::from_name("perf:thread:cs"),
            Some(PerfContextSwitches)
        );
        assert_eq!(PerfPageFault.field_name(), "_perf_thread_page_fault");
        assert_eq!(Context::from_name("nope"), None);
        assert_eq!(Context::from_code(0), None);
        let set = ContextSet::new(vec![Vpid, Ip, Procname, Vuid]);
        assert_eq!(set.len, 4 + 8 + 17 + 4);
        let mut buf = [0u8; 33];
        let mut out = Out::new(&mut buf);
        set.write(&mut out, b"abcdefghijklmnop\0", 0x1234);
        assert_eq!(out.position(), 33);
        assert_eq!(&buf[4..12], &0x1234u64.to_le_bytes());
        assert_eq!(&buf[12..29], b"abcdefghijklmnop\0");
        // SAFETY: getuid has no preconditions.
        assert_eq!(&buf[29..33], &unsafe { libc::getuid() }.to_le_bytes());
        // The page-fault counter of this thread moves when pages are touched.
        let a = perf_read(PerfPageFault);
        let v = vec![1u8; 1 << 22];
        let b = perf_read(PerfPageFault);
        assert!(v[1 << 21] == 1 && (b >= a), "{a} {b}");
    }
}
