//! `netring stats` over a real veth link: per-interval JSON whose counts add
//! up to exactly the frames sent, from its own ring and from the interface's
//! counters. Needs root and `ip`.

mod common;

use std::time::Duration;

use common::{finish, netring_in, spawn_ready, veth};
use netring::RawSender;
use netring::testkit::SeqFrames;

#[test]
fn json_intervals_add_up_to_the_frames_sent() {
    let l = veth();
    let (child, _) = spawn_ready(
        &mut netring_in(&l.b, &["stats", "-i", &l.b.name, "--interval", "0.4", "-d", "2", "--json"]),
        "counting on",
    );
    let tx = l.a.run(RawSender::open).unwrap().unwrap();
    let g = SeqFrames::default();
    // Two bursts, in different intervals.
    for seq in 0..600 {
        tx.send(&g.build(seq, 200)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(600));
    for seq in 600..1000 {
        tx.send(&g.build(seq, 300)).unwrap();
    }
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every stdout line is one JSON object"))
        .collect();
    assert!((4..=6).contains(&lines.len()), "one object per 0.4 s interval over 2 s: {}", lines.len());
    let sum = |k: &str| lines.iter().map(|v| v[k].as_u64().unwrap_or_else(|| panic!("{k} is an integer"))).sum::<u64>();
    assert_eq!(sum("packets"), 1000);
    assert_eq!(sum("bytes"), 600 * 200 + 400 * 300);
    assert_eq!(sum("if_rx_packets"), 1000, "the interface counted the same frames (IPv6 is off: no chatter)");
    assert_eq!((sum("drops"), sum("freezes"), sum("if_rx_dropped"), sum("if_rx_missed_errors")), (0, 0, 0, 0));
    assert!(
        lines.iter().filter(|v| v["packets"].as_u64() > Some(0)).count() >= 2,
        "the bursts fell in different intervals"
    );
    for (i, v) in lines.iter().enumerate() {
        assert_eq!(v["interval"], i as u64 + 1);
        let s = v["seconds"].as_f64().expect("seconds is a float");
        assert!(s > 0.0 && s < 1.0, "{s}");
        let pps = v["pps"].as_u64().unwrap();
        let expect = (v["packets"].as_u64().unwrap() as f64 / s).round() as u64;
        assert_eq!(pps, expect);
    }
}
