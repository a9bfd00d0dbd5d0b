//! Compiled filters in the kernel, over a real veth link in private
//! namespaces: the kernel delivers exactly what our interpreter predicts;
//! our live-socket programs behave as the ones libpcap compiles for the same
//! interface (`ip netns exec NS tcpdump -i VETH -ddd EXPR`); a filter change
//! re-checks frames already queued. Needs root and `tcpdump`; fails naming
//! what is missing otherwise.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::filter_corpus::{Frame, packets};
use common::{DST, frame_to, link, seq_of};
use netring::filter::{FilterMeta, Program, disasm, expr};
use netring::testkit::VethLink;
use netring::{Capture, Error, RawSender};

const SNAPLEN: u32 = 262_144;

/// Expressions tried in the kernel: every kind of primitive.
const SAMPLE: &[&str] = &[
    "ip",
    "ip6",
    "arp or rarp",
    "tcp",
    "udp or icmp6",
    "host 198.18.0.1",
    "src net 198.18.0.0/16 and not dst 198.18.0.2",
    "ip6 net 2001:2::/48",
    "port 80",
    "tcp dst port 443 or 80",
    "udp src and dst port 53",
    "sctp port 80",
    "ether src 02:00:00:00:00:01",
    "ether broadcast or ether multicast",
    "ether proto 0x88b5",
    "ether proto 6",
    "ip proto 47 or ip6 proto 58",
    "ip multicast",
    "less 100",
    "greater 200 and ip",
    "len != 60",
    "not (tcp or udp)",
];

/// Names, broadcast, MPLS, PPPoE, 802.2, DEC and AppleTalk: each must let
/// some of the frames sent through and hold others back.
const FAMILY_SAMPLE: &[&str] = &[
    "tcp port http or udp port domain",
    "ether host 0200.0000.0001",
    "ip broadcast",
    "mpls",
    "mpls 5 and ip",
    "mpls and mpls and ip6",
    "mpls and tcp port 80",
    "pppoed or pppoes 3",
    "pppoes and ip6",
    "llc",
    "llc i or llc s",
    "llc u",
    "stp or netbeui",
    "ipx",
    "iso and not isis",
    "l1",
    "decnet host 1.2",
    "decnet src 10.5 or lat",
    "atalk or aarp",
    "geneve 5 and ip",
    "geneve and tcp port 80",
    "geneve and geneve and tcp",
    "geneve and mpls and ip",
];

/// `protochain`: the unrolled walk in the kernel (libpcap's own program,
/// a loop, is refused by the kernel, so it is compared in the interpreter
/// only, by `filter_equivalence`).
const CHAIN_SAMPLE: &[&str] = &["protochain 6", "ip6 protochain 17 or ip protochain 17", "ip6 protochain 58"];

/// Terms after a `geneve` reached where it did not match: libpcap's program
/// reads scratch cells never written there, which the kernel refuses; ours
/// zeroes them first (as tcpdump's interpreter reads them), so it runs in
/// the kernel (compared with libpcap's in the interpreter by
/// `filter_equivalence`).
const UNWRITTEN_SAMPLE: &[&str] =
    &["geneve or ip", "not geneve and ether[0] = 2", "geneve 5 and tcp or geneve 7 and udp", "not geneve 7"];

/// Expressions whose live program differs from the offline one: the kernel
/// takes the outer tag out, and the direction is metadata.
const LIVE_SAMPLE: &[&str] = &[
    "vlan",
    "not vlan",
    "vlan 5",
    "vlan and ip",
    "vlan 5 and ip",
    "vlan and tcp port 80",
    "vlan and udp or ip6",
    "vlan and vlan",
    "vlan and vlan and ip",
    "vlan and ip[9] = 6",
    "vlan and portrange 80-90",
    "vlan 5 or ip",
    "tcp port 80 and vlan",
    "inbound",
    "outbound",
    "inbound and ip",
    "outbound or vlan",
    "ip[0] & 0xf > 5",
    "tcp[tcpflags] & (tcp-syn|tcp-ack) != 0",
];

