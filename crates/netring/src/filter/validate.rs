//! The kernel's classic BPF checks (`bpf_check_classic()` and
//! `check_load_and_stores()` in `net/core/filter.c`), so a program is refused
//! here, with a reason, rather than by `setsockopt` with a bare `EINVAL`.

use super::code::*;
use super::{Instruction, MAX_INSNS, MEM_WORDS};
use crate::error::{Error, Result};

/// Opcodes the kernel accepts (`chk_code_allowed()`).
pub(crate) fn opcode_allowed(code: u16) -> bool {
    const ALU_OPS: [u16; 10] =
        [BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_MOD, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH];
    const JMP_OPS: [u16; 4] = [BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JSET];
    match code & 0x07 {
        BPF_ALU => {
            code == BPF_ALU | BPF_NEG
                || ALU_OPS.iter().any(|&op| code == BPF_ALU | op | BPF_K || code == BPF_ALU | op | BPF_X)
        }
        BPF_LD => matches!(
            code,
            0x20 | 0x28 | 0x30 // ABS w/h/b
                | 0x40 | 0x48 | 0x50 // IND w/h/b
                | 0x80 // W LEN
                | 0x00 // IMM
                | 0x60 // MEM
        ),
        BPF_LDX => matches!(code, 0x81 | 0xb1 | 0x01 | 0x61), // W LEN, B MSH, IMM, MEM
        BPF_ST => code == BPF_ST,
        BPF_STX => code == BPF_STX,
        BPF_MISC => code == BPF_MISC | BPF_TAX || code == BPF_MISC | BPF_TXA,
        BPF_RET => code == BPF_RET | BPF_K || code == BPF_RET | BPF_A,
        BPF_JMP => {
            code == BPF_JMP | BPF_JA
                || JMP_OPS.iter().any(|&op| code == BPF_JMP | op | BPF_K || code == BPF_JMP | op | BPF_X)
        }
        _ => unreachable!("class is three bits"),
    }
}

/// Whether `k` names an ancillary load the kernel knows (`bpf_anc_helper()`).
fn known_ancillary(k: u32) -> bool {
    (SKF_AD_OFF..SKF_AD_OFF + SKF_AD_MAX).contains(&k) && (k - SKF_AD_OFF).is_multiple_of(4)
}

fn invalid(pc: usize, insn: &Instruction, why: &str) -> Error {
    Error::InvalidFilter { reason: format!("instruction {pc} {insn:?}: {why}") }
}

/// Check `insns` the way the kernel does before attaching.
///
/// Checks: length `1..=4096`; every opcode one the kernel knows; no division
/// or modulo by a constant 0; constant shifts below 32; scratch cells below
/// 16; unknown ancillary offsets; every jump lands inside the program; the
/// last instruction is a return; no scratch cell is read on a path where it
/// was not written.
///
/// # Errors
/// [`Error::InvalidFilter`] naming the first offending instruction.
pub fn validate(insns: &[Instruction]) -> Result<()> {
    let flen = insns.len();
    if flen == 0 || flen > MAX_INSNS {
        return Err(Error::InvalidFilter {
            reason: format!("program has {flen} instructions; the kernel accepts 1..={MAX_INSNS}"),
        });
    }
    for (pc, insn) in insns.iter().enumerate() {
        if !opcode_allowed(insn.code) {
            return Err(invalid(pc, insn, "unknown opcode"));
        }
        let c = insn.code;
        if c == BPF_ALU | BPF_DIV | BPF_K || c == BPF_ALU | BPF_MOD | BPF_K {
            if insn.k == 0 {
                return Err(invalid(pc, insn, "division by constant zero"));
            }
        } else if c == BPF_ALU | BPF_LSH | BPF_K || c == BPF_ALU | BPF_RSH | BPF_K {
            if insn.k >= 32 {
                return Err(invalid(pc, insn, "shift by 32 or more"));
            }
        } else if c == BPF_LD | BPF_MEM || c == BPF_LDX | BPF_MEM || c == BPF_ST || c == BPF_STX {
            if insn.k as usize >= MEM_WORDS {
                return Err(invalid(pc, insn, "scratch memory cell out of range (0..16)"));
            }
        } else if c == BPF_JMP | BPF_JA {
            if insn.k as u64 >= (flen - pc - 1) as u64 {
                return Err(invalid(pc, insn, "jump target past the end of the program"));
            }
        } else if insn.is_conditional_jump() {
            if pc + insn.jt as usize + 1 >= flen || pc + insn.jf as usize + 1 >= flen {
                return Err(invalid(pc, insn, "jump target past the end of the program"));
            }
        } else if (c == BPF_LD | BPF_W | BPF_ABS || c == BPF_LD | BPF_H | BPF_ABS || c == BPF_LD | BPF_B | BPF_ABS)
            && insn.k >= SKF_AD_OFF
            && !known_ancillary(insn.k)
        {
            return Err(invalid(pc, insn, "unknown ancillary load offset"));
        }
    }
    let last = &insns[flen - 1];
    if last.code != BPF_RET | BPF_K && last.code != BPF_RET | BPF_A {
        return Err(invalid(flen - 1, last, "the last instruction must be a return"));
    }
    check_load_and_stores(insns)
}

