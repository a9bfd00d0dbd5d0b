//! The single-producer / single-consumer ring protocol that AF_XDP's four
//! rings (fill, RX, TX, completion) share with the kernel.
//!
//! A ring is `size` (a power of two) descriptors plus three `u32` control
//! words: `producer`, `consumer` and `flags`. Indices run free: they count
//! every entry ever produced or consumed and wrap at `u32::MAX`, the slot of
//! index `i` is `i & (size − 1)`, and the distance between two indices is
//! their `wrapping_sub`. Each side keeps a cached copy of the other side's
//! index and reads the shared word only when the cache says the ring is
//! full (producer) or empty (consumer).
//!
//! # Memory ordering
//!
//! The kernel's side is `net/xdp/xsk_queue.h`; its header comment spells the
//! protocol out (user space mirrors it, as `tools/lib/bpf/xsk.h` / libxdp's
//! `xsk.h` do):
//!
//! ```text
//! producer                          consumer
//! if (LOAD ->consumer) {  (A)       LOAD.acq ->producer  (C)
//!    STORE $data                    LOAD $data
//!    STORE.rel ->producer (B)       STORE.rel ->consumer (D)
//! }
//! (A) pairs with (D), and (B) pairs with (C).
//! ```
//!
//! * [`Producer::submit`] is (B): a `Release` store of `producer` after the
//!   descriptors were written; it pairs with the kernel's (C),
//!   `smp_load_acquire(&r->producer)` in `__xskq_cons_peek()`.
//! * [`Producer`]'s refresh of `consumer` is (A), done with `Acquire` as
//!   libxdp's `xsk_prod_nb_free()` does; it pairs with the kernel's (D),
//!   `smp_store_release(&r->consumer, …)` in `__xskq_cons_release()`, so
//!   the kernel's reads of a slot happen before we overwrite it.
//! * [`Consumer`]'s refresh of `producer` is (C), `Acquire`; it pairs with
//!   the kernel's (B), `smp_store_release(&q->ring->producer, …)` in
//!   `xskq_prod_submit()` / `__xskq_prod_submit()`, so the descriptors (and
//!   the frame bytes they point to) are visible once the index is.
//! * [`Consumer::release`] is (D), a `Release` store of `consumer`; it pairs
//!   with the kernel's (A) read of `consumer` in `xskq_prod_nb_free()` /
//!   `xskq_prod_is_full()`, so our reads of a slot happen before the kernel
//!   reuses it.
//! * The `flags` word (`XDP_RING_NEED_WAKEUP`) is read `Relaxed`, as
//!   `xsk_ring_prod__needs_wakeup()` reads it with `READ_ONCE`; the kernel
//!   writes it with `WRITE_ONCE` in `xsk_set_tx_need_wakeup()` and friends.
//!   A stale read costs one extra or one late system call, never memory.
//!
//! # Tokens
//!
//! [`Producer::reserve`] hands out a [`Reservation`] of slots the kernel
//! cannot read yet, [`Producer::write`] writes only inside it, and
//! [`Producer::submit`] consumes it. [`Consumer::peek`] hands out a
//! [`Peeked`] range the kernel will not rewrite, [`Consumer::read`] reads
//! only inside it, and [`Consumer::release`] consumes it. Tokens are not
//! `Clone`, carry the identity of their ring, and must be given back in the
//! order they were taken, so no code path can touch a slot outside the range
//! the protocol grants it. Descriptors are copied in and out by value
//! (`T: Copy`): no reference to ring memory ever exists.

#![allow(unsafe_code)]

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Error, Result};
use crate::sys::Mmap;

