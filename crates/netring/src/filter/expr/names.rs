//! Names in expressions, looked up the way libpcap looks them up, without
//! the network: host names in `/etc/hosts`, network names in
//! `/etc/networks`, service names in `/etc/services`, protocol names in
//! `/etc/protocols`, MAC names in `/etc/ethers`. DNS is never asked, so a
//! host name only in DNS is an error, as is any name none of these files
//! has.
//!
//! The parsers take the file's text, so tests can give their own; the
//! `lookup_*` functions read the system file on each call (an expression is
//! compiled once).

use std::net::IpAddr;

/// The words of each line that is not a comment.
fn lines(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines().filter_map(|l| {
        let l = l.split('#').next().unwrap_or("");
        let w: Vec<&str> = l.split_ascii_whitespace().collect();
        (!w.is_empty()).then_some(w)
    })
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The addresses of `name` in hosts(5) text, in file order, each once
/// (names compare without regard to case, as glibc's resolver does).
pub(crate) fn hosts_in(text: &str, name: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for w in lines(text) {
        if !w[1..].iter().any(|n| n.eq_ignore_ascii_case(name)) {
            continue;
        }
        if let Ok(a) = w[0].parse::<IpAddr>()
            && !out.contains(&a)
        {
            out.push(a);
        }
    }
    out
}

/// `name` in `/etc/hosts`.
pub(crate) fn lookup_host(name: &str) -> Vec<IpAddr> {
    hosts_in(&read("/etc/hosts"), name)
}

/// A network number as inet_network(3) reads it: one to four parts, each
/// decimal, `0x` hexadecimal or `0` octal, the last part in the low bits.
fn inet_network(s: &str) -> Option<u32> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut v: u32 = 0;
    for p in parts {
        let n = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            u32::from_str_radix(h, 16).ok()?
        } else if p.len() > 1 && p.starts_with('0') {
            u32::from_str_radix(&p[1..], 8).ok()?
        } else {
            p.parse().ok()?
        };
        if n > 255 {
            return None;
        }
        v = (v << 8) | n;
    }
    Some(v)
}

/// The network number of `name` in networks(5) text (0 when absent, as
/// getnetbyname(3) reports it to libpcap).
pub(crate) fn network_in(text: &str, name: &str) -> u32 {
    lines(text)
        .filter(|w| w.len() >= 2 && (w[0] == name || w[2..].contains(&name)))
        .find_map(|w| inet_network(w[1]))
        .unwrap_or(0)
}

/// `name` in `/etc/networks`.
pub(crate) fn lookup_network(name: &str) -> u32 {
    network_in(&read("/etc/networks"), name)
}

/// The port of service `name` over `proto` (`tcp`, `udp`) in services(5)
/// text: the first line that names it (or an alias).
fn service_in(text: &str, name: &str, proto: &str) -> Option<u32> {
    lines(text).find_map(|w| {
        let (port, p) = w.get(1)?.split_once('/')?;
        (p == proto && (w[0] == name || w[2..].contains(&name))).then(|| port.parse().ok()).flatten()
    })
}

/// Which transport protocols a service name stands for (libpcap's
/// `pcap_nametoport()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortOf {
    Tcp,
    Udp,
    /// TCP and UDP at the same port: every transport is tested.
    Any,
}

/// A service name in services(5) text: its TCP port, else its UDP port;
/// [`PortOf::Any`] when both have the same number.
pub(crate) fn port_in(text: &str, name: &str) -> Option<(u32, PortOf)> {
    match (service_in(text, name, "tcp"), service_in(text, name, "udp")) {
        (Some(t), Some(u)) if t == u => Some((t, PortOf::Any)),
        (Some(t), _) => Some((t, PortOf::Tcp)),
        (None, Some(u)) => Some((u, PortOf::Udp)),
        (None, None) => None,
    }
}

/// `name` in `/etc/services`.
pub(crate) fn lookup_port(name: &str) -> Option<(u32, PortOf)> {
    port_in(&read("/etc/services"), name)
}

