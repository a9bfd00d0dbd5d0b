//! `netring capture` beyond the basics, over real veth links, run from
//! outside the namespaces with `--netns` (no `ip netns exec`): fanout into
//! one merged file or one file per thread, file rotation, `-i any` against
//! tcpdump's own capture, VLAN re-insertion, the hardware time stamp
//! fallback, and `-Z` dropping every capability. Needs root, `tshark`,
//! `tcpdump`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{BIN, finish, json_of, scratch, veth};
use netring::RawSender;
use netring::pcap::Reader;
use netring::testkit::{End, SeqFrames, VethConfig, VethLink, require_tool};

/// `netring ARGS` (from this process's namespace) and its "listening on"
/// line; stderr keeps being drained.
fn spawn(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(BIN).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(err.read_line(&mut line).unwrap() > 0, "netring exited before listening: {seen}");
        seen.push_str(&line);
        if line.contains("listening on") {
            break;
        }
    }
    std::thread::spawn(move || for _ in err.lines() {});
    (child, seen)
}

/// `netring capture --netns NS -i IF ARGS` for `end`, listening.
fn capture_in(end: &End, args: &[&str]) -> (Child, String) {
    let mut all = vec!["capture", "--netns", end.ns.name(), "-i", &end.name];
    all.extend_from_slice(args);
    spawn(&all)
}

fn sender(end: &End) -> RawSender {
    end.run(RawSender::open).unwrap().unwrap()
}

/// An IPv4/UDP frame of `flow` (198.18.0.1 → 198.19.0.(flow + 1), ports by flow)
/// carrying `seq`.
fn udp(flow: u16, seq: u64, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len.max(50)];
    f[0..12].copy_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&[8, 0]);
    let ip_len = (f.len() - 14) as u16;
    f[14] = 0x45;
    f[16..18].copy_from_slice(&ip_len.to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    f[26..30].copy_from_slice(&[198, 18, 0, 1]);
    f[30..34].copy_from_slice(&[198, 19, 0, flow as u8 + 1]);
    let mut sum: u32 = f[14..34].chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))).sum();
    sum = (sum & 0xffff) + (sum >> 16);
    f[24..26].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    f[34..36].copy_from_slice(&(1000 + flow).to_be_bytes());
    f[36..38].copy_from_slice(&(2000 + flow).to_be_bytes());
    f[38..40].copy_from_slice(&(ip_len - 20).to_be_bytes());
    f[42..50].copy_from_slice(&seq.to_be_bytes());
    f
}

fn flow_seq(d: &[u8]) -> (u16, u64) {
    (u16::from_be_bytes([d[34], d[35]]) - 1000, u64::from_be_bytes(d[42..50].try_into().unwrap()))
}

/// Every record of a pcap or pcapng file: (time stamp ns, bytes).
fn records(path: &Path) -> Vec<(u64, Vec<u8>)> {
    let mut r = Reader::open(path).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        out.push((rec.timestamp.as_nanos(), rec.data.to_vec()));
    }
    out
}

