//! What the built-in program writes for received frames, as the socket
//! reports it ([`XdpRxMetadata`], from [`XdpSocket::rx_metadata`](super::XdpSocket::rx_metadata)), and the conversion of the
//! program's `CLOCK_TAI` stamps to wall-clock time.
//!
//! # Clocks
//!
//! The program stamps each frame with `bpf_ktime_get_tai_ns()`
//! (`CLOCK_TAI`). User space turns that into wall-clock time (the
//! `CLOCK_REALTIME` that AF_PACKET's software timestamps use) by
//! subtracting the kernel's TAI offset, read once per batch as
//! `CLOCK_TAI − CLOCK_REALTIME` rounded to the second. Both clocks are
//! views of one timekeeper that differ by exactly that whole number of
//! seconds (0 unless a time daemon set it, 37 s with one that does), and a
//! step or slew of the wall clock moves both alike, so the conversion adds
//! no error; only frames stamped just before the offset itself changes (a
//! leap second, a daemon setting it) and read after come out off by that
//! change.

use crate::bpf::{RxKfuncs, XdpRxMetaPlacement};

/// What the built-in XDP program of a socket writes in front of each frame
/// ([`XdpSocket::rx_metadata`](super::XdpSocket::rx_metadata)); see [`XdpRxMeta`](crate::bpf::XdpRxMeta).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct XdpRxMetadata {
    /// The program writes the metadata area, with its own time at least
    /// ([`TimestampSource::XdpProgram`](crate::TimestampSource::XdpProgram)).
    /// `false`: the frames carry the time user space took their batch.
    pub program_time: bool,
    /// Where the area lies (with [`program_time`](Self::program_time)).
    pub placement: Option<XdpRxMetaPlacement>,
    /// The program is bound to the device and asks it for its receive
    /// time (`bpf_xdp_metadata_rx_timestamp`; asked for with
    /// [`XdpSocketBuilder::timestamping`](crate::XdpSocketBuilder::timestamping)
    /// on a device with a hardware clock); frames the device stamped carry
    /// [`TimestampSource::XdpDevice`](crate::TimestampSource::XdpDevice).
    pub device_time: bool,
    /// … for the RX hash and its type (`bpf_xdp_metadata_rx_hash`; asked
    /// for with [`XdpSocketBuilder::rxhash`](crate::XdpSocketBuilder::rxhash)).
    pub rx_hash: bool,
    /// … for the VLAN tag the device took off (`bpf_xdp_metadata_rx_vlan_tag`).
    pub vlan_tag: bool,
    /// Why a richer setting was not used, one reason per step down (each
    /// also logged once, at `info`, when the program was attached).
    pub fallback: Vec<String>,
    /// Batches whose first frame came without the area although the program
    /// writes one: the attach mode or driver refused `bpf_xdp_adjust_meta`,
    /// and those frames carry user-space time (logged once per socket, at
    /// `warn`).
    pub batches_without: u64,
}

impl XdpRxMetadata {
    /// The program writes the area, calling the kfuncs of `kfuncs`.
    pub(super) fn written(placement: XdpRxMetaPlacement, kfuncs: Option<&RxKfuncs>, fallback: Vec<String>) -> Self {
        let k = kfuncs.copied().unwrap_or_default();
        Self {
            program_time: true,
            placement: Some(placement),
            device_time: k.timestamp.is_some(),
            rx_hash: k.hash.is_some(),
            vlan_tag: k.vlan.is_some(),
            fallback,
            batches_without: 0,
        }
    }

    /// The program writes nothing.
    pub(super) fn off(fallback: Vec<String>) -> Self {
        Self { fallback, ..Self::default() }
    }
}

/// `CLOCK_TAI` nanoseconds (as the program takes them) to wall-clock
/// nanoseconds, given the TAI offset.
pub(crate) fn tai_to_wall(tai_ns: u64, tai_offset_ns: i64) -> u64 {
    tai_ns.saturating_add_signed(-tai_offset_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tai_minus_the_offset() {
        assert_eq!(tai_to_wall(1_700_000_037_000_000_001, 37_000_000_000), 1_700_000_000_000_000_001);
        assert_eq!(tai_to_wall(5, 0), 5);
        assert_eq!(tai_to_wall(5, 10), 0, "saturates");
    }
}
