//! eBPF instructions and a small assembler with labels.
//!
//! Encoding from `Documentation/bpf/standardization/instruction-set.rst`:
//! each instruction is 8 bytes — opcode, destination and source register
//! (4 bits each), a signed 16-bit offset and a signed 32-bit immediate —
//! except `lddw` (64-bit immediate load), which takes two.

/// An eBPF register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Reg {
    /// Return value, and a helper's result.
    R0 = 0,
    /// First argument; the context pointer on entry.
    R1,
    /// Second argument.
    R2,
    /// Third argument.
    R3,
    /// Fourth argument.
    R4,
    /// Fifth argument.
    R5,
    /// Callee-saved.
    R6,
    /// Callee-saved.
    R7,
    /// Callee-saved.
    R8,
    /// Callee-saved.
    R9,
    /// Read-only frame pointer.
    R10,
}

/// Opcode parts (`include/uapi/linux/bpf_common.h`, `bpf.h`).
pub mod op {
    /// Instruction class: load from immediate (`lddw`, legacy packet loads).
    pub const LD: u8 = 0x00;
    /// Instruction class: load from memory into a register.
    pub const LDX: u8 = 0x01;
    /// Instruction class: store immediate.
    pub const ST: u8 = 0x02;
    /// Instruction class: store register.
    pub const STX: u8 = 0x03;
    /// Instruction class: 32-bit arithmetic.
    pub const ALU: u8 = 0x04;
    /// Instruction class: 64-bit jumps.
    pub const JMP: u8 = 0x05;
    /// Instruction class: 32-bit jumps.
    pub const JMP32: u8 = 0x06;
    /// Instruction class: 64-bit arithmetic.
    pub const ALU64: u8 = 0x07;

    /// Size: 32 bits.
    pub const W: u8 = 0x00;
    /// Size: 16 bits.
    pub const H: u8 = 0x08;
    /// Size: 8 bits.
    pub const B: u8 = 0x10;
    /// Size: 64 bits.
    pub const DW: u8 = 0x18;

    /// Mode: 64-bit immediate.
    pub const IMM: u8 = 0x00;
    /// Mode: legacy packet load at an absolute offset (socket filters).
    pub const ABS: u8 = 0x20;
    /// Mode: legacy packet load at a register-relative offset.
    pub const IND: u8 = 0x40;
    /// Mode: memory.
    pub const MEM: u8 = 0x60;
    /// Mode: atomic read-modify-write (`lock` in the disassembly).
    pub const ATOMIC: u8 = 0xc0;

    /// Source: immediate.
    pub const K: u8 = 0x00;
    /// Source: register.
    pub const X: u8 = 0x08;

    /// ALU `+`.
    pub const ADD: u8 = 0x00;
    /// ALU `-`.
    pub const SUB: u8 = 0x10;
    /// ALU `*`.
    pub const MUL: u8 = 0x20;
    /// ALU `/` (unsigned).
    pub const DIV: u8 = 0x30;
    /// ALU `|`.
    pub const OR: u8 = 0x40;
    /// ALU `&`.
    pub const AND: u8 = 0x50;
    /// ALU `<<`.
    pub const LSH: u8 = 0x60;
    /// ALU `>>` (logical).
    pub const RSH: u8 = 0x70;
    /// ALU negate.
    pub const NEG: u8 = 0x80;
    /// ALU `%` (unsigned).
    pub const MOD: u8 = 0x90;
    /// ALU `^`.
    pub const XOR: u8 = 0xa0;
    /// ALU move.
    pub const MOV: u8 = 0xb0;
    /// ALU `>>` (arithmetic).
    pub const ARSH: u8 = 0xc0;

    /// Jump always.
    pub const JA: u8 = 0x00;
    /// Jump if equal.
    pub const JEQ: u8 = 0x10;
    /// Jump if greater (unsigned).
    pub const JGT: u8 = 0x20;
    /// Jump if greater or equal (unsigned).
    pub const JGE: u8 = 0x30;
    /// Jump if `dst & src`.
    pub const JSET: u8 = 0x40;
    /// Jump if not equal.
    pub const JNE: u8 = 0x50;
    /// Jump if greater (signed).
    pub const JSGT: u8 = 0x60;
    /// Jump if greater or equal (signed).
    pub const JSGE: u8 = 0x70;
    /// Call a helper.
    pub const CALL: u8 = 0x80;
    /// Return `r0`.
    pub const EXIT: u8 = 0x90;
    /// Jump if less (unsigned).
    pub const JLT: u8 = 0xa0;
    /// Jump if less or equal (unsigned).
    pub const JLE: u8 = 0xb0;

