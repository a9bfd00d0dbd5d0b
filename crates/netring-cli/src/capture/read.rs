//! `netring capture -r FILE`: the records of a pcap or pcapng file through
//! the filter expression, printed as lines or written to `-w`, up to `-c`.

use std::process::ExitCode;
use std::time::Instant;

use netring::filter::FilterMeta;
use netring::filter::expr::{Target, compile_for};
use netring::pcap::Reader;
use netring::{Error, LinkType, OwnedPacket, PacketMeta};

use super::args::Args;
use super::file::file_spec;
use super::lines::Lines;

/// Options that only mean something on a live interface.
fn live_only(a: &Args) -> Option<&'static str> {
    [
        (a.more.fanout != 1, "--fanout"),
        (a.more.profile.is_some(), "--profile"),
        (a.promisc, "--promisc"),
        (a.show.direction != super::args::DirectionArg::Inout, "-Q"),
        (a.backend != crate::backend::Backend::Packet, "--backend"),
        (a.more.user.is_some(), "-Z"),
        (a.more.ns.netns.is_some(), "--netns"),
        (a.more.metrics.metrics_listen.is_some(), "--metrics-listen"),
        (a.more.max_total.is_some(), "--max-total"),
        (a.more.max_age.is_some(), "--max-age"),
    ]
    .into_iter()
    .find_map(|(given, name)| given.then_some(name))
}

/// Read the file named by `-r` (`-`: standard input, as tcpdump).
pub(super) fn run(a: &Args, path: &std::path::Path) -> Result<ExitCode, Error> {
    if let Some(opt) = live_only(a) {
        return Err(Error::InvalidConfig {
            name: "-r",
            value: opt.into(),
            rule: "is an option of live captures".into(),
        });
    }
    if path == std::path::Path::new("-") {
        let stdin = std::io::BufReader::with_capacity(1 << 16, std::io::stdin());
        return read(a, Reader::new(stdin, "standard input")?, path);
    }
    read(a, Reader::open(path)?, path)
}

/// Read `reader`'s records (named `path` in messages).
fn read<R: std::io::Read>(a: &Args, mut reader: Reader<R>, path: &std::path::Path) -> Result<ExitCode, Error> {
    let linktype = reader.linktype();
    if linktype != LinkType::Ethernet.linktype() {
        return Err(Error::InvalidConfig {
            name: "-r",
            value: path.display().to_string(),
            rule: format!("has link-type {linktype}; only Ethernet (1) files can be read"),
        });
    }
    let snaplen = a.snaplen();
    let filter = a.expression()?.map(|e| compile_for(&e, snaplen, Target::Offline)).transpose()?;
    let file = file_spec(a, LinkType::Ethernet)?;
    let mut writer = file.as_ref().map(|f| f.open(None)).transpose()?;
    eprintln!(
        "netring: reading from file {}, link-type {}, snapshot length {snaplen}",
        path.display(),
        LinkType::Ethernet.describe()
    );
    let mut lines = (!a.report.quiet && writer.is_none()).then(|| Lines::new(a, LinkType::Ethernet));
    let started = Instant::now();
    let (mut read, mut packets, mut bytes) = (0u64, 0u64, 0u64);
    let mut outcome = Ok(());
    loop {
        if a.limits.reached(packets) {
            break;
        }
        let rec = match reader.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                outcome = Err(e);
                break;
            }
        };
        read += 1;
        let data = &rec.data[..rec.data.len().min(snaplen as usize)];
        let wire = rec.original_len.max(data.len() as u32);
        if let Some(f) = &filter {
            let meta = FilterMeta { wire_len: wire, ..FilterMeta::default() };
            if !f.matches(data, &meta) {
                continue;
            }
        }
        packets += 1;
        bytes += u64::from(wire);
        if let Some(w) = writer.as_mut() {
            let meta = PacketMeta { timestamp: rec.timestamp, original_len: wire, ..PacketMeta::default() };
            let owned = OwnedPacket { data: data.to_vec(), meta };
            if let Err(e) = w
                .write_packet(&owned.as_packet())
                .and_then(|()| if a.show.packet_buffered { w.flush() } else { Ok(()) })
            {
                outcome = Err(e);
                break;
            }
        }
        if let Some(l) = lines.as_mut()
            && l.record(rec.timestamp, wire, data).is_err()
        {
            // A closed pipe (`| head`) ends the reading quietly.
            lines = None;
            break;
        }
    }
    if let Some(mut l) = lines {
        let _ = l.flush();
    }
    let seconds = started.elapsed().as_secs_f64();
    let written = match writer {
        Some(w) => {
            let (n, r) = w.finish_counted(None);
            outcome = outcome.and(r);
            Some(n)
        }
        None => None,
    };
    if a.report.json() {
        let mut v = serde_json::json!({ "packets": packets, "bytes": bytes, "read": read, "seconds": seconds });
        if let Some(n) = written.filter(|&n| n != packets) {
            v["written"] = n.into();
        }
        crate::output::stdout_line(&v)?;
    }
    eprintln!("netring: {packets} packets ({bytes} bytes) of the {read} read from {}", path.display());
    outcome?;
    Ok(ExitCode::SUCCESS)
}
