//! Interface facts, read in the calling thread's network namespace (unlike
//! `/sys/class/net`, which shows the namespace sysfs was mounted in).

use crate::error::Result;
pub use crate::sys::netlink::LinkInfo;
use crate::sys::netlink::Netlink;

pub use crate::sys::iface::{flags, hwaddr, index, mtu, name};

pub use crate::sys::iface::{IFF_PROMISC, IFF_UP};

/// rtnetlink's view of interface `name` in the calling thread's namespace.
///
/// # Errors
/// [`Error::InterfaceNotFound`](crate::Error::InterfaceNotFound), or the
/// netlink request failed.
pub fn link_info(name: &str) -> Result<LinkInfo> {
    Netlink::open()?.get_link(index(name)?)
}

/// Every interface in the calling thread's namespace (`RTM_GETLINK` dump),
/// by index.
///
/// # Errors
/// The netlink request failed.
pub fn list() -> Result<Vec<LinkInfo>> {
    let mut links: Vec<LinkInfo> = Netlink::open()?.links()?;
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

/// How many queues an interface uses now, and could use: what an AF_XDP
/// socket may bind to (`xsk_bind()` refuses a queue id at or beyond the
/// device's *active* queue count, `real_num_rx_queues` /
/// `real_num_tx_queues`, which can be below the count the device was
/// created with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueuesInUse {
    /// RX queues in use.
    pub(crate) rx: u32,
    /// TX queues in use.
    pub(crate) tx: u32,
    /// The most the driver supports (`ethtool -L` raises the count up to
    /// it), when it reports channels.
    pub(crate) possible: Option<u32>,
}

/// The queues `name` uses now: RX-only or TX-only plus combined channels
/// (`ETHTOOL_GCHANNELS`, as `ethtool -l` shows them under "Current"). A
/// driver that does not report channels gets the counts the device was
/// created with (`RTM_GETLINK`), which are then the ones in use.
///
/// # Errors
/// [`Error::InterfaceNotFound`](crate::Error::InterfaceNotFound), or the
/// netlink request failed.
pub(crate) fn queues_in_use(name: &str) -> Result<QueuesInUse> {
    match channels(name) {
        Ok(c) if c.rx_queues() > 0 || c.tx_queues() > 0 => Ok(QueuesInUse {
            rx: c.rx_queues(),
            tx: c.tx_queues(),
            possible: Some(c.max_rx.max(c.max_tx) + c.max_combined),
        }),
        Err(e @ crate::Error::InterfaceNotFound { .. }) => Err(e),
        _ => {
            let l = link_info(name)?;
            Ok(QueuesInUse { rx: l.rx_queues, tx: l.tx_queues, possible: None })
        }
    }
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
                (crate::sys::iface::AF_INET, 4) => std::net::IpAddr::from(<[u8; 4]>::try_from(&a[..]).ok()?),
                (crate::sys::iface::AF_INET6, 16) => std::net::IpAddr::from(<[u8; 16]>::try_from(&a[..]).ok()?),
                _ => return None,
            };
            Some(Address { addr, prefix_len })
        })
        .collect())
}

/// The netmask of the first IPv4 address of `name` — what libpcap's
/// `pcap_lookupnet()` gives tcpdump for `ip broadcast` on a live
/// capture — or `None` if it has no IPv4 address (or is `any`).
///
/// # Errors
/// As [`addresses`].
pub fn ipv4_netmask(name: &str) -> Result<Option<std::net::Ipv4Addr>> {
    if name == "any" {
        return Ok(None);
    }
    Ok(addresses(name)?.into_iter().find(|a| a.addr.is_ipv4()).map(|a| {
        let bits = u32::from(a.prefix_len.min(32));
        std::net::Ipv4Addr::from(u32::MAX.checked_shl(32 - bits).unwrap_or(0))
    }))
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
