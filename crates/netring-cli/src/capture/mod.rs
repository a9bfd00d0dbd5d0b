//! `netring capture`: AF_PACKET or AF_XDP capture to stdout lines, a pcap
//! file, or just counts.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use netring::afxdp::{XdpAttach, XdpQueueSet};
use netring::pcap::{FileFormat, IsbCounts};
use netring::{
    Batch, Capture, CaptureStats, Error, LinkType, Packet, PacketSource, PacketStatus, StopHandle, Timestamp, XdpMode,
    XdpSocket,
};

use crate::output;
use opts::{CaptureMore, FileSpec};

mod fanout;
mod opts;

/// Arguments of `netring capture`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Interface to capture on.
    #[arg(short, long)]
    interface: String,
    /// Stop after this many packets (exactly: later packets of the same
    /// block are neither written nor counted).
    #[arg(short, long)]
    count: Option<u64>,
    /// Stop after this many seconds.
    #[arg(short, long, value_parser = parse_secs)]
    duration: Option<Duration>,
    /// Capture at most this many bytes of each packet (1..=262144).
    #[arg(short, long)]
    snaplen: Option<u32>,
    /// Write packets to this pcap file (nanosecond timestamps).
    #[arg(short, long)]
    write: Option<PathBuf>,
    /// File format for -w: pcap or pcapng (default: from the file
    /// extension, `.pcapng` → pcapng, otherwise pcap). pcapng files end with
    /// an Interface Statistics Block holding the kernel's drop count.
    #[arg(short = 'F', long)]
    format: Option<FileFormat>,
    /// Ring block size in bytes (power of two, page multiple; default
    /// 1 MiB, or the --profile's).
    #[arg(long)]
    block_size: Option<usize>,
    /// Number of ring blocks (default 16, or the --profile's).
    #[arg(long)]
    block_count: Option<usize>,
    /// Block retire timeout in milliseconds (default 50, or the --profile's).
    #[arg(long)]
    timeout_ms: Option<u64>,
    /// Put the interface in promiscuous mode while capturing.
    #[arg(long)]
    promisc: bool,
    /// No per-packet lines.
    #[arg(short, long)]
    quiet: bool,
    /// Print one JSON object with the counts on stdout at exit.
    #[arg(long)]
    json: bool,
    /// Filter expression (pcap-filter(7) syntax), run in the kernel (with
    /// `--backend xdp`: inside the XDP program; frames it rejects go on to
    /// the host's stack).
    #[arg(short = 'f', long = "filter", value_name = "EXPR")]
    filter: Option<String>,
    /// Filter expression as trailing words, as tcpdump takes it
    /// (`netring capture -i eth0 tcp port 80`).
    #[arg(value_name = "EXPRESSION", trailing_var_arg = true, allow_hyphen_values = false)]
    expression: Vec<String>,
    /// Receive path: `packet` (AF_PACKET TPACKET_V3 ring) or `xdp` (AF_XDP
    /// socket on one queue, with netring's built-in XDP program).
    #[arg(long, value_enum, default_value_t = Backend::Packet)]
    backend: Backend,
    /// With `--backend xdp`: the queue to bind to, or `all` (one socket per
    /// RX queue over one shared UMEM, one XDP program, read in turn).
    #[arg(long, default_value = "0")]
    queue: crate::backend::Queue,
    /// With `--backend xdp`: take the queue's traffic away from the host even
    /// though the interface has addresses or a default route.
    #[arg(long)]
    xdp_takeover: bool,
    /// With `--backend xdp`: where the XDP program runs.
    #[arg(long, value_enum, default_value_t = XdpAttachArg::Auto)]
    xdp_attach: XdpAttachArg,
    #[command(flatten)]
    pub(crate) more: CaptureMore,
}

impl Args {
    /// Count, duration, quiet, json.
    pub(crate) fn limits(&self) -> (Option<u64>, Option<Duration>, bool, bool) {
        (self.count, self.duration, self.quiet, self.json)
    }

    /// The filter expression from `-f` or the trailing words.
    fn expression(&self) -> Result<Option<String>, Error> {
        match (&self.filter, self.expression.is_empty()) {
            (Some(_), false) => Err(Error::InvalidConfig {
                name: "filter",
                value: self.expression.join(" "),
                rule: "give the expression either with -f or after the options, not both".into(),
            }),
            (Some(f), true) => Ok(Some(f.clone())),
            (None, false) => Ok(Some(self.expression.join(" "))),
            (None, true) => Ok(None),
        }
    }
}

/// `--backend`
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// AF_PACKET with a TPACKET_V3 ring.
    Packet,
    /// AF_XDP.
    Xdp,
}

/// `--xdp-attach`
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum XdpAttachArg {
    /// Native if the driver takes it, else generic.
    Auto,
    /// Native (driver) mode only.
    Native,
    /// Generic (skb) mode only.
    Generic,
}

/// Parse seconds as a decimal number (`1`, `0.25`).
pub fn parse_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{s:?} must be a non-negative number of seconds"));
    }
    Ok(Duration::from_secs_f64(v))
}

