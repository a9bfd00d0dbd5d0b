//! AF_XDP over a real veth link in private namespaces: AF_PACKET sends,
//! AF_XDP receives (and the other way round), byte for byte, with the
//! built-in XDP program loaded by netring itself. Needs root; fails with a
//! message naming what is missing otherwise.

mod common;

use std::time::{Duration, Instant};

use common::{SRC, frame, link, seq_of};
use netring::afxdp::{BindMode, XdpAttach, XdpAttachMode};
use netring::testkit::{VethConfig, VethLink};
use netring::{Capture, Error, RawSender, TimestampSource, XdpMode, XdpSocket, XdpSocketBuilder};

const WAIT: Duration = Duration::from_secs(5);

fn xdp(l: &VethLink, f: impl FnOnce(XdpSocketBuilder) -> XdpSocketBuilder + Send) -> XdpSocket {
    l.b.run(|n| f(XdpSocket::builder().interface(n)).build()).unwrap().unwrap()
}

fn sender(l: &VethLink) -> RawSender {
    l.a.run(RawSender::open).unwrap().unwrap()
}

/// Receive test frames until `want` arrived or `limit` passed: their bytes.
fn receive(sock: &mut XdpSocket, want: usize, limit: Duration) -> Vec<Vec<u8>> {
    common::collect(sock, want, limit).into_iter().map(|p| p.data).collect()
}

/// Send `frames` from the peer with plain AF_PACKET sends.
fn send_all(l: &VethLink, frames: &[Vec<u8>]) {
    let tx = sender(l);
    for f in frames {
        tx.send(f).unwrap();
    }
}

#[test]
fn af_packet_frames_arrive_through_af_xdp_byte_exact_and_complete() {
    let l = link();
    // The whole burst is sent before anything is read, so every frame needs a
    // fill-ring frame and an RX ring slot of its own: 4096 of each.
    let mut sock = xdp(&l, |b| b.mode(XdpMode::Rx).rx_ring_size(4096));
    assert!(!sock.zero_copy(), "veth has no zero-copy: the kernel chose copy mode");
    assert!(sock.attach_mode().is_some(), "the built-in program is attached");
    const N: u64 = 3000;
    let sent: Vec<Vec<u8>> = (0..N).map(|i| frame(i, 60 + (i as usize * 37) % 1455)).collect();
    let before = netring::Timestamp::now();
    send_all(&l, &sent);
    let got = receive(&mut sock, N as usize, WAIT);
    assert_eq!(got.len(), N as usize, "every frame arrives, none twice");
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g, &sent[i], "frame {i} byte for byte, in order");
    }
    let s = sock.xdp_stats().unwrap();
    assert_eq!(s.received, N);
    assert_eq!(s.drops(), 0, "{s}");
    assert_eq!(s.skipped_descs, 0);
    // The common packet view.
    send_all(&l, &[frame(N, 100)]);
    let b = sock.next_batch_blocking(Some(WAIT)).unwrap().expect("a batch");
    let p = b.iter().next().unwrap().as_packet();
    assert_eq!((p.len(), p.original_len(), p.ifindex()), (100, 100, l.b.ifindex));
    assert_eq!(p.meta().timestamp_source, TimestampSource::XdpProgram, "the program stamps each frame");
    assert!(p.timestamp() >= before && p.timestamp() <= netring::Timestamp::now());
    assert_eq!(p.protocol(), common::ETHERTYPE);
}

#[test]
fn af_xdp_tx_frames_arrive_at_an_af_packet_capture_byte_exact() {
    let l = link();
    let mut cap = l.a.run(|n| Capture::builder().interface(n).build()).unwrap().unwrap();
    let mut sock = xdp(&l, |b| b.mode(XdpMode::Tx));
    assert_eq!(sock.attach_mode(), None, "a TX-only socket attaches no program");
    const N: u64 = 2000;
    let sent: Vec<Vec<u8>> = (0..N).map(|i| frame(i, 60 + (i as usize * 53) % 1455)).collect();
    let mut queued = 0;
    for f in &sent {
        while !sock.send(f).unwrap() {
            sock.flush().unwrap();
        }
        queued += 1;
        if queued % 256 == 0 {
            sock.flush().unwrap();
        }
    }
    assert!(sock.wait_drained(Some(WAIT)).unwrap(), "every frame completes");
    let got = common::collect(&mut cap, N as usize, WAIT);
    assert_eq!(got.len(), N as usize);
    for (i, p) in got.iter().enumerate() {
        assert_eq!(p.data(), &sent[i][..], "frame {i} byte for byte, in order");
        assert_eq!(p.meta.source.as_bytes(), &SRC);
    }
    let s = sock.xdp_stats().unwrap();
    assert_eq!(s.completed, N);
    assert_eq!(s.tx_invalid_descs, 0);
    assert_eq!(sock.tx_in_flight(), 0);
}

