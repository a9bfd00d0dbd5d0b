//! Interface lookup by `ioctl(2)` on a throwaway socket.
//!
//! The socket lives in the network namespace of the calling thread, so these
//! answer for that namespace (unlike `/sys/class/net`, which shows the
//! namespace sysfs was mounted in).

use std::os::fd::{BorrowedFd, OwnedFd};

use crate::error::{Error, Result};

/// `IFF_UP`
pub const IFF_UP: u32 = libc::IFF_UP as u32;
/// `IFF_PROMISC`
pub const IFF_PROMISC: u32 = libc::IFF_PROMISC as u32;
/// `AF_INET`: an address family in interface address lists.
pub const AF_INET: i32 = libc::AF_INET;
/// `AF_INET6`
pub const AF_INET6: i32 = libc::AF_INET6;

/// `IFNAMSIZ` including the terminating NUL.
pub const IFNAMSIZ: usize = 16;

/// `struct ifreq`: the name and a 24-byte union, read per request.
#[repr(C)]
#[derive(Clone, Copy)]
struct Ifreq {
    name: [u8; IFNAMSIZ],
    data: [u8; 24],
}

const _: () = assert!(std::mem::size_of::<Ifreq>() == 40);

impl Ifreq {
    fn as_bytes_mut(&mut self) -> &mut [u8] {
        super::bytes_of_mut(self)
    }
}

// SAFETY: repr(C) of two byte arrays: no padding, any bytes valid, no pointer.
unsafe impl super::Pod for Ifreq {}

/// Check an interface name the way the kernel's `dev_valid_name` does.
pub fn validate_name(name: &str) -> Result<()> {
    let bad = |rule: &str| Err(Error::config("interface", format!("{name:?}"), rule));
    if name.is_empty() {
        return bad("must not be empty");
    }
    if name.len() >= IFNAMSIZ {
        return bad("must be at most 15 bytes (IFNAMSIZ - 1)");
    }
    if name == "." || name == ".." {
        return bad("must not be . or ..");
    }
    if name.bytes().any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace()) {
        return bad("must not contain '/', ':', NUL or whitespace");
    }
    Ok(())
}

fn ifreq(name: &str) -> Result<Ifreq> {
    validate_name(name)?;
    let mut req = Ifreq { name: [0; IFNAMSIZ], data: [0; 24] };
    req.name[..name.len()].copy_from_slice(name.as_bytes());
    Ok(req)
}

fn ioctl_socket() -> Result<OwnedFd> {
    super::socket(libc::AF_UNIX, libc::SOCK_DGRAM, 0, "socket(AF_UNIX)")
}

fn ioctl(fd: BorrowedFd<'_>, name: &str, request: libc::c_ulong, call: &'static str) -> Result<Ifreq> {
    let mut req = ifreq(name)?;
    // SAFETY: `req` is a flat `struct ifreq` (40 bytes, no pointer);
    // SIOCGIF* requests read the name and write at most the union.
    let ret = unsafe { super::syscall(super::Syscall::Ioctl { fd, request, arg: req.as_bytes_mut() }) };
    if let Err(e) = ret {
        return Err(match e.raw_os_error() {
            Some(libc::ENODEV) | Some(libc::ENXIO) => Error::InterfaceNotFound { name: name.to_owned() },
            _ => Error::from_io(call, e),
        });
    }
    Ok(req)
}

fn get(name: &str, request: libc::c_ulong, call: &'static str) -> Result<Ifreq> {
    let fd = ioctl_socket()?;
    use std::os::fd::AsFd;
    ioctl(fd.as_fd(), name, request, call)
}

/// Interface index of `name` (`SIOCGIFINDEX`).
///
/// # Errors
/// [`Error::InterfaceNotFound`] when no such interface exists in the calling
/// thread's namespace; [`Error::InvalidConfig`] for a malformed name.
pub fn index(name: &str) -> Result<u32> {
    let req = get(name, libc::SIOCGIFINDEX, "ioctl(SIOCGIFINDEX)")?;
    Ok(i32::from_ne_bytes(req.data[..4].try_into().expect("4 bytes")) as u32)
}

/// Name of the interface with index `ifindex` (`SIOCGIFNAME`).
pub fn name(ifindex: u32) -> Result<String> {
    use std::os::fd::AsFd;
    name_on(ioctl_socket()?.as_fd(), ifindex)
}

