//! AF_XDP structures, constants and system calls, in the kernel's spelling.
//!
//! Source of truth: `include/uapi/linux/if_xdp.h` and
//! `Documentation/networking/af_xdp.rst`. Layouts are asserted below and
//! against the `libc` crate's definitions in the tests.

#![allow(dead_code, reason = "the kernel's table in full; later layers use more of it")]

use std::mem::{offset_of, size_of};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::Pod;
use crate::error::{Error, Result};

/// `AF_XDP` (address family 44).
pub const AF_XDP: i32 = 44;
/// `SOL_XDP` (socket option level 283).
pub const SOL_XDP: i32 = 283;

// ---- bind flags (sxdp_flags) ----
/// `XDP_SHARED_UMEM`
pub const XDP_SHARED_UMEM: u16 = 1 << 0;
/// `XDP_COPY`: force copy mode.
pub const XDP_COPY: u16 = 1 << 1;
/// `XDP_ZEROCOPY`: force zero-copy mode.
pub const XDP_ZEROCOPY: u16 = 1 << 2;
/// `XDP_USE_NEED_WAKEUP`
pub const XDP_USE_NEED_WAKEUP: u16 = 1 << 3;
/// `XDP_USE_SG`: multi-buffer (a frame spread over several UMEM frames, Linux 6.6).
pub const XDP_USE_SG: u16 = 1 << 4;

/// `XDP_PKT_CONTD`: in a descriptor's `options`, more buffers of this frame follow.
pub const XDP_PKT_CONTD: u32 = 1 << 0;

/// `XDP_UMEM_UNALIGNED_CHUNK_FLAG`
pub const XDP_UMEM_UNALIGNED_CHUNK_FLAG: u32 = 1 << 0;
/// `XDP_UMEM_TX_METADATA_LEN` (Linux 6.11; 6.8–6.10 take `tx_metadata_len`
/// without it): the UMEM reserves `tx_metadata_len` bytes before each TX
/// descriptor's address for a `struct xsk_tx_metadata`.
pub const XDP_UMEM_TX_METADATA_LEN: u32 = 1 << 2;
/// `sizeof(struct xsk_tx_metadata)` (Linux 6.15, with the launch time).
pub const XSK_TX_METADATA_LEN: u32 = 24;
/// `XDP_TX_METADATA` (TX descriptor option, Linux 6.8): the frame carries
/// a `struct xsk_tx_metadata` before its address.
pub const XDP_TX_METADATA: u32 = 1 << 1;
/// `XDP_TXMD_FLAGS_TIMESTAMP`: write the transmit time into the metadata on completion.
pub const XDP_TXMD_FLAGS_TIMESTAMP: u64 = 1 << 0;
/// `XDP_TXMD_FLAGS_CHECKSUM`: checksum offload from `csum_start`, stored at `+csum_offset`.
pub const XDP_TXMD_FLAGS_CHECKSUM: u64 = 1 << 1;
/// `XDP_TXMD_FLAGS_LAUNCH_TIME` (Linux 6.15): send at `launch_time`.
pub const XDP_TXMD_FLAGS_LAUNCH_TIME: u64 = 1 << 2;

/// `XDP_RING_NEED_WAKEUP`: bit in a ring's `flags` word.
pub const XDP_RING_NEED_WAKEUP: u32 = 1 << 0;

// ---- socket options (SOL_XDP) ----
/// `XDP_MMAP_OFFSETS`
pub const XDP_MMAP_OFFSETS: i32 = 1;
/// `XDP_RX_RING`
pub const XDP_RX_RING: i32 = 2;
/// `XDP_TX_RING`
pub const XDP_TX_RING: i32 = 3;
/// `XDP_UMEM_REG`
pub const XDP_UMEM_REG: i32 = 4;
/// `XDP_UMEM_FILL_RING`
pub const XDP_UMEM_FILL_RING: i32 = 5;
/// `XDP_UMEM_COMPLETION_RING`
pub const XDP_UMEM_COMPLETION_RING: i32 = 6;
/// `XDP_STATISTICS`
pub const XDP_STATISTICS: i32 = 7;
/// `XDP_OPTIONS`
pub const XDP_OPTIONS: i32 = 8;

