//! Classic BPF translated to eBPF for an XDP program, so that a filter
//! expression decides in the kernel which frames an AF_XDP socket gets.
//!
//! Registers: `r6` the `xdp_md` context, `r7` the frame start (`data`),
//! `r8` its end (`data_end`), `r9` its length; classic A in `r0` and X in
//! `r1` (32-bit values, zero-extended; the arithmetic is 32-bit as in
//! classic BPF); `r2`–`r4` scratch; the 16 scratch words on the stack
//! (zeroed first). Every packet load is checked against `data_end` before
//! it is made — the verifier insists, and classic BPF's rule is the same: a
//! load past the end rejects the packet. Division and modulus by a zero X
//! reject too. Classic loads are big-endian; each load is byte-swapped.
//!
//! XDP sees a frame as it arrived on the wire (a VLAN tag still in the
//! bytes) and only received frames, so programs compiled for
//! [`Target::Offline`](crate::filter::expr::Target::Offline) fit. Of the
//! ancillary loads, the packet type reads 0 (`PACKET_HOST`: never
//! "outgoing"), the interface index is the receiving interface, and "a VLAN
//! tag was taken out" reads 0; the others have no meaning here and are
//! refused.

use super::{Asm, EbpfLabel, Insn, Reg, op};
use crate::error::{Error, Result};
use crate::filter::Program;
use crate::filter::code::*;

const A: Reg = Reg::R0;
const X: Reg = Reg::R1;
const CTX: Reg = Reg::R6;
const DATA: Reg = Reg::R7;
const END: Reg = Reg::R8;
const LEN: Reg = Reg::R9;
const T1: Reg = Reg::R2;
const T2: Reg = Reg::R3;

/// Offsets in `struct xdp_md`.
const XDP_MD_DATA: i16 = 0;
const XDP_MD_DATA_END: i16 = 4;
const XDP_MD_INGRESS_IFINDEX: i16 = 12;

/// Stack offset of scratch word `k` (16 words below the frame pointer).
fn mem(k: u32) -> i16 {
    -64 + 4 * k as i16
}

/// Largest packet offset a load may name (the verifier's `MAX_PACKET_OFF`).
const MAX_OFF: u32 = 0xffff;

fn alu32_imm(alu: u8, dst: Reg, imm: u32) -> Insn {
    Insn::new(op::ALU | alu | op::K, dst, 0, 0, imm as i32)
}

fn alu32_reg(alu: u8, dst: Reg, src: Reg) -> Insn {
    Insn::new(op::ALU | alu | op::X, dst, src as u8, 0, 0)
}

/// Byte-swap the low `bits` of `dst` to big-endian order (`BPF_END`).
fn to_be(dst: Reg, bits: i32) -> Insn {
    const END_OP: u8 = 0xd0;
    const TO_BE: u8 = 0x08;
    Insn::new(op::ALU | END_OP | TO_BE, dst, 0, 0, bits)
}

