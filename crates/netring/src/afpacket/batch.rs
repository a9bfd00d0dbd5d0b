//! [`PacketBatch`]: one retired TPACKET_V3 block lent out by a capture,
//! handed back to the kernel when it drops.

use std::cell::Cell;
use std::fmt;

use super::block::{BlockHeader, BlockPackets, VlanScratch};
use super::ring::{BlockToken, RxRing};
use crate::filter::Program;
use crate::packet::{Packet, Timestamp};
use crate::source::Batch;
use crate::sys::tpacket::{TP_STATUS_BLK_TMO, TP_STATUS_LOSING};

/// One retired block of packets, lent out by
/// [`Capture::next_batch`](crate::Capture::next_batch). Dropping it returns
/// the block to the kernel.
///
/// Packets borrow the batch, so none can outlive it; and the batch borrows
/// the capture mutably, so there is only ever one:
///
/// ```compile_fail,E0499
/// # fn f(cap: &mut netring::Capture) {
/// let a = cap.next_batch();
/// let b = cap.next_batch(); // second live batch: does not compile
/// drop((a, b));
/// # }
/// ```
pub struct PacketBatch<'a> {
    ring: &'a mut RxRing,
    /// Always `Some` until `Drop` hands it back.
    token: Option<BlockToken>,
    header: BlockHeader,
    malformed: Cell<bool>,
    recheck: Option<&'a Program>,
    vlan: Option<&'a VlanScratch>,
}

impl<'a> PacketBatch<'a> {
    pub(crate) fn new(
        ring: &'a mut RxRing,
        token: BlockToken,
        recheck: Option<&'a Program>,
        vlan: Option<&'a VlanScratch>,
    ) -> Self {
        let header = BlockHeader::parse(ring.bytes(&token));
        let malformed = Cell::new(header.is_none());
        Self { ring, token: Some(token), header: header.unwrap_or_default(), malformed, recheck, vlan }
    }

    fn token(&self) -> &BlockToken {
        self.token.as_ref().expect("held until drop")
    }

    /// Number of packets the kernel put in the block. Right after a filter
    /// change, [`iter`](Self::iter) may yield fewer: packets queued under
    /// the old filter that the new one rejects are skipped.
    pub fn len(&self) -> usize {
        self.header.num_pkts as usize
    }

    /// Whether the block holds no packets (a timer retired it empty).
    pub fn is_empty(&self) -> bool {
        self.header.num_pkts == 0
    }

    /// The packets, in the order the kernel received them.
    pub fn iter(&self) -> BlockPackets<'_> {
        BlockPackets::new(self.ring.bytes(self.token()), &self.header, Some(&self.malformed))
            .recheck(self.recheck)
            .vlan(self.vlan)
    }

    /// Whether the retire timer closed this block before it was full
    /// (`TP_STATUS_BLK_TMO`): traffic is slower than the block size.
    pub fn timed_out(&self) -> bool {
        self.token().status() & TP_STATUS_BLK_TMO != 0
    }

    /// Whether the socket dropped packets before this block was closed
    /// (`TP_STATUS_LOSING`).
    pub fn losing(&self) -> bool {
        self.token().status() & TP_STATUS_LOSING != 0
    }

    /// The kernel's block sequence number.
    ///
    /// Not a loss signal: the kernel freezes the ring rather than skipping
    /// blocks, so sequence numbers have no gaps even when packets are lost.
    pub fn seq_num(&self) -> u64 {
        self.header.seq_num
    }

    /// Timestamp of the first packet in the block.
    pub fn first_timestamp(&self) -> Timestamp {
        self.header.ts_first
    }

    /// Timestamp of the last packet in the block.
    pub fn last_timestamp(&self) -> Timestamp {
        self.header.ts_last
    }

    /// Bytes of the block in use (`blk_len`).
    pub fn block_len(&self) -> usize {
        self.header.blk_len as usize
    }

    /// Index of this block in the ring.
    pub fn block_index(&self) -> usize {
        self.token().index()
    }
}

impl<'b> IntoIterator for &'b PacketBatch<'_> {
    type Item = Packet<'b>;
    type IntoIter = BlockPackets<'b>;
    fn into_iter(self) -> BlockPackets<'b> {
        self.iter()
    }
}

impl Drop for PacketBatch<'_> {
    fn drop(&mut self) {
        if self.malformed.get() {
            self.ring.note_malformed();
        }
        if let Some(token) = self.token.take() {
            self.ring.release(token);
        }
    }
}

impl fmt::Debug for PacketBatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketBatch")
            .field("block", &self.block_index())
            .field("packets", &self.header.num_pkts)
            .field("seq_num", &self.header.seq_num)
            .field("timed_out", &self.timed_out())
            .finish()
    }
}

impl<'a> Batch for PacketBatch<'a> {
    type Iter<'b>
        = BlockPackets<'b>
    where
        Self: 'b;

    fn len(&self) -> usize {
        PacketBatch::len(self)
    }

    fn packets(&self) -> BlockPackets<'_> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::afpacket::block::fixture::craft_block;
    use crate::afpacket::block::tests::{frame, set_u32};
    use crate::sys::tpacket::TP_STATUS_USER;

    #[test]
    fn batches_from_a_simulated_kernel() {
        // A producer thread plays the kernel: fills blocks in order, waits for
        // each to come back. The consumer takes, walks and drops batches.
        const BS: usize = 4096;
        const BLOCKS: usize = 4;
        const ROUNDS: usize = if cfg!(miri) { 9 } else { 25 };
        let (mut ring, kernel) = RxRing::heap(BS, BLOCKS);
        let producer = std::thread::spawn(move || {
            for r in 0..ROUNDS {
                let payloads: Vec<Vec<u8>> = (0..3u8).map(|i| vec![r as u8 ^ i; 64]).collect();
                let frames: Vec<_> = payloads.iter().map(|p| frame(p)).collect();
                let block = craft_block(BS, &frames, r as u64);
                let status = TP_STATUS_USER | if r % 5 == 0 { TP_STATUS_BLK_TMO } else { 0 };
                kernel.publish(BS, r % BLOCKS, &block, status);
            }
        });
        let mut seen = 0;
        while seen < ROUNDS {
            let Some(token) = ring.take() else {
                std::thread::yield_now();
                continue;
            };
            let batch = PacketBatch::new(&mut ring, token, None, None);
            assert_eq!(batch.seq_num(), seen as u64);
            assert_eq!(batch.timed_out(), seen % 5 == 0);
            let got: Vec<_> = batch.iter().map(|p| p.data()[0]).collect();
            assert_eq!(got, vec![seen as u8, seen as u8 ^ 1, seen as u8 ^ 2]);
            seen += 1;
        }
        producer.join().unwrap();
        assert_eq!(ring.malformed(), 0);
        assert!(ring.take().is_none());
    }

    #[test]
    fn malformed_batches_are_counted() {
        let (mut ring, kernel) = RxRing::heap(4096, 2);
        let mut block = craft_block(4096, &[frame(&[1; 60])], 0);
        set_u32(&mut block, 16, 5000);
        kernel.publish(4096, 0, &block, TP_STATUS_USER);
        let token = ring.take().unwrap();
        let batch = PacketBatch::new(&mut ring, token, None, None);
        assert_eq!(batch.iter().count(), 0);
        drop(batch);
        assert_eq!(ring.malformed(), 1);
    }
}
