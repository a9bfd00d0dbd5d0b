//! Local time: `localtime_r(3)` turns seconds since the epoch into the
//! calendar fields of the system's time zone (`TZ`, `/etc/localtime`), as
//! tcpdump names its rotated files. The formatting itself is ours
//! ([`crate::pcap::strftime`]), free of the C library's locale.

use std::ffi::CStr;

use crate::error::{Error, Result};

/// A moment in calendar fields, in some time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarTime {
    /// Year, e.g. 2026.
    pub year: i64,
    /// Month, 1..=12.
    pub month: u32,
    /// Day of the month, 1..=31.
    pub day: u32,
    /// Hour, 0..=23.
    pub hour: u32,
    /// Minute, 0..=59.
    pub minute: u32,
    /// Second, 0..=60 (a leap second).
    pub second: u32,
    /// Day of the week, 0 = Sunday.
    pub weekday: u32,
    /// Day of the year, 0..=365.
    pub yearday: u32,
    /// Offset from UTC in seconds (east positive).
    pub utc_offset: i64,
    /// The zone's abbreviation (`UTC`, `CET`), empty if unknown.
    pub zone: String,
    /// Seconds since the epoch this was made from.
    pub epoch: i64,
}

/// `secs` (seconds since the epoch) in the local time zone.
///
/// # Errors
/// [`Error::InvalidConfig`] if the time cannot be represented.
pub fn local_time(secs: i64) -> Result<CalendarTime> {
    // SAFETY: an all-zero `struct tm` is a valid value (integers and a null
    // zone pointer); localtime_r overwrites it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let t: libc::time_t = secs as libc::time_t;
    // SAFETY: both pointers refer to live, properly aligned locals.
    if unsafe { libc::localtime_r(&raw const t, &raw mut tm) }.is_null() {
        return Err(Error::config("time", secs, "cannot be converted to local time"));
    }
    let zone = if tm.tm_zone.is_null() {
        String::new()
    } else {
        // SAFETY: glibc and musl point tm_zone at a NUL-terminated string in
        // their static zone tables, valid for the life of the process (until
        // the next tzset, which only this module calls, on this thread).
        unsafe { CStr::from_ptr(tm.tm_zone) }.to_string_lossy().into_owned()
    };
    Ok(CalendarTime {
        year: i64::from(tm.tm_year) + 1900,
        month: (tm.tm_mon + 1) as u32,
        day: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        minute: tm.tm_min as u32,
        second: tm.tm_sec as u32,
        weekday: tm.tm_wday as u32,
        yearday: tm.tm_yday as u32,
        utc_offset: tm.tm_gmtoff,
        zone,
        epoch: secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "calls into libc's time zone code")]
    fn fields_are_consistent_with_the_offset() {
        let t = local_time(1_700_000_000).unwrap();
        // Whatever the zone, the fields and the offset give back the epoch.
        let (y, m) = if t.month <= 2 { (t.year - 1, i64::from(t.month) + 9) } else { (t.year, i64::from(t.month) - 3) };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * m + 2) / 5 + i64::from(t.day) - 1;
        let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
        let secs = days * 86400 + i64::from(t.hour * 3600 + t.minute * 60 + t.second) - t.utc_offset;
        assert_eq!(secs, 1_700_000_000);
        assert!(t.weekday < 7 && t.yearday < 366);
    }
}
