//! Classic BPF opcode parts and ancillary offsets, as `linux/filter.h` and
//! `linux/bpf_common.h` name them.

// Instruction classes.
/// Load into A.
pub const BPF_LD: u16 = 0x00;
/// Load into X.
pub const BPF_LDX: u16 = 0x01;
/// Store A to scratch memory.
pub const BPF_ST: u16 = 0x02;
/// Store X to scratch memory.
pub const BPF_STX: u16 = 0x03;
/// Arithmetic on A.
pub const BPF_ALU: u16 = 0x04;
/// Jumps.
pub const BPF_JMP: u16 = 0x05;
/// Return.
pub const BPF_RET: u16 = 0x06;
/// Register transfers.
pub const BPF_MISC: u16 = 0x07;

// Load sizes.
/// 32-bit word.
pub const BPF_W: u16 = 0x00;
/// 16-bit half word.
pub const BPF_H: u16 = 0x08;
/// Byte.
pub const BPF_B: u16 = 0x10;

// Load modes.
/// Immediate.
pub const BPF_IMM: u16 = 0x00;
/// Packet at absolute offset k.
pub const BPF_ABS: u16 = 0x20;
/// Packet at X + k.
pub const BPF_IND: u16 = 0x40;
/// Scratch memory cell k.
pub const BPF_MEM: u16 = 0x60;
/// Packet length.
pub const BPF_LEN: u16 = 0x80;
/// `4 * (P[k] & 0xf)` (IP header length).
pub const BPF_MSH: u16 = 0xa0;

// ALU operations.
/// A + src
pub const BPF_ADD: u16 = 0x00;
/// A - src
pub const BPF_SUB: u16 = 0x10;
/// A * src
pub const BPF_MUL: u16 = 0x20;
/// A / src
pub const BPF_DIV: u16 = 0x30;
/// A | src
pub const BPF_OR: u16 = 0x40;
/// A & src
pub const BPF_AND: u16 = 0x50;
/// A << src
pub const BPF_LSH: u16 = 0x60;
/// A >> src
pub const BPF_RSH: u16 = 0x70;
/// -A
pub const BPF_NEG: u16 = 0x80;
/// A % src
pub const BPF_MOD: u16 = 0x90;
/// A ^ src
pub const BPF_XOR: u16 = 0xa0;

// Jump operations.
/// Unconditional jump by k.
pub const BPF_JA: u16 = 0x00;
/// Jump if A == src.
pub const BPF_JEQ: u16 = 0x10;
/// Jump if A > src.
pub const BPF_JGT: u16 = 0x20;
/// Jump if A >= src.
pub const BPF_JGE: u16 = 0x30;
/// Jump if A & src != 0.
pub const BPF_JSET: u16 = 0x40;

// Sources.
/// Source is the constant k.
pub const BPF_K: u16 = 0x00;
/// Source is X.
pub const BPF_X: u16 = 0x08;
/// Return value is A (`BPF_RET` only).
pub const BPF_A: u16 = 0x10;

// Misc operations.
/// X = A
pub const BPF_TAX: u16 = 0x00;
/// A = X
pub const BPF_TXA: u16 = 0x80;

/// Start of ancillary data offsets (`SKF_AD_OFF`, i.e. -0x1000).
pub const SKF_AD_OFF: u32 = 0xffff_f000;
/// Offsets relative to the network header (`SKF_NET_OFF`, -0x100000).
pub const SKF_NET_OFF: u32 = 0xfff0_0000;
/// Offsets relative to the link-layer header (`SKF_LL_OFF`, -0x200000).
pub const SKF_LL_OFF: u32 = 0xffe0_0000;

/// Ancillary: `skb->protocol`.
pub const SKF_AD_PROTOCOL: u32 = 0;
/// Ancillary: `skb->pkt_type` (packet direction).
pub const SKF_AD_PKTTYPE: u32 = 4;
/// Ancillary: interface index.
pub const SKF_AD_IFINDEX: u32 = 8;
/// Ancillary: netlink attribute.
pub const SKF_AD_NLATTR: u32 = 12;
/// Ancillary: nested netlink attribute.
pub const SKF_AD_NLATTR_NEST: u32 = 16;
/// Ancillary: `skb->mark`.
pub const SKF_AD_MARK: u32 = 20;
/// Ancillary: queue mapping.
pub const SKF_AD_QUEUE: u32 = 24;
/// Ancillary: device type.
pub const SKF_AD_HATYPE: u32 = 28;
/// Ancillary: flow hash.
pub const SKF_AD_RXHASH: u32 = 32;
/// Ancillary: current CPU.
pub const SKF_AD_CPU: u32 = 36;
/// Ancillary: A ^= X.
pub const SKF_AD_ALU_XOR_X: u32 = 40;
/// Ancillary: VLAN TCI.
pub const SKF_AD_VLAN_TAG: u32 = 44;
/// Ancillary: whether a VLAN tag is present.
pub const SKF_AD_VLAN_TAG_PRESENT: u32 = 48;
/// Ancillary: payload offset.
pub const SKF_AD_PAY_OFFSET: u32 = 52;
/// Ancillary: random number.
pub const SKF_AD_RANDOM: u32 = 56;
/// Ancillary: VLAN TPID.
pub const SKF_AD_VLAN_TPID: u32 = 60;
/// One past the last ancillary offset (`SKF_AD_MAX`).
pub const SKF_AD_MAX: u32 = 64;