/// The frame as a live socket sees it: the kernel takes the outer 802.1Q or
/// 802.1ad tag out of the bytes into the packet's metadata.
fn as_received(data: &[u8]) -> (Vec<u8>, FilterMeta) {
    if data.len() >= 18 && (data[12..14] == [0x81, 0x00] || data[12..14] == [0x88, 0xa8]) {
        let mut v = data[..12].to_vec();
        v.extend_from_slice(&data[16..]);
        let mut m = FilterMeta::for_frame(&v);
        m.vlan_tci = Some(u16::from_be_bytes([data[14], data[15]]));
        m.vlan_tpid = u16::from_be_bytes([data[12], data[13]]);
        (v, m)
    } else {
        (data.to_vec(), FilterMeta::for_frame(data))
    }
}

/// Frames that can be sent as they are: whole (not cut), Ethernet-sized;
/// `n` of the corpus, then every other frame of the MPLS, PPPoE,
/// 802.2/DEC/AppleTalk and tagged-broadcast families.
fn sendable(n: usize) -> Vec<Frame> {
    let whole = |f: &&Frame| {
        f.data.len() as u32 == f.wire_len
            && (14..=1514).contains(&f.data.len())
            && (!(f.data[12..14] == [0x81, 0] || f.data[12..14] == [0x88, 0xa8]) || f.data.len() >= 18)
    };
    let all = packets(2000);
    let family =
        |f: &&Frame| matches!(f.what, "mpls" | "pppoe" | "legacy" | "vlan-bcast" | "ipv6-chain" | "ipv4-ah" | "geneve");
    // Every Geneve frame (few, and each case matters), every second other family frame.
    let families = all
        .iter()
        .filter(whole)
        .filter(family)
        .enumerate()
        .filter(|(i, f)| f.what == "geneve" || i % 2 == 0)
        .map(|(_, f)| f);
    all.iter().filter(whole).filter(|f| !family(f)).step_by(2).take(n).chain(families).cloned().collect()
}

/// What `program` lets through of `frames`, as the kernel should deliver it.
fn predicted(program: &Program, frames: &[Frame]) -> Vec<Vec<u8>> {
    frames
        .iter()
        .filter_map(|f| {
            let (data, meta) = as_received(&f.data);
            let keep = program.run(&data, &meta) as usize;
            (keep > 0).then(|| data[..keep.min(data.len())].to_vec())
        })
        .collect()
}

/// Send `frames` from `a`, then read from each capture until it has
/// `want[i]` frames and 150 ms pass quietly. Returns what each received.
fn exchange(l: &VethLink, caps: &mut [&mut Capture], frames: &[Frame], want: &[usize]) -> Vec<Vec<Vec<u8>>> {
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    for f in frames {
        tx.send(&f.data).unwrap_or_else(|e| panic!("send {} bytes: {e}", f.data.len()));
    }
    caps.iter_mut()
        .zip(want)
        .map(|(cap, &want)| {
            let mut got = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut quiet_since = None;
            loop {
                match cap.next_batch_blocking(Some(Duration::from_millis(30))).unwrap() {
                    Some(b) => {
                        got.extend(b.iter().map(|p| p.data().to_vec()));
                        quiet_since = None;
                    }
                    None if got.len() >= want => {
                        let q = *quiet_since.get_or_insert_with(Instant::now);
                        if q.elapsed() > Duration::from_millis(150) {
                            break;
                        }
                    }
                    None => {}
                }
                if Instant::now() > deadline {
                    break;
                }
            }
            got
        })
        .collect()
}

fn capture(l: &VethLink, program: Option<&Program>) -> Capture {
    let p = program.cloned();
    l.b.run(move |n| {
        let b = Capture::builder().interface(n).retire_timeout(Duration::from_millis(10));
        match p {
            Some(p) => b.bpf(p).build(),
            None => b.build(),
        }
    })
    .unwrap()
    .unwrap()
}

