//! `netring replay`'s tcpreplay controls over real veth links: `--loop`,
//! `-c/--limit`, `-d`, `--loopdelay-ms`, `--stats`, `--preload`,
//! `--preload-budget`, `--no-preload`, on pcap and pcapng, through
//! `sendmmsg`, the TX ring and AF_XDP; every count and byte checked at the
//! far end. Needs root and `ip`.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{json_of, netring_in, scratch, veth};
use netring::pcap::{PcapNgWriter, PcapWriter};
use netring::testkit::{End, SeqFrames};
use netring::{Capture, OwnedPacket, Timestamp};

const WAIT: Duration = Duration::from_secs(10);

/// The tests of this file take turns (the loop-delay test measures time).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A receiving capture on `end` that ignores what `end` itself sends.
fn receiver(end: &End) -> Capture {
    end.run(|n| Capture::builder().interface(n).block_count(64).ignore_outgoing(true).build()).unwrap().unwrap()
}

/// Numbered frames until `want` arrived, then one more second: exactly
/// what arrived (a frame too many shows).
fn collect_exactly(cap: &mut Capture, want: usize) -> Vec<OwnedPacket> {
    let g = SeqFrames::default();
    let mut got = netring::testkit::collect(cap, want, WAIT, |d| g.seq(d).is_some()).unwrap();
    got.extend(netring::testkit::collect(cap, 1, Duration::from_secs(1), |d| g.seq(d).is_some()).unwrap());
    got
}

/// `n` numbered frames of 60..=1514 bytes, 1 ms apart in the file.
fn frames(n: u64) -> Vec<Vec<u8>> {
    let g = SeqFrames::default();
    (0..n).map(|i| g.build(i, 60 + (i as usize * 97) % 1455)).collect()
}

/// `frames` written as `name` (pcap or pcapng by its extension).
fn file(name: &str, frames: &[Vec<u8>]) -> PathBuf {
    let path = scratch(name);
    let t0 = Timestamp::new(1_700_000_000, 0).as_nanos();
    let ts = |i: usize| Timestamp::from_nanos(t0 + i as u64 * 1_000_000);
    if name.ends_with(".pcapng") {
        let mut w = PcapNgWriter::create(&path, 65535, None).unwrap();
        for (i, f) in frames.iter().enumerate() {
            w.write(ts(i), f.len() as u32, f).unwrap();
        }
        w.finish(None).unwrap();
    } else {
        let mut w = PcapWriter::create(&path, 65535).unwrap();
        for (i, f) in frames.iter().enumerate() {
            w.write(ts(i), f.len() as u32, f).unwrap();
        }
        w.into_inner().unwrap();
    }
    path
}

