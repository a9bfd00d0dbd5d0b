//! What an expression means: a tree of `and`/`or`/`not` over single tests
//! (load a value, compare it), built the way libpcap's `gencode.c` builds
//! its blocks for an Ethernet link.
//!
//! Order matters and is kept: a load past the end of the packet ends the
//! whole program with 0, so whether a packet is rejected can depend on which
//! test runs first. Each constructor here tests in libpcap's order.

use std::sync::Arc;

use crate::filter::code::*;

/// Where a test gets its value into A.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Load {
    /// `ld`/`ldh`/`ldb [k]`.
    Abs { size: u16, off: u32 },
    /// `ldxb 4*([msh]&0xf)` then `ld`/`ldh`/`ldb [x + off]`: the transport
    /// header behind an IPv4 header (starting at `msh`) of any length.
    AfterIpv4 { size: u16, off: u32, msh: u32 },
    /// `ld #len`: the wire length.
    Len,
    /// `ld #k`.
    Imm(u32),
    /// A computed value (packet bytes and arithmetic), see [`Arith`].
    Arith(Arc<Arith>),
    /// `protochain`: 1 if the IPv4 (or IPv6) header chain at `net` reaches
    /// protocol `proto`, else 0 (see [`super::chain`]).
    Chain { ip6: bool, net: u32, proto: u32 },
    /// Straight-line code of its own (`geneve` stores the inner offsets
    /// into scratch cells, see [`super::geneve`]).
    Code(Arc<Vec<crate::filter::Instruction>>),
}

/// What X must hold for a test that compares A with X.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum XValue {
    Len,
    /// A computed value: the test's code computes it into X itself.
    Arith(Arc<Arith>),
}

/// Where a packet-byte access (`proto[index]`) counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Base {
    /// A fixed offset from the start of the frame.
    Abs(u32),
    /// The transport header behind the IPv4 header at `msh`: `off` is the
    /// offset of the IPv4 header (X adds its length).
    AfterIpv4 { msh: u32, off: u32 },
    /// `off` bytes behind the offset scratch cell `cell` holds (the inner
    /// headers after `geneve`).
    Cell { cell: u32, off: u32 },
}

/// A value computed from packet bytes, the length and constants: the
/// `arth` of pcap-filter(7), constants already folded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Arith {
    Num(u32),
    Len,
    /// What scratch cell `k` holds (an offset `geneve` stored).
    Cell(u32),
    /// `size` bytes (1, 2 or 4) at `base + index`.
    Load {
        size: u16,
        base: Base,
        index: Box<Arith>,
    },
    /// A binary operation (`BPF_ADD` …), left operand first.
    Bin(u16, Box<Arith>, Box<Arith>),
    Neg(Box<Arith>),
}

impl Arith {
    /// The constant, if this is one.
    pub fn num(&self) -> Option<u32> {
        if let Arith::Num(n) = self { Some(*n) } else { None }
    }

    /// Scratch memory cells the code generator needs to compute `self`
    /// into A and `x` (if any) into X (see [`Arith::pair_order`]).
    pub fn cells(&self, x: Option<&Arith>) -> usize {
        match (self, x) {
            (a, Some(r)) => Arith::pair_order(a, r).1,
            (Arith::Num(_) | Arith::Len | Arith::Cell(_), None) => 0,
            // The index is kept in a cell while X takes the cell's offset.
            (Arith::Load { base: Base::Cell { .. }, index, .. }, None) if index.uses_x() => index.cells(None).max(1),
            (Arith::Load { index, .. }, None) => index.cells(None),
            (Arith::Bin(_, l, r), None) if r.num().is_some() => l.cells(None),
            (Arith::Bin(_, l, r), None) => Arith::pair_order(l, r).1,
            (Arith::Neg(a), None) => a.cells(None),
        }
    }

