//! The time stamp at the start of a line: tcpdump's `-t` forms, in local
//! time (`TZ` is honoured), micro- or nanoseconds.

use std::fmt::Write as _;
use std::time::Duration;

use netring::Timestamp;
use netring::pcap::Rotation;

use super::Style;

/// How the time stamp is written (`-t` given 0 to 5 times).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeFormat {
    /// `HH:MM:SS.ffffff`, local time (no `-t`).
    #[default]
    Clock,
    /// Nothing (`-t`).
    None,
    /// Seconds since the epoch, `1796605893.429879` (`-tt`).
    Epoch,
    /// Time since the previous packet, ` 00:00:00.000038` (`-ttt`).
    SincePrevious,
    /// Date and local time, `2026-12-07 01:11:33.429879` (`-tttt`).
    Date,
    /// Time since the first packet (`-ttttt`).
    SinceFirst,
}

impl TimeFormat {
    /// The form for `-t` given `n` times (more than 5 count as 5).
    pub fn from_count(n: u8) -> Self {
        match n {
            0 => Self::Clock,
            1 => Self::None,
            2 => Self::Epoch,
            3 => Self::SincePrevious,
            4 => Self::Date,
            _ => Self::SinceFirst,
        }
    }
}

/// The clock state: first and previous time stamps, and the local date of
/// the last whole second printed (so `localtime(3)` runs once a second,
/// not once a packet).
#[derive(Debug, Default)]
pub(super) struct Clock {
    first: Option<u64>,
    previous: Option<u64>,
    local: Option<(u64, String)>,
}

impl Clock {
    /// Write the time stamp of `ts` and a space (nothing for `-t`).
    pub(super) fn stamp(&mut self, out: &mut String, ts: Timestamp, style: &Style) {
        // At microsecond precision the nanoseconds are cut, as libpcap does
        // when it reads a nanosecond file for a microsecond reader.
        let unit: u64 = if style.nanos { 1 } else { 1_000 };
        let now = ts.as_nanos() / unit * unit;
        let first = *self.first.get_or_insert(now);
        let previous = self.previous.replace(now).unwrap_or(now);
        match style.time {
            TimeFormat::None => {}
            TimeFormat::Clock => {
                let local = self.local_date(now / 1_000_000_000);
                let _ = write!(out, "{}", &local[11..]);
                fraction(out, now, style.nanos);
            }
            TimeFormat::Date => {
                let local = self.local_date(now / 1_000_000_000);
                out.push_str(local);
                fraction(out, now, style.nanos);
            }
            TimeFormat::Epoch => {
                let _ = write!(out, "{}", now / 1_000_000_000);
                fraction(out, now, style.nanos);
            }
            TimeFormat::SincePrevious => span(out, now, previous, style.nanos),
            TimeFormat::SinceFirst => span(out, now, first, style.nanos),
        }
        if style.time != TimeFormat::None {
            out.push(' ');
        }
    }

    /// `YYYY-MM-DD HH:MM:SS` of `secs` in local time.
    fn local_date(&mut self, secs: u64) -> &str {
        if self.local.as_ref().is_none_or(|(s, _)| *s != secs) {
            self.local = Some((secs, local_date(secs)));
        }
        &self.local.as_ref().expect("just set").1
    }
}

/// `.ffffff` or `.fffffffff` of `nanos`.
fn fraction(out: &mut String, nanos: u64, nine: bool) {
    let frac = nanos % 1_000_000_000;
    let _ = if nine { write!(out, ".{frac:09}") } else { write!(out, ".{:06}", frac / 1_000) };
}

/// ` HH:MM:SS.ffffff` of `now - since` (a leading `-` instead of the space
/// when the file goes back in time).
fn span(out: &mut String, now: u64, since: u64, nine: bool) {
    let (sign, d) = if now >= since { (' ', now - since) } else { ('-', since - now) };
    let s = d / 1_000_000_000;
    let _ = write!(out, "{sign}{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    fraction(out, d, nine);
}

/// `YYYY-MM-DD HH:MM:SS` in local time, through the library's
/// `strftime(3)` (the one that names rotated files).
fn local_date(secs: u64) -> String {
    let clock = Rotation { interval: Some(Duration::from_secs(1)), ..Rotation::default() };
    clock
        .file_name("%Y-%m-%d %H:%M:%S", secs as i64, 0)
        .map(|p| p.to_string_lossy().into_owned())
        .ok()
        .filter(|s| s.len() == 19)
        .unwrap_or_else(|| utc_date(secs))
}

/// `YYYY-MM-DD HH:MM:SS` in UTC (when local time cannot be had).
fn utc_date(secs: u64) -> String {
    // Days since 1970-01-01 to a civil date (proleptic Gregorian).
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc_date(0), "1970-01-01 00:00:00");
        assert_eq!(utc_date(1_796_605_893), "2026-12-07 01:11:33");
        assert_eq!(utc_date(951_782_400), "2000-02-29 00:00:00");
    }

    #[test]
    fn spans() {
        let mut s = String::new();
        span(&mut s, 3_661_000_038_000, 0, false);
        assert_eq!(s, " 01:01:01.000038");
        s.clear();
        span(&mut s, 0, 5, true);
        assert_eq!(s, "-00:00:00.000000005");
    }
}
