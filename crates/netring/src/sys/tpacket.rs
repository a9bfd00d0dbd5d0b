//! TPACKET (AF_PACKET ring) structures and constants, in the kernel's spelling.
//!
//! Source of truth: `include/uapi/linux/if_packet.h` and
//! `Documentation/networking/packet_mmap.rst`. Layouts are asserted against
//! the kernel's sizes and offsets below and against the `libc` crate's
//! definitions in the tests.

#![allow(dead_code, reason = "the kernel's table in full; later layers use more of it")]

use std::mem::{offset_of, size_of};

// ---- the socket family and option levels ----
/// `AF_PACKET`
pub const AF_PACKET: i32 = libc::AF_PACKET;
/// `SOL_PACKET`: the level of the `PACKET_*` options.
pub const SOL_PACKET: i32 = libc::SOL_PACKET;
/// `SOL_SOCKET`
pub const SOL_SOCKET: i32 = libc::SOL_SOCKET;
/// `SO_ATTACH_FILTER`: a classic BPF program (`struct sock_fprog`).
pub const SO_ATTACH_FILTER: i32 = libc::SO_ATTACH_FILTER;
/// `SO_DETACH_FILTER`
pub const SO_DETACH_FILTER: i32 = libc::SO_DETACH_FILTER;
/// `SO_ATTACH_BPF`: an eBPF socket filter by descriptor.
pub const SO_ATTACH_BPF: i32 = libc::SO_ATTACH_BPF;
/// `SO_TIMESTAMPING`
pub const SO_TIMESTAMPING: i32 = libc::SO_TIMESTAMPING;

// ---- socket options (SOL_PACKET) ----
/// `PACKET_ADD_MEMBERSHIP`
pub const PACKET_ADD_MEMBERSHIP: i32 = 1;
/// `PACKET_DROP_MEMBERSHIP`
pub const PACKET_DROP_MEMBERSHIP: i32 = 2;
/// `PACKET_RX_RING`
pub const PACKET_RX_RING: i32 = 5;
/// `PACKET_STATISTICS`
pub const PACKET_STATISTICS: i32 = 6;
/// `PACKET_VERSION`
pub const PACKET_VERSION: i32 = 10;
/// `PACKET_HDRLEN`
pub const PACKET_HDRLEN: i32 = 11;
/// `PACKET_RESERVE`
pub const PACKET_RESERVE: i32 = 12;
/// `PACKET_TX_RING`
pub const PACKET_TX_RING: i32 = 13;
/// `PACKET_LOSS`
pub const PACKET_LOSS: i32 = 14;
/// `PACKET_TIMESTAMP`
pub const PACKET_TIMESTAMP: i32 = 17;
/// `PACKET_FANOUT`
pub const PACKET_FANOUT: i32 = 18;
/// Members of one fanout group joined with the 32-bit `PACKET_FANOUT`
/// option: `fanout_add()` takes `max_num_members = 256` ("legacy
/// PACKET_FANOUT_MAX") when no `struct fanout_args` gives more, and the
/// 257th socket gets `ENOSPC`. (`PACKET_FANOUT_MAX`, 65536, bounds only
/// the `fanout_args` form.)
pub const PACKET_FANOUT_LEGACY_MAX: usize = 256;
/// `PACKET_FANOUT_DATA` (Linux 4.5)
pub const PACKET_FANOUT_DATA: i32 = 22;

// ---- fanout modes and flags (PACKET_FANOUT, high 16 bits) ----
/// `PACKET_FANOUT_HASH`
pub const PACKET_FANOUT_HASH: u16 = 0;
/// `PACKET_FANOUT_LB`
pub const PACKET_FANOUT_LB: u16 = 1;
/// `PACKET_FANOUT_CPU`
pub const PACKET_FANOUT_CPU: u16 = 2;
/// `PACKET_FANOUT_ROLLOVER`
pub const PACKET_FANOUT_ROLLOVER: u16 = 3;
/// `PACKET_FANOUT_RND`
pub const PACKET_FANOUT_RND: u16 = 4;
/// `PACKET_FANOUT_QM`
pub const PACKET_FANOUT_QM: u16 = 5;
/// `PACKET_FANOUT_CBPF`
pub const PACKET_FANOUT_CBPF: u16 = 6;
/// `PACKET_FANOUT_EBPF`
pub const PACKET_FANOUT_EBPF: u16 = 7;
/// `PACKET_FANOUT_FLAG_ROLLOVER`
pub const PACKET_FANOUT_FLAG_ROLLOVER: u16 = 0x1000;
/// `PACKET_FANOUT_FLAG_UNIQUEID`
pub const PACKET_FANOUT_FLAG_UNIQUEID: u16 = 0x2000;
/// `PACKET_FANOUT_FLAG_IGNORE_OUTGOING`
pub const PACKET_FANOUT_FLAG_IGNORE_OUTGOING: u16 = 0x4000;
/// `PACKET_FANOUT_FLAG_DEFRAG`
pub const PACKET_FANOUT_FLAG_DEFRAG: u16 = 0x8000;
/// `PACKET_QDISC_BYPASS`
pub const PACKET_QDISC_BYPASS: i32 = 20;
/// `PACKET_IGNORE_OUTGOING` (Linux 4.20)
pub const PACKET_IGNORE_OUTGOING: i32 = 23;

