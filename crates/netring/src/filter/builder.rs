//! [`ProgramBuilder`]: write classic BPF with labels instead of counted
//! jump offsets.
//!
//! ```
//! use netring::filter::{ProgramBuilder, code::*};
//! // ether proto 0x88b5, accepting 96 bytes
//! let mut b = ProgramBuilder::new();
//! let (accept, reject) = (b.label(), b.label());
//! b.stmt(BPF_LD | BPF_H | BPF_ABS, 12);
//! b.jump(BPF_JMP | BPF_JEQ | BPF_K, 0x88b5, accept, reject);
//! b.bind(accept);
//! b.stmt(BPF_RET | BPF_K, 96);
//! b.bind(reject);
//! b.stmt(BPF_RET | BPF_K, 0);
//! let program = b.build()?;
//! assert_eq!(program.len(), 4);
//! # Ok::<(), netring::Error>(())
//! ```
//!
//! Jumps go forward only, as classic BPF requires. A conditional jump whose
//! target lies more than 255 instructions ahead is routed through an
//! inserted `ja` (which reaches any distance).

use super::{Instruction, Program, code::*};
use crate::error::{Error, Result};

/// A jump target; [`bind`](ProgramBuilder::bind) it where it should land.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Label(usize);

#[derive(Debug, Clone, Copy)]
enum Item {
    Stmt(Instruction),
    Cond { code: u16, k: u32, jt: Label, jf: Label },
    Ja(Label),
}

/// Builds a [`Program`] from statements and labelled jumps.
#[derive(Debug, Default, Clone)]
pub struct ProgramBuilder {
    items: Vec<Item>,
    /// Item index each label is bound to.
    labels: Vec<Option<usize>>,
}

impl ProgramBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new, unbound label.
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Bind `label` to the next instruction added. Binding twice moves it.
    pub fn bind(&mut self, label: Label) -> &mut Self {
        self.labels[label.0] = Some(self.items.len());
        self
    }

    /// A non-jump instruction (`BPF_STMT(code, k)`).
    pub fn stmt(&mut self, code: u16, k: u32) -> &mut Self {
        self.items.push(Item::Stmt(Instruction::stmt(code, k)));
        self
    }

    /// An instruction as it is, jump offsets included: for code whose
    /// jumps stay inside a run of `raw` instructions (trampolines are only
    /// ever inserted right after a labelled jump, never inside such a run).
    pub(crate) fn raw(&mut self, insn: Instruction) -> &mut Self {
        self.items.push(Item::Stmt(insn));
        self
    }

    /// A conditional jump (`jeq`/`jgt`/`jge`/`jset`, against `k` or `X`).
    pub fn jump(&mut self, code: u16, k: u32, jt: Label, jf: Label) -> &mut Self {
        self.items.push(Item::Cond { code, k, jt, jf });
        self
    }

    /// An unconditional jump (`ja`).
    pub fn ja(&mut self, target: Label) -> &mut Self {
        self.items.push(Item::Ja(target));
        self
    }

    /// Number of items added so far (before trampolines).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing was added yet.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Resolve the labels and validate the program as the kernel would.
    ///
    /// # Errors
    /// [`Error::InvalidFilter`] for a label never bound, a jump backwards or
    /// onto itself, a label bound past the last instruction, or a program the
    /// kernel would refuse (see [`super::validate`]).
    pub fn build(&self) -> Result<Program> {
        let mut items = self.items.clone();
        let mut at: Vec<usize> = Vec::with_capacity(self.labels.len());
        for (i, l) in self.labels.iter().enumerate() {
            match l {
                Some(p) if *p < items.len() => at.push(*p),
                Some(_) => return Err(bad(format!("label {i} is bound past the last instruction"))),
                None => at.push(usize::MAX),
            }
        }
        // Trampolines only add instructions: a program already too long is
        // refused now, not after inserting them one by one (each insertion
        // rescans the program).
        let too_long = |n: usize| {
            bad(format!(
                "program has at least {n} instructions (before long jumps get their trampolines); \
                 the kernel accepts 1..={}",
                super::MAX_INSNS
            ))
        };
        if items.len() > super::MAX_INSNS {
            return Err(too_long(items.len()));
        }
        // Insert `ja` trampolines until every conditional jump reaches.
        loop {
            if items.len() > super::MAX_INSNS {
                return Err(Error::InvalidFilter {
                    reason: format!(
                        "program has {} instructions with the trampolines of its long jumps so far (more to \
                         come); the kernel accepts 1..={}",
                        items.len(),
                        super::MAX_INSNS
                    ),
                });
            }
            let mut far = None;
            for (i, item) in items.iter().enumerate() {
                if let Item::Cond { jt, jf, .. } = *item {
                    for (which, l) in [(true, jt), (false, jf)] {
                        let t = target(&at, l, i)?;
                        if t - i - 1 > 255 {
                            far = Some((i, which, l));
                            break;
                        }
                    }
                }
                if far.is_some() {
                    break;
                }
            }
            let Some((i, which, l)) = far else { break };
            // A conditional jump never falls through, so an item right
            // after it is reached only by jumps; shift every label past `i`.
            for p in at.iter_mut() {
                if *p != usize::MAX && *p > i {
                    *p += 1;
                }
            }
            at.push(i + 1);
            let tramp = Label(at.len() - 1);
            items.insert(i + 1, Item::Ja(l));
            if let Item::Cond { jt, jf, .. } = &mut items[i] {
                if which {
                    *jt = tramp;
                } else {
                    *jf = tramp;
                }
            }
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            out.push(match *item {
                Item::Stmt(insn) => insn,
                Item::Cond { code, k, jt, jf } => {
                    let (t, f) = (target(&at, jt, i)?, target(&at, jf, i)?);
                    Instruction::jump(code, k, (t - i - 1) as u8, (f - i - 1) as u8)
                }
                Item::Ja(l) => Instruction::stmt(BPF_JMP | BPF_JA, (target(&at, l, i)? - i - 1) as u32),
            });
        }
        Program::new(out)
    }
}

