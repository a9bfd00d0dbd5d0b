//! The `netring` binary over real veth links: JSON contracts, exact counts,
//! clean stops, files that tcpdump reads, and errors that name the problem.
//! Needs root, `ip` (iproute2), `setpriv` and `tcpdump` (`.ci/run` installs
//! them); fails naming what is missing otherwise.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use netring::RawSender;
use netring::testkit::{SeqFrames, VethLink, require_tool};

mod common;
use common::{BIN, finish, json_of, netring_in, scratch, spawn_ready, veth};

/// Spawn a capture in `link.b`'s namespace and wait until it is listening.
fn spawn_capture(link: &VethLink, args: &[&str]) -> Child {
    spawn_ready(&mut netring_in(&link.b, args), "listening on").0
}

fn sender(link: &VethLink) -> RawSender {
    link.a.run(RawSender::open).unwrap().unwrap()
}

/// Records of a nanosecond pcap file: (seconds, nanos, caplen, origlen, data).
fn read_pcap(path: &Path) -> Vec<(u32, u32, u32, Vec<u8>)> {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[0..4], &0xa1b23c4du32.to_ne_bytes(), "nanosecond magic");
    let mut off = 24;
    let mut out = Vec::new();
    while off < b.len() {
        let f = |i: usize| u32::from_ne_bytes(b[off + i..off + i + 4].try_into().unwrap());
        let (nanos, caplen, origlen) = (f(4), f(8), f(12));
        out.push((nanos, caplen, origlen, b[off + 16..off + 16 + caplen as usize].to_vec()));
        off += 16 + caplen as usize;
    }
    assert_eq!(off, b.len(), "no trailing partial record");
    out
}

#[test]
fn capture_count_is_exact_and_json_matches_the_file() {
    let l = veth();
    require_tool("tcpdump");
    let file = scratch("count.pcap");
    let path = file.to_str().unwrap();
    let child = spawn_capture(&l, &["capture", "-i", &l.b.name, "-c", "100", "--json", "-q", "-w", path]);
    let tx = sender(&l);
    let g = SeqFrames::default();
    // 300 frames in one burst: most share blocks with the 100th.
    for seq in 0..300 {
        tx.send(&g.build(seq, 200)).unwrap();
    }
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["packets"], 100);
    assert_eq!(v["bytes"], 100 * 200);
    assert_eq!(v["drops"], 0);
    assert_eq!(v["freezes"], 0);
    assert!(v["seconds"].as_f64().unwrap() > 0.0);
    let recs = read_pcap(&file);
    assert_eq!(recs.len(), 100, "frames after the 100th are not written");
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(g.verify(&r.3), Some(i as u64), "record {i} is frame {i}, byte for byte");
        assert_eq!((r.1, r.2), (200, 200));
        assert!(r.0 < 1_000_000_000);
    }
    // The reference reader agrees.
    let td = Command::new("tcpdump").args(["-nn", "-r", path]).output().unwrap();
    assert!(td.status.success(), "tcpdump -r: {}", String::from_utf8_lossy(&td.stderr));
    // (tcpdump hex-dumps unknown EtherTypes on indented lines.)
    let records = String::from_utf8_lossy(&td.stdout).lines().filter(|l| !l.starts_with(char::is_whitespace)).count();
    assert_eq!(records, 100);
    let td =
        Command::new("tcpdump").args(["-nn", "--time-stamp-precision=nano", "-r", path, "-c", "1"]).output().unwrap();
    let line = String::from_utf8_lossy(&td.stdout).into_owned();
    assert!(line.contains("ethertype Unknown (0x88b5)") && line.contains("length 200"), "{line}");
    std::fs::remove_file(file).unwrap();
}

