//! Traits over every receive and transmit backend.

use std::time::Duration;

use crate::error::Result;
use crate::packet::Packet;
use crate::stats::CaptureStats;

/// A batch of received packets, lent out by a [`PacketSource`].
pub trait Batch {
    /// Iterator over the batch's packets.
    type Iter<'b>: Iterator<Item = Packet<'b>>
    where
        Self: 'b;

    /// Number of packets in the batch.
    fn len(&self) -> usize;

    /// Whether the batch is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The packets, in arrival order.
    fn packets(&self) -> Self::Iter<'_>;
}

/// Something that receives packets in zero-copy batches.
///
/// Implemented by [`Capture`](crate::Capture) (AF_PACKET),
/// [`XdpSocket`](crate::XdpSocket) and
/// [`XdpQueueSet`](crate::afxdp::XdpQueueSet) (AF_XDP); code written
/// against this trait runs on any backend:
///
/// ```no_run
/// use netring::{Batch, PacketSource};
/// use std::time::Duration;
///
/// fn count<S: PacketSource>(src: &mut S, want: usize) -> netring::Result<usize> {
///     let mut n = 0;
///     while n < want {
///         if let Some(batch) = src.next_batch_blocking(Some(Duration::from_secs(1)))? {
///             n += batch.packets().count();
///         }
///     }
///     Ok(n)
/// }
/// ```
pub trait PacketSource {
    /// The batch type.
    type Batch<'a>: Batch
    where
        Self: 'a;

    /// The next batch if one is ready; never blocks.
    fn next_batch(&mut self) -> Option<Self::Batch<'_>>;

    /// The next batch, waiting up to `timeout` (`None`: forever).
    /// `Ok(None)` when the time ran out.
    ///
    /// # Errors
    /// The interface went down or away, the wait was stopped, or `poll` failed.
    fn next_batch_blocking(&mut self, timeout: Option<Duration>) -> Result<Option<Self::Batch<'_>>>;

    /// Cumulative statistics.
    ///
    /// # Errors
    /// Reading the kernel's counters failed.
    fn stats(&mut self) -> Result<CaptureStats>;
}

/// Counters of a transmit path ([`PacketSink`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TxStats {
    /// Frames handed to the sink ([`SinkSlot::send`]).
    pub queued: u64,
    /// Frames the kernel released as sent.
    pub sent: u64,
    /// Bytes of the frames in `sent`.
    pub bytes: u64,
    /// Frames the kernel refused (malformed, too long for the device).
    pub rejected: u64,
    /// Frames queued and not yet released or refused.
    pub pending: u64,
}

impl std::fmt::Display for TxStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} sent ({} bytes), {} rejected, {} pending of {} queued",
            self.sent, self.bytes, self.rejected, self.pending, self.queued
        )
    }
}

/// A frame being written in place in a [`PacketSink`]'s buffer.
///
/// # Buffers keep their bytes: frame templates
/// Every slot is one of the sink's [`buffer_count`](PacketSink::buffer_count)
/// fixed buffers (a TX ring slot, a UMEM frame, a `sendmmsg` buffer), named
/// by [`buffer_index`](Self::buffer_index). Neither the kernel nor the sink
/// writes a buffer's bytes while it transmits them, so a slot starts with
/// the bytes last written through a slot with the same index — the whole
/// buffer, not only the length asked for then (a buffer is at least
/// [`max_frame_len`](PacketSink::max_frame_len) long) — provided
/// [`buffer_generation`](PacketSink::buffer_generation) has not changed
/// since. A sink changes its generation whenever it rewrites buffers itself
/// (a refused frame moved the queued ones, a received frame became free for
/// transmit). A generator can therefore write a frame template once per
/// buffer and afterwards only the bytes that vary (a sequence number,
/// addresses and the checksums they change): see
/// `testkit::FrameGen` (feature `testkit`).
///
/// This is only a promise about contents: the bytes are reached only
/// through a slot, which exists only while user space owns the buffer, so
/// no safe code reads or writes memory the kernel holds. A buffer never
/// written through a slot starts zeroed (ring and UMEM memory) or with
/// bytes of an earlier received frame, which the generation reports.
pub trait SinkSlot: std::ops::DerefMut<Target = [u8]> {
    /// Queue the frame; it leaves on the sink's next
    /// [`flush`](PacketSink::flush). Dropping a slot unsent abandons it.
    fn send(self);