/// What a run counted.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) packets: u64,
    pub(crate) bytes: u64,
}

/// Run `netring capture`.
pub fn run(a: Args) -> Result<ExitCode, Error> {
    match a.backend {
        Backend::Packet => {
            let fanout = a.more.fanout()?;
            let mut b = Capture::builder().interface(&a.interface);
            if let Some(p) = a.more.profile {
                b = b.profile(p);
            }
            if let Some(v) = a.block_size {
                b = b.block_size(v);
            }
            if let Some(v) = a.block_count {
                b = b.block_count(v);
            }
            if let Some(ms) = a.timeout_ms {
                b = b.retire_timeout(Duration::from_millis(ms));
            }
            b = b.promiscuous(a.promisc).timestamping(a.more.timestamping()).reinsert_vlan(a.more.vlan_reinsert);
            if let Some(ns) = a.more.ns.name() {
                b = b.netns(ns);
            }
            if let Some(s) = a.snaplen {
                b = b.snaplen(s);
            }
            if let Some(e) = a.expression()? {
                b = b.filter(e);
            }
            let caps = fanout::open_members(&b, fanout, a.more.fanout)?;
            let first = &caps[0];
            let link = first.link_type();
            let ts = first.timestamping();
            let mut how = format!(
                "ring {} x {} KiB, {} time stamps",
                first.block_count(),
                first.block_size() / 1024,
                match ts.source {
                    netring::TimestampSource::Hardware => "hardware",
                    _ => "software",
                }
            );
            if let Some(why) = &ts.fallback {
                how.push_str(&format!(" (no hardware: {why})"));
            }
            if caps.len() > 1 {
                how.push_str(&format!(", fanout {} threads, group {}", caps.len(), first.fanout_group().unwrap_or(0)));
            }
            let file = file_spec(&a, link)?;
            crate::privs::drop_to(a.more.user.as_deref())?;
            if caps.len() > 1 {
                return fanout::run(&a, caps, file, &how);
            }
            let mut cap = caps.into_iter().next().expect("one capture");
            let stop = cap.stop_handle();
            capture_loop(&a, &mut cap, stop, &how, file, link)
        }
        Backend::Xdp => {
            if let Some(opt) = a.more.packet_only() {
                return Err(Error::InvalidConfig {
                    name: "--backend xdp",
                    value: opt.into(),
                    rule: "is an AF_PACKET option (use --backend packet)".into(),
                });
            }
            if a.promisc {
                return Err(Error::InvalidConfig {
                    name: "--promisc",
                    value: "with --backend xdp".into(),
                    rule: "is not supported: XDP sees what the device accepts".into(),
                });
            }
            if !a.xdp_takeover
                && let Some(reason) = a.more.ns.run(|| netring::afxdp::takeover_risk(&a.interface))?
            {
                return Err(Error::TakeoverRefused { interface: a.interface.clone(), reason });
            }
            let attach = match a.xdp_attach {
                XdpAttachArg::Auto => XdpAttach::Auto,
                XdpAttachArg::Native => XdpAttach::Native,
                XdpAttachArg::Generic => XdpAttach::Generic,
            };
            let mut b = XdpSocket::builder().interface(&a.interface).mode(XdpMode::Rx).attach(attach);
            if let Some(ns) = a.more.ns.name() {
                b = b.netns(ns);
            }
            if let Some(e) = a.expression()? {
                // Run in the XDP program: frames it rejects stay with the host stack.
                b = b.filter(e);
            }
            let describe = |s: &XdpSocket, queues: String| {
                format!(
                    "AF_XDP {queues}, {} mode, {} XDP",
                    if s.zero_copy() { "zero-copy" } else { "copy" },
                    s.attach_mode().map_or("no", |m| m.as_str())
                )
            };
            let file = file_spec(&a, LinkType::Ethernet)?;
            match a.queue {
                crate::backend::Queue::One(q) => {
                    let mut sock = b.queue(q).build()?;
                    let stop = sock.stop_handle();
                    let how = describe(&sock, format!("queue {q}"));
                    crate::privs::drop_to(a.more.user.as_deref())?;
                    capture_loop(&a, &mut sock, stop, &how, file, LinkType::Ethernet)
                }
                crate::backend::Queue::All => {
                    let mut set = XdpQueueSet::new(b.build_all_queues()?)?;
                    let stop = set.stop_handle();
                    let n = set.sockets().len();
                    let how = describe(&set.sockets()[0], format!("queues 0..{} (one shared UMEM)", n - 1));
                    crate::privs::drop_to(a.more.user.as_deref())?;
                    capture_loop(&a, &mut set, stop, &how, file, LinkType::Ethernet)
                }
            }
        }
    }
}

/// The snap length in force.
pub(crate) fn snaplen(a: &Args) -> u32 {
    a.snaplen.unwrap_or(netring::afpacket::MAX_SNAPLEN)
}

