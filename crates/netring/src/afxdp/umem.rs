//! The UMEM: one page-aligned region of equal frames that the kernel and
//! user space hand back and forth through the fill/RX and TX/completion
//! rings.
//!
//! This file is the only place that turns UMEM memory into slices. It keeps
//! an owner for every frame ([`State`]) and forms a slice only over a frame
//! user space owns:
//!
//! * `Rx`: the kernel published it on the RX ring (the ring's `Acquire`,
//!   see `ring/`) and will not write it until we put it on the fill ring;
//!   shared slices ([`Umem::rx_bytes`]) borrow the UMEM, and the state
//!   change back to `Fill` needs it mutably.
//! * `Slot`: taken from the free list for a TX slot; nobody else holds it;
//!   the mutable slice ([`Umem::slot_bytes_mut`]) borrows the UMEM mutably.
//!
//! Frames in `Fill` (given for receive) or `Tx` (submitted for transmit)
//! belong to the kernel and are never read or written here. Every
//! descriptor the kernel returns is checked against this table before it is
//! believed: an address outside the UMEM, a length past the end of its
//! frame, or a frame the kernel does not hold is refused and counted.

#![allow(unsafe_code)]

use std::ptr::NonNull;

use crate::error::{Error, Result};
use crate::sys::Mmap;
use crate::sys::xdp::{xdp_desc, xdp_umem_reg};

/// Who holds a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum State {
    /// On the user-space free list.
    Free,
    /// Given to the kernel for receive (fill ring, or held by the kernel).
    Fill,
    /// Received: user space reads it until the batch returns it.
    Rx,
    /// Taken for a TX slot: user space writes it.
    Slot,
    /// Submitted for transmit: the kernel reads it until it completes.
    Tx,
}

/// What keeps the UMEM mapped.
#[derive(Debug)]
enum Backing {
    Mmap(#[expect(dead_code, reason = "held for its Drop, which unmaps")] Mmap),
    #[cfg(test)]
    Heap(#[expect(dead_code, reason = "held for its Drop, which frees")] HeapMem),
}

#[cfg(test)]
#[derive(Debug)]
struct HeapMem(*mut [u64]);

#[cfg(test)]
impl Drop for HeapMem {
    fn drop(&mut self) {
        // SAFETY: from Box::into_raw, freed once.
        drop(unsafe { Box::from_raw(self.0) });
    }
}

/// A registered (or to-be-registered) UMEM with its frame table.
pub(crate) struct Umem {
    base: NonNull<u8>,
    len: usize,
    frame_size: u32,
    state: Vec<State>,
    free: Vec<u64>,
    _backing: Backing,
}

impl std::fmt::Debug for Umem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Umem")
            .field("base", &self.base)
            .field("len", &self.len)
            .field("frame_size", &self.frame_size)
            .field("frames", &self.state.len())
            .field("free", &self.free.len())
            .finish_non_exhaustive()
    }
}

// SAFETY: the UMEM owns its mapping; the pointer is an address into it.
unsafe impl Send for Umem {}

impl Umem {
    /// Map `frame_count` frames of `frame_size` bytes, every frame free.
    pub(crate) fn new(frame_size: u32, frame_count: u32, huge_pages: bool) -> Result<Self> {
        let len = frame_size as usize * frame_count as usize;
        let mmap = Mmap::anonymous(len, huge_pages, if huge_pages { "mmap(UMEM, MAP_HUGETLB)" } else { "mmap(UMEM)" })?;
        let base = mmap.as_ptr();
        Ok(Self::with(base, len, frame_size, Backing::Mmap(mmap)))
    }

    /// A UMEM on the heap, for tests that play the kernel.
    #[cfg(test)]
    pub(crate) fn heap(frame_size: u32, frame_count: u32) -> Self {
        let len = frame_size as usize * frame_count as usize;
        let mem = Box::into_raw(vec![0u64; len / 8].into_boxed_slice());
        let base = NonNull::new(mem.cast::<u8>()).expect("non-null");
        Self::with(base, len, frame_size, Backing::Heap(HeapMem(mem)))
    }

