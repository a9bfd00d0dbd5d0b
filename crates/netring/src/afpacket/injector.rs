//! [`Injector`]: an AF_PACKET socket with a `PACKET_TX_RING` (set up by
//! [`InjectorBuilder`](super::InjectorBuilder)), and [`TxSlot`], one frame
//! being filled in place.
//!
//! # Which TPACKET version, and why V2
//!
//! The kernel's TX path (`tpacket_snd()`) is the same for every version:
//! frame after frame from its head, reading the frame length from the
//! version's header and the bytes from `tp_hdrlen - sizeof(sockaddr_ll)`
//! into the slot. What differs:
//!
//! * **V1** (`struct tpacket_hdr`) has an `unsigned long tp_status`: its
//!   layout changes with the word size, which is why libpcap and the kernel
//!   documentation steer away from it. Not offered.
//! * **V2** (`struct tpacket2_hdr`): 32-byte header, data at offset 32. TX
//!   rings work with it since Linux 2.6.31.
//! * **V3** (`struct tpacket3_hdr`): for TX it is *not* block-based — the
//!   kernel accepts `tpacket_req3` only with `tp_retire_blk_tov`,
//!   `tp_sizeof_priv` and `tp_feature_req_word` all zero and walks fixed
//!   frames as under V2, refusing any frame with `tp_next_offset != 0`
//!   ("variable sized slot not supported"). Header 48 bytes, data at 48.
//!   Linux 4.11.
//!
//! V3 buys nothing for transmission and costs 16 bytes per slot and four
//! kernel releases, so the default is **V2**.
//! [`InjectorBuilder::version`](super::InjectorBuilder::version) selects V3 for users who want one version
//! on every socket; both are checked byte for byte over a veth link in the
//! tests.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use super::frame_limit::FrameLimit;
use super::tx_ring::{FrameLayout, TxRing};
use crate::error::{Error, Result};
use crate::source::{PacketSink, SinkSlot, TxStats};
use crate::sys::packet::{self as pk, SendError};
use crate::sys::{self, tpacket as tp};

/// Which TPACKET header layout the TX ring uses (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TpacketVersion {
    /// `TPACKET_V2`: 32-byte frame header. The default.
    #[default]
    V2,
    /// `TPACKET_V3`: 48-byte frame header, `tp_next_offset` 0 (Linux 4.11).
    V3,
}

impl TpacketVersion {
    pub(super) fn layout(self) -> FrameLayout {
        match self {
            Self::V2 => FrameLayout::V2,
            Self::V3 => FrameLayout::V3,
        }
    }

    pub(super) fn sockopt(self) -> i32 {
        match self {
            Self::V2 => tp::TPACKET_V2,
            Self::V3 => tp::TPACKET_V3,
        }
    }
}

/// How long `wait_drained` lets one blocking kick wait before it looks again.
const WAIT_SLICE: Duration = Duration::from_millis(100);
/// How long a blocked allocation polls before kicking again.
const POLL_SLICE: Duration = Duration::from_millis(10);
/// Back-off when the kernel is congested (`ENOBUFS`/`EAGAIN`) or `POLLOUT`
/// came from free send-buffer space rather than a released slot.
const BACKOFF: Duration = Duration::from_micros(50);

