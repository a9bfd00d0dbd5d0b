//! Per-frame RX metadata written by the built-in XDP program in front of
//! each frame it redirects to an AF_XDP socket: the layout ([`XdpRxMeta`]),
//! the XDP metadata kfuncs it may call ([`RxKfuncs`]), and the instructions
//! that fill it.
//!
//! Two placements ([`XdpRxMetaPlacement`]):
//!
//! * [`BeforeData`](XdpRxMetaPlacement::BeforeData): the program calls
//!   `bpf_xdp_adjust_meta(ctx, -32)` to reserve 32 bytes in front of the
//!   packet (the kernel's `Documentation/networking/xdp-rx-metadata.rst`:
//!   `| headroom | custom metadata | data |`). The copy into the UMEM keeps
//!   them (copy mode copies `data_meta..data_end`; zero-copy writes the
//!   UMEM in place), so user space finds them in the 32 bytes right before
//!   the frame's address in the RX descriptor.
//! * [`Prefix`](XdpRxMetaPlacement::Prefix), where the kernel refuses
//!   `bpf_xdp_adjust_meta` to XDP programs (some builds do):
//!   `bpf_xdp_adjust_head(ctx, -32)` grows the frame at the front and the
//!   area becomes its first 32 bytes; the RX descriptor covers them and
//!   user space steps over them. A frame the program cannot grow is passed
//!   to the kernel's stack rather than delivered without its area, and a
//!   frame no socket takes is shrunk back before it is passed on.

use std::sync::OnceLock;

use super::btf::Btf;
use super::{Asm, Insn, Reg, helper, op};

/// Marks a metadata area the built-in program wrote ([`XdpRxMeta::magic`]):
/// `"NR"`.
pub const XDP_RX_META_MAGIC: u16 = 0x4e52;

bitflags::bitflags! {
    /// Which fields of an [`XdpRxMeta`] hold values.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct XdpRxMetaFlags: u16 {
        /// [`XdpRxMeta::program_time`]: `bpf_ktime_get_tai_ns()` in the program.
        const PROGRAM_TIME = 1 << 0;
        /// [`XdpRxMeta::device_time`]: `bpf_xdp_metadata_rx_timestamp` succeeded
        /// with a non-zero time.
        const DEVICE_TIME = 1 << 1;
        /// [`XdpRxMeta::rx_hash`] and [`XdpRxMeta::rx_hash_type`]:
        /// `bpf_xdp_metadata_rx_hash` succeeded.
        const RX_HASH = 1 << 2;
        /// [`XdpRxMeta::vlan_tci`] and [`XdpRxMeta::vlan_proto`]:
        /// `bpf_xdp_metadata_rx_vlan_tag` succeeded (the device took the tag
        /// off the frame).
        const VLAN = 1 << 3;
    }
}

/// Where the metadata area lies relative to the frame the socket receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XdpRxMetaPlacement {
    /// In the XDP metadata area, the 32 bytes before the frame
    /// (`bpf_xdp_adjust_meta`).
    BeforeData,
    /// The first 32 bytes of what the RX descriptor covers, before the
    /// frame's own bytes (`bpf_xdp_adjust_head`).
    Prefix,
}

