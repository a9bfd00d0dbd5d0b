//! `Injector` (PACKET_TX_RING) over a real veth link in private namespaces.
//!
//! Every test builds its own link, injects numbered frames on one end and
//! checks, on the other end, with our `Capture` (and tcpdump where noted),
//! that every frame arrived byte for byte, in order, exactly once. Needs
//! root; fails naming what is missing otherwise.

mod common;

use std::time::{Duration, Instant};

use common::{collect, frame, link, seq_of};
use netring::testkit::{VethConfig, VethLink};
use netring::{Capture, Error, Injector, InjectorBuilder, TpacketVersion};

const WAIT: Duration = Duration::from_secs(10);

fn injector(l: &VethLink, f: impl FnOnce(InjectorBuilder) -> InjectorBuilder + Send) -> Injector {
    l.a.run(|n| f(Injector::builder().interface(n)).build()).unwrap().unwrap()
}

fn receiver(l: &VethLink) -> Capture {
    l.b.run(|n| Capture::builder().interface(n).block_count(64).build()).unwrap().unwrap()
}

/// Queue `frames` in batches of `batch`, flushing after each, blocking when
/// the ring is full.
fn inject_all(inj: &mut Injector, frames: &[Vec<u8>], batch: usize) {
    for chunk in frames.chunks(batch) {
        for f in chunk {
            let mut slot = inj.allocate_blocking(f.len(), Some(WAIT)).unwrap().expect("a free slot within 10 s");
            slot.copy_from_slice(f);
            slot.send();
        }
        inj.flush().unwrap();
    }
}

fn assert_arrived_exactly(got: &[netring::OwnedPacket], sent: &[Vec<u8>], what: &str) {
    assert_eq!(got.len(), sent.len(), "{what}: every frame arrived, none twice");
    for (i, (p, f)) in got.iter().zip(sent).enumerate() {
        assert_eq!(seq_of(p.data()), Some(i as u64), "{what}: frame {i} in order");
        assert_eq!(p.data(), &f[..], "{what}: frame {i} byte for byte");
        assert_eq!(p.original_len(), f.len());
    }
}

#[test]
fn numbered_frames_arrive_byte_exact_for_v2_and_v3_with_and_without_qdisc_bypass() {
    let l = link();
    let mut cap = receiver(&l);
    const N: u64 = 3000;
    for (version, bypass) in [
        (TpacketVersion::V2, false),
        (TpacketVersion::V2, true),
        (TpacketVersion::V3, false),
        (TpacketVersion::V3, true),
    ] {
        let what = format!("{version:?}, qdisc bypass {bypass}");
        let mut inj = injector(&l, |b| b.version(version).qdisc_bypass(bypass).frame_count(256));
        assert_eq!((inj.version(), inj.qdisc_bypass()), (version, bypass));
        let sent: Vec<Vec<u8>> = (0..N).map(|i| frame(i, 60 + (i as usize * 37) % 1455)).collect();
        let t0 = Instant::now();
        inject_all(&mut inj, &sent, 64);
        assert!(inj.wait_drained(Some(WAIT)).unwrap(), "{what}: drained");
        let s = inj.tx_stats();
        assert_eq!((s.queued, s.sent, s.rejected, s.pending), (N, N, 0, 0), "{what}: {s}");
        assert_eq!(s.bytes, sent.iter().map(|f| f.len() as u64).sum::<u64>(), "{what}");
        let got = collect(&mut cap, N as usize, WAIT);
        assert_arrived_exactly(&got, &sent, &what);
        assert!(collect(&mut cap, 1, Duration::from_millis(100)).is_empty(), "{what}: nothing extra");
        eprintln!("{what}: {N} frames in {:?}", t0.elapsed());
    }
    let st = cap.stats().unwrap();
    assert_eq!((st.packets, st.drops), (4 * N, 0), "the receiving kernel counted exactly what we sent");
}

