//! [`Injector`] and [`InjectorBuilder`]: an AF_PACKET socket with a
//! `PACKET_TX_RING`, and [`TxSlot`], one frame being filled in place.
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
//! [`InjectorBuilder::version`] selects V3 for users who want one version
//! on every socket; both are checked byte for byte over a veth link in the
//! tests.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use super::tx_ring::{FrameLayout, Geometry, TxRing};
use crate::error::{Error, Result};
use crate::source::{PacketSink, SinkSlot, TxStats};
use crate::sys::{self, Mmap, iface, tpacket as tp};

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
    fn layout(self) -> FrameLayout {
        match self {
            Self::V2 => FrameLayout::V2,
            Self::V3 => FrameLayout::V3,
        }
    }

    fn sockopt(self) -> i32 {
        match self {
            Self::V2 => tp::TPACKET_V2,
            Self::V3 => tp::TPACKET_V3,
        }
    }
}

/// Default ring size in bytes when the frame count is not set: 4 MiB.
pub const DEFAULT_TX_RING_BYTES: usize = 4 << 20;

/// How long `wait_drained` lets one blocking kick wait before it looks again.
const WAIT_SLICE: Duration = Duration::from_millis(100);
/// How long a blocked allocation polls before kicking again.
const POLL_SLICE: Duration = Duration::from_millis(10);
/// Back-off when the kernel is congested (`ENOBUFS`/`EAGAIN`) or `POLLOUT`
/// came from free send-buffer space rather than a released slot.
const BACKOFF: Duration = Duration::from_micros(50);

/// Builder for an [`Injector`]. Every setter takes and returns the builder
/// by value; [`build`](Self::build) validates everything once.
///
/// ```no_run
/// let inj = netring::Injector::builder()
///     .interface("eth0")
///     .frame_count(4096)
///     .qdisc_bypass(true)
///     .build()?;
/// # Ok::<(), netring::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct InjectorBuilder {
    interface: Option<String>,
    frame_size: Option<usize>,
    frame_count: Option<usize>,
    qdisc_bypass: bool,
    version: TpacketVersion,
    netns: Option<String>,
}

impl InjectorBuilder {
    /// The interface to send on (required).
    pub fn interface(mut self, name: impl Into<String>) -> Self {
        self.interface = Some(name.into());
        self
    }

    /// Bytes per ring slot, header included: a multiple of 16. Default: the
    /// smallest power of two that holds the header and an MTU-sized frame
    /// (2048 for MTU 1500, 16384 for MTU 9000).
    pub fn frame_size(mut self, bytes: usize) -> Self {
        self.frame_size = Some(bytes);
        self
    }

    /// Number of slots (1..=1048576), rounded up to fill the last block.
    /// Default: as many as fit in 4 MiB, at least 16.
    pub fn frame_count(mut self, n: usize) -> Self {
        self.frame_count = Some(n);
        self
    }

    /// Hand frames straight to the driver (`PACKET_QDISC_BYPASS`, Linux
    /// 3.14): faster, but no traffic control, and frames the device refuses
    /// are retried by the kernel rather than queued. Default off.
    pub fn qdisc_bypass(mut self, on: bool) -> Self {
        self.qdisc_bypass = on;
        self
    }

    /// The TPACKET version of the ring's frame headers. Default
    /// [`TpacketVersion::V2`]; see the module documentation for why.
    pub fn version(mut self, v: TpacketVersion) -> Self {
        self.version = v;
        self
    }

    /// Open the socket inside the named network namespace (`/run/netns/NAME`
    /// as `ip netns` names them, or a path such as `/proc/PID/ns/net`); it
    /// stays there wherever it is used. Needs `CAP_SYS_ADMIN`. The interface
    /// name is looked up there.
    pub fn netns(mut self, name: impl Into<String>) -> Self {
        self.netns = Some(name.into());
        self
    }

    fn validate(&self, mtu: u32, link_header: usize) -> Result<(Geometry, usize)> {
        let layout = self.version.layout();
        let data = layout.data_offset();
        let frame_size =
            self.frame_size.unwrap_or_else(|| (data + mtu as usize + link_header).next_power_of_two().max(2048));
        let min_frame = tp::tpacket_align(data + 20 + tp::ETH_HLEN);
        if !frame_size.is_multiple_of(tp::TPACKET_ALIGNMENT) || frame_size < min_frame || frame_size > 1 << 30 {
            return Err(Error::config(
                "frame_size",
                frame_size,
                format!("must be a multiple of {} in {min_frame}..=1 GiB", tp::TPACKET_ALIGNMENT),
            ));
        }
        let block_size = frame_size.max(sys::page_size()).next_power_of_two();
        let per_block = block_size / frame_size;
        let want = self.frame_count.unwrap_or((DEFAULT_TX_RING_BYTES / frame_size).clamp(16, 1 << 20));
        if !(1..=1 << 20).contains(&want) {
            return Err(Error::config("frame_count", want, "must be 1..=1048576"));
        }
        let blocks = want.div_ceil(per_block);
        let geo = Geometry { block_size, block_count: blocks, frame_size };
        if geo.bytes() > 1 << 32 {
            return Err(Error::config("frame_count", want, "makes the ring larger than 4 GiB"));
        }
        Ok((geo, data))
    }

