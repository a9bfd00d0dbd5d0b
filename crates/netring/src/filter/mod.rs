//! Classic BPF: the instruction type, opcodes, validation, and programs that
//! can be attached to a socket; a [`ProgramBuilder`], an [`interp`]reter with
//! the kernel's semantics, [`disasm`] listings as tcpdump prints them, and
//! the [`expr`] compiler for tcpdump filter expressions.
//!
//! ```
//! use netring::filter::{FilterMeta, Listing, Program};
//! let p = Program::compile("ether proto 0x88b5", 96)?;
//! assert_eq!(p.listing(Listing::Decimal), "4\n40 0 0 12\n21 0 1 34997\n6 0 0 96\n6 0 0 0\n");
//! let mut frame = [0u8; 64];
//! frame[12..14].copy_from_slice(&[0x88, 0xb5]);
//! assert_eq!(p.run(&frame, &FilterMeta::for_frame(&frame)), 96);
//! # Ok::<(), netring::Error>(())
//! ```
//!
//! A [`Program`] is always valid: [`Program::new`] runs the same checks as
//! the kernel's `bpf_check_classic()` (`net/core/filter.c`), so a program
//! that constructs here attaches there. Attaching, replacing and detaching on
//! a live capture is done through
//! [`Capture::set_bpf`](crate::Capture::set_bpf) and
//! [`Capture::clear_filter`](crate::Capture::clear_filter).

mod builder;
pub mod code;
pub mod disasm;
pub mod expr;
mod insn;
pub mod interp;
mod validate;

pub use builder::{Label, ProgramBuilder};
pub use disasm::Listing;
pub use insn::Instruction;
pub use interp::FilterMeta;
pub use validate::validate;

use crate::error::{Error, Result};

/// Whether `expression` may need the netmask (`ip broadcast`): the
/// interface is looked up only then.
pub(crate) fn needs_netmask(expression: &str) -> bool {
    expression.to_ascii_lowercase().contains("broadcast")
}

/// The netmask `ip broadcast` uses on a live capture on `interface` (see
/// [`Program::compile_on`]).
pub(crate) fn netmask_of(interface: &str) -> std::net::Ipv4Addr {
    crate::interface::ipv4_netmask(interface).ok().flatten().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED)
}

/// Most instructions the kernel accepts in one program (`BPF_MAXINSNS`).
pub const MAX_INSNS: usize = 4096;
/// Scratch memory cells (`BPF_MEMWORDS`).
pub const MEM_WORDS: usize = 16;

/// A validated classic BPF program.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Program {
    insns: Vec<Instruction>,
}

impl Program {
    /// Validate `insns` as the kernel would and wrap them.
    ///
    /// # Errors
    /// [`Error::InvalidFilter`] naming the first instruction the kernel would
    /// refuse and why.
    pub fn new(insns: Vec<Instruction>) -> Result<Self> {
        validate(&insns)?;
        Ok(Self { insns })
    }

    /// Compile a tcpdump filter expression for a live AF_PACKET socket,
    /// accepting `snaplen` bytes of each matching packet (see [`expr`]).
    ///
    /// # Errors
    /// [`Error::InvalidExpression`] naming the column of the offending
    /// token; [`Error::InvalidFilter`] if the expression rejects every packet.
    pub fn compile(expression: &str, snaplen: u32) -> Result<Self> {
        expr::compile_for(expression, snaplen, expr::Target::LiveAfPacket)
    }

    /// As [`compile`](Self::compile), for a capture on `interface`:
    /// `ip broadcast` uses the netmask of its first IPv4 address, as
    /// libpcap's live programs do (0.0.0.0 if it has none or it cannot be
    /// read, as tcpdump then uses).
    ///
    /// # Errors
    /// As [`compile`](Self::compile).
    pub fn compile_on(expression: &str, snaplen: u32, interface: &str) -> Result<Self> {
        let options = expr::Options::default().target(expr::Target::LiveAfPacket).netmask(netmask_of(interface));
        expr::compile_opts(expression, snaplen, options)
    }

    /// A program that accepts every packet, truncated to `snaplen` bytes.
    pub fn accept(snaplen: u32) -> Self {
        Self { insns: vec![Instruction::stmt(code::BPF_RET | code::BPF_K, snaplen)] }
    }

    /// A program that drops every packet.
    pub fn reject() -> Self {
        Self::accept(0)
    }

    /// The instructions.
    pub fn instructions(&self) -> &[Instruction] {
        &self.insns
    }

