//! Entry points for this repository's fuzz targets (`fuzz/fuzz_targets/`)
//! and their proptest twins (`tests/parser_fuzz.rs`): the parsers of
//! untrusted bytes that the public API does not reach on their own (the
//! netlink reply parser, the VLAN re-insertion walk of a TPACKET_V3 block)
//! and the kernel-shaped block fixture. Behind the private `_fuzz`
//! feature; **not part of the API**, no stability promise.

use std::cell::Cell;
use std::ops::Range;

use crate::afpacket::block::fixture::{Frame, craft_block};
use crate::afpacket::block::{BlockHeader, BlockPackets, VlanScratch};
use crate::interface::LinkInfo;
use crate::packet::PacketStatus;
use crate::sys::netlink::{self, AddrAttrs, Reply};
use crate::sys::tpacket::{TPACKET3_HDRLEN, tpacket_align};

/// Size of `struct tpacket_block_desc`, where the first packet may start.
pub const BLOCK_DESC_LEN: usize = 48;

/// One packet to lay into a crafted block.
#[derive(Debug, Clone, Copy)]
pub struct CraftedFrame<'a> {
    /// The captured bytes.
    pub data: &'a [u8],
    /// Length on the wire (`tp_len`).
    pub wire_len: u32,
    /// `tp_status` bits (`TP_STATUS_USER` is added).
    pub status: u32,
}

/// The block bytes a frame of `len` captured bytes takes in a crafted
/// block (header, link-layer address, data, alignment).
pub fn crafted_frame_len(len: usize) -> usize {
    tpacket_align(tpacket_align(TPACKET3_HDRLEN) + 2 + len)
}

/// A TPACKET_V3 block of `block_size` bytes holding `frames`, laid out as
/// the kernel's `tpacket_rcv` lays them out (VLAN TCI 0x2005, TPID 0x8100
/// where the status says so); `None` if they do not fit.
pub fn v3_block(block_size: usize, frames: &[CraftedFrame<'_>], seq: u64) -> Option<Vec<u8>> {
    let need = BLOCK_DESC_LEN + frames.iter().map(|f| crafted_frame_len(f.data.len())).sum::<usize>();
    if need > block_size {
        return None;
    }
    let frames: Vec<Frame<'_>> = frames
        .iter()
        .map(|f| Frame { data: f.data, wire_len: f.wire_len, status: f.status, pkttype: 0, ts: (1, 2) })
        .collect();
    Some(craft_block(block_size, &frames, seq))
}

/// One packet of a [`walk_block`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walked {
    /// Its bytes (copied out).
    pub data: Vec<u8>,
    /// Where they were: `Some(range)` inside the block, `None` in the VLAN
    /// scratch buffer (a frame rebuilt with its tag).
    pub in_block: Option<Range<usize>>,
    /// `tp_len` as decoded (plus the tag for a rebuilt frame).
    pub original_len: u32,
    /// The walker's status flags.
    pub status: PacketStatus,
}

/// Walk `block` as a capture does: the descriptor parsed, the VLAN scratch
/// filled (tagged frames rebuilt, cut to `snaplen`), the packets walked
/// with the malformed-block flag. Returns the packets and the flag; a block
/// too short for its descriptor yields `(vec![], false)`.
pub fn walk_block(block: &[u8], snaplen: Option<u32>) -> (Vec<Walked>, bool) {
    let Some(header) = BlockHeader::parse(block) else { return (Vec::new(), false) };
    let mut scratch = VlanScratch::default();
    scratch.fill(block, snaplen);
    let flag = Cell::new(false);
    let base = block.as_ptr() as usize;
    let packets = BlockPackets::new(block, &header, Some(&flag))
        .vlan(Some(&scratch))
        .map(|p| {
            let (start, len) = (p.data().as_ptr() as usize, p.data().len());
            let in_block =
                (start >= base && start + len <= base + block.len()).then(|| start - base..start - base + len);
            Walked { data: p.data().to_vec(), in_block, original_len: p.meta().original_len, status: p.status() }
        })
        .collect();
    (packets, flag.get())
}

