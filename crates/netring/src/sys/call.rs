//! The one system-call choke point of the setup path.
//!
//! Every call that creates or configures a socket, a mapping, a BPF object
//! or a namespace goes through [`syscall`] as a [`Syscall`] value: the
//! typed wrappers of `sys/` build the value, this module makes the call.
//! Unit tests replace the kernel here ([`fake`], aya's model), so every
//! builder's setup and error paths run without privileges and under Miri:
//! a refused `setsockopt`, an `ENOMEM` ring, an `EBUSY` bind, a missing
//! interface, a kernel without a feature.
//!
//! The per-packet path (`poll`, the TX kicks, `sendmmsg`, netlink reads) does
//! not come here: it works on descriptors and memory this path produced.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// One setup system call, with its arguments as Rust values.
///
/// Buffers are byte views of the kernel structure the call reads or
/// writes (built from [`Pod`](super::Pod) values by the typed wrappers).
#[derive(Debug)]
pub enum Syscall<'a> {
    /// `socket(domain, type | SOCK_CLOEXEC, protocol)`: returns the new descriptor.
    Socket {
        /// `AF_*`
        domain: i32,
        /// `SOCK_*` (without `SOCK_CLOEXEC`, which is always added)
        ty: i32,
        /// protocol number (network byte order where the family wants it)
        protocol: i32,
    },
    /// `setsockopt(fd, level, name, value, len)`.
    SetSockOpt {
        /// the socket
        fd: BorrowedFd<'a>,
        /// `SOL_*`
        level: i32,
        /// the option
        name: i32,
        /// the option's value as the kernel reads it
        value: &'a [u8],
    },
    /// `getsockopt(fd, level, name, value, &len)`: returns the length written.
    GetSockOpt {
        /// the socket
        fd: BorrowedFd<'a>,
        /// `SOL_*`
        level: i32,
        /// the option
        name: i32,
        /// where the kernel writes the value (zeroed by the caller)
        value: &'a mut [u8],
    },
    /// `bind(fd, addr, len)`.
    Bind {
        /// the socket
        fd: BorrowedFd<'a>,
        /// the `sockaddr_*` structure
        addr: &'a [u8],
    },
    /// `getsockname(fd, addr, &len)`: returns the length written.
    GetSockName {
        /// the socket
        fd: BorrowedFd<'a>,
        /// where the kernel writes the address
        addr: &'a mut [u8],
    },
    /// `ioctl(fd, request, arg)` with a `struct ifreq` (which may carry a
    /// pointer in its union, as `SIOCETHTOOL` does).
    Ioctl {
        /// a socket of the namespace to ask
        fd: BorrowedFd<'a>,
        /// `SIOC*`
        request: libc::c_ulong,
        /// the `struct ifreq`
        arg: &'a mut [u8],
    },
    /// `bpf(cmd, attr, size)`: returns what the command returns (a
    /// descriptor for the commands that create objects).
    Bpf {
        /// `BPF_*` command
        cmd: u32,
        /// the `union bpf_attr` member the command reads and writes
        attr: &'a mut [u8],
    },
    /// `mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, offset)`:
    /// returns the address.
    Mmap {
        /// the descriptor to map, or `None` for an anonymous mapping
        fd: Option<BorrowedFd<'a>>,
        /// bytes
        len: usize,
        /// `MAP_*`
        flags: i32,
        /// offset in the descriptor's space (the ring selector for packet
        /// and XDP sockets)
        offset: i64,
    },
    /// `setns(fd, CLONE_NEWNET)`.
    SetNs {
        /// a namespace descriptor
        fd: BorrowedFd<'a>,
    },
    /// `getrlimit(resource, &limit)`: `limit` receives `[rlim_cur, rlim_max]`.
    GetRlimit {
        /// `RLIMIT_*`
        resource: i32,
        /// soft and hard limit (`RLIM_INFINITY` for none)
        limit: &'a mut [u64; 2],
    },
}