    /// How to get `l` into A and `r` into X: whether to compute `l` first
    /// (then a cell holds it while `r` is computed), and the cells needed.
    /// When `l` does not need X, `r` goes first and straight into X.
    pub fn pair_order(l: &Arith, r: &Arith) -> (bool, usize) {
        let (cl, cr) = (l.cells(None), r.cells(None));
        if !l.uses_x() {
            return (false, cl.max(cr));
        }
        let (right_first, left_first) = (cr.max(cl + 1), cl.max(cr + 1));
        if left_first < right_first { (true, left_first) } else { (false, right_first) }
    }

    /// Whether computing this value needs the X register.
    pub fn uses_x(&self) -> bool {
        match self {
            Arith::Num(_) | Arith::Len | Arith::Cell(_) => false,
            Arith::Load { base: Base::AfterIpv4 { .. } | Base::Cell { .. }, .. } => true,
            Arith::Load { index, .. } => index.num().is_none(),
            Arith::Bin(_, l, r) => r.num().is_none() || l.uses_x(),
            Arith::Neg(a) => a.uses_x(),
        }
    }
}

/// `op` applied to two constants as the kernel computes it; `None` for a
/// division or modulus by zero.
pub(crate) fn fold(op: u16, a: u32, b: u32) -> Option<u32> {
    Some(match op {
        BPF_ADD => a.wrapping_add(b),
        BPF_SUB => a.wrapping_sub(b),
        BPF_MUL => a.wrapping_mul(b),
        BPF_DIV => a.checked_div(b)?,
        BPF_MOD => a.checked_rem(b)?,
        BPF_AND => a & b,
        BPF_OR => a | b,
        BPF_XOR => a ^ b,
        BPF_LSH => a.checked_shl(b).unwrap_or(0),
        BPF_RSH => a.checked_shr(b).unwrap_or(0),
        _ => return None,
    })
}

/// `l op r` simplified as libpcap's optimizer simplifies it: constants
/// folded, and a constant 0 on either side decides operations whose result
/// it fixes — dropping the other operand's loads, which changes what a
/// truncated packet does, exactly as libpcap does.
pub(crate) fn arith_op(op: u16, l: Arith, r: Arith) -> Arith {
    match (l.num(), r.num()) {
        (Some(a), Some(b)) => match fold(op, a, b) {
            Some(v) => Arith::Num(v),
            None => Arith::Bin(op, Box::new(l), Box::new(r)),
        },
        (_, Some(0)) => match op {
            BPF_ADD | BPF_SUB | BPF_LSH | BPF_RSH | BPF_OR | BPF_XOR => l,
            BPF_MUL | BPF_AND => Arith::Num(0),
            _ => Arith::Bin(op, Box::new(l), Box::new(r)),
        },
        (Some(0), _) => match op {
            BPF_ADD | BPF_OR | BPF_XOR => r,
            BPF_SUB => Arith::Bin(op, Box::new(l), Box::new(r)),
            _ => Arith::Num(0),
        },
        _ => Arith::Bin(op, Box::new(l), Box::new(r)),
    }
}

/// `-a`.
pub(crate) fn arith_neg(a: Arith) -> Arith {
    match a {
        Arith::Num(n) => Arith::Num(n.wrapping_neg()),
        a => Arith::Neg(Box::new(a)),
    }
}

/// One test: a value into A (optionally masked), then a conditional jump.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
    /// Live sockets, frames whose tag the kernel left in the bytes: the
    /// first `vlan` test; running it moves the offsets of later tests (in
    /// libpcap's program it stores the offset in a scratch cell).
    Mark(Box<Cond>),
    /// A test after that first `vlan`, as it reads (if the `vlan` test did
    /// not run on the path to it, if it did).
    Dual(Box<Cond>, Box<Cond>),
}

