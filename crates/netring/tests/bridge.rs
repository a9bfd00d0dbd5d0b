//! `Bridge` over a real three-namespace topology:
//!
//! ```text
//! ns1: x ──veth── y :ns2: z ──veth── w :ns3
//!                 └─ bridge ─┘
//! ```
//!
//! Frames injected on x must come out of w (and back), byte for byte, in
//! order, once each; the bridge drops one EtherType by decision and never
//! forwards its own output. Needs root.

mod common;

use std::time::Duration;

use common::{DST, SRC, collect, require_root};
use netring::netns::NetNs;
use netring::testkit::{SeqFrames, VethConfig, VethLink, unique_name};
use netring::{Bridge, BridgeAction, BridgeDirection, Capture, Injector};

const WAIT: Duration = Duration::from_secs(10);
const DROPPED_TYPE: u16 = 0x88b6;

struct Topology {
    left: VethLink,  // x (ns1) — y (ns2)
    right: VethLink, // z (ns2) — w (ns3)
    _ns3: NetNs,
}

fn topology() -> Topology {
    require_root();
    let left = VethConfig::default().create().unwrap();
    let ns3 = NetNs::create(&unique_name("nrt")).unwrap();
    let right = VethConfig::default().create_between(&left.b.ns, &ns3).unwrap();
    Topology { left, right, _ns3: ns3 }
}

fn inject(inj: &mut Injector, frames: &[Vec<u8>]) {
    for f in frames {
        let mut slot = inj.allocate_blocking(f.len(), Some(WAIT)).unwrap().unwrap();
        slot.copy_from_slice(f);
        slot.send();
    }
    inj.flush().unwrap();
    assert!(inj.wait_drained(Some(WAIT)).unwrap());
}

/// Captures and injectors on the outer ends x and w. The captures see only
/// what arrives (not what their end sends).
fn outer_ends(x: &netring::testkit::End, w: &netring::testkit::End) -> (Capture, Capture, Injector, Injector) {
    let rx = |e: &netring::testkit::End| {
        e.run(|n| Capture::builder().interface(n).ignore_outgoing(true).build()).unwrap().unwrap()
    };
    let tx = |e: &netring::testkit::End| e.run(Injector::open).unwrap().unwrap();
    (rx(x), rx(w), tx(x), tx(w))
}

#[test]
fn forwards_both_ways_drops_by_decision_and_never_echoes() {
    let t = topology();
    let (x, y, z, w) = (&t.left.a, &t.left.b, &t.right.a, &t.right.b);
    assert_eq!(y.ns.path(), z.ns.path(), "the bridge's two ports share ns2");
    let mut bridge = y.run(|ny| Bridge::builder().a(ny).b(&z.name).build()).unwrap().unwrap();
    assert_eq!(bridge.interfaces(), (y.name.as_str(), z.name.as_str()));
    let stop = bridge.stop_handle();
    let runner = std::thread::spawn(move || {
        let stats = bridge.run(None, |pkt, dir| {
            if dir == BridgeDirection::AtoB && pkt.data().get(12..14) == Some(&DROPPED_TYPE.to_be_bytes()[..]) {
                BridgeAction::Drop
            } else {
                BridgeAction::Forward
            }
        });
        (stats, bridge)
    });
    let (mut cap_x, mut cap_w, mut inj_x, mut inj_w) = outer_ends(x, w);

    // x → w: 500 frames we keep, 500 of the dropped EtherType, interleaved.
    let keep = SeqFrames { dst: DST, src: SRC, ethertype: common::ETHERTYPE };
    let drop_ = SeqFrames { ethertype: DROPPED_TYPE, ..keep };
    let mut from_x = Vec::new();
    let mut kept = Vec::new();
    for i in 0..1000u64 {
        let len = 60 + (i as usize * 53) % 1455;
        let f = if i % 2 == 0 { keep.build(i / 2, len) } else { drop_.build(i / 2, len) };
        if i % 2 == 0 {
            kept.push(f.clone());
        }
        from_x.push(f);
    }
    inject(&mut inj_x, &from_x);
    // w → x: 300 frames from another source address.
    let back = SeqFrames { dst: SRC, src: [2, 0, 0, 0, 0, 3], ethertype: common::ETHERTYPE };
    let from_w: Vec<_> = (0..300).map(|i| back.build(i, 64 + i as usize)).collect();
    inject(&mut inj_w, &from_w);

    let at_w = collect(&mut cap_w, kept.len(), WAIT);
    let at_x = collect(&mut cap_x, from_w.len(), WAIT);
    // Give any echo or duplicate time to show up, then stop the bridge.
    let late_w = collect(&mut cap_w, 1, Duration::from_millis(300));
    let late_x = collect(&mut cap_x, 1, Duration::from_millis(10));
    stop.stop();
    let (stats, _bridge) = runner.join().unwrap();
    let stats = stats.unwrap();

    assert_eq!(at_w.len(), kept.len(), "every kept frame crossed A→B once");
    for (i, (p, f)) in at_w.iter().zip(&kept).enumerate() {
        assert_eq!(p.data(), &f[..], "frame {i} at w, byte for byte and in order");
    }
    assert_eq!(at_x.len(), from_w.len(), "every frame crossed B→A once");
    for (i, (p, f)) in at_x.iter().zip(&from_w).enumerate() {
        assert_eq!(p.data(), &f[..], "frame {i} at x");
    }
    assert!(late_w.is_empty() && late_x.is_empty(), "no duplicates, no echo: {late_w:?} {late_x:?}");
    let ab = stats.a_to_b;
    assert_eq!((ab.forwarded, ab.dropped, ab.too_large, ab.tx_full), (500, 500, 0, 0), "{stats:?}");
    assert_eq!(ab.bytes, kept.iter().map(|f| f.len() as u64).sum::<u64>());
    let ba = stats.b_to_a;
    assert_eq!((ba.forwarded, ba.dropped, ba.too_large, ba.tx_full), (300, 0, 0, 0), "{stats:?}");
    // Nothing of the dropped type reached w (collect only keeps 0x88b5,
    // so ask the kernel: w's receive counter).
    let w_rx = w.run(netring::interface::link_info).unwrap().unwrap().rx_packets;
    assert_eq!(w_rx, 500, "w received exactly the kept frames");
}

