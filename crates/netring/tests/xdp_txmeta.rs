//! AF_XDP TX metadata (issue 18) over a real veth link in private
//! namespaces, copy mode (veth has no zero-copy): checksum offload requests
//! reach the stack as `CHECKSUM_PARTIAL` frames, transmit timestamps come
//! back with their tokens inside the run's window, launch-time requests
//! send; and the refusals (no `tx_metadata`, a checksum outside the
//! frame). Needs root; fails with a message naming what is missing
//! otherwise.

mod common;

use std::time::Duration;

use common::{frame, seq_of, udp_flow_seq, udp_frame};
use netring::testkit::{VethConfig, VethLink};
use netring::{Capture, Error, PacketDirection, PacketSink, PacketStatus, Timestamp, XdpMode, XdpSocket};

const WAIT: Duration = Duration::from_secs(5);

fn link() -> VethLink {
    common::require_root();
    VethConfig::default().queues(1).create().expect("create veth link")
}

fn tx_socket(l: &VethLink, meta: bool) -> XdpSocket {
    l.a.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Tx).tx_metadata(meta).build()).unwrap().unwrap()
}

/// Queue `f` through a zero-copy slot after `ask` made its requests.
fn send_with(sock: &mut XdpSocket, f: &[u8], ask: impl FnOnce(&mut netring::afxdp::XdpTxSlot<'_>)) {
    let mut slot = sock.allocate(f.len()).unwrap().expect("a free slot");
    slot.copy_from_slice(f);
    ask(&mut slot);
    slot.send();
}

#[test]
fn checksum_requests_leave_as_partial_checksums_and_timestamps_come_back() {
    let l = link();
    let mut sock = tx_socket(&l, true);
    assert!(sock.tx_metadata());
    // AF_XDP sends bypass the sender's taps: the receiving end sees how
    // the kernel built each skb (veth passes CHECKSUM_PARTIAL on).
    let mut tap = l.b.run(|n| Capture::builder().interface(n).build()).unwrap().unwrap();
    let before = Timestamp::now();
    for i in 0..6u64 {
        let f = udp_frame(1, i, 80);
        send_with(&mut sock, &f, |s| {
            if i % 2 == 0 {
                s.request_checksum(34, 6).unwrap();
            }
            if i % 3 == 0 {
                s.request_timestamp(100 + i).unwrap();
            }
        });
    }
    assert!(sock.wait_drained(Some(WAIT)).unwrap());
    let after = Timestamp::now();
    let seen = common::collect_udp(&mut tap, 6, WAIT);
    assert_eq!(seen.len(), 6);
    for p in &seen {
        let (_, i) = udp_flow_seq(&p.data).unwrap();
        assert_ne!(p.meta.direction, PacketDirection::Outgoing);
        assert_eq!(p.data, udp_frame(1, i, 80), "frame {i} byte for byte, without the metadata");
        assert_eq!(
            p.meta.status.contains(PacketStatus::CSUM_NOT_READY),
            i % 2 == 0,
            "frame {i}: checksum offload asked for exactly on the even frames"
        );
    }
    let stamps = sock.tx_timestamps();
    assert_eq!(stamps.iter().map(|&(t, _)| t).collect::<Vec<_>>(), [100, 103], "the tokens, in order");
    for &(_, ts) in &stamps {
        assert!(ts >= before && ts <= after, "{ts} outside {before}..{after}");
    }
    assert!(stamps[1].1 > stamps[0].1);
    assert!(sock.tx_timestamps().is_empty(), "taken out");
}

#[test]
fn a_launch_time_request_is_sent() {
    let l = link();
    let mut sock = tx_socket(&l, true);
    let mut cap = l.b.run(|n| Capture::builder().interface(n).build()).unwrap().unwrap();
    // No fq/etf qdisc on veth: the departure time is carried, not waited for.
    let tai_now = Timestamp::now().as_nanos() + 37_000_000_000;
    send_with(&mut sock, &frame(1, 64), |s| s.request_launch_time(tai_now).unwrap());
    assert!(sock.wait_drained(Some(WAIT)).unwrap());
    let got = common::collect(&mut cap, 1, WAIT);
    assert_eq!(got.iter().map(|p| seq_of(&p.data)).collect::<Vec<_>>(), [Some(1)]);
    assert_eq!(got[0].data, frame(1, 64));
}

#[test]
fn requests_are_refused_with_what_is_missing() {
    common::require_root();
    // An MTU above the UMEM frame, so that the frame is the limit.
    let l = VethConfig::default().queues(1).mtu(3000).create().expect("veth");
    let mut plain = tx_socket(&l, false);
    assert!(!plain.tx_metadata());
    let mut slot = plain.allocate(64).unwrap().unwrap();
    for e in [slot.request_checksum(34, 6), slot.request_timestamp(1), slot.request_launch_time(1)] {
        match e {
            Err(e @ Error::Unsupported { feature: "AF_XDP TX metadata", .. }) => assert!(
                e.to_string().contains("built without XdpSocketBuilder::tx_metadata(true) (which needs Linux 6.8)"),
                "{e}"
            ),
            other => panic!("{other:?}"),
        }
    }
    drop(slot);
    let max_plain = plain.max_frame_len();
    drop(plain);
    let mut sock = tx_socket(&l, true);
    let mut slot = sock.allocate(64).unwrap().unwrap();
    match slot.request_checksum(60, 4) {
        Err(e @ Error::InvalidConfig { .. }) => assert_eq!(
            e.to_string(),
            "invalid checksum offload = start 60 + offset 4: the 2-byte checksum must lie inside the 64-byte frame"
        ),
        other => panic!("{other:?}"),
    }
    drop(slot);
    // The metadata area comes out of the frame: 24 bytes less to send.
    assert_eq!(max_plain, 2048);
    assert_eq!(sock.max_frame_len(), 2048 - 24);
}