fn run_ok(end: &End, args: &[&str]) -> (serde_json::Value, String) {
    let out = netring_in(end, args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {err}");
    (json_of(&out), err)
}

#[test]
fn loop_3_sends_every_record_three_times_in_order_preloaded_or_streamed_pcap_and_pcapng_both_paths() {
    let _turn = serial();
    let l = veth();
    let recs = frames(50);
    let total: u64 = recs.iter().map(|f| f.len() as u64).sum();
    for ext in ["pcap", "pcapng"] {
        let f = file(&format!("loop3.{ext}"), &recs);
        let path = f.to_str().unwrap();
        for (backend, method, load) in [
            ("packet", "auto", "--preload"),
            ("packet", "auto", "--no-preload"),
            ("packet", "ring", "--preload"),
            ("xdp", "auto", "--preload-budget=64k"),
        ] {
            let what = format!("{ext} {backend} {method} {load}");
            let mut cap = receiver(&l.b);
            let args = ["replay", "-i", &l.a.name, path, "--topspeed", "--loop", "3", "--backend", backend, load];
            let (v, _) = run_ok(&l.a, &[&args[..], &["--tx-method", method, "--json"]].concat());
            assert_eq!(
                (v["packets"].as_u64(), v["bytes"].as_u64(), v["passes"].as_u64(), v["rejected"].as_u64()),
                (Some(150), Some(3 * total), Some(3), Some(0)),
                "{what}"
            );
            assert_eq!(v["preloaded"], load != "--no-preload", "{what}");
            assert!(v.get("pacing").is_none(), "{what}: no pacing figures at top speed");
            let got = collect_exactly(&mut cap, 150);
            assert_eq!(got.len(), 150, "{what}");
            for (i, p) in got.iter().enumerate() {
                assert_eq!(p.data(), &recs[i % 50][..], "{what}: frame {i} is record {} byte for byte", i % 50);
            }
        }
        std::fs::remove_file(f).unwrap();
    }
}

/// Records of 14 (only an Ethernet header), 15, 60 and 1500 bytes mixed
/// with ones shorter than an Ethernet header (13, 5, 0), over more than
/// two 64-frame batches: `sendmmsg` and the TX ring send the same frames in
/// the same order and reject the same records, counted in the JSON; `auto`
/// picks `sendmmsg`, or the TX ring when `--ring-frames` is given.
#[test]
fn sendmmsg_and_the_tx_ring_send_and_reject_the_same_records() {
    let _turn = serial();
    let l = veth();
    let g = SeqFrames::default();
    let pattern = [14, 15, 60, 1500, 13, 14, 0, 1500, 60, 15, 5, 14];
    let recs: Vec<Vec<u8>> = (0..150)
        .map(|i| {
            let n = pattern[i % pattern.len()];
            g.build(i as u64, n.max(60))[..n].to_vec()
        })
        .collect();
    let sent: Vec<&[u8]> = recs.iter().filter(|f| f.len() >= 14).map(|f| &f[..]).collect();
    let bytes: u64 = sent.iter().map(|f| f.len() as u64).sum();
    assert_eq!((sent.len(), recs.len() - sent.len()), (113, 37), "the file's mix");
    let f = file("mixed-lengths.pcap", &recs);
    let from_us = |d: &[u8]| d.len() >= 12 && d[6..12] == g.src;
    const MMSG: &str = "AF_PACKET transmit with sendmmsg";
    const RING: &str = "AF_PACKET transmit through the TX ring";
    let mut json = Vec::new();
    for (method, path) in [
        (&["--tx-method", "sendmmsg"][..], MMSG),
        (&["--tx-method", "ring"], RING),
        (&[], MMSG),
        (&["--ring-frames", "64"], RING),
    ] {
        let mut cap = receiver(&l.b);
        let args = [&["replay", "-i", &l.a.name, f.to_str().unwrap(), "--topspeed", "--json"], method].concat();
        let out = netring_in(&l.a, &args).env("NETRING_LOG", "info").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{method:?}: {err}");
        assert_eq!((err.contains(MMSG), err.contains(RING)), (path == MMSG, path == RING), "{method:?}: {err}");
        let v = json_of(&out);
        let counts = (v["packets"].as_u64(), v["bytes"].as_u64(), v["rejected"].as_u64());
        assert_eq!(counts, (Some(113), Some(bytes), Some(37)), "{method:?}: {v}");
        json.push(counts);
        let got = netring::testkit::collect(&mut cap, sent.len() + 1, Duration::from_millis(500), from_us).unwrap();
        let got: Vec<&[u8]> = got.iter().map(|p| p.data()).collect();
        assert_eq!(got.len(), sent.len(), "{method:?}: every frame sent arrived, nothing else");
        for (i, (a, b)) in got.iter().zip(&sent).enumerate() {
            assert_eq!(a, b, "{method:?}: frame {i} byte for byte, in order");
        }
    }
    assert!(json.iter().all(|c| *c == json[0]), "the same JSON counts on both methods: {json:?}");
    std::fs::remove_file(f).unwrap();
}

#[test]
fn a_preload_budget_smaller_than_the_file_streams_it() {
    let _turn = serial();
    let l = veth();
    let recs = frames(50);
    let f = file("budget.pcap", &recs);
    let mut cap = receiver(&l.b);
    let (v, _) = run_ok(
        &l.a,
        &["replay", "-i", &l.a.name, f.to_str().unwrap(), "--topspeed", "--preload-budget", "1k", "--json"],
    );
    assert_eq!((v["packets"].as_u64(), v["preloaded"].as_bool()), (Some(50), Some(false)));
    let got = collect_exactly(&mut cap, 50);
    assert!(got.iter().zip(&recs).all(|(p, r)| p.data() == &r[..]) && got.len() == 50);
    std::fs::remove_file(f).unwrap();
}

#[test]
fn limit_stops_at_exactly_n_frames_at_top_speed_and_paced() {
    let _turn = serial();
    let l = veth();
    let recs = frames(10);
    let f = file("limit.pcapng", &recs);
    let path = f.to_str().unwrap();
    // --loop 0 would play forever: the limit alone ends it, mid-pass.
    for args in [
        &["-c", "37", "--topspeed"][..],
        &["--limit", "37", "--pps", "2000"],
        &["-c", "37", "--batch", "5", "--topspeed"],
    ] {
        let mut cap = receiver(&l.b);
        let (v, _) = run_ok(&l.a, &[&["replay", "-i", &l.a.name, path, "--loop", "0", "--json"], args].concat());
        assert_eq!((v["packets"].as_u64(), v["passes"].as_u64()), (Some(37), Some(3)), "{args:?}");
        let got = collect_exactly(&mut cap, 37);
        assert_eq!(got.len(), 37, "{args:?}");
        for (i, p) in got.iter().enumerate() {
            assert_eq!(p.data(), &recs[i % 10][..], "{args:?}: frame {i}");
        }
    }
    std::fs::remove_file(f).unwrap();
}

#[test]
fn duration_ends_a_paced_endless_loop_after_exactly_the_frames_due() {
    let _turn = serial();
    let l = veth();
    let recs = frames(7);
    let f = file("duration.pcap", &recs);
    let mut cap = receiver(&l.b);
    // 500 frames per second for 1 s: frames 0..=499 are due before the end.
    let (v, _) = run_ok(
        &l.a,
        &["replay", "-i", &l.a.name, f.to_str().unwrap(), "--loop", "0", "--pps", "500", "-d", "1", "--json"],
    );
    assert_eq!(v["packets"], 500);
    assert_eq!(v["pacing"]["requested_pps"], 500.0);
    assert_eq!(v["pacing"]["frames"], 500);
    let got = collect_exactly(&mut cap, 500);
    assert_eq!(got.len(), 500);
    assert!(got.iter().enumerate().all(|(i, p)| p.data() == &recs[i % 7][..]));
    std::fs::remove_file(f).unwrap();
}

#[test]
fn loopdelay_spaces_the_passes_by_the_receivers_clock() {
    let _turn = serial();
    let l = veth();
    let recs = frames(5);
    let f = file("delay.pcap", &recs);
    let mut cap = receiver(&l.b);
    let args = ["replay", "-i", &l.a.name, f.to_str().unwrap(), "--topspeed", "--loop", "3", "--loopdelay-ms", "300"];
    let (v, _) = run_ok(&l.a, &[&args[..], &["--json"]].concat());
    assert_eq!(v["packets"], 15);
    assert!(v["seconds"].as_f64().unwrap() >= 0.6, "two delays of 300 ms");
    let got = collect_exactly(&mut cap, 15);
    assert_eq!(got.len(), 15);
    assert!(got.iter().enumerate().all(|(i, p)| p.data() == &recs[i % 5][..]));
    let gaps: Vec<f64> =
        got.windows(2).map(|w| (w[1].timestamp().as_nanos() - w[0].timestamp().as_nanos()) as f64 / 1e6).collect();
    // The delay is a sleep: never shorter, later by what the scheduler
    // adds (generous for a loaded CI machine; a missing delay is 0 ms).
    for (i, g) in gaps.iter().enumerate() {
        if i % 5 == 4 {
            assert!((300.0..600.0).contains(g), "gap {i} between passes: {g} ms in {gaps:?}");
        } else {
            assert!(*g < 100.0, "gap {i} inside a pass at top speed: {g} ms in {gaps:?}");
        }
    }
    std::fs::remove_file(f).unwrap();
}

#[test]
fn stats_prints_a_progress_line_every_interval() {
    let _turn = serial();
    let l = veth();
    let f = file("stats.pcap", &frames(10));
    let (v, err) = run_ok(
        &l.a,
        &[
            "replay",
            "-i",
            &l.a.name,
            f.to_str().unwrap(),
            "--loop",
            "0",
            "--pps",
            "1000",
            "-d",
            "2.5",
            "--stats",
            "1",
            "--json",
        ],
    );
    assert_eq!(v["packets"], 2500);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains(" frames (") && l.contains("pass ")).collect();
    assert_eq!(lines.len(), 2, "a line at 1 s and at 2 s: {err}");
    let counts: Vec<u64> =
        lines.iter().map(|l| l.split(": ").nth(2).unwrap().split(' ').next().unwrap().parse().unwrap()).collect();
    // At 1000 frames per second, about 1000 and 2000 frames by then.
    assert!(counts[0].abs_diff(1000) <= 100 && counts[1].abs_diff(2000) <= 100, "{lines:?}");
    let at: Vec<f64> =
        lines.iter().map(|l| l.split(": ").nth(1).unwrap().trim_end_matches(" s").parse().unwrap()).collect();
    assert!((1.0..1.5).contains(&at[0]) && (2.0..2.5).contains(&at[1]), "{lines:?}");
    std::fs::remove_file(f).unwrap();
}

#[test]
fn controls_that_cannot_apply_are_refused_in_one_line() {
    let _turn = serial();
    let l = veth();
    let f = file("refuse.pcap", &frames(3));
    let path = f.to_str().unwrap();
    for (args, want) in [
        (vec!["--mbps", "0"], "invalid mbps = 0: must be a number of megabits per second from 1e-3 to 1e7"),
        (vec!["--stats", "0"], "invalid stats = 0: must be more than 0 seconds"),
        (vec!["--pps", "10", "--mbps", "1"], "cannot be used with"),
        (vec!["--multiplier", "2", "--topspeed"], "cannot be used with"),
        (vec!["--preload", "--no-preload"], "cannot be used with"),
        (vec!["--preload", "--preload-budget", "1m"], "cannot be used with"),
        (vec!["--preload-budget", "1x"], "\"1x\" is not a size in bytes"),
    ] {
        let out = netring_in(&l.a, &[&["replay", "-i", &l.a.name, path], &args[..]].concat()).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    std::fs::remove_file(f).unwrap();
}