#[test]
fn tcpdump_on_the_peer_sees_every_frame_byte_for_byte() {
    let l = link();
    netring::testkit::require_tool("tcpdump");
    const N: u64 = 1000;
    for bypass in [false, true] {
        let file = std::env::temp_dir().join(format!("netring-inject-{}-{bypass}.pcap", std::process::id()));
        let dump = common::Tcpdump::start(&l.b, &file, N);
        let mut inj = injector(&l, |b| b.qdisc_bypass(bypass));
        let sent: Vec<Vec<u8>> = (0..N).map(|i| frame(i, 60 + (i as usize * 101) % 1455)).collect();
        inject_all(&mut inj, &sent, 32);
        assert!(inj.wait_drained(Some(WAIT)).unwrap());
        assert_eq!(inj.tx_stats().sent, N);
        let recs = dump.finish();
        assert_eq!(recs.len() as u64, N, "tcpdump (bypass {bypass}) counted every frame");
        for (i, (r, f)) in recs.iter().zip(&sent).enumerate() {
            assert_eq!(r, f, "tcpdump's copy of frame {i} (bypass {bypass})");
        }
        std::fs::remove_file(&file).unwrap();
    }
}

#[test]
fn jumbo_frames_up_to_mtu_plus_header_and_a_named_error_beyond() {
    common::require_root();
    let l = VethConfig::default().mtu(9000).create().unwrap();
    let mut cap = l.b.run(|n| Capture::builder().interface(n).build()).unwrap().unwrap();
    let mut inj = injector(&l, |b| b);
    assert_eq!(inj.max_frame_len(), 9014);
    let sizes = [60usize, 1514, 9000, 9014];
    let sent: Vec<_> = sizes.iter().enumerate().map(|(i, &n)| frame(i as u64, n)).collect();
    inject_all(&mut inj, &sent, 4);
    assert!(inj.wait_drained(Some(WAIT)).unwrap());
    assert_arrived_exactly(&collect(&mut cap, 4, WAIT), &sent, "jumbo");
    match inj.allocate(9015) {
        Err(e @ Error::FrameTooLarge { .. }) => assert_eq!(
            e.to_string(),
            format!(
                "frame of 9015 bytes is too large for {}: at most 9014 bytes (MTU 9000 + 14-byte link header)",
                l.a.name
            )
        ),
        other => panic!("expected FrameTooLarge, got {other:?}"),
    }
    assert_eq!(inj.tx_stats().queued, 4, "nothing was queued by the refused allocation");
}

#[test]
fn oversize_on_a_standard_mtu_names_size_and_limit() {
    let l = link();
    let mut inj = injector(&l, |b| b);
    let e = inj.send(&frame(0, 1515)).unwrap_err();
    assert!(matches!(e, Error::FrameTooLarge { len: 1515, limit: 1514, .. }), "{e}");
    assert!(e.to_string().contains("MTU 1500"), "{e}");
    // A small slot limits below the MTU, and says so.
    let mut inj = injector(&l, |b| b.frame_size(1024));
    let e = inj.send(&frame(0, 1000)).unwrap_err();
    assert!(matches!(e, Error::FrameTooLarge { len: 1000, limit: 992, .. }), "{e}");
    assert!(e.to_string().contains("1024-byte TX ring slot holds 992"), "{e}");
}

#[test]
fn a_full_ring_refuses_then_recovers_after_flush() {
    let l = link();
    let mut cap = receiver(&l);
    let mut inj = injector(&l, |b| b.frame_count(16));
    let n = inj.frame_count();
    assert!(n >= 16);
    let mut sent = Vec::new();
    for i in 0..n as u64 {
        sent.push(frame(i, 100));
        assert!(inj.send(sent.last().unwrap()).unwrap(), "slot {i} free");
    }
    assert!(!inj.send(&frame(n as u64, 100)).unwrap(), "the ring is full until the kernel takes frames");
    assert!(inj.allocate(100).unwrap().is_none());
    assert_eq!(inj.tx_stats().pending, n as u64);
    assert!(collect(&mut cap, 1, Duration::from_millis(100)).is_empty(), "nothing leaves before a flush");
    // The blocking allocation kicks the kernel itself and gets a slot.
    let t0 = Instant::now();
    let mut slot = inj.allocate_blocking(100, Some(WAIT)).unwrap().expect("a slot after the kick");
    sent.push(frame(n as u64, 100));
    slot.copy_from_slice(sent.last().unwrap());
    slot.send();
    assert!(t0.elapsed() < Duration::from_secs(1));
    inj.flush().unwrap();
    assert!(inj.wait_drained(Some(WAIT)).unwrap());
    assert_arrived_exactly(&collect(&mut cap, n + 1, WAIT), &sent, "ring full");
    let s = inj.tx_stats();
    assert_eq!((s.sent, s.pending), (n as u64 + 1, 0));
}

