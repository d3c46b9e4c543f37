//! Log levels as babeltrace2 names them (`-l/--log-level`,
//! `LTT_LOG_LEVEL`): the CLI reports what it found and did at `info` and
//! below, on stderr, so stdout stays the trace text.

use std::sync::atomic::{AtomicU8, Ordering};

/// Levels, most verbose last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    None = 0,
    Fatal,
    Error,
    Warning,
    Info,
    Debug,
    Trace,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Warning as u8);

/// Sets the level from `-l`; accepts babeltrace2's names and letters.
pub fn init(spec: Option<&str>) -> Result<(), String> {
    let Some(spec) = spec else { return Ok(()) };
    let level = match spec.to_ascii_uppercase().as_str() {
        "N" | "NONE" => Level::None,
        "F" | "FATAL" => Level::Fatal,
        "E" | "ERROR" => Level::Error,
        "W" | "WARN" | "WARNING" => Level::Warning,
        "I" | "INFO" => Level::Info,
        "D" | "DEBUG" => Level::Debug,
        "T" | "TRACE" => Level::Trace,
        _ => {
            return Err(format!(
                "unknown log level `{spec}` (expected none, fatal, error, warning, info, debug or trace)"
            ))
        }
    };
    LEVEL.store(level as u8, Ordering::Relaxed);
    Ok(())
}

/// Whether messages of `level` are shown.
pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// Prints an info-level line.
pub fn info(message: impl FnOnce() -> String) {
    if enabled(Level::Info) {
        eprintln!("ltt: info: {}", message());
    }
}

/// Prints a debug-level line.
pub fn debug(message: impl FnOnce() -> String) {
    if enabled(Level::Debug) {
        eprintln!("ltt: debug: {}", message());
    }
}
