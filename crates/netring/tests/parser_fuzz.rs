//! The parser fuzz targets' properties (`fuzz/fuzz_targets/block.rs`,
//! `pcap_reader.rs`, `netlink.rs`), checked with proptest so they run
//! everywhere, without nightly or cargo-fuzz:
//! - the TPACKET_V3 block walker never panics and every packet it yields
//!   lies inside the block (or in the VLAN scratch copy); kernel-shaped
//!   blocks walk back exactly as crafted;
//! - the pcap/pcapng reader never panics; errors name a byte offset inside
//!   the input; the records read before an error are the records written;
//! - the netlink reply walk always ends, with every message inside the
//!   buffer, and the link, address and route parsers never panic.
//!
//! Unprivileged; uses the private `_fuzz` entry points (not API).

use netring::BlockPackets;
use netring::fuzz_internals::{
    BLOCK_DESC_LEN, CraftedFrame, Record, check_block, check_netlink, crafted_frame_len, read_all_checked, v3_block,
    walk_block, write_file,
};
use netring::packet::Timestamp;
use proptest::prelude::*;

// ---- TPACKET_V3 blocks -------------------------------------------------

/// `TP_STATUS_VLAN_VALID`
const VLAN_VALID: u32 = 1 << 4;

/// A frame of `len` bytes (at least an Ethernet header) numbered `i`.
fn eth_frame(i: usize, len: usize) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5];
    f.extend((0..len.saturating_sub(14)).map(|k| (i * 31 + k) as u8));
    f
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any bytes as a block, with the descriptor's packet count and first
    /// offset steered into range so the walk gets past the descriptor.
    #[test]
    fn block_walker_stays_inside_arbitrary_blocks(
        mut bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        num_pkts in 0u32..40,
        first in 0u32..2100,
        snap in proptest::option::of(0u32..256),
    ) {
        if bytes.len() >= BLOCK_DESC_LEN {
            bytes[12..16].copy_from_slice(&num_pkts.to_ne_bytes());
            bytes[16..20].copy_from_slice(&first.to_ne_bytes());
        }
        check_block(&bytes, snap);
    }

    /// Kernel-shaped blocks walk back exactly: every frame, in order, its
    /// bytes (tagged ones with the tag re-inserted), nothing flagged.
    #[test]
    fn crafted_blocks_walk_back_exactly(
        frames in proptest::collection::vec((14usize..300, any::<bool>(), 0u32..100), 0..20),
    ) {
        let data: Vec<Vec<u8>> = frames.iter().enumerate().map(|(i, f)| eth_frame(i, f.0)).collect();
        let crafted: Vec<CraftedFrame<'_>> = frames
            .iter()
            .zip(&data)
            .map(|(f, d)| CraftedFrame { data: d, wire_len: d.len() as u32 + f.2, status: if f.1 { VLAN_VALID } else { 0 } })
            .collect();
        let size = BLOCK_DESC_LEN + data.iter().map(|d| crafted_frame_len(d.len())).sum::<usize>();
        let block = v3_block(size.next_multiple_of(4096), &crafted, 7).expect("fits");
        let plain: Vec<&[u8]> = BlockPackets::from_block(&block).map(|p| p.data()).collect();
        prop_assert_eq!(&plain, &data.iter().map(|d| &d[..]).collect::<Vec<_>>());
        let (walked, malformed) = walk_block(&block, None);
        prop_assert!(!malformed);
        prop_assert_eq!(walked.len(), data.len());
        for ((w, d), f) in walked.iter().zip(&data).zip(&frames) {
            if f.1 {
                // craft_block writes TCI 0x2005 and no TPID (0x8100 assumed).
                let mut want = d[..12].to_vec();
                want.extend_from_slice(&[0x81, 0x00, 0x20, 0x05]);
                want.extend_from_slice(&d[12..]);
                prop_assert_eq!(&w.data, &want);
                prop_assert_eq!(w.original_len, d.len() as u32 + f.2 + 4);
            } else {
                prop_assert_eq!(&w.data, d);
                prop_assert!(w.in_block.is_some());
            }
        }
        check_block(&block, None);
    }

    /// A kernel-shaped block with one word overwritten: the walk stays
    /// inside the block, and every packet before the damaged header is
    /// walked as crafted.
    #[test]
    fn crafted_blocks_with_a_corrupt_word_stay_inside(
        lens in proptest::collection::vec(14usize..200, 1..12),
        at in any::<prop::sample::Index>(),
        word in any::<u32>(),
        snap in proptest::option::of(0u32..256),
    ) {
        let data: Vec<Vec<u8>> = lens.iter().enumerate().map(|(i, &l)| eth_frame(i, l)).collect();
        let crafted: Vec<CraftedFrame<'_>> =
            data.iter().map(|d| CraftedFrame { data: d, wire_len: d.len() as u32, status: VLAN_VALID }).collect();
        let mut block = v3_block(4096, &crafted, 0).expect("fits");
        let at = at.index(block.len() - 3) & !3;
        block[at..at + 4].copy_from_slice(&word.to_ne_bytes());
        check_block(&block, snap);
    }
}

// ---- pcap / pcapng -----------------------------------------------------

type Rec = Record;

