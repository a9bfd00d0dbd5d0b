//! A classic BPF interpreter with the kernel's semantics.
//!
//! What the kernel does (`bpf_convert_filter()` and the load helpers in
//! `net/core/filter.c`), and libpcap's `bpf_filter()` agrees on every point
//! that matters to a capture filter:
//!
//! - a packet load (`ld`/`ldh`/`ldb` absolute or indexed, `ldxb 4*([k]&0xf)`)
//!   that reaches past the captured bytes ends the program with **0**: the
//!   packet is rejected;
//! - division or modulo by a zero `X` ends the program with 0;
//! - `len` is the packet's length on the wire, which may exceed the captured
//!   bytes;
//! - scratch memory holds 16 words, zeroed at the start;
//! - absolute loads at `SKF_AD_OFF + n` read packet metadata (VLAN tag,
//!   packet type, interface index, protocol …) from a [`FilterMeta`], as the
//!   kernel reads them from the `sk_buff`; loads at `SKF_LL_OFF + k` and
//!   `SKF_NET_OFF + k` read relative to the link-layer and network headers.
//!
//! The return value is the accept length: 0 rejects, anything else keeps
//! `min(value, captured length)` bytes.
//!
//! The interpreter never panics and never loops: every offset is checked, a
//! jump past the end or an unknown opcode returns 0, and jumps only go
//! forward.

use super::Instruction;
use super::code::*;

/// What a classic BPF program can read about a packet besides its bytes:
/// the length on the wire and the `sk_buff` fields behind the kernel's
/// ancillary loads (`SKF_AD_*`).
///
/// [`FilterMeta::for_frame`] fills it for an Ethernet frame as a capture file
/// would hold it; [`FilterMeta::from_packet`] from a received [`Packet`](crate::Packet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FilterMeta {
    /// Length on the wire (`len`, `BPF_LEN`); at least the captured length.
    pub wire_len: u32,
    /// `skb->protocol`, host order (`SKF_AD_PROTOCOL`).
    pub protocol: u16,
    /// `skb->pkt_type` (`SKF_AD_PKTTYPE`): 0 host, 1 broadcast, 2 multicast,
    /// 3 other host, 4 outgoing.
    pub pkttype: u8,
    /// Interface index (`SKF_AD_IFINDEX`).
    pub ifindex: u32,
    /// `skb->mark` (`SKF_AD_MARK`).
    pub mark: u32,
    /// Receive queue (`SKF_AD_QUEUE`).
    pub queue: u32,
    /// Device type, `ARPHRD_*` (`SKF_AD_HATYPE`).
    pub hatype: u16,
    /// Flow hash (`SKF_AD_RXHASH`).
    pub rxhash: u32,
    /// CPU number (`SKF_AD_CPU`).
    pub cpu: u32,
    /// The VLAN TCI the kernel took out of the frame, if any
    /// (`SKF_AD_VLAN_TAG_PRESENT`, `SKF_AD_VLAN_TAG`).
    pub vlan_tci: Option<u16>,
    /// The TPID of that tag (`SKF_AD_VLAN_TPID`).
    pub vlan_tpid: u16,
    /// Payload offset (`SKF_AD_PAY_OFFSET`).
    pub payload_offset: u32,
    /// What `SKF_AD_RANDOM` returns (the kernel's is random; tests fix it).
    pub random: u32,
    /// Offset of the network header in the bytes (`SKF_NET_OFF` loads).
    pub network_offset: u32,
}

impl FilterMeta {
    /// Metadata for an Ethernet frame of `data` captured whole: the wire
    /// length is `data.len()`, the protocol the EtherType, the network header
    /// right after the 14-byte Ethernet header, no VLAN tag taken out.
    pub fn for_frame(data: &[u8]) -> Self {
        Self::for_capture(data, data.len() as u32)
    }

    /// As [`for_frame`](Self::for_frame), for `data` cut from a frame of
    /// `wire_len` bytes (a capture with a snap length).
    pub fn for_capture(data: &[u8], wire_len: u32) -> Self {
        let protocol = match data.get(12..14) {
            Some(t) => u16::from_be_bytes([t[0], t[1]]),
            None => 0,
        };
        Self { wire_len: wire_len.max(data.len() as u32), protocol, hatype: 1, network_offset: 14, ..Self::default() }
    }

