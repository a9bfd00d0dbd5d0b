//! [`Mmap`]: the one backing type for memory shared with the kernel —
//! a real `mmap(2)` region, or zeroed heap memory standing in for one in
//! tests, benchmarks and the simulated kernel.

use std::alloc::Layout;
use std::os::fd::BorrowedFd;
use std::ptr::NonNull;

use super::call::{Syscall, syscall};
use crate::error::{Error, Result};

/// A mapping shared with the kernel (or heap memory playing one), released
/// on drop.
///
/// `Mmap` hands out only a raw base pointer: whether a byte range may be read
/// as a slice depends on the ring protocol above (who owns the range now), so
/// forming references is left to the ring code, which documents the hand-off.
#[derive(Debug)]
pub struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
    backing: Backing,
}

#[derive(Debug, Clone, Copy)]
enum Backing {
    /// `mmap(2)`: released with `munmap`.
    Kernel,
    /// `std::alloc`: released with `dealloc` and this layout.
    Heap(Layout),
}

// SAFETY: the memory is owned by this value and reached only through the
// raw pointer it hands out; moving the owner to another thread moves nothing
// the kernel cares about.
unsafe impl Send for Mmap {}
// SAFETY: `&Mmap` gives out only the base pointer and the length; every
// access through the pointer is synchronized by the ring protocol above.
unsafe impl Sync for Mmap {}

impl Mmap {
    /// Map `len` bytes of `fd` at `offset`, shared, readable and writable.
    /// `populate` pre-faults the pages (`MAP_POPULATE`).
    pub fn shared(fd: BorrowedFd<'_>, len: usize, offset: i64, populate: bool, call: &'static str) -> Result<Self> {
        let flags = libc::MAP_SHARED | if populate { libc::MAP_POPULATE } else { 0 };
        Self::map(Some(fd), len, flags, offset, call)
    }

    /// A private anonymous mapping of `len` bytes, readable and writable,
    /// zero-filled and page-aligned; with `huge`, backed by huge pages
    /// (`MAP_HUGETLB`, from the pool in `/proc/sys/vm/nr_hugepages`).
    pub fn anonymous(len: usize, huge: bool, call: &'static str) -> Result<Self> {
        let flags =
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE | if huge { libc::MAP_HUGETLB } else { 0 };
        Self::map(None, len, flags, 0, call)
    }

    fn map(fd: Option<BorrowedFd<'_>>, len: usize, flags: i32, offset: i64, call: &'static str) -> Result<Self> {
        // SAFETY: no pointer is passed; the result is a fresh mapping this
        // value takes ownership of.
        let addr = unsafe { syscall(Syscall::Mmap { fd, len, flags, offset }) }.map_err(|e| Error::from_io(call, e))?;
        #[cfg(test)]
        if addr == super::call::fake::HEAP {
            return Ok(Self::heap(len));
        }
        let ptr = NonNull::new(addr as usize as *mut u8)
            .ok_or_else(|| Error::from_io(call, std::io::Error::from_raw_os_error(libc::EINVAL)))?;
        Ok(Self { ptr, len, backing: Backing::Kernel })
    }

    /// `len` bytes of zeroed, page-aligned heap memory standing in for a
    /// mapping (tests, benchmarks, the simulated kernel).
    ///
    /// # Panics
    /// If `len` is zero or the allocation fails.
    #[cfg_attr(
        not(any(test, feature = "_bench")),
        expect(dead_code, reason = "heap mappings exist in tests and benchmarks")
    )]
    pub fn heap(len: usize) -> Self {
        let layout = Layout::from_size_align(len, 4096).expect("heap mapping: valid layout");
        assert!(len > 0, "heap mapping: zero length");
        // SAFETY: `layout` has a non-zero size.
        let raw = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        Self { ptr, len, backing: Backing::Heap(layout) }
    }

    /// Base address of the mapping.
    pub fn as_ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        match self.backing {
            // SAFETY: `ptr`/`len` describe a mapping this value created and
            // still owns; every borrow of it (batches, slots) borrows this
            // value, so none is alive when it drops.
            Backing::Kernel => unsafe {
                libc::munmap(self.ptr.as_ptr().cast(), self.len);
            },
            // SAFETY: allocated in `heap` with this layout and not freed
            // since; no borrow of it outlives this value (as above).
            Backing::Heap(layout) => unsafe { std::alloc::dealloc(self.ptr.as_ptr(), layout) },
        }
    }
}