#[test]
fn sigint_flushes_the_file_and_prints_the_summary() {
    let l = veth();
    let file = scratch("sigint.pcap");
    let path = file.to_str().unwrap();
    let child = spawn_capture(&l, &["capture", "-i", &l.b.name, "--json", "--timeout-ms", "10", "-w", path]);
    let tx = sender(&l);
    let g = SeqFrames::default();
    for seq in 0..50 {
        tx.send(&g.build(seq, 80)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let out = finish(child, Duration::from_secs(5));
    assert!(out.status.success(), "SIGINT is a clean stop: {out:?}");
    let v = json_of(&out);
    assert_eq!(v["packets"], 50);
    assert_eq!(v["bytes"], 50 * 80);
    let recs = read_pcap(&file);
    assert_eq!(recs.len(), 50, "every counted frame is in the flushed file");
    std::fs::remove_file(file).unwrap();
}

#[test]
fn duration_ends_the_run_and_lines_go_to_stdout() {
    let l = veth();
    let child = spawn_capture(&l, &["capture", "-i", &l.b.name, "-d", "0.5", "--timeout-ms", "10", "-t", "-e"]);
    let tx = sender(&l);
    for seq in 0..3 {
        tx.send(&SeqFrames::default().build(seq, 64)).unwrap();
    }
    let t0 = Instant::now();
    let out = finish(child, Duration::from_secs(5));
    assert!(out.status.success());
    assert!(t0.elapsed() < Duration::from_secs(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // tcpdump's shape: a line per frame, then (an EtherType nobody
    // decodes) its 50 payload bytes in hex, four dump lines.
    let lines: Vec<_> = stdout.lines().collect();
    assert_eq!(lines.len(), 3 * 5, "{stdout}");
    for frame in lines.chunks(5) {
        assert_eq!(frame[0], "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype Unknown (0x88b5), length 64: ");
        for (k, dump) in frame[1..].iter().enumerate() {
            assert!(dump.starts_with(&format!("\t0x{:04x}:  ", k * 16)), "{dump:?}");
        }
    }
}

#[test]
fn errors_are_one_line_and_name_the_problem() {
    let l = veth();
    let out = netring_in(&l.b, &["capture", "-i", "nrt-nope0", "-c", "1"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim(), "netring: interface \"nrt-nope0\" not found in this network namespace");

    let out = netring_in(&l.b, &["capture", "-i", &l.b.name, "--block-size", "5000"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim(), "netring: invalid block_size = 5000: must be a power of two");
}

#[test]
fn unprivileged_capture_names_cap_net_raw() {
    let _ = veth(); // asserts root, which setpriv needs to switch users
    require_tool("setpriv");
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            BIN,
            "capture",
            "-i",
            "lo",
            "-c",
            "1",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("permission denied") && err.contains("CAP_NET_RAW"), "{err}");

    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", BIN, "selftest"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("CAP_NET_ADMIN") && err.contains("run it as root"), "{err}");
}

#[test]
fn selftest_passes_and_reports_json() {
    let _ = veth();
    let out = Command::new(BIN).args(["selftest", "--json", "--frames", "1000"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["passed"], true);
    let checks = v["checks"].as_array().unwrap();
    assert!(checks.len() >= 7);
    let names: Vec<_> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(
        names.iter().any(|n| n.starts_with("af_xdp rx")) && names.iter().any(|n| n.starts_with("af_xdp tx")),
        "{names:?}"
    );
    assert!(checks.iter().all(|c| c["ok"] == true));
}

/// `netring filter` prints what `tcpdump -y EN10MB` prints, in all three
/// listings, for expressions where the two compilers agree instruction for
/// instruction.
#[test]
fn filter_listings_are_tcpdumps() {
    require_tool("tcpdump");
    for e in [
        "ip",
        "tcp port 80",
        "ether multicast",
        "len >= 100",
        "icmp6",
        "ip proto 47",
        "tcp dst port 80 or 443",
        "port http",
        "ether host 0011.2233.4455",
        "ip broadcast",
        "mpls 5 and ip",
        "pppoes 3",
        "llc s",
        "l1",
        "ipx",
        "atalk",
        "decnet host 1.2",
    ] {
        for (flag, snap) in [("-d", "262144"), ("-dd", "262144"), ("-ddd", "262144"), ("-ddd", "96")] {
            let ours = Command::new(BIN).args(["filter", flag, "-s", snap, e]).output().unwrap();
            assert!(ours.status.success(), "{e}: {}", String::from_utf8_lossy(&ours.stderr));
            let theirs = Command::new("tcpdump").args(["-y", "EN10MB", "-s", snap, flag, e]).output().unwrap();
            assert_eq!(String::from_utf8_lossy(&ours.stdout), String::from_utf8_lossy(&theirs.stdout), "{flag} {e}");
        }
    }
    // Several words are one expression, as tcpdump takes them.
    let words = Command::new(BIN).args(["filter", "-ddd", "tcp", "port", "80"]).output().unwrap();
    let whole = Command::new(BIN).args(["filter", "-ddd", "tcp port 80"]).output().unwrap();
    assert_eq!(words.stdout, whole.stdout);
}

#[test]
fn filter_errors_exit_non_zero_naming_the_column() {
    for (e, col) in [("tcp host 198.18.0.1", 10), ("port 70000", 6), ("ip and", 7), ("host nosuch", 6)] {
        let out = Command::new(BIN).args(["filter", e]).output().unwrap();
        assert!(!out.status.success(), "{e}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(&format!("column {col}:")), "{e}: {err}");
    }
    let out = Command::new(BIN).args(["filter", "ip and not ip"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("rejects all packets"));
}

#[test]
fn capture_filters_with_f_or_a_trailing_expression() {
    let l = veth();
    let tx = sender(&l);
    let other = SeqFrames { ethertype: 0x88b6, ..SeqFrames::default() };
    for (n, args) in [
        (0, vec!["-f", "ether proto 0x88b6 and greater 150"]),
        (1, vec!["ether", "proto", "0x88b6", "and", "greater", "150"]),
    ] {
        let file = scratch(&format!("filter{n}.pcap"));
        let path = file.to_str().unwrap();
        let mut full = vec!["capture", "-i", &l.b.name, "-c", "10", "--json", "-q", "-w", path];
        full.extend(args);
        let child = spawn_capture(&l, &full);
        for seq in 0..60u64 {
            let f = if seq % 3 == 0 { other.build(seq, 200) } else { SeqFrames::default().build(seq, 200) };
            tx.send(&f).unwrap();
            tx.send(&other.build(1000 + seq, 100)).unwrap(); // too short
        }
        let out = finish(child, Duration::from_secs(10));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(json_of(&out)["packets"], 10);
        let recs = read_pcap(&file);
        let seqs: Vec<_> = recs.iter().map(|r| other.verify(&r.3).expect("a 0x88b6 frame")).collect();
        assert_eq!(seqs, (0..30).step_by(3).collect::<Vec<u64>>());
        std::fs::remove_file(file).unwrap();
    }
    let out = netring_in(&l.b, &["capture", "-i", &l.b.name, "-c", "1", "tcp", "port", "99999"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("column 10"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `ip -n NS ARGS`, which must succeed.
fn ip_in(ns: &str, args: &[&str]) {
    let out = Command::new("ip").args(["-n", ns]).args(args).output().expect("ip");
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn xdp_capture_counts_exactly_and_json_follows_the_contract() {
    let l = veth();
    let file = scratch("xdp.pcap");
    let path = file.to_str().unwrap();
    let (child, first) = spawn_ready(
        &mut netring_in(
            &l.b,
            &["capture", "-i", &l.b.name, "--backend", "xdp", "-c", "100", "--json", "-q", "-w", path],
        ),
        "listening on",
    );
    assert!(first.contains("AF_XDP queue 0, copy mode"), "{first}");
    let tx = sender(&l);
    let g = SeqFrames::default();
    for seq in 0..300 {
        tx.send(&g.build(seq, 200)).unwrap();
    }
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["packets"], 100);
    assert_eq!(v["bytes"], 100 * 200);
    assert_eq!(v["drops"], 0);
    assert_eq!(v["freezes"], 0, "AF_XDP has no ring freeze");
    assert!(v["seconds"].as_f64().unwrap() > 0.0);
    let recs = read_pcap(&file);
    assert_eq!(recs.len(), 100);
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(g.verify(&r.3), Some(i as u64), "record {i} is frame {i}, byte for byte");
    }
    std::fs::remove_file(file).unwrap();
}

#[test]
fn xdp_capture_counts_kernel_drops_when_the_reader_stalls() {
    let l = veth();
    // Per-packet lines go to stderr (stdout is for the JSON object); nobody
    // reads stderr at first, so the capture blocks once the pipe is full and
    // the kernel must drop what does not fit the RX and fill rings.
    let child = spawn_capture(&l, &["capture", "-i", &l.b.name, "--backend", "xdp", "-d", "2", "--json"]);
    let tx = sender(&l);
    let g = SeqFrames::default();
    let mut sent = 0u64;
    for seq in 0..20_000 {
        if tx.send(&g.build(seq, 60)).is_ok() {
            sent += 1;
        }
    }
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success());
    let v = json_of(&out);
    let (packets, drops) = (v["packets"].as_u64().unwrap(), v["drops"].as_u64().unwrap());
    assert!(packets >= 2048 && drops > 0, "a stalled reader loses frames, and says so: {v}");
    assert_eq!(packets + drops, sent, "every frame sent was either delivered or counted as dropped: {v}");
}

#[test]
fn xdp_capture_refuses_an_interface_in_use_unless_told() {
    let l = veth();
    ip_in(l.b.ns.name(), &["addr", "add", "198.18.0.2/24", "dev", &l.b.name]);
    let out = netring_in(&l.b, &["capture", "-i", &l.b.name, "--backend", "xdp", "-c", "1"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("198.18.0.2/24") && err.contains("--xdp-takeover") && err.contains("network stack"), "{err}");

    ip_in(l.b.ns.name(), &["addr", "flush", "dev", &l.b.name]);
    ip_in(l.b.ns.name(), &["route", "add", "default", "dev", &l.b.name]);
    let out = netring_in(&l.b, &["capture", "-i", &l.b.name, "--backend", "xdp", "-c", "1"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("default route"));

    let child = spawn_capture(
        &l,
        &["capture", "-i", &l.b.name, "--backend", "xdp", "--xdp-takeover", "-c", "3", "-q", "--json"],
    );
    let tx = sender(&l);
    for seq in 0..3 {
        tx.send(&SeqFrames::default().build(seq, 64)).unwrap();
    }
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_of(&out)["packets"], 3);
}

#[test]
fn info_reports_driver_queues_and_working_xdp_modes() {
    let l = veth();
    let out = netring_in(&l.b, &["info", &l.b.name, "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    let i = &v["interfaces"][0];
    assert_eq!(i["name"], l.b.name.as_str());
    assert_eq!(i["index"], l.b.ifindex);
    assert_eq!(i["driver"], "veth");
    assert_eq!(i["mtu"], 1500);
    assert_eq!((i["rx_queues"].as_u64(), i["tx_queues"].as_u64()), (Some(1), Some(1)));
    let (_, mac) = l.b.run(netring::interface::hwaddr).unwrap().unwrap();
    let mac: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(i["mac"], mac.join(":"));
    assert_eq!(i["xdp_modes"], serde_json::json!(["native", "generic"]));
    assert_eq!(l.b.run(netring::interface::link_info).unwrap().unwrap().xdp_prog_id, 0, "the probe left nothing");

    // The listing shows every interface of the namespace, unprobed.
    let out = netring_in(&l.b, &["info"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&l.b.name) && text.contains("lo") && text.contains("veth"), "{text}");
}

#[test]
fn xdp_without_memlock_room_names_rlimit_memlock_and_cap_ipc_lock() {
    let l = veth();
    require_tool("prlimit");
    require_tool("setpriv");
    // A 64 KiB memlock limit and no CAP_IPC_LOCK: the 8 MiB UMEM cannot be pinned.
    let out = Command::new("ip")
        .args(["netns", "exec", l.b.ns.name(), "prlimit", "--memlock=65536:65536", "setpriv"])
        .args(["--inh-caps=-ipc_lock", "--bounding-set=-ipc_lock", BIN, "capture", "-i", &l.b.name])
        .args(["--backend", "xdp", "-c", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("setsockopt(XDP_UMEM_REG) of 8388608 bytes failed")
            && err.contains("RLIMIT_MEMLOCK (soft limit 65536 bytes)")
            && err.contains("CAP_IPC_LOCK"),
        "{err}"
    );
}

#[test]
fn xdp_capture_filters_in_the_xdp_program_and_cuts_to_the_snap_length() {
    let l = veth();
    let file = scratch("xdp-filtered.pcap");
    let path = file.to_str().unwrap();
    // Byte 21 is the low byte of the frame's sequence number: even frames only.
    let child = spawn_capture(
        &l,
        &["capture", "-i", &l.b.name, "--backend", "xdp", "-c", "100", "-s", "64", "--json", "-q", "-w", path]
            .into_iter()
            .chain(["-f", "ether proto 0x88b5 and ether[21] & 1 = 0"])
            .collect::<Vec<_>>(),
    );
    let tx = sender(&l);
    let g = SeqFrames::default();
    for seq in 0..250 {
        tx.send(&g.build(seq, 200)).unwrap();
    }
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    assert_eq!(
        (v["packets"].as_u64(), v["bytes"].as_u64(), v["drops"].as_u64()),
        (Some(100), Some(100 * 200), Some(0))
    );
    let recs = read_pcap(&file);
    assert_eq!(recs.len(), 100);
    for (i, r) in recs.iter().enumerate() {
        let whole = g.build(2 * i as u64, 200);
        assert_eq!((r.1, r.2), (64, 200), "record {i}: cut to the snap length in user space");
        assert_eq!(r.3, whole[..64], "record {i} is frame {}", 2 * i);
    }
    std::fs::remove_file(file).unwrap();
}

/// `netring bench --quick --json` on a few contenders: the schema of
/// docs/PERFORMANCE.md, counts that come from real traffic, and skips that
/// say why. Speed is not asserted.
#[test]
fn bench_quick_reports_json_with_every_section() {
    let _ = veth();
    require_tool("tcpdump");
    require_tool("ethtool");
    let out = Command::new(BIN)
        .args(["bench", "--quick", "--json", "--contenders", "netring,tcpdump,netring-txring,trafgen"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["settings"]["reps"], 1);
    assert!(v["seconds"].is_f64());
    let capture = v["capture"].as_array().unwrap();
    for path in ["plain", "napi"] {
        for name in ["netring", "tcpdump"] {
            let row = capture
                .iter()
                .find(|r| r["path"] == path && r["contender"] == name)
                .unwrap_or_else(|| panic!("no {name} row on the {path} path: {capture:?}"));
            assert_eq!(row["size"], 64);
            assert_eq!(row["runs"], 1, "{row}");
            assert!(row["pps"]["median"].as_i64().unwrap() > 0, "{row}");
            assert!(row["at_interface_pps"].as_i64().unwrap() > 0, "{row}");
            assert!(row["loss_ppm"].is_i64() && row["cpu_ns_per_packet"].is_i64(), "{row}");
            assert_eq!(row["generator"], "netring-xdp-tx");
            // Nothing arrives that was not sent, nobody counts more than
            // arrived (the link is private and silent), and netring, when it
            // misses frames, says so through its drop counter.
            let (pps, at_if) = (row["pps"]["median"].as_i64().unwrap(), row["at_interface_pps"].as_i64().unwrap());
            assert!(at_if <= row["offered_pps"].as_i64().unwrap(), "{row}");
            assert!(pps <= at_if, "{row}");
            if name == "netring" && row["loss_ppm"].as_i64().unwrap() > 0 {
                assert!(row["drops"].as_i64().unwrap() > 0, "unreported loss: {row}");
            }
        }
    }
    let inject = v["inject"].as_array().unwrap();
    let napi_trafgen = inject.iter().find(|r| r["path"] == "napi" && r["contender"] == "trafgen").unwrap();
    assert!(napi_trafgen["skipped"].as_str().unwrap().contains("plain path only"), "{napi_trafgen}");
    let ring = inject.iter().find(|r| r["path"] == "plain" && r["contender"] == "netring-txring").unwrap();
    assert!(ring["pps"]["median"].as_i64().unwrap() > 0, "{ring}");
    let memory = v["memory"].as_array().unwrap();
    assert_eq!(memory.len(), 2);
    for m in memory {
        // Every page of a TPACKET ring is mapped at mmap time: resident.
        assert!(m["vm_rss"].as_u64().unwrap() >= m["ring_bytes"].as_u64().unwrap(), "{m}");
    }
}

/// `--offered-mpps` holds the generator of capture runs to the rate, and
/// the NAPI path reports what each frame cost the receive core.
#[test]
fn bench_holds_the_generator_to_the_offered_rate() {
    let _ = veth();
    require_tool("ethtool");
    let out = Command::new(BIN)
        .args(["bench", "--quick", "--json", "--only", "capture", "--paths", "napi", "--offered-mpps", "0.05"])
        .args(["--contenders", "netring,netring-xdp,xdp-drop"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["settings"]["offered_pps"], 50_000);
    let capture = v["capture"].as_array().unwrap();
    assert_eq!(capture.len(), 3, "{capture:?}");
    for row in capture {
        let offered = row["offered_pps"].as_i64().unwrap();
        assert!((45_000..=55_000).contains(&offered), "held to 50 kpps: {row}");
        // Far below what any contender takes: all of it arrives and is counted.
        assert!(row["pps"]["median"].as_i64().unwrap() * 100 >= offered * 99, "{row}");
        let core = row["core_ns_per_packet"].as_i64().unwrap();
        assert!(core > 0, "{row}");
    }
}

#[test]
fn bench_rejects_bad_settings_in_one_line() {
    let _ = veth();
    let out = Command::new(BIN).args(["bench", "--reps", "0"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("reps") && err.contains("at least 1"), "{err}");
    let out = Command::new(BIN).args(["bench", "--offered-mpps", "0"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("offered-mpps") && err.contains("> 0"), "{err}");
    let out = Command::new(BIN).args(["bench", "--contenders", "tcpdumb"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tcpdumb") && err.contains("known contenders") && err.contains("netsniff-ng"), "{err}");
}