#[test]
fn allocate_blocking_times_out_only_when_nothing_can_move() {
    let l = link();
    let mut inj = injector(&l, |b| b.frame_count(16));
    l.a.set_down().unwrap();
    for i in 0..inj.frame_count() as u64 {
        assert!(inj.send(&frame(i, 64)).unwrap());
    }
    // The interface is down: the kick says so, nothing is lost.
    match inj.allocate_blocking(64, Some(Duration::from_millis(200))) {
        Err(Error::InterfaceDown { name }) => assert_eq!(name, l.a.name),
        other => panic!("expected InterfaceDown, got {other:?}"),
    }
    assert_eq!(inj.tx_stats().pending, inj.frame_count() as u64, "frames stay queued while down");
    l.a.set_up().unwrap();
    let mut cap = receiver(&l);
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline && !inj.wait_drained(Some(Duration::from_millis(100))).unwrap_or(false) {}
    assert_eq!(inj.tx_stats().sent, inj.frame_count() as u64, "queued frames leave once the link is back");
    assert_eq!(collect(&mut cap, inj.frame_count(), WAIT).len(), inj.frame_count());
}

#[test]
fn wait_drained_returns_when_the_kernel_released_everything() {
    let l = link();
    let mut cap = receiver(&l);
    let mut inj = injector(&l, |b| b.frame_count(512));
    assert!(inj.wait_drained(Some(Duration::ZERO)).unwrap(), "nothing queued: drained at once");
    let sent: Vec<_> = (0..500).map(|i| frame(i, 1514)).collect();
    for f in &sent {
        assert!(inj.send(f).unwrap());
    }
    // No flush: wait_drained kicks by itself.
    assert_eq!(inj.pending(), 500);
    let t0 = Instant::now();
    assert!(inj.wait_drained(Some(WAIT)).unwrap());
    assert!(t0.elapsed() < Duration::from_secs(5));
    let s = inj.tx_stats();
    assert_eq!((s.sent, s.pending, s.bytes), (500, 0, 500 * 1514));
    assert_arrived_exactly(&collect(&mut cap, 500, WAIT), &sent, "drained");
}

#[test]
fn a_malformed_frame_is_rejected_counted_and_the_rest_still_arrive_in_order() {
    let l = link();
    let mut cap = receiver(&l);
    for version in [TpacketVersion::V2, TpacketVersion::V3] {
        let mut inj = injector(&l, |b| b.version(version).frame_count(64));
        let good: Vec<_> = (0..6).map(|i| frame(i, 80)).collect();
        // Frames 2 and 4 are followed by one shorter than an Ethernet header,
        // which the kernel refuses (dev_validate_header).
        for (i, f) in good.iter().enumerate() {
            assert!(inj.send(f).unwrap());
            if i == 2 || i == 4 {
                assert!(inj.send(&[0xde, 0xad, 0xbe, 0xef, 0]).unwrap());
            }
        }
        inj.flush().unwrap();
        assert!(inj.wait_drained(Some(WAIT)).unwrap());
        let s = inj.tx_stats();
        assert_eq!((s.queued, s.sent, s.rejected, s.pending), (8, 6, 2, 0), "{version:?}: {s}");
        assert_arrived_exactly(&collect(&mut cap, 6, WAIT), &good, &format!("{version:?} after rejects"));
        // The ring keeps working: the rejected slots are reused.
        let more: Vec<_> = (0..100).map(|i| frame(i, 60)).collect();
        inject_all(&mut inj, &more, 10);
        assert!(inj.wait_drained(Some(WAIT)).unwrap());
        assert_arrived_exactly(&collect(&mut cap, 100, WAIT), &more, "after rejects");
        assert_eq!(inj.tx_stats().sent, 106);
    }
}

#[test]
fn missing_interface_is_named() {
    let l = link();
    match l.a.run(|_| Injector::open("nrt-missing0")).unwrap() {
        Err(Error::InterfaceNotFound { name }) => assert_eq!(name, "nrt-missing0"),
        other => panic!("{other:?}"),
    }
}