#[test]
fn the_kernel_delivers_exactly_what_the_interpreter_predicts() {
    let l = link();
    let frames = sendable(400);
    assert!(frames.len() >= 300);
    let mut total = 0;
    for e in SAMPLE.iter().chain(FAMILY_SAMPLE).chain(CHAIN_SAMPLE).chain(UNWRITTEN_SAMPLE) {
        let program = Program::compile(e, SNAPLEN).unwrap();
        let want = predicted(&program, &frames);
        if FAMILY_SAMPLE.contains(e) || CHAIN_SAMPLE.contains(e) || UNWRITTEN_SAMPLE.contains(e) {
            assert!(!want.is_empty() && want.len() < frames.len(), "{e}: {} of {} frames", want.len(), frames.len());
        }
        let mut cap = capture(&l, Some(&program));
        let got = exchange(&l, &mut [&mut cap], &frames, &[want.len()]).remove(0);
        assert_eq!(
            got.len(),
            want.len(),
            "{e}: kernel delivered {} frames, interpreter predicts {}",
            got.len(),
            want.len()
        );
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{e}: frame {i} differs");
        }
        total += got.len();
    }
    assert!(total > 1000, "the sample exercised only {total} deliveries");
}

#[test]
fn snap_length_is_the_accept_value_in_the_kernel() {
    let l = link();
    let frames = sendable(200);
    let program = Program::compile("ip or ip6", 64).unwrap();
    let want = predicted(&program, &frames);
    assert!(want.iter().all(|f| f.len() <= 64) && want.iter().any(|f| f.len() == 64));
    let mut cap = capture(&l, Some(&program));
    let got = exchange(&l, &mut [&mut cap], &frames, &[want.len()]).remove(0);
    assert_eq!(got, want);
}

/// libpcap's program for a live socket on `l.b`, from the tcpdump inside
/// its namespace.
fn libpcap_live(l: &VethLink, e: &str) -> Program {
    libpcap_live_with(l, e, &[])
}

/// As [`libpcap_live`], with more tcpdump flags (`-O`: libpcap's optimizer off).
fn libpcap_live_with(l: &VethLink, e: &str, flags: &[&str]) -> Program {
    let out = Command::new("ip")
        .args(["netns", "exec", l.b.ns.name(), "tcpdump", "-i", &l.b.name, "-s", "262144", "-ddd"])
        .args(flags)
        .arg(e)
        .output()
        .expect("this test needs `ip` and `tcpdump`; `.ci/run` installs them");
    assert!(out.status.success(), "tcpdump -i {} -ddd {e:?}: {}", l.b.name, String::from_utf8_lossy(&out.stderr));
    Program::new(disasm::parse_decimal(&String::from_utf8_lossy(&out.stdout)).expect("a -ddd listing")).unwrap()
}

#[test]
fn live_target_behaves_as_libpcaps_live_program() {
    let l = link();
    let frames = sendable(300);
    let corpus = packets(5000);
    let mut compared = 0;
    for e in SAMPLE.iter().chain(FAMILY_SAMPLE) {
        let theirs = libpcap_live(&l, e);
        let ours = expr::compile_for(e, SNAPLEN, expr::Target::LiveAfPacket).unwrap();
        // Every corpus frame, as a live socket would see it.
        for f in &corpus {
            let (data, meta) = as_received(&f.data);
            let meta = FilterMeta { wire_len: f.wire_len - (f.data.len() - data.len()) as u32, ..meta };
            assert_eq!(theirs.run(&data, &meta), ours.run(&data, &meta), "{e}: {:02x?}", f.data);
        }
        // And in the kernel, side by side on the same interface.
        let mut a = capture(&l, Some(&theirs));
        let mut b = capture(&l, Some(&ours));
        let want = predicted(&ours, &frames).len();
        let got = exchange(&l, &mut [&mut a, &mut b], &frames, &[want, want]);
        assert_eq!(got[0].len(), want, "{e}: libpcap's program delivered {}", got[0].len());
        assert_eq!(got[0], got[1], "{e}: libpcap's and our program delivered different frames");
        compared += 1;
    }
    assert_eq!(compared, SAMPLE.len() + FAMILY_SAMPLE.len());
}

/// Sequence number of a numbered frame of any EtherType.
fn seq_any(data: &[u8]) -> u64 {
    u64::from_be_bytes(data[14..22].try_into().unwrap())
}