/// `PACKET_MR_PROMISC` (membership type)
pub const PACKET_MR_PROMISC: u16 = 1;

/// `enum tpacket_versions`: `TPACKET_V3`
pub const TPACKET_V3: i32 = 2;
/// `enum tpacket_versions`: `TPACKET_V2`
pub const TPACKET_V2: i32 = 1;
/// `enum tpacket_versions`: `TPACKET_V1`
pub const TPACKET_V1: i32 = 0;

// ---- frame status (tp_status), RX direction ----
/// Frame/block owned by the kernel.
pub const TP_STATUS_KERNEL: u32 = 0;
/// Frame/block owned by user space.
pub const TP_STATUS_USER: u32 = 1 << 0;
/// Frame was truncated by `tp_frame_size` (V1/V2 copy path).
pub const TP_STATUS_COPY: u32 = 1 << 1;
/// Packets were dropped since the last frame/block with this flag.
pub const TP_STATUS_LOSING: u32 = 1 << 2;
/// Checksum not yet computed (outgoing / offloaded).
pub const TP_STATUS_CSUMNOTREADY: u32 = 1 << 3;
/// `tp_vlan_tci` is valid.
pub const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
/// Block was retired by the timer (V3 block status).
pub const TP_STATUS_BLK_TMO: u32 = 1 << 5;
/// `tp_vlan_tpid` is valid.
pub const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
/// Checksum validated by hardware / stack.
pub const TP_STATUS_CSUM_VALID: u32 = 1 << 7;
/// GSO TCP packet.
pub const TP_STATUS_GSO_TCP: u32 = 1 << 8;
/// Timestamp taken in software.
pub const TP_STATUS_TS_SOFTWARE: u32 = 1 << 29;
/// Timestamp from hardware, transformed to system time (deprecated).
pub const TP_STATUS_TS_SYS_HARDWARE: u32 = 1 << 30;
/// Timestamp from the hardware clock.
pub const TP_STATUS_TS_RAW_HARDWARE: u32 = 1 << 31;

// ---- frame status, TX direction ----
/// TX: frame available to user space.
pub const TP_STATUS_AVAILABLE: u32 = 0;
/// TX: user space asks the kernel to send this frame.
pub const TP_STATUS_SEND_REQUEST: u32 = 1 << 0;
/// TX: the kernel is sending this frame.
pub const TP_STATUS_SENDING: u32 = 1 << 1;
/// TX: the kernel rejected this frame (only with `PACKET_LOSS` off).
pub const TP_STATUS_WRONG_FORMAT: u32 = 1 << 2;

/// `tp_feature_req_word`: fill `tp_rxhash`.
pub const TP_FT_REQ_FILL_RXHASH: u32 = 1;

// ---- time stamping (include/uapi/linux/net_tstamp.h) ----
/// `SOF_TIMESTAMPING_RX_HARDWARE`: ask the device to stamp on receive.
pub const SOF_TIMESTAMPING_RX_HARDWARE: u32 = 1 << 2;
/// `SOF_TIMESTAMPING_RX_SOFTWARE`: stamp on receive in the kernel.
pub const SOF_TIMESTAMPING_RX_SOFTWARE: u32 = 1 << 3;
/// `SOF_TIMESTAMPING_SOFTWARE`: report software stamps.
pub const SOF_TIMESTAMPING_SOFTWARE: u32 = 1 << 4;
/// `SOF_TIMESTAMPING_RAW_HARDWARE`: report the device clock's stamps.
pub const SOF_TIMESTAMPING_RAW_HARDWARE: u32 = 1 << 6;

/// `TPACKET_ALIGNMENT`
pub const TPACKET_ALIGNMENT: usize = 16;

