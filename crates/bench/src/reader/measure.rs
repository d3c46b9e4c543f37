//! Runs one child process and measures it: wall-clock time, CPU time and
//! peak resident set size.
//!
//! The child is reaped with `wait4`, which returns that child's own
//! `rusage`; `getrusage(RUSAGE_CHILDREN)` would instead report the maximum
//! over every child reaped so far, mixing the tools' figures.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// What one run of a child cost, and how it ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub wall: Duration,
    /// User + system CPU time.
    pub cpu: Duration,
    /// Peak resident set size in bytes.
    pub max_rss: u64,
    /// `None` when the child exited with status 0, else a one-line reason:
    /// the first non-empty line of its stderr, or how it ended.
    pub failure: Option<String>,
}

/// Most of a child's stderr kept for the failure line; the rest is read
/// and dropped so the child never blocks on a full pipe.
const STDERR_KEEP: usize = 64 * 1024;

/// Runs `cmd` with stdin from /dev/null, stdout to `stdout`, stderr
/// captured, and waits for it. Errors only when the child cannot be
/// started or waited for; a child that fails is an [`Outcome`] with
/// `failure` set.
pub fn run(cmd: &mut Command, stdout: Stdio) -> Result<Outcome> {
    let what = format!("{:?}", cmd.get_program());
    cmd.stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {what}"))?;
    let mut stderr = child
        .stderr
        .take()
        .context("child stderr was not captured")?;
    let reader = std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match stderr.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = STDERR_KEEP.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        kept
    });
    let pid = child.id() as libc::pid_t;
    let (status, usage) = wait4(pid).with_context(|| format!("cannot wait for {what}"))?;
    let wall = start.elapsed();
    // The child is reaped: dropping `child` does not wait, and its pipes
    // were taken above.
    drop(child);
    let stderr = reader.join().unwrap_or_default();

    let failure = if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        None
    } else {
        let how = if libc::WIFEXITED(status) {
            format!("exit status {}", libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            format!("killed by signal {}", libc::WTERMSIG(status))
        } else {
            format!("wait status {status:#x}")
        };
        Some(first_line(&stderr).unwrap_or(how))
    };
    Ok(Outcome {
        wall,
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        // Linux reports ru_maxrss in KiB.
        max_rss: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
        failure,
    })
}

/// The first non-empty line of `bytes`, trimmed.
pub fn first_line(bytes: &[u8]) -> Option<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_owned)
}

fn wait4(pid: libc::pid_t) -> std::io::Result<(libc::c_int, libc::rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live, writable locals of the types
        // wait4 expects; `pid` is our own unreaped child.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            return Ok((status, usage));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
}
