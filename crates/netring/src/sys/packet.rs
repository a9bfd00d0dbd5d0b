//! AF_PACKET socket options, one typed function per kernel concept
//! (packet(7), `Documentation/networking/packet_mmap.rst`).

use std::os::fd::BorrowedFd;

use super::tpacket as tp;
use crate::error::Result;
use crate::filter::Instruction;

/// `SO_ATTACH_FILTER`: replace the socket's classic BPF filter with
/// `program`, atomically.
pub fn attach_filter(sock: BorrowedFd<'_>, program: &[Instruction]) -> Result<()> {
    super::set_sock_fprog(sock, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, program, "setsockopt(SO_ATTACH_FILTER)")
}

/// `SO_DETACH_FILTER`: remove the socket's filter; no filter attached is
/// not an error.
pub fn detach_filter(sock: BorrowedFd<'_>) -> Result<()> {
    let zero: i32 = 0;
    match super::setsockopt(sock, libc::SOL_SOCKET, libc::SO_DETACH_FILTER, &zero, "setsockopt(SO_DETACH_FILTER)") {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        other => other,
    }
}

/// `PACKET_FANOUT_DATA` with a classic BPF program (fanout mode `cbpf`).
pub fn set_fanout_cbpf(sock: BorrowedFd<'_>, program: &[Instruction]) -> Result<()> {
    super::set_sock_fprog(sock, libc::SOL_PACKET, tp::PACKET_FANOUT_DATA, program, "setsockopt(PACKET_FANOUT_DATA)")
}