    /// Open the socket, set up the TX ring and bind it.
    ///
    /// The socket is created in the network namespace of the calling
    /// thread. It is bound with protocol 0, so it receives nothing.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a value that breaks a rule;
    /// [`Error::InterfaceNotFound`]; [`Error::PermissionDenied`] without
    /// `CAP_NET_RAW`; [`Error::Unsupported`] for V3 before Linux 4.11;
    /// [`Error::Io`] naming the failing call.
    pub fn build(mut self) -> Result<Injector> {
        if let Some(ns) = self.netns.take() {
            return crate::netns::NetNs::open(&ns)?.run(move || self.build())?;
        }
        let name = self.interface.clone().ok_or_else(|| Error::config("interface", "<unset>", "is required"))?;
        iface::validate_name(&name)?;
        let ifindex = iface::index(&name)?;
        let mtu = iface::mtu(&name)?;
        let link_header = match iface::hwaddr(&name)?.0 {
            // ARPHRD_ETHER, ARPHRD_LOOPBACK: 14-byte Ethernet header.
            1 | 772 => tp::ETH_HLEN,
            _ => 0,
        };
        let (geo, _) = self.validate(mtu, link_header)?;

        let fd = sys::socket(libc::AF_PACKET, libc::SOCK_RAW, 0, "socket(AF_PACKET, SOCK_RAW)")?;
        let sock = fd.as_fd();
        sys::setsockopt(
            sock,
            libc::SOL_PACKET,
            tp::PACKET_VERSION,
            &self.version.sockopt(),
            "setsockopt(PACKET_VERSION)",
        )?;
        // Off (the default, made explicit): a frame the kernel refuses is
        // marked TP_STATUS_WRONG_FORMAT and reported, not silently skipped.
        let loss: i32 = 0;
        sys::setsockopt(sock, libc::SOL_PACKET, tp::PACKET_LOSS, &loss, "setsockopt(PACKET_LOSS)")?;
        if self.qdisc_bypass {
            let on: i32 = 1;
            sys::setsockopt(sock, libc::SOL_PACKET, tp::PACKET_QDISC_BYPASS, &on, "setsockopt(PACKET_QDISC_BYPASS)")?;
        }
        let req = tp::tpacket_req {
            tp_block_size: geo.block_size as u32,
            tp_block_nr: geo.block_count as u32,
            tp_frame_size: geo.frame_size as u32,
            tp_frame_nr: geo.frame_count() as u32,
        };
        let ring_err = |e: Error| match e.raw_os_error() {
            Some(libc::ENOMEM) => {
                Error::config("TX ring size", geo.bytes(), "the kernel could not allocate it (ENOMEM)")
            }
            Some(libc::EINVAL) if self.version == TpacketVersion::V3 => {
                Error::Unsupported { feature: "PACKET_TX_RING with TPACKET_V3", detail: "needs Linux 4.11".into() }
            }
            _ => e,
        };
        match self.version {
            TpacketVersion::V2 => {
                sys::setsockopt(sock, libc::SOL_PACKET, tp::PACKET_TX_RING, &req, "setsockopt(PACKET_TX_RING)")
            }
            TpacketVersion::V3 => {
                // The V3 TX ring takes tpacket_req3 with every V3-only field zero.
                let req3 = tp::tpacket_req3 {
                    tp_block_size: req.tp_block_size,
                    tp_block_nr: req.tp_block_nr,
                    tp_frame_size: req.tp_frame_size,
                    tp_frame_nr: req.tp_frame_nr,
                    ..Default::default()
                };
                sys::setsockopt(sock, libc::SOL_PACKET, tp::PACKET_TX_RING, &req3, "setsockopt(PACKET_TX_RING)")
            }
        }
        .map_err(ring_err)?;
        let mmap = Mmap::shared(sock, geo.bytes(), 0, false, "mmap(PACKET_TX_RING)")?;
        let ring = TxRing::new(mmap, geo, self.version.layout());
        sys::bind_packet(sock, ifindex, 0).map_err(|e| match e.raw_os_error() {
            Some(libc::ENODEV) => Error::InterfaceNotFound { name: name.clone() },
            _ => e,
        })?;
        let slot_limit = ring.capacity();
        let (max_frame, limit_why) = if link_header > 0 && mtu as usize + link_header <= slot_limit {
            (mtu as usize + link_header, format!("MTU {mtu} + {link_header}-byte link header"))
        } else {
            (slot_limit, format!("a {}-byte TX ring slot holds {slot_limit} after its header", geo.frame_size))
        };
        tracing::debug!(interface = %name, ifindex, ?geo, version = ?self.version, qdisc_bypass = self.qdisc_bypass, "injector ready");
        Ok(Injector {
            ring,
            fd,
            interface: name,
            ifindex,
            max_frame,
            limit_why,
            version: self.version,
            qdisc_bypass: self.qdisc_bypass,
            stats: TxStats::default(),
        })
    }
}

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
/// [`InjectorBuilder::qdisc_bypass`], 4.11 for [`TpacketVersion::V3`].
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
/// assert_eq!(inj.stats().sent, 1000);
/// # Ok::<(), netring::Error>(())
/// ```
#[derive(Debug)]
pub struct Injector {
    // `ring` drops (unmaps) before `fd` closes: fields drop in order.
    ring: TxRing,
    fd: OwnedFd,
    interface: String,
    ifindex: u32,
    max_frame: usize,
    limit_why: String,
    version: TpacketVersion,
    qdisc_bypass: bool,
    stats: TxStats,
}

