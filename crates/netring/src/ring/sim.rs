//! A simulated kernel for ring tests: rings on heap memory, and the kernel's
//! half of the protocol, run from another thread.

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use super::{Backing, Consumer, Layout, Producer, Raw};

/// Where the heap rings put their parts (one cache line each, as the kernel does).
pub(crate) const LAYOUT: Layout = Layout { producer: 0, consumer: 64, flags: 128, desc: 192 };

/// Heap memory owned through a raw pointer, so that pointers derived from it
/// stay valid for every holder (a `Box` would be re-asserted unique on move).
#[derive(Debug)]
pub(crate) struct HeapRing {
    mem: *mut [u64],
}

// SAFETY: plain memory; every access goes through atomics or through the
// ring protocol, which gives each slot one writer at a time.
unsafe impl Send for HeapRing {}
// SAFETY: as above.
unsafe impl Sync for HeapRing {}

impl Drop for HeapRing {
    fn drop(&mut self) {
        // SAFETY: from `Box::into_raw`, freed once, here, after every holder is gone.
        drop(unsafe { Box::from_raw(self.mem) });
    }
}

impl HeapRing {
    fn new<T>(size: u32, start: u32) -> Arc<Self> {
        let bytes = LAYOUT.map_len::<T>(size);
        let mem = Box::into_raw(vec![0u64; bytes.div_ceil(8)].into_boxed_slice());
        let ring = Arc::new(Self { mem });
        ring.word(LAYOUT.producer).store(start, Ordering::Relaxed);
        ring.word(LAYOUT.consumer).store(start, Ordering::Relaxed);
        ring
    }

    fn base(&self) -> NonNull<u8> {
        NonNull::new(self.mem.cast::<u8>()).expect("non-null")
    }

    fn len(&self) -> usize {
        self.mem.len() * 8
    }

    fn word(&self, off: u64) -> &AtomicU32 {
        // SAFETY: LAYOUT's words lie inside the allocation, 4-aligned (it is
        // 8-aligned); the reference lives no longer than `self`.
        unsafe { AtomicU32::from_ptr(self.base().as_ptr().add(off as usize).cast()) }
    }
}

fn raw<T: Copy>(size: u32, start: u32) -> (Raw<T>, Arc<HeapRing>) {
    let mem = HeapRing::new::<T>(size, start);
    let raw = Raw::new(mem.base(), mem.len(), LAYOUT, size, Backing::Heap(Arc::clone(&mem))).expect("valid layout");
    (raw, mem)
}

/// A user-space producer ring and the kernel consuming from it; both
/// indices start at `start`.
pub(crate) fn producer<T: Copy>(size: u32, start: u32) -> (Producer<T>, SimKernel<T>) {
    let (raw, mem) = raw(size, start);
    (Producer::from_raw(raw).expect("valid"), SimKernel { mem, size, _t: PhantomData })
}

/// A user-space consumer ring and the kernel producing into it.
pub(crate) fn consumer<T: Copy>(size: u32, start: u32) -> (Consumer<T>, SimKernel<T>) {
    let (raw, mem) = raw(size, start);
    (Consumer::from_raw(raw), SimKernel { mem, size, _t: PhantomData })
}

/// The kernel's half of one heap ring.
#[derive(Debug)]
pub(crate) struct SimKernel<T> {
    mem: Arc<HeapRing>,
    size: u32,
    _t: PhantomData<T>,
}

// SAFETY: the kernel side touches only slots the protocol gives it.
unsafe impl<T: Send> Send for SimKernel<T> {}

impl<T: Copy> SimKernel<T> {
    fn slot(&self, idx: u32) -> *mut T {
        // SAFETY: masked index inside the descriptor array of the allocation.
        unsafe { self.mem.base().as_ptr().add(LAYOUT.desc as usize).cast::<T>().add((idx & (self.size - 1)) as usize) }
    }

    /// As the kernel consuming a fill or TX ring (`xskq_cons_peek` +
    /// `xskq_cons_release`): take up to `n` entries.
    pub(crate) fn consume(&self, n: u32) -> Vec<T> {
        let prod = self.mem.word(LAYOUT.producer).load(Ordering::Acquire); // (C)
        let cons = self.mem.word(LAYOUT.consumer).load(Ordering::Relaxed);
        let take = prod.wrapping_sub(cons).min(n);
        // SAFETY: slots between consumer and the acquired producer were written
        // by user space before its Release; it will not touch them until we
        // release them below.
        let out = (0..take).map(|i| unsafe { self.slot(cons.wrapping_add(i)).read() }).collect();
        self.mem.word(LAYOUT.consumer).store(cons.wrapping_add(take), Ordering::Release); // (D)
        out
    }

    /// As the kernel producing into an RX or completion ring
    /// (`xskq_prod_reserve` + `xskq_prod_submit`): returns how many fit.
    pub(crate) fn produce(&self, values: &[T]) -> usize {
        let cons = self.mem.word(LAYOUT.consumer).load(Ordering::Acquire); // (A)
        let prod = self.mem.word(LAYOUT.producer).load(Ordering::Relaxed);
        let free = self.size - prod.wrapping_sub(cons);
        let n = values.len().min(free as usize);
        for (i, v) in values[..n].iter().enumerate() {
            // SAFETY: free slots: user space released them (D) and reads none
            // until our Release below.
            unsafe { self.slot(prod.wrapping_add(i as u32)).write(*v) };
        }
        self.mem.word(LAYOUT.producer).store(prod.wrapping_add(n as u32), Ordering::Release); // (B)
        n
    }

    /// Set the ring's flags word.
    pub(crate) fn set_flags(&self, flags: u32) {
        self.mem.word(LAYOUT.flags).store(flags, Ordering::Relaxed);
    }

    /// Overwrite the producer index (corruption tests).
    pub(crate) fn set_producer(&self, v: u32) {
        self.mem.word(LAYOUT.producer).store(v, Ordering::Release);
    }

    /// Overwrite the consumer index (corruption tests).
    pub(crate) fn set_consumer(&self, v: u32) {
        self.mem.word(LAYOUT.consumer).store(v, Ordering::Release);
    }

    /// The producer index.
    pub(crate) fn producer_index(&self) -> u32 {
        self.mem.word(LAYOUT.producer).load(Ordering::Acquire)
    }
}
