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
    // An error must quote at least the IP header it names.
    if d.len() < 8 || matches!(d[0], 3) && quoted_target(&d[8..]).is_none() {
        out.push_str(" [|icmp]");
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
    if d.len() < 8 {
        out.push_str(" [|icmp6]");
        return;
    }
    out.push_str("ICMP6, ");
    let (t, code) = (d[0], d[1]);
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
        135 | 136 if d.len() >= 24 => {
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
            let _ = write!(out, "multicast listener report v2, {} group record(s)", be16(d, 6));
            trailing_len = true;
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
        nd_options(out, &d[at.min(d.len())..(len as usize).min(d.len())], ctx.style.verbose);
    }
}

/// `-v`: the link-layer address options of a discovery message, a line each.
fn nd_options(out: &mut String, mut o: &[u8], verbose: u8) {
    while o.len() >= 2 {
        let (t, units) = (o[0], usize::from(o[1]));
        let l = units * 8;
        if l == 0 || l > o.len() {
            return;
        }
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
