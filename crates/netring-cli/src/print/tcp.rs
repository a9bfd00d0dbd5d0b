//! TCP: flags, sequence numbers (relative to each direction's first by
//! default, absolute with `-S`), window, urgent pointer, options, payload
//! length, and with `-v` the checksum.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use super::net::Net;
use super::{Ctx, be16, be32, dns, fold, sum16};

/// Connections remembered for relative sequence numbers, at most.
const MAX_FLOWS: usize = 1 << 16;

type Endpoint = (IpAddr, u16);

/// The sequence-number base of each direction of the connections seen,
/// keyed by the two endpoints in a fixed order.
#[derive(Debug, Default)]
pub(crate) struct Seqs {
    flows: HashMap<(Endpoint, Endpoint), (u32, u32)>,
}

impl Seqs {
    /// The relative (seq, ack) of a segment from `src` to `dst` carrying an
    /// ACK, or `None` to print them absolute: the first segment of a
    /// connection seen with an ACK (the SYN-ACK in a whole capture) — or
    /// any SYN — sets the bases, its sender's `seq` and the other
    /// direction's `ack - 1`, and shows absolute numbers, as tcpdump.
    fn relative(&mut self, src: Endpoint, dst: Endpoint, seq: u32, ack: u32, syn: bool) -> Option<(u32, u32)> {
        let (key, forward) = if src <= dst { ((src, dst), true) } else { ((dst, src), false) };
        match self.flows.get(&key) {
            Some(&(a, b)) if !syn => {
                let (mine, theirs) = if forward { (a, b) } else { (b, a) };
                Some((seq.wrapping_sub(mine), ack.wrapping_sub(theirs)))
            }
            _ => {
                if self.flows.len() >= MAX_FLOWS {
                    self.flows.clear();
                }
                let bases = if forward { (seq, ack.wrapping_sub(1)) } else { (ack.wrapping_sub(1), seq) };
                self.flows.insert(key, bases);
                None
            }
        }
    }
}

/// tcpdump's flag letters, in its order.
fn flags(out: &mut String, f: u8) {
    let before = out.len();
    for (bit, c) in
        [(0x01, 'F'), (0x02, 'S'), (0x04, 'R'), (0x08, 'P'), (0x20, 'U'), (0x40, 'E'), (0x80, 'W'), (0x10, '.')]
    {
        if f & bit != 0 {
            out.push(c);
        }
    }
    if out.len() == before {
        out.push_str("none");
    }
}

/// A TCP segment (`len`: its length by the IP header; `d`: what was
/// captured of it). A cut header shows as far as it goes, then `[|tcp]`.
pub(super) fn tcp(out: &mut String, ctx: &mut Ctx<'_>, net: &Net, d: &[u8], len: u32) {
    if d.len() < 4 {
        net.pair(out);
        out.push_str("[|tcp]");
        return;
    }
    let (sport, dport) = (be16(d, 0), be16(d, 2));
    net.ports(out, sport, dport);
    if d.len() < 20 {
        out.push_str(" [|tcp]");
        return;
    }
    let hlen = u32::from(d[12] >> 4) * 4;
    if hlen < 20 {
        let _ = write!(out, "tcp [bad hdr length {hlen} - too short, < 20]");
        return;
    }
    let f = d[13];
    let (syn, fin, rst, ack_set, urg) = (f & 0x02 != 0, f & 0x01 != 0, f & 0x04 != 0, f & 0x10 != 0, f & 0x20 != 0);
    out.push_str("Flags [");
    flags(out, f);
    out.push(']');
    let payload = len.saturating_sub(hlen);
    if ctx.style.verbose > 0 && !net.fragment && d.len() >= len as usize && len >= hlen {
        let seg = &d[..len as usize];
        let want = fold(sum16(sum16(net.pseudo(6, len), &seg[..16]), &seg[18..]));
        let got = be16(d, 16);
        let _ = write!(out, ", cksum 0x{got:04x}");
        if want == got {
            out.push_str(" (correct)");
        } else {
            let _ = write!(out, " (incorrect -> 0x{want:04x})");
        }
    }
    let (mut seq, mut ack) = (be32(d, 4), be32(d, 8));
    let mut sack_base = 0;
    if !ctx.style.absolute
        && ack_set
        && let Some((s, a)) = ctx.tcp.relative((net.src, sport), (net.dst, dport), seq, ack, syn)
    {
        sack_base = be32(d, 8).wrapping_sub(a);
        (seq, ack) = (s, a);
    }
    if payload > 0 || syn || fin || rst || ctx.style.verbose > 1 {
        let _ = write!(out, ", seq {seq}");
        if payload > 0 {
            let _ = write!(out, ":{}", seq.wrapping_add(payload));
        }
    }
    if ack_set {
        let _ = write!(out, ", ack {ack}");
    }
    let _ = write!(out, ", win {}", be16(d, 14));
    if urg {
        let _ = write!(out, ", urg {}", be16(d, 18));
    }
    if hlen > 20 {
        out.push_str(", options [");
        let declared = hlen as usize - 20;
        let captured = &d[20..(hlen as usize).min(d.len())];
        if let Err(cut) = options(out, captured, declared, sack_base) {
            ctx.cut = cut == Cut::Read;
            return;
        }
        out.push(']');
    }
    let _ = write!(out, ", length {payload}");
    // DNS over TCP: a two-byte length, then the message.
    let body = d.get(hlen as usize..).unwrap_or_default();
    if (sport == 53 || dport == 53) && payload > 2 {
        if body.len() < 2 {
            out.push_str(" [|domain]");
            ctx.cut = true;
        } else {
            out.push(' ');
            dns::dns(out, ctx, &body[2..], payload - 2);
        }
    }
}