/// The same generic loop over every AF_PACKET sink: a `RawSender` (64
/// buffers, one `sendmmsg` per flush or full set) delivers what an
/// `Injector` delivers, byte for byte.
#[test]
fn raw_sender_and_injector_are_the_same_packet_sink() {
    use netring::{PacketSink, RawSender, SinkSlot};
    fn blast<S: PacketSink>(sink: &mut S, frames: &[Vec<u8>]) -> netring::TxStats {
        for f in frames {
            let mut slot = sink.allocate_blocking(f.len(), Some(WAIT)).unwrap().expect("room within 10 s");
            slot.copy_from_slice(f);
            slot.send();
        }
        sink.flush().unwrap();
        assert!(sink.wait_drained(Some(WAIT)).unwrap());
        sink.tx_stats()
    }
    let l = link();
    let mut cap = receiver(&l);
    const N: u64 = 500;
    let sent: Vec<Vec<u8>> = (0..N).map(|i| frame(i, 60 + (i as usize * 37) % 1455)).collect();
    let bytes = sent.iter().map(|f| f.len() as u64).sum::<u64>();
    let mut raw = l.a.run(RawSender::open).unwrap().unwrap();
    assert_eq!(PacketSink::max_frame_len(&raw), 1514);
    let s = blast(&mut raw, &sent);
    assert_eq!((s.queued, s.sent, s.bytes, s.rejected, s.pending), (N, N, bytes, 0, 0), "RawSender: {s}");
    assert_arrived_exactly(&collect(&mut cap, N as usize, WAIT), &sent, "RawSender");
    let mut inj = injector(&l, |b| b.frame_count(64));
    let s = blast(&mut inj, &sent);
    assert_eq!((s.queued, s.sent, s.bytes, s.rejected, s.pending), (N, N, bytes, 0, 0), "Injector: {s}");
    assert_arrived_exactly(&collect(&mut cap, N as usize, WAIT), &sent, "Injector");
    assert!(collect(&mut cap, 1, Duration::from_millis(100)).is_empty(), "nothing extra");
    match raw.allocate(1515) {
        Err(Error::FrameTooLarge { len: 1515, limit: 1514, .. }) => {}
        other => panic!("{:?}", other.map(|o| o.is_some())),
    }
}

/// A frame the kernel refuses in the middle of a `RawSender`'s `sendmmsg`
/// batch (5 bytes, shorter than an Ethernet header: `EINVAL` from
/// `dev_validate_header()`) counts as rejected and is skipped: the frames
/// before and behind it still leave, byte for byte and in order, and the
/// flush succeeds, as on the TX ring. A frame of only an Ethernet header is
/// not refused: it arrives as it is.
#[test]
fn a_raw_sender_batch_skips_a_refused_frame_and_sends_the_rest() {
    use netring::{PacketSink, RawSender};
    let from_us = |d: &[u8]| d.len() >= 12 && d[6..12] == common::SRC;
    let l = link();
    let mut cap = receiver(&l);
    let mut raw = l.a.run(RawSender::open).unwrap().unwrap();
    let good: Vec<_> = (0..10).map(|i| frame(i, 60 + i as usize * 145)).collect();
    for (i, f) in good.iter().enumerate() {
        assert!(PacketSink::send(&mut raw, f).unwrap());
        if i == 4 {
            assert!(PacketSink::send(&mut raw, &frame(99, 60)[..5]).unwrap());
        }
    }
    assert_eq!(raw.tx_stats().pending, 11, "queued in one batch, nothing sent before the flush");
    raw.flush().unwrap();
    let bytes = good.iter().map(|f| f.len() as u64).sum::<u64>();
    let s = raw.tx_stats();
    assert_eq!((s.queued, s.sent, s.bytes, s.rejected, s.pending), (11, 10, bytes, 1, 0), "{s}");
    let got = common::collect_where(&mut cap, 11, Duration::from_millis(500), from_us);
    let got: Vec<&[u8]> = got.iter().map(|p| p.data()).collect();
    assert_eq!(got, good.iter().map(|f| &f[..]).collect::<Vec<_>>(), "the ten, in order, and nothing else");

    // The sender goes on: a header-only frame and a full one, no refusal.
    let next = [frame(10, 60)[..14].to_vec(), frame(11, 1514)];
    for f in &next {
        assert!(PacketSink::send(&mut raw, f).unwrap());
    }
    assert!(raw.wait_drained(Some(WAIT)).unwrap());
    let s = raw.tx_stats();
    assert_eq!((s.queued, s.sent, s.bytes, s.rejected, s.pending), (13, 12, bytes + 14 + 1514, 1, 0), "{s}");
    let got = common::collect_where(&mut cap, 3, Duration::from_millis(500), from_us);
    let got: Vec<&[u8]> = got.iter().map(|p| p.data()).collect();
    assert_eq!(got, [&next[0][..], &next[1][..]]);
}
