//! Ethernet and 802.1Q/802.1ad tags: the `-e` prefix, the EtherType
//! names, and the hand-off to ARP, IPv4, IPv6 — or, for any other
//! EtherType, `ethertype NAME (0xNNNN), length N:` and the payload in hex.

use std::fmt::Write as _;

use super::{Ctx, Dump, arp, be16, hex, ip, mac};

/// Tag protocol identifiers of VLAN tags.
fn is_vlan(t: u16) -> bool {
    matches!(t, 0x8100 | 0x88a8 | 0x9100)
}

/// tcpdump's name for an EtherType (`Unknown` when it has none).
pub(super) fn ethertype_name(t: u16) -> &'static str {
    match t {
        0x0800 => "IPv4",
        0x0806 => "ARP",
        0x86dd => "IPv6",
        0x8100 => "802.1Q",
        0x88a8 => "802.1Q-QinQ",
        0x9100 => "802.1Q-9100",
        0x8035 => "Reverse ARP",
        0x88cc => "LLDP",
        0x8847 => "MPLS unicast",
        0x8848 => "MPLS multicast",
        0x888e => "EAPOL",
        0x8863 => "PPPoE D",
        0x8864 => "PPPoE S",
        0x8808 => "MAC control",
        0x88f7 => "PTP",
        0x8809 => "Slow Protocols",
        0x22f0 => "AVTP",
        _ => "Unknown",
    }
}

/// A network-layer packet of EtherType `et` with no link header (an `any`
/// capture's cooked packets).
pub(super) fn network(out: &mut String, ctx: &mut Ctx<'_>, et: u16, data: &[u8], wire: u32) {
    ctx.net_offset = 0;
    match et {
        0x0800 => ip::ipv4(out, ctx, data),
        0x86dd => ip::ipv6(out, ctx, data),
        0x0806 => arp::arp(out, ctx, data, wire),
        _ => {
            let _ = write!(out, "ethertype {} (0x{et:04x}), length {wire}: ", ethertype_name(et));
            if matches!(ctx.style.dump, Dump::None | Dump::Ascii) {
                hex::hex(out, data, true);
            }
        }
    }
}

/// tcpdump's name for an LLC service access point.
fn sap_name(sap: u8) -> &'static str {
    match sap & 0xfe {
        0x00 => "Null",
        0x04 => "SNA",
        0x06 => "IP",
        0x42 => "STP",
        0x98 => "ARP",
        0xaa => "SNAP",
        0xe0 => "IPX",
        0xf0 => "NetBeui",
        0xfe => "OSI",
        _ => "Unknown",
    }
}

/// An IEEE 802.3 frame (the type field holds the length, `len`) with an
/// 802.2 LLC header: the SAPs and, for the unnumbered-information frames
/// netring does not decode further, the payload in hex.
fn llc(out: &mut String, ctx: &mut Ctx<'_>, data: &[u8], len: u16) {
    let src_dst = |out: &mut String| {
        mac(out, &data[6..12]);
        out.push_str(" > ");
        mac(out, &data[0..6]);
    };
    ctx.net_offset = 14;
    let body = &data[14..data.len().min(14 + usize::from(len))];
    if ctx.style.link {
        src_dst(out);
        let _ = write!(out, ", 802.3, length {len}: ");
    }
    let [dsap, ssap, ctrl, ..] = *body else {
        out.push_str(" [|llc]");
        return;
    };
    let response = if ssap & 1 != 0 { "Response" } else { "Command" };
    if ctx.style.link {
        let group = if dsap & 1 != 0 { "Group" } else { "Individual" };
        let _ = write!(
            out,
            "LLC, dsap {} (0x{:02x}) {group}, ssap {} (0x{:02x}) {response}, ctrl 0x{ctrl:02x}: ",
            sap_name(dsap),
            dsap & 0xfe,
            sap_name(ssap),
            ssap & 0xfe
        );
    } else {
        src_dst(out);
        let _ = write!(out, " {} DSAP 0x{:02x} ", sap_name(dsap), dsap & 0xfe);
    }
    if ctrl == 0x03 {
        let _ = write!(out, "Unnumbered, ui, Flags [{response}], length {len}");
    } else {
        let _ = write!(out, "ctrl 0x{ctrl:02x}, length {len}");
    }
    if matches!(ctx.style.dump, Dump::None | Dump::Ascii) {
        hex::hex(out, body, true);
    }
    ctx.net_offset = 17.min(data.len());
}

/// One Ethernet frame (`wire`: its length on the wire).
pub(super) fn ether(out: &mut String, ctx: &mut Ctx<'_>, data: &[u8], wire: u32) {
    if data.len() < 14 {
        out.push_str("[|ether]");
        ctx.cut = true;
        ctx.net_offset = data.len();
        return;
    }
    let link = ctx.style.link;
    let mut et = be16(data, 12);
    if et <= 1500 {
        llc(out, ctx, data, et);
        return;
    }
    let head = |out: &mut String, et: u16| {
        mac(out, &data[6..12]);
        out.push_str(" > ");
        mac(out, &data[0..6]);
        let _ = write!(out, ", ethertype {} (0x{et:04x}), length {wire}: ", ethertype_name(et));
    };
    if link {
        head(out, et);
    }
    let mut off = 14;
    while is_vlan(et) && data.len() >= off + 4 {
        let tci = be16(data, off);
        et = be16(data, off + 2);
        if link {
            let dei = if tci & 0x1000 != 0 { ", DEI" } else { "" };
            let _ = write!(
                out,
                "vlan {}, p {}{dei}, ethertype {} (0x{et:04x}), ",
                tci & 0x0fff,
                tci >> 13,
                ethertype_name(et)
            );
        }
        off += 4;
    }
    ctx.net_offset = off;
    let rest = &data[off..];
    let rest_wire = wire.saturating_sub(off as u32);
    match et {
        0x0800 => ip::ipv4(out, ctx, rest),
        0x86dd => ip::ipv6(out, ctx, rest),
        0x0806 => arp::arp(out, ctx, rest, rest_wire),
        _ => {
            if !link {
                head(out, et);
            }
            // tcpdump shows what it cannot decode, unless a dump follows anyway.
            if matches!(ctx.style.dump, Dump::None | Dump::Ascii) {
                hex::hex(out, rest, true);
            }
        }
    }
}