/// The 32 bytes the built-in XDP program writes in front of each frame it
/// redirects (native byte order, except [`vlan_proto`](Self::vlan_proto)).
///
/// A program of your own (see
/// [`XdpSocketBuilder::builtin_program`](crate::XdpSocketBuilder::builtin_program))
/// that reserves the same area (`bpf_xdp_adjust_meta(ctx, -32)`, or a
/// prefix) and fills it this way gets the same
/// [`XdpPacket`](crate::afxdp::XdpPacket) accessors once the socket is told
/// ([`XdpSocketBuilder::own_program_rx_metadata`](crate::XdpSocketBuilder::own_program_rx_metadata)):
/// set [`magic`](Self::magic) to [`XDP_RX_META_MAGIC`] and the
/// [`flags`](Self::flags) of the fields written.
///
/// ```c
/// struct netring_xdp_rx_meta {      /* ends where the packet starts */
///     __u64 device_time;            /* bpf_xdp_metadata_rx_timestamp */
///     __u64 program_time;           /* bpf_ktime_get_tai_ns (CLOCK_TAI) */
///     __u32 rx_hash;                /* bpf_xdp_metadata_rx_hash */
///     __u32 rx_hash_type;           /* enum xdp_rss_hash_type */
///     __u16 vlan_tci;               /* bpf_xdp_metadata_rx_vlan_tag */
///     __be16 vlan_proto;
///     __u16 flags;                  /* XdpRxMetaFlags */
///     __u16 magic;                  /* 0x4e52 */
/// };
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct XdpRxMeta {
    /// The device's receive time in nanoseconds of its own clock (a NIC's
    /// PTP hardware clock, raw), when [`XdpRxMetaFlags::DEVICE_TIME`].
    pub device_time: u64,
    /// `CLOCK_TAI` nanoseconds when the program ran, when
    /// [`XdpRxMetaFlags::PROGRAM_TIME`].
    pub program_time: u64,
    /// The flow hash the device computed.
    pub rx_hash: u32,
    /// What the hash covers (`enum xdp_rss_hash_type`: L3/L4 and IPv4/IPv6 bits).
    pub rx_hash_type: u32,
    /// The VLAN tag control information (priority, DEI, VLAN id).
    pub vlan_tci: u16,
    /// The VLAN TPID (0x8100, 0x88a8), **network byte order** as the kfunc
    /// writes it.
    pub vlan_proto: u16,
    /// [`XdpRxMetaFlags`] bits.
    pub flags: u16,
    /// [`XDP_RX_META_MAGIC`] when the area was written.
    pub magic: u16,
}

const _: () = {
    assert!(size_of::<XdpRxMeta>() == 32);
    assert!(std::mem::offset_of!(XdpRxMeta, rx_hash) == 16);
    assert!(std::mem::offset_of!(XdpRxMeta, vlan_tci) == 24);
    assert!(std::mem::offset_of!(XdpRxMeta, flags) == 28);
    assert!(std::mem::offset_of!(XdpRxMeta, magic) == 30);
};

impl XdpRxMeta {
    /// Bytes the area takes in front of the frame.
    pub const LEN: usize = 32;

    /// The area from the 32 bytes before a frame, if the program wrote it
    /// (magic, and no flag bit this version does not know).
    pub fn parse(b: &[u8]) -> Option<Self> {
        let b: &[u8; 32] = b.get(..Self::LEN)?.try_into().ok()?;
        let u16_at = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at =
            |i: usize| u64::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3], b[i + 4], b[i + 5], b[i + 6], b[i + 7]]);
        let m = Self {
            device_time: u64_at(0),
            program_time: u64_at(8),
            rx_hash: u32_at(16),
            rx_hash_type: u32_at(20),
            vlan_tci: u16_at(24),
            vlan_proto: u16_at(26),
            flags: u16_at(28),
            magic: u16_at(30),
        };
        (m.magic == XDP_RX_META_MAGIC && XdpRxMetaFlags::from_bits(m.flags).is_some()).then_some(m)
    }

    /// The valid fields.
    pub fn valid(&self) -> XdpRxMetaFlags {
        XdpRxMetaFlags::from_bits_truncate(self.flags)
    }

    /// The 32 bytes, as the program writes them (for tests and programs of
    /// one's own).
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[0..8].copy_from_slice(&self.device_time.to_ne_bytes());
        b[8..16].copy_from_slice(&self.program_time.to_ne_bytes());
        b[16..20].copy_from_slice(&self.rx_hash.to_ne_bytes());
        b[20..24].copy_from_slice(&self.rx_hash_type.to_ne_bytes());
        b[24..26].copy_from_slice(&self.vlan_tci.to_ne_bytes());
        b[26..28].copy_from_slice(&self.vlan_proto.to_ne_bytes());
        b[28..30].copy_from_slice(&self.flags.to_ne_bytes());
        b[30..32].copy_from_slice(&self.magic.to_ne_bytes());
        b
    }
}