#[test]
fn set_filter_rechecks_frames_already_queued() {
    let l = link();
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    for flat in [false, true] {
        // A long retire timeout keeps the first frames in the block the
        // kernel is filling; a short one has retired the earlier blocks.
        for timeout in [Duration::from_secs(2), Duration::from_millis(5)] {
            let mut cap =
                l.b.run(|n| {
                    Capture::builder().interface(n).block_size(4096).block_count(8).retire_timeout(timeout).build()
                })
                .unwrap()
                .unwrap();
            for i in 0..40u64 {
                tx.send(&frame_to(DST, i, 200, if i % 2 == 0 { 0x88b5 } else { 0x88b6 })).unwrap();
            }
            std::thread::sleep(Duration::from_millis(50));
            assert!(cap.ring_occupancy() > 0 || timeout > Duration::from_secs(1));
            cap.set_filter("ether proto 0x88b6").unwrap();
            for i in 40..50u64 {
                tx.send(&frame_to(DST, i, 200, if i % 2 == 0 { 0x88b5 } else { 0x88b6 })).unwrap();
            }
            let mut seqs = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(5);
            if flat {
                let mut it = cap.packets();
                while seqs.len() < 25 && Instant::now() < deadline {
                    if let Some(p) = it.next_packet_blocking(Some(Duration::from_millis(100))).unwrap() {
                        seqs.push(seq_any(p.data()));
                    }
                }
            } else {
                while seqs.len() < 25 && Instant::now() < deadline {
                    if let Some(b) = cap.next_batch_blocking(Some(Duration::from_millis(100))).unwrap() {
                        seqs.extend(b.iter().map(|p| seq_any(p.data())));
                    }
                }
            }
            let odd: Vec<u64> = (0..50).filter(|i| i % 2 == 1).collect();
            assert_eq!(seqs, odd, "flat iterator {flat}, retire timeout {timeout:?}: only the new filter's frames");
            assert_eq!(cap.malformed_blocks(), 0);
        }
    }
}

