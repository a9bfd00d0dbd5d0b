//! AF_XDP at scale over real veth links in private namespaces: four queues
//! over one shared UMEM, a UMEM shared by two devices, a program of the
//! user's own, busy polling, jumbo frames through multi-buffer, and code
//! generic over `PacketSource` / `PacketSink` on both backends. Needs root;
//! fails naming what is missing otherwise.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{frame, link, seq_of};
use netring::afxdp::{BusyPoll, XdpAttach, XdpAttachMode, XdpQueueSet};
use netring::bpf::{EbpfProgram, ProgramType, XdpLink, XskMap, programs};
use netring::netns::NetNs;
use netring::testkit::{End, VethConfig, VethLink, unique_name};
use netring::{
    Batch, Capture, Error, Injector, PacketSink, PacketSource, RawSender, SinkSlot, XdpMode, XdpSocket,
    XdpSocketBuilder,
};
use std::os::fd::AsFd;

const WAIT: Duration = Duration::from_secs(5);

fn veth(cfg: VethConfig) -> VethLink {
    common::require_root();
    cfg.create().expect("veth link")
}

fn xdp_on(end: &End, f: impl FnOnce(XdpSocketBuilder) -> XdpSocketBuilder + Send) -> XdpSocket {
    end.run(|n| f(XdpSocket::builder().interface(n)).build()).unwrap().unwrap()
}

/// Queue every frame on `sock` and wait until the kernel completed them all.
fn xdp_send(sock: &mut XdpSocket, frames: &[Vec<u8>]) {
    for (i, f) in frames.iter().enumerate() {
        let deadline = Instant::now() + WAIT;
        while !sock.send_chained(f).unwrap() {
            sock.flush().unwrap();
            assert!(Instant::now() < deadline, "TX ring stuck");
        }
        if i % 64 == 63 {
            sock.flush().unwrap();
        }
    }
    assert!(sock.wait_drained(Some(WAIT)).unwrap(), "every frame completes");
}

/// Frames numbered `q * 1_000_000 + i`, of varied lengths.
fn queue_frames(q: u64, n: u64) -> Vec<Vec<u8>> {
    (0..n).map(|i| frame(q * 1_000_000 + i, 60 + ((q * 131 + i * 37) % 1400) as usize)).collect()
}