/// The XDP metadata kfuncs this kernel has, by BTF type id (`None`: the
/// kernel lacks it, or has no BTF).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RxKfuncs {
    /// `bpf_xdp_metadata_rx_timestamp` (Linux 6.3).
    pub timestamp: Option<u32>,
    /// `bpf_xdp_metadata_rx_hash` (Linux 6.3).
    pub hash: Option<u32>,
    /// `bpf_xdp_metadata_rx_vlan_tag` (Linux 6.8).
    pub vlan: Option<u32>,
}

impl RxKfuncs {
    /// The kfuncs' names, in field order.
    pub const NAMES: [&'static str; 3] =
        ["bpf_xdp_metadata_rx_timestamp", "bpf_xdp_metadata_rx_hash", "bpf_xdp_metadata_rx_vlan_tag"];

    /// Look them up in `btf`.
    pub fn from_btf(btf: &Btf) -> Self {
        let [timestamp, hash, vlan] = btf.func_ids(Self::NAMES);
        Self { timestamp, hash, vlan }
    }

    /// Look them up in the running kernel's BTF (read once per process;
    /// none when it has no BTF).
    pub fn running_kernel() -> Self {
        // Miri interprets every byte: walking the kernel's multi-megabyte
        // BTF would take hours, and its tests run on the fake kernel, which
        // offers no kfuncs anyway.
        if cfg!(miri) {
            return Self::default();
        }
        static FOUND: OnceLock<RxKfuncs> = OnceLock::new();
        *FOUND.get_or_init(|| match Btf::vmlinux() {
            Ok(btf) => Self::from_btf(&btf),
            Err(e) => {
                tracing::info!("no XDP metadata kfuncs: {e}");
                Self::default()
            }
        })
    }

    /// Those of them that fill `fields` (the others `None`).
    pub fn only(self, fields: XdpRxMetaFlags) -> Self {
        let keep = |id: Option<u32>, f: XdpRxMetaFlags| id.filter(|_| fields.contains(f));
        Self {
            timestamp: keep(self.timestamp, XdpRxMetaFlags::DEVICE_TIME),
            hash: keep(self.hash, XdpRxMetaFlags::RX_HASH),
            vlan: keep(self.vlan, XdpRxMetaFlags::VLAN),
        }
    }

    /// Whether any is known.
    pub fn any(&self) -> bool {
        self.timestamp.is_some() || self.hash.is_some() || self.vlan.is_some()
    }
}

// Stack slots of the kfuncs' results (below the frame pointer).
const SLOT_TIME: i16 = -8;
const SLOT_HASH: i16 = -16;
const SLOT_HASH_TYPE: i16 = -12;
const SLOT_VLAN_PROTO: i16 = -24;
const SLOT_VLAN_TCI: i16 = -22;

/// Instructions that fill the metadata area, with the context in `r6`;
/// clobbers `r0`–`r5`, `r7`, `r8` and 24 bytes of stack. Calls the kfuncs
/// of `kfuncs` (the program must then be loaded device-bound), takes the
/// program time, reserves the area and writes it. Then falls through,
/// with packet pointers invalidated. [`BeforeData`](XdpRxMetaPlacement::BeforeData):
/// a refused `bpf_xdp_adjust_meta` leaves the frame without an area and
/// falls through too; [`Prefix`](XdpRxMetaPlacement::Prefix): a frame that
/// cannot be grown jumps to `pass` (to be passed on untouched).
pub(crate) fn emit(a: &mut Asm, kfuncs: &RxKfuncs, placement: XdpRxMetaPlacement, pass: super::EbpfLabel) {
    let len = XdpRxMeta::LEN as i32;
    a.push([
        Insn::call(helper::KTIME_GET_TAI_NS),
        Insn::mov64_reg(Reg::R8, Reg::R0),
        Insn::mov64_imm(Reg::R7, i32::from(XdpRxMetaFlags::PROGRAM_TIME.bits())),
        Insn::st_mem(op::DW, Reg::R10, SLOT_TIME, 0),
        Insn::st_mem(op::DW, Reg::R10, SLOT_HASH, 0),
        Insn::st_mem(op::DW, Reg::R10, SLOT_VLAN_PROTO, 0),
    ]);
    let stack_arg = |r: Reg, off: i16| [Insn::mov64_reg(r, Reg::R10), Insn::alu64_imm(op::ADD, r, i32::from(off))];
    let calls: [(Option<u32>, [i16; 2], XdpRxMetaFlags); 3] = [
        (kfuncs.timestamp, [SLOT_TIME, 0], XdpRxMetaFlags::DEVICE_TIME),
        (kfuncs.hash, [SLOT_HASH, SLOT_HASH_TYPE], XdpRxMetaFlags::RX_HASH),
        (kfuncs.vlan, [SLOT_VLAN_PROTO, SLOT_VLAN_TCI], XdpRxMetaFlags::VLAN),
    ];
    for (id, [s1, s2], flag) in calls {
        let Some(id) = id else { continue };
        let skip = a.label();
        a.push([Insn::mov64_reg(Reg::R1, Reg::R6)]);
        a.push(stack_arg(Reg::R2, s1));
        if s2 != 0 {
            a.push(stack_arg(Reg::R3, s2));
        }
        a.push([Insn::kfunc_call(id)]);
        a.jump_imm(op::JNE, Reg::R0, 0, skip);
        if flag == XdpRxMetaFlags::DEVICE_TIME {
            // A device without a time for this frame may still say 0.
            a.push([Insn::ldx_mem(op::DW, Reg::R1, Reg::R10, SLOT_TIME)]);
            a.jump_imm(op::JEQ, Reg::R1, 0, skip);
        }
        a.push([Insn::alu64_imm(op::OR, Reg::R7, i32::from(flag.bits()))]);
        a.bind(skip);
    }
    let done = a.label();
    let (adjust, start, end, refused) = match placement {
        // r2 = data_meta, r3 = data; the verifier wants meta + 32 <= data seen.
        XdpRxMetaPlacement::BeforeData => (helper::XDP_ADJUST_META, XDP_MD_DATA_META, XDP_MD_DATA, done),
        // r2 = data, r3 = data_end.
        XdpRxMetaPlacement::Prefix => (helper::XDP_ADJUST_HEAD, XDP_MD_DATA, XDP_MD_DATA_END, pass),
    };
    a.push([Insn::mov64_reg(Reg::R1, Reg::R6), Insn::mov64_imm(Reg::R2, -len), Insn::call(adjust)]);
    a.jump_imm(op::JNE, Reg::R0, 0, refused);
    a.push([
        Insn::ldx_mem(op::W, Reg::R2, Reg::R6, start),
        Insn::ldx_mem(op::W, Reg::R3, Reg::R6, end),
        Insn::mov64_reg(Reg::R4, Reg::R2),
        Insn::alu64_imm(op::ADD, Reg::R4, len),
    ]);
    a.jump(Insn::jmp_reg(op::JGT, Reg::R4, Reg::R3, 0), refused);
    a.push([
        Insn::ldx_mem(op::DW, Reg::R5, Reg::R10, SLOT_TIME),
        Insn::stx_mem(op::DW, Reg::R2, Reg::R5, 0),
        Insn::stx_mem(op::DW, Reg::R2, Reg::R8, 8),
        Insn::ldx_mem(op::W, Reg::R5, Reg::R10, SLOT_HASH),
        Insn::stx_mem(op::W, Reg::R2, Reg::R5, 16),
        Insn::ldx_mem(op::W, Reg::R5, Reg::R10, SLOT_HASH_TYPE),
        Insn::stx_mem(op::W, Reg::R2, Reg::R5, 20),
        Insn::ldx_mem(op::H, Reg::R5, Reg::R10, SLOT_VLAN_TCI),
        Insn::stx_mem(op::H, Reg::R2, Reg::R5, 24),
        Insn::ldx_mem(op::H, Reg::R5, Reg::R10, SLOT_VLAN_PROTO),
        Insn::stx_mem(op::H, Reg::R2, Reg::R5, 26),
        Insn::stx_mem(op::H, Reg::R2, Reg::R7, 28),
        Insn::st_mem(op::H, Reg::R2, 30, i32::from(XDP_RX_META_MAGIC)),
    ]);
    a.bind(done);
}

/// Offset of `data` in `struct xdp_md`.
const XDP_MD_DATA: i16 = 0;
/// Offset of `data_end` in `struct xdp_md`.
const XDP_MD_DATA_END: i16 = 4;
/// Offset of `data_meta` in `struct xdp_md`.
const XDP_MD_DATA_META: i16 = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_need_the_magic() {
        let m = XdpRxMeta {
            device_time: 0x0102_0304_0506_0708,
            program_time: 1_700_000_000_123_456_789,
            rx_hash: 0xdead_beef,
            rx_hash_type: 0x12,
            vlan_tci: 0x2005,
            vlan_proto: 0x8100u16.to_be(),
            flags: (XdpRxMetaFlags::PROGRAM_TIME | XdpRxMetaFlags::VLAN).bits(),
            magic: XDP_RX_META_MAGIC,
        };
        let b = m.to_bytes();
        assert_eq!(XdpRxMeta::parse(&b), Some(m));
        assert_eq!(&b[30..32], &XDP_RX_META_MAGIC.to_ne_bytes());
        assert_eq!(XdpRxMeta::parse(&b).unwrap().valid(), XdpRxMetaFlags::PROGRAM_TIME | XdpRxMetaFlags::VLAN);
        let mut stale = b;
        stale[31] ^= 1;
        assert_eq!(XdpRxMeta::parse(&stale), None, "no magic");
        let mut odd = b;
        odd[28..30].copy_from_slice(&0x100u16.to_ne_bytes());
        assert_eq!(XdpRxMeta::parse(&odd), None, "unknown flag");
        assert_eq!(XdpRxMeta::parse(&b[..31]), None);
    }

