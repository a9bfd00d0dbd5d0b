//! IPv4 and IPv6: `IP`/`IP6`, `-v`'s header fields, and the hand-off to
//! TCP, UDP, ICMP and ICMPv6 with the length the header claims (not the
//! bytes captured: padding after the datagram is not part of it).

use std::fmt::Write as _;
use std::net::IpAddr;

use netring::parse::etherparse::{Ipv4HeaderSlice, Ipv6HeaderSlice};

use super::net::Net;
use super::{Ctx, be16, icmp, sum16, tcp, udp};

/// The name tcpdump gives an IP protocol number in `-v` (`unknown` when
/// it has none).
fn proto_name(p: u8) -> &'static str {
    match p {
        0 => "Options",
        1 => "ICMP",
        2 => "IGMP",
        4 => "IPIP",
        6 => "TCP",
        17 => "UDP",
        41 => "IPv6",
        43 => "Routing",
        44 => "Fragment",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        58 => "ICMPv6",
        59 => "NONE",
        60 => "DSTOPTS",
        89 => "OSPF",
        103 => "PIM",
        112 => "VRRP",
        132 => "SCTP",
        _ => "unknown",
    }
}

/// An IPv4 datagram from its header on.
pub(super) fn ipv4(out: &mut String, ctx: &mut Ctx<'_>, d: &[u8]) {
    if !ctx.style.link {
        out.push_str("IP ");
    }
    let Ok(h) = Ipv4HeaderSlice::from_slice(d) else {
        let hlen = usize::from(d.first().map_or(0, |b| b & 0x0f)) * 4;
        if d.len() >= 20 && hlen > d.len() {
            // The options were cut: -v shows the fields before them.
            if ctx.style.verbose > 0 {
                fields(out, d);
                ip_options(out, &d[20..]);
            } else {
                let _ = write!(out, " [remaining caplen({}) < header length({hlen})]", d.len());
            }
            ctx.cut = true;
        }
        out.push_str(" [|ip]");
        return;
    };
    let total = u32::from(h.total_len());
    let hlen = usize::from(h.ihl()) * 4;
    let proto = h.protocol().0;
    let frag = u16::from(h.fragments_offset());
    if ctx.style.verbose > 0 {
        fields(out, d);
        if hlen > 20 {
            ip_options(out, &d[20..hlen]);
            out.push(')');
        }
        out.push_str(")\n    ");
    }
    let src = IpAddr::V4(h.source_addr());
    let dst = IpAddr::V4(h.destination_addr());
    let pseudo = sum16(0, &d[12..20]);
    let mut net = Net::new(src, dst, pseudo);
    net.fragment = h.more_fragments();
    // The datagram ends where its header says, whatever was captured after.
    let end = (total as usize).clamp(hlen, d.len().max(hlen)).min(d.len());
    let payload = &d[hlen.min(d.len())..end];
    let len = total.saturating_sub(hlen as u32);
    if frag != 0 {
        // A later fragment: no transport header to read.
        net.pair(out);
        let _ = write!(out, "ip-proto-{proto}");
        return;
    }
    transport(out, ctx, &net, proto, payload, len);
}

/// `-v`: `(tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6),
/// length 60` from the fixed 20 bytes of the header `d`.
fn fields(out: &mut String, d: &[u8]) {
    let flags = match (d[6] & 0x40 != 0, d[6] & 0x20 != 0) {
        (true, true) => "DF+",
        (true, false) => "DF",
        (false, true) => "+",
        (false, false) => "none",
    };
    let ecn = ["", ",ECT(1)", ",ECT(0)", ",CE"][usize::from(d[1] & 3)];
    let proto = d[9];
    let _ = write!(
        out,
        "(tos 0x{:x}{ecn}, ttl {}, id {}, offset {}, flags [{flags}], proto {} ({proto}), length {}",
        d[1],
        d[8],
        be16(d, 4),
        (be16(d, 6) & 0x1fff) * 8,
        proto_name(proto),
        be16(d, 2),
    );
}

/// `-v`: `, options (RA,NOP` (the caller closes it when the options were
/// captured whole; a cut one shows its name only).
fn ip_options(out: &mut String, mut o: &[u8]) {
    out.push_str(", options (");
    let mut first = true;
    while let Some(&t) = o.first() {
        if !first {
            out.push(',');
        }
        first = false;
        let l = match t {
            0 | 1 => 1,
            _ => usize::from(o.get(1).copied().unwrap_or(0)).max(2),
        };
        let _ = match t {
            0 => write!(out, "EOL"),
            1 => write!(out, "NOP"),
            0x94 => write!(out, "RA"),
            7 => write!(out, "RR"),
            0x44 => write!(out, "TS"),
            0x83 => write!(out, "LSRR"),
            0x89 => write!(out, "SSRR"),
            0x82 => write!(out, "security"),
            _ => write!(out, "unknown {t}"),
        };
        if t == 0 {
            break;
        }
        o = o.get(l..).unwrap_or_default();
    }
}