/// tshark reads the file whole; the number of frames it saw.
fn tshark_count(path: &Path) -> usize {
    let out = Command::new("tshark").arg("-r").arg(path).args(["-T", "fields", "-e", "frame.number"]).output().unwrap();
    assert!(out.status.success(), "tshark -r {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().count()
}

fn send_flows(l: &VethLink, flows: u16, per_flow: u64) -> Vec<(u16, u64)> {
    let tx = sender(&l.a);
    let mut sent = Vec::new();
    for seq in 0..u64::from(flows) * per_flow {
        let flow = (seq % u64::from(flows)) as u16;
        tx.send(&udp(flow, seq, 64 + (seq % 100) as usize)).unwrap();
        sent.push((flow, seq));
    }
    sent
}

#[test]
fn fanout_writes_one_merged_file_in_time_stamp_order() {
    let l = veth();
    require_tool("tshark");
    let file = scratch("fanout-merged.pcapng");
    let (child, first) = capture_in(
        &l.b,
        &["--fanout", "3", "--fanout-mode", "hash", "-c", "800", "-q", "--json", "-w", file.to_str().unwrap(), "udp"],
    );
    assert!(first.contains("fanout 3 threads"), "{first}");
    let sent = send_flows(&l, 16, 50);
    let out = finish(child, Duration::from_secs(20));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    assert_eq!((v["packets"].as_u64(), v["drops"].as_u64()), (Some(800), Some(0)), "{v}");
    let recs = records(&file);
    let mut got: Vec<(u16, u64)> = recs.iter().map(|r| flow_seq(&r.1)).collect();
    assert!(recs.windows(2).all(|w| w[0].0 <= w[1].0), "records in time-stamp order");
    // In time order, the sequence numbers (sent one after another) ascend too.
    assert!(got.windows(2).all(|w| w[0].1 < w[1].1), "merged in sending order");
    got.sort_unstable();
    let mut want = sent.clone();
    want.sort_unstable();
    assert!(got == want, "every frame once: {} of {} records", got.len(), want.len());
    for r in &recs {
        let (flow, seq) = flow_seq(&r.1);
        assert_eq!(r.1, udp(flow, seq, 64 + (seq % 100) as usize), "frame {seq} byte for byte");
    }
    assert_eq!(tshark_count(&file), 800);
    std::fs::remove_file(file).unwrap();
}

#[test]
fn fanout_split_keeps_each_flow_in_one_threads_file() {
    let l = veth();
    let file = scratch("fanout-split.pcap");
    let (child, _) = capture_in(
        &l.b,
        &["--fanout", "3", "--split", "-c", "800", "-q", "--json", "-w", file.to_str().unwrap(), "udp"],
    );
    let sent = send_flows(&l, 16, 50);
    let out = finish(child, Duration::from_secs(20));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_of(&out)["packets"], 800, "the sum over the threads");
    let mut all = Vec::new();
    let mut owner: BTreeMap<u16, usize> = BTreeMap::new();
    for k in 0..3 {
        let part = scratch(&format!("fanout-split.{k}.pcap"));
        for r in records(&part) {
            let (flow, seq) = flow_seq(&r.1);
            assert_eq!(*owner.entry(flow).or_insert(k), k, "flow {flow} in one file only");
            all.push((flow, seq));
        }
        std::fs::remove_file(part).unwrap();
    }
    all.sort_unstable();
    let mut want = sent.clone();
    want.sort_unstable();
    assert!(all == want, "every frame once over the files: {} of {}", all.len(), want.len());
    assert!(owner.values().collect::<BTreeSet<_>>().len() >= 2, "spread over threads: {owner:?}");
}

