//! The classic BPF instruction (`struct sock_filter`).

use std::fmt;

use super::code;

/// One classic BPF instruction, laid out as the kernel's `struct sock_filter`
/// so a slice of them is what `SO_ATTACH_FILTER` takes.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Instruction {
    /// Opcode: class | size/op | mode/source (see [`code`]).
    pub code: u16,
    /// Jump offset if true (conditional jumps).
    pub jt: u8,
    /// Jump offset if false (conditional jumps).
    pub jf: u8,
    /// Generic field: constant, offset, or `ja` distance.
    pub k: u32,
}

const _: () = {
    assert!(std::mem::size_of::<Instruction>() == 8);
    assert!(std::mem::offset_of!(Instruction, k) == 4);
};

/// `(code, jt, jf, k)`: the fields in the kernel's order, for the system
/// calls that hand a program to the kernel.
impl From<Instruction> for (u16, u8, u8, u32) {
    fn from(i: Instruction) -> Self {
        (i.code, i.jt, i.jf, i.k)
    }
}

impl Instruction {
    /// An instruction from all four fields.
    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> Self {
        Self { code, jt, jf, k }
    }

    /// A non-jump instruction (`BPF_STMT`).
    pub const fn stmt(code: u16, k: u32) -> Self {
        Self { code, jt: 0, jf: 0, k }
    }

    /// A jump instruction (`BPF_JUMP`).
    pub const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Self {
        Self { code, jt, jf, k }
    }

    /// The instruction class (`BPF_CLASS(code)`).
    pub const fn class(&self) -> u16 {
        self.code & 0x07
    }

    /// Whether this is a conditional jump (`jeq`, `jgt`, `jge`, `jset`).
    pub const fn is_conditional_jump(&self) -> bool {
        self.class() == code::BPF_JMP && self.code & 0xf0 != code::BPF_JA
    }
}

impl fmt::Debug for Instruction {
    /// The `tcpdump -dd` form: `{ 0x28, 0, 0, 0x0000000c }`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{ {:#x}, {}, {}, {:#010x} }}", self.code, self.jt, self.jf, self.k)
    }
}