/// What keeps a ring's memory mapped.
#[derive(Debug)]
pub(crate) enum Backing {
    /// Shared with the kernel.
    Mmap(#[expect(dead_code, reason = "held for its Drop, which unmaps")] Mmap),
    /// Heap memory standing in for the kernel in tests and benchmarks.
    #[cfg(any(test, feature = "_bench"))]
    Heap(#[expect(dead_code, reason = "held for its Drop, which frees")] std::sync::Arc<HeapRing>),
}

/// Where a ring's parts lie inside its mapping (`struct xdp_ring_offset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub producer: u64,
    pub consumer: u64,
    pub flags: u64,
    pub desc: u64,
}

impl Layout {
    /// Bytes a mapping needs for `size` descriptors of `T`.
    pub(crate) fn map_len<T>(&self, size: u32) -> usize {
        (self.desc as usize).saturating_add((size as usize).saturating_mul(std::mem::size_of::<T>()))
    }
}

/// Where heap rings put their parts (one cache line each, as the kernel does).
#[cfg(any(test, feature = "_bench"))]
pub(crate) const LAYOUT: Layout = Layout { producer: 0, consumer: 64, flags: 128, desc: 192 };

/// Heap memory standing in for a ring mapping (tests, the simulated kernel,
/// and the benchmarks' producer/consumer pairs): a [`Mmap::heap`], shared
/// by `Arc` between the halves that use it.
#[cfg(any(test, feature = "_bench"))]
#[derive(Debug)]
pub(crate) struct HeapRing {
    mem: Mmap,
}

#[cfg(any(test, feature = "_bench"))]
impl HeapRing {
    /// A zeroed ring of `size` descriptors of `T`, both indices at `start`.
    pub(crate) fn new<T>(size: u32, start: u32) -> std::sync::Arc<Self> {
        let ring = std::sync::Arc::new(Self { mem: Mmap::heap(LAYOUT.map_len::<T>(size)) });
        ring.word(LAYOUT.producer).store(start, Ordering::Relaxed);
        ring.word(LAYOUT.consumer).store(start, Ordering::Relaxed);
        ring
    }

    pub(crate) fn base(&self) -> NonNull<u8> {
        self.mem.as_ptr()
    }

    pub(crate) fn len(&self) -> usize {
        self.mem.len()
    }

    pub(crate) fn word(&self, off: u64) -> &AtomicU32 {
        // SAFETY: LAYOUT's words lie inside the allocation, 4-aligned (it is
        // page-aligned); the reference lives no longer than `self`.
        unsafe { AtomicU32::from_ptr(self.base().as_ptr().add(off as usize).cast()) }
    }

    /// A producer and a consumer over one heap ring of `size` descriptors:
    /// both halves of the protocol in user-space code, each the other's
    /// "kernel" (benchmarks of the per-descriptor cost).
    #[cfg(feature = "_bench")]
    pub(crate) fn pair<T: Copy>(size: u32) -> Result<(Producer<T>, Consumer<T>)> {
        let mem = Self::new::<T>(size, 0);
        let raw = |m: &std::sync::Arc<Self>| Raw::new(m.base(), m.len(), LAYOUT, size, Backing::Heap(m.clone()));
        Ok((Producer::from_raw(raw(&mem)?)?, Consumer::from_raw(raw(&mem)?)))
    }
}

/// Raw pointers into one ring's memory, validated once at construction.
#[derive(Debug)]
struct Raw<T> {
    producer: NonNull<AtomicU32>,
    consumer: NonNull<AtomicU32>,
    flags: NonNull<AtomicU32>,
    descs: NonNull<T>,
    size: u32,
    mask: u32,
    _backing: Backing,
    _t: PhantomData<T>,
}

// SAFETY: the ring owns (through `_backing`) the memory the pointers refer
// to; moving it to another thread moves the sole user-space accessor.
unsafe impl<T: Send> Send for Raw<T> {}

impl<T: Copy> Raw<T> {
    /// Check `layout` against `len` bytes at `base` and build the pointers.
    fn new(base: NonNull<u8>, len: usize, layout: Layout, size: u32, backing: Backing) -> Result<Self> {
        let bad = |what: String| Error::Unsupported { feature: "AF_XDP ring layout", detail: what };
        if !size.is_power_of_two() {
            return Err(bad(format!("ring size {size} is not a power of two")));
        }
        let word = |off: u64, name: &str| -> Result<NonNull<AtomicU32>> {
            let off = usize::try_from(off).map_err(|_| bad(format!("{name} offset {off} too large")))?;
            if off.checked_add(4).is_none_or(|end| end > len) || !off.is_multiple_of(4) {
                return Err(bad(format!("{name} offset {off} outside a {len}-byte mapping or misaligned")));
            }
            // SAFETY: `off + 4 <= len`: in bounds of the mapping.
            Ok(unsafe { base.add(off) }.cast())
        };
        let producer = word(layout.producer, "producer")?;
        let consumer = word(layout.consumer, "consumer")?;
        let flags = word(layout.flags, "flags")?;
        let desc = usize::try_from(layout.desc).map_err(|_| bad("desc offset too large".into()))?;
        let bytes = (size as usize).checked_mul(std::mem::size_of::<T>());
        if bytes.and_then(|b| b.checked_add(desc)).is_none_or(|end| end > len)
            || !desc.is_multiple_of(std::mem::align_of::<T>())
        {
            return Err(bad(format!("{size} descriptors at offset {desc} do not fit a {len}-byte mapping")));
        }
        // SAFETY: `desc + size * size_of::<T>() <= len`: in bounds.
        let descs = unsafe { base.add(desc) }.cast();
        Ok(Self { producer, consumer, flags, descs, size, mask: size - 1, _backing: backing, _t: PhantomData })
    }

