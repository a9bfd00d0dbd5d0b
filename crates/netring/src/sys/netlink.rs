//! A minimal rtnetlink client: enough to create veth pairs, set links up,
//! change MTU and delete links. Message layout from `linux/netlink.h` and
//! `linux/rtnetlink.h`; attributes are built as bytes in safe code.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use super::{cvt_size, retry_eintr};
use crate::error::{Error, Result};

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
/// `RTM_NEWLINK`
pub const RTM_NEWLINK: u16 = 16;
/// `RTM_DELLINK`
#[cfg(any(test, feature = "testkit"))]
pub const RTM_DELLINK: u16 = 17;

/// `IFLA_IFNAME`
pub const IFLA_IFNAME: u16 = 3;
/// `IFLA_MTU`
pub const IFLA_MTU: u16 = 4;
/// `IFLA_LINKINFO`
#[cfg(any(test, feature = "testkit"))]
pub const IFLA_LINKINFO: u16 = 18;
/// `IFLA_NET_NS_FD`
#[cfg(any(test, feature = "testkit"))]
pub const IFLA_NET_NS_FD: u16 = 28;
/// `IFLA_NUM_TX_QUEUES`
pub const IFLA_NUM_TX_QUEUES: u16 = 31;
/// `IFLA_NUM_RX_QUEUES`
pub const IFLA_NUM_RX_QUEUES: u16 = 32;
/// `IFLA_INFO_KIND`
#[cfg(any(test, feature = "testkit"))]
pub const IFLA_INFO_KIND: u16 = 1;
/// `IFLA_INFO_DATA`
#[cfg(any(test, feature = "testkit"))]
pub const IFLA_INFO_DATA: u16 = 2;
/// `VETH_INFO_PEER`
#[cfg(any(test, feature = "testkit"))]
pub const VETH_INFO_PEER: u16 = 1;
#[cfg(any(test, feature = "testkit"))]
const NLA_F_NESTED: u16 = 1 << 15;

/// An rtnetlink request under construction: header, `ifinfomsg`, attributes.
#[derive(Debug, Clone)]
pub struct Request {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

impl Request {
    /// A new link request (`ifinfomsg` with `index`, `flags`, `change`).
    pub fn link(msg_type: u16, create: bool, index: i32, flags: u32, change: u32) -> Self {
        let mut flags_nl = NLM_F_REQUEST | NLM_F_ACK;
        if create {
            flags_nl |= NLM_F_CREATE | NLM_F_EXCL;
        }
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, set in `finish`
        buf.extend_from_slice(&msg_type.to_ne_bytes());
        buf.extend_from_slice(&flags_nl.to_ne_bytes());
        buf.extend_from_slice(&1u32.to_ne_bytes()); // seq
        buf.extend_from_slice(&0u32.to_ne_bytes()); // pid
        let mut r = Self { buf, nests: Vec::new() };
        r.ifinfomsg(index, flags, change);
        r
    }

    /// A dump request (`NLM_F_DUMP`) of `msg_type` with a family-specific
    /// header `body` (`ifinfomsg`, `ifaddrmsg`, `rtmsg`).
    pub fn dump(msg_type: u16, body: &[u8]) -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&msg_type.to_ne_bytes());
        buf.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
        buf.extend_from_slice(&1u32.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(body);
        buf.resize(align4(buf.len()), 0);
        Self { buf, nests: Vec::new() }
    }

    /// Append a `struct ifinfomsg` (also used inside `VETH_INFO_PEER`).
    pub fn ifinfomsg(&mut self, index: i32, flags: u32, change: u32) -> &mut Self {
        self.buf.push(libc::AF_UNSPEC as u8);
        self.buf.push(0);
        self.buf.extend_from_slice(&0u16.to_ne_bytes()); // ifi_type
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&change.to_ne_bytes());
        self
    }

    /// Append an attribute with a raw payload.
    #[cfg(any(test, feature = "testkit"))]
    pub fn attr(&mut self, ty: u16, payload: &[u8]) -> &mut Self {
        let len = 4 + payload.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }

    /// Append a NUL-terminated string attribute.
    #[cfg(any(test, feature = "testkit"))]
    pub fn attr_str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.attr(ty, &v)
    }

    /// Append a `u32` attribute.
    #[cfg(any(test, feature = "testkit"))]
    pub fn attr_u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.attr(ty, &v.to_ne_bytes())
    }

    /// Open a nested attribute; close it with [`end_nest`](Self::end_nest).
    #[cfg(any(test, feature = "testkit"))]
    pub fn begin_nest(&mut self, ty: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        self
    }

    /// Close the innermost nested attribute.
    #[cfg(any(test, feature = "testkit"))]
    pub fn end_nest(&mut self) -> &mut Self {
        let start = self.nests.pop().expect("unbalanced nest");
        let len = (self.buf.len() - start) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        self
    }

    /// The finished message bytes.
    pub fn finish(&mut self) -> &[u8] {
        assert!(self.nests.is_empty(), "unclosed nest");
        let len = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&len.to_ne_bytes());
        &self.buf
    }
}

