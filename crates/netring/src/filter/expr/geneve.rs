//! `geneve [VNI]` and the terms after it.
//!
//! libpcap tests for Geneve (UDP port 6081 over IPv4 or IPv6, version 0,
//! the VNI), then, where it matched, computes where the inner headers are
//! into scratch cells and makes every later term read relative to them: the
//! inner payload starts at the Geneve header + 8 + its option length; with
//! protocol type 0x6558 (Ethernet bridging) it is an Ethernet frame there
//! (link layer from its start, EtherType at 12, network header at 14),
//! otherwise the protocol type field itself is the EtherType and the
//! network header starts at once. Ethernet address tests need the
//! Ethernet case (the cells of the link-layer header and the network header
//! differ).
//!
//! The same here: each `geneve` has three cells of its own, from the top
//! of scratch memory down (link-layer header, EtherType, network header);
//! the test stores them where it matches (blocks whose code stores and whose
//! jump is always taken), and later terms, parsed against *virtual* offsets
//! (regions far above any real offset), are relocated to loads from the
//! cells (`ldx M[c]; ldh [x + k]`). Where a term is reached on a path where
//! the `geneve` did not match, libpcap's program reads cells never written
//! there — the kernel's checker refuses such a program, and tcpdump's
//! interpreter reads them as zero; ours sets every `geneve` cell to zero
//! first, so it runs in the kernel and means what tcpdump's interpreter
//! makes of libpcap's program: every inner offset 0, no inner Ethernet
//! header.

use std::sync::Arc;

use super::ast::{self, Arith, Base, Cond, Load, Off, Test, XValue};
use crate::filter::Instruction;
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

/// At most this many `geneve` (three cells each, as in libpcap, whose
/// scratch memory holds five).
pub(crate) const MAX_GENEVE: u32 = 5;

/// The offsets later terms are parsed against, after `geneve` read at
/// `o`: the MPLS labels before it still count (libpcap keeps its label
/// depth, so `ip` after `mpls and geneve` tests the bottom-of-stack bit
/// two bytes before the inner network header), as does the 802.2 offset.
pub(crate) fn virtual_off(o: Off) -> Off {
    Off { linkhdr: VH, linktype: VT, linkpl: VP, nl: 0, nosnap: o.nosnap, mpls: o.mpls, ppp: false }
}

/// The scratch cells of the `n`th `geneve` (from 1): where its inner
/// link-layer header, EtherType and network header are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cells {
    h: u32,
    t: u32,
    p: u32,
}

impl Cells {
    pub(crate) fn nth(n: u32) -> Cells {
        let top = crate::filter::MEM_WORDS as u32 - 3 * n;
        Cells { h: top + 2, t: top + 1, p: top }
    }
}

/// Whether every computed value of `c` fits in the scratch cells below
/// those of the `geneve` terms up to `last` (values use cells from 0 up).
pub(crate) fn cells_fit(c: &Cond, last: Cells) -> bool {
    let floor = last.p as usize;
    let mut stack = vec![c];
    while let Some(c) = stack.pop() {
        match c {
            Cond::Test(t) => {
                if let Load::Arith(a) = &t.load {
                    let x = match &t.x {
                        Some(XValue::Arith(x)) => Some(&**x),
                        _ => None,
                    };
                    if a.cells(x) > floor {
                        return false;
                    }
                }
            }
            Cond::True | Cond::False => {}
            Cond::Not(a) | Cond::Mark(a) => stack.push(a),
            Cond::And(a, b) | Cond::Or(a, b) | Cond::Dual(a, b) => stack.extend([&**a, &**b]),
        }
    }
    true
}

fn st(code: u16, k: u32) -> Instruction {
    Instruction::stmt(code, k)
}

/// A block that runs `code` and always goes on (`jge #0`).
fn always(code: Vec<Instruction>) -> Cond {
    Cond::Test(Test { load: Load::Code(Arc::new(code)), mask: None, op: BPF_JGE, k: 0, x: None })
}

/// `geneve [VNI]` (`gen_geneve4()` or `gen_geneve6()`): UDP to port 6081,
/// version 0, the VNI.
fn check(o: Off, vni: Option<u32>) -> (Cond, Cond) {
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
    (v4, v6)
}

