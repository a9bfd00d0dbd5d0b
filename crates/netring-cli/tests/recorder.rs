//! `netring capture` as a recorder, over real veth links (run from outside
//! the namespaces with `--netns`): retention by total size and by age,
//! `-G` names from the pattern, `SIGHUP` rotation, several interfaces into
//! one pcapng file, and the Prometheus endpoint. Needs root, `tshark`,
//! `date` and `kill`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{BIN, finish, json_of, scratch, veth};
use netring::RawSender;
use netring::pcap::Reader;
use netring::testkit::{End, SeqFrames, VethConfig, require_tool};

/// `netring capture --netns NS ARGS` for `end` (with `-i` in ARGS),
/// returned once it listens; stderr keeps being drained.
fn capture(end: &End, args: &[&str]) -> Child {
    spawn(end, "capture", args, "listening on").0
}

/// `netring VERB --netns NS ARGS`, returned with its stderr up to the line
/// holding `ready`.
fn spawn(end: &End, verb: &str, args: &[&str], ready: &str) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args([verb, "--netns", end.ns.name()])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(err.read_line(&mut line).unwrap() > 0, "netring exited before listening: {seen}");
        seen.push_str(&line);
        if line.contains(ready) {
            break;
        }
    }
    std::thread::spawn(move || for _ in err.lines() {});
    (child, seen)
}

fn sender(end: &End) -> RawSender {
    end.run(RawSender::open).unwrap().unwrap()
}

/// Every record of a capture file: (time stamp ns, interface id, bytes).
fn records(path: &Path) -> Vec<(u64, u32, Vec<u8>)> {
    let mut r = Reader::open(path).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        out.push((rec.timestamp.as_nanos(), rec.interface, rec.data.to_vec()));
    }
    out
}

