//! What an expression means: a tree of `and`/`or`/`not` over single tests
//! (load a value, compare it), built the way libpcap's `gencode.c` builds
//! its blocks for an Ethernet link.
//!
//! Order matters and is kept: a load past the end of the packet ends the
//! whole program with 0, so whether a packet is rejected can depend on which
//! test runs first. Each constructor here tests in libpcap's order.

use crate::filter::code::*;

/// Where a test gets its value into A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Load {
    /// `ld`/`ldh`/`ldb [k]`.
    Abs { size: u16, off: u32 },
    /// `ldxb 4*([14]&0xf)` then `ld`/`ldh`/`ldb [x + k]`: the transport
    /// header behind an IPv4 header of any length.
    AfterIpv4 { size: u16, off: u32 },
    /// `ld #len`: the wire length.
    Len,
    /// `ld #k`.
    Imm(u32),
}

/// What X must hold for a test that compares A with X.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum XValue {
    Len,
}

/// One test: a value into A (optionally masked), then a conditional jump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Test {
    pub load: Load,
    /// `and #mask` after the load.
    pub mask: Option<u32>,
    /// `BPF_JEQ`, `BPF_JGT`, `BPF_JGE` or `BPF_JSET`.
    pub op: u16,
    /// Compare against `k`, or against X loaded as given.
    pub k: u32,
    pub x: Option<XValue>,
}

/// A boolean combination of tests.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Cond {
    True,
    False,
    Test(Test),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}

impl Cond {
    /// `self and other`, `self` first.
    pub fn and(self, other: Cond) -> Cond {
        Cond::And(Box::new(self), Box::new(other))
    }

    /// `self or other`, `self` first.
    pub fn or(self, other: Cond) -> Cond {
        Cond::Or(Box::new(self), Box::new(other))
    }

    /// `not self`.
    pub fn negate(self) -> Cond {
        Cond::Not(Box::new(self))
    }
}

/// `A op k` after loading `load`.
pub(crate) fn cmp(load: Load, op: u16, k: u32) -> Cond {
    Cond::Test(Test { load, mask: None, op, k, x: None })
}

/// `(A & mask) == k`; a zero mask is always true and loads nothing (as
/// libpcap's optimizer leaves it), a full mask needs no `and`.
pub(crate) fn masked_eq(load: Load, k: u32, mask: u32) -> Cond {
    match mask {
        0 => Cond::True,
        u32::MAX => cmp(load, BPF_JEQ, k),
        m => Cond::Test(Test { load, mask: Some(m), op: BPF_JEQ, k: k & m, x: None }),
    }
}

fn abs(size: u16, off: u32) -> Load {
    Load::Abs { size, off }
}

/// Offset of the network header on Ethernet.
const NET: u32 = 14;

/// EtherType values.
pub(crate) const ETHERTYPE_IP: u32 = 0x0800;
pub(crate) const ETHERTYPE_ARP: u32 = 0x0806;
pub(crate) const ETHERTYPE_REVARP: u32 = 0x8035;
pub(crate) const ETHERTYPE_IPV6: u32 = 0x86dd;
const ETHERMTU: u32 = 1500;

/// IP protocol numbers.
pub(crate) const IPPROTO_ICMP: u32 = 1;
pub(crate) const IPPROTO_TCP: u32 = 6;
pub(crate) const IPPROTO_UDP: u32 = 17;
pub(crate) const IPPROTO_ICMPV6: u32 = 58;
pub(crate) const IPPROTO_SCTP: u32 = 132;
const IPPROTO_FRAGMENT: u32 = 44;

/// `gen_linktype()` for Ethernet: an EtherType, or for values up to 1500 an
/// 802.2 LLC SAP.
pub(crate) fn linktype(proto: u32) -> Cond {
    if proto > ETHERMTU {
        return cmp(abs(BPF_H, 12), BPF_JEQ, proto);
    }
    let not_length = cmp(abs(BPF_H, 12), BPF_JGT, ETHERMTU).negate();
    let sap = match proto {
        // ISO, IP and NetBEUI SAPs: both DSAP and SSAP.
        0xfe | 0x06 | 0xf0 => cmp(abs(BPF_H, NET), BPF_JEQ, (proto << 8) | proto),
        _ => cmp(abs(BPF_B, NET), BPF_JEQ, proto),
    };
    not_length.and(sap)
}

