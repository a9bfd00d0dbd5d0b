//! A `BPF_MAP_TYPE_ARRAY` of `u64` counters, read from user space.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use crate::error::{Error, Result};
use crate::sys::bpf as sys;

/// An array map of `entries` `u64` values (`BPF_MAP_TYPE_ARRAY`, key = `u32`
/// index), every value 0 at creation: counters a program adds to
/// (see [`programs::xdp_count_drop`](super::programs::xdp_count_drop)).
///
/// Needs `CAP_BPF`. Linux 3.19.
#[derive(Debug)]
pub struct ArrayMap {
    fd: OwnedFd,
    entries: u32,
}

impl ArrayMap {
    /// A map named `name` with `entries` zeroed values.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for zero entries; [`Error::PermissionDenied`]
    /// without `CAP_BPF`.
    pub fn new(name: &str, entries: u32) -> Result<Self> {
        if entries == 0 {
            return Err(Error::config("array map entries", 0, "must be at least 1"));
        }
        let attr = sys::MapCreateAttr {
            map_type: sys::BPF_MAP_TYPE_ARRAY,
            key_size: 4,
            value_size: 8,
            max_entries: entries,
            map_name: sys::object_name(name),
            ..Default::default()
        };
        let fd = sys::map_create(&attr).map_err(|e| Error::from_io("bpf(BPF_MAP_CREATE ARRAY)", e))?;
        Ok(Self { fd, entries })
    }

    /// Value `index`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an index outside the map.
    pub fn get(&self, index: u32) -> Result<u64> {
        if index >= self.entries {
            return Err(Error::config("index", index, format!("must be below the map's {} entries", self.entries)));
        }
        let mut v = [0u8; 8];
        sys::map_lookup(self.fd.as_fd(), &index.to_ne_bytes(), &mut v)
            .map_err(|e| Error::from_io("bpf(BPF_MAP_LOOKUP_ELEM ARRAY)", e))?;
        Ok(u64::from_ne_bytes(v))
    }

    pub(crate) fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }
}

impl AsFd for ArrayMap {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
