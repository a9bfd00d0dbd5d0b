//! AF_PACKET capture over a real veth link in private namespaces.
//!
//! Every test builds its own link (unique names, removed on drop), sends
//! numbered raw Ethernet frames from one end with a plain AF_PACKET socket
//! and checks what the other end's `Capture` delivers: bytes, counts, order
//! and metadata. Needs root; fails with a message naming what is missing
//! otherwise.

mod common;

use std::time::{Duration, Instant};

use common::{DST, ETHERTYPE, collect, frame, frame_to, link, seq_of};
use netring::filter::{Instruction, Program, code::*};
use netring::{Capture, Error, PacketDirection, PacketStatus, RawSender};

const WAIT: Duration = Duration::from_secs(5);

/// `ether proto TYPE`, as `tcpdump -dd` prints it.
fn ether_proto(ty: u16) -> Program {
    Program::new(vec![
        Instruction::stmt(BPF_LD | BPF_H | BPF_ABS, 12),
        Instruction::jump(BPF_JMP | BPF_JEQ | BPF_K, ty as u32, 0, 1),
        Instruction::stmt(BPF_RET | BPF_K, 262_144),
        Instruction::stmt(BPF_RET | BPF_K, 0),
    ])
    .unwrap()
}

fn sender(l: &netring::testkit::VethLink) -> RawSender {
    l.a.run(RawSender::open).unwrap().unwrap()
}

#[test]
fn numbered_frames_arrive_byte_exact_complete_and_in_order() {
    let l = link();
    let mut cap = l.b.run(|n| Capture::builder().interface(n).build()).unwrap().unwrap();
    let tx = sender(&l);
    const N: u64 = 3000;
    let sent: Vec<Vec<u8>> = (0..N).map(|i| frame(i, 60 + (i as usize * 37) % 1455)).collect();
    let before = netring::Timestamp::now();
    for f in &sent {
        tx.send(f).unwrap();
    }
    let got = collect(&mut cap, N as usize, WAIT);
    assert_eq!(got.len(), N as usize, "every frame arrives, none twice");
    let mut last = before;
    for (i, p) in got.iter().enumerate() {
        assert_eq!(p.data(), &sent[i][..], "frame {i} byte for byte, in order");
        assert_eq!(p.original_len(), sent[i].len());
        assert!(!p.meta.status.contains(PacketStatus::TRUNCATED));
        assert!(p.timestamp() >= last, "timestamps never go backwards (frame {i})");
        last = p.timestamp();
        assert_eq!(p.meta.direction, PacketDirection::OtherHost, "unicast to someone else");
        assert_eq!(p.meta.ifindex, l.b.ifindex);
        assert_eq!(p.meta.protocol, ETHERTYPE);
        assert_eq!(p.meta.source.as_bytes(), &common::SRC);
    }
    assert!(last <= netring::Timestamp::now());
    let s = cap.stats().unwrap();
    assert_eq!(s.drops, 0);
    assert_eq!(s.packets, N, "the kernel's count matches (IPv6 is off: no chatter)");
    assert_eq!(cap.malformed_blocks(), 0);
}

#[test]
fn direction_of_host_broadcast_multicast_and_outgoing() {
    let l = link();
    let mut cap_b = l.b.run(Capture::open).unwrap().unwrap();
    let mut cap_a = l.a.run(Capture::open).unwrap().unwrap();
    let (_, mac_b) = l.b.run(netring::interface::hwaddr).unwrap().unwrap();
    let tx = sender(&l);
    let dsts = [
        (mac_b, PacketDirection::Host),
        ([0xff; 6], PacketDirection::Broadcast),
        ([0x01, 0, 0x5e, 0, 0, 1], PacketDirection::Multicast),
        (DST, PacketDirection::OtherHost),
    ];
    for (i, (dst, _)) in dsts.iter().enumerate() {
        tx.send(&frame_to(*dst, i as u64, 64, ETHERTYPE)).unwrap();
    }
    let got = collect(&mut cap_b, 4, WAIT);
    let dirs: Vec<_> = got.iter().map(|p| p.meta.direction).collect();
    assert_eq!(dirs, dsts.iter().map(|d| d.1).collect::<Vec<_>>());
    let out = collect(&mut cap_a, 4, WAIT);
    assert_eq!(out.len(), 4, "the sender's own end sees its frames");
    assert!(out.iter().all(|p| p.meta.direction == PacketDirection::Outgoing));
}

