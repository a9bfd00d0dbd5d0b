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
        let mut ctx = Ctx { style: &self.style, tcp: &mut self.tcp, net_offset: 0 };
        eth::ether(&mut out, &mut ctx, data, wire_len);
        let net = ctx.net_offset;
        self.dump(&mut out, data, net);
        out
    }
}

impl Printer {
    /// The text for a packet without link header, of EtherType `et`.
    pub fn network(&mut self, ts: Timestamp, wire_len: u32, data: &[u8], et: u16) -> String {
        let mut out = String::with_capacity(160);
        self.clock.stamp(&mut out, ts, &self.style);
        let mut ctx = Ctx { style: &self.style, tcp: &mut self.tcp, net_offset: 0 };
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