/// Every scratch-memory read must follow a write on every path to it.
/// Mirrors the kernel's forward pass: a bit per cell, intersected at jump
/// targets, reset to "all valid" after a jump (the fall-through is not
/// reachable from it).
fn check_load_and_stores(insns: &[Instruction]) -> Result<()> {
    let mut masks = vec![u16::MAX; insns.len()];
    let mut memvalid: u16 = 0;
    for (pc, insn) in insns.iter().enumerate() {
        memvalid &= masks[pc];
        let c = insn.code;
        if c == BPF_ST || c == BPF_STX {
            memvalid |= 1 << insn.k;
        } else if c == BPF_LD | BPF_MEM || c == BPF_LDX | BPF_MEM {
            if memvalid & (1 << insn.k) == 0 {
                return Err(invalid(pc, insn, "reads a scratch memory cell that may not have been written"));
            }
        } else if c == BPF_JMP | BPF_JA {
            masks[pc + 1 + insn.k as usize] &= memvalid;
            memvalid = u16::MAX;
        } else if insn.is_conditional_jump() {
            masks[pc + 1 + insn.jt as usize] &= memvalid;
            masks[pc + 1 + insn.jf as usize] &= memvalid;
            memvalid = u16::MAX;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ret(k: u32) -> Instruction {
        Instruction::stmt(BPF_RET | BPF_K, k)
    }

    fn reason(insns: &[Instruction]) -> String {
        match validate(insns) {
            Err(Error::InvalidFilter { reason }) => reason,
            other => panic!("expected InvalidFilter, got {other:?}"),
        }
    }

    #[test]
    fn accepts_a_tcpdump_program() {
        // tcpdump -dd 'ether proto 0x88b5'
        let p = [
            Instruction::new(0x28, 0, 0, 0x0000000c),
            Instruction::new(0x15, 0, 1, 0x000088b5),
            Instruction::new(0x6, 0, 0, 0x00040000),
            Instruction::new(0x6, 0, 0, 0x00000000),
        ];
        validate(&p).unwrap();
    }

    #[test]
    fn length_limits() {
        assert!(reason(&[]).contains("1..=4096"));
        let long = vec![ret(1); MAX_INSNS + 1];
        assert!(reason(&long).contains("4097"));
        validate(&vec![ret(1); MAX_INSNS]).unwrap();
    }

    #[test]
    fn must_end_in_return() {
        let p = [Instruction::stmt(BPF_LD | BPF_W | BPF_LEN, 0)];
        assert!(reason(&p).contains("last instruction must be a return"));
    }

    #[test]
    fn opcodes() {
        assert!(reason(&[Instruction::stmt(0xff, 0), ret(0)]).contains("unknown opcode"));
        // RET X is not a kernel opcode; RET A is.
        assert!(reason(&[Instruction::stmt(BPF_RET | BPF_X, 0)]).contains("unknown opcode"));
        validate(&[Instruction::stmt(BPF_RET | BPF_A, 0)]).unwrap();
        // Every opcode the kernel allows, counted: 21 ALU + 13 load + 2 store + 2 misc + 2 ret + 9 jump.
        let n = (0..=0xffffu16).filter(|&c| opcode_allowed(c)).count();
        assert_eq!(n, 49);
    }

    #[test]
    fn jumps_in_range() {
        let p = [Instruction::jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1), ret(0)];
        assert!(reason(&p).contains("jump target"));
        let p = [Instruction::jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1), ret(0), ret(1)];
        validate(&p).unwrap();
        let p = [Instruction::stmt(BPF_JMP | BPF_JA, 1), ret(0)];
        assert!(reason(&p).contains("jump target"));
        let p = [Instruction::stmt(BPF_JMP | BPF_JA, 0), ret(0)];
        validate(&p).unwrap();
    }

    #[test]
    fn constant_checks() {
        assert!(reason(&[Instruction::stmt(BPF_ALU | BPF_DIV | BPF_K, 0), ret(0)]).contains("division"));
        assert!(reason(&[Instruction::stmt(BPF_ALU | BPF_MOD | BPF_K, 0), ret(0)]).contains("division"));
        assert!(reason(&[Instruction::stmt(BPF_ALU | BPF_LSH | BPF_K, 32), ret(0)]).contains("shift"));
        validate(&[Instruction::stmt(BPF_ALU | BPF_RSH | BPF_K, 31), ret(0)]).unwrap();
        assert!(reason(&[Instruction::stmt(BPF_ST, 16), ret(0)]).contains("scratch"));
    }

    #[test]
    fn ancillary_offsets() {
        let ld = |k| [Instruction::stmt(BPF_LD | BPF_B | BPF_ABS, k), ret(0)];
        validate(&ld(SKF_AD_OFF + SKF_AD_PKTTYPE)).unwrap();
        validate(&ld(SKF_AD_OFF + SKF_AD_VLAN_TPID)).unwrap();
        validate(&ld(SKF_NET_OFF + 9)).unwrap();
        assert!(reason(&ld(SKF_AD_OFF + SKF_AD_MAX)).contains("ancillary"));
        assert!(reason(&ld(SKF_AD_OFF + 2)).contains("ancillary"));
    }

    #[test]
    fn scratch_reads_need_writes_on_every_path() {
        // Read without any write.
        let p = [Instruction::stmt(BPF_LD | BPF_MEM, 3), ret(0)];
        assert!(reason(&p).contains("may not have been written"));
        // Written before: fine.
        let p = [Instruction::stmt(BPF_ST, 3), Instruction::stmt(BPF_LDX | BPF_MEM, 3), ret(0)];
        validate(&p).unwrap();
        // Written on only one branch: refused.
        let p = [
            Instruction::jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
            Instruction::stmt(BPF_ST, 2),
            Instruction::stmt(BPF_LD | BPF_MEM, 2),
            ret(0),
        ];
        assert!(reason(&p).contains("instruction 2"));
    }
}
