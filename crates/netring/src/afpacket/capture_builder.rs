//! [`CaptureBuilder`]: the settings of a [`Capture`], checked once, and the
//! setup of its socket, ring and filters.

use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use super::capture::{ANY_INTERFACE, Capture, MAX_SNAPLEN, effective_filter};
use super::fanout::Fanout;
use super::profile::{
    DEFAULT_BLOCK_COUNT, DEFAULT_BLOCK_SIZE, DEFAULT_FRAME_SIZE, DEFAULT_RETIRE_TIMEOUT, RingProfile,
};
use super::ring::RxRing;
use super::timestamp::{self, Timestamping};
use crate::bpf::EbpfProgram;
use crate::error::{Error, Result};
use crate::filter::Program;
use crate::packet::LinkType;
use crate::stats::StatsCounter;
use crate::stop::StopHandle;
use crate::sys::mem::{self, Memory};
use crate::sys::packet::{self as pk, RingAlloc, SocketKind};
use crate::sys::{self, Mmap, iface, tpacket as tp};

/// The most sockets one fanout group takes: the kernel's limit for the
/// 32-bit `PACKET_FANOUT` option (`fanout_add()`: 256 members, `ENOSPC` for
/// the next).
pub const MAX_FANOUT_MEMBERS: usize = tp::PACKET_FANOUT_LEGACY_MAX;

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

    /// Ask the kernel to fill [`Packet::rxhash`](crate::Packet::rxhash) (`TP_FT_REQ_FILL_RXHASH`).
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
        check_memory("block_count", self.block_count, self.block_size, 1, mem::memory())?;
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

    /// Bytes of the ring this builder asks for: block size × block count.
    pub fn ring_bytes(&self) -> u64 {
        (self.block_size as u64).saturating_mul(self.block_count as u64)
    }

    /// Check, before anything is opened, that a fanout group of `members`
    /// sockets with this builder's ring can exist: at most
    /// [`MAX_FANOUT_MEMBERS`] members (the kernel's limit), and `members`
    /// rings together no larger than the memory the kernel could give
    /// (`MemAvailable` in `/proc/meminfo`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the member count and the limit, or
    /// the total ring size and the memory available.
    pub fn check_group(&self, members: usize) -> Result<()> {
        if !(1..=MAX_FANOUT_MEMBERS).contains(&members) {
            return Err(Error::config(
                "fanout",
                members,
                format!(
                    "must be 1..={MAX_FANOUT_MEMBERS} sockets: the kernel's limit for one fanout group \
                     (PACKET_FANOUT refuses the next with ENOSPC)"
                ),
            ));
        }
        check_memory("fanout", members, self.block_size, self.block_count, mem::memory())
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
            self.filter = Some(if crate::filter::needs_netmask(&e) {
                Program::compile_on(&e, self.snaplen.unwrap_or(MAX_SNAPLEN), &iface)?
            } else {
                Program::compile(&e, self.snaplen.unwrap_or(MAX_SNAPLEN))?
            });
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
        let fd = pk::socket(if any { SocketKind::Cooked } else { SocketKind::Raw })?;
        let ifindex = if any { 0 } else { iface::index(&iface)? };
        let sock = fd.as_fd();

        pk::set_version(sock, tp::TPACKET_V3)?;
        if self.ignore_outgoing {
            pk::set_ignore_outgoing(sock)?;
        }
        if let Some(program) = effective_filter(self.filter.as_ref(), self.snaplen)? {
            pk::attach_filter(sock, program.instructions())?;
        }
        if let Some(prog) = &self.ebpf_filter {
            pk::attach_ebpf_filter(sock, prog.as_fd(), prog.name())?;
        }

        let timestamps = timestamp::configure(sock, (!any).then_some(iface.as_str()), self.timestamping)?;
        let (req, block_count) = self.set_ring(sock)?;
        let ring_bytes = self.block_size * block_count;
        let mmap = Mmap::shared(sock, ring_bytes, 0, false, "mmap(PACKET_RX_RING)")?;
        let ring = RxRing::new(mmap, self.block_size, block_count);

        pk::bind(sock, ifindex, tp::ETH_P_ALL, &iface)?;
        if self.promiscuous {
            pk::add_promiscuous_membership(sock, ifindex)?;
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
            match pk::set_rx_ring(sock, &req)? {
                RingAlloc::Done => return Ok((req, count)),
                RingAlloc::NoMemory if count > min => {
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
                RingAlloc::NoMemory => {
                    return Err(Error::config(
                        "ring size",
                        self.block_size * count,
                        format!(
                            "the kernel could not allocate it (ENOMEM), and {min} blocks is the fewest allowed \
                             (min_block_count); use fewer or smaller blocks"
                        ),
                    ));
                }
            }
        }
    }
}

