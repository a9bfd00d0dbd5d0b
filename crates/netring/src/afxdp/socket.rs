//! [`XdpSocket`]: an AF_XDP socket on one queue, its receive and transmit
//! operations, and its counters.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::batch::{XdpBatch, XdpStats};
use super::config::{BusyPoll, ETH_HLEN, XdpSocketBuilder};
use super::link::{LINK_CHECK, LinkWatch};
use super::program::BuiltIn;
use super::rx::Receiver;
use super::tx::{Transmitter, XdpTxSlot};
use super::umem::{State, Umem};
use crate::StopHandle;
use crate::bpf::XdpAttachMode;
use crate::error::{Error, Result};
use crate::packet::OwnedPacket;
use crate::ring::{Consumer, Producer};
use crate::source::{PacketSink, PacketSource, TxStats};
use crate::stats::CaptureStats;
use crate::sys;
use crate::sys::xdp as sx;

/// Readiness reported by [`XdpSocket::poll`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Readiness {
    /// The RX ring has frames.
    pub rx: bool,
    /// The TX ring has room.
    pub tx: bool,
}

/// An AF_XDP socket on one queue of one interface, with its own UMEM.
///
/// Receive with [`next_batch`](Self::next_batch) (zero-copy, frames go back
/// to the kernel when the batch drops) or [`recv`](Self::recv) (a copy);
/// send with [`send`](Self::send) or a zero-copy [`allocate`](Self::allocate),
/// then [`flush`](Self::flush).
///
/// `Send` but not `Sync`: the rings are single-producer / single-consumer,
/// so one thread at a time uses a socket. Sockets built together over one
/// UMEM ([`XdpSocketBuilder::build_shared`]) are independent values each
/// owning a disjoint partition of it; move each to its own thread. The
/// UMEM stays mapped, and registered with the kernel, until the last of
/// them is dropped, whichever socket registered it.
///
/// ```compile_fail
/// fn shared<T: Sync>() {}
/// shared::<netring::XdpSocket>();
/// ```
///
/// ```
/// fn sendable<T: Send>() {}
/// sendable::<netring::XdpSocket>();
/// ```
#[derive(Debug)]
pub struct XdpSocket {
    // Drop order matters: the program is detached first (no more frames
    // redirected), then the rings are unmapped, the socket closed, and the
    // UMEM unmapped last.
    pub(super) program: Option<Arc<BuiltIn>>,
    pub(super) rx: Option<Receiver>,
    pub(super) tx: Transmitter,
    pub(super) fill: Producer<u64>,
    pub(super) fd: OwnedFd,
    pub(super) umem: Umem,
    pub(super) interface: String,
    pub(super) ifindex: u32,
    pub(super) queue: u32,
    pub(super) need_wakeup: bool,
    pub(super) busy_poll: Option<BusyPoll>,
    pub(super) multi_buffer: bool,
    /// The longest frame [`PacketSink::allocate`] takes: MTU + Ethernet
    /// header, at most one UMEM frame.
    pub(super) max_tx_len: usize,
    pub(super) batch_size: u32,
    pub(super) stop: StopHandle,
    /// Whether the interface is still there (the kernel never says).
    pub(super) link: LinkWatch,
}

impl XdpSocket {
    /// Receive (and be able to send) on queue 0 of `interface` with default
    /// settings and the built-in XDP program.
    ///
    /// # Errors
    /// As [`XdpSocketBuilder::build`].
    pub fn open(interface: &str) -> Result<Self> {
        Self::builder().interface(interface).build()
    }

    /// A builder with default settings.
    pub fn builder() -> XdpSocketBuilder {
        XdpSocketBuilder::default()
    }

