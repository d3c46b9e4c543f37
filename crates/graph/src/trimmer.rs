//! `filter.utils.trimmer`: keeps the messages within [begin, end]. It sits
//! after the muxer, so times are monotonic: the first message past `end`
//! ends the output.

use crate::clock::ClockClass;
use crate::iter::MessageIterator;
use crate::message::{Discarded, Message, MessageKind};
use crate::timefmt;
use crate::Error;

/// A trimmer bound as the user wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Nanoseconds from origin.
    Ns(i64),
    /// A time of day (ns since midnight); the date is the first message's.
    TimeOfDay(i64),
}

/// Parses `YYYY-MM-DD HH:MM[:SS[.NANO]]`, `HH:MM[:SS[.NANO]]` or
/// `[-]SEC[.NANO]`, in local time unless `gmt`.
pub fn parse_bound(s: &str, gmt: bool) -> Result<Bound, String> {
    let bad = || {
        format!("invalid time `{s}`: expected YYYY-MM-DD HH:MM[:SS[.NANO]], HH:MM[:SS[.NANO]] or [-]SEC[.NANO]")
    };
    let s = s.trim();
    if let Some((date, time)) = s.split_once(' ') {
        let parts: Vec<&str> = date.split('-').collect();
        if parts.len() != 3 {
            return Err(bad());
        }
        let y: i64 = parts[0].parse().map_err(|_| bad())?;
        let mo: u32 = parts[1].parse().map_err(|_| bad())?;
        let d: u32 = parts[2].parse().map_err(|_| bad())?;
        let tod = time_of_day(time).ok_or_else(bad)?;
        let midnight = timefmt::to_epoch(y, mo, d, gmt).ok_or_else(bad)?;
        return Ok(Bound::Ns(midnight * 1_000_000_000 + tod));
    }
    if s.contains(':') {
        return time_of_day(s).map(Bound::TimeOfDay).ok_or_else(bad);
    }
    let (neg, digits) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (sec, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let sec: i64 = sec.parse().map_err(|_| bad())?;
    let ns = parse_fraction(frac).ok_or_else(bad)?;
    let v = sec
        .checked_mul(1_000_000_000)
        .and_then(|v| v.checked_add(ns))
        .ok_or_else(bad)?;
    Ok(Bound::Ns(if neg { -v } else { v }))
}

/// `HH:MM[:SS[.NANO]]` to ns since midnight.
fn time_of_day(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let h: i64 = parts[0].parse().ok()?;
    let m: i64 = parts[1].parse().ok()?;
    let (sec, ns) = match parts.get(2) {
        Some(p) => {
            let (sec, frac) = p.split_once('.').unwrap_or((p, ""));
            (sec.parse().ok()?, parse_fraction(frac)?)
        }
        None => (0i64, 0),
    };
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some(((h * 60 + m) * 60 + sec) * 1_000_000_000 + ns)
}

fn parse_fraction(frac: &str) -> Option<i64> {
    if frac.is_empty() {
        return Some(0);
    }
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i64 = frac.parse().ok()?;
    Some(v * 10i64.pow(9 - frac.len() as u32))
}

/// The trimmer.
pub struct Trimmer<I: MessageIterator> {
    upstream: I,
    /// A discarded-items message clamped to the bounds (its count dropped,
    /// as it no longer applies to the shorter range), replacing upstream's.
    clamped: Option<Discarded>,
    begin: Option<Bound>,
    end: Option<Bound>,
    gmt: bool,
    resolved: bool,
    done: bool,
}

impl<I: MessageIterator> Trimmer<I> {
    pub fn new(upstream: I, begin: Option<Bound>, end: Option<Bound>, gmt: bool) -> Self {
        Trimmer {
            upstream,
            clamped: None,
            begin,
            end,
            gmt,
            resolved: false,
            done: false,
        }
    }

    /// Turns time-of-day bounds into absolute times using the first
    /// message's date.
    fn resolve(&mut self, first_ns: i64) {
        let day = |tod: i64, gmt: bool| -> i64 {
            let secs = first_ns.div_euclid(1_000_000_000);
            let tm = if gmt {
                Some(timefmt::gmtime(secs))
            } else {
                timefmt::localtime(secs)
            };
            let midnight = tm
                .and_then(|t| timefmt::to_epoch(t.year, t.month, t.day, gmt))
                .unwrap_or(0);
            midnight * 1_000_000_000 + tod
        };
        for b in [&mut self.begin, &mut self.end].into_iter().flatten() {
            if let Bound::TimeOfDay(tod) = *b {
                *b = Bound::Ns(day(tod, self.gmt));
            }
        }
        self.resolved = true;
    }

    fn ns(b: Option<Bound>) -> Option<i64> {
        match b {
            Some(Bound::Ns(n)) => Some(n),
            _ => None,
        }
    }
}

impl<I: MessageIterator> MessageIterator for Trimmer<I> {
    fn advance(&mut self) -> Result<bool, Error> {
        if self.done {
            return Ok(false);
        }
        self.clamped = None;
        loop {
            if !self.upstream.advance()? {
                self.done = true;
                return Ok(false);
            }
            let (ns, keep_always, discarded) = {
                let msg = self.upstream.current();
                let always = matches!(
                    msg.kind,
                    MessageKind::StreamBeginning | MessageKind::StreamEnd
                );
                let discarded = match msg.kind {
                    MessageKind::DiscardedEvents(d) | MessageKind::DiscardedPackets(d) => {
                        msg.stream.clock().map(|c| (d, c.clone()))
                    }
                    _ => None,
                };
                (msg.ns(), always, discarded)
            };
            let Some(ns) = ns else {
                return Ok(true);
            };
            if !self.resolved {
                self.resolve(ns);
            }
            if Self::ns(self.end).is_some_and(|end| ns > end) {
                self.done = true;
                return Ok(false);
            }
            if let Some((d, clock)) = discarded {
                match self.clamp(d, &clock) {
                    Some(c) => {
                        self.clamped = (c != d).then_some(c);
                        return Ok(true);
                    }
                    None => continue,
                }
            }
            if Self::ns(self.begin).is_some_and(|begin| ns < begin) && !keep_always {
                continue;
            }
            return Ok(true);
        }
    }

    fn current(&self) -> Message<'_> {
        let msg = self.upstream.current();
        match (self.clamped, msg.kind) {
            (Some(c), MessageKind::DiscardedEvents(_)) => Message {
                kind: MessageKind::DiscardedEvents(c),
                clock: c.begin,
                ..msg
            },
            (Some(c), MessageKind::DiscardedPackets(_)) => Message {
                kind: MessageKind::DiscardedPackets(c),
                clock: c.begin,
                ..msg
            },
            _ => msg,
        }
    }
}

