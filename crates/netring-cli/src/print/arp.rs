//! ARP over Ethernet for IPv4: who-has and is-at, as tcpdump words them.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use super::{Ctx, be16, mac};

/// The ARP message `d` (`len`: its length on the wire, padding included,
/// which is what tcpdump calls the ARP length).
pub(super) fn arp(out: &mut String, ctx: &mut Ctx<'_>, d: &[u8], len: u32) {
    // A cut message shows only that it was cut, as tcpdump.
    if d.len() < 8 || (be16(d, 0), be16(d, 2), d[4], d[5]) == (1, 0x0800, 6, 4) && d.len() < 28 {
        out.push_str(" [|arp]");
        ctx.cut = true;
        return;
    }
    if !ctx.style.link {
        out.push_str("ARP, ");
    }
    let (hrd, pro, hln, pln, op) = (be16(d, 0), be16(d, 2), d[4], d[5], be16(d, 6));
    if hrd != 1 || pro != 0x0800 || hln != 6 || pln != 4 {
        let _ = write!(out, "Hardware {hrd} (len {hln}), protocol 0x{pro:04x} (len {pln}), op {op}, length {len}");
        return;
    }
    if ctx.style.verbose > 0 {
        out.push_str("Ethernet (len 6), IPv4 (len 4), ");
    }
    let ip = |o: usize| Ipv4Addr::new(d[o], d[o + 1], d[o + 2], d[o + 3]);
    let (sha, spa, tha, tpa) = (&d[8..14], ip(14), &d[18..24], ip(24));
    match op {
        1 => {
            let _ = write!(out, "Request who-has {tpa}");
            if tha.iter().any(|&b| b != 0) {
                out.push_str(" (");
                mac(out, tha);
                out.push(')');
            }
            let _ = write!(out, " tell {spa}");
        }
        2 => {
            let _ = write!(out, "Reply {spa} is-at ");
            mac(out, sha);
        }
        3 => {
            out.push_str("Reverse Request who-is ");
            mac(out, tha);
            out.push_str(" tell ");
            mac(out, sha);
        }
        4 => {
            out.push_str("Reverse Reply ");
            mac(out, tha);
            let _ = write!(out, " at {tpa}");
        }
        n => {
            let _ = write!(out, "Unknown opcode {n}");
        }
    }
    let _ = write!(out, ", length {len}");
}