fn bad(reason: String) -> Error {
    Error::InvalidFilter { reason }
}

/// Where `label` lands, checked to lie after `from`.
fn target(at: &[usize], label: Label, from: usize) -> Result<usize> {
    match at[label.0] {
        usize::MAX => Err(bad(format!("label {} is never bound", label.0))),
        t if t <= from => Err(bad(format!("instruction {from} jumps backwards or onto itself (label {})", label.0))),
        t => Ok(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_resolve_to_offsets() {
        let mut b = ProgramBuilder::new();
        let (yes, no, skip) = (b.label(), b.label(), b.label());
        b.stmt(BPF_LD | BPF_H | BPF_ABS, 12);
        b.jump(BPF_JMP | BPF_JEQ | BPF_K, 0x800, skip, no);
        b.bind(skip).ja(yes);
        b.bind(no).stmt(BPF_RET | BPF_K, 0);
        b.bind(yes).stmt(BPF_RET | BPF_K, 1);
        let p = b.build().unwrap();
        assert_eq!(
            p.instructions(),
            &[
                Instruction::stmt(0x28, 12),
                Instruction::jump(0x15, 0x800, 0, 1),
                Instruction::stmt(0x05, 1),
                Instruction::stmt(0x06, 0),
                Instruction::stmt(0x06, 1),
            ]
        );
    }

    #[test]
    fn far_targets_get_a_trampoline() {
        let mut b = ProgramBuilder::new();
        let (far, near) = (b.label(), b.label());
        b.stmt(BPF_LD | BPF_B | BPF_ABS, 0);
        b.jump(BPF_JMP | BPF_JEQ | BPF_K, 7, far, near);
        b.bind(near);
        for _ in 0..300 {
            b.stmt(BPF_ALU | BPF_ADD | BPF_K, 1);
        }
        b.stmt(BPF_RET | BPF_A, 0);
        b.bind(far).stmt(BPF_RET | BPF_K, 99);
        let p = b.build().unwrap();
        assert_eq!(p.len(), 305);
        assert_eq!(p.instructions()[1], Instruction::jump(0x15, 7, 0, 1));
        assert_eq!(p.instructions()[2], Instruction::stmt(0x05, 301));
        let run = |byte: u8| p.run(&[byte], &super::super::FilterMeta::default());
        assert_eq!(run(7), 99);
        assert_eq!(run(8), 308);
    }

    #[test]
    fn bad_labels_are_errors() {
        let mut b = ProgramBuilder::new();
        let l = b.label();
        b.ja(l);
        assert!(b.build().unwrap_err().to_string().contains("never bound"));
        let mut b = ProgramBuilder::new();
        let l = b.label();
        b.bind(l).stmt(BPF_RET | BPF_K, 0);
        b.ja(l).stmt(BPF_RET | BPF_K, 0);
        assert!(b.build().unwrap_err().to_string().contains("backwards"));
    }
}
