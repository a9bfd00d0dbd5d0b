//! ICMP and ICMPv6: echo, destination unreachable (with the quoted
//! datagram under `-v`), time exceeded, packet too big, neighbour and
//! router discovery, MLDv2 reports; `length` is the ICMP message's.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::hex::hex_indented;
use super::net::Net;
use super::{Ctx, be16, be32, fold, mac, sum16};

/// The destination and the transport protocol and port of the datagram an
/// ICMP error quotes (`d`: the quoted IP header on).
fn quoted_target(d: &[u8]) -> Option<(IpAddr, u8, Option<u16>)> {
    match d.first()? >> 4 {
        4 if d.len() >= 20 => {
            let ihl = usize::from(d[0] & 0x0f) * 4;
            let dst = IpAddr::V4(Ipv4Addr::new(d[16], d[17], d[18], d[19]));
            let port = d.get(ihl + 2..ihl + 4).map(|p| be16(p, 0));
            Some((dst, d[9], port))
        }
        6 if d.len() >= 40 => {
            let a: [u8; 16] = d[24..40].try_into().ok()?;
            let port = d.get(42..44).map(|p| be16(p, 0));
            Some((IpAddr::V6(Ipv6Addr::from(a)), d[6], port))
        }
        _ => None,
    }
}

fn proto_port(p: u8) -> Option<&'static str> {
    match p {
        6 => Some("tcp"),
        17 => Some("udp"),
        _ => None,
    }
}

/// An ICMP message (`len`: its length by the IP header); with `-v`, the
/// datagram an error quotes, for the IP layer to print under it.
pub(super) fn icmp<'d>(out: &mut String, ctx: &mut Ctx<'_>, net: &Net, d: &'d [u8], len: u32) -> Option<&'d [u8]> {
    net.pair(out);
    // An error must quote at least the IP header it names (and a port
    // unreachable the port).
    let target = d.get(8..).and_then(quoted_target);
    let port_cut = matches!(target, Some((_, p, None)) if proto_port(p).is_some());
    if d.len() < 8 || d[0] == 3 && (target.is_none() || d[1] == 3 && port_cut) {
        out.push_str(" [|icmp]");
        // tcpdump dumps from the frame's start after most cuts; a port
        // unreachable cut before the quoted protocol is the exception.
        ctx.cut = !(d.len() >= 2 && d.len() < 8 + 10 && d[0] == 3 && d[1] == 3);
        return None;
    }
    out.push_str("ICMP ");
    let (t, code) = (d[0], d[1]);
    let inner = &d[8..];
    let mut quotes = false;
    match t {
        0 | 8 => {
            let what = if t == 0 { "echo reply" } else { "echo request" };
            let _ = write!(out, "{what}, id {}, seq {}", be16(d, 4), be16(d, 6));
        }
        3 => {
            quotes = true;
            match (quoted_target(inner), code) {
                (Some((dst, p, Some(port))), 3) if proto_port(p).is_some() => {
                    let _ = write!(out, "{dst} {} port {port} unreachable", proto_port(p).unwrap_or(""));
                }
                (Some((dst, _, _)), 0) => {
                    let _ = write!(out, "net {dst} unreachable");
                }
                (Some((dst, _, _)), 1) => {
                    let _ = write!(out, "host {dst} unreachable");
                }
                (Some((dst, p, _)), 2) => {
                    let _ = write!(out, "{dst} protocol {p} unreachable");
                }
                (Some((dst, p, _)), 3) => {
                    let _ = write!(out, "{dst} protocol {p} port unreachable");
                }
                (Some((dst, _, _)), 4) => {
                    let _ = write!(out, "{dst} unreachable - need to frag (mtu {})", be16(d, 6));
                }
                (Some((dst, _, _)), c) => {
                    let _ = write!(out, "{dst} unreachable - code {c}");
                }
                (None, _) => {
                    let _ = write!(out, "unreachable - code {code}");
                }
            }
        }
        11 => {
            quotes = true;
            out.push_str(if code == 1 { "ip reassembly time exceeded" } else { "time exceeded in-transit" });
        }
        13 | 14 => {
            let what = if t == 13 { "time stamp query" } else { "time stamp reply" };
            let _ = write!(out, "{what} id {} seq {}", be16(d, 4), be16(d, 6));
        }
        _ => {
            let _ = write!(out, "type-#{t}");
        }
    }
    let _ = write!(out, ", length {len}");
    (quotes && ctx.style.verbose > 0 && !inner.is_empty()).then_some(inner)
}