/// `ip proto P`: IPv4 with protocol field `P`.
pub(crate) fn ip_proto(p: u32) -> Cond {
    linktype(ETHERTYPE_IP).and(cmp(abs(BPF_B, NET + 9), BPF_JEQ, p))
}

/// `ip6 proto P`: the next header is `P`, directly or behind a fragment header.
pub(crate) fn ip6_proto(p: u32) -> Cond {
    let direct = cmp(abs(BPF_B, NET + 6), BPF_JEQ, p);
    let fragmented = cmp(abs(BPF_B, NET + 6), BPF_JEQ, IPPROTO_FRAGMENT).and(cmp(abs(BPF_B, NET + 40), BPF_JEQ, p));
    linktype(ETHERTYPE_IPV6).and(direct.or(fragmented))
}

/// `proto P` with no protocol qualifier, and `tcp`, `udp`, `sctp`.
pub(crate) fn ip_or_ip6_proto(p: u32) -> Cond {
    ip_proto(p).or(ip6_proto(p))
}

/// Direction of an address or port test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) enum Dir {
    Src,
    Dst,
    /// `src and dst`.
    And,
    /// `src or dst`, or no direction.
    #[default]
    Or,
}

/// Combine a source test and a destination test by direction (source first).
fn by_dir(dir: Dir, src: impl Fn() -> Cond, dst: impl Fn() -> Cond) -> Cond {
    match dir {
        Dir::Src => src(),
        Dir::Dst => dst(),
        Dir::And => src().and(dst()),
        Dir::Or => src().or(dst()),
    }
}

/// `gen_hostop()`: an IPv4 address under `mask` in a header with EtherType
/// `ethertype`, source at `src`, destination at `dst` (network offsets).
fn hostop(addr: u32, mask: u32, dir: Dir, ethertype: u32, src: u32, dst: u32) -> Cond {
    let one = |off: u32| linktype(ethertype).and(masked_eq(abs(BPF_W, NET + off), addr, mask));
    by_dir(dir, || one(src), || one(dst))
}

/// Which headers an IPv4 host or net test looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostProto {
    /// IPv4, ARP and RARP.
    Any,
    Ip,
    Arp,
    Rarp,
}

/// `host`/`net` for an IPv4 address and mask.
pub(crate) fn host4(addr: u32, mask: u32, proto: HostProto, dir: Dir) -> Cond {
    let ip = || hostop(addr, mask, dir, ETHERTYPE_IP, 12, 16);
    let arp = || hostop(addr, mask, dir, ETHERTYPE_ARP, 14, 24);
    let rarp = || hostop(addr, mask, dir, ETHERTYPE_REVARP, 14, 24);
    match proto {
        HostProto::Any => ip().or(arp()).or(rarp()),
        HostProto::Ip => ip(),
        HostProto::Arp => arp(),
        HostProto::Rarp => rarp(),
    }
}

/// `host`/`net` for an IPv6 address and mask.
pub(crate) fn host6(addr: [u32; 4], mask: [u32; 4], dir: Dir) -> Cond {
    let one = |off: u32| {
        let mut c = linktype(ETHERTYPE_IPV6);
        for i in 0..4 {
            c = c.and(masked_eq(abs(BPF_W, NET + off + 4 * i as u32), addr[i], mask[i]));
        }
        c
    };
    by_dir(dir, || one(8), || one(24))
}

/// `gen_bcmp()`: six bytes at `off`, compared as a word then a half word.
fn mac_at(off: u32, mac: [u8; 6]) -> Cond {
    let w = u32::from_be_bytes([mac[2], mac[3], mac[4], mac[5]]);
    let h = u16::from_be_bytes([mac[0], mac[1]]) as u32;
    cmp(abs(BPF_W, off + 2), BPF_JEQ, w).and(cmp(abs(BPF_H, off), BPF_JEQ, h))
}

/// `ether host`/`src`/`dst`.
pub(crate) fn ether_host(mac: [u8; 6], dir: Dir) -> Cond {
    by_dir(dir, || mac_at(6, mac), || mac_at(0, mac))
}

