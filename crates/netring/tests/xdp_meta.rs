//! AF_XDP per-frame metadata from the built-in XDP program (issue 18) over
//! a real veth link in private namespaces: per-frame timestamps taken in
//! the program, on AF_PACKET's clock; the RX hash and the VLAN tag from
//! veth's XDP metadata kfuncs (native mode, device-bound program); the
//! fallbacks (generic mode → program time only; metadata off → user-space
//! time). Needs root; fails with a message naming what is missing otherwise.

mod common;

use std::time::Duration;

use common::{frame, seq_of, udp_flow_seq, udp_frame};
use netring::afxdp::{XdpAttach, XdpAttachMode, XdpPacket, XdpQueueSet, XdpRxMetaPlacement};
use netring::bpf::{EbpfProgram, Insn, ProgramType, Reg, TcxLink, helper};
use netring::testkit::{VethConfig, VethLink};
use netring::{
    Capture, PacketDirection, RawSender, Timestamp, TimestampSource, Timestamping, XdpMode, XdpSocket, XdpSocketBuilder,
};

const WAIT: Duration = Duration::from_secs(5);

/// One RX and one TX queue per end, so native XDP attaches on veth.
fn link() -> VethLink {
    common::require_root();
    VethConfig::default().queues(1).create().expect("create veth link")
}

fn xdp(l: &VethLink, f: impl FnOnce(XdpSocketBuilder) -> XdpSocketBuilder + Send) -> XdpSocket {
    l.b.run(|n| f(XdpSocket::builder().interface(n).mode(XdpMode::Rx)).build()).unwrap().unwrap()
}

/// What a test keeps of a received frame.
#[derive(Debug, Clone)]
struct Got {
    data: Vec<u8>,
    ts: Timestamp,
    source: TimestampSource,
    rxhash: u32,
    rxhash_type: Option<u32>,
    vlan: Option<(u16, u16)>,
    batch: usize,
}

impl Got {
    fn of(p: &XdpPacket<'_>, batch: usize) -> Self {
        Self {
            data: p.data().to_vec(),
            ts: p.timestamp(),
            source: p.timestamp_source(),
            rxhash: p.rxhash(),
            rxhash_type: p.rxhash_type(),
            vlan: p.vlan_tci().zip(p.vlan_tpid()),
            batch,
        }
    }
}

/// Receive frames whose bytes pass `keep` until `want` arrived or the wait ends.
fn receive(sock: &mut XdpSocket, want: usize, keep: impl Fn(&[u8]) -> bool) -> Vec<Got> {
    let end = std::time::Instant::now() + WAIT;
    let mut got = Vec::new();
    let mut batches = 0;
    while got.len() < want && std::time::Instant::now() < end {
        if let Some(b) = sock.next_batch_blocking(Some(Duration::from_millis(100))).unwrap() {
            batches += 1;
            got.extend(b.iter().filter(|p| keep(p.data())).map(|p| Got::of(&p, batches)));
        }
    }
    got
}

