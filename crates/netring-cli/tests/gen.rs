//! `netring gen` frame contents over real veth links: the `seq` and `zero`
//! payloads byte for byte after the slots wrapped many laps, on every
//! transmit method; IPv4/UDP flows with valid checksums, the exact 5-tuple
//! set, and an AF_PACKET fanout (hash) group that spreads them. Needs root
//! and `ip`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use common::{json_of, netring_in};
use netring::afpacket::{Fanout, FanoutMode};
use netring::testkit::{End, SeqFrames, VethConfig, VethLink, require_tool};
use netring::{Capture, OwnedPacket};

const WAIT: Duration = Duration::from_secs(10);

fn veth(queues: u32) -> VethLink {
    common::require_root();
    require_tool("ip");
    VethConfig::default().queues(queues).create().expect("veth link")
}

fn receiver(end: &End) -> Capture {
    end.run(|n| Capture::builder().interface(n).block_count(64).ignore_outgoing(true).build()).unwrap().unwrap()
}

/// Run `gen ARGS` on end a; its JSON.
fn run_gen(l: &VethLink, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["gen", "-i", &l.a.name, "-q", "--json"];
    all.extend(args);
    let out = netring_in(&l.a, &all).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    json_of(&out)
}

/// Frame `seq` of `len` bytes with payload `payload`, from `SeqFrames`
/// alone: `seq` is frame 0 of the pattern with the number replaced; `zero`
/// is the header and number, then zeros.
fn expected(payload: &str, seq: u64, len: usize) -> Vec<u8> {
    let g = SeqFrames::default();
    let mut v = match payload {
        "seq" => g.build(0, len),
        "zero" => {
            let mut v = vec![0; len];
            v[..14].copy_from_slice(&g.build(0, len)[..14]);
            v
        }
        _ => unreachable!(),
    };
    v[14..22].copy_from_slice(&seq.to_be_bytes());
    v
}

#[test]
fn seq_and_zero_payloads_are_exact_after_many_laps_on_every_method() {
    let l = veth(1);
    const N: u64 = 600;
    let g = SeqFrames::default();
    // 16 ring slots: 37 laps; 64 sendmmsg buffers: 9 laps; the UMEM's
    // frames come back from completions and are reused at once.
    for method in [&["--ring-frames", "16"][..], &["--tx-method", "sendmmsg"], &["--backend", "xdp"]] {
        for payload in ["seq", "zero"] {
            for size in ["1514", "60"] {
                let mut cap = receiver(&l.b);
                let mut args = vec!["-c", "600", "-s", size, "--payload", payload];
                args.extend(method);
                let v = run_gen(&l, &args);
                let len: usize = size.parse().unwrap();
                assert_eq!((v["packets"].as_u64(), v["rejected"].as_u64()), (Some(N), Some(0)), "{args:?}");
                let got = netring::testkit::collect(&mut cap, N as usize, WAIT, |d| g.seq(d).is_some()).unwrap();
                assert_eq!(got.len() as u64, N, "{args:?}");
                for (i, p) in got.iter().enumerate() {
                    assert_eq!(p.data(), &expected(payload, i as u64, len)[..], "{args:?}: frame {i}");
                }
            }
        }
    }
}

