//! Walking the packets of a retired TPACKET_V3 block: the block descriptor,
//! the per-packet headers and [`BlockPackets`], the iterator over them.
//!
//! Everything here is safe code over a byte slice. Every offset and length
//! the kernel wrote (first-packet offset, next offsets, `tp_mac`,
//! `tp_snaplen`) is bounds-checked before use: a malformed block ends the
//! walk early and is counted, never trusted.

use std::cell::Cell;
use std::fmt;

use crate::filter::{FilterMeta, Program};
use crate::packet::{LinkAddr, Packet, PacketDirection, PacketMeta, PacketStatus, Timestamp, TimestampSource};
use crate::sys::tpacket::{
    SOCKADDR_LL_OFFSET, TP_STATUS_CSUM_VALID, TP_STATUS_CSUMNOTREADY, TP_STATUS_GSO_TCP, TP_STATUS_LOSING,
    TP_STATUS_TS_RAW_HARDWARE, TP_STATUS_TS_SOFTWARE, TP_STATUS_TS_SYS_HARDWARE, TP_STATUS_VLAN_TPID_VALID,
    TP_STATUS_VLAN_VALID, TPACKET3_HDRLEN,
};

/// Size of `struct tpacket_block_desc`.
const BLOCK_DESC_LEN: usize = 48;

#[inline(always)]
fn u16_at<const N: usize>(b: &[u8; N], off: usize) -> u16 {
    u16::from_ne_bytes([b[off], b[off + 1]])
}

#[inline(always)]
fn u32_at<const N: usize>(b: &[u8; N], off: usize) -> u32 {
    u32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// The parts of `struct tpacket_block_desc` a reader uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BlockHeader {
    pub num_pkts: u32,
    pub offset_to_first_pkt: u32,
    pub blk_len: u32,
    pub seq_num: u64,
    pub ts_first: Timestamp,
    pub ts_last: Timestamp,
}

impl BlockHeader {
    /// Parse the block descriptor; `None` if the block is too short to hold one.
    pub(crate) fn parse(block: &[u8]) -> Option<Self> {
        let d: &[u8; BLOCK_DESC_LEN] = block.get(..BLOCK_DESC_LEN)?.try_into().ok()?;
        Some(Self {
            num_pkts: u32_at(d, 12),
            offset_to_first_pkt: u32_at(d, 16),
            blk_len: u32_at(d, 20),
            seq_num: u64::from_ne_bytes(d[24..32].try_into().ok()?),
            ts_first: Timestamp::new(u32_at(d, 32) as u64, u32_at(d, 36)),
            ts_last: Timestamp::new(u32_at(d, 40) as u64, u32_at(d, 44)),
        })
    }
}

/// Iterator over the packets of one block, yielding zero-copy [`Packet`]s.
///
/// Stops early (and flags the block as malformed) at the first header or
/// frame that does not lie entirely inside the block.
pub struct BlockPackets<'a> {
    block: &'a [u8],
    offset: usize,
    remaining: u32,
    malformed: Option<&'a Cell<bool>>,
    /// Re-check each packet with this program (frames queued before a
    /// filter change, see [`Capture::set_filter`](crate::Capture::set_filter)).
    recheck: Option<&'a Program>,
    /// Tagged frames of this block rebuilt with their VLAN tag.
    vlan: Option<&'a VlanScratch>,
}

/// The frames of one block whose VLAN tag the kernel stripped, rebuilt
/// with the tag back in place (802.1Q / 802.1AD), as libpcap does.
///
/// The tag goes between the MAC addresses and the EtherType, so such a
/// frame cannot be handed out in place. Only tagged frames are copied, into
/// this one buffer per capture, reused block after block (no allocation
/// once it has grown to the largest block's tagged bytes); every other
/// frame stays zero-copy. Filled when a block is taken, read by the
/// packets of that block.
#[derive(Debug, Default)]
pub(crate) struct VlanScratch {
    bytes: Vec<u8>,
    /// (packet ordinal in the block, start, length) of each rebuilt frame.
    index: Vec<(u32, u32, u32)>,
    num_pkts: u32,
}

/// 802.1Q tag length.
const VLAN_TAG_LEN: usize = 4;
/// `ETH_P_8021Q`: the TPID when the kernel does not report one.
const ETH_P_8021Q: u16 = 0x8100;

