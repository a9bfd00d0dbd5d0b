//! Capture features over a real veth link: time stamp sources and the
//! hardware fallback, ring profiles, VLAN tag re-insertion, `any` (cooked)
//! capture on several interfaces, and opening captures inside a namespace
//! from outside it. Needs root.

mod common;

use std::time::Duration;

use common::{DST, ETHERTYPE, SRC, collect, frame, link, seq_of};
use netring::afpacket::{ANY_INTERFACE, RingProfile, Timestamping};
use netring::testkit::VethConfig;
use netring::{Capture, Error, LinkType, PacketStatus, RawSender, Timestamp, TimestampSource};

const WAIT: Duration = Duration::from_secs(5);

#[test]
fn software_stamps_are_marked_and_lie_between_send_and_receive() {
    let l = link();
    let mut cap =
        l.b.run(|n| Capture::builder().interface(n).timestamping(Timestamping::Software).build()).unwrap().unwrap();
    assert_eq!(cap.timestamping().source, TimestampSource::Software);
    assert_eq!(cap.timestamping().fallback, None);
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    let before = Timestamp::now();
    for i in 0..20 {
        tx.send(&frame(i, 64)).unwrap();
    }
    let after = Timestamp::now();
    let got = collect(&mut cap, 20, WAIT);
    assert_eq!(got.len(), 20);
    for p in &got {
        assert_eq!(p.meta.timestamp_source, TimestampSource::Software, "TP_STATUS_TS_SOFTWARE on every packet");
        assert!(p.timestamp() >= before && p.timestamp() <= after, "{} not in [{before}, {after}]", p.timestamp());
    }
}