/// An ICMPv6 message (`len`: its length by the IPv6 header).
pub(super) fn icmp6(out: &mut String, ctx: &mut Ctx<'_>, net: &Net, d: &[u8], len: u32) {
    net.pair(out);
    let verbose = ctx.style.verbose > 0;
    if verbose && d.len() >= len as usize && len >= 4 {
        let msg = &d[..len as usize];
        let want = fold(sum16(sum16(net.pseudo(58, len), &msg[..2]), &msg[4..]));
        let got = be16(d, 2);
        if want == got {
            out.push_str("[icmp6 sum ok] ");
        } else {
            let _ = write!(out, "[bad icmp6 cksum 0x{got:04x} -> 0x{want:04x}!] ");
        }
    }
    if d.is_empty() {
        out.push_str(" [|icmp6]");
        ctx.cut = true;
        return;
    }
    out.push_str("ICMP6, ");
    let (t, code) = (d[0], d.get(1).copied().unwrap_or(0));
    // A message cut before its fields shows its name only.
    let need = match t {
        128 | 129 | 1 | 2 | 3 | 143 => 8,
        135 | 136 => 24,
        _ => 2,
    };
    if d.len() < need {
        let name = match t {
            128 => "echo request",
            129 => "echo reply",
            1 if code == 4 => "destination unreachable, unreachable port",
            1 => "destination unreachable",
            2 => "packet too big",
            3 => "time exceeded",
            133 => "router solicitation",
            134 => "router advertisement",
            135 => "neighbor solicitation",
            136 => "neighbor advertisement",
            143 => "multicast listener report v2",
            _ => "",
        };
        out.push_str(name);
        if verbose && matches!(t, 133..=136) {
            let _ = write!(out, ", length {len}");
        }
        out.push_str(" [|icmp6]");
        // (A port unreachable is checked before it is read.)
        ctx.cut = !(t == 1 && code == 4 && d.len() >= 2);
        return;
    }
    // Neighbour and router discovery put the length before the details
    // under -v (their options follow); others drop it there.
    let early = |out: &mut String| {
        if verbose {
            let _ = write!(out, ", length {len}");
        }
    };
    let mut trailing_len = !verbose;
    let mut opts_at = None;
    match t {
        128 | 129 => {
            let what = if t == 128 { "echo request" } else { "echo reply" };
            let _ = write!(out, "{what}, id {}, seq {}", be16(d, 4), be16(d, 6));
        }
        1 => {
            out.push_str("destination unreachable, ");
            let target = quoted_target(&d[8..]);
            match (code, target) {
                (4, Some((dst, p, Some(port)))) if proto_port(p).is_some() => {
                    let _ = write!(out, "unreachable port, {dst} {} port {port}", proto_port(p).unwrap_or(""));
                }
                (4, _) => {
                    out.push_str("unreachable port [|icmp6]");
                    return;
                }
                (0, Some((dst, _, _))) => {
                    let _ = write!(out, "unreachable route {dst}");
                }
                (1, Some((dst, _, _))) => {
                    let _ = write!(out, "unreachable prohibited {dst}");
                }
                (3, Some((dst, _, _))) => {
                    let _ = write!(out, "unreachable address {dst}");
                }
                (c, _) => {
                    let _ = write!(out, "code-#{c}");
                }
            }
        }
        2 => {
            let _ = write!(out, "packet too big, mtu {}", be32(d, 4));
        }
        3 => out.push_str(if code == 0 { "time exceeded in-transit" } else { "ip6 reassembly time exceeded" }),
        133 => {
            out.push_str("router solicitation");
            early(out);
            opts_at = Some(8);
        }
        134 => {
            out.push_str("router advertisement");
            early(out);
            opts_at = Some(16);
        }
        135 | 136 => {
            let a: [u8; 16] = d[8..24].try_into().unwrap_or_default();
            let target = Ipv6Addr::from(a);
            if t == 135 {
                out.push_str("neighbor solicitation");
                early(out);
                let _ = write!(out, ", who has {target}");
            } else {
                out.push_str("neighbor advertisement");
                early(out);
                let _ = write!(out, ", tgt is {target}");
                if verbose {
                    let names: Vec<&str> = [(0x80, "router"), (0x40, "solicited"), (0x20, "override")]
                        .into_iter()
                        .filter(|(bit, _)| d[4] & bit != 0)
                        .map(|(_, n)| n)
                        .collect();
                    let names = if names.is_empty() { "none".to_owned() } else { names.join(", ") };
                    let _ = write!(out, ", Flags [{names}]");
                }
            }
            opts_at = Some(24);
        }
        143 => {
            let n = be16(d, 6);
            let _ = write!(out, "multicast listener report v2, {n} group record(s)");
            if verbose {
                mld_records(out, &d[8..], n, ctx.style.verbose > 1);
            }
        }
        _ => {
            let _ = write!(out, "type-#{t}");
            trailing_len = true;
        }
    }
    if trailing_len {
        let _ = write!(out, ", length {len}");
    }
    if verbose && let Some(at) = opts_at {
        let declared = (len as usize).saturating_sub(at);
        nd_options(out, &d[at.min(d.len())..(len as usize).min(d.len())], declared, ctx.style.verbose);
    }
}