impl VlanScratch {
    /// Rebuild the tagged frames of `block`, each cut to `snaplen` bytes.
    pub(crate) fn fill(&mut self, block: &[u8], snaplen: Option<u32>) {
        self.bytes.clear();
        self.index.clear();
        self.num_pkts = 0;
        let Some(header) = BlockHeader::parse(block) else { return };
        self.num_pkts = header.num_pkts;
        let cap = snaplen.map_or(usize::MAX, |s| s as usize);
        // A light walk over the headers (offsets and status only); only
        // tagged packets are decoded, by the checked walker, and copied.
        let mut off = header.offset_to_first_pkt as usize;
        for ordinal in 0..header.num_pkts {
            let Some(h) = block.get(off..off + TPACKET3_HDRLEN) else { return };
            let h: &[u8; TPACKET3_HDRLEN] = h.try_into().expect("length checked");
            let next = u32_at(h, 0) as usize;
            if u32_at(h, 20) & TP_STATUS_VLAN_VALID != 0 {
                self.rebuild(block, off, ordinal, cap);
            }
            if next == 0 {
                return;
            }
            off += next;
        }
    }

    /// Rebuild packet `ordinal`, whose header is at `off`, with its tag.
    fn rebuild(&mut self, block: &[u8], off: usize, ordinal: u32, cap: usize) {
        if let Some(p) = BlockPackets::resume(block, (off, 1), None).next() {
            let (Some(tci), d) = (p.vlan_tci(), p.data()) else { return };
            if d.len() < 12 {
                return;
            }
            let tpid = p.vlan_tpid().unwrap_or(ETH_P_8021Q);
            let start = self.bytes.len();
            self.bytes.extend_from_slice(&d[..12]);
            self.bytes.extend_from_slice(&tpid.to_be_bytes());
            self.bytes.extend_from_slice(&tci.to_be_bytes());
            self.bytes.extend_from_slice(&d[12..]);
            self.bytes.truncate(start + (d.len() + VLAN_TAG_LEN).min(cap));
            self.index.push((ordinal, start as u32, (self.bytes.len() - start) as u32));
        }
    }

    /// The rebuilt frame of packet `ordinal`, if it was tagged.
    fn get(&self, ordinal: u32) -> Option<&[u8]> {
        let i = self.index.binary_search_by_key(&ordinal, |e| e.0).ok()?;
        let (_, start, len) = self.index[i];
        self.bytes.get(start as usize..(start + len) as usize)
    }
}

impl<'a> BlockPackets<'a> {
    /// Walk a whole TPACKET_V3 block held in ordinary memory: a copy of a
    /// ring block, a fixture, a benchmark's input. `block` starts with the
    /// `tpacket_block_desc`. Every offset in it is bounds-checked as in a live
    /// ring: a block too short for its descriptor yields nothing, and a
    /// malformed one ends the walk at the first packet that does not lie
    /// inside it.
    ///
    /// ```
    /// let block = vec![0u8; 4096]; // an empty block: no packets
    /// assert_eq!(netring::BlockPackets::from_block(&block).count(), 0);
    /// ```
    pub fn from_block(block: &'a [u8]) -> Self {
        match BlockHeader::parse(block) {
            Some(h) => Self::new(block, &h, None),
            None => Self::resume(block, (0, 0), None),
        }
    }

    /// Walk `block` (a whole V3 block, descriptor included).
    pub(crate) fn new(block: &'a [u8], header: &BlockHeader, malformed: Option<&'a Cell<bool>>) -> Self {
        let mut it = Self {
            block,
            offset: header.offset_to_first_pkt as usize,
            remaining: header.num_pkts,
            malformed,
            recheck: None,
            vlan: None,
        };
        if header.num_pkts > 0 && it.offset < BLOCK_DESC_LEN {
            it.fail();
        }
        it
    }

    /// Resume a walk at a saved [`cursor`](Self::cursor).
    pub(crate) fn resume(block: &'a [u8], cursor: (usize, u32), malformed: Option<&'a Cell<bool>>) -> Self {
        Self { block, offset: cursor.0, remaining: cursor.1, malformed, recheck: None, vlan: None }
    }

    /// Hand out tagged frames rebuilt with their VLAN tag from `scratch`
    /// (filled from this same block).
    pub(crate) fn vlan(mut self, scratch: Option<&'a VlanScratch>) -> Self {
        self.vlan = scratch;
        self
    }

    /// Skip packets `program` rejects and cut the others to its accept
    /// length, as the kernel would have with that program attached.
    pub(crate) fn recheck(mut self, program: Option<&'a Program>) -> Self {
        self.recheck = program;
        self
    }

