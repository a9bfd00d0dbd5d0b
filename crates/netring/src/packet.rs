//! Packet views and their metadata, common to every backend.
//!
//! A [`Packet`] borrows the batch it came from: its bytes live in ring memory
//! that goes back to the kernel when the batch drops, so keeping a packet (or
//! its data) past its batch does not compile. [`Packet::to_owned`] copies it
//! out into an [`OwnedPacket`].

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time in nanoseconds since the Unix epoch, as the kernel stamped it.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    nanos: u64,
}

impl Timestamp {
    /// From seconds and nanoseconds (`nanos` may exceed one second; it carries).
    pub const fn new(secs: u64, nanos: u32) -> Self {
        Self { nanos: secs * 1_000_000_000 + nanos as u64 }
    }

    /// From nanoseconds since the epoch.
    pub const fn from_nanos(nanos: u64) -> Self {
        Self { nanos }
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> u64 {
        self.nanos
    }

    /// Whole seconds since the epoch.
    pub const fn secs(self) -> u64 {
        self.nanos / 1_000_000_000
    }

    /// Nanoseconds past [`secs`](Self::secs).
    pub const fn subsec_nanos(self) -> u32 {
        (self.nanos % 1_000_000_000) as u32
    }

    /// As a `SystemTime`.
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.nanos)
    }

    /// The current wall-clock time.
    pub fn now() -> Self {
        let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Self { nanos: d.as_nanos() as u64 }
    }
}

impl fmt::Display for Timestamp {
    /// `seconds.nanoseconds`, e.g. `1700000000.000000042`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.secs(), self.subsec_nanos())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

bitflags::bitflags! {
    /// What the kernel says about one packet (from `tp_status`), plus
    /// [`TRUNCATED`](Self::TRUNCATED), which netring derives.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct PacketStatus: u32 {
        /// Captured length < original length (snap length or block size cut it).
        const TRUNCATED = 1 << 0;
        /// The socket has dropped packets since the previous packet or block
        /// that carried this flag (`TP_STATUS_LOSING`).
        const LOSING = 1 << 1;
        /// [`Packet::vlan_tci`] is valid (`TP_STATUS_VLAN_VALID`).
        const VLAN_VALID = 1 << 2;
        /// [`Packet::vlan_tpid`] is valid (`TP_STATUS_VLAN_TPID_VALID`).
        const VLAN_TPID_VALID = 1 << 3;
        /// The checksum was verified (`TP_STATUS_CSUM_VALID`).
        const CSUM_VALID = 1 << 4;
        /// The checksum is not yet computed, e.g. offloaded on output
        /// (`TP_STATUS_CSUMNOTREADY`).
        const CSUM_NOT_READY = 1 << 5;
        /// A GSO TCP packet (`TP_STATUS_GSO_TCP`).
        const GSO_TCP = 1 << 6;
        /// netring put the VLAN tag the kernel stripped back into the frame
        /// ([`CaptureBuilder::reinsert_vlan`](crate::CaptureBuilder::reinsert_vlan));
        /// [`Packet::vlan_tci`] still holds it.
        const VLAN_REINSERTED = 1 << 7;
    }
}

/// What a captured packet's bytes start with (a pcap `LINKTYPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum LinkType {
    /// An Ethernet header (`LINKTYPE_ETHERNET`, 1).
    #[default]
    Ethernet,
    /// The network-layer packet; the link layer is in the metadata. Written
    /// to files behind a 20-byte Linux cooked v2 header
    /// (`LINKTYPE_LINUX_SLL2`, 276), as tcpdump 4.99 / libpcap 1.10 write
    /// `-i any` (`listening on any, link-type LINUX_SLL2`).
    LinuxSll2,
}

impl LinkType {
    /// The pcap `LINKTYPE_*` number.
    pub const fn linktype(self) -> u32 {
        match self {
            Self::Ethernet => 1,
            Self::LinuxSll2 => 276,
        }
    }

    /// tcpdump's name and description (`EN10MB (Ethernet)`, …).
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Ethernet => "EN10MB (Ethernet)",
            Self::LinuxSll2 => "LINUX_SLL2 (Linux cooked v2)",
        }
    }
}