/// Emit `program` into `a`: frames it accepts continue at `accept`, frames
/// it rejects (return value 0, a load past the end, a division by zero) at
/// `reject`. `r1` must hold the XDP context on entry.
///
/// # Errors
/// [`Error::InvalidFilter`] for an ancillary load that means nothing in
/// XDP, or a program too large for eBPF jump offsets.
pub(crate) fn translate(program: &Program, a: &mut Asm, accept: EbpfLabel, reject: EbpfLabel) -> Result<()> {
    let insns = program.instructions();
    a.push([
        Insn::mov64_reg(CTX, Reg::R1),
        Insn::ldx_mem(op::W, DATA, CTX, XDP_MD_DATA),
        Insn::ldx_mem(op::W, END, CTX, XDP_MD_DATA_END),
        Insn::mov64_reg(LEN, END),
        Insn::alu64_reg(op::SUB, LEN, DATA),
        Insn::mov64_imm(A, 0),
        Insn::mov64_imm(X, 0),
    ]);
    for k in (0..16).step_by(2) {
        a.push([Insn::new(op::ST | op::MEM | op::DW, Reg::R10, 0, mem(k), 0)]);
    }
    let labels: Vec<EbpfLabel> = (0..=insns.len()).map(|_| a.label()).collect();
    // The verifier refuses unreachable code: translate only what a path reaches.
    let mut reachable = vec![false; insns.len() + 1];
    reachable[0] = true;
    for (pc, i) in insns.iter().enumerate() {
        if !reachable[pc] {
            continue;
        }
        let mut mark = |t: usize| {
            if let Some(r) = reachable.get_mut(t) {
                *r = true;
            }
        };
        match i.class() {
            BPF_RET => {}
            BPF_JMP if i.code == BPF_JMP | BPF_JA => mark(pc + 1 + i.k as usize),
            BPF_JMP => {
                mark(pc + 1 + i.jt as usize);
                mark(pc + 1 + i.jf as usize);
            }
            _ => mark(pc + 1),
        }
    }
    let at = |pc: usize| labels.get(pc).copied().ok_or_else(|| bad(format!("instruction {pc}: jump past the end")));
    for (pc, i) in insns.iter().enumerate() {
        a.bind(labels[pc]);
        if !reachable[pc] {
            continue;
        }
        let k = i.k;
        let size = i.code & 0x18;
        match i.class() {
            BPF_LD | BPF_LDX => {
                let dst = if i.class() == BPF_LD { A } else { X };
                match i.code & 0xe0 {
                    BPF_IMM => {
                        a.push([alu32_imm(op::MOV, dst, k)]);
                    }
                    BPF_LEN => {
                        a.push([alu32_reg(op::MOV, dst, LEN)]);
                    }
                    BPF_MEM => {
                        a.push([Insn::ldx_mem(op::W, dst, Reg::R10, mem(k))]);
                    }
                    BPF_ABS if k >= SKF_AD_OFF => ancillary(a, k - SKF_AD_OFF, pc)?,
                    BPF_ABS => load_abs(a, dst, k, size, reject),
                    BPF_IND => load_ind(a, dst, k, size, reject),
                    BPF_MSH => {
                        // X = 4 * (P[k] & 0xf)
                        load_abs(a, X, k, BPF_B, reject);
                        a.push([alu32_imm(op::AND, X, 0xf), alu32_imm(op::LSH, X, 2)]);
                    }
                    _ => return Err(bad(format!("instruction {pc}: unknown load mode"))),
                }
            }
            BPF_ST => {
                a.push([Insn::stx_mem(op::W, Reg::R10, A, mem(k))]);
            }
            BPF_STX => {
                a.push([Insn::stx_mem(op::W, Reg::R10, X, mem(k))]);
            }
            BPF_ALU => {
                let alu = (i.code & 0xf0) as u8;
                if i.code & 0xf0 == BPF_NEG {
                    a.push([Insn::new(op::ALU | op::NEG, A, 0, 0, 0)]);
                } else if i.code & BPF_X != 0 {
                    if matches!(i.code & 0xf0, BPF_DIV | BPF_MOD) {
                        a.jump(Insn::new(op::JMP32 | op::JEQ | op::K, X, 0, 0, 0), reject);
                    }
                    if matches!(i.code & 0xf0, BPF_LSH | BPF_RSH) {
                        // Classic shifts by X use the low five bits, as the kernel's conversion does.
                        a.push([alu32_reg(op::MOV, T1, X), alu32_imm(op::AND, T1, 31), alu32_reg(alu, A, T1)]);
                    } else {
                        a.push([alu32_reg(alu, A, X)]);
                    }
                } else {
                    a.push([alu32_imm(alu, A, k)]);
                }
            }
            BPF_JMP if i.code == BPF_JMP | BPF_JA => {
                a.goto(at(pc + 1 + k as usize)?);
            }
            BPF_JMP => {
                let jop = (i.code & 0xf0) as u8;
                let (t, f) = (at(pc + 1 + i.jt as usize)?, at(pc + 1 + i.jf as usize)?);
                let cond = if i.code & BPF_X != 0 {
                    Insn::new(op::JMP32 | jop | op::X, A, X as u8, 0, 0)
                } else {
                    Insn::new(op::JMP32 | jop | op::K, A, 0, 0, k as i32)
                };
                a.jump(cond, t);
                if i.jf != 0 {
                    a.goto(f);
                }
            }
            BPF_RET => {
                if i.code & 0x18 == BPF_A {
                    a.jump(Insn::new(op::JMP32 | op::JEQ | op::K, A, 0, 0, 0), reject);
                    a.goto(accept);
                } else {
                    a.goto(if k == 0 { reject } else { accept });
                }
            }
            BPF_MISC if i.code & 0xf8 == BPF_TAX => {
                a.push([alu32_reg(op::MOV, X, A)]);
            }
            BPF_MISC => {
                a.push([alu32_reg(op::MOV, A, X)]);
            }
            _ => return Err(bad(format!("instruction {pc}: unknown class"))),
        }
    }
    a.bind(labels[insns.len()]);
    if reachable[insns.len()] {
        a.goto(reject);
    }
    Ok(())
}

fn bad(reason: String) -> Error {
    Error::InvalidFilter { reason: format!("translating to XDP: {reason}") }
}

/// A = the ancillary value at `SKF_AD_OFF + off`.
fn ancillary(a: &mut Asm, off: u32, pc: usize) -> Result<()> {
    match off {
        SKF_AD_PKTTYPE | SKF_AD_VLAN_TAG_PRESENT | SKF_AD_VLAN_TAG => {
            a.push([Insn::mov64_imm(A, 0)]);
        }
        SKF_AD_IFINDEX => {
            a.push([Insn::ldx_mem(op::W, A, CTX, XDP_MD_INGRESS_IFINDEX)]);
        }
        _ => {
            return Err(bad(format!(
                "instruction {pc}: ancillary load at SKF_AD_OFF + {off} has no meaning in an XDP program"
            )));
        }
    };
    Ok(())
}