#[test]
fn a_burst_gets_distinct_program_timestamps_on_the_senders_af_packet_clock() {
    let l = link();
    let mut sock = xdp(&l, |b| b.attach(XdpAttach::Native));
    assert_eq!(sock.attach_mode(), Some(XdpAttachMode::Native));
    let meta = sock.rx_metadata();
    // The RX hash is asked for with rxhash(true) only, the device's time
    // with timestamping(Hardware) only.
    assert!(meta.program_time && meta.vlan_tag && !meta.device_time && !meta.rx_hash, "{meta:?}");
    assert!(meta.fallback.is_empty(), "{meta:?}");
    // The sending side sees its own frames (PACKET_OUTGOING) with software stamps.
    let mut tap = l.a.run(|n| Capture::builder().interface(n).build()).unwrap().unwrap();
    const N: u64 = 500;
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    let before = Timestamp::now();
    for i in 0..N {
        tx.send(&frame(i, 60)).unwrap();
    }
    let after = Timestamp::now();
    let got = receive(&mut sock, N as usize, |d| seq_of(d).is_some());
    assert_eq!(got.len(), N as usize);
    let out = common::collect(&mut tap, N as usize, WAIT);
    assert_eq!(out.len(), N as usize);
    let mut deltas = Vec::new();
    for (i, (g, o)) in got.iter().zip(&out).enumerate() {
        assert_eq!(seq_of(&g.data), Some(i as u64), "in order");
        assert_eq!(seq_of(&o.data), Some(i as u64));
        assert_eq!(o.meta.direction, PacketDirection::Outgoing);
        assert_eq!(g.source, TimestampSource::XdpProgram, "frame {i}");
        assert!(g.ts >= before && g.ts <= after, "frame {i}: {} outside {before}..{after}", g.ts);
        assert!(g.ts >= o.meta.timestamp, "frame {i}: received {} before it was sent {}", g.ts, o.meta.timestamp);
        deltas.push(g.ts.as_nanos() - o.meta.timestamp.as_nanos());
    }
    for w in got.windows(2) {
        assert!(w[1].ts > w[0].ts, "distinct and increasing: {} then {}", w[0].ts, w[1].ts);
    }
    let batches = got.last().unwrap().batch;
    assert!(batches < N as usize, "frames came in batches ({batches} for {N})");
    deltas.sort_unstable();
    let median = deltas[deltas.len() / 2];
    eprintln!("XDP program time − AF_PACKET outgoing time: median {median} ns, max {} ns", deltas[deltas.len() - 1]);
    assert!(median < 20_000, "median {median} ns");
    assert_eq!(sock.rx_metadata().batches_without, 0);
}

/// Send `frames` from end a's interface `iface` (default: the link's own).
fn send_from(l: &VethLink, iface: Option<&str>, frames: &[Vec<u8>]) {
    let iface = iface.map(str::to_owned);
    l.a.run(move |n| {
        let tx = RawSender::open(iface.as_deref().unwrap_or(n)).unwrap();
        for f in frames {
            tx.send(f).unwrap();
        }
    })
    .unwrap();
}

const FLOWS: u16 = 8;

#[test]
fn rx_hash_equals_af_packets_rxhash_for_the_same_flow() {
    let l = link();
    let frames: Vec<Vec<u8>> = (0..FLOWS).map(|f| udp_frame(f, u64::from(f), 80)).collect();
    // AF_PACKET on the receiving end first, with rxhash filling on.
    let mut cap = l.b.run(|n| Capture::builder().interface(n).rxhash(true).build()).unwrap().unwrap();
    send_from(&l, None, &frames);
    let seen = common::collect_udp(&mut cap, FLOWS as usize, WAIT);
    drop(cap);
    assert_eq!(seen.len(), FLOWS as usize);
    let mut want = [0u32; FLOWS as usize];
    for p in &seen {
        let (flow, _) = udp_flow_seq(&p.data).unwrap();
        assert_ne!(p.meta.rxhash, 0, "AF_PACKET filled the hash");
        want[flow as usize] = p.meta.rxhash;
    }
    // AF_XDP, native, with veth's metadata kfuncs but without rxhash(true):
    // the program does not ask for the hash.
    let mut sock = xdp(&l, |b| b.attach(XdpAttach::Native));
    assert!(!sock.rx_metadata().rx_hash && sock.rx_metadata().vlan_tag, "{:?}", sock.rx_metadata());
    send_from(&l, None, &frames);
    let got = receive(&mut sock, FLOWS as usize, |d| udp_flow_seq(d).is_some());
    assert_eq!(got.len(), FLOWS as usize);
    for g in &got {
        assert_eq!((g.rxhash, g.rxhash_type), (0, None), "no hash unless asked");
        assert_eq!(g.source, TimestampSource::XdpProgram);
    }
    drop(sock);
    // Then with rxhash(true).
    let mut sock = xdp(&l, |b| b.attach(XdpAttach::Native).rxhash(true));
    assert!(sock.rx_metadata().rx_hash, "{:?}", sock.rx_metadata());
    send_from(&l, None, &frames);
    let got = receive(&mut sock, FLOWS as usize, |d| udp_flow_seq(d).is_some());
    assert_eq!(got.len(), FLOWS as usize);
    for g in &got {
        let (flow, _) = udp_flow_seq(&g.data).unwrap();
        assert_eq!(g.rxhash, want[flow as usize], "flow {flow}: the XDP RX hash is AF_PACKET's");
        // enum xdp_rss_hash_type: XDP_RSS_L4 (bit 3) for a hash over the ports.
        assert_eq!(g.rxhash_type.map(|t| t & (1 << 3)), Some(1 << 3), "flow {flow}: {:?}", g.rxhash_type);
        assert_eq!(g.vlan, None, "untagged");
        assert_eq!(g.data, frames[flow as usize], "the frame itself, without the metadata");
    }
    let distinct: std::collections::HashSet<u32> = want.iter().copied().collect();
    assert!(distinct.len() > 1, "different flows, different hashes: {want:x?}");
}