impl Syscall<'_> {
    /// The call's name (`setsockopt`, `bpf`, …), as the fake records it.
    #[cfg(test)]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Socket { .. } => "socket",
            Self::SetSockOpt { .. } => "setsockopt",
            Self::GetSockOpt { .. } => "getsockopt",
            Self::Bind { .. } => "bind",
            Self::GetSockName { .. } => "getsockname",
            Self::Ioctl { .. } => "ioctl",
            Self::Bpf { .. } => "bpf",
            Self::Mmap { .. } => "mmap",
            Self::SetNs { .. } => "setns",
            Self::GetRlimit { .. } => "getrlimit",
        }
    }
}

/// Make `call`, through the fake kernel when a unit test installed one on
/// this thread. `EINTR` is retried here, once for every caller.
///
/// Returns the call's non-negative result (a descriptor, an address, a
/// length) or the `errno` as an `io::Error`.
///
/// # Safety
/// Pointers carried *inside* the buffers (a `bpf_attr`'s instruction, log,
/// key and value pointers; an `ifreq`'s `ifr_data`) must be valid for the
/// access the kernel makes, for the duration of the call. A `Mmap` result
/// is a fresh mapping the caller must own and unmap.
pub unsafe fn syscall(mut call: Syscall<'_>) -> io::Result<i64> {
    #[cfg(test)]
    if let Some(reply) = fake::answer(&mut call) {
        return reply;
    }
    loop {
        // SAFETY: forwarded to the caller.
        match unsafe { kernel(&mut call) } {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// The real kernel.
///
/// # Safety
/// As [`syscall`].
unsafe fn kernel(call: &mut Syscall<'_>) -> io::Result<i64> {
    let ret: i64 = match call {
        // SAFETY: socket(2) takes plain integers and returns a new descriptor or -1.
        Syscall::Socket { domain, ty, protocol } => unsafe {
            libc::socket(*domain, *ty | libc::SOCK_CLOEXEC, *protocol).into()
        },
        // SAFETY: `value` is readable for its length for the duration of the
        // call; the kernel copies it and keeps no pointer.
        Syscall::SetSockOpt { fd, level, name, value } => unsafe {
            libc::setsockopt(fd.as_raw_fd(), *level, *name, value.as_ptr().cast(), value.len() as libc::socklen_t)
                .into()
        },
        Syscall::GetSockOpt { fd, level, name, value } => {
            let mut len = value.len() as libc::socklen_t;
            // SAFETY: `value` is writable for `len` bytes; the kernel writes at most `len`.
            let r = unsafe { libc::getsockopt(fd.as_raw_fd(), *level, *name, value.as_mut_ptr().cast(), &raw mut len) };
            if r < 0 { -1 } else { i64::from(len) }
        }
        // SAFETY: `addr` is a whole sockaddr of the socket's family, readable for the call.
        Syscall::Bind { fd, addr } => unsafe {
            libc::bind(fd.as_raw_fd(), addr.as_ptr().cast(), addr.len() as libc::socklen_t).into()
        },
        Syscall::GetSockName { fd, addr } => {
            let mut len = addr.len() as libc::socklen_t;
            // SAFETY: `addr` is writable for `len` bytes; the kernel writes at most that.
            let r = unsafe { libc::getsockname(fd.as_raw_fd(), addr.as_mut_ptr().cast(), &raw mut len) };
            if r < 0 { -1 } else { i64::from(len) }
        }
        // SAFETY: `arg` is a writable `struct ifreq` for the call; a pointer in
        // its union is the caller's promise.
        Syscall::Ioctl { fd, request, arg } => unsafe {
            libc::ioctl(fd.as_raw_fd(), *request, arg.as_mut_ptr()).into()
        },
        // SAFETY: `attr` is a valid, writable attribute of its length; the
        // pointers inside it are the caller's promise.
        Syscall::Bpf { cmd, attr } => unsafe {
            libc::syscall(libc::SYS_bpf, *cmd as libc::c_long, attr.as_mut_ptr(), attr.len())
        },
        Syscall::Mmap { fd, len, flags, offset } => {
            let raw = fd.as_ref().map_or(-1, |f| f.as_raw_fd());
            // SAFETY: a fresh mapping at an address the kernel picks; it overlaps
            // nothing Rust owns. The caller owns the result.
            let p = unsafe {
                libc::mmap(std::ptr::null_mut(), *len, libc::PROT_READ | libc::PROT_WRITE, *flags, raw, *offset)
            };
            if p == libc::MAP_FAILED { -1 } else { p as i64 }
        }
        // SAFETY: setns(2) with a valid descriptor and CLONE_NEWNET; affects only this thread.
        Syscall::SetNs { fd } => unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET).into() },
        Syscall::GetRlimit { resource, limit } => {
            let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            // SAFETY: `r` is a valid, writable rlimit for the call's duration.
            let ret = unsafe { libc::getrlimit(*resource as libc::__rlimit_resource_t, &raw mut r) };
            **limit = [r.rlim_cur, r.rlim_max];
            ret.into()
        }
    };
    if ret < 0 { Err(io::Error::last_os_error()) } else { Ok(ret) }
}

/// A fake kernel for unit tests: a per-thread handler sees every
/// [`Syscall`] and answers it, so nothing reaches the real kernel while
/// it is installed.
///
/// The handler returns `Some(reply)` to decide a call, or `None` to take
/// [`default_reply`]: a kernel where every call succeeds, descriptors are
/// harmless `eventfd`s, mappings are zeroed heap memory, options read as
/// zero, and every interface exists with index [`IFINDEX`], MTU 1500 and an
/// Ethernet address. Every call is also recorded ([`calls`]).
#[cfg(test)]
pub mod fake {
    use std::cell::RefCell;
    use std::io;

    use super::Syscall;

    /// Errno values and requests for handlers, so tests outside `sys/`
    /// name no `libc`.
    pub use libc::{EBUSY, EINVAL, ENODEV, ENOMEM, ENOPROTOOPT, EOPNOTSUPP, EPERM, SIOCGIFINDEX};

    /// The index every interface has in the default fake.
    pub const IFINDEX: i32 = 7;
    /// The MTU every interface has in the default fake.
    pub const MTU: i32 = 1500;
    /// Every resource limit in the default fake (`RLIMIT_MEMLOCK`'s usual
    /// 8 MiB).
    pub const MEMLOCK: u64 = 8 << 20;
    /// An `Mmap` reply meaning "back this mapping with zeroed heap memory"
    /// (a real `mmap` never returns 0 without `MAP_FIXED`).
    pub const HEAP: i64 = 0;

    /// A call as recorded: its name, the level/option (or request, command)
    /// and the bytes the caller passed in.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Recorded {
        /// [`Syscall::name`]
        pub call: &'static str,
        /// `setsockopt`/`getsockopt` level, `socket` domain, 0 elsewhere
        pub level: i64,
        /// option name, `socket` type, ioctl request, bpf command, mmap offset
        pub name: i64,
        /// bytes given to the kernel (option value, sockaddr, ifreq, attr)
        pub bytes: Vec<u8>,
        /// `mmap`/`socket` length or protocol
        pub len: i64,
    }

    type Handler = Box<dyn FnMut(&mut Syscall<'_>) -> Option<io::Result<i64>>>;

    thread_local! {
        static HANDLER: RefCell<Option<Handler>> = const { RefCell::new(None) };
        static LOG: RefCell<Vec<Recorded>> = const { RefCell::new(Vec::new()) };
    }

    /// Uninstalls the fake when dropped.
    #[derive(Debug)]
    #[must_use = "the fake is removed when the guard drops"]
    pub struct Guard(());

    impl Drop for Guard {
        fn drop(&mut self) {
            HANDLER.with(|h| h.borrow_mut().take());
        }
    }

    /// Install `handler` as this thread's kernel until the guard drops;
    /// clears the call log.
    pub fn install(handler: impl FnMut(&mut Syscall<'_>) -> Option<io::Result<i64>> + 'static) -> Guard {
        HANDLER.with(|h| *h.borrow_mut() = Some(Box::new(handler)));
        LOG.with(|l| l.borrow_mut().clear());
        Guard(())
    }

    /// The default fake kernel: every call answered by [`default_reply`].
    pub fn install_default() -> Guard {
        install(|_| None)
    }

    /// The calls made since [`install`], in order.
    pub fn calls() -> Vec<Recorded> {
        LOG.with(|l| l.borrow().clone())
    }

    /// An error reply with `errno`.
    pub fn errno(errno: i32) -> Option<io::Result<i64>> {
        Some(Err(io::Error::from_raw_os_error(errno)))
    }

    /// A real, harmless descriptor (a non-blocking `eventfd`) for calls that
    /// return one, so `OwnedFd` closes something this test owns.
    pub fn descriptor() -> io::Result<i64> {
        // SAFETY: eventfd(2) takes plain integers and returns a new descriptor or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 { Err(io::Error::last_os_error()) } else { Ok(fd.into()) }
    }

    fn record(call: &Syscall<'_>) -> Recorded {
        let (level, name, bytes, len): (i64, i64, &[u8], i64) = match call {
            Syscall::Socket { domain, ty, protocol } => ((*domain).into(), (*ty).into(), &[], (*protocol).into()),
            Syscall::SetSockOpt { level, name, value, .. } => ((*level).into(), (*name).into(), value, 0),
            Syscall::GetSockOpt { level, name, .. } => ((*level).into(), (*name).into(), &[], 0),
            Syscall::Bind { addr, .. } => (0, 0, addr, 0),
            Syscall::GetSockName { .. } => (0, 0, &[], 0),
            Syscall::Ioctl { request, arg, .. } => (0, *request as i64, arg, 0),
            Syscall::Bpf { cmd, attr } => (0, (*cmd).into(), attr, 0),
            Syscall::Mmap { len, offset, .. } => (0, *offset, &[], *len as i64),
            Syscall::SetNs { .. } => (0, 0, &[], 0),
            Syscall::GetRlimit { resource, .. } => (0, (*resource).into(), &[], 0),
        };
        Recorded { call: call.name(), level, name, bytes: bytes.to_vec(), len }
    }

    /// What the default fake kernel answers.
    pub fn default_reply(call: &mut Syscall<'_>) -> io::Result<i64> {
        match call {
            Syscall::Socket { .. } => descriptor(),
            Syscall::Bpf { cmd, .. } => match *cmd {
                // Commands that create objects return a descriptor.
                super::super::bpf::BPF_MAP_CREATE
                | super::super::bpf::BPF_PROG_LOAD
                | super::super::bpf::BPF_LINK_CREATE => descriptor(),
                _ => Ok(0),
            },
            Syscall::GetSockOpt {
                level: super::super::xdp::SOL_XDP,
                name: super::super::xdp::XDP_MMAP_OFFSETS,
                value,
                ..
            } => {
                // Where Linux puts a ring's words (struct xdp_ring in
                // net/xdp/xsk_queue.h, 64-byte cache lines): producer and
                // consumer on lines of their own, flags after the consumer,
                // descriptors after the padding; the same for all four rings.
                let ring: [u64; 4] = [0, 128, 320, 132]; // producer, consumer, desc, flags
                for (i, chunk) in value.chunks_exact_mut(8).enumerate() {
                    chunk.copy_from_slice(&ring[i % 4].to_ne_bytes());
                }
                Ok(value.len() as i64)
            }
            Syscall::GetSockOpt { value, .. } => Ok(value.len() as i64),
            Syscall::GetSockName { addr, .. } => Ok(addr.len() as i64),
            Syscall::Ioctl { request, arg, .. } => {
                let data = &mut arg[16..];
                match *request {
                    libc::SIOCGIFINDEX => data[..4].copy_from_slice(&IFINDEX.to_ne_bytes()),
                    libc::SIOCGIFMTU => data[..4].copy_from_slice(&MTU.to_ne_bytes()),
                    libc::SIOCGIFFLAGS => {
                        data[..2].copy_from_slice(&((libc::IFF_UP | libc::IFF_RUNNING) as u16).to_ne_bytes())
                    }
                    libc::SIOCGIFHWADDR => {
                        data[..2].copy_from_slice(&libc::ARPHRD_ETHER.to_ne_bytes());
                        data[2..8].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
                    }
                    libc::SIOCGIFNAME => {
                        arg[..16].fill(0);
                        arg[..5].copy_from_slice(b"fake0");
                    }
                    // ethtool and anything else: the device does not implement it.
                    _ => return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP)),
                }
                Ok(0)
            }
            Syscall::Mmap { .. } => Ok(HEAP),
            Syscall::GetRlimit { limit, .. } => {
                **limit = [MEMLOCK, MEMLOCK];
                Ok(0)
            }
            Syscall::SetSockOpt { .. } | Syscall::Bind { .. } | Syscall::SetNs { .. } => Ok(0),
        }
    }

    /// The reply for `call` if a fake is installed on this thread.
    pub(super) fn answer(call: &mut Syscall<'_>) -> Option<io::Result<i64>> {
        let decided = HANDLER.with(|h| {
            let mut h = h.borrow_mut();
            let handler = h.as_mut()?;
            LOG.with(|l| l.borrow_mut().push(record(call)));
            Some(handler(call))
        })?;
        Some(decided.unwrap_or_else(|| default_reply(call)))
    }
}

