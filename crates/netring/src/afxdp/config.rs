//! [`XdpSocketBuilder`]: the settings of an AF_XDP socket, their defaults,
//! and the rules they are checked against (once, at build).

use crate::bpf::XdpAttach;
use crate::error::{Error, Result};
use crate::sys::{self, iface};

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
pub(super) const ETH_HLEN: usize = 14;

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
    /// [`XdpSocket::refill`](crate::afxdp::XdpSocket::refill) gives frames.
    Custom {
        /// Frames put on the fill ring at start.
        prefill: u32,
    },
}

impl XdpMode {
    pub(super) fn rx(self) -> bool {
        !matches!(self, Self::Tx)
    }

    pub(super) fn tx(self) -> bool {
        !matches!(self, Self::Rx)
    }
}

/// How to bind: let the kernel choose, or insist on copy or zero-copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum BindMode {
    /// Zero-copy where the driver supports it, copy otherwise (no bind
    /// flag). [`XdpSocket::zero_copy`](crate::afxdp::XdpSocket::zero_copy) reports the outcome (`XDP_OPTIONS`).
    #[default]
    Auto,
    /// Copy mode (`XDP_COPY`): works with every driver (veth included).
    Copy,
    /// Zero-copy mode (`XDP_ZEROCOPY`): fails where the driver lacks it.
    ZeroCopy,
}

/// Builder for an [`XdpSocket`](crate::afxdp::XdpSocket). Setters take and return the builder by
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
    pub(super) interface: Option<String>,
    pub(super) queue: u32,
    pub(super) frame_size: u32,
    pub(super) frame_count: u32,
    pub(super) rx_size: u32,
    pub(super) tx_size: u32,
    pub(super) fill_size: u32,
    pub(super) comp_size: u32,
    pub(super) mode: XdpMode,
    pub(super) need_wakeup: bool,
    pub(super) bind: BindMode,
    pub(super) attach: XdpAttach,
    pub(super) builtin_program: bool,
    pub(super) huge_pages: bool,
    pub(super) batch_size: u32,
    pub(super) netns: Option<String>,
    pub(super) busy_poll: Option<BusyPoll>,
    pub(super) multi_buffer: bool,
    pub(super) filter: Option<String>,
    pub(super) rx_metadata: bool,
    pub(super) rxhash: bool,
    pub(super) timestamping: crate::Timestamping,
    pub(super) tx_metadata: bool,
    pub(super) own_rx_metadata: Option<crate::bpf::XdpRxMetaPlacement>,
}

/// What the built-in program is asked to write in front of each frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MetaAsk {
    /// The fields other than the device's time, which `timestamping` asks for.
    pub fields: crate::bpf::XdpRxMetaFlags,
    /// The clock asked for.
    pub timestamping: crate::Timestamping,
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
            rx_metadata: true,
            rxhash: false,
            timestamping: crate::Timestamping::Software,
            tx_metadata: false,
            own_rx_metadata: None,
        }
    }
}