    /// Which of the sink's buffers this slot is, `0..buffer_count()`; the
    /// same index always names the same memory (see the trait docs).
    fn buffer_index(&self) -> usize;
}

/// Something that transmits whole link-layer frames from a shared ring.
///
/// Implemented by [`Injector`](crate::Injector) (AF_PACKET TX ring),
/// [`XdpSocket`](crate::XdpSocket) (AF_XDP TX ring, frames in the UMEM) and
/// [`RawSender`](crate::RawSender) (64 buffers, one `sendmmsg` per
/// flush, no ring). The protocol is the same on every backend: take a slot, fill it, queue it;
/// kick the kernel once per batch with [`flush`](Self::flush); a frame
/// counts as [sent](TxStats::sent) only when the kernel released it.
///
/// ```no_run
/// use netring::{PacketSink, SinkSlot};
///
/// fn blast<S: PacketSink>(sink: &mut S, frame: &[u8], n: usize) -> netring::Result<u64> {
///     for _ in 0..n {
///         let mut slot = sink.allocate_blocking(frame.len(), None)?.expect("no timeout");
///         slot.copy_from_slice(frame);
///         slot.send();
///     }
///     sink.flush()?;
///     sink.wait_drained(None)?;
///     Ok(sink.tx_stats().sent)
/// }
/// ```
pub trait PacketSink {
    /// The slot type.
    type Slot<'a>: SinkSlot
    where
        Self: 'a;

    /// The longest frame accepted.
    fn max_frame_len(&self) -> usize;

    /// A slot for a frame of `len` bytes, or `None` when the ring is full.
    ///
    /// # Errors
    /// [`Error::FrameTooLarge`](crate::Error::FrameTooLarge).
    fn allocate(&mut self, len: usize) -> Result<Option<Self::Slot<'_>>>;

    /// As [`allocate`](Self::allocate), waiting up to `timeout` (`None`:
    /// forever) for room; `Ok(None)` when the time runs out.
    ///
    /// # Errors
    /// As `allocate`, or the interface went down or away.
    fn allocate_blocking(&mut self, len: usize, timeout: Option<Duration>) -> Result<Option<Self::Slot<'_>>>;

    /// Queue a copy of `frame`; `Ok(false)` when the ring is full.
    ///
    /// # Errors
    /// As [`allocate`](Self::allocate).
    fn send(&mut self, frame: &[u8]) -> Result<bool> {
        match self.allocate(frame.len())? {
            Some(mut slot) => {
                slot.copy_from_slice(frame);
                slot.send();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Ask the kernel to transmit what is queued (one system call).
    ///
    /// # Errors
    /// The interface went down or away, or the kick failed.
    fn flush(&mut self) -> Result<()>;

    /// Wait up to `timeout` until every queued frame is sent and released;
    /// `Ok(false)` when the time ran out first.
    ///
    /// # Errors
    /// As [`flush`](Self::flush).
    fn wait_drained(&mut self, timeout: Option<Duration>) -> Result<bool>;

    /// Counters so far.
    fn tx_stats(&mut self) -> TxStats;

    /// How many buffers the slots rotate through: every
    /// [`SinkSlot::buffer_index`] is below this. Fixed for the sink's life.
    fn buffer_count(&self) -> usize;

    /// Changes (grows) whenever the sink itself may have rewritten the bytes
    /// of its buffers, which voids the promise in [`SinkSlot`]'s docs: a
    /// template writer compares it before trusting a buffer's old bytes.
    fn buffer_generation(&self) -> u64;
}
