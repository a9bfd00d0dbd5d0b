//! [`XdpSocket::rx_metadata`]: what the socket's XDP program writes for
//! each received frame (apart from `meta.rs`, which the program setup and
//! the batches use, so that neither depends on the socket).

use super::meta::XdpRxMetadata;
use super::socket::XdpSocket;

impl XdpSocket {
    /// What the built-in XDP program writes in front of each received
    /// frame: which timestamps, hash and VLAN fields frames can carry, why
    /// richer ones were not available, and how many batches arrived
    /// without the area. All `false` without the built-in program, or
    /// with [`XdpSocketBuilder::rx_metadata`](crate::XdpSocketBuilder::rx_metadata) off.
    pub fn rx_metadata(&self) -> XdpRxMetadata {
        let mut m = self.program.as_ref().map(|p| p.meta.clone()).unwrap_or_default();
        m.batches_without = self.rx.as_ref().map_or(0, |r| r.meta_missing);
        m
    }
}
