//! [`Capture`] and [`CaptureBuilder`]: an AF_PACKET socket with a
//! TPACKET_V3 receive ring.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use super::batch::{BlockHeader, PacketBatch, Packets, VlanScratch};
use super::fanout::Fanout;
use super::profile::RingProfile;
use super::ring::{BlockToken, RxRing};
use super::timestamp::{self, TimestampInfo, Timestamping};
use crate::bpf::EbpfProgram;
use crate::error::{Error, Result};
use crate::filter::{FilterMeta, Program};
use crate::packet::{LinkType, Packet};
use crate::source::{Batch, PacketSource};
use crate::stats::{CaptureStats, StatsCounter};
use crate::stop::StopHandle;
use crate::sys::{self, Mmap, iface, tpacket as tp};

/// Largest snap length accepted, as libpcap (`MAXIMUM_SNAPLEN`).
pub const MAX_SNAPLEN: u32 = 262_144;

/// Default block size: 1 MiB.
pub const DEFAULT_BLOCK_SIZE: usize = 1 << 20;
/// Default number of blocks: 64 (a 64 MiB ring). Measured with `netring
/// bench` (docs/PERFORMANCE.md): a 16 MiB ring lost 0.1–0.8 % of 9000-byte
/// frames at ~0.2 Mpps on a busy machine, where 64 MiB lost none; the ring
/// is resident memory, and the process needs about 4 MiB beyond it.
pub const DEFAULT_BLOCK_COUNT: usize = 64;
/// Default frame size (only a unit of accounting under V3).
pub const DEFAULT_FRAME_SIZE: usize = 2048;
/// Default block retire timeout.
pub const DEFAULT_RETIRE_TIMEOUT: Duration = Duration::from_millis(50);
/// The interface name that means every interface of the namespace (as
/// libpcap's `any`).
pub const ANY_INTERFACE: &str = "any";

/// Builder for a [`Capture`]. Every setter takes and returns the builder by
/// value; [`build`](Self::build) validates everything once.
///
/// ```no_run
/// let cap = netring::Capture::builder()
///     .interface("eth0")
///     .block_size(1 << 20)
///     .block_count(64)
///     .snaplen(128)
///     .promiscuous(true)
///     .build()?;
/// # Ok::<(), netring::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct CaptureBuilder {
    interface: Option<String>,
    block_size: usize,
    block_count: usize,
    frame_size: usize,
    retire_timeout: Duration,
    snaplen: Option<u32>,
    promiscuous: bool,
    ignore_outgoing: bool,
    rxhash: bool,
    filter: Option<Program>,
    expression: Option<String>,
    ebpf_filter: Option<EbpfProgram>,
    fanout: Option<Fanout>,
    min_block_count: Option<usize>,
    timestamping: Timestamping,
    reinsert_vlan: bool,
    netns: Option<String>,
}

impl Default for CaptureBuilder {
    fn default() -> Self {
        Self {
            interface: None,
            block_size: DEFAULT_BLOCK_SIZE,
            block_count: DEFAULT_BLOCK_COUNT,
            frame_size: DEFAULT_FRAME_SIZE,
            retire_timeout: DEFAULT_RETIRE_TIMEOUT,
            snaplen: None,
            promiscuous: false,
            ignore_outgoing: false,
            rxhash: false,
            filter: None,
            expression: None,
            ebpf_filter: None,
            fanout: None,
            min_block_count: None,
            timestamping: Timestamping::Software,
            reinsert_vlan: false,
            netns: None,
        }
    }
}

impl CaptureBuilder {
    /// The interface to capture on (required). [`ANY_INTERFACE`] (`"any"`)
    /// captures on every interface of the namespace, in cooked mode (see
    /// [`Capture::link_type`]).
    pub fn interface(mut self, name: impl Into<String>) -> Self {
        self.interface = Some(name.into());
        self
    }

    /// Set block size, block count, frame size and retire timeout from a
    /// named [`RingProfile`] (see its table for the sizes and why). Setters
    /// called after this one override single values.
    pub fn profile(mut self, profile: RingProfile) -> Self {
        let g = profile.geometry();
        self.block_size = g.block_size;
        self.block_count = g.block_count;
        self.frame_size = g.frame_size;
        self.retire_timeout = g.retire_timeout;
        self
    }

    /// The fewest blocks to accept when the kernel cannot allocate the ring
    /// (`ENOMEM`): the block count is halved, logged each time, down to this
    /// many, never fewer. Default: a quarter of the block count (at least 1);
    /// the block count itself turns the fallback off.
    pub fn min_block_count(mut self, n: usize) -> Self {
        self.min_block_count = Some(n);
        self
    }

    /// Which clock stamps packets (default [`Timestamping::Software`]); see
    /// [`Timestamping`] for the hardware fallback.
    pub fn timestamping(mut self, t: Timestamping) -> Self {
        self.timestamping = t;
        self
    }

    /// Put the VLAN tag the kernel stripped back into each tagged frame, as
    /// libpcap does (`TP_STATUS_VLAN_VALID`: TPID from `tp_vlan_tpid`, or
    /// 0x8100 when the kernel does not report one; TCI from `tp_vlan_tci`).
    /// Tagged frames are then copied into a per-capture scratch buffer and
    /// grow by 4 bytes (original length included); untagged frames stay
    /// zero-copy. Not applied in cooked mode (`any`). Default off.
    pub fn reinsert_vlan(mut self, on: bool) -> Self {
        self.reinsert_vlan = on;
        self
    }

    /// Open the socket inside the named network namespace (`/run/netns/NAME`
    /// as `ip netns` names them, or a path such as `/proc/PID/ns/net`); the
    /// capture stays in it wherever it is used. Needs `CAP_SYS_ADMIN`. The
    /// interface name is looked up there.
    pub fn netns(mut self, name: impl Into<String>) -> Self {
        self.netns = Some(name.into());
        self
    }

