//! `geneve [VNI]` and the terms after it.
//!
//! libpcap tests for Geneve (UDP port 6081 over IPv4 or IPv6, version 0,
//! the VNI), then computes where the inner headers are into scratch
//! registers and makes every later term read relative to them: the inner
//! payload starts at the Geneve header + 8 + its option length; with
//! protocol type 0x6558 (Ethernet bridging) it is an Ethernet frame there
//! (link layer from its start, EtherType at 12, network header at 14),
//! otherwise the protocol type field itself is the EtherType and the
//! network header starts at once. Ethernet address tests need the
//! Ethernet case.
//!
//! Here a later term is parsed against *virtual* offsets (regions far above
//! any real offset) and then relocated, once for each of the four cases
//! (outer IPv4 or IPv6, bridged or not; for a `geneve` inside another,
//! those four inside each case of the outer one), each guarded by the tests
//! that select it: every load becomes a computed load from the inner
//! offset. A term reached where the `geneve` test did not match reads
//! libpcap's scratch cells unwritten: zero in tcpdump's interpreter, so
//! every offset 0 ([`Cond::Set`] and [`Cond::Dual`] keep the two apart).

use std::sync::Arc;

use super::ast::{self, Arith, Base, Cond, Load, Off, Test, XValue};
use crate::filter::code::*;

/// The UDP port of Geneve.
const GENEVE_PORT: u32 = 6081;
/// Transparent Ethernet bridging: the inner payload is an Ethernet frame.
const ETHERTYPE_TEB: u32 = 0x6558;

/// Virtual regions: link-layer header, the same for Ethernet address
/// tests (false unless bridged), EtherType, network header.
const VH: u32 = 0x0100_0000;
pub(crate) const VHE: u32 = 0x0180_0000;
const VT: u32 = 0x0200_0000;
const VP: u32 = 0x0300_0000;
const VEND: u32 = 0x0400_0000;

/// The offsets later terms are parsed against.
pub(crate) fn virtual_off() -> Off {
    Off { linkhdr: VH, linktype: VT, linkpl: VP, ..Off::default() }
}

fn byte_at(index: Arith, size: u16) -> Arith {
    match index {
        Arith::Num(k) => Arith::Load { size, base: Base::Abs(k), index: Box::new(Arith::Num(0)) },
        index => Arith::Load { size, base: Base::Abs(0), index: Box::new(index) },
    }
}

fn add(a: Arith, k: u32) -> Arith {
    ast::arith_op(BPF_ADD, a, Arith::Num(k))
}

/// `geneve [VNI]` (`gen_geneve4()` or `gen_geneve6()`): UDP to port 6081,
/// version 0, the VNI.
pub(crate) fn check(o: Off, vni: Option<u32>) -> Cond {
    let net = o.net();
    let v4 = {
        let after = |size, off| Load::AfterIpv4 { size, off: net + off, msh: net };
        let mut c = ast::linktype(o, ast::ETHERTYPE_IP)
            .and(ast::cmp(ast::abs(BPF_B, net + 9), BPF_JEQ, ast::IPPROTO_UDP))
            .and(ast::not_fragment(o))
            .and(ast::cmp(after(BPF_H, 2), BPF_JEQ, GENEVE_PORT))
            .and(ast::masked_eq(after(BPF_B, 8), 0, 0xc0));
        if let Some(v) = vni {
            c = c.and(ast::masked_eq(after(BPF_W, 12), v << 8, 0xffff_ff00));
        }
        c
    };
    let v6 = {
        let udp = net + 40;
        let mut c = ast::linktype(o, ast::ETHERTYPE_IPV6)
            .and(ast::cmp(ast::abs(BPF_B, net + 6), BPF_JEQ, ast::IPPROTO_UDP))
            .and(ast::cmp(ast::abs(BPF_H, udp + 2), BPF_JEQ, GENEVE_PORT))
            .and(ast::masked_eq(ast::abs(BPF_B, udp + 8), 0, 0xc0));
        if let Some(v) = vni {
            c = c.and(ast::masked_eq(ast::abs(BPF_W, udp + 12), v << 8, 0xffff_ff00));
        }
        c
    };
    v4.or(v6)
}

/// Where the inner headers are in one case.
#[derive(Clone)]
struct Case {
    /// Link-layer header, Ethernet address tests (None: never true),
    /// EtherType, network header.
    h: Arith,
    he: Option<Arith>,
    t: Arith,
    p: Arith,
}

/// What libpcap's scratch cells hold where no `geneve` ran on the path:
/// zero (tcpdump's interpreter zeroes them; the kernel would refuse a
/// program reading a cell never written, so ours must not), so every
/// offset is 0 and there is no Ethernet header (the cells of the link
/// header and the network header are equal).
fn zero_case() -> Case {
    Case { h: Arith::Num(0), he: None, t: Arith::Num(0), p: Arith::Num(0) }
}

