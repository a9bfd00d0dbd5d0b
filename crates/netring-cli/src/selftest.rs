//! `netring selftest`: a private veth link between two new namespaces,
//! numbered frames across it, every byte and count checked, everything
//! removed afterwards.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use netring::netns::NetNs;
use netring::testkit::{SeqFrames, VethConfig, VethLink};
use netring::{Bridge, BridgeAction, Capture, Error, Injector, RawSender, XdpMode, XdpSocket};

use crate::args::Json;
use crate::output;

/// Arguments of `netring selftest`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("json", |a| a.help("Print one JSON object with every check on stdout")))]
pub struct Args {
    /// Frames to send in the main capture check.
    #[arg(long, default_value_t = 4000)]
    frames: u64,
    #[command(flatten)]
    json: Json,
}

/// What a check has to work with.
struct Ctx {
    link: VethLink,
    frames: u64,
    seqf: SeqFrames,
}

impl Ctx {
    fn sender(&self) -> Result<RawSender, String> {
        self.link.a.run(RawSender::open).map_err(s)?.map_err(s)
    }

    /// A receiving capture on end "a" that ignores what "a" sends.
    fn capture_a(&self) -> Result<Capture, String> {
        self.link.a.run(|n| Capture::builder().interface(n).ignore_outgoing(true).build()).map_err(s)?.map_err(s)
    }

    fn capture(
        &self,
        f: impl FnOnce(netring::CaptureBuilder) -> netring::CaptureBuilder + Send,
    ) -> Result<Capture, String> {
        self.link.b.run(|n| f(Capture::builder().interface(n)).build()).map_err(s)?.map_err(s)
    }
}

