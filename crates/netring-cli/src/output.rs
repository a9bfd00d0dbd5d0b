//! Human output: tables, numbers, stdout that tolerates a closed pipe.

use std::fmt::Write as _;

use netring::Error;

/// Render rows as an aligned table with a header line.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        let mut first = true;
        for (i, c) in cells.enumerate() {
            if !first {
                out.push_str("  ");
            }
            first = false;
            let _ = write!(out, "{c:<w$}", w = widths[i]);
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('\n');
    };
    line(&mut out, &mut header.iter().copied());
    // The rule spans the headed columns: a trailing column without a header
    // holds notes (a skip reason) that should not stretch it.
    let ruled = header.iter().rposition(|h| !h.is_empty()).map_or(0, |i| i + 1);
    let total: usize = widths[..ruled].iter().sum::<usize>() + 2 * ruled.saturating_sub(1);
    out.push_str(&"-".repeat(total));
    out.push('\n');
    for r in rows {
        line(&mut out, &mut r.iter().map(String::as_str));
    }
    out
}

/// Packets per second and a human rate.
pub fn rate(n: u64, seconds: f64) -> String {
    if seconds <= 0.0 {
        return "-".into();
    }
    let r = n as f64 / seconds;
    if r >= 1e6 {
        format!("{:.2} M/s", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1} k/s", r / 1e3)
    } else {
        format!("{r:.0} /s")
    }
}

/// A one-line progress display on stderr, redrawn at most four times a
/// second, and only when stderr is a terminal.
#[derive(Debug)]
pub struct Progress {
    on: bool,
    last: std::time::Instant,
    drawn: bool,
}

impl Progress {
    /// Progress that shows only if stderr is a terminal and `quiet` is off.
    pub fn new(quiet: bool) -> Self {
        use std::io::IsTerminal;
        Self { on: !quiet && std::io::stderr().is_terminal(), last: std::time::Instant::now(), drawn: false }
    }

    /// Whether anything will show (callers can skip building the text).
    pub fn due(&self) -> bool {
        self.on && self.last.elapsed() >= std::time::Duration::from_millis(250)
    }

    /// Redraw the line with `text` if it is time.
    pub fn show(&mut self, text: impl FnOnce() -> String) {
        if self.due() {
            eprint!("\r\x1b[2K{}", text());
            self.last = std::time::Instant::now();
            self.drawn = true;
        }
    }

    /// Clear the line before the final summary.
    pub fn finish(&mut self) {
        if self.drawn {
            eprint!("\r\x1b[2K");
            self.drawn = false;
        }
    }
}

/// Parse a MAC address written `02:00:00:00:00:01` (or with `-`).
pub fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    let bad = || format!("{s:?} is not a MAC address like 02:00:00:00:00:01");
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (m, p) in mac.iter_mut().zip(parts) {
        if p.is_empty() || p.len() > 2 {
            return Err(bad());
        }
        *m = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    Ok(mac)
}

/// Write `text` to stdout and flush it. A reader that went away (`netring
/// filter … | head -1`: `EPIPE`) is not an error: the output was for it, and
/// the run goes on as if printed. Any other failure is an error naming stdout.
///
/// # Errors
/// stdout could not be written (other than a closed pipe).
pub fn stdout(text: &str) -> Result<(), Error> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Io { call: "write(stdout)", source: e }),
        Ok(()) => Ok(()),
    }
}

/// [`stdout`] with a newline after `text`.
///
/// # Errors
/// As [`stdout`].
pub fn stdout_line(text: impl std::fmt::Display) -> Result<(), Error> {
    stdout(&format!("{text}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let t = table(&["a", "bb"], &[vec!["xxx".into(), "y".into()]]);
        assert_eq!(t, "a    bb\n-------\nxxx  y\n");
    }

    #[test]
    fn a_trailing_unheaded_note_column_does_not_stretch_the_rule() {
        let t = table(&["a", "bb", ""], &[vec!["xxx".into(), "y".into(), "a long note".into()]]);
        assert_eq!(t, "a    bb\n-------\nxxx  y   a long note\n");
    }

    #[test]
    fn macs_parse() {
        assert_eq!(parse_mac("02:00:00:00:00:0a").unwrap(), [2, 0, 0, 0, 0, 10]);
        assert_eq!(parse_mac("ff-ff-ff-ff-ff-ff").unwrap(), [0xff; 6]);
        assert!(parse_mac("02:00:00:00:00").is_err());
        assert!(parse_mac("02:00:00:00:00:100").is_err());
        assert!(parse_mac("zz:00:00:00:00:00").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(rate(2_500_000, 1.0), "2.50 M/s");
        assert_eq!(rate(1500, 1.0), "1.5 k/s");
        assert_eq!(rate(10, 0.0), "-");
    }
}