#[test]
fn zero_copy_tx_slots_and_unsent_slots_give_frames_back() {
    let l = link();
    let mut cap = l.a.run(|n| Capture::builder().interface(n).build()).unwrap().unwrap();
    let mut sock = xdp(&l, |b| b.mode(XdpMode::Tx).frame_count(64));
    let free = sock.free_frames();
    assert_eq!(free, 64);
    {
        let mut slot = sock.allocate(300).unwrap().expect("a free frame");
        netring::testkit::SeqFrames::default().fill(7, slot.data_mut());
        // dropped unsent
    }
    assert_eq!(sock.free_frames(), 64, "an unsent slot returns its frame");
    for seq in 0..10u64 {
        let mut slot = sock.allocate(1514).unwrap().expect("a free frame");
        let f = frame(seq, 200);
        slot.data_mut()[..200].copy_from_slice(&f);
        slot.truncate(200);
        slot.send();
    }
    assert!(sock.wait_drained(Some(WAIT)).unwrap());
    let got = common::collect(&mut cap, 10, WAIT);
    assert_eq!(
        got.iter().map(|p| p.data().to_vec()).collect::<Vec<_>>(),
        (0..10).map(|s| frame(s, 200)).collect::<Vec<_>>()
    );
    assert_eq!(sock.free_frames(), 64, "completed frames are free again");
}

#[test]
fn a_frame_larger_than_a_umem_frame_is_rejected() {
    // An MTU above the UMEM frame, so that the UMEM frame is the limit
    // (`send` takes at most the MTU + 14 bytes, within one UMEM frame).
    common::require_root();
    let l = VethConfig::default().mtu(3000).create().expect("veth link");
    let mut sock = xdp(&l, |b| b.mode(XdpMode::Tx));
    match sock.send(&frame(1, 2049)) {
        Err(e @ Error::FrameTooLarge { len: 2049, limit: 2048, .. }) => assert_eq!(
            e.to_string(),
            format!(
                "frame of 2049 bytes is too large for {}: at most 2048 bytes (one UMEM frame holds 2048 bytes)",
                l.b.name
            )
        ),
        other => panic!("{other:?}"),
    }
    assert!(sock.send(&frame(1, 2048)).unwrap(), "a full frame fits");
    assert_eq!(sock.free_frames(), netring::afxdp::DEFAULT_FRAME_COUNT as usize - 1);
}

#[test]
fn received_frames_longer_than_a_umem_frame_are_dropped_and_counted() {
    let l = VethConfig::default().mtu(3000).create().expect("veth");
    common::require_root();
    // Without the per-frame metadata, which may take 32 of those bytes
    // (tests/xdp_meta.rs checks that limit).
    let mut sock = xdp(&l, |b| b.rx_metadata(false));
    // 2048-byte frames leave 1792 bytes after the kernel's headroom.
    send_all(&l, &[frame(0, 1792), frame(1, 1793), frame(2, 2500), frame(3, 60)]);
    let got = receive(&mut sock, 2, WAIT);
    assert_eq!(got.iter().map(|g| seq_of(g).unwrap()).collect::<Vec<_>>(), vec![0, 3]);
    let s = sock.xdp_stats().unwrap();
    assert_eq!(s.rx_dropped, 2, "{s:?}");
}

#[test]
fn every_xdp_mode_splits_the_frames_as_documented() {
    let l = link();
    for (mode, fill, free) in [
        (XdpMode::Rx, 256, 0),
        (XdpMode::RxTx, 128, 128),
        (XdpMode::Tx, 0, 256),
        (XdpMode::Custom { prefill: 40 }, 40, 216),
    ] {
        let mut sock = xdp(&l, |b| b.frame_count(256).mode(mode));
        assert_eq!(sock.free_frames(), free, "{mode:?}");
        let tx_ok = sock.send(&frame(0, 64));
        assert_eq!(tx_ok.is_ok(), mode != XdpMode::Rx, "{mode:?}: {tx_ok:?}");
        if fill == 0 {
            assert!(sock.next_batch_blocking(Some(Duration::from_millis(1))).is_err(), "{mode:?} has no RX ring");
            continue;
        }
        // Send more frames than the fill ring holds, taking them as they
        // come: frames recycle through the fill ring, none is lost.
        let n = fill as u64 * 3;
        let tx = sender(&l);
        let mut got = 0u64;
        for seq in 0..n {
            tx.send(&frame(seq, 64)).unwrap();
            if seq % 16 == 15 {
                got += receive(&mut sock, 16, WAIT).len() as u64;
            }
        }
        got += receive(&mut sock, (n - got) as usize, WAIT).len() as u64;
        assert_eq!(got, n, "{mode:?}");
        assert_eq!(sock.xdp_stats().unwrap().drops(), 0, "{mode:?}");
        drop(sock);
    }
}

