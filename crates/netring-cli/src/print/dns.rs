//! DNS over UDP: the id, the flags in tcpdump's marks (`+` recursion
//! desired, `*` authoritative, `-` recursion not available, `|`
//! truncated), the questions, the answer counts and records, the length.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Ctx, be16, be32};

/// A DNS message of `len` bytes (`d`: what was captured of it).
pub(super) fn dns(out: &mut String, ctx: &mut Ctx<'_>, d: &[u8], len: u32) {
    // A cut message shows as far as it goes, and no length.
    if message(out, d, ctx.style.verbose).is_none() {
        out.push_str(" [|domain]");
    } else {
        let _ = write!(out, " ({len})");
    }
}

fn message(out: &mut String, d: &[u8], verbose: u8) -> Option<()> {
    if d.len() < 12 {
        return None;
    }
    let (id, fl) = (be16(d, 0), be16(d, 2));
    let (qd, an, ns, ar) = (be16(d, 4), be16(d, 6), be16(d, 8), be16(d, 10));
    let _ = write!(out, "{id}");
    let opcode = (fl >> 11) & 0xf;
    out.push_str(match opcode {
        0 => "",
        1 => " inv_q",
        2 => " stat",
        4 => " notify",
        5 => " update",
        _ => " op?",
    });
    let response = fl & 0x8000 != 0;
    let mut at = 12;
    if response {
        let rcode = fl & 0xf;
        out.push_str(match rcode {
            0 => "",
            1 => " FormErr",
            2 => " ServFail",
            3 => " NXDomain",
            4 => " NotImp",
            5 => " Refused",
            6 => " YXDomain",
            7 => " YXRRSet",
            8 => " NXRRSet",
            9 => " NotAuth",
            10 => " NotZone",
            _ => " Resp?",
        });
        for (bit, c) in [(0x0400, '*'), (0x0080, '-'), (0x0200, '|'), (0x0020, '$')] {
            // `-` marks recursion *not* available.
            let on = if c == '-' { fl & bit == 0 } else { fl & bit != 0 };
            if on {
                out.push(c);
            }
        }
        if qd != 1 {
            let _ = write!(out, " [{qd}q]");
        }
        // The questions are shown in a response from -vv on.
        if verbose > 1 && qd > 0 {
            out.push_str(" q:");
        }
        for _ in 0..qd {
            if verbose > 1 {
                at = question(out, d, at)?;
            } else {
                // Only the name must be whole here, as tcpdump's skip.
                at = skip_name(d, at)? + 4;
            }
        }
        let _ = write!(out, " {an}/{ns}/{ar}");
        // An answer cut before its data ends the list quietly (the
        // length still follows); one cut inside its data shows its type.
        for k in 0..an {
            let mut rr = String::new();
            let r = record(&mut rr, d, at, verbose);
            let sep = if k == 0 { " " } else { "," };
            match r {
                // -v shows the owner name first: a cut in it shows.
                Rr::NameCut if verbose > 0 => {
                    out.push_str(sep);
                    return None;
                }
                Rr::NameCut => break,
                Rr::FixedCut => {
                    if !rr.is_empty() {
                        out.push_str(sep);
                        out.push_str(&rr);
                    }
                    break;
                }
                Rr::DataCut => {
                    out.push_str(sep);
                    out.push_str(&rr);
                    return None;
                }
                Rr::Done(next) => {
                    out.push_str(sep);
                    out.push_str(&rr);
                    at = next;
                }
            }
        }
    } else {
        for (bit, c) in [(0x0100, '+'), (0x0020, '$'), (0x0010, '%')] {
            if fl & bit != 0 {
                out.push(c);
            }
        }
        if qd != 1 {
            let _ = write!(out, " [{qd}q]");
        }
        if an != 0 {
            let _ = write!(out, " [{an}a]");
        }
        if ns != 0 {
            let _ = write!(out, " [{ns}n]");
        }
        if ar != 0 {
            let _ = write!(out, " [{ar}au]");
        }
        for _ in 0..qd {
            at = question(out, d, at)?;
        }
    }
    Some(())
}

/// The question at `at`: ` TYPE? name.`; the offset after it.
fn question(out: &mut String, d: &[u8], at: usize) -> Option<usize> {
    let mut name = String::new();
    let at = read_name(d, at, &mut name)?;
    let qtype = be16(d.get(at..at + 4)?, 0);
    let _ = write!(out, " {}? {name}", type_name(qtype));
    Some(at + 4)
}