    fn producer(&self) -> &AtomicU32 {
        // SAFETY: in bounds and 4-aligned (checked in `new`), alive while
        // `self` holds the backing; shared with the kernel, which accesses it
        // with READ_ONCE/WRITE_ONCE and barriers: the accesses atomics model.
        unsafe { self.producer.as_ref() }
    }

    fn consumer(&self) -> &AtomicU32 {
        // SAFETY: as `producer`.
        unsafe { self.consumer.as_ref() }
    }

    fn flags(&self) -> &AtomicU32 {
        // SAFETY: as `producer`.
        unsafe { self.flags.as_ref() }
    }

    /// Pointer to the slot of free-running index `idx`.
    fn slot(&self, idx: u32) -> *mut T {
        // SAFETY: `idx & mask < size`, and `size` descriptors fit the mapping.
        unsafe { self.descs.as_ptr().add((idx & self.mask) as usize) }
    }

    fn id(&self) -> usize {
        self.descs.as_ptr() as usize
    }
}

/// The user-space producer side of a ring (fill, TX).
#[derive(Debug)]
pub(crate) struct Producer<T> {
    raw: Raw<T>,
    /// Next index to hand out (reserved, maybe not yet submitted).
    cached_prod: u32,
    /// Value last stored to `producer`.
    published: u32,
    /// Last `consumer` seen, plus `size`: the index at which the ring is full.
    cached_cons: u32,
    /// Times the kernel's consumer index was found outside the sane range.
    corrupt: u64,
}

/// Slots of a [`Producer`] that only user space may write, until
/// [`Producer::submit`] hands them to the kernel.
#[derive(Debug)]
#[must_use = "reserved slots must be submitted or cancelled"]
pub(crate) struct Reservation {
    start: u32,
    len: u32,
    ring: usize,
}

impl Reservation {
    /// Number of slots reserved.
    pub(crate) fn len(&self) -> u32 {
        self.len
    }
}

impl<T: Copy> Producer<T> {
    /// A producer over `mmap` laid out as `layout`, `size` descriptors.
    pub(crate) fn new(mmap: Mmap, layout: Layout, size: u32) -> Result<Self> {
        let (base, len) = (mmap.as_ptr(), mmap.len());
        Self::from_raw(Raw::new(base, len, layout, size, Backing::Mmap(mmap))?)
    }

    fn from_raw(raw: Raw<T>) -> Result<Self> {
        // Whatever the kernel set up (zeros on a fresh ring); libxdp does the same.
        let prod = raw.producer().load(Ordering::Relaxed);
        let cons = raw.consumer().load(Ordering::Acquire);
        let size = raw.size;
        Ok(Self { raw, cached_prod: prod, published: prod, cached_cons: cons.wrapping_add(size), corrupt: 0 })
    }

    /// Number of descriptors.
    pub(crate) fn size(&self) -> u32 {
        self.raw.size
    }

    /// Free slots, reading the kernel's `consumer` only if fewer than `want`
    /// are known to be free.
    pub(crate) fn free(&mut self, want: u32) -> u32 {
        let free = self.known_free();
        if free >= want {
            return free;
        }
        // (A): Acquire pairs with the kernel's smp_store_release of `consumer`
        // in __xskq_cons_release() (D).
        let cons = self.raw.consumer().load(Ordering::Acquire);
        // A sane consumer is at most a ring behind what we published and never
        // ahead of it. Anything else is corrupt: learn no free slots from it.
        if self.published.wrapping_sub(cons) > self.raw.size {
            self.corrupt += 1;
        } else {
            self.cached_cons = cons.wrapping_add(self.raw.size);
        }
        self.known_free()
    }

