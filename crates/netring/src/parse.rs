//! Header views through [`etherparse`] (feature `parse`): Ethernet, VLAN,
//! ARP, IPv4/IPv6 (with extension headers), TCP, UDP, ICMP — zero-copy
//! slices of the captured bytes.
//!
//! ```no_run
//! # let mut cap = netring::Capture::open("eth0")?;
//! use netring::parse::etherparse::{NetSlice, TransportSlice};
//! if let Some(batch) = cap.next_batch() {
//!     for pkt in &batch {
//!         let Ok(headers) = pkt.parse() else { continue };
//!         if let (Some(NetSlice::Ipv4(ip)), Some(TransportSlice::Tcp(tcp))) = (&headers.net, &headers.transport) {
//!             println!("{}:{} > {}:{}", ip.header().source_addr(), tcp.source_port(),
//!                      ip.header().destination_addr(), tcp.destination_port());
//!         }
//!     }
//! }
//! # Ok::<(), netring::Error>(())
//! ```
//!
//! [`parse`](Packet::parse) is strict: a length that does not add up is an
//! error. A capture cut by a snap length is truncated by design, so
//! [`parse_lax`](Packet::parse_lax) keeps whatever headers are whole and says
//! where parsing stopped.

/// The etherparse version these views come from.
pub use etherparse;
use etherparse::err::LenError;
use etherparse::err::packet::SliceError;
use etherparse::{LaxSlicedPacket, SlicedPacket};

use crate::packet::{OwnedPacket, Packet};

impl<'a> Packet<'a> {
    /// The packet's headers, from its Ethernet header down, as etherparse
    /// slices borrowing the packet's bytes (zero-copy, like the packet
    /// itself).
    ///
    /// # Errors
    /// etherparse's [`SliceError`]: a header is cut short (a truncated
    /// capture: use [`parse_lax`](Self::parse_lax)) or malformed.
    pub fn parse(&self) -> Result<SlicedPacket<'a>, SliceError> {
        SlicedPacket::from_ethernet(self.data())
    }

    /// As [`parse`](Self::parse), but lengths may fall short (a snap length
    /// cut the packet): the headers that are whole come back, and
    /// `stop_err` says where and why parsing stopped.
    ///
    /// # Errors
    /// [`LenError`] when not even the Ethernet header was captured.
    pub fn parse_lax(&self) -> Result<LaxSlicedPacket<'a>, LenError> {
        LaxSlicedPacket::from_ethernet(self.data())
    }
}

impl OwnedPacket {
    /// The packet's headers as etherparse slices; see [`Packet::parse`].
    ///
    /// # Errors
    /// As [`Packet::parse`].
    pub fn parse(&self) -> Result<SlicedPacket<'_>, SliceError> {
        SlicedPacket::from_ethernet(self.data())
    }

    /// The headers that are whole; see [`Packet::parse_lax`].
    ///
    /// # Errors
    /// As [`Packet::parse_lax`].
    pub fn parse_lax(&self) -> Result<LaxSlicedPacket<'_>, LenError> {
        LaxSlicedPacket::from_ethernet(self.data())
    }
}

#[cfg(test)]
mod tests {
    use etherparse::{NetSlice, PacketBuilder, TransportSlice};

    use crate::packet::{PacketMeta, PacketStatus};

    use super::*;

    fn udp_frame() -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64)
            .udp(40000, 53);
        let mut out = Vec::new();
        b.write(&mut out, b"hello").unwrap();
        out
    }

    #[test]
    fn strict_views_of_a_whole_packet() {
        let f = udp_frame();
        let p = Packet::new(&f, PacketMeta { original_len: f.len() as u32, ..Default::default() });
        let h = p.parse().unwrap();
        let Some(NetSlice::Ipv4(ip)) = &h.net else { panic!("IPv4") };
        assert_eq!(ip.header().source_addr().octets(), [198, 18, 0, 1]);
        assert_eq!(ip.header().destination_addr().octets(), [198, 18, 0, 2]);
        let Some(TransportSlice::Udp(udp)) = &h.transport else { panic!("UDP") };
        assert_eq!((udp.source_port(), udp.destination_port()), (40000, 53));
        assert_eq!(udp.payload(), b"hello");
        let owned = p.to_owned();
        assert_eq!(owned.parse().unwrap().transport.map(|t| matches!(t, TransportSlice::Udp(_))), Some(true));
    }

    #[test]
    fn a_snap_length_cut_is_an_error_strictly_and_partial_laxly() {
        let f = udp_frame();
        let cut = &f[..14 + 20 + 4]; // Ethernet, IPv4, half a UDP header
        let meta = PacketMeta { original_len: f.len() as u32, status: PacketStatus::TRUNCATED, ..Default::default() };
        let p = Packet::new(cut, meta);
        assert!(p.parse().is_err());
        let lax = p.parse_lax().unwrap();
        assert!(matches!(lax.net, Some(etherparse::LaxNetSlice::Ipv4(_))));
        assert!(lax.transport.is_none());
        assert!(lax.stop_err.is_some());
        assert!(Packet::new(&f[..10], meta).parse_lax().is_err(), "not even an Ethernet header");
    }
}