/// `any` (every interface, for AF_PACKET: [`ANY_INTERFACE`](crate::afpacket::ANY_INTERFACE))
/// is refused: an AF_XDP socket binds to one queue of one device.
pub(super) fn refuse_any(iface: &str) -> Result<()> {
    if iface == "any" {
        return Err(Error::config(
            "interface",
            iface,
            "is not supported by AF_XDP: a socket binds to one queue of one interface (AF_PACKET captures on any)",
        ));
    }
    Ok(())
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
    /// (default 2048). A received frame gets `frame_size − 256` bytes (32 fewer
    /// where the RX metadata goes in front of the frame, see
    /// [`XdpRxMetaPlacement::Prefix`](crate::bpf::XdpRxMetaPlacement::Prefix)).
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
    /// off to use your own program: insert [`XdpSocket`](crate::afxdp::XdpSocket)'s descriptor into
    /// your XSKMAP ([`XskMap::insert`](crate::bpf::XskMap::insert) works on any map fd you wrap).
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

    /// Most descriptors taken per [`XdpSocket::next_batch`](crate::afxdp::XdpSocket::next_batch) (default 64).
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
    /// [`XdpSocket::next_batch`](crate::afxdp::XdpSocket::next_batch) call `recvfrom`, which is what drives the
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
    /// zero-copy). [`XdpSocket::send_chained`](crate::afxdp::XdpSocket::send_chained) splits long frames the same way.
    pub fn multi_buffer(mut self, on: bool) -> Self {
        self.multi_buffer = on;
        self
    }

    /// Per-frame metadata from the built-in program (default on): a
    /// timestamp taken in the XDP program for each frame (Linux 6.1), and
    /// where the device implements the XDP metadata kfuncs (Linux 6.3,
    /// native mode) the VLAN tag it took off, with
    /// [`timestamping`](Self::timestamping) its receive time and with
    /// [`rxhash(true)`](Self::rxhash) its RX hash; see
    /// [`XdpRxMeta`](crate::bpf::XdpRxMeta) and
    /// [`XdpSocket::rx_metadata`](crate::afxdp::XdpSocket::rx_metadata).
    /// Off: every frame of a batch carries the time user space took the
    /// batch ([`TimestampSource::User`](crate::TimestampSource::User)).
    pub fn rx_metadata(mut self, on: bool) -> Self {
        self.rx_metadata = on;
        self
    }

    /// Ask the device for each frame's RX hash and its type
    /// (`bpf_xdp_metadata_rx_hash`, Linux 6.3, native mode) in the
    /// per-frame metadata, for [`XdpPacket::rxhash`](crate::afxdp::XdpPacket::rxhash)
    /// (default off, as AF_PACKET's
    /// [`CaptureBuilder::rxhash`](crate::CaptureBuilder::rxhash)). A NIC
    /// hands over the hash it computed for RSS at no cost; a software
    /// device computes it for the call: veth runs the flow dissector over
    /// every frame, which cost 6 % of the receive core and 7–15 % of the
    /// rate at 64 B on this project's bench (docs/PERFORMANCE.md). Needs
    /// [`rx_metadata`](Self::rx_metadata).
    pub fn rxhash(mut self, on: bool) -> Self {
        self.rxhash = on;
        self
    }

    /// Which clock stamps received frames, in the per-frame metadata
    /// (default [`Timestamping::Software`](crate::Timestamping::Software):
    /// the XDP program's own clock, `bpf_ktime_get_tai_ns`, on the same
    /// wall-clock scale as AF_PACKET's software stamps).
    /// [`Hardware`](crate::Timestamping::Hardware) also asks the device
    /// for its receive time (`bpf_xdp_metadata_rx_timestamp`, Linux 6.3,
    /// native mode), after switching its receive stamping on as AF_PACKET
    /// does (`SIOCSHWTSTAMP`, `CAP_NET_ADMIN`, device-wide); frames the
    /// device stamped then carry
    /// [`TimestampSource::XdpDevice`](crate::TimestampSource::XdpDevice).
    /// A device without a hardware clock (veth) falls back to the
    /// program's clock, logged once and kept in
    /// [`XdpRxMetadata::fallback`](crate::afxdp::XdpRxMetadata::fallback);
    /// with [`HardwareOnly`](crate::Timestamping::HardwareOnly) that is
    /// [`Error::Unsupported`](crate::Error::Unsupported) instead. Needs
    /// [`rx_metadata`](Self::rx_metadata).
    pub fn timestamping(mut self, t: crate::Timestamping) -> Self {
        self.timestamping = t;
        self
    }

    /// The fields the built-in program is asked to write (`None`: no
    /// metadata area).
    pub(super) fn rx_meta_ask(&self) -> Option<MetaAsk> {
        use crate::bpf::XdpRxMetaFlags as F;
        let hash = if self.rxhash { F::RX_HASH } else { F::empty() };
        self.rx_metadata
            .then_some(MetaAsk { fields: F::PROGRAM_TIME | F::VLAN | hash, timestamping: self.timestamping })
    }

    /// With [`builtin_program(false)`](Self::builtin_program): your XDP
    /// program writes an [`XdpRxMeta`](crate::bpf::XdpRxMeta) area for each
    /// frame it redirects, placed as given (default `None`: it writes none),
    /// so [`XdpPacket`](crate::afxdp::XdpPacket) reports its times, hash and
    /// VLAN tag as with the built-in program.
    /// [`programs::xsk_redirect_meta`](crate::bpf::programs::xsk_redirect_meta)
    /// assembles such a program. With
    /// [`XdpRxMetaPlacement::Prefix`](crate::bpf::XdpRxMetaPlacement::Prefix)
    /// every frame the program delivers must carry it.
    pub fn own_program_rx_metadata(mut self, placement: Option<crate::bpf::XdpRxMetaPlacement>) -> Self {
        self.own_rx_metadata = placement;
        self
    }

    /// AF_XDP TX metadata (default off; Linux 6.8): the UMEM reserves a
    /// `struct xsk_tx_metadata` (24 bytes) in front of every transmitted
    /// frame, through which an [`XdpTxSlot`](crate::afxdp::XdpTxSlot) asks
    /// for checksum offload, a transmit timestamp and (Linux 6.15) a launch
    /// time. A transmitted frame can then be 24 bytes shorter than a UMEM
    /// frame at most. In copy mode the kernel serves all three itself; in
    /// zero-copy mode the driver would have to, which netring does not
    /// probe (requests are refused there). See the kernel's
    /// `Documentation/networking/xsk-tx-metadata.rst`.
    pub fn tx_metadata(mut self, on: bool) -> Self {
        self.tx_metadata = on;
        self
    }

    /// Frames given for receive at start.
    pub(super) fn prefill(&self) -> u32 {
        match self.mode {
            XdpMode::Rx => self.frame_count.min(self.fill_size),
            XdpMode::Tx => 0,
            XdpMode::RxTx => (self.frame_count / 2).min(self.fill_size),
            XdpMode::Custom { prefill } => prefill,
        }
    }

    pub(super) fn validate(&self) -> Result<&str> {
        let iface = self.interface.as_deref().ok_or_else(|| Error::config("interface", "<unset>", "is required"))?;
        refuse_any(iface)?;
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
        XdpSocketBuilder::default().interface("eth0")
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
        assert_eq!(err(XdpSocketBuilder::default()), "invalid interface = <unset>: is required");
        assert!(err(base().frame_size(3000)).contains("invalid frame_size = 3000: must be a power of two from 2048"));
        assert!(err(base().frame_size(1024)).contains("frame_size = 1024"));
        assert_eq!(err(base().frame_count(0)), "invalid frame_count = 0: must be at least 1");
        assert_eq!(
            err(base().interface("any")),
            "invalid interface = any: is not supported by AF_XDP: a socket binds to one queue of one interface \
             (AF_PACKET captures on any)"
        );
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