    /// Where the walk stands: next header offset and packets left.
    pub(crate) fn cursor(&self) -> (usize, u32) {
        (self.offset, self.remaining)
    }

    fn fail(&mut self) -> Option<Packet<'a>> {
        self.remaining = 0;
        if let Some(flag) = self.malformed {
            flag.set(true);
        }
        None
    }
}

impl<'a> Iterator for BlockPackets<'a> {
    type Item = Packet<'a>;

    // Inlined into the caller's loop, so the metadata a loop never reads is
    // never decoded; the rare paths (re-check after a filter change, VLAN
    // re-insertion) stay out of line.
    #[inline(always)]
    fn next(&mut self) -> Option<Packet<'a>> {
        if self.recheck.is_none() && self.vlan.is_none() {
            return self.step();
        }
        self.next_slow()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining as usize))
    }
}

impl<'a> BlockPackets<'a> {
    /// The next packet when a re-check or VLAN re-insertion applies.
    #[inline(never)]
    fn next_slow(&mut self) -> Option<Packet<'a>> {
        loop {
            let ordinal = self.ordinal();
            let mut pkt = self.step()?;
            // The filter sees the frame as the kernel's filter did: untagged.
            if let Some(program) = self.recheck {
                let keep = program.run(pkt.data(), &FilterMeta::from_packet(&pkt)) as usize;
                if keep == 0 {
                    continue;
                }
                if keep < pkt.len() {
                    let mut meta = *pkt.meta();
                    meta.status |= PacketStatus::TRUNCATED;
                    pkt = Packet::new(&pkt.data()[..keep], meta);
                }
            }
            return Some(match self.vlan {
                Some(v) if pkt.meta().vlan_tci.is_some() => retag(pkt, v, ordinal),
                _ => pkt,
            });
        }
    }
}

/// `pkt` (packet `ordinal` of its block) with the VLAN tag re-inserted.
#[inline(never)]
fn retag<'a>(pkt: Packet<'a>, scratch: &'a VlanScratch, ordinal: u32) -> Packet<'a> {
    let Some(full) = scratch.get(ordinal) else { return pkt };
    // A re-check may have cut the untagged frame shorter than the scratch copy.
    let data = &full[..full.len().min(pkt.len() + VLAN_TAG_LEN)];
    let mut meta = *pkt.meta();
    // A corrupt `tp_len` near u32::MAX must not wrap to a short length.
    meta.original_len = meta.original_len.saturating_add(VLAN_TAG_LEN as u32);
    meta.status |= PacketStatus::VLAN_REINSERTED;
    meta.status.set(PacketStatus::TRUNCATED, data.len() < meta.original_len as usize);
    Packet::new(data, meta)
}

impl<'a> BlockPackets<'a> {
    /// Ordinal in the block of the packet `step` yields next.
    #[inline]
    fn ordinal(&self) -> u32 {
        self.vlan.map_or(0, |v| v.num_pkts.saturating_sub(self.remaining))
    }

    /// The next packet of the block, unfiltered.
    #[inline(always)]
    fn step(&mut self) -> Option<Packet<'a>> {
        if self.remaining == 0 {
            return None;
        }
        let off = self.offset;
        let Some(hdr) = self.block.get(off..off + TPACKET3_HDRLEN) else {
            return self.fail();
        };
        let hdr: &[u8; TPACKET3_HDRLEN] = hdr.try_into().expect("length checked");
        let next_offset = u32_at(hdr, 0) as usize;
        let snaplen = u32_at(hdr, 12) as usize;
        let start = off + u16_at(hdr, 24) as usize;
        let Some(data) = self.block.get(start..start + snaplen) else {
            return self.fail();
        };
        self.remaining -= 1;
        if self.remaining > 0 {
            // Strictly forward, so a corrupt chain cannot loop.
            if next_offset == 0 {
                self.fail();
            } else {
                self.offset = off + next_offset;
            }
        }
        Some(Packet::new(data, decode_meta(hdr, snaplen)))
    }
}

impl fmt::Debug for BlockPackets<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockPackets").field("offset", &self.offset).field("remaining", &self.remaining).finish()
    }
}