#[test]
fn ignore_outgoing_hides_what_this_host_sends() {
    let l = link();
    let mut cap = l.a.run(|n| Capture::builder().interface(n).ignore_outgoing(true).build()).unwrap().unwrap();
    let tx = sender(&l);
    for i in 0..10 {
        tx.send(&frame(i, 64)).unwrap();
    }
    // And something arriving on `a`, which must still show.
    let tx_b = l.b.run(RawSender::open).unwrap().unwrap();
    tx_b.send(&frame(99, 64)).unwrap();
    let got = collect(&mut cap, 11, Duration::from_millis(500));
    let seqs: Vec<_> = got.iter().map(|p| seq_of(p.data()).unwrap()).collect();
    assert_eq!(seqs, vec![99]);
}

#[test]
fn snap_length_truncates_in_the_kernel() {
    let l = link();
    let mut cap = l.b.run(|n| Capture::builder().interface(n).snaplen(100).build()).unwrap().unwrap();
    let tx = sender(&l);
    let sizes = [60usize, 100, 101, 1000, 1514];
    let sent: Vec<_> = sizes.iter().enumerate().map(|(i, &n)| frame(i as u64, n)).collect();
    for f in &sent {
        tx.send(f).unwrap();
    }
    let got = collect(&mut cap, sizes.len(), WAIT);
    assert_eq!(got.len(), sizes.len());
    for (p, f) in got.iter().zip(&sent) {
        let want = f.len().min(100);
        assert_eq!(p.data(), &f[..want]);
        assert_eq!(p.original_len(), f.len());
        assert_eq!(p.meta.status.contains(PacketStatus::TRUNCATED), f.len() > 100);
    }
}

#[test]
fn filter_passes_only_matching_frames_and_is_replaced_live() {
    let l = link();
    let mut cap =
        l.b.run(|n| Capture::builder().interface(n).bpf(ether_proto(ETHERTYPE)).snaplen(80).build()).unwrap().unwrap();
    let tx = sender(&l);
    let other = 0x88b6;
    for i in 0..20u64 {
        let ty = if i % 2 == 0 { ETHERTYPE } else { other };
        tx.send(&frame_to(DST, i, 200, ty)).unwrap();
    }
    let got = collect(&mut cap, 10, WAIT);
    let seqs: Vec<_> = got.iter().map(|p| seq_of(p.data()).unwrap()).collect();
    assert_eq!(seqs, (0..20).step_by(2).collect::<Vec<u64>>());
    assert!(got.iter().all(|p| p.data().len() == 80), "the snap length still applies with a user filter");
    // Nothing else came through: the odd frames never reached the ring.
    std::thread::sleep(Duration::from_millis(120));
    assert!(cap.next_batch().is_none());
    assert_eq!(cap.stats().unwrap().packets, 10);

    // Swap the filter on the live socket: now only the other type passes.
    cap.set_bpf(&ether_proto(other)).unwrap();
    for i in 100..110u64 {
        let ty = if i % 2 == 0 { ETHERTYPE } else { other };
        tx.send(&frame_to(DST, i, 200, ty)).unwrap();
    }
    let deadline = Instant::now() + WAIT;
    let mut seqs = Vec::new();
    while seqs.len() < 5 && Instant::now() < deadline {
        if let Some(b) = cap.next_batch_blocking(Some(Duration::from_millis(200))).unwrap() {
            seqs.extend(b.iter().map(|p| u64::from_be_bytes(p.data()[14..22].try_into().unwrap())));
        }
    }
    assert_eq!(seqs, vec![101, 103, 105, 107, 109]);

    // Remove it: both types pass, still truncated to 80 bytes.
    cap.clear_filter().unwrap();
    tx.send(&frame_to(DST, 200, 200, ETHERTYPE)).unwrap();
    tx.send(&frame_to(DST, 201, 200, other)).unwrap();
    let b = cap.next_batch_blocking(Some(WAIT)).unwrap().expect("a batch");
    let lens: Vec<_> = b.iter().map(|p| p.len()).collect();
    assert_eq!(lens, vec![80, 80]);
}

