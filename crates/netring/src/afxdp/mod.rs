//! AF_XDP: a UMEM shared with the kernel, four single-producer /
//! single-consumer rings, and a built-in XDP program that redirects frames
//! into the socket — so [`XdpSocket::open`] receives with no external loader.
//!
//! See `Documentation/networking/af_xdp.rst` in the kernel tree.
//!
//! # AF_XDP receive takes the traffic away from the host
//!
//! While an [`XdpSocket`] with an RX ring lives on queue *Q* of an
//! interface, its XDP program redirects **every frame arriving on queue Q**
//! into the socket: the kernel's network stack, and every other program on
//! the host, no longer sees them (frames of other queues, and frames while
//! the socket's fill ring is empty, are not passed on either — the latter
//! are dropped and counted). On an interface that carries the host's own
//! traffic (an address, a default route, an SSH session) this cuts the host
//! off. Use it on interfaces dedicated to capture, or accept it knowingly;
//! the `netring` command refuses such interfaces unless `--xdp-takeover` is
//! given. [`XdpMode::Tx`] sockets attach no program and take nothing.
//!
//! # Frames, rings, ownership
//!
//! The UMEM is `frame_count` frames of `frame_size` bytes. [`XdpMode`]
//! decides how many go to the fill ring for receive at start; the rest wait
//! on a free list for transmit. A received frame is lent out in an
//! [`XdpBatch`] and returns to the fill ring when the batch drops; a sent
//! frame returns to the free list when the kernel completes it. netring
//! tracks the owner of every frame and believes no descriptor that
//! contradicts it.
//!
//! # Several queues, one UMEM
//!
//! A NIC spreads its traffic over several RX queues, and an AF_XDP socket
//! binds to one. [`XdpSocketBuilder::build_all_queues`] (or
//! [`build_queues`](XdpSocketBuilder::build_queues), or
//! [`build_shared`](XdpSocketBuilder::build_shared) for queues of several
//! devices) makes one socket per queue over **one shared UMEM**
//! (`XDP_SHARED_UMEM`) and one built-in program per interface (one XSKMAP
//! holding every socket at its queue, one BPF link). [`XdpQueueSet`] reads
//! them all from one thread; for a thread per queue, move each socket to
//! its own thread.
//!
//! Ownership rules of a shared UMEM:
//!
//! * The UMEM is split into one partition of `frame_count` frames per
//!   socket. A socket gives the kernel only frames of its partition (fill
//!   ring, TX ring), believes only descriptors naming frames of its
//!   partition that it gave for that purpose (anything else is skipped and
//!   counted in [`XdpStats::skipped_descs`]), and forms slices only over
//!   those. So no frame address is ever held by two sockets, and sockets
//!   on different threads never touch the same bytes.
//! * Each socket has its own fill and completion rings: the kernel requires
//!   that for sockets on another queue or device than the UMEM's first
//!   socket. Two sockets on the *same* queue of the same device would share
//!   the first one's fill and completion rings, so frames would cross
//!   partitions: netring refuses that.
//! * The first socket registers the UMEM and sets the bind flags (copy or
//!   zero-copy, need-wakeup) for all; the kernel applies them to the
//!   others. The memory stays mapped, and the kernel keeps the UMEM, until
//!   the last socket over it is dropped, in any order.
//! * Each [`XdpSocket`] is `Send` and not `Sync` (its rings have one
//!   producer and one consumer); sockets sharing a UMEM are independent
//!   values. A built-in program stays attached while any socket of its
//!   interface lives; a dropped socket leaves the XSKMAP by itself (the
//!   kernel removes it), and its queue's frames go to the host stack again.
//!
//! # Bring your own XDP program
//!
//! With an XDP program of your own (aya, libbpf, …), build the socket with
//! [`builtin_program(false)`](XdpSocketBuilder::builtin_program): netring
//! loads and attaches nothing, and you put the socket's descriptor
//! ([`AsFd`](std::os::fd::AsFd)) into your program's XSKMAP at the key your
//! program redirects to (usually the queue id) — with your library's map
//! API, or with [`XskMap::insert`](crate::bpf::XskMap::insert) on the map's
//! descriptor. The socket must be bound first (it is, once built); the
//! kernel drops the entry when the socket closes.
//!
//! ```no_run
//! use std::os::fd::AsFd;
//! use netring::{XdpMode, XdpSocket};
//! # fn users_xskmap() -> netring::bpf::XskMap { unimplemented!() }
//! let sock = XdpSocket::builder().interface("eth1").queue(0).mode(XdpMode::Rx).builtin_program(false).build()?;
//! let xsks = users_xskmap(); // e.g. from aya's `Bpf::take_map("XSKS")`, wrapped
//! xsks.insert(0, sock.as_fd())?;
//! # Ok::<(), netring::Error>(())
//! ```
//!
//! # Per-frame metadata: timestamps, RX hash, VLAN tag
//!
//! The built-in program writes an [`XdpRxMeta`] area in front of each frame
//! it redirects ([`XdpSocketBuilder::rx_metadata`], on by default): its own
//! `CLOCK_TAI` time (Linux 6.1), turned into wall-clock time in user space,
//! so [`XdpPacket::timestamp`] is per frame and on AF_PACKET's clock; and,
//! where the kernel has the XDP metadata kfuncs (found by name in its BTF)
//! and the driver implements them, the device's receive time, RX hash and
//! VLAN tag (the program is then loaded bound to the device, in native
//! mode). Each step down is logged once and reported by
//! [`XdpSocket::rx_metadata`]: kfuncs unavailable → program time only;
//! the area refused by the attach mode → the batch's user-space time.
//! veth implements the hash and VLAN kfuncs (its device time is 0 unless
//! the sender's skb carried a hardware stamp).
//!
//! # Busy polling
//!
//! [`XdpSocketBuilder::busy_poll`] sets `SO_BUSY_POLL`,
//! `SO_BUSY_POLL_BUDGET` and `SO_PREFER_BUSY_POLL`; see [`BusyPoll`] for
//! what it costs (a spinning core, a system call per empty poll) and when
//! it helps (a NIC queue owned by one polling thread; not veth).
//!
//! # Jumbo frames: multi-buffer
//!
//! A frame longer than a UMEM frame minus its 256-byte headroom is dropped
//! (counted in `rx_dropped`) unless the socket is built with
//! [`multi_buffer(true)`](XdpSocketBuilder::multi_buffer) (Linux 6.6): the
//! bind asks for `XDP_USE_SG`, the built-in program is loaded with
//! `BPF_F_XDP_HAS_FRAGS`, the kernel spreads the frame over several UMEM
//! frames chained with `XDP_PKT_CONTD`, and netring hands it out whole (one
//! copy into a buffer of the socket). [`XdpSocket::send_chained`] chains long
//! frames the same way. On veth, native XDP with fragments also lifts the
//! page-size MTU limit, so a 9000-byte MTU works in native mode. A kernel
//! or driver without it fails the build with [`Error::Unsupported`](crate::Error::Unsupported)
//! naming `XDP_USE_SG`.
//!
//! # Attach and bind modes on veth
//!
//! veth supports AF_XDP in copy mode only (no zero-copy) and XDP in both
//! generic and native mode. Native XDP on a veth end needs that end's RX
//! queue count to be at least its peer's TX queue count (a pair created
//! without queue counts has 1 RX and one TX queue per CPU, so native fails
//! with `ENOSPC`) and a peer MTU small enough for one page (about 3.5 KB)
//! unless the program declares multi-buffer support. [`XdpAttach::Auto`]
//! tries native and falls back to generic. The receiving veth picks the RX
//! queue from the sender's TX queue (in native mode), so a multi-queue veth
//! spreads traffic only when the peer sends on several queues (an AF_XDP TX
//! socket sends on its own queue).