    /// The next batch of received frames, if any; never blocks.
    ///
    /// Takes up to the batch size of descriptors from the RX ring. Each is
    /// checked against the UMEM before it is believed: outside the UMEM,
    /// longer than a frame, or naming a frame the kernel was not given for
    /// receive, it is skipped and counted ([`XdpStats::skipped_descs`]).
    /// Dropping the batch gives its frames back to the fill ring.
    pub fn next_batch(&mut self) -> Option<XdpBatch<'_>> {
        self.take_batch(self.batch_size)
    }

    /// Up to `max` descriptors off the RX ring, as [`next_batch`](Self::next_batch).
    fn take_batch(&mut self, max: u32) -> Option<XdpBatch<'_>> {
        let rx = self.rx.as_mut()?;
        if !rx.take(max, self.multi_buffer, &mut self.umem, &mut self.fill) {
            // With busy polling, the empty poll is what runs the device's
            // NAPI loop (in recvfrom); otherwise only when the kernel asks.
            if self.busy_poll.is_some() || (self.need_wakeup && self.fill.needs_wakeup()) {
                let _ = sx::kick_rx(self.fd.as_fd());
            }
            return None;
        }
        let wake = self.need_wakeup.then(|| self.fd.as_fd());
        Some(XdpBatch::new(rx, &mut self.umem, &mut self.fill, wake, self.ifindex))
    }

    /// The next batch, waiting up to `timeout` (`None`: no limit);
    /// `Ok(None)` when the time runs out.
    ///
    /// Frames already on the RX ring are handed out first; a wait that
    /// finds none looks at the interface every 100 ms, because the kernel
    /// wakes no AF_XDP wait when its interface goes down or is deleted.
    ///
    /// # Errors
    /// [`Error::Stopped`] after [`StopHandle::stop`];
    /// [`Error::InterfaceDown`] when the interface goes down (once; later
    /// calls wait as usual, and the socket receives again if it comes back
    /// up); [`Error::InterfaceGone`] within 100 ms of its deletion (and on
    /// every later call); [`Error::Io`] if `poll` fails.
    pub fn next_batch_blocking(&mut self, timeout: Option<Duration>) -> Result<Option<XdpBatch<'_>>> {
        if !self.wait_rx(timeout)? {
            return Ok(None);
        }
        Ok(self.next_batch())
    }

    fn wait_rx(&mut self, timeout: Option<Duration>) -> Result<bool> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if self.check_rx_ready(false)? {
                return Ok(true);
            }
            if self.stop.is_stopped() {
                return Err(Error::Stopped);
            }
            let left = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(l) => Some(l),
                    None => return Ok(false),
                },
                None => None,
            };
            // Wake up in time for the next look at the interface.
            let left = Some(left.map_or(LINK_CHECK, |l| l.min(LINK_CHECK)));
            let [sock, _] = sys::poll([(self.fd.as_fd(), sys::POLLIN), (self.stop.event_fd(), sys::POLLIN)], left)
                .map_err(|e| Error::from_io("poll(AF_XDP)", e))?;
            if sock.error() {
                self.check_socket_error()?;
            }
        }
    }

    /// One look at the RX ring without waiting, for every kind of wait:
    /// `Ok(true)` when frames are ready. When none are, wake the kernel as
    /// [`next_batch`](Self::next_batch) would: a zero-copy driver may wait
    /// for a kick to take the fill ring (a poll(2) would give it one,
    /// xsk_poll; an epoll wait may not), and with busy polling the
    /// `recvfrom` is what runs the busy poll. `socket_error`: the wait
    /// reported `POLLERR`, so the pending socket error becomes an [`Error`].
    /// With the ring empty, looks at the interface when that is due (see
    /// [`next_batch_blocking`](Self::next_batch_blocking)).
    pub(crate) fn check_rx_ready(&mut self, socket_error: bool) -> Result<bool> {
        if self.rx.is_none() {
            return Err(no_ring("receive", "RX"));
        }
        if self.rx_ready() {
            return Ok(true);
        }
        if socket_error {
            self.check_socket_error()?;
        }
        self.link.check(self.fd.as_fd(), &self.interface)?;
        Ok(false)
    }

    /// Whether the RX ring holds frames, waking the kernel when it is empty
    /// as [`check_rx_ready`](Self::check_rx_ready) does; nothing else.
    pub(crate) fn rx_ready(&mut self) -> bool {
        let Some(rx) = self.rx.as_mut() else { return false };
        if rx.available(1) > 0 {
            return true;
        }
        if self.busy_poll.is_some() || (self.need_wakeup && self.fill.needs_wakeup()) {
            let _ = sx::kick_rx(self.fd.as_fd());
        }
        false
    }

    /// How often a wait must look again without a wake-up (the interface's
    /// state raises no event on an AF_XDP socket).
    #[cfg(feature = "tokio")]
    pub(crate) fn recheck_interval(&self) -> Duration {
        LINK_CHECK
    }

    /// Take over what a socket of the same set on the same interface
    /// reported (down or gone), so the set reports it once.
    pub(super) fn learn_link(&mut self, err: &Error) {
        self.link.learn(err);
    }

    pub(crate) fn check_socket_error(&self) -> Result<()> {
        sys::check_socket_error(self.fd.as_fd(), &self.interface, "poll(AF_XDP)")
    }

    /// One received frame, copied out (its UMEM frame goes straight back to
    /// the kernel), waiting up to `timeout`.
    ///
    /// # Errors
    /// As [`next_batch_blocking`](Self::next_batch_blocking).
    pub fn recv(&mut self, timeout: Option<Duration>) -> Result<Option<OwnedPacket>> {
        if !self.wait_rx(timeout)? {
            return Ok(None);
        }
        Ok(self.take_batch(1).and_then(|b| b.iter().next().map(|p| p.to_owned())))
    }

    /// A zero-copy transmit slot of `len` bytes in a UMEM frame: write the
    /// frame into it, then [`XdpTxSlot::send`]; the kernel sends it at the
    /// next [`flush`](Self::flush). `Ok(None)` when no frame or TX ring slot
    /// is free even after collecting completions and kicking the kernel.
    /// Dropping an unsent slot returns its frame. The same contract as
    /// [`PacketSink::allocate`], which is this method.
    ///
    /// A `len` below the 14-byte Ethernet header (0 included) gets a slot
    /// whose frame is counted as rejected when sent, never handed to the
    /// kernel (see [`XdpTxSlot::send`]).
    ///
    /// # Errors
    /// [`Error::FrameTooLarge`] when `len` exceeds the MTU + 14-byte
    /// Ethernet header or one UMEM frame ([`max_frame_len`](PacketSink::max_frame_len));
    /// [`Error::InvalidConfig`] for a socket without a TX ring;
    /// errors of [`flush`](Self::flush).
    pub fn allocate(&mut self, len: usize) -> Result<Option<XdpTxSlot<'_>>> {
        if !self.tx.has_ring() {
            return Err(no_ring("send", "TX"));
        }
        self.check_tx_len(len)?;
        self.tx.slot(&mut self.umem, self.fd.as_fd(), &self.interface, len)
    }

    /// Queue a copy of `frame` for transmit (in one UMEM frame); `Ok(false)`
    /// when nothing is free (see [`allocate`](Self::allocate)). Call
    /// [`flush`](Self::flush) after a burst. The same contract as
    /// [`PacketSink::send`], which is this method; a frame longer than one
    /// UMEM frame goes with [`send_chained`](Self::send_chained).
    ///
    /// # Errors
    /// As [`allocate`](Self::allocate).
    pub fn send(&mut self, frame: &[u8]) -> Result<bool> {
        PacketSink::send(self, frame)
    }

    /// Queue a copy of `frame` of any length up to 17 UMEM frames: a frame
    /// that fits one UMEM frame goes as [`send`](Self::send) does; a longer
    /// one as a chain of UMEM frames linked with `XDP_PKT_CONTD`, which needs
    /// a socket built with [multi-buffer](XdpSocketBuilder::multi_buffer)
    /// (Linux 6.6). `Ok(false)` when not enough frames or TX ring slots are
    /// free. The MTU is the kernel's to check for a chain.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a long frame on a socket without
    /// multi-buffer or without a TX ring; [`Error::FrameTooLarge`] beyond
    /// 17 UMEM frames; as [`allocate`](Self::allocate) otherwise.
    pub fn send_chained(&mut self, frame: &[u8]) -> Result<bool> {
        if frame.len() <= self.umem.frame_size() as usize {
            return self.send(frame);
        }
        if !self.tx.has_ring() {
            return Err(no_ring("send", "TX"));
        }
        if !self.multi_buffer {
            return Err(Error::config(
                "frame length",
                frame.len(),
                format!("is longer than one {}-byte UMEM frame: build with multi_buffer(true)", self.umem.frame_size()),
            ));
        }
        self.tx.send_chain(&mut self.umem, self.fd.as_fd(), &self.interface, frame)
    }

    /// Make the kernel transmit what was queued.
    ///
    /// In copy mode the kernel sends only from `sendto` (at most 32 frames
    /// per call), so this calls it until the TX ring is drained or stops
    /// making progress (completion ring full, device busy). In zero-copy mode
    /// it calls `sendto` only when the driver asked for a wakeup (with
    /// need-wakeup on) and once. Completed frames are collected either way.
    ///
    /// # Errors
    /// [`Error::InterfaceGone`] when the interface is gone; [`Error::Io`]
    /// for other `sendto` failures (`EAGAIN`, `EBUSY` and `ENOBUFS` only
    /// mean "later" and are not errors).
    pub fn flush(&mut self) -> Result<()> {
        self.tx.flush(&mut self.umem, self.fd.as_fd(), &self.interface)
    }

    /// Collect completed transmissions; returns how many frames came back
    /// (a multi-buffer frame counts once, when its last buffer does).
    pub fn complete_tx(&mut self) -> u32 {
        self.tx.complete(&mut self.umem)
    }

    /// Frames submitted for transmit and not yet completed.
    pub fn tx_in_flight(&self) -> usize {
        self.umem.count(State::Tx)
    }

    /// Flush and wait until every submitted frame has completed, up to
    /// `timeout` (`None`: no limit); `Ok(true)` when drained. The same
    /// contract as [`PacketSink::wait_drained`], which is this method.
    ///
    /// # Errors
    /// As [`flush`](Self::flush).
    pub fn wait_drained(&mut self, timeout: Option<Duration>) -> Result<bool> {
        match timeout {
            Some(t) => self.tx.wait_drained(&mut self.umem, self.fd.as_fd(), &self.interface, t),
            None => loop {
                if self.tx.wait_drained(&mut self.umem, self.fd.as_fd(), &self.interface, Duration::from_secs(1))? {
                    return Ok(true);
                }
            },
        }
    }

    /// Give up to `n` free frames to the kernel for receive; returns how many
    /// went on the fill ring.
    pub fn refill(&mut self, n: u32) -> u32 {
        let r = self.fill.reserve(n.min(self.umem.free_frames() as u32));
        for i in 0..r.len() {
            let addr = self.umem.take_for_fill().expect("reserved no more than free");
            self.fill.write(&r, i, addr);
        }
        let done = r.len();
        self.fill.submit(r);
        if self.need_wakeup && self.fill.needs_wakeup() {
            let _ = sx::kick_rx(self.fd.as_fd());
        }
        done
    }

    /// Wait up to `timeout` until frames arrive or the TX ring has room
    /// (`poll(2)`; in copy mode a poll also drives transmission).
    ///
    /// # Errors
    /// [`Error::InterfaceGone`]; [`Error::Io`] if `poll` fails.
    pub fn poll(&mut self, timeout: Option<Duration>) -> Result<Readiness> {
        let mut events = 0;
        if self.rx.is_some() {
            events |= sys::POLLIN;
        }
        if self.tx.has_ring() {
            events |= sys::POLLOUT;
        }
        let [r] = sys::poll([(self.fd.as_fd(), events)], timeout).map_err(|e| Error::from_io("poll(AF_XDP)", e))?;
        if r.error() {
            self.check_socket_error()?;
        }
        Ok(Readiness { rx: r.readable(), tx: r.writable() })
    }

    /// Receive counters, the same on every backend (this is
    /// [`PacketSource::stats`]): frames delivered, frames the kernel dropped
    /// (`rx_dropped + rx_ring_full`), no freezes. The AF_XDP detail is
    /// [`xdp_stats`](Self::xdp_stats); the transmit counters are
    /// [`tx_stats`](Self::tx_stats).
    ///
    /// # Errors
    /// `getsockopt(XDP_STATISTICS)` failed.
    pub fn stats(&mut self) -> Result<CaptureStats> {
        let s = self.xdp_stats()?;
        Ok(CaptureStats { packets: s.received, drops: s.drops(), freezes: 0 })
    }

    /// Transmit counters, the same on every backend (this is
    /// [`PacketSink::tx_stats`]): reaps completions first; a frame is sent
    /// when the kernel completed it, rejected counts the kernel's
    /// `tx_invalid_descs` and the frames shorter than an Ethernet header
    /// that [`XdpTxSlot::send`] kept back.
    pub fn tx_stats(&mut self) -> TxStats {
        self.complete_tx();
        let c = self.tx.counters;
        let rejected = sx::statistics(self.fd.as_fd()).map_or(0, |k| k.tx_invalid_descs) + c.runts;
        TxStats {
            queued: c.queued,
            sent: c.completed,
            bytes: c.completed_bytes,
            rejected,
            pending: c.queued.saturating_sub(c.completed + rejected),
        }
    }

    /// The AF_XDP counters in full: the kernel's (`XDP_STATISTICS`, 64-bit,
    /// cumulative) and netring's (frames received, descriptors skipped,
    /// corrupt ring indices, transmit counts).
    ///
    /// # Errors
    /// `getsockopt(XDP_STATISTICS)` failed.
    pub fn xdp_stats(&self) -> Result<XdpStats> {
        let k = sx::statistics(self.fd.as_fd())?;
        let corrupt = self.rx.as_ref().map_or(0, |r| r.ring().corrupt_indices())
            + self.tx.ring().map_or(0, Producer::corrupt_indices)
            + self.fill.corrupt_indices()
            + Consumer::corrupt_indices(self.tx.completion_ring());
        let (received, skipped_rx) = self.rx.as_ref().map_or((0, 0), |r| (r.received, r.skipped));
        let c = self.tx.counters;
        Ok(XdpStats {
            rx_dropped: k.rx_dropped,
            rx_invalid_descs: k.rx_invalid_descs,
            tx_invalid_descs: k.tx_invalid_descs,
            rx_ring_full: k.rx_ring_full,
            rx_fill_ring_empty_descs: k.rx_fill_ring_empty_descs,
            tx_ring_empty_descs: k.tx_ring_empty_descs,
            received,
            completed: c.completed,
            skipped_descs: skipped_rx + c.skipped_completions + corrupt,
        })
    }

    /// Busy-poll settings: `usecs` and `prefer` as the kernel reports them
    /// (`SO_BUSY_POLL`, `SO_PREFER_BUSY_POLL`), `budget` as set (the kernel
    /// does not report `SO_BUSY_POLL_BUDGET`; 0 when never set).
    ///
    /// # Errors
    /// `getsockopt` failed.
    pub fn busy_poll(&self) -> Result<BusyPoll> {
        let (usecs, prefer) = sx::busy_poll(self.fd.as_fd())?;
        Ok(BusyPoll { usecs, budget: self.busy_poll.map_or(0, |b| b.budget), prefer })
    }

    /// Whether the socket was bound for multi-buffer frames (`XDP_USE_SG`).
    pub fn multi_buffer(&self) -> bool {
        self.multi_buffer
    }

    /// Whether the kernel bound in zero-copy mode (`XDP_OPTIONS`).
    pub fn zero_copy(&self) -> bool {
        self.tx.zero_copy()
    }

    /// Where the built-in program runs, if this socket attached it.
    pub fn attach_mode(&self) -> Option<XdpAttachMode> {
        self.program.as_ref().map(|p| p.mode())
    }

    /// The kernel's id of the built-in program, if attached.
    pub fn program_id(&self) -> Option<u32> {
        self.program.as_ref().and_then(|p| p.id())
    }

    /// A handle that ends blocking waits from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// The interface name.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The queue id.
    pub fn queue(&self) -> u32 {
        self.queue
    }

    /// Bytes per UMEM frame.
    pub fn frame_size(&self) -> u32 {
        self.umem.frame_size()
    }

    /// Frames on the user-space free list (available for sending).
    pub fn free_frames(&self) -> usize {
        self.umem.free_frames()
    }

    /// `len` within [`max_frame_len`](PacketSink::max_frame_len): the MTU +
    /// Ethernet header, at most one UMEM frame (the error names whichever
    /// limit binds).
    fn check_tx_len(&self, len: usize) -> Result<()> {
        if len <= self.max_tx_len {
            return Ok(());
        }
        let fs = self.umem.frame_size();
        let why = if self.max_tx_len == fs as usize {
            format!("one UMEM frame holds {fs} bytes")
        } else {
            format!("the MTU + {ETH_HLEN}-byte Ethernet header, within one {fs}-byte UMEM frame")
        };
        Err(Error::FrameTooLarge { len, limit: self.max_tx_len, interface: self.interface.clone(), why })
    }
}

