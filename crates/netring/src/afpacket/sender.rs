//! [`RawSender`]: whole frames through `send`/`sendmmsg` on an AF_PACKET
//! socket, one copy per frame, no ring.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::frame_limit::{FrameLimit, link_of};
use crate::error::{Error, Result};
use crate::source::{PacketSink, SinkSlot, TxStats};
use crate::sys::packet::{self as pk, SocketKind};
use crate::sys::{self, iface};

/// Sends raw Ethernet frames with one system call per frame (`send`) or per
/// batch of up to 64 (`sendmmsg`).
///
/// The simple path, with no ring to set up: the reference that the TX ring
/// is measured against. Binds with protocol 0, so it receives nothing.
/// Needs `CAP_NET_RAW`.
///
/// As a [`PacketSink`] every frame leaves when it is queued
/// ([`SinkSlot::send`] or [`PacketSink::send`] make the `send` call), so
/// [`flush`](PacketSink::flush) and [`wait_drained`](PacketSink::wait_drained)
/// have nothing to move: they report the first failure of a slot's send,
/// which [`SinkSlot::send`] cannot return.
#[derive(Debug)]
pub struct RawSender {
    fd: OwnedFd,
    ifindex: u32,
    interface: String,
    limit: FrameLimit,
    counters: Counters,
    /// The frame a [`RawSlot`] is being written into (grown once).
    scratch: Vec<u8>,
    /// The first failure of a slot's send, reported by the next flush.
    failed: Option<Error>,
}

/// Counters updated by `&self` sends.
#[derive(Debug, Default)]
struct Counters {
    queued: AtomicU64,
    sent: AtomicU64,
    bytes: AtomicU64,
    rejected: AtomicU64,
}

impl Counters {
    fn count(&self, frames: u64, sent: u64, bytes: u64) {
        self.queued.fetch_add(frames, Ordering::Relaxed);
        self.sent.fetch_add(sent, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.rejected.fetch_add(frames - sent, Ordering::Relaxed);
    }
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
        let (mtu, link_header) = link_of(interface)?;
        pk::bind(fd.as_fd(), ifindex, 0, interface)?;
        Ok(Self {
            fd,
            ifindex,
            interface: interface.to_owned(),
            limit: FrameLimit::link(mtu, link_header),
            counters: Counters::default(),
            scratch: Vec::new(),
            failed: None,
        })
    }

    /// Bypass the qdisc layer (`PACKET_QDISC_BYPASS`): faster, but no
    /// traffic shaping and no backpressure from the device queue.
    ///
    /// # Errors
    /// The kernel refused the option.
    pub fn set_qdisc_bypass(&mut self, on: bool) -> Result<()> {
        pk::set_qdisc_bypass(self.fd.as_fd(), on)
    }

    /// Send one frame (link-layer header included); `Ok(true)` when the
    /// kernel took it (a plain socket always has room). This is
    /// [`PacketSink::send`] on a `RawSender`, with `&self` so that threads
    /// may share one sender.
    ///
    /// # Errors
    /// `send` failed, e.g. `EMSGSIZE` for a frame over the MTU, `ENOBUFS`
    /// when the device queue is full, `ENETDOWN`.
    pub fn send(&self, frame: &[u8]) -> Result<bool> {
        let r = sys::send(self.fd.as_fd(), frame, 0).map_err(|e| Error::from_io("send(AF_PACKET)", e));
        match &r {
            Ok(n) => {
                debug_assert_eq!(*n, frame.len());
                self.counters.count(1, 1, frame.len() as u64);
            }
            Err(_) => self.counters.count(1, 0, 0),
        }
        r.map(|_| true)
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
        let n = sys::sendmmsg(self.fd.as_fd(), frames, 0).map_err(|e| Error::from_io("sendmmsg(AF_PACKET)", e))?;
        let bytes = frames[..n].iter().map(|f| f.len() as u64).sum();
        self.counters.count(n as u64, n as u64, bytes);
        Ok(n)
    }

    /// The interface index this sender is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The longest frame [`PacketSink::allocate`] accepts: the interface
    /// MTU (when opened) plus its link-layer header. [`send`](Self::send)
    /// leaves the check to the kernel.
    pub fn max_frame_len(&self) -> usize {
        self.limit.max
    }

    /// Counters so far: every frame counts as sent once the kernel took it,
    /// or as rejected when the `send` failed; nothing is ever pending.
    pub fn tx_stats(&self) -> TxStats {
        let c = &self.counters;
        TxStats {
            queued: c.queued.load(Ordering::Relaxed),
            sent: c.sent.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            pending: 0,
        }
    }
}

impl AsFd for RawSender {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A frame being written for a [`RawSender`] (in a buffer of the sender's;
/// there is no ring). [`send`](SinkSlot::send) sends it at once.
#[derive(Debug)]
pub struct RawSlot<'a> {
    sender: &'a mut RawSender,
    len: usize,
}

impl std::ops::Deref for RawSlot<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.sender.scratch[..self.len]
    }
}

impl std::ops::DerefMut for RawSlot<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.sender.scratch[..self.len]
    }
}

impl SinkSlot for RawSlot<'_> {
    /// Send the frame now; a failure is counted as rejected and returned by
    /// the sender's next [`flush`](PacketSink::flush).
    fn send(self) {
        let sender = self.sender;
        if let Err(e) = RawSender::send(sender, &sender.scratch[..self.len]) {
            sender.failed.get_or_insert(e);
        }
    }
}

impl PacketSink for RawSender {
    type Slot<'a> = RawSlot<'a>;

    fn max_frame_len(&self) -> usize {
        RawSender::max_frame_len(self)
    }

    fn allocate(&mut self, len: usize) -> Result<Option<RawSlot<'_>>> {
        self.limit.check(len, &self.interface)?;
        if self.scratch.len() < len {
            self.scratch.resize(len.max(self.limit.max), 0);
        }
        Ok(Some(RawSlot { sender: self, len }))
    }

    /// Never waits: there is always room.
    fn allocate_blocking(&mut self, len: usize, _timeout: Option<Duration>) -> Result<Option<RawSlot<'_>>> {
        self.allocate(len)
    }

    fn send(&mut self, frame: &[u8]) -> Result<bool> {
        RawSender::send(self, frame)
    }

    /// Nothing is queued; returns the first failed send of a slot since the
    /// last flush.
    fn flush(&mut self) -> Result<()> {
        self.failed.take().map_or(Ok(()), Err)
    }

    /// Nothing is ever pending: `Ok(true)`, after [`flush`](Self::flush).
    fn wait_drained(&mut self, _timeout: Option<Duration>) -> Result<bool> {
        self.flush().map(|()| true)
    }

    fn tx_stats(&mut self) -> TxStats {
        RawSender::tx_stats(self)
    }
}
