//! Shared pieces of the privileged integration tests: the root check and
//! numbered test frames.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::time::{Duration, Instant};

use netring::frames::SeqFrames;
use netring::netns::VethLink;

/// Experimental EtherType used by every test frame (IEEE 802 local experimental 1).
pub const ETHERTYPE: u16 = 0x88b5;
/// Source MAC of test frames.
pub const SRC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
/// Destination MAC of test frames (nobody's: the receiver sees "other host").
pub const DST: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

/// Fail loudly, naming what is missing, unless the test can reach real links.
pub fn require_root() {
    let caps = [(12, "CAP_NET_ADMIN"), (13, "CAP_NET_RAW"), (21, "CAP_SYS_ADMIN")];
    let missing: Vec<_> =
        caps.iter().filter(|(c, _)| !netring::interface::has_capability(*c)).map(|(_, n)| *n).collect();
    assert!(
        missing.is_empty(),
        "this privileged test needs {} to build veth links in private namespaces; run it as root (e.g. `sudo .ci/run`)",
        missing.join(", ")
    );
}

/// A fresh veth link between two private namespaces (IPv6 off).
pub fn link() -> VethLink {
    require_root();
    VethLink::new().expect("create veth link")
}

/// Frame `seq` of `len` bytes to `dst` with `ethertype` (see [`netring::frames`]).
pub fn frame_to(dst: [u8; 6], seq: u64, len: usize, ethertype: u16) -> Vec<u8> {
    SeqFrames { dst, src: SRC, ethertype }.build(seq, len)
}

/// Frame `seq` of `len` bytes with the test EtherType to [`DST`].
pub fn frame(seq: u64, len: usize) -> Vec<u8> {
    frame_to(DST, seq, len, ETHERTYPE)
}

/// The sequence number of a test frame, if it is one.
pub fn seq_of(data: &[u8]) -> Option<u64> {
    SeqFrames::default().seq(data)
}

/// Read test frames from `cap` (any backend) until `want` have arrived or
/// `limit` passes. Returns every test frame as (bytes, metadata), in arrival order.
pub fn collect<S: netring::PacketSource>(cap: &mut S, want: usize, limit: Duration) -> Vec<netring::OwnedPacket> {
    use netring::Batch;
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    while out.len() < want {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        if let Some(batch) = cap.next_batch_blocking(Some(left)).expect("blocking read") {
            out.extend(batch.packets().filter(|p| seq_of(p.data()).is_some()).map(|p| p.to_owned()));
        }
    }
    out
}