impl AsFd for XdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn no_ring(what: &str, ring: &str) -> Error {
    Error::config(
        "mode",
        format!("without a {ring} ring"),
        format!("cannot {what}: build with an XdpMode that has one"),
    )
}

impl PacketSource for XdpSocket {
    type Batch<'a> = XdpBatch<'a>;

    fn next_batch(&mut self) -> Option<XdpBatch<'_>> {
        XdpSocket::next_batch(self)
    }

    fn next_batch_blocking(&mut self, timeout: Option<Duration>) -> Result<Option<XdpBatch<'_>>> {
        XdpSocket::next_batch_blocking(self, timeout)
    }

    /// `packets` = frames received, `drops` = `rx_dropped + rx_ring_full`,
    /// `freezes` = 0 (AF_XDP has no ring freeze).
    fn stats(&mut self) -> Result<CaptureStats> {
        XdpSocket::stats(self)
    }
}

/// The AF_XDP TX path behind the common transmit trait: slots are UMEM
/// frames (zero-copy), [`flush`](PacketSink::flush) is
/// [`XdpSocket::flush`], a frame is [sent](TxStats::sent) when the kernel
/// completed it, [rejected](TxStats::rejected) counts the kernel's
/// `tx_invalid_descs` and the frames shorter than an Ethernet header, which
/// are kept back (see [`XdpTxSlot::send`]). Frames are limited to the MTU +
/// 14 bytes (and one UMEM frame).
impl PacketSink for XdpSocket {
    type Slot<'a> = XdpTxSlot<'a>;