/// An AF_PACKET socket sending through a `PACKET_TX_RING`.
///
/// Frames are written in place into ring slots ([`allocate`](Self::allocate)
/// → fill → [`TxSlot::send`]), and one [`flush`](Self::flush) asks the
/// kernel to transmit everything queued. A frame counts as
/// [sent](TxStats::sent) only once the kernel has released its slot after
/// transmission; frames the kernel refuses count as
/// [rejected](TxStats::rejected).
///
/// Needs `CAP_NET_RAW`. Linux 2.6.31 (TX ring), 3.14 for
/// [`InjectorBuilder::qdisc_bypass`](super::InjectorBuilder::qdisc_bypass), 4.11 for [`TpacketVersion::V3`].
///
/// ```no_run
/// let mut inj = netring::Injector::open("eth0")?;
/// for seq in 0..1000u64 {
///     let mut slot = inj.allocate_blocking(60, None)?.expect("no timeout");
///     slot.fill(0);
///     slot[..6].fill(0xff); // broadcast
///     slot[12..14].copy_from_slice(&0x88b5u16.to_be_bytes()); // local experimental EtherType
///     slot[14..22].copy_from_slice(&seq.to_be_bytes());
///     slot.send();
///     if seq % 64 == 63 {
///         inj.flush()?;
///     }
/// }
/// inj.flush()?;
/// inj.wait_drained(None)?;
/// assert_eq!(inj.tx_stats().sent, 1000);
/// # Ok::<(), netring::Error>(())
/// ```
#[derive(Debug)]
pub struct Injector {
    // `ring` drops (unmaps) before `fd` closes: fields drop in order.
    pub(super) ring: TxRing,
    pub(super) fd: OwnedFd,
    pub(super) interface: String,
    pub(super) ifindex: u32,
    pub(super) limit: FrameLimit,
    pub(super) version: TpacketVersion,
    pub(super) qdisc_bypass: bool,
    pub(super) stats: TxStats,
    /// The ring's `head` when a kick last moved everything: a flush with
    /// nothing queued since makes no system call.
    pub(super) kicked: u64,
    /// Grows when a refused frame moved queued frames back a slot
    /// ([`PacketSink::buffer_generation`]).
    pub(super) generation: u64,
}

/// Whether a kick moved everything it could.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kick {
    Done,
    /// The kernel kept frames queued (`EAGAIN`, `ENOBUFS`, timeout).
    Congested,
}

impl Injector {
    fn check_len(&self, len: usize) -> Result<()> {
        self.limit.check(len, &self.interface)
    }

    /// Count what the kernel has released.
    #[inline]
    fn reclaim(&mut self) {
        let r = self.ring.reclaim();
        self.stats.sent += r.frames;
        self.stats.bytes += r.bytes;
    }

