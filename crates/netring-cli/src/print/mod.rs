//! Per-packet lines in the shape `tcpdump -n` prints them: the time stamp,
//! the link header with `-e`, then each protocol's summary (ARP, IPv4,
//! IPv6, ICMP, ICMPv6, TCP, UDP, DNS), `-v`'s extra IP fields, and the
//! `-x`/`-X`/`-A` dumps.
//!
//! The wording and the meaning of every `length` follow tcpdump's (IP:
//! the total length; TCP, UDP: the payload; ICMP: the ICMP message; ARP:
//! what follows the link header); the code is ours. Headers are read with
//! etherparse where it has a view for them, by hand where a field it does
//! not expose is needed (DNS, ARP with any padding, truncated headers).
//!
//! One module per protocol: `eth` (Ethernet, VLAN, the EtherType names),
//! `arp`, `ip` (IPv4, IPv6, the protocol numbers), `tcp`, `udp`, `dns`,
//! `icmp` (ICMP and ICMPv6), `hex` (the dumps), `time` (the clock forms of
//! `-t`…`-ttttt`). [`Printer`] holds what the lines need across packets:
//! the previous and first time stamps and the TCP sequence bases.

use std::fmt::Write as _;

use netring::Timestamp;

mod arp;
mod dns;
mod eth;
mod hex;
mod icmp;
mod ip;
mod net;
mod tcp;
mod time;
mod udp;

pub use time::TimeFormat;

/// What goes into each line, from the capture flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// `-t`…`-ttttt`.
    pub time: TimeFormat,
    /// `--time-stamp-precision nano`: nine fraction digits instead of six.
    pub nanos: bool,
    /// `-e`: the link-level header on every line.
    pub link: bool,
    /// `-v`: IP header fields, checksums.
    pub verbose: u8,
    /// `-S`: absolute TCP sequence numbers.
    pub absolute: bool,
    /// `-x`/`-xx`/`-X`/`-XX`/`-A`.
    pub dump: Dump,
}

/// The dump after each line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dump {
    /// None (an unknown EtherType's payload is still dumped, as tcpdump).
    #[default]
    None,
    /// Hex (`-x`, `-xx`); `true` from the link header on.
    Hex(bool),
    /// Hex and ASCII (`-X`, `-XX`).
    HexAscii(bool),
    /// ASCII (`-A`), from the network header on.
    Ascii,
}

/// Lines for a sequence of packets (state: time stamps, TCP sequence bases).
#[derive(Debug, Default)]
pub struct Printer {
    style: Style,
    clock: time::Clock,
    tcp: tcp::Seqs,
}

/// One packet being printed: the style and the TCP state, passed down the
/// protocol layers.
pub(crate) struct Ctx<'a> {
    pub(crate) style: &'a Style,
    pub(crate) tcp: &'a mut tcp::Seqs,
    /// Where the network header starts in the frame (for `-x`).
    pub(crate) net_offset: usize,
    /// A header was cut short: tcpdump then dumps (`-x`, `-X`, `-A`) from
    /// the start of the frame.
    pub(crate) cut: bool,
}

impl Printer {
    /// A printer with `style`.
    pub fn new(style: Style) -> Self {
        Self { style, ..Self::default() }
    }

    /// The text for one packet (without the final newline; `-v`, `-x` and
    /// friends add lines of their own).
    pub fn packet(&mut self, ts: Timestamp, wire_len: u32, data: &[u8]) -> String {
        let mut out = String::with_capacity(160);
        self.clock.stamp(&mut out, ts, &self.style);
        let mut ctx = Ctx { style: &self.style, tcp: &mut self.tcp, net_offset: 0, cut: false };
        eth::ether(&mut out, &mut ctx, data, wire_len);
        let net = if ctx.cut { 0 } else { ctx.net_offset };
        self.dump(&mut out, data, net);
        out
    }
}

impl Printer {
    /// The text for a packet without link header, of EtherType `et`;
    /// `prefix` (the interface and direction of an `any` capture) follows
    /// the time stamp.
    pub fn network(&mut self, ts: Timestamp, wire_len: u32, data: &[u8], et: u16, prefix: &str) -> String {
        let mut out = String::with_capacity(160);
        self.clock.stamp(&mut out, ts, &self.style);
        out.push_str(prefix);
        let mut ctx = Ctx { style: &self.style, tcp: &mut self.tcp, net_offset: 0, cut: false };
        eth::network(&mut out, &mut ctx, et, data, wire_len);
        self.dump(&mut out, data, 0);
        out
    }

    /// The `-x`/`-X`/`-A` dump of `data` (`net`: where its network header
    /// starts).
    fn dump(&self, out: &mut String, data: &[u8], net: usize) {
        let from = |link: bool| if link { 0 } else { net.min(data.len()) };
        match self.style.dump {
            Dump::None => {}
            Dump::Hex(link) => hex::hex(out, &data[from(link)..], false),
            Dump::HexAscii(link) => hex::hex(out, &data[from(link)..], true),
            Dump::Ascii => hex::ascii(out, &data[from(false)..]),
        }
    }
}