    fn with(base: NonNull<u8>, len: usize, frame_size: u32, backing: Backing) -> Self {
        let count = len / frame_size as usize;
        // Free list popped from the end: hand out low addresses first.
        let free = (0..count as u64).rev().map(|i| i * u64::from(frame_size)).collect();
        Self { base, len, frame_size, state: vec![State::Free; count], free, _backing: backing }
    }

    /// The `XDP_UMEM_REG` request for this region.
    pub(crate) fn registration(&self) -> xdp_umem_reg {
        xdp_umem_reg {
            addr: self.base.as_ptr() as u64,
            len: self.len as u64,
            chunk_size: self.frame_size,
            ..Default::default()
        }
    }

    /// Size of the region in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes per frame.
    pub(crate) fn frame_size(&self) -> u32 {
        self.frame_size
    }

    /// Frames on the free list.
    pub(crate) fn free_frames(&self) -> usize {
        self.free.len()
    }

    /// Frames in state `s`.
    pub(crate) fn count(&self, s: State) -> usize {
        self.state.iter().filter(|&&x| x == s).count()
    }

    /// Frame index of `addr`, if inside the UMEM.
    fn index(&self, addr: u64) -> Option<usize> {
        let i = usize::try_from(addr / u64::from(self.frame_size)).ok()?;
        (i < self.state.len()).then_some(i)
    }

    /// Move a frame from `from` to `to`; `false` (and no change) unless it
    /// was in `from`.
    fn transition(&mut self, addr: u64, from: State, to: State) -> bool {
        match self.index(addr) {
            Some(i) if self.state[i] == from => {
                self.state[i] = to;
                true
            }
            _ => false,
        }
    }

    /// Take a frame off the free list for a TX slot.
    pub(crate) fn take_free(&mut self) -> Option<u64> {
        let addr = self.free.pop()?;
        let moved = self.transition(addr, State::Free, State::Slot);
        debug_assert!(moved, "free list and frame table disagree");
        Some(addr)
    }

    /// Take a frame off the free list for the fill ring.
    pub(crate) fn take_for_fill(&mut self) -> Option<u64> {
        let addr = self.free.pop()?;
        let moved = self.transition(addr, State::Free, State::Fill);
        debug_assert!(moved, "free list and frame table disagree");
        Some(addr)
    }

    /// Put a frame back on the free list (`from` is its current state).
    pub(crate) fn free(&mut self, addr: u64, from: State) {
        let base = self.frame_base(addr);
        if self.transition(base, from, State::Free) {
            self.free.push(base);
        }
    }

    /// Base address of the frame holding `addr`.
    pub(crate) fn frame_base(&self, addr: u64) -> u64 {
        addr - addr % u64::from(self.frame_size)
    }

    /// Accept an RX descriptor from the kernel: the bytes must lie inside one
    /// frame of the UMEM, and that frame must be one the kernel was given for
    /// receive. On success the frame is user space's (`Rx`).
    pub(crate) fn accept_rx(&mut self, d: &xdp_desc) -> bool {
        if !self.inside_one_frame(d.addr, d.len) {
            return false;
        }
        let base = self.frame_base(d.addr);
        self.transition(base, State::Fill, State::Rx)
    }

    /// Accept a completion from the kernel: the frame must be one we
    /// submitted for transmit. On success it is back on the free list.
    pub(crate) fn accept_completion(&mut self, addr: u64) -> bool {
        if self.index(addr).is_none() {
            return false;
        }
        let base = self.frame_base(addr);
        if self.transition(base, State::Tx, State::Free) {
            self.free.push(base);
            true
        } else {
            false
        }
    }

    /// `len` bytes from `addr` lie inside one frame.
    fn inside_one_frame(&self, addr: u64, len: u32) -> bool {
        let Some(i) = self.index(addr) else { return false };
        let end = (i as u64 + 1) * u64::from(self.frame_size);
        addr.checked_add(u64::from(len)).is_some_and(|e| e <= end)
    }

    /// Give a received frame back to the kernel for receive (`Rx` → `Fill`).
    /// Returns the frame's base address for the fill ring.
    pub(crate) fn rx_to_fill(&mut self, addr: u64) -> u64 {
        let base = self.frame_base(addr);
        let moved = self.transition(base, State::Rx, State::Fill);
        debug_assert!(moved, "returning a frame that was not received");
        base
    }