/// `ether broadcast`.
pub(crate) fn ether_broadcast() -> Cond {
    ether_host([0xff; 6], Dir::Dst)
}

/// `ether multicast`: the group bit of the destination.
pub(crate) fn ether_multicast() -> Cond {
    cmp(abs(BPF_B, 0), BPF_JSET, 1)
}

/// `ip multicast`: destination in 224.0.0.0/4 or above.
pub(crate) fn ip_multicast() -> Cond {
    linktype(ETHERTYPE_IP).and(cmp(abs(BPF_B, NET + 16), BPF_JGE, 224))
}

/// `ip6 multicast`: destination in ff00::/8.
pub(crate) fn ip6_multicast() -> Cond {
    linktype(ETHERTYPE_IPV6).and(cmp(abs(BPF_B, NET + 24), BPF_JEQ, 255))
}

/// Transport protocol of a `port` test: one, or TCP, UDP and SCTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortProto {
    Any,
    One(u32),
}

/// `gen_port()` or `gen_port6()` over each protocol: SCTP, then TCP or UDP.
fn each_proto(proto: PortProto, one: impl Fn(u32) -> Cond) -> Cond {
    match proto {
        PortProto::One(p) => one(p),
        PortProto::Any => one(IPPROTO_SCTP).or(one(IPPROTO_TCP).or(one(IPPROTO_UDP))),
    }
}

/// `port N`: IPv6 first, then IPv4 (non-first fragments never match).
pub(crate) fn port(n: u32, proto: PortProto, dir: Dir) -> Cond {
    let port6 = linktype(ETHERTYPE_IPV6).and(each_proto(proto, |p| {
        let at = |off: u32| cmp(abs(BPF_H, NET + 40 + off), BPF_JEQ, n);
        cmp(abs(BPF_B, NET + 6), BPF_JEQ, p).and(by_dir(dir, || at(0), || at(2)))
    }));
    let port4 = linktype(ETHERTYPE_IP).and(each_proto(proto, |p| {
        let at = |off: u32| cmp(Load::AfterIpv4 { size: BPF_H, off: NET + off }, BPF_JEQ, n);
        let first_fragment = cmp(abs(BPF_H, NET + 6), BPF_JSET, 0x1fff).negate();
        cmp(abs(BPF_B, NET + 9), BPF_JEQ, p).and(first_fragment).and(by_dir(dir, || at(0), || at(2)))
    }));
    port6.or(port4)
}

/// An operand of a length comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arth {
    Len,
    Num(u32),
}

/// A relational operator as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relop {
    Gt,
    Ge,
    Eq,
    Le,
    Lt,
    Ne,
}

/// `lhs relop rhs` over the wire length and constants.
pub(crate) fn relation(lhs: Arth, op: Relop, rhs: Arth) -> Cond {
    let (jop, negate) = match op {
        Relop::Gt => (BPF_JGT, false),
        Relop::Ge => (BPF_JGE, false),
        Relop::Eq => (BPF_JEQ, false),
        Relop::Le => (BPF_JGT, true),
        Relop::Lt => (BPF_JGE, true),
        Relop::Ne => (BPF_JEQ, true),
    };
    let load = match lhs {
        Arth::Len => Load::Len,
        Arth::Num(n) => Load::Imm(n),
    };
    let test = match rhs {
        Arth::Num(k) => Test { load, mask: None, op: jop, k, x: None },
        Arth::Len => Test { load, mask: None, op: jop, k: 0, x: Some(XValue::Len) },
    };
    let c = match (lhs, rhs) {
        (Arth::Num(a), Arth::Num(b)) => {
            let v = match jop {
                BPF_JGT => a > b,
                BPF_JGE => a >= b,
                _ => a == b,
            };
            if v { Cond::True } else { Cond::False }
        }
        _ => Cond::Test(test),
    };
    if negate { c.negate() } else { c }
}

/// `less N`: wire length at most N.
pub(crate) fn less(n: u32) -> Cond {
    cmp(Load::Len, BPF_JGT, n).negate()
}

/// `greater N`: wire length at least N.
pub(crate) fn greater(n: u32) -> Cond {
    cmp(Load::Len, BPF_JGE, n)
}