/// Which clock stamped a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TimestampSource {
    /// No timestamp was taken.
    #[default]
    None,
    /// The kernel's software clock (`TP_STATUS_TS_SOFTWARE`).
    Software,
    /// The device's hardware clock (`TP_STATUS_TS_RAW_HARDWARE`).
    Hardware,
    /// Hardware, converted to system time (`TP_STATUS_TS_SYS_HARDWARE`, deprecated).
    SysHardware,
    /// User space, when the packet was taken from the ring (AF_XDP
    /// without the XDP program's metadata).
    User,
    /// The XDP program, as it handled the frame (`bpf_ktime_get_tai_ns`),
    /// in wall-clock time: AF_XDP with the built-in program's metadata.
    XdpProgram,
    /// The device's receive time, from the XDP program
    /// (`bpf_xdp_metadata_rx_timestamp`), on the device's clock as
    /// [`Hardware`](Self::Hardware).
    XdpDevice,
}

/// Where a packet was going, from the link layer's point of view (`sll_pkttype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketDirection {
    /// Addressed to this host (`PACKET_HOST`).
    Host,
    /// Link-layer broadcast (`PACKET_BROADCAST`).
    Broadcast,
    /// Link-layer multicast (`PACKET_MULTICAST`).
    Multicast,
    /// Addressed to another host, seen in promiscuous mode (`PACKET_OTHERHOST`).
    OtherHost,
    /// Sent by this host (`PACKET_OUTGOING`).
    Outgoing,
    /// Any other `sll_pkttype` value (loopback, user, kernel).
    Other(u8),
}

impl PacketDirection {
    /// Decode `sll_pkttype`.
    pub const fn from_pkttype(t: u8) -> Self {
        match t {
            0 => Self::Host,
            1 => Self::Broadcast,
            2 => Self::Multicast,
            3 => Self::OtherHost,
            4 => Self::Outgoing,
            x => Self::Other(x),
        }
    }

    /// A short lower-case name (`host`, `out`, …) for display.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Broadcast => "bcast",
            Self::Multicast => "mcast",
            Self::OtherHost => "other",
            Self::Outgoing => "out",
            Self::Other(_) => "?",
        }
    }
}