    /// `src_reg` of an `lddw` whose immediate is a map file descriptor.
    pub const PSEUDO_MAP_FD: u8 = 1;
    /// `src_reg` of a call whose immediate is the BTF id of a kernel
    /// function (`BPF_PSEUDO_KFUNC_CALL`, Linux 5.13).
    pub const PSEUDO_KFUNC_CALL: u8 = 2;
}

/// One eBPF instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Insn {
    /// Opcode: class | size/source | mode/operation.
    pub code: u8,
    /// Destination register.
    pub dst: Reg,
    /// Source register (or a pseudo value for `lddw`).
    pub src: u8,
    /// Signed offset (memory access, jump distance).
    pub off: i16,
    /// Signed immediate.
    pub imm: i32,
}

impl Insn {
    /// An instruction from its parts.
    pub const fn new(code: u8, dst: Reg, src: u8, off: i16, imm: i32) -> Self {
        Self { code, dst, src, off, imm }
    }

    /// The 8 bytes the kernel reads, as a native-endian `u64`
    /// (`struct bpf_insn`: `code`, `dst_reg:4`/`src_reg:4`, `off`, `imm`).
    pub const fn encode(self) -> u64 {
        let regs = if cfg!(target_endian = "little") {
            (self.dst as u8 & 0x0f) | (self.src << 4)
        } else {
            ((self.dst as u8) << 4) | (self.src & 0x0f)
        };
        let off = self.off.to_ne_bytes();
        let imm = self.imm.to_ne_bytes();
        u64::from_ne_bytes([self.code, regs, off[0], off[1], imm[0], imm[1], imm[2], imm[3]])
    }

    /// Opcode, `src_reg` and immediate of an instruction as
    /// [`encode`](Self::encode) lays it out (e.g. one the kernel returns).
    pub const fn decode_parts(w: u64) -> (u8, u8, i32) {
        let b = w.to_ne_bytes();
        let src = if cfg!(target_endian = "little") { b[1] >> 4 } else { b[1] & 0x0f };
        (b[0], src, i32::from_ne_bytes([b[4], b[5], b[6], b[7]]))
    }

    /// `dst = imm` (64-bit, sign-extended).
    pub const fn mov64_imm(dst: Reg, imm: i32) -> Self {
        Self::new(op::ALU64 | op::MOV | op::K, dst, 0, 0, imm)
    }

    /// `dst = src` (64-bit).
    pub const fn mov64_reg(dst: Reg, src: Reg) -> Self {
        Self::new(op::ALU64 | op::MOV | op::X, dst, src as u8, 0, 0)
    }

    /// `dst op= imm` (64-bit), `op` one of [`op::ADD`], [`op::AND`], ….
    pub const fn alu64_imm(alu: u8, dst: Reg, imm: i32) -> Self {
        Self::new(op::ALU64 | alu | op::K, dst, 0, 0, imm)
    }

    /// `dst op= src` (64-bit).
    pub const fn alu64_reg(alu: u8, dst: Reg, src: Reg) -> Self {
        Self::new(op::ALU64 | alu | op::X, dst, src as u8, 0, 0)
    }

    /// `dst = *(size *)(src + off)`, `size` one of [`op::B`], [`op::H`], [`op::W`], [`op::DW`].
    pub const fn ldx_mem(size: u8, dst: Reg, src: Reg, off: i16) -> Self {
        Self::new(op::LDX | op::MEM | size, dst, src as u8, off, 0)
    }

    /// `*(size *)(dst + off) = src`.
    pub const fn stx_mem(size: u8, dst: Reg, src: Reg, off: i16) -> Self {
        Self::new(op::STX | op::MEM | size, dst, src as u8, off, 0)
    }

    /// `lock *(size *)(dst + off) += src`, `size` [`op::W`] or [`op::DW`].
    pub const fn atomic_add(size: u8, dst: Reg, src: Reg, off: i16) -> Self {
        Self::new(op::STX | op::ATOMIC | size, dst, src as u8, off, op::ADD as i32)
    }

    /// Legacy packet load `r0 = ntoh(*(size *)(skb->data + off))`; needs the
    /// context in `r6`; socket filters only.
    pub const fn ld_abs(size: u8, off: i32) -> Self {
        Self::new(op::LD | op::ABS | size, Reg::R0, 0, 0, off)
    }

    /// `lddw dst, map_fd`: the two instructions that load a map reference.
    pub const fn ld_map_fd(dst: Reg, fd: i32) -> [Self; 2] {
        [Self::new(op::LD | op::DW | op::IMM, dst, op::PSEUDO_MAP_FD, 0, fd), Self::new(0, Reg::R0, 0, 0, 0)]
    }

