//! `netring capture -i A -i B -w FILE.pcapng`: several interfaces into one
//! pcapng file, as dumpcap writes it — one Interface Description Block per
//! interface, in the order of the `-i` options (interface id 0, 1, …), each
//! Enhanced Packet Block tagged with the id of the interface it came from.
//! The two directions of a network tap arrive on two ports; a sensor wants
//! them as one stream.
//!
//! Each interface gets its own ring and thread; packets are merged by time
//! stamp through the same watermark merge as `--fanout` (see `fanout.rs`):
//! a packet is written once every other interface has handed over all it
//! had stamped earlier, or has been idle for one block retire timeout
//! (+ 20 ms of timer slack). What that guarantees, and what it does not:
//! the records are in time-stamp order as long as each ring delivers in
//! time-stamp order and a packet reaches its ring within that window of
//! its stamp; a packet held up longer (a thread starved of CPU for more
//! than the window while its ring fills) is written late, after records
//! stamped after it — never dropped — and the summary counts such records.
//! The file's time stamps are the kernel's, unchanged.
//!
//! Refused, with a clear error: pcap output (one link per file), no `-w`,
//! `--fanout`, `--backend xdp`, `-i any` among several, interfaces whose
//! link type is not Ethernet.

use std::process::ExitCode;

use netring::{Capture, CaptureBuilder, Error, LinkType};

use super::args::Args;
use super::fanout;
use super::file::file_spec;

/// Open one ring per `-i` (the builder's other settings shared) and run
/// the merged capture.
pub(super) fn run(a: &Args, b: &CaptureBuilder, fanout: bool) -> Result<ExitCode, Error> {
    let refuse =
        |rule: &str| Err(Error::InvalidConfig { name: "-i", value: a.interfaces.join(" -i "), rule: rule.to_owned() });
    if fanout {
        return refuse("several interfaces cannot be combined with --fanout");
    }
    if a.interfaces.iter().any(|i| i == "any") {
        return refuse("`any` already captures every interface: give it alone");
    }
    if let Some(dup) = a.interfaces.iter().enumerate().find(|(k, i)| a.interfaces[..*k].contains(i)) {
        return refuse(&format!("{} is given twice", dup.1));
    }
    // Before any socket: -w, pcapng.
    file_spec(a, LinkType::Ethernet)?;
    let caps: Vec<Capture> = a.interfaces.iter().map(|i| b.clone().interface(i).build()).collect::<Result<_, _>>()?;
    if let Some((i, c)) = a.interfaces.iter().zip(&caps).find(|(_, c)| c.link_type() != LinkType::Ethernet) {
        return refuse(&format!(
            "{i} has link type {}; several interfaces are written as Ethernet only",
            c.link_type().describe()
        ));
    }
    let first = &caps[0];
    let how = format!(
        "{} rings of {} x {} KiB, merged by time stamp into one pcapng file",
        caps.len(),
        first.block_count(),
        first.block_size() / 1024
    );
    let file = file_spec(a, LinkType::Ethernet)?;
    crate::privs::drop_to(a.more.user.as_deref())?;
    fanout::run(a, caps, file, &how, true)
}