/// `XDP_OPTIONS_ZEROCOPY`
pub const XDP_OPTIONS_ZEROCOPY: u32 = 1 << 0;

// ---- mmap page offsets ----
/// `XDP_PGOFF_RX_RING`
pub const XDP_PGOFF_RX_RING: i64 = 0;
/// `XDP_PGOFF_TX_RING`
pub const XDP_PGOFF_TX_RING: i64 = 0x8000_0000;
/// `XDP_UMEM_PGOFF_FILL_RING`
pub const XDP_UMEM_PGOFF_FILL_RING: i64 = 0x1_0000_0000;
/// `XDP_UMEM_PGOFF_COMPLETION_RING`
pub const XDP_UMEM_PGOFF_COMPLETION_RING: i64 = 0x1_8000_0000;

/// `XDP_PACKET_HEADROOM`: what the kernel reserves in front of each frame's data.
pub const XDP_PACKET_HEADROOM: u32 = 256;

/// `struct sockaddr_xdp`
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct sockaddr_xdp {
    pub sxdp_family: u16,
    pub sxdp_flags: u16,
    pub sxdp_ifindex: u32,
    pub sxdp_queue_id: u32,
    pub sxdp_shared_umem_fd: u32,
}

/// `struct xdp_ring_offset`
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct xdp_ring_offset {
    pub producer: u64,
    pub consumer: u64,
    pub desc: u64,
    pub flags: u64,
}

/// `struct xdp_mmap_offsets`
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct xdp_mmap_offsets {
    pub rx: xdp_ring_offset,
    pub tx: xdp_ring_offset,
    /// Fill ring.
    pub fr: xdp_ring_offset,
    /// Completion ring.
    pub cr: xdp_ring_offset,
}

/// `struct xdp_umem_reg`
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct xdp_umem_reg {
    pub addr: u64,
    pub len: u64,
    pub chunk_size: u32,
    pub headroom: u32,
    pub flags: u32,
    /// `tx_metadata_len` (Linux 6.8); zero means none, which every kernel accepts.
    pub tx_metadata_len: u32,
}

/// `struct xdp_statistics` (all six fields since Linux 5.9).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct xdp_statistics {
    pub rx_dropped: u64,
    pub rx_invalid_descs: u64,
    pub tx_invalid_descs: u64,
    pub rx_ring_full: u64,
    pub rx_fill_ring_empty_descs: u64,
    pub tx_ring_empty_descs: u64,
}

/// `struct xdp_options`
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct xdp_options {
    pub flags: u32,
}

/// `struct xdp_desc`: one RX or TX ring entry.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct xdp_desc {
    pub addr: u64,
    pub len: u32,
    pub options: u32,
}

const _: () = {
    assert!(size_of::<sockaddr_xdp>() == 16);
    assert!(offset_of!(sockaddr_xdp, sxdp_ifindex) == 4);
    assert!(offset_of!(sockaddr_xdp, sxdp_shared_umem_fd) == 12);
    assert!(size_of::<xdp_ring_offset>() == 32);
    assert!(size_of::<xdp_mmap_offsets>() == 128);
    assert!(offset_of!(xdp_mmap_offsets, fr) == 64);
    assert!(size_of::<xdp_umem_reg>() == 32);
    assert!(offset_of!(xdp_umem_reg, flags) == 24);
    assert!(size_of::<xdp_statistics>() == 48);
    assert!(offset_of!(xdp_statistics, rx_fill_ring_empty_descs) == 32);
    assert!(size_of::<xdp_desc>() == 16);
    assert!(offset_of!(xdp_desc, options) == 12);
};

