//! Event rules: what `ltt enable-event -u` adds to a channel. An event is
//! recorded when an enabled rule matches its name (glob, minus exclusions)
//! and log level; its filters are those of the matching rules, OR-ed (a
//! matching rule without filter records every hit), as in LTTng.

use serde::{Deserialize, Serialize};

use crate::glob::glob_match;

/// LTTng's log-level condition of a rule. Levels run from 0 (EMERG, most
/// severe) to 14 (DEBUG); events declared without one are DEBUG_LINE (13).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogLevelRule {
    /// Any level.
    #[default]
    All,
    /// `--loglevel L`: this level or a more severe one (`<= L`).
    AtLeast(u8),
    /// `--loglevel-only L`: exactly this level.
    Only(u8),
}

impl LogLevelRule {
    pub fn matches(self, level: u8) -> bool {
        match self {
            LogLevelRule::All => true,
            LogLevelRule::AtLeast(l) => level <= l,
            LogLevelRule::Only(l) => level == l,
        }
    }
}

/// The names of LTTng's 15 log levels, as `--loglevel` accepts them (with
/// or without the `TRACE_` prefix, any case).
pub const LOGLEVEL_NAMES: [&str; 15] = [
    "EMERG",
    "ALERT",
    "CRIT",
    "ERR",
    "WARNING",
    "NOTICE",
    "INFO",
    "DEBUG_SYSTEM",
    "DEBUG_PROGRAM",
    "DEBUG_PROCESS",
    "DEBUG_MODULE",
    "DEBUG_UNIT",
    "DEBUG_FUNCTION",
    "DEBUG_LINE",
    "DEBUG",
];

/// A log level by LTTng name (`TRACE_WARNING`, `warning`) or number.
pub fn parse_loglevel(s: &str) -> Option<u8> {
    if let Ok(n) = s.parse::<u8>() {
        return (n < 15).then_some(n);
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("TRACE_").unwrap_or(&up);
    LOGLEVEL_NAMES
        .iter()
        .position(|l| *l == name)
        .map(|i| i as u8)
}

/// One `enable-event` rule of a channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRule {
    /// Glob on `provider:event` names (`*` for all).
    pub pattern: String,
    /// Names (globs) excluded from `pattern`.
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub loglevel: LogLevelRule,
    /// An LTTng filter expression.
    #[serde(default)]
    pub filter: Option<String>,
    /// `disable-event` keeps the rule, disabled.
    pub enabled: bool,
}

impl EventRule {
    /// A rule enabling the events matching `pattern`.
    pub fn new(pattern: impl Into<String>) -> EventRule {
        EventRule {
            pattern: pattern.into(),
            exclude: Vec::new(),
            loglevel: LogLevelRule::All,
            filter: None,
            enabled: true,
        }
    }

    /// Whether the rule, enabled or not, selects the event.
    pub fn selects(&self, name: &str, loglevel: u8) -> bool {
        glob_match(&self.pattern, name)
            && !self.exclude.iter().any(|x| glob_match(x, name))
            && self.loglevel.matches(loglevel)
    }

    /// Whether two rules are the same rule for LTTng (`enable-event` of an
    /// existing rule re-enables it rather than adding one).
    pub fn same_rule(&self, other: &EventRule) -> bool {
        self.pattern == other.pattern
            && self.exclude == other.exclude
            && self.loglevel == other.loglevel
            && self.filter == other.filter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loglevels_and_exclusions() {
        assert_eq!(parse_loglevel("TRACE_WARNING"), Some(4));
        assert_eq!(parse_loglevel("debug_line"), Some(13));
        assert_eq!(parse_loglevel("14"), Some(14));
        assert_eq!(parse_loglevel("15"), None);
        assert_eq!(parse_loglevel("LOUD"), None);
        let mut r = EventRule::new("demo:*");
        r.exclude = vec!["demo:noisy*".into()];
        r.loglevel = LogLevelRule::AtLeast(4);
        assert!(r.selects("demo:a", 2));
        assert!(!r.selects("demo:a", 6));
        assert!(!r.selects("demo:noisy_one", 2));
        assert!(!r.selects("other:a", 2));
        r.loglevel = LogLevelRule::Only(6);
        assert!(r.selects("demo:a", 6) && !r.selects("demo:a", 5));
    }
}
