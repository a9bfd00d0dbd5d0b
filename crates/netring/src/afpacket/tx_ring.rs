//! The `PACKET_TX_RING`: fixed-size frame slots handed between user space
//! and the kernel by one status word each.
//!
//! This is the only place that turns TX ring memory into slices. The
//! protocol (`net/packet/af_packet.c`: `tpacket_snd()`,
//! `tpacket_parse_header()`, `tpacket_destruct_skb()`):
//!
//! * A slot whose status has none of `SEND_REQUEST | SENDING |
//!   WRONG_FORMAT` (i.e. `TP_STATUS_AVAILABLE`, possibly with timestamp bits)
//!   belongs to user space. We fill its data area and `tp_len`, then store
//!   `TP_STATUS_SEND_REQUEST` with `Release`: the kernel reads the status
//!   (`__packet_get_status()`: `smp_rmb()` then a plain load) before it reads
//!   the frame, so our writes are visible to it.
//! * The kernel only walks the ring inside `send()` on this socket
//!   (`tpacket_snd()`), from its own head, in ring order, and stops at the
//!   first slot that is not `SEND_REQUEST`. So slots must be queued in ring
//!   order, and a slot user space is filling is never read: the kick needs
//!   `&mut` on the ring, which the slot borrows.
//! * While a frame is in flight its pages are attached to the skb
//!   (zero-copy), so the slot stays `SENDING` until the skb is freed;
//!   `tpacket_destruct_skb()` then stores `TP_STATUS_AVAILABLE` after
//!   `smp_wmb()`. Our `Acquire` load of the status pairs with that barrier.
//! * With `PACKET_LOSS` off, a frame the kernel refuses (too long, shorter
//!   than the link header, …) gets `TP_STATUS_WRONG_FORMAT`, the kick fails
//!   with the reason, and the kernel's head **stays on that slot**: it will
//!   not move past it until the slot becomes `SEND_REQUEST` again. Resetting
//!   it to available would wedge the ring, so [`TxRing::remove_rejected`]
//!   moves every later queued frame one slot back (they are all still
//!   `SEND_REQUEST`, untouched by the kernel, which only walks the ring
//!   inside our own kick) and frees the last slot.
//!
//! Frame header layout depends on the TPACKET version set on the socket;
//! [`FrameLayout`] holds the offsets for V2 and V3 (V3 TX is frame-based
//! like V2, with `tpacket3_hdr` headers and `tp_next_offset` required to be
//! 0, Linux 4.11).

#![allow(unsafe_code)]

use std::mem::offset_of;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::sys::Mmap;
use crate::sys::tpacket::{
    self as tp, TP_STATUS_AVAILABLE, TP_STATUS_SEND_REQUEST, TP_STATUS_SENDING, TP_STATUS_WRONG_FORMAT,
};

/// Where the kernel looks for a TX frame's status, length and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameLayout {
    status: usize,
    len: usize,
    /// `tp_next_offset`, which V3 requires to be 0.
    next_offset: Option<usize>,
    data: usize,
}

impl FrameLayout {
    /// `struct tpacket2_hdr`, data at `TPACKET2_HDRLEN - sizeof(sockaddr_ll)`.
    pub(crate) const V2: Self = Self {
        status: offset_of!(tp::tpacket2_hdr, tp_status),
        len: offset_of!(tp::tpacket2_hdr, tp_len),
        next_offset: None,
        data: tp::TPACKET2_TX_DATA_OFFSET,
    };
    /// `struct tpacket3_hdr`, data at `TPACKET3_HDRLEN - sizeof(sockaddr_ll)`.
    pub(crate) const V3: Self = Self {
        status: offset_of!(tp::tpacket3_hdr, tp_status),
        len: offset_of!(tp::tpacket3_hdr, tp_len),
        next_offset: Some(offset_of!(tp::tpacket3_hdr, tp_next_offset)),
        data: tp::TPACKET3_TX_DATA_OFFSET,
    };

    /// Offset of the frame's first byte from the start of its slot.
    pub(crate) const fn data_offset(&self) -> usize {
        self.data
    }
}