// SAFETY: repr(C) structs of integer fields, valid for every bit pattern.
unsafe impl Pod for xdp_mmap_offsets {}
// SAFETY: as above.
unsafe impl Pod for xdp_statistics {}
// SAFETY: as above.
unsafe impl Pod for xdp_options {}
// SAFETY: as above; `sxdp_shared_umem_fd` is a descriptor number, not a
// pointer.
unsafe impl Pod for sockaddr_xdp {}

/// A new `AF_XDP` socket (`socket(AF_XDP, SOCK_RAW, 0)`, `CAP_NET_RAW`).
///
/// # Errors
/// [`Error::PermissionDenied`] naming `CAP_NET_RAW`;
/// [`Error::Unsupported`] naming `AF_XDP` on a kernel without it
/// (`EAFNOSUPPORT`).
pub fn socket() -> Result<OwnedFd> {
    super::socket(AF_XDP, libc::SOCK_RAW, 0, "socket(AF_XDP)").map_err(|e| match e.raw_os_error() {
        Some(libc::EAFNOSUPPORT) => Error::Unsupported {
            feature: "AF_XDP",
            detail: "the kernel was built without CONFIG_XDP_SOCKETS (Linux 4.18+)".into(),
        },
        _ => e,
    })
}

/// Size one of the socket's rings (`XDP_RX_RING`, `XDP_TX_RING`,
/// `XDP_UMEM_FILL_RING`, `XDP_UMEM_COMPLETION_RING`) to `entries`.
///
/// # Errors
/// [`Error::Unsupported`] naming the option when the kernel does not know
/// it (`ENOPROTOOPT`); otherwise the failed `call`.
pub fn set_ring_size(fd: BorrowedFd<'_>, option: i32, entries: u32, call: &'static str) -> Result<()> {
    super::setsockopt(fd, SOL_XDP, option, &entries, call).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOPROTOOPT) => {
            Error::Unsupported { feature: call, detail: "the kernel lacks this AF_XDP ring".into() }
        }
        _ => e,
    })
}

/// Why an `AF_XDP` bind failed, sorted by what it means to the caller.
#[derive(Debug)]
pub enum BindError {
    /// `EBUSY` after the retries: another socket owns the queue.
    Busy,
    /// `ENODEV`: no such interface.
    NoDevice,
    /// `ENOMEM` / `ENOBUFS`: the kernel could not pin or allocate memory.
    NoMemory(std::io::Error),
    /// `EOPNOTSUPP`: the driver lacks what the flags ask for.
    NotSupported(std::io::Error),
    /// `EINVAL`: a queue id out of range, or flags the kernel does not know.
    Invalid(std::io::Error),
    /// Anything else.
    Other(std::io::Error),
}

/// `bind(2)` an `AF_XDP` socket to `ifindex` / `queue_id` with `flags`;
/// with `shared_umem`, over the UMEM of that (bound) socket
/// (`XDP_SHARED_UMEM` is added to `flags`).
///
/// The kernel frees a closed socket's hold on its queue from a work queue
/// (`xp_release_deferred`), so a queue released a moment ago can still
/// report `EBUSY`: that is retried every 5 ms for up to `busy_retry`
/// before it counts as [`BindError::Busy`].
///
/// # Errors
/// A [`BindError`] sorting the errno.
pub fn bind(
    fd: BorrowedFd<'_>,
    ifindex: u32,
    queue_id: u32,
    flags: u16,
    shared_umem: Option<BorrowedFd<'_>>,
    busy_retry: std::time::Duration,
) -> std::result::Result<(), BindError> {
    let addr = sockaddr_xdp {
        sxdp_family: AF_XDP as u16,
        sxdp_flags: if shared_umem.is_some() { flags | XDP_SHARED_UMEM } else { flags },
        sxdp_ifindex: ifindex,
        sxdp_queue_id: queue_id,
        sxdp_shared_umem_fd: shared_umem.map_or(0, |s| s.as_raw_fd() as u32),
    };
    let t0 = std::time::Instant::now();
    loop {
        let e = match super::bind(fd, &addr) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        return Err(match e.raw_os_error() {
            Some(libc::EBUSY) if t0.elapsed() < busy_retry => {
                std::thread::sleep(std::time::Duration::from_millis(5));
                continue;
            }
            Some(libc::EBUSY) => BindError::Busy,
            Some(libc::ENODEV) => BindError::NoDevice,
            Some(libc::ENOMEM | libc::ENOBUFS) => BindError::NoMemory(e),
            Some(libc::EOPNOTSUPP) => BindError::NotSupported(e),
            Some(libc::EINVAL) => BindError::Invalid(e),
            _ => BindError::Other(e),
        });
    }
}

