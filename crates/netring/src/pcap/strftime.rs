//! File names with the time in them: our own `strftime(3)` for the
//! patterns of `-w` with `-G`, as tcpdump expands them — in the local time
//! zone (tcpdump formats `localtime(3)`), in the C locale whatever the
//! environment's (English day and month names), so a name never depends
//! on `LC_TIME`.
//!
//! The conversions of POSIX `strftime` are all here (`%a %A %b %B %c %C %d
//! %D %e %F %g %G %h %H %I %j %m %M %n %p %r %R %S %t %T %u %U %V %w %W %x
//! %X %y %Y %z %Z %%`), with glibc's `%s` (seconds since the epoch), `%k`,
//! `%l` and `%P`. Anything else after a `%` is refused with the pattern
//! named, rather than passed through as some C libraries do.

use crate::error::{Error, Result};
pub use crate::sys::time::CalendarTime;

const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Expand `pattern` for `secs` (seconds since the epoch) in the local time
/// zone.
///
/// # Errors
/// [`Error::InvalidConfig`] naming the pattern: an unknown conversion, or
/// a `%` at its end.
pub fn strftime_local(pattern: &str, secs: i64) -> Result<String> {
    if !pattern.contains('%') {
        return Ok(pattern.to_owned());
    }
    format(pattern, &crate::sys::time::local_time(secs)?)
}

/// `secs` (seconds since the epoch) in UTC, without the C library.
pub fn utc_time(secs: i64) -> CalendarTime {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(days);
    CalendarTime {
        year,
        month,
        day,
        hour: rem / 3600,
        minute: rem / 60 % 60,
        second: rem % 60,
        weekday: (days + 4).rem_euclid(7) as u32, // 1970-01-01 was a Thursday
        yearday: (days - days_from_civil(year, 1, 1)) as u32,
        utc_offset: 0,
        zone: "UTC".to_owned(),
        epoch: secs,
    }
}

/// Days since 1970-01-01 of a date of the proleptic Gregorian calendar.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (y, m) = if month <= 2 { (year - 1, i64::from(month) + 9) } else { (year, i64::from(month) - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + i64::from(day) - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// The date of a day number of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// ISO 8601 week-based year and week number (`%G`, `%V`).
fn iso_week(t: &CalendarTime) -> (i64, u32) {
    let yday = i64::from(t.yearday);
    let wday = i64::from((t.weekday + 6) % 7); // Monday = 0
    let week = (yday - wday + 10) / 7; // the week holding this year's Thursday
    if week < 1 {
        let py = t.year - 1;
        let pdays = if is_leap(py) { 366 } else { 365 };
        let pweek = (yday + pdays - wday + 10) / 7;
        return (py, pweek as u32);
    }
    let days = if is_leap(t.year) { 366 } else { 365 };
    if yday - wday + 3 >= days {
        // This Monday's week's Thursday falls in the next year.
        return (t.year + 1, 1);
    }
    (t.year, week as u32)
}