/// `geneve [VNI]`, the `n`th of the expression, whose own test reads the
/// offsets `o` (real ones for the first, else the virtual ones of the one
/// before, whose cells are `prev`): the test, then where it matched, the
/// inner offsets stored into its cells.
pub(crate) fn geneve(o: Off, vni: Option<u32>, n: u32, prev: Option<Cells>) -> Cond {
    let c = Cells::nth(n);
    let (v4, v6) = check(o, vni);
    // The Geneve header into M[p], then its protocol type.
    let net = o.net();
    let (g4, g6) = match prev {
        None => (
            vec![st(BPF_LDX | BPF_B | BPF_MSH, net), st(BPF_MISC | BPF_TXA, 0), st(BPF_ALU | BPF_ADD | BPF_K, net + 8)],
            vec![st(BPF_LD | BPF_IMM, net + 48)],
        ),
        Some(pc) => {
            let rel = net.wrapping_sub(VP);
            (
                vec![
                    st(BPF_LDX | BPF_MEM, pc.p),
                    st(BPF_LD | BPF_B | BPF_IND, rel),
                    st(BPF_ALU | BPF_AND | BPF_K, 0xf),
                    st(BPF_ALU | BPF_LSH | BPF_K, 2),
                    st(BPF_ALU | BPF_ADD | BPF_X, 0),
                    st(BPF_ALU | BPF_ADD | BPF_K, rel.wrapping_add(8)),
                ],
                vec![st(BPF_LD | BPF_MEM, pc.p), st(BPF_ALU | BPF_ADD | BPF_K, rel.wrapping_add(48))],
            )
        }
    };
    let bridged = |mut code: Vec<Instruction>| {
        code.extend([st(BPF_ST, c.p), st(BPF_MISC | BPF_TAX, 0), st(BPF_LD | BPF_H | BPF_IND, 2)]);
        ast::cmp(Load::Code(Arc::new(code)), BPF_JEQ, ETHERTYPE_TEB)
    };
    // The inner payload: the Geneve header + 8 + the option length.
    let payload = [
        st(BPF_LDX | BPF_MEM, c.p),
        st(BPF_LD | BPF_B | BPF_IND, 0),
        st(BPF_ALU | BPF_AND | BPF_K, 0x3f),
        st(BPF_ALU | BPF_LSH | BPF_K, 2),
        st(BPF_ALU | BPF_ADD | BPF_K, 8),
        st(BPF_ALU | BPF_ADD | BPF_X, 0),
    ];
    let mut teb = payload.to_vec();
    teb.extend([
        st(BPF_ST, c.h),
        st(BPF_ALU | BPF_ADD | BPF_K, 12),
        st(BPF_ST, c.t),
        st(BPF_ALU | BPF_ADD | BPF_K, 2),
        st(BPF_ST, c.p),
    ]);
    let mut direct = vec![st(BPF_LDX | BPF_MEM, c.p), st(BPF_MISC | BPF_TXA, 0), st(BPF_ALU | BPF_ADD | BPF_K, 2)];
    direct.push(st(BPF_ST, c.t));
    direct.extend(&payload[1..]);
    direct.extend([st(BPF_ST, c.h), st(BPF_ST, c.p)]);
    let (teb, direct) = (always(teb), always(direct));
    let offsets = |code| bridged(code).and(teb.clone()).or(direct.clone());
    v4.and(offsets(g4)).or(v6.and(offsets(g6)))
}

/// The cells `geneve` code stores into (set to zero before the program).
pub(crate) fn stored(code: &[Instruction]) -> impl Iterator<Item = u32> + '_ {
    code.iter().filter(|i| i.code == BPF_ST || i.code == BPF_STX).map(|i| i.k)
}

fn cell_load(size: u16, cell: u32, off: u32, index: Arith) -> Arith {
    Arith::Load { size, base: Base::Cell { cell, off }, index: Box::new(index) }
}

/// Where virtual offset `off` is: its cell and the offset from it, and
/// whether it is an Ethernet address (then the link needs to be Ethernet);
/// `None` for an offset that is not virtual.
fn region(c: Cells, off: u32) -> Option<(u32, u32, bool)> {
    // The nearest region: offsets count back from one too (`[x - 2]`).
    const HALF: u32 = 0x0040_0000;
    if !(VH - HALF..VEND).contains(&off) {
        return None;
    }
    let near = |base: u32| off.wrapping_sub(base).wrapping_add(HALF) < 2 * HALF;
    Some(if near(VP) {
        (c.p, off.wrapping_sub(VP), false)
    } else if near(VT) {
        (c.t, off.wrapping_sub(VT), false)
    } else if near(VHE) {
        (c.h, off.wrapping_sub(VHE), true)
    } else {
        (c.h, off.wrapping_sub(VH), false)
    })
}

/// The IPv4 header length of the header at virtual offset `msh`.
fn ihl(c: Cells, msh: u32) -> Option<Arith> {
    let (cell, rel, _) = region(c, msh)?;
    let b = cell_load(BPF_B, cell, rel, Arith::Num(0));
    Some(ast::arith_op(BPF_MUL, ast::arith_op(BPF_AND, b, Arith::Num(0xf)), Arith::Num(4)))
}