/// Make the kernel send from the TX ring ([`kick_tx`]), sorting the errno:
/// `EAGAIN`, `EBUSY` and `ENOBUFS` only mean "later" and are `Ok`.
///
/// # Errors
/// [`Error::InterfaceDown`] naming `interface` for `ENETDOWN` (the device
/// is down), [`Error::InterfaceGone`] for `ENXIO` (the socket was unbound:
/// the device was unregistered), as `xsk_check_common()` sorts them;
/// otherwise the failed `sendto`.
pub fn send_pending(fd: BorrowedFd<'_>, interface: &str) -> Result<()> {
    match kick_tx(fd) {
        Ok(()) => Ok(()),
        Err(e) => match e.raw_os_error() {
            Some(libc::EAGAIN | libc::EBUSY | libc::ENOBUFS) => Ok(()),
            Some(libc::ENETDOWN) => Err(Error::InterfaceDown { name: interface.to_owned() }),
            Some(libc::ENXIO) => Err(Error::InterfaceGone { name: interface.to_owned() }),
            _ => Err(Error::from_io("sendto(AF_XDP)", e)),
        },
    }
}

/// Kick the kernel's TX path: `sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0)`.
/// `EINTR` is retried; other errors are returned for the caller to judge
/// (`EAGAIN`/`EBUSY`/`ENOBUFS` mean "try again").
pub fn kick_tx(fd: BorrowedFd<'_>) -> std::io::Result<()> {
    super::retry_eintr(|| {
        // SAFETY: a zero-length send with no buffer and no address; the kernel
        // reads nothing from user memory.
        let r = unsafe { libc::sendto(fd.as_raw_fd(), std::ptr::null(), 0, libc::MSG_DONTWAIT, std::ptr::null(), 0) };
        if r < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
    })
}

