//! The `bpf(2)` system call: the few commands netring uses, each with its
//! part of `union bpf_attr` as a `#[repr(C)]` struct in the kernel's layout
//! (`include/uapi/linux/bpf.h`). The kernel accepts an attribute shorter
//! than its own `union bpf_attr` and treats the rest as zero.

#![allow(dead_code, reason = "the kernel's table in part; callers use what they need")]

use std::mem::{offset_of, size_of};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

// ---- commands (enum bpf_cmd) ----
/// `BPF_MAP_CREATE`
pub const BPF_MAP_CREATE: u32 = 0;
/// `BPF_MAP_LOOKUP_ELEM`
pub const BPF_MAP_LOOKUP_ELEM: u32 = 1;
/// `BPF_MAP_UPDATE_ELEM`
pub const BPF_MAP_UPDATE_ELEM: u32 = 2;
/// `BPF_MAP_DELETE_ELEM`
pub const BPF_MAP_DELETE_ELEM: u32 = 3;
/// `BPF_PROG_LOAD`
pub const BPF_PROG_LOAD: u32 = 5;
/// `BPF_OBJ_GET_INFO_BY_FD`
pub const BPF_OBJ_GET_INFO_BY_FD: u32 = 15;
/// `BPF_LINK_CREATE`
pub const BPF_LINK_CREATE: u32 = 28;

// ---- map types (enum bpf_map_type) ----
/// `BPF_MAP_TYPE_ARRAY`
pub const BPF_MAP_TYPE_ARRAY: u32 = 2;
/// `BPF_MAP_TYPE_XSKMAP`
pub const BPF_MAP_TYPE_XSKMAP: u32 = 17;

// ---- program types (enum bpf_prog_type) ----
/// `BPF_PROG_TYPE_SOCKET_FILTER`
pub const BPF_PROG_TYPE_SOCKET_FILTER: u32 = 1;
/// `BPF_PROG_TYPE_SCHED_CLS`
pub const BPF_PROG_TYPE_SCHED_CLS: u32 = 3;
/// `BPF_PROG_TYPE_XDP`
pub const BPF_PROG_TYPE_XDP: u32 = 6;

// ---- attach types (enum bpf_attach_type) ----
/// `BPF_XDP`
pub const BPF_XDP: u32 = 37;
/// `BPF_TCX_INGRESS` (Linux 6.6)
pub const BPF_TCX_INGRESS: u32 = 46;
/// `BPF_TCX_EGRESS` (Linux 6.6)
pub const BPF_TCX_EGRESS: u32 = 47;

/// `BPF_F_XDP_HAS_FRAGS` (prog_flags, Linux 5.18): the program handles
/// multi-buffer frames.
pub const BPF_F_XDP_HAS_FRAGS: u32 = 1 << 5;
/// `BPF_F_XDP_DEV_BOUND_ONLY` (prog_flags, Linux 6.3): the program is bound
/// to the device `prog_ifindex` names, so that its XDP metadata kfunc calls
/// resolve to that driver's implementations.
pub const BPF_F_XDP_DEV_BOUND_ONLY: u32 = 1 << 6;

// ---- XDP attach flags (include/uapi/linux/if_link.h) ----
/// `XDP_FLAGS_UPDATE_IF_NOEXIST`
pub const XDP_FLAGS_UPDATE_IF_NOEXIST: u32 = 1 << 0;
/// `XDP_FLAGS_SKB_MODE`: generic XDP, in the stack after the skb exists.
pub const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
/// `XDP_FLAGS_DRV_MODE`: native XDP, in the driver.
pub const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;

/// `BPF_ANY` (map update flag)
pub const BPF_ANY: u64 = 0;

/// `BPF_MAP_CREATE` part of `union bpf_attr`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct MapCreateAttr {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub inner_map_fd: u32,
    pub numa_node: u32,
    pub map_name: [u8; 16],
}

/// `BPF_MAP_*_ELEM` part of `union bpf_attr`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct MapElemAttr {
    pub map_fd: u32,
    pub _pad: u32,
    pub key: u64,
    pub value: u64,
    pub flags: u64,
}

/// `BPF_PROG_LOAD` part of `union bpf_attr` (up to `expected_attach_type`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ProgLoadAttr {
    pub prog_type: u32,
    pub insn_cnt: u32,
    pub insns: u64,
    pub license: u64,
    pub log_level: u32,
    pub log_size: u32,
    pub log_buf: u64,
    pub kern_version: u32,
    pub prog_flags: u32,
    pub prog_name: [u8; 16],
    pub prog_ifindex: u32,
    pub expected_attach_type: u32,
}