impl Drop for Cond {
    /// Without a loop here, dropping a chain of 55,000 `or` terms (a tree
    /// that deep) would recurse once per term and overflow the stack.
    fn drop(&mut self) {
        fn children(c: &mut Cond, out: &mut Vec<Cond>) {
            match c {
                Cond::And(a, b) | Cond::Or(a, b) | Cond::Dual(a, b) => {
                    out.push(std::mem::replace(&mut **a, Cond::True));
                    out.push(std::mem::replace(&mut **b, Cond::True));
                }
                Cond::Not(a) | Cond::Mark(a) => out.push(std::mem::replace(&mut **a, Cond::True)),
                Cond::True | Cond::False | Cond::Test(_) => {}
            }
        }
        if matches!(self, Cond::True | Cond::False | Cond::Test(_)) {
            return;
        }
        let mut stack = Vec::new();
        children(self, &mut stack);
        while let Some(mut c) = stack.pop() {
            children(&mut c, &mut stack);
        }
    }
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

pub(crate) fn abs(size: u16, off: u32) -> Load {
    Load::Abs { size, off }
}

/// Where the headers are (libpcap's `off_linkhdr`, `off_linktype`,
/// `off_linkpl` and `off_nl`): `vlan` moves the EtherType and everything
/// after it by four bytes per tag, `mpls` moves the network header by four
/// bytes per label, `pppoes` makes the link a PPP one inside the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Off {
    /// Start of the link-layer header: the frame's, or after `pppoes` the
    /// PPP protocol field (link-layer loads count from here).
    pub linkhdr: u32,
    /// The EtherType, or after `pppoes` the PPP protocol field.
    pub linktype: u32,
    /// The link-layer payload.
    pub linkpl: u32,
    /// Bytes of MPLS labels between the payload start and the network header.
    pub nl: u32,
    /// MPLS labels read so far.
    pub mpls: u32,
    /// Where the network header of an 802.2 frame without SNAP starts,
    /// from the payload (libpcap's `off_nl_nosnap`: the 3-byte LLC header
    /// on Ethernet, nothing inside PPPoE).
    pub nosnap: u32,
    /// After `pppoes`: the link is PPP (`linktype` holds a PPP protocol).
    pub ppp: bool,
}

impl Default for Off {
    fn default() -> Self {
        Off { linkhdr: 0, linktype: 12, linkpl: 14, nl: 0, mpls: 0, nosnap: 3, ppp: false }
    }
}

impl Off {
    /// Offset of the EtherType (or PPP protocol).
    pub fn ethertype(self) -> u32 {
        self.linktype
    }
    /// Offset of the network header.
    pub fn net(self) -> u32 {
        self.linkpl + self.nl
    }
    /// The offsets behind one more VLAN tag.
    pub fn tagged(self) -> Off {
        Off { linktype: self.linktype + 4, linkpl: self.linkpl + 4, ..self }
    }
}

/// EtherType values.
pub(crate) const ETHERTYPE_IP: u32 = 0x0800;
pub(crate) const ETHERTYPE_ARP: u32 = 0x0806;
pub(crate) const ETHERTYPE_REVARP: u32 = 0x8035;
pub(crate) const ETHERTYPE_IPV6: u32 = 0x86dd;
pub(crate) const ETHERTYPE_MPLS: u32 = 0x8847;
pub(crate) const ETHERTYPE_ATALK: u32 = 0x809b;
pub(crate) const ETHERTYPE_AARP: u32 = 0x80f3;
pub(crate) const ETHERTYPE_IPX: u32 = 0x8137;
pub(crate) const ETHERTYPE_DN: u32 = 0x6003;
pub(crate) const LLCSAP_ISONS: u32 = 0xfe;
pub(crate) const LLCSAP_IPX: u32 = 0xe0;
pub(crate) const ETHERTYPE_PPPOED: u32 = 0x8863;
pub(crate) const ETHERTYPE_PPPOES: u32 = 0x8864;
const ETHERMTU: u32 = 1500;

/// IP protocol numbers.
pub(crate) const IPPROTO_ICMP: u32 = 1;
pub(crate) const IPPROTO_TCP: u32 = 6;
pub(crate) const IPPROTO_UDP: u32 = 17;
pub(crate) const IPPROTO_ICMPV6: u32 = 58;
pub(crate) const IPPROTO_SCTP: u32 = 132;
const IPPROTO_FRAGMENT: u32 = 44;