/// A tc egress program on end a that puts tag (`tpid`, `tci`) on every
/// frame as the device's offload would carry it (`bpf_skb_vlan_push`: the
/// tag travels beside the bytes), while the returned link lives.
fn tag_egress(l: &VethLink, tpid: u16, tci: u16) -> TcxLink {
    let prog = [
        Insn::mov64_imm(Reg::R2, i32::from(tpid.to_be())),
        Insn::mov64_imm(Reg::R3, i32::from(tci)),
        Insn::call(helper::SKB_VLAN_PUSH),
        Insn::mov64_imm(Reg::R0, 0),
        Insn::exit(),
    ];
    l.a.run(|n| {
        let p = EbpfProgram::load(ProgramType::SchedCls, "nrt_vlan", &prog)?;
        TcxLink::attach(&p, n, true)
    })
    .unwrap()
    .expect("tcx egress program")
}

/// Send `f` from end a with tag (`tpid`, `tci`) carried beside it.
fn send_tagged(l: &VethLink, tpid: u16, tci: u16, f: &[u8]) {
    let link = tag_egress(l, tpid, tci);
    send_from(l, None, &[f.to_vec()]);
    drop(link);
}

#[test]
fn a_tag_the_device_took_off_reports_its_tci_and_tpid_as_af_packet_does() {
    let l = link();
    let (f5, f7) = (frame(5, 64), frame(7, 64));
    // What AF_PACKET reports on the receiving end.
    let mut cap = l.b.run(|n| Capture::builder().interface(n).build()).unwrap().unwrap();
    send_tagged(&l, 0x8100, 5, &f5);
    send_tagged(&l, 0x88a8, 0x2007, &f7);
    let seen = common::collect(&mut cap, 2, WAIT);
    drop(cap);
    assert_eq!(seen.len(), 2);
    assert_eq!((seen[0].meta.vlan_tci, seen[0].meta.vlan_tpid), (Some(5), Some(0x8100)));
    assert_eq!((seen[1].meta.vlan_tci, seen[1].meta.vlan_tpid), (Some(0x2007), Some(0x88a8)));
    let mut sock = xdp(&l, |b| b.attach(XdpAttach::Native));
    assert!(sock.rx_metadata().vlan_tag, "{:?}", sock.rx_metadata());
    send_tagged(&l, 0x8100, 5, &f5);
    send_tagged(&l, 0x88a8, 0x2007, &f7);
    send_from(&l, None, &[frame(9, 64)]);
    let got = receive(&mut sock, 3, |d| seq_of(d).is_some());
    assert_eq!(got.len(), 3);
    assert_eq!((seq_of(&got[0].data), got[0].vlan), (Some(5), Some((5, 0x8100))));
    assert_eq!((seq_of(&got[1].data), got[1].vlan), (Some(7), Some((0x2007, 0x88a8))));
    assert_eq!((seq_of(&got[2].data), got[2].vlan), (Some(9), None), "an untagged frame has no tag");
    assert_eq!((&got[0].data, &got[1].data), (&f5, &f7), "the tag is not in the bytes, as with AF_PACKET");
}