/// `BPF_LINK_CREATE` part of `union bpf_attr`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct LinkCreateAttr {
    pub prog_fd: u32,
    pub target_ifindex: u32,
    pub attach_type: u32,
    pub flags: u32,
}

/// `BPF_OBJ_GET_INFO_BY_FD` part of `union bpf_attr`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ObjInfoAttr {
    pub bpf_fd: u32,
    pub info_len: u32,
    pub info: u64,
}

const _: () = {
    assert!(size_of::<MapCreateAttr>() == 44);
    assert!(offset_of!(MapCreateAttr, map_name) == 28);
    assert!(size_of::<MapElemAttr>() == 32);
    assert!(offset_of!(MapElemAttr, key) == 8);
    assert!(offset_of!(ProgLoadAttr, log_buf) == 32);
    assert!(offset_of!(ProgLoadAttr, prog_name) == 48);
    assert!(offset_of!(ProgLoadAttr, expected_attach_type) == 68);
    assert!(size_of::<ProgLoadAttr>() == 72);
    assert!(size_of::<LinkCreateAttr>() == 16);
    assert!(size_of::<ObjInfoAttr>() == 16);
};

/// Marker for the attribute structs above.
///
/// # Safety
/// Implementors are `#[repr(C)]` parts of `union bpf_attr` without implicit
/// padding (every byte initialized, so the attribute may be passed as a byte
/// slice); explicit padding fields are zero.
pub unsafe trait BpfAttr: Copy {}
// SAFETY: repr(C), integer fields, no implicit padding (asserted above).
unsafe impl BpfAttr for MapCreateAttr {}
// SAFETY: as above (`_pad` is explicit and zero).
unsafe impl BpfAttr for MapElemAttr {}
// SAFETY: as above.
unsafe impl BpfAttr for ProgLoadAttr {}
// SAFETY: as above.
unsafe impl BpfAttr for LinkCreateAttr {}
// SAFETY: as above.
unsafe impl BpfAttr for ObjInfoAttr {}

/// `bpf(cmd, attr, sizeof attr)`, retried on `EINTR` (the verifier can be
/// interrupted by a signal and then returns `EINTR` or `EAGAIN`).
///
/// # Safety
/// Every pointer in `attr` (as a `u64`) must point to memory valid for the
/// access the command makes (read or write, of the size given beside it) for
/// the duration of the call.
pub unsafe fn bpf<A: BpfAttr>(cmd: u32, attr: &mut A) -> std::io::Result<i64> {
    // SAFETY: `A: BpfAttr` is a flat `repr(C)` attribute without padding,
    // so its bytes may be viewed and written as a slice while `attr` is
    // borrowed.
    let bytes = unsafe { std::slice::from_raw_parts_mut(std::ptr::from_mut(attr).cast::<u8>(), size_of::<A>()) };
    // SAFETY: the pointers inside `attr` are the caller's promise.
    unsafe { super::syscall(super::Syscall::Bpf { cmd, attr: bytes }) }
}