    #[test]
    fn the_program_calls_only_the_kfuncs_it_has() {
        let count = |k: &RxKfuncs| {
            let mut a = Asm::new();
            let pass = a.label();
            emit(&mut a, k, XdpRxMetaPlacement::BeforeData, pass);
            a.bind(pass);
            let p = a.finish().unwrap();
            assert_eq!(p[0], Insn::call(helper::KTIME_GET_TAI_NS));
            assert_eq!(p.last().unwrap(), &Insn::st_mem(op::H, Reg::R2, 30, i32::from(XDP_RX_META_MAGIC)));
            p.iter()
                .filter(|i| i.src == op::PSEUDO_KFUNC_CALL && i.code == op::JMP | op::CALL)
                .map(|i| i.imm)
                .collect::<Vec<_>>()
        };
        assert!(count(&RxKfuncs::default()).is_empty());
        assert_eq!(count(&RxKfuncs { timestamp: Some(7), hash: Some(9), vlan: Some(11) }), [7, 9, 11]);
        assert_eq!(count(&RxKfuncs { hash: Some(9), ..RxKfuncs::default() }), [9]);
        let all = RxKfuncs { timestamp: Some(7), hash: Some(9), vlan: Some(11) };
        let no_hash = all.only(XdpRxMetaFlags::PROGRAM_TIME | XdpRxMetaFlags::DEVICE_TIME | XdpRxMetaFlags::VLAN);
        assert_eq!(count(&no_hash), [7, 11]);
        assert_eq!(count(&all.only(XdpRxMetaFlags::RX_HASH)), [9]);
        assert_eq!(all.only(XdpRxMetaFlags::all()), all);
    }
}