    /// Bytes per block: a power of two and a multiple of the page size.
    /// A frame longer than a block (minus its 48-byte header) is truncated.
    /// Default 1 MiB.
    pub fn block_size(mut self, bytes: usize) -> Self {
        self.block_size = bytes;
        self
    }

    /// Number of blocks in the ring (≥ 1). Default 64 (a 64 MiB ring with
    /// the default block size).
    pub fn block_count(mut self, n: usize) -> Self {
        self.block_count = n;
        self
    }

    /// Frame size: a multiple of 16 of at least 80 bytes, at most the block
    /// size. Under TPACKET_V3 it only sets `tp_frame_nr`; it does not limit
    /// what is copied. Default 2048.
    pub fn frame_size(mut self, bytes: usize) -> Self {
        self.frame_size = bytes;
        self
    }

    /// How long the kernel waits before handing over a block that is not
    /// full (rounded up to whole milliseconds; zero lets the kernel choose
    /// from the link speed). Default 50 ms.
    pub fn retire_timeout(mut self, timeout: Duration) -> Self {
        self.retire_timeout = timeout;
        self
    }

    /// Capture at most `bytes` of each packet (1..=262144). The kernel
    /// truncates through the socket filter's return value, so this costs no
    /// copy of the rest. Default: whole packets.
    pub fn snaplen(mut self, bytes: u32) -> Self {
        self.snaplen = Some(bytes);
        self
    }

    /// Put the interface into promiscuous mode while the capture is open
    /// (`PACKET_MR_PROMISC`; the kernel drops the membership when the socket
    /// closes). Needs `CAP_NET_RAW`.
    pub fn promiscuous(mut self, on: bool) -> Self {
        self.promiscuous = on;
        self
    }

    /// Do not capture packets this host sends (`PACKET_IGNORE_OUTGOING`,
    /// Linux 4.20).
    pub fn ignore_outgoing(mut self, on: bool) -> Self {
        self.ignore_outgoing = on;
        self
    }

    /// Ask the kernel to fill [`Packet::rxhash`] (`TP_FT_REQ_FILL_RXHASH`).
    /// Costs a flow-hash computation per packet where the driver gives none.
    pub fn rxhash(mut self, on: bool) -> Self {
        self.rxhash = on;
        self
    }

    /// A classic BPF filter run in the kernel; combined with the snap length.
    pub fn bpf(mut self, program: Program) -> Self {
        self.filter = Some(program);
        self
    }

    /// A tcpdump filter expression (pcap-filter(7), e.g. `tcp port 443 and
    /// not net 198.18.0.0/15`), compiled in [`build`](Self::build) for a live
    /// AF_PACKET socket and run in the kernel; accepted packets keep the
    /// snap length. Replaces [`bpf`](Self::bpf). See [`crate::filter::expr`].
    /// On [`ANY_INTERFACE`] it is rewritten for the cooked socket
    /// ([`Program::for_cooked`]): expressions on MAC addresses are refused.
    pub fn filter(mut self, expression: impl Into<String>) -> Self {
        self.expression = Some(expression.into());
        self
    }

    /// An eBPF socket filter (`SO_ATTACH_BPF`, Linux 3.19): a loaded
    /// [`EbpfProgram`] of type [`SocketFilter`](crate::bpf::ProgramType::SocketFilter)
    /// — netring's own, or one loaded elsewhere and adopted with
    /// [`EbpfProgram::from_fd`]. It sees each frame from its Ethernet header;
    /// its return value is the number of bytes to keep (0 drops the frame), so
    /// it replaces [`bpf`](Self::bpf) and [`snaplen`](Self::snaplen), which
    /// cannot be combined with it.
    pub fn ebpf_filter(mut self, program: EbpfProgram) -> Self {
        self.ebpf_filter = Some(program);
        self
    }

    /// Join a fanout group once bound (`PACKET_FANOUT`): the interface's
    /// packets are spread over every socket in the group.
    pub fn fanout(mut self, fanout: Fanout) -> Self {
        self.fanout = Some(fanout);
        self
    }

    /// Check every value; the first broken rule is the error.
    fn validate(&self) -> Result<&str> {
        let iface = self.interface.as_deref().ok_or_else(|| Error::config("interface", "<unset>", "is required"))?;
        iface::validate_name(iface)?;
        if iface == ANY_INTERFACE && self.promiscuous {
            return Err(Error::config("promiscuous", "with interface any", "needs one interface"));
        }
        if let Some(m) = self.min_block_count
            && !(1..=self.block_count).contains(&m)
        {
            return Err(Error::config(
                "min_block_count",
                m,
                format!("must be 1..={} (the block count)", self.block_count),
            ));
        }
        let page = sys::page_size();
        let bs = self.block_size;
        if !bs.is_power_of_two() {
            return Err(Error::config("block_size", bs, "must be a power of two"));
        }
        if !bs.is_multiple_of(page) {
            return Err(Error::config("block_size", bs, format!("must be a multiple of the page size ({page})")));
        }
        if bs > 1 << 30 {
            return Err(Error::config("block_size", bs, "must be at most 1 GiB"));
        }
        if self.block_count == 0 {
            return Err(Error::config("block_count", 0, "must be at least 1"));
        }
        let fs = self.frame_size;
        let min_frame = tp::tpacket_align(tp::TPACKET3_HDRLEN);
        if fs < min_frame || !fs.is_multiple_of(tp::TPACKET_ALIGNMENT) {
            return Err(Error::config(
                "frame_size",
                fs,
                format!("must be a multiple of {} and at least {min_frame}", tp::TPACKET_ALIGNMENT),
            ));
        }
        if fs > bs {
            return Err(Error::config("frame_size", fs, format!("must not exceed block_size ({bs})")));
        }
        let frames = (bs / fs) as u64 * self.block_count as u64;
        if frames > u32::MAX as u64 || (bs as u64) * (self.block_count as u64) > 1 << 40 {
            return Err(Error::config("block_count", self.block_count, "makes the ring too large"));
        }
        if self.retire_timeout.as_millis() > u32::MAX as u128 {
            return Err(Error::config(
                "retire_timeout",
                format!("{:?}", self.retire_timeout),
                "must fit in u32 milliseconds",
            ));
        }
        if self.ebpf_filter.is_some() && (self.filter.is_some() || self.snaplen.is_some()) {
            return Err(Error::config(
                "ebpf_filter",
                "with bpf or snaplen",
                "an eBPF filter's return value is the capture length; it cannot be combined with a classic filter or a snap length",
            ));
        }
        if let Some(f) = &self.fanout {
            f.validate()?;
        }
        if let Some(s) = self.snaplen
            && !(1..=MAX_SNAPLEN).contains(&s)
        {
            return Err(Error::config(
                "snaplen",
                s,
                format!("must be 1..={MAX_SNAPLEN} (a filter result of 0 drops the packet)"),
            ));
        }
        Ok(iface)
    }