/// Run a command that returns a new descriptor.
///
/// # Safety
/// As [`bpf`].
unsafe fn bpf_fd<A: BpfAttr>(cmd: u32, attr: &mut A) -> std::io::Result<OwnedFd> {
    // SAFETY: forwarded.
    let fd = unsafe { bpf(cmd, attr) }?;
    // SAFETY: these commands return a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// A NUL-padded object name: at most 15 bytes of `[A-Za-z0-9_.]`.
pub fn object_name(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (o, b) in
        out.iter_mut().zip(name.bytes().filter(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.').take(15))
    {
        *o = b;
    }
    out
}

/// `BPF_MAP_CREATE`.
pub fn map_create(attr: &MapCreateAttr) -> std::io::Result<OwnedFd> {
    let mut a = *attr;
    // SAFETY: the attribute holds no pointers.
    unsafe { bpf_fd(BPF_MAP_CREATE, &mut a) }
}

/// `BPF_MAP_UPDATE_ELEM` with a key and value of the map's sizes.
pub fn map_update(map: BorrowedFd<'_>, key: &[u8], value: &[u8], flags: u64) -> std::io::Result<()> {
    let mut a = MapElemAttr {
        map_fd: map.as_raw_fd() as u32,
        _pad: 0,
        key: key.as_ptr() as u64,
        value: value.as_ptr() as u64,
        flags,
    };
    // SAFETY: key and value point at live slices for the call; the kernel reads
    // the map's key_size / value_size bytes, which callers pass exactly.
    unsafe { bpf(BPF_MAP_UPDATE_ELEM, &mut a) }.map(drop)
}

/// `BPF_MAP_LOOKUP_ELEM` into `value` (the map's value size).
pub fn map_lookup(map: BorrowedFd<'_>, key: &[u8], value: &mut [u8]) -> std::io::Result<()> {
    let mut a = MapElemAttr {
        map_fd: map.as_raw_fd() as u32,
        _pad: 0,
        key: key.as_ptr() as u64,
        value: value.as_mut_ptr() as u64,
        flags: 0,
    };
    // SAFETY: `key` is readable and `value` writable for the map's sizes,
    // which callers pass exactly.
    unsafe { bpf(BPF_MAP_LOOKUP_ELEM, &mut a) }.map(drop)
}

/// `BPF_MAP_DELETE_ELEM`.
pub fn map_delete(map: BorrowedFd<'_>, key: &[u8]) -> std::io::Result<()> {
    let mut a = MapElemAttr { map_fd: map.as_raw_fd() as u32, _pad: 0, key: key.as_ptr() as u64, value: 0, flags: 0 };
    // SAFETY: `key` is readable for the map's key size for the call.
    unsafe { bpf(BPF_MAP_DELETE_ELEM, &mut a) }.map(drop)
}

/// What [`prog_load`] needs besides the instructions.
#[derive(Debug, Clone, Copy)]
pub struct ProgLoad<'a> {
    pub prog_type: u32,
    pub expected_attach_type: u32,
    pub prog_flags: u32,
    pub license: &'a std::ffi::CStr,
    pub name: [u8; 16],
    /// The device a device-bound program is bound to (0: none).
    pub prog_ifindex: u32,
}

/// `BPF_PROG_LOAD` of encoded instructions. On failure, loads again with
/// the verifier log on (level 1) and returns the error with the log text.
pub fn prog_load(p: &ProgLoad<'_>, insns: &[u64]) -> Result<OwnedFd, (std::io::Error, String)> {
    let attr = |log: &mut [u8]| ProgLoadAttr {
        prog_type: p.prog_type,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: p.license.as_ptr() as u64,
        log_level: u32::from(!log.is_empty()),
        log_size: log.len() as u32,
        log_buf: if log.is_empty() { 0 } else { log.as_mut_ptr() as u64 },
        prog_name: p.name,
        prog_flags: p.prog_flags,
        expected_attach_type: p.expected_attach_type,
        prog_ifindex: p.prog_ifindex,
        ..Default::default()
    };
    let mut a = attr(&mut []);
    // SAFETY: `insns` and `license` outlive the call; no log buffer.
    let first = match unsafe { bpf_fd(BPF_PROG_LOAD, &mut a) } {
        Ok(fd) => return Ok(fd),
        Err(e) => e,
    };
    // EPERM: no privilege, nothing to explain. (The verifier's own refusals
    // come back as EACCES or EINVAL, with a log.)
    if first.raw_os_error() == Some(libc::EPERM) {
        return Err((first, String::new()));
    }
    let mut size = 64 * 1024;
    loop {
        let mut log = vec![0u8; size];
        let mut a = attr(&mut log);
        // SAFETY: `insns`, `license` and `log` (writable, `log_size` bytes)
        // outlive the call.
        match unsafe { bpf_fd(BPF_PROG_LOAD, &mut a) } {
            // Loads with the log on though it failed without: report the first error.
            Ok(_) => return Err((first, String::new())),
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) && size < 16 << 20 => size *= 4,
            Err(_) => {
                let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                return Err((first, String::from_utf8_lossy(&log[..end]).trim_end().to_owned()));
            }
        }
    }
}

/// `BPF_LINK_CREATE`: attach `prog` to interface `ifindex`.
pub fn link_create(prog: BorrowedFd<'_>, ifindex: u32, attach_type: u32, flags: u32) -> std::io::Result<OwnedFd> {
    let mut a = LinkCreateAttr { prog_fd: prog.as_raw_fd() as u32, target_ifindex: ifindex, attach_type, flags };
    // SAFETY: the attribute holds no pointers.
    unsafe { bpf_fd(BPF_LINK_CREATE, &mut a) }
}

/// Why `BPF_LINK_CREATE` of an XDP program failed, sorted by errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkErrno {
    /// `EBUSY` / `EEXIST`: a program is attached already.
    Busy,
    /// `EPERM` / `EACCES`: missing `CAP_BPF` / `CAP_NET_ADMIN`.
    Denied,
    /// `ENOSPC`: native XDP on veth with fewer RX queues than the peer's TX queues.
    NoSpace,
    /// `ERANGE`: the MTU is too large for native XDP without multi-buffer.
    Range,
    /// `EOPNOTSUPP`: the driver has no native XDP.
    NotSupported,
    /// `EINVAL`: the kernel may predate XDP BPF links (Linux 5.9).
    Invalid,
    /// Anything else.
    Other,
}