#[cfg(test)]
mod tests {
    use super::fake;
    use crate::error::Error;
    use crate::sys::{self, Mmap, iface, tpacket as tp};

    #[test]
    fn the_default_fake_answers_setup_calls_and_records_them() {
        let _k = fake::install_default();
        let fd = sys::socket(libc::AF_PACKET, libc::SOCK_RAW, 0, "socket(AF_PACKET)").unwrap();
        use std::os::fd::AsFd;
        sys::setsockopt(fd.as_fd(), libc::SOL_PACKET, tp::PACKET_VERSION, &2i32, "setsockopt(PACKET_VERSION)").unwrap();
        assert_eq!(iface::index("nothere0").unwrap(), fake::IFINDEX as u32);
        let m = Mmap::shared(fd.as_fd(), 8192, 0, false, "mmap").unwrap();
        assert_eq!(m.len(), 8192);
        assert_eq!(m.as_ptr().as_ptr() as usize % 4096, 0, "heap stand-in is page-aligned");
        let calls = fake::calls();
        let names: Vec<_> = calls.iter().map(|c| c.call).collect();
        assert_eq!(names, ["socket", "setsockopt", "socket", "ioctl", "mmap"]);
        assert_eq!(calls[1].bytes, 2i32.to_ne_bytes());
        assert_eq!(calls[4].len, 8192);
    }

    #[test]
    fn a_refused_call_names_the_capability() {
        let _k = fake::install(|c| match c {
            super::Syscall::Socket { .. } => fake::errno(libc::EPERM),
            _ => None,
        });
        match sys::socket(libc::AF_PACKET, libc::SOCK_RAW, 0, "socket(AF_PACKET)") {
            Err(e @ Error::PermissionDenied { .. }) => assert!(e.to_string().contains("CAP_NET_RAW"), "{e}"),
            other => panic!("{other:?}"),
        }
    }
}
