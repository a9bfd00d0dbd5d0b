//! `--backend xdp` on the transmit verbs (`gen`, `replay`) and
//! `capture --backend xdp --queue all`, over real veth links: frames
//! arrive byte for byte at the far end, JSON counts are exact. Needs root
//! and `ip`.

mod common;

use std::io::BufRead;
use std::process::Stdio;
use std::time::Duration;

use common::{finish, json_of, netring_in, require_root, scratch};
use netring::pcap::PcapWriter;
use netring::testkit::{End, SeqFrames, VethConfig, VethLink};
use netring::{Capture, OwnedPacket, Timestamp, XdpMode, XdpSocket};

const WAIT: Duration = Duration::from_secs(10);

fn veth(queues: u32) -> VethLink {
    require_root();
    netring::testkit::require_tool("ip");
    VethConfig::default().queues(queues).create().expect("veth link")
}

/// An AF_PACKET capture on `end` that ignores what `end` sends.
fn receiver(end: &End) -> Capture {
    end.run(|n| Capture::builder().interface(n).block_count(64).ignore_outgoing(true).build()).unwrap().unwrap()
}

fn collect(cap: &mut Capture, g: &SeqFrames, want: usize) -> Vec<OwnedPacket> {
    netring::testkit::collect(cap, want, WAIT, |d| g.seq(d).is_some()).unwrap()
}