fn relocate_arith(a: &Arith, c: Cells, ether: &mut bool) -> Arith {
    match a {
        Arith::Num(_) | Arith::Len | Arith::Cell(_) => a.clone(),
        Arith::Load { size, base, index } => {
            let index = relocate_arith(index, c, ether);
            match *base {
                Base::Abs(b) => match region(c, b) {
                    Some((cell, rel, e)) => {
                        *ether |= e;
                        cell_load(*size, cell, rel, index)
                    }
                    None => Arith::Load { size: *size, base: Base::Abs(b), index: Box::new(index) },
                },
                Base::AfterIpv4 { msh, off } => match (ihl(c, msh), region(c, off)) {
                    (Some(len), Some((cell, rel, _))) => {
                        cell_load(*size, cell, rel, ast::arith_op(BPF_ADD, len, index))
                    }
                    _ => Arith::Load { size: *size, base: *base, index: Box::new(index) },
                },
                Base::Cell { .. } => Arith::Load { size: *size, base: *base, index: Box::new(index) },
            }
        }
        Arith::Bin(op, l, r) => {
            Arith::Bin(*op, Box::new(relocate_arith(l, c, ether)), Box::new(relocate_arith(r, c, ether)))
        }
        Arith::Neg(x) => Arith::Neg(Box::new(relocate_arith(x, c, ether))),
    }
}

/// A test relocated; and whether it reads an Ethernet address.
fn relocate_test(t: &Test, c: Cells) -> Result<(Test, bool), &'static str> {
    let mut ether = false;
    let load = match &t.load {
        Load::Abs { size, off } => match region(c, *off) {
            None => t.load.clone(),
            Some((cell, rel, e)) => {
                ether = e;
                Load::Arith(Arc::new(cell_load(*size, cell, rel, Arith::Num(0))))
            }
        },
        Load::AfterIpv4 { size, off, msh } => match (ihl(c, *msh), region(c, *off)) {
            (Some(len), Some((cell, rel, _))) => Load::Arith(Arc::new(cell_load(*size, cell, rel, len))),
            _ => t.load.clone(),
        },
        Load::Arith(a) => Load::Arith(Arc::new(relocate_arith(a, c, &mut ether))),
        Load::Len | Load::Imm(_) | Load::Code(_) => t.load.clone(),
        Load::Chain { .. } => return Err("'protochain' not supported with variable length headers"),
    };
    let x = match &t.x {
        Some(XValue::Arith(a)) => Some(XValue::Arith(Arc::new(relocate_arith(a, c, &mut ether)))),
        x => x.clone(),
    };
    Ok((Test { load, x, ..t.clone() }, ether))
}

/// A term after `geneve` (parsed against [`virtual_off`]) reading the
/// inner headers from the cells `c`.
///
/// # Errors
/// A term that cannot be relocated (`protochain`), naming why.
pub(crate) fn relocate(term: &Cond, c: Cells) -> Result<Cond, &'static str> {
    relocate_in(term, c, 0)
}

fn relocate_in(t: &Cond, c: Cells, depth: usize) -> Result<Cond, &'static str> {
    if depth > 2 * super::MAX_DEPTH {
        return Err("the term after 'geneve' is too long (at most 400 tests deep)");
    }
    let r = |x: &Cond| relocate_in(x, c, depth + 1);
    Ok(match t {
        Cond::True => Cond::True,
        Cond::False => Cond::False,
        Cond::Test(test) => {
            let (test, ether) = relocate_test(test, c)?;
            if ether {
                // Ethernet inside: the link-layer header is not where the
                // network header is (`gen_geneve_ll_check()`).
                let differ = Cond::Test(Test {
                    load: Load::Arith(Arc::new(Arith::Cell(c.h))),
                    mask: None,
                    op: BPF_JEQ,
                    k: 0,
                    x: Some(XValue::Arith(Arc::new(Arith::Cell(c.p)))),
                })
                .negate();
                differ.and(Cond::Test(test))
            } else {
                Cond::Test(test)
            }
        }
        Cond::And(a, b) => r(a)?.and(r(b)?),
        Cond::Or(a, b) => r(a)?.or(r(b)?),
        Cond::Not(a) => r(a)?.negate(),
        // The parser refuses `geneve` after the first live `vlan`, and a
        // `vlan` after `geneve` reads the tag in the bytes.
        Cond::Mark(_) | Cond::Dual(..) => return Err("a live 'vlan' test cannot read the headers inside Geneve"),
    })
}