    /// Number of instructions (never 0).
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// Run the program over `data` with `meta`, with the kernel's semantics
    /// (see [`interp`]): the accept length, 0 for a rejected packet.
    pub fn run(&self, data: &[u8], meta: &FilterMeta) -> u32 {
        interp::run(&self.insns, data, meta)
    }

    /// Whether the program accepts `data` (with `meta`).
    pub fn matches(&self, data: &[u8], meta: &FilterMeta) -> bool {
        self.run(data, meta) != 0
    }

    /// The program as `tcpdump -d`, `-dd` or `-ddd` lists it.
    pub fn listing(&self, kind: Listing) -> String {
        disasm::listing(&self.insns, kind)
    }

    /// Always false: a valid program has at least one instruction.
    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// This program, compiled for Ethernet frames, rewritten for a cooked
    /// (`SOCK_DGRAM`) socket, whose filter sees each packet from its network
    /// header — what libpcap's `fix_program` does for `any`: absolute and
    /// indexed loads at offset 14 or beyond move back by 14; the half-word
    /// EtherType load at 12 becomes the ancillary `SKF_AD_PROTOCOL`;
    /// ancillary loads stay. `len` then counts from the network header.
    ///
    /// # Errors
    /// [`Error::InvalidFilter`] if the program reads the MAC addresses (or
    /// any other link-layer byte), which a cooked socket's filter cannot see.
    pub fn for_cooked(&self) -> Result<Self> {
        use code::*;
        const ETH: u32 = 14;
        let mut insns = self.insns.clone();
        for (pc, i) in insns.iter_mut().enumerate() {
            let class = i.class();
            let mode = i.code & 0xe0;
            if !(class == BPF_LD || class == BPF_LDX) || !matches!(mode, BPF_ABS | BPF_IND | BPF_MSH) {
                continue;
            }
            if mode == BPF_ABS && i.k >= SKF_AD_OFF {
                continue;
            }
            if i.k >= ETH {
                i.k -= ETH;
            } else if mode == BPF_ABS && class == BPF_LD && i.k == 12 && i.code & 0x18 == BPF_H {
                i.k = SKF_AD_OFF + SKF_AD_PROTOCOL;
            } else {
                return Err(Error::InvalidFilter {
                    reason: format!(
                        "instruction {pc} reads byte {} of the link-layer header, which a capture on every \
                         interface (cooked, network header first) cannot see",
                        i.k
                    ),
                });
            }
        }
        Self::new(insns)
    }

    /// This program with every accept length capped at `snaplen`, so that the
    /// kernel truncates accepted packets to at most `snaplen` bytes.
    ///
    /// Under TPACKET_V3 the frame size does not limit the copy; the socket
    /// filter's return value does (as libpcap relies on). `ret #k` with
    /// `k > snaplen` becomes `ret #snaplen`; `ret a` becomes a compare that
    /// returns `min(A, snaplen)`, with jumps across it re-targeted.
    ///
    /// # Errors
    /// [`Error::InvalidFilter`] if re-targeting pushes a conditional jump past
    /// 255 instructions or the program past [`MAX_INSNS`].
    pub fn with_snaplen(&self, snaplen: u32) -> Result<Self> {
        use code::*;
        let ret_a = BPF_RET | BPF_A;
        // New index of each old instruction: each `ret a` grows by two.
        let mut new_index = Vec::with_capacity(self.insns.len() + 1);
        let mut n = 0usize;
        for insn in &self.insns {
            new_index.push(n);
            n += if insn.code == ret_a { 3 } else { 1 };
        }
        new_index.push(n);
        if n > MAX_INSNS {
            return Err(Error::InvalidFilter {
                reason: format!("capping the snap length makes the program {n} instructions long (limit {MAX_INSNS})"),
            });
        }
        let mut out = Vec::with_capacity(n);
        for (pc, insn) in self.insns.iter().enumerate() {
            let here = new_index[pc];
            let mut insn = *insn;
            // Offsets are relative to the instruction after the one at `here`.
            let retarget = |old_off: u32| -> u32 {
                let target = pc + 1 + old_off as usize;
                (new_index[target] - (here + 1)) as u32
            };
            match insn.class() {
                BPF_JMP if insn.code == BPF_JMP | BPF_JA => insn.k = retarget(insn.k),
                BPF_JMP => {
                    let (jt, jf) = (retarget(insn.jt as u32), retarget(insn.jf as u32));
                    if jt > 255 || jf > 255 {
                        return Err(Error::InvalidFilter {
                            reason: format!("instruction {pc}: jump grows past 255 when capping the snap length"),
                        });
                    }
                    insn.jt = jt as u8;
                    insn.jf = jf as u8;
                }
                BPF_RET if insn.code == BPF_RET | BPF_K => insn.k = insn.k.min(snaplen),
                BPF_RET => {
                    // if A > snaplen: ret #snaplen else: ret a
                    out.push(Instruction::jump(BPF_JMP | BPF_JGT | BPF_K, snaplen, 0, 1));
                    out.push(Instruction::stmt(BPF_RET | BPF_K, snaplen));
                }
                _ => {}
            }
            out.push(insn);
        }
        Self::new(out)
    }
}