    fn max_frame_len(&self) -> usize {
        self.max_tx_len
    }

    fn allocate(&mut self, len: usize) -> Result<Option<XdpTxSlot<'_>>> {
        XdpSocket::allocate(self, len)
    }

    fn allocate_blocking(&mut self, len: usize, timeout: Option<Duration>) -> Result<Option<XdpTxSlot<'_>>> {
        self.check_tx_len(len)?;
        if !self.tx.has_ring() {
            return Err(no_ring("send", "TX"));
        }
        if self.tx.room(&mut self.umem) {
            return XdpSocket::allocate(self, len); // no clock read while there is room
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            self.flush()?;
            if self.tx.room(&mut self.umem) {
                return XdpSocket::allocate(self, len);
            }
            let mut wait = Duration::from_millis(1);
            if let Some(d) = deadline {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(None);
                }
                wait = wait.min(left);
            }
            // Completions raise no event: look again shortly.
            self.poll(Some(wait))?;
        }
    }

    fn flush(&mut self) -> Result<()> {
        XdpSocket::flush(self)
    }

    fn wait_drained(&mut self, timeout: Option<Duration>) -> Result<bool> {
        XdpSocket::wait_drained(self, timeout)
    }

    fn tx_stats(&mut self) -> TxStats {
        XdpSocket::tx_stats(self)
    }

    /// The socket's UMEM frames (its partition of a shared UMEM).
    fn buffer_count(&self) -> usize {
        self.umem.frames()
    }

    fn buffer_generation(&self) -> u64 {
        self.umem.generation()
    }
}

