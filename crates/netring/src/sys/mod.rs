//! The only layer that names `libc`: kernel structures and constants in the
//! kernel's spelling, syscall wrappers (EINTR handled once, here), and RAII
//! for mappings and descriptors.
//!
//! Everything above this module works with safe types: [`OwnedFd`], [`Mmap`],
//! plain structs.

#![allow(unsafe_code)]

pub mod bpf;
pub mod call;
pub mod cred;
pub mod errno;
pub mod ethtool;
pub mod iface;
pub mod mem;
pub mod mmap;
pub mod netlink;
pub mod ns;
pub mod packet;
pub mod sched;
#[cfg(any(test, feature = "pcap"))]
pub mod time;
pub mod tpacket;
pub mod xdp;

use std::io;
use std::mem::{MaybeUninit, size_of};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

pub use call::{Syscall, syscall};
pub use mmap::Mmap;

/// Run `f` until it does not fail with `EINTR`.
pub(crate) fn retry_eintr<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Turn a `-1`-on-error return into an `io::Result`.
fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 { Err(io::Error::last_os_error()) } else { Ok(ret) }
}

/// Turn a `-1`-on-error `ssize_t` into an `io::Result<usize>`.
fn cvt_size(ret: libc::ssize_t) -> io::Result<usize> {
    if ret < 0 { Err(io::Error::last_os_error()) } else { Ok(ret as usize) }
}

/// `socket(2)` with `SOCK_CLOEXEC`.
pub fn socket(domain: i32, ty: i32, protocol: i32, call: &'static str) -> Result<OwnedFd> {
    // SAFETY: no pointers are passed.
    let fd = unsafe { syscall(Syscall::Socket { domain, ty, protocol }) }.map_err(|e| Error::from_io(call, e))?;
    // SAFETY: `fd` was just returned by socket(2) (or the test kernel), is
    // open, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The bytes of a plain-old-data value, as the kernel reads them.
pub fn bytes_of<T: Pod>(value: &T) -> &[u8] {
    // SAFETY: `T: Pod` has no padding, so all `size_of::<T>()` bytes are
    // initialized; the slice borrows `value`.
    unsafe { std::slice::from_raw_parts(std::ptr::from_ref(value).cast::<u8>(), size_of::<T>()) }
}

/// The bytes of a plain-old-data value, for the kernel to write.
pub fn bytes_of_mut<T: Pod>(value: &mut T) -> &mut [u8] {
    // SAFETY: `T: Pod` has no padding and is valid for every bit pattern, so
    // any bytes written through the slice leave a valid `T`; the slice
    // borrows `value` mutably.
    unsafe { std::slice::from_raw_parts_mut(std::ptr::from_mut(value).cast::<u8>(), size_of::<T>()) }
}

/// `setsockopt(2)` with a plain-old-data value.
pub fn setsockopt<T: Pod>(fd: BorrowedFd<'_>, level: i32, name: i32, value: &T, call: &'static str) -> Result<()> {
    // SAFETY: the value carries no pointer the kernel follows (every `Pod`
    // passed as a socket option is a flat kernel struct or an integer).
    unsafe { syscall(Syscall::SetSockOpt { fd, level, name, value: bytes_of(value) }) }
        .map(drop)
        .map_err(|e| Error::from_io(call, e))
}

/// Marker for plain-old-data types: the kernel may read them as bytes and
/// fill them with any bytes.
///
/// # Safety
/// Implementors must be `#[repr(C)]` (or primitive), have no padding bytes,
/// hold no pointer the kernel would follow, and be valid for every bit
/// pattern.
pub unsafe trait Pod: Copy {}
// SAFETY: integers are valid for every bit pattern.
unsafe impl Pod for i32 {}
// SAFETY: integers are valid for every bit pattern.
unsafe impl Pod for u32 {}
// SAFETY: integers are valid for every bit pattern.
unsafe impl Pod for u64 {}
// SAFETY: repr(C) struct of u32 fields.
unsafe impl Pod for tpacket::tpacket_stats_v3 {}
// SAFETY: repr(C) struct of u32 fields.
unsafe impl Pod for tpacket::tpacket_req {}
// SAFETY: repr(C) struct of u32 fields.
unsafe impl Pod for tpacket::tpacket_req3 {}
// SAFETY: repr(C): i32, u16, u16, [u8; 8]: 16 bytes, no padding.
unsafe impl Pod for tpacket::packet_mreq {}
// SAFETY: repr(C) sockaddr_ll: every field an integer or byte array, 20 bytes, no padding.
unsafe impl Pod for tpacket::sockaddr_ll {}
// SAFETY: two 64-bit integers on the 64-bit targets this crate builds for.
unsafe impl Pod for libc::timeval {}
/// `struct sock_filter`: one classic BPF instruction as the kernel reads it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct sock_filter {
    /// opcode
    pub code: u16,
    /// jump offset if true
    pub jt: u8,
    /// jump offset if false
    pub jf: u8,
    /// generic field
    pub k: u32,
}