    /// Open the socket, set up the ring and bind it.
    ///
    /// The socket is created in the network namespace of the calling thread.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a value that breaks a rule (nothing is
    /// created); [`Error::InvalidExpression`] for a filter expression that
    /// does not compile (with the column); [`Error::InterfaceNotFound`];
    /// [`Error::PermissionDenied`] without `CAP_NET_RAW`; [`Error::Io`]
    /// naming the failing call.
    pub fn build(mut self) -> Result<Capture> {
        if let Some(ns) = self.netns.take() {
            return crate::netns::NetNs::open(&ns)?.run(move || self.build())?;
        }
        let iface = self.validate()?.to_owned();
        if let Some(e) = self.expression.take() {
            if self.filter.is_some() {
                return Err(Error::config("filter", e, "set either filter() or bpf(), not both"));
            }
            self.filter = Some(Program::compile(&e, self.snaplen.unwrap_or(MAX_SNAPLEN))?);
        }
        // Protocol 0: the socket receives nothing until `bind` names a
        // protocol, so no packet slips in before the filter and ring exist.
        let any = iface == ANY_INTERFACE;
        if any && let Some(p) = self.filter.take() {
            self.filter = Some(p.for_cooked()?);
        }
        // `any`: cooked (SOCK_DGRAM), as libpcap: devices of every link type
        // give the network-layer packet, and the link layer is described by
        // the `sockaddr_ll` the kernel puts beside it.
        let fd = if any {
            sys::socket(libc::AF_PACKET, libc::SOCK_DGRAM, 0, "socket(AF_PACKET, SOCK_DGRAM)")?
        } else {
            sys::socket(libc::AF_PACKET, libc::SOCK_RAW, 0, "socket(AF_PACKET, SOCK_RAW)")?
        };
        let ifindex = if any { 0 } else { iface::index(&iface)? };
        let sock = fd.as_fd();

        sys::setsockopt(sock, libc::SOL_PACKET, tp::PACKET_VERSION, &tp::TPACKET_V3, "setsockopt(PACKET_VERSION)")?;
        if self.ignore_outgoing {
            let on: i32 = 1;
            sys::setsockopt(
                sock,
                libc::SOL_PACKET,
                tp::PACKET_IGNORE_OUTGOING,
                &on,
                "setsockopt(PACKET_IGNORE_OUTGOING)",
            )
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ENOPROTOOPT) => {
                    Error::Unsupported { feature: "PACKET_IGNORE_OUTGOING", detail: "needs Linux 4.20".into() }
                }
                _ => e,
            })?;
        }
        if let Some(program) = effective_filter(self.filter.as_ref(), self.snaplen)? {
            attach(sock, &program)?;
        }
        if let Some(prog) = &self.ebpf_filter {
            attach_ebpf(sock, prog)?;
        }

        let timestamps = timestamp::configure(sock, (!any).then_some(iface.as_str()), self.timestamping)?;
        let (req, block_count) = self.set_ring(sock)?;
        let ring_bytes = self.block_size * block_count;
        let mmap = Mmap::shared(sock, ring_bytes, 0, false, "mmap(PACKET_RX_RING)")?;
        let ring = RxRing::new(mmap, self.block_size, block_count);

        sys::bind_packet(sock, ifindex, tp::ETH_P_ALL).map_err(|e| match e.raw_os_error() {
            Some(libc::ENODEV) => Error::InterfaceNotFound { name: iface.clone() },
            _ => e,
        })?;
        if self.promiscuous {
            let mreq =
                tp::packet_mreq { mr_ifindex: ifindex as i32, mr_type: tp::PACKET_MR_PROMISC, ..Default::default() };
            sys::setsockopt(
                sock,
                libc::SOL_PACKET,
                tp::PACKET_ADD_MEMBERSHIP,
                &mreq,
                "setsockopt(PACKET_ADD_MEMBERSHIP)",
            )?;
        }
        let fanout_group = self.fanout.as_ref().map(|f| f.join(sock)).transpose()?;
        if !any && let Ok(mtu) = iface::mtu(&iface) {
            let max_frame = self.block_size - 48 - tp::TPACKET3_HDRLEN - 16;
            if (mtu as usize + 14 + 4) > max_frame {
                tracing::warn!(
                    interface = %iface, mtu, block_size = self.block_size,
                    "frames longer than {max_frame} bytes will be truncated: block size too small for the MTU"
                );
            }
        }
        tracing::debug!(interface = %iface, ifindex, ?req, "capture ready");
        Ok(Capture {
            fd,
            ring,
            interface: iface,
            ifindex,
            stop: StopHandle::new()?,
            stats: StatsCounter::default(),
            snaplen: self.snaplen,
            down: false,
            gone: false,
            retire_timeout: self.retire_timeout,
            recheck: None,
            fanout_group,
            link_type: if any { LinkType::LinuxSll2 } else { LinkType::Ethernet },
            timestamps,
            vlan: (self.reinsert_vlan && !any).then(Box::default),
        })
    }

    /// `PACKET_RX_RING`, halving the block count on `ENOMEM` down to the
    /// minimum allowed. Returns the request that worked and its block count.
    fn set_ring(&self, sock: BorrowedFd<'_>) -> Result<(tp::tpacket_req3, usize)> {
        let min = self.min_block_count.unwrap_or((self.block_count / 4).max(1));
        let mut count = self.block_count;
        loop {
            let req = tp::tpacket_req3 {
                tp_block_size: self.block_size as u32,
                tp_block_nr: count as u32,
                tp_frame_size: self.frame_size as u32,
                tp_frame_nr: ((self.block_size / self.frame_size) * count) as u32,
                tp_retire_blk_tov: self.retire_timeout.as_nanos().div_ceil(1_000_000) as u32,
                tp_sizeof_priv: 0,
                tp_feature_req_word: if self.rxhash { tp::TP_FT_REQ_FILL_RXHASH } else { 0 },
            };
            match sys::set_rx_ring(sock, &req) {
                Ok(()) => return Ok((req, count)),
                Err(e) if e.raw_os_error() == Some(libc::ENOMEM) && count > min => {
                    let next = (count / 2).max(min);
                    tracing::warn!(
                        block_size = self.block_size,
                        from = count,
                        to = next,
                        min,
                        "the kernel could not allocate a ring of {} bytes (ENOMEM): trying {} blocks",
                        self.block_size * count,
                        next
                    );
                    count = next;
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOMEM) => {
                    return Err(Error::config(
                        "ring size",
                        self.block_size * count,
                        format!(
                            "the kernel could not allocate it (ENOMEM), and {min} blocks is the fewest allowed \
                             (min_block_count); use fewer or smaller blocks"
                        ),
                    ));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The program to attach: the user's filter with accept lengths capped at
/// the snap length, or a bare `ret #snaplen`, or nothing.
fn effective_filter(user: Option<&Program>, snaplen: Option<u32>) -> Result<Option<Program>> {
    Ok(match (user, snaplen) {
        (Some(p), Some(s)) => Some(p.with_snaplen(s)?),
        (Some(p), None) => Some(p.clone()),
        (None, Some(s)) => Some(Program::accept(s)),
        (None, None) => None,
    })
}

fn attach(sock: BorrowedFd<'_>, program: &Program) -> Result<()> {
    sys::set_sock_fprog(
        sock,
        libc::SOL_SOCKET,
        libc::SO_ATTACH_FILTER,
        program.instructions(),
        "setsockopt(SO_ATTACH_FILTER)",
    )
}

/// `SO_ATTACH_BPF`: an eBPF socket filter by descriptor.
fn attach_ebpf(sock: BorrowedFd<'_>, prog: &EbpfProgram) -> Result<()> {
    let fd: i32 = std::os::fd::AsRawFd::as_raw_fd(&prog.as_fd());
    sys::setsockopt(sock, libc::SOL_SOCKET, libc::SO_ATTACH_BPF, &fd, "setsockopt(SO_ATTACH_BPF)").map_err(|e| match e
        .raw_os_error()
    {
        Some(libc::EINVAL) => Error::config(
            "ebpf_filter",
            prog.name(),
            "the kernel refused it: SO_ATTACH_BPF takes a BPF_PROG_TYPE_SOCKET_FILTER program",
        ),
        _ => e,
    })
}

/// `PACKET_FANOUT_DATA` with a classic BPF program (fanout mode `cbpf`).
pub(super) fn set_fanout_cbpf(sock: BorrowedFd<'_>, program: &Program) -> Result<()> {
    sys::set_sock_fprog(
        sock,
        libc::SOL_PACKET,
        tp::PACKET_FANOUT_DATA,
        program.instructions(),
        "setsockopt(PACKET_FANOUT_DATA)",
    )
}

fn detach(sock: BorrowedFd<'_>) -> Result<()> {
    let zero: i32 = 0;
    match sys::setsockopt(sock, libc::SOL_SOCKET, libc::SO_DETACH_FILTER, &zero, "setsockopt(SO_DETACH_FILTER)") {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        other => other,
    }
}

/// An AF_PACKET socket receiving through a TPACKET_V3 ring.
///
/// Packets arrive in blocks; [`next_batch`](Self::next_batch) lends out one
/// retired block at a time as a [`PacketBatch`], zero-copy, and dropping the
/// batch hands the block back to the kernel.
///
/// Needs `CAP_NET_RAW` (and `CAP_NET_ADMIN` for nothing here). Linux 3.2+
/// for TPACKET_V3.
///
/// ```no_run
/// use std::time::Duration;
/// let mut cap = netring::Capture::open("eth0")?;
/// while let Some(batch) = cap.next_batch_blocking(Some(Duration::from_secs(1)))? {
///     for pkt in &batch {
///         println!("{} {} bytes", pkt.timestamp(), pkt.len());
///     }
/// }
/// # Ok::<(), netring::Error>(())
/// ```
#[derive(Debug)]
pub struct Capture {
    // `ring` drops (unmaps) before `fd` closes: fields drop in order.
    ring: RxRing,
    fd: OwnedFd,
    interface: String,
    ifindex: u32,
    stop: StopHandle,
    stats: StatsCounter,
    snaplen: Option<u32>,
    /// The interface went down; the kernel will not report its deletion
    /// (it only reports while the hook is registered), so watch for it.
    down: bool,
    gone: bool,
    retire_timeout: Duration,
    /// After a filter change: blocks queued under the old filter, to be
    /// re-checked in user space with the new one (as libpcap does).
    recheck: Option<Recheck>,
    fanout_group: Option<u16>,
    link_type: LinkType,
    timestamps: TimestampInfo,
    /// With VLAN re-insertion: the current block's tagged frames, rebuilt.
    vlan: Option<Box<VlanScratch>>,
}

#[derive(Debug)]
struct Recheck {
    program: Program,
    blocks: usize,
}

/// While the interface is down, how often to check whether it was deleted.
const GONE_CHECK: Duration = Duration::from_millis(100);

impl Capture {
    /// Capture every packet on `interface` with default settings.
    ///
    /// # Errors
    /// As [`CaptureBuilder::build`].
    pub fn open(interface: &str) -> Result<Self> {
        Self::builder().interface(interface).build()
    }

    /// A builder with default settings.
    pub fn builder() -> CaptureBuilder {
        CaptureBuilder::default()
    }

    /// The next retired block, if there is one. Never blocks, never makes a
    /// system call.
    #[inline]
    pub fn next_batch(&mut self) -> Option<PacketBatch<'_>> {
        let token = self.ring.take()?;
        let recheck = self.recheck_next_block();
        let program = if recheck { self.recheck.as_ref().map(|r| &r.program) } else { None };
        let vlan = match &mut self.vlan {
            Some(v) => {
                v.fill(self.ring.bytes(&token), self.snaplen);
                Some(&**v)
            }
            None => None,
        };
        Some(PacketBatch::new(&mut self.ring, token, program, vlan))
    }

    /// Whether the block just taken was filled (at least partly) under a
    /// filter that has since been replaced.
    #[inline]
    fn recheck_next_block(&mut self) -> bool {
        // The program stays (a block being walked may still need it) until
        // the next filter change.
        match &mut self.recheck {
            Some(r) if r.blocks > 0 => {
                r.blocks -= 1;
                true
            }
            _ => false,
        }
    }

    /// The next retired block, waiting up to `timeout` (`None`: no limit).
    /// Returns `Ok(None)` when the time runs out.
    ///
    /// # Errors
    /// [`Error::Stopped`] once [`StopHandle::stop`] was called;
    /// [`Error::InterfaceDown`] when the interface goes down (the capture
    /// resumes if it comes back up, and later calls wait as usual);
    /// [`Error::InterfaceGone`] when it is deleted (and on every later
    /// call). Deleting an interface that is up takes it down first, so a
    /// reader may see `InterfaceDown` and then, on its next call (within
    /// 100 ms), `InterfaceGone`. [`Error::Io`] if `poll` fails.
    pub fn next_batch_blocking(&mut self, timeout: Option<Duration>) -> Result<Option<PacketBatch<'_>>> {
        if !self.wait_ready(timeout)? {
            return Ok(None);
        }
        Ok(self.next_batch())
    }

    /// Wait until a block is ready (`true`) or `timeout` passes (`false`).
    fn wait_ready(&mut self, timeout: Option<Duration>) -> Result<bool> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if self.check_ready(false)? {
                return Ok(true);
            }
            if self.stop.is_stopped() {
                return Err(Error::Stopped);
            }
            let mut left = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) => Some(left),
                    None => return Ok(false),
                },
                None => None,
            };
            if let Some(r) = self.recheck_interval() {
                left = Some(left.map_or(r, |l| l.min(r)));
            }
            let [sock, _] = sys::poll([(self.fd.as_fd(), libc::POLLIN), (self.stop.event_fd(), libc::POLLIN)], left)
                .map_err(|e| Error::from_io("poll", e))?;
            if sock.error() {
                self.check_socket_error()?;
            }
        }
    }

    /// One look at the ring without waiting, for every kind of wait (this
    /// blocking one, the async adapters): `Ok(true)` when a block is ready;
    /// `Ok(false)` to keep waiting. `socket_error`: the wait reported
    /// `POLLERR`, so the pending socket error is read and turned into an
    /// [`Error`].
    pub(crate) fn check_ready(&mut self, socket_error: bool) -> Result<bool> {
        if self.ring.ready() {
            self.down = false;
            return Ok(true);
        }
        if self.down && sys::packet_bound_ifindex(self.fd.as_fd()).is_some_and(|i| i < 0) {
            self.gone = true;
        }
        if self.gone {
            return Err(Error::InterfaceGone { name: self.interface.clone() });
        }
        if socket_error {
            self.check_socket_error()?;
        }
        Ok(false)
    }

    /// How often a wait must look again without any wake-up: while the
    /// interface is down, the kernel reports nothing when it is deleted.
    pub(crate) fn recheck_interval(&self) -> Option<Duration> {
        self.down.then_some(GONE_CHECK)
    }

    /// Turn a pending socket error into the matching [`Error`].
    pub(crate) fn check_socket_error(&mut self) -> Result<()> {
        let Some(err) = sys::take_socket_error(self.fd.as_fd()) else {
            return Ok(());
        };
        if err.raw_os_error() == Some(libc::ENETDOWN) {
            // After NETDEV_UNREGISTER the kernel sets the socket's ifindex to -1.
            if sys::packet_bound_ifindex(self.fd.as_fd()).is_some_and(|i| i < 0) {
                self.gone = true;
                return Err(Error::InterfaceGone { name: self.interface.clone() });
            }
            self.down = true;
            return Err(Error::InterfaceDown { name: self.interface.clone() });
        }
        Err(Error::from_io("poll(AF_PACKET)", err))
    }

    /// A flat, lending iterator over packets across batches.
    pub fn packets(&mut self) -> CapturePackets<'_> {
        CapturePackets { cap: self, held: None }
    }

    /// A handle that stops blocking waits from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Cumulative statistics since the capture was opened.
    ///
    /// # Errors
    /// `getsockopt(PACKET_STATISTICS)` failed.
    pub fn stats(&mut self) -> Result<CaptureStats> {
        self.read_kernel_stats()?;
        Ok(self.stats.total())
    }

    /// Statistics since the previous call to `stats_delta` (or since opening).
    ///
    /// # Errors
    /// `getsockopt(PACKET_STATISTICS)` failed.
    pub fn stats_delta(&mut self) -> Result<CaptureStats> {
        self.read_kernel_stats()?;
        Ok(self.stats.delta())
    }

    fn read_kernel_stats(&mut self) -> Result<()> {
        let s: tp::tpacket_stats_v3 =
            sys::getsockopt(self.fd.as_fd(), libc::SOL_PACKET, tp::PACKET_STATISTICS, "getsockopt(PACKET_STATISTICS)")?;
        self.stats.add_reading(s.tp_packets, s.tp_drops, s.tp_freeze_q_cnt);
        Ok(())
    }

    /// Blocks whose contents did not parse and were skipped (should stay 0).
    pub fn malformed_blocks(&self) -> u64 {
        self.ring.malformed()
    }

    /// Blocks now held by user space or waiting to be read, out of
    /// [`block_count`](Self::block_count).
    pub fn ring_occupancy(&self) -> usize {
        self.ring.user_blocks()
    }

    /// Replace the kernel filter on the live socket, atomically. The snap
    /// length still applies. On a capture on every interface the program,
    /// written for Ethernet frames, is rewritten for the cooked socket
    /// ([`Program::for_cooked`]).
    ///
    /// Once this returns, every packet handed out matches `program`: frames
    /// the kernel queued in the ring under the old filter (the blocks user
    /// space holds, and the one being filled) are re-checked with `program`
    /// in user space as they are read, as libpcap does for TPACKET_V3.
    ///
    /// # Errors
    /// `setsockopt(SO_ATTACH_FILTER)` failed or capping the program at the
    /// snap length made it invalid.
    pub fn set_bpf(&mut self, program: &Program) -> Result<()> {
        let cooked;
        let program = if self.link_type == LinkType::LinuxSll2 {
            cooked = program.for_cooked()?;
            &cooked
        } else {
            program
        };
        let p = effective_filter(Some(program), self.snaplen)?.expect("a program");
        attach(self.fd.as_fd(), &p)?;
        // Blocks are read in order; the user-owned ones come next, then the
        // one the kernel is filling.
        let blocks = (self.ring.user_blocks() + 1).min(self.ring.block_count());
        self.recheck = Some(Recheck { program: p, blocks });
        Ok(())
    }

    /// Replace the kernel filter with a tcpdump filter expression, compiled
    /// for a live AF_PACKET socket (see [`crate::filter::expr`]); as
    /// [`set_bpf`](Self::set_bpf), every packet handed out afterwards matches
    /// it, queued ones included.
    ///
    /// ```no_run
    /// # let mut cap = netring::Capture::open("eth0")?;
    /// cap.set_filter("tcp port 443 or udp port 53")?;
    /// # Ok::<(), netring::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidExpression`] (with the column) or
    /// [`Error::InvalidFilter`] if it does not compile; nothing changes then.
    /// As [`set_bpf`](Self::set_bpf) otherwise.
    pub fn set_filter(&mut self, expression: &str) -> Result<()> {
        let p = Program::compile(expression, self.snaplen.unwrap_or(MAX_SNAPLEN))?;
        self.set_bpf(&p)
    }

    /// Remove the user filter: every packet passes again (still truncated to
    /// the snap length, if one is set).
    ///
    /// # Errors
    /// The kernel refused the change.
    pub fn clear_filter(&mut self) -> Result<()> {
        self.recheck = None;
        match self.snaplen {
            Some(s) => attach(self.fd.as_fd(), &Program::accept(s)),
            None => detach(self.fd.as_fd()),
        }
    }

    /// Replace the socket filter with an eBPF program on the live socket
    /// (`SO_ATTACH_BPF`). A snap length set at build time no longer applies:
    /// the program's return value is the capture length.
    ///
    /// # Errors
    /// The kernel refused the program (it must be a socket filter).
    pub fn set_ebpf_filter(&mut self, program: &EbpfProgram) -> Result<()> {
        attach_ebpf(self.fd.as_fd(), program)?;
        self.snaplen = None;
        Ok(())
    }

    /// The fanout group this capture joined (the kernel's choice with
    /// [`FanoutFlags::UNIQUE_ID`](super::FanoutFlags::UNIQUE_ID)).
    pub fn fanout_group(&self) -> Option<u16> {
        self.fanout_group
    }

    /// The interface name ([`ANY_INTERFACE`] for every interface).
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The interface index (0 for every interface).
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// What the packets' bytes start with: [`LinkType::Ethernet`] (the
    /// link-layer header, as received), or [`LinkType::LinuxSll2`] for a
    /// capture on every interface, whose packets start at the network
    /// header and whose link layer is in the metadata (protocol, hardware
    /// type, source address, direction), as libpcap's cooked mode.
    pub fn link_type(&self) -> LinkType {
        self.link_type
    }

    /// The clock asked for and the one set up (with the reason for a
    /// fallback from hardware to software stamps).
    pub fn timestamping(&self) -> &TimestampInfo {
        &self.timestamps
    }

    /// Whether tagged frames get their VLAN tag back
    /// ([`CaptureBuilder::reinsert_vlan`]).
    pub fn reinserts_vlan(&self) -> bool {
        self.vlan.is_some()
    }

    /// The name of interface `ifindex` in this capture's network namespace
    /// (`SIOCGIFNAME` on the capture's own socket, so the answer is right
    /// whichever namespace the calling thread is in).
    ///
    /// # Errors
    /// [`Error::InterfaceNotFound`] if no interface has that index (any more).
    pub fn interface_name(&self, ifindex: u32) -> Result<String> {
        iface::name_on(self.fd.as_fd(), ifindex)
    }

    /// The snap length, if one is set.
    pub fn snaplen(&self) -> Option<u32> {
        self.snaplen
    }

    /// Block size in bytes.
    pub fn block_size(&self) -> usize {
        self.ring.block_size()
    }

    /// Number of blocks.
    pub fn block_count(&self) -> usize {
        self.ring.block_count()
    }

    /// The block retire timeout.
    pub fn retire_timeout(&self) -> Duration {
        self.retire_timeout
    }
}