/// `TPACKET_ALIGN(x)`
pub const fn tpacket_align(x: usize) -> usize {
    (x + TPACKET_ALIGNMENT - 1) & !(TPACKET_ALIGNMENT - 1)
}

/// `struct tpacket_req3`: ring geometry for `PACKET_RX_RING` under V3.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct tpacket_req3 {
    /// Minimal size of contiguous block.
    pub tp_block_size: u32,
    /// Number of blocks.
    pub tp_block_nr: u32,
    /// Size of frame.
    pub tp_frame_size: u32,
    /// Total number of frames.
    pub tp_frame_nr: u32,
    /// Block retire timeout in milliseconds (0: kernel chooses).
    pub tp_retire_blk_tov: u32,
    /// Private area per block.
    pub tp_sizeof_priv: u32,
    /// `TP_FT_REQ_*` feature bits.
    pub tp_feature_req_word: u32,
}

/// `struct tpacket_req`: ring geometry under V1/V2 (and for TX rings).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct tpacket_req {
    /// Minimal size of contiguous block.
    pub tp_block_size: u32,
    /// Number of blocks.
    pub tp_block_nr: u32,
    /// Size of frame.
    pub tp_frame_size: u32,
    /// Total number of frames.
    pub tp_frame_nr: u32,
}

/// `struct tpacket_bd_ts`
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct tpacket_bd_ts {
    /// Seconds.
    pub ts_sec: u32,
    /// Nanoseconds (V3 always uses ns).
    pub ts_nsec: u32,
}

/// `struct tpacket_hdr_v1`: the V3 block header body.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct tpacket_hdr_v1 {
    /// `TP_STATUS_KERNEL` / `TP_STATUS_USER` (+ `TP_STATUS_BLK_TMO`, `TP_STATUS_LOSING`).
    pub block_status: u32,
    /// Number of packets in the block.
    pub num_pkts: u32,
    /// Offset of the first packet from the start of the block.
    pub offset_to_first_pkt: u32,
    /// Bytes used in the block.
    pub blk_len: u32,
    /// Block sequence number (`__aligned_u64`).
    pub seq_num: u64,
    /// Timestamp of the first packet.
    pub ts_first_pkt: tpacket_bd_ts,
    /// Timestamp of the last packet.
    pub ts_last_pkt: tpacket_bd_ts,
}

/// `struct tpacket_block_desc`: header at the start of each V3 block.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct tpacket_block_desc {
    /// Descriptor version (1).
    pub version: u32,
    /// Offset to the private area.
    pub offset_to_priv: u32,
    /// `union tpacket_bd_header_u { struct tpacket_hdr_v1 bh1; }`
    pub hdr: tpacket_hdr_v1,
}

/// `struct tpacket3_hdr`: header before each packet in a V3 block.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct tpacket3_hdr {
    /// Offset from this header to the next one in the block; 0 for the last.
    pub tp_next_offset: u32,
    /// Timestamp seconds.
    pub tp_sec: u32,
    /// Timestamp nanoseconds.
    pub tp_nsec: u32,
    /// Captured length.
    pub tp_snaplen: u32,
    /// Original (wire) length.
    pub tp_len: u32,
    /// `TP_STATUS_*` bits.
    pub tp_status: u32,
    /// Offset of the link-layer frame from this header.
    pub tp_mac: u16,
    /// Offset of the network header from this header.
    pub tp_net: u16,
    /// `hv1.tp_rxhash`
    pub tp_rxhash: u32,
    /// `hv1.tp_vlan_tci`
    pub tp_vlan_tci: u32,
    /// `hv1.tp_vlan_tpid`
    pub tp_vlan_tpid: u16,
    /// `hv1.tp_padding`
    pub hv1_padding: u16,
    /// `tp_padding[8]`
    pub tp_padding: [u8; 8],
}

/// `struct tpacket2_hdr`: the V2 frame header (used by TX rings).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct tpacket2_hdr {
    /// `TP_STATUS_*` bits.
    pub tp_status: u32,
    /// Frame length.
    pub tp_len: u32,
    /// Captured length.
    pub tp_snaplen: u32,
    /// Offset of the link-layer frame from this header.
    pub tp_mac: u16,
    /// Offset of the network header from this header.
    pub tp_net: u16,
    /// Timestamp seconds.
    pub tp_sec: u32,
    /// Timestamp nanoseconds.
    pub tp_nsec: u32,
    /// VLAN TCI.
    pub tp_vlan_tci: u16,
    /// VLAN TPID.
    pub tp_vlan_tpid: u16,
    /// Padding.
    pub tp_padding: [u8; 4],
}

