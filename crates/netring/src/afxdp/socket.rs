//! [`XdpSocket`] and [`XdpSocketBuilder`].

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::batch::{XdpBatch, XdpStats};
use super::umem::{State, Umem};
use crate::StopHandle;
use crate::bpf::{AttachMode, EbpfProgram, ProgramType, XdpAttach, XdpLink, XskMap, programs};
use crate::error::{Error, Result};
use crate::packet::OwnedPacket;
use crate::ring::{Consumer, Layout, Producer, Reservation};
use crate::source::{PacketSink, SinkSlot, TxStats};
use crate::sys::xdp::{self as sx, xdp_desc, xdp_ring_offset};
use crate::sys::{self, Mmap, iface};

/// Default UMEM frame size: 2048 bytes (room for a 1514-byte frame after
/// the kernel's 256-byte headroom).
pub const DEFAULT_FRAME_SIZE: u32 = 2048;
/// Default number of UMEM frames: 4096 (8 MiB with the default frame size).
pub const DEFAULT_FRAME_COUNT: u32 = 4096;
/// Default size of the RX, TX and completion rings.
pub const DEFAULT_RING_SIZE: u32 = 2048;
/// Default size of the fill ring (holds every frame in the default
/// [`XdpMode::Rx`]).
pub const DEFAULT_FILL_SIZE: u32 = 4096;
/// Ethernet header length, added to the MTU for the longest frame.
const ETH_HLEN: usize = 14;
/// How long a bind retries a queue that reports busy (see `build`).
const BUSY_RETRY: Duration = Duration::from_millis(500);

/// Default number of descriptors per batch.
pub const DEFAULT_BATCH_SIZE: u32 = 64;

/// How the UMEM's frames are split between receive and transmit.
///
/// Receive frames go to the fill ring at start and return to it when a
/// batch is dropped; transmit frames sit on a free list and return to it when
/// the kernel completes them. Which rings exist follows from the mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum XdpMode {
    /// Receive only: every frame (up to the fill ring size) is given for
    /// receive; no TX ring.
    Rx,
    /// Transmit only: every frame is for sending; no RX ring and no XDP
    /// program (the host stack keeps all received traffic).
    Tx,
    /// Both: half the frames for receive, half for transmit.
    #[default]
    RxTx,
    /// Both rings, with `prefill` frames given for receive and the rest for
    /// transmit. `prefill: 0` receives nothing until
    /// [`XdpSocket::refill`] gives frames.
    Custom {
        /// Frames put on the fill ring at start.
        prefill: u32,
    },
}

impl XdpMode {
    fn rx(self) -> bool {
        !matches!(self, Self::Tx)
    }

    fn tx(self) -> bool {
        !matches!(self, Self::Rx)
    }
}

/// How to bind: let the kernel choose, or insist on copy or zero-copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum BindMode {
    /// Zero-copy where the driver supports it, copy otherwise (no bind
    /// flag). [`XdpSocket::zero_copy`] reports the outcome (`XDP_OPTIONS`).
    #[default]
    Auto,
    /// Copy mode (`XDP_COPY`): works with every driver (veth included).
    Copy,
    /// Zero-copy mode (`XDP_ZEROCOPY`): fails where the driver lacks it.
    ZeroCopy,
}

/// Builder for an [`XdpSocket`]. Setters take and return the builder by
/// value; [`build`](Self::build) validates everything once.
///
/// ```no_run
/// use netring::{XdpSocket, XdpMode};
/// let sock = XdpSocket::builder()
///     .interface("eth0")
///     .queue(0)
///     .frame_count(8192)
///     .mode(XdpMode::Rx)
///     .build()?;
/// println!("zero-copy: {}", sock.zero_copy());
/// # Ok::<(), netring::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct XdpSocketBuilder {
    interface: Option<String>,
    queue: u32,
    frame_size: u32,
    frame_count: u32,
    rx_size: u32,
    tx_size: u32,
    fill_size: u32,
    comp_size: u32,
    mode: XdpMode,
    need_wakeup: bool,
    bind: BindMode,
    attach: XdpAttach,
    builtin_program: bool,
    huge_pages: bool,
    batch_size: u32,
    netns: Option<String>,
    busy_poll: Option<BusyPoll>,
    multi_buffer: bool,
    filter: Option<String>,
}

/// Busy-polling settings of an AF_XDP socket
/// ([`XdpSocketBuilder::busy_poll`]).
///
/// With busy polling, the system calls netring makes to wake the kernel
/// (`recvfrom` when the RX ring is empty, `sendto` to transmit) run the
/// device's NAPI poll loop right there, in the calling thread, for up to
/// `usecs` microseconds and `budget` frames, instead of waiting for an
/// interrupt and a softirq. `prefer` (`SO_PREFER_BUSY_POLL`) asks the
/// kernel to leave the queue to those calls and keep its interrupts off
/// while they keep coming (with the device's `napi_defer_hard_irqs` and
/// `gro_flush_timeout` set, see the kernel's `napi.rst`).
///
/// What it costs: a core spinning in the kernel (every empty receive is a
/// system call that spins for `usecs`), for lower and steadier latency and
/// fewer interrupts. It helps on a NIC queue that one thread owns and polls
/// without pause, with a core to spare for it; it does nothing for a
/// socket whose queue has no NAPI context. On veth (copy mode) the receive
/// work runs in the sender's softirq whatever the receiver does, so a
/// spinning, busy-polling reader only takes CPU from the senders: on two
/// cores, measured (then in `examples/xdp_bench.rs`, since folded into
/// `netring bench`; see docs/PERFORMANCE.md) slower than a reader
/// sleeping in `poll`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BusyPoll {
    /// `SO_BUSY_POLL`: microseconds to spin per system call (0: none).
    pub usecs: u32,
    /// `SO_BUSY_POLL_BUDGET`: most frames per spin (at most 65535).
    pub budget: u32,
    /// `SO_PREFER_BUSY_POLL` (Linux 5.11).
    pub prefer: bool,
}

impl Default for BusyPoll {
    /// 20 µs, 64 frames, preferred: the values the kernel's `xdpsock` sample uses.
    fn default() -> Self {
        Self { usecs: 20, budget: 64, prefer: true }
    }
}

impl Default for XdpSocketBuilder {
    fn default() -> Self {
        Self {
            interface: None,
            queue: 0,
            frame_size: DEFAULT_FRAME_SIZE,
            frame_count: DEFAULT_FRAME_COUNT,
            rx_size: DEFAULT_RING_SIZE,
            tx_size: DEFAULT_RING_SIZE,
            fill_size: DEFAULT_FILL_SIZE,
            comp_size: DEFAULT_RING_SIZE,
            mode: XdpMode::default(),
            need_wakeup: true,
            bind: BindMode::Auto,
            attach: XdpAttach::Auto,
            builtin_program: true,
            huge_pages: false,
            batch_size: DEFAULT_BATCH_SIZE,
            netns: None,
            busy_poll: None,
            multi_buffer: false,
            filter: None,
        }
    }
}