impl fmt::Display for PacketDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A link-layer address of up to 8 bytes (`sll_addr` / `sll_halen`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LinkAddr {
    bytes: [u8; 8],
    len: u8,
}

impl LinkAddr {
    /// From raw bytes and a length (clamped to 8).
    pub const fn new(bytes: [u8; 8], len: u8) -> Self {
        Self { bytes, len: if len > 8 { 8 } else { len } }
    }

    /// The address bytes in use.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl fmt::Debug for LinkAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for LinkAddr {
    /// Colon-separated hex, e.g. `02:00:00:00:00:01`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.as_bytes().iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Everything known about a packet apart from its bytes.
///
/// Fields a backend cannot know are zero / `None` (AF_XDP has no direction
/// or VLAN metadata, for instance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PacketMeta {
    /// When the packet was stamped.
    pub timestamp: Timestamp,
    /// Which clock stamped it.
    pub timestamp_source: TimestampSource,
    /// Length on the wire (may exceed the captured length).
    pub original_len: u32,
    /// Status flags.
    pub status: PacketStatus,
    /// Direction.
    pub direction: PacketDirection,
    /// Flow hash (`tp_rxhash`; 0 unless rxhash filling is on).
    pub rxhash: u32,
    /// VLAN TCI the kernel stripped, when [`PacketStatus::VLAN_VALID`].
    pub vlan_tci: Option<u16>,
    /// VLAN TPID the kernel stripped, when [`PacketStatus::VLAN_TPID_VALID`].
    pub vlan_tpid: Option<u16>,
    /// Interface index the packet was seen on.
    pub ifindex: u32,
    /// Link-layer protocol (EtherType, host byte order) as the kernel parsed it.
    pub protocol: u16,
    /// ARP hardware type of the interface (`ARPHRD_ETHER` = 1).
    pub hatype: u16,
    /// Link-layer source address.
    pub source: LinkAddr,
}

impl PacketMeta {
    /// The 20-byte Linux cooked v2 header (`LINKTYPE_LINUX_SLL2`, libpcap's
    /// `struct sll2_header`, big endian): protocol, 2 reserved zero bytes,
    /// interface index, ARPHRD type, packet type, address length, 8 address
    /// bytes.
    pub fn sll2_header(&self) -> [u8; 20] {
        let pkttype = match self.direction {
            PacketDirection::Host => 0,
            PacketDirection::Broadcast => 1,
            PacketDirection::Multicast => 2,
            PacketDirection::OtherHost => 3,
            PacketDirection::Outgoing => 4,
            PacketDirection::Other(x) => x,
        };
        let addr = self.source.as_bytes();
        let mut h = [0u8; 20];
        h[0..2].copy_from_slice(&self.protocol.to_be_bytes());
        h[4..8].copy_from_slice(&self.ifindex.to_be_bytes());
        h[8..10].copy_from_slice(&self.hatype.to_be_bytes());
        h[10] = pkttype;
        h[11] = addr.len() as u8;
        h[12..12 + addr.len()].copy_from_slice(addr);
        h
    }
}

impl Default for PacketMeta {
    fn default() -> Self {
        Self {
            timestamp: Timestamp::default(),
            timestamp_source: TimestampSource::None,
            original_len: 0,
            status: PacketStatus::empty(),
            direction: PacketDirection::Host,
            rxhash: 0,
            vlan_tci: None,
            vlan_tpid: None,
            ifindex: 0,
            protocol: 0,
            hatype: 0,
            source: LinkAddr::default(),
        }
    }
}

/// One received packet, borrowed from its batch (zero-copy).
///
/// The bytes stay valid until the batch is dropped; the borrow checker
/// enforces it:
///
/// ```compile_fail,E0597
/// # fn f(cap: &mut netring::Capture) {
/// let kept: &[u8];
/// {
///     let batch = cap.next_batch().unwrap();
///     let pkt = batch.iter().next().unwrap();
///     kept = pkt.data();
/// } // the batch goes back to the kernel here
/// println!("{kept:?}");
/// # }
/// ```
///
/// ```compile_fail,E0505
/// # fn f(cap: &mut netring::Capture) {
/// let batch = cap.next_batch().unwrap();
/// let pkt = batch.iter().next().unwrap();
/// drop(batch);
/// println!("{:?}", pkt.data());
/// # }
/// ```
#[derive(Clone, Copy)]
pub struct Packet<'a> {
    data: &'a [u8],
    meta: PacketMeta,
}

impl<'a> Packet<'a> {
    /// A packet view over `data` with `meta`: the backends' constructor.
    pub(crate) fn new(data: &'a [u8], meta: PacketMeta) -> Self {
        Self { data, meta }
    }

    /// The first `len` bytes of this packet, marked
    /// [`TRUNCATED`](PacketStatus::TRUNCATED) if that cuts anything (a
    /// snap length applied after capture); the packet itself if it is no
    /// longer than `len`.
    #[must_use]
    pub fn truncated(self, len: usize) -> Self {
        if self.data.len() <= len {
            return self;
        }
        let mut meta = self.meta;
        meta.status |= PacketStatus::TRUNCATED;
        Self { data: &self.data[..len], meta }
    }

    /// The captured bytes, starting at the link-layer header.
    #[inline]
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Captured length (`data().len()`).
    #[inline]
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether no bytes were captured.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Length on the wire.
    #[inline]
    pub fn original_len(&self) -> usize {
        self.meta.original_len as usize
    }

    /// Whether fewer bytes were captured than were on the wire.
    #[inline]
    pub fn is_truncated(&self) -> bool {
        self.meta.status.contains(PacketStatus::TRUNCATED)
    }

    /// When the kernel stamped the packet.
    #[inline]
    pub fn timestamp(&self) -> Timestamp {
        self.meta.timestamp
    }

    /// Status flags.
    #[inline]
    pub fn status(&self) -> PacketStatus {
        self.meta.status
    }

    /// Direction.
    #[inline]
    pub fn direction(&self) -> PacketDirection {
        self.meta.direction
    }

    /// Flow hash, 0 unless rxhash filling was requested.
    #[inline]
    pub fn rxhash(&self) -> u32 {
        self.meta.rxhash
    }

    /// VLAN TCI the kernel stripped from the frame, if any.
    #[inline]
    pub fn vlan_tci(&self) -> Option<u16> {
        self.meta.vlan_tci
    }