/// `struct tpacket_stats_v3`: `PACKET_STATISTICS` under V3 (read and reset).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct tpacket_stats_v3 {
    /// Packets seen by the socket, *including* `tp_drops`.
    pub tp_packets: u32,
    /// Packets dropped for lack of ring space.
    pub tp_drops: u32,
    /// Number of times the ring froze (all blocks user-owned).
    pub tp_freeze_q_cnt: u32,
}

/// `struct sockaddr_ll`
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct sockaddr_ll {
    /// `AF_PACKET`
    pub sll_family: u16,
    /// Protocol, network byte order.
    pub sll_protocol: u16,
    /// Interface index.
    pub sll_ifindex: i32,
    /// ARP hardware type.
    pub sll_hatype: u16,
    /// `PACKET_HOST`, `PACKET_OUTGOING`, …
    pub sll_pkttype: u8,
    /// Length of `sll_addr` in use.
    pub sll_halen: u8,
    /// Link-layer address.
    pub sll_addr: [u8; 8],
}

/// `struct packet_mreq`
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct packet_mreq {
    /// Interface index.
    pub mr_ifindex: i32,
    /// `PACKET_MR_*`.
    pub mr_type: u16,
    /// Address length.
    pub mr_alen: u16,
    /// Address.
    pub mr_address: [u8; 8],
}

/// `sll_pkttype` values.
pub const PACKET_HOST: u8 = 0;
/// To all.
pub const PACKET_BROADCAST: u8 = 1;
/// To a group.
pub const PACKET_MULTICAST: u8 = 2;
/// To someone else (seen in promiscuous mode).
pub const PACKET_OTHERHOST: u8 = 3;
/// Sent by this host.
pub const PACKET_OUTGOING: u8 = 4;

/// `ETH_P_ALL`
pub const ETH_P_ALL: u16 = 0x0003;
/// `ETH_HLEN`: an Ethernet header (the veth/Ethernet `hard_header_len`).
pub const ETH_HLEN: usize = 14;

/// `TPACKET3_HDRLEN`: aligned V3 header plus `sockaddr_ll`.
pub const TPACKET3_HDRLEN: usize = tpacket_align(size_of::<tpacket3_hdr>()) + size_of::<sockaddr_ll>();
/// `TPACKET2_HDRLEN`: aligned V2 header plus `sockaddr_ll`.
pub const TPACKET2_HDRLEN: usize = tpacket_align(size_of::<tpacket2_hdr>()) + size_of::<sockaddr_ll>();

/// Where a TX frame's link-layer bytes start under TPACKET_V2:
/// `tp_hdrlen - sizeof(struct sockaddr_ll)` (`tpacket_parse_header()`
/// without `PACKET_TX_HAS_OFF`).
pub const TPACKET2_TX_DATA_OFFSET: usize = TPACKET2_HDRLEN - size_of::<sockaddr_ll>();
/// Where a TX frame's link-layer bytes start under TPACKET_V3 (same rule).
pub const TPACKET3_TX_DATA_OFFSET: usize = TPACKET3_HDRLEN - size_of::<sockaddr_ll>();

/// Offset of `block_status` from the start of a block.
pub const BLOCK_STATUS_OFFSET: usize = offset_of!(tpacket_block_desc, hdr) + offset_of!(tpacket_hdr_v1, block_status);
/// Offset of the `sockaddr_ll` that follows each V3 packet header.
pub const SOCKADDR_LL_OFFSET: usize = tpacket_align(size_of::<tpacket3_hdr>());