#[test]
fn frames_too_large_for_the_far_port_are_counted() {
    require_root();
    // Port A carries jumbo frames, port B only 1500.
    let left = VethConfig::default().mtu(9000).create().unwrap();
    let ns3 = NetNs::create(&unique_name("nrt")).unwrap();
    let right = VethConfig::default().create_between(&left.b.ns, &ns3).unwrap();
    let mut bridge = left.b.run(|n| Bridge::builder().a(n).b(&right.a.name).build()).unwrap().unwrap();
    let stop = bridge.stop_handle();
    let runner = std::thread::spawn(move || bridge.run(Some(WAIT), |_, _| BridgeAction::Forward));
    let mut cap = right.b.run(Capture::open).unwrap().unwrap();
    let mut inj = left.a.run(Injector::open).unwrap().unwrap();
    let frames: Vec<_> =
        [100usize, 4000, 1514, 9014].iter().enumerate().map(|(i, &n)| common::frame(i as u64, n)).collect();
    inject(&mut inj, &frames);
    let got = collect(&mut cap, 2, WAIT);
    std::thread::sleep(Duration::from_millis(100));
    stop.stop();
    let stats = runner.join().unwrap().unwrap();
    assert_eq!(got.iter().map(|p| p.data().len()).collect::<Vec<_>>(), vec![100, 1514]);
    assert_eq!((stats.a_to_b.forwarded, stats.a_to_b.too_large), (2, 2), "{stats:?}");
}

#[cfg(feature = "tokio")]
#[test]
fn run_async_forwards_both_ways_on_a_tokio_runtime_and_ends_on_stop() {
    let t = topology();
    let (x, y, z, w) = (&t.left.a, &t.left.b, &t.right.a, &t.right.b);
    let mut bridge = y.run(|ny| Bridge::builder().a(ny).b(&z.name).build()).unwrap().unwrap();
    let stop = bridge.stop_handle();
    let runner = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        // Spawned, so the future must be Send.
        let task = rt.spawn(async move {
            let stats = bridge
                .run_async(None, |pkt, _| {
                    if pkt.data().get(12..14) == Some(&DROPPED_TYPE.to_be_bytes()[..]) {
                        BridgeAction::Drop
                    } else {
                        BridgeAction::Forward
                    }
                })
                .await;
            (stats, bridge)
        });
        rt.block_on(task).unwrap()
    });
    let (mut cap_x, mut cap_w, mut inj_x, mut inj_w) = outer_ends(x, w);
    let keep = SeqFrames { dst: DST, src: SRC, ethertype: common::ETHERTYPE };
    let drop_ = SeqFrames { ethertype: DROPPED_TYPE, ..keep };
    let kept: Vec<_> = (0..800u64).map(|i| keep.build(i, 60 + (i as usize * 29) % 1455)).collect();
    let mut from_x = Vec::new();
    for (i, f) in kept.iter().enumerate() {
        from_x.push(f.clone());
        if i % 4 == 0 {
            from_x.push(drop_.build(i as u64, 100));
        }
    }
    let back = SeqFrames { dst: SRC, src: [2, 0, 0, 0, 0, 3], ethertype: common::ETHERTYPE };
    let from_w: Vec<_> = (0..400).map(|i| back.build(i, 64 + i as usize)).collect();
    // Both directions at once, in bursts.
    let (mut ax, mut bw) = (from_x.chunks(100), from_w.chunks(40));
    for _ in 0..10 {
        inject(&mut inj_x, ax.next().unwrap());
        inject(&mut inj_w, bw.next().unwrap());
    }
    assert!(ax.next().is_none() && bw.next().is_none());
    let at_w = collect(&mut cap_w, kept.len(), WAIT);
    let at_x = collect(&mut cap_x, from_w.len(), WAIT);
    let late = collect(&mut cap_w, 1, Duration::from_millis(200));
    stop.stop();
    let (stats, _bridge) = runner.join().unwrap();
    let stats = stats.unwrap();
    let got_w: Vec<_> = at_w.iter().map(|p| p.data().to_vec()).collect();
    let got_x: Vec<_> = at_x.iter().map(|p| p.data().to_vec()).collect();
    assert_eq!(got_w, kept, "every kept frame crossed A→B once, byte for byte, in order");
    assert_eq!(got_x, from_w, "every frame crossed B→A once");
    assert!(late.is_empty(), "no duplicates, no echo");
    assert_eq!((stats.a_to_b.forwarded, stats.a_to_b.dropped), (800, 200), "{stats:?}");
    assert_eq!((stats.b_to_a.forwarded, stats.b_to_a.dropped), (400, 0), "{stats:?}");
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "current_thread")]
async fn run_async_ends_at_its_deadline_without_traffic() {
    let t = topology();
    let (y, z) = (&t.left.b, &t.right.a);
    let mut bridge = y.run(|ny| Bridge::builder().a(ny).b(&z.name).build()).unwrap().unwrap();
    let started = std::time::Instant::now();
    let stats = bridge.run_async(Some(Duration::from_millis(300)), |_, _| BridgeAction::Forward).await.unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(3), "{took:?}");
    assert_eq!(stats.a_to_b.forwarded + stats.b_to_a.forwarded, 0);
}

