//! `netring capture`: AF_PACKET or AF_XDP capture to stdout lines, a pcap
//! file, or just counts.

use std::process::ExitCode;
use std::time::Duration;

use netring::afxdp::XdpQueueSet;
use netring::{Capture, Error, LinkType, XdpMode, XdpSocket};

use crate::backend::Backend;

pub use args::Args;
use args::Queue;
use file::file_spec;
use single::capture_loop;

mod args;
mod fanout;
mod file;
mod lines;
mod multi;
mod read;
mod report;
mod retention;
mod show;
mod single;

/// Run `netring capture`.
pub fn run(a: Args) -> Result<ExitCode, Error> {
    if a.show.list_interfaces {
        return list(&a);
    }
    if let Some(path) = &a.show.read {
        return read::run(&a, path);
    }
    a.more.metrics.start(&a.more.ns, &a.interfaces)?;
    match a.backend {
        Backend::Packet => packet(&a),
        Backend::Xdp => xdp(&a),
    }
}

/// AF_PACKET: one ring, or a fanout group of rings read by as many threads.
fn packet(a: &Args) -> Result<ExitCode, Error> {
    let fanout = a.more.fanout()?;
    let mut b = Capture::builder().interface(a.interface());
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
    b = b
        // On by default as tcpdump's, except on `any` (no one device to set).
        .promiscuous(a.promisc || !a.show.no_promisc && a.interface() != "any")
        .ignore_outgoing(a.show.direction == args::DirectionArg::In)
        .timestamping(a.more.timestamping())
        .reinsert_vlan(a.more.vlan_reinsert);
    if let Some(ns) = a.more.ns.name() {
        b = b.netns(ns);
    }
    if let Some(s) = a.snaplen {
        b = b.snaplen(s);
    }
    if let Some(e) = a.expression()? {
        b = b.filter(e);
    }
    if fanout.is_some() {
        // Before any socket: the kernel's group limit and N rings' memory.
        b.check_group(a.more.fanout)?;
    }
    if a.interfaces.len() > 1 {
        return multi::run(a, &b, fanout.is_some());
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
    let file = file_spec(a, link)?;
    crate::privs::drop_to(a.more.user.as_deref())?;
    if caps.len() > 1 {
        return fanout::run(a, caps, file, &how, false);
    }
    let mut cap = caps.into_iter().next().expect("one capture");
    let stop = cap.stop_handle();
    capture_loop(a, &mut cap, stop, &how, file, link)
}

/// `-D`: the interfaces, as tcpdump lists them (`2.eth0 [Up, Running]`),
/// numbered by their kernel index; `any` is 0, the index a socket bound to
/// every interface uses.
fn list(a: &Args) -> Result<ExitCode, Error> {
    // Flags from <linux/if.h>.
    const IFF_LOOPBACK: u32 = 0x8;
    const IFF_RUNNING: u32 = 0x40;
    let mut links = a.more.ns.run(netring::interface::list)?;
    links.sort_by_key(|l| l.index);
    let mut text = String::new();
    for l in &links {
        let (up, running, lo) =
            (l.flags & netring::interface::IFF_UP != 0, l.flags & IFF_RUNNING != 0, l.flags & IFF_LOOPBACK != 0);
        let mut state: Vec<&str> = [(up, "Up"), (running, "Running"), (lo, "Loopback")]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
        // Carrier, for links that have one.
        if up && !lo {
            state.push(if running { "Connected" } else { "Disconnected" });
        }
        let state = if state.is_empty() { " [none]".to_owned() } else { format!(" [{}]", state.join(", ")) };
        text.push_str(&format!("{}.{}{state}\n", l.index, l.name));
    }
    text.push_str("0.any (Pseudo-device that captures on all interfaces) [Up, Running]\n");
    crate::output::stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Which per-frame timestamps and fields an AF_XDP capture gets, e.g.
/// `XDP program timestamps; from the device where it gives them: RX hash, VLAN`.
fn xdp_timestamps(m: &netring::afxdp::XdpRxMetadata) -> String {
    if !m.program_time {
        return "user-space batch timestamps".into();
    }
    let mut dev: Vec<&str> = Vec::new();
    if m.device_time {
        dev.push("device time");
    }
    if m.rx_hash {
        dev.push("RX hash");
    }
    if m.vlan_tag {
        dev.push("VLAN");
    }
    let mut text = match dev.is_empty() {
        true => "XDP program timestamps".to_owned(),
        false => format!("XDP program timestamps; from the device where it gives them: {}", dev.join(", ")),
    };
    if !m.fallback.is_empty() {
        text.push_str(&format!(" ({})", m.fallback.join("; ")));
    }
    text
}

/// AF_XDP: one queue's socket, or every queue's over one shared UMEM read in
/// turn.
fn xdp(a: &Args) -> Result<ExitCode, Error> {
    if a.interfaces.len() > 1 {
        return Err(Error::InvalidConfig {
            name: "-i",
            value: a.interfaces.join(" -i "),
            rule: "several interfaces are captured with --backend packet only".into(),
        });
    }
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
        && let Some(reason) = a.more.ns.run(|| netring::afxdp::takeover_risk(a.interface()))?
    {
        return Err(Error::TakeoverRefused { interface: a.interface().to_owned(), reason });
    }
    let mut b = XdpSocket::builder()
        .interface(a.interface())
        .mode(XdpMode::Rx)
        .attach(a.xdp_attach.into())
        .timestamping(a.more.timestamping());
    if let Some(ns) = a.more.ns.name() {
        b = b.netns(ns);
    }
    if let Some(e) = a.expression()? {
        // Run in the XDP program: frames it rejects stay with the host stack.
        b = b.filter(e);
    }
    let describe = |s: &XdpSocket, queues: String| {
        format!(
            "AF_XDP {queues}, {} mode, {} XDP, {}",
            if s.zero_copy() { "zero-copy" } else { "copy" },
            s.attach_mode().map_or("no", |m| m.as_str()),
            xdp_timestamps(&s.rx_metadata())
        )
    };
    let file = file_spec(a, LinkType::Ethernet)?;
    match a.queue {
        Queue::One(q) => {
            let mut sock = b.queue(q).build()?;
            let stop = sock.stop_handle();
            let how = describe(&sock, format!("queue {q}"));
            crate::privs::drop_to(a.more.user.as_deref())?;
            capture_loop(a, &mut sock, stop, &how, file, LinkType::Ethernet)
        }
        Queue::All => {
            let mut set = XdpQueueSet::new(b.build_all_queues()?)?;
            let stop = set.stop_handle();
            let n = set.sockets().len();
            let queues =
                if n == 1 { "queue 0 (the only active one)".to_owned() } else { format!("queues 0..{}", n - 1) };
            let how = describe(&set.sockets()[0], format!("{queues} (one shared UMEM)"));
            crate::privs::drop_to(a.more.user.as_deref())?;
            capture_loop(a, &mut set, stop, &how, file, LinkType::Ethernet)
        }
    }
}
