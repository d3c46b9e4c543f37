//! `ltt-sessiond`: the per-user session daemon. `ltt` starts it on demand;
//! start it yourself with `ltt-sessiond --daemonize`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use ltt_sessiond::control::{self, Client};

/// The ltt session daemon: keeps the user's tracing sessions, hands trace
/// buffers to traced apps and writes their traces. One per user: root's
/// lives in /run/ltt, other users' in $LTT_HOME or ~/.ltt.
#[derive(Parser, Debug)]
#[command(name = "ltt-sessiond", version)]
struct Args {
    /// Run in the background: return once the daemon accepts commands.
    #[arg(short = 'd', long)]
    daemonize: bool,
    /// The daemon's directory (default: $LTT_HOME, /run/ltt for root,
    /// ~/.ltt otherwise). Must be private to the user (mode 0700).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let dir = match args.dir.map_or_else(control::daemon_dir, Ok) {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    let outcome = if args.daemonize {
        daemonize(&dir)
    } else {
        ltt_sessiond::daemon::run(&dir)
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("ltt-sessiond: error: {msg}");
    ExitCode::FAILURE
}

/// Start this program again, detached (own process group, no terminal
/// I/O), and wait until it answers.
fn daemonize(dir: &std::path::Path) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    if Client::connect(dir).is_ok() {
        return Err(format!("a daemon already serves {}", dir.display()));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = std::process::Command::new(exe)
        .arg("--dir")
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if Client::connect(dir).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the daemon exited: {status}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err("the daemon did not start in time".into())
}