impl AsFd for Capture {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl<'a> Batch for PacketBatch<'a> {
    type Iter<'b>
        = Packets<'b>
    where
        Self: 'b;

    fn len(&self) -> usize {
        PacketBatch::len(self)
    }

    fn packets(&self) -> Packets<'_> {
        self.iter()
    }
}

impl PacketSource for Capture {
    type Batch<'a> = PacketBatch<'a>;

    fn next_batch(&mut self) -> Option<PacketBatch<'_>> {
        Capture::next_batch(self)
    }

    fn next_batch_blocking(&mut self, timeout: Option<Duration>) -> Result<Option<PacketBatch<'_>>> {
        Capture::next_batch_blocking(self, timeout)
    }

    fn stats(&mut self) -> Result<CaptureStats> {
        Capture::stats(self)
    }
}

/// Flat iteration over a [`Capture`]'s packets, batch after batch.
///
/// A lending iterator: each packet borrows the iterator, so take the next
/// one only after you are done with the last (copy it out with
/// [`Packet::to_owned`] to keep it). Blocks go back to the kernel as soon as
/// their last packet has been taken, and when the iterator drops.
///
/// ```no_run
/// # let mut cap = netring::Capture::open("eth0")?;
/// let mut packets = cap.packets();
/// while let Some(pkt) = packets.next_packet_blocking(None)? {
///     println!("{} bytes", pkt.len());
/// }
/// # Ok::<(), netring::Error>(())
/// ```
#[derive(Debug)]
pub struct CapturePackets<'c> {
    cap: &'c mut Capture,
    held: Option<Held>,
}

