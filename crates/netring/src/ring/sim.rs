//! A simulated kernel for ring tests: rings on heap memory, and the kernel's
//! half of the protocol, run from another thread.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Backing, Consumer, HeapRing, LAYOUT, Producer, Raw};

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