/// tcpdump's name of a record type.
fn type_name(t: u16) -> String {
    match t {
        1 => "A".into(),
        2 => "NS".into(),
        5 => "CNAME".into(),
        6 => "SOA".into(),
        12 => "PTR".into(),
        15 => "MX".into(),
        16 => "TXT".into(),
        28 => "AAAA".into(),
        33 => "SRV".into(),
        41 => "OPT".into(),
        64 => "SVCB".into(),
        65 => "HTTPS".into(),
        255 => "ANY".into(),
        n => format!("Type{n}"),
    }
}

/// How reading a resource record went.
#[derive(Debug, PartialEq, Eq)]
enum Rr {
    /// Whole; the offset after it.
    Done(usize),
    /// Cut in its owner name: nothing written.
    NameCut,
    /// Cut in its fixed fields: only the owner name written (with `-v`).
    FixedCut,
    /// Cut in its data: the type written.
    DataCut,
}

/// One resource record at `at`: `TYPE DATA` (with `-v` the owner name
/// first).
fn record(out: &mut String, d: &[u8], at: usize, verbose: u8) -> Rr {
    let mut name = String::new();
    let Some(at) = read_name(d, at, &mut name) else { return Rr::NameCut };
    if verbose > 0 {
        out.push_str(&name);
    }
    let Some(fixed) = d.get(at..at + 10) else { return Rr::FixedCut };
    if verbose > 0 {
        out.push(' ');
    }
    let (rtype, class, rdlen) = (be16(fixed, 0), be16(fixed, 2), usize::from(be16(fixed, 8)));
    let rdata_at = at + 10;
    if verbose > 2 {
        out.push('[');
        ttl(out, be32(fixed, 4));
        out.push_str("] ");
    }
    if class != 1 {
        let _ = write!(out, "CLASS{class} ");
    }
    out.push_str(&type_name(rtype));
    let Some(rdata) = d.get(rdata_at..rdata_at + rdlen) else { return Rr::DataCut };
    match (rtype, rdlen) {
        (1, 4) => {
            let _ = write!(out, " {}", Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]));
        }
        (28, 16) => {
            let mut a = [0u8; 16];
            a.copy_from_slice(rdata);
            let _ = write!(out, " {}", Ipv6Addr::from(a));
        }
        (2 | 5 | 12, _) => {
            let mut target = String::new();
            if read_name(d, rdata_at, &mut target).is_none() {
                return Rr::DataCut;
            }
            let _ = write!(out, " {target}");
        }
        (15, _) if rdlen > 2 => {
            let mut target = String::new();
            if read_name(d, rdata_at + 2, &mut target).is_none() {
                return Rr::DataCut;
            }
            let _ = write!(out, " {target} {}", be16(rdata, 0));
        }
        _ => {}
    }
    Rr::Done(rdata_at + rdlen)
}

/// Skip the (possibly compressed) name at `at`; the offset after it.
fn skip_name(d: &[u8], at: usize) -> Option<usize> {
    read_name(d, at, &mut String::new())
}

/// Read the name at `at` into `name` (`example.com.`, `.` for the root),
/// following compression pointers (a bounded number of them); the offset
/// after the name where it starts.
fn read_name(d: &[u8], mut at: usize, name: &mut String) -> Option<usize> {
    let mut after = None;
    let mut jumps = 0;
    loop {
        let l = *d.get(at)?;
        match l {
            0 => {
                if name.is_empty() {
                    name.push('.');
                }
                return Some(after.unwrap_or(at + 1));
            }
            l if l & 0xc0 == 0xc0 => {
                let ptr = usize::from(be16(d.get(at..at + 2)?, 0) & 0x3fff);
                after.get_or_insert(at + 2);
                jumps += 1;
                if jumps > 32 {
                    return None;
                }
                at = ptr;
            }
            l if l & 0xc0 == 0 => {
                let label = d.get(at + 1..at + 1 + usize::from(l))?;
                for &c in label {
                    if c.is_ascii_graphic() && c != b'.' && c != b'\\' {
                        name.push(c as char);
                    } else {
                        let _ = write!(name, "\\{c:03}");
                    }
                }
                name.push('.');
                at += 1 + usize::from(l);
            }
            _ => return None,
        }
    }
}

/// A time to live as tcpdump writes it: `5m`, `1h2m3s`, `0s`.
fn ttl(out: &mut String, mut secs: u32) {
    if secs == 0 {
        out.push_str("0s");
        return;
    }
    for (unit, name) in [(31_536_000, 'y'), (604_800, 'w'), (86_400, 'd'), (3_600, 'h'), (60, 'm'), (1, 's')] {
        if secs >= unit {
            let _ = write!(out, "{}{name}", secs / unit);
            secs %= unit;
        }
    }
}
