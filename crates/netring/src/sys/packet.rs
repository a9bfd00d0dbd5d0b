//! AF_PACKET sockets and their options, one typed function per kernel
//! concept (packet(7), `Documentation/networking/packet_mmap.rst`). Each
//! returns the crate's [`Error`], naming the call; where an errno means
//! something specific (a kernel without the feature, a missing interface,
//! a ring too large to allocate) the mapping is made here, once.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::errno;
use super::tpacket as tp;
use crate::error::{Error, Result};

/// What a packet socket's bytes start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    /// `SOCK_RAW`: frames from their link-layer header.
    Raw,
    /// `SOCK_DGRAM` ("cooked"): packets from their network header, the link
    /// layer in the `sockaddr_ll` beside them.
    Cooked,
}

/// `socket(AF_PACKET, SOCK_RAW | SOCK_DGRAM, 0)`: protocol 0, so the socket
/// receives nothing until [`bind`] names a protocol. Needs `CAP_NET_RAW`.
pub fn socket(kind: SocketKind) -> Result<OwnedFd> {
    match kind {
        SocketKind::Raw => super::socket(tp::AF_PACKET, libc::SOCK_RAW, 0, "socket(AF_PACKET, SOCK_RAW)"),
        SocketKind::Cooked => super::socket(tp::AF_PACKET, libc::SOCK_DGRAM, 0, "socket(AF_PACKET, SOCK_DGRAM)"),
    }
}

/// `bind(2)` to interface `ifindex` (0: every interface) and `protocol`
/// (host byte order). `ENODEV` is [`Error::InterfaceNotFound`] naming
/// `interface`.
pub fn bind(sock: BorrowedFd<'_>, ifindex: u32, protocol: u16, interface: &str) -> Result<()> {
    super::bind_packet(sock, ifindex, protocol).map_err(|e| match e.raw_os_error() {
        Some(errno::ENODEV) => Error::InterfaceNotFound { name: interface.to_owned() },
        _ => e,
    })
}

fn set_int(sock: BorrowedFd<'_>, name: i32, value: i32, call: &'static str) -> Result<()> {
    super::setsockopt(sock, tp::SOL_PACKET, name, &value, call)
}

/// `PACKET_VERSION`: the ring's header layout (`TPACKET_V2`, `TPACKET_V3`).
pub fn set_version(sock: BorrowedFd<'_>, version: i32) -> Result<()> {
    set_int(sock, tp::PACKET_VERSION, version, "setsockopt(PACKET_VERSION)")
}

/// Whether the kernel could allocate a ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingAlloc {
    /// The ring exists.
    Done,
    /// `ENOMEM`: the kernel could not allocate a ring this large (try a
    /// smaller one).
    NoMemory,
}

fn ring_result(r: Result<()>) -> Result<RingAlloc> {
    match r {
        Ok(()) => Ok(RingAlloc::Done),
        Err(e) if e.raw_os_error() == Some(errno::ENOMEM) => Ok(RingAlloc::NoMemory),
        Err(e) => Err(e),
    }
}

/// `PACKET_RX_RING` with a TPACKET_V3 request.
pub fn set_rx_ring(sock: BorrowedFd<'_>, req: &tp::tpacket_req3) -> Result<RingAlloc> {
    ring_result(super::setsockopt(sock, tp::SOL_PACKET, tp::PACKET_RX_RING, req, "setsockopt(PACKET_RX_RING)"))
}

/// `PACKET_TX_RING` of fixed frames. Under `TPACKET_V3` the request is a
/// `tpacket_req3` with every V3-only field zero, and `EINVAL` means the
/// kernel has no V3 TX ring: [`Error::Unsupported`] (Linux 4.11).
pub fn set_tx_ring(sock: BorrowedFd<'_>, req: &tp::tpacket_req, version: i32) -> Result<RingAlloc> {
    const CALL: &str = "setsockopt(PACKET_TX_RING)";
    if version != tp::TPACKET_V3 {
        return ring_result(super::setsockopt(sock, tp::SOL_PACKET, tp::PACKET_TX_RING, req, CALL));
    }
    let req3 = tp::tpacket_req3 {
        tp_block_size: req.tp_block_size,
        tp_block_nr: req.tp_block_nr,
        tp_frame_size: req.tp_frame_size,
        tp_frame_nr: req.tp_frame_nr,
        ..Default::default()
    };
    ring_result(super::setsockopt(sock, tp::SOL_PACKET, tp::PACKET_TX_RING, &req3, CALL)).map_err(|e| {
        match e.raw_os_error() {
            Some(errno::EINVAL) => {
                Error::Unsupported { feature: "PACKET_TX_RING with TPACKET_V3", detail: "needs Linux 4.11".into() }
            }
            _ => e,
        }
    })
}

/// `PACKET_LOSS`: on, the kernel skips a frame it refuses; off, it marks
/// it `TP_STATUS_WRONG_FORMAT` and fails the send.
pub fn set_loss(sock: BorrowedFd<'_>, on: bool) -> Result<()> {
    set_int(sock, tp::PACKET_LOSS, on.into(), "setsockopt(PACKET_LOSS)")
}

