//! Straight-line code for computed values (packet bytes and arithmetic).

use super::ast::{Arith, Base};
use crate::filter::Instruction;
use crate::filter::code::*;

/// Straight-line code for an [`Arith`] value: A ends with the value; X and
/// scratch cells are used as needed. The code starts from nothing (it never
/// relies on what A, X or memory held before), so the same code always
/// computes the same value for a packet.
pub(super) struct Emitter {
    pub(super) out: Vec<Instruction>,
    /// What X holds, if known: the offset of the IPv4 header whose length
    /// `ldxb 4*([off]&0xf)` loaded.
    pub(super) x: Option<u32>,
    pub(super) next_mem: u32,
}

impl Emitter {
    fn push(&mut self, code: u16, k: u32) {
        if code & 0x07 == BPF_LDX || code == BPF_MISC | BPF_TAX {
            self.x = None;
        }
        self.out.push(Instruction::stmt(code, k));
    }

    fn msh(&mut self, at: u32) {
        if self.x != Some(at) {
            self.push(BPF_LDX | BPF_B | BPF_MSH, at);
            self.x = Some(at);
        }
    }

    /// The next free scratch cell (the parser refused values that need
    /// more than there are: see `Arith::cells`).
    fn cell(&mut self) -> u32 {
        let m = self.next_mem;
        debug_assert!((m as usize) < crate::filter::MEM_WORDS, "Arith::cells counted too few");
        self.next_mem += 1;
        m.min(crate::filter::MEM_WORDS as u32 - 1)
    }

    /// A = `a`.
    pub(super) fn value(&mut self, a: &Arith) {
        match a {
            Arith::Num(k) => self.push(BPF_LD | BPF_IMM, *k),
            Arith::Len => self.push(BPF_LD | BPF_W | BPF_LEN, 0),
            Arith::Cell(m) => self.push(BPF_LD | BPF_MEM, *m),
            Arith::Load { size, base: Base::Cell { cell, off }, index } => {
                match index.num() {
                    Some(_) => self.push(BPF_LDX | BPF_MEM, *cell),
                    None if !index.uses_x() => {
                        self.value(index);
                        self.push(BPF_LDX | BPF_MEM, *cell);
                        self.push(BPF_ALU | BPF_ADD | BPF_X, 0);
                        self.push(BPF_MISC | BPF_TAX, 0);
                    }
                    None => {
                        self.value(index);
                        let m = self.cell();
                        self.push(BPF_ST, m);
                        self.push(BPF_LDX | BPF_MEM, *cell);
                        self.push(BPF_LD | BPF_MEM, m);
                        self.next_mem -= 1;
                        self.push(BPF_ALU | BPF_ADD | BPF_X, 0);
                        self.push(BPF_MISC | BPF_TAX, 0);
                    }
                }
                self.push(BPF_LD | size | BPF_IND, off.wrapping_add(index.num().unwrap_or(0)));
            }
            Arith::Load { size, base: Base::Abs(b), index } => match index.num() {
                Some(c) => self.push(BPF_LD | size | BPF_ABS, b.wrapping_add(c)),
                None => {
                    self.value(index);
                    self.push(BPF_MISC | BPF_TAX, 0);
                    self.push(BPF_LD | size | BPF_IND, *b);
                }
            },
            Arith::Load { size, base: Base::AfterIpv4 { msh, off }, index } => match index.num() {
                Some(c) => {
                    self.msh(*msh);
                    self.push(BPF_LD | size | BPF_IND, off.wrapping_add(c));
                }
                None => {
                    if !index.uses_x() {
                        self.msh(*msh);
                        self.value(index);
                    } else {
                        self.value(index);
                        if self.x != Some(*msh) {
                            let m = self.cell();
                            self.push(BPF_ST, m);
                            self.msh(*msh);
                            self.push(BPF_LD | BPF_MEM, m);
                            self.next_mem -= 1;
                        }
                    }
                    self.push(BPF_ALU | BPF_ADD | BPF_X, 0);
                    self.push(BPF_MISC | BPF_TAX, 0);
                    self.push(BPF_LD | size | BPF_IND, *off);
                }
            },
            Arith::Bin(op, l, r) => match r.num() {
                Some(k) => {
                    self.value(l);
                    self.push(BPF_ALU | op | BPF_K, k);
                }
                None => {
                    self.pair(l, r);
                    self.push(BPF_ALU | op | BPF_X, 0);
                }
            },
            Arith::Neg(a) => {
                self.value(a);
                self.push(BPF_ALU | BPF_NEG, 0);
            }
        }
    }

    /// A = `l`, X = `r`, in the order [`Arith::pair_order`] chooses.
    pub(super) fn pair(&mut self, l: &Arith, r: &Arith) {
        match (Arith::pair_order(l, r).0, l.uses_x()) {
            (_, false) => {
                self.value(r);
                self.push(BPF_MISC | BPF_TAX, 0);
                self.value(l);
            }
            (true, true) => {
                self.value(l);
                let m = self.cell();
                self.push(BPF_ST, m);
                self.value(r);
                self.push(BPF_MISC | BPF_TAX, 0);
                self.push(BPF_LD | BPF_MEM, m);
                self.next_mem -= 1;
            }
            (false, true) => {
                self.value(r);
                let m = self.cell();
                self.push(BPF_ST, m);
                self.value(l);
                self.push(BPF_LDX | BPF_MEM, m);
                self.next_mem -= 1;
            }
        }
    }
}