#[cfg(feature = "tokio")]
#[test]
fn run_async_cancelled_again_and_again_loses_and_duplicates_nothing() {
    let t = topology();
    let (x, y, z, w) = (&t.left.a, &t.left.b, &t.right.a, &t.right.b);
    let sent_count = 2000;
    // The far port's TX ring holds every frame of the test, so a far end
    // whose softirq runs late on a loaded machine cannot make the bridge
    // drop a frame for a full ring: `tx_full` must stay 0 and every frame
    // must cross.
    let mut bridge = y.run(|ny| Bridge::builder().a(ny).b(&z.name).tx_frames(2048).build()).unwrap().unwrap();
    let (_, mut cap_w, mut inj_x, _) = outer_ends(x, w);
    let keep = SeqFrames { dst: DST, src: SRC, ethertype: common::ETHERTYPE };
    let sent: Vec<_> = (0..sent_count).map(|i| keep.build(i, 60 + (i as usize * 17) % 1400)).collect();
    let dropped_before = (link_drops(z), link_drops(w));
    // The feeder and the bridge run on one CPU: plain veth queues each frame
    // on the backlog of the CPU that sent it, so sends from two CPUs could
    // reorder frames on the wire (the kernel's doing, not the bridge's).
    let feeder = {
        let sent = sent.clone();
        std::thread::spawn(move || {
            netring::cpu::pin_current_thread(0).unwrap();
            for chunk in sent.chunks(50) {
                inject(&mut inj_x, chunk);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let receiver = std::thread::spawn(move || {
        let got = collect(&mut cap_w, sent_count as usize, WAIT);
        (got, cap_w.stats().unwrap())
    });
    netring::cpu::pin_current_thread(0).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut cancelled = 0;
    let deadline = std::time::Instant::now() + WAIT;
    while !receiver.is_finished() && std::time::Instant::now() < deadline {
        // Cancel the run every 3 ms, mid-wait or mid-work.
        let run = bridge.run_async(None, |_, _| BridgeAction::Forward);
        if rt.block_on(async { tokio::time::timeout(Duration::from_millis(3), run).await }).is_err() {
            cancelled += 1;
        }
    }
    feeder.join().unwrap();
    let (got, cap_w_stats) = receiver.join().unwrap();
    let got: Vec<_> = got.into_iter().map(|p| p.data().to_vec()).collect();
    let st = bridge.stats().a_to_b;
    let (z_drops, w_drops) = (link_drops(z) - dropped_before.0, link_drops(w) - dropped_before.1);
    // Every counter a missing frame could show in, named in the failure.
    let counters = format!(
        "bridge {st:?}; kernel drops: bridge port {} {z_drops}, far end {} {w_drops}, far capture {cap_w_stats:?}",
        z.name, w.name
    );
    assert_eq!((st.tx_full, st.too_large, st.dropped), (0, 0, 0), "{counters}");
    assert_eq!(st.forwarded, sent.len() as u64, "the bridge queued every frame: {counters}");
    assert_eq!(got.len(), sent.len(), "every frame crossed once: {counters}");
    assert_eq!(got, sent, "byte for byte, in order");
    assert!(cancelled > 10, "the run was cancelled many times ({cancelled})");
}

/// Frames the kernel dropped on `end`'s interface, either way
/// (`rx_dropped + tx_dropped + rx_missed_errors`, from `RTM_GETLINK`).
#[cfg(feature = "tokio")]
fn link_drops(end: &netring::testkit::End) -> u64 {
    let info = end.run(netring::interface::link_info).unwrap().unwrap();
    info.rx_dropped + info.tx_dropped + info.rx_missed_errors
}
