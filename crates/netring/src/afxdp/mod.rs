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
//! # Attach and bind modes on veth
//!
//! veth supports AF_XDP in copy mode only (no zero-copy) and XDP in both
//! generic and native mode. Native XDP on a veth end needs that end's RX
//! queue count to be at least its peer's TX queue count (a pair created
//! without queue counts has 1 RX and one TX queue per CPU, so native fails
//! with `ENOSPC`) and a peer MTU small enough for one page (about 3.5 KB)
//! unless the program declares multi-buffer support. [`XdpAttach::Auto`]
//! tries native and falls back to generic.

mod batch;
mod queues;
mod socket;
mod umem;

pub use crate::bpf::{AttachMode, XdpAttach};
pub use batch::{XdpBatch, XdpPacket, XdpPackets, XdpStats};
pub use queues::XdpQueueSet;
pub use socket::{
    BindMode, BusyPoll, DEFAULT_BATCH_SIZE, DEFAULT_FILL_SIZE, DEFAULT_FRAME_COUNT, DEFAULT_FRAME_SIZE,
    DEFAULT_RING_SIZE, Readiness, TxSlot, XdpMode, XdpSocket, XdpSocketBuilder,
};

/// Why taking over `interface` with an AF_XDP receive socket would cut
/// traffic off from this host, or `None` if nothing suggests it: the
/// interface has IPv4 or IPv6 addresses (IPv6 link-local `fe80::/10` ones,
/// which the kernel adds by itself, do not count), or it is up and a
/// default route leaves through it.
///
/// # Errors
/// [`Error::InterfaceNotFound`](crate::Error::InterfaceNotFound), or a
/// netlink request failed.
pub fn takeover_risk(interface: &str) -> crate::Result<Option<String>> {
    use crate::interface;
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
