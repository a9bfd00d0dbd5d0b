//! The TPACKET_V3 block walker never panics and never reads outside the
//! block: any bytes taken as a block yield at most `num_pkts` packets, each
//! lying inside the block (or, for a frame rebuilt with its VLAN tag, in
//! the scratch copy, as long as the untagged frame plus the tag, cut to the
//! snap length). The same walk with and without VLAN re-insertion yields
//! the same packets. Input: one byte of snap length selector, then the block.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netring::BlockPackets;
use netring::fuzz_internals::{BLOCK_DESC_LEN, walk_block};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, block)) = data.split_first() else { return };
    let snaplen = (sel != 0).then_some(u32::from(sel) * 8);
    let range = block.as_ptr_range();
    let plain: Vec<&[u8]> = BlockPackets::from_block(block).map(|p| p.data()).collect();
    for p in &plain {
        assert!(p.is_empty() || (range.contains(&p.as_ptr()) && p.as_ptr_range().end <= range.end), "inside the block");
    }
    let (walked, malformed) = walk_block(block, snaplen);
    assert_eq!(walked.len(), plain.len(), "VLAN re-insertion neither adds nor removes packets");
    if block.len() >= BLOCK_DESC_LEN {
        let num_pkts = u32::from_ne_bytes(block[12..16].try_into().unwrap()) as usize;
        assert!(walked.len() <= num_pkts);
        assert!(malformed || walked.len() == num_pkts, "a short walk is flagged malformed");
    }
    for (w, p) in walked.iter().zip(&plain) {
        match &w.in_block {
            Some(r) => assert_eq!(&block[r.clone()], *p, "an untagged packet is the block's bytes"),
            None => {
                assert_eq!(w.data.len(), (p.len() + 4).min(snaplen.map_or(usize::MAX, |s| s as usize)));
                assert_eq!(&w.data[..12.min(w.data.len())], &p[..12.min(w.data.len())]);
            }
        }
    }
});