/// What [`netlink_reply`] found in a receive buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetlinkReply {
    /// Each message other than an acknowledgement, an error or the end of
    /// a dump: its type and where it lies in the buffer.
    pub messages: Vec<(u16, Range<usize>)>,
    /// `NLMSG_DONE` messages.
    pub done: usize,
    /// Acknowledgements (`NLMSG_ERROR` with code 0).
    pub acks: usize,
    /// The errno of each other `NLMSG_ERROR`.
    pub errnos: Vec<i32>,
    /// Every message parsed as `RTM_NEWLINK`, whatever its type.
    pub links: Vec<LinkInfo>,
    /// Addresses of the `RTM_NEWADDR` messages: (index, family, prefix, bytes).
    pub addresses: Vec<(u32, u8, u8, Vec<u8>)>,
    /// Interfaces with a default route, from the `RTM_NEWROUTE` messages.
    pub default_routes: Vec<u32>,
}

/// Parse a netlink receive buffer as the library's receive loops do
/// (messages, acknowledgements, errors), and every message with each of
/// the link, address and route parsers.
pub fn netlink_reply(buf: &[u8]) -> NetlinkReply {
    let mut out = NetlinkReply::default();
    let base = buf.as_ptr() as usize;
    for reply in netlink::replies(buf) {
        match reply {
            Reply::Done => out.done += 1,
            Reply::Ack => out.acks += 1,
            Reply::Errno(e) => out.errnos.push(e),
            Reply::Message(ty, m) => {
                let start = m.as_ptr() as usize - base;
                out.messages.push((ty, start..start + m.len()));
                out.links.push(LinkInfo::parse(m));
                if let Some(a) = AddrAttrs::parse(m) {
                    out.addresses.push((a.index, a.family, a.prefix, a.address));
                }
                netlink::default_route_ifindices(m, &mut out.default_routes);
            }
        }
    }
    out
}

// ---- The properties, checked by the fuzz targets and the proptests alike.
// Each `check_*` panics (with the property's name) when one is broken.

/// The block walk's properties on any bytes: every packet lies inside the
/// block (or, rebuilt with its VLAN tag, in the scratch copy: the untagged
/// frame plus the tag, cut to the snap length, flagged and with the same
/// addresses); the walk with and without re-insertion yields the same
/// number of packets, at most `num_pkts`, and a short walk is flagged
/// malformed. Returns the packets' bytes in the order walked.
pub fn check_block(block: &[u8], snaplen: Option<u32>) -> Vec<Vec<u8>> {
    let range = block.as_ptr_range();
    let plain: Vec<&[u8]> = BlockPackets::from_block(block).map(|p| p.data()).collect();
    for p in &plain {
        assert!(p.is_empty() || (range.contains(&p.as_ptr()) && p.as_ptr_range().end <= range.end), "inside the block");
    }
    let (walked, malformed) = walk_block(block, snaplen);
    assert_eq!(walked.len(), plain.len(), "VLAN re-insertion neither adds nor removes packets");
    if block.len() >= BLOCK_DESC_LEN {
        let num_pkts = u32::from_ne_bytes(block[12..16].try_into().expect("4 bytes")) as usize;
        assert!(walked.len() <= num_pkts);
        assert!(malformed || walked.len() == num_pkts, "a short walk is flagged malformed");
    }
    for (w, p) in walked.iter().zip(&plain) {
        match &w.in_block {
            Some(r) => assert_eq!(&block[r.clone()], *p, "an untagged packet is the block's bytes"),
            None => {
                assert!(w.status.contains(PacketStatus::VLAN_REINSERTED));
                assert_eq!(w.data.len(), (p.len() + 4).min(snaplen.map_or(usize::MAX, |s| s as usize)));
                assert_eq!(&w.data[..12.min(w.data.len())], &p[..12.min(w.data.len())]);
            }
        }
    }
    walked.into_iter().map(|w| w.data).collect()
}

/// One record of a capture file: time stamp, original length, bytes.
pub type Record = (crate::Timestamp, u32, Vec<u8>);

