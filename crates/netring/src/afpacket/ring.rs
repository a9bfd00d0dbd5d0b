//! The TPACKET_V3 receive ring: blocks handed between kernel and user space
//! by one status word each.
//!
//! This is the only place that turns ring memory into a slice. The protocol
//! (`Documentation/networking/packet_mmap.rst`, `net/packet/af_packet.c`):
//!
//! * The kernel fills a block, then (`prb_close_block()`) issues `smp_wmb()`
//!   and writes `TP_STATUS_USER` into `block_status`. Our `Acquire` load of
//!   `block_status` pairs with that barrier: once we see `TP_STATUS_USER`,
//!   every byte the kernel wrote into the block is visible, and the kernel
//!   will not touch the block again until we hand it back.
//! * We hand a block back by storing `TP_STATUS_KERNEL` with `Release`, so
//!   every read we made of the block happens before the kernel may reuse it
//!   (the kernel checks the status in `prb_dispatch_next_block()` /
//!   `__packet_lookup_frame_in_block()` before writing).
//!
//! A slice over a block is formed only through a [`BlockToken`], which exists
//! from the `Acquire` that hands the block over until [`RxRing::release`]
//! consumes it; slices borrow the ring, and releasing needs it mutably, so no
//! slice outlives the hand-back or the mapping.

#![allow(unsafe_code)]

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::sys::Mmap;
use crate::sys::tpacket::{BLOCK_STATUS_OFFSET, TP_STATUS_KERNEL, TP_STATUS_USER};

/// A V3 receive ring of `block_count` blocks of `block_size` bytes.
#[derive(Debug)]
pub(crate) struct RxRing {
    base: NonNull<u8>,
    block_size: usize,
    block_count: usize,
    /// The block the kernel will retire next: blocks are handed over in order.
    next: usize,
    /// Blocks whose contents did not parse; counted, never trusted.
    malformed: u64,
    /// The ring memory: the kernel's mapping, or heap memory in tests.
    _mem: Mmap,
}

// SAFETY: the ring owns its memory; the raw pointer is only an address into
// it. Moving the ring to another thread moves the sole user-space accessor.
unsafe impl Send for RxRing {}

impl RxRing {
    /// Take over `mmap`, which must map `block_size * block_count` bytes of a
    /// V3 RX ring.
    pub(crate) fn new(mmap: Mmap, block_size: usize, block_count: usize) -> Self {
        assert!(mmap.len() >= block_size * block_count, "mapping smaller than the ring");
        assert!(block_size >= 64 && block_size.is_multiple_of(8), "block size too small to hold a header");
        Self { base: mmap.as_ptr(), block_size, block_count, next: 0, malformed: 0, _mem: mmap }
    }

    /// A ring over heap memory, all blocks kernel-owned, for tests that play
    /// the kernel. Returns the ring and the base address the "kernel" writes to.
    #[cfg(test)]
    pub(crate) fn heap(block_size: usize, block_count: usize) -> (Self, SharedPtr) {
        let ring = Self::new(Mmap::heap(block_size * block_count), block_size, block_count);
        let base = ring.base;
        (ring, SharedPtr(base))
    }

