//! IPv4/UDP flows for generators: address and port ranges inside the
//! benchmarking block 198.18.0.0/15 (RFC 2544), the N 5-tuples spread over
//! them, and the Internet checksums (RFC 1071) that each flow's frames carry.
//!
//! A flow's header fields and the checksums of everything but the
//! per-frame sequence number are computed once per frame length
//! ([`Flows::prepare`]); a frame then gets 12 bytes of addresses and ports,
//! two checksums and its sequence number written over its template.

use std::fmt;
use std::net::Ipv4Addr;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// Offset of the IPv4 header in an Ethernet frame.
pub const IP_OFFSET: usize = 14;
/// Offset of the UDP header (IPv4 header without options).
pub const UDP_OFFSET: usize = IP_OFFSET + 20;
/// Offset of the UDP payload.
pub const PAYLOAD_OFFSET: usize = UDP_OFFSET + 8;
/// Offset of the IPv4 header checksum.
const IP_CSUM: usize = IP_OFFSET + 10;
/// Offset of the source address; addresses then ports follow back to back.
const ADDRS: usize = IP_OFFSET + 12;
/// Offset of the UDP checksum.
const UDP_CSUM: usize = UDP_OFFSET + 6;

/// The block every address must lie in: 198.18.0.0/15.
const BENCH_NET: RangeInclusive<u32> = 0xc612_0000..=0xc613_ffff;

/// An inclusive range of IPv4 addresses, written `198.18.0.1` or
/// `198.18.0.1-198.18.0.9`; only addresses in 198.18.0.0/15 are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Range {
    first: u32,
    last: u32,
}

impl Ipv4Range {
    /// One address.
    ///
    /// # Panics
    /// If `a` is outside 198.18.0.0/15.
    pub fn single(a: Ipv4Addr) -> Self {
        Self::new(a, a).expect("an address in 198.18.0.0/15")
    }

    /// `first..=last`, both in 198.18.0.0/15, `first <= last`.
    ///
    /// # Errors
    /// A message saying which rule the range breaks.
    pub fn new(first: Ipv4Addr, last: Ipv4Addr) -> Result<Self, String> {
        let (f, l) = (u32::from(first), u32::from(last));
        for a in [first, last] {
            if !BENCH_NET.contains(&u32::from(a)) {
                return Err(format!("{a} is outside 198.18.0.0/15, the only block netring sends test traffic to"));
            }
        }
        if f > l {
            return Err(format!("{first}-{last} is empty (the first address is larger)"));
        }
        Ok(Self { first: f, last: l })
    }

    /// Number of addresses.
    pub fn len(&self) -> u64 {
        u64::from(self.last - self.first) + 1
    }

    /// Never empty.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The `i`-th address (`i < len`).
    pub fn nth(&self, i: u64) -> Ipv4Addr {
        Ipv4Addr::from(self.first + i as u32)
    }
}

impl FromStr for Ipv4Range {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let ip = |t: &str| t.trim().parse::<Ipv4Addr>().map_err(|_| format!("{t:?} is not an IPv4 address"));
        match s.split_once('-') {
            Some((a, b)) => Self::new(ip(a)?, ip(b)?),
            None => ip(s).and_then(|a| Self::new(a, a)),
        }
    }
}

impl fmt::Display for Ipv4Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", Ipv4Addr::from(self.first), Ipv4Addr::from(self.last))
    }
}

/// An inclusive range of UDP ports, written `9` or `1000-1099`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    first: u16,
    last: u16,
}

impl PortRange {
    /// `first..=last`.
    ///
    /// # Errors
    /// If `first > last`.
    pub fn new(first: u16, last: u16) -> Result<Self, String> {
        if first > last {
            return Err(format!("{first}-{last} is empty (the first port is larger)"));
        }
        Ok(Self { first, last })
    }

    /// Number of ports.
    pub fn len(&self) -> u64 {
        u64::from(self.last - self.first) + 1
    }