/// What one slot's status word says, from user space's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotState {
    /// Ours (`TP_STATUS_AVAILABLE`, timestamp bits ignored).
    Available,
    /// Queued or in flight (`SEND_REQUEST` / `SENDING`).
    Kernel,
    /// Refused by the kernel (`TP_STATUS_WRONG_FORMAT`).
    Rejected,
}

#[inline]
fn state(status: u32) -> SlotState {
    if status & TP_STATUS_WRONG_FORMAT != 0 {
        SlotState::Rejected
    } else if status & (TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING) != 0 {
        SlotState::Kernel
    } else {
        SlotState::Available
    }
}

/// Ring geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub(crate) block_size: usize,
    pub(crate) block_count: usize,
    pub(crate) frame_size: usize,
}

impl Geometry {
    #[inline]
    pub(crate) fn frames_per_block(&self) -> usize {
        self.block_size / self.frame_size
    }

    pub(crate) fn frame_count(&self) -> usize {
        self.frames_per_block() * self.block_count
    }

    pub(crate) fn bytes(&self) -> usize {
        self.block_size * self.block_count
    }
}

/// Frames reclaimed by one [`TxRing::reclaim`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Reclaimed {
    /// Frames the kernel released after sending.
    pub(crate) frames: u64,
    /// Their bytes (`tp_len`).
    pub(crate) bytes: u64,
}

/// A TX ring: `frame_count` slots, queued in ring order.
///
/// Indices are free-running `u64`s (they never wrap in practice); a slot is
/// `index % frame_count`. A `u32` counter would wrap after 2^32 frames —
/// about 70 minutes at 1 Mpps — and, unless `frame_count` divides 2^32, the
/// slot sequence would jump there and leave the kernel's head behind.
/// `[tail, head)` are the frames queued to the kernel and not yet seen
/// released; `head` is the next slot to fill.
#[derive(Debug)]
pub(crate) struct TxRing {
    base: NonNull<u8>,
    geo: Geometry,
    layout: FrameLayout,
    frame_count: u32,
    /// `frame_count - 1` and `log2(frames per block)` when those are powers
    /// of two (the usual geometry): slot offsets without a division.
    pow2: Option<(u32, u32)>,
    head: u64,
    tail: u64,
    /// The ring memory: the kernel's mapping, or heap memory in tests.
    _mem: Mmap,
}

// SAFETY: the ring owns its memory; the pointer is only an address into it.
// Moving the ring to another thread moves the sole user-space accessor.
unsafe impl Send for TxRing {}

impl TxRing {
    /// Take over `mmap`, which maps a TX ring of geometry `geo` whose frames
    /// follow `layout`, all slots available (as the kernel hands it over).
    pub(crate) fn new(mmap: Mmap, geo: Geometry, layout: FrameLayout) -> Self {
        Self::check(geo, layout);
        assert!(mmap.len() >= geo.bytes(), "mapping smaller than the ring");
        let base = mmap.as_ptr();
        let frame_count = geo.frame_count() as u32;
        let fpb = geo.frames_per_block();
        let pow2 =
            (frame_count.is_power_of_two() && fpb.is_power_of_two()).then(|| (frame_count - 1, fpb.trailing_zeros()));
        Self { base, geo, layout, frame_count, pow2, head: 0, tail: 0, _mem: mmap }
    }

    fn check(geo: Geometry, layout: FrameLayout) {
        assert!(geo.frame_size > layout.data && geo.frame_size.is_multiple_of(tp::TPACKET_ALIGNMENT));
        assert!(geo.frames_per_block() >= 1 && geo.block_size.is_multiple_of(8));
        assert!(geo.frame_count() >= 1 && geo.frame_count() <= (u32::MAX / 2) as usize);
    }

    /// A ring over zeroed heap memory (every slot available) for tests that
    /// play the kernel. Returns the ring and the address the "kernel" uses.
    #[cfg(test)]
    pub(crate) fn heap(geo: Geometry, layout: FrameLayout) -> (Self, SharedTx) {
        let ring = Self::new(Mmap::heap(geo.bytes()), geo, layout);
        let base = ring.base;
        (ring, SharedTx { base, geo, layout })
    }