#[test]
fn invalid_filters_are_refused_before_the_kernel_sees_them() {
    let bad = Program::new(vec![Instruction::stmt(BPF_LD | BPF_H | BPF_ABS, 12)]);
    assert!(matches!(bad, Err(Error::InvalidFilter { .. })));
}

#[test]
fn timed_out_blocks_under_a_trickle() {
    let l = link();
    let mut cap = l
        .b
        .run(|n| Capture::builder().interface(n).block_size(1 << 20).retire_timeout(Duration::from_millis(20)).build())
        .unwrap()
        .unwrap();
    let tx = sender(&l);
    for i in 0..3u64 {
        let t0 = Instant::now();
        tx.send(&frame(i, 64)).unwrap();
        let b = cap.next_batch_blocking(Some(WAIT)).unwrap().expect("the timer retires the block");
        let waited = t0.elapsed();
        assert!(b.timed_out(), "a 1 MiB block with one frame is closed by the timer");
        assert_eq!(b.len(), 1);
        assert_eq!(seq_of(b.iter().next().unwrap().data()), Some(i));
        assert!(waited < Duration::from_secs(1), "retired in {waited:?}");
    }
    // With no traffic at all, the blocking read times out empty.
    let t0 = Instant::now();
    assert!(cap.next_batch_blocking(Some(Duration::from_millis(150))).unwrap().is_none());
    assert!(t0.elapsed() >= Duration::from_millis(150));
}

