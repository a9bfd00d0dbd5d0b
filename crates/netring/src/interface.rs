//! Interface facts, read in the calling thread's network namespace (unlike
//! `/sys/class/net`, which shows the namespace sysfs was mounted in).

use crate::error::Result;
use crate::sys::netlink::{LinkAttrs, Netlink};

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
    Ok(Netlink::open()?.get_link(idx)?.into())
}

impl From<LinkAttrs> for LinkInfo {
    fn from(a: LinkAttrs) -> Self {
        let st = |i: usize| a.stats64.get(i).copied().unwrap_or(0);
        // struct rtnl_link_stats64: rx_packets, tx_packets, rx_bytes, tx_bytes,
        // rx_errors, tx_errors, rx_dropped, tx_dropped, multicast, collisions,
        // rx_length_errors, rx_over_errors, rx_crc_errors, rx_frame_errors,
        // rx_fifo_errors, rx_missed_errors, …
        LinkInfo {
            index: a.index,
            flags: a.flags,
            mtu: a.mtu,
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
            name: a.name,
            address: a.address,
        }
    }
}

/// Every interface in the calling thread's namespace (`RTM_GETLINK` dump),
/// by index.
///
/// # Errors
/// The netlink request failed.
pub fn list() -> Result<Vec<LinkInfo>> {
    let mut links: Vec<LinkInfo> = Netlink::open()?.links()?.into_iter().map(LinkInfo::from).collect();
    links.sort_by_key(|l| l.index);
    Ok(links)
}

/// The driver of an interface, as `ethtool -i` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DriverInfo {
    /// Driver name, e.g. `veth`, `ixgbe`.
    pub driver: String,
    /// Driver version.
    pub version: String,
    /// Bus address, e.g. `0000:01:00.0` (empty for virtual devices).
    pub bus_info: String,
}

/// The driver of `name` (`SIOCETHTOOL` `ETHTOOL_GDRVINFO`).
///
/// # Errors
/// [`Error::InterfaceNotFound`](crate::Error::InterfaceNotFound); the
/// ioctl failed (`EOPNOTSUPP` for devices without driver information, such
/// as `lo`).
pub fn driver(name: &str) -> Result<DriverInfo> {
    let (driver, version, bus_info) = crate::sys::ethtool::driver(name)?;
    Ok(DriverInfo { driver, version, bus_info })
}

/// Queue (channel) counts, as `ethtool -l` shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Channels {
    /// RX-only channels in use.
    pub rx: u32,
    /// TX-only channels in use.
    pub tx: u32,
    /// Combined RX/TX channels in use.
    pub combined: u32,
    /// Most RX-only channels the device supports.
    pub max_rx: u32,
    /// Most TX-only channels the device supports.
    pub max_tx: u32,
    /// Most combined channels the device supports.
    pub max_combined: u32,
}

impl Channels {
    /// Queues that receive (RX-only plus combined).
    pub fn rx_queues(&self) -> u32 {
        self.rx + self.combined
    }

    /// Queues that transmit (TX-only plus combined).
    pub fn tx_queues(&self) -> u32 {
        self.tx + self.combined
    }
}

/// Queue counts in use on `name` (`SIOCETHTOOL` `ETHTOOL_GCHANNELS`).
///
/// # Errors
/// [`Error::InterfaceNotFound`](crate::Error::InterfaceNotFound); the
/// ioctl failed (`EOPNOTSUPP` when the driver does not report channels).
pub fn channels(name: &str) -> Result<Channels> {
    let c = crate::sys::ethtool::channels(name)?;
    Ok(Channels {
        rx: c.rx_count,
        tx: c.tx_count,
        combined: c.combined_count,
        max_rx: c.max_rx,
        max_tx: c.max_tx,
        max_combined: c.max_combined,
    })
}

/// An IP address on an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address {
    /// The address.
    pub addr: std::net::IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// The IPv4 and IPv6 addresses of `name` (`RTM_GETADDR`).
///
/// # Errors
/// [`Error::InterfaceNotFound`](crate::Error::InterfaceNotFound), or the
/// netlink request failed.
pub fn addresses(name: &str) -> Result<Vec<Address>> {
    let idx = index(name)?;
    Ok(Netlink::open()?
        .addresses()?
        .into_iter()
        .filter(|a| a.index == idx)
        .filter_map(|x| {
            let (a, prefix_len) = (x.address, x.prefix);
            let addr = match (i32::from(x.family), a.len()) {
                (libc::AF_INET, 4) => std::net::IpAddr::from(<[u8; 4]>::try_from(&a[..]).ok()?),
                (libc::AF_INET6, 16) => std::net::IpAddr::from(<[u8; 16]>::try_from(&a[..]).ok()?),
                _ => return None,
            };
            Some(Address { addr, prefix_len })
        })
        .collect())
}

/// Whether a default route (IPv4 or IPv6, any table) leaves through `name`.
///
/// # Errors
/// [`Error::InterfaceNotFound`](crate::Error::InterfaceNotFound), or the
/// netlink request failed.
pub fn has_default_route(name: &str) -> Result<bool> {
    let idx = index(name)?;
    Ok(Netlink::open()?.default_route_ifindices()?.contains(&idx))
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
    fn loopback_is_listed_with_its_address_and_no_default_route() {
        // Needs no privilege: every namespace has `lo`, usually with 127.0.0.1/8.
        let all = super::list().unwrap();
        assert!(all.iter().any(|l| l.name == "lo"));
        if super::flags("lo").unwrap() & super::IFF_UP != 0 {
            let a = super::addresses("lo").unwrap();
            assert!(a.iter().any(|a| a.to_string() == "127.0.0.1/8"), "{a:?}");
        }
        assert!(!super::has_default_route("lo").unwrap());
    }

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