impl XdpSocketBuilder {
    /// The interface (required).
    pub fn interface(mut self, name: impl Into<String>) -> Self {
        self.interface = Some(name.into());
        self
    }

    /// The queue to bind to (default 0). Must be below the interface's
    /// RX and TX queue counts.
    pub fn queue(mut self, queue: u32) -> Self {
        self.queue = queue;
        self
    }

    /// Bytes per UMEM frame: a power of two from 2048 to the page size
    /// (default 2048). A received frame gets `frame_size − 256` bytes.
    pub fn frame_size(mut self, bytes: u32) -> Self {
        self.frame_size = bytes;
        self
    }

    /// Number of UMEM frames (default 4096).
    pub fn frame_count(mut self, n: u32) -> Self {
        self.frame_count = n;
        self
    }

    /// RX ring size, a power of two (default 2048).
    pub fn rx_ring_size(mut self, n: u32) -> Self {
        self.rx_size = n;
        self
    }

    /// TX ring size, a power of two (default 2048).
    pub fn tx_ring_size(mut self, n: u32) -> Self {
        self.tx_size = n;
        self
    }

    /// Fill ring size, a power of two, at least the frames given for
    /// receive (default 4096).
    pub fn fill_ring_size(mut self, n: u32) -> Self {
        self.fill_size = n;
        self
    }

    /// Completion ring size, a power of two (default 2048).
    pub fn completion_ring_size(mut self, n: u32) -> Self {
        self.comp_size = n;
        self
    }

    /// How frames are split between receive and transmit (default
    /// [`XdpMode::RxTx`]).
    pub fn mode(mut self, mode: XdpMode) -> Self {
        self.mode = mode;
        self
    }

    /// Use the need-wakeup protocol (`XDP_USE_NEED_WAKEUP`, Linux 5.4;
    /// default on): system calls only when the kernel flags that it needs
    /// one.
    pub fn need_wakeup(mut self, on: bool) -> Self {
        self.need_wakeup = on;
        self
    }

    /// Copy, zero-copy, or let the kernel choose (default).
    pub fn bind_mode(mut self, mode: BindMode) -> Self {
        self.bind = mode;
        self
    }

    /// Native or generic XDP for the built-in program (default: native,
    /// falling back to generic).
    pub fn attach(mut self, how: XdpAttach) -> Self {
        self.attach = how;
        self
    }

    /// Load and attach the built-in redirect program (default on). Turn it
    /// off to use your own program: insert [`XdpSocket`]'s descriptor into
    /// your XSKMAP ([`XskMap::insert`] works on any map fd you wrap).
    pub fn builtin_program(mut self, on: bool) -> Self {
        self.builtin_program = on;
        self
    }

    /// Back the UMEM with huge pages (`MAP_HUGETLB`; needs pages reserved in
    /// `/proc/sys/vm/nr_hugepages`).
    pub fn huge_pages(mut self, on: bool) -> Self {
        self.huge_pages = on;
        self
    }

    /// Receive only the frames a tcpdump filter expression accepts
    /// (pcap-filter(7), see [`crate::filter::expr`]); the others go on to
    /// the kernel's stack (`XDP_PASS`) as if no socket were there.
    ///
    /// The expression is compiled at [`build`](Self::build) for frames as
    /// they arrive (VLAN tags in the bytes), translated to eBPF and run
    /// inside the built-in XDP program, so rejected frames never reach the
    /// UMEM. Frames are delivered whole (no snap length). Needs the
    /// built-in program.
    pub fn filter(mut self, expression: impl Into<String>) -> Self {
        self.filter = Some(expression.into());
        self
    }

    /// Most descriptors taken per [`XdpSocket::next_batch`] (default 64).
    pub fn batch_size(mut self, n: u32) -> Self {
        self.batch_size = n;
        self
    }

    /// Open the socket (and attach the built-in program) inside the named network namespace (`/run/netns/NAME`
    /// as `ip netns` names them, or a path such as `/proc/PID/ns/net`); it
    /// stays there wherever it is used. Needs `CAP_SYS_ADMIN`. The interface
    /// name is looked up there.
    pub fn netns(mut self, name: impl Into<String>) -> Self {
        self.netns = Some(name.into());
        self
    }

    /// Busy polling (`SO_BUSY_POLL`, `SO_BUSY_POLL_BUDGET`,
    /// `SO_PREFER_BUSY_POLL`; default off). Also makes every empty
    /// [`XdpSocket::next_batch`] call `recvfrom`, which is what drives the
    /// busy poll. See [`BusyPoll`] for what it costs and when it helps.
    /// Raising the values above the system's defaults needs `CAP_NET_ADMIN`.
    /// Linux 5.11.
    pub fn busy_poll(mut self, settings: Option<BusyPoll>) -> Self {
        self.busy_poll = settings;
        self
    }

    /// Multi-buffer AF_XDP (default off): a frame larger than one UMEM frame
    /// arrives in several, chained (`XDP_USE_SG`, Linux 6.6), and the
    /// built-in program is loaded for fragments (`BPF_F_XDP_HAS_FRAGS`,
    /// which also lets native XDP attach to a device whose MTU exceeds a
    /// page). Such a frame is handed out whole: its pieces are copied into
    /// one buffer of the socket (frames that fit one UMEM frame stay
    /// zero-copy). [`XdpSocket::send`] splits long frames the same way.
    pub fn multi_buffer(mut self, on: bool) -> Self {
        self.multi_buffer = on;
        self
    }

    /// Frames given for receive at start.
    fn prefill(&self) -> u32 {
        match self.mode {
            XdpMode::Rx => self.frame_count.min(self.fill_size),
            XdpMode::Tx => 0,
            XdpMode::RxTx => (self.frame_count / 2).min(self.fill_size),
            XdpMode::Custom { prefill } => prefill,
        }
    }

    fn validate(&self) -> Result<&str> {
        let iface = self.interface.as_deref().ok_or_else(|| Error::config("interface", "<unset>", "is required"))?;
        iface::validate_name(iface)?;
        let page = sys::page_size() as u32;
        let fs = self.frame_size;
        if !fs.is_power_of_two() || fs < 2048 || (fs > page && !self.huge_pages) {
            return Err(Error::config(
                "frame_size",
                fs,
                format!("must be a power of two from 2048 to the page size ({page})"),
            ));
        }
        if self.frame_count == 0 {
            return Err(Error::config("frame_count", 0, "must be at least 1"));
        }
        if u64::from(fs) * u64::from(self.frame_count) > 1 << 36 {
            return Err(Error::config("frame_count", self.frame_count, "makes the UMEM larger than 64 GiB"));
        }
        for (name, v) in [
            ("rx_ring_size", self.rx_size),
            ("tx_ring_size", self.tx_size),
            ("fill_ring_size", self.fill_size),
            ("completion_ring_size", self.comp_size),
        ] {
            if !v.is_power_of_two() || v > 1 << 24 {
                return Err(Error::config(name, v, "must be a power of two up to 16777216"));
            }
        }
        if let XdpMode::Custom { prefill } = self.mode {
            if prefill > self.frame_count {
                return Err(Error::config(
                    "prefill",
                    prefill,
                    format!("must not exceed frame_count ({})", self.frame_count),
                ));
            }
            if prefill > self.fill_size {
                return Err(Error::config(
                    "prefill",
                    prefill,
                    format!("must not exceed fill_ring_size ({})", self.fill_size),
                ));
            }
        }
        if self.batch_size == 0 || self.batch_size > self.rx_size {
            return Err(Error::config(
                "batch_size",
                self.batch_size,
                format!("must be 1..={} (rx_ring_size)", self.rx_size),
            ));
        }
        if self.filter.is_some() && !(self.builtin_program && self.mode.rx()) {
            return Err(Error::config(
                "filter",
                self.filter.clone().unwrap_or_default(),
                "needs the built-in XDP program and a receive mode",
            ));
        }
        Ok(iface)
    }