/// `a.b.c.d` or the IPv6 text form, as tcpdump -n writes them.
pub(crate) fn addr(out: &mut String, a: std::net::IpAddr) {
    let _ = write!(out, "{a}");
}

/// Big-endian u16 at `off` (the caller checked the length).
pub(crate) fn be16(d: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([d[off], d[off + 1]])
}

/// Big-endian u32 at `off` (the caller checked the length).
pub(crate) fn be32(d: &[u8], off: usize) -> u32 {
    u32::from_be_bytes([d[off], d[off + 1], d[off + 2], d[off + 3]])
}

/// A MAC address, `02:00:00:00:00:01`.
pub(crate) fn mac(out: &mut String, m: &[u8]) {
    for (i, b) in m.iter().enumerate() {
        let _ = write!(out, "{}{b:02x}", if i == 0 { "" } else { ":" });
    }
}

/// The ones'-complement sum of `d` added to `sum` (RFC 1071), unfolded.
pub(crate) fn sum16(mut sum: u32, d: &[u8]) -> u32 {
    let mut chunks = d.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

/// Fold a [`sum16`] and complement it.
pub(crate) fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style() -> Style {
        Style { time: TimeFormat::None, ..Style::default() }
    }

    /// Every prefix of frames with random bytes behind each EtherType the
    /// printer decodes, in every style: no panic, one text per packet.
    #[test]
    fn any_bytes_print_without_panicking() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        };
        let styles = [
            style(),
            Style { verbose: 3, link: true, dump: Dump::HexAscii(true), ..style() },
            Style { absolute: true, dump: Dump::Ascii, ..style() },
        ];
        for round in 0..400 {
            let mut f: Vec<u8> = (0..120).map(|_| next()).collect();
            let et: &[u8] = match round % 5 {
                0 => &[0x08, 0x00],
                1 => &[0x86, 0xdd],
                2 => &[0x08, 0x06],
                3 => &[0x81, 0x00],
                _ => &[0x88, 0xb5],
            };
            f[12..14].copy_from_slice(et);
            // Often a plausible version / protocol, so the deeper layers run.
            f[14] = if round % 5 == 1 { 0x60 } else { 0x45 };
            f[14 + 9] = [6, 17, 1, 58][round % 4];
            f[14 + 6] = [6, 17, 58, 0][round % 4];
            for s in &styles {
                let mut p = Printer::new(*s);
                for cut in 0..=f.len() {
                    let text = p.packet(Timestamp::new(1, 2), f.len() as u32, &f[..cut]);
                    assert!(!text.is_empty());
                }
            }
        }
    }

    fn tcp_frame(src: u8, sport: u16, dport: u16, seq: u32, ack: u32, flags: u8) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        f.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 198, 18, 0, src, 198, 18, 0, 3 - src]);
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&ack.to_be_bytes());
        f.extend_from_slice(&[0x50, flags, 0x01, 0xf6, 0, 0, 0, 0]);
        f
    }

    #[test]
    fn sequence_numbers_are_relative_from_the_first_acknowledging_segment() {
        let mut p = Printer::new(style());
        let mut line = |f: Vec<u8>| p.packet(Timestamp::new(0, 0), f.len() as u32, &f);
        assert_eq!(
            line(tcp_frame(1, 5000, 80, u32::MAX - 1, 0, 0x02)),
            "IP 198.18.0.1.5000 > 198.18.0.2.80: Flags [S], seq 4294967294, win 502, length 0"
        );
        assert_eq!(
            line(tcp_frame(2, 80, 5000, 7, u32::MAX, 0x12)),
            "IP 198.18.0.2.80 > 198.18.0.1.5000: Flags [S.], seq 7, ack 4294967295, win 502, length 0"
        );
        // Wrapping past 2^32: still 1 and 1.
        assert_eq!(
            line(tcp_frame(1, 5000, 80, u32::MAX, 8, 0x10)),
            "IP 198.18.0.1.5000 > 198.18.0.2.80: Flags [.], ack 1, win 502, length 0"
        );
        assert_eq!(
            line(tcp_frame(2, 80, 5000, 8, u32::MAX, 0x11)),
            "IP 198.18.0.2.80 > 198.18.0.1.5000: Flags [F.], seq 1, ack 1, win 502, length 0"
        );
        let mut abs = Printer::new(Style { absolute: true, ..style() });
        let f = tcp_frame(2, 80, 5000, 8, u32::MAX, 0x11);
        assert!(abs.packet(Timestamp::new(0, 0), 54, &f).contains("seq 8, ack 4294967295,"));
    }
}