/// Wake the kernel's RX path: `recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL)`.
pub fn kick_rx(fd: BorrowedFd<'_>) -> std::io::Result<()> {
    super::retry_eintr(|| {
        // SAFETY: a zero-length receive into no buffer; the kernel writes nothing.
        let r = unsafe {
            libc::recvfrom(
                fd.as_raw_fd(),
                std::ptr::null_mut(),
                0,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        if r < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
    })
}

/// The state of an AF_XDP socket's device, as [`link_state`] finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Bound, and the device is up.
    Up,
    /// Bound, and the device is administratively down.
    Down,
    /// Unbound: the device was unregistered (deleted, or moved to another
    /// namespace).
    Gone,
}

/// Look at the socket's device without waiting: a zero-length
/// [`kick_rx`], which `xsk_check_common()` fails with `ENXIO` once the
/// socket is unbound and `ENETDOWN` while the device is down.
///
/// This is the only way to notice either: `xsk_poll()` reports no event
/// for them (it returns an empty mask once the socket is unbound, so the
/// wake-up that `xsk_notifier()` sends with `sk_err = ENETDOWN` on
/// `NETDEV_UNREGISTER` is re-polled to nothing), and nothing at all
/// happens to the socket when its device goes down. Any other result
/// (including `ENOBUFS` for a socket without an RX ring, which is checked
/// after the device) counts as up.
pub fn link_state(fd: BorrowedFd<'_>) -> LinkState {
    match kick_rx(fd).map_err(|e| e.raw_os_error()) {
        Err(Some(libc::ENXIO)) => LinkState::Gone,
        Err(Some(libc::ENETDOWN)) => LinkState::Down,
        _ => LinkState::Up,
    }
}

/// Busy polling on a socket: `SO_BUSY_POLL` (µs to spin in the kernel per
/// system call), `SO_BUSY_POLL_BUDGET` (packets per spin), and
/// `SO_PREFER_BUSY_POLL` (Linux 5.11). Raising the first two above the
/// current values needs `CAP_NET_ADMIN`.
pub fn set_busy_poll(fd: BorrowedFd<'_>, usecs: u32, budget: u32, prefer: bool) -> Result<()> {
    let usecs = usecs.min(i32::MAX as u32) as i32;
    super::setsockopt(
        fd,
        libc::SOL_SOCKET,
        libc::SO_PREFER_BUSY_POLL,
        &i32::from(prefer),
        "setsockopt(SO_PREFER_BUSY_POLL)",
    )?;
    super::setsockopt(fd, libc::SOL_SOCKET, libc::SO_BUSY_POLL, &usecs, "setsockopt(SO_BUSY_POLL)")?;
    let budget = budget.min(u32::from(u16::MAX)) as i32;
    super::setsockopt(fd, libc::SOL_SOCKET, libc::SO_BUSY_POLL_BUDGET, &budget, "setsockopt(SO_BUSY_POLL_BUDGET)")
}

/// The busy-poll settings the kernel reports: (`SO_BUSY_POLL` µs,
/// `SO_PREFER_BUSY_POLL`); it has no `getsockopt` for the budget.
pub fn busy_poll(fd: BorrowedFd<'_>) -> Result<(u32, bool)> {
    let usecs: i32 = super::getsockopt(fd, libc::SOL_SOCKET, libc::SO_BUSY_POLL, "getsockopt(SO_BUSY_POLL)")?;
    let prefer: i32 =
        super::getsockopt(fd, libc::SOL_SOCKET, libc::SO_PREFER_BUSY_POLL, "getsockopt(SO_PREFER_BUSY_POLL)")?;
    Ok((usecs as u32, prefer != 0))
}

/// The soft `RLIMIT_MEMLOCK` in bytes (`None`: unlimited).
pub fn memlock_limit() -> Option<u64> {
    let mut limit = [0u64; 2];
    // SAFETY: `limit` is a writable pair the call fills.
    let got = unsafe {
        super::syscall(super::Syscall::GetRlimit { resource: libc::RLIMIT_MEMLOCK as i32, limit: &mut limit })
    };
    match got {
        Ok(_) if limit[0] != libc::RLIM_INFINITY => Some(limit[0]),
        _ => None,
    }
}

/// `setsockopt(SOL_XDP, XDP_UMEM_REG)` for `len` bytes at `addr`.
///
/// # Errors
/// [`Error::MemoryLock`] when the kernel cannot pin the region (`ENOMEM`,
/// `ENOBUFS`: `RLIMIT_MEMLOCK` without `CAP_IPC_LOCK`); otherwise the
/// failed call.
///
/// # Safety
/// `reg.addr .. reg.addr + reg.len` must be memory the caller owns, that
/// stays allocated and is not handed to anything else until the socket
/// (and every socket sharing its UMEM) is closed: the kernel pins it and
/// reads and writes it from then on.
pub unsafe fn umem_reg(fd: BorrowedFd<'_>, reg: &xdp_umem_reg) -> Result<()> {
    let mut bytes = [0u8; size_of::<xdp_umem_reg>()];
    bytes[..8].copy_from_slice(&reg.addr.to_ne_bytes());
    bytes[8..16].copy_from_slice(&reg.len.to_ne_bytes());
    bytes[16..20].copy_from_slice(&reg.chunk_size.to_ne_bytes());
    bytes[20..24].copy_from_slice(&reg.headroom.to_ne_bytes());
    bytes[24..28].copy_from_slice(&reg.flags.to_ne_bytes());
    bytes[28..32].copy_from_slice(&reg.tx_metadata_len.to_ne_bytes());
    // SAFETY: the region the struct names is the caller's promise (above).
    unsafe { super::syscall(super::Syscall::SetSockOpt { fd, level: SOL_XDP, name: XDP_UMEM_REG, value: &bytes }) }
        .map(drop)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENOBUFS | libc::ENOMEM) => {
                Error::MemoryLock { bytes: reg.len, limit: memlock_limit(), source: e }
            }
            _ => Error::from_io("setsockopt(XDP_UMEM_REG)", e),
        })
}