/// Refuse rings that together need more than the memory the kernel could
/// give (`memory`; no check where `/proc/meminfo` is missing): `name = value`
/// is what the user chose, `value × per` blocks (or rings) of `unit` bytes.
/// A ring is kernel memory that cannot be swapped: asking for more than is
/// available makes the kernel reclaim until it gives up (`ENOMEM` after
/// minutes, the OOM killer on the way), so this is decided before any call.
fn check_memory(name: &'static str, value: usize, unit: usize, per: usize, memory: Option<Memory>) -> Result<()> {
    check_ring_memory(name, value, value, unit, per, memory)
}

/// [`check_memory`] for a setting (`name = shown`) that makes `count` rings
/// (`fanout`) or blocks of `unit` bytes; the TX ring's builder uses it too.
pub(super) fn check_ring_memory(
    name: &'static str,
    shown: usize,
    value: usize,
    unit: usize,
    per: usize,
    memory: Option<Memory>,
) -> Result<()> {
    let Some(m) = memory else { return Ok(()) };
    let need = (unit as u128) * (per as u128) * (value as u128);
    if need <= u128::from(m.available) {
        return Ok(());
    }
    let what = if name == "fanout" {
        format!("{value} rings of {per} blocks x {unit} bytes")
    } else {
        format!("a ring of {value} blocks x {unit} bytes")
    };
    Err(Error::config(
        name,
        shown,
        format!(
            "{what} = {need} bytes ({}) is more than the memory the kernel could give: MemAvailable {} bytes ({}) \
             of MemTotal {} ({}) in /proc/meminfo; use fewer or smaller blocks",
            human(need),
            m.available,
            human(u128::from(m.available)),
            m.total,
            human(u128::from(m.total)),
        ),
    ))
}

/// `bytes` in MiB or GiB, one decimal.
fn human(bytes: u128) -> String {
    let b = bytes as f64;
    if b >= (1u64 << 30) as f64 {
        format!("{:.1} GiB", b / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    }
}

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
    fn rings_larger_than_memory_are_refused_with_the_sizes() {
        let m = Some(Memory { total: 8 << 30, available: 4 << 30 });
        assert!(check_memory("block_count", 4096, 1 << 20, 1, m).is_ok(), "exactly the memory available");
        let e = check_memory("block_count", 1_000_000, 1 << 20, 1, m).unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid block_count = 1000000: a ring of 1000000 blocks x 1048576 bytes = 1048576000000 bytes \
             (976.6 GiB) is more than the memory the kernel could give: MemAvailable 4294967296 bytes (4.0 GiB) \
             of MemTotal 8589934592 (8.0 GiB) in /proc/meminfo; use fewer or smaller blocks"
        );
        let e = check_memory("fanout", 100, 1 << 20, 64, m).unwrap_err().to_string();
        assert!(
            e.starts_with("invalid fanout = 100: 100 rings of 64 blocks x 1048576 bytes = 6710886400 bytes"),
            "{e}"
        );
        assert!(check_memory("block_count", usize::MAX, usize::MAX, 1, None).is_ok(), "no /proc: no check");
    }

    /// The 1 TiB ring of the bad-input matrix is refused by `build()` before
    /// any call: the fake kernel fails the test if a socket is even opened.
    #[test]
    fn a_ring_beyond_memory_never_reaches_the_kernel() {
        let _g = crate::sys::call::fake::install(|call| panic!("reached the kernel: {call:?}"));
        let e = base().block_size(1 << 20).block_count(1_000_000).build().map(drop).unwrap_err().to_string();
        assert!(e.starts_with("invalid block_count = 1000000: a ring of 1000000 blocks x 1048576 bytes"), "{e}");
        assert!(e.contains("MemAvailable"), "{e}");
    }

    #[test]
    fn fanout_groups_are_bounded_by_the_kernel_and_by_memory() {
        let b = base().block_size(1 << 20).block_count(64);
        assert!(b.check_group(1).is_ok());
        let e = b.check_group(257).unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid fanout = 257: must be 1..=256 sockets: the kernel's limit for one fanout group \
             (PACKET_FANOUT refuses the next with ENOSPC)"
        );
        assert!(b.check_group(0).is_err());
        // 256 x 64 GiB: more than this machine has.
        let e = base().block_size(1 << 30).block_count(64).check_group(256).unwrap_err().to_string();
        assert!(e.contains("256 rings of 64 blocks x 1073741824 bytes") && e.contains("MemAvailable"), "{e}");
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
}