/// `-v`: the group records of an MLDv2 report (`-vv`: with their
/// sources).
fn mld_records(out: &mut String, mut r: &[u8], n: u16, sources: bool) {
    for _ in 0..n {
        let Some(h) = r.get(..20) else {
            out.push_str(" [|icmp6]");
            return;
        };
        let (kind, aux, count) = (h[0], usize::from(h[1]) * 4, usize::from(be16(h, 2)));
        let mut g = [0u8; 16];
        g.copy_from_slice(&h[4..20]);
        let kind = match kind {
            1 => "is_in",
            2 => "is_ex",
            3 => "to_in",
            4 => "to_ex",
            5 => "allow",
            6 => "block",
            _ => "unknown",
        };
        let _ = write!(out, " [gaddr {} {kind}", Ipv6Addr::from(g));
        let Some(srcs) = r.get(20..20 + count * 16) else {
            out.push_str(" [|icmp6]");
            return;
        };
        if sources {
            out.push_str(" {");
            for s in srcs.chunks(16) {
                let mut a = [0u8; 16];
                a.copy_from_slice(s);
                let _ = write!(out, " {}", Ipv6Addr::from(a));
            }
            out.push_str(" }]");
        } else {
            let _ = write!(out, ", {count} source(s)]");
        }
        r = r.get(20 + count * 16 + aux..).unwrap_or_default();
    }
}

/// `-v`: the link-layer address options of a discovery message, a line
/// each (`declared`: their length by the IPv6 header, of which `o` was
/// captured).
fn nd_options(out: &mut String, mut o: &[u8], mut declared: usize, verbose: u8) {
    while declared >= 2 {
        if o.len() < 2 {
            // (Nothing of them captured shows nothing, as tcpdump.)
            if !o.is_empty() {
                out.push_str(" [|icmp6]");
            }
            return;
        }
        let (t, units) = (o[0], usize::from(o[1]));
        let l = units * 8;
        if l == 0 || l > declared {
            return;
        }
        if l > o.len() {
            out.push_str(" [|icmp6]");
            return;
        }
        declared -= l;
        let name = match t {
            1 => "source link-address",
            2 => "destination link-address",
            3 => "prefix info",
            5 => "mtu",
            _ => "unknown",
        };
        let _ = write!(out, "\n\t  {name} option ({t}), length {l} ({units}): ");
        if t <= 2 {
            mac(out, &o[2..l]);
            if verbose > 1 {
                hex_indented(out, &o[2..l], false, "\t    ");
            }
        } else {
            for b in &o[2..l] {
                let _ = write!(out, "{b:02x}");
            }
        }
        o = &o[l..];
    }
}