    /// Metadata of a packet received from the kernel (bytes as the socket
    /// saw them, VLAN tag, direction, interface, protocol).
    pub fn from_packet(p: &crate::Packet<'_>) -> Self {
        let m = p.meta();
        Self {
            wire_len: m.original_len.max(p.len() as u32),
            protocol: m.protocol,
            pkttype: pkttype_of(m.direction),
            ifindex: m.ifindex,
            hatype: m.hatype,
            rxhash: m.rxhash,
            vlan_tci: m.vlan_tci,
            vlan_tpid: m.vlan_tpid.unwrap_or(if m.vlan_tci.is_some() { 0x8100 } else { 0 }),
            network_offset: 14,
            ..Self::default()
        }
    }

    /// The value of the ancillary load at `SKF_AD_OFF + off`, or `None`
    /// for one the kernel does not know (the program then returns 0).
    fn ancillary(&self, off: u32, a: u32, x: u32) -> Option<u32> {
        Some(match off {
            SKF_AD_PROTOCOL => self.protocol as u32,
            SKF_AD_PKTTYPE => self.pkttype as u32 & 7,
            SKF_AD_IFINDEX => self.ifindex,
            SKF_AD_MARK => self.mark,
            SKF_AD_QUEUE => self.queue,
            SKF_AD_HATYPE => self.hatype as u32,
            SKF_AD_RXHASH => self.rxhash,
            SKF_AD_CPU => self.cpu,
            SKF_AD_ALU_XOR_X => a ^ x,
            SKF_AD_VLAN_TAG => self.vlan_tci.unwrap_or(0) as u32,
            SKF_AD_VLAN_TAG_PRESENT => self.vlan_tci.is_some() as u32,
            SKF_AD_PAY_OFFSET => self.payload_offset,
            SKF_AD_RANDOM => self.random,
            SKF_AD_VLAN_TPID => self.vlan_tpid as u32,
            // Netlink attribute walks: meaningless on a packet socket.
            SKF_AD_NLATTR | SKF_AD_NLATTR_NEST => 0,
            _ => return None,
        })
    }
}

fn pkttype_of(d: crate::PacketDirection) -> u8 {
    use crate::PacketDirection::*;
    match d {
        Host => 0,
        Broadcast => 1,
        Multicast => 2,
        OtherHost => 3,
        Outgoing => 4,
        Other(t) => t,
    }
}

/// `size` bytes big-endian at `off`, or `None` past the end.
#[inline(always)]
fn load(data: &[u8], off: usize, size: u16) -> Option<u32> {
    match size {
        BPF_W => data.get(off..off.checked_add(4)?).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        BPF_H => data.get(off..off.checked_add(2)?).map(|b| u16::from_be_bytes([b[0], b[1]]) as u32),
        _ => data.get(off).map(|&b| b as u32),
    }
}

/// A packet load at the kernel's signed offset `k` (absolute, or `X + k`).
/// Negative offsets reach the link-layer and network header areas; anything
/// else negative, or past the end, fails.
#[inline(always)]
fn load_packet(data: &[u8], meta: &FilterMeta, k: i32, size: u16) -> Option<u32> {
    if k >= 0 {
        return load(data, k as usize, size);
    }
    let k = k as u32;
    if (SKF_LL_OFF..SKF_NET_OFF).contains(&k) {
        load(data, (k - SKF_LL_OFF) as usize, size)
    } else if (SKF_NET_OFF..SKF_AD_OFF).contains(&k) {
        load(data, (k - SKF_NET_OFF) as usize + meta.network_offset as usize, size)
    } else {
        None
    }
}