#[test]
fn drops_are_counted_exactly_when_the_consumer_stalls() {
    let l = link();
    // A tiny ring: 2 blocks of one page.
    let mut cap =
        l.b.run(|n| Capture::builder().interface(n).block_size(4096).block_count(2).frame_size(2048).build())
            .unwrap()
            .unwrap();
    let tx = sender(&l);
    const N: u64 = 2000;
    for i in 0..N {
        tx.send(&frame(i, 200)).unwrap();
    }
    // Now drain what the ring held.
    let mut got = Vec::new();
    let drain = |cap: &mut Capture, got: &mut Vec<netring::OwnedPacket>| {
        let mut losing = 0;
        while let Some(b) = cap.next_batch_blocking(Some(Duration::from_millis(300))).unwrap() {
            losing += usize::from(b.losing());
            got.extend(b.iter().map(|p| p.to_owned()));
        }
        losing
    };
    drain(&mut cap, &mut got);
    // Both blocks were closed full before the first drop, so neither says
    // "losing". The kernel flags the next block it closes (prb_close_block
    // sets TP_STATUS_LOSING while the drop counter is unread).
    tx.send(&frame(N, 200)).unwrap();
    let losing_blocks = drain(&mut cap, &mut got);
    assert_eq!(losing_blocks, 1, "the block closed after the losses says so");
    let s = cap.stats().unwrap();
    assert!(s.drops > 0, "a 8 KiB ring cannot hold 2000 frames: {s}");
    assert!(s.freezes > 0, "the ring froze: {s}");
    assert_eq!(got.len() as u64, s.packets, "delivered = what we read");
    assert_eq!(s.packets + s.drops, N + 1, "delivered + drops == sent, exactly: {s}");
    // What did arrive is in order and intact.
    let seqs: Vec<_> = got.iter().map(|p| seq_of(p.data()).unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(seqs.last(), Some(&N));
    for p in &got {
        assert_eq!(p.data(), &frame(seq_of(p.data()).unwrap(), 200)[..]);
    }
    // Reading the statistics clears the kernel's drop counter: no more "losing".
    tx.send(&frame(N + 1, 200)).unwrap();
    assert_eq!(drain(&mut cap, &mut got), 0);
}

#[test]
fn stats_are_cumulative_with_per_interval_deltas() {
    let l = link();
    let mut cap = l.b.run(Capture::open).unwrap().unwrap();
    let tx = sender(&l);
    for i in 0..7 {
        tx.send(&frame(i, 64)).unwrap();
    }
    assert_eq!(collect(&mut cap, 7, WAIT).len(), 7);
    let first = cap.stats().unwrap();
    assert_eq!(first.packets, 7);
    for i in 7..10 {
        tx.send(&frame(i, 64)).unwrap();
    }
    assert_eq!(collect(&mut cap, 3, WAIT).len(), 3);
    let second = cap.stats().unwrap();
    assert_eq!((second - first).packets, 3);
    assert_eq!(second.packets, 10, "reading does not reset the totals");
    assert_eq!(cap.stats().unwrap().packets, 10, "nor does reading totals");
}

#[test]
fn flat_packet_iterator_crosses_batches() {
    let l = link();
    let mut cap =
        l.b.run(|n| Capture::builder().interface(n).block_size(4096).block_count(64).build()).unwrap().unwrap();
    let tx = sender(&l);
    const N: u64 = 500; // ~20 frames per 4 KiB block: many blocks
    for i in 0..N {
        tx.send(&frame(i, 150)).unwrap();
    }
    let mut it = cap.packets();
    let mut next = 0u64;
    while next < N {
        let p = it.next_packet_blocking(Some(WAIT)).unwrap().expect("packet before timeout");
        assert_eq!(p.data(), &frame(next, 150)[..]);
        next += 1;
    }
    assert!(it.next_packet().is_none());
    drop(it);
    assert_eq!(cap.stats().unwrap().packets, N);
    assert_eq!(cap.ring_occupancy(), 0, "every block went back to the kernel");
}

#[test]
fn promiscuous_membership_lasts_as_long_as_the_capture() {
    let l = link();
    // SIOCGIFFLAGS hides promiscuity held by sockets; rtnetlink shows it.
    let info = || l.b.run(netring::interface::link_info).unwrap().unwrap();
    assert_eq!(info().promiscuity, 0);
    let cap = l.b.run(|n| Capture::builder().interface(n).promiscuous(true).build()).unwrap().unwrap();
    assert_eq!(info().promiscuity, 1, "one holder while the capture is open");
    drop(cap);
    assert_eq!(info().promiscuity, 0, "membership removed on close");
}

#[test]
fn stop_handle_wakes_a_blocked_reader() {
    let l = link();
    let mut cap = l.b.run(Capture::open).unwrap().unwrap();
    let stop = cap.stop_handle();
    let t = std::thread::spawn(move || {
        let t0 = Instant::now();
        let r = cap.next_batch_blocking(None).map(|b| b.is_some());
        (r, t0.elapsed())
    });
    std::thread::sleep(Duration::from_millis(100));
    stop.stop();
    let (r, waited) = t.join().unwrap();
    assert!(matches!(r, Err(Error::Stopped)), "{r:?}");
    assert!(waited < Duration::from_secs(1));
    assert!(stop.is_stopped());
}

/// Run blocking reads on `cap` in a thread until one fails; returns each
/// error with the time it took.
fn read_until_error(mut cap: Capture, reads: usize) -> std::thread::JoinHandle<Vec<(Error, Duration)>> {
    std::thread::spawn(move || {
        let mut errors = Vec::new();
        while errors.len() < reads {
            let t0 = Instant::now();
            match cap.next_batch_blocking(Some(Duration::from_secs(10))) {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("a blocking read hung for 10 s instead of failing"),
                Err(e) => errors.push((e, t0.elapsed())),
            }
        }
        errors
    })
}

#[test]
fn interface_going_down_then_up_resumes_the_capture() {
    let l = link();
    let mut cap = l.b.run(Capture::open).unwrap().unwrap();
    let t = std::thread::spawn(move || {
        let t0 = Instant::now();
        let r = cap.next_batch_blocking(Some(Duration::from_secs(10))).map(|b| b.is_some());
        (r, t0.elapsed(), cap)
    });
    std::thread::sleep(Duration::from_millis(200));
    l.b.set_down().unwrap();
    let (r, waited, mut cap) = t.join().unwrap();
    assert!(matches!(r, Err(Error::InterfaceDown { .. })), "{r:?}");
    assert!(waited < Duration::from_secs(1), "{waited:?}");
    l.b.set_up().unwrap();
    let tx = sender(&l);
    // The peer needs carrier again before frames flow.
    let deadline = Instant::now() + WAIT;
    let mut got = Vec::new();
    let mut seq = 0;
    while got.is_empty() && Instant::now() < deadline {
        let _ = tx.send(&frame(seq, 64));
        seq += 1;
        got = collect(&mut cap, 1, Duration::from_millis(100));
    }
    assert_eq!(got.len(), 1, "capture resumes after the interface comes back");
}

#[test]
fn interface_deleted_while_down_ends_a_blocking_read() {
    let l = link();
    let cap = l.b.run(Capture::open).unwrap().unwrap();
    let t = read_until_error(cap, 3);
    std::thread::sleep(Duration::from_millis(200));
    l.b.set_down().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    l.b.delete().unwrap();
    let errors = t.join().unwrap();
    assert!(matches!(errors[0].0, Error::InterfaceDown { .. }), "{errors:?}");
    // The kernel reports nothing when a downed interface is deleted; the
    // capture notices by itself, well within a second.
    assert!(matches!(errors[1].0, Error::InterfaceGone { .. }), "{errors:?}");
    assert!(errors[1].1 < Duration::from_secs(1), "{errors:?}");
    assert!(matches!(errors[2].0, Error::InterfaceGone { .. }), "gone is sticky: {errors:?}");
    assert!(errors[2].1 < Duration::from_millis(50), "{errors:?}");
}

#[test]
fn interface_deleted_while_up_ends_a_blocking_read_within_a_second() {
    let l = link();
    let cap = l.b.run(Capture::open).unwrap().unwrap();
    let t0 = Instant::now();
    let t = read_until_error(cap, 2);
    std::thread::sleep(Duration::from_millis(200));
    l.a.delete().unwrap(); // deleting the peer deletes our end too
    let errors = t.join().unwrap();
    let last = errors.iter().position(|(e, _)| matches!(e, Error::InterfaceGone { .. }));
    assert!(last.is_some(), "InterfaceGone reported: {errors:?}");
    // Any error before it is the down transition that deletion starts with.
    assert!(errors[..last.unwrap()].iter().all(|(e, _)| matches!(e, Error::InterfaceDown { .. })), "{errors:?}");
    assert!(t0.elapsed() < Duration::from_millis(200) + Duration::from_secs(1), "{:?}", t0.elapsed());
}

#[test]
fn missing_interface_and_bad_sizes_are_named() {
    let l = link();
    match l.b.run(|_| Capture::open("nrt-missing0")).unwrap() {
        Err(Error::InterfaceNotFound { name }) => assert_eq!(name, "nrt-missing0"),
        other => panic!("{other:?}"),
    }
    match l.b.run(|n| Capture::builder().interface(n).block_size(5000).build()).unwrap() {
        Err(e @ Error::InvalidConfig { .. }) => {
            assert_eq!(e.to_string(), "invalid block_size = 5000: must be a power of two")
        }
        other => panic!("{other:?}"),
    }
}
