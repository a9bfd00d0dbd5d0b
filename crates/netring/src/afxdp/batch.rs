//! [`XdpBatch`], its packets, and [`XdpStats`].

use std::fmt;
use std::os::fd::BorrowedFd;

use super::rx::{Receiver, RxFrame};
use super::umem::Umem;
use crate::bpf::{XdpRxMeta, XdpRxMetaFlags};
use crate::packet::{OwnedPacket, Packet, PacketMeta, PacketStatus, Timestamp, TimestampSource};
use crate::ring::Producer;
use crate::source::Batch;
use crate::sys::xdp as sx;

/// Frames received by an [`XdpSocket`](crate::afxdp::XdpSocket), lent out zero-copy.
///
/// Borrows the socket mutably; dropping the batch gives its frames back to
/// the kernel (fill ring). A packet cannot outlive its batch:
///
/// ```compile_fail,E0505
/// # fn f(sock: &mut netring::XdpSocket) {
/// let batch = sock.next_batch().unwrap();
/// let pkt = batch.iter().next().unwrap();
/// drop(batch);
/// println!("{:?}", pkt.data());
/// # }
/// ```
pub struct XdpBatch<'a> {
    rx: &'a mut Receiver,
    umem: &'a mut Umem,
    fill: &'a mut Producer<u64>,
    /// The socket to wake when the kernel asks for it (need-wakeup on).
    wake: Option<BorrowedFd<'a>>,
    ifindex: u32,
    timestamp: Timestamp,
}

impl<'a> XdpBatch<'a> {
    /// The frames `rx` took; dropping the batch returns them to `fill`.
    pub(crate) fn new(
        rx: &'a mut Receiver,
        umem: &'a mut Umem,
        fill: &'a mut Producer<u64>,
        wake: Option<BorrowedFd<'a>>,
        ifindex: u32,
    ) -> Self {
        Self { rx, umem, fill, wake, ifindex, timestamp: Timestamp::now() }
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.rx.frames().len()
    }

    /// Whether the batch holds no frame (every descriptor was refused).
    pub fn is_empty(&self) -> bool {
        self.rx.frames().is_empty()
    }

    /// When user space took the batch off the RX ring. Each packet's own
    /// time, taken in the XDP program, is [`XdpPacket::timestamp`].
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    /// The frames, in arrival order.
    pub fn iter(&self) -> XdpPackets<'_> {
        XdpPackets {
            umem: self.umem,
            copied: self.rx.reassembly(),
            descs: self.rx.frames().iter(),
            timestamp: self.timestamp,
            ifindex: self.ifindex,
            meta: self.rx.metadata(),
            tai_offset: self.rx.tai_offset,
        }
    }
}

impl Drop for XdpBatch<'_> {
    fn drop(&mut self) {
        self.rx.return_frames(self.umem, self.fill);
        if let Some(fd) = self.wake
            && self.fill.needs_wakeup()
        {
            let _ = sx::kick_rx(fd);
        }
    }
}

impl fmt::Debug for XdpBatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XdpBatch").field("len", &self.len()).field("timestamp", &self.timestamp).finish()
    }
}

impl<'b> IntoIterator for &'b XdpBatch<'_> {
    type Item = XdpPacket<'b>;
    type IntoIter = XdpPackets<'b>;
    fn into_iter(self) -> XdpPackets<'b> {
        self.iter()
    }
}

/// Iterator over an [`XdpBatch`].
pub struct XdpPackets<'b> {
    umem: &'b Umem,
    copied: &'b [u8],
    descs: std::slice::Iter<'b, RxFrame>,
    timestamp: Timestamp,
    ifindex: u32,
    meta: bool,
    tai_offset: i64,
}

impl<'b> Iterator for XdpPackets<'b> {
    type Item = XdpPacket<'b>;

    #[inline]
    fn next(&mut self) -> Option<XdpPacket<'b>> {
        let f = *self.descs.next()?;
        let meta_len = XdpRxMeta::LEN as u32;
        let (data, meta) = match f.copied {
            // The area and the frame in one checked slice (the area lies
            // in the same UMEM frame when the frame starts 32 bytes in).
            None if self.meta && f.addr & u64::from(self.umem.frame_size() - 1) >= u64::from(meta_len) => {
                let both = self.umem.rx_bytes(f.addr - u64::from(meta_len), meta_len + f.len);
                let (area, data) = both.split_at(meta_len as usize);
                (data, XdpRxMeta::parse(area))
            }
            None => (self.umem.rx_bytes(f.addr, f.len), None),
            Some(off) => (&self.copied[off..off + f.len as usize], None),
        };
        Some(XdpPacket {
            data,
            addr: f.addr,
            batch_time: self.timestamp,
            ifindex: self.ifindex,
            meta,
            tai_offset: self.tai_offset,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.descs.size_hint()
    }
}

impl ExactSizeIterator for XdpPackets<'_> {}

impl fmt::Debug for XdpPackets<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XdpPackets").field("remaining", &self.descs.len()).finish()
    }
}