/// Receive over rings on heap memory, with `ring::sim` playing the kernel:
/// no privileges, no system call on the data path.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::sim::{self, SimKernel};
    use crate::sys::call::fake;
    use crate::sys::xdp::xdp_desc;

    /// A receive socket over a heap UMEM of 8 frames, with the kernel's
    /// halves of its RX and fill rings.
    fn socket(batch_size: u32) -> (XdpSocket, SimKernel<xdp_desc>, SimKernel<u64>) {
        let fd = {
            let _k = fake::install_default();
            sx::socket().unwrap()
        };
        let (rx, rx_k) = sim::consumer::<xdp_desc>(8, 0);
        let (fill, fill_k) = sim::producer::<u64>(8, 0);
        let (comp, _) = sim::consumer::<u64>(8, 0);
        let sock = XdpSocket {
            program: None,
            rx: Some(Receiver::new(rx, batch_size)),
            tx: Transmitter::new(None, comp, false, false),
            fill,
            fd,
            umem: Umem::heap(2048, 8),
            interface: "sim0".into(),
            ifindex: 7,
            queue: 0,
            need_wakeup: false,
            busy_poll: None,
            multi_buffer: false,
            max_tx_len: 1514,
            batch_size,
            stop: StopHandle::new().unwrap(),
            link: LinkWatch::new(),
        };
        (sock, rx_k, fill_k)
    }

    /// The kernel takes `n` fill-ring frames and delivers a frame of
    /// `len_of(i)` bytes in each, in order.
    fn deliver(rx_k: &SimKernel<xdp_desc>, fill_k: &SimKernel<u64>, n: u32, len_of: impl Fn(u32) -> u32) -> usize {
        let addrs = fill_k.consume(n);
        let descs: Vec<xdp_desc> =
            addrs.iter().zip(0..).map(|(&addr, i)| xdp_desc { addr, len: len_of(i), options: 0 }).collect();
        rx_k.produce(&descs)
    }

    #[test]
    fn recv_takes_one_frame_and_leaves_the_rest_on_the_ring() {
        let (mut sock, rx_k, fill_k) = socket(4);
        assert_eq!(sock.refill(8), 8);
        assert_eq!(deliver(&rx_k, &fill_k, 3, |i| 60 + i), 3);
        let one = sock.recv(Some(Duration::ZERO)).unwrap().expect("a frame is ready");
        assert_eq!(one.data.len(), 60);
        assert_eq!(sock.batch_size, 4, "recv does not change the configuration");
        // The other two stay on the RX ring for the next batch.
        let b = sock.next_batch().expect("two left");
        assert_eq!(b.iter().map(|p| p.len()).collect::<Vec<_>>(), [61, 62]);
        drop(b);
        assert!(sock.next_batch().is_none());
        let st = sock.rx.as_ref().unwrap();
        assert_eq!((st.received, st.skipped), (3, 0));
        // Every frame went back to the fill ring: the kernel can take all 8.
        assert_eq!(fill_k.consume(8).len(), 8);
    }

    #[test]
    fn a_batch_takes_at_most_the_batch_size_and_refuses_a_bad_descriptor() {
        let (mut sock, rx_k, fill_k) = socket(2);
        sock.refill(8);
        assert_eq!(deliver(&rx_k, &fill_k, 3, |i| if i == 1 { 4096 } else { 100 }), 3);
        let b = sock.next_batch().unwrap();
        assert_eq!(b.len(), 1, "of two descriptors, the one longer than a frame is refused");
        drop(b);
        assert_eq!(sock.next_batch().unwrap().len(), 1);
        assert_eq!(sock.rx.as_ref().unwrap().skipped, 1);
    }
}