#[test]
fn builder_compiles_expressions_and_reports_the_column() {
    let l = link();
    let mut cap =
        l.b.run(|n| Capture::builder().interface(n).filter("ether proto 0x88b5 and greater 100").snaplen(90).build())
            .unwrap()
            .unwrap();
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    for (i, (len, ty)) in [(200, 0x88b5), (60, 0x88b5), (200, 0x88b6), (150, 0x88b5)].into_iter().enumerate() {
        tx.send(&frame_to(DST, i as u64, len, ty)).unwrap();
    }
    let got = common::collect(&mut cap, 2, Duration::from_secs(5));
    let seen: Vec<_> = got.iter().map(|p| (seq_of(p.data()).unwrap(), p.data().len(), p.original_len())).collect();
    assert_eq!(seen, vec![(0, 90, 200), (3, 90, 150)]);
    match l.b.run(|n| Capture::builder().interface(n).filter("tcp port 80 or host nosuch").build()).unwrap() {
        Err(Error::InvalidExpression { column, message, .. }) => {
            assert_eq!(column, 21);
            assert!(message.contains("not resolved"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    match cap.set_filter("ip and") {
        Err(Error::InvalidExpression { column, .. }) => assert_eq!(column, 7),
        other => panic!("{other:?}"),
    }
}

/// Frames as the live socket on `l.b` would see them: received from the
/// peer (outer tag in the metadata, packet type "other host"), and sent
/// from `l.b` (bytes as sent, packet type "outgoing").
fn live_views(corpus: &[Frame]) -> Vec<(Vec<u8>, FilterMeta)> {
    let mut out = Vec::new();
    for f in corpus {
        let (data, meta) = as_received(&f.data);
        let meta = FilterMeta { wire_len: f.wire_len - (f.data.len() - data.len()) as u32, ..meta };
        out.push((data, FilterMeta { pkttype: 3, ..meta }));
        out.push((f.data.clone(), FilterMeta { pkttype: 4, ..FilterMeta::for_capture(&f.data, f.wire_len) }));
    }
    out
}

#[test]
fn live_vlan_and_direction_behave_as_libpcaps_live_program() {
    let l = link();
    // Every other tagged frame gets VLAN id 5 (outer tag; and the inner one of QinQ).
    let mut frames = sendable(300);
    let mut corpus = packets(5000);
    for f in frames.iter_mut().chain(corpus.iter_mut()).filter(|f| f.data.len() >= 22).step_by(2) {
        if f.data[12..14] == [0x81, 0] || f.data[12..14] == [0x88, 0xa8] {
            f.data[14..16].copy_from_slice(&0x2005u16.to_be_bytes());
        }
        if f.data[16..18] == [0x81, 0] {
            f.data[18..20].copy_from_slice(&0x0005u16.to_be_bytes());
        }
    }
    let views = live_views(&corpus);
    let tagged = frames.iter().filter(|f| f.data[12..14] == [0x81, 0] || f.data[12..14] == [0x88, 0xa8]).count();
    assert!(tagged >= 30, "only {tagged} tagged frames to send");
    let tx_b = l.b.run(RawSender::open).unwrap().unwrap();
    let (mut delivered, mut nonempty) = (0, 0);
    for e in LIVE_SAMPLE {
        let theirs = libpcap_live(&l, e);
        let ours = expr::compile_for(e, SNAPLEN, expr::Target::LiveAfPacket).unwrap();
        for (data, meta) in &views {
            assert_eq!(theirs.run(data, meta), ours.run(data, meta), "{e}: {meta:?} {data:02x?}");
        }
        // In the kernel: frames from the peer (inbound), then the same
        // frames sent from this end (outbound), side by side.
        let mut a = capture(&l, Some(&theirs));
        let mut b = capture(&l, Some(&ours));
        // Received frames lose their outer 802.1Q/802.1ad tag to the
        // metadata; sent frames are seen as they were sent.
        let want_in = frames.iter().filter(|f| {
            let (data, meta) = as_received(&f.data);
            ours.run(&data, &FilterMeta { pkttype: 3, ..meta }) > 0
        });
        let want_out = frames
            .iter()
            .filter(|f| ours.run(&f.data, &FilterMeta { pkttype: 4, ..FilterMeta::for_frame(&f.data) }) > 0);
        let (want_in, want_out) = (want_in.count(), want_out.count());
        let got_in = exchange(&l, &mut [&mut a, &mut b], &frames, &[want_in, want_in]);
        assert_eq!(got_in[0], got_in[1], "{e}: received frames differ");
        for f in &frames {
            tx_b.send(&f.data).unwrap();
        }
        let got_out = exchange(&l, &mut [&mut a, &mut b], &[], &[want_out, want_out]);
        assert_eq!(got_out[0], got_out[1], "{e}: sent frames differ");
        assert_eq!((got_in[0].len(), got_out[0].len()), (want_in, want_out), "{e}: the interpreter predicts otherwise");
        delivered += got_in[0].len() + got_out[0].len();
        nonempty += usize::from(!got_in[0].is_empty() && !got_out[0].is_empty());
    }
    assert!(delivered > 2000 && nonempty >= 10, "only {delivered} deliveries ({nonempty} expressions both ways)");
}

/// Where libpcap's optimizer hoists the `vlan` offset store above the
/// tag-present test (an EtherType test leading into the first `vlan`), its
/// optimized live program tests a frame whose tag the kernel took out at
/// moved offsets; the meaning of libpcap's own unoptimized program
/// (`tcpdump -O`) does not, and ours is that meaning: equal on every view of
/// the corpus, and in the kernel side by side.
#[test]
fn live_vlan_after_an_ethertype_test_is_libpcaps_unoptimized_meaning() {
    let l = link();
    let mut frames = sendable(300);
    let mut corpus = packets(5000);
    for f in frames.iter_mut().chain(corpus.iter_mut()).filter(|f| f.data.len() >= 22).step_by(2) {
        if f.data[12..14] == [0x81, 0] || f.data[12..14] == [0x88, 0xa8] {
            f.data[14..16].copy_from_slice(&0x2005u16.to_be_bytes());
        }
    }
    let views = live_views(&corpus);
    let mut differs_from_optimized = 0;
    for e in ["ip or vlan 5 and udp", "arp or vlan and ip", "ip6 or vlan and tcp port 80", "arp or vlan 5 and icmp"] {
        let theirs = libpcap_live_with(&l, e, &["-O"]);
        let optimized = libpcap_live(&l, e);
        let ours = expr::compile_for(e, SNAPLEN, expr::Target::LiveAfPacket).unwrap();
        for (data, meta) in &views {
            assert_eq!(theirs.run(data, meta), ours.run(data, meta), "{e}: {meta:?} {data:02x?}");
        }
        differs_from_optimized += usize::from(views.iter().any(|(d, m)| optimized.run(d, m) != ours.run(d, m)));
        let mut a = capture(&l, Some(&theirs));
        let mut b = capture(&l, Some(&ours));
        let want = predicted(&ours, &frames).len();
        let got = exchange(&l, &mut [&mut a, &mut b], &frames, &[want, want]);
        assert_eq!(got[0].len(), want, "{e}: libpcap's unoptimized program delivered {}", got[0].len());
        assert_eq!(got[0], got[1], "{e}: libpcap's unoptimized and our program delivered different frames");
    }
    // The optimizer's hoisting is real: at least the two known expressions differ.
    assert!(
        differs_from_optimized >= 2,
        "only {differs_from_optimized} expressions differ from libpcap's optimized program"
    );
}

/// An IPv4/UDP frame to `dst` (IP), numbered `seq` in its payload.
fn ipv4_to(dst: [u8; 4], seq: u8) -> Frame {
    let mut f = DST.to_vec();
    f.extend([2, 0, 0, 0, 0, 9, 0x08, 0x00, 0x45, 0, 0, 30, 0, 1, 0, 0, 64, 17, 0, 0, 198, 18, 5, 2]);
    f.extend(dst);
    f.extend([0x30, 0x39, 0x30, 0x39, 0, 10, 0, 0, seq, seq]);
    f.resize(60, 0);
    Frame { wire_len: 60, data: f, what: "ipv4" }
}

#[test]
fn ip_broadcast_on_a_live_capture_uses_the_interfaces_netmask() {
    let l = link();
    let ns = l.b.ns.name().to_owned();
    let added = Command::new("ip").args(["-n", &ns, "addr", "add", "198.18.5.1/24", "dev", &l.b.name]).status();
    assert!(added.expect("this test needs `ip`").success(), "ip addr add 198.18.5.1/24");
    let mask = l.b.run(netring::interface::ipv4_netmask).unwrap().unwrap();
    assert_eq!(mask, Some(std::net::Ipv4Addr::new(255, 255, 255, 0)));
    let frames = [
        ipv4_to([198, 18, 5, 255], 1),
        ipv4_to([198, 18, 5, 7], 2),
        ipv4_to([198, 18, 6, 255], 3),
        ipv4_to([198, 18, 5, 0], 4),
        ipv4_to([255, 255, 255, 255], 5),
    ];
    // With netmask 0.0.0.0 (a capture file, `tcpdump -d`) only the last
    // frame is a broadcast; on the /24 every frame whose host part is all
    // ones or all zeros is (libpcap tests only the host part, so
    // 198.18.6.255 counts too), but not 198.18.5.7.
    let offline = expr::compile("ip broadcast", SNAPLEN).unwrap();
    let meta = |f: &Frame| FilterMeta::for_frame(&f.data);
    assert_eq!(frames.iter().filter(|f| offline.matches(&f.data, &meta(f))).count(), 1);
    // The host part under 255.255.255.0 (`tcpdump -i IF -d` prints its
    // program with netmask 0.0.0.0, so this is checked here, not against it).
    let ours = l.b.run(|n| Program::compile_on("ip broadcast", SNAPLEN, n)).unwrap().unwrap();
    assert!(ours.instructions().iter().any(|i| i.code == 0x54 && i.k == 0xff), "and #0xff");
    let want: Vec<Vec<u8>> = [0, 2, 3, 4].iter().map(|&i| frames[i].data.clone()).collect();
    let built = |n: &str| {
        Capture::builder().interface(n).retire_timeout(Duration::from_millis(10)).filter("ip broadcast").build()
    };
    let mut by_builder = l.b.run(built).unwrap().unwrap();
    let mut by_set_filter = l.b.run(|n| Capture::builder().interface(n).build()).unwrap().unwrap();
    // Outside the namespace: the netmask is asked on the capture's socket.
    by_set_filter.set_filter("ip broadcast").unwrap();
    let got = exchange(&l, &mut [&mut by_builder, &mut by_set_filter], &frames, &[4, 4]);
    assert_eq!(got[0], want, "built with filter()");
    assert_eq!(got[1], want, "set_filter()");
}