/// One received frame, in UMEM memory, borrowed from its batch.
#[derive(Clone, Copy)]
pub struct XdpPacket<'b> {
    data: &'b [u8],
    addr: u64,
    batch_time: Timestamp,
    ifindex: u32,
    meta: Option<XdpRxMeta>,
    tai_offset: i64,
}

impl<'b> XdpPacket<'b> {
    /// The frame, from its Ethernet header.
    #[inline]
    pub fn data(&self) -> &'b [u8] {
        self.data
    }

    /// Length in bytes (AF_XDP frames are never truncated).
    #[inline]
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the frame is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Offset of the frame's data in the UMEM (of its first buffer, for a
    /// multi-buffer frame, whose bytes [`data`](Self::data) has copied
    /// together).
    pub fn addr(&self) -> u64 {
        self.addr
    }

    /// When the frame arrived, on the clock [`timestamp_source`](Self::timestamp_source)
    /// names: the device's receive time where the device gave one
    /// ([`TimestampSource::XdpDevice`], its own clock, as AF_PACKET's
    /// hardware stamps); otherwise the XDP program's time for this frame
    /// in wall-clock nanoseconds, the clock of AF_PACKET's software stamps
    /// ([`TimestampSource::XdpProgram`]); otherwise, without the metadata
    /// area, when user space took the batch ([`TimestampSource::User`]).
    #[inline]
    pub fn timestamp(&self) -> Timestamp {
        self.stamp().0
    }

    /// Which clock [`timestamp`](Self::timestamp) comes from.
    #[inline]
    pub fn timestamp_source(&self) -> TimestampSource {
        self.stamp().1
    }

    #[inline]
    fn stamp(&self) -> (Timestamp, TimestampSource) {
        match self.meta {
            Some(m) if m.valid().contains(XdpRxMetaFlags::DEVICE_TIME) => {
                (Timestamp::from_nanos(m.device_time), TimestampSource::XdpDevice)
            }
            Some(m) if m.valid().contains(XdpRxMetaFlags::PROGRAM_TIME) => (
                Timestamp::from_nanos(super::meta::tai_to_wall(m.program_time, self.tai_offset)),
                TimestampSource::XdpProgram,
            ),
            _ => (self.batch_time, TimestampSource::User),
        }
    }

    /// The XDP program's time for this frame in wall-clock nanoseconds,
    /// whether or not the device gave a time too.
    pub fn program_timestamp(&self) -> Option<Timestamp> {
        let m = self.meta.filter(|m| m.valid().contains(XdpRxMetaFlags::PROGRAM_TIME))?;
        Some(Timestamp::from_nanos(super::meta::tai_to_wall(m.program_time, self.tai_offset)))
    }

    /// The flow hash the device computed (`bpf_xdp_metadata_rx_hash`; on
    /// veth the kernel's flow hash, as AF_PACKET's
    /// [`Packet::rxhash`] reports it), 0 when the device gave none or the
    /// socket did not ask for it
    /// ([`XdpSocketBuilder::rxhash`](crate::XdpSocketBuilder::rxhash)).
    #[inline]
    pub fn rxhash(&self) -> u32 {
        self.meta.filter(|m| m.valid().contains(XdpRxMetaFlags::RX_HASH)).map_or(0, |m| m.rx_hash)
    }

    /// What the RX hash covers (`enum xdp_rss_hash_type`), when the device
    /// gave a hash.
    pub fn rxhash_type(&self) -> Option<u32> {
        self.meta.filter(|m| m.valid().contains(XdpRxMetaFlags::RX_HASH)).map(|m| m.rx_hash_type)
    }

    /// The VLAN TCI the device took off the frame (so not in
    /// [`data`](Self::data)), as AF_PACKET's [`Packet::vlan_tci`].
    #[inline]
    pub fn vlan_tci(&self) -> Option<u16> {
        self.meta.filter(|m| m.valid().contains(XdpRxMetaFlags::VLAN)).map(|m| m.vlan_tci)
    }

    /// The TPID of that tag (0x8100, 0x88a8), host byte order, as
    /// AF_PACKET's [`Packet::vlan_tpid`].
    #[inline]
    pub fn vlan_tpid(&self) -> Option<u16> {
        self.meta.filter(|m| m.valid().contains(XdpRxMetaFlags::VLAN)).map(|m| u16::from_be(m.vlan_proto))
    }

    /// The whole metadata area the program wrote, if any.
    pub fn rx_meta(&self) -> Option<XdpRxMeta> {
        self.meta
    }

    /// The common packet view: [`timestamp`](Self::timestamp) and its
    /// source, RX hash, VLAN tag (with [`PacketStatus::VLAN_VALID`] and
    /// [`PacketStatus::VLAN_TPID_VALID`]), interface index, original length
    /// = length.
    #[inline]
    pub fn as_packet(&self) -> Packet<'b> {
        let (timestamp, timestamp_source) = self.stamp();
        let (vlan_tci, vlan_tpid) = (self.vlan_tci(), self.vlan_tpid());
        let status = if vlan_tci.is_some() {
            PacketStatus::VLAN_VALID | PacketStatus::VLAN_TPID_VALID
        } else {
            PacketStatus::empty()
        };
        Packet::new(
            self.data,
            PacketMeta {
                timestamp,
                timestamp_source,
                original_len: self.data.len() as u32,
                ifindex: self.ifindex,
                protocol: self.data.get(12..14).map_or(0, |t| u16::from_be_bytes([t[0], t[1]])),
                hatype: 1,
                rxhash: self.rxhash(),
                vlan_tci,
                vlan_tpid,
                status,
                ..PacketMeta::default()
            },
        )
    }

    /// Copy the frame out of the UMEM.
    pub fn to_owned(&self) -> OwnedPacket {
        self.as_packet().to_owned()
    }
}

