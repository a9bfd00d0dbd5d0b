//! [`RawSender`]: whole frames through `send`/`sendmmsg` on an AF_PACKET
//! socket, one copy per frame, no ring.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::frame_limit::{FrameLimit, link_of};
use crate::error::{Error, Result};
use crate::source::{PacketSink, SinkSlot, TxStats};
use crate::sys::packet::{self as pk, SendError, SocketKind};
use crate::sys::{self, iface};

/// Sends raw Ethernet frames with one system call per frame (`send`) or per
/// batch of up to 64 (`sendmmsg`).
///
/// The simple path, with no ring to set up: the reference that the TX ring
/// is measured against. Binds with protocol 0, so it receives nothing.
/// Needs `CAP_NET_RAW`.
///
/// As a [`PacketSink`] it keeps [`RawSender::SINK_BUFFERS`] frame buffers: slots are
/// written in place in them, and [`flush`](PacketSink::flush) (or an
/// allocation that finds every buffer queued) sends the queued frames with
/// one `sendmmsg`. The kernel copies each frame during the call, so a
/// frame counts as [sent](TxStats::sent) when `sendmmsg` returns, and its
/// buffer is free again with its bytes kept (see [`SinkSlot`]). A frame the
/// kernel refuses for its own reason (`EINVAL`: shorter than the link-layer
/// header; `EMSGSIZE`: longer than the MTU allows) counts as
/// [rejected](TxStats::rejected) and is skipped, and the frames behind it
/// are still sent, as the TX ring and AF_XDP do; an error about the socket
/// or the device ([`Error::InterfaceDown`], [`Error::InterfaceGone`],
/// [`Error::PermissionDenied`], …) leaves the frames queued and is
/// returned by `flush`. A congested device (`ENOBUFS`, `EAGAIN`) leaves
/// the frames queued for the next flush.
/// [`RawSender::send`] and [`send_batch`](RawSender::send_batch) send at
/// once, past whatever the sink has queued.
#[derive(Debug)]
pub struct RawSender {
    fd: OwnedFd,
    ifindex: u32,
    interface: String,
    limit: FrameLimit,
    counters: Counters,
    /// The sink's frame buffers, [`RawSender::SINK_BUFFERS`] × `stride` bytes
    /// (allocated on the first [`PacketSink::allocate`]).
    bufs: Vec<u8>,
    /// Bytes per buffer: the longest frame, rounded up to a cache line.
    stride: usize,
    /// Length of the frame queued in each buffer.
    lens: [u32; SINK_BUFFERS],
    /// Free-running indices: `[tail, head)` are queued, buffer `i % SINK_BUFFERS`.
    head: u64,
    tail: u64,
}

const SINK_BUFFERS: usize = RawSender::SINK_BUFFERS;

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
    /// Frame buffers of a `RawSender` used as a [`PacketSink`]: one
    /// `sendmmsg` sends at most this many.
    pub const SINK_BUFFERS: usize = 64;

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
            bufs: Vec::new(),
            stride: 0,
            lens: [0; SINK_BUFFERS],
            head: 0,
            tail: 0,
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
    /// or as rejected when the kernel refused it (a failed inherent
    /// [`send`](Self::send) counts as rejected whatever the error); pending
    /// are the frames queued in the sink's buffers and not yet sent.
    pub fn tx_stats(&self) -> TxStats {
        let c = &self.counters;
        let pending = self.head - self.tail;
        TxStats {
            queued: c.queued.load(Ordering::Relaxed) + pending,
            sent: c.sent.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            pending,
        }
    }

    /// Buffer `i` (0..SINK_BUFFERS), `len` bytes.
    fn buf(&self, i: usize, len: usize) -> &[u8] {
        &self.bufs[i * self.stride..][..len]
    }

    /// Send the queued frames, `sendmmsg` after `sendmmsg`, until none is
    /// left or the device is congested; `Ok(false)` in the latter case.
    ///
    /// `sendmmsg` stops at the first message that fails and returns how
    /// many went before it (or, when that is the first, the error): the
    /// next call starts with the failed frame and gets its error. A frame
    /// refused for its own reason is counted and skipped; any other error
    /// is about the socket or the device and leaves the frames queued.
    fn send_queued(&mut self) -> Result<bool> {
        while self.tail != self.head {
            let n = (self.head - self.tail) as usize;
            let mut frames: [&[u8]; SINK_BUFFERS] = [&[]; SINK_BUFFERS];
            for (k, f) in frames[..n].iter_mut().enumerate() {
                let i = ((self.tail + k as u64) % SINK_BUFFERS as u64) as usize;
                *f = self.buf(i, self.lens[i] as usize);
            }
            match sys::sendmmsg(self.fd.as_fd(), &frames[..n], 0) {
                Ok(sent) => {
                    let bytes = frames[..sent].iter().map(|f| f.len() as u64).sum();
                    self.counters.count(sent as u64, sent as u64, bytes);
                    self.tail += sent as u64;
                }
                Err(e) => match SendError::of(&e) {
                    SendError::Interrupted => {}
                    SendError::Congested => return Ok(false),
                    SendError::NetDown => return Err(Error::InterfaceDown { name: self.interface.clone() }),
                    SendError::NoDevice => return Err(Error::InterfaceGone { name: self.interface.clone() }),
                    // The first frame was refused: count it, go on behind it.
                    SendError::Refused => {
                        let len = frames[0].len();
                        tracing::debug!(interface = %self.interface, len, error = %e, "frame rejected by the kernel");
                        self.counters.count(1, 0, 0);
                        self.tail += 1;
                    }
                    SendError::Other => return Err(Error::from_io("sendmmsg(AF_PACKET)", e)),
                },
            }
        }
        Ok(true)
    }

    /// A slot in the next buffer, once one is free: `None` if every buffer
    /// is queued and the device is congested.
    fn slot(&mut self, len: usize) -> Result<Option<RawSlot<'_>>> {
        self.limit.check(len, &self.interface)?;
        if self.bufs.is_empty() {
            self.stride = self.limit.max.next_multiple_of(64);
            self.bufs = vec![0; SINK_BUFFERS * self.stride];
        }
        if self.head - self.tail == SINK_BUFFERS as u64 && !self.send_queued()? {
            return Ok(None);
        }
        let index = (self.head % SINK_BUFFERS as u64) as usize;
        Ok(Some(RawSlot { sender: self, len, index }))
    }
}