/// A `NETLINK_ROUTE` socket, in the namespace of the thread that opened it.
#[derive(Debug)]
pub struct Netlink {
    fd: OwnedFd,
}

impl Netlink {
    /// Open a route netlink socket.
    pub fn open() -> Result<Self> {
        let fd = super::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE, "socket(AF_NETLINK)")?;
        Ok(Self { fd })
    }

    /// Send a request and wait for its acknowledgement.
    ///
    /// # Errors
    /// The kernel's error for the request, named `what`.
    #[cfg(any(test, feature = "testkit"))]
    pub fn request(&self, req: &mut Request, what: &'static str) -> Result<()> {
        self.exchange(req, what).map(drop)
    }

    /// Send a request and return the first reply that is not an
    /// acknowledgement (empty if the kernel only acknowledged).
    fn exchange(&self, req: &mut Request, what: &'static str) -> Result<Vec<u8>> {
        let msg = req.finish();
        retry_eintr(|| super::send(self.fd.as_fd(), msg, 0)).map_err(|e| Error::from_io(what, e))?;
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = retry_eintr(|| {
                // SAFETY: `buf` is writable for its length for the duration of the call.
                cvt_size(unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) })
            })
            .map_err(|e| Error::from_io(what, e))?;
            for reply in replies(&buf[..n]) {
                match reply {
                    Reply::Ack => return Ok(Vec::new()),
                    Reply::Errno(errno) => return Err(Error::from_io(what, std::io::Error::from_raw_os_error(errno))),
                    Reply::Message(ty, msg) if ty >= 16 => return Ok(msg.to_vec()),
                    Reply::Message(..) | Reply::Done => {}
                }
            }
        }
    }

    /// Send a dump request and collect every reply message until
    /// `NLMSG_DONE`.
    ///
    /// # Errors
    /// The kernel's error for the request, named `what`.
    pub fn dump(&self, req: &mut Request, what: &'static str) -> Result<Vec<Vec<u8>>> {
        let msg = req.finish();
        retry_eintr(|| super::send(self.fd.as_fd(), msg, 0)).map_err(|e| Error::from_io(what, e))?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut out = Vec::new();
        loop {
            let n = retry_eintr(|| {
                // SAFETY: `buf` is writable for its length for the duration of the call.
                cvt_size(unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) })
            })
            .map_err(|e| Error::from_io(what, e))?;
            if n == 0 {
                return Ok(out);
            }
            for reply in replies(&buf[..n]) {
                match reply {
                    Reply::Done => return Ok(out),
                    Reply::Errno(errno) => return Err(Error::from_io(what, std::io::Error::from_raw_os_error(errno))),
                    Reply::Ack => {}
                    Reply::Message(_, msg) => out.push(msg.to_vec()),
                }
            }
        }
    }

    /// Every link in the namespace (`RTM_GETLINK` dump).
    ///
    /// # Errors
    /// The netlink request failed.
    pub fn links(&self) -> Result<Vec<LinkInfo>> {
        let mut body = [0u8; 16];
        body[0] = libc::AF_UNSPEC as u8;
        let msgs = self.dump(&mut Request::dump(RTM_GETLINK, &body), "netlink(RTM_GETLINK dump)")?;
        Ok(msgs
            .iter()
            .filter(|m| u16::from_ne_bytes([m[4], m[5]]) == RTM_NEWLINK)
            .map(|m| LinkInfo::parse(m))
            .collect())
    }

    /// Every address in the namespace (`RTM_GETADDR` dump).
    ///
    /// # Errors
    /// The netlink request failed.
    pub fn addresses(&self) -> Result<Vec<AddrAttrs>> {
        let body = [libc::AF_UNSPEC as u8, 0, 0, 0, 0, 0, 0, 0];
        let msgs = self.dump(&mut Request::dump(RTM_GETADDR, &body), "netlink(RTM_GETADDR dump)")?;
        Ok(msgs.iter().filter_map(|m| AddrAttrs::parse(m)).collect())
    }

    /// Interface indices that carry a default route (`RTM_GETROUTE` dump,
    /// both families, every table; multipath next hops included).
    ///
    /// # Errors
    /// The netlink request failed.
    pub fn default_route_ifindices(&self) -> Result<Vec<u32>> {
        let body = [libc::AF_UNSPEC as u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let msgs = self.dump(&mut Request::dump(RTM_GETROUTE, &body), "netlink(RTM_GETROUTE dump)")?;
        let mut out = Vec::new();
        for m in &msgs {
            default_route_ifindices(m, &mut out);
        }
        Ok(out)
    }

    /// Attributes of link `index` (`RTM_GETLINK`).
    ///
    /// # Errors
    /// `ENODEV` (as [`Error::Io`]) if no such link.
    pub fn get_link(&self, index: u32) -> Result<LinkInfo> {
        let mut req = Request::link(RTM_GETLINK, false, index as i32, 0, 0);
        let msg = self.exchange(&mut req, "netlink(RTM_GETLINK)")?;
        Ok(LinkInfo::parse(&msg))
    }
}