impl<I: MessageIterator> Trimmer<I> {
    /// A discarded-items range clipped to the bounds; `None` when it ends
    /// before `begin`.
    fn clamp(&self, d: Discarded, clock: &ClockClass) -> Option<Discarded> {
        let (Some(b), Some(e)) = (d.begin, d.end) else {
            return Some(d);
        };
        let (bn, en) = (clock.ns_from_origin(b)?, clock.ns_from_origin(e)?);
        let mut out = d;
        if let Some(begin) = Self::ns(self.begin) {
            if en < begin {
                return None;
            }
            if bn < begin {
                out.begin = clock.cycles_from_ns(begin);
                out.count = None;
            }
        }
        if let Some(end) = Self::ns(self.end) {
            if en > end {
                out.end = clock.cycles_from_ns(end);
                out.count = None;
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bounds() {
        assert_eq!(parse_bound("12.5", true), Ok(Bound::Ns(12_500_000_000)));
        assert_eq!(
            parse_bound("-1.000000001", true),
            Ok(Bound::Ns(-1_000_000_001))
        );
        assert_eq!(
            parse_bound("1970-01-02 00:00:01", true),
            Ok(Bound::Ns(86_401_000_000_000))
        );
        assert_eq!(
            parse_bound("01:02", true),
            Ok(Bound::TimeOfDay(3_720_000_000_000))
        );
        assert!(parse_bound("yesterday", true).is_err());
        assert!(parse_bound("25:00", true).is_err());
    }
}