/// `gen_linktype()`: behind MPLS labels the bottom-of-stack bit and the IP
/// version (only IPv4 and IPv6; the parser refuses the others), inside
/// PPPoE the PPP protocol, on Ethernet an EtherType, or for values up to
/// 1500 an 802.2 LLC SAP.
pub(crate) fn linktype(o: Off, proto: u32) -> Cond {
    if o.mpls > 0 {
        let version = if proto == ETHERTYPE_IPV6 { 0x60 } else { 0x40 };
        return masked_eq(abs(BPF_B, o.net() - 2), 1, 1).and(masked_eq(abs(BPF_B, o.net()), version, 0xf0));
    }
    if o.ppp {
        return cmp(abs(BPF_H, o.ethertype()), BPF_JEQ, ethertype_to_ppp(proto));
    }
    let ethertype = || cmp(abs(BPF_H, o.ethertype()), BPF_JEQ, proto);
    let not_length = || cmp(abs(BPF_H, o.ethertype()), BPF_JGT, ETHERMTU).negate();
    let llc = o.linkpl;
    match proto {
        // AppleTalk and AARP: the EtherType, or 802.2 SNAP with it.
        ETHERTYPE_ATALK => ethertype().or(not_length().and(snap(o, 0x08_0007, proto))),
        ETHERTYPE_AARP => ethertype().or(not_length().and(snap(o, 0, proto))),
        // IPX: the EtherType, or 802.3 with SNAP, the IPX SAP or raw (0xffff).
        LLCSAP_IPX => {
            let sap = cmp(abs(BPF_B, llc), BPF_JEQ, LLCSAP_IPX).or(cmp(abs(BPF_H, llc), BPF_JEQ, 0xffff));
            cmp(abs(BPF_H, o.ethertype()), BPF_JEQ, ETHERTYPE_IPX)
                .or(not_length().and(snap(o, 0, ETHERTYPE_IPX).or(sap)))
        }
        p if p > ETHERMTU => ethertype(),
        // ISO, IP and NetBEUI SAPs: both DSAP and SSAP.
        0xfe | 0x06 | 0xf0 => not_length().and(cmp(abs(BPF_H, llc), BPF_JEQ, (proto << 8) | proto)),
        _ => not_length().and(cmp(abs(BPF_B, llc), BPF_JEQ, proto)),
    }
}

/// `gen_snap()`: an 802.2 SNAP header with organisation `org` and type
/// `ptype`, compared as the word at 4 then the word at 0.
fn snap(o: Off, org: u32, ptype: u32) -> Cond {
    let low = ((org & 0xffff) << 16) | ptype;
    cmp(abs(BPF_W, o.linkpl + 4), BPF_JEQ, low).and(cmp(abs(BPF_W, o.linkpl), BPF_JEQ, 0xaaaa_0300 | (org >> 16)))
}

/// The PPP protocol number libpcap compares for an EtherType or SAP
/// (`ethertype_to_ppptype()`); others are compared as they are.
fn ethertype_to_ppp(proto: u32) -> u32 {
    match proto {
        ETHERTYPE_IP => 0x21,
        ETHERTYPE_IPV6 => 0x57,
        0x6003 => 0x27, // DECnet
        0x809b => 0x29, // AppleTalk
        0x0600 => 0x25, // XNS
        0xfe => 0x23,   // ISO (OSI)
        0x42 => 0x31,   // 802.1D bridge PDU
        0xe0 => 0x2b,   // IPX
        p => p,
    }
}

/// `ip proto P`: IPv4 with protocol field `P`.
pub(crate) fn ip_proto(o: Off, p: u32) -> Cond {
    linktype(o, ETHERTYPE_IP).and(cmp(abs(BPF_B, o.net() + 9), BPF_JEQ, p))
}