    /// Create the socket: UMEM, rings, bind, and (for receive) the built-in
    /// XDP program, attached to the interface.
    ///
    /// The socket is created in the network namespace of the calling thread.
    /// **Receiving takes every frame of the queue away from the kernel's
    /// network stack** for as long as the socket lives (see the
    /// [module docs](crate::afxdp)).
    ///
    /// Needs `CAP_NET_RAW` (socket), `CAP_NET_ADMIN` and `CAP_BPF` (program),
    /// and `CAP_IPC_LOCK` or enough `RLIMIT_MEMLOCK` for the UMEM.
    /// Linux 5.9+ (BPF links for XDP); need-wakeup 5.4; statistics 5.9.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a value that breaks a rule (nothing is
    /// created); [`Error::InterfaceNotFound`]; [`Error::MemoryLock`] when the
    /// UMEM cannot be locked; [`Error::QueueBusy`] when another socket owns
    /// the queue; [`Error::Unsupported`] for zero-copy on a driver without
    /// it, or multi-buffer on a kernel or device without it;
    /// [`Error::XdpBusy`] / [`Error::XdpAttach`] / [`Error::BpfLoad`] from
    /// the program; [`Error::PermissionDenied`] naming the capability;
    /// [`Error::InvalidExpression`] for a [`filter`](Self::filter) that does
    /// not compile, [`Error::InvalidFilter`] for one XDP cannot run.
    pub fn build(mut self) -> Result<XdpSocket> {
        if let Some(ns) = self.netns.take() {
            return crate::netns::NetNs::open(&ns)?.run(move || self.build())?;
        }
        let iface = self.validate()?.to_owned();
        let umem = Umem::new(self.frame_size, self.frame_count, self.huge_pages)?;
        let mut sock = self.open(&iface, self.queue, umem, None)?;
        self.attach_program(std::slice::from_mut(&mut sock))?;
        Ok(sock)
    }

    /// One socket on each of `queues` of the interface, sharing one UMEM
    /// (`XDP_SHARED_UMEM`) and one built-in program: see
    /// [`build_shared`](Self::build_shared).
    ///
    /// # Errors
    /// As [`build_shared`](Self::build_shared).
    pub fn build_queues(self, queues: &[u32]) -> Result<Vec<XdpSocket>> {
        let iface = self.validate()?.to_owned();
        self.build_shared(queues.iter().map(|&q| (iface.clone(), q)))
    }

    /// One socket on every queue of the interface ([`build_queues`](Self::build_queues)
    /// with `0..n`): `n` is the interface's RX queue count for
    /// [`XdpMode::Rx`], its TX queue count for [`XdpMode::Tx`], the smaller
    /// of the two otherwise (`RTM_GETLINK`, as `ip -d link` shows them).
    ///
    /// # Errors
    /// As [`build_shared`](Self::build_shared).
    pub fn build_all_queues(self) -> Result<Vec<XdpSocket>> {
        let iface = self.validate()?.to_owned();
        let info = crate::interface::link_info(&iface)?;
        let n = match self.mode {
            XdpMode::Rx => info.rx_queues,
            XdpMode::Tx => info.tx_queues,
            _ => info.rx_queues.min(info.tx_queues),
        }
        .max(1);
        self.build_queues(&(0..n).collect::<Vec<_>>())
    }

    /// Sockets on several (interface, queue) pairs over **one UMEM**
    /// (`XDP_SHARED_UMEM`), in the order given. The UMEM holds
    /// `frame_count` frames for each socket and is split into disjoint
    /// partitions, one per socket: each socket only ever gives the kernel,
    /// accepts back, reads or writes frames of its own partition (a
    /// descriptor naming another partition's frame is refused and counted
    /// like any corrupt one), so the sockets can live on different threads
    /// without sharing any frame.
    ///
    /// The first socket registers the UMEM; the others bind with
    /// `XDP_SHARED_UMEM` and the first one's descriptor. Each socket gets its
    /// own fill and completion rings, as the kernel requires for sockets on
    /// other queues or devices than the UMEM's first socket. Bind flags
    /// (copy / zero-copy, need-wakeup) are the first socket's: the kernel
    /// takes them from the UMEM for the others. Each interface gets one
    /// built-in program (one XSKMAP with every socket of that interface at
    /// its queue, one BPF link), held by all its sockets and detached when
    /// the last of them drops.
    ///
    /// Every interface must be in the calling thread's network namespace.
    /// The builder's own `interface` and `queue` are not used.
    ///
    /// Two sockets on the same queue of the same device would have to share
    /// one fill ring and one completion ring (the kernel's other
    /// `XDP_SHARED_UMEM` mode), so frames would move between their
    /// partitions: that is refused.
    ///
    /// Capabilities and kernel versions as [`build`](Self::build); sharing
    /// across queues and devices needs Linux 5.10.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for no target, a target given twice, or a
    /// value that breaks a rule; then as [`build`](Self::build), naming the
    /// failing socket's interface and queue.
    pub fn build_shared<S: Into<String>>(
        mut self,
        targets: impl IntoIterator<Item = (S, u32)>,
    ) -> Result<Vec<XdpSocket>> {
        let targets: Vec<(String, u32)> = targets.into_iter().map(|(i, q)| (i.into(), q)).collect();
        let Some((first_if, _)) = targets.first() else {
            return Err(Error::config("queues", "none", "give at least one (interface, queue)"));
        };
        self.interface = Some(first_if.clone());
        self.validate()?;
        for (i, (iface, q)) in targets.iter().enumerate() {
            iface::validate_name(iface)?;
            if targets[..i].iter().any(|(o, oq)| o == iface && oq == q) {
                return Err(Error::config(
                    "queue",
                    format!("{iface}:{q} twice"),
                    "sockets sharing a UMEM on one queue would share one fill ring; give each queue once",
                ));
            }
        }
        let n = u32::try_from(targets.len()).map_err(|_| Error::config("queues", targets.len(), "too many"))?;
        if u64::from(self.frame_size) * u64::from(self.frame_count) * u64::from(n) > 1 << 36 {
            return Err(Error::config(
                "frame_count",
                self.frame_count,
                "times the socket count makes the UMEM larger than 64 GiB",
            ));
        }
        let mut parts = Umem::split_new(self.frame_size, self.frame_count, n, self.huge_pages)?.into_iter();
        let (first_if, first_q) = &targets[0];
        let first = self.open(first_if, *first_q, parts.next().expect("n >= 1"), None)?;
        let mut socks = Vec::with_capacity(targets.len());
        for ((iface, q), umem) in targets[1..].iter().zip(parts) {
            socks.push(self.open(iface, *q, umem, Some(first.fd.as_fd()))?);
        }
        socks.insert(0, first);
        self.attach_program(&mut socks)?;
        Ok(socks)
    }