    /// Never empty.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The `i`-th port (`i < len`).
    pub fn nth(&self, i: u64) -> u16 {
        self.first + i as u16
    }
}

impl FromStr for PortRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let port = |t: &str| t.trim().parse::<u16>().map_err(|_| format!("{t:?} is not a port (0..=65535)"));
        match s.split_once('-') {
            Some((a, b)) => Self::new(port(a)?, port(b)?),
            None => port(s).and_then(|p| Self::new(p, p)),
        }
    }
}

/// The flows of a generator: `count` distinct 5-tuples (UDP) over the four
/// ranges. Flow `k` takes, in mixed radix, the `k mod S`-th source address,
/// then the next digits for the destination address, the destination port
/// and last the source port (S, D, Q, P the ranges' sizes), so the first
/// `S·D·Q·P` flows are all different, and the source port, whose default
/// range is wide, varies only once the ranges given have run through;
/// frame `seq` belongs to flow `seq mod count`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flows {
    /// Number of flows.
    pub count: u32,
    /// Source addresses.
    pub src_ip: Ipv4Range,
    /// Destination addresses.
    pub dst_ip: Ipv4Range,
    /// Source ports.
    pub src_port: PortRange,
    /// Destination ports.
    pub dst_port: PortRange,
}

impl Default for Flows {
    /// One flow 198.18.0.1:1024 → 198.19.0.1:9 (discard); with a larger
    /// `count`, the source port walks up from 1024.
    fn default() -> Self {
        Self {
            count: 1,
            src_ip: Ipv4Range::single(Ipv4Addr::new(198, 18, 0, 1)),
            dst_ip: Ipv4Range::single(Ipv4Addr::new(198, 19, 0, 1)),
            src_port: PortRange { first: 1024, last: 65535 },
            dst_port: PortRange { first: 9, last: 9 },
        }
    }
}

/// One flow's fixed bytes and partial checksums for one frame length.
#[derive(Debug, Clone, Copy)]
struct Prepared {
    /// Source and destination address, source and destination port, as on
    /// the wire (frame bytes 26..38).
    tuple: [u8; 12],
    /// The IPv4 header checksum.
    ip_csum: [u8; 2],
    /// One's-complement sum of the UDP pseudo-header and header (checksum
    /// field 0); the payload's sum is added per frame.
    udp_sum: u32,
}

/// [`Flows`] prepared for frames of one length.
#[derive(Debug, Clone, Default)]
pub(super) struct FlowTable {
    flows: Vec<Prepared>,
}

impl Flows {
    /// The most flows [`check`](Self::check) accepts.
    pub const MAX: u32 = 1 << 20;

    /// Refuse a count of 0, above [`MAX`](Self::MAX), or above the number
    /// of distinct 5-tuples the ranges hold.
    ///
    /// # Errors
    /// A message naming the limit.
    pub fn check(&self) -> Result<(), String> {
        let tuples = self.src_ip.len() * self.dst_ip.len() * self.src_port.len() * self.dst_port.len();
        if self.count == 0 || self.count > Self::MAX {
            return Err(format!("must be 1..={}", Self::MAX));
        }
        if u64::from(self.count) > tuples {
            return Err(format!(
                "the address and port ranges hold only {tuples} distinct 5-tuples (widen --src-ip, --dst-ip, --src-port or --dst-port)"
            ));
        }
        Ok(())
    }

    /// The 5-tuple of flow `k`: (source, destination, source port,
    /// destination port).
    pub fn tuple(&self, k: u32) -> (Ipv4Addr, Ipv4Addr, u16, u16) {
        let mut k = u64::from(k);
        let mut digit = |n: u64| {
            let d = k % n;
            k /= n;
            d
        };
        let s = self.src_ip.nth(digit(self.src_ip.len()));
        let d = self.dst_ip.nth(digit(self.dst_ip.len()));
        let dp = self.dst_port.nth(digit(self.dst_port.len()));
        let sp = self.src_port.nth(digit(self.src_port.len()));
        (s, d, sp, dp)
    }