#[derive(Debug)]
struct Held {
    token: BlockToken,
    cursor: (usize, u32),
    malformed: bool,
    recheck: bool,
}

impl CapturePackets<'_> {
    /// The next packet if one is ready; never blocks.
    ///
    /// After a malformed block (never produced by a sane kernel) this returns
    /// `None` once even if more blocks are ready.
    pub fn next_packet(&mut self) -> Option<Packet<'_>> {
        loop {
            if !self.advance() {
                return None;
            }
            let held = self.held.as_mut().expect("advance holds a block");
            if !held.recheck {
                break;
            }
            // Blocks from before a filter change: skip what the new filter
            // rejects (the packet itself is taken again below).
            let program = self.cap.recheck.as_ref().map(|r| &r.program);
            let bytes = self.cap.ring.bytes(&held.token);
            let flag = std::cell::Cell::new(false);
            let mut walk = Packets::resume(bytes, held.cursor, Some(&flag));
            let found = loop {
                let before = walk.cursor();
                match walk.next() {
                    None => break None,
                    Some(p) if program.is_some_and(|f| f.run(p.data(), &FilterMeta::from_packet(&p)) == 0) => {}
                    Some(_) => break Some(before),
                }
            };
            held.malformed |= flag.get();
            match found {
                Some(at) => {
                    held.cursor = at;
                    let program = self.cap.recheck.as_ref().map(|r| &r.program);
                    let held = self.held.as_mut().expect("held");
                    let bytes = self.cap.ring.bytes(&held.token);
                    let vlan = self.cap.vlan.as_deref();
                    let mut walk = Packets::resume(bytes, held.cursor, None).recheck(program).vlan(vlan);
                    let pkt = walk.next();
                    held.cursor = walk.cursor();
                    return pkt;
                }
                None => {
                    held.cursor = walk.cursor();
                    held.cursor.1 = 0;
                }
            }
        }
        let held = self.held.as_mut().expect("advance holds a block");
        let bytes = self.cap.ring.bytes(&held.token);
        let mut walk = Packets::resume(bytes, held.cursor, None).vlan(self.cap.vlan.as_deref());
        let pkt = walk.next();
        held.cursor = walk.cursor();
        // `advance` left packets to walk: no packet means a malformed block.
        held.malformed |= pkt.is_none();
        pkt
    }

    /// The next packet, waiting up to `timeout` for a block (`None`: no
    /// limit); `Ok(None)` when the time runs out.
    ///
    /// # Errors
    /// As [`Capture::next_batch_blocking`].
    pub fn next_packet_blocking(&mut self, timeout: Option<Duration>) -> Result<Option<Packet<'_>>> {
        if !self.advance() && !self.cap.wait_ready(timeout)? {
            return Ok(None);
        }
        Ok(self.next_packet())
    }

    /// Make sure a block with packets left is held; `false` if none is ready.
    fn advance(&mut self) -> bool {
        loop {
            match &self.held {
                Some(h) if h.cursor.1 > 0 => return true,
                Some(_) => self.release_held(),
                None => {}
            }
            let Some(token) = self.cap.ring.take() else {
                return false;
            };
            let recheck = self.cap.recheck_next_block();
            let bytes = self.cap.ring.bytes(&token);
            if let Some(v) = &mut self.cap.vlan {
                v.fill(bytes, self.cap.snaplen);
            }
            let (cursor, malformed) = match BlockHeader::parse(bytes) {
                Some(h) => {
                    let flag = std::cell::Cell::new(false);
                    (Packets::new(bytes, &h, Some(&flag)).cursor(), flag.get())
                }
                None => ((0, 0), true),
            };
            self.held = Some(Held { token, cursor, malformed, recheck });
        }
    }

    fn release_held(&mut self) {
        if let Some(h) = self.held.take() {
            if h.malformed {
                self.cap.ring.note_malformed();
            }
            self.cap.ring.release(h.token);
        }
    }
}