fn s(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// One row of the report.
struct Row {
    name: String,
    ok: bool,
    detail: String,
    millis: f64,
}

type Check = (&'static str, fn(&Ctx) -> Result<String, String>);

/// The checks, in order. Later features add rows here.
const CHECKS: &[Check] = &[
    ("capture: numbered frames byte-exact, complete, in order", check_capture),
    ("capture: snap length truncates in the kernel", check_snaplen),
    ("capture: filter expression passes only matching frames", check_filter),
    ("capture: stop handle ends a blocked read", check_stop),
    ("capture: fanout group of 2, round robin, every frame once", check_fanout),
    ("capture: VLAN tag the kernel stripped re-inserted byte-exact", check_vlan),
    ("inject: TX ring frames arrive byte-exact, complete, in order", check_inject),
    ("inject: a malformed frame is rejected and counted", check_reject),
    ("bridge: A -> bridge -> B both ways, one EtherType dropped", check_bridge),
    ("af_xdp rx: AF_PACKET frames through AF_XDP, byte-exact", check_xdp_rx),
    ("af_xdp tx: AF_XDP frames at an AF_PACKET capture, byte-exact", check_xdp_tx),
    ("af_xdp queues: 4 queues, one shared UMEM, each frame once", check_xdp_queues),
    ("af_xdp filter: the XDP program keeps matching frames, the stack gets the rest", check_xdp_filter),
];

/// Run `netring selftest`.
pub fn run(a: Args) -> Result<ExitCode, Error> {
    crate::privs::require_veth_privileges("netring selftest", "builds a private veth link in new network namespaces")?;
    let t0 = Instant::now();
    let link = VethLink::new()?;
    let mut rows = vec![Row {
        name: "veth link between two private namespaces".into(),
        ok: true,
        detail: format!("{}/{} <-> {}/{}", link.a.ns.name(), link.a.name, link.b.ns.name(), link.b.name),
        millis: t0.elapsed().as_secs_f64() * 1e3,
    }];
    let ctx = Ctx { link, frames: a.frames, seqf: SeqFrames::default() };
    for (name, check) in CHECKS {
        let t = Instant::now();
        let r = check(&ctx);
        let millis = t.elapsed().as_secs_f64() * 1e3;
        let (ok, detail) = match r {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        rows.push(Row { name: (*name).into(), ok, detail, millis });
    }
    drop(ctx); // removes the namespaces and the link
    let passed = rows.iter().all(|r| r.ok);

    let table = output::table(
        &["check", "result", "ms", "detail"],
        &rows
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    if r.ok { "ok" } else { "FAILED" }.into(),
                    format!("{:.1}", r.millis),
                    r.detail.clone(),
                ]
            })
            .collect::<Vec<_>>(),
    );
    let summary = format!(
        "{} of {} checks passed in {:.2} s; namespaces and link removed",
        rows.iter().filter(|r| r.ok).count(),
        rows.len(),
        t0.elapsed().as_secs_f64()
    );
    if a.json.json {
        eprint!("{table}");
        let checks: Vec<_> = rows
            .iter()
            .map(|r| serde_json::json!({"name": r.name, "ok": r.ok, "detail": r.detail, "millis": r.millis.round() as u64}))
            .collect();
        crate::output::stdout_line(
            serde_json::json!({"passed": passed, "checks": checks, "seconds": t0.elapsed().as_secs_f64()}),
        )?;
    } else {
        crate::output::stdout(&table)?;
        crate::output::stdout_line(&summary)?;
    }
    Ok(if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Read frames of our EtherType until `want` arrived or `limit` passed;
/// returns (sequence number, verified, captured length, original length).
fn receive(
    cap: &mut Capture,
    seqf: &SeqFrames,
    want: u64,
    limit: Duration,
) -> Result<Vec<(u64, bool, usize, usize)>, String> {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    while (got.len() as u64) < want {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        if let Some(batch) = cap.next_batch_blocking(Some(left)).map_err(s)? {
            for p in &batch {
                if let Some(seq) = seqf.seq(p.data()) {
                    got.push((seq, seqf.verify(p.data()) == Some(seq), p.len(), p.original_len()));
                }
            }
        }
    }
    Ok(got)
}

fn frame_len(seq: u64) -> usize {
    60 + (seq as usize * 97) % (1514 - 60 + 1)
}

fn check_capture(c: &Ctx) -> Result<String, String> {
    let mut cap = c.capture(|b| b)?;
    let tx = c.sender()?;
    let mut buf = vec![0u8; 1514];
    let t = Instant::now();
    for seq in 0..c.frames {
        let f = &mut buf[..frame_len(seq)];
        c.seqf.fill(seq, f);
        tx.send(f).map_err(s)?;
    }
    let got = receive(&mut cap, &c.seqf, c.frames, Duration::from_secs(5))?;
    let secs = t.elapsed().as_secs_f64();
    if got.len() as u64 != c.frames {
        return Err(format!("{} of {} frames arrived", got.len(), c.frames));
    }
    for (i, &(seq, exact, caplen, origlen)) in got.iter().enumerate() {
        if seq != i as u64 {
            return Err(format!("frame {i} carries sequence number {seq}: out of order"));
        }
        if !exact || caplen != frame_len(seq) || origlen != caplen {
            return Err(format!("frame {seq} differs from what was sent ({caplen}/{origlen} bytes)"));
        }
    }
    let stats = cap.stats().map_err(s)?;
    if stats.packets != c.frames || stats.drops != 0 {
        return Err(format!("kernel counters disagree: {stats}"));
    }
    Ok(format!("{} frames of 60..1514 bytes in {:.0} ms; kernel: {stats}", c.frames, secs * 1e3))
}

fn check_snaplen(c: &Ctx) -> Result<String, String> {
    let mut cap = c.capture(|b| b.snaplen(64))?;
    let tx = c.sender()?;
    for seq in 0..100 {
        tx.send(&c.seqf.build(seq, 1000)).map_err(s)?;
    }
    let got = receive(&mut cap, &c.seqf, 100, Duration::from_secs(5))?;
    if got.len() != 100 {
        return Err(format!("{} of 100 frames arrived", got.len()));
    }
    if let Some(bad) = got.iter().find(|g| !g.1 || g.2 != 64 || g.3 != 1000) {
        return Err(format!("frame {} captured {} of {} bytes, want 64 of 1000", bad.0, bad.2, bad.3));
    }
    Ok("100 frames of 1000 bytes captured as 64, original length kept".into())
}

fn check_filter(c: &Ctx) -> Result<String, String> {
    // Compiled by netring's own pcap-filter compiler, run in the kernel.
    let expr = format!("ether proto 0x{:04x} and greater 90", c.seqf.ethertype);
    let mut cap = c.capture(|b| b.filter(expr))?;
    let tx = c.sender()?;
    let other = SeqFrames { ethertype: 0x88b6, ..c.seqf };
    for seq in 0..200 {
        let g = if seq % 2 == 0 { &c.seqf } else { &other };
        tx.send(&g.build(seq, 100)).map_err(s)?;
        tx.send(&c.seqf.build(1000 + seq, 80)).map_err(s)?; // too short for `greater 90`
    }
    let got = receive(&mut cap, &c.seqf, 100, Duration::from_secs(5))?;
    let seqs: Vec<u64> = got.iter().map(|g| g.0).collect();
    if seqs != (0..200).step_by(2).collect::<Vec<_>>() {
        return Err(format!("passed {} frames, want the 100 even ones", seqs.len()));
    }
    let stats = cap.stats().map_err(s)?;
    if stats.packets != 100 {
        return Err(format!("the kernel delivered {} frames; the filter should pass 100", stats.packets));
    }
    Ok("`ether proto 0x88b5 and greater 90` compiled in Rust: 100 of 400 frames passed in the kernel".into())
}

fn check_stop(c: &Ctx) -> Result<String, String> {
    let mut cap = c.capture(|b| b)?;
    let stop = cap.stop_handle();
    let waiter = std::thread::spawn(move || {
        let t = Instant::now();
        let r = cap.next_batch_blocking(Some(Duration::from_secs(10))).map(|b| b.is_some());
        (r, t.elapsed())
    });
    std::thread::sleep(Duration::from_millis(50));
    stop.stop();
    let (r, waited) = waiter.join().map_err(|_| "reader thread panicked".to_string())?;
    match r {
        Err(Error::Stopped) if waited < Duration::from_secs(1) => {
            Ok(format!("woken {:.1} ms after stop", (waited.as_secs_f64() - 0.05).max(0.0) * 1e3))
        }
        other => Err(format!("blocked read returned {other:?} after {waited:?}")),
    }
}

fn injector(c: &Ctx) -> Result<Injector, String> {
    c.link.a.run(Injector::open).map_err(s)?.map_err(s)
}

/// Queue `frames` through `inj` (blocking when full), flush, wait until the
/// kernel released them all.
fn inject(inj: &mut Injector, frames: impl Iterator<Item = Vec<u8>>) -> Result<(), String> {
    for (i, f) in frames.enumerate() {
        let mut slot =
            inj.allocate_blocking(f.len(), Some(Duration::from_secs(5))).map_err(s)?.ok_or("TX ring stuck")?;
        slot.copy_from_slice(&f);
        slot.send();
        if i % 64 == 63 {
            inj.flush().map_err(s)?;
        }
    }
    inj.flush().map_err(s)?;
    if !inj.wait_drained(Some(Duration::from_secs(5))).map_err(s)? {
        return Err(format!("not drained after 5 s: {}", inj.tx_stats()));
    }
    Ok(())
}

fn check_inject(c: &Ctx) -> Result<String, String> {
    let mut cap = c.capture(|b| b.block_count(64))?;
    let mut inj = injector(c)?;
    let t = Instant::now();
    inject(&mut inj, (0..c.frames).map(|seq| c.seqf.build(seq, frame_len(seq))))?;
    let got = receive(&mut cap, &c.seqf, c.frames, Duration::from_secs(5))?;
    let secs = t.elapsed().as_secs_f64();
    if got.len() as u64 != c.frames {
        return Err(format!("{} of {} frames arrived", got.len(), c.frames));
    }
    if let Some((i, g)) = got.iter().enumerate().find(|(i, g)| g.0 != *i as u64 || !g.1 || g.2 != frame_len(g.0)) {
        return Err(format!("frame {i} arrived as sequence number {} ({} bytes, exact: {})", g.0, g.2, g.1));
    }
    let st = inj.tx_stats();
    if st.sent != c.frames || st.rejected != 0 || st.pending != 0 {
        return Err(format!("injector counters disagree: {st}"));
    }
    Ok(format!(
        "{} frames of 60..1514 bytes through a {}-slot TX ring in {:.0} ms",
        c.frames,
        inj.frame_count(),
        secs * 1e3
    ))
}

fn check_reject(c: &Ctx) -> Result<String, String> {
    let mut cap = c.capture(|b| b)?;
    let mut inj = injector(c)?;
    // 10 good frames with a 5-byte one (shorter than an Ethernet header) in the middle.
    let mut frames: Vec<Vec<u8>> = (0..10).map(|seq| c.seqf.build(seq, 100)).collect();
    frames.insert(5, vec![0xde, 0xad, 0xbe, 0xef, 0]);
    inject(&mut inj, frames.into_iter())?;
    let st = inj.tx_stats();
    if (st.sent, st.rejected) != (10, 1) {
        return Err(format!("want 10 sent and 1 rejected: {st}"));
    }
    let got = receive(&mut cap, &c.seqf, 10, Duration::from_secs(5))?;
    if got.iter().map(|g| g.0).collect::<Vec<_>>() != (0..10).collect::<Vec<_>>() {
        return Err(format!(
            "the good frames did not all arrive in order: {:?}",
            got.iter().map(|g| g.0).collect::<Vec<_>>()
        ));
    }
    Ok("kernel marked it TP_STATUS_WRONG_FORMAT; 10 good frames arrived in order around it".into())
}

fn check_bridge(c: &Ctx) -> Result<String, String> {
    // a — b(bridge port A) … (bridge port B) z — w, with z in b's namespace.
    let ns3 = NetNs::create(&netring::testkit::unique_name("nrt")).map_err(s)?;
    let right = VethConfig::default().create_between(&c.link.b.ns, &ns3).map_err(s)?;
    let mut bridge = c.link.b.run(|n| Bridge::builder().a(n).b(&right.a.name).build()).map_err(s)?.map_err(s)?;
    let stop = bridge.stop_handle();
    let dropped = SeqFrames { ethertype: 0x88b6, ..c.seqf };
    let runner = std::thread::spawn(move || {
        bridge.run(Some(Duration::from_secs(10)), |p, _| {
            if p.data().get(12..14) == Some(&[0x88, 0xb6][..]) { BridgeAction::Drop } else { BridgeAction::Forward }
        })
    });
    let result = (|| {
        let mut cap_w =
            right.b.run(|n| Capture::builder().interface(n).ignore_outgoing(true).build()).map_err(s)?.map_err(s)?;
        let mut cap_a = c.capture_a()?;
        let mut inj_a = injector(c)?;
        let mut inj_w = right.b.run(Injector::open).map_err(s)?.map_err(s)?;
        inject(
            &mut inj_a,
            (0..400).map(|i| if i % 2 == 0 { c.seqf.build(i / 2, 200) } else { dropped.build(i / 2, 200) }),
        )?;
        let back = SeqFrames { src: [2, 0, 0, 0, 0, 3], dst: c.seqf.src, ..c.seqf };
        inject(&mut inj_w, (0..100).map(|i| back.build(i, 90)))?;
        let at_w = receive(&mut cap_w, &c.seqf, 200, Duration::from_secs(5))?;
        let at_a = receive(&mut cap_a, &back, 100, Duration::from_secs(5))?;
        let extra = receive(&mut cap_w, &c.seqf, 1, Duration::from_millis(200))?;
        let ok_w = at_w.len() == 200 && at_w.iter().enumerate().all(|(i, g)| g.0 == i as u64 && g.1);
        let ok_a = at_a.len() == 100 && at_a.iter().enumerate().all(|(i, g)| g.0 == i as u64 && g.1);
        if !ok_w || !ok_a || !extra.is_empty() {
            return Err(format!(
                "{} of 200 frames A->B, {} of 100 B->A, {} extra",
                at_w.len(),
                at_a.len(),
                extra.len()
            ));
        }
        Ok(())
    })();
    stop.stop();
    let stats = runner.join().map_err(|_| "bridge thread panicked".to_string())?.map_err(s)?;
    result?;
    let (ab, ba) = (stats.a_to_b, stats.b_to_a);
    if (ab.forwarded, ab.dropped, ba.forwarded) != (200, 200, 100) {
        return Err(format!("bridge counters disagree: {stats:?}"));
    }
    Ok(format!(
        "A->B {} forwarded, {} dropped by rule; B->A {} forwarded; no duplicates",
        ab.forwarded, ab.dropped, ba.forwarded
    ))
}

/// Frames for the AF_XDP checks: a burst that fits the rings.
fn xdp_frames(c: &Ctx) -> u64 {
    c.frames.min(2000)
}

fn check_xdp_rx(c: &Ctx) -> Result<String, String> {
    let n = xdp_frames(c);
    let mut sock = c
        .link
        .b
        .run(|name| XdpSocket::builder().interface(name).mode(XdpMode::Rx).rx_ring_size(4096).build())
        .map_err(s)?
        .map_err(s)?;
    let tx = c.sender()?;
    let mut buf = vec![0u8; 1514];
    for seq in 0..n {
        let f = &mut buf[..frame_len(seq)];
        c.seqf.fill(seq, f);
        tx.send(f).map_err(s)?;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut next = 0u64;
    while next < n && Instant::now() < deadline {
        if let Some(batch) = sock.next_batch_blocking(Some(Duration::from_millis(100))).map_err(s)? {
            for p in batch.iter().filter(|p| c.seqf.seq(p.data()).is_some()) {
                if c.seqf.verify(p.data()) != Some(next) || p.len() != frame_len(next) {
                    return Err(format!("frame {next} differs from what was sent or is out of order"));
                }
                next += 1;
            }
        }
    }
    let st = sock.xdp_stats().map_err(s)?;
    if next != n || st.drops() != 0 {
        return Err(format!("{next} of {n} frames arrived; {st}"));
    }
    Ok(format!(
        "{n} frames, {} mode, {} XDP program loaded by netring; {st}",
        if sock.zero_copy() { "zero-copy" } else { "copy" },
        sock.attach_mode().map_or("no", |m| m.as_str())
    ))
}

fn check_xdp_tx(c: &Ctx) -> Result<String, String> {
    let n = xdp_frames(c);
    let mut cap = c.capture(|b| b)?;
    let mut sock =
        c.link.a.run(|name| XdpSocket::builder().interface(name).mode(XdpMode::Tx).build()).map_err(s)?.map_err(s)?;
    for seq in 0..n {
        loop {
            if let Some(mut slot) = sock.allocate(frame_len(seq)).map_err(s)? {
                c.seqf.fill(seq, slot.data_mut());
                slot.send();
                break;
            }
            sock.flush().map_err(s)?;
        }
        if seq % 64 == 63 {
            sock.flush().map_err(s)?;
        }
    }
    if !sock.wait_drained(Some(Duration::from_secs(5))).map_err(s)? {
        return Err(format!("{} frames never completed", sock.tx_in_flight()));
    }
    let got = receive(&mut cap, &c.seqf, n, Duration::from_secs(5))?;
    if got.len() as u64 != n {
        return Err(format!("{} of {n} frames arrived", got.len()));
    }
    if let Some((i, g)) = got.iter().enumerate().find(|(i, g)| g.0 != *i as u64 || !g.1 || g.2 != frame_len(g.0)) {
        return Err(format!("frame {i} (sequence {}) differs from what was sent", g.0));
    }
    let st = sock.xdp_stats().map_err(s)?;
    Ok(format!("{n} frames from zero-copy TX slots, {} completed by the kernel", st.completed))
}

fn check_fanout(c: &Ctx) -> Result<String, String> {
    use netring::afpacket::{Fanout, FanoutMode};
    let f = Fanout::new((std::process::id() & 0xffff) as u16, FanoutMode::LoadBalance);
    let mut a = c.capture(|b| b.fanout(f.clone()))?;
    let mut b = c.capture(|b| b.fanout(f.clone()))?;
    let tx = c.sender()?;
    for seq in 0..1000 {
        tx.send(&c.seqf.build(seq, 100)).map_err(s)?;
    }
    let ga = receive(&mut a, &c.seqf, 500, Duration::from_secs(5))?;
    let gb = receive(&mut b, &c.seqf, 500, Duration::from_secs(5))?;
    let mut all: Vec<u64> = ga.iter().chain(&gb).map(|g| g.0).collect();
    all.sort_unstable();
    if all != (0..1000).collect::<Vec<_>>() || ga.len() != 500 {
        return Err(format!("members got {} and {} frames; want 500 each, every frame once", ga.len(), gb.len()));
    }
    Ok("1000 frames: 500 on each member, none twice, none lost".into())
}

fn check_vlan(c: &Ctx) -> Result<String, String> {
    let mut cap = c.capture(|b| b.reinsert_vlan(true))?;
    let tx = c.sender()?;
    let sent: Vec<Vec<u8>> = (0..100u64)
        .map(|seq| {
            let inner = c.seqf.build(seq, 100);
            let mut f = inner[..12].to_vec();
            f.extend_from_slice(&[0x81, 0x00, 0x00, 42]);
            f.extend_from_slice(&inner[12..]);
            f
        })
        .collect();
    for f in &sent {
        tx.send(f).map_err(s)?;
    }
    let mut got = 0;
    let deadline = Instant::now() + Duration::from_secs(5);
    while got < sent.len() && Instant::now() < deadline {
        if let Some(batch) = cap.next_batch_blocking(Some(Duration::from_millis(200))).map_err(s)? {
            for p in &batch {
                if p.data() != &sent[got][..] {
                    return Err(format!("frame {got} is not what was sent (tag missing or wrong)"));
                }
                got += 1;
            }
        }
    }
    if got != sent.len() {
        return Err(format!("{got} of {} tagged frames arrived", sent.len()));
    }
    Ok("100 frames tagged VLAN 42: stripped by the kernel, put back by netring".into())
}

/// A 4-queue link of its own: an AF_XDP TX socket per queue on one end, a
/// shared-UMEM RX socket per queue on the other, read as one set.
fn check_xdp_queues(c: &Ctx) -> Result<String, String> {
    const Q: u64 = 4;
    let per = xdp_frames(c) / Q;
    let link = VethConfig::default().queues(Q as u32).create().map_err(s)?;
    let socks = link
        .b
        .run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Rx).frame_count(1024).build_all_queues())
        .map_err(s)?
        .map_err(s)?;
    let mut set = netring::afxdp::XdpQueueSet::new(socks).map_err(s)?;
    let mut tx = link
        .a
        .run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Tx).build_all_queues())
        .map_err(s)?
        .map_err(s)?;
    for (q, sock) in tx.iter_mut().enumerate() {
        for i in 0..per {
            let f = c.seqf.build(q as u64 * 1_000_000 + i, 64 + i as usize % 1000);
            while !sock.send(&f).map_err(s)? {
                sock.flush().map_err(s)?;
            }
        }
        if !sock.wait_drained(Some(Duration::from_secs(5))).map_err(s)? {
            return Err(format!("queue {q}: {} frames never completed", sock.tx_in_flight()));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut per_queue = [0u64; Q as usize];
    let deadline = Instant::now() + Duration::from_secs(5);
    while (seen.len() as u64) < Q * per && Instant::now() < deadline {
        if let Some(batch) = set.next_batch_blocking(Some(Duration::from_millis(100))).map_err(s)? {
            for p in &batch {
                let Some(seq) = c.seqf.verify(p.data()) else { continue };
                if !seen.insert(seq) {
                    return Err(format!("frame {seq} arrived twice"));
                }
                per_queue[(seq / 1_000_000) as usize % Q as usize] += 1;
            }
        }
    }
    if per_queue != [per; Q as usize] {
        return Err(format!("frames per queue {per_queue:?}, want {per} each"));
    }
    Ok(format!("{} frames, {per} per queue, each once; {}", Q * per, set.stats().map_err(s)?))
}

fn check_xdp_filter(c: &Ctx) -> Result<String, String> {
    // Byte 21 is the low byte of the sequence number: even frames to AF_XDP.
    let expr = format!("ether proto {:#x} and ether[21] & 1 = 0", c.seqf.ethertype);
    let mut sock = c
        .link
        .b
        .run(move |name| XdpSocket::builder().interface(name).mode(XdpMode::Rx).filter(expr).build())
        .map_err(s)?
        .map_err(s)?;
    let mut cap = c.capture(|b| b)?;
    let tx = c.sender()?;
    for seq in 0..200 {
        tx.send(&c.seqf.build(seq, 100)).map_err(s)?;
    }
    let stack = receive(&mut cap, &c.seqf, 100, Duration::from_secs(5))?;
    let mut xdp = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while xdp.len() < 100 && Instant::now() < deadline {
        if let Some(batch) = sock.next_batch_blocking(Some(Duration::from_millis(100))).map_err(s)? {
            xdp.extend(batch.iter().filter_map(|p| c.seqf.verify(p.data())));
        }
    }
    let odd: Vec<u64> = stack.iter().filter(|g| g.1).map(|g| g.0).collect();
    if xdp != (0..200).step_by(2).collect::<Vec<_>>() || odd != (1..200).step_by(2).collect::<Vec<_>>() {
        return Err(format!(
            "AF_XDP got {} frames, the stack {}; want the 100 even ones and the 100 odd ones",
            xdp.len(),
            odd.len()
        ));
    }
    Ok("100 of 200 frames to AF_XDP by the filter in the XDP program, the other 100 to the stack".into())
}
