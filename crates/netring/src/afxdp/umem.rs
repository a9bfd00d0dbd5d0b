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
//!
//! Several sockets can share one region (`XDP_SHARED_UMEM`). Each then owns
//! one [`Umem`]: a partition of consecutive frames with a table of its own,
//! made by [`Umem::split`] (the only constructor of partitions, so they are
//! disjoint). A partition's table knows only its own frames: a frame of
//! another partition is refused like one outside the region. Slices are
//! formed only over frames of one's own partition, so partitions used on
//! different threads never reach the same byte.

#![allow(unsafe_code)]

use std::ptr::NonNull;
use std::sync::Arc;

use crate::error::Result;
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
}

/// The mapped region itself, shared by every socket whose partition lies in
/// it (`XDP_SHARED_UMEM`). It never reads or writes the memory: every access
/// goes through a [`Umem`] partition and its ownership table.
#[derive(Debug)]
struct Region {
    base: NonNull<u8>,
    len: usize,
    frame_size: u32,
    _backing: Backing,
}

// SAFETY: the region owns its mapping and only hands out its base address;
// the bytes are reached only through `Umem` partitions, which are disjoint
// (built in one place, `Umem::split`) and each formed slices only over
// frames its own table shows user space holding. So sharing the region
// between threads shares no byte between them.
unsafe impl Send for Region {}
// SAFETY: as above: `&Region` gives access to no byte of the mapping.
unsafe impl Sync for Region {}

/// One socket's share of a UMEM — the whole region, or one partition of it
/// when several sockets share the region — with its frame table.
pub(crate) struct Umem {
    region: Arc<Region>,
    /// Index (in the region) of this partition's first frame.
    first: usize,
    state: Vec<State>,
    /// Length of each frame submitted for transmit (`Tx`), for byte
    /// counts, and whether it ends its packet (multi-buffer chains).
    tx_len: Vec<(u32, bool)>,
    free: Vec<u64>,
    /// Grows when a frame may hold bytes no TX slot wrote: a received frame
    /// went to the free list, or a multi-buffer frame was copied in.
    generation: u64,
}

impl std::fmt::Debug for Umem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Umem")
            .field("base", &self.region.base)
            .field("len", &self.region.len)
            .field("frame_size", &self.region.frame_size)
            .field("first", &self.first)
            .field("frames", &self.state.len())
            .field("free", &self.free.len())
            .finish_non_exhaustive()
    }
}

impl Umem {
    /// Map `frame_count` frames of `frame_size` bytes, every frame free.
    pub(crate) fn new(frame_size: u32, frame_count: u32, huge_pages: bool) -> Result<Self> {
        Ok(Self::split_new(frame_size, frame_count, 1, huge_pages)?.pop().expect("one part"))
    }

    /// Map `parts × per_part` frames and split them into `parts`
    /// partitions of `per_part` consecutive frames each, one per socket.
    pub(crate) fn split_new(frame_size: u32, per_part: u32, parts: u32, huge_pages: bool) -> Result<Vec<Self>> {
        let len = frame_size as usize * per_part as usize * parts as usize;
        let mmap = Mmap::anonymous(len, huge_pages, if huge_pages { "mmap(UMEM, MAP_HUGETLB)" } else { "mmap(UMEM)" })?;
        let base = mmap.as_ptr();
        Ok(Self::split(Region { base, len, frame_size, _backing: Backing::Mmap(mmap) }, per_part, parts))
    }

    /// A UMEM on the heap, for tests that play the kernel.
    #[cfg(test)]
    pub(crate) fn heap(frame_size: u32, frame_count: u32) -> Self {
        Self::heap_split(frame_size, frame_count, 1).pop().expect("one part")
    }

    /// A partitioned UMEM on the heap, for tests that play the kernel.
    #[cfg(test)]
    pub(crate) fn heap_split(frame_size: u32, per_part: u32, parts: u32) -> Vec<Self> {
        let len = frame_size as usize * per_part as usize * parts as usize;
        let mem = Mmap::heap(len);
        let base = mem.as_ptr();
        Self::split(Region { base, len, frame_size, _backing: Backing::Mmap(mem) }, per_part, parts)
    }

