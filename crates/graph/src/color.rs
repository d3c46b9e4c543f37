//! Terminal colors, decided the way babeltrace2 decides them.

use std::io::IsTerminal;

/// Escape strings for each kind of printed item (all empty when colors
/// are off).
#[derive(Debug, Clone, Copy, Default)]
pub struct Colors {
    pub name: &'static str,
    pub field_name: &'static str,
    pub reset: &'static str,
    pub string: &'static str,
    pub number: &'static str,
    pub enum_label: &'static str,
    pub unknown: &'static str,
    pub event_name: &'static str,
    pub timestamp: &'static str,
}

/// Raw codes for warnings.
pub struct TermCodes {
    pub yellow: &'static str,
    pub bold: &'static str,
    pub reset: &'static str,
}

/// Whether the terminal supports colors: `BABELTRACE_TERM_COLOR=ALWAYS`,
/// or (not `NEVER` and) a known `TERM` with stdout and stderr on a TTY.
pub fn terminal_supports_colors() -> bool {
    match std::env::var("BABELTRACE_TERM_COLOR").ok().as_deref() {
        Some(v) if v.eq_ignore_ascii_case("always") => return true,
        Some(v) if v.eq_ignore_ascii_case("never") => return false,
        _ => {}
    }
    let term = std::env::var("TERM").unwrap_or_default();
    let known = [
        "xterm", "rxvt", "konsole", "gnome", "screen", "tmux", "putty",
    ]
    .iter()
    .any(|t| term.starts_with(t));
    known && std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

/// Whether "bright" colors are drawn as bold + normal color (babeltrace2's
/// default) rather than with the 9x codes.
fn bright_means_bold() -> bool {
    std::env::var("BABELTRACE_TERM_COLOR_BRIGHT_MEANS_BOLD").as_deref() != Ok("0")
        && std::env::var("TERM").as_deref() != Ok("xterm-kitty")
}

impl Colors {
    /// No colors.
    pub fn none() -> Self {
        Colors::default()
    }

    /// Colors if `enabled` and the terminal supports them.
    pub fn new(enabled: bool) -> Self {
        if !enabled || !terminal_supports_colors() {
            return Colors::none();
        }
        const BOLD: &str = "\x1b[1m";
        let (red, magenta, yellow) = if bright_means_bold() {
            (
                "\x1b[1m\x1b[1m\x1b[31m",
                "\x1b[1m\x1b[1m\x1b[35m",
                "\x1b[1m\x1b[1m\x1b[33m",
            )
        } else {
            ("\x1b[1m\x1b[91m", "\x1b[1m\x1b[95m", "\x1b[1m\x1b[93m")
        };
        Colors {
            name: BOLD,
            field_name: "\x1b[36m",
            reset: "\x1b[0m",
            string: BOLD,
            number: BOLD,
            enum_label: BOLD,
            unknown: red,
            event_name: magenta,
            timestamp: yellow,
        }
    }

    /// Codes for the discarded-items warnings (independent of `--color`).
    pub fn terminal_warning() -> TermCodes {
        if terminal_supports_colors() {
            TermCodes {
                yellow: "\x1b[33m",
                bold: "\x1b[1m",
                reset: "\x1b[0m",
            }
        } else {
            TermCodes {
                yellow: "",
                bold: "",
                reset: "",
            }
        }
    }
}