    /// `lddw dst, imm`: a 64-bit immediate in two instructions.
    pub const fn ld_imm64(dst: Reg, imm: u64) -> [Self; 2] {
        [
            Self::new(op::LD | op::DW | op::IMM, dst, 0, 0, imm as u32 as i32),
            Self::new(0, Reg::R0, 0, 0, (imm >> 32) as u32 as i32),
        ]
    }

    /// Call helper number `id` (`enum bpf_func_id`).
    pub const fn call(id: i32) -> Self {
        Self::new(op::JMP | op::CALL, Reg::R0, 0, 0, id)
    }

    /// Call the kernel function (kfunc) whose `vmlinux` BTF type id is
    /// `btf_id` (see [`btf`](super::btf) for finding it by name).
    pub const fn kfunc_call(btf_id: u32) -> Self {
        Self::new(op::JMP | op::CALL, Reg::R0, op::PSEUDO_KFUNC_CALL, 0, btf_id as i32)
    }

    /// `*(size *)(dst + off) = imm`.
    pub const fn st_mem(size: u8, dst: Reg, off: i16, imm: i32) -> Self {
        Self::new(op::ST | op::MEM | size, dst, 0, off, imm)
    }

    /// Return `r0`.
    pub const fn exit() -> Self {
        Self::new(op::JMP | op::EXIT, Reg::R0, 0, 0, 0)
    }

    /// `if dst jmp imm goto +off` (64-bit compare).
    pub const fn jmp_imm(jmp: u8, dst: Reg, imm: i32, off: i16) -> Self {
        Self::new(op::JMP | jmp | op::K, dst, 0, off, imm)
    }

    /// `if dst jmp src goto +off` (64-bit compare).
    pub const fn jmp_reg(jmp: u8, dst: Reg, src: Reg, off: i16) -> Self {
        Self::new(op::JMP | jmp | op::X, dst, src as u8, off, 0)
    }
}

/// Helper function numbers (`enum bpf_func_id`) used here.
pub mod helper {
    /// `bpf_map_lookup_elem`
    pub const MAP_LOOKUP_ELEM: i32 = 1;
    /// `bpf_skb_vlan_push` (Linux 4.3)
    pub const SKB_VLAN_PUSH: i32 = 18;
    /// `bpf_skb_load_bytes`
    pub const SKB_LOAD_BYTES: i32 = 26;
    /// `bpf_xdp_adjust_head` (Linux 4.10)
    pub const XDP_ADJUST_HEAD: i32 = 44;
    /// `bpf_redirect_map`
    pub const REDIRECT_MAP: i32 = 51;
    /// `bpf_xdp_adjust_meta` (Linux 4.15)
    pub const XDP_ADJUST_META: i32 = 54;
    /// `bpf_ktime_get_tai_ns` (Linux 6.1)
    pub const KTIME_GET_TAI_NS: i32 = 208;
}

/// A jump target in an [`Asm`] program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EbpfLabel(usize);

/// Builds a program with forward and backward jumps to labels.
///
/// ```
/// use netring::bpf::{Asm, Insn, Reg, op};
/// // r0 = (ctx->len > 100) ? 1 : 0, as a socket filter would read it
/// let mut a = Asm::new();
/// let big = a.label();
/// a.push([Insn::ldx_mem(op::W, Reg::R2, Reg::R1, 0)]);
/// a.jump_imm(op::JGT, Reg::R2, 100, big);
/// a.push([Insn::mov64_imm(Reg::R0, 0), Insn::exit()]);
/// a.bind(big);
/// a.push([Insn::mov64_imm(Reg::R0, 1), Insn::exit()]);
/// let prog = a.finish().unwrap();
/// assert_eq!(prog[1].off, 2);
/// ```
#[derive(Debug, Default, Clone)]
pub struct Asm {
    insns: Vec<Insn>,
    labels: Vec<Option<usize>>,
    fixups: Vec<(usize, EbpfLabel)>,
}

impl Asm {
    /// An empty program.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append instructions.
    pub fn push(&mut self, insns: impl IntoIterator<Item = Insn>) -> &mut Self {
        self.insns.extend(insns);
        self
    }

    /// A new, unbound label.
    pub fn label(&mut self) -> EbpfLabel {
        self.labels.push(None);
        EbpfLabel(self.labels.len() - 1)
    }

    /// Bind `l` to the next instruction.
    ///
    /// # Panics
    /// If `l` is bound already.
    pub fn bind(&mut self, l: EbpfLabel) -> &mut Self {
        assert!(self.labels[l.0].is_none(), "label bound twice");
        self.labels[l.0] = Some(self.insns.len());
        self
    }