    /// A slot's frame was submitted for transmit (`Slot` → `Tx`).
    pub(crate) fn slot_to_tx(&mut self, addr: u64) {
        let moved = self.transition(addr, State::Slot, State::Tx);
        debug_assert!(moved, "submitting a frame that was not a slot");
    }

    /// The bytes of a received frame.
    ///
    /// # Panics
    /// Unless the range lies inside one frame in state `Rx`: a slice over a
    /// frame the kernel may write is never formed.
    #[inline]
    pub(crate) fn rx_bytes(&self, addr: u64, len: u32) -> &[u8] {
        self.assert_owned(addr, len, State::Rx);
        // SAFETY: the range lies inside one frame of the mapping (checked),
        // and that frame is in state Rx: the kernel handed it over through
        // the RX ring (Acquire on its producer index) and gets it back only
        // through `rx_to_fill`, which needs `&mut self`, so the kernel does
        // not write it while this shared slice (borrowing `self`) lives.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr().add(addr as usize), len as usize) }
    }

    /// The bytes of a TX slot's frame, for writing.
    ///
    /// # Panics
    /// Unless the range lies inside one frame in state `Slot`.
    #[inline]
    pub(crate) fn slot_bytes_mut(&mut self, addr: u64, len: u32) -> &mut [u8] {
        self.assert_owned(addr, len, State::Slot);
        // SAFETY: inside one frame (checked) in state Slot: taken off the free
        // list, never given to the kernel since (completion, or never
        // submitted) and handed to nobody else; the slice borrows `self`
        // mutably, so no other slice over the UMEM exists meanwhile.
        unsafe { std::slice::from_raw_parts_mut(self.base.as_ptr().add(addr as usize), len as usize) }
    }

    fn assert_owned(&self, addr: u64, len: u32, want: State) {
        assert!(self.inside_one_frame(addr, len), "range {addr}+{len} is not inside one UMEM frame");
        let i = self.index(addr).expect("inside");
        assert_eq!(self.state[i], want, "frame {i} is not user-owned");
    }

    /// Error for a frame that does not fit one UMEM frame of `interface`'s socket.
    pub(crate) fn too_large(&self, len: usize, interface: &str) -> Error {
        Error::FrameTooLarge {
            len,
            limit: self.frame_size as usize,
            interface: interface.to_owned(),
            why: format!("one UMEM frame holds {} bytes", self.frame_size),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(addr: u64, len: u32) -> xdp_desc {
        xdp_desc { addr, len, options: 0 }
    }

    #[test]
    fn rx_descriptors_are_checked_against_the_frame_table() {
        let mut u = Umem::heap(2048, 4);
        let f = u.take_for_fill().unwrap();
        assert_eq!(f, 0);
        assert!(!u.accept_rx(&desc(2048 + 256, 60)), "a frame never given for receive");
        assert!(!u.accept_rx(&desc(256, 2048)), "longer than the rest of its frame");
        assert!(!u.accept_rx(&desc(4 * 2048, 60)), "outside the UMEM");
        assert!(!u.accept_rx(&desc(u64::MAX - 10, 60)), "overflowing");
        assert!(u.accept_rx(&desc(256, 1792)), "exactly to the end of the frame");
        assert!(!u.accept_rx(&desc(256, 60)), "the same frame twice");
        assert_eq!(u.rx_bytes(256, 1792).len(), 1792);
        assert_eq!(u.rx_to_fill(300), 0);
    }

    #[test]
    #[should_panic(expected = "not user-owned")]
    fn no_slice_over_a_kernel_owned_frame() {
        let mut u = Umem::heap(2048, 2);
        u.take_for_fill().unwrap();
        let _ = u.rx_bytes(0, 10);
    }

    #[test]
    fn completions_only_for_frames_in_flight() {
        let mut u = Umem::heap(2048, 2);
        let a = u.take_free().unwrap();
        u.slot_bytes_mut(a, 100).fill(7);
        assert!(!u.accept_completion(a), "a slot not yet submitted");
        u.slot_to_tx(a);
        assert!(!u.accept_completion(4096), "outside");
        assert!(u.accept_completion(a));
        assert!(!u.accept_completion(a), "completed twice");
        assert_eq!(u.free_frames(), 2);
        assert_eq!(u.count(State::Free), 2);
    }
}