    /// The slot (`0..frame_count`) that free-running `index` names.
    #[inline]
    pub(crate) fn slot_of(&self, index: u64) -> u32 {
        match self.pow2 {
            Some((mask, _)) => index as u32 & mask,
            None => (index % u64::from(self.frame_count)) as u32,
        }
    }

    /// The slot the next frame is written into.
    #[inline]
    pub(crate) fn head_slot(&self) -> u32 {
        self.slot_of(self.head)
    }

    /// The free-running index of the next slot to fill.
    #[inline]
    pub(crate) fn head(&self) -> u64 {
        self.head
    }

    /// Byte offset of slot `index` (free-running) from the ring base.
    #[inline]
    fn slot_offset(&self, index: u64) -> usize {
        match self.pow2 {
            Some((mask, shift)) => {
                let slot = (index as u32 & mask) as usize;
                (slot >> shift) * self.geo.block_size + (slot & ((1 << shift) - 1)) * self.geo.frame_size
            }
            None => slot_offset(&self.geo, (index % u64::from(self.frame_count)) as u32),
        }
    }

    /// The status word of slot `index`.
    #[inline]
    fn status(&self, index: u64) -> &AtomicU32 {
        // SAFETY: the slot lies inside the mapping (index reduced modulo
        // frame_count; `check` ensured the geometry fits), the status word is
        // inside the slot's header, and header offsets are multiples of 4
        // from a 16-aligned slot start, so the pointer is 4-aligned. The
        // kernel writes the word with plain stores ordered by barriers,
        // which is what the C memory model's atomics describe. The reference
        // lives no longer than `&self`, which keeps the mapping alive.
        unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(self.slot_offset(index) + self.layout.status).cast()) }
    }

    #[inline]
    fn state(&self, index: u64) -> SlotState {
        // Acquire: pairs with the smp_wmb() after the kernel's status store
        // in tpacket_destruct_skb() / tpacket_snd() (__packet_set_status).
        state(self.status(index).load(Ordering::Acquire))
    }

    /// Write a 32-bit header field of a slot user space owns.
    #[inline]
    fn write_u32(&mut self, index: u64, field: usize, value: u32) {
        // SAFETY: the field is inside the slot (header offsets are below
        // `layout.data` < frame_size), 4-aligned like the status word, and
        // the slot is user-owned (callers hold it between seeing it
        // available and the Release store that queues it), so the kernel
        // neither reads nor writes it now.
        unsafe { self.base.as_ptr().add(self.slot_offset(index) + field).cast::<u32>().write(value) }
    }

    #[inline]
    fn read_u32(&self, index: u64, field: usize) -> u32 {
        // SAFETY: as `write_u32`; callers read only slots the kernel has
        // released (after the Acquire in `state`) or that user space owns.
        unsafe { self.base.as_ptr().add(self.slot_offset(index) + field).cast::<u32>().read() }
    }

    /// Frames queued and not yet seen released.
    #[inline]
    pub(crate) fn pending(&self) -> u32 {
        // At most `frame_count`, so it fits.
        (self.head - self.tail) as u32
    }

    /// Number of slots.
    pub(crate) fn frame_count(&self) -> u32 {
        self.frame_count
    }

    /// The most bytes one slot holds.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.geo.frame_size - self.layout.data
    }

    /// The geometry.
    pub(crate) fn geometry(&self) -> Geometry {
        self.geo
    }

    /// Whether the next slot can be filled now: the ring is not full.
    ///
    /// No status word is read: every slot outside `[tail, head)` is known to
    /// be user space's, because `tail` passes a slot only after
    /// [`reclaim`](Self::reclaim) saw it released (with `Acquire`), a fresh
    /// ring starts with every slot available, and the kernel touches only
    /// slots we queued. So each slot's status is read once per lap, in
    /// `reclaim`.
    #[inline]
    pub(crate) fn can_fill(&self) -> bool {
        self.pending() < self.frame_count
    }

    /// The data area of the next slot, `len` bytes, if it is free. The slot
    /// is queued by [`queue`](Self::queue); dropping the slice abandons it.
    ///
    /// # Panics
    /// If `len` exceeds [`capacity`](Self::capacity).
    #[inline]
    pub(crate) fn next_frame(&mut self, len: usize) -> Option<&mut [u8]> {
        assert!(len <= self.capacity(), "frame larger than a slot");
        if !self.can_fill() {
            return None;
        }
        let start = self.slot_offset(self.head) + self.layout.data;
        // SAFETY: the slot at `head` is user-owned: not queued (pending <
        // frame_count, so `head` is not in [tail, head)), and either never
        // queued or seen released by `reclaim` (Acquire) before `tail`
        // passed it (see `can_fill`). The kernel only
        // reads slots inside our kick, which needs `&mut self`, and this
        // slice borrows `self` mutably, so no kick happens while it lives.
        // The range [start, start + len) lies inside the slot (len ≤
        // capacity), hence inside the mapping, and overlaps no other slot or
        // any status word.
        Some(unsafe { std::slice::from_raw_parts_mut(self.base.as_ptr().add(start), len) })
    }

    /// Read-only view of the next slot's data area, as [`next_frame`](Self::next_frame).
    #[inline]
    pub(crate) fn peek_frame(&self, len: usize) -> Option<&[u8]> {
        assert!(len <= self.capacity(), "frame larger than a slot");
        if !self.can_fill() {
            return None;
        }
        let start = self.slot_offset(self.head) + self.layout.data;
        // SAFETY: as in `next_frame`: the slot is user-owned and no kick can
        // run while this shared borrow of the ring lives (kicks need `&mut`).
        Some(unsafe { std::slice::from_raw_parts(self.base.as_ptr().add(start), len) })
    }

    /// Queue the next slot (filled through [`next_frame`](Self::next_frame))
    /// as a frame of `len` bytes.
    #[inline]
    pub(crate) fn queue(&mut self, len: usize) {
        debug_assert!(self.can_fill() && len <= self.capacity());
        let index = self.head;
        self.write_u32(index, self.layout.len, len as u32);
        if let Some(off) = self.layout.next_offset {
            self.write_u32(index, off, 0);
        }
        // Release: the frame bytes and tp_len are visible before the kernel
        // can see SEND_REQUEST (it reads the status first, after smp_rmb()).
        self.status(index).store(TP_STATUS_SEND_REQUEST, Ordering::Release);
        self.head += 1;
    }

    /// Count the frames the kernel has released, oldest first, stopping at
    /// the first one still queued, in flight, or rejected: one pass, one
    /// status read per slot.
    pub(crate) fn reclaim(&mut self) -> Reclaimed {
        let mut r = Reclaimed::default();
        let mut tail = self.tail;
        while tail != self.head && self.state(tail) == SlotState::Available {
            r.bytes += u64::from(self.read_u32(tail, self.layout.len));
            tail += 1;
        }
        r.frames = tail - self.tail;
        self.tail = tail;
        r
    }

    /// The first queued frame the kernel marked `TP_STATUS_WRONG_FORMAT`.
    pub(crate) fn find_rejected(&self) -> Option<u64> {
        let mut i = self.tail;
        while i != self.head {
            if self.state(i) == SlotState::Rejected {
                return Some(i);
            }
            i = i.wrapping_add(1);
        }
        None
    }

    /// Drop the rejected frame at `index` (from [`find_rejected`]): every
    /// later queued frame moves one slot back, so the kernel, whose head
    /// waits on `index`, sends them next, in order. Returns the rejected
    /// frame's length.
    ///
    /// Must be called between kicks (it is: kicks need `&mut self` too).
    ///
    /// [`find_rejected`]: Self::find_rejected
    pub(crate) fn remove_rejected(&mut self, index: u64) -> u32 {
        assert_eq!(self.state(index), SlotState::Rejected, "slot {index} is not rejected");
        let rejected_len = self.read_u32(index, self.layout.len);
        let mut dst = index;
        loop {
            let src = dst.wrapping_add(1);
            if src == self.head {
                break;
            }
            // Frames after a rejected one were never looked at: the kernel
            // stopped at `index` and only walks the ring inside our kicks.
            debug_assert_eq!(self.status(src).load(Ordering::Relaxed), TP_STATUS_SEND_REQUEST);
            let len = self.read_u32(src, self.layout.len);
            let n = (len as usize).min(self.capacity());
            let (s, d) = (self.slot_offset(src) + self.layout.data, self.slot_offset(dst) + self.layout.data);
            // SAFETY: both slots are user-owned for the duration (the kernel
            // stopped at `index` and is not inside a kick), distinct, inside
            // the mapping, and `n` ≤ the data area of a slot.
            unsafe { std::ptr::copy_nonoverlapping(self.base.as_ptr().add(s), self.base.as_ptr().add(d), n) };
            self.write_u32(dst, self.layout.len, len);
            if let Some(off) = self.layout.next_offset {
                self.write_u32(dst, off, 0);
            }
            self.status(dst).store(TP_STATUS_SEND_REQUEST, Ordering::Release);
            dst = src;
        }
        // `dst` is the last queued slot, now a duplicate: hand it back.
        self.status(dst).store(TP_STATUS_AVAILABLE, Ordering::Release);
        self.head = self.head.wrapping_sub(1);
        rejected_len
    }
}