#[test]
fn need_wakeup_on_and_off_both_deliver() {
    let l = link();
    for wakeup in [true, false] {
        let mut rx = xdp(&l, |b| b.need_wakeup(wakeup).mode(XdpMode::Rx));
        let mut tx =
            l.a.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Tx).need_wakeup(wakeup).build())
                .unwrap()
                .unwrap();
        for seq in 0..500 {
            assert!(tx.send(&frame(seq, 128)).unwrap());
        }
        assert!(tx.wait_drained(Some(WAIT)).unwrap(), "need_wakeup={wakeup}");
        let got = receive(&mut rx, 500, WAIT);
        assert_eq!(got.len(), 500, "need_wakeup={wakeup}");
        assert!(got.iter().enumerate().all(|(i, g)| g == &frame(i as u64, 128)));
        drop(rx);
    }
}

#[test]
fn a_second_socket_on_the_same_queue_is_refused_clearly() {
    let l = link();
    let _first = xdp(&l, |b| b);
    let second = l.b.run(|n| XdpSocket::builder().interface(n).build()).unwrap();
    match second {
        Err(e @ Error::QueueBusy { queue: 0, .. }) => {
            assert!(e.to_string().contains("already has an AF_XDP socket bound"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_program_is_attached_while_the_socket_lives_and_gone_after() {
    common::require_root();
    let l = VethConfig::default().queues(2).create().unwrap();
    let info = || l.b.run(netring::interface::link_info).unwrap().unwrap();
    let ip_show = || {
        let out = std::process::Command::new("ip")
            .args(["-n", l.b.ns.name(), "-d", "link", "show", "dev", &l.b.name])
            .output()
            .expect("ip");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(info().xdp_prog_id, 0);
    let sock = xdp(&l, |b| b);
    let id = sock.program_id().expect("built-in program");
    assert_eq!(info().xdp_prog_id, id);
    let mode = sock.attach_mode().unwrap();
    assert_eq!(info().xdp_attached, if mode == XdpAttachMode::Native { 1 } else { 2 });
    let shown = ip_show();
    assert!(shown.contains(&format!("prog/xdp id {id}")), "{shown}");
    // Another socket's program cannot attach over it.
    match l.b.run(|n| XdpSocket::builder().interface(n).queue(1).build()).unwrap() {
        Err(e @ Error::XdpBusy { .. }) => assert!(e.to_string().contains(&format!("id {id}")), "{e}"),
        other => panic!("{other:?}"),
    }
    drop(sock);
    assert_eq!(info().xdp_prog_id, 0, "nothing left attached after drop");
    let shown = ip_show();
    assert!(!shown.contains("xdp"), "{shown}");
}

/// Run `ethtool ARGS` inside a namespace.
fn ethtool(ns: &str, args: &[&str]) {
    let out =
        std::process::Command::new("ip").args(["netns", "exec", ns, "ethtool"]).args(args).output().expect("ethtool");
    assert!(out.status.success(), "ethtool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn native_attach_on_veth_and_its_two_traps() {
    let l = link();
    // A fresh pair has one RX and one TX queue per end: native works, and
    // Auto picks it.
    let mut sock = xdp(&l, |b| b.attach(XdpAttach::Native));
    assert_eq!(sock.attach_mode(), Some(XdpAttachMode::Native));
    assert_eq!(l.b.run(netring::interface::link_info).unwrap().unwrap().xdp_attached, 1, "driver mode");
    send_all(&l, &(0..100).map(|i| frame(i, 500)).collect::<Vec<_>>());
    assert_eq!(receive(&mut sock, 100, WAIT), (0..100).map(|i| frame(i, 500)).collect::<Vec<_>>());
    drop(sock);
    assert_eq!(xdp(&l, |b| b).attach_mode(), Some(XdpAttachMode::Native));

    // Trap 1: the peer transmits on more queues than this end receives on.
    ethtool(l.a.ns.name(), &["-L", &l.a.name, "tx", "2"]);
    match l.b.run(|n| XdpSocket::builder().interface(n).attach(XdpAttach::Native).build()).unwrap() {
        Err(e @ Error::XdpAttach { mode: "native", .. }) => assert!(e.to_string().contains("queue count"), "{e}"),
        other => panic!("{other:?}"),
    }
    let mut sock = xdp(&l, |b| b);
    assert_eq!(sock.attach_mode(), Some(XdpAttachMode::Generic), "Auto falls back to generic");
    send_all(&l, &(0..10).map(|i| frame(i, 64)).collect::<Vec<_>>());
    assert_eq!(receive(&mut sock, 10, WAIT).len(), 10);
    drop(sock);

    // Trap 2: an MTU too large for one page without multi-buffer support.
    common::require_root();
    let l = VethConfig::default().mtu(4000).create().unwrap();
    match l.b.run(|n| XdpSocket::builder().interface(n).attach(XdpAttach::Native).build()).unwrap() {
        Err(e @ Error::XdpAttach { mode: "native", .. }) => assert!(e.to_string().contains("MTU"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(xdp(&l, |b| b).attach_mode(), Some(XdpAttachMode::Generic));
}

#[test]
fn zero_copy_is_refused_on_veth_and_copy_is_reported() {
    let l = link();
    match l.b.run(|n| XdpSocket::builder().interface(n).bind_mode(BindMode::ZeroCopy).build()).unwrap() {
        Err(e @ Error::Unsupported { .. }) => assert!(e.to_string().contains("zero-copy"), "{e}"),
        other => panic!("{other:?}"),
    }
    let sock = xdp(&l, |b| b.bind_mode(BindMode::Copy));
    assert!(!sock.zero_copy());
}

#[test]
fn starving_the_fill_ring_counts_fill_ring_empty_then_refill_recovers() {
    let l = link();
    let mut sock = xdp(&l, |b| b.mode(XdpMode::Custom { prefill: 0 }));
    send_all(&l, &(0..20).map(|i| frame(i, 64)).collect::<Vec<_>>());
    assert!(sock.next_batch_blocking(Some(Duration::from_millis(200))).unwrap().is_none(), "nothing can arrive");
    let s = sock.xdp_stats().unwrap();
    assert_eq!(s.rx_fill_ring_empty_descs, 20, "{s:?}");
    assert_eq!(s.rx_dropped, 20, "{s:?}");
    assert_eq!(s.received, 0);
    assert_eq!(sock.refill(8), 8);
    send_all(&l, &(20..28).map(|i| frame(i, 64)).collect::<Vec<_>>());
    let got = receive(&mut sock, 8, WAIT);
    assert_eq!(got, (20..28).map(|i| frame(i, 64)).collect::<Vec<_>>());
    assert_eq!(sock.xdp_stats().unwrap().rx_fill_ring_empty_descs, 20, "no more starvation");
}

#[test]
fn a_full_rx_ring_counts_ring_full() {
    let l = link();
    let mut sock = xdp(&l, |b| b.mode(XdpMode::Rx).rx_ring_size(64).batch_size(64));
    send_all(&l, &(0..100).map(|i| frame(i, 64)).collect::<Vec<_>>());
    std::thread::sleep(Duration::from_millis(50));
    let s = sock.xdp_stats().unwrap();
    assert_eq!(s.rx_ring_full, 36, "{s:?}");
    let got = receive(&mut sock, 64, WAIT);
    assert_eq!(got, (0..64).map(|i| frame(i, 64)).collect::<Vec<_>>());
    use netring::PacketSource;
    let cs = PacketSource::stats(&mut sock).unwrap();
    assert_eq!((cs.packets, cs.drops, cs.freezes), (64, 36, 0));
}

#[test]
fn recv_copies_one_frame_and_times_out_empty() {
    let l = link();
    let mut sock = xdp(&l, |b| b);
    send_all(&l, &[frame(5, 90), frame(6, 91)]);
    let a = sock.recv(Some(WAIT)).unwrap().expect("first");
    let b = sock.recv(Some(WAIT)).unwrap().expect("second");
    assert_eq!((a.data(), b.data()), (&frame(5, 90)[..], &frame(6, 91)[..]));
    let t0 = Instant::now();
    assert!(sock.recv(Some(Duration::from_millis(100))).unwrap().is_none());
    assert!(t0.elapsed() >= Duration::from_millis(100));
}

#[test]
fn stop_handle_wakes_a_blocked_reader() {
    let l = link();
    let mut sock = xdp(&l, |b| b);
    let stop = sock.stop_handle();
    let t = std::thread::spawn(move || sock.next_batch_blocking(None).map(|b| b.is_some()));
    std::thread::sleep(Duration::from_millis(100));
    stop.stop();
    assert!(matches!(t.join().unwrap(), Err(Error::Stopped)));
}

#[test]
fn generic_code_reads_xdp_through_packet_source() {
    use netring::{Batch, PacketSource};
    fn count<S: PacketSource>(src: &mut S, want: usize) -> usize {
        let deadline = Instant::now() + WAIT;
        let mut n = 0;
        while n < want && Instant::now() < deadline {
            if let Some(b) = src.next_batch_blocking(Some(Duration::from_millis(100))).unwrap() {
                n += b.packets().filter(|p| seq_of(p.data()).is_some()).count();
            }
        }
        n
    }
    let l = link();
    let mut sock = xdp(&l, |b| b);
    send_all(&l, &(0..50).map(|i| frame(i, 64)).collect::<Vec<_>>());
    assert_eq!(count(&mut sock, 50), 50);
}