    /// Free slots by the cached indices; never more than the ring holds.
    fn known_free(&self) -> u32 {
        let free = self.cached_cons.wrapping_sub(self.cached_prod);
        if free > self.raw.size { 0 } else { free }
    }

    /// Reserve up to `n` slots (fewer when the ring is fuller; possibly none).
    pub(crate) fn reserve(&mut self, n: u32) -> Reservation {
        let len = self.free(n).min(n);
        let start = self.cached_prod;
        self.cached_prod = start.wrapping_add(len);
        Reservation { start, len, ring: self.raw.id() }
    }

    /// Write slot `i` of `r`.
    ///
    /// # Panics
    /// If `i >= r.len()` or `r` belongs to another ring.
    pub(crate) fn write(&mut self, r: &Reservation, i: u32, value: T) {
        assert_eq!(r.ring, self.raw.id(), "reservation used with another ring");
        assert!(i < r.len, "slot {i} outside a reservation of {}", r.len);
        // SAFETY: the slot lies in the ring (masked). Reserved slots are
        // between `published` and `cached_prod`: the kernel has not been told
        // of them (no `producer` store covers them) and finished reading them
        // before it published the `consumer` value that freed them (A/D), so
        // nothing reads or writes this slot concurrently.
        unsafe { self.raw.slot(r.start.wrapping_add(i)).write(value) }
    }

    /// Hand the reserved slots to the kernel.
    ///
    /// # Panics
    /// If `r` belongs to another ring or is submitted out of order.
    pub(crate) fn submit(&mut self, r: Reservation) {
        assert_eq!(r.ring, self.raw.id(), "reservation used with another ring");
        assert_eq!(r.start, self.published, "reservations are submitted in order");
        if r.len == 0 {
            return;
        }
        self.published = r.start.wrapping_add(r.len);
        // (B): Release orders the descriptor writes before the index; pairs
        // with the kernel's smp_load_acquire of `producer` in __xskq_cons_peek() (C).
        self.raw.producer().store(self.published, Ordering::Release);
    }

    /// Give back the most recent reservation unsubmitted.
    ///
    /// # Panics
    /// If `r` is not the most recent reservation of this ring.
    pub(crate) fn cancel(&mut self, r: Reservation) {
        assert_eq!(r.ring, self.raw.id(), "reservation used with another ring");
        assert_eq!(r.start.wrapping_add(r.len), self.cached_prod, "only the latest reservation can be cancelled");
        self.cached_prod = r.start;
    }

    /// Entries submitted but not yet consumed by the kernel, as of the last
    /// refresh of its `consumer` index (call [`refresh`](Self::refresh) first
    /// for a current figure).
    pub(crate) fn pending(&self) -> u32 {
        self.published.wrapping_sub(self.cached_cons.wrapping_sub(self.raw.size)).min(self.raw.size)
    }

    /// Re-read the kernel's `consumer` index.
    pub(crate) fn refresh(&mut self) {
        self.free(u32::MAX);
    }

    /// Whether the kernel asked to be woken (`XDP_RING_NEED_WAKEUP`).
    pub(crate) fn needs_wakeup(&self) -> bool {
        // Relaxed, as xsk_ring_prod__needs_wakeup() (READ_ONCE).
        self.raw.flags().load(Ordering::Relaxed) & crate::sys::xdp::XDP_RING_NEED_WAKEUP != 0
    }