#[test]
fn the_devices_clock_is_asked_for_and_veth_has_none() {
    let l = link();
    // Hardware: veth has no clock, so the program's time, and the reason.
    let mut sock = xdp(&l, |b| b.attach(XdpAttach::Native).timestamping(Timestamping::Hardware));
    let m = sock.rx_metadata();
    assert!(m.program_time && !m.device_time && m.vlan_tag, "{m:?}");
    assert_eq!(m.fallback.len(), 1, "{m:?}");
    assert!(m.fallback[0].contains("no device time") && m.fallback[0].contains("hardware clock"), "{m:?}");
    let frames: Vec<Vec<u8>> = (0..20).map(|i| frame(i, 60)).collect();
    send_from(&l, None, &frames);
    let got = receive(&mut sock, frames.len(), |d| seq_of(d).is_some());
    assert_eq!(got.len(), frames.len());
    for (g, f) in got.iter().zip(&frames) {
        assert_eq!(&g.data, f);
        assert_eq!(g.source, TimestampSource::XdpProgram);
    }
    drop(sock);
    // HardwareOnly: refused, naming why, and nothing stays attached.
    let e =
        l.b.run(|n| {
            XdpSocket::builder()
                .interface(n)
                .mode(XdpMode::Rx)
                .attach(XdpAttach::Native)
                .timestamping(Timestamping::HardwareOnly)
                .build()
        })
        .unwrap()
        .unwrap_err();
    match &e {
        netring::Error::Unsupported { feature, detail } => {
            assert_eq!(*feature, "hardware time stamps");
            assert!(detail.contains("hardware clock"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let sock = xdp(&l, |b| b.attach(XdpAttach::Native));
    assert!(sock.rx_metadata().program_time, "the interface is free again: {:?}", sock.rx_metadata());
}

#[test]
fn generic_mode_falls_back_to_program_time_only() {
    let l = link();
    let mut sock = xdp(&l, |b| b.attach(XdpAttach::Generic));
    assert_eq!(sock.attach_mode(), Some(XdpAttachMode::Generic));
    let m = sock.rx_metadata();
    assert!(m.program_time && !m.device_time && !m.rx_hash && !m.vlan_tag, "{m:?}");
    assert_eq!(m.fallback.len(), 1, "{m:?}");
    assert!(m.fallback[0].contains("native XDP"), "{m:?}");
    let before = Timestamp::now();
    send_from(&l, None, &(0..64).map(|i| udp_frame(1, i, 60)).collect::<Vec<_>>());
    let got = receive(&mut sock, 64, |d| udp_flow_seq(d).is_some());
    assert_eq!(got.len(), 64);
    for (i, g) in got.iter().enumerate() {
        assert_eq!(udp_flow_seq(&g.data), Some((1, i as u64)));
        assert_eq!(g.source, TimestampSource::XdpProgram);
        assert!(g.ts >= before && g.ts <= Timestamp::now());
        assert_eq!((g.rxhash, g.rxhash_type, g.vlan), (0, None, None), "no kfuncs in generic mode");
    }
    for w in got.windows(2) {
        assert!(w[1].ts > w[0].ts);
    }
}

#[test]
fn metadata_off_gives_every_frame_of_a_batch_user_space_time() {
    let l = link();
    let mut sock = xdp(&l, |b| b.rx_metadata(false));
    let m = sock.rx_metadata();
    assert!(!m.program_time && !m.rx_hash && m.placement.is_none() && m.fallback.is_empty(), "{m:?}");
    let sent: Vec<Vec<u8>> = (0..200).map(|i| frame(i, 60)).collect();
    send_from(&l, None, &sent);
    let got = receive(&mut sock, sent.len(), |d| seq_of(d).is_some());
    assert_eq!(got.len(), sent.len());
    for (g, s) in got.iter().zip(&sent) {
        assert_eq!(&g.data, s);
        assert_eq!(g.source, TimestampSource::User);
    }
    let first = &got[0];
    let same_batch: Vec<&Got> = got.iter().filter(|g| g.batch == first.batch).collect();
    assert!(same_batch.iter().all(|g| g.ts == first.ts), "one time per batch");
}

#[test]
fn a_filter_and_every_queue_over_one_umem_get_the_metadata_too() {
    common::require_root();
    let l = VethConfig::default().queues(2).create().expect("create veth link");
    let socks =
        l.b.run(|n| {
            XdpSocket::builder()
                .interface(n)
                .mode(XdpMode::Rx)
                .attach(XdpAttach::Native)
                .filter("udp")
                .rxhash(true)
                .build_all_queues()
        })
        .unwrap()
        .unwrap();
    assert_eq!(socks.len(), 2);
    for s in &socks {
        assert!(s.rx_metadata().program_time && s.rx_metadata().rx_hash, "{:?}", s.rx_metadata());
    }
    let mut set = XdpQueueSet::new(socks).unwrap();
    let before = Timestamp::now();
    let mut sent = Vec::new();
    for i in 0..100u64 {
        sent.push(udp_frame((i % 4) as u16, i, 70));
        sent.push(frame(i, 60)); // not UDP: the filter passes it to the stack
    }
    send_from(&l, None, &sent);
    let end = std::time::Instant::now() + WAIT;
    let mut got = Vec::new();
    while got.len() < 100 && std::time::Instant::now() < end {
        if let Some(b) = set.next_batch_blocking(Some(Duration::from_millis(100))).unwrap() {
            got.extend(b.iter().map(|p| Got::of(&p, 0)));
        }
    }
    assert_eq!(got.len(), 100, "the UDP frames only");
    for g in &got {
        let (flow, seq) = udp_flow_seq(&g.data).expect("only UDP passes the filter");
        assert_eq!(g.data, udp_frame(flow, seq, 70));
        assert_eq!(g.source, TimestampSource::XdpProgram);
        assert!(g.ts >= before && g.ts <= Timestamp::now());
        assert_ne!(g.rxhash, 0);
    }
}

#[test]
fn a_prefix_area_takes_its_32_bytes_from_the_longest_frame() {
    common::require_root();
    let l = VethConfig::default().mtu(3000).create().expect("veth");
    let mut sock = xdp(&l, |b| b);
    let placement = sock.rx_metadata().placement.expect("metadata on");
    // 2048-byte UMEM frames leave 1792 bytes after the kernel's headroom;
    // an area placed as a prefix takes 32 of them.
    let limit = 1792 - if placement == XdpRxMetaPlacement::Prefix { 32 } else { 0 };
    send_from(&l, None, &[frame(0, limit), frame(1, limit + 1), frame(2, 60)]);
    let got = receive(&mut sock, 2, |d| seq_of(d).is_some());
    assert_eq!(got.iter().map(|g| (seq_of(&g.data).unwrap(), g.data.len())).collect::<Vec<_>>(), [(0, limit), (2, 60)]);
    assert!(got.iter().all(|g| g.source == TimestampSource::XdpProgram));
    assert_eq!(sock.xdp_stats().unwrap().rx_dropped, 1);
}

#[test]
fn frames_of_a_queue_without_a_socket_reach_the_stack_unchanged() {
    // Queue 1 of end b has no socket: the program's redirect falls back to
    // XDP_PASS, and a prefix area it added must be gone again by then.
    common::require_root();
    let l = VethConfig::default().queues(2).create().expect("create veth link");
    let mut sock =
        l.b.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Rx).queue(0).attach(XdpAttach::Native).build())
            .unwrap()
            .unwrap();
    assert!(sock.rx_metadata().program_time);
    let mut cap = l.b.run(|n| Capture::builder().interface(n).build()).unwrap().unwrap();
    // The receiving veth takes the RX queue from the sender's TX queue.
    let mut tx = l.a.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Tx).build_all_queues()).unwrap().unwrap();
    assert_eq!(tx.len(), 2);
    let sent: Vec<Vec<u8>> = (0..20).map(|i| frame(i, 60 + i as usize)).collect();
    for f in &sent {
        assert!(tx[1].send(f).unwrap());
    }
    assert!(tx[1].wait_drained(Some(WAIT)).unwrap());
    let passed = common::collect(&mut cap, sent.len(), WAIT);
    assert_eq!(passed.len(), sent.len(), "every frame of queue 1 went on to the stack");
    for (p, s) in passed.iter().zip(&sent) {
        assert_eq!(&p.data, s, "byte for byte, without the metadata");
    }
    assert!(sock.next_batch().is_none(), "nothing for queue 0's socket");
    // Queue 0's frames still reach the socket with their metadata.
    for f in &sent[..5] {
        assert!(tx[0].send(f).unwrap());
    }
    assert!(tx[0].wait_drained(Some(WAIT)).unwrap());
    let got = receive(&mut sock, 5, |d| seq_of(d).is_some());
    assert_eq!(got.iter().map(|g| g.data.clone()).collect::<Vec<_>>(), sent[..5]);
    assert!(got.iter().all(|g| g.source == TimestampSource::XdpProgram));
}