/// An IPv6 packet from its header on.
pub(super) fn ipv6(out: &mut String, ctx: &mut Ctx<'_>, d: &[u8]) {
    let Ok(h) = Ipv6HeaderSlice::from_slice(d) else {
        out.push_str(" [|ip6]");
        return;
    };
    if !ctx.style.link {
        out.push_str("IP6 ");
    }
    let len = u32::from(h.payload_length());
    let next = h.next_header().0;
    if ctx.style.verbose > 0 {
        out.push('(');
        let class = h.traffic_class();
        if class != 0 {
            let _ = write!(out, "class 0x{class:x}, ");
        }
        let flow = h.flow_label().value();
        if flow != 0 {
            let _ = write!(out, "flowlabel 0x{flow:05x}, ");
        }
        let _ =
            write!(out, "hlim {}, next-header {} ({next}) payload length: {len}) ", h.hop_limit(), proto_name(next));
    }
    let src = IpAddr::V6(h.source_addr());
    let dst = IpAddr::V6(h.destination_addr());
    let pseudo = sum16(0, &d[8..40]);
    let mut net = Net::new(src, dst, pseudo);
    let end = (40 + len as usize).min(d.len());
    let (mut at, mut next, mut len) = (40, next, len);
    // Hop-by-hop and destination options: named, and with -v their
    // options; the upper layer follows.
    while matches!(next, 0 | 60) {
        let cut = if next == 0 { " [|hbhopt]" } else { " [|dstopt]" };
        let Some(h) = d.get(at..at + 2) else {
            net.pair(out);
            out.push_str(cut);
            ctx.cut = true;
            return;
        };
        let hlen = (usize::from(h[1]) + 1) * 8;
        let Some(opts) = d.get(at + 2..at + hlen) else {
            net.pair(out);
            out.push_str(cut);
            return;
        };
        net.ext.push_str(if next == 0 { "HBH " } else { "DSTOPT " });
        if ctx.style.verbose > 0 {
            ext_options(&mut net.ext, opts);
        }
        next = h[0];
        at += hlen;
        len = len.saturating_sub(hlen as u32);
    }
    transport(out, ctx, &net, next, &d[at.min(end)..end], len);
}

/// `-v`: the options of a hop-by-hop or destination options header, each
/// `(name…) `.
fn ext_options(out: &mut String, mut o: &[u8]) {
    while let Some(&t) = o.first() {
        if t == 0 {
            out.push_str("(pad1) ");
            o = &o[1..];
            continue;
        }
        let Some(&l) = o.get(1) else { return };
        let Some(v) = o.get(2..2 + usize::from(l)) else { return };
        let _ = match (t, v.len()) {
            (1, _) => write!(out, "(padn) "),
            (5, 2) => write!(out, "(rtalert: 0x{:02x}{:02x}) ", v[0], v[1]),
            _ => write!(out, "(opt_type 0x{t:02x}: len={l}) "),
        };
        o = &o[2 + usize::from(l)..];
    }
}

/// The transport header and what follows (`len`: its length by the IP
/// header; `d`: the bytes of it captured).
fn transport(out: &mut String, ctx: &mut Ctx<'_>, net: &Net, proto: u8, d: &[u8], len: u32) {
    match proto {
        6 => tcp::tcp(out, ctx, net, d, len),
        17 => udp::udp(out, ctx, net, d, len),
        1 if !net.v6() => {
            if let Some(inner) = icmp::icmp(out, ctx, net, d, len) {
                quoted(out, ctx, inner);
            }
        }
        58 if net.v6() => icmp::icmp6(out, ctx, net, d, len),
        _ => {
            net.pair(out);
            let _ = write!(out, " ip-proto-{proto} {len}");
        }
    }
}

/// Print the datagram quoted inside an ICMP error on a line of its own,
/// as `-v` does.
fn quoted(out: &mut String, ctx: &mut Ctx<'_>, d: &[u8]) {
    out.push_str("\n\t");
    match d.first().map(|b| b >> 4) {
        Some(4) => ipv4(out, ctx, d),
        Some(6) => ipv6(out, ctx, d),
        _ => out.push_str("[|ip]"),
    }
}