/// Where the inner headers of the latest `geneve` are. Which `geneve`
/// matched on the path so far (and so what libpcap's scratch cells hold) is
/// a *state* of the program ([`Cond::Set`] moves between them, and a term
/// reads one way per state, [`Cond::Ways`]); state 0 is the start. For
/// each state this `geneve` moves to: the cases it tells apart (outer
/// IPv4 or IPv6, bridged or not, inside each case of the `geneve` before
/// it), each with the tests that select it.
#[derive(Clone)]
pub(crate) struct Inner {
    ran: Vec<(u16, Vec<(Cond, Case)>)>,
    /// How many states the program has after this `geneve`.
    pub(crate) states: u16,
}

/// At most this many states: each `geneve` adds one per state of the one
/// before it, plus one (libpcap's scratch memory holds five `geneve`).
const MAX_STATES: u16 = 32;

/// The inner headers of a `geneve` whose own test read the offsets `o`
/// (real ones when `prev` is `None`, else the virtual ones of the `geneve`
/// before it), in a program of `states` states; and the state each state
/// moves to where this `geneve` matches.
pub(crate) fn inner(prev: Option<&Inner>, states: u16, o: Off) -> Result<(Inner, Vec<u16>), &'static str> {
    let mut next = vec![0; usize::from(states)];
    let mut ran = Vec::new();
    let mut n = states;
    match prev {
        None => {
            let top = [(Cond::True, zero_case())];
            ran.push((n, cases(&top, o, false)?));
            next.iter_mut().for_each(|s| *s = n);
            n += 1;
        }
        Some(p) => {
            for (state, base) in &p.ran {
                ran.push((n, cases(base, o, true)?));
                next[usize::from(*state)] = n;
                n += 1;
            }
            // Where the one before did not match, its cells are zero.
            if p.ran.len() < usize::from(states) {
                ran.push((n, cases(&[(Cond::True, zero_case())], o, true)?));
                for (s, to) in next.iter_mut().enumerate() {
                    if !p.ran.iter().any(|(st, _)| usize::from(*st) == s) {
                        *to = n;
                    }
                }
                n += 1;
            }
        }
    }
    if n > MAX_STATES {
        return Err("too many 'geneve' (libpcap's scratch memory holds five)");
    }
    Ok((Inner { ran, states: n }, next))
}

/// The cases of a `geneve` in each of `bases` (`virt`: its test read
/// virtual offsets, placed in each base).
fn cases(bases: &[(Cond, Case)], o: Off, virt: bool) -> Result<Vec<(Cond, Case)>, &'static str> {
    let mut cases = Vec::new();
    for (guard0, base) in bases {
        let net = if virt { place(base, o.net()).ok_or("no network header")? } else { Arith::Num(o.net()) };
        for ip6 in [false, true] {
            // The Geneve header: behind the UDP header behind IPv4 or IPv6.
            let g =
                if ip6 { add(net.clone(), 48) } else { ast::arith_op(BPF_ADD, ihl(net.clone()), add(net.clone(), 8)) };
            let options = ast::arith_op(
                BPF_MUL,
                ast::arith_op(BPF_AND, byte_at(g.clone(), BPF_B), Arith::Num(0x3f)),
                Arith::Num(4),
            );
            let inner = ast::arith_op(BPF_ADD, add(g.clone(), 8), options);
            let linktype = ast::linktype(o, if ip6 { ast::ETHERTYPE_IPV6 } else { ast::ETHERTYPE_IP });
            let linktype = if virt { relocate(&linktype, base, 0)? } else { linktype };
            let bridged = ast::cmp(load(byte_at(add(g.clone(), 2), BPF_H)), BPF_JEQ, ETHERTYPE_TEB);
            for teb in [false, true] {
                let case = if teb {
                    Case {
                        h: inner.clone(),
                        he: Some(inner.clone()),
                        t: add(inner.clone(), 12),
                        p: add(inner.clone(), 14),
                    }
                } else {
                    Case { h: inner.clone(), he: None, t: add(g.clone(), 2), p: inner.clone() }
                };
                let sel = if teb { bridged.clone() } else { bridged.clone().negate() };
                cases.push((guard0.clone().and(linktype.clone()).and(sel), case));
            }
        }
    }
    Ok(cases)
}

/// A term after `geneve`, parsed against [`virtual_off`], one way per
/// state: where that `geneve` matched on the path to it, in its cases
/// (each guarded by the tests that select it), elsewhere with every
/// offset 0.
///
/// # Errors
/// A term that cannot be relocated (`protochain`), naming why.
pub(crate) fn expand(inner: &Inner, term: &Cond) -> Result<Cond, &'static str> {
    let mut ways = vec![relocate(term, &zero_case(), 0)?];
    let mut idx = vec![0u16; usize::from(inner.states)];
    for (state, cases) in &inner.ran {
        let mut out: Option<Cond> = None;
        for (guard, case) in cases {
            let c = guard.clone().and(relocate(term, case, 0)?);
            out = Some(match out {
                Some(prev) => prev.or(c),
                None => c,
            });
        }
        idx[usize::from(*state)] = ways.len() as u16;
        ways.push(out.expect("cases"));
    }
    Ok(Cond::Ways(ways, idx))
}