/// What `-w` asks for (no file is opened yet: that happens after `-Z`).
fn file_spec(a: &Args, link: LinkType) -> Result<Option<FileSpec>, Error> {
    let rotation = a.more.rotation();
    let Some(path) = a.write.clone() else {
        if rotation.is_active() || rotation.max_files.is_some() {
            return Err(Error::InvalidConfig {
                name: "-C/-G/-W",
                value: "without -w".into(),
                rule: "file rotation needs a file (-w)".into(),
            });
        }
        if a.more.split {
            return Err(Error::InvalidConfig {
                name: "--split",
                value: "without -w".into(),
                rule: "per-thread files need a file name (-w)".into(),
            });
        }
        return Ok(None);
    };
    let format = a.format.or_else(|| FileFormat::from_path(&path)).unwrap_or_default();
    // A cooked capture's pcapng file names each interface it saw: read the
    // names now, in the capture's namespace, while privileges allow it.
    let names = if link == LinkType::LinuxSll2 && format == FileFormat::PcapNg {
        let map: std::collections::HashMap<u32, String> =
            a.more.ns.run(netring::interface::list)?.into_iter().map(|l| (l.index, l.name)).collect();
        Some(std::sync::Arc::new(move |i: u32| map.get(&i).cloned())
            as std::sync::Arc<dyn Fn(u32) -> Option<String> + Send + Sync>)
    } else {
        None
    };
    Ok(Some(FileSpec { path, format, snaplen: snaplen(a), link, interface: a.interface.clone(), rotation, names }))
}

/// The "listening on" line.
pub(crate) fn announce(a: &Args, link: LinkType, how: &str) {
    eprintln!(
        "netring: listening on {}, link-type {}, snapshot length {} bytes, {how}",
        a.interface,
        link.describe(),
        snaplen(a)
    );
}

/// The receive loop, for any backend.
fn capture_loop<S: PacketSource>(
    a: &Args,
    src: &mut S,
    stop: StopHandle,
    how: &str,
    file: Option<FileSpec>,
    link: LinkType,
) -> Result<ExitCode, Error> {
    let snaplen = snaplen(a);
    let mut writer = file.as_ref().map(|f| f.open(None)).transpose()?;
    let start_ts = Timestamp::now();

    let on_signal = stop.clone();
    crate::signals::on_stop(move || on_signal.stop()).map_err(|e| Error::Io { call: "signal handler", source: e })?;

    announce(a, link, how);
    let lines = !a.quiet && writer.is_none();
    let started = Instant::now();
    let deadline = a.duration.map(|d| started + d);
    let mut tally = Tally::default();
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();

    let outcome = loop {
        if a.count.is_some_and(|c| tally.packets >= c) {
            break Ok(());
        }
        let wait = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) => Some(left),
                None => break Ok(()),
            },
            None => None,
        };
        let batch = match src.next_batch_blocking(wait) {
            Ok(Some(batch)) => batch,
            Ok(None) => continue,
            Err(Error::Stopped) => break Ok(()),
            Err(e) => break Err(e),
        };
        let mut result = Ok(());
        for pkt in batch.packets() {
            if a.count.is_some_and(|c| tally.packets >= c) {
                break;
            }
            // AF_PACKET truncates in the kernel; AF_XDP delivers whole frames.
            let pkt = truncate(pkt, snaplen);
            tally.packets += 1;
            tally.bytes += pkt.original_len() as u64;
            if let Some(w) = writer.as_mut()
                && let Err(e) = w.write_packet(&pkt)
            {
                result = Err(e);
                break;
            }
            if lines {
                // With --json, stdout is reserved for the summary object.
                let line = output::packet_line(&pkt);
                let r = if a.json { writeln!(stderr, "{line}") } else { writeln!(stdout, "{line}") };
                if r.is_err() {
                    // A closed pipe (`| head`) ends the capture quietly.
                    stop.stop();
                    break;
                }
            }
        }
        drop(batch);
        if let Err(e) = result {
            break Err(e);
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    drop(stdout);
    drop(stderr);

    // Whatever ended the run, flush the file and report what was counted.
    let stats = src.stats().unwrap_or_default();
    let counts = IsbCounts {
        received: stats.packets + stats.drops,
        dropped: stats.drops,
        delivered: tally.packets,
        start: start_ts,
        end: Timestamp::now(),
    };
    let flushed = writer.map(|w| w.finish(Some(counts))).transpose();
    report(a, &tally, &stats, seconds);
    outcome?;
    flushed?;
    Ok(ExitCode::SUCCESS)
}

/// `pkt` cut to `snaplen` bytes, marked truncated if that cut anything.
pub(crate) fn truncate(pkt: Packet<'_>, snaplen: u32) -> Packet<'_> {
    let s = snaplen as usize;
    if pkt.len() <= s {
        return pkt;
    }
    let mut meta = *pkt.meta();
    meta.status |= PacketStatus::TRUNCATED;
    Packet::new(&pkt.data()[..s], meta)
}

pub(crate) fn report(a: &Args, t: &Tally, s: &CaptureStats, seconds: f64) {
    if a.json {
        let v = serde_json::json!({
            "packets": t.packets,
            "bytes": t.bytes,
            "drops": s.drops,
            "freezes": s.freezes,
            "seconds": seconds,
        });
        println!("{v}");
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse() {
        assert_eq!(parse_secs("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("x").is_err());
    }
}