    /// Load and attach the built-in program for `socks` (one per interface),
    /// if this builder receives with it.
    fn attach_program(&self, socks: &mut [XdpSocket]) -> Result<()> {
        if !(self.mode.rx() && self.builtin_program) {
            return Ok(());
        }
        // Compiled for frames as they arrive (tags in the bytes), accepting
        // whole frames: XDP delivers frames, not snap lengths.
        let filter = self
            .filter
            .as_deref()
            .map(|e| crate::filter::expr::compile_for(e, u32::MAX, crate::filter::expr::Target::Offline))
            .transpose()?;
        let mut done: Vec<String> = Vec::new();
        for i in 0..socks.len() {
            let iface = socks[i].interface.clone();
            if done.contains(&iface) {
                continue;
            }
            let members: Vec<(u32, BorrowedFd<'_>)> =
                socks.iter().filter(|s| s.interface == iface).map(|s| (s.queue, s.fd.as_fd())).collect();
            let prog = Arc::new(BuiltIn::attach(&iface, &members, self.attach, self.multi_buffer, filter.as_ref())?);
            for s in socks.iter_mut().filter(|s| s.interface == iface) {
                s.program = Some(Arc::clone(&prog));
            }
            done.push(iface);
        }
        Ok(())
    }

    /// Socket, rings and bind of one socket over `umem`; with `shared`, over
    /// the UMEM registered by that socket. No program.
    fn open(&self, iface: &str, queue: u32, mut umem: Umem, shared: Option<BorrowedFd<'_>>) -> Result<XdpSocket> {
        let fd = sys::socket(sx::AF_XDP, libc::SOCK_RAW, 0, "socket(AF_XDP)")?;
        let ifindex = iface::index(iface)?;
        let sock = fd.as_fd();

        if shared.is_none() {
            umem.register(sock).map_err(|e| match e.raw_os_error() {
                Some(libc::ENOBUFS) | Some(libc::ENOMEM) => Error::MemoryLock {
                    bytes: umem.len() as u64,
                    limit: sx::memlock_limit(),
                    source: std::io::Error::from_raw_os_error(e.raw_os_error().unwrap_or(libc::ENOMEM)),
                },
                _ => e,
            })?;
        }

        let set = |opt, n: u32, call| sys::setsockopt(sock, sx::SOL_XDP, opt, &n, call);
        set(sx::XDP_UMEM_FILL_RING, self.fill_size, "setsockopt(XDP_UMEM_FILL_RING)")?;
        set(sx::XDP_UMEM_COMPLETION_RING, self.comp_size, "setsockopt(XDP_UMEM_COMPLETION_RING)")?;
        if self.mode.rx() {
            set(sx::XDP_RX_RING, self.rx_size, "setsockopt(XDP_RX_RING)")?;
        }
        if self.mode.tx() {
            set(sx::XDP_TX_RING, self.tx_size, "setsockopt(XDP_TX_RING)")?;
        }
        if let Some(bp) = self.busy_poll {
            sx::set_busy_poll(sock, bp.usecs, bp.budget, bp.prefer)?;
        }
        let off = sx::mmap_offsets(sock)?;
        let mut fill: Producer<u64> = map_ring::<u64, _>(
            sock,
            &off.fr,
            self.fill_size,
            sx::XDP_UMEM_PGOFF_FILL_RING,
            "mmap(XDP fill ring)",
            Producer::new,
        )?;
        let comp: Consumer<u64> = map_ring::<u64, _>(
            sock,
            &off.cr,
            self.comp_size,
            sx::XDP_UMEM_PGOFF_COMPLETION_RING,
            "mmap(XDP completion ring)",
            Consumer::new,
        )?;
        let rx: Option<Consumer<xdp_desc>> = self
            .mode
            .rx()
            .then(|| {
                map_ring::<xdp_desc, _>(
                    sock,
                    &off.rx,
                    self.rx_size,
                    sx::XDP_PGOFF_RX_RING,
                    "mmap(XDP RX ring)",
                    Consumer::new,
                )
            })
            .transpose()?;
        let tx: Option<Producer<xdp_desc>> = self
            .mode
            .tx()
            .then(|| {
                map_ring::<xdp_desc, _>(
                    sock,
                    &off.tx,
                    self.tx_size,
                    sx::XDP_PGOFF_TX_RING,
                    "mmap(XDP TX ring)",
                    Producer::new,
                )
            })
            .transpose()?;

        // A socket over another's UMEM may pass no flag but XDP_SHARED_UMEM:
        // the kernel gives it the UMEM's mode and need-wakeup setting.
        let mut flags = match self.bind {
            BindMode::Auto => 0,
            BindMode::Copy => sx::XDP_COPY,
            BindMode::ZeroCopy => sx::XDP_ZEROCOPY,
        };
        if self.need_wakeup {
            flags |= sx::XDP_USE_NEED_WAKEUP;
        }
        if self.multi_buffer {
            flags |= sx::XDP_USE_SG;
        }
        if shared.is_some() {
            flags = 0;
        }
        // The kernel frees a closed socket's hold on its queue from a work
        // queue (xp_release_deferred), so a queue released a moment ago can
        // still report EBUSY: retry briefly before calling it taken.
        let t0 = Instant::now();
        loop {
            match sx::bind(sock, ifindex, queue, flags, shared) {
                Ok(()) => break,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && t0.elapsed() < BUSY_RETRY => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(self.bind_error(iface, queue, e)),
            }
        }
        let zero_copy = sx::zero_copy(sock)?;

        // Frames for receive go on the fill ring before any frame can arrive.
        let prefill = self.prefill();
        let r = fill.reserve(prefill);
        for i in 0..r.len() {
            fill.write(&r, i, umem.take_for_fill().expect("validated: prefill <= frame_count"));
        }
        fill.submit(r);

        if let Ok(mtu) = iface::mtu(iface)
            && self.mode.rx()
            && !self.multi_buffer
            && mtu + 14 > self.frame_size - sx::XDP_PACKET_HEADROOM
        {
            tracing::warn!(
                interface = %iface, mtu, frame_size = self.frame_size,
                "frames longer than {} bytes will be dropped: UMEM frame too small for the MTU (see multi_buffer)",
                self.frame_size - sx::XDP_PACKET_HEADROOM
            );
        }
        tracing::debug!(interface = %iface, queue, zero_copy, mode = ?self.mode, shared = shared.is_some(), "AF_XDP socket ready");
        Ok(XdpSocket {
            program: None,
            rx,
            tx,
            fill,
            comp,
            fd,
            umem,
            rx_valid: Vec::with_capacity(self.batch_size as usize),
            reassembly: Vec::new(),
            rx_descs: Vec::new(),
            interface: iface.to_owned(),
            ifindex,
            queue,
            zero_copy,
            need_wakeup: self.need_wakeup,
            busy_poll: self.busy_poll,
            multi_buffer: self.multi_buffer,
            max_tx_len: iface::mtu(iface)
                .map_or(self.frame_size as usize, |m| (m as usize + ETH_HLEN).min(self.frame_size as usize)),
            batch_size: self.batch_size,
            stop: StopHandle::new()?,
            counters: Counters::default(),
        })
    }

    fn bind_error(&self, iface: &str, queue: u32, e: std::io::Error) -> Error {
        let queues = || crate::interface::link_info(iface).map(|l| (l.rx_queues, l.tx_queues)).ok();
        match e.raw_os_error() {
            Some(libc::EBUSY) => Error::QueueBusy { interface: iface.to_owned(), queue },
            Some(libc::EOPNOTSUPP) if self.bind == BindMode::ZeroCopy => Error::Unsupported {
                feature: "AF_XDP zero-copy",
                detail: format!("the driver of {iface:?} does not support it; use BindMode::Copy or Auto"),
            },
            Some(libc::ENODEV) => Error::InterfaceNotFound { name: iface.to_owned() },
            Some(libc::EINVAL) if queues().is_some_and(|(rx, tx)| queue >= rx.min(tx)) => Error::config(
                "queue",
                queue,
                format!("{iface:?} has {} queues (RX and TX)", queues().map_or(0, |(rx, tx)| rx.min(tx))),
            ),
            Some(libc::EINVAL | libc::EOPNOTSUPP) if self.multi_buffer => Error::Unsupported {
                feature: "AF_XDP multi-buffer (XDP_USE_SG)",
                detail: format!(
                    "bind of {iface:?} queue {queue} with XDP_USE_SG failed ({e}): needs Linux 6.6, and in zero-copy mode a driver with multi-buffer support; use BindMode::Copy or a UMEM frame as large as the MTU"
                ),
            },
            _ => Error::from_io("bind(AF_XDP)", e),
        }
    }
}

/// mmap one ring of the socket (descriptors of type `T`) and wrap it.
fn map_ring<T, R>(
    sock: BorrowedFd<'_>,
    off: &xdp_ring_offset,
    size: u32,
    pgoff: i64,
    call: &'static str,
    wrap: impl FnOnce(Mmap, Layout, u32) -> Result<R>,
) -> Result<R> {
    let layout = Layout { producer: off.producer, consumer: off.consumer, flags: off.flags, desc: off.desc };
    let mmap = Mmap::shared(sock, layout.map_len::<T>(size), pgoff, true, call)?;
    wrap(mmap, layout, size)
}

/// The built-in program and what it needs, attached while any socket of
/// its interface holds it.
#[derive(Debug)]
struct BuiltIn {
    // Dropped first: closing the link detaches the program.
    link: XdpLink,
    _map: XskMap,
    prog: EbpfProgram,
}

impl BuiltIn {
    /// One XSKMAP with each `(queue, socket)` of `members`, the redirect
    /// program over it (with `filter` translated to eBPF in front, if given),
    /// attached to `iface`.
    fn attach(
        iface: &str,
        members: &[(u32, BorrowedFd<'_>)],
        how: XdpAttach,
        frags: bool,
        filter: Option<&crate::filter::Program>,
    ) -> Result<Self> {
        let queues = crate::interface::link_info(iface).map(|l| l.rx_queues).unwrap_or(1);
        let top = members.iter().map(|&(q, _)| q + 1).max().unwrap_or(1);
        let map = XskMap::new(queues.max(top))?;
        for &(queue, sock) in members {
            map.insert(queue, sock)?;
        }
        let insns = match filter {
            Some(f) => programs::xsk_redirect_filtered(&map, f)?,
            None => programs::xsk_redirect(&map),
        };
        let prog = EbpfProgram::load(ProgramType::Xdp { frags }, "netring_xsk", &insns)?;
        let link = XdpLink::attach(&prog, iface, how)?;
        tracing::debug!(interface = iface, mode = %link.mode(), sockets = members.len(), frags, "built-in XDP program attached");
        Ok(Self { link, _map: map, prog })
    }
}

/// One frame of a batch: in the UMEM at `addr`, or (multi-buffer) copied
/// to `reassembly[copied..]`, `addr` then naming its first buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RxFrame {
    pub addr: u64,
    pub len: u32,
    pub copied: Option<usize>,
}

/// What the socket counts itself.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counters {
    pub received: u64,
    pub queued: u64,
    pub completed: u64,
    pub completed_bytes: u64,
    pub skipped_rx: u64,
    pub skipped_completions: u64,
}

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
/// send with [`send`](Self::send) or a zero-copy [`tx_slot`](Self::tx_slot),
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
    program: Option<Arc<BuiltIn>>,
    pub(crate) rx: Option<Consumer<xdp_desc>>,
    tx: Option<Producer<xdp_desc>>,
    pub(crate) fill: Producer<u64>,
    comp: Consumer<u64>,
    fd: OwnedFd,
    pub(crate) umem: Umem,
    /// Frames of the current batch that passed validation.
    pub(crate) rx_valid: Vec<RxFrame>,
    /// Multi-buffer frames of the current batch, copied whole.
    pub(crate) reassembly: Vec<u8>,
    /// Descriptors read in one multi-buffer batch (kept for its capacity).
    rx_descs: Vec<xdp_desc>,
    interface: String,
    ifindex: u32,
    queue: u32,
    zero_copy: bool,
    need_wakeup: bool,
    busy_poll: Option<BusyPoll>,
    multi_buffer: bool,
    /// The longest frame [`PacketSink::allocate`] takes: MTU + Ethernet
    /// header, at most one UMEM frame.
    max_tx_len: usize,
    batch_size: u32,
    stop: StopHandle,
    pub(crate) counters: Counters,
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
        let rx = self.rx.as_mut()?;
        let p = rx.peek(self.batch_size);
        if p.len() == 0 {
            rx.release(p);
            // With busy polling, the empty poll is what runs the device's
            // NAPI loop (in recvfrom); otherwise only when the kernel asks.
            if self.busy_poll.is_some() || (self.need_wakeup && self.fill.needs_wakeup()) {
                let _ = sx::kick_rx(self.fd.as_fd());
            }
            return None;
        }
        self.rx_valid.clear();
        if self.multi_buffer {
            let mut descs = std::mem::take(&mut self.rx_descs);
            descs.clear();
            descs.extend((0..p.len()).map(|i| rx.read(&p, i)));
            rx.release(p);
            // The kernel publishes a frame's buffers together: finish a chain
            // the batch size cut.
            while descs.last().is_some_and(|d| d.options & sx::XDP_PKT_CONTD != 0) {
                let q = rx.peek(1);
                if q.len() == 1 {
                    descs.push(rx.read(&q, 0));
                }
                let more = q.len() == 1;
                rx.release(q);
                if !more {
                    break;
                }
            }
            self.accept_chains(&descs);
            self.rx_descs = descs;
        } else {
            for i in 0..p.len() {
                let d = rx.read(&p, i);
                if self.umem.accept_rx(&d) {
                    self.rx_valid.push(RxFrame { addr: d.addr, len: d.len, copied: None });
                } else {
                    self.counters.skipped_rx += 1;
                }
            }
            // The descriptors are copied out; the frames are ours by the frame
            // table until the batch hands them back.
            rx.release(p);
        }
        self.counters.received += self.rx_valid.len() as u64;
        Some(XdpBatch::new(self))
    }

    /// Multi-buffer receive: single-buffer frames stay in the UMEM; the
    /// buffers of a longer frame are copied, in order, into `reassembly` and
    /// go straight back to the fill ring. A chain with a refused buffer, or
    /// cut off, is dropped whole and counted once.
    fn accept_chains(&mut self, descs: &[xdp_desc]) {
        self.reassembly.clear();
        // The frame being assembled: its first buffer and where it starts.
        let mut chain: Option<(u64, usize)> = None;
        // The frame being skipped (one of its buffers was refused).
        let mut broken = false;
        for d in descs {
            let more = d.options & sx::XDP_PKT_CONTD != 0;
            let ok = self.umem.accept_rx(d);
            if chain.is_none() && !broken && !more {
                if ok {
                    self.rx_valid.push(RxFrame { addr: d.addr, len: d.len, copied: None });
                } else {
                    self.counters.skipped_rx += 1;
                }
                continue;
            }
            if ok {
                if !broken {
                    chain.get_or_insert((d.addr, self.reassembly.len()));
                    self.reassembly.extend_from_slice(self.umem.rx_bytes(d.addr, d.len));
                }
                self.give_back(d.addr);
            } else if !broken {
                broken = true;
                self.counters.skipped_rx += 1;
                if let Some((_, start)) = chain.take() {
                    self.reassembly.truncate(start);
                }
            }
            if !more {
                if let Some((addr, start)) = chain.take() {
                    let len = (self.reassembly.len() - start) as u32;
                    self.rx_valid.push(RxFrame { addr, len, copied: Some(start) });
                }
                broken = false;
            }
        }
        if let Some((_, start)) = chain {
            // Cut off: the kernel never publishes part of a frame.
            self.reassembly.truncate(start);
            self.counters.skipped_rx += 1;
        }
    }

    /// One received frame straight back to the fill ring.
    fn give_back(&mut self, addr: u64) {
        let r = self.fill.reserve(1);
        if r.len() == 1 {
            let base = self.umem.rx_to_fill(addr);
            self.fill.write(&r, 0, base);
        } else {
            self.umem.free(addr, State::Rx);
        }
        self.fill.submit(r);
    }

    /// Called by a dropping batch: its frames go back on the fill ring.
    pub(crate) fn return_rx(&mut self) {
        let n = self.rx_valid.iter().filter(|f| f.copied.is_none()).count() as u32;
        let r = self.fill.reserve(n);
        let mut i = 0;
        for f in self.rx_valid.iter().filter(|f| f.copied.is_none()) {
            if i < r.len() {
                let base = self.umem.rx_to_fill(f.addr);
                self.fill.write(&r, i, base);
                i += 1;
            } else {
                self.umem.free(f.addr, State::Rx);
            }
        }
        self.fill.submit(r);
        self.rx_valid.clear();
        if self.need_wakeup && self.fill.needs_wakeup() {
            let _ = sx::kick_rx(self.fd.as_fd());
        }
    }

    /// The next batch, waiting up to `timeout` (`None`: no limit);
    /// `Ok(None)` when the time runs out.
    ///
    /// # Errors
    /// [`Error::Stopped`] after [`StopHandle::stop`]; [`Error::InterfaceGone`]
    /// when the interface is unregistered; [`Error::Io`] if `poll` fails.
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
            let [sock, _] = sys::poll([(self.fd.as_fd(), libc::POLLIN), (self.stop.event_fd(), libc::POLLIN)], left)
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
    pub(crate) fn check_rx_ready(&mut self, socket_error: bool) -> Result<bool> {
        let Some(rx) = self.rx.as_mut() else {
            return Err(no_ring("receive", "RX"));
        };
        if rx.available(1) > 0 {
            return Ok(true);
        }
        if self.busy_poll.is_some() || (self.need_wakeup && self.fill.needs_wakeup()) {
            let _ = sx::kick_rx(self.fd.as_fd());
        }
        if socket_error {
            self.check_socket_error()?;
        }
        Ok(false)
    }

    /// Whether the RX ring holds frames (see [`check_rx_ready`](Self::check_rx_ready)).
    pub(crate) fn rx_ready(&mut self) -> bool {
        self.check_rx_ready(false).unwrap_or(false)
    }

    pub(crate) fn check_socket_error(&self) -> Result<()> {
        match sys::take_socket_error(self.fd.as_fd()) {
            None => Ok(()),
            Some(e) if e.raw_os_error() == Some(libc::ENETDOWN) => {
                Err(Error::InterfaceGone { name: self.interface.clone() })
            }
            Some(e) => Err(Error::from_io("poll(AF_XDP)", e)),
        }
    }

    /// One received frame, copied out (its UMEM frame goes straight back to
    /// the kernel), waiting up to `timeout`.
    ///
    /// # Errors
    /// As [`next_batch_blocking`](Self::next_batch_blocking).
    pub fn recv(&mut self, timeout: Option<Duration>) -> Result<Option<OwnedPacket>> {
        let size = self.batch_size;
        self.batch_size = 1;
        let got = self.next_batch_blocking(timeout).map(|b| b.and_then(|b| b.iter().next().map(|p| p.to_owned())));
        self.batch_size = size;
        got
    }

    /// A zero-copy transmit slot of `len` bytes: write the frame into
    /// [`TxSlot::data_mut`], then [`TxSlot::send`]. `Ok(None)` when no frame
    /// or TX ring slot is free even after collecting completions and kicking
    /// the kernel. Dropping an unsent slot returns its frame.
    ///
    /// # Errors
    /// [`Error::FrameTooLarge`] when `len` exceeds the frame size;
    /// [`Error::InvalidConfig`] for `len` 0 or a socket without a TX ring;
    /// errors of [`flush`](Self::flush).
    pub fn tx_slot(&mut self, len: usize) -> Result<Option<TxSlot<'_>>> {
        if self.tx.is_none() {
            return Err(no_ring("send", "TX"));
        }
        if len > self.umem.frame_size() as usize {
            return Err(self.umem.too_large(len, &self.interface));
        }
        if len == 0 {
            return Err(Error::config("frame length", 0, "must be at least 1"));
        }
        for attempt in 0..2 {
            if attempt > 0 || self.umem.free_frames() == 0 {
                if attempt > 0 {
                    self.flush()?;
                }
                self.complete_tx();
            }
            let tx = self.tx.as_mut().expect("checked");
            let r = tx.reserve(1);
            if r.len() == 0 {
                tx.cancel(r);
                continue;
            }
            let Some(addr) = self.umem.take_free() else {
                tx.cancel(r);
                continue;
            };
            return Ok(Some(TxSlot { sock: self, reservation: Some(r), addr, len: len as u32 }));
        }
        Ok(None)
    }

    /// Queue one frame for transmit (copied into a UMEM frame); `Ok(false)`
    /// when nothing is free (see [`tx_slot`](Self::tx_slot)). Call
    /// [`flush`](Self::flush) after a burst. With
    /// [multi-buffer](XdpSocketBuilder::multi_buffer), a frame longer than
    /// a UMEM frame goes out in a chain of up to 17 of them.
    ///
    /// # Errors
    /// As [`tx_slot`](Self::tx_slot).
    pub fn send(&mut self, frame: &[u8]) -> Result<bool> {
        if self.multi_buffer && frame.len() > self.umem.frame_size() as usize {
            return self.send_chain(frame);
        }
        match self.tx_slot(frame.len())? {
            Some(mut slot) => {
                slot.data_mut().copy_from_slice(frame);
                slot.send();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Most buffers in one transmitted frame: the kernel builds the skb with
    /// one page fragment per buffer after the first (`MAX_SKB_FRAGS`).
    const MAX_TX_BUFFERS: usize = 17;

    /// A frame longer than a UMEM frame, as a chain of buffers.
    fn send_chain(&mut self, frame: &[u8]) -> Result<bool> {
        let fs = self.umem.frame_size() as usize;
        let k = frame.len().div_ceil(fs);
        if self.tx.is_none() {
            return Err(no_ring("send", "TX"));
        }
        if k > Self::MAX_TX_BUFFERS {
            return Err(Error::FrameTooLarge {
                len: frame.len(),
                limit: fs * Self::MAX_TX_BUFFERS,
                interface: self.interface.clone(),
                why: format!("a multi-buffer frame spans at most {} UMEM frames of {fs} bytes", Self::MAX_TX_BUFFERS),
            });
        }
        for attempt in 0..2 {
            if attempt > 0 {
                self.flush()?;
            }
            self.complete_tx();
            if self.umem.free_frames() < k {
                continue;
            }
            let tx = self.tx.as_mut().expect("checked");
            let r = tx.reserve(k as u32);
            if (r.len() as usize) < k {
                tx.cancel(r);
                continue;
            }
            for (i, piece) in frame.chunks(fs).enumerate() {
                let addr = self.umem.take_free().expect("counted above");
                let len = piece.len() as u32;
                self.umem.slot_bytes_mut(addr, len).copy_from_slice(piece);
                let end = i + 1 == k;
                tx.write(&r, i as u32, xdp_desc { addr, len, options: if end { 0 } else { sx::XDP_PKT_CONTD } });
                self.umem.slot_to_tx(addr, len, end);
            }
            tx.submit(r);
            self.counters.queued += 1;
            return Ok(true);
        }
        Ok(false)
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
        let Some(tx) = self.tx.as_mut() else { return Ok(()) };
        tx.refresh();
        if tx.pending() == 0 {
            self.complete_tx();
            return Ok(());
        }
        if self.zero_copy && self.need_wakeup && !tx.needs_wakeup() {
            self.complete_tx();
            return Ok(());
        }
        let rounds = tx.size() / 32 + 2;
        for _ in 0..rounds {
            let before = self.tx.as_mut().map_or(0, |t| {
                t.refresh();
                t.pending()
            });
            if let Err(e) = sx::kick_tx(self.fd.as_fd()) {
                match e.raw_os_error() {
                    Some(libc::EAGAIN) | Some(libc::EBUSY) | Some(libc::ENOBUFS) => {}
                    Some(libc::ENETDOWN) | Some(libc::ENXIO) => {
                        return Err(Error::InterfaceGone { name: self.interface.clone() });
                    }
                    _ => return Err(Error::from_io("sendto(AF_XDP)", e)),
                }
            }
            self.complete_tx();
            let after = self.tx.as_mut().map_or(0, |t| {
                t.refresh();
                t.pending()
            });
            if after == 0 || after >= before || self.zero_copy {
                break;
            }
        }
        Ok(())
    }

    /// Collect completed transmissions; returns how many frames came back
    /// (a multi-buffer frame counts once, when its last buffer does).
    pub fn complete_tx(&mut self) -> u32 {
        let p = self.comp.peek(self.comp.size());
        let mut done = 0;
        for i in 0..p.len() {
            match self.umem.accept_completion(self.comp.read(&p, i)) {
                Some((len, end)) => {
                    self.counters.completed_bytes += u64::from(len);
                    done += u32::from(end);
                }
                None => self.counters.skipped_completions += 1,
            }
        }
        self.comp.release(p);
        self.counters.completed += u64::from(done);
        done
    }

    /// Frames submitted for transmit and not yet completed.
    pub fn tx_in_flight(&self) -> usize {
        self.umem.count(State::Tx)
    }

    /// Flush and wait until every submitted frame has completed, up to
    /// `timeout`; `Ok(true)` when drained.
    ///
    /// # Errors
    /// As [`flush`](Self::flush).
    pub fn wait_tx_drained(&mut self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            self.flush()?;
            if self.tx_in_flight() == 0 {
                return Ok(true);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            sys::poll([(self.fd.as_fd(), libc::POLLOUT)], Some(left.min(Duration::from_millis(1))))
                .map_err(|e| Error::from_io("poll(AF_XDP)", e))?;
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
            events |= libc::POLLIN;
        }
        if self.tx.is_some() {
            events |= libc::POLLOUT;
        }
        let [r] = sys::poll([(self.fd.as_fd(), events)], timeout).map_err(|e| Error::from_io("poll(AF_XDP)", e))?;
        if r.error() {
            self.check_socket_error()?;
        }
        Ok(Readiness { rx: r.0 & libc::POLLIN != 0, tx: r.0 & libc::POLLOUT != 0 })
    }

    /// Kernel and user-space counters (`XDP_STATISTICS`, 64-bit, cumulative).
    ///
    /// # Errors
    /// `getsockopt(XDP_STATISTICS)` failed.
    pub fn statistics(&self) -> Result<XdpStats> {
        let k = sx::statistics(self.fd.as_fd())?;
        let corrupt = self.rx.as_ref().map_or(0, Consumer::corrupt_indices)
            + self.tx.as_ref().map_or(0, Producer::corrupt_indices)
            + self.fill.corrupt_indices()
            + self.comp.corrupt_indices();
        Ok(XdpStats {
            rx_dropped: k.rx_dropped,
            rx_invalid_descs: k.rx_invalid_descs,
            tx_invalid_descs: k.tx_invalid_descs,
            rx_ring_full: k.rx_ring_full,
            rx_fill_ring_empty_descs: k.rx_fill_ring_empty_descs,
            tx_ring_empty_descs: k.tx_ring_empty_descs,
            received: self.counters.received,
            completed: self.counters.completed,
            skipped_descs: self.counters.skipped_rx + self.counters.skipped_completions + corrupt,
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
        self.zero_copy
    }

    /// Where the built-in program runs, if this socket attached it.
    pub fn attach_mode(&self) -> Option<AttachMode> {
        self.program.as_ref().map(|p| p.link.mode())
    }

    /// The kernel's id of the built-in program, if attached.
    pub fn program_id(&self) -> Option<u32> {
        self.program.as_ref().and_then(|p| p.prog.id().ok())
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

/// One frame being written for transmit, in UMEM memory (zero-copy).
///
/// Borrows its socket; [`send`](Self::send) submits it, dropping it unsent
/// gives the frame back.
#[derive(Debug)]
pub struct TxSlot<'a> {
    sock: &'a mut XdpSocket,
    reservation: Option<Reservation>,
    addr: u64,
    len: u32,
}

impl TxSlot<'_> {
    /// The frame's bytes (the length asked for), to fill in.
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.sock.umem.slot_bytes_mut(self.addr, self.len)
    }

    /// Shorten the frame to `len` bytes (at most the length asked for).
    ///
    /// # Panics
    /// If `len` is larger than the slot or zero.
    pub fn truncate(&mut self, len: usize) {
        assert!(len > 0 && len <= self.len as usize, "a slot can only shrink, to at least one byte");
        self.len = len as u32;
    }

    /// Submit the frame to the TX ring (the kernel sends it at the next
    /// [`XdpSocket::flush`]).
    pub fn send(mut self) {
        let r = self.reservation.take().expect("a slot holds its reservation until sent");
        let tx = self.sock.tx.as_mut().expect("a slot exists only with a TX ring");
        tx.write(&r, 0, xdp_desc { addr: self.addr, len: self.len, options: 0 });
        self.sock.umem.slot_to_tx(self.addr, self.len, true);
        tx.submit(r);
        self.sock.counters.queued += 1;
    }
}

impl Drop for TxSlot<'_> {
    fn drop(&mut self) {
        if let Some(r) = self.reservation.take() {
            if let Some(tx) = self.sock.tx.as_mut() {
                tx.cancel(r);
            }
            self.sock.umem.free(self.addr, State::Slot);
        }
    }
}

impl std::ops::Deref for TxSlot<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.sock.umem.slot_bytes(self.addr, self.len)
    }
}