/// Name of the interface with index `ifindex` in the namespace of socket
/// `fd` (`SIOCGIFNAME` on it).
pub fn name_on(fd: BorrowedFd<'_>, ifindex: u32) -> Result<String> {
    let mut req = Ifreq { name: [0; IFNAMSIZ], data: [0; 24] };
    req.data[..4].copy_from_slice(&(ifindex as i32).to_ne_bytes());
    // SAFETY: `req` is a flat `struct ifreq`; SIOCGIFNAME reads the index
    // from the union and writes the name.
    let ret =
        unsafe { super::syscall(super::Syscall::Ioctl { fd, request: libc::SIOCGIFNAME, arg: req.as_bytes_mut() }) };
    if let Err(e) = ret {
        return Err(match e.raw_os_error() {
            Some(libc::ENODEV) => Error::InterfaceNotFound { name: format!("ifindex {ifindex}") },
            _ => Error::from_io("ioctl(SIOCGIFNAME)", e),
        });
    }
    let end = req.name.iter().position(|&b| b == 0).unwrap_or(IFNAMSIZ);
    Ok(String::from_utf8_lossy(&req.name[..end]).into_owned())
}

/// MTU of `name` (`SIOCGIFMTU`).
pub fn mtu(name: &str) -> Result<u32> {
    let req = get(name, libc::SIOCGIFMTU, "ioctl(SIOCGIFMTU)")?;
    Ok(i32::from_ne_bytes(req.data[..4].try_into().expect("4 bytes")) as u32)
}

/// Interface flags of `name` (`SIOCGIFFLAGS`: `IFF_UP`, `IFF_PROMISC`, …).
pub fn flags(name: &str) -> Result<u32> {
    let req = get(name, libc::SIOCGIFFLAGS, "ioctl(SIOCGIFFLAGS)")?;
    Ok(u16::from_ne_bytes(req.data[..2].try_into().expect("2 bytes")) as u32)
}

/// The IPv4 netmask of `name` in the namespace of socket `fd`, an
/// AF_PACKET or AF_INET socket (`SIOCGIFNETMASK` on it, as libpcap's
/// `pcap_lookupnet()` asks).
///
/// # Errors
/// `EADDRNOTAVAIL` (as [`Error::Io`]) when it has no IPv4 address;
/// [`Error::InterfaceNotFound`].
pub fn netmask_on(fd: BorrowedFd<'_>, name: &str) -> Result<u32> {
    let req = ioctl(fd, name, libc::SIOCGIFNETMASK, "ioctl(SIOCGIFNETMASK)")?;
    // struct sockaddr_in { sa_family_t; in_port_t; struct in_addr; … }
    Ok(u32::from_be_bytes(req.data[4..8].try_into().expect("4 bytes")))
}

/// Hardware address of `name` and its ARP hardware type (`SIOCGIFHWADDR`).
pub fn hwaddr(name: &str) -> Result<(u16, [u8; 6])> {
    let req = get(name, libc::SIOCGIFHWADDR, "ioctl(SIOCGIFHWADDR)")?;
    // struct sockaddr { sa_family_t sa_family; char sa_data[14]; }
    let family = u16::from_ne_bytes(req.data[..2].try_into().expect("2 bytes"));
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&req.data[2..8]);
    Ok((family, mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated_like_the_kernel() {
        assert!(validate_name("eth0").is_ok());
        assert!(validate_name("a23456789012345").is_ok());
        let e = validate_name("a234567890123456").unwrap_err();
        assert!(e.to_string().contains("at most 15 bytes"), "{e}");
        assert!(validate_name("").is_err());
        assert!(validate_name("a/b").is_err());
        assert!(validate_name("a b").is_err());
        assert!(validate_name("..").is_err());
    }

    #[test]
    fn loopback_exists_and_missing_names_say_so() {
        // Every network namespace has `lo`, index 1 in a fresh one; no privilege needed.
        assert!(index("lo").unwrap() >= 1);
        assert_eq!(name(index("lo").unwrap()).unwrap(), "lo");
        assert_eq!(mtu("lo").unwrap(), 65536);
        match index("nrt-no-such-if") {
            Err(Error::InterfaceNotFound { name }) => assert_eq!(name, "nrt-no-such-if"),
            other => panic!("expected InterfaceNotFound, got {other:?}"),
        }
    }
}