/// Read a pcap or pcapng file to its end or its first error, checking the
/// reader's properties: each record within its original length and the
/// file, every error a corrupt-file error naming an offset inside the
/// input, nothing after an error. Returns the records and the error's
/// offset, if one ended the file.
pub fn read_all_checked(bytes: &[u8]) -> (Vec<Record>, Option<u64>) {
    use crate::Error;
    let mut r = match crate::pcap::Reader::new(bytes, "fuzz") {
        Ok(r) => r,
        Err(Error::CorruptFile { offset, .. }) => {
            assert!(offset <= bytes.len() as u64);
            return (Vec::new(), Some(offset));
        }
        Err(e) => panic!("not a corrupt-file error: {e}"),
    };
    let mut out = Vec::new();
    loop {
        match r.next_record() {
            Ok(Some(rec)) => {
                assert!(rec.data.len() <= rec.original_len as usize, "captured bytes within the original length");
                assert!(rec.data.len() <= bytes.len(), "a record no longer than the file");
                out.push((rec.timestamp, rec.original_len, rec.data.to_vec()));
            }
            Ok(None) => return (out, None),
            Err(Error::CorruptFile { offset, .. }) => {
                assert!(offset <= bytes.len() as u64, "offset {offset} past the end ({} bytes)", bytes.len());
                assert!(matches!(r.next_record(), Ok(None)), "nothing after an error");
                return (out, Some(offset));
            }
            Err(e) => panic!("not a corrupt-file error: {e}"),
        }
    }
}

/// A valid pcapng (`ng`) or pcap file holding `records` (pcapng with the
/// interface name `if_name`), and each record's extent in it.
pub fn write_file(ng: bool, records: &[Record], if_name: Option<&str>) -> (Vec<u8>, Vec<(u64, u64)>) {
    use crate::pcap::{PcapNgWriter, PcapWriter};
    let mut extents = Vec::new();
    let bytes = if ng {
        let mut w = PcapNgWriter::new(Vec::new(), 65535, if_name).expect("in memory");
        for (ts, orig, d) in records {
            let start = w.bytes();
            w.write(*ts, *orig, d).expect("in memory");
            extents.push((start, w.bytes()));
        }
        w.finish(None).expect("in memory")
    } else {
        let mut w = PcapWriter::new(Vec::new(), 65535).expect("in memory");
        for (ts, orig, d) in records {
            let start = w.bytes();
            w.write(*ts, *orig, d).expect("in memory");
            extents.push((start, w.bytes()));
        }
        w.into_inner().expect("in memory")
    };
    (bytes, extents)
}

/// The netlink walk's properties on any buffer: at most one message per
/// 16-byte header, each inside the buffer, in order, not overlapping, at
/// least a header long; every error code non-zero.
pub fn check_netlink(buf: &[u8]) -> NetlinkReply {
    let r = netlink_reply(buf);
    let n = r.messages.len() + r.done + r.acks + r.errnos.len();
    assert!(n <= buf.len() / 16, "{n} messages in {} bytes", buf.len());
    let mut end = 0;
    for (_, m) in &r.messages {
        assert!(m.start >= end && m.end <= buf.len() && m.len() >= 16, "{m:?} in {} bytes", buf.len());
        end = m.end;
    }
    assert!(r.errnos.iter().all(|&e| e != 0));
    r
}

/// The BTF reader's properties on any bytes: parsing either fails or
/// yields a walk whose ids count from 1 without a gap, with no more records
/// than 12-byte headers fit in the input; every name lookup stays inside
/// (or is `None`); a function found by name is the first of that name.
/// Returns the number of records walked (0 when the header is refused).
pub fn check_btf(bytes: &[u8]) -> usize {
    use crate::bpf::btf::{Btf, BtfKind};
    let Ok(btf) = Btf::parse(bytes.to_vec()) else { return 0 };
    let mut n = 0usize;
    for (i, t) in btf.types().enumerate() {
        assert_eq!(t.id as usize, i + 1, "ids count from 1");
        n += 1;
        assert!(n <= bytes.len() / 12, "{n} records in {} bytes", bytes.len());
        if t.kind == BtfKind::Func
            && let Some(name) = btf.name(t.name_off)
        {
            let found = btf.func_id(name).expect("a function walked is found");
            assert!(found <= t.id, "{name}: {found} after {}", t.id);
        }
    }
    let _ = btf.name(u32::MAX);
    n
}
