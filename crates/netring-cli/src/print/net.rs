//! The network layer as the transport printers see it: the two
//! addresses, how a line names them, the checksum pseudo-header.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::addr;

/// The network layer as the transport printers need it.
pub(super) struct Net {
    pub(super) src: IpAddr,
    pub(super) dst: IpAddr,
    /// The pseudo-header sum for a transport checksum over `len` bytes of
    /// protocol `proto` (RFC 768/793, RFC 8200 §8.1), unfolded.
    pseudo: u32,
    /// The IPv6 extension headers passed (`HBH `), shown after the
    /// addresses.
    pub(super) ext: String,
    /// The first fragment of a datagram (more follow): its transport
    /// header's length and checksum cover bytes not here.
    pub(super) fragment: bool,
}

impl Net {
    /// The network layer from `src` to `dst`; `pseudo`: the sum of the
    /// two addresses.
    pub(super) fn new(src: IpAddr, dst: IpAddr, pseudo: u32) -> Self {
        Self { src, dst, pseudo, ext: String::new(), fragment: false }
    }

    /// The pseudo-header sum for a checksum over `len` bytes of `proto`.
    pub(super) fn pseudo(&self, proto: u8, len: u32) -> u32 {
        let mut s = self.pseudo + u32::from(proto);
        s += len >> 16;
        s += len & 0xffff;
        s
    }

    /// Whether this is IPv6.
    pub(super) fn v6(&self) -> bool {
        self.src.is_ipv6()
    }

    /// `src > dst: `.
    pub(super) fn pair(&self, out: &mut String) {
        addr(out, self.src);
        out.push_str(" > ");
        addr(out, self.dst);
        out.push_str(": ");
        out.push_str(&self.ext);
    }

    /// `src.sport > dst.dport: `.
    pub(super) fn ports(&self, out: &mut String, sport: u16, dport: u16) {
        addr(out, self.src);
        let _ = write!(out, ".{sport} > ");
        addr(out, self.dst);
        let _ = write!(out, ".{dport}: ");
        out.push_str(&self.ext);
    }
}