/// `RTM_GETLINK`
pub const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const RTA_OIF: u16 = 4;
const RTA_MULTIPATH: u16 = 9;
const RTN_UNICAST: u8 = 1;
const IFLA_ADDRESS: u16 = 1;
const IFLA_STATS64: u16 = 23;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_QDISC: u16 = 6;
const IFLA_PROMISCUITY: u16 = 30;
const IFLA_XDP: u16 = 43;
const IFLA_XDP_ATTACHED: u16 = 2;
const IFLA_XDP_PROG_ID: u16 = 4;

/// One address, from `RTM_NEWADDR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrAttrs {
    /// `ifa_index`
    pub index: u32,
    /// `ifa_family` (`AF_INET`, `AF_INET6`)
    pub family: u8,
    /// `ifa_prefixlen`
    pub prefix: u8,
    /// `IFA_LOCAL`, else `IFA_ADDRESS`
    pub address: Vec<u8>,
}

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
    /// Number of promiscuous-mode holders (`IFLA_PROMISCUITY`).
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
    /// The root qdisc's kind (`IFLA_QDISC`): `noop` until the kernel has
    /// activated the device (every frame sent before is dropped), then e.g.
    /// `noqueue`, `pfifo_fast`, `fq_codel`.
    pub qdisc: String,
}

/// Iterate `(type, payload)` over netlink attributes.
fn attrs(mut b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if b.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        let ty = u16::from_ne_bytes([b[2], b[3]]) & 0x3fff;
        if len < 4 || len > b.len() {
            return None;
        }
        let payload = &b[4..len];
        b = &b[align4(len).min(b.len())..];
        Some((ty, payload))
    })
}

/// One message of a receive buffer, as the receive loops act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// `NLMSG_DONE`: the end of a dump.
    Done,
    /// `NLMSG_ERROR` with code 0: the acknowledgement of a request.
    Ack,
    /// `NLMSG_ERROR` with a nonzero code: the errno it carries (positive
    /// for the kernel's negative codes).
    Errno(i32),
    /// Any other message (type, whole message with its header), including
    /// an `NLMSG_ERROR` too short to carry a code.
    Message(u16, &'a [u8]),
}

/// The messages at the start of a receive buffer, in order. Stops at the
/// first header whose length is shorter than a header or runs past the
/// buffer (a truncated reply), so every message lies inside `buf` and each
/// step moves forward by at least a header.
pub fn replies(buf: &[u8]) -> impl Iterator<Item = Reply<'_>> {
    let mut off = 0usize;
    std::iter::from_fn(move || {
        let h = buf.get(off..off.checked_add(16)?)?;
        let len = u32::from_ne_bytes(h[0..4].try_into().expect("4")) as usize;
        let ty = u16::from_ne_bytes(h[4..6].try_into().expect("2"));
        let msg = buf.get(off..off.checked_add(len)?).filter(|_| len >= 16)?;
        off = off.saturating_add(align4(len));
        Some(match ty {
            NLMSG_DONE => Reply::Done,
            NLMSG_ERROR if len >= 20 => match i32::from_ne_bytes(msg[16..20].try_into().expect("4")) {
                0 => Reply::Ack,
                // The kernel sends -errno; any other value is passed on
                // without overflowing (i32::MIN has no negation).
                code => Reply::Errno(code.saturating_neg()),
            },
            _ => Reply::Message(ty, msg),
        })
    })
}

