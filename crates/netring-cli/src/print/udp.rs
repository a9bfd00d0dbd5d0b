//! UDP: `UDP, length N` (the payload), DNS on port 53, and the checksum
//! with `-v` over IPv6 (`-vv` over IPv4, as tcpdump).

use std::fmt::Write as _;

use super::net::Net;
use super::{Ctx, be16, dns, fold, sum16};

/// A UDP datagram (`len`: its length by the IP header; `d`: what was
/// captured of it).
pub(super) fn udp(out: &mut String, ctx: &mut Ctx<'_>, net: &Net, d: &[u8], len: u32) {
    if d.len() < 8 {
        if d.len() >= 4 {
            net.ports(out, be16(d, 0), be16(d, 2));
        } else {
            net.pair(out);
        }
        out.push_str(" [|udp]");
        return;
    }
    let (sport, dport, ulen, ck) = (be16(d, 0), be16(d, 2), u32::from(be16(d, 4)), be16(d, 6));
    net.ports(out, sport, dport);
    if ulen < 8 || ulen > len && !net.fragment {
        let _ = write!(out, "bad length {ulen} > {len}");
        return;
    }
    let checked = if net.v6() { 1 } else { 2 };
    if ctx.style.verbose >= checked && !net.fragment && d.len() >= ulen as usize && (ck != 0 || net.v6()) {
        let want = fold(sum16(sum16(net.pseudo(17, ulen), &d[..6]), &d[8..ulen as usize]));
        let want = if want == 0 { 0xffff } else { want };
        if want == ck {
            out.push_str("[udp sum ok] ");
        } else {
            let _ = write!(out, "[bad udp cksum 0x{ck:04x} -> 0x{want:04x}!] ");
        }
    }
    let body = &d[8..(ulen as usize).min(d.len())];
    if sport == 53 || dport == 53 {
        dns::dns(out, ctx, body, ulen - 8);
        return;
    }
    let _ = write!(out, "UDP, length {}", ulen - 8);
}