/// `ip6 proto P`: the next header is `P`, directly or behind a fragment header.
pub(crate) fn ip6_proto(o: Off, p: u32) -> Cond {
    let net = o.net();
    let direct = cmp(abs(BPF_B, net + 6), BPF_JEQ, p);
    let fragmented = cmp(abs(BPF_B, net + 6), BPF_JEQ, IPPROTO_FRAGMENT).and(cmp(abs(BPF_B, net + 40), BPF_JEQ, p));
    linktype(o, ETHERTYPE_IPV6).and(direct.or(fragmented))
}

/// `proto P` with no protocol qualifier, and `tcp`, `udp`, `sctp`.
pub(crate) fn ip_or_ip6_proto(o: Off, p: u32) -> Cond {
    ip_proto(o, p).or(ip6_proto(o, p))
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
pub(crate) fn by_dir(dir: Dir, src: impl Fn() -> Cond, dst: impl Fn() -> Cond) -> Cond {
    match dir {
        Dir::Src => src(),
        Dir::Dst => dst(),
        Dir::And => src().and(dst()),
        Dir::Or => src().or(dst()),
    }
}

/// `gen_hostop()`: an IPv4 address under `mask` in a header with EtherType
/// `ethertype`, source at `src`, destination at `dst` (network offsets).
fn hostop(o: Off, addr: u32, mask: u32, dir: Dir, ethertype: u32, src: u32, dst: u32) -> Cond {
    let one = |off: u32| linktype(o, ethertype).and(masked_eq(abs(BPF_W, o.net() + off), addr, mask));
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
pub(crate) fn host4(o: Off, addr: u32, mask: u32, proto: HostProto, dir: Dir) -> Cond {
    let ip = || hostop(o, addr, mask, dir, ETHERTYPE_IP, 12, 16);
    let arp = || hostop(o, addr, mask, dir, ETHERTYPE_ARP, 14, 24);
    let rarp = || hostop(o, addr, mask, dir, ETHERTYPE_REVARP, 14, 24);
    match proto {
        // Behind MPLS labels only IPv4 is looked at, as in libpcap.
        HostProto::Any if o.mpls > 0 => ip(),
        HostProto::Any => ip().or(arp()).or(rarp()),
        HostProto::Ip => ip(),
        HostProto::Arp => arp(),
        HostProto::Rarp => rarp(),
    }
}

/// `host`/`net` for an IPv6 address and mask.
pub(crate) fn host6(o: Off, addr: [u32; 4], mask: [u32; 4], dir: Dir) -> Cond {
    let one = |off: u32| {
        let mut c = linktype(o, ETHERTYPE_IPV6);
        for i in 0..4 {
            c = c.and(masked_eq(abs(BPF_W, o.net() + off + 4 * i as u32), addr[i], mask[i]));
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
pub(crate) fn ether_host(o: Off, mac: [u8; 6], dir: Dir) -> Cond {
    by_dir(dir, || mac_at(o.linkhdr + 6, mac), || mac_at(o.linkhdr, mac))
}

/// `ether broadcast`.
pub(crate) fn ether_broadcast(o: Off) -> Cond {
    ether_host(o, [0xff; 6], Dir::Dst)
}

/// `ether multicast`: the group bit of the destination.
pub(crate) fn ether_multicast(o: Off) -> Cond {
    cmp(abs(BPF_B, o.linkhdr), BPF_JSET, 1)
}

/// `ip broadcast`: the destination's host part (`hostmask`) all zeros or
/// all ones.
pub(crate) fn ip_broadcast(o: Off, hostmask: u32) -> Cond {
    let dst = || abs(BPF_W, o.net() + 16);
    linktype(o, ETHERTYPE_IP).and(masked_eq(dst(), 0, hostmask).or(masked_eq(dst(), hostmask, hostmask)))
}

/// `ip multicast`: destination in 224.0.0.0/4 or above.
pub(crate) fn ip_multicast(o: Off) -> Cond {
    linktype(o, ETHERTYPE_IP).and(cmp(abs(BPF_B, o.net() + 16), BPF_JGE, 224))
}

/// `ip6 multicast`: destination in ff00::/8.
pub(crate) fn ip6_multicast(o: Off) -> Cond {
    linktype(o, ETHERTYPE_IPV6).and(cmp(abs(BPF_B, o.net() + 24), BPF_JEQ, 255))
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

/// One port test at `off` of the transport header (`gen_portop()`,
/// `gen_portrangeop()`): equal to `lo`, or within `lo..=hi`.
fn port_test(load: Load, lo: u32, hi: u32) -> Cond {
    if lo == hi {
        return cmp(load, BPF_JEQ, lo);
    }
    cmp(load.clone(), BPF_JGE, lo).and(cmp(load, BPF_JGT, hi).negate())
}

/// `port N` (`lo == hi`, `range` false) or `portrange LO-HI`: IPv6 first,
/// then IPv4 (non-first fragments never match).
pub(crate) fn port(o: Off, lo: u32, hi: u32, range: bool, proto: PortProto, dir: Dir) -> Cond {
    let net = o.net();
    let one = |load: Load| if range { port_test(load, lo, hi) } else { cmp(load, BPF_JEQ, lo) };
    let port6 = linktype(o, ETHERTYPE_IPV6).and(each_proto(proto, |p| {
        let at = |off: u32| one(abs(BPF_H, net + 40 + off));
        cmp(abs(BPF_B, net + 6), BPF_JEQ, p).and(by_dir(dir, || at(0), || at(2)))
    }));
    let port4 = linktype(o, ETHERTYPE_IP).and(each_proto(proto, |p| {
        let at = |off: u32| one(Load::AfterIpv4 { size: BPF_H, off: net + off, msh: net });
        cmp(abs(BPF_B, net + 9), BPF_JEQ, p).and(not_fragment(o)).and(by_dir(dir, || at(0), || at(2)))
    }));
    port6.or(port4)
}

/// The IPv4 datagram is the first (or only) fragment (`gen_ipfrag()`).
pub(crate) fn not_fragment(o: Off) -> Cond {
    cmp(abs(BPF_H, o.net() + 6), BPF_JSET, 0x1fff).negate()
}

/// `vlan [ID]` with the tag in the bytes at `o` (`gen_vlan_no_bpf_extensions()`).
pub(crate) fn vlan_inline(o: Off, id: Option<u32>) -> Cond {
    let tpid = |t: u32| cmp(abs(BPF_H, o.ethertype()), BPF_JEQ, t);
    let tagged = tpid(0x8100).or(tpid(0x88a8)).or(tpid(0x9100));
    match id {
        Some(id) => tagged.and(masked_eq(abs(BPF_H, o.net()), id, 0x0fff)),
        None => tagged,
    }
}

/// `skb_vlan_tag_present()`: the kernel took a tag out of the frame.
pub(crate) fn vlan_tag_present() -> Cond {
    cmp(abs(BPF_B, SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT), BPF_JEQ, 1)
}

/// The VLAN id of the tag the kernel took out.
pub(crate) fn vlan_stripped_id(id: u32) -> Cond {
    masked_eq(abs(BPF_B, SKF_AD_OFF + SKF_AD_VLAN_TAG), id, 0x0fff)
}

/// `outbound` (`inbound` is its negation): the packet type the kernel
/// gives sent frames (`PACKET_OUTGOING`).
pub(crate) fn outbound() -> Cond {
    cmp(abs(BPF_H, SKF_AD_OFF + SKF_AD_PKTTYPE), BPF_JEQ, 4)
}

/// `ifindex N`.
pub(crate) fn ifindex(n: u32) -> Cond {
    cmp(abs(BPF_W, SKF_AD_OFF + SKF_AD_IFINDEX), BPF_JEQ, n)
}

/// `byte N op V` for `=`, `<`, `>` (`gen_byteop()`).
pub(crate) fn byteop(op: Relop, idx: u32, v: u32) -> Cond {
    let load = abs(BPF_B, idx);
    match op {
        Relop::Lt => cmp(load, BPF_JGE, v).negate(),
        Relop::Gt => cmp(load, BPF_JGT, v),
        _ => cmp(load, BPF_JEQ, v),
    }
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

/// The load that computes `a` into A, in its simplest form.
fn load_of(a: Arith) -> Load {
    match a {
        Arith::Num(n) => Load::Imm(n),
        Arith::Len => Load::Len,
        Arith::Load { size, base: Base::Abs(b), index } if index.num().is_some() => {
            Load::Abs { size, off: b.wrapping_add(index.num().unwrap_or(0)) }
        }
        Arith::Load { size, base: Base::AfterIpv4 { msh, off }, index } if index.num().is_some() => {
            Load::AfterIpv4 { size, off: off.wrapping_add(index.num().unwrap_or(0)), msh }
        }
        a => Load::Arith(Arc::new(a)),
    }
}

/// `lhs relop rhs` (`gen_relation()`); protocol checks are the caller's.
pub(crate) fn relation(lhs: Arith, op: Relop, rhs: Arith) -> Cond {
    let (jop, negate) = match op {
        Relop::Gt => (BPF_JGT, false),
        Relop::Ge => (BPF_JGE, false),
        Relop::Eq => (BPF_JEQ, false),
        Relop::Le => (BPF_JGT, true),
        Relop::Lt => (BPF_JGE, true),
        Relop::Ne => (BPF_JEQ, true),
    };
    let c = match (lhs.num(), rhs) {
        (Some(a), Arith::Num(b)) => {
            let v = match jop {
                BPF_JGT => a > b,
                BPF_JGE => a >= b,
                _ => a == b,
            };
            if v { Cond::True } else { Cond::False }
        }
        (_, Arith::Num(k)) => compare_k(lhs, jop, k),
        (_, Arith::Len) => Cond::Test(Test { load: load_of(lhs), mask: None, op: jop, k: 0, x: Some(XValue::Len) }),
        (_, rhs) => Cond::Test(Test {
            load: Load::Arith(Arc::new(lhs)),
            mask: None,
            op: jop,
            k: 0,
            x: Some(XValue::Arith(Arc::new(rhs))),
        }),
    };
    if negate { c.negate() } else { c }
}

/// `value jop #k`, with the peepholes libpcap's optimizer applies: a final
/// `and #m` becomes the test's mask (`jset` when compared with 0), and a
/// final `add`/`sub`/`xor` of a constant moves into an equality's constant.
fn compare_k(value: Arith, jop: u16, k: u32) -> Cond {
    if let Arith::Bin(op, l, r) = &value
        && let Some(c) = r.num()
    {
        match (*op, jop) {
            (BPF_AND, BPF_JEQ) if k == 0 => {
                return cmp(load_of((**l).clone()), BPF_JSET, c).negate();
            }
            (BPF_AND, _) => {
                return Cond::Test(Test { load: load_of((**l).clone()), mask: Some(c), op: jop, k, x: None });
            }
            (BPF_ADD, BPF_JEQ) => return compare_k((**l).clone(), jop, k.wrapping_sub(c)),
            (BPF_SUB, BPF_JEQ) => return compare_k((**l).clone(), jop, k.wrapping_add(c)),
            (BPF_XOR, BPF_JEQ) => return compare_k((**l).clone(), jop, k ^ c),
            _ => {}
        }
    }
    cmp(load_of(value), jop, k)
}

/// `less N`: wire length at most N.
pub(crate) fn less(n: u32) -> Cond {
    cmp(Load::Len, BPF_JGT, n).negate()
}

/// `greater N`: wire length at least N.
pub(crate) fn greater(n: u32) -> Cond {
    cmp(Load::Len, BPF_JGE, n)
}