/// Append the interfaces that carry a default route according to one
/// `RTM_NEWROUTE` message (`RTA_OIF`, and each `RTA_MULTIPATH` next hop);
/// any other message adds nothing.
pub fn default_route_ifindices(m: &[u8], out: &mut Vec<u32>) {
    if m.len() < 28 || u16::from_ne_bytes([m[4], m[5]]) != RTM_NEWROUTE {
        return;
    }
    let (dst_len, rtype) = (m[17], m[23]);
    if dst_len != 0 || rtype != RTN_UNICAST {
        return;
    }
    for (ty, p) in attrs(&m[28..]) {
        match ty {
            RTA_OIF => out.push(u32_of(p)),
            RTA_MULTIPATH => {
                // struct rtnexthop { u16 len; u8 flags; u8 hops; i32 ifindex; } + attrs
                let mut q = p;
                while q.len() >= 8 {
                    let len = u16::from_ne_bytes([q[0], q[1]]) as usize;
                    out.push(u32_of(&q[4..8]));
                    if len < 8 || len > q.len() {
                        break;
                    }
                    q = &q[align4(len).min(q.len())..];
                }
            }
            _ => {}
        }
    }
}

impl AddrAttrs {
    /// The address one `RTM_NEWADDR` message describes (`IFA_LOCAL`, else
    /// `IFA_ADDRESS`); `None` for any other message or one without either.
    pub fn parse(m: &[u8]) -> Option<Self> {
        if m.len() < 24 || u16::from_ne_bytes([m[4], m[5]]) != RTM_NEWADDR {
            return None;
        }
        let (family, prefix, index) = (m[16], m[17], u32_of(&m[20..24]));
        let mut addr = None;
        for (ty, p) in attrs(&m[24..]) {
            // IFA_LOCAL is the interface's own address on point-to-point
            // links; IFA_ADDRESS elsewhere.
            if ty == IFA_LOCAL || (ty == IFA_ADDRESS && addr.is_none()) {
                addr = Some(p.to_vec());
            }
        }
        addr.map(|address| Self { index, family, prefix, address })
    }
}

fn u32_of(p: &[u8]) -> u32 {
    p.get(..4).map_or(0, |v| u32::from_ne_bytes(v.try_into().expect("4")))
}