/// `PACKET_QDISC_BYPASS` (Linux 3.14): frames go straight to the driver.
pub fn set_qdisc_bypass(sock: BorrowedFd<'_>, on: bool) -> Result<()> {
    set_int(sock, tp::PACKET_QDISC_BYPASS, on.into(), "setsockopt(PACKET_QDISC_BYPASS)")
}

/// `PACKET_IGNORE_OUTGOING` (Linux 4.20): do not see what this host sends.
/// `ENOPROTOOPT` (an older kernel) is [`Error::Unsupported`].
pub fn set_ignore_outgoing(sock: BorrowedFd<'_>) -> Result<()> {
    set_int(sock, tp::PACKET_IGNORE_OUTGOING, 1, "setsockopt(PACKET_IGNORE_OUTGOING)").map_err(|e| {
        match e.raw_os_error() {
            Some(errno::ENOPROTOOPT) => {
                Error::Unsupported { feature: "PACKET_IGNORE_OUTGOING", detail: "needs Linux 4.20".into() }
            }
            _ => e,
        }
    })
}

/// `PACKET_ADD_MEMBERSHIP` with `PACKET_MR_PROMISC`: the interface is
/// promiscuous while the socket is open (the kernel drops the membership
/// when it closes).
pub fn add_promiscuous_membership(sock: BorrowedFd<'_>, ifindex: u32) -> Result<()> {
    let mreq = tp::packet_mreq { mr_ifindex: ifindex as i32, mr_type: tp::PACKET_MR_PROMISC, ..Default::default() };
    super::setsockopt(sock, tp::SOL_PACKET, tp::PACKET_ADD_MEMBERSHIP, &mreq, "setsockopt(PACKET_ADD_MEMBERSHIP)")
}

/// `SO_TIMESTAMPING` and `PACKET_TIMESTAMP` (`SOF_TIMESTAMPING_*` flags):
/// which clock stamps packets, for the socket and for the ring.
pub fn set_timestamping(sock: BorrowedFd<'_>, socket_flags: u32, ring_flags: u32) -> Result<()> {
    super::setsockopt(
        sock,
        tp::SOL_SOCKET,
        tp::SO_TIMESTAMPING,
        &(socket_flags as i32),
        "setsockopt(SO_TIMESTAMPING)",
    )?;
    set_int(sock, tp::PACKET_TIMESTAMP, ring_flags as i32, "setsockopt(PACKET_TIMESTAMP)")
}

/// `PACKET_STATISTICS` (TPACKET_V3 layout): the counters since the last
/// read, which the kernel resets.
pub fn statistics(sock: BorrowedFd<'_>) -> Result<tp::tpacket_stats_v3> {
    super::getsockopt(sock, tp::SOL_PACKET, tp::PACKET_STATISTICS, "getsockopt(PACKET_STATISTICS)")
}

/// `SO_ATTACH_FILTER`: replace the socket's classic BPF filter with
/// `program`, atomically.
pub fn attach_filter<I: Copy + Into<(u16, u8, u8, u32)>>(sock: BorrowedFd<'_>, program: &[I]) -> Result<()> {
    super::set_sock_fprog(sock, tp::SOL_SOCKET, tp::SO_ATTACH_FILTER, program, "setsockopt(SO_ATTACH_FILTER)")
}

/// `SO_DETACH_FILTER`: remove the socket's filter; no filter attached is
/// not an error.
pub fn detach_filter(sock: BorrowedFd<'_>) -> Result<()> {
    let zero: i32 = 0;
    match super::setsockopt(sock, tp::SOL_SOCKET, tp::SO_DETACH_FILTER, &zero, "setsockopt(SO_DETACH_FILTER)") {
        Err(e) if e.raw_os_error() == Some(errno::ENOENT) => Ok(()),
        other => other,
    }
}

/// `SO_ATTACH_BPF` (Linux 3.19): an eBPF socket filter by descriptor.
/// `EINVAL` (not a socket-filter program) is [`Error::InvalidConfig`]
/// naming `name`.
pub fn attach_ebpf_filter(sock: BorrowedFd<'_>, program: BorrowedFd<'_>, name: &str) -> Result<()> {
    let fd: i32 = program.as_raw_fd();
    super::setsockopt(sock, tp::SOL_SOCKET, tp::SO_ATTACH_BPF, &fd, "setsockopt(SO_ATTACH_BPF)").map_err(|e| {
        match e.raw_os_error() {
            Some(errno::EINVAL) => Error::config(
                "ebpf_filter",
                name,
                "the kernel refused it: SO_ATTACH_BPF takes a BPF_PROG_TYPE_SOCKET_FILTER program",
            ),
            _ => e,
        }
    })
}