    /// The status word of block `index`.
    fn status(&self, index: usize) -> &AtomicU32 {
        debug_assert!(index < self.block_count);
        // SAFETY: `index < block_count`, so the word lies inside the mapping
        // (a block is at least 64 bytes); blocks start at multiples of
        // `block_size` (a multiple of 8) from a page- or 8-aligned base, so the
        // word is 4-aligned. The kernel writes it with plain stores ordered by
        // barriers, which is the access the C memory model's atomics describe.
        // The reference lives no longer than `&self`, which keeps the mapping.
        unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(index * self.block_size + BLOCK_STATUS_OFFSET).cast()) }
    }

    /// The next block, if the kernel has retired it to user space. The block
    /// stays user-owned until the token is passed to [`release`](Self::release).
    #[must_use = "a taken block must be released or the ring stalls"]
    pub(crate) fn take(&mut self) -> Option<BlockToken> {
        let index = self.next;
        // Acquire: pairs with the kernel's smp_wmb() before it sets
        // TP_STATUS_USER in prb_close_block().
        let status = self.status(index).load(Ordering::Acquire);
        if status & TP_STATUS_USER == 0 {
            return None;
        }
        self.next = (index + 1) % self.block_count;
        Some(BlockToken { index, status, ring: self.base })
    }

    /// The bytes of a block user space holds.
    ///
    /// # Panics
    /// If `token` came from another ring.
    pub(crate) fn bytes(&self, token: &BlockToken) -> &[u8] {
        assert_eq!(token.ring, self.base, "block token used with another ring");
        // SAFETY: the token exists only between the Acquire load in `take`
        // that saw TP_STATUS_USER and `release`, which consumes it; in that
        // window the kernel neither writes the block nor reuses it. The range
        // lies inside the mapping (index < block_count), which `self` keeps
        // alive; the slice borrows `self`, and `release` needs `&mut self`, so
        // no slice survives the hand-back.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr().add(token.index * self.block_size), self.block_size) }
    }

    /// Hand a block back to the kernel.
    ///
    /// # Panics
    /// If `token` came from another ring.
    pub(crate) fn release(&mut self, token: BlockToken) {
        assert_eq!(token.ring, self.base, "block token used with another ring");
        // Release: every read of the block happens before the kernel sees it
        // as free (it tests the status before reusing the block).
        self.status(token.index).store(TP_STATUS_KERNEL, Ordering::Release);
    }

    /// Whether the next block is ready, without taking it.
    pub(crate) fn ready(&self) -> bool {
        self.status(self.next).load(Ordering::Acquire) & TP_STATUS_USER != 0
    }

    /// Malformed blocks seen so far.
    pub(crate) fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Count a block as malformed.
    pub(crate) fn note_malformed(&mut self) {
        self.malformed += 1;
    }

    /// Number of blocks.
    pub(crate) fn block_count(&self) -> usize {
        self.block_count
    }

    /// Block size in bytes.
    pub(crate) fn block_size(&self) -> usize {
        self.block_size
    }

    /// Blocks currently owned by user space (a cheap ring-occupancy reading).
    pub(crate) fn user_blocks(&self) -> usize {
        (0..self.block_count).filter(|&i| self.status(i).load(Ordering::Relaxed) & TP_STATUS_USER != 0).count()
    }
}

/// Proof that user space holds one block of one ring. Not `Clone`: it is
/// consumed by [`RxRing::release`].
#[derive(Debug)]
pub(crate) struct BlockToken {
    index: usize,
    status: u32,
    ring: NonNull<u8>,
}

// SAFETY: the token is an index plus the ring's address used as an identity;
// it grants nothing without the ring itself.
unsafe impl Send for BlockToken {}

impl BlockToken {
    /// The block status the kernel published (`TP_STATUS_USER | …`).
    pub(crate) fn status(&self) -> u32 {
        self.status
    }

    /// Which block of the ring this is.
    pub(crate) fn index(&self) -> usize {
        self.index
    }
}

/// The "kernel" side of a heap ring in tests.
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct SharedPtr(NonNull<u8>);

// SAFETY: test-only; the simulated kernel writes only blocks it owns, by the
// same protocol as the real one.
#[cfg(test)]
unsafe impl Send for SharedPtr {}

#[cfg(test)]
impl SharedPtr {
    /// Play the kernel: wait until block `index` is kernel-owned, write `bytes`
    /// into it (status word excluded), then publish it with `status`.
    pub(crate) fn publish(self, block_size: usize, index: usize, bytes: &[u8], status: u32) {
        assert!(bytes.len() <= block_size);
        // SAFETY: in bounds of the heap ring (caller passes its geometry).
        let word = unsafe { AtomicU32::from_ptr(self.0.as_ptr().add(index * block_size + BLOCK_STATUS_OFFSET).cast()) };
        while word.load(Ordering::Acquire) != TP_STATUS_KERNEL {
            std::thread::yield_now();
        }
        let start = index * block_size;
        for (i, &b) in bytes.iter().enumerate() {
            if (BLOCK_STATUS_OFFSET..BLOCK_STATUS_OFFSET + 4).contains(&i) {
                continue;
            }
            // SAFETY: in bounds; user space does not read a kernel-owned block.
            unsafe { self.0.as_ptr().add(start + i).write(b) };
        }
        word.store(status, Ordering::Release);
    }
}
