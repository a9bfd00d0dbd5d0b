//! The TPACKET_V3 block walker never panics and never reads outside the
//! block: any bytes taken as a block yield at most `num_pkts` packets, each
//! lying inside the block (or, for a frame rebuilt with its VLAN tag, in
//! the scratch copy, as long as the untagged frame plus the tag, cut to the
//! snap length). The same walk with and without VLAN re-insertion yields
//! the same packets. Input: one byte of snap length selector, then the block.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netring::fuzz_internals::check_block;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, block)) = data.split_first() else { return };
    check_block(block, (sel != 0).then_some(u32::from(sel) * 8));
});