#[test]
fn multi_buffer_sockets_say_which_time_their_frames_carry() {
    common::require_root();
    let l = VethConfig::default().queues(1).mtu(3000).create().expect("veth");
    let mut sock = xdp(&l, |b| b.multi_buffer(true).attach(XdpAttach::Native));
    let m = sock.rx_metadata();
    let sent = [frame(0, 100), frame(1, 2500)];
    send_from(&l, None, &sent);
    let got = receive(&mut sock, 2, |d| seq_of(d).is_some());
    assert_eq!(got.iter().map(|g| g.data.clone()).collect::<Vec<_>>(), sent);
    // A reassembled frame's area (before its first buffer) is back with the
    // kernel: such frames always carry user-space time.
    assert_eq!(got[1].source, TimestampSource::User);
    if m.program_time {
        assert_eq!(m.placement, Some(XdpRxMetaPlacement::BeforeData), "{m:?}");
        assert_eq!(got[0].source, TimestampSource::XdpProgram);
    } else {
        // Where the kernel refuses bpf_xdp_adjust_meta, a prefix cannot be
        // taken off a chained frame: no area at all, and the reason given.
        assert!(m.fallback.iter().any(|f| f.contains("multi-buffer")), "{m:?}");
        assert_eq!(got[0].source, TimestampSource::User);
    }
}