#[inline]
fn slot_offset(geo: &Geometry, slot: u32) -> usize {
    let fpb = geo.frames_per_block();
    let slot = slot as usize;
    (slot / fpb) * geo.block_size + (slot % fpb) * geo.frame_size
}

/// The "kernel" side of a heap TX ring in tests.
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct SharedTx {
    base: NonNull<u8>,
    geo: Geometry,
    layout: FrameLayout,
}

// SAFETY: test-only; the simulated kernel touches only slots it owns, by the
// same protocol as the real one.
#[cfg(test)]
unsafe impl Send for SharedTx {}

#[cfg(test)]
impl SharedTx {
    fn ptr(&self, slot: u32, off: usize) -> *mut u8 {
        // SAFETY: in bounds for slots < frame_count (callers pass such slots).
        unsafe { self.base.as_ptr().add(slot_offset(&self.geo, slot) + off) }
    }

    fn status(&self, slot: u32) -> &AtomicU32 {
        // SAFETY: in bounds and 4-aligned, as in `TxRing::status`.
        unsafe { AtomicU32::from_ptr(self.ptr(slot, self.layout.status).cast()) }
    }

    /// Play `tpacket_snd()` for one slot: if it is `SEND_REQUEST`, return
    /// its bytes and mark it `SENDING`.
    pub(crate) fn take(&self, slot: u32) -> Option<Vec<u8>> {
        if self.status(slot).load(Ordering::Acquire) != TP_STATUS_SEND_REQUEST {
            return None;
        }
        if let Some(off) = self.layout.next_offset {
            // SAFETY: in bounds; the slot is kernel-owned now.
            assert_eq!(unsafe { self.ptr(slot, off).cast::<u32>().read() }, 0, "V3 needs tp_next_offset 0");
        }
        // SAFETY: in bounds; the slot is kernel-owned now.
        let len = unsafe { self.ptr(slot, self.layout.len).cast::<u32>().read() } as usize;
        let mut v = vec![0u8; len];
        // SAFETY: len ≤ the slot's data area (user space checked it).
        unsafe { std::ptr::copy_nonoverlapping(self.ptr(slot, self.layout.data), v.as_mut_ptr(), len) };
        self.status(slot).store(TP_STATUS_SENDING, Ordering::Release);
        Some(v)
    }