const _: () = assert!(size_of::<sock_filter>() == 8);

// SAFETY: u16, u8, u8, u32 — 8 bytes, no padding, no pointer.
unsafe impl Pod for sock_filter {}

/// `setsockopt` with a `struct sock_fprog` pointing at `program`
/// (`SO_ATTACH_FILTER`, `PACKET_FANOUT_DATA`), each instruction given as
/// `(code, jt, jf, k)`: the kernel copies the program during the call.
pub fn set_sock_fprog<I: Copy + Into<(u16, u8, u8, u32)>>(
    fd: BorrowedFd<'_>,
    level: i32,
    name: i32,
    program: &[I],
    call: &'static str,
) -> Result<()> {
    let program: Vec<sock_filter> = program
        .iter()
        .map(|&i| {
            let (code, jt, jf, k) = i.into();
            sock_filter { code, jt, jf, k }
        })
        .collect();
    // `struct sock_fprog` on 64-bit: u16 len, 6 bytes of padding, a pointer.
    let mut fprog = [0u8; 16];
    fprog[..2].copy_from_slice(&(program.len() as u16).to_ne_bytes());
    fprog[8..].copy_from_slice(&(program.as_ptr() as u64).to_ne_bytes());
    // SAFETY: the pointer in `fprog` refers to `program.len()` instructions
    // that outlive the call; the kernel only reads (copies) them.
    unsafe { syscall(Syscall::SetSockOpt { fd, level, name, value: &fprog }) }
        .map(drop)
        .map_err(|e| Error::from_io(call, e))
}

/// `getsockopt(2)` into a `T` that is valid for any bit pattern.
pub fn getsockopt<T: Pod>(fd: BorrowedFd<'_>, level: i32, name: i32, call: &'static str) -> Result<T> {
    // SAFETY: `T: Pod`, so all-zero bytes are a valid `T`.
    let mut value: T = unsafe { MaybeUninit::<T>::zeroed().assume_init() };
    // SAFETY: the buffer is a flat value; the kernel writes at most its length.
    unsafe { syscall(Syscall::GetSockOpt { fd, level, name, value: bytes_of_mut(&mut value) }) }
        .map_err(|e| Error::from_io(call, e))?;
    Ok(value)
}

/// `bind(2)` with a `sockaddr_*` value.
pub fn bind<T: Pod>(fd: BorrowedFd<'_>, addr: &T) -> std::io::Result<()> {
    // SAFETY: a flat sockaddr, no embedded pointer.
    unsafe { syscall(Syscall::Bind { fd, addr: bytes_of(addr) }) }.map(drop)
}

/// `bind(2)` an `AF_PACKET` socket to an interface index and protocol
/// (host byte order; converted here).
pub fn bind_packet(fd: BorrowedFd<'_>, ifindex: u32, protocol: u16) -> Result<()> {
    let addr = tpacket::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: protocol.to_be(),
        sll_ifindex: ifindex as i32,
        ..Default::default()
    };
    bind(fd, &addr).map_err(|e| Error::from_io("bind(AF_PACKET)", e))
}

/// `send(2)`, retried on `EINTR`.
pub fn send(fd: BorrowedFd<'_>, buf: &[u8], flags: i32) -> io::Result<usize> {
    retry_eintr(|| {
        // SAFETY: `buf` is a valid readable slice for the duration of the call.
        cvt_size(unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), flags) })
    })
}

