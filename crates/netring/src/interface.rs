//! Interface facts, read in the calling thread's network namespace (unlike
//! `/sys/class/net`, which shows the namespace sysfs was mounted in).

use crate::error::Result;
use crate::sys::netlink::Netlink;

pub use crate::sys::iface::{flags, hwaddr, index, mtu, name};

/// `IFF_UP`
pub const IFF_UP: u32 = libc::IFF_UP as u32;
/// `IFF_PROMISC`
pub const IFF_PROMISC: u32 = libc::IFF_PROMISC as u32;

/// What rtnetlink (`RTM_GETLINK`) says about an interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkInfo {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Interface flags as `SIOCGIFFLAGS` reports them (`IFF_UP`, …).
    /// `IFF_PROMISC` shows only promiscuity set by the administrator;
    /// sockets' promiscuous memberships show in [`promiscuity`](Self::promiscuity).
    pub flags: u32,
    /// MTU.
    pub mtu: u32,
    /// Hardware address.
    pub address: Vec<u8>,
    /// Number of promiscuous-mode holders.
    pub promiscuity: u32,
    /// TX queues.
    pub tx_queues: u32,
    /// RX queues.
    pub rx_queues: u32,
    /// Operational state (`IF_OPER_UP` = 6, `IF_OPER_DOWN` = 2, …).
    pub operstate: u8,
    /// Received packets (`rx_packets`).
    pub rx_packets: u64,
    /// Received bytes.
    pub rx_bytes: u64,
    /// Packets dropped on receive by the stack (`rx_dropped`).
    pub rx_dropped: u64,
    /// Packets the device missed for lack of buffers (`rx_missed_errors`).
    pub rx_missed_errors: u64,
    /// Transmitted packets.
    pub tx_packets: u64,
    /// Transmitted bytes.
    pub tx_bytes: u64,
    /// Packets dropped on transmit.
    pub tx_dropped: u64,
    /// XDP attach mode (0 none, 1 driver, 2 generic, 3 offload, 4 several).
    pub xdp_attached: u8,
    /// ID of the attached XDP program, 0 if none.
    pub xdp_prog_id: u32,
}

/// rtnetlink's view of interface `name` in the calling thread's namespace.
///
/// # Errors
/// [`Error::InterfaceNotFound`](crate::Error::InterfaceNotFound), or the
/// netlink request failed.
pub fn link_info(name: &str) -> Result<LinkInfo> {
    let idx = index(name)?;
    let a = Netlink::open()?.get_link(idx)?;
    let st = |i: usize| a.stats64.get(i).copied().unwrap_or(0);
    // struct rtnl_link_stats64: rx_packets, tx_packets, rx_bytes, tx_bytes,
    // rx_errors, tx_errors, rx_dropped, tx_dropped, multicast, collisions,
    // rx_length_errors, rx_over_errors, rx_crc_errors, rx_frame_errors,
    // rx_fifo_errors, rx_missed_errors, …
    Ok(LinkInfo {
        index: a.index,
        name: a.name,
        flags: a.flags,
        mtu: a.mtu,
        address: a.address,
        promiscuity: a.promiscuity,
        tx_queues: a.tx_queues,
        rx_queues: a.rx_queues,
        operstate: a.operstate,
        rx_packets: st(0),
        tx_packets: st(1),
        rx_bytes: st(2),
        tx_bytes: st(3),
        rx_dropped: st(6),
        tx_dropped: st(7),
        rx_missed_errors: st(15),
        xdp_attached: a.xdp_attached,
        xdp_prog_id: a.xdp_prog_id,
    })
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