    /// The next free slot for a frame of `len` bytes, or `None` when the
    /// ring is full (call [`flush`](Self::flush) and try again, or use
    /// [`allocate_blocking`](Self::allocate_blocking)). No system call.
    ///
    /// A frame shorter than the link-layer header is accepted here and
    /// refused by the kernel, which counts it as rejected.
    ///
    /// # Errors
    /// [`Error::FrameTooLarge`] if `len` exceeds
    /// [`max_frame_len`](Self::max_frame_len).
    #[inline]
    pub fn allocate(&mut self, len: usize) -> Result<Option<TxSlot<'_>>> {
        self.check_len(len)?;
        if !self.ring.can_fill() {
            self.reclaim();
            if !self.ring.can_fill() {
                return Ok(None);
            }
        }
        Ok(Some(TxSlot { inj: self, len }))
    }

    /// Like [`allocate`](Self::allocate), but when the ring is full, kick
    /// the kernel and wait (`poll` for `POLLOUT`) up to `timeout` (`None`:
    /// no limit) for a slot; `Ok(None)` when the time runs out.
    ///
    /// `POLLOUT` on a packet socket also reports free send-buffer space
    /// (`datagram_poll()`), not only a released slot, so when it comes
    /// without a free slot the wait backs off for 50 µs.
    ///
    /// # Errors
    /// [`Error::FrameTooLarge`]; [`Error::InterfaceDown`] /
    /// [`Error::InterfaceGone`]; [`Error::Io`] from `send` or `poll`.
    pub fn allocate_blocking(&mut self, len: usize, timeout: Option<Duration>) -> Result<Option<TxSlot<'_>>> {
        self.check_len(len)?;
        if self.ring.can_fill() {
            return Ok(Some(TxSlot { inj: self, len })); // no clock read while there is room
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        while !self.ring.can_fill() {
            self.reclaim();
            if self.ring.can_fill() {
                break;
            }
            self.kick(false)?;
            self.reclaim();
            if self.ring.can_fill() {
                break;
            }
            let left = match deadline.map(|d| d.saturating_duration_since(Instant::now())) {
                Some(l) if l.is_zero() => return Ok(None),
                Some(l) => l.min(POLL_SLICE),
                None => POLL_SLICE,
            };
            let [r] =
                sys::poll([(self.fd.as_fd(), sys::POLLOUT)], Some(left)).map_err(|e| Error::from_io("poll", e))?;
            if r.error() {
                self.check_socket_error()?;
            }
            self.reclaim();
            if r.writable() && !self.ring.can_fill() {
                std::thread::sleep(BACKOFF);
            }
        }
        Ok(Some(TxSlot { inj: self, len }))
    }

    /// Queue a copy of `frame`; `Ok(false)` when the ring is full.
    ///
    /// # Errors
    /// [`Error::FrameTooLarge`].
    pub fn send(&mut self, frame: &[u8]) -> Result<bool> {
        <Self as PacketSink>::send(self, frame)
    }

    /// Ask the kernel to transmit every queued frame: one
    /// `send(fd, NULL, 0, MSG_DONTWAIT)`. Frames the kernel cannot take
    /// right now (device or send buffer full) stay queued for the next
    /// flush. A frame the kernel refuses is counted as rejected and removed,
    /// and the frames behind it are kicked again.
    ///
    /// # Errors
    /// [`Error::InterfaceDown`] (frames stay queued), [`Error::InterfaceGone`],
    /// or [`Error::Io`] from `send`.
    pub fn flush(&mut self) -> Result<()> {
        if self.kicked == self.ring.head() {
            return Ok(()); // nothing queued since the last complete kick
        }
        self.kick(false).map(drop)
    }

    /// Kick the kernel; `wait` uses a blocking `send`, which returns once
    /// every frame is sent and released, or after `SO_SNDTIMEO`.
    fn kick(&mut self, wait: bool) -> Result<Kick> {
        loop {
            let err = match pk::kick_tx_ring(self.fd.as_fd(), wait) {
                Ok(_) => {
                    self.kicked = self.ring.head();
                    return Ok(Kick::Done);
                }
                Err(e) => e,
            };
            match SendError::of(&err) {
                SendError::Interrupted if !wait => continue,
                SendError::Interrupted | SendError::Congested => return Ok(Kick::Congested),
                SendError::NetDown => return Err(Error::InterfaceDown { name: self.interface.clone() }),
                SendError::NoDevice => return Err(Error::InterfaceGone { name: self.interface.clone() }),
                SendError::Refused | SendError::Other => {}
            }
            // With PACKET_LOSS off, a refused frame fails the kick with the
            // reason and stays as TP_STATUS_WRONG_FORMAT at the kernel's head.
            let Some(index) = self.ring.find_rejected() else {
                return Err(Error::from_io("send(PACKET_TX_RING)", err));
            };
            let len = self.ring.remove_rejected(index);
            self.stats.rejected += 1;
            self.generation += 1;
            tracing::debug!(interface = %self.interface, len, error = %err, "frame rejected by the kernel");
        }
    }

    fn check_socket_error(&mut self) -> Result<()> {
        match sys::take_socket_error(self.fd.as_fd()) {
            None => Ok(()),
            Some(e) if SendError::of(&e) == SendError::NetDown => {
                Err(Error::InterfaceDown { name: self.interface.clone() })
            }
            Some(e) => Err(Error::from_io("poll(PACKET_TX_RING)", e)),
        }
    }

    /// Kick the kernel and wait up to `timeout` (`None`: no limit) until it
    /// has sent and released every queued frame. `Ok(true)` when nothing is
    /// pending any more, `Ok(false)` when the time ran out first.
    ///
    /// Uses a blocking `send()`, which the kernel returns from only when its
    /// count of frames in flight is zero (`tpacket_snd()` waits on
    /// `skb_completion`), bounded by `SO_SNDTIMEO`.
    ///
    /// # Errors
    /// As [`flush`](Self::flush).
    pub fn wait_drained(&mut self, timeout: Option<Duration>) -> Result<bool> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            self.reclaim();
            if self.ring.pending() == 0 {
                return Ok(true);
            }
            let slice = match deadline.map(|d| d.saturating_duration_since(Instant::now())) {
                Some(l) if l.is_zero() => return Ok(false),
                Some(l) => l.min(WAIT_SLICE),
                None => WAIT_SLICE,
            };
            sys::set_send_timeout(self.fd.as_fd(), slice)?;
            if self.kick(true)? == Kick::Congested {
                self.reclaim();
                if self.ring.pending() != 0 {
                    std::thread::sleep(BACKOFF);
                }
            }
        }
    }

    /// Counters so far (frames the kernel released are counted first).
    pub fn tx_stats(&mut self) -> TxStats {
        self.reclaim();
        TxStats { pending: u64::from(self.ring.pending()), ..self.stats }
    }

    /// Frames queued and not yet released by the kernel (no system call).
    pub fn pending(&self) -> usize {
        self.ring.pending() as usize
    }

    /// The longest frame [`allocate`](Self::allocate) accepts: the
    /// interface MTU plus its link-layer header, or a ring slot's data area
    /// if that is smaller.
    pub fn max_frame_len(&self) -> usize {
        self.limit.max
    }

    /// Number of ring slots.
    pub fn frame_count(&self) -> usize {
        self.ring.frame_count() as usize
    }

    /// Bytes per ring slot, header included.
    pub fn frame_size(&self) -> usize {
        self.ring.geometry().frame_size
    }

    /// The TPACKET version set on the socket.
    pub fn version(&self) -> TpacketVersion {
        self.version
    }

    /// Whether `PACKET_QDISC_BYPASS` is on.
    pub fn qdisc_bypass(&self) -> bool {
        self.qdisc_bypass
    }

    /// The interface name.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }
}

