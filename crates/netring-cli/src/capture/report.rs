//! What a capture counts and says: the tally, the snap-length cut, the
//! "listening on" line and the summary, shared by the single reader and
//! the fanout group.

use netring::{CaptureStats, LinkType, Packet};

use super::args::Args;
use crate::output;

/// What a run counted.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) packets: u64,
    pub(super) bytes: u64,
    /// Records in the `-w` file(s) at the end, when there is one.
    pub(super) written: Option<u64>,
    /// Times the capture waited for the compressing thread(s), when the
    /// file is compressed.
    pub(super) stalls: Option<u64>,
}

/// The "listening on" line.
pub(super) fn announce(a: &Args, link: LinkType, how: &str) {
    eprintln!(
        "netring: listening on {}, link-type {}, snapshot length {} bytes, {how}",
        a.interfaces.join(", "),
        link.describe(),
        a.snaplen()
    );
}

/// `pkt` cut to `snaplen` bytes, marked truncated if that cut anything.
pub(super) fn truncate(pkt: Packet<'_>, snaplen: u32) -> Packet<'_> {
    pkt.truncated(snaplen as usize)
}

/// The summary at exit: one line on stderr, and with `--json` one object
/// on stdout.
pub(super) fn report(a: &Args, t: &Tally, s: &CaptureStats, seconds: f64) -> Result<(), netring::Error> {
    if a.report.json() {
        let mut v = serde_json::json!({
            "packets": t.packets,
            "bytes": t.bytes,
            "drops": s.drops,
            "freezes": s.freezes,
            "seconds": seconds,
        });
        // Only when it differs: a write error kept counted packets out of the file.
        if let Some(n) = t.written.filter(|&n| n != t.packets) {
            v["written"] = n.into();
        }
        if let Some(n) = t.stalls {
            v["writer_stalls"] = n.into();
        }
        crate::output::stdout_line(&v)?;
    }
    if let Some(n) = t.written.filter(|&n| n != t.packets) {
        eprintln!("netring: only {n} of the {} packets counted were written to the file", t.packets);
    }
    if let Some(n) = t.stalls.filter(|&n| n > 0) {
        eprintln!(
            "netring: the capture waited {n} times for the compressor; what the ring could not hold meanwhile is in \
             the kernel's drops"
        );
    }
    eprintln!(
        "netring: {} packets captured ({} bytes) in {seconds:.3} s, {}; kernel: {} delivered, {} dropped, {} ring freezes",
        t.packets,
        t.bytes,
        output::rate(t.packets, seconds),
        s.packets,
        s.drops,
        s.freezes
    );
    Ok(())
}