/// Expand `pattern` for `t`.
///
/// # Errors
/// [`Error::InvalidConfig`] naming the pattern: an unknown conversion, or
/// a `%` at its end.
pub fn format(pattern: &str, t: &CalendarTime) -> Result<String> {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    let hour12 = if t.hour.is_multiple_of(12) { 12 } else { t.hour % 12 };
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(conv) = chars.next() else {
            return Err(Error::config("file name pattern", pattern, "ends with a lone %"));
        };
        let _ = match conv {
            '%' => write!(out, "%"),
            'n' => writeln!(out),
            't' => write!(out, "\t"),
            'a' => write!(out, "{}", &DAYS[t.weekday as usize % 7][..3]),
            'A' => write!(out, "{}", DAYS[t.weekday as usize % 7]),
            'b' | 'h' => write!(out, "{}", &MONTHS[(t.month as usize + 11) % 12][..3]),
            'B' => write!(out, "{}", MONTHS[(t.month as usize + 11) % 12]),
            'c' => write!(out, "{}", format("%a %b %e %H:%M:%S %Y", t)?),
            'C' => write!(out, "{:02}", t.year.div_euclid(100)),
            'd' => write!(out, "{:02}", t.day),
            'D' | 'x' => write!(out, "{:02}/{:02}/{:02}", t.month, t.day, t.year.rem_euclid(100)),
            'e' => write!(out, "{:2}", t.day),
            'F' => write!(out, "{}-{:02}-{:02}", t.year, t.month, t.day),
            'G' => write!(out, "{}", iso_week(t).0),
            'g' => write!(out, "{:02}", iso_week(t).0.rem_euclid(100)),
            'H' => write!(out, "{:02}", t.hour),
            'I' => write!(out, "{hour12:02}"),
            'j' => write!(out, "{:03}", t.yearday + 1),
            'k' => write!(out, "{:2}", t.hour),
            'l' => write!(out, "{hour12:2}"),
            'm' => write!(out, "{:02}", t.month),
            'M' => write!(out, "{:02}", t.minute),
            'p' => write!(out, "{}", if t.hour < 12 { "AM" } else { "PM" }),
            'P' => write!(out, "{}", if t.hour < 12 { "am" } else { "pm" }),
            'r' => write!(out, "{hour12:02}:{:02}:{:02} {}", t.minute, t.second, if t.hour < 12 { "AM" } else { "PM" }),
            'R' => write!(out, "{:02}:{:02}", t.hour, t.minute),
            's' => write!(out, "{}", t.epoch),
            'S' => write!(out, "{:02}", t.second),
            'T' | 'X' => write!(out, "{:02}:{:02}:{:02}", t.hour, t.minute, t.second),
            'u' => write!(out, "{}", if t.weekday == 0 { 7 } else { t.weekday }),
            'U' => write!(out, "{:02}", (t.yearday + 7 - t.weekday) / 7),
            'V' => write!(out, "{:02}", iso_week(t).1),
            'w' => write!(out, "{}", t.weekday),
            'W' => write!(out, "{:02}", (t.yearday + 7 - (t.weekday + 6) % 7) / 7),
            'y' => write!(out, "{:02}", t.year.rem_euclid(100)),
            'Y' => write!(out, "{}", t.year),
            'z' => {
                let (sign, off) = if t.utc_offset < 0 { ('-', -t.utc_offset) } else { ('+', t.utc_offset) };
                write!(out, "{sign}{:02}{:02}", off / 3600, off / 60 % 60)
            }
            'Z' => write!(out, "{}", t.zone),
            other => {
                return Err(Error::config(
                    "file name pattern",
                    pattern,
                    format!("has %{other}, which is not a strftime(3) conversion netring knows"),
                ));
            }
        };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_calendar_fields() {
        let t = utc_time(1_700_000_000); // 2023-11-14 22:13:20 UTC, a Tuesday
        assert_eq!((t.year, t.month, t.day, t.hour, t.minute, t.second), (2023, 11, 14, 22, 13, 20));
        assert_eq!((t.weekday, t.yearday), (2, 317));
        assert_eq!(utc_time(0).weekday, 4);
        let t = utc_time(-1); // 1969-12-31 23:59:59, a Wednesday
        assert_eq!((t.year, t.month, t.day, t.hour, t.weekday, t.yearday), (1969, 12, 31, 23, 3, 364));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for d in [-800_000, -1, 0, 59, 10_000, 2_932_896] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn every_conversion_as_glibc_prints_it_in_the_c_locale() {
        // Reference strings from `TZ=UTC LC_ALL=C date -d @1700000000 +…`.
        let t = utc_time(1_700_000_000);
        let cases = [
            ("trace-%Y%m%d-%H%M%S.pcap", "trace-20231114-221320.pcap"),
            ("%a %A %b %B %h", "Tue Tuesday Nov November Nov"),
            ("%c", "Tue Nov 14 22:13:20 2023"),
            ("%C %d %D %e %F", "20 14 11/14/23 14 2023-11-14"),
            ("%G %g %V %U %W", "2023 23 46 46 46"),
            ("%I %j %k %l %m %M", "10 318 22 10 11 13"),
            ("%p %P %r %R %s %S", "PM pm 10:13:20 PM 22:13 1700000000 20"),
            ("%T %u %w %x %X %y %Y", "22:13:20 2 2 11/14/23 22:13:20 23 2023"),
            ("%z %Z %% %n%t", "+0000 UTC % \n\t"),
            ("no conversion", "no conversion"),
        ];
        for (p, want) in cases {
            assert_eq!(format(p, &t).unwrap(), want, "{p}");
        }
    }

    #[test]
    fn iso_weeks_at_year_boundaries() {
        let at = |y, m, d| utc_time(days_from_civil(y, m, d) * 86_400);
        // `date -d 2021-01-01 +%G-%V` = 2020-53; 2024-12-30 = 2025-01; 2026-12-31 = 2026-53.
        assert_eq!(format("%G-%V", &at(2021, 1, 1)).unwrap(), "2020-53");
        assert_eq!(format("%G-%V", &at(2024, 12, 30)).unwrap(), "2025-01");
        assert_eq!(format("%G-%V", &at(2026, 12, 31)).unwrap(), "2026-53");
        assert_eq!(format("%G-%V %U %W", &at(2023, 1, 1)).unwrap(), "2022-52 01 00");
    }

    #[test]
    fn offsets_and_unknown_conversions() {
        let mut t = utc_time(0);
        t.utc_offset = -(5 * 3600 + 30 * 60);
        assert_eq!(format("%z", &t).unwrap(), "-0530");
        let e = format("cap-%Q.pcap", &t).unwrap_err().to_string();
        assert!(e.contains("cap-%Q.pcap") && e.contains("%Q"), "{e}");
        assert!(format("cap-%", &t).unwrap_err().to_string().contains("lone %"));
    }

    #[test]
    #[cfg_attr(miri, ignore = "calls into libc's time zone code")]
    fn local_time_names_as_tcpdump() {
        assert_eq!(strftime_local("plain", 0).unwrap(), "plain");
        assert_eq!(strftime_local("%%s", 0).unwrap(), "%s");
        assert_eq!(strftime_local("%s", 1_700_000_000).unwrap(), "1700000000");
    }
}