impl std::ops::DerefMut for TxSlot<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.data_mut()
    }
}

impl SinkSlot for TxSlot<'_> {
    fn send(self) {
        TxSlot::send(self)
    }
}

impl XdpSocket {
    fn check_tx_len(&self, len: usize) -> Result<()> {
        if len > self.max_tx_len {
            return Err(Error::FrameTooLarge {
                len,
                limit: self.max_tx_len,
                interface: self.interface.clone(),
                why: format!(
                    "the MTU + {ETH_HLEN}-byte Ethernet header, within one {}-byte UMEM frame",
                    self.umem.frame_size()
                ),
            });
        }
        Ok(())
    }

    /// Collect completions; whether a frame and a TX ring slot are free.
    fn tx_room(&mut self) -> bool {
        self.complete_tx();
        self.umem.free_frames() > 0 && self.tx.as_mut().is_some_and(|t| t.free(1) > 0)
    }
}

/// The AF_XDP TX path behind the common transmit trait: slots are UMEM
/// frames (zero-copy), [`flush`](PacketSink::flush) is
/// [`XdpSocket::flush`], a frame is [sent](TxStats::sent) when the kernel
/// completed it, [rejected](TxStats::rejected) counts the kernel's
/// `tx_invalid_descs`. Frames are limited to the MTU + 14 bytes (and one
/// UMEM frame).
impl PacketSink for XdpSocket {
    type Slot<'a> = TxSlot<'a>;

