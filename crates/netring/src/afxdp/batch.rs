//! [`XdpBatch`], its packets, and [`XdpStats`].

use std::fmt;
use std::os::fd::BorrowedFd;

use super::rx::{Receiver, RxFrame};
use super::umem::Umem;
use crate::packet::{OwnedPacket, Packet, PacketMeta, Timestamp, TimestampSource};
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

    /// When user space took the batch off the RX ring (AF_XDP carries no
    /// kernel timestamp).
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
}

impl<'b> Iterator for XdpPackets<'b> {
    type Item = XdpPacket<'b>;

    #[inline]
    fn next(&mut self) -> Option<XdpPacket<'b>> {
        let f = *self.descs.next()?;
        let data = match f.copied {
            None => self.umem.rx_bytes(f.addr, f.len),
            Some(off) => &self.copied[off..off + f.len as usize],
        };
        Some(XdpPacket { data, addr: f.addr, timestamp: self.timestamp, ifindex: self.ifindex })
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
    timestamp: Timestamp,
    ifindex: u32,
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

    /// The common packet view: timestamp from user space
    /// ([`TimestampSource::User`]), interface index, original length = length.
    #[inline]
    pub fn as_packet(&self) -> Packet<'b> {
        Packet::new(
            self.data,
            PacketMeta {
                timestamp: self.timestamp,
                timestamp_source: TimestampSource::User,
                original_len: self.data.len() as u32,
                ifindex: self.ifindex,
                protocol: self.data.get(12..14).map_or(0, |t| u16::from_be_bytes([t[0], t[1]])),
                hatype: 1,
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