impl AsFd for Injector {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// One frame being written in place in a TX ring slot. Dereferences to its
/// bytes (`len` of them, initially whatever the slot held before).
/// [`send`](Self::send) queues it; dropping it unsent leaves the slot free.
///
/// Holding a slot borrows the [`Injector`] mutably, so nothing else happens
/// on the ring while it is filled.
#[derive(Debug)]
pub struct TxSlot<'a> {
    inj: &'a mut Injector,
    len: usize,
}

impl TxSlot<'_> {
    /// Queue the frame. It leaves on the next [`Injector::flush`].
    #[inline]
    pub fn send(self) {
        self.inj.ring.queue(self.len);
        self.inj.stats.queued += 1;
    }

    /// The frame length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the frame is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Which ring slot this is (`0..`[`Injector::frame_count`]): see
    /// [`SinkSlot`] for what a slot keeps between laps.
    #[inline]
    pub fn buffer_index(&self) -> usize {
        self.inj.ring.head_slot() as usize
    }

    /// Change the frame length (the bytes already written stay).
    ///
    /// # Errors
    /// [`Error::FrameTooLarge`] beyond [`Injector::max_frame_len`].
    pub fn set_len(&mut self, len: usize) -> Result<()> {
        self.inj.check_len(len)?;
        self.len = len;
        Ok(())
    }
}

impl std::ops::Deref for TxSlot<'_> {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        self.inj.ring.peek_frame(self.len).expect("a held slot stays user-owned")
    }
}

impl std::ops::DerefMut for TxSlot<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        self.inj.ring.next_frame(self.len).expect("a held slot stays user-owned")
    }
}

impl SinkSlot for TxSlot<'_> {
    fn send(self) {
        TxSlot::send(self)
    }

    fn buffer_index(&self) -> usize {
        TxSlot::buffer_index(self)
    }
}

impl PacketSink for Injector {
    type Slot<'a> = TxSlot<'a>;

    fn max_frame_len(&self) -> usize {
        Injector::max_frame_len(self)
    }

    fn allocate(&mut self, len: usize) -> Result<Option<TxSlot<'_>>> {
        Injector::allocate(self, len)
    }

    fn allocate_blocking(&mut self, len: usize, timeout: Option<Duration>) -> Result<Option<TxSlot<'_>>> {
        Injector::allocate_blocking(self, len, timeout)
    }

    fn flush(&mut self) -> Result<()> {
        Injector::flush(self)
    }

    fn wait_drained(&mut self, timeout: Option<Duration>) -> Result<bool> {
        Injector::wait_drained(self, timeout)
    }

    fn tx_stats(&mut self) -> TxStats {
        Injector::tx_stats(self)
    }

    /// The ring's slots.
    fn buffer_count(&self) -> usize {
        self.frame_count()
    }

    /// Counts the refused frames whose removal moved queued frames back a
    /// slot (see [`flush`](Injector::flush)).
    fn buffer_generation(&self) -> u64 {
        self.generation
    }
}
