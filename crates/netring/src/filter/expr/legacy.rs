//! The 802.2 LLC, ISO and DECnet tests (`llc`, `iso`, `isis`, `l1` …,
//! `decnet host`), built as libpcap's `gencode.c` builds them for
//! Ethernet; the EtherType and SAP tests themselves are
//! [`linktype`](super::ast::linktype).

use super::ast::{Cond, Dir, ETHERTYPE_DN, LLCSAP_ISONS, Off, abs, by_dir, cmp, linktype, masked_eq};
use crate::filter::code::*;

const ETHERMTU: u32 = 1500;

/// `iso proto V` (`gen_proto()` for `Q_ISO`): the ISO SAPs and the
/// network-layer protocol id.
pub(crate) fn iso_proto(o: Off, v: u32) -> Cond {
    linktype(o, LLCSAP_ISONS).and(cmp(abs(BPF_B, o.linkpl + o.nosnap), BPF_JEQ, v))
}

/// `isis proto V`: IS-IS with PDU type `V`.
pub(crate) fn isis_proto(o: Off, v: u32) -> Cond {
    iso_proto(o, ISO10589_ISIS).and(cmp(abs(BPF_B, o.linkpl + o.nosnap + 4), BPF_JEQ, v))
}

/// IS-IS PDU types, and the ISO network-layer protocol ids.
pub(crate) const ISO8473_CLNP: u32 = 0x81;
pub(crate) const ISO9542_ESIS: u32 = 0x82;
pub(crate) const ISO10589_ISIS: u32 = 0x83;

/// `l1`, `l2`, `iih`, `lsp`, `snp`, `csnp`, `psnp`: IS-IS of any of the
/// PDU types `types`, tested last to first as libpcap chains them.
pub(crate) fn isis_any(o: Off, types: &[u32]) -> Cond {
    let (&last, rest) = types.split_last().expect("PDU types");
    rest.iter().rev().fold(isis_proto(o, last), |acc, &t| isis_proto(o, t).or(acc))
}

/// The start of `llc` tests (`gen_llc_internal()`): an 802.3 length, and
/// not raw 802.3 (IPX without LLC).
pub(crate) fn llc(o: Off) -> Cond {
    let not_length = cmp(abs(BPF_H, o.ethertype()), BPF_JGT, ETHERMTU).negate();
    not_length.and(cmp(abs(BPF_H, o.linkpl), BPF_JEQ, 0xffff).negate())
}

/// `llc i`: an information frame (control field bit 0 clear).
pub(crate) fn llc_i(o: Off) -> Cond {
    llc(o).and(cmp(abs(BPF_B, o.linkpl + 2), BPF_JSET, 1).negate())
}

/// `llc s`/`u` (`mask` 3, value 1 or 3) and their subtypes (`mask` 0x0f for
/// supervisory, 0xef for unnumbered frames).
pub(crate) fn llc_control(o: Off, value: u32, mask: u32) -> Cond {
    llc(o).and(masked_eq(abs(BPF_B, o.linkpl + 2), value, mask))
}

/// `decnet [src|dst] host AREA.NODE` (`gen_dnhostop()`): the address in
/// the short or long data header, each with or without the padding
/// byte; `addr` as the wire has it (little-endian), `k` byte-swapped.
pub(crate) fn decnet_host(o: Off, addr: u16, dir: Dir) -> Cond {
    let net = o.net();
    let k = u32::from(addr.swap_bytes());
    let one = |short: u32, long: u32| {
        let flags = |v| masked_eq(abs(BPF_B, net + 2), v, 7);
        let padded = |v| masked_eq(abs(BPF_H, net + 2), v, 0xff07);
        let at = |off| cmp(abs(BPF_H, net + off), BPF_JEQ, k);
        let long = flags(6).and(at(2 + long)).or(padded(0x8106).and(at(3 + long)));
        flags(2).and(at(2 + short)).or(padded(0x8102).and(at(3 + short)).or(long))
    };
    linktype(o, ETHERTYPE_DN).and(by_dir(dir, || one(3, 15), || one(1, 7)))
}
