//! Interface facts, read in the calling thread's network namespace (unlike
//! `/sys/class/net`, which shows the namespace sysfs was mounted in).

use crate::error::Result;
pub use crate::sys::netlink::LinkInfo;
use crate::sys::netlink::Netlink;

pub use crate::sys::iface::{flags, hwaddr, index, mtu, name};

/// `IFF_UP`
pub const IFF_UP: u32 = libc::IFF_UP as u32;
/// `IFF_PROMISC`
pub const IFF_PROMISC: u32 = libc::IFF_PROMISC as u32;

/// rtnetlink's view of interface `name` in the calling thread's namespace.
///
/// # Errors
/// [`Error::InterfaceNotFound`](crate::Error::InterfaceNotFound), or the
/// netlink request failed.
pub fn link_info(name: &str) -> Result<LinkInfo> {
    Netlink::open()?.get_link(index(name)?)
}

/// Whether the process holds capability number `cap` in its effective set
/// (13 = `CAP_NET_RAW`, 12 = `CAP_NET_ADMIN`, 21 = `CAP_SYS_ADMIN`,
/// 39 = `CAP_BPF`).
pub fn has_capability(cap: u32) -> bool {
    crate::sys::has_capability(cap)
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_link_info() {
        // Needs no privilege: every namespace has `lo`.
        let lo = super::link_info("lo").unwrap();
        assert_eq!(lo.name, "lo");
        assert_eq!(lo.mtu, 65536);
        assert_eq!(lo.index, super::index("lo").unwrap());
        assert!(lo.rx_queues >= 1);
    }
}