/// Where the options were cut (tcpdump's two ways of noticing, which
/// differ in what its hex dump starts from).
#[derive(Debug, PartialEq, Eq)]
enum Cut {
    /// In an option's kind or length byte.
    Read,
    /// In an option's value (checked before it is read), or a bad length.
    Checked,
}

/// The options, comma separated, as tcpdump names them (`opt-N:HEX` for
/// the others); `declared`: their length by the header, of which `o` was
/// captured. An error when the capture ends inside them (` [|tcp]`
/// written).
fn options(out: &mut String, o: &[u8], declared: usize, sack_base: u32) -> Result<(), Cut> {
    let cut = |out: &mut String, closing: bool, how: Cut| {
        // Inside the value of an option after the first, tcpdump closes
        // the cut with `>`.
        out.push_str(if closing { " [|tcp]>" } else { " [|tcp]" });
        Err(how)
    };
    let mut i = 0;
    while i < declared {
        if i > 0 {
            out.push(',');
        }
        let Some(&kind) = o.get(i) else { return cut(out, false, Cut::Read) };
        match kind {
            0 | 1 => {
                out.push_str(if kind == 0 { "eol" } else { "nop" });
                i += 1;
                continue;
            }
            _ => {}
        }
        let Some(&l) = o.get(i + 1) else { return cut(out, false, Cut::Read) };
        let l = usize::from(l);
        if l < 2 || i + l > declared {
            out.push_str("[bad opt]>");
            return Err(Cut::Checked);
        }
        let name = match kind {
            2 => "mss",
            3 => "wscale",
            4 => "sackOK",
            5 => "sack",
            8 => "TS",
            _ => "",
        };
        out.push_str(name);
        let Some(v) = o.get(i + 2..i + l) else { return cut(out, i > 0, Cut::Checked) };
        match (kind, v.len()) {
            (2, 2) => {
                let _ = write!(out, " {}", be16(v, 0));
            }
            (3, 1) => {
                let _ = write!(out, " {}", v[0]);
            }
            (4, 0) => {}
            (5, n) if n % 8 == 0 => {
                let _ = write!(out, " {}", n / 8);
                for b in v.chunks(8) {
                    let _ = write!(
                        out,
                        " {{{}:{}}}",
                        be32(b, 0).wrapping_sub(sack_base),
                        be32(b, 4).wrapping_sub(sack_base)
                    );
                }
            }
            (8, 8) => {
                let _ = write!(out, " val {} ecr {}", be32(v, 0), be32(v, 4));
            }
            _ => {
                if name.is_empty() {
                    let _ = write!(out, "opt-{kind}:");
                } else {
                    out.push(' ');
                }
                for b in v {
                    let _ = write!(out, "{b:02x}");
                }
            }
        }
        i += l;
    }
    Ok(())
}
