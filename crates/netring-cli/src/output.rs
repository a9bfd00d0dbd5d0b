//! Human output: tables, per-packet lines, numbers.

use std::fmt::Write as _;

use netring::Packet;

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
    let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len().saturating_sub(1));
    out.push_str(&"-".repeat(total));
    out.push('\n');
    for r in rows {
        line(&mut out, &mut r.iter().map(String::as_str));
    }
    out
}

fn mac(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":")
}

/// One line per packet: timestamp, direction, MACs, EtherType, lengths.
pub fn packet_line(p: &Packet<'_>) -> String {
    let d = p.data();
    let mut s = format!("{} {:<5} ", p.timestamp(), p.direction().as_str());
    if d.len() >= 14 {
        let mut ethertype = u16::from_be_bytes([d[12], d[13]]);
        let _ = write!(s, "{} > {} ", mac(&d[6..12]), mac(&d[0..6]));
        if let Some(tci) = p.vlan_tci() {
            let _ = write!(s, "vlan {} ", tci & 0x0fff);
        }
        if ethertype == 0x8100 && d.len() >= 18 {
            let _ = write!(s, "vlan {} ", u16::from_be_bytes([d[14], d[15]]) & 0x0fff);
            ethertype = u16::from_be_bytes([d[16], d[17]]);
        }
        let _ = write!(s, "ethertype {} (0x{ethertype:04x}), ", ethertype_name(ethertype));
    }
    let _ = write!(s, "length {}", p.original_len());
    if p.len() < p.original_len() {
        let _ = write!(s, " (captured {})", p.len());
    }
    s
}

fn ethertype_name(t: u16) -> &'static str {
    match t {
        0x0800 => "IPv4",
        0x0806 => "ARP",
        0x86dd => "IPv6",
        0x8100 => "802.1Q",
        0x88a8 => "802.1ad",
        0x88cc => "LLDP",
        0x8035 => "RARP",
        _ => "unknown",
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use netring::{PacketMeta, Timestamp};

    #[test]
    fn table_aligns_columns() {
        let t = table(&["a", "bb"], &[vec!["xxx".into(), "y".into()]]);
        assert_eq!(t, "a    bb\n-------\nxxx  y\n");
    }

    #[test]
    fn packet_lines() {
        let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5];
        f.resize(60, 0);
        let meta = PacketMeta { timestamp: Timestamp::new(5, 7), original_len: 100, ..Default::default() };
        let line = packet_line(&Packet::new(&f, meta));
        assert_eq!(
            line,
            "5.000000007 host  02:00:00:00:00:01 > 02:00:00:00:00:02 ethertype unknown (0x88b5), length 100 (captured 60)"
        );
        let meta = PacketMeta { original_len: 60, ..meta };
        assert!(packet_line(&Packet::new(&f, meta)).ends_with("length 60"));
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