/// The RFC 1071 sum of `b` folded, computed here without the generator's code.
fn ones_complement(b: &[u8]) -> u16 {
    let mut s: u64 = b.chunks(2).map(|c| u64::from(c[0]) << 8 | u64::from(*c.get(1).unwrap_or(&0))).sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

type Tuple = (Ipv4Addr, Ipv4Addr, u16, u16);

/// Check an IPv4/UDP frame of `gen --flows`: both checksums verify, the
/// lengths match the frame; returns its 5-tuple and sequence number.
fn check_udp(d: &[u8]) -> (Tuple, u64) {
    assert_eq!(&d[12..14], &[0x08, 0x00], "IPv4");
    assert_eq!((d[14], d[23]), (0x45, 17), "IPv4 without options, UDP");
    assert_eq!(usize::from(u16::from_be_bytes([d[16], d[17]])), d.len() - 14, "IPv4 total length");
    assert_eq!(usize::from(u16::from_be_bytes([d[38], d[39]])), d.len() - 34, "UDP length");
    assert_eq!(ones_complement(&d[14..34]), 0xffff, "IPv4 header checksum");
    let mut pseudo = d[26..34].to_vec();
    pseudo.extend([0, 17]);
    pseudo.extend(((d.len() - 34) as u16).to_be_bytes());
    pseudo.extend(&d[34..]);
    assert_ne!(&d[40..42], &[0, 0], "a UDP checksum is present");
    assert_eq!(ones_complement(&pseudo), 0xffff, "UDP checksum");
    let ip = |o: usize| Ipv4Addr::new(d[o], d[o + 1], d[o + 2], d[o + 3]);
    let port = |o: usize| u16::from_be_bytes([d[o], d[o + 1]]);
    ((ip(26), ip(30), port(34), port(36)), u64::from_be_bytes(d[42..50].try_into().unwrap()))
}

fn is_udp(d: &[u8]) -> bool {
    d.len() >= 50 && d[12..14] == [0x08, 0x00] && d[23] == 17
}

#[test]
fn flows_carry_valid_checksums_the_exact_tuples_and_spread_over_a_fanout_group() {
    let l = veth(1);
    // 3 sources × 4 destination ports = 12 flows; 1200 frames, 100 each.
    let members: Vec<Capture> = (0..3)
        .map(|_| {
            l.b.run(|n| {
                Capture::builder()
                    .interface(n)
                    .block_count(32)
                    .ignore_outgoing(true)
                    .fanout(Fanout::new(0x6a16, FanoutMode::Hash))
                    .build()
            })
            .unwrap()
            .unwrap()
        })
        .collect();
    let mut members = members;
    for (size, payload) in [("60", "seq"), ("1514", "pattern"), ("333", "zero")] {
        let args = [
            "-c",
            "1200",
            "-s",
            size,
            "--payload",
            payload,
            "--flows",
            "12",
            "--src-ip",
            "198.18.0.1-198.18.0.3",
            "--dst-port",
            "1000-1003",
        ];
        let v = run_gen(&l, &args);
        assert_eq!(v["packets"].as_u64(), Some(1200), "{args:?}");
        let mut per_member: Vec<Vec<OwnedPacket>> = Vec::new();
        let mut total = 0;
        for m in &mut members {
            let got = netring::testkit::collect(m, 1200, Duration::from_millis(1500), is_udp).unwrap();
            total += got.len();
            per_member.push(got);
        }
        assert_eq!(total, 1200, "{args:?}: every frame reached exactly one member");
        let mut owner: BTreeMap<Tuple, usize> = BTreeMap::new();
        let mut seqs = BTreeSet::new();
        for (m, got) in per_member.iter().enumerate() {
            for p in got {
                let d = p.data();
                assert_eq!(d.len(), size.parse::<usize>().unwrap());
                let (t, seq) = check_udp(d);
                assert!(seqs.insert(seq), "frame {seq} twice");
                assert_eq!(*owner.entry(t).or_insert(m), m, "{args:?}: flow {t:?} split between members");
                if payload == "pattern" {
                    assert_eq!(
                        &d[50..],
                        &SeqFrames::default().build(seq, d.len() - 28)[22..],
                        "pattern bytes of {seq}"
                    );
                } else if payload == "zero" {
                    assert!(d[50..].iter().all(|&b| b == 0), "zero filler of {seq}");
                } else {
                    assert_eq!(&d[50..], &SeqFrames::default().build(0, d.len() - 28)[22..], "seq filler of {seq}");
                }
            }
        }
        assert_eq!(seqs, (0..1200).collect::<BTreeSet<u64>>());
        let want: BTreeSet<Tuple> = (1..=3)
            .flat_map(|s| {
                (1000..=1003).map(move |dp| (Ipv4Addr::new(198, 18, 0, s), Ipv4Addr::new(198, 19, 0, 1), 1024, dp))
            })
            .collect();
        assert_eq!(owner.keys().copied().collect::<BTreeSet<_>>(), want, "{args:?}: the 12 flows, no other");
        let used: BTreeSet<usize> = owner.values().copied().collect();
        assert!(used.len() >= 2, "{args:?}: the hash spread 12 flows over {} of 3 members", used.len());
    }
}

#[test]
fn flow_options_are_checked() {
    let l = veth(1);
    for (args, want) in [
        (&["--src-ip", "10.0.0.1"][..], "10.0.0.1 is outside 198.18.0.0/15"),
        (&["--dst-ip", "198.18.0.1-198.20.0.1"], "198.20.0.1 is outside 198.18.0.0/15"),
        (
            &["--flows", "5", "--src-port", "7", "--dst-port", "9"],
            "invalid flows = 5: the address and port ranges hold only 1 distinct",
        ),
        (&["--flows", "0"], "invalid flows = 0: must be 1..="),
        (&["--dst-port", "9-8"], "9-8 is empty"),
    ] {
        let mut all = vec!["gen", "-i", &l.a.name, "-c", "1"];
        all.extend(args);
        let out = netring_in(&l.a, &all).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // One flow by default: the raw frames of old, unless an address is given.
    let mut cap = receiver(&l.b);
    run_gen(&l, &["-c", "1", "--dst-ip", "198.19.0.7"]);
    let got = netring::testkit::collect(&mut cap, 1, WAIT, is_udp).unwrap();
    assert_eq!(check_udp(got[0].data()).0, (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 19, 0, 7), 1024, 9));
}