    /// Play `tpacket_destruct_skb()`: release a slot, with timestamp bits.
    pub(crate) fn complete(&self, slot: u32) {
        self.status(slot).store(TP_STATUS_AVAILABLE | tp::TP_STATUS_TS_SOFTWARE, Ordering::Release);
    }

    /// Play the `WRONG_FORMAT` path of `tpacket_snd()`.
    pub(crate) fn reject(&self, slot: u32) {
        assert_eq!(self.status(slot).load(Ordering::Acquire), TP_STATUS_SEND_REQUEST);
        self.status(slot).store(TP_STATUS_WRONG_FORMAT, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GEO: Geometry = Geometry { block_size: 4096, block_count: 2, frame_size: 1024 };

    fn fill(ring: &mut TxRing, byte: u8, len: usize) -> bool {
        match ring.next_frame(len) {
            Some(f) => {
                f.fill(byte);
                ring.queue(len);
                true
            }
            None => false,
        }
    }

    #[test]
    fn layouts_put_data_where_the_kernel_reads_it() {
        assert_eq!(FrameLayout::V2.data_offset(), 32);
        assert_eq!(FrameLayout::V3.data_offset(), 48);
        assert_eq!((FrameLayout::V2.status, FrameLayout::V2.len), (0, 4));
        assert_eq!((FrameLayout::V3.status, FrameLayout::V3.len, FrameLayout::V3.next_offset), (20, 16, Some(0)));
    }

    #[test]
    fn slots_walk_blocks_in_order() {
        assert_eq!(GEO.frame_count(), 8);
        assert_eq!(slot_offset(&GEO, 3), 3 * 1024);
        assert_eq!(slot_offset(&GEO, 4), 4096);
        let odd = Geometry { block_size: 4096, block_count: 3, frame_size: 1536 };
        assert_eq!(odd.frame_count(), 6);
        assert_eq!(slot_offset(&odd, 2), 4096, "the tail of a block that fits no frame is skipped");
    }

    #[test]
    fn power_of_two_offsets_match_the_general_formula() {
        let layout = FrameLayout::V2;
        for geo in [GEO, Geometry { block_size: 4096, block_count: 3, frame_size: 1536 }] {
            let (ring, _k) = TxRing::heap(geo, layout);
            assert_eq!(ring.pow2.is_some(), geo == GEO);
            for i in (0..40).chain(u64::from(u32::MAX) - 20..=u64::from(u32::MAX) + 20) {
                let slot = (i % geo.frame_count() as u64) as u32;
                assert_eq!(ring.slot_offset(i), slot_offset(&geo, slot), "index {i}");
            }
        }
    }

    #[test]
    fn slots_stay_in_ring_order_past_two_to_the_32_frames() {
        // 6 slots: 2^32 is not a multiple, so a u32 counter reduced modulo 6
        // would jump from slot 3 back to slot 0 at the wrap, while the
        // kernel's head goes on to slot 4.
        let geo = Geometry { block_size: 4096, block_count: 3, frame_size: 1536 };
        let (ring, _k) = TxRing::heap(geo, FrameLayout::V2);
        let n = geo.frame_count() as u64;
        for i in u64::from(u32::MAX) - 10..u64::from(u32::MAX) + 10 {
            let (a, b) = (ring.slot_offset(i), ring.slot_offset(i + 1));
            assert_eq!(b, slot_offset(&geo, ((i + 1) % n) as u32), "index {i}");
            assert_ne!(a, b, "consecutive frames use consecutive slots");
        }
    }

    #[test]
    fn fill_queue_send_complete_reclaim() {
        for layout in [FrameLayout::V2, FrameLayout::V3] {
            let (mut ring, kernel) = TxRing::heap(GEO, layout);
            assert_eq!(ring.capacity(), 1024 - layout.data_offset());
            for i in 0..8 {
                assert!(fill(&mut ring, i as u8, 60 + i));
            }
            assert!(!fill(&mut ring, 9, 60), "full after frame_count frames");
            assert_eq!(ring.pending(), 8);
            for slot in 0..8u32 {
                let bytes = kernel.take(slot).expect("queued");
                assert_eq!(bytes, vec![slot as u8; 60 + slot as usize]);
            }
            assert_eq!(ring.reclaim(), Reclaimed::default(), "in flight: nothing released");
            kernel.complete(1); // out of order: not counted before slot 0
            assert_eq!(ring.reclaim().frames, 0);
            kernel.complete(0);
            assert_eq!(ring.reclaim(), Reclaimed { frames: 2, bytes: 60 + 61 });
            assert!(fill(&mut ring, 0xaa, 100), "slot 0 is free again");
            for slot in 2..8 {
                kernel.complete(slot);
            }
            assert_eq!(ring.reclaim().frames, 6);
            assert_eq!(ring.pending(), 1);
            assert_eq!(kernel.take(0).unwrap(), vec![0xaa; 100], "wrapped around to slot 0");
        }
    }

    #[test]
    fn a_rejected_frame_is_removed_and_later_frames_move_up() {
        for layout in [FrameLayout::V2, FrameLayout::V3] {
            let (mut ring, kernel) = TxRing::heap(GEO, layout);
            for i in 0..5u8 {
                assert!(fill(&mut ring, i, 10 + i as usize));
            }
            // The kernel sends 0 and 1, refuses 2, and stops there.
            kernel.take(0).unwrap();
            kernel.take(1).unwrap();
            kernel.reject(2);
            assert_eq!(ring.find_rejected(), Some(2));
            assert_eq!(ring.remove_rejected(2), 12);
            assert_eq!(ring.pending(), 4);
            assert_eq!(ring.find_rejected(), None);
            // Its head still waits at slot 2, which now holds frame 3.
            assert_eq!(kernel.take(2).unwrap(), vec![3; 13]);
            assert_eq!(kernel.take(3).unwrap(), vec![4; 14]);
            assert_eq!(kernel.take(4), None, "the duplicate slot was handed back");
            for s in 0..4 {
                kernel.complete(s);
            }
            assert_eq!(ring.reclaim(), Reclaimed { frames: 4, bytes: 10 + 11 + 13 + 14 });
            // The freed slot is the next one filled.
            assert!(fill(&mut ring, 7, 7));
            assert_eq!(kernel.take(4).unwrap(), vec![7; 7]);
        }
    }

    #[test]
    fn rejecting_the_last_queued_frame_frees_its_slot() {
        let (mut ring, kernel) = TxRing::heap(GEO, FrameLayout::V2);
        assert!(fill(&mut ring, 1, 5));
        kernel.reject(0);
        assert_eq!(ring.remove_rejected(0), 5);
        assert_eq!(ring.pending(), 0);
        assert!(fill(&mut ring, 2, 60));
        assert_eq!(kernel.take(0).unwrap(), vec![2; 60]);
    }

    #[test]
    fn a_simulated_kernel_thread_drains_everything_in_order() {
        let geo = Geometry { block_size: 4096, block_count: 4, frame_size: 512 };
        let (mut ring, kernel) = TxRing::heap(geo, FrameLayout::V3);
        let n: u32 = if cfg!(miri) { 100 } else { 5000 };
        let count = ring.frame_count();
        let k = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut slot = 0u32;
            while (got.len() as u32) < n {
                match kernel.take(slot) {
                    Some(b) => {
                        got.push(b);
                        kernel.complete(slot);
                        slot = (slot + 1) % count;
                    }
                    None => std::thread::yield_now(),
                }
            }
            got
        });
        let mut sent = 0u64;
        let mut next = 0u32;
        while next < n {
            let len = 20 + (next as usize % 400);
            if let Some(f) = ring.next_frame(len) {
                f.iter_mut().enumerate().for_each(|(i, b)| *b = (next as usize + i) as u8);
                ring.queue(len);
                next += 1;
            } else {
                sent += ring.reclaim().frames;
                std::thread::yield_now();
            }
        }
        let got = k.join().unwrap();
        sent += ring.reclaim().frames;
        assert_eq!(sent, u64::from(n));
        for (i, b) in got.iter().enumerate() {
            assert_eq!(b.len(), 20 + i % 400);
            assert!(b.iter().enumerate().all(|(j, &x)| x == (i + j) as u8), "frame {i}");
        }
    }
}
