//! What the daemon asks of the system: local time for names and the
//! metadata, host name, identifiers, and the monotonic clock's offset from
//! the epoch. Safe wrappers over libc; `unsafe` stays here.

use std::io;

/// Broken-down local time plus its UTC offset in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub utc_offset: i64,
}

impl LocalTime {
    /// Now, in the local time zone (`TZ` honoured).
    pub fn now() -> LocalTime {
        // SAFETY: time(NULL) has no preconditions.
        let t = unsafe { libc::time(std::ptr::null_mut()) };
        // SAFETY: a zeroed tm is a valid out-buffer.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers; localtime_r is thread-safe.
        unsafe { libc::localtime_r(&t, &mut tm) };
        LocalTime {
            year: tm.tm_year + 1900,
            month: (tm.tm_mon + 1) as u32,
            day: tm.tm_mday as u32,
            hour: tm.tm_hour as u32,
            minute: tm.tm_min as u32,
            second: tm.tm_sec as u32,
            utc_offset: tm.tm_gmtoff,
        }
    }

    /// `YYYYmmdd-HHMMSS`, LTTng's session directory suffix.
    pub fn dir_suffix(&self) -> String {
        format!(
            "{:04}{:02}{:02}-{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// `YYYYmmddTHHMMSS±HHMM`, LTTng's `trace_creation_datetime`.
    pub fn iso8601_basic(&self) -> String {
        let sign = if self.utc_offset < 0 { '-' } else { '+' };
        let off = self.utc_offset.unsigned_abs() / 60;
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}{sign}{:02}{:02}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            off / 60,
            off % 60
        )
    }
}

/// The host name (UTS namespace node name), as LTTng writes it.
pub fn hostname() -> String {
    // SAFETY: a zeroed utsname is a valid out-buffer.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: valid out-pointer.
    if unsafe { libc::uname(&mut u) } != 0 {
        return String::from("localhost");
    }
    let bytes: Vec<u8> = u
        .nodename
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The real user id of this process.
pub fn uid() -> u32 {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() }
}

/// The id of user `name` (through NSS, as `id -u NAME` does).
pub fn user_id(name: &str) -> Option<u32> {
    let name = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: `pw` and `buf` outlive the call; `found` is set to null or
    // to `pw`, and only read below.
    unsafe {
        let mut pw: libc::passwd = std::mem::zeroed();
        let mut found = std::ptr::null_mut();
        let r = libc::getpwnam_r(
            name.as_ptr(),
            &mut pw,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut found,
        );
        (r == 0 && !found.is_null()).then_some(pw.pw_uid)
    }
}

/// The id of group `name` (through NSS, as `getent group NAME` does).
pub fn group_id(name: &str) -> Option<u32> {
    let name = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0u8; 64 * 1024];
    // SAFETY: as in `user_id`.
    unsafe {
        let mut gr: libc::group = std::mem::zeroed();
        let mut found = std::ptr::null_mut();
        let r = libc::getgrnam_r(
            name.as_ptr(),
            &mut gr,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut found,
        );
        (r == 0 && !found.is_null()).then_some(gr.gr_gid)
    }
}

/// 16 random bytes, as a version-4 UUID.
pub fn random_uuid() -> io::Result<[u8; 16]> {
    let mut u = [0u8; 16];
    let mut filled = 0;
    while filled < u.len() {
        // SAFETY: writes at most the remaining bytes of `u`.
        let n = unsafe { libc::getrandom(u[filled..].as_mut_ptr().cast(), u.len() - filled, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        filled += n as usize;
    }
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    Ok(u)
}

/// The kernel's boot id: LTTng's clock UUID (same boot, same clock).
pub fn boot_id() -> Option<[u8; 16]> {
    let text = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let hex: String = text.trim().chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut u = [0u8; 16];
    for (i, b) in u.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(u)
}

fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out-pointer; both clocks always exist.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
}

/// CLOCK_REALTIME − CLOCK_MONOTONIC in ns: the metadata clock `offset`
/// (LTTng measures it the same way, keeping the tightest of a few samples).
pub fn monotonic_offset_ns() -> i64 {
    let mut best: Option<(i128, i128)> = None;
    for _ in 0..10 {
        let m0 = clock_ns(libc::CLOCK_MONOTONIC);
        let r = clock_ns(libc::CLOCK_REALTIME);
        let m1 = clock_ns(libc::CLOCK_MONOTONIC);
        let width = m1 - m0;
        let offset = r - (m0 + width / 2);
        if best.is_none_or(|(w, _)| width < w) {
            best = Some((width, offset));
        }
    }
    best.map_or(0, |(_, o)| o as i64)
}

/// Allocate (and zero) every page of a shared-memory file now, so that
/// tracing apps never pay for zeroing fresh pages in their first pass over
/// the buffers; they still map each page once. (`fallocate` would not do:
/// shmem zeroes fallocated pages lazily, at the first fault.)
pub fn preallocate(fd: std::os::fd::BorrowedFd<'_>, len: usize) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a fresh shared mapping of a valid fd, chosen by the kernel;
    // MAP_POPULATE faults every page in; nothing is read or written here.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_POPULATE,
            fd.as_raw_fd(),
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: unmapping exactly the mapping made above, used by nothing else.
    unsafe { libc::munmap(p, len) };
    Ok(())
}

/// While alive, Ctrl-C and Ctrl-\\ (SIGINT, SIGQUIT) are ignored by this
/// process, as `system(3)` does: the terminal sends them to the traced
/// command too, and we must outlive it to finish the trace. Restored on drop.
pub struct TerminalSignalsIgnored {
    old: [(libc::c_int, libc::sighandler_t); 2],
}

impl TerminalSignalsIgnored {
    pub fn new() -> TerminalSignalsIgnored {
        let old = [libc::SIGINT, libc::SIGQUIT].map(|sig| {
            // SAFETY: installs SIG_IGN, which runs no code in this process.
            (sig, unsafe { libc::signal(sig, libc::SIG_IGN) })
        });
        TerminalSignalsIgnored { old }
    }
}

impl Default for TerminalSignalsIgnored {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TerminalSignalsIgnored {
    fn drop(&mut self) {
        for (sig, handler) in self.old {
            if handler != libc::SIG_ERR {
                // SAFETY: restores the disposition signal() returned.
                unsafe { libc::signal(sig, handler) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = LocalTime {
            year: 2026,
            month: 1,
            day: 2,
            hour: 3,
            minute: 4,
            second: 5,
            utc_offset: -(5 * 3600 + 30 * 60),
        };
        assert_eq!(t.dir_suffix(), "20260102-030405");
        assert_eq!(t.iso8601_basic(), "20260102T030405-0530");
        let u = random_uuid().unwrap();
        assert_eq!(u[6] >> 4, 4);
        assert!(monotonic_offset_ns() > 0);
    }
}
