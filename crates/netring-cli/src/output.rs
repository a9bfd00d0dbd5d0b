//! Human output: tables, per-packet lines, numbers.

use std::fmt::Write as _;

use netring::{Error, Packet};

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
        if !write_l3(&mut s, p) {
            let _ = write!(s, "ethertype {} (0x{ethertype:04x}), ", ethertype_name(ethertype));
        }
    }
    let _ = write!(s, "length {}", p.original_len());
    if p.len() < p.original_len() {
        let _ = write!(s, " (captured {})", p.len());
    }
    s
}

/// IPv4 / IPv6 addresses, ports and protocol, as tcpdump writes them
/// (`IP 198.18.0.1.40000 > 198.18.0.2.53: UDP, `); `false` (nothing
/// written) when the packet is not IP. A snap length may have cut the
/// transport header: then only the protocol shows.
fn write_l3(s: &mut String, p: &Packet<'_>) -> bool {
    use netring::parse::etherparse::{IpNumber, LaxNetSlice, TransportSlice};
    let Ok(h) = p.parse_lax() else { return false };
    let (family, src, dst, proto) = match &h.net {
        Some(LaxNetSlice::Ipv4(ip)) => {
            let hd = ip.header();
            ("IP", hd.source_addr().to_string(), hd.destination_addr().to_string(), ip.payload().ip_number)
        }
        Some(LaxNetSlice::Ipv6(ip)) => {
            let hd = ip.header();
            ("IP6", hd.source_addr().to_string(), hd.destination_addr().to_string(), ip.payload().ip_number)
        }
        _ => return false,
    };
    let (ports, what) = match &h.transport {
        Some(TransportSlice::Tcp(t)) => {
            (Some((t.source_port(), t.destination_port())), format!("TCP [{}]", tcp_flags(t)))
        }
        Some(TransportSlice::Udp(u)) => (Some((u.source_port(), u.destination_port())), "UDP".to_owned()),
        Some(TransportSlice::Icmpv4(i)) => (None, format!("ICMP type {} code {}", i.type_u8(), i.code_u8())),
        Some(TransportSlice::Icmpv6(i)) => (None, format!("ICMP6 type {} code {}", i.type_u8(), i.code_u8())),
        _ => match proto {
            IpNumber::TCP => (None, "TCP".to_owned()),
            IpNumber::UDP => (None, "UDP".to_owned()),
            n => (None, format!("proto {} ({})", n.0, n.keyword_str().unwrap_or("unknown"))),
        },
    };
    let _ = match ports {
        Some((sp, dp)) => write!(s, "{family} {src}.{sp} > {dst}.{dp}: {what}, "),
        None => write!(s, "{family} {src} > {dst}: {what}, "),
    };
    true
}

/// TCP flags in tcpdump's letters (`S`, `S.`, `P.`, `F.`, `R`).
fn tcp_flags(t: &netring::parse::etherparse::TcpSlice<'_>) -> String {
    let mut f = String::new();
    for (on, c) in [(t.fin(), 'F'), (t.syn(), 'S'), (t.rst(), 'R'), (t.psh(), 'P'), (t.urg(), 'U'), (t.ack(), '.')] {
        if on {
            f.push(c);
        }
    }
    if f.is_empty() { "none".into() } else { f }
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
    use netring::{OwnedPacket, PacketMeta, Timestamp};

    /// `packet_line` of `data` with `meta`.
    fn line_of(data: &[u8], meta: PacketMeta) -> String {
        packet_line(&OwnedPacket { data: data.to_vec(), meta }.as_packet())
    }

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
    fn packet_lines() {
        let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5];
        f.resize(60, 0);
        let meta = PacketMeta { timestamp: Timestamp::new(5, 7), original_len: 100, ..Default::default() };
        let line = line_of(&f, meta);
        assert_eq!(
            line,
            "5.000000007 host  02:00:00:00:00:01 > 02:00:00:00:00:02 ethertype unknown (0x88b5), length 100 (captured 60)"
        );
        let meta = PacketMeta { original_len: 60, ..meta };
        assert!(line_of(&f, meta).ends_with("length 60"));
    }

    #[test]
    fn ip_packets_show_addresses_ports_and_protocol() {
        use netring::parse::etherparse::PacketBuilder;
        macro_rules! build {
            ($b:expr, $payload:expr) => {{
                let mut out = Vec::new();
                $b.write(&mut out, $payload).unwrap();
                out
            }};
        }
        let eth = || PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let line = |f: &[u8], orig: usize| line_of(f, PacketMeta { original_len: orig as u32, ..Default::default() });
        let udp = build!(eth().ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64).udp(40000, 53), b"q");
        assert_eq!(
            line(&udp, udp.len()),
            "0.000000000 host  02:00:00:00:00:01 > 02:00:00:00:00:02 IP 198.18.0.1.40000 > 198.18.0.2.53: UDP, length 43"
        );
        let syn = build!(eth().ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64).tcp(1234, 443, 7, 1000).syn(), b"");
        assert!(line(&syn, syn.len()).contains("IP 198.18.0.1.1234 > 198.18.0.2.443: TCP [S], length 54"));
        // Cut by a snap length inside the TCP header: the protocol still shows.
        assert!(line(&syn[..40], syn.len()).contains("IP 198.18.0.1 > 198.18.0.2: TCP, length 54 (captured 40)"));
        let v6 = build!(eth().ipv6([0xfe; 16], [0xff; 16], 1).udp(5, 6), b"");
        assert!(line(&v6, v6.len()).contains(
            "IP6 fefe:fefe:fefe:fefe:fefe:fefe:fefe:fefe.5 > ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff.6: UDP, length 62"
        ));
        let icmp = build!(eth().ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64).icmpv4_echo_request(1, 2), b"");
        assert!(line(&icmp, icmp.len()).contains("IP 198.18.0.1 > 198.18.0.2: ICMP type 8 code 0, "));
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
