//! Terminal colors, decided the way babeltrace2 decides them.

use std::io::IsTerminal;

/// Escape strings for each kind of printed item (all empty when colors
/// are off).
#[derive(Debug, Clone, Default)]
pub struct Colors {
    pub name: String,
    pub field_name: String,
    pub reset: String,
    pub string: String,
    pub number: String,
    pub enum_label: String,
    pub unknown: String,
    pub event_name: String,
    pub timestamp: String,
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

fn bright(code: u8) -> String {
    let bright_means_bold = std::env::var("BABELTRACE_TERM_COLOR_BRIGHT_MEANS_BOLD").as_deref()
        != Ok("0")
        && std::env::var("TERM").as_deref() != Ok("xterm-kitty");
    if bright_means_bold {
        format!("\x1b[1m\x1b[3{code}m")
    } else {
        format!("\x1b[9{code}m")
    }
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
        let bold = "\x1b[1m".to_string();
        Colors {
            name: bold.clone(),
            field_name: "\x1b[36m".into(),
            reset: "\x1b[0m".into(),
            string: bold.clone(),
            number: bold.clone(),
            enum_label: bold.clone(),
            unknown: format!("{bold}{}", bright(1)),
            event_name: format!("{bold}{}", bright(5)),
            timestamp: format!("{bold}{}", bright(3)),
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