impl AsFd for RawSender {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A frame being written for a [`RawSender`] used as a [`PacketSink`], in
/// one of its [`RawSender::SINK_BUFFERS`] buffers. [`send`](SinkSlot::send) queues it;
/// it leaves with the next `sendmmsg`.
#[derive(Debug)]
pub struct RawSlot<'a> {
    sender: &'a mut RawSender,
    len: usize,
    index: usize,
}

impl std::ops::Deref for RawSlot<'_> {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        self.sender.buf(self.index, self.len)
    }
}

impl std::ops::DerefMut for RawSlot<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        let s = &mut *self.sender;
        &mut s.bufs[self.index * s.stride..][..self.len]
    }
}

impl SinkSlot for RawSlot<'_> {
    /// Queue the frame for the next `sendmmsg`.
    #[inline]
    fn send(self) {
        let s = self.sender;
        s.lens[self.index] = self.len as u32;
        s.head += 1;
    }

    #[inline]
    fn buffer_index(&self) -> usize {
        self.index
    }
}

/// Back-off while the device is congested.
const BACKOFF: Duration = Duration::from_micros(50);

impl PacketSink for RawSender {
    type Slot<'a> = RawSlot<'a>;

    fn max_frame_len(&self) -> usize {
        RawSender::max_frame_len(self)
    }

    /// A slot in a free buffer; when all [`RawSender::SINK_BUFFERS`] are queued, they
    /// are sent first (`None` if the device is congested).
    fn allocate(&mut self, len: usize) -> Result<Option<RawSlot<'_>>> {
        self.slot(len)
    }

    /// As [`allocate`](Self::allocate), backing off 50 µs at a time while
    /// the device is congested.
    fn allocate_blocking(&mut self, len: usize, timeout: Option<Duration>) -> Result<Option<RawSlot<'_>>> {
        self.limit.check(len, &self.interface)?;
        let mut deadline = None; // read the clock only once the device is congested
        while self.head - self.tail == SINK_BUFFERS as u64 && !self.send_queued()? {
            let d = *deadline.get_or_insert_with(|| timeout.map(|t| Instant::now() + t));
            if d.is_some_and(|d| Instant::now() >= d) {
                return Ok(None);
            }
            std::thread::sleep(BACKOFF);
        }
        self.slot(len)
    }

    /// Send the queued frames (one `sendmmsg` per [`RawSender::SINK_BUFFERS`]); frames
    /// the congested device did not take stay queued, frames the kernel
    /// refused count as rejected.
    ///
    /// # Errors
    /// [`Error::InterfaceDown`], [`Error::InterfaceGone`], or an error about
    /// the socket from `sendmmsg` (the frames stay queued).
    fn flush(&mut self) -> Result<()> {
        self.send_queued().map(drop)
    }

    /// Send until nothing is queued, backing off while the device is
    /// congested; `Ok(false)` if frames are still queued at `timeout`.
    fn wait_drained(&mut self, timeout: Option<Duration>) -> Result<bool> {
        let deadline = timeout.map(|t| Instant::now() + t);
        while !self.send_queued()? {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
            std::thread::sleep(BACKOFF);
        }
        Ok(true)
    }

    fn tx_stats(&mut self) -> TxStats {
        RawSender::tx_stats(self)
    }

    fn buffer_count(&self) -> usize {
        SINK_BUFFERS
    }

    /// Always 0: nothing but a slot writes the buffers.
    fn buffer_generation(&self) -> u64 {
        0
    }
}