impl AsRef<[Instruction]> for Program {
    fn as_ref(&self) -> &[Instruction] {
        &self.insns
    }
}

impl TryFrom<Vec<Instruction>> for Program {
    type Error = Error;
    fn try_from(insns: Vec<Instruction>) -> Result<Self> {
        Self::new(insns)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn cooked_programs_read_from_the_network_header() {
        // An Ethernet + IPv4 + UDP frame to port 53.
        let mut frame = vec![0u8; 60];
        frame[12..14].copy_from_slice(&[8, 0]);
        frame[14] = 0x45;
        frame[23] = 17;
        frame[36..38].copy_from_slice(&53u16.to_be_bytes());
        let eth_meta = FilterMeta::for_frame(&frame);
        let cooked_meta = FilterMeta { wire_len: 46, network_offset: 0, ..eth_meta };
        for e in ["udp port 53", "ip", "ether proto 0x0800 and udp", "len >= 20"] {
            let p = Program::compile(e, 262_144).unwrap();
            assert!(p.matches(&frame, &eth_meta), "{e}");
            assert!(p.for_cooked().unwrap().matches(&frame[14..], &cooked_meta), "{e} on the network header");
        }
        let p = Program::compile("udp port 54", 262_144).unwrap().for_cooked().unwrap();
        assert!(!p.matches(&frame[14..], &cooked_meta));
        let e = Program::compile("ether host 02:00:00:00:00:01", 262_144).unwrap().for_cooked().unwrap_err();
        assert!(e.to_string().contains("link-layer header"), "{e}");
    }
    use super::code::*;
    use super::*;

    #[test]
    fn snaplen_caps_constant_returns() {
        let p = Program::new(vec![
            Instruction::stmt(BPF_LD | BPF_H | BPF_ABS, 12),
            Instruction::jump(BPF_JMP | BPF_JEQ | BPF_K, 0x88b5, 0, 1),
            Instruction::stmt(BPF_RET | BPF_K, 262144),
            Instruction::stmt(BPF_RET | BPF_K, 0),
        ])
        .unwrap();
        let c = p.with_snaplen(100).unwrap();
        assert_eq!(c.instructions()[2], Instruction::stmt(BPF_RET | BPF_K, 100));
        assert_eq!(c.instructions()[3], Instruction::stmt(BPF_RET | BPF_K, 0));
        assert_eq!(c.len(), 4);
    }

    #[test]
    fn snaplen_caps_accumulator_returns_and_retargets_jumps() {
        // 0: ldh [12]; 1: jeq #0x800 jt 2 jf 4 (-> 2: ld len; 3: ret a) / (-> 4: ret #0)
        let p = Program::new(vec![
            Instruction::stmt(BPF_LD | BPF_H | BPF_ABS, 12),
            Instruction::jump(BPF_JMP | BPF_JEQ | BPF_K, 0x800, 0, 2),
            Instruction::stmt(BPF_LD | BPF_W | BPF_LEN, 0),
            Instruction::stmt(BPF_RET | BPF_A, 0),
            Instruction::stmt(BPF_RET | BPF_K, 0),
        ])
        .unwrap();
        let c = p.with_snaplen(64).unwrap();
        let i = c.instructions();
        assert_eq!(i.len(), 7);
        // The false branch must still reach `ret #0`, now at index 6.
        assert_eq!((i[1].jt, i[1].jf), (0, 4));
        assert_eq!(i[3], Instruction::jump(BPF_JMP | BPF_JGT | BPF_K, 64, 0, 1));
        assert_eq!(i[4], Instruction::stmt(BPF_RET | BPF_K, 64));
        assert_eq!(i[5], Instruction::stmt(BPF_RET | BPF_A, 0));
        assert_eq!(i[6], Instruction::stmt(BPF_RET | BPF_K, 0));
    }

    #[test]
    fn accept_and_reject() {
        assert_eq!(Program::accept(5).instructions(), &[Instruction::stmt(BPF_RET | BPF_K, 5)]);
        assert_eq!(Program::reject().instructions()[0].k, 0);
    }
}
