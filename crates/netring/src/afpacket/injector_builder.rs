//! [`InjectorBuilder`]: the settings of an [`Injector`], checked once, and
//! the setup of its socket and TX ring.

use std::os::fd::AsFd;

use super::capture_builder::check_ring_memory;
use super::frame_limit::{FrameLimit, link_of};
use super::injector::{Injector, TpacketVersion};
use super::tx_ring::{Geometry, TxRing};
use crate::error::{Error, Result};
use crate::source::TxStats;
use crate::sys::mem;
use crate::sys::packet::{self as pk, RingAlloc, SocketKind};
use crate::sys::{self, Mmap, iface, tpacket as tp};

/// Default ring size in bytes when the frame count is not set: 4 MiB.
pub const DEFAULT_TX_RING_BYTES: usize = 4 << 20;

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
        // Before any allocation: a ring the machine cannot hold is refused
        // with the sizes, as the capture ring is.
        check_ring_memory("frame_count", want, blocks, block_size, 1, mem::memory())?;
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
        let (mtu, link_header) = link_of(&name)?;
        let (geo, _) = self.validate(mtu, link_header)?;

        let fd = pk::socket(SocketKind::Raw)?;
        let sock = fd.as_fd();
        pk::set_version(sock, self.version.sockopt())?;
        // Off (the default, made explicit): a frame the kernel refuses is
        // marked TP_STATUS_WRONG_FORMAT and reported, not silently skipped.
        pk::set_loss(sock, false)?;
        if self.qdisc_bypass {
            pk::set_qdisc_bypass(sock, true)?;
        }
        let req = tp::tpacket_req {
            tp_block_size: geo.block_size as u32,
            tp_block_nr: geo.block_count as u32,
            tp_frame_size: geo.frame_size as u32,
            tp_frame_nr: geo.frame_count() as u32,
        };
        if pk::set_tx_ring(sock, &req, self.version.sockopt())? == RingAlloc::NoMemory {
            return Err(Error::config("TX ring size", geo.bytes(), "the kernel could not allocate it (ENOMEM)"));
        }
        let mmap = Mmap::shared(sock, geo.bytes(), 0, false, "mmap(PACKET_TX_RING)")?;
        let ring = TxRing::new(mmap, geo, self.version.layout());
        pk::bind(sock, ifindex, 0, &name)?;
        let slot_limit = ring.capacity();
        let limit = if link_header > 0 && mtu as usize + link_header <= slot_limit {
            FrameLimit::link(mtu, link_header)
        } else {
            FrameLimit::slot(geo.frame_size, slot_limit)
        };
        tracing::debug!(interface = %name, ifindex, ?geo, version = ?self.version, qdisc_bypass = self.qdisc_bypass, "injector ready");
        Ok(Injector {
            ring,
            fd,
            interface: name,
            ifindex,
            limit,
            version: self.version,
            qdisc_bypass: self.qdisc_bypass,
            stats: TxStats::default(),
            kicked: 0,
            generation: 0,
        })
    }
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

    #[test]
    fn a_tx_ring_larger_than_memory_is_refused_with_the_sizes() {
        use crate::sys::mem::Memory;
        let m = Some(Memory { total: 1 << 30, available: 64 << 20 });
        // 1 Mi frames of 2 KiB in 4 KiB blocks: 512 Ki blocks, 2 GiB.
        let e = check_ring_memory("frame_count", 1 << 20, 1 << 19, 4096, 1, m).unwrap_err().to_string();
        assert!(
            e.starts_with(
                "invalid frame_count = 1048576: a ring of 524288 blocks x 4096 bytes = 2147483648 bytes (2.0 GiB)"
            ),
            "{e}"
        );
        assert!(e.contains("MemAvailable 67108864 bytes"), "{e}");
        assert!(check_ring_memory("frame_count", 2048, 1024, 4096, 1, m).is_ok(), "4 MiB fits");
    }
}