/// The sequence numbers of a file's records, each frame checked byte for byte.
fn seqs(g: &SeqFrames, path: &Path) -> Vec<u64> {
    records(path)
        .iter()
        .map(|r| g.verify(&r.2).unwrap_or_else(|| panic!("intact frame in {}", path.display())))
        .collect()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = scratch(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_total_budget_leaves_exactly_the_newest_files() {
    let l = veth();
    let dir = fresh_dir("rec-total");
    // Not this run's: retention never touches it.
    std::fs::write(dir.join("r.pcap.keep"), b"someone else's").unwrap();
    let pattern = dir.join("r.pcap");
    let child = capture(
        &l.b,
        &[
            "-i",
            &l.b.name,
            "-c",
            "200",
            "-q",
            "--json",
            "-C",
            "20k",
            "--max-total",
            "50k",
            "-w",
            pattern.to_str().unwrap(),
        ],
    );
    let g = SeqFrames::default();
    let tx = sender(&l.a);
    for seq in 0..200 {
        tx.send(&g.build(seq, 1000)).unwrap();
    }
    let out = finish(child, Duration::from_secs(20));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_of(&out)["packets"], 200);
    // Records of 16 + 1000 bytes; a file is left once it passes 20,480 bytes,
    // at 21 records (21,360 bytes): files r.pcap, r.pcap1 … r.pcap9, the last
    // with 11 records (11,200 bytes). 51,200 bytes hold r.pcap8 and r.pcap9
    // (32,560); with r.pcap7 they would take 53,920.
    assert_eq!(names(&dir), ["r.pcap.keep", "r.pcap8", "r.pcap9"]);
    assert_eq!(seqs(&g, &dir.join("r.pcap8")), (168..189).collect::<Vec<u64>>());
    assert_eq!(seqs(&g, &dir.join("r.pcap9")), (189..200).collect::<Vec<u64>>());
    assert_eq!(std::fs::read(dir.join("r.pcap.keep")).unwrap(), b"someone else's");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_age_limit_deletes_files_closed_that_long_ago_and_names_follow_the_pattern() {
    let l = veth();
    require_tool("date");
    let dir = fresh_dir("rec-age");
    let pattern = dir.join("trace-%Y%m%d-%H%M%S.pcap");
    let before = netring::Timestamp::now().secs();
    let child = capture(
        &l.b,
        &[
            "-i",
            &l.b.name,
            "-c",
            "105",
            "-q",
            "--json",
            "-G",
            "3600",
            "-C",
            "20k",
            "--max-age",
            "1s",
            "-w",
            pattern.to_str().unwrap(),
        ],
    );
    let after = netring::Timestamp::now().secs();
    let g = SeqFrames::default();
    let tx = sender(&l.a);
    // 63 frames: three files of 21 (the third still open), then 2.5 s idle:
    // the first two have been closed for more than 1 s and go.
    for seq in 0..63 {
        tx.send(&g.build(seq, 1000)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(2500));
    let mid = names(&dir);
    // 42 more: the third file closes, a fourth and a fifth fill, all within 1 s.
    for seq in 63..105 {
        tx.send(&g.build(seq, 1000)).unwrap();
    }
    let out = finish(child, Duration::from_secs(20));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_of(&out)["packets"], 105);
    // The name is the start time, local, as `date` prints it (the run opened
    // its first file between `before` and `after`).
    let base = (before..=after)
        .map(|t| {
            let o = Command::new("date").args(["-d", &format!("@{t}"), "+trace-%Y%m%d-%H%M%S.pcap"]).output().unwrap();
            String::from_utf8(o.stdout).unwrap().trim().to_owned()
        })
        .find(|n| mid.iter().any(|m| m.starts_with(n.as_str())))
        .unwrap_or_else(|| panic!("no file named for the start time: {mid:?}"));
    assert_eq!(mid, [format!("{base}2")], "after 2.5 s idle only the open file is left");
    let want: Vec<String> = (2..5).map(|k| format!("{base}{k}")).collect();
    assert_eq!(names(&dir), want);
    for (k, name) in want.iter().enumerate() {
        let from = 42 + 21 * k as u64;
        assert_eq!(seqs(&g, &dir.join(name)), (from..from + 21).collect::<Vec<u64>>(), "{name}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sighup_rotates_the_file_and_every_frame_lands_once_in_order() {
    let l = veth();
    require_tool("kill");
    let dir = fresh_dir("rec-hup");
    let file = dir.join("cap.pcapng");
    let child = capture(&l.b, &["-i", &l.b.name, "-c", "300", "-q", "--json", "-w", file.to_str().unwrap()]);
    let g = SeqFrames::default();
    let tx = sender(&l.a);
    for burst in 0..3u64 {
        if burst > 0 {
            std::thread::sleep(Duration::from_millis(300));
            let st = Command::new("kill").args(["-HUP", &child.id().to_string()]).status().unwrap();
            assert!(st.success());
            std::thread::sleep(Duration::from_millis(300));
        }
        for seq in burst * 100..burst * 100 + 100 {
            tx.send(&g.build(seq, 200)).unwrap();
        }
    }
    let out = finish(child, Duration::from_secs(20));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["packets"], 300, "SIGHUP did not stop the run: {v}");
    assert_eq!(names(&dir), ["cap.pcapng", "cap.pcapng1", "cap.pcapng2"]);
    for (k, name) in names(&dir).iter().enumerate() {
        let from = 100 * k as u64;
        assert_eq!(seqs(&g, &dir.join(name)), (from..from + 100).collect::<Vec<u64>>(), "{name}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sighup_rotates_the_merged_file_of_a_fanout_group() {
    let l = veth();
    let dir = fresh_dir("rec-hup-fanout");
    let file = dir.join("f.pcapng");
    let child =
        capture(&l.b, &["-i", &l.b.name, "--fanout", "2", "-c", "200", "-q", "--json", "-w", file.to_str().unwrap()]);
    let g = SeqFrames::default();
    let tx = sender(&l.a);
    for seq in 0..100 {
        tx.send(&g.build(seq, 120)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(400));
    assert!(Command::new("kill").args(["-HUP", &child.id().to_string()]).status().unwrap().success());
    std::thread::sleep(Duration::from_millis(300));
    for seq in 100..200 {
        tx.send(&g.build(seq, 120)).unwrap();
    }
    let out = finish(child, Duration::from_secs(20));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_of(&out)["packets"], 200);
    assert_eq!(names(&dir), ["f.pcapng", "f.pcapng1"]);
    assert_eq!(seqs(&g, &dir.join("f.pcapng")), (0..100).collect::<Vec<u64>>());
    assert_eq!(seqs(&g, &dir.join("f.pcapng1")), (100..200).collect::<Vec<u64>>());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sighup_still_stops_a_run_without_a_file() {
    let l = veth();
    let child = capture(&l.b, &["-i", &l.b.name, "-q", "--json"]);
    let g = SeqFrames::default();
    let tx = sender(&l.a);
    for seq in 0..200 {
        tx.send(&g.build(seq, 90)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(Command::new("kill").args(["-HUP", &child.id().to_string()]).status().unwrap().success());
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    assert_eq!((v["packets"].as_u64(), v["bytes"].as_u64()), (Some(200), Some(200 * 90)), "a clean stop: {v}");
}

#[test]
fn two_interfaces_one_pcapng_tagged_and_in_time_stamp_order() {
    let l = veth();
    require_tool("tshark");
    let l2 = VethConfig::default().create_between(&l.a.ns, &l.b.ns).unwrap();
    let file = scratch("rec-multi.pcapng");
    let child =
        capture(&l.b, &["-i", &l.b.name, "-i", &l2.b.name, "-c", "400", "-q", "--json", "-w", file.to_str().unwrap()]);
    let g = SeqFrames::default();
    let (tx1, tx2) = (sender(&l.a), sender(&l2.a));
    // Interleaved: 0..200 on the first link, 1000..1200 on the second.
    for i in 0..200u64 {
        tx1.send(&g.build(i, 100 + (i % 50) as usize)).unwrap();
        tx2.send(&g.build(1000 + i, 300)).unwrap();
    }
    let out = finish(child, Duration::from_secs(20));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    assert_eq!((v["packets"].as_u64(), v["drops"].as_u64()), (Some(400), Some(0)), "{v}");
    let recs = records(&file);
    assert_eq!(recs.len(), 400);
    assert!(recs.windows(2).all(|w| w[0].0 <= w[1].0), "time stamps never go back");
    let per = |id: u32| -> Vec<u64> { recs.iter().filter(|r| r.1 == id).map(|r| g.verify(&r.2).unwrap()).collect() };
    assert_eq!(per(0), (0..200).collect::<Vec<u64>>(), "interface 0: the first -i, every frame, in order");
    assert_eq!(per(1), (1000..1200).collect::<Vec<u64>>(), "interface 1: the second -i");
    for r in &recs {
        let seq = g.verify(&r.2).unwrap();
        let len = if seq < 1000 { 100 + (seq % 50) as usize } else { 300 };
        assert_eq!(r.2, g.build(seq, len), "frame {seq} byte for byte");
    }
    // tshark: two interface descriptions, named, and every frame on the right one.
    let o = Command::new("tshark")
        .arg("-r")
        .arg(&file)
        .args(["-T", "fields", "-e", "frame.interface_id", "-e", "frame.interface_name"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let count = |line: &str| text.lines().filter(|l| *l == line).count();
    assert_eq!(count(&format!("0\t{}", l.b.name)), 200, "{text}");
    assert_eq!(count(&format!("1\t{}", l2.b.name)), 200);
    assert_eq!(text.lines().count(), 400);
    // One statistics block per interface, each with its own counts.
    assert_eq!(isb_delivered(&file), vec![(0, 200, 0), (1, 200, 0)]);
    std::fs::remove_file(file).unwrap();
}

/// The Interface Statistics Blocks of a pcapng file (native byte order):
/// (interface id, isb_usrdeliv, isb_ifdrop).
fn isb_delivered(path: &Path) -> Vec<(u32, u64, u64)> {
    let b = std::fs::read(path).unwrap();
    let u32_at = |o: usize| u32::from_ne_bytes(b[o..o + 4].try_into().unwrap());
    let mut out = Vec::new();
    let mut off = 0;
    while off + 12 <= b.len() {
        let (ty, len) = (u32_at(off), u32_at(off + 4) as usize);
        if ty == 5 {
            let (mut o, mut deliv, mut drop) = (off + 20, None, None);
            while o + 4 <= off + len - 4 {
                let code = u16::from_ne_bytes([b[o], b[o + 1]]);
                let n = u16::from_ne_bytes([b[o + 2], b[o + 3]]) as usize;
                let v = || u64::from_ne_bytes(b[o + 4..o + 12].try_into().unwrap());
                match code {
                    0 => break,
                    5 => drop = Some(v()),
                    8 => deliv = Some(v()),
                    _ => {}
                }
                o += 4 + n.div_ceil(4) * 4;
            }
            out.push((u32_at(off + 8), deliv.expect("isb_usrdeliv"), drop.expect("isb_ifdrop")));
        }
        off += len;
    }
    out
}

#[test]
fn several_interfaces_are_refused_where_they_make_no_sense() {
    let run = |args: &[&str]| {
        let out = Command::new(BIN).arg("capture").args(args).output().unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(run(&["-i", "lo", "-i", "x", "-q"]).contains("give -w FILE.pcapng"));
    let e = run(&["-i", "lo", "-i", "x", "-w", "/tmp/netring-never.pcap"]);
    assert!(e.contains("several interfaces need a pcapng file") && e.contains("-F pcapng"), "{e}");
    assert!(run(&["-i", "lo", "-i", "x", "-w", "/tmp/n.pcapng", "--backend", "xdp"]).contains("--backend packet only"));
    assert!(run(&["-i", "lo", "-i", "x", "-w", "/tmp/n.pcapng", "--fanout", "2"]).contains("--fanout"));
    assert!(run(&["-i", "lo", "-i", "lo", "-w", "/tmp/n.pcapng"]).contains("lo is given twice"));
    assert!(run(&["-i", "lo", "-w", "/tmp/n.pcap", "--max-total", "1G"]).contains("needs -C or -G"));
    assert!(!Path::new("/tmp/netring-never.pcap").exists());
}

/// `GET /metrics` from `addr` inside `end`'s namespace, with a plain
/// TcpStream (no HTTP client library): the body.
fn scrape(end: &End, addr: &str) -> String {
    let addr = addr.to_owned();
    end.run(move |_| {
        let mut s = std::net::TcpStream::connect(&addr).expect("connect to the metrics endpoint");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.to_ascii_lowercase().contains("content-type: text/plain; version=0.0.4"), "{head}");
        body.to_owned()
    })
    .unwrap()
}

/// `GET /metrics` from `addr` in this test's own namespace.
fn scrape_here(addr: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the metrics endpoint");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

/// The value of the sample `line` (name with labels) in Prometheus text.
fn sample(text: &str, line: &str) -> Option<u64> {
    text.lines().find_map(|l| l.strip_prefix(line)?.strip_prefix(' ')?.parse::<f64>().ok()).map(|v| v as u64)
}

/// The address a run printed it serves metrics on.
fn metrics_addr(stderr: &str) -> String {
    let line = stderr.lines().find(|l| l.contains("serving Prometheus metrics on")).expect("the metrics line");
    line.rsplit("http://").next().unwrap().trim_end_matches("/metrics").to_owned()
}

#[test]
fn metrics_endpoint_counts_exactly_the_frames_sent_per_layer() {
    let l = veth();
    let dir = fresh_dir("rec-metrics");
    let file = dir.join("m.pcap");
    // An ephemeral port on 127.0.0.1 of this test's own namespace (the
    // listener lives in netring's namespace, not --netns's).
    let (child, seen) = spawn(
        &l.b,
        "capture",
        &["-i", &l.b.name, "-q", "--json", "-d", "3", "--metrics-listen", "127.0.0.1:0", "-w", file.to_str().unwrap()],
        "listening on",
    );
    let addr = metrics_addr(&seen);
    let g = SeqFrames::default();
    let tx = sender(&l.a);
    for seq in 0..500 {
        tx.send(&g.build(seq, 200)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(700));
    let text = scrape_here(&addr);
    let i = format!("{{interface=\"{}\"}}", l.b.name);
    let f = format!("{{file=\"{}\"}}", file.display());
    assert_eq!(sample(&text, &format!("netring_capture_packets_total{i}")), Some(500), "{text}");
    assert_eq!(sample(&text, &format!("netring_capture_read_packets_total{i}")), Some(500));
    assert_eq!(sample(&text, &format!("netring_capture_bytes_total{i}")), Some(500 * 200));
    assert_eq!(sample(&text, &format!("netring_capture_drops_total{i}")), Some(0));
    assert_eq!(sample(&text, &format!("netring_capture_freezes_total{i}")), Some(0));
    assert_eq!(sample(&text, &format!("netring_interface_rx_packets_total{i}")), Some(500), "IPv6 is off: no chatter");
    assert_eq!(sample(&text, &format!("netring_interface_rx_dropped_total{i}")), Some(0));
    assert_eq!(sample(&text, &format!("netring_interface_rx_missed_total{i}")), Some(0));
    assert_eq!(sample(&text, &format!("netring_writer_records_total{f}")), Some(500));
    assert_eq!(sample(&text, &format!("netring_writer_bytes_total{f}")), Some(24 + 500 * (16 + 200)));
    assert_eq!(sample(&text, &format!("netring_writer_files_total{f}")), Some(1));
    assert_eq!(sample(&text, &format!("netring_writer_errors_total{f}")), Some(0));
    assert!(text.contains("# TYPE netring_capture_packets_total counter"), "{text}");
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_of(&out)["packets"], 500);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_fanout_group_reports_each_member_and_the_members_add_up() {
    let l = veth();
    let (child, seen) = spawn(
        &l.b,
        "capture",
        &[
            "-i",
            &l.b.name,
            "--fanout",
            "2",
            "--fanout-mode",
            "lb",
            "-q",
            "-d",
            "2.5",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
        "listening on",
    );
    let addr = metrics_addr(&seen);
    let g = SeqFrames::default();
    let tx = sender(&l.a);
    for seq in 0..400 {
        tx.send(&g.build(seq, 64)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(700));
    let text = scrape_here(&addr);
    let member = |k: usize| {
        let s = format!("netring_capture_packets_total{{interface=\"{}\",member=\"{k}\"}}", l.b.name);
        sample(&text, &s).unwrap_or_else(|| panic!("{s} in {text}"))
    };
    assert_eq!(member(0) + member(1), 400, "{text}");
    assert_eq!((member(0), member(1)), (200, 200), "load balancing alternates");
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn stats_serves_metrics_too() {
    let l = veth();
    // stats has no --netns: run it inside the namespace, serve on its loopback.
    let up = Command::new("ip").args(["-n", l.b.ns.name(), "link", "set", "lo", "up"]).status().unwrap();
    assert!(up.success(), "ip link set lo up");
    let mut cmd = common::netring_in(
        &l.b,
        &["stats", "-i", &l.b.name, "--interval", "0.5", "-d", "3", "--metrics-listen", "127.0.0.1:0", "--json"],
    );
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("counting on") {
        assert!(err.read_line(&mut seen).unwrap() > 0, "stats did not start: {seen}");
    }
    std::thread::spawn(move || for _ in err.lines() {});
    let addr = metrics_addr(&seen);
    let g = SeqFrames::default();
    let tx = sender(&l.a);
    for seq in 0..300 {
        tx.send(&g.build(seq, 100)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(700));
    let text = scrape(&l.b, &addr);
    let i = format!("{{interface=\"{}\"}}", l.b.name);
    assert_eq!(sample(&text, &format!("netring_capture_packets_total{i}")), Some(300), "{text}");
    assert_eq!(sample(&text, &format!("netring_capture_read_packets_total{i}")), Some(300));
    assert_eq!(sample(&text, &format!("netring_interface_rx_packets_total{i}")), Some(300));
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_endpoint_answers_only_get() {
    let l = veth();
    let (child, seen) = spawn(
        &l.b,
        "capture",
        &["-i", &l.b.name, "-q", "-d", "1.5", "--metrics-listen", "127.0.0.1:0"],
        "listening on",
    );
    let addr = metrics_addr(&seen);
    let ask = |req: &str| {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.write_all(req.as_bytes()).unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text.lines().next().unwrap_or("").to_owned()
    };
    assert_eq!(ask("POST /metrics HTTP/1.1\r\n\r\n"), "HTTP/1.1 405 Method Not Allowed");
    assert_eq!(ask("GET /other HTTP/1.1\r\n\r\n"), "HTTP/1.1 404 Not Found");
    assert_eq!(ask("GET / HTTP/1.0\r\n\r\n"), "HTTP/1.1 200 OK");
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success());
}