/// A valid file holding records of `lens` bytes, the records, and each
/// record's extent in the file.
fn build(ng: bool, lens: &[usize]) -> (Vec<u8>, Vec<Rec>, Vec<(u64, u64)>) {
    let recs: Vec<Rec> = lens
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            let d = eth_frame(i, l);
            (Timestamp::new(1_700_000_000 + i as u64, 1000 * i as u32), d.len() as u32 + 3, d)
        })
        .collect();
    let (bytes, extents) = write_file(ng, &recs, Some("prop0"));
    (bytes, recs, extents)
}

/// Starts of files, so arbitrary tails get past the magic number.
fn file_start() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        Just(build(false, &[]).0),
        Just(build(true, &[]).0[..28].to_vec()),
        Just(build(true, &[20]).0),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn pcap_reader_names_offsets_inside_any_input(
        start in file_start(),
        tail in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        read_all_checked(&[start, tail].concat());
    }

    /// A file cut anywhere yields exactly the records before the cut, then
    /// names the offset of the first incomplete one.
    #[test]
    fn cut_files_yield_every_record_before_the_cut(
        ng in any::<bool>(),
        lens in proptest::collection::vec(0usize..300, 0..10),
        cut in any::<prop::sample::Index>(),
    ) {
        let (file, recs, extents) = build(ng, &lens);
        let pos = cut.index(file.len() + 1);
        let (got, err) = read_all_checked(&file[..pos]);
        let whole = extents.iter().take_while(|e| e.1 <= pos as u64).count();
        prop_assert_eq!(&got[..], &recs[..whole]);
        if let Some(&(start, _)) = extents.get(whole).filter(|e| e.0 < pos as u64) {
            prop_assert_eq!(err, Some(start), "the first incomplete record is named");
        }
        if pos == file.len() {
            prop_assert_eq!(err, None);
        }
    }

    /// A file with one byte changed yields, before any error, at least the
    /// records that end before the change, exactly as written.
    #[test]
    fn mutated_files_yield_every_record_before_the_damage(
        ng in any::<bool>(),
        lens in proptest::collection::vec(0usize..300, 1..10),
        at in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let (mut file, recs, extents) = build(ng, &lens);
        let pos = at.index(file.len());
        file[pos] = value;
        let (got, _) = read_all_checked(&file);
        let before = extents.iter().take_while(|e| e.1 <= pos as u64).count();
        prop_assert!(got.len() >= before, "{} records read, {} end before the change at {}", got.len(), before, pos);
        prop_assert_eq!(&got[..before], &recs[..before]);
    }
}

// ---- netlink -----------------------------------------------------------

fn nl_attr(ty: u16, payload: &[u8]) -> Vec<u8> {
    let mut a = ((4 + payload.len()) as u16).to_ne_bytes().to_vec();
    a.extend_from_slice(&ty.to_ne_bytes());
    a.extend_from_slice(payload);
    a.resize(a.len().next_multiple_of(4), 0);
    a
}

fn nl_msg(ty: u16, body: &[u8]) -> Vec<u8> {
    let mut m = ((16 + body.len()) as u32).to_ne_bytes().to_vec();
    m.extend_from_slice(&ty.to_ne_bytes());
    m.extend_from_slice(&[0; 10]);
    m.extend_from_slice(body);
    m.resize(m.len().next_multiple_of(4), 0);
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn netlink_walk_ends_inside_any_buffer(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        check_netlink(&bytes);
    }

    /// Well-framed messages with arbitrary attribute bytes: every message is
    /// found, and each parser copes with whatever the attributes hold.
    #[test]
    fn netlink_messages_with_arbitrary_attributes(
        msgs in proptest::collection::vec(
            (prop::sample::select(vec![16u16, 20, 24, 2, 3, 1]), proptest::collection::vec(any::<u8>(), 0..120)),
            0..8,
        ),
    ) {
        let buf: Vec<u8> = msgs.iter().flat_map(|(ty, body)| nl_msg(*ty, body)).collect();
        let r = check_netlink(&buf);
        let framed = msgs.iter().filter(|(ty, body)| !(*ty == 3 || (*ty == 2 && body.len() >= 4))).count();
        prop_assert_eq!(r.messages.len(), framed);
    }

    /// A link message built from attributes parses back to them.
    #[test]
    fn netlink_link_attributes_parse_back(
        index in any::<u32>(),
        name in "[a-z0-9]{1,15}",
        mtu in any::<u32>(),
        noise in proptest::collection::vec((100u16..200, proptest::collection::vec(any::<u8>(), 0..40)), 0..5),
    ) {
        let mut body = vec![0, 0, 1, 0];
        body.extend_from_slice(&index.to_ne_bytes());
        body.extend_from_slice(&[0; 8]);
        for (ty, p) in &noise {
            body.extend(nl_attr(*ty, p));
        }
        body.extend(nl_attr(3, &[name.as_bytes(), &[0]].concat()));
        body.extend(nl_attr(4, &mtu.to_ne_bytes()));
        let r = check_netlink(&nl_msg(16, &body));
        prop_assert_eq!(r.links.len(), 1);
        prop_assert_eq!((r.links[0].index, &r.links[0].name, r.links[0].mtu), (index, &name, mtu));
    }
}
