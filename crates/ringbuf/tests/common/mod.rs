//! Test helpers: a checksummed test event in the LTTng large event header
//! (extended form), packet checks, and a CTF trace directory (metadata plus
//! one file per stream) that babeltrace2 reads.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use ltt_ringbuf::packet::{self, HEADER_SIZE};

/// u16 id marker + u32 id + u64 timestamp + u32 value + u32 checksum.
pub const EVENT_SIZE: usize = 22;
pub const UUID: [u8; 16] = *b"ltt-ringbuf-test";

/// The small rseq discard channel the cross-process tests share: 4 × 4 KiB
/// sub-buffers per CPU, so drops happen.
pub fn small_discard_channel() -> ltt_ringbuf::Channel {
    use ltt_ringbuf::{Channel, Config, Mode, Reserve};
    Channel::create(&Config {
        subbuf_size: 4096,
        num_subbufs: 4,
        max_records: 256,
        mode: Mode::Discard,
        reserve: Reserve::Rseq,
        uuid: UUID,
        ..Config::default()
    })
    .expect("create the test channel")
}

pub fn checksum(value: u32, ts: u64) -> u32 {
    let mut h = value ^ 0xa5a5_5a5a;
    h = h.wrapping_mul(0x9e37_79b1) ^ (ts as u32) ^ ((ts >> 32) as u32).rotate_left(7);
    h ^ (h >> 15)
}

pub fn encode_event(buf: &mut [u8], value: u32, ts: u64) {
    buf[0..2].copy_from_slice(&0xffffu16.to_le_bytes());
    buf[2..6].copy_from_slice(&0u32.to_le_bytes());
    buf[6..14].copy_from_slice(&ts.to_le_bytes());
    buf[14..18].copy_from_slice(&value.to_le_bytes());
    buf[18..22].copy_from_slice(&checksum(value, ts).to_le_bytes());
}

/// Check a packet's header against its bytes and every event's checksum;
/// returns the (value, ts) pairs.
pub fn check_packet(bytes: &[u8]) -> Result<Vec<(u32, u64)>, String> {
    let h = packet::read_header(bytes).ok_or("bad packet magic")?;
    if h.uuid != UUID {
        return Err("bad uuid".into());
    }
    if h.content_size != bytes.len() as u64 * 8 || h.packet_size != h.content_size {
        return Err(format!(
            "content_size {} for {} bytes",
            h.content_size,
            bytes.len()
        ));
    }
    if h.timestamp_begin > h.timestamp_end {
        return Err("timestamp_begin > timestamp_end".into());
    }
    let body = &bytes[HEADER_SIZE..];
    if !body.len().is_multiple_of(EVENT_SIZE) {
        return Err(format!(
            "{} bytes of events is not a whole number of events",
            body.len()
        ));
    }
    let mut out = Vec::new();
    let mut last = h.timestamp_begin;
    for ev in body.chunks(EVENT_SIZE) {
        let id = u16::from_le_bytes([ev[0], ev[1]]);
        let ts = u64::from_le_bytes(ev[6..14].try_into().unwrap());
        let value = u32::from_le_bytes(ev[14..18].try_into().unwrap());
        let sum = u32::from_le_bytes(ev[18..22].try_into().unwrap());
        if id != 0xffff || ev[2..6] != [0; 4] {
            return Err(format!("bad event header {:?}", &ev[..6]));
        }
        if sum != checksum(value, ts) {
            return Err(format!("checksum mismatch for value {value:#x}"));
        }
        if ts < last || ts > h.timestamp_end {
            return Err(format!(
                "timestamp {ts} outside [{last}, {}] (packet {})",
                h.timestamp_end, h.packet_seq_num
            ));
        }
        last = ts;
        out.push((value, ts));
    }
    Ok(out)
}

/// LTTng-like TSDL for the test event.
pub fn metadata(stream_id: u32) -> String {
    let u = UUID;
    let uuid = format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]
    );
    format!(
        r#"/* CTF 1.8 */

typealias integer {{ size = 8; align = 8; signed = false; }} := uint8_t;
typealias integer {{ size = 16; align = 8; signed = false; }} := uint16_t;
typealias integer {{ size = 32; align = 8; signed = false; }} := uint32_t;
typealias integer {{ size = 64; align = 8; signed = false; }} := uint64_t;
typealias integer {{ size = 64; align = 8; signed = false; }} := unsigned long;

trace {{
	major = 1;
	minor = 8;
	uuid = "{uuid}";
	byte_order = le;
	packet.header := struct {{
		uint32_t magic;
		uint8_t  uuid[16];
		uint32_t stream_id;
		uint64_t stream_instance_id;
	}};
}};

env {{
	hostname = "ltt-test";
	domain = "ust";
	tracer_name = "ltt-ringbuf-test";
	tracer_major = 0;
	tracer_minor = 1;
}};

clock {{
	name = "monotonic";
	description = "Monotonic Clock";
	freq = 1000000000;
	precision = 1;
	offset_s = 0;
	offset = 0;
	absolute = false;
}};

typealias integer {{ size = 32; align = 8; signed = false; map = clock.monotonic.value; }} := uint32_clock_monotonic_t;
typealias integer {{ size = 64; align = 8; signed = false; map = clock.monotonic.value; }} := uint64_clock_monotonic_t;

struct packet_context {{
	uint64_clock_monotonic_t timestamp_begin;
	uint64_clock_monotonic_t timestamp_end;
	uint64_t content_size;
	uint64_t packet_size;
	uint64_t packet_seq_num;
	unsigned long events_discarded;
	uint32_t cpu_id;
}};

struct event_header_large {{
	enum : uint16_t {{ compact = 0 ... 65534, extended = 65535 }} id;
	variant <id> {{
		struct {{
			uint32_clock_monotonic_t timestamp;
		}} compact;
		struct {{
			uint32_t id;
			uint64_clock_monotonic_t timestamp;
		}} extended;
	}} v;
}} align(8);

stream {{
	id = {stream_id};
	event.header := struct event_header_large;
	packet.context := struct packet_context;
}};

event {{
	name = "ltt_test:record";
	id = 0;
	stream_id = {stream_id};
	loglevel = 13;
	fields := struct {{
		integer {{ size = 32; align = 8; signed = 0; encoding = none; base = 10; }} _value;
		integer {{ size = 32; align = 8; signed = 0; encoding = none; base = 16; }} _checksum;
	}};
}};
"#
    )
}