/// The number of protocol `name` (or an alias, compared exactly as
/// getprotobyname(3) does) in protocols(5) text.
pub(crate) fn protocol_in(text: &str, name: &str) -> Option<u32> {
    lines(text)
        .find_map(|w| (w.len() >= 2 && (w[0] == name || w[2..].contains(&name))).then(|| w[1].parse().ok()).flatten())
}

/// `name` in `/etc/protocols`.
pub(crate) fn lookup_protocol(name: &str) -> Option<u32> {
    protocol_in(&read("/etc/protocols"), name)
}

/// The MAC address of `name` in ethers(5) text (the address first, in any
/// notation with `:` between one or two hex digits).
pub(crate) fn ether_in(text: &str, name: &str) -> Option<[u8; 6]> {
    lines(text).find_map(|w| {
        if w.get(1) != Some(&name) {
            return None;
        }
        let parts: Vec<&str> = w[0].split(':').collect();
        if parts.len() != 6 {
            return None;
        }
        let mut mac = [0u8; 6];
        for (m, p) in mac.iter_mut().zip(parts) {
            if p.is_empty() || p.len() > 2 {
                return None;
            }
            *m = u8::from_str_radix(p, 16).ok()?;
        }
        Some(mac)
    })
}

/// `name` in `/etc/ethers`.
pub(crate) fn lookup_ether(name: &str) -> Option<[u8; 6]> {
    ether_in(&read("/etc/ethers"), name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_by_name_and_alias_in_file_order() {
        let t = "127.0.0.1 localhost\n# 198.18.0.9 gw\n198.18.0.1 gw gateway.example # router\n\
                 2001:2::1 gw\n198.18.0.1 GW\n";
        assert_eq!(hosts_in(t, "gw"), ["198.18.0.1".parse::<IpAddr>().unwrap(), "2001:2::1".parse().unwrap()]);
        assert_eq!(hosts_in(t, "Gateway.Example").len(), 1);
        assert!(hosts_in(t, "router").is_empty());
    }

    #[test]
    fn networks_as_inet_network_reads_them() {
        let t = "default 0.0.0.0\nloopback 127.0.0.0\nten 10 tennet\nlab 198.18\n";
        assert_eq!(network_in(t, "loopback"), 0x7f00_0000);
        assert_eq!(network_in(t, "tennet"), 10);
        assert_eq!(network_in(t, "lab"), 0xc612);
        assert_eq!(network_in(t, "default"), 0);
        assert_eq!(network_in(t, "none"), 0);
    }

    #[test]
    fn services_tcp_first_any_when_both_agree() {
        let t = "http 80/tcp www\ndomain 53/tcp\ndomain 53/udp\nsyslog 514/udp\nodd 1/tcp\nodd 2/udp\n";
        assert_eq!(port_in(t, "www"), Some((80, PortOf::Tcp)));
        assert_eq!(port_in(t, "domain"), Some((53, PortOf::Any)));
        assert_eq!(port_in(t, "syslog"), Some((514, PortOf::Udp)));
        assert_eq!(port_in(t, "odd"), Some((1, PortOf::Tcp)));
        assert_eq!(port_in(t, "nope"), None);
    }

    #[test]
    fn protocols_and_ethers() {
        let t = "tcp 6 TCP\nospf 89 OSPFIGP\n";
        assert_eq!(protocol_in(t, "OSPFIGP"), Some(89));
        assert_eq!(protocol_in(t, "Tcp"), None, "exact, as getprotobyname");
        let e = "2:0:0:0:0:9 gw # comment\n02:00:00:00:00:0a other\n";
        assert_eq!(ether_in(e, "gw"), Some([2, 0, 0, 0, 0, 9]));
        assert_eq!(ether_in(e, "other"), Some([2, 0, 0, 0, 0, 10]));
        assert_eq!(ether_in(e, "none"), None);
    }
}