impl LinkInfo {
    /// The attributes of one `RTM_NEWLINK` message (header included); the
    /// defaults for anything shorter than its fixed part.
    pub(crate) fn parse(msg: &[u8]) -> Self {
        let mut a = Self::default();
        if msg.len() < 32 {
            return a;
        }
        a.index = u32_of(&msg[20..24]);
        a.flags = u32_of(&msg[24..28]);
        for (ty, p) in attrs(&msg[32..]) {
            match ty {
                IFLA_IFNAME => {
                    a.name = String::from_utf8_lossy(p.split(|&c| c == 0).next().unwrap_or(&[])).into_owned()
                }
                IFLA_MTU => a.mtu = u32_of(p),
                IFLA_QDISC => {
                    a.qdisc = String::from_utf8_lossy(p.split(|&c| c == 0).next().unwrap_or(&[])).into_owned()
                }
                IFLA_ADDRESS => a.address = p.to_vec(),
                IFLA_PROMISCUITY => a.promiscuity = u32_of(p),
                IFLA_NUM_TX_QUEUES => a.tx_queues = u32_of(p),
                IFLA_NUM_RX_QUEUES => a.rx_queues = u32_of(p),
                IFLA_OPERSTATE => a.operstate = p.first().copied().unwrap_or(0),
                IFLA_STATS64 => {
                    // struct rtnl_link_stats64: rx_packets, tx_packets, rx_bytes,
                    // tx_bytes, rx_errors, tx_errors, rx_dropped, tx_dropped,
                    // multicast, collisions, rx_length_errors, rx_over_errors,
                    // rx_crc_errors, rx_frame_errors, rx_fifo_errors,
                    // rx_missed_errors, …
                    let st =
                        |i: usize| p.get(i * 8..i * 8 + 8).map_or(0, |c| u64::from_ne_bytes(c.try_into().expect("8")));
                    (a.rx_packets, a.tx_packets, a.rx_bytes, a.tx_bytes) = (st(0), st(1), st(2), st(3));
                    (a.rx_dropped, a.tx_dropped, a.rx_missed_errors) = (st(6), st(7), st(15));
                }
                IFLA_XDP => {
                    for (t, q) in attrs(p) {
                        match t {
                            IFLA_XDP_ATTACHED => a.xdp_attached = q.first().copied().unwrap_or(0),
                            IFLA_XDP_PROG_ID => a.xdp_prog_id = u32_of(q),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(ty: u16, body: &[u8]) -> Vec<u8> {
        let mut m = ((16 + body.len()) as u32).to_ne_bytes().to_vec();
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(body);
        m.resize(align4(m.len()), 0);
        m
    }

    #[test]
    fn replies_split_a_buffer_and_stop_at_a_truncated_message() {
        let link = msg(RTM_NEWLINK, &[0; 16]);
        let mut buf = [link.clone(), msg(NLMSG_ERROR, &0i32.to_ne_bytes()), msg(NLMSG_DONE, &[0; 4])].concat();
        let got: Vec<_> = replies(&buf).collect();
        assert_eq!(got, [Reply::Message(RTM_NEWLINK, &link[..]), Reply::Ack, Reply::Done]);
        // A header claiming more than the buffer holds ends the walk there.
        buf[link.len()..link.len() + 4].copy_from_slice(&4096u32.to_ne_bytes());
        assert_eq!(replies(&buf).count(), 1);
        // So does a length shorter than a header (0 would never move on).
        buf[..4].copy_from_slice(&0u32.to_ne_bytes());
        assert_eq!(replies(&buf).count(), 0);
        // An error too short to carry a code is passed on as a message.
        let short = msg(NLMSG_ERROR, &[]);
        assert_eq!(replies(&short).collect::<Vec<_>>(), [Reply::Message(NLMSG_ERROR, &short[..])]);
    }

    #[test]
    fn an_error_code_of_i32_min_is_an_errno_not_an_overflow() {
        // `-code` overflows (a panic in debug builds) for i32::MIN.
        let m = msg(NLMSG_ERROR, &i32::MIN.to_ne_bytes());
        assert_eq!(replies(&m).collect::<Vec<_>>(), [Reply::Errno(i32::MAX)]);
        let m = msg(NLMSG_ERROR, &(-19i32).to_ne_bytes());
        assert_eq!(replies(&m).collect::<Vec<_>>(), [Reply::Errno(19)]);
    }

    #[test]
    fn address_and_route_messages_parse() {
        let mut addr = vec![2, 24, 0, 0];
        addr.extend_from_slice(&7u32.to_ne_bytes());
        addr.extend_from_slice(&[8, 0, IFA_ADDRESS as u8, 0, 198, 18, 0, 1]);
        let a = AddrAttrs::parse(&msg(RTM_NEWADDR, &addr)).unwrap();
        assert_eq!(a, AddrAttrs { index: 7, family: 2, prefix: 24, address: vec![198, 18, 0, 1] });
        assert_eq!(AddrAttrs::parse(&msg(RTM_NEWLINK, &addr)), None);
        let mut route = vec![2, 0, 0, 0, 254, 3, 0, RTN_UNICAST, 0, 0, 0, 0];
        route.extend_from_slice(&[8, 0, RTA_OIF as u8, 0]);
        route.extend_from_slice(&3u32.to_ne_bytes());
        // RTA_MULTIPATH with two next hops, then one whose length runs past.
        route.extend_from_slice(&[28, 0, RTA_MULTIPATH as u8, 0]);
        for (len, ifindex) in [(8u16, 4u32), (8, 5), (200, 6)] {
            route.extend_from_slice(&len.to_ne_bytes());
            route.extend_from_slice(&[0, 0]);
            route.extend_from_slice(&ifindex.to_ne_bytes());
        }
        let mut out = Vec::new();
        default_route_ifindices(&msg(RTM_NEWROUTE, &route), &mut out);
        assert_eq!(out, [3, 4, 5, 6]);
    }

    #[test]
    fn builds_a_veth_request_with_nested_attributes() {
        let mut r = Request::link(RTM_NEWLINK, true, 0, 0, 0);
        r.attr_str(IFLA_IFNAME, "a").begin_nest(IFLA_LINKINFO).attr_str(IFLA_INFO_KIND, "veth").end_nest();
        let m = r.finish().to_vec();
        assert_eq!(m.len() % 4, 0);
        assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()) as usize, m.len());
        // header 16 + ifinfomsg 16, then IFLA_IFNAME "a\0" padded to 8.
        assert_eq!(&m[32..36], &[6, 0, 3, 0]);
        assert_eq!(&m[36..38], b"a\0");
        // LINKINFO nest: 4 + kind("veth\0" -> 9, padded 12) = 16.
        assert_eq!(u16::from_ne_bytes(m[40..42].try_into().unwrap()), 16);
        assert_eq!(u16::from_ne_bytes(m[42..44].try_into().unwrap()), IFLA_LINKINFO | NLA_F_NESTED);
        assert_eq!(&m[48..53], b"veth\0");
    }
}