#[test]
fn a_program_of_ones_own_that_writes_the_area_gets_the_same_accessors() {
    use netring::bpf::{RxKfuncs, XdpLink, XskMap, programs};
    let l = link();
    let sock = xdp(&l, |b| b.builtin_program(false).own_program_rx_metadata(Some(XdpRxMetaPlacement::Prefix)));
    assert_eq!(sock.attach_mode(), None, "netring attached nothing");
    // The user's program: here assembled with netring's own bpf module.
    let fd = std::os::fd::AsFd::as_fd(&sock);
    let (_map, _link) =
        l.b.run(|n| {
            let map = XskMap::new(1)?;
            map.insert(0, fd)?;
            let insns = programs::xsk_redirect_meta(&map, None, &RxKfuncs::default(), XdpRxMetaPlacement::Prefix)?;
            let prog = EbpfProgram::load(ProgramType::Xdp { frags: false }, "user_xsk", &insns)?;
            let link = XdpLink::attach(&prog, n, XdpAttach::Native)?;
            Ok::<_, netring::Error>((map, link))
        })
        .unwrap()
        .unwrap();
    let mut sock = sock;
    let before = Timestamp::now();
    let sent: Vec<Vec<u8>> = (0..10).map(|i| frame(i, 70)).collect();
    send_from(&l, None, &sent);
    let got = receive(&mut sock, 10, |d| seq_of(d).is_some());
    assert_eq!(got.iter().map(|g| g.data.clone()).collect::<Vec<_>>(), sent);
    for g in &got {
        assert_eq!(g.source, TimestampSource::XdpProgram);
        assert!(g.ts >= before && g.ts <= Timestamp::now());
    }
}