#[test]
fn size_rotation_makes_files_that_each_open_and_together_hold_every_frame() {
    let l = veth();
    require_tool("tshark");
    for ext in ["pcap", "pcapng"] {
        let dir = scratch(&format!("rot-size-{ext}"));
        std::fs::create_dir_all(&dir).unwrap();
        let pattern = dir.join(format!("r.{ext}"));
        let (child, _) = capture_in(&l.b, &["-c", "200", "-q", "--json", "-C", "20k", "-w", pattern.to_str().unwrap()]);
        let g = SeqFrames::default();
        let tx = sender(&l.a);
        for seq in 0..200 {
            tx.send(&g.build(seq, 1000)).unwrap();
        }
        let out = finish(child, Duration::from_secs(20));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort_by_key(|p| {
            p.to_string_lossy().trim_start_matches(pattern.to_str().unwrap()).parse::<u32>().unwrap_or(0)
        });
        assert!(files.len() >= 9, "200 kB in files of about 20 KiB: {files:?}");
        assert_eq!(files[0], pattern, "the first file has no number, as tcpdump");
        assert_eq!(files[1], PathBuf::from(format!("{}1", pattern.display())));
        let mut seqs = Vec::new();
        for f in &files {
            let recs = records(f);
            assert!(!recs.is_empty() && std::fs::metadata(f).unwrap().len() < 20 * 1024 + 1100, "{}", f.display());
            assert_eq!(tshark_count(f), recs.len(), "{} opens on its own", f.display());
            seqs.extend(recs.iter().map(|r| g.verify(&r.1).expect("intact frame")));
        }
        assert_eq!(seqs, (0..200).collect::<Vec<u64>>(), "{ext}: every frame once, in order, over the files");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn time_rotation_names_files_with_strftime() {
    let l = veth();
    let dir = scratch("rot-time");
    std::fs::create_dir_all(&dir).unwrap();
    let pattern = dir.join("t-%s.pcap");
    let (child, _) = capture_in(&l.b, &["-d", "2.6", "-q", "--json", "-G", "1", "-w", pattern.to_str().unwrap()]);
    let g = SeqFrames::default();
    let tx = sender(&l.a);
    for seq in 0..50 {
        tx.send(&g.build(seq, 100)).unwrap();
        std::thread::sleep(Duration::from_millis(45));
    }
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 2, "a new file each second: {files:?}");
    let mut seqs = Vec::new();
    let mut names = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let secs: u64 = name.trim_start_matches("t-").trim_end_matches(".pcap").parse().expect("%s expanded");
        let recs = records(f);
        // A file is named for the second it was opened (as tcpdump: the
        // wall clock when the packet that starts it is handled, which may
        // come a retire timeout after the kernel stamped it).
        assert!(recs.iter().all(|r| r.0 / 1_000_000_000 + 1 >= secs), "{name}");
        seqs.extend(recs.iter().map(|r| g.verify(&r.1).unwrap()));
        names.push(secs);
    }
    assert!(names.windows(2).all(|w| w[1] > w[0]), "one file per second at most: {names:?}");
    assert_eq!(seqs, (0..50).collect::<Vec<u64>>());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn any_records_match_tcpdumps_own_any_capture() {
    let l = veth();
    require_tool("tcpdump");
    require_tool("tshark");
    let l2 = VethConfig::default().create_between(&l.a.ns, &l.b.ns).unwrap();
    let ours = scratch("any.pcap");
    let ours_ng = scratch("any.pcapng");
    let theirs = scratch("any-tcpdump.pcap");
    let (c1, first) = spawn(&[
        "capture",
        "--netns",
        l.b.ns.name(),
        "-i",
        "any",
        "-c",
        "20",
        "-q",
        "-w",
        ours.to_str().unwrap(),
        "ether",
        "proto",
        "0x88b5",
    ]);
    assert!(first.contains("link-type LINUX_SLL2 (Linux cooked v2)"), "{first}");
    let (c2, _) = spawn(&[
        "capture",
        "--netns",
        l.b.ns.name(),
        "-i",
        "any",
        "-c",
        "20",
        "-q",
        "-w",
        ours_ng.to_str().unwrap(),
        "ether",
        "proto",
        "0x88b5",
    ]);
    let td = common::Tcpdump::any(&l.b, &theirs, 20);
    let (t1, t2) = (sender(&l.a), l2.a.run(RawSender::open).unwrap().unwrap());
    let g = SeqFrames::default();
    for seq in 0..20u64 {
        let f = g.build(seq, 60 + seq as usize);
        if seq % 2 == 0 { t1.send(&f) } else { t2.send(&f) }.unwrap();
    }
    for c in [c1, c2] {
        let out = finish(c, Duration::from_secs(10));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let reference = td.finish_records();
    assert_eq!(reference.len(), 20);
    let mine: Vec<Vec<u8>> = records(&ours).into_iter().map(|r| r.1).collect();
    assert_eq!(mine, reference, "the same LINUX_SLL2 records as tcpdump -i any, byte for byte");
    // pcapng: one interface description per interface, named.
    let names = Command::new("tshark")
        .arg("-r")
        .arg(&ours_ng)
        .args(["-T", "fields", "-e", "frame.interface_name"])
        .output()
        .unwrap();
    let names: Vec<String> = String::from_utf8_lossy(&names.stdout).lines().map(str::to_owned).collect();
    let want: Vec<String> = (0..20).map(|i| if i % 2 == 0 { l.b.name.clone() } else { l2.b.name.clone() }).collect();
    assert_eq!(names, want);
    for f in [ours, ours_ng, theirs] {
        std::fs::remove_file(f).unwrap();
    }
}

#[test]
fn vlan_reinsert_writes_the_tagged_frames_as_sent() {
    let l = veth();
    let file = scratch("vlan.pcap");
    let (child, _) = capture_in(&l.b, &["--vlan-reinsert", "-c", "10", "-q", "-w", file.to_str().unwrap()]);
    let g = SeqFrames::default();
    let sent: Vec<Vec<u8>> = (0..10u64)
        .map(|seq| {
            let inner = g.build(seq, 100);
            let mut f = inner[..12].to_vec();
            f.extend_from_slice(&[0x81, 0x00, 0x00, 10 + seq as u8]);
            f.extend_from_slice(&inner[12..]);
            f
        })
        .collect();
    let tx = sender(&l.a);
    for f in &sent {
        tx.send(f).unwrap();
    }
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Vec<Vec<u8>> = records(&file).into_iter().map(|r| r.1).collect();
    assert_eq!(got, sent, "tags back in place, byte for byte");
    std::fs::remove_file(file).unwrap();
}

#[test]
fn hardware_time_stamps_on_veth_fall_back_with_one_warning() {
    let l = veth();
    let (child, first) =
        capture_in(&l.b, &["-j", "adapter_unsynced", "--profile", "low-latency", "-c", "3", "-q", "--json"]);
    assert_eq!(first.matches("hardware time stamps unavailable").count(), 1, "{first}");
    assert!(first.contains("ring 64 x 64 KiB") && first.contains("software time stamps (no hardware:"), "{first}");
    let tx = sender(&l.a);
    for seq in 0..3 {
        tx.send(&SeqFrames::default().build(seq, 64)).unwrap();
    }
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success());
    assert_eq!(json_of(&out)["packets"], 3);
}

#[test]
fn gen_info_and_replay_work_inside_a_namespace_from_outside_it() {
    let l = veth();
    let out = Command::new(BIN).args(["info", "--netns", l.b.ns.name(), &l.b.name, "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_of(&out)["interfaces"][0]["index"], l.b.ifindex);
    let file = scratch("ns-gen.pcap");
    let (child, _) = capture_in(&l.b, &["-c", "40", "-q", "--json", "-w", file.to_str().unwrap()]);
    let g = Command::new(BIN)
        .args(["gen", "--netns", l.a.ns.name(), "-i", &l.a.name, "-c", "20", "--payload", "pattern", "-q", "--json"])
        .output()
        .unwrap();
    assert!(g.status.success(), "{}", String::from_utf8_lossy(&g.stderr));
    assert_eq!(json_of(&g)["packets"], 20);
    let replay_src = scratch("ns-replay.pcap");
    {
        let mut w = netring::pcap::PcapWriter::create(&replay_src, 65535).unwrap();
        for seq in 100..120 {
            w.write(netring::Timestamp::new(1, 0), 80, &SeqFrames::default().build(seq, 80)).unwrap();
        }
        w.into_inner().unwrap();
    }
    let r = Command::new(BIN)
        .args(["replay", "--netns", l.a.ns.name(), "-i", &l.a.name, "--topspeed", "-q", "--json"])
        .arg(&replay_src)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success());
    let seqs: Vec<u64> = records(&file).iter().map(|r| SeqFrames::default().verify(&r.1).unwrap()).collect();
    assert_eq!(seqs, (0..20).chain(100..120).collect::<Vec<u64>>());
    let out = Command::new(BIN).args(["info", "--netns", "nrt-no-such-ns"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such network namespace"));
    for f in [file, replay_src] {
        std::fs::remove_file(f).unwrap();
    }
}

/// `Name:\tvalue` from /proc/PID/status.
fn proc_status(pid: u32, key: &str) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_default().trim().to_owned()
}

#[test]
fn dropping_to_nobody_clears_every_capability_and_still_captures() {
    use std::os::unix::fs::MetadataExt;
    let l = veth();
    let dir = scratch("drop");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o1777)).unwrap();
    let file = dir.join("z.pcap");
    let (child, _) = capture_in(&l.b, &["-Z", "nobody", "-c", "5", "-q", "--json", "-w", file.to_str().unwrap()]);
    let pid = child.id();
    assert_eq!(proc_status(pid, "CapEff:"), "0000000000000000", "no effective capability");
    assert_eq!(proc_status(pid, "CapPrm:"), "0000000000000000", "none to get back");
    assert!(proc_status(pid, "Uid:").split_whitespace().all(|u| u == "65534"), "real, effective, saved: nobody");
    let tx = sender(&l.a);
    for seq in 0..5 {
        tx.send(&SeqFrames::default().build(seq, 64)).unwrap();
    }
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_of(&out)["packets"], 5, "the open socket kept capturing");
    assert_eq!(records(&file).len(), 5);
    assert_eq!(std::fs::metadata(&file).unwrap().uid(), 65534, "the file was created as nobody");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn file_capabilities_let_an_unprivileged_user_capture() {
    let l = veth();
    require_tool("setcap");
    require_tool("setpriv");
    // A copy of the binary with cap_net_raw,cap_net_admin+ep, run as nobody
    // with no capabilities of its own: the file grants what capture needs.
    let dir = scratch("setcap");
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("netring");
    std::fs::copy(BIN, &bin).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let st = Command::new("setcap").arg("cap_net_raw,cap_net_admin+ep").arg(&bin).status().unwrap();
    assert!(st.success(), "setcap");
    let mut child = Command::new("ip")
        .args(["netns", "exec", l.b.ns.name(), "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["--inh-caps=-all"])
        .arg(&bin)
        .args(["capture", "-i", &l.b.name, "-c", "5", "-q", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("listening on"), "{line}");
    std::thread::spawn(move || for _ in err.lines() {});
    let tx = sender(&l.a);
    for seq in 0..5 {
        tx.send(&SeqFrames::default().build(seq, 64)).unwrap();
    }
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success());
    assert_eq!(json_of(&out)["packets"], 5, "captured as nobody through file capabilities");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn af_packet_options_are_refused_with_the_xdp_backend() {
    // (-j applies to both: with --backend xdp it asks the device's clock through the XDP program.)
    for opt in [&["--fanout", "2"][..], &["--profile", "jumbo"], &["--vlan-reinsert"]] {
        let out = Command::new(BIN).args(["capture", "-i", "lo", "--backend", "xdp"]).args(opt).output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(opt[0]) && err.contains("AF_PACKET option"), "{err}");
    }
    let out = Command::new(BIN).args(["capture", "-i", "lo", "-C", "10"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("file rotation needs a file (-w)"));
}

#[test]
fn fanout_cbpf_spreads_by_address_pair() {
    let l = veth();
    let file = scratch("fanout-cbpf.pcap");
    let (child, _) = capture_in(
        &l.b,
        &[
            "--fanout",
            "2",
            "--fanout-mode",
            "cbpf",
            "--split",
            "-c",
            "160",
            "-q",
            "--json",
            "-w",
            file.to_str().unwrap(),
            "udp",
        ],
    );
    send_flows(&l, 8, 20);
    let out = finish(child, Duration::from_secs(20));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // 198.18.0.1 ^ 198.19.0.(f + 1) is odd exactly when f is odd.
    for k in 0..2 {
        let part = scratch(&format!("fanout-cbpf.{k}.pcap"));
        let flows: BTreeSet<u16> = records(&part).iter().map(|r| flow_seq(&r.1).0).collect();
        assert_eq!(flows, (0..8).filter(|f| f % 2 == k).collect::<BTreeSet<u16>>(), "thread {k}");
        std::fs::remove_file(part).unwrap();
    }
}