#[test]
fn gen_through_af_xdp_arrives_byte_exact_with_exact_json() {
    let l = veth(2);
    let g = SeqFrames::default();
    for queue in ["0", "1"] {
        let mut cap = receiver(&l.b);
        let args = [
            "gen",
            "-i",
            &l.a.name,
            "--backend",
            "xdp",
            "--queue",
            queue,
            "-c",
            "3000",
            "-s",
            "200",
            "--payload",
            "pattern",
            "--json",
        ];
        let out = netring_in(&l.a, &args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v = json_of(&out);
        assert_eq!(
            (v["packets"].as_u64(), v["bytes"].as_u64(), v["rejected"].as_u64()),
            (Some(3000), Some(600_000), Some(0)),
            "queue {queue}: {v}"
        );
        let got = collect(&mut cap, &g, 3000);
        assert_eq!(got.len(), 3000, "queue {queue}");
        for (i, p) in got.iter().enumerate() {
            assert_eq!(g.verify(p.data()), Some(i as u64), "frame {i} numbered and intact");
            assert_eq!(p.data().len(), 200);
        }
        assert_eq!(cap.stats().unwrap().packets, 3000, "and nothing else");
    }
}

#[test]
fn gen_through_af_xdp_refuses_what_does_not_apply_in_one_line() {
    let l = veth(1);
    for (args, want) in [
        (
            vec!["--qdisc-bypass"],
            "invalid --qdisc-bypass = with --backend xdp: applies to AF_PACKET only (AF_XDP bypasses the qdisc anyway)",
        ),
        (
            vec!["--ring-frames", "16"],
            "invalid --ring-frames = with --backend xdp: applies to the AF_PACKET TX ring only",
        ),
        (vec!["-s", "1515"], "invalid size = 1515: must be 60..=1514"),
        (vec!["--queue", "7"], "invalid queue = 7"),
    ] {
        let mut cmd = vec!["gen", "-i", &l.a.name, "--backend", "xdp", "-c", "1"];
        cmd.extend(&args);
        let out = netring_in(&l.a, &cmd).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn replay_through_af_xdp_puts_the_file_on_the_wire_byte_exact() {
    let l = veth(1);
    let g = SeqFrames::default();
    const N: u64 = 700;
    let frames: Vec<_> = (0..N).map(|i| g.build(i, 60 + (i as usize * 71) % 1455)).collect();
    let file = scratch("xdp-replay.pcap");
    let mut w = PcapWriter::create(&file, 65535).unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.write(Timestamp::from_nanos(1_700_000_000_000_000_000 + i as u64 * 1000), f.len() as u32, f).unwrap();
    }
    w.into_inner().unwrap();
    let mut cap = receiver(&l.b);
    let out = netring_in(
        &l.a,
        &["replay", "-i", &l.a.name, file.to_str().unwrap(), "--backend", "xdp", "--topspeed", "--json"],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    let bytes: u64 = frames.iter().map(|f| f.len() as u64).sum();
    assert_eq!((v["packets"].as_u64(), v["bytes"].as_u64(), v["rejected"].as_u64()), (Some(N), Some(bytes), Some(0)));
    let got = collect(&mut cap, &g, N as usize);
    assert_eq!(got.len() as u64, N);
    for (i, (p, f)) in got.iter().zip(&frames).enumerate() {
        assert_eq!(p.data(), &f[..], "replayed frame {i} byte for byte");
    }
    std::fs::remove_file(file).unwrap();
}

#[test]
fn capture_every_queue_of_a_four_queue_link_through_af_xdp() {
    const Q: u64 = 4;
    const N: u64 = 250;
    let l = veth(Q as u32);
    let mut child = netring_in(
        &l.b,
        &["capture", "-i", &l.b.name, "--backend", "xdp", "--queue", "all", "-c", "1000", "-q", "--json"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stderr.as_mut().unwrap()).read_line(&mut first).unwrap();
    assert!(first.contains("listening on") && first.contains("queues 0..3"), "{first}");
    // An AF_XDP TX socket on every queue of the peer: the receiving veth
    // takes the RX queue from the TX queue.
    let mut tx = l.a.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Tx).build_all_queues()).unwrap().unwrap();
    let g = SeqFrames::default();
    for (q, sock) in tx.iter_mut().enumerate() {
        for i in 0..N {
            assert!(sock.send(&g.build(q as u64 * 1000 + i, 100)).unwrap());
        }
        assert!(sock.wait_drained(Some(WAIT)).unwrap());
    }
    let out = finish(child, WAIT);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    assert_eq!(
        (v["packets"].as_u64(), v["bytes"].as_u64(), v["drops"].as_u64()),
        (Some(Q * N), Some(Q * N * 100), Some(0)),
        "{v}"
    );
}

/// `--netns NS` with `--backend xdp --queue all`, started from the root
/// namespace: every queue's socket is made inside NS (the interface is
/// looked up, and its queues counted, there), and the counts are exact.
#[test]
fn capture_every_queue_through_af_xdp_in_a_namespace_from_the_root_one() {
    const Q: u64 = 2;
    const N: u64 = 150;
    let l = veth(Q as u32);
    assert!(netring::interface::link_info(&l.b.name).is_err(), "the far end is not in the root namespace");
    let mut child = std::process::Command::new(common::BIN)
        .args(["capture", "--backend", "xdp", "--queue", "all", "--netns", l.b.ns.name(), "-i", &l.b.name])
        .args(["-c", &(Q * N).to_string(), "-q", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stderr.as_mut().unwrap()).read_line(&mut first).unwrap();
    assert!(first.contains("listening on") && first.contains("queues 0..1"), "{first}");
    let mut tx = l.a.run(|n| XdpSocket::builder().interface(n).mode(XdpMode::Tx).build_all_queues()).unwrap().unwrap();
    assert_eq!(tx.len() as u64, Q);
    let g = SeqFrames::default();
    for (q, sock) in tx.iter_mut().enumerate() {
        for i in 0..N {
            assert!(sock.send(&g.build(q as u64 * 1000 + i, 100)).unwrap());
        }
        assert!(sock.wait_drained(Some(WAIT)).unwrap());
    }
    let out = finish(child, WAIT);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    assert_eq!(
        (v["packets"].as_u64(), v["bytes"].as_u64(), v["drops"].as_u64()),
        (Some(Q * N), Some(Q * N * 100), Some(0)),
        "{v}"
    );
}

/// A default veth uses 1 of the 2 queues it has (`ethtool -l`): `--queue
/// all` binds that one and counts exactly; a queue beyond it is named as
/// inactive, in one line, on every verb.
#[test]
fn every_queue_of_a_default_veth_is_its_active_one_and_others_are_named_inactive() {
    const N: u64 = 200;
    require_root();
    let l = VethConfig::default().create().expect("veth link");
    let mut child = netring_in(
        &l.b,
        &["capture", "-i", &l.b.name, "--backend", "xdp", "--queue", "all", "-c", "200", "-q", "--json"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stderr.as_mut().unwrap()).read_line(&mut first).unwrap();
    assert!(first.contains("listening on") && first.contains("queue 0 (the only active one)"), "{first}");
    let tx = l.a.run(netring::RawSender::open).unwrap().unwrap();
    let g = SeqFrames::default();
    for i in 0..N {
        tx.send(&g.build(i, 100)).unwrap();
    }
    let out = finish(child, WAIT);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    assert_eq!((v["packets"].as_u64(), v["bytes"].as_u64(), v["drops"].as_u64()), (Some(N), Some(N * 100), Some(0)));
    for q in ["1", "5"] {
        for verb in [&["capture", "-c", "1"][..], &["gen", "-c", "1"]] {
            let mut args = verb.to_vec();
            args.extend(["-i", &l.b.name, "--backend", "xdp", "--queue", q]);
            let out = netring_in(&l.b, &args).output().unwrap();
            assert!(!out.status.success(), "{args:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            let want = format!(
                "netring: invalid queue = {q}: is not active: {:?} has 1 active queue (queue 0; 2 possible: ethtool -L \
                 raises the count)\n",
                l.b.name
            );
            assert_eq!(err, want, "{args:?}");
        }
    }
}

#[test]
fn af_xdp_on_any_is_refused_as_not_supported_in_one_line() {
    let l = veth(1);
    for args in [&["capture", "-c", "1"][..], &["gen", "-c", "1"]] {
        let mut args = args.to_vec();
        args.extend(["-i", "any", "--backend", "xdp"]);
        let out = netring_in(&l.b, &args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err,
            "netring: invalid interface = any: is not supported by AF_XDP: a socket binds to one queue of one \
             interface (AF_PACKET captures on any)\n",
            "{args:?}"
        );
    }
}

/// The kernel raises no event on an AF_XDP socket whose interface is
/// deleted (or goes down); the capture notices by itself and ends with one
/// line naming the interface, its counts reported.
#[test]
fn an_af_xdp_capture_ends_soon_after_its_interface_is_deleted() {
    let l = veth(1);
    let mut child = netring_in(&l.b, &["capture", "-i", &l.b.name, "--backend", "xdp", "-q", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    assert!(first.contains("listening on"), "{first}");
    let rest = std::thread::spawn(move || std::io::read_to_string(err).unwrap());
    std::thread::sleep(Duration::from_millis(300));
    let deleted = std::time::Instant::now();
    l.a.delete().unwrap();
    let out = finish(child, Duration::from_secs(5));
    let took = deleted.elapsed();
    let rest = rest.join().unwrap();
    assert!(!out.status.success(), "{rest}");
    assert!(took < Duration::from_secs(1), "ended {took:?} after the deletion");
    // Deleting an interface that is up takes it down first: the capture may
    // end on either step, as an AF_PACKET capture does.
    let errors: Vec<&str> = rest.lines().filter(|l| l.starts_with("netring: interface")).collect();
    let name = &l.b.name;
    assert!(
        errors == [format!("netring: interface {name:?} was deleted")]
            || errors == [format!("netring: interface {name:?} went down")],
        "{rest}"
    );
    assert_eq!(json_of(&out)["packets"].as_u64(), Some(0), "the summary still comes");
}

#[test]
fn gen_through_af_xdp_on_a_downed_interface_says_it_is_down() {
    let l = veth(1);
    l.a.set_down().unwrap();
    let out = netring_in(&l.a, &["gen", "-i", &l.a.name, "--backend", "xdp", "-c", "10"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().last(), Some(format!("netring: interface {:?} went down", l.a.name).as_str()), "{err}");
}

/// Records of 0, 5 and 13 bytes are shorter than an Ethernet header: both
/// paths skip them, count them as rejected, and send the rest; the JSON
/// is the same on both.
#[test]
fn replay_rejects_records_shorter_than_an_ethernet_header_alike_on_both_paths() {
    let l = veth(1);
    let g = SeqFrames::default();
    let lens = [60, 0, 5, 13, 14, 60];
    let frames: Vec<Vec<u8>> = lens.iter().enumerate().map(|(i, &n)| g.build(i as u64, 60)[..n].to_vec()).collect();
    let file = scratch("xdp-short.pcap");
    let mut w = PcapWriter::create(&file, 65535).unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.write(Timestamp::from_nanos(1_700_000_000_000_000_000 + i as u64 * 1000), f.len() as u32, f).unwrap();
    }
    w.into_inner().unwrap();
    let mut json = Vec::new();
    for backend in ["packet", "xdp"] {
        let mut cap = receiver(&l.b);
        let args = ["replay", "-i", &l.a.name, file.to_str().unwrap(), "--backend", backend, "--topspeed", "--json"];
        let out = netring_in(&l.a, &args).output().unwrap();
        assert!(out.status.success(), "{backend}: {}", String::from_utf8_lossy(&out.stderr));
        let v = json_of(&out);
        json.push((v["packets"].as_u64(), v["bytes"].as_u64(), v["rejected"].as_u64()));
        let got =
            netring::testkit::collect(&mut cap, 4, Duration::from_millis(500), |d| d.len() >= 12 && d[6..12] == g.src)
                .unwrap();
        let got: Vec<&[u8]> = got.iter().map(|p| p.data()).collect();
        assert_eq!(got, [&frames[0][..], &frames[4][..], &frames[5][..]], "{backend}");
    }
    assert_eq!(json[0], (Some(3), Some(134), Some(3)), "AF_PACKET");
    assert_eq!(json[1], json[0], "AF_XDP as AF_PACKET");
    std::fs::remove_file(file).unwrap();
}