    /// The one place partitions are made: `parts` disjoint runs of
    /// `per_part` frames, together covering the region.
    fn split(region: Region, per_part: u32, parts: u32) -> Vec<Self> {
        let region = Arc::new(region);
        let (fs, n) = (u64::from(region.frame_size), per_part as usize);
        (0..parts as usize)
            .map(|p| {
                let first = p * n;
                // Free list popped from the end: hand out low addresses first.
                let free = (first..first + n).rev().map(|i| i as u64 * fs).collect();
                Self {
                    region: Arc::clone(&region),
                    first,
                    state: vec![State::Free; n],
                    tx_len: vec![(0, true); n],
                    free,
                    generation: 0,
                }
            })
            .collect()
    }

    /// Register this region with AF_XDP socket `sock` (`XDP_UMEM_REG`).
    /// The socket must keep this UMEM (its region) alive: every
    /// [`XdpSocket`](crate::XdpSocket) holds its `Umem`, and the region is
    /// shared by `Arc` among the sockets of a shared UMEM.
    pub(crate) fn register(&self, sock: std::os::fd::BorrowedFd<'_>) -> Result<()> {
        let reg = xdp_umem_reg {
            addr: self.region.base.as_ptr() as u64,
            len: self.region.len as u64,
            chunk_size: self.region.frame_size,
            ..Default::default()
        };
        // SAFETY: the region is owned by this UMEM's `Arc`, which the socket
        // (and every socket sharing it) holds until it is closed; the
        // memory is unmapped only when the last of them drops, after the
        // descriptor closed.
        unsafe { crate::sys::xdp::umem_reg(sock, &reg) }
    }

    /// [`register`](Self::register) with `tx_metadata_len` bytes of TX
    /// metadata before each TX descriptor (`flags`: `XDP_UMEM_TX_METADATA_LEN`
    /// or 0), as the TX metadata probe asks (Linux 6.8).
    pub(crate) fn register_tx_metadata(
        &self,
        sock: std::os::fd::BorrowedFd<'_>,
        tx_metadata_len: u32,
        flags: u32,
    ) -> Result<()> {
        let reg = xdp_umem_reg {
            addr: self.region.base.as_ptr() as u64,
            len: self.region.len as u64,
            chunk_size: self.region.frame_size,
            flags,
            tx_metadata_len,
            ..Default::default()
        };
        // SAFETY: as in `register`: the socket holds this UMEM until it closes.
        unsafe { crate::sys::xdp::umem_reg(sock, &reg) }
    }

    /// Size of the whole region in bytes (every partition).
    pub(crate) fn len(&self) -> usize {
        self.region.len
    }

    /// Bytes per frame.
    pub(crate) fn frame_size(&self) -> u32 {
        self.region.frame_size
    }

    /// Frames of this partition.
    pub(crate) fn frames(&self) -> usize {
        self.state.len()
    }