    /// Times the kernel's `consumer` index was found outside the sane range.
    pub(crate) fn corrupt_indices(&self) -> u64 {
        self.corrupt
    }
}

/// The user-space consumer side of a ring (RX, completion).
#[derive(Debug)]
pub(crate) struct Consumer<T> {
    raw: Raw<T>,
    /// Last `producer` seen.
    cached_prod: u32,
    /// Next index to hand out (peeked, maybe not yet released).
    cached_cons: u32,
    /// Value last stored to `consumer`.
    released: u32,
    /// Times the kernel's `producer` index was found outside the sane range.
    corrupt: u64,
}

/// Entries of a [`Consumer`] that the kernel will not rewrite until
/// [`Consumer::release`] hands them back.
#[derive(Debug)]
#[must_use = "peeked entries must be released or the ring stalls"]
pub(crate) struct Peeked {
    start: u32,
    len: u32,
    ring: usize,
}

impl Peeked {
    /// Number of entries.
    pub(crate) fn len(&self) -> u32 {
        self.len
    }
}

impl<T: Copy> Consumer<T> {
    /// A consumer over `mmap` laid out as `layout`, `size` descriptors.
    pub(crate) fn new(mmap: Mmap, layout: Layout, size: u32) -> Result<Self> {
        let (base, len) = (mmap.as_ptr(), mmap.len());
        Ok(Self::from_raw(Raw::new(base, len, layout, size, Backing::Mmap(mmap))?))
    }

    fn from_raw(raw: Raw<T>) -> Self {
        let cons = raw.consumer().load(Ordering::Relaxed);
        let prod = raw.producer().load(Ordering::Acquire);
        Self { raw, cached_prod: prod, cached_cons: cons, released: cons, corrupt: 0 }
    }

    /// Number of descriptors.
    pub(crate) fn size(&self) -> u32 {
        self.raw.size
    }

    /// Entries ready, reading the kernel's `producer` only if fewer than
    /// `want` are known to be ready.
    pub(crate) fn available(&mut self, want: u32) -> u32 {
        let avail = self.cached_prod.wrapping_sub(self.cached_cons);
        if avail >= want {
            return avail;
        }
        // (C): Acquire pairs with the kernel's smp_store_release of
        // `producer` in __xskq_prod_submit() (B): descriptors and frame bytes
        // written before it are visible after this load.
        let prod = self.raw.producer().load(Ordering::Acquire);
        // A sane producer is at most a ring ahead of what we released and
        // never behind what we took. Anything else is corrupt: read nothing
        // on its word.
        let ahead = prod.wrapping_sub(self.released);
        if ahead > self.raw.size || ahead < self.cached_cons.wrapping_sub(self.released) {
            self.corrupt += 1;
            return self.cached_prod.wrapping_sub(self.cached_cons);
        }
        self.cached_prod = prod;
        prod.wrapping_sub(self.cached_cons)
    }

    /// Take up to `n` ready entries (possibly none).
    pub(crate) fn peek(&mut self, n: u32) -> Peeked {
        let len = self.available(n).min(n);
        let start = self.cached_cons;
        self.cached_cons = start.wrapping_add(len);
        Peeked { start, len, ring: self.raw.id() }
    }

    /// Read entry `i` of `p`.
    ///
    /// # Panics
    /// If `i >= p.len()` or `p` belongs to another ring.
    #[inline]
    pub(crate) fn read(&self, p: &Peeked, i: u32) -> T {
        assert_eq!(p.ring, self.raw.id(), "peeked range used with another ring");
        assert!(i < p.len, "entry {i} outside a peeked range of {}", p.len);
        // SAFETY: the slot lies in the ring (masked). It is between the last
        // released `consumer` and the `producer` we loaded with Acquire (C):
        // the kernel wrote it before its Release (B) and will not write it
        // again until our Release of `consumer` (D) covers it.
        unsafe { self.raw.slot(p.start.wrapping_add(i)).read() }
    }

    /// Hand the entries back to the kernel.
    ///
    /// # Panics
    /// If `p` belongs to another ring or is released out of order.
    pub(crate) fn release(&mut self, p: Peeked) {
        assert_eq!(p.ring, self.raw.id(), "peeked range used with another ring");
        assert_eq!(p.start, self.released, "peeked ranges are released in order");
        if p.len == 0 {
            return;
        }
        self.released = p.start.wrapping_add(p.len);
        // (D): Release orders our reads of the slots before the kernel may
        // reuse them; pairs with its READ_ONCE of `consumer` (A) in xskq_prod_nb_free().
        self.raw.consumer().store(self.released, Ordering::Release);
    }

    /// Times the kernel's `producer` index was found outside the sane range.
    pub(crate) fn corrupt_indices(&self) -> u64 {
        self.corrupt
    }
}

#[cfg(test)]
pub(crate) mod sim;

#[cfg(test)]
mod tests;