/// Decode a `tpacket3_hdr` and the `sockaddr_ll` after it.
#[inline(always)]
fn decode_meta(hdr: &[u8; TPACKET3_HDRLEN], snaplen: usize) -> PacketMeta {
    let tp_status = u32_at(hdr, 20);
    let original_len = u32_at(hdr, 16);
    let mut status = PacketStatus::empty();
    if snaplen < original_len as usize {
        status |= PacketStatus::TRUNCATED;
    }
    for (bit, flag) in [
        (TP_STATUS_LOSING, PacketStatus::LOSING),
        (TP_STATUS_VLAN_VALID, PacketStatus::VLAN_VALID),
        (TP_STATUS_VLAN_TPID_VALID, PacketStatus::VLAN_TPID_VALID),
        (TP_STATUS_CSUM_VALID, PacketStatus::CSUM_VALID),
        (TP_STATUS_CSUMNOTREADY, PacketStatus::CSUM_NOT_READY),
        (TP_STATUS_GSO_TCP, PacketStatus::GSO_TCP),
    ] {
        if tp_status & bit != 0 {
            status |= flag;
        }
    }
    let timestamp_source = if tp_status & TP_STATUS_TS_RAW_HARDWARE != 0 {
        TimestampSource::Hardware
    } else if tp_status & TP_STATUS_TS_SYS_HARDWARE != 0 {
        TimestampSource::SysHardware
    } else if tp_status & TP_STATUS_TS_SOFTWARE != 0 {
        TimestampSource::Software
    } else {
        TimestampSource::None
    };
    let ll = SOCKADDR_LL_OFFSET;
    let mut addr = [0u8; 8];
    addr.copy_from_slice(&hdr[ll + 12..ll + 20]);
    PacketMeta {
        timestamp: Timestamp::new(u32_at(hdr, 4) as u64, u32_at(hdr, 8)),
        timestamp_source,
        original_len,
        status,
        direction: PacketDirection::from_pkttype(hdr[ll + 10]),
        rxhash: u32_at(hdr, 28),
        vlan_tci: (tp_status & TP_STATUS_VLAN_VALID != 0).then(|| u32_at(hdr, 32) as u16),
        vlan_tpid: (tp_status & TP_STATUS_VLAN_TPID_VALID != 0).then(|| u16_at(hdr, 36)),
        ifindex: u32_at(hdr, ll + 4),
        protocol: u16::from_be_bytes([hdr[ll + 2], hdr[ll + 3]]),
        hatype: u16_at(hdr, ll + 8),
        source: LinkAddr::new(addr, hdr[ll + 11]),
    }
}

/// Blocks laid out as the kernel lays them out, for tests and benchmarks.
#[cfg(any(test, feature = "_bench", feature = "_fuzz"))]
pub(crate) mod fixture {
    use super::*;
    use crate::sys::tpacket::{TP_STATUS_USER, tpacket_align};