    /// Whether `other` is a partition of the same region.
    #[cfg(test)]
    pub(crate) fn same_region(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.region, &other.region)
    }

    /// Frames on the free list.
    pub(crate) fn free_frames(&self) -> usize {
        self.free.len()
    }

    /// Frames in state `s`.
    pub(crate) fn count(&self, s: State) -> usize {
        self.state.iter().filter(|&&x| x == s).count()
    }

    /// Index in this partition's table of the frame holding `addr`, if
    /// that frame is in this partition. An address in another socket's
    /// partition is as foreign as one outside the UMEM.
    fn index(&self, addr: u64) -> Option<usize> {
        let i = usize::try_from(addr / u64::from(self.region.frame_size)).ok()?;
        i.checked_sub(self.first).filter(|&i| i < self.state.len())
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
            if from == State::Rx {
                self.generation += 1;
            }
        }
    }

    /// Index in this partition of the frame holding `addr` (a frame of
    /// this partition), the TX slot's [`buffer_index`](crate::SinkSlot::buffer_index).
    pub(crate) fn buffer_of(&self, addr: u64) -> usize {
        self.index(addr).expect("a frame of this partition")
    }

    /// See [`PacketSink::buffer_generation`](crate::PacketSink::buffer_generation).
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Frames were written other than through a TX slot.
    pub(crate) fn note_rewrite(&mut self) {
        self.generation += 1;
    }

    /// Base address of the frame holding `addr`.
    pub(crate) fn frame_base(&self, addr: u64) -> u64 {
        addr - addr % u64::from(self.region.frame_size)
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
    /// submitted for transmit. On success it is back on the free list and
    /// its length (as submitted) is returned, with whether it ended its packet.
    pub(crate) fn accept_completion(&mut self, addr: u64) -> Option<(u32, bool)> {
        let i = self.index(addr)?;
        let base = self.frame_base(addr);
        if self.transition(base, State::Tx, State::Free) {
            self.free.push(base);
            Some(self.tx_len[i])
        } else {
            None
        }
    }

    /// `len` bytes from `addr` lie inside one frame.
    fn inside_one_frame(&self, addr: u64, len: u32) -> bool {
        let Some(i) = self.index(addr) else { return false };
        let end = ((self.first + i) as u64 + 1) * u64::from(self.region.frame_size);
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

    /// A slot's frame was submitted for transmit (`Slot` → `Tx`) with `len`
    /// bytes; `end`: the last (or only) buffer of its packet.
    pub(crate) fn slot_to_tx(&mut self, addr: u64, len: u32, end: bool) {
        let moved = self.transition(addr, State::Slot, State::Tx);
        debug_assert!(moved, "submitting a frame that was not a slot");
        if let Some(i) = self.index(addr) {
            self.tx_len[i] = (len, end);
        }
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
        unsafe { std::slice::from_raw_parts(self.region.base.as_ptr().add(addr as usize), len as usize) }
    }

    /// Bytes of a frame the kernel just completed (still `Tx`, not yet
    /// accepted): where it wrote the TX timestamp of a frame that asked
    /// for one. `None` unless the range lies inside one frame in state `Tx`.
    pub(crate) fn completed_bytes(&self, addr: u64, len: u32) -> Option<&[u8]> {
        if !self.inside_one_frame(addr, len) || self.state[self.index(addr)?] != State::Tx {
            return None;
        }
        // SAFETY: inside one frame (checked) in state Tx whose address the
        // kernel has just published on the completion ring (its Acquire
        // orders the kernel's writes to the frame before this read): the
        // kernel is done with it, and user space gets it back only through
        // `accept_completion`, which needs `&mut self`, so no mutable slice
        // exists while this one lives.
        Some(unsafe { std::slice::from_raw_parts(self.region.base.as_ptr().add(addr as usize), len as usize) })
    }

    /// The bytes of a TX slot's frame, for reading back what was written.
    ///
    /// # Panics
    /// Unless the range lies inside one frame in state `Slot`.
    #[inline]
    pub(crate) fn slot_bytes(&self, addr: u64, len: u32) -> &[u8] {
        self.assert_owned(addr, len, State::Slot);
        // SAFETY: inside one frame (checked) in state Slot, which only this
        // partition holds and the kernel was never given since it was freed;
        // mutable access needs `&mut self`, so none exists while this lives.
        unsafe { std::slice::from_raw_parts(self.region.base.as_ptr().add(addr as usize), len as usize) }
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
        unsafe { std::slice::from_raw_parts_mut(self.region.base.as_ptr().add(addr as usize), len as usize) }
    }

    fn assert_owned(&self, addr: u64, len: u32, want: State) {
        assert!(self.inside_one_frame(addr, len), "range {addr}+{len} is not inside one UMEM frame");
        let i = self.index(addr).expect("inside");
        assert_eq!(self.state[i], want, "frame {} is not user-owned", self.first + i);
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
        assert!(u.accept_completion(a).is_none(), "a slot not yet submitted");
        u.slot_to_tx(a, 100, true);
        assert!(u.accept_completion(4096).is_none(), "outside");
        assert_eq!(u.accept_completion(a), Some((100, true)));
        assert!(u.accept_completion(a).is_none(), "completed twice");
        assert_eq!(u.free_frames(), 2);
        assert_eq!(u.count(State::Free), 2);
    }

    #[test]
    fn partitions_cover_the_region_once() {
        let mut parts = Umem::heap_split(2048, 8, 4);
        let mut seen = std::collections::BTreeSet::new();
        for u in &mut parts {
            for _ in 0..3 {
                assert!(seen.insert(u.take_for_fill().unwrap()), "an address handed out twice");
            }
            while let Some(a) = u.take_free() {
                assert!(seen.insert(a), "an address handed out twice");
            }
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), (0..32).map(|i| i * 2048).collect::<Vec<_>>());
        assert!(parts[0].same_region(&parts[3]));
        assert_eq!(parts[2].frames(), 8);
    }

    /// Four sockets' partitions of one UMEM, each on its own thread with its
    /// own fill and RX rings and a simulated kernel that sometimes names a
    /// frame of another partition, or the same frame twice. Every such
    /// descriptor is refused; every frame a thread reads or writes is its
    /// own (another thread's marker would show, and Miri would see the race).
    #[test]
    fn partitions_never_hand_one_frame_to_two_sockets() {
        use crate::ring::sim;
        const PARTS: u32 = 4;
        const PER: u32 = 8;
        const FS: u64 = 2048;
        const ROUNDS: u64 = if cfg!(miri) { 24 } else { 4000 };
        let all = u64::from(PARTS * PER) * FS;
        let threads: Vec<_> = Umem::heap_split(FS as u32, PER, PARTS)
            .into_iter()
            .enumerate()
            .map(|(p, mut u)| {
                std::thread::spawn(move || {
                    let mark = p as u8 + 1;
                    let (mut fill, fk) = sim::producer::<u64>(PER, 0);
                    let (mut rx, rk) = sim::consumer::<xdp_desc>(PER, 0);
                    let r = fill.reserve(PER / 2);
                    for i in 0..r.len() {
                        fill.write(&r, i, u.take_for_fill().unwrap());
                    }
                    fill.submit(r);
                    let (mut accepted, mut refused, mut sent) = (0u64, 0u64, 0u64);
                    for round in 0..ROUNDS {
                        // Transmit: write a free frame, submit, complete.
                        let a = u.take_free().expect("a free frame");
                        u.slot_bytes_mut(a, 128).fill(mark);
                        u.slot_to_tx(a, 128, true);
                        assert!(u.accept_completion((a + FS * u64::from(PER)) % all).is_none(), "foreign completion");
                        assert_eq!(u.accept_completion(a), Some((128, true)));
                        sent += 1;
                        // The kernel: one fill frame becomes a received frame.
                        let got = fk.consume(1);
                        assert_eq!(got.len(), 1, "the fill ring never runs dry");
                        let own = desc(got[0] + 256, 128);
                        let descs = match round % 5 {
                            3 => vec![desc((got[0] + FS * u64::from(PER) * (1 + round % 3)) % all + 256, 128), own],
                            4 => vec![own, own],
                            _ => vec![own],
                        };
                        assert_eq!(rk.produce(&descs), descs.len());
                        let pk = rx.peek(PER);
                        let mut mine = Vec::new();
                        for i in 0..pk.len() {
                            let d = rx.read(&pk, i);
                            if u.accept_rx(&d) {
                                mine.push(d);
                            } else {
                                refused += 1;
                            }
                        }
                        rx.release(pk);
                        for d in &mine {
                            let b = u.rx_bytes(d.addr, d.len);
                            assert!(b.iter().all(|&x| x == 0 || x == mark), "partition {p} read another's bytes");
                            accepted += 1;
                        }
                        let r = fill.reserve(mine.len() as u32);
                        for (i, d) in mine.iter().enumerate() {
                            fill.write(&r, i as u32, u.rx_to_fill(d.addr));
                        }
                        fill.submit(r);
                    }
                    (accepted, refused, sent)
                })
            })
            .collect();
        for t in threads {
            let (accepted, refused, sent) = t.join().unwrap();
            assert_eq!(accepted, ROUNDS, "every own frame accepted once");
            let bad = (0..ROUNDS).filter(|r| r % 5 >= 3).count() as u64;
            assert_eq!(refused, bad, "every foreign or repeated one refused");
            assert_eq!(sent, ROUNDS);
        }
    }
}
