//! Formatting of times the way `sink.text.pretty` prints them.

/// Broken-down calendar time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tm {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
}

/// Seconds since the epoch to UTC calendar time.
pub fn gmtime(secs: i64) -> Tm {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    Tm {
        year: if m <= 2 { y + 1 } else { y },
        month: m,
        day: d,
        hour: (rem / 3600) as u32,
        min: (rem % 3600 / 60) as u32,
        sec: (rem % 60) as u32,
    }
}

/// Seconds since the epoch to local calendar time (the C library's
/// `localtime_r`, honouring `TZ`), or `None` if it fails.
#[cfg(unix)]
pub fn localtime(secs: i64) -> Option<Tm> {
    let t = secs as libc::time_t;
    // SAFETY: `tm` is plain data fully written by localtime_r on success;
    // both pointers are valid for the call.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return None;
        }
        Some(Tm {
            year: tm.tm_year as i64 + 1900,
            month: (tm.tm_mon + 1) as u32,
            day: tm.tm_mday as u32,
            hour: tm.tm_hour as u32,
            min: tm.tm_min as u32,
            sec: tm.tm_sec as u32,
        })
    }
}

/// Elsewhere local time is UTC.
#[cfg(not(unix))]
pub fn localtime(secs: i64) -> Option<Tm> {
    Some(gmtime(secs))
}

/// Midnight of a calendar date, in seconds since the epoch: UTC when
/// `gmt`, else local time.
pub fn to_epoch(year: i64, month: u32, day: u32, gmt: bool) -> Option<i64> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    if gmt {
        return Some(days_from_civil(year, month, day) * 86_400);
    }
    local_midnight(year, month, day)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(unix)]
fn local_midnight(year: i64, month: u32, day: u32) -> Option<i64> {
    // SAFETY: `tm` is plain data; mktime reads and normalizes it.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        tm.tm_year = (year - 1900) as libc::c_int;
        tm.tm_mon = month as libc::c_int - 1;
        tm.tm_mday = day as libc::c_int;
        tm.tm_isdst = -1;
        let t = libc::mktime(&mut tm);
        (t != -1).then_some(t as i64)
    }
}

#[cfg(not(unix))]
fn local_midnight(year: i64, month: u32, day: u32) -> Option<i64> {
    Some(days_from_civil(year, month, day) * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_leap_day() {
        assert_eq!(
            gmtime(0),
            Tm {
                year: 1970,
                month: 1,
                day: 1,
                hour: 0,
                min: 0,
                sec: 0
            }
        );
        // 2024-02-29 12:34:56 UTC
        assert_eq!(
            gmtime(1_709_210_096),
            Tm {
                year: 2024,
                month: 2,
                day: 29,
                hour: 12,
                min: 34,
                sec: 56
            }
        );
        assert_eq!(gmtime(-1).year, 1969);
    }
}
