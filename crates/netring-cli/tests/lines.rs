//! `netring capture` per-packet lines over a real veth link, in tcpdump's
//! shape (`-t -e`: no time stamp, the link header): IP traffic shows
//! addresses, ports, protocol and payload length, and a snap length that
//! cuts the UDP header shows the ports and the cut (`[|udp]`), as tcpdump.
//! Needs root and `ip`.

mod common;

use std::time::Duration;

use common::{finish, netring_in, spawn_ready, veth};
use netring::RawSender;
use netring::parse::etherparse::PacketBuilder;

fn udp(seq: u16) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4([198, 18, 0, 1], [198, 19, 0, 2], 64)
        .udp(40000 + seq, 9999)
        .write(&mut out, &[0u8; 32])
        .unwrap();
    out
}

fn capture_lines(snaplen: &str) -> Vec<String> {
    let l = veth();
    let (child, _) = spawn_ready(
        &mut netring_in(&l.b, &["capture", "-i", &l.b.name, "-c", "3", "-s", snaplen, "-t", "-e"]),
        "listening on",
    );
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    for seq in 0..3 {
        tx.send(&udp(seq)).unwrap();
    }
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

#[test]
fn ip_packets_show_addresses_ports_and_protocol() {
    let lines = capture_lines("262144");
    assert_eq!(lines.len(), 3, "{lines:?}");
    for (i, l) in lines.iter().enumerate() {
        let want = format!(
            "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 74: \
             198.18.0.1.{} > 198.19.0.2.9999: UDP, length 32",
            40000 + i
        );
        assert_eq!(*l, want);
    }
}

#[test]
fn a_snap_length_inside_the_udp_header_shows_the_ports_and_the_cut() {
    let lines = capture_lines("38");
    assert_eq!(lines.len(), 3, "{lines:?}");
    for (i, l) in lines.iter().enumerate() {
        let want = format!(
            "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 74: \
             198.18.0.1.{} > 198.19.0.2.9999:  [|udp]",
            40000 + i
        );
        assert_eq!(*l, want);
    }
}

fn udp_from(mac_last: u8, sport: u16) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, mac_last], [2, 0, 0, 0, 0, 0x99])
        .ipv4([198, 18, 0, mac_last], [198, 19, 0, 2], 64)
        .udp(sport, 9999)
        .write(&mut out, &[0u8; 8])
        .unwrap();
    out
}

/// `-Q in` / `-Q out` on end b: frames from a arrive (in), frames b sends
/// leave (out); each run prints exactly its own.
#[test]
fn direction_keeps_only_the_frames_asked_for() {
    for (q, want_from) in [("in", 0x0a), ("out", 0x0b)] {
        let l = veth();
        let (child, _) = spawn_ready(
            &mut netring_in(&l.b, &["capture", "-i", &l.b.name, "-Q", q, "-c", "2", "-t", "-e", "udp"]),
            "listening on",
        );
        let from_a = l.a.run(RawSender::open).unwrap().unwrap();
        let from_b = l.b.run(RawSender::open).unwrap().unwrap();
        for k in 0..2 {
            from_a.send(&udp_from(0x0a, 5000 + k)).unwrap();
            from_b.send(&udp_from(0x0b, 6000 + k)).unwrap();
        }
        let out = finish(child, Duration::from_secs(10));
        assert!(out.status.success());
        let lines: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
        let base = if want_from == 0x0a { 5000 } else { 6000 };
        let want: Vec<String> = (0..2)
            .map(|k| {
                format!(
                    "02:00:00:00:00:{want_from:02x} > 02:00:00:00:00:99, ethertype IPv4 (0x0800), length 50: \
                     198.18.0.{want_from}.{} > 198.19.0.2.9999: UDP, length 8",
                    base + k
                )
            })
            .collect();
        assert_eq!(lines, want, "-Q {q}");
    }
}

/// `-D` lists the namespace's interfaces as tcpdump -D does.
#[test]
fn interfaces_are_listed_with_index_name_and_state() {
    let l = veth();
    let out = netring_in(&l.b, &["capture", "-D"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let name = format!(".{} ", l.b.name);
    let veth_line = lines.iter().find(|line| line.contains(&name)).copied();
    let veth_line = veth_line.unwrap_or_else(|| panic!("{} not listed: {text}", l.b.name));
    let (index, rest) = veth_line.split_once('.').unwrap();
    assert!(index.parse::<u32>().unwrap() > 1, "{veth_line}");
    assert_eq!(rest, format!("{} [Up, Running, Connected]", l.b.name));
    assert_eq!(lines.last().copied(), Some("0.any (Pseudo-device that captures on all interfaces) [Up, Running]"));
}

/// `-U`: each packet is in the file as soon as it is captured, while the
/// capture still runs (without it, records wait in the writer's buffer).
#[test]
fn packet_buffered_files_hold_each_packet_at_once() {
    let l = veth();
    let file = common::scratch("h20-unbuffered.pcap");
    let path = file.to_str().unwrap();
    let (mut child, _) = spawn_ready(
        &mut netring_in(&l.b, &["capture", "-i", &l.b.name, "-w", path, "-U", "--timeout-ms", "10", "udp"]),
        "listening on",
    );
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    tx.send(&udp(7)).unwrap();
    let records = |p: &std::path::Path| {
        let mut r = netring::pcap::Reader::open(p).unwrap();
        let mut n = Vec::new();
        while let Ok(Some(rec)) = r.next_record() {
            n.push(rec.data.to_vec());
        }
        n
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    let mut seen = records(&file);
    while seen.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        seen = records(&file);
    }
    assert!(child.try_wait().unwrap().is_none(), "the capture is still running");
    assert_eq!(seen, vec![udp(7)], "the one frame, whole, in the file before the capture ends");
    let _ = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let out = finish(child, Duration::from_secs(5));
    assert!(out.status.success());
    std::fs::remove_file(file).unwrap();
}

/// A VLAN-tagged frame shows its tag with -e (`vlan 10, p 3`), whether
/// the kernel left it in the frame or took it out into the metadata.
#[test]
fn vlan_tags_show_with_e() {
    let l = veth();
    let (child, _) =
        spawn_ready(&mut netring_in(&l.b, &["capture", "-i", &l.b.name, "-c", "1", "-t", "-e"]), "listening on");
    let mut f = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .single_vlan(netring::parse::etherparse::VlanId::try_new(10).unwrap())
        .ipv4([198, 18, 0, 1], [198, 19, 0, 2], 64)
        .udp(40000, 9999)
        .write(&mut f, &[0u8; 18])
        .unwrap();
    f[14] |= 3 << 5;
    l.a.run(RawSender::open).unwrap().unwrap().send(&f).unwrap();
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype 802.1Q (0x8100), length 64: vlan 10, p 3, \
         ethertype IPv4 (0x0800), 198.18.0.1.40000 > 198.19.0.2.9999: UDP, length 18"
    );
}