/// `getsockopt(SOL_XDP, XDP_STATISTICS)`. Kernels before 5.9 fill only the
/// first three fields; the rest stay zero.
pub fn statistics(fd: BorrowedFd<'_>) -> Result<xdp_statistics> {
    super::getsockopt(fd, SOL_XDP, XDP_STATISTICS, "getsockopt(XDP_STATISTICS)")
}

/// Whether the socket runs in zero-copy mode (`XDP_OPTIONS`, Linux 5.3).
pub fn zero_copy(fd: BorrowedFd<'_>) -> Result<bool> {
    let o: xdp_options = super::getsockopt(fd, SOL_XDP, XDP_OPTIONS, "getsockopt(XDP_OPTIONS)")?;
    Ok(o.flags & XDP_OPTIONS_ZEROCOPY != 0)
}

/// The ring offsets inside each ring mapping (`XDP_MMAP_OFFSETS`).
pub fn mmap_offsets(fd: BorrowedFd<'_>) -> Result<xdp_mmap_offsets> {
    super::getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, "getsockopt(XDP_MMAP_OFFSETS)")
}

/// Nanoseconds on `clock` (`clock_gettime(2)`), 0 if the clock is unknown.
fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a live, writable timespec for the call.
    if unsafe { libc::clock_gettime(clock, &raw mut ts) } != 0 {
        return 0;
    }
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

/// `CLOCK_TAI − CLOCK_REALTIME` in nanoseconds: the kernel's TAI offset
/// (whole seconds, as `adjtimex(2)` sets it; 0 unless a time daemon set
/// it, 37 s with one that does), which turns the XDP program's
/// `bpf_ktime_get_tai_ns()` stamps into wall-clock time. Both clocks come
/// from one timekeeper, so the difference is exact once rounded to the
/// second; the two reads only need to lie within half a second.
pub fn tai_offset_ns() -> i64 {
    let tai = clock_ns(libc::CLOCK_TAI);
    let real = clock_ns(libc::CLOCK_REALTIME);
    let secs = (tai - real + 500_000_000).div_euclid(1_000_000_000);
    (secs * 1_000_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_libc() {
        assert_eq!(size_of::<sockaddr_xdp>(), size_of::<libc::sockaddr_xdp>());
        assert_eq!(size_of::<xdp_statistics>(), size_of::<libc::xdp_statistics>());
        assert_eq!(size_of::<xdp_desc>(), size_of::<libc::xdp_desc>());
        assert_eq!(size_of::<xdp_mmap_offsets>(), size_of::<libc::xdp_mmap_offsets>());
        assert_eq!(XDP_UMEM_PGOFF_FILL_RING as u64, libc::XDP_UMEM_PGOFF_FILL_RING);
        assert_eq!(XDP_UMEM_PGOFF_COMPLETION_RING as u64, libc::XDP_UMEM_PGOFF_COMPLETION_RING);
        assert_eq!(SOL_XDP, libc::SOL_XDP);
        assert_eq!(AF_XDP, libc::AF_XDP);
    }

    #[test]
    #[cfg_attr(miri, ignore = "calls clock_gettime")]
    fn tai_offset_is_whole_seconds_and_small() {
        let off = tai_offset_ns();
        assert_eq!(off % 1_000_000_000, 0);
        assert!((0..=100_000_000_000).contains(&off), "{off}");
    }
}