    /// VLAN TPID the kernel stripped from the frame, if reported.
    #[inline]
    pub fn vlan_tpid(&self) -> Option<u16> {
        self.meta.vlan_tpid
    }

    /// Interface index.
    #[inline]
    pub fn ifindex(&self) -> u32 {
        self.meta.ifindex
    }

    /// Link-layer protocol (host byte order).
    #[inline]
    pub fn protocol(&self) -> u16 {
        self.meta.protocol
    }

    /// Link-layer source address.
    #[inline]
    pub fn source(&self) -> LinkAddr {
        self.meta.source
    }

    /// All metadata.
    #[inline]
    pub fn meta(&self) -> &PacketMeta {
        &self.meta
    }

    /// The 20-byte Linux cooked v2 header (`LINKTYPE_LINUX_SLL2`) that
    /// describes this packet's link layer: protocol, interface index,
    /// hardware type, direction, source address — what libpcap puts in
    /// front of a cooked-mode packet.
    pub fn sll2_header(&self) -> [u8; 20] {
        self.meta.sll2_header()
    }

    /// Copy the packet out of the ring.
    pub fn to_owned(&self) -> OwnedPacket {
        OwnedPacket { data: self.data.to_vec(), meta: self.meta }
    }
}

impl fmt::Debug for Packet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Packet").field("len", &self.data.len()).field("meta", &self.meta).finish()
    }
}

/// A packet copied out of the ring: owns its bytes, outlives any batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OwnedPacket {
    /// The captured bytes.
    pub data: Vec<u8>,
    /// Metadata.
    pub meta: PacketMeta,
}

impl OwnedPacket {
    /// A borrowed view of this packet.
    pub fn as_packet(&self) -> Packet<'_> {
        Packet { data: &self.data, meta: self.meta }
    }

    /// The captured bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// When the kernel stamped the packet.
    pub fn timestamp(&self) -> Timestamp {
        self.meta.timestamp
    }

    /// Length on the wire.
    pub fn original_len(&self) -> usize {
        self.meta.original_len as usize
    }
}

impl From<Packet<'_>> for OwnedPacket {
    fn from(p: Packet<'_>) -> Self {
        p.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_parts_and_display() {
        let t = Timestamp::new(1_700_000_000, 42);
        assert_eq!(t.secs(), 1_700_000_000);
        assert_eq!(t.subsec_nanos(), 42);
        assert_eq!(t.to_string(), "1700000000.000000042");
        assert_eq!(Timestamp::from_nanos(t.as_nanos()), t);
        assert_eq!(Timestamp::new(1, 1_500_000_000).as_nanos(), 2_500_000_000);
    }

    #[test]
    fn directions_decode() {
        assert_eq!(PacketDirection::from_pkttype(0), PacketDirection::Host);
        assert_eq!(PacketDirection::from_pkttype(4), PacketDirection::Outgoing);
        assert_eq!(PacketDirection::from_pkttype(7), PacketDirection::Other(7));
    }

    #[test]
    fn link_addr_display() {
        let a = LinkAddr::new([2, 0, 0, 0, 0, 0xab, 9, 9], 6);
        assert_eq!(a.to_string(), "02:00:00:00:00:ab");
        assert_eq!(LinkAddr::new([0; 8], 200).as_bytes().len(), 8);
    }

    #[test]
    fn truncated_cuts_and_marks_only_when_it_cuts() {
        let data = [1u8, 2, 3, 4, 5];
        let meta = PacketMeta { original_len: 5, ..Default::default() };
        let p = Packet::new(&data, meta);
        let cut = p.truncated(3);
        assert_eq!(cut.data(), &[1, 2, 3]);
        assert_eq!(cut.original_len(), 5);
        assert!(cut.is_truncated());
        assert!(cut.status().contains(PacketStatus::TRUNCATED));
        for len in [5, 9] {
            let same = p.truncated(len);
            assert_eq!(same.data(), &data);
            assert!(!same.status().contains(PacketStatus::TRUNCATED));
        }
    }

    #[test]
    fn owned_round_trip() {
        let meta = PacketMeta { original_len: 3, ..Default::default() };
        let p = Packet::new(&[1, 2, 3], meta);
        let o = p.to_owned();
        assert_eq!(o.data(), &[1, 2, 3]);
        assert_eq!(o.as_packet().meta(), p.meta());
    }
}