impl fmt::Debug for XdpPacket<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XdpPacket").field("addr", &self.addr).field("len", &self.data.len()).finish()
    }
}

/// Counters of an [`XdpSocket`](crate::afxdp::XdpSocket), cumulative since it was opened.
///
/// The first six come from the kernel (`XDP_STATISTICS`, never reset by
/// reading); the rest are counted in user space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct XdpStats {
    /// Frames dropped for reasons other than a full RX ring — for instance
    /// no frame on the fill ring, or a frame larger than a UMEM frame.
    pub rx_dropped: u64,
    /// RX descriptors the kernel found invalid.
    pub rx_invalid_descs: u64,
    /// TX descriptors the kernel refused (outside the UMEM, too long).
    pub tx_invalid_descs: u64,
    /// Frames dropped because the RX ring was full (Linux 5.9).
    pub rx_ring_full: u64,
    /// Times the kernel found the fill ring empty (Linux 5.9).
    pub rx_fill_ring_empty_descs: u64,
    /// Times the kernel found the TX ring empty (Linux 5.9).
    pub tx_ring_empty_descs: u64,
    /// Frames handed to user space in batches.
    pub received: u64,
    /// Transmitted frames the kernel completed.
    pub completed: u64,
    /// Descriptors and ring indices from the kernel that netring refused to
    /// trust (outside the UMEM, longer than a frame, naming a frame the
    /// kernel did not hold, impossible indices). Stays 0 with a sane kernel.
    pub skipped_descs: u64,
}

impl std::ops::AddAssign for XdpStats {
    /// Field by field (sums over several sockets).
    fn add_assign(&mut self, o: Self) {
        self.rx_dropped += o.rx_dropped;
        self.rx_invalid_descs += o.rx_invalid_descs;
        self.tx_invalid_descs += o.tx_invalid_descs;
        self.rx_ring_full += o.rx_ring_full;
        self.rx_fill_ring_empty_descs += o.rx_fill_ring_empty_descs;
        self.tx_ring_empty_descs += o.tx_ring_empty_descs;
        self.received += o.received;
        self.completed += o.completed;
        self.skipped_descs += o.skipped_descs;
    }
}

impl XdpStats {
    /// Frames lost on receive: `rx_dropped + rx_ring_full`.
    pub fn drops(&self) -> u64 {
        self.rx_dropped + self.rx_ring_full
    }
}

impl fmt::Display for XdpStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} received, {} dropped ({} ring full), {} fill-ring empty, {} sent",
            self.received,
            self.drops(),
            self.rx_ring_full,
            self.rx_fill_ring_empty_descs,
            self.completed
        )
    }
}

fn as_packet<'b>(p: XdpPacket<'b>) -> Packet<'b> {
    p.as_packet()
}

impl Batch for XdpBatch<'_> {
    type Iter<'b>
        = std::iter::Map<XdpPackets<'b>, fn(XdpPacket<'b>) -> Packet<'b>>
    where
        Self: 'b;

    fn len(&self) -> usize {
        XdpBatch::len(self)
    }

    fn packets(&self) -> Self::Iter<'_> {
        self.iter().map(as_packet as fn(XdpPacket<'_>) -> Packet<'_>)
    }
}
