//! [`RawSender`]: whole frames through `send`/`sendmmsg` on an AF_PACKET
//! socket, one copy per frame, no ring.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::error::{Error, Result};
use crate::sys::packet::{self as pk, SocketKind};
use crate::sys::{self, iface};

/// Sends raw Ethernet frames with one system call per frame (`send`) or per
/// batch of up to 64 (`sendmmsg`).
///
/// The simple path, with no ring to set up: the reference that the TX ring
/// is measured against. Binds with protocol 0, so it receives nothing.
/// Needs `CAP_NET_RAW`.
#[derive(Debug)]
pub struct RawSender {
    fd: OwnedFd,
    ifindex: u32,
}

impl RawSender {
    /// A sender bound to `interface`.
    ///
    /// # Errors
    /// [`Error::InterfaceNotFound`], [`Error::PermissionDenied`] without
    /// `CAP_NET_RAW`.
    pub fn open(interface: &str) -> Result<Self> {
        let fd = pk::socket(SocketKind::Raw)?;
        let ifindex = iface::index(interface)?;
        pk::bind(fd.as_fd(), ifindex, 0, interface)?;
        Ok(Self { fd, ifindex })
    }

    /// Bypass the qdisc layer (`PACKET_QDISC_BYPASS`): faster, but no
    /// traffic shaping and no backpressure from the device queue.
    ///
    /// # Errors
    /// The kernel refused the option.
    pub fn set_qdisc_bypass(&mut self, on: bool) -> Result<()> {
        pk::set_qdisc_bypass(self.fd.as_fd(), on)
    }

    /// Send one frame (link-layer header included).
    ///
    /// # Errors
    /// `send` failed, e.g. `EMSGSIZE` for a frame over the MTU, `ENOBUFS`
    /// when the device queue is full, `ENETDOWN`.
    pub fn send(&self, frame: &[u8]) -> Result<()> {
        let n = sys::send(self.fd.as_fd(), frame, 0).map_err(|e| Error::from_io("send(AF_PACKET)", e))?;
        debug_assert_eq!(n, frame.len());
        Ok(())
    }

    /// Send up to 64 frames with one `sendmmsg`; returns how many the
    /// kernel took (the rest were not sent).
    ///
    /// # Errors
    /// `sendmmsg` failed before sending the first frame.
    pub fn send_batch(&self, frames: &[&[u8]]) -> Result<usize> {
        if frames.is_empty() {
            return Ok(0);
        }
        sys::sendmmsg(self.fd.as_fd(), frames, 0).map_err(|e| Error::from_io("sendmmsg(AF_PACKET)", e))
    }

    /// The interface index this sender is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }
}

impl AsFd for RawSender {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