/// A trace directory being written: `metadata` and `stream_N` files.
pub struct TraceDir {
    pub path: PathBuf,
    files: Vec<Option<std::fs::File>>,
}

impl TraceDir {
    pub fn new(name: &str, streams: usize, stream_id: u32) -> TraceDir {
        let path = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join("metadata"), metadata(stream_id)).unwrap();
        TraceDir {
            path,
            files: (0..streams).map(|_| None).collect(),
        }
    }

    pub fn write_packet(&mut self, stream: usize, bytes: &[u8]) {
        let path = self.path.join(format!("stream_{stream}"));
        let f = self.files[stream].get_or_insert_with(|| std::fs::File::create(path).unwrap());
        f.write_all(bytes).unwrap();
    }
}

impl Drop for TraceDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Run `babeltrace2` on `dir`: `Some((stdout, stderr))`, or `None` when the
/// tool is missing (which fails the test when LTT_REQUIRE_TOOLS=1).
pub fn babeltrace2(dir: &Path) -> Option<(String, String)> {
    let out = match Command::new("babeltrace2").arg(dir).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var("LTT_REQUIRE_TOOLS").is_ok_and(|v| v == "1") {
                panic!("babeltrace2 is not installed and LTT_REQUIRE_TOOLS=1");
            }
            eprintln!("\n*** SKIP: babeltrace2 not found; the trace was not checked with it ***\n");
            return None;
        }
        Err(e) => panic!("cannot run babeltrace2: {e}"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "babeltrace2 failed on {}:\n{stderr}",
        dir.display()
    );
    Some((stdout, stderr))
}

/// Environment variable giving a child process its socket fd.
pub const CHILD_FD_ENV: &str = "LTT_RB_CHILD_FD";

/// Re-run this test binary's test `test_name` as a child process that gets
/// the channel's memfd over a Unix socket (SCM_RIGHTS).
pub fn spawn_child(
    test_name: &str,
    envs: &[(&str, &str)],
    ch: &ltt_ringbuf::Channel,
) -> std::process::Child {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let (parent, child) = std::os::unix::net::UnixStream::pair().unwrap();
    let child_fd = child.as_raw_fd();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env(CHILD_FD_ENV, child_fd.to_string())
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::piped());
    // SAFETY: fcntl is async-signal-safe; it only clears FD_CLOEXEC on the
    // socket the child must inherit.
    unsafe {
        cmd.pre_exec(move || {
            if libc::fcntl(child_fd, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let c = cmd.spawn().unwrap();
    drop(child);
    ltt_ringbuf::send_fd(&parent, ch.fd()).unwrap();
    c
}

/// In a child started by [`spawn_child`]: the channel received from the parent.
pub fn child_channel() -> Option<ltt_ringbuf::Channel> {
    use std::os::fd::FromRawFd;
    let fd: i32 = std::env::var(CHILD_FD_ENV).ok()?.parse().ok()?;
    // SAFETY: the parent made this fd our inherited socket end; we own it.
    let sock = unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd) };
    let memfd = ltt_ringbuf::recv_fd(&sock).unwrap();
    Some(ltt_ringbuf::Channel::open(memfd).unwrap())
}

pub fn pin(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is empty; CPU_SET stays within bounds.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

pub fn unpin() {
    // SAFETY: as in `pin`.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for c in 0..ltt_rseq::possible_cpus() {
            libc::CPU_SET(c, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Reserve, encode and commit one test event.
pub fn write_event(
    ch: &ltt_ringbuf::Channel,
    value: u32,
) -> Result<usize, ltt_ringbuf::ReserveError> {
    let mut r = ch.reserve(EVENT_SIZE, ltt_ringbuf::monotonic_ns)?;
    let ts = r.timestamp();
    encode_event(r.bytes_mut(), value, ts);
    let s = r.stream();
    r.commit();
    Ok(s)
}