    /// One packet to put into a crafted block.
    pub(crate) struct Frame<'a> {
        pub data: &'a [u8],
        pub wire_len: u32,
        pub status: u32,
        pub pkttype: u8,
        pub ts: (u32, u32),
    }

    /// Build a V3 block exactly as the kernel lays it out (`tpacket_rcv` /
    /// `prb_fill_curr_block`): descriptor, then each packet at an aligned
    /// offset with `tp_mac` past the header and `sockaddr_ll`.
    pub(crate) fn craft_block(block_size: usize, frames: &[Frame<'_>], seq: u64) -> Vec<u8> {
        let mut b = vec![0u8; block_size];
        let first = BLOCK_DESC_LEN;
        let mut off = first;
        let mac = tpacket_align(TPACKET3_HDRLEN) + 2; // kernel: TPACKET_ALIGN(hdrlen) + 16 - ETH_HLEN%16
        for (i, f) in frames.iter().enumerate() {
            let next = if i + 1 == frames.len() { 0 } else { tpacket_align(mac + f.data.len()) as u32 };
            let h = &mut b[off..];
            h[0..4].copy_from_slice(&next.to_ne_bytes());
            h[4..8].copy_from_slice(&f.ts.0.to_ne_bytes());
            h[8..12].copy_from_slice(&f.ts.1.to_ne_bytes());
            h[12..16].copy_from_slice(&(f.data.len() as u32).to_ne_bytes());
            h[16..20].copy_from_slice(&f.wire_len.to_ne_bytes());
            h[20..24].copy_from_slice(&(f.status | TP_STATUS_USER).to_ne_bytes());
            h[24..26].copy_from_slice(&(mac as u16).to_ne_bytes());
            h[26..28].copy_from_slice(&((mac + 14) as u16).to_ne_bytes());
            h[28..32].copy_from_slice(&0xdead_beefu32.to_ne_bytes());
            h[32..36].copy_from_slice(&0x2005u32.to_ne_bytes());
            h[36..38].copy_from_slice(&0x8100u16.to_ne_bytes());
            let ll = SOCKADDR_LL_OFFSET;
            h[ll..ll + 2].copy_from_slice(&17u16.to_ne_bytes());
            h[ll + 2..ll + 4].copy_from_slice(&0x88b5u16.to_be_bytes());
            h[ll + 4..ll + 8].copy_from_slice(&7i32.to_ne_bytes());
            h[ll + 8..ll + 10].copy_from_slice(&1u16.to_ne_bytes());
            h[ll + 10] = f.pkttype;
            h[ll + 11] = 6;
            h[ll + 12..ll + 18].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
            h[mac..mac + f.data.len()].copy_from_slice(f.data);
            off += next as usize;
        }
        let d = &mut b[..BLOCK_DESC_LEN];
        d[0..4].copy_from_slice(&1u32.to_ne_bytes());
        d[12..16].copy_from_slice(&(frames.len() as u32).to_ne_bytes());
        d[16..20].copy_from_slice(&(first as u32).to_ne_bytes());
        d[20..24].copy_from_slice(&(off as u32 + 128).to_ne_bytes());
        d[24..32].copy_from_slice(&seq.to_ne_bytes());
        b
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::fixture::{Frame, craft_block};
    use super::*;
    use crate::sys::tpacket::tpacket_align;

    pub(crate) fn frame(data: &[u8]) -> Frame<'_> {
        Frame { data, wire_len: data.len() as u32, status: 0, pkttype: 0, ts: (100, 5) }
    }

    fn walk(block: &[u8]) -> (Vec<Vec<u8>>, bool) {
        let header = BlockHeader::parse(block).unwrap();
        let flag = Cell::new(false);
        let out = BlockPackets::new(block, &header, Some(&flag)).map(|p| p.data().to_vec()).collect();
        (out, flag.get())
    }

    #[test]
    fn walks_a_kernel_shaped_block() {
        let payloads: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; 60 + i as usize * 7]).collect();
        let frames: Vec<_> = payloads.iter().map(|p| frame(p)).collect();
        let block = craft_block(8192, &frames, 3);
        let (got, bad) = walk(&block);
        assert!(!bad);
        assert_eq!(got, payloads);
    }

    #[test]
    fn decodes_metadata() {
        let data = [0xaa; 64];
        let f = Frame {
            data: &data,
            wire_len: 1514,
            status: TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID | TP_STATUS_LOSING | TP_STATUS_TS_SOFTWARE,
            pkttype: 4,
            ts: (1_700_000_000, 123_456_789),
        };
        let block = craft_block(4096, &[f], 0);
        let header = BlockHeader::parse(&block).unwrap();
        let p = BlockPackets::new(&block, &header, None).next().unwrap();
        assert_eq!(p.len(), 64);
        assert_eq!(p.original_len(), 1514);
        assert!(p.is_truncated());
        assert!(p.status().contains(PacketStatus::LOSING | PacketStatus::VLAN_VALID | PacketStatus::VLAN_TPID_VALID));
        assert_eq!(p.vlan_tci(), Some(0x2005));
        assert_eq!(p.vlan_tpid(), Some(0x8100));
        assert_eq!(p.direction(), PacketDirection::Outgoing);
        assert_eq!(p.timestamp(), Timestamp::new(1_700_000_000, 123_456_789));
        assert_eq!(p.meta().timestamp_source, TimestampSource::Software);
        assert_eq!(p.ifindex(), 7);
        assert_eq!(p.protocol(), 0x88b5);
        assert_eq!(p.rxhash(), 0xdead_beef);
        assert_eq!(p.source().to_string(), "02:00:00:00:00:01");
        assert_eq!(p.meta().hatype, 1);
    }

    #[test]
    fn vlan_fields_absent_without_status_bits() {
        let data = [1u8; 60];
        let block = craft_block(4096, &[frame(&data)], 0);
        let header = BlockHeader::parse(&block).unwrap();
        let p = BlockPackets::new(&block, &header, None).next().unwrap();
        assert_eq!(p.vlan_tci(), None);
        assert_eq!(p.vlan_tpid(), None);
        assert!(!p.is_truncated());
    }

    pub(crate) fn set_u32(b: &mut [u8], off: usize, v: u32) {
        b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    }

    #[test]
    fn malformed_blocks_stop_the_walk_without_panicking() {
        let data = [7u8; 100];
        let good = craft_block(4096, &[frame(&data), frame(&data), frame(&data)], 0);
        let first = BLOCK_DESC_LEN;
        let mac = tpacket_align(TPACKET3_HDRLEN) + 2;
        let stride = tpacket_align(mac + 100);

        // num_pkts larger than the chain: stops at the last real packet.
        let mut b = good.clone();
        set_u32(&mut b, 12, 1000);
        let (got, bad) = walk(&b);
        assert_eq!(got.len(), 3);
        assert!(bad);

        // First-packet offset past the end.
        let mut b = good.clone();
        set_u32(&mut b, 16, 4090);
        assert_eq!(walk(&b), (vec![], true));

        // First-packet offset inside the descriptor.
        let mut b = good.clone();
        set_u32(&mut b, 16, 8);
        assert_eq!(walk(&b), (vec![], true));

        // Snap length running off the block.
        let mut b = good.clone();
        set_u32(&mut b, first + stride + 12, 5000);
        let (got, bad) = walk(&b);
        assert_eq!(got.len(), 1);
        assert!(bad);

        // tp_mac pointing past the end.
        let mut b = good.clone();
        b[first + 24..first + 26].copy_from_slice(&u16::MAX.to_ne_bytes());
        assert_eq!(walk(&b), (vec![], true));

        // next_offset far past the end.
        let mut b = good.clone();
        set_u32(&mut b, first, u32::MAX);
        let (got, bad) = walk(&b);
        assert_eq!(got.len(), 1);
        assert!(bad);

        // Block shorter than a descriptor.
        assert!(BlockHeader::parse(&good[..40]).is_none());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic fuzz: random headers over random bytes.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..if cfg!(miri) { 50 } else { 2000 } {
            let mut b: Vec<u8> = (0..1024).map(|_| rnd() as u8).collect();
            set_u32(&mut b, 12, (rnd() % 64) as u32);
            set_u32(&mut b, 16, (rnd() % 1100) as u32);
            let header = BlockHeader::parse(&b).unwrap();
            let n = BlockPackets::new(&b, &header, None).count();
            assert!(n <= 64);
        }
    }

    #[test]
    fn vlan_tags_are_reinserted_only_into_tagged_frames() {
        let plain: Vec<u8> = (0..60).collect();
        let tagged: Vec<u8> = (100..160).collect();
        let mut f = frame(&tagged);
        f.status = TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID;
        let block = craft_block(4096, &[frame(&plain), f, frame(&plain)], 0);
        let mut scratch = VlanScratch::default();
        scratch.fill(&block, None);
        let header = BlockHeader::parse(&block).unwrap();
        let got: Vec<_> = BlockPackets::new(&block, &header, None).vlan(Some(&scratch)).collect();
        assert_eq!(got[0].data(), &plain[..]);
        assert_eq!(got[2].data(), &plain[..]);
        // craft_block writes TCI 0x2005 and TPID 0x8100.
        let mut want = tagged[..12].to_vec();
        want.extend_from_slice(&[0x81, 0x00, 0x20, 0x05]);
        want.extend_from_slice(&tagged[12..]);
        assert_eq!(got[1].data(), &want[..]);
        assert_eq!(got[1].original_len(), 64);
        assert!(got[1].status().contains(PacketStatus::VLAN_REINSERTED));
        assert!(!got[1].is_truncated());
        // Zero-copy for the others: their bytes are the block's.
        assert!(block.as_ptr_range().contains(&got[0].data().as_ptr()));
        assert!(!block.as_ptr_range().contains(&got[1].data().as_ptr()));
        // A corrupt wire length at the top of the range saturates instead of
        // wrapping to a short length (found by the `block` fuzz target).
        let mut huge = frame(&tagged);
        huge.status = TP_STATUS_VLAN_VALID;
        huge.wire_len = u32::MAX - 1;
        let b2 = craft_block(4096, &[huge], 0);
        scratch.fill(&b2, None);
        let h2 = BlockHeader::parse(&b2).unwrap();
        let p = BlockPackets::new(&b2, &h2, None).vlan(Some(&scratch)).next().unwrap();
        assert_eq!((p.len(), p.meta().original_len), (64, u32::MAX));
        assert!(p.is_truncated());
        // A snap length cuts the rebuilt frame, which is then truncated.
        scratch.fill(&block, Some(20));
        let p = BlockPackets::new(&block, &header, None).vlan(Some(&scratch)).nth(1).unwrap();
        assert_eq!(p.data(), &want[..20]);
        assert!(p.is_truncated());
    }
}