impl LinkErrno {
    /// Sort `e` (from [`link_create`]).
    pub fn of(e: &std::io::Error) -> Self {
        match e.raw_os_error() {
            Some(libc::EBUSY | libc::EEXIST) => Self::Busy,
            Some(libc::EPERM | libc::EACCES) => Self::Denied,
            Some(libc::ENOSPC) => Self::NoSpace,
            Some(libc::ERANGE) => Self::Range,
            Some(libc::EOPNOTSUPP) => Self::NotSupported,
            Some(libc::EINVAL) => Self::Invalid,
            _ => Self::Other,
        }
    }
}

/// Whether a `BPF_PROG_LOAD` failure is a missing privilege (`EPERM`)
/// rather than the verifier refusing the program (`EACCES`, `EINVAL`, with
/// a log).
pub fn load_denied(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::EPERM)
}

/// [`map_delete`], where a key with no entry (`ENOENT`) is not an error.
pub fn map_delete_if_present(map: BorrowedFd<'_>, key: &[u8]) -> std::io::Result<()> {
    match map_delete(map, key) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        other => other,
    }
}

/// The kernel's id of a program, map or link (`BPF_OBJ_GET_INFO_BY_FD`;
/// the id is the second `u32` of `bpf_prog_info`, `bpf_map_info` and
/// `bpf_link_info` alike).
pub fn object_id(fd: BorrowedFd<'_>) -> std::io::Result<u32> {
    let mut info = [0u32; 4];
    let mut a = ObjInfoAttr {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: size_of::<[u32; 4]>() as u32,
        info: info.as_mut_ptr() as u64,
    };
    // SAFETY: `info` is writable for `info_len` bytes for the call; the kernel
    // writes at most that.
    unsafe { bpf(BPF_OBJ_GET_INFO_BY_FD, &mut a) }?;
    Ok(info[1])
}

/// The program's instructions as the kernel rewrote them after
/// verification (`BPF_OBJ_GET_INFO_BY_FD`, `xlated_prog_insns`). Call
/// immediates read as 0 unless the caller may see kernel addresses
/// (`CAP_SYS_ADMIN`/`CAP_PERFMON` with `kptr_restrict` permitting).
pub fn prog_xlated(fd: BorrowedFd<'_>) -> std::io::Result<Vec<u64>> {
    // struct bpf_prog_info up to xlated_prog_insns: xlated_prog_len at
    // byte 20, xlated_prog_insns at byte 32.
    let mut info = [0u64; 5];
    let mut a = ObjInfoAttr { bpf_fd: fd.as_raw_fd() as u32, info_len: 40, info: info.as_mut_ptr() as u64 };
    // SAFETY: `info` is writable for `info_len` (40) bytes for the call.
    unsafe { bpf(BPF_OBJ_GET_INFO_BY_FD, &mut a) }?;
    // The u32 at byte 20 lies in the third u64, in native byte order.
    let bytes = info[2].to_ne_bytes();
    let len = u32::from_ne_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    let mut insns = vec![0u64; len / 8];
    let mut info = [0u64; 5];
    let mut third = [0u8; 8];
    third[4..].copy_from_slice(&((insns.len() * 8) as u32).to_ne_bytes());
    info[2] = u64::from_ne_bytes(third);
    info[4] = insns.as_mut_ptr() as u64;
    let mut a = ObjInfoAttr { bpf_fd: fd.as_raw_fd() as u32, info_len: 40, info: info.as_mut_ptr() as u64 };
    // SAFETY: `info` is writable for 40 bytes, and the instruction buffer it
    // names for `len` bytes (`insns` holds `len / 8` u64s), for the call.
    unsafe { bpf(BPF_OBJ_GET_INFO_BY_FD, &mut a) }?;
    Ok(insns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_and_cut() {
        assert_eq!(&object_name("netring_xsk")[..12], b"netring_xsk\0");
        assert_eq!(object_name("a-b c")[..3], *b"abc");
        assert_eq!(object_name(&"x".repeat(40))[15], 0);
    }
}