/// `PACKET_FANOUT`: join the group `option` describes (id | (mode | flags)
/// << 16) on a bound socket. `EINVAL` is [`Error::InvalidConfig`] naming
/// `group` (a group of that id with another mode or flags, or a mode the
/// kernel lacks).
pub fn join_fanout(sock: BorrowedFd<'_>, option: u32, group: &dyn std::fmt::Display) -> Result<()> {
    super::setsockopt(sock, tp::SOL_PACKET, tp::PACKET_FANOUT, &option, "setsockopt(PACKET_FANOUT)").map_err(
        |e| match e.raw_os_error() {
            Some(errno::EINVAL) => Error::config(
                "fanout",
                group,
                "the kernel refused it: a group of that id with another mode or flags exists on this interface, \
                 or the mode needs a newer kernel",
            ),
            _ => e,
        },
    )
}

/// `getsockopt(PACKET_FANOUT)`: the group word the socket is in (the
/// kernel's id with `PACKET_FANOUT_FLAG_UNIQUEID`).
pub fn fanout(sock: BorrowedFd<'_>) -> Result<u32> {
    super::getsockopt(sock, tp::SOL_PACKET, tp::PACKET_FANOUT, "getsockopt(PACKET_FANOUT)")
}

/// `PACKET_FANOUT_DATA` with a classic BPF program (fanout mode `cbpf`).
pub fn set_fanout_cbpf<I: Copy + Into<(u16, u8, u8, u32)>>(sock: BorrowedFd<'_>, program: &[I]) -> Result<()> {
    super::set_sock_fprog(sock, tp::SOL_PACKET, tp::PACKET_FANOUT_DATA, program, "setsockopt(PACKET_FANOUT_DATA)")
}

/// `PACKET_FANOUT_DATA` with an eBPF program's descriptor (fanout mode
/// `ebpf`).
pub fn set_fanout_ebpf(sock: BorrowedFd<'_>, program: BorrowedFd<'_>) -> Result<()> {
    let fd: i32 = program.as_raw_fd();
    super::setsockopt(sock, tp::SOL_PACKET, tp::PACKET_FANOUT_DATA, &fd, "setsockopt(PACKET_FANOUT_DATA)")
}

/// What a failed send on a packet socket means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// `EINTR`
    Interrupted,
    /// `EAGAIN`, `ENOBUFS`, `ETIMEDOUT`: the device or the send buffer is
    /// full for now.
    Congested,
    /// `ENETDOWN`: the interface is down.
    NetDown,
    /// `ENXIO`, `ENODEV`: the interface is gone.
    NoDevice,
    /// `EINVAL`, `EMSGSIZE`: the kernel refused the frame for the frame's
    /// own reason (shorter than the link-layer header, `dev_validate_header()`;
    /// longer than the MTU allows) — the socket and the device are fine.
    Refused,
    /// Anything else: about the socket (`EPERM` from a security module,
    /// `ENOTSOCK`, …), not one frame (for a TX ring: often still a frame
    /// the kernel refused, which its slot's status tells).
    Other,
}

impl SendError {
    /// Classify the error of a `send` (or a pending socket error).
    pub fn of(e: &io::Error) -> Self {
        match e.raw_os_error() {
            Some(errno::EINTR) => Self::Interrupted,
            Some(errno::EAGAIN | errno::ENOBUFS | errno::ETIMEDOUT) => Self::Congested,
            Some(errno::ENETDOWN) => Self::NetDown,
            Some(errno::ENXIO | errno::ENODEV) => Self::NoDevice,
            Some(errno::EINVAL | errno::EMSGSIZE) => Self::Refused,
            _ => Self::Other,
        }
    }
}

/// Ask the kernel to transmit a TX ring's queued frames (`send(fd, NULL,
/// 0, flags)`); `wait` blocks until every frame is sent and released, or
/// `SO_SNDTIMEO` passes, instead of `MSG_DONTWAIT`. Not retried on `EINTR`.
pub fn kick_tx_ring(sock: BorrowedFd<'_>, wait: bool) -> io::Result<usize> {
    super::kick(sock, if wait { 0 } else { libc::MSG_DONTWAIT })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_errors_are_told_apart_by_whom_they_are_about() {
        let of = |e: i32| SendError::of(&io::Error::from_raw_os_error(e));
        assert_eq!(of(errno::EINTR), SendError::Interrupted);
        for e in [errno::EAGAIN, errno::ENOBUFS, errno::ETIMEDOUT] {
            assert_eq!(of(e), SendError::Congested, "errno {e}");
        }
        assert_eq!(of(errno::ENETDOWN), SendError::NetDown);
        assert_eq!(of(errno::ENXIO), SendError::NoDevice);
        assert_eq!(of(errno::ENODEV), SendError::NoDevice);
        // The frame's own fault: too short for the link header, too long.
        assert_eq!(of(errno::EINVAL), SendError::Refused);
        assert_eq!(of(errno::EMSGSIZE), SendError::Refused);
        // The socket's: a security module, a wrong descriptor.
        for e in [errno::EPERM, errno::EACCES, errno::ENOTSOCK, errno::ENOMEM] {
            assert_eq!(of(e), SendError::Other, "errno {e}");
        }
        assert_eq!(SendError::of(&io::Error::other("no errno")), SendError::Other);
    }
}