#[test]
fn four_queues_over_one_shared_umem_each_receive_their_queue_exactly_once() {
    const Q: u32 = 4;
    const N: u64 = 600;
    let l = veth(VethConfig::default().queues(Q));
    // Receivers first: four sockets, one UMEM, one XDP program.
    let mut rx =
        l.b.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Rx).frame_count(1024).build_all_queues())
            .unwrap()
            .unwrap();
    assert_eq!(rx.len(), Q as usize, "one socket per queue");
    let prog = rx[0].program_id().expect("built-in program");
    assert!(rx.iter().all(|s| s.program_id() == Some(prog)), "one program for all queues");
    assert_eq!(rx[0].attach_mode(), Some(XdpAttachMode::Native), "4 RX queues >= the peer's 4 TX queues");
    assert_eq!(rx.iter().map(XdpSocket::queue).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
    // Senders: an AF_XDP TX socket on every queue of the peer, also over one UMEM.
    let mut tx = l.a.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Tx).build_all_queues()).unwrap().unwrap();
    assert_eq!(tx.len(), Q as usize);
    let sent: Vec<Vec<Vec<u8>>> = (0..u64::from(Q)).map(|q| queue_frames(q, N)).collect();
    std::thread::scope(|s| {
        for (sock, frames) in tx.iter_mut().zip(&sent) {
            s.spawn(move || xdp_send(sock, frames));
        }
    });
    // Each receiving socket on its own thread.
    let got: Vec<Vec<(u64, Vec<u8>)>> = std::thread::scope(|s| {
        let hs: Vec<_> = rx
            .iter_mut()
            .map(|sock| {
                s.spawn(move || {
                    let frame_bytes = u64::from(sock.frame_size());
                    let q = u64::from(sock.queue());
                    let mut out = Vec::new();
                    let deadline = Instant::now() + WAIT;
                    while (out.len() as u64) < N && Instant::now() < deadline {
                        if let Some(b) = sock.next_batch_blocking(Some(Duration::from_millis(100))).unwrap() {
                            for p in &b {
                                // The kernel put it in this socket's partition of the UMEM.
                                assert_eq!(p.addr() / frame_bytes / 1024, q, "frame outside queue {q}'s partition");
                                out.push((p.addr(), p.data().to_vec()));
                            }
                        }
                    }
                    out
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut seen = BTreeMap::new();
    for (q, frames) in got.iter().enumerate() {
        assert_eq!(frames.len() as u64, N, "queue {q} received every frame sent on TX queue {q}");
        for (i, (_, data)) in frames.iter().enumerate() {
            assert_eq!(data, &sent[q][i], "queue {q}, frame {i}: byte for byte, in order");
            assert!(seen.insert(seq_of(data).unwrap(), q).is_none(), "a frame arrived twice");
        }
    }
    assert_eq!(seen.len() as u64, N * u64::from(Q), "every frame exactly once");
    for s in &rx {
        let st = s.xdp_stats().unwrap();
        assert_eq!((st.received, st.drops(), st.skipped_descs), (N, 0, 0), "queue {}: {st}", s.queue());
    }
    for s in &mut tx {
        assert_eq!(XdpSocket::xdp_stats(s).unwrap().completed, N);
    }
    // Dropping three of the four leaves the program serving the last.
    let last = rx.pop().unwrap();
    drop(rx);
    assert_eq!(last.program_id(), Some(prog));
    assert_eq!(l.b.run(netring::interface::link_info).unwrap().unwrap().xdp_prog_id, prog);
    drop(last);
    assert_eq!(l.b.run(netring::interface::link_info).unwrap().unwrap().xdp_prog_id, 0, "detached with the last");
}

#[test]
fn a_queue_set_reads_all_queues_from_one_thread() {
    const Q: u32 = 4;
    const N: u64 = 300;
    let l = veth(VethConfig::default().queues(Q));
    let mut set = l.b.run(XdpQueueSet::open).unwrap().unwrap();
    assert_eq!(set.sockets().len(), Q as usize);
    let mut tx = l.a.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Tx).build_all_queues()).unwrap().unwrap();
    for (q, sock) in tx.iter_mut().enumerate() {
        xdp_send(sock, &queue_frames(q as u64, N));
    }
    let got = common::collect(&mut set, (N * u64::from(Q)) as usize, WAIT);
    let mut per_queue = [0u64; Q as usize];
    for p in &got {
        per_queue[(seq_of(p.data()).unwrap() / 1_000_000) as usize] += 1;
    }
    assert_eq!(per_queue, [N; Q as usize], "every queue read");
    let st = PacketSource::stats(&mut set).unwrap();
    assert_eq!((st.packets, st.drops), (N * u64::from(Q), 0));
    let stop = set.stop_handle();
    stop.stop();
    assert!(matches!(set.next_batch_blocking(None), Err(Error::Stopped)));
}

#[test]
fn one_umem_shared_by_sockets_on_two_devices() {
    let one = link();
    let ns3 = NetNs::create(&unique_name("nrt")).unwrap();
    // A second link whose far end is in the same namespace as the first one's.
    let two = VethConfig::default().create_between(&ns3, &one.b.ns).unwrap();
    let (d1, d2) = (one.b.name.clone(), two.b.name.clone());
    let mut socks = one
        .b
        .run(|_| {
            XdpSocket::builder().mode(XdpMode::Rx).frame_count(512).build_shared([(d1.as_str(), 0), (d2.as_str(), 0)])
        })
        .unwrap()
        .unwrap();
    assert_eq!(socks[1].interface(), d2);
    let a: Vec<_> = (0..200).map(|i| frame(i, 100)).collect();
    let b: Vec<_> = (1000..1200).map(|i| frame(i, 200)).collect();
    let (s1, s2) = (one.a.run(RawSender::open).unwrap().unwrap(), two.a.run(RawSender::open).unwrap().unwrap());
    for (x, y) in a.iter().zip(&b) {
        s1.send(x).unwrap();
        s2.send(y).unwrap();
    }
    let got2: Vec<Vec<u8>> = common::collect(&mut socks[1], 200, WAIT).into_iter().map(|p| p.data).collect();
    let got1: Vec<Vec<u8>> = common::collect(&mut socks[0], 200, WAIT).into_iter().map(|p| p.data).collect();
    assert_eq!(got1, a, "device 1's frames, on its socket only");
    assert_eq!(got2, b, "device 2's frames, on its socket only");
    assert_ne!(socks[0].program_id(), socks[1].program_id(), "one program per device");
}

/// `build_shared`, `build_queues` and `build_all_queues` honour `.netns()`
/// like `build` does: called from this (the root) namespace, the sockets
/// are made on the link's far end inside its namespace and receive exactly
/// what is sent there.
#[test]
fn build_shared_and_build_all_queues_in_a_namespace_from_the_root_one() {
    const N: u64 = 200;
    let l = veth(VethConfig::default().queues(2));
    let ns = l.b.ns.name().to_owned();
    let name = l.b.name.clone();
    assert!(netring::interface::link_info(&name).is_err(), "the far end is not in the root namespace");
    let mut socks = XdpSocket::builder()
        .mode(XdpMode::Rx)
        .frame_count(512)
        .netns(&ns)
        .build_shared([(name.as_str(), 0), (name.as_str(), 1)])
        .unwrap();
    assert_eq!(socks.iter().map(XdpSocket::queue).collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!(socks[0].interface(), name);
    let mut tx = l.a.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Tx).build_all_queues()).unwrap().unwrap();
    assert_eq!(tx.len(), 2);
    let sent: Vec<Vec<Vec<u8>>> = (0..2).map(|q| queue_frames(q, N)).collect();
    for (sock, frames) in tx.iter_mut().zip(&sent) {
        xdp_send(sock, frames);
    }
    for (q, sock) in socks.iter_mut().enumerate() {
        let got: Vec<Vec<u8>> = common::collect(sock, N as usize, WAIT).into_iter().map(|p| p.data).collect();
        assert_eq!(got, sent[q], "queue {q}: every frame, byte for byte, in order");
    }
    drop(socks);
    // The two other shared build paths go through the same namespace wrapper.
    let all = XdpSocket::builder().interface(&name).mode(XdpMode::Rx).netns(&ns).build_all_queues().unwrap();
    assert_eq!(all.iter().map(XdpSocket::queue).collect::<Vec<_>>(), vec![0, 1]);
    drop(all);
    let some = XdpSocket::builder().interface(&name).mode(XdpMode::Rx).netns(&ns).build_queues(&[1]).unwrap();
    assert_eq!(some.iter().map(XdpSocket::queue).collect::<Vec<_>>(), vec![1]);
}

#[test]
fn sockets_on_one_queue_cannot_share_a_umem() {
    let l = link();
    let name = l.b.name.clone();
    match l.b.run(|_| XdpSocket::builder().build_shared([(name.as_str(), 0), (name.as_str(), 0)])).unwrap() {
        Err(e @ Error::InvalidConfig { name: "queue", .. }) => assert!(e.to_string().contains("one fill ring"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_program_of_ones_own_registers_our_socket_in_its_xskmap() {
    let l = link();
    // Stand-ins for what aya or libbpf would have: the user's map and
    // program, loaded and attached by the user (here through our loader).
    let (map, _prog, _link, mut sock) =
        l.b.run(|n| -> netring::Result<_> {
            let sock = XdpSocket::builder().interface(n).mode(XdpMode::Rx).builtin_program(false).build()?;
            assert_eq!(sock.program_id(), None, "netring loaded nothing");
            let map = XskMap::new(1)?;
            let prog =
                EbpfProgram::load(ProgramType::Xdp { frags: false }, "user_prog", &programs::xsk_redirect(&map))?;
            let link = XdpLink::attach(&prog, n, XdpAttach::Auto)?;
            Ok((map, prog, link, sock))
        })
        .unwrap()
        .unwrap();
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    // Not yet registered: the program passes the frames to the stack.
    tx.send(&frame(0, 64)).unwrap();
    assert!(sock.next_batch_blocking(Some(Duration::from_millis(200))).unwrap().is_none());
    map.insert(0, sock.as_fd()).unwrap();
    let sent: Vec<_> = (1..=100).map(|i| frame(i, 64 + i as usize)).collect();
    for f in &sent {
        tx.send(f).unwrap();
    }
    let got: Vec<Vec<u8>> = common::collect(&mut sock, 100, WAIT).into_iter().map(|p| p.data).collect();
    assert_eq!(got, sent);
    map.remove(0).unwrap();
    tx.send(&frame(999, 64)).unwrap();
    assert!(sock.next_batch_blocking(Some(Duration::from_millis(200))).unwrap().is_none(), "unregistered again");
}

#[test]
fn busy_poll_settings_reach_the_socket_and_it_still_receives() {
    let l = link();
    let bp = BusyPoll { usecs: 50, budget: 16, prefer: true };
    let mut sock = xdp_on(&l.b, |b| b.mode(XdpMode::Rx).busy_poll(Some(bp)));
    assert_eq!(sock.busy_poll().unwrap(), bp);
    let plain = xdp_on(&l.a, |b| b.mode(XdpMode::Tx));
    assert_eq!(plain.busy_poll().unwrap(), BusyPoll { usecs: 0, budget: 0, prefer: false }, "off unless asked");
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    let sent: Vec<_> = (0..200).map(|i| frame(i, 128)).collect();
    for f in &sent {
        tx.send(f).unwrap();
    }
    // Spin on the non-blocking call, as a busy-polling reader does.
    let mut got = Vec::new();
    let deadline = Instant::now() + WAIT;
    while got.len() < 200 && Instant::now() < deadline {
        if let Some(b) = sock.next_batch() {
            got.extend(b.iter().map(|p| p.data().to_vec()));
        }
    }
    assert_eq!(got, sent);
}

/// Receive `want` frames through any backend, as (sequence, bytes).
fn generic_rx<S: PacketSource>(src: &mut S, want: usize) -> Vec<(u64, Vec<u8>)> {
    let deadline = Instant::now() + WAIT;
    let mut out = Vec::new();
    while out.len() < want && Instant::now() < deadline {
        if let Some(b) = src.next_batch_blocking(Some(Duration::from_millis(100))).unwrap() {
            out.extend(b.packets().filter_map(|p| seq_of(p.data()).map(|s| (s, p.data().to_vec()))));
        }
    }
    out
}

/// Send `frames` through any backend; the sink's counters after draining.
fn generic_tx<S: PacketSink>(sink: &mut S, frames: &[Vec<u8>]) -> netring::TxStats {
    for f in frames {
        let mut slot = sink.allocate_blocking(f.len(), Some(WAIT)).unwrap().expect("room within 5 s");
        slot.copy_from_slice(f);
        slot.send();
    }
    sink.flush().unwrap();
    assert!(sink.wait_drained(Some(WAIT)).unwrap());
    sink.tx_stats()
}

#[test]
fn code_generic_over_the_traits_runs_on_both_backends_with_the_same_frames() {
    let l = link();
    let frames: Vec<_> = (0..500).map(|i| frame(i, 60 + (i as usize * 29) % 1455)).collect();
    let bytes: u64 = frames.iter().map(|f| f.len() as u64).sum();
    let mut results = Vec::new();
    for rx_xdp in [false, true] {
        for tx_xdp in [false, true] {
            let got = if rx_xdp {
                let mut s = xdp_on(&l.b, |b| b.mode(XdpMode::Rx));
                let st = if tx_xdp {
                    generic_tx(&mut xdp_on(&l.a, |b| b.mode(XdpMode::Tx)), &frames)
                } else {
                    generic_tx(&mut l.a.run(Injector::open).unwrap().unwrap(), &frames)
                };
                assert_eq!((st.sent, st.bytes, st.rejected, st.pending), (500, bytes, 0, 0), "tx xdp {tx_xdp}: {st}");
                generic_rx(&mut s, 500)
            } else {
                let mut c = l.b.run(|n| Capture::builder().interface(n).build()).unwrap().unwrap();
                let st = if tx_xdp {
                    generic_tx(&mut xdp_on(&l.a, |b| b.mode(XdpMode::Tx)), &frames)
                } else {
                    generic_tx(&mut l.a.run(Injector::open).unwrap().unwrap(), &frames)
                };
                assert_eq!((st.sent, st.bytes, st.rejected), (500, bytes, 0), "tx xdp {tx_xdp}");
                generic_rx(&mut c, 500)
            };
            results.push(((rx_xdp, tx_xdp), got));
        }
    }
    let want: Vec<(u64, Vec<u8>)> = frames.iter().enumerate().map(|(i, f)| (i as u64, f.clone())).collect();
    for (how, got) in &results {
        assert_eq!(got, &want, "(rx xdp, tx xdp) = {how:?}: the same frames, in order");
    }
}

#[test]
fn xdp_sink_refuses_frames_beyond_the_mtu() {
    let l = link();
    let mut sock = xdp_on(&l.a, |b| b.mode(XdpMode::Tx));
    assert_eq!(PacketSink::max_frame_len(&sock), 1514);
    match PacketSink::allocate(&mut sock, 1515) {
        Err(e @ Error::FrameTooLarge { len: 1515, limit: 1514, .. }) => assert!(e.to_string().contains("MTU"), "{e}"),
        other => panic!("{:?}", other.map(|s| s.is_some())),
    }
}

#[test]
fn a_9000_byte_frame_arrives_whole_through_multi_buffer() {
    let l = veth(VethConfig::default().mtu(9000));
    let jumbo: Vec<_> = (0..20).map(|i| frame(i, if i % 2 == 0 { 9000 } else { 60 + i as usize * 100 })).collect();
    // Without multi-buffer, the jumbo frames are dropped and counted.
    let mut plain = xdp_on(&l.b, |b| b.mode(XdpMode::Rx).frame_size(4096));
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    for f in &jumbo {
        tx.send(f).unwrap();
    }
    let got = common::collect(&mut plain, 10, WAIT);
    assert_eq!(
        got.iter().map(|p| seq_of(p.data()).unwrap()).collect::<Vec<_>>(),
        (0..20).filter(|i| i % 2 == 1).collect::<Vec<_>>()
    );
    assert_eq!(plain.xdp_stats().unwrap().rx_dropped, 10);
    assert_eq!(plain.attach_mode(), Some(XdpAttachMode::Generic), "native XDP refuses MTU 9000 without fragments");
    drop(plain);

    let built =
        l.b.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Rx).frame_size(4096).multi_buffer(true).build())
            .unwrap();
    let mut sock = match built {
        Ok(s) => s,
        Err(e @ Error::Unsupported { .. }) => {
            // The other acceptable outcome: a clear refusal.
            assert!(e.to_string().contains("XDP_USE_SG"), "{e}");
            eprintln!("multi-buffer refused here: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    assert!(sock.multi_buffer());
    assert_eq!(sock.attach_mode(), Some(XdpAttachMode::Native), "a program loaded for fragments attaches natively");
    for f in &jumbo {
        tx.send(f).unwrap();
    }
    let got: Vec<Vec<u8>> = common::collect(&mut sock, 20, WAIT).into_iter().map(|p| p.data).collect();
    assert_eq!(got.len(), 20);
    for (i, (g, f)) in got.iter().zip(&jumbo).enumerate() {
        assert_eq!(g.len(), f.len(), "frame {i}");
        assert_eq!(g, f, "frame {i} byte for byte");
    }
    let st = sock.xdp_stats().unwrap();
    assert_eq!((st.received, st.drops(), st.skipped_descs), (20, 0, 0), "{st}");

    // And back: AF_XDP multi-buffer TX to an AF_PACKET capture.
    drop(sock);
    let mut cap = l.b.run(|n| Capture::builder().interface(n).build()).unwrap().unwrap();
    let mut out = xdp_on(&l.a, |b| b.mode(XdpMode::Tx).frame_size(4096).multi_buffer(true));
    xdp_send(&mut out, &jumbo);
    let got = common::collect(&mut cap, 20, WAIT);
    assert_eq!(got.iter().map(|p| p.data().to_vec()).collect::<Vec<_>>(), jumbo);
    assert_eq!(out.xdp_stats().unwrap().completed, 20, "a chain completes as one frame");
}

#[test]
fn multi_buffer_over_a_shared_umem_on_two_queues() {
    let l = veth(VethConfig::default().queues(2).mtu(9000));
    let b = |n: &str| XdpSocket::builder().interface(n).frame_size(4096).frame_count(256).multi_buffer(true);
    let mut rx = l.b.run(|n| b(n).mode(XdpMode::Rx).build_all_queues()).unwrap().unwrap();
    let mut tx = l.a.run(|n| b(n).mode(XdpMode::Tx).build_all_queues()).unwrap().unwrap();
    assert!(rx.iter().chain(&tx).all(XdpSocket::multi_buffer));
    let sent: Vec<Vec<Vec<u8>>> =
        (0..2u64).map(|q| (0..10).map(|i| frame(q * 1_000_000 + i, 8000 + i as usize * 100)).collect()).collect();
    for (sock, frames) in tx.iter_mut().zip(&sent) {
        xdp_send(sock, frames);
    }
    for (sock, frames) in rx.iter_mut().zip(&sent) {
        let got: Vec<Vec<u8>> = common::collect(sock, 10, WAIT).into_iter().map(|p| p.data).collect();
        assert_eq!(&got, frames, "queue {}: jumbo frames whole, through the UMEM's second socket too", sock.queue());
    }
}

#[test]
fn a_new_link_can_send_through_the_stack_at_once() {
    // Until link watch activates a device's qdisc it is `noop`, which drops
    // what AF_PACKET sends and reports success; VethLink waits it out.
    let l = link();
    for end in [&l.a, &l.b] {
        let q = end.run(netring::interface::link_info).unwrap().unwrap().qdisc;
        assert!(!q.is_empty() && q != "noop", "{}: qdisc {q:?}", end.name);
    }
    let mut cap = l.b.run(|n| Capture::builder().interface(n).build()).unwrap().unwrap();
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    let sent: Vec<_> = (0..50).map(|i| frame(i, 64)).collect();
    for f in &sent {
        tx.send(f).unwrap();
    }
    assert_eq!(common::collect(&mut cap, 50, WAIT).into_iter().map(|p| p.data).collect::<Vec<_>>(), sent);
}
