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