impl Drop for CapturePackets<'_> {
    fn drop(&mut self) {
        self.release_held();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(b: CaptureBuilder) -> String {
        match b.validate() {
            Err(e) => e.to_string(),
            Ok(_) => panic!("expected a config error"),
        }
    }

    fn base() -> CaptureBuilder {
        Capture::builder().interface("eth0")
    }

    #[test]
    fn defaults_validate() {
        assert_eq!(base().validate().unwrap(), "eth0");
    }

    #[test]
    fn interface_is_required_and_checked() {
        assert_eq!(err(Capture::builder()), "invalid interface = <unset>: is required");
        assert!(err(Capture::builder().interface("x".repeat(16))).contains("at most 15 bytes"));
    }

    #[test]
    fn block_size_rules() {
        assert_eq!(err(base().block_size(3 << 12)), "invalid block_size = 12288: must be a power of two");
        assert!(err(base().block_size(1024)).contains("multiple of the page size"));
        assert!(err(base().block_size(1 << 31)).contains("at most 1 GiB"));
        assert!(base().block_size(4096).frame_size(2048).validate().is_ok());
    }

    #[test]
    fn block_count_and_frame_size_rules() {
        assert_eq!(err(base().block_count(0)), "invalid block_count = 0: must be at least 1");
        assert!(err(base().frame_size(72)).contains("at least 80"));
        assert!(err(base().frame_size(2050)).contains("multiple of 16"));
        assert!(err(base().block_size(4096).frame_size(8192)).contains("must not exceed block_size"));
        assert!(err(base().block_count(1 << 30)).contains("too large"));
    }

    #[test]
    fn snaplen_rules() {
        assert!(err(base().snaplen(0)).contains("must be 1..=262144"));
        assert!(err(base().snaplen(MAX_SNAPLEN + 1)).contains("262145"));
        assert!(base().snaplen(1).validate().is_ok());
    }

    #[test]
    fn profiles_set_the_geometry_and_later_setters_override() {
        for p in RingProfile::ALL {
            let b = base().profile(p);
            assert!(b.validate().is_ok(), "{p}");
            let g = p.geometry();
            assert_eq!(
                (b.block_size, b.block_count, b.frame_size, b.retire_timeout),
                (g.block_size, g.block_count, g.frame_size, g.retire_timeout)
            );
        }
        let b = base().profile(RingProfile::LowMemory).block_count(3);
        assert_eq!((b.block_size, b.block_count), (128 << 10, 3));
        assert!(err(base().block_count(4).min_block_count(5)).contains("must be 1..=4"));
        assert!(err(base().min_block_count(0)).contains("min_block_count"));
        assert!(err(Capture::builder().interface(ANY_INTERFACE).promiscuous(true)).contains("needs one interface"));
    }

    /// The smaller-ring fallback, against the real kernel: the request goes
    /// through the sys layer's one `PACKET_RX_RING` call, which this test
    /// makes refuse rings above 1 MiB with `ENOMEM` (a fault injected at the
    /// choke point, on this thread only). The ring that is finally set up
    /// is the kernel's, mapped and bound.
    #[test]
    #[cfg_attr(miri, ignore = "opens AF_PACKET sockets")]
    fn enomem_halves_the_block_count_down_to_the_minimum() {
        use crate::sys::call::{Syscall, fake};
        use std::cell::Cell;
        use std::rc::Rc;
        // The fake kernel refuses ring requests above `limit` bytes with
        // ENOMEM, and counts the refusals.
        let refusals = Rc::new(Cell::new(0u32));
        let limited = |limit: u64| {
            refusals.set(0);
            let refusals = Rc::clone(&refusals);
            fake::install(move |call| match call {
                Syscall::SetSockOpt { name: tp::PACKET_RX_RING, value, .. } => {
                    let word = |i: usize| u64::from(u32::from_ne_bytes(value[i..i + 4].try_into().unwrap()));
                    let too_big = word(0) * word(4) > limit;
                    too_big.then(|| {
                        refusals.set(refusals.get() + 1);
                        Err(std::io::Error::from_raw_os_error(libc::ENOMEM))
                    })
                }
                _ => None,
            })
        };
        let refused = || refusals.get();
        let b = || Capture::builder().interface("lo").block_size(64 << 10).block_count(64);
        // 64 × 64 KiB = 4 MiB: refused, 32 (2 MiB) refused, 16 (1 MiB) taken.
        let _fake = limited(1 << 20);
        let cap = b().min_block_count(4).build().unwrap();
        assert_eq!(cap.block_count(), 16);
        assert_eq!(refused(), 2);
        // Never below the minimum the caller allows: 32 blocks at least.
        let _fake = limited(1 << 20);
        match b().min_block_count(32).build() {
            Err(e @ Error::InvalidConfig { .. }) => {
                let m = e.to_string();
                assert!(m.contains("ENOMEM") && m.contains("32 blocks is the fewest allowed"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(refused(), 2, "64 refused, then 32 refused, then no further try");
        // The block count itself turns the fallback off.
        let _fake = limited(1 << 20);
        assert!(b().min_block_count(64).build().is_err());
        assert_eq!(refused(), 1);
        let _fake = limited(u64::MAX);
        assert_eq!(b().build().unwrap().block_count(), 64);
    }

    #[test]
    fn effective_filters() {
        assert_eq!(effective_filter(None, None).unwrap(), None);
        assert_eq!(effective_filter(None, Some(64)).unwrap(), Some(Program::accept(64)));
        let user = Program::accept(MAX_SNAPLEN);
        assert_eq!(effective_filter(Some(&user), None).unwrap(), Some(user.clone()));
        assert_eq!(effective_filter(Some(&user), Some(100)).unwrap(), Some(Program::accept(100)));
    }
}