fn bytes(size: u16) -> u32 {
    match size {
        BPF_W => 4,
        BPF_H => 2,
        _ => 1,
    }
}

/// Load `size` bytes at `ptr + 0` (already bounds-checked) into `dst`, big-endian.
fn load_at(a: &mut Asm, dst: Reg, ptr: Reg, size: u16) {
    let (sz, bits) = match size {
        BPF_W => (op::W, 32),
        BPF_H => (op::H, 16),
        _ => (op::B, 0),
    };
    a.push([Insn::ldx_mem(sz, dst, ptr, 0)]);
    if bits > 0 {
        a.push([to_be(dst, bits)]);
    }
}

/// `dst` = P[k:size], or reject past the end.
fn load_abs(a: &mut Asm, dst: Reg, k: u32, size: u16, reject: EbpfLabel) {
    if k > MAX_OFF {
        a.goto(reject);
        return;
    }
    a.push([
        Insn::mov64_reg(T1, DATA),
        Insn::alu64_imm(op::ADD, T1, k as i32),
        Insn::mov64_reg(T2, T1),
        Insn::alu64_imm(op::ADD, T2, bytes(size) as i32),
    ]);
    a.jump(Insn::jmp_reg(op::JGT, T2, END, 0), reject);
    load_at(a, dst, T1, size);
}

/// `dst` = P[X + k:size] (the sum wraps at 32 bits, as in classic BPF),
/// or reject past the end.
fn load_ind(a: &mut Asm, dst: Reg, k: u32, size: u16, reject: EbpfLabel) {
    a.push([alu32_reg(op::MOV, T1, X), alu32_imm(op::ADD, T1, k)]);
    // The verifier checks the end of the load against the packet only
    // while that end (offset + size) is known not to pass `MAX_OFF` (an X
    // from scratch memory, as after `geneve`, is otherwise unbounded).
    a.jump(Insn::jmp_imm(op::JGT, T1, (MAX_OFF - bytes(size)) as i32, 0), reject);
    a.push([
        Insn::alu64_reg(op::ADD, T1, DATA),
        Insn::mov64_reg(T2, T1),
        Insn::alu64_imm(op::ADD, T2, bytes(size) as i32),
    ]);
    a.jump(Insn::jmp_reg(op::JGT, T2, END, 0), reject);
    load_at(a, dst, T1, size);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{Instruction, expr};

    fn translated(p: &Program) -> Result<Vec<Insn>> {
        let mut a = Asm::new();
        let (accept, reject) = (a.label(), a.label());
        translate(p, &mut a, accept, reject)?;
        a.bind(accept);
        a.push([Insn::mov64_imm(Reg::R0, 1), Insn::exit()]);
        a.bind(reject);
        a.push([Insn::mov64_imm(Reg::R0, 0), Insn::exit()]);
        a.finish()
    }

    #[test]
    fn every_packet_load_is_checked_against_data_end_first() {
        let p = expr::compile("tcp port 80 or ip[ip[0] & 0xf] = 0", 96).unwrap();
        let insns = translated(&p).unwrap();
        let mut checked = 0;
        for (i, insn) in insns.iter().enumerate() {
            // Packet loads read through T1 (the context and the stack have their own bases).
            if insn.code & 0x07 == op::LDX && insn.src == T1 as u8 {
                // if T2 > END goto reject, right before the load
                let guard = insns[i - 1];
                assert_eq!((guard.code, guard.dst, guard.src), (op::JMP | op::JGT | op::X, T2, END as u8), "load {i}");
                checked += 1;
            }
        }
        assert!(checked >= 6, "{checked} loads");
    }

    #[test]
    fn comparisons_are_32_bit_and_loads_big_endian() {
        let p = expr::compile("ether[12:4] = 0x80000001", 96).unwrap();
        let insns = translated(&p).unwrap();
        assert!(insns.iter().any(|i| i.code == op::JMP32 | op::JEQ | op::K && i.imm == 0x8000_0001u32 as i32));
        assert!(insns.iter().any(|i| i.code == 0xdc && i.imm == 32), "a 32-bit byte swap");
    }

    #[test]
    fn unreachable_classic_code_is_left_out_and_meaningless_ancillary_loads_refused() {
        use crate::filter::code::*;
        let p = Program::new(vec![
            Instruction::stmt(BPF_RET | BPF_K, 1),
            Instruction::stmt(BPF_LD | BPF_W | BPF_ABS, 0),
            Instruction::stmt(BPF_RET | BPF_K, 0),
        ])
        .unwrap();
        let insns = translated(&p).unwrap();
        assert!(!insns.iter().any(|i| i.code == op::LDX | op::MEM | op::W && i.src == T1 as u8));
        let mark = Program::new(vec![
            Instruction::stmt(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_MARK),
            Instruction::stmt(BPF_RET | BPF_A, 0),
        ])
        .unwrap();
        assert!(translated(&mark).unwrap_err().to_string().contains("no meaning in an XDP program"));
    }
}