/// A computed load, as a plain one where its offset is constant.
fn load(a: Arith) -> Load {
    match a {
        Arith::Load { size, base: Base::Abs(b), index } if index.num().is_some_and(|i| b.checked_add(i).is_some()) => {
            Load::Abs { size, off: b + index.num().unwrap_or(0) }
        }
        a => Load::Arith(Arc::new(a)),
    }
}

/// The inner offset for virtual offset `off` (`None`: an Ethernet address
/// test in a case without an Ethernet header; `Some(None)`: not virtual).
fn region(case: &Case, off: u32) -> Option<Option<Arith>> {
    let (base, start) = match off {
        o if !(VH..VEND).contains(&o) => return Some(None),
        o if o >= VP => (&case.p, VP),
        o if o >= VT => (&case.t, VT),
        o if o >= VHE => (case.he.as_ref()?, VHE),
        _ => (&case.h, VH),
    };
    Some(Some(add(base.clone(), off - start)))
}

/// The IPv4 header length of the header at `msh` (already relocated).
fn ihl(msh: Arith) -> Arith {
    ast::arith_op(BPF_MUL, ast::arith_op(BPF_AND, byte_at(msh, BPF_B), Arith::Num(0xf)), Arith::Num(4))
}

/// `off` relocated, or itself when it is not virtual; `None` as [`region`].
fn place(case: &Case, off: u32) -> Option<Arith> {
    region(case, off).map(|r| r.unwrap_or(Arith::Num(off)))
}

fn relocate_arith(a: &Arith, case: &Case) -> Option<Arith> {
    Some(match a {
        Arith::Num(_) | Arith::Len => a.clone(),
        Arith::Load { size, base, index } => {
            let index = relocate_arith(index, case)?;
            let start = match *base {
                Base::Abs(b) => place(case, b)?,
                Base::AfterIpv4 { msh, off } => ast::arith_op(BPF_ADD, ihl(place(case, msh)?), place(case, off)?),
            };
            byte_at(ast::arith_op(BPF_ADD, start, index), *size)
        }
        Arith::Bin(op, l, r) => Arith::Bin(*op, Box::new(relocate_arith(l, case)?), Box::new(relocate_arith(r, case)?)),
        Arith::Neg(x) => Arith::Neg(Box::new(relocate_arith(x, case)?)),
    })
}

/// A test relocated; `Ok(None)`: an Ethernet address test where there is
/// no Ethernet header (false).
fn relocate_test(t: &Test, case: &Case) -> Result<Option<Test>, &'static str> {
    let load = match &t.load {
        Load::Abs { size, off } if !(VH..VEND).contains(off) => Load::Abs { size: *size, off: *off },
        Load::Abs { size, off } => match region(case, *off) {
            None => return Ok(None),
            Some(r) => load(byte_at(r.expect("virtual"), *size)),
        },
        Load::AfterIpv4 { size, off, msh } => {
            let (Some(m), Some(o)) = (place(case, *msh), place(case, *off)) else { return Ok(None) };
            load(byte_at(ast::arith_op(BPF_ADD, ihl(m), o), *size))
        }
        Load::Arith(a) => match relocate_arith(a, case) {
            Some(a) => Load::Arith(Arc::new(a)),
            None => return Ok(None),
        },
        Load::Len | Load::Imm(_) => t.load.clone(),
        Load::Chain { .. } => return Err("'protochain' not supported with variable length headers"),
    };
    let x = match &t.x {
        Some(XValue::Arith(a)) => match relocate_arith(a, case) {
            Some(a) => Some(XValue::Arith(Arc::new(a))),
            None => return Ok(None),
        },
        x => x.clone(),
    };
    Ok(Some(Test { load, x, ..t.clone() }))
}

/// `c` with every load relocated for `case`.
fn relocate(c: &Cond, case: &Case, depth: usize) -> Result<Cond, &'static str> {
    if depth > 2 * super::MAX_DEPTH {
        return Err("the term after 'geneve' is too long (at most 400 tests deep)");
    }
    let r = |x: &Cond| relocate(x, case, depth + 1);
    Ok(match c {
        Cond::True => Cond::True,
        Cond::False => Cond::False,
        Cond::Test(t) => match relocate_test(t, case)? {
            Some(t) => Cond::Test(t),
            None => Cond::False,
        },
        Cond::And(a, b) => r(a)?.and(r(b)?),
        Cond::Or(a, b) => r(a)?.or(r(b)?),
        Cond::Not(a) => r(a)?.negate(),
        Cond::Ways(w, idx) => Cond::Ways(w.iter().map(r).collect::<Result<_, _>>()?, idx.clone()),
        Cond::Set(a, next) => Cond::Set(Box::new(r(a)?), next.clone()),
        // The parser refuses `geneve` after the first live `vlan`.
        Cond::Dual(..) => return Err("a live 'vlan' test cannot read the headers inside Geneve"),
        // A `vlan` after `geneve` reads the tag in the bytes.
        Cond::Mark(_) => return Err("a live 'vlan' test cannot read the headers inside Geneve"),
    })
}
