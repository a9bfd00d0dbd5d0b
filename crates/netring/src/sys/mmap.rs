//! RAII for `mmap(2)` regions shared with the kernel.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;

use crate::error::{Error, Result};

/// A shared mapping, unmapped on drop.
///
/// `Mmap` hands out only a raw base pointer: whether a byte range may be read
/// as a slice depends on the ring protocol above (who owns the range now), so
/// forming references is left to the ring code, which documents the hand-off.
#[derive(Debug)]
pub struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; moving the owner
// to another thread moves nothing the kernel cares about.
unsafe impl Send for Mmap {}

impl Mmap {
    /// Map `len` bytes of `fd` at `offset`, shared, readable and writable.
    /// `populate` pre-faults the pages (`MAP_POPULATE`).
    pub fn shared(fd: BorrowedFd<'_>, len: usize, offset: i64, populate: bool, call: &'static str) -> Result<Self> {
        let flags = libc::MAP_SHARED | if populate { libc::MAP_POPULATE } else { 0 };
        // SAFETY: a fresh mapping at an address the kernel picks; it overlaps
        // nothing Rust owns. The result is checked for MAP_FAILED below.
        let ptr = unsafe {
            libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, flags, fd.as_raw_fd(), offset)
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::last_os(call));
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| Error::last_os(call))?;
        Ok(Self { ptr, len })
    }

    /// A private anonymous mapping of `len` bytes, readable and writable,
    /// zero-filled and page-aligned; with `huge`, backed by huge pages
    /// (`MAP_HUGETLB`, from the pool in `/proc/sys/vm/nr_hugepages`).
    pub fn anonymous(len: usize, huge: bool, call: &'static str) -> Result<Self> {
        let flags =
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE | if huge { libc::MAP_HUGETLB } else { 0 };
        // SAFETY: a fresh anonymous mapping at an address the kernel picks; it
        // overlaps nothing Rust owns. The result is checked for MAP_FAILED below.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, flags, -1, 0) };
        if ptr == libc::MAP_FAILED {
            return Err(Error::last_os(call));
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| Error::last_os(call))?;
        Ok(Self { ptr, len })
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
        // SAFETY: `ptr`/`len` describe a mapping this value created and still
        // owns; every borrow of it (batches, slots) borrows this value, so none
        // is alive when it drops.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}
