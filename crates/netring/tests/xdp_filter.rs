//! Filter expressions inside the built-in XDP program, over a real veth
//! link: the AF_XDP socket receives exactly the frames the classic BPF
//! interpreter accepts (byte for byte, in order), and every other frame
//! goes on to the kernel's stack, where an AF_PACKET capture on the same
//! interface sees it. Needs root; fails naming what is missing otherwise.

mod common;

use std::time::{Duration, Instant};

use common::filter_corpus::{Frame, packets};
use common::link;
use netring::filter::{FilterMeta, expr};
use netring::testkit::VethLink;
use netring::{Capture, Error, RawSender, XdpMode, XdpSocket};

/// Expressions with every kind of load the translation has to get right:
/// fixed, indexed behind the IPv4 header, computed offsets, arithmetic,
/// VLAN tags in the bytes, the length, and loads that run past short frames.
const SAMPLE: &[&str] = &[
    "ip",
    "tcp port 80 or udp port 53",
    "vlan and ip",
    "vlan 5 or ip6",
    "portrange 80-443",
    "ip[0] & 0xf > 5",
    "tcp[tcpflags] & (tcp-syn|tcp-ack) != 0",
    "tcp[((tcp[12:1] & 0xf0) >> 2):1] = 0",
    "ip[2:2] - ((ip[0] & 0xf) << 2) > 20",
    "ip[0] / ip[1] = 0",
    "len > 200 and not arp",
    "ether[60] = 0x2a",
    "ip6 net 2001:2::/48 and icmp6",
    "inbound and ether multicast",
    "not arp and not (ether[12:2] = 0x88b5)",
    "greater 80",
    // Issue 19 families.
    "mpls and ip",
    "pppoes and tcp port 80",
    "llc u or stp",
    "ipx or atalk",
    "decnet host 1.2 or l1",
    "ip broadcast or port domain",
    "protochain 6 or ip6 protochain 17",
    "geneve and ether host 02:00:00:00:00:01",
];

/// Frames that can be sent as they are: whole, Ethernet-sized, some with VLAN id 5.
/// Then every third frame of the MPLS, PPPoE and 802.2/DEC/AppleTalk families.
fn sendable() -> Vec<Frame> {
    let whole = |f: &&Frame| {
        f.data.len() as u32 == f.wire_len
            && (14..=1514).contains(&f.data.len())
            && (!(f.data[12..14] == [0x81, 0] || f.data[12..14] == [0x88, 0xa8]) || f.data.len() >= 18)
    };
    let all = packets(1500);
    let family =
        |f: &&Frame| matches!(f.what, "mpls" | "pppoe" | "legacy" | "vlan-bcast" | "ipv6-chain" | "ipv4-ah" | "geneve");
    // Every Geneve frame (few, and each case matters), every third other family frame.
    let families = all
        .iter()
        .filter(whole)
        .filter(family)
        .enumerate()
        .filter(|(i, f)| f.what == "geneve" || i % 3 == 0)
        .map(|(_, f)| f);
    let mut out: Vec<Frame> =
        all.iter().filter(whole).filter(|f| !family(f)).step_by(3).take(400).chain(families).cloned().collect();
    for f in out.iter_mut().filter(|f| f.data.len() >= 18 && f.data[12..14] == [0x81, 0]).step_by(2) {
        f.data[14..16].copy_from_slice(&5u16.to_be_bytes());
    }
    out
}

/// The frame as an AF_PACKET socket sees it after the stack took the outer tag out.
fn untagged(data: &[u8]) -> Vec<u8> {
    if data.len() >= 18 && (data[12..14] == [0x81, 0x00] || data[12..14] == [0x88, 0xa8]) {
        let mut v = data[..12].to_vec();
        v.extend_from_slice(&data[16..]);
        v
    } else {
        data.to_vec()
    }
}

/// Read `sock` and `cap` until `want` frames have arrived on each and 150
/// ms passed quietly (or 5 s in all).
fn drain(sock: &mut XdpSocket, cap: &mut Capture, want: (usize, usize)) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let (mut xdp, mut stack) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut quiet = None;
    while Instant::now() < deadline {
        let mut got = false;
        if let Some(b) = sock.next_batch() {
            xdp.extend(b.iter().map(|p| p.data().to_vec()));
            got = true;
        }
        if let Some(b) = cap.next_batch_blocking(Some(Duration::from_millis(5))).unwrap() {
            stack.extend(b.iter().map(|p| p.data().to_vec()));
            got = true;
        }
        if got || xdp.len() < want.0 || stack.len() < want.1 {
            quiet = None;
        } else if quiet.get_or_insert_with(Instant::now).elapsed() > Duration::from_millis(150) {
            break;
        }
    }
    (xdp, stack)
}

fn socket(l: &VethLink, e: &str) -> netring::Result<XdpSocket> {
    let e = e.to_owned();
    l.b.run(move |n| XdpSocket::builder().interface(n).mode(XdpMode::Rx).filter(e).build()).unwrap()
}

#[test]
fn the_xdp_program_passes_exactly_the_matching_frames() {
    let l = link();
    let frames = sendable();
    let tagged = frames.iter().filter(|f| f.data[12..14] == [0x81, 0]).count();
    assert!(frames.len() >= 300 && tagged >= 20, "{} frames, {tagged} tagged", frames.len());
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    let mut total = (0, 0);
    for e in SAMPLE {
        let program = expr::compile(e, u32::MAX).unwrap();
        let (want, rest): (Vec<&Frame>, Vec<&Frame>) =
            frames.iter().partition(|f| program.run(&f.data, &FilterMeta::for_frame(&f.data)) > 0);
        let mut sock = socket(&l, e).unwrap_or_else(|err| panic!("{e}: {err}"));
        let mut cap =
            l.b.run(|n| Capture::builder().interface(n).retire_timeout(Duration::from_millis(5)).build())
                .unwrap()
                .unwrap();
        for f in &frames {
            tx.send(&f.data).unwrap();
        }
        let (xdp, stack) = drain(&mut sock, &mut cap, (want.len(), rest.len()));
        let want: Vec<Vec<u8>> = want.iter().map(|f| f.data.clone()).collect();
        let rest: Vec<Vec<u8>> = rest.iter().map(|f| untagged(&f.data)).collect();
        assert_eq!(xdp.len(), want.len(), "{e}: AF_XDP got {} frames, the filter accepts {}", xdp.len(), want.len());
        assert_eq!(xdp, want, "{e}: AF_XDP frames differ");
        assert_eq!(stack.len(), rest.len(), "{e}: the stack got {} frames, {} were rejected", stack.len(), rest.len());
        assert_eq!(stack, rest, "{e}: frames passed to the stack differ");
        let s = sock.xdp_stats().unwrap();
        assert_eq!((s.drops(), s.skipped_descs), (0, 0), "{e}: {s}");
        total.0 += xdp.len();
        total.1 += stack.len();
    }
    assert!(total.0 > 1000 && total.1 > 1000, "the sample proves little: {total:?}");
}

#[test]
fn filters_xdp_cannot_run_are_refused_at_build() {
    let l = link();
    match socket(&l, "tcp port 80 or") {
        Err(Error::InvalidExpression { column, .. }) => assert_eq!(column, 15),
        other => panic!("{other:?}"),
    }
    let err =
        l.b.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Tx).filter("ip").build()).unwrap().unwrap_err();
    assert!(err.to_string().contains("needs the built-in XDP program"), "{err}");
}