mod batch;
mod config;
mod link;
mod meta;
mod program;
mod queues;
mod report;
mod rx;
mod setup;
mod socket;
mod tx;
mod txmeta;
mod umem;

pub use crate::bpf::{XdpAttach, XdpAttachMode, XdpRxMeta, XdpRxMetaFlags, XdpRxMetaPlacement};
pub use batch::{XdpBatch, XdpPacket, XdpPackets, XdpStats};
pub use config::{
    BindMode, BusyPoll, DEFAULT_BATCH_SIZE, DEFAULT_FRAME_COUNT, DEFAULT_FRAME_SIZE, DEFAULT_RING_SIZE, XdpMode,
    XdpSocketBuilder,
};
pub use meta::XdpRxMetadata;
pub use queues::XdpQueueSet;
pub use socket::{Readiness, XdpSocket};
pub use tx::XdpTxSlot;
pub use txmeta::{XdpTxMetadataSupport, probe_tx_metadata};

/// Why taking over `interface` with an AF_XDP receive socket would cut
/// traffic off from this host, or `None` if nothing suggests it: the
/// interface has IPv4 or IPv6 addresses (IPv6 link-local `fe80::/10` ones,
/// which the kernel adds by itself, do not count), or it is up and a
/// default route leaves through it.
///
/// # Errors
/// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for `any`, which
/// AF_XDP does not support; [`Error::InterfaceNotFound`](crate::Error::InterfaceNotFound),
/// or a netlink request failed.
pub fn takeover_risk(interface: &str) -> crate::Result<Option<String>> {
    use crate::interface;
    config::refuse_any(interface)?;
    let addrs: Vec<String> = interface::addresses(interface)?
        .into_iter()
        .filter(|a| !matches!(a.addr, std::net::IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80))
        .map(|a| a.to_string())
        .collect();
    let mut reasons = Vec::new();
    if !addrs.is_empty() {
        reasons.push(format!("it has address{} {}", if addrs.len() > 1 { "es" } else { "" }, addrs.join(", ")));
    }
    if interface::flags(interface)? & interface::IFF_UP != 0 && interface::has_default_route(interface)? {
        reasons.push("it is up and carries a default route".to_owned());
    }
    Ok((!reasons.is_empty()).then(|| reasons.join(" and ")))
}