// Layout assertions against include/uapi/linux/if_packet.h (x86_64 / any LP64).
const _: () = {
    assert!(size_of::<tpacket_req3>() == 28);
    assert!(size_of::<tpacket_req>() == 16);
    assert!(size_of::<tpacket_hdr_v1>() == 40);
    assert!(offset_of!(tpacket_hdr_v1, seq_num) == 16);
    assert!(offset_of!(tpacket_hdr_v1, ts_first_pkt) == 24);
    assert!(offset_of!(tpacket_hdr_v1, ts_last_pkt) == 32);
    assert!(size_of::<tpacket_block_desc>() == 48);
    assert!(offset_of!(tpacket_block_desc, hdr) == 8);
    assert!(BLOCK_STATUS_OFFSET == 8);
    assert!(size_of::<tpacket3_hdr>() == 48);
    assert!(offset_of!(tpacket3_hdr, tp_status) == 20);
    assert!(offset_of!(tpacket3_hdr, tp_mac) == 24);
    assert!(offset_of!(tpacket3_hdr, tp_net) == 26);
    assert!(offset_of!(tpacket3_hdr, tp_rxhash) == 28);
    assert!(offset_of!(tpacket3_hdr, tp_vlan_tci) == 32);
    assert!(offset_of!(tpacket3_hdr, tp_vlan_tpid) == 36);
    assert!(size_of::<tpacket2_hdr>() == 32);
    assert!(offset_of!(tpacket2_hdr, tp_mac) == 12);
    assert!(offset_of!(tpacket2_hdr, tp_sec) == 16);
    assert!(size_of::<sockaddr_ll>() == 20);
    assert!(offset_of!(sockaddr_ll, sll_ifindex) == 4);
    assert!(offset_of!(sockaddr_ll, sll_pkttype) == 10);
    assert!(offset_of!(sockaddr_ll, sll_addr) == 12);
    assert!(size_of::<packet_mreq>() == 16);
    assert!(size_of::<tpacket_stats_v3>() == 12);
    assert!(TPACKET3_HDRLEN == 68);
    assert!(TPACKET2_HDRLEN == 52);
    assert!(offset_of!(tpacket2_hdr, tp_status) == 0);
    assert!(offset_of!(tpacket2_hdr, tp_len) == 4);
    assert!(offset_of!(tpacket3_hdr, tp_next_offset) == 0);
    assert!(offset_of!(tpacket3_hdr, tp_len) == 16);
    assert!(TPACKET2_TX_DATA_OFFSET == 32);
    assert!(TPACKET3_TX_DATA_OFFSET == 48);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_libc() {
        assert_eq!(size_of::<tpacket_req3>(), size_of::<libc::tpacket_req3>());
        assert_eq!(size_of::<tpacket_block_desc>(), size_of::<libc::tpacket_block_desc>());
        assert_eq!(size_of::<tpacket3_hdr>(), size_of::<libc::tpacket3_hdr>());
        assert_eq!(size_of::<tpacket2_hdr>(), size_of::<libc::tpacket2_hdr>());
        assert_eq!(size_of::<sockaddr_ll>(), size_of::<libc::sockaddr_ll>());
        assert_eq!(size_of::<packet_mreq>(), size_of::<libc::packet_mreq>());
        assert_eq!(offset_of!(tpacket3_hdr, tp_snaplen), offset_of!(libc::tpacket3_hdr, tp_snaplen));
        assert_eq!(offset_of!(tpacket3_hdr, tp_mac), offset_of!(libc::tpacket3_hdr, tp_mac));
    }

    #[test]
    fn constants_match_libc() {
        assert_eq!(PACKET_RX_RING, libc::PACKET_RX_RING);
        assert_eq!(PACKET_TX_RING, libc::PACKET_TX_RING);
        assert_eq!(PACKET_VERSION, libc::PACKET_VERSION);
        assert_eq!(PACKET_STATISTICS, libc::PACKET_STATISTICS);
        assert_eq!(PACKET_ADD_MEMBERSHIP, libc::PACKET_ADD_MEMBERSHIP);
        assert_eq!(PACKET_FANOUT, libc::PACKET_FANOUT);
        assert_eq!(PACKET_QDISC_BYPASS, libc::PACKET_QDISC_BYPASS);
        assert_eq!(PACKET_LOSS, libc::PACKET_LOSS);
        assert_eq!(PACKET_TIMESTAMP, libc::PACKET_TIMESTAMP);
        assert_eq!(TPACKET_V3, libc::tpacket_versions::TPACKET_V3 as i32);
        assert_eq!(TP_STATUS_USER, libc::TP_STATUS_USER);
        assert_eq!(TP_STATUS_LOSING, libc::TP_STATUS_LOSING);
        assert_eq!(TP_STATUS_BLK_TMO, libc::TP_STATUS_BLK_TMO);
        assert_eq!(TP_STATUS_VLAN_TPID_VALID, libc::TP_STATUS_VLAN_TPID_VALID);
        assert_eq!(TP_STATUS_WRONG_FORMAT, libc::TP_STATUS_WRONG_FORMAT);
        assert_eq!(TP_STATUS_TS_RAW_HARDWARE, libc::TP_STATUS_TS_RAW_HARDWARE);
        assert_eq!(TP_FT_REQ_FILL_RXHASH, libc::TP_FT_REQ_FILL_RXHASH);
    }
}