/// `sendmmsg(2)` of whole buffers on a bound socket, retried on `EINTR`.
/// Returns how many messages the kernel took.
pub fn sendmmsg(fd: BorrowedFd<'_>, bufs: &[&[u8]], flags: i32) -> io::Result<usize> {
    const MAX: usize = 64;
    let n = bufs.len().min(MAX);
    let mut iov = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; MAX];
    // SAFETY: mmsghdr is a plain C struct for which all-zero is a valid value.
    let mut msgs: [libc::mmsghdr; MAX] = unsafe { std::mem::zeroed() };
    for (i, buf) in bufs.iter().take(n).enumerate() {
        iov[i] = libc::iovec { iov_base: buf.as_ptr().cast_mut().cast(), iov_len: buf.len() };
        msgs[i].msg_hdr.msg_iov = &raw mut iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    retry_eintr(|| {
        // SAFETY: `msgs[..n]` point at `iov[..n]`, which point at the caller's
        // buffers; all outlive the call and the kernel only reads them.
        cvt(unsafe { libc::sendmmsg(fd.as_raw_fd(), msgs.as_mut_ptr(), n as u32, flags) }).map(|v| v as usize)
    })
}

/// Ask the kernel to transmit the TX ring's queued frames: `send(fd, NULL,
/// 0, flags)` on a socket with `PACKET_TX_RING` (the kernel ignores the
/// buffer and walks the ring in `tpacket_snd()`). Returns the bytes the
/// kernel took. Not retried on `EINTR`: the caller decides.
pub fn kick(fd: BorrowedFd<'_>, flags: i32) -> io::Result<usize> {
    // SAFETY: a null buffer of length 0; with a TX ring the kernel reads
    // only the ring, never the (empty) message.
    cvt_size(unsafe { libc::send(fd.as_raw_fd(), std::ptr::null(), 0, flags) })
}

/// `SO_SNDTIMEO`: how long a blocking send may wait (zero is rounded up
/// to one microsecond, because zero means "forever" to the kernel).
pub fn set_send_timeout(fd: BorrowedFd<'_>, timeout: Duration) -> Result<()> {
    let t = timeout.max(Duration::from_micros(1));
    let tv = libc::timeval {
        tv_sec: t.as_secs().min(i32::MAX as u64) as libc::time_t,
        tv_usec: t.subsec_micros() as libc::suseconds_t,
    };
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDTIMEO, &tv, "setsockopt(SO_SNDTIMEO)")
}

/// `POLLIN`: readable (for [`poll`]).
pub const POLLIN: i16 = libc::POLLIN;
/// `POLLOUT`: writable (for [`poll`]).
pub const POLLOUT: i16 = libc::POLLOUT;

/// Readiness of one descriptor after [`poll`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Revents(pub i16);

impl Revents {
    /// `POLLIN`
    pub fn readable(self) -> bool {
        self.0 & libc::POLLIN != 0
    }

    /// `POLLERR | POLLHUP | POLLNVAL`
    pub fn error(self) -> bool {
        self.0 & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0
    }

    /// `POLLOUT`
    pub fn writable(self) -> bool {
        self.0 & libc::POLLOUT != 0
    }
}