#[test]
fn hardware_stamps_on_veth_fall_back_to_software_and_say_why() {
    let l = link();
    netring::testkit::require_tool("ethtool");
    // The oracle: ethtool -T shows veth has no PTP hardware clock.
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", l.b.ns.name(), "ethtool", "-T", &l.b.name])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PTP Hardware Clock: none"), "{text}");

    let mut cap =
        l.b.run(|n| Capture::builder().interface(n).timestamping(Timestamping::Hardware).build()).unwrap().unwrap();
    let info = cap.timestamping().clone();
    assert_eq!(info.requested, Timestamping::Hardware);
    assert_eq!(info.source, TimestampSource::Software, "fell back");
    let why = info.fallback.expect("a reason");
    assert!(why.contains(&l.b.name) && why.contains("no hardware clock") && why.contains("phc_index -1"), "{why}");
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    tx.send(&frame(1, 64)).unwrap();
    let got = collect(&mut cap, 1, WAIT);
    assert_eq!(got[0].meta.timestamp_source, TimestampSource::Software, "the packet says which clock stamped it");

    // Asked for hardware or nothing: a clear error instead.
    match l.b.run(|n| Capture::builder().interface(n).timestamping(Timestamping::HardwareOnly).build()).unwrap() {
        Err(e @ Error::Unsupported { .. }) => assert!(e.to_string().contains("hardware time stamps"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_ring_profile_builds_and_captures() {
    let l = link();
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    for (i, p) in RingProfile::ALL.into_iter().enumerate() {
        let mut cap = l.b.run(|n| Capture::builder().interface(n).profile(p).build()).unwrap().unwrap();
        let g = p.geometry();
        assert_eq!(
            (cap.block_size(), cap.block_count(), cap.retire_timeout()),
            (g.block_size, g.block_count, g.retire_timeout),
            "{p}"
        );
        let f = frame(i as u64, 1500);
        tx.send(&f).unwrap();
        let got = collect(&mut cap, 1, WAIT);
        assert_eq!(got.len(), 1, "{p}");
        assert_eq!(got[0].data(), &f[..], "{p}");
    }
}

/// A frame with an 802.1Q/802.1AD tag: dst, src, TPID, TCI, then a numbered
/// frame's EtherType and payload.
fn tagged(seq: u64, len: usize, tpid: u16, tci: u16) -> Vec<u8> {
    let inner = frame(seq, len);
    let mut f = inner[..12].to_vec();
    f.extend_from_slice(&tpid.to_be_bytes());
    f.extend_from_slice(&tci.to_be_bytes());
    f.extend_from_slice(&inner[12..]);
    f
}

#[test]
fn vlan_tags_stripped_by_the_kernel_come_back_byte_exact() {
    let l = link();
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    let mut plain = l.b.run(|n| Capture::builder().interface(n).build()).unwrap().unwrap();
    let mut retag = l.b.run(|n| Capture::builder().interface(n).reinsert_vlan(true).build()).unwrap().unwrap();
    assert!(retag.reinserts_vlan());
    let sent: Vec<Vec<u8>> = (0..30u64)
        .map(|i| match i % 3 {
            0 => tagged(i, 100 + i as usize, 0x8100, 0x2000 | i as u16),
            1 => tagged(i, 200, 0x88a8, 0xe000 | 7),
            _ => frame(i, 90),
        })
        .collect();
    for f in &sent {
        tx.send(f).unwrap();
    }
    // Without re-insertion: the kernel's view, tag in the metadata only.
    let mut got = Vec::new();
    while got.len() < 30 {
        let b = plain.next_batch_blocking(Some(WAIT)).unwrap().expect("frames");
        got.extend(b.iter().map(|p| p.to_owned()));
    }
    for (i, p) in got.iter().enumerate() {
        let untagged = frame(
            i as u64,
            if i % 3 == 0 {
                100 + i
            } else if i % 3 == 1 {
                200
            } else {
                90
            },
        );
        assert_eq!(p.data(), &untagged[..], "frame {i} arrives untagged");
        match i % 3 {
            0 => assert_eq!((p.meta.vlan_tci, p.meta.vlan_tpid), (Some(0x2000 | i as u16), Some(0x8100))),
            1 => assert_eq!((p.meta.vlan_tci, p.meta.vlan_tpid), (Some(0xe007), Some(0x88a8))),
            _ => assert_eq!(p.meta.vlan_tci, None),
        }
    }
    // With re-insertion: byte for byte what was sent, tag included.
    let mut got = Vec::new();
    while got.len() < 30 {
        let b = retag.next_batch_blocking(Some(WAIT)).unwrap().expect("frames");
        got.extend(b.iter().map(|p| p.to_owned()));
    }
    for (i, (p, f)) in got.iter().zip(&sent).enumerate() {
        assert_eq!(p.data(), &f[..], "frame {i} with its tag back");
        assert_eq!(p.original_len(), f.len());
        assert!(!p.meta.status.contains(PacketStatus::TRUNCATED));
        assert_eq!(p.meta.status.contains(PacketStatus::VLAN_REINSERTED), i % 3 != 2);
    }
    // The flat iterator does the same.
    for f in &sent[..3] {
        tx.send(f).unwrap();
    }
    let mut it = retag.packets();
    for f in &sent[..3] {
        let p = it.next_packet_blocking(Some(WAIT)).unwrap().expect("packet");
        assert_eq!(p.data(), &f[..]);
    }
}

#[test]
fn any_sees_both_links_with_their_ifindex_in_cooked_form() {
    // Two veth pairs between the same two namespaces: b has two interfaces.
    let l1 = link();
    let l2 = VethConfig::default().create_between(&l1.a.ns, &l1.b.ns).unwrap();
    let mut cap = l1.b.run(|_| Capture::builder().interface(ANY_INTERFACE).build()).unwrap().unwrap();
    assert_eq!(cap.link_type(), LinkType::LinuxSll2);
    assert_eq!((cap.interface(), cap.ifindex()), ("any", 0));
    assert_eq!(cap.interface_name(l2.b.ifindex).unwrap(), l2.b.name, "named in the capture's namespace");
    let tx1 = l1.a.run(RawSender::open).unwrap().unwrap();
    let tx2 = l2.a.run(RawSender::open).unwrap().unwrap();
    let sent: Vec<Vec<u8>> = (0..20u64).map(|i| frame(i, 80 + i as usize)).collect();
    for (i, f) in sent.iter().enumerate() {
        if i % 2 == 0 { tx1.send(f) } else { tx2.send(f) }.unwrap();
    }
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + WAIT;
    while got.len() < 20 && std::time::Instant::now() < deadline {
        if let Some(b) = cap.next_batch_blocking(Some(Duration::from_millis(200))).unwrap() {
            got.extend(b.iter().filter(|p| p.protocol() == ETHERTYPE).map(|p| p.to_owned()));
        }
    }
    assert_eq!(got.len(), 20, "every frame, from both links");
    for p in &got {
        // Cooked: the packet starts after the link-layer header.
        let seq = u64::from_be_bytes(p.data()[..8].try_into().unwrap());
        let f = &sent[seq as usize];
        assert_eq!(p.data(), &f[14..], "frame {seq} from its network header on");
        assert_eq!(p.original_len(), f.len() - 14);
        let want = if seq % 2 == 0 { l1.b.ifindex } else { l2.b.ifindex };
        assert_eq!(p.meta.ifindex, want, "frame {seq} on the right interface");
        assert_eq!(p.meta.hatype, 1, "ARPHRD_ETHER");
        assert_eq!(p.meta.source.as_bytes(), &SRC);
        let h = p.as_packet().sll2_header();
        assert_eq!(&h[0..4], &[0x88, 0xb5, 0, 0], "protocol, reserved");
        assert_eq!(&h[4..8], &want.to_be_bytes(), "interface index");
        assert_eq!(&h[8..12], &[0, 1, 3, 6], "ARPHRD_ETHER, other host (to {DST:02x?}), 6-byte address");
        assert_eq!(&h[12..18], &SRC);
    }
    let seqs: Vec<u64> = got.iter().map(|p| u64::from_be_bytes(p.data()[..8].try_into().unwrap())).collect();
    assert!(seq_of(&sent[0]).is_some() && seqs.iter().all(|s| *s < 20));
}

#[test]
fn netns_builders_open_sockets_inside_a_namespace_from_outside_it() {
    let l = link();
    // This thread stays in the test's namespace; the interface exists only in b's.
    assert!(matches!(netring::interface::index(&l.b.name), Err(Error::InterfaceNotFound { .. })));
    let mut cap = Capture::builder().interface(&l.b.name).netns(l.b.ns.name()).build().unwrap();
    assert_eq!(cap.ifindex(), l.b.ifindex);
    let mut inj = netring::Injector::builder().interface(&l.a.name).netns(l.a.ns.name()).build().unwrap();
    let f = frame(5, 300);
    let mut slot = inj.allocate(f.len()).unwrap().expect("a free slot");
    slot.copy_from_slice(&f);
    slot.send();
    inj.flush().unwrap();
    let got = collect(&mut cap, 1, WAIT);
    assert_eq!(got[0].data(), &f[..]);
    // A path works too, and a missing namespace is named.
    let path = format!("/run/netns/{}", l.b.ns.name());
    assert!(Capture::builder().interface(&l.b.name).netns(path).build().is_ok());
    match Capture::builder().interface("lo").netns("nrt-no-such-ns").build() {
        Err(e @ Error::InvalidConfig { .. }) => assert!(e.to_string().contains("no such network namespace"), "{e}"),
        other => panic!("{other:?}"),
    }
}
