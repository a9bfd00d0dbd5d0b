//! Traits over every receive backend.

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
/// Implemented by [`Capture`](crate::Capture) (AF_PACKET); code written
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