    /// Write the IPv4 and UDP headers of flow 0 for a `len`-byte frame into
    /// `frame[14..42]` (checksums included, for the payload present), and
    /// prepare every flow's per-frame values.
    pub(super) fn prepare(&self, len: usize, table: &mut FlowTable) {
        table.flows.clear();
        table.flows.extend((0..self.count).map(|k| {
            let (s, d, sp, dp) = self.tuple(k);
            let mut tuple = [0u8; 12];
            tuple[0..4].copy_from_slice(&s.octets());
            tuple[4..8].copy_from_slice(&d.octets());
            tuple[8..10].copy_from_slice(&sp.to_be_bytes());
            tuple[10..12].copy_from_slice(&dp.to_be_bytes());
            let mut ip = ip_header(len);
            ip[12..20].copy_from_slice(&tuple[0..8]);
            let ip_csum = (!fold(sum16(&ip))).to_be_bytes();
            let udp_len = (len - UDP_OFFSET) as u16;
            let mut pseudo = [0u8; 20];
            pseudo[0..8].copy_from_slice(&tuple[0..8]);
            pseudo[9] = 17;
            pseudo[10..12].copy_from_slice(&udp_len.to_be_bytes());
            pseudo[12..16].copy_from_slice(&tuple[8..12]);
            pseudo[16..18].copy_from_slice(&udp_len.to_be_bytes());
            Prepared { tuple, ip_csum, udp_sum: sum16(&pseudo) }
        }));
    }

    /// The fixed IPv4 and UDP header bytes of a `len`-byte frame (flow
    /// fields and checksums left zero), for `frame[14..42]`.
    pub(super) fn headers(len: usize) -> [u8; PAYLOAD_OFFSET - IP_OFFSET] {
        let mut h = [0u8; PAYLOAD_OFFSET - IP_OFFSET];
        h[..20].copy_from_slice(&ip_header(len));
        h[24..26].copy_from_slice(&((len - UDP_OFFSET) as u16).to_be_bytes());
        h
    }
}

impl FlowTable {
    /// Write flow `k`'s addresses, ports and checksums over a frame whose
    /// payload (from [`PAYLOAD_OFFSET`]) sums to `payload_sum` (see
    /// [`sum16`]), headers already in place.
    #[inline]
    pub(super) fn write(&self, k: usize, frame: &mut [u8], payload_sum: u32) {
        let f = &self.flows[k];
        frame[ADDRS..ADDRS + 12].copy_from_slice(&f.tuple);
        frame[IP_CSUM..IP_CSUM + 2].copy_from_slice(&f.ip_csum);
        // A computed 0 goes out as 0xffff (RFC 768: 0 means "no checksum").
        let c = match !fold(f.udp_sum + fold(payload_sum) as u32) {
            0 => 0xffff,
            c => c,
        };
        frame[UDP_CSUM..UDP_CSUM + 2].copy_from_slice(&c.to_be_bytes());
    }

    /// Number of prepared flows.
    pub(super) fn len(&self) -> usize {
        self.flows.len()
    }
}

/// A 20-byte IPv4 header without options for a `len`-byte Ethernet frame:
/// DF set, TTL 64, UDP; addresses and checksum zero.
fn ip_header(len: usize) -> [u8; 20] {
    let mut h = [0u8; 20];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&((len - IP_OFFSET) as u16).to_be_bytes());
    h[6] = 0x40; // DF
    h[8] = 64;
    h[9] = 17;
    h
}

/// One's-complement sum of `b` as big-endian 16-bit words (a last odd byte
/// padded with zero), not yet folded; `b` at most 64 KiB.
#[inline]
pub fn sum16(b: &[u8]) -> u32 {
    let mut s = 0u32;
    let mut chunks = b.chunks_exact(2);
    for c in &mut chunks {
        s += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        s += u32::from(*last) << 8;
    }
    s
}