    fn max_frame_len(&self) -> usize {
        self.max_tx_len
    }

    fn allocate(&mut self, len: usize) -> Result<Option<TxSlot<'_>>> {
        self.check_tx_len(len)?;
        self.tx_slot(len)
    }

    fn allocate_blocking(&mut self, len: usize, timeout: Option<Duration>) -> Result<Option<TxSlot<'_>>> {
        self.check_tx_len(len)?;
        if self.tx.is_none() {
            return Err(no_ring("send", "TX"));
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if self.tx_room() {
                return self.tx_slot(len);
            }
            self.flush()?;
            if self.tx_room() {
                return self.tx_slot(len);
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
        match timeout {
            Some(t) => self.wait_tx_drained(t),
            None => loop {
                if self.wait_tx_drained(Duration::from_secs(1))? {
                    return Ok(true);
                }
            },
        }
    }

    fn tx_stats(&mut self) -> TxStats {
        self.complete_tx();
        let rejected = sx::statistics(self.fd.as_fd()).map_or(0, |k| k.tx_invalid_descs);
        let c = self.counters;
        TxStats {
            queued: c.queued,
            sent: c.completed,
            bytes: c.completed_bytes,
            rejected,
            pending: c.queued.saturating_sub(c.completed + rejected),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(b: XdpSocketBuilder) -> String {
        match b.validate() {
            Err(e) => e.to_string(),
            Ok(_) => panic!("expected a config error"),
        }
    }

    fn base() -> XdpSocketBuilder {
        XdpSocket::builder().interface("eth0")
    }

    #[test]
    fn defaults_validate_and_split_frames() {
        assert_eq!(base().validate().unwrap(), "eth0");
        assert_eq!(base().prefill(), DEFAULT_FRAME_COUNT / 2);
        assert_eq!(base().mode(XdpMode::Rx).prefill(), DEFAULT_FRAME_COUNT);
        assert_eq!(base().mode(XdpMode::Rx).fill_ring_size(1024).prefill(), 1024);
        assert_eq!(base().mode(XdpMode::Tx).prefill(), 0);
        assert_eq!(base().mode(XdpMode::Custom { prefill: 7 }).prefill(), 7);
    }

    #[test]
    fn rules_name_value_and_limit() {
        assert_eq!(err(XdpSocket::builder()), "invalid interface = <unset>: is required");
        assert!(err(base().frame_size(3000)).contains("invalid frame_size = 3000: must be a power of two from 2048"));
        assert!(err(base().frame_size(1024)).contains("frame_size = 1024"));
        assert_eq!(err(base().frame_count(0)), "invalid frame_count = 0: must be at least 1");
        assert!(err(base().rx_ring_size(1000)).contains("invalid rx_ring_size = 1000: must be a power of two"));
        assert!(err(base().fill_ring_size(0)).contains("fill_ring_size = 0"));
        assert!(
            err(base().frame_count(8).mode(XdpMode::Custom { prefill: 9 })).contains("must not exceed frame_count (8)")
        );
        assert!(
            err(base().fill_ring_size(8).mode(XdpMode::Custom { prefill: 9 }))
                .contains("must not exceed fill_ring_size (8)")
        );
        assert!(err(base().batch_size(0)).contains("batch_size = 0"));
        assert!(err(base().rx_ring_size(64).batch_size(65)).contains("must be 1..=64"));
    }
}