    /// `if dst jmp imm goto l`.
    pub fn jump_imm(&mut self, jmp: u8, dst: Reg, imm: i32, l: EbpfLabel) -> &mut Self {
        self.fixups.push((self.insns.len(), l));
        self.push([Insn::jmp_imm(jmp, dst, imm, 0)])
    }

    /// Any jump instruction (`insn`'s offset is replaced) to `l`.
    pub fn jump(&mut self, insn: Insn, l: EbpfLabel) -> &mut Self {
        self.fixups.push((self.insns.len(), l));
        self.push([insn])
    }

    /// `goto l`.
    pub fn goto(&mut self, l: EbpfLabel) -> &mut Self {
        self.fixups.push((self.insns.len(), l));
        self.push([Insn::new(op::JMP | op::JA, Reg::R0, 0, 0, 0)])
    }

    /// The instructions with every jump resolved.
    ///
    /// # Errors
    /// [`Error::InvalidFilter`](crate::Error::InvalidFilter) for a label
    /// never bound or a jump farther than ±32767 instructions.
    pub fn finish(mut self) -> crate::Result<Vec<Insn>> {
        for (at, l) in self.fixups {
            let target = self.labels[l.0]
                .ok_or_else(|| crate::Error::InvalidFilter { reason: format!("jump at {at} to an unbound label") })?;
            let off = target as i64 - at as i64 - 1;
            self.insns[at].off = i16::try_from(off)
                .map_err(|_| crate::Error::InvalidFilter { reason: format!("jump at {at} too far ({off})") })?;
        }
        Ok(self.insns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_encodings() {
        // As `llvm-objdump -d` prints them for the same instructions (bytes in order).
        let bytes = |i: Insn| i.encode().to_ne_bytes();
        assert_eq!(bytes(Insn::mov64_imm(Reg::R0, 2)), [0xb7, 0x00, 0, 0, 2, 0, 0, 0]);
        assert_eq!(bytes(Insn::ldx_mem(op::W, Reg::R2, Reg::R1, 16)), [0x61, 0x12, 16, 0, 0, 0, 0, 0]);
        assert_eq!(bytes(Insn::call(helper::REDIRECT_MAP)), [0x85, 0, 0, 0, 51, 0, 0, 0]);
        assert_eq!(bytes(Insn::exit()), [0x95, 0, 0, 0, 0, 0, 0, 0]);
        let [a, b] = Insn::ld_map_fd(Reg::R1, 7);
        assert_eq!(bytes(a), [0x18, 0x11, 0, 0, 7, 0, 0, 0]);
        assert_eq!(bytes(b), [0; 8]);
        assert_eq!(bytes(Insn::jmp_imm(op::JNE, Reg::R0, 0x88b5, -3)), [0x55, 0, 0xfd, 0xff, 0xb5, 0x88, 0, 0]);
        assert_eq!(bytes(Insn::ld_abs(op::H, 12)), [0x28, 0, 0, 0, 12, 0, 0, 0]);
        assert_eq!(bytes(Insn::kfunc_call(0x1234)), [0x85, 0x20, 0, 0, 0x34, 0x12, 0, 0]);
        assert_eq!(bytes(Insn::atomic_add(op::DW, Reg::R0, Reg::R1, 0)), [0xdb, 0x10, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Insn::decode_parts(Insn::kfunc_call(0x1234).encode()), (0x85, 2, 0x1234));
        assert_eq!(bytes(Insn::st_mem(op::H, Reg::R2, 30, 0x4e52)), [0x6a, 0x02, 30, 0, 0x52, 0x4e, 0, 0]);
        let [lo, hi] = Insn::ld_imm64(Reg::R3, 0x1_0000_0002);
        assert_eq!((lo.imm, hi.imm), (2, 1));
    }

    #[test]
    fn labels_resolve_both_ways_and_unbound_ones_fail() {
        let mut a = Asm::new();
        let top = a.label();
        let end = a.label();
        a.bind(top);
        a.push([Insn::mov64_imm(Reg::R0, 0)]);
        a.jump_imm(op::JEQ, Reg::R0, 1, end);
        a.goto(top);
        a.bind(end);
        a.push([Insn::exit()]);
        let p = a.finish().unwrap();
        assert_eq!(p[1].off, 1);
        assert_eq!(p[2].off, -3);

        let mut a = Asm::new();
        let nowhere = a.label();
        a.goto(nowhere);
        assert!(a.finish().unwrap_err().to_string().contains("unbound label"));
    }
}