/// Fold a 32-bit one's-complement sum to 16 bits.
#[inline]
pub fn fold(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_stay_in_the_benchmark_block() {
        let r: Ipv4Range = "198.18.0.1-198.18.0.9".parse().unwrap();
        assert_eq!((r.len(), r.nth(8)), (9, Ipv4Addr::new(198, 18, 0, 9)));
        assert_eq!("198.19.255.255".parse::<Ipv4Range>().unwrap().len(), 1);
        for bad in ["10.0.0.1", "198.17.255.255", "198.20.0.0", "198.18.0.1-198.20.0.1"] {
            let e = bad.parse::<Ipv4Range>().unwrap_err();
            assert!(e.contains("outside 198.18.0.0/15"), "{bad}: {e}");
        }
        assert!("198.18.0.9-198.18.0.1".parse::<Ipv4Range>().unwrap_err().contains("empty"));
        assert!("x".parse::<Ipv4Range>().is_err());
        let p: PortRange = "1000-1099".parse().unwrap();
        assert_eq!((p.len(), p.nth(99)), (100, 1099));
        assert!("70000".parse::<PortRange>().is_err() && "9-8".parse::<PortRange>().is_err());
    }

    #[test]
    fn flows_are_distinct_tuples_in_mixed_radix() {
        let f = Flows {
            count: 12,
            src_ip: "198.18.0.1-198.18.0.2".parse().unwrap(),
            dst_ip: "198.19.0.1-198.19.0.3".parse().unwrap(),
            src_port: "1000-1001".parse().unwrap(),
            dst_port: "9".parse().unwrap(),
        };
        f.check().unwrap();
        let all: std::collections::BTreeSet<_> = (0..12).map(|k| f.tuple(k)).collect();
        assert_eq!(all.len(), 12);
        assert_eq!(f.tuple(0), (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 19, 0, 1), 1000, 9));
        assert_eq!(f.tuple(7), (Ipv4Addr::new(198, 18, 0, 2), Ipv4Addr::new(198, 19, 0, 1), 1001, 9));
        let g = Flows { count: 6, dst_port: "7-9".parse().unwrap(), ..Flows::default() };
        let ports: Vec<_> = (0..6).map(|k| (g.tuple(k).2, g.tuple(k).3)).collect();
        assert_eq!(ports, [(1024, 7), (1024, 8), (1024, 9), (1025, 7), (1025, 8), (1025, 9)], "source port last");
        assert!(Flows { count: 13, ..f.clone() }.check().unwrap_err().contains("only 12 distinct"));
        assert!(Flows { count: 0, ..f }.check().is_err());
    }

    /// The checksums written per frame are those of the whole frame,
    /// computed from scratch (RFC 1071 check: the sum over the covered
    /// bytes, checksum included, is 0xffff).
    #[test]
    fn per_frame_checksums_equal_full_ones() {
        let f = Flows { count: 50, ..Flows::default() };
        for len in [60, 61, 333, 1514] {
            let mut t = FlowTable::default();
            f.prepare(len, &mut t);
            let mut frame = vec![0u8; len];
            frame[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
            frame[IP_OFFSET..PAYLOAD_OFFSET].copy_from_slice(&Flows::headers(len));
            for k in 0..50usize {
                for (i, b) in frame[PAYLOAD_OFFSET..].iter_mut().enumerate() {
                    *b = (i * 7 + k) as u8;
                }
                let payload_sum = sum16(&frame[PAYLOAD_OFFSET..]);
                t.write(k, &mut frame, payload_sum);
                assert_eq!(fold(sum16(&frame[IP_OFFSET..UDP_OFFSET])), 0xffff, "IPv4 header, len {len} flow {k}");
                let mut pseudo = frame[ADDRS..ADDRS + 8].to_vec();
                pseudo.extend([0, 17]);
                pseudo.extend(((len - UDP_OFFSET) as u16).to_be_bytes());
                let s = sum16(&pseudo) + sum16(&frame[UDP_OFFSET..]);
                assert_eq!(fold(s), 0xffff, "UDP, len {len} flow {k}");
            }
        }
    }
}