/// `poll(2)` on up to four descriptors, each with its `events`.
///
/// `timeout` `None` waits forever. An `EINTR` retries with the time that
/// remains, never the full timeout again. Returns the `revents` of each
/// descriptor (all zero on timeout).
pub fn poll<const N: usize>(fds: [(BorrowedFd<'_>, i16); N], timeout: Option<Duration>) -> io::Result<[Revents; N]> {
    let mut pfds = fds.map(|(fd, events)| libc::pollfd { fd: fd.as_raw_fd(), events, revents: 0 });
    poll_raw(&mut pfds, timeout)?;
    Ok(pfds.map(|p| Revents(p.revents)))
}

/// [`poll`] on any number of descriptors; `out` receives the `revents`
/// of each, in order (cleared first, its capacity reused).
pub fn poll_many(fds: &[(BorrowedFd<'_>, i16)], timeout: Option<Duration>, out: &mut Vec<Revents>) -> io::Result<()> {
    let mut pfds: Vec<libc::pollfd> =
        fds.iter().map(|(fd, events)| libc::pollfd { fd: fd.as_raw_fd(), events: *events, revents: 0 }).collect();
    poll_raw(&mut pfds, timeout)?;
    out.clear();
    out.extend(pfds.iter().map(|p| Revents(p.revents)));
    Ok(())
}

fn poll_raw(pfds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<()> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let ms: libc::c_int = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                // Round up so that a 0.5 ms remainder does not spin with timeout 0.
                let ms = left.as_nanos().div_ceil(1_000_000);
                ms.min(libc::c_int::MAX as u128) as libc::c_int
            }
        };
        // SAFETY: `pfds` is a valid, writable array of pollfd for the duration of the call.
        let ret = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
        if ret < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(());
    }
}

/// An `eventfd(2)` used to wake a thread blocked in [`poll`].
#[derive(Debug)]
pub struct EventFd(OwnedFd);

impl EventFd {
    /// A new non-blocking, close-on-exec eventfd with counter 0.
    pub fn new() -> Result<Self> {
        // SAFETY: eventfd(2) takes plain integers and returns a new descriptor or -1.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })
            .map_err(|e| Error::from_io("eventfd", e))?;
        // SAFETY: `fd` is a fresh descriptor owned by nobody else.
        Ok(Self(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Add one to the counter, making the descriptor readable.
    pub fn signal(&self) {
        let one: u64 = 1;
        // A full counter (EAGAIN) still leaves the fd readable: nothing to do.
        let _ = retry_eintr(|| {
            // SAFETY: writes 8 bytes from a valid u64.
            cvt_size(unsafe { libc::write(self.0.as_raw_fd(), (&raw const one).cast(), 8) })
        });
    }

    /// The descriptor, for [`poll`].
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.0.as_fd()
    }
}

/// The socket's pending error (`SO_ERROR`) as an [`Error`], after a wait
/// reported `POLLERR`: `ENETDOWN` (the interface was unregistered) is
/// [`Error::InterfaceGone`] naming `interface`; others name `call`.
///
/// # Errors
/// The pending error, if any.
pub fn check_socket_error(fd: BorrowedFd<'_>, interface: &str, call: &'static str) -> Result<()> {
    match take_socket_error(fd) {
        None => Ok(()),
        Some(e) if e.raw_os_error() == Some(libc::ENETDOWN) => Err(Error::InterfaceGone { name: interface.to_owned() }),
        Some(e) => Err(Error::from_io(call, e)),
    }
}

/// The pending socket error (`SO_ERROR`), read and cleared.
pub fn take_socket_error(fd: BorrowedFd<'_>) -> Option<io::Error> {
    match getsockopt::<i32>(fd, libc::SOL_SOCKET, libc::SO_ERROR, "getsockopt(SO_ERROR)") {
        Ok(0) => None,
        Ok(errno) => Some(io::Error::from_raw_os_error(errno)),
        Err(_) => None,
    }
}

/// The system page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if v > 0 { v as usize } else { 4096 }
}

/// Effective user id.
#[cfg(any(test, feature = "testkit"))]
pub fn geteuid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Whether the effective capability set holds capability number `cap`
/// (e.g. 13 = `CAP_NET_RAW`), read from `/proc/self/status`.
#[cfg(any(test, feature = "testkit"))]
pub fn has_capability(cap: u32) -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/thread-self/status") else {
        return geteuid() == 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|mask| mask & (1u64 << cap) != 0)
}

/// The interface index an `AF_PACKET` socket is bound to (`getsockname`);
/// the kernel reports -1 once the interface was unregistered.
pub fn packet_bound_ifindex(fd: BorrowedFd<'_>) -> Option<i32> {
    let mut addr = tpacket::sockaddr_ll::default();
    // SAFETY: a flat sockaddr the kernel writes at most its length of.
    let ret = unsafe { syscall(Syscall::GetSockName { fd, addr: bytes_of_mut(&mut addr) }) };
    ret.is_ok().then_some(addr.sll_ifindex)
}