/// Whether a kick moved everything it could.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kick {
    Done,
    /// The kernel kept frames queued (`EAGAIN`, `ENOBUFS`, timeout).
    Congested,
}

impl Injector {
    /// An injector on `interface` with default settings.
    ///
    /// # Errors
    /// As [`InjectorBuilder::build`].
    pub fn open(interface: &str) -> Result<Self> {
        Self::builder().interface(interface).build()
    }

    /// A builder with default settings.
    pub fn builder() -> InjectorBuilder {
        InjectorBuilder::default()
    }

    fn check_len(&self, len: usize) -> Result<()> {
        if len > self.max_frame {
            return Err(Error::FrameTooLarge {
                len,
                limit: self.max_frame,
                interface: self.interface.clone(),
                why: self.limit_why.clone(),
            });
        }
        Ok(())
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
                sys::poll([(self.fd.as_fd(), libc::POLLOUT)], Some(left)).map_err(|e| Error::from_io("poll", e))?;
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
        self.kick(false).map(drop)
    }

    /// Kick the kernel; `wait` uses a blocking `send`, which returns once
    /// every frame is sent and released, or after `SO_SNDTIMEO`.
    fn kick(&mut self, wait: bool) -> Result<Kick> {
        let flags = if wait { 0 } else { libc::MSG_DONTWAIT };
        loop {
            let err = match sys::kick(self.fd.as_fd(), flags) {
                Ok(_) => return Ok(Kick::Done),
                Err(e) => e,
            };
            match err.raw_os_error() {
                Some(libc::EINTR) if !wait => continue,
                Some(libc::EINTR | libc::EAGAIN | libc::ENOBUFS | libc::ETIMEDOUT) => return Ok(Kick::Congested),
                Some(libc::ENETDOWN) => return Err(Error::InterfaceDown { name: self.interface.clone() }),
                Some(libc::ENXIO | libc::ENODEV) => return Err(Error::InterfaceGone { name: self.interface.clone() }),
                _ => {}
            }
            // With PACKET_LOSS off, a refused frame fails the kick with the
            // reason and stays as TP_STATUS_WRONG_FORMAT at the kernel's head.
            let Some(index) = self.ring.find_rejected() else {
                return Err(Error::from_io("send(PACKET_TX_RING)", err));
            };
            let len = self.ring.remove_rejected(index);
            self.stats.rejected += 1;
            tracing::debug!(interface = %self.interface, len, error = %err, "frame rejected by the kernel");
        }
    }

    fn check_socket_error(&mut self) -> Result<()> {
        match sys::take_socket_error(self.fd.as_fd()) {
            None => Ok(()),
            Some(e) if e.raw_os_error() == Some(libc::ENETDOWN) => {
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
    pub fn stats(&mut self) -> TxStats {
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
        self.max_frame
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
        Injector::stats(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo(b: InjectorBuilder, mtu: u32) -> Result<Geometry> {
        b.validate(mtu, 14).map(|(g, _)| g)
    }

    #[test]
    fn default_geometry_follows_the_mtu() {
        let g = geo(Injector::builder(), 1500).unwrap();
        assert_eq!(g.frame_size, 2048);
        assert_eq!(g.frame_count(), 2048, "4 MiB of 2 KiB slots");
        let g = geo(Injector::builder(), 9000).unwrap();
        assert_eq!(g.frame_size, 16384);
        assert_eq!(g.frame_count(), 256);
        let g = geo(Injector::builder().version(TpacketVersion::V3), 2000).unwrap();
        assert_eq!(g.frame_size, 4096, "48 + 2014 does not fit in 2048");
    }

    #[test]
    fn frame_count_fills_whole_blocks() {
        let page = sys::page_size();
        let g = geo(Injector::builder().frame_size(1024).frame_count(3), 1500).unwrap();
        assert_eq!(g.block_size, page);
        assert_eq!(g.frame_count(), page / 1024, "rounded up to one block");
        assert_eq!(geo(Injector::builder().frame_count(100), 1500).unwrap().frame_count(), 100);
    }

    #[test]
    fn bad_sizes_are_named() {
        let e = geo(Injector::builder().frame_size(1000), 1500).unwrap_err().to_string();
        assert!(e.starts_with("invalid frame_size = 1000: must be a multiple of 16"), "{e}");
        let e = geo(Injector::builder().frame_size(32), 1500).unwrap_err().to_string();
        assert!(e.contains("frame_size = 32"), "{e}");
        let e = geo(Injector::builder().frame_count(0), 1500).unwrap_err().to_string();
        assert_eq!(e, "invalid frame_count = 0: must be 1..=1048576");
    }
}