/// Run `insns` over `data` (the captured bytes, starting at the link-layer
/// header) and `meta`; returns the program's return value (0 = reject).
///
/// `insns` need not be valid: a jump past the end or an opcode the kernel
/// does not know returns 0 rather than panicking. Validated programs run
/// exactly as in the kernel.
pub fn run(insns: &[Instruction], data: &[u8], meta: &FilterMeta) -> u32 {
    let mut a: u32 = 0;
    let mut x: u32 = 0;
    let mut mem = [0u32; super::MEM_WORDS];
    let mut pc = 0usize;
    macro_rules! or_reject {
        ($e:expr) => {
            match $e {
                Some(v) => v,
                None => return 0,
            }
        };
    }
    loop {
        let Some(insn) = insns.get(pc) else {
            return 0;
        };
        pc += 1;
        let k = insn.k;
        match insn.code {
            // Loads into A.
            c @ (0x20 | 0x28 | 0x30) => {
                let size = c & 0x18;
                a = if k >= SKF_AD_OFF {
                    or_reject!(meta.ancillary(k - SKF_AD_OFF, a, x))
                } else {
                    or_reject!(load_packet(data, meta, k as i32, size))
                };
            }
            c @ (0x40 | 0x48 | 0x50) => {
                let off = x.wrapping_add(k) as i32;
                a = or_reject!(load_packet(data, meta, off, c & 0x18));
            }
            0x00 => a = k,                                        // ld #k
            0x60 => a = or_reject!(mem.get(k as usize).copied()), // ld M[k]
            0x80 => a = meta.wire_len,                            // ld #len
            // Loads into X.
            0x01 => x = k,
            0x61 => x = or_reject!(mem.get(k as usize).copied()),
            0x81 => x = meta.wire_len,
            0xb1 => x = 4 * (or_reject!(load_packet(data, meta, k as i32, BPF_B)) & 0xf),
            // Stores.
            0x02 => *or_reject!(mem.get_mut(k as usize)) = a,
            0x03 => *or_reject!(mem.get_mut(k as usize)) = x,
            // Transfers.
            0x87 => a = x, // txa
            0x07 => x = a, // tax
            // Returns.
            0x06 => return k,
            0x16 => return a,
            // Arithmetic.
            c if c & 0x07 == BPF_ALU => {
                let src = if c & BPF_X != 0 { x } else { k };
                a = match c & 0xf0 {
                    BPF_ADD => a.wrapping_add(src),
                    BPF_SUB => a.wrapping_sub(src),
                    BPF_MUL => a.wrapping_mul(src),
                    BPF_DIV => or_reject!(a.checked_div(src)),
                    BPF_MOD => or_reject!(a.checked_rem(src)),
                    BPF_AND => a & src,
                    BPF_OR => a | src,
                    BPF_XOR => a ^ src,
                    // The kernel masks shift counts to 5 bits (x86 semantics
                    // after conversion); constant shifts ≥ 32 never validate.
                    BPF_LSH => a.wrapping_shl(src),
                    BPF_RSH => a.wrapping_shr(src),
                    BPF_NEG if c & BPF_X == 0 => a.wrapping_neg(),
                    _ => return 0,
                };
            }
            // Jumps.
            c if c & 0x07 == BPF_JMP => {
                let op = c & 0xf0;
                if op == BPF_JA {
                    if c != BPF_JMP | BPF_JA {
                        return 0;
                    }
                    pc = or_reject!(pc.checked_add(k as usize));
                    continue;
                }
                let src = if c & BPF_X != 0 { x } else { k };
                let taken = match op {
                    BPF_JEQ => a == src,
                    BPF_JGT => a > src,
                    BPF_JGE => a >= src,
                    BPF_JSET => a & src != 0,
                    _ => return 0,
                };
                pc += if taken { insn.jt } else { insn.jf } as usize;
            }
            _ => return 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Program;
    use super::*;

    fn s(code: u16, k: u32) -> Instruction {
        Instruction::stmt(code, k)
    }
    fn j(code: u16, k: u32, jt: u8, jf: u8) -> Instruction {
        Instruction::jump(code, k, jt, jf)
    }
    const RET_A: Instruction = Instruction::stmt(BPF_RET | BPF_A, 0);

    fn frame() -> Vec<u8> {
        let mut f = vec![0u8; 60];
        f[12] = 0x08;
        f[14] = 0x45;
        f[23] = 6;
        f[34..36].copy_from_slice(&80u16.to_be_bytes());
        f
    }

    fn go(p: &[Instruction], data: &[u8]) -> u32 {
        run(p, data, &FilterMeta::for_frame(data))
    }

    #[test]
    fn loads_are_big_endian_and_fail_past_the_end() {
        let f = frame();
        assert_eq!(go(&[s(BPF_LD | BPF_H | BPF_ABS, 12), RET_A], &f), 0x0800);
        assert_eq!(go(&[s(BPF_LD | BPF_W | BPF_ABS, 12), RET_A], &f), 0x0800_4500);
        assert_eq!(go(&[s(BPF_LD | BPF_B | BPF_ABS, 59), RET_A], &f), 0);
        // One byte past the end: the program returns 0 whatever follows.
        let p = [s(BPF_LD | BPF_H | BPF_ABS, 59), s(BPF_RET | BPF_K, 99)];
        assert_eq!(go(&p, &f), 0);
        let p = [s(BPF_LD | BPF_W | BPF_ABS, 56), s(BPF_RET | BPF_K, 99)];
        assert_eq!(go(&p, &f), 99);
        let p = [s(BPF_LD | BPF_W | BPF_ABS, 57), s(BPF_RET | BPF_K, 99)];
        assert_eq!(go(&p, &f), 0);
        let p = [s(BPF_LD | BPF_W | BPF_ABS, u32::MAX - 1), s(BPF_RET | BPF_K, 99)];
        assert_eq!(go(&p, &f), 0, "a huge offset neither wraps nor panics");
    }

    #[test]
    fn indexed_loads_and_ip_header_length() {
        let f = frame();
        // ldxb 4*([14]&0xf) = 20; ldh [x + 14] = dst port bytes at 34.
        let p = [s(BPF_LDX | BPF_B | BPF_MSH, 14), s(BPF_LD | BPF_H | BPF_IND, 14), RET_A];
        assert_eq!(go(&p, &f), 80);
        let p = [s(BPF_LDX | BPF_B | BPF_MSH, 60), s(BPF_RET | BPF_K, 7)];
        assert_eq!(go(&p, &f), 0, "msh past the end rejects");
        let p = [s(BPF_LDX | BPF_IMM, u32::MAX), s(BPF_LD | BPF_B | BPF_IND, 2), s(BPF_RET | BPF_K, 7)];
        assert_eq!(go(&p, &f), 7, "X + k wraps as in the kernel: 0xffffffff + 2 = 1");
        let p = [s(BPF_LDX | BPF_IMM, 0x8000_0000), s(BPF_LD | BPF_B | BPF_IND, 0), s(BPF_RET | BPF_K, 7)];
        assert_eq!(go(&p, &f), 0, "a negative indexed offset outside the special areas fails");
    }

    #[test]
    fn len_is_the_wire_length() {
        let f = frame();
        let p = [s(BPF_LD | BPF_W | BPF_LEN, 0), RET_A];
        assert_eq!(run(&p, &f, &FilterMeta::for_capture(&f, 1514)), 1514);
        let p = [s(BPF_LDX | BPF_W | BPF_LEN, 0), s(BPF_MISC | BPF_TXA, 0), RET_A];
        assert_eq!(go(&p, &f), 60);
    }

    #[test]
    fn division_by_zero_x_returns_zero() {
        let f = frame();
        let p = [s(BPF_LD | BPF_IMM, 10), s(BPF_ALU | BPF_DIV | BPF_X, 0), s(BPF_RET | BPF_K, 5)];
        assert_eq!(go(&p, &f), 0);
        let p = [s(BPF_LD | BPF_IMM, 10), s(BPF_ALU | BPF_MOD | BPF_X, 0), s(BPF_RET | BPF_K, 5)];
        assert_eq!(go(&p, &f), 0);
        let p = [s(BPF_LD | BPF_IMM, 10), s(BPF_LDX | BPF_IMM, 3), s(BPF_ALU | BPF_MOD | BPF_X, 0), RET_A];
        assert_eq!(go(&p, &f), 1);
    }

    #[test]
    fn arithmetic_wraps() {
        let f = frame();
        let alu = |op: u16, a: u32, k: u32| go(&[s(BPF_LD | BPF_IMM, a), s(BPF_ALU | op | BPF_K, k), RET_A], &f);
        assert_eq!(alu(BPF_ADD, u32::MAX, 2), 1);
        assert_eq!(alu(BPF_SUB, 1, 2), u32::MAX);
        assert_eq!(alu(BPF_MUL, 0x8000_0000, 2), 0);
        assert_eq!(alu(BPF_DIV, 7, 2), 3);
        assert_eq!(alu(BPF_MOD, 7, 4), 3);
        assert_eq!(alu(BPF_AND, 0xff, 0x0f), 0x0f);
        assert_eq!(alu(BPF_OR, 0xf0, 0x0f), 0xff);
        assert_eq!(alu(BPF_XOR, 0xff, 0x0f), 0xf0);
        assert_eq!(alu(BPF_LSH, 1, 31), 0x8000_0000);
        assert_eq!(alu(BPF_RSH, 0x8000_0000, 31), 1);
        assert_eq!(alu(BPF_NEG, 1, 0), u32::MAX);
    }

    #[test]
    fn scratch_memory_and_transfers() {
        let f = frame();
        let p = [
            s(BPF_LD | BPF_IMM, 41),
            s(BPF_ST, 15),
            s(BPF_LDX | BPF_MEM, 15),
            s(BPF_MISC | BPF_TXA, 0),
            s(BPF_ALU | BPF_ADD | BPF_K, 1),
            s(BPF_STX, 0),
            s(BPF_LD | BPF_MEM, 15),
            s(BPF_ALU | BPF_ADD | BPF_X, 0),
            RET_A,
        ];
        assert_eq!(go(&p, &f), 82);
        assert_eq!(go(&[s(BPF_LD | BPF_MEM, 16), RET_A], &f), 0, "cell 16 does not exist");
    }

    #[test]
    fn jumps() {
        let f = frame();
        // jeq/jgt/jge/jset against k and X, and ja.
        let cmp = |op: u16, a: u32, k: u32| {
            go(
                &[
                    s(BPF_LD | BPF_IMM, a),
                    j(BPF_JMP | op | BPF_K, k, 1, 0),
                    s(BPF_RET | BPF_K, 1),
                    s(BPF_RET | BPF_K, 2),
                ],
                &f,
            )
        };
        assert_eq!(cmp(BPF_JEQ, 5, 5), 2);
        assert_eq!(cmp(BPF_JEQ, 5, 6), 1);
        assert_eq!(cmp(BPF_JGT, 6, 5), 2);
        assert_eq!(cmp(BPF_JGT, 5, 5), 1);
        assert_eq!(cmp(BPF_JGE, 5, 5), 2);
        assert_eq!(cmp(BPF_JSET, 6, 2), 2);
        assert_eq!(cmp(BPF_JSET, 4, 2), 1);
        let p = [
            s(BPF_LDX | BPF_IMM, 9),
            s(BPF_LD | BPF_IMM, 9),
            j(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1),
            s(BPF_JMP | BPF_JA, 1),
            s(BPF_RET | BPF_K, 1),
            s(BPF_RET | BPF_K, 2),
        ];
        assert_eq!(go(&p, &f), 2);
        assert_eq!(go(&[s(BPF_JMP | BPF_JA, 5), s(BPF_RET | BPF_K, 1)], &f), 0, "past the end");
        assert_eq!(go(&[s(0xff, 0)], &f), 0, "unknown opcode");
        assert_eq!(go(&[], &f), 0);
    }

    #[test]
    fn ancillary_loads_read_the_metadata() {
        let f = frame();
        let meta = FilterMeta {
            vlan_tci: Some(0x2005),
            vlan_tpid: 0x88a8,
            pkttype: 3,
            ifindex: 7,
            ..FilterMeta::for_frame(&f)
        };
        let anc = |off: u32, size: u16| run(&[s(BPF_LD | size | BPF_ABS, SKF_AD_OFF + off), RET_A], &f, &meta);
        assert_eq!(anc(SKF_AD_VLAN_TAG_PRESENT, BPF_B), 1);
        assert_eq!(anc(SKF_AD_VLAN_TAG, BPF_H), 0x2005);
        assert_eq!(anc(SKF_AD_VLAN_TPID, BPF_H), 0x88a8);
        assert_eq!(anc(SKF_AD_PKTTYPE, BPF_B), 3);
        assert_eq!(anc(SKF_AD_IFINDEX, BPF_W), 7);
        assert_eq!(anc(SKF_AD_PROTOCOL, BPF_H), 0x0800);
        // The kernel ignores the load size for ancillary data.
        assert_eq!(anc(SKF_AD_PROTOCOL, BPF_B), 0x0800);
        assert_eq!(anc(SKF_AD_MAX, BPF_W), 0, "unknown ancillary offset rejects");
        let untagged = FilterMeta::for_frame(&f);
        assert_eq!(run(&[s(0x30, SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT), RET_A], &f, &untagged), 0);
        // Link-layer and network-relative loads.
        assert_eq!(run(&[s(BPF_LD | BPF_H | BPF_ABS, SKF_LL_OFF + 12), RET_A], &f, &meta), 0x0800);
        assert_eq!(run(&[s(BPF_LD | BPF_B | BPF_ABS, SKF_NET_OFF + 9), RET_A], &f, &meta), 6);
    }

    #[test]
    fn programs_run_as_validated() {
        let p = Program::accept(96);
        assert_eq!(run(p.instructions(), &frame(), &FilterMeta::default()), 96);
    }
}
