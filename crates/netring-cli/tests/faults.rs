//! The bad-input and fault matrix of `netring` (issue 15): values far out
//! of range, signals, write errors and files that are not what they claim.
//! Every case ends with a one-line error naming the value and the limit, or
//! with a documented clean stop — never a panic (exit 101), a hang, or a
//! count that disagrees with the file. Needs root, `ip` and `setpriv`.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

mod common;
use common::{BIN, SmallDisk, finish, json_of, netring_in, scratch, veth};
use netring::RawSender;
use netring::testkit::{SeqFrames, VethLink};

/// `netring ARGS` as uid 65534 with no capabilities: a check that should
/// refuse the arguments before any socket is opened shows itself by its
/// message; were it missing, the run would stop at `socket()` (EPERM)
/// rather than reach the kernel with a huge request.
fn unprivileged(args: &[&str]) -> Output {
    let _ = veth(); // asserts root, which setpriv needs to switch users
    netring::testkit::require_tool("setpriv");
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", BIN])
        .args(args)
        .output()
        .unwrap()
}

/// The one stderr line of a failed run.
fn one_line_error(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    err.trim().to_owned()
}

#[test]
fn a_ring_larger_than_memory_is_refused_before_any_socket() {
    let t0 = Instant::now();
    let out = unprivileged(&["capture", "-i", "lo", "--block-count", "1000000", "-c", "1"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = one_line_error(&out);
    assert!(
        err.starts_with(
            "netring: invalid block_count = 1000000: a ring of 1000000 blocks x 1048576 bytes = 1048576000000 bytes"
        ),
        "{err}"
    );
    assert!(err.contains("MemAvailable") && err.contains("MemTotal"), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(5));
}

#[test]
fn fanout_beyond_the_group_limit_or_memory_is_refused_before_any_socket() {
    let out = unprivileged(&["capture", "-i", "lo", "--fanout", "100000", "-c", "1"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        one_line_error(&out),
        "netring: invalid fanout = 100000: must be 1..=256 sockets: the kernel's limit for one fanout group \
         (PACKET_FANOUT refuses the next with ENOSPC)"
    );
    // 200 rings of 4 GiB: within the group limit, beyond any memory here.
    let out = unprivileged(&["capture", "-i", "lo", "--fanout", "200", "--block-count", "4096", "-c", "1"]);
    let err = one_line_error(&out);
    assert!(
        err.starts_with("netring: invalid fanout = 200: 200 rings of 4096 blocks x 1048576 bytes = 858993459200 bytes"),
        "{err}"
    );
    assert!(err.contains("MemAvailable"), "{err}");
}

#[test]
fn huge_durations_and_factors_are_refused_naming_the_value_and_the_limit() {
    let _ = veth();
    let missing = scratch("no-such.pcap");
    let missing = missing.to_str().unwrap();
    for (args, value) in [
        (vec!["capture", "-i", "lo", "-d", "1e20"], "1e20"),
        (vec!["gen", "-i", "lo", "-d", "1e30"], "1e30"),
        (vec!["bridge", "-a", "lo", "-b", "lo", "-d", "1e30"], "1e30"),
        (vec!["stats", "-i", "lo", "--interval", "1e30"], "1e30"),
        (vec!["capture", "-i", "lo", "-G", "1e300", "-w", "/tmp/x/%s.pcap"], "1e300"),
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: a usage error, not a panic: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(value) && err.contains("1e9 s"), "{args:?}: {err}");
    }
    for (args, expected) in [
        (
            vec!["replay", "-i", "lo", missing, "--speed", "1e-30"],
            "invalid speed = 1e-30: must be a factor from 1e-6 to 1e6",
        ),
        (
            vec!["replay", "-i", "lo", missing, "--rate", "1e-30"],
            "invalid rate = 1e-30: must be a number of frames per second from 1e-3 to 1e9",
        ),
        (
            vec!["gen", "-i", "lo", "--rate", "1e-30"],
            "invalid rate = 1e-30: must be a number of frames per second from 1e-3 to 1e9",
        ),
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        assert_eq!(one_line_error(&out), format!("netring: {expected}"), "{args:?}");
    }
}

#[test]
fn replay_loop_0_of_a_file_without_records_ends_at_once() {
    let l = veth();
    let file = scratch("empty.pcap");
    netring::pcap::PcapWriter::create(&file, 65535).unwrap().into_inner().unwrap();
    let child = netring_in(&l.a, &["replay", "-i", &l.a.name, file.to_str().unwrap(), "--loop", "0", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = finish(child, Duration::from_secs(10));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(json_of(&out)["packets"], 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("a pass sent no frame (the file holds no records): not playing it again"), "{err}");
    std::fs::remove_file(file).unwrap();
}

/// Start a capture in `link.b`'s namespace; its stderr lines arrive on the
/// receiver (the first, "listening on", already read).
fn capture_with_stderr(link: &VethLink, args: &[&str]) -> (Child, Receiver<String>) {
    use std::io::{BufRead, BufReader};
    let mut child = netring_in(&link.b, args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let err = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for l in err.lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(10)).expect("a first stderr line");
    assert!(first.contains("listening on"), "{first}");
    (child, rx)
}

/// Send `n` numbered frames of `len` bytes from `link.a`.
fn send_frames(link: &VethLink, n: u64, len: usize) {
    let tx: RawSender = link.a.run(RawSender::open).unwrap().unwrap();
    let g = SeqFrames::default();
    for seq in 0..n {
        tx.send(&g.build(seq, len)).unwrap();
    }
}

fn kill(child: &Child, sig: &str) {
    assert!(Command::new("kill").args([&format!("-{sig}"), &child.id().to_string()]).status().unwrap().success());
}

/// The records of `path`, read back with netring's reader.
fn records(path: &Path) -> Vec<Vec<u8>> {
    let mut r = netring::pcap::Reader::open(path).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        out.push(rec.data.to_vec());
    }
    out
}

/// SIGUSR2, SIGALRM (and SIGTERM, as before) end a capture as SIGINT
/// does: exit 0, the summary, and every counted frame in the file. (SIGHUP
/// rotates a file being written: tests/recorder.rs; without a file it
/// stops the run, ibid.)
#[test]
fn terminating_signals_stop_cleanly_with_every_counted_frame_in_the_file() {
    let l = veth();
    for sig in ["USR2", "ALRM", "TERM"] {
        let file = scratch(&format!("sig-{sig}.pcap"));
        let path = file.to_str().unwrap();
        let (child, _err) =
            capture_with_stderr(&l, &["capture", "-i", &l.b.name, "--json", "-q", "--timeout-ms", "10", "-w", path]);
        send_frames(&l, 1000, 80);
        std::thread::sleep(Duration::from_millis(400));
        kill(&child, sig);
        let out = finish(child, Duration::from_secs(5));
        assert_eq!(out.status.code(), Some(0), "SIG{sig} is a clean stop: {out:?}");
        let v = json_of(&out);
        assert_eq!(v["packets"], 1000, "SIG{sig}");
        assert_eq!(v["bytes"], 1000 * 80, "SIG{sig}");
        let recs = records(&file);
        assert_eq!(recs.len(), 1000, "SIG{sig}: the file holds exactly the counted frames");
        let g = SeqFrames::default();
        for (i, r) in recs.iter().enumerate() {
            assert_eq!(g.verify(r), Some(i as u64), "SIG{sig}: record {i}");
        }
        std::fs::remove_file(file).unwrap();
    }
}

/// SIGUSR1 prints the counters so far on stderr and the capture goes on.
#[test]
fn sigusr1_prints_the_counters_and_the_capture_goes_on() {
    let l = veth();
    let file = scratch("usr1.pcap");
    let path = file.to_str().unwrap();
    let (child, err) =
        capture_with_stderr(&l, &["capture", "-i", &l.b.name, "--json", "-q", "--timeout-ms", "10", "-w", path]);
    send_frames(&l, 300, 100);
    std::thread::sleep(Duration::from_millis(400));
    kill(&child, "USR1");
    let line = err.recv_timeout(Duration::from_secs(5)).expect("a SIGUSR1 line");
    assert!(line.starts_with("netring capture: 300 packets (30000 bytes) so far, "), "{line}");
    assert!(child.id() > 0);
    send_frames(&l, 200, 100);
    std::thread::sleep(Duration::from_millis(400));
    kill(&child, "INT");
    let out = finish(child, Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json_of(&out)["packets"], 500, "SIGUSR1 did not end the run");
    assert_eq!(records(&file).len(), 500);
    std::fs::remove_file(file).unwrap();
}

/// `-w /dev/full`: the file header cannot be written, so the run fails at
/// once (not after its duration) naming the file.
#[test]
fn writing_to_dev_full_fails_at_once_naming_the_file() {
    let l = veth();
    for extra in [&[][..], &["-F", "pcapng"], &["--fanout", "2"]] {
        let t0 = Instant::now();
        let mut args = vec!["capture", "-i", &l.b.name, "-d", "20", "--json", "-w", "/dev/full"];
        args.extend_from_slice(extra);
        let out = netring_in(&l.b, &args).output().unwrap();
        assert!(t0.elapsed() < Duration::from_secs(5), "{extra:?}: failed at once");
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.lines().last().unwrap(),
            "netring: write /dev/full: no space left on device (os error 28)",
            "{extra:?}: {err}"
        );
    }
}

/// A file the user may not write is a permission error on that file, not a
/// missing capability: after `-Z nobody`, and for an unprivileged user.
#[test]
fn file_permission_errors_name_the_file_not_a_capability() {
    let l = veth();
    let ro = scratch("read-only.pcap");
    std::fs::write(&ro, b"").unwrap();
    std::fs::set_permissions(&ro, std::os::unix::fs::PermissionsExt::from_mode(0o444)).unwrap();
    let out = netring_in(&l.b, &["capture", "-i", &l.b.name, "-c", "1", "-Z", "nobody", "-w", ro.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(one_line_error(&out), format!("netring: create {}: permission denied (os error 13)", ro.display()));
    std::fs::remove_file(&ro).unwrap();

    let input = scratch("perm-in.pcap");
    netring::pcap::PcapWriter::create(&input, 65535).unwrap().into_inner().unwrap();
    std::fs::set_permissions(&input, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let out = unprivileged(&["filter", "-r", input.to_str().unwrap(), "-w", "/root/netring-denied.pcap", "ip"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(one_line_error(&out), "netring: create /root/netring-denied.pcap: permission denied (os error 13)");
    std::fs::remove_file(input).unwrap();
}

/// `filter -r` of a file with a corrupt record: the records before it are
/// written, and `--json` still reports them before the error.
#[test]
fn filter_of_a_corrupt_file_still_reports_and_keeps_what_it_wrote() {
    let _ = veth();
    let input = scratch("corrupt-in.pcap");
    let output = scratch("corrupt-out.pcap");
    let mut w = netring::pcap::PcapWriter::create(&input, 65535).unwrap();
    let g = SeqFrames::default();
    for seq in 0..10 {
        w.write(netring::Timestamp::new(seq, 0), 60, &g.build(seq, 60)).unwrap();
    }
    drop(w.into_inner().unwrap());
    // A record header that claims more bytes than follow.
    let mut f = std::fs::OpenOptions::new().append(true).open(&input).unwrap();
    std::io::Write::write_all(&mut f, &[0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 100, 0, 0, 0, 1, 2]).unwrap();
    drop(f);
    let out = Command::new(BIN)
        .args([
            "filter",
            "-r",
            input.to_str().unwrap(),
            "-w",
            output.to_str().unwrap(),
            "--json",
            "ether",
            "proto",
            "0x88b5",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v = json_of(&out);
    assert_eq!((v["records"].as_u64(), v["packets"].as_u64()), (Some(10), Some(10)), "{v}");
    assert!(v.get("written").is_none(), "every matched record was written: {v}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.lines().last().unwrap().contains("at byte offset 784"), "{err}");
    assert_eq!(records(&output).len(), 10);
    std::fs::remove_file(input).unwrap();
    std::fs::remove_file(output).unwrap();
}

/// `--netns`: a missing path is named, a file that is no namespace is
/// named, and entering one without privileges names CAP_SYS_ADMIN.
#[test]
fn netns_errors_name_the_path_and_cap_sys_admin() {
    let l = veth();
    let out = Command::new(BIN).args(["capture", "--netns", "./no-such-ns", "-i", "lo", "-c", "1"]).output().unwrap();
    assert_eq!(
        one_line_error(&out),
        "netring: invalid netns = ./no-such-ns: no such network namespace (./no-such-ns does not exist)"
    );
    let out = Command::new(BIN).args(["capture", "--netns", "/etc/hostname", "-i", "lo", "-c", "1"]).output().unwrap();
    assert_eq!(
        one_line_error(&out),
        "netring: invalid netns = /etc/hostname: /etc/hostname is not a network namespace (setns refused it: EINVAL)"
    );
    let out = unprivileged(&["capture", "--netns", l.b.ns.name(), "-i", &l.b.name, "-c", "1"]);
    let err = one_line_error(&out);
    assert!(err.contains("setns(CLONE_NEWNET): permission denied: CAP_SYS_ADMIN is required"), "{err}");
}

/// A pcap file header with `version` and `linktype`, then one 60-byte record.
fn pcap_with(version: (u16, u16), linktype: u32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(0xa1b2_c3d4u32.to_ne_bytes());
    b.extend(version.0.to_ne_bytes());
    b.extend(version.1.to_ne_bytes());
    b.extend([0; 8]);
    b.extend(65535u32.to_ne_bytes());
    b.extend(linktype.to_ne_bytes());
    b.extend([0; 8]);
    b.extend(60u32.to_ne_bytes());
    b.extend(60u32.to_ne_bytes());
    b.extend([0xab; 60]);
    b
}

/// Files netring cannot use say why: a link type netring does not handle
/// is netring's limit (not the kernel's), an unknown pcap version is named.
#[test]
fn unusable_files_say_what_netring_does_not_take() {
    let l = veth();
    let odd = scratch("linktype-9999.pcap");
    std::fs::write(&odd, pcap_with((2, 4), 9999)).unwrap();
    let p = odd.to_str().unwrap();
    let out = Command::new(BIN).args(["filter", "-r", p, "ip"]).output().unwrap();
    assert_eq!(
        one_line_error(&out),
        format!("netring: invalid file = {p}: has link type 9999: netring filters only Ethernet (link type 1) files")
    );
    let out = netring_in(&l.a, &["replay", "-i", &l.a.name, p]).output().unwrap();
    assert_eq!(
        one_line_error(&out),
        format!("netring: invalid file = {p}: has link type 9999: netring replays only Ethernet (link type 1) files")
    );
    let old = scratch("version-0.pcap");
    std::fs::write(&old, pcap_with((0, 0), 1)).unwrap();
    let p = old.to_str().unwrap();
    let out = Command::new(BIN).args(["filter", "-r", p, "ip"]).output().unwrap();
    assert_eq!(
        one_line_error(&out),
        format!("netring: {p}: pcap version 0.0: only version 2 (2.4, as libpcap writes) is known at byte offset 4")
    );
    std::fs::remove_file(odd).unwrap();
    std::fs::remove_file(old).unwrap();
}

/// `-G 1 -w fixed.pcap` would overwrite its file every second: refused,
/// with the way out.
#[test]
fn time_rotation_into_one_fixed_name_is_refused() {
    let l = veth();
    let fixed = scratch("fixed.pcap");
    let out =
        netring_in(&l.b, &["capture", "-i", &l.b.name, "-G", "1", "-w", fixed.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = one_line_error(&out);
    assert!(err.contains("with -G 1 every new file would get the same name and overwrite the last one"), "{err}");
    assert!(!fixed.exists(), "refused before any file");
}

/// A disk that fills up mid-capture: the run ends at once naming the file,
/// the file ends with a whole record, and `--json` says how many records it
/// holds (`written`) beside the packets counted — for one reader, and for a
/// fanout group writing one file per thread (`--split`), where the thread
/// that hit the error stops the others.
#[test]
fn a_full_disk_ends_the_capture_with_a_valid_file_and_true_counts() {
    let l = veth();
    for split in [false, true] {
        let disk = SmallDisk::mount(&format!("small-disk-{split}"));
        let file = disk.0.join("cap.pcap");
        let path = file.to_str().unwrap();
        let mut args = vec!["capture", "-i", &l.b.name, "--json", "-q", "--timeout-ms", "10", "-w", path];
        if split {
            args.extend(["--fanout", "2", "--split"]);
        }
        let (child, err_lines) = capture_with_stderr(&l, &args);
        let t0 = Instant::now();
        // 3 MB of frames for a 1 MiB disk, in bursts the ring holds.
        let tx: RawSender = l.a.run(RawSender::open).unwrap().unwrap();
        let g = SeqFrames::default();
        for seq in 0..3000u64 {
            if tx.send(&g.build(seq, 1000)).is_err() {
                break;
            }
            if seq % 500 == 499 {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let out = finish(child, Duration::from_secs(10));
        assert!(t0.elapsed() < Duration::from_secs(5), "split {split}: the write error ended the run");
        assert_eq!(out.status.code(), Some(1), "split {split}: {out:?}");
        let files: Vec<std::path::PathBuf> =
            if split { (0..2).map(|k| disk.0.join(format!("cap.{k}.pcap"))).collect() } else { vec![file.clone()] };
        let err: Vec<String> = std::iter::from_fn(|| err_lines.recv_timeout(Duration::from_secs(5)).ok()).collect();
        let last = err.last().cloned().unwrap_or_default();
        assert!(
            files
                .iter()
                .any(|f| last == format!("netring: write {}: no space left on device (os error 28)", f.display())),
            "split {split}: {err:?}"
        );
        let v = json_of(&out);
        let mut total = 0;
        for f in &files {
            let recs = records(f);
            // Hash fanout keeps this one flow on one thread: its file is in order.
            for (i, r) in recs.iter().enumerate() {
                assert_eq!(g.verify(r), Some(i as u64), "split {split}: {}: record {i}", f.display());
            }
            let len = std::fs::metadata(f).unwrap().len();
            assert_eq!(len, 24 + 1016 * recs.len() as u64, "split {split}: {}: no partial record", f.display());
            total += recs.len() as u64;
        }
        assert!(total > 500, "split {split}: {total} records");
        assert_eq!(v["written"].as_u64(), Some(total), "split {split}: {v}");
        assert!(v["packets"].as_u64().unwrap() > total, "split {split}: {v}");
    }
}

/// The other long-running verbs take the same signals: `gen` prints its
/// counters on SIGUSR1 and goes on, and ends cleanly on SIGHUP.
#[test]
fn gen_prints_counters_on_sigusr1_and_stops_cleanly_on_sighup() {
    use std::io::{BufRead, BufReader};
    let l = veth();
    let mut child = netring_in(&l.a, &["gen", "-i", &l.a.name, "--rate", "2000", "-q", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for l in err.lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    kill(&child, "USR1");
    let line = rx.recv_timeout(Duration::from_secs(5)).expect("a SIGUSR1 line");
    assert!(line.starts_with("netring gen: ") && line.contains(" packets (") && line.ends_with(" s"), "{line}");
    let n: u64 = line["netring gen: ".len()..].split(' ').next().unwrap().parse().unwrap();
    assert!(n > 0, "{line}");
    std::thread::sleep(Duration::from_millis(200));
    kill(&child, "HUP");
    let out = finish(child, Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(0), "SIGHUP is a clean stop: {out:?}");
    assert!(json_of(&out)["packets"].as_u64().unwrap() >= n);
}

/// `capture --help` gives the ring defaults the library uses and what the
/// signals do.
#[test]
fn capture_help_states_the_library_ring_defaults() {
    use netring::afpacket::{DEFAULT_BLOCK_COUNT, DEFAULT_BLOCK_SIZE, DEFAULT_RETIRE_TIMEOUT};
    let out = Command::new(BIN).args(["capture", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains(&format!("Number of ring blocks (default {DEFAULT_BLOCK_COUNT},")), "{help}");
    assert_eq!(DEFAULT_BLOCK_SIZE, 1 << 20);
    assert!(help.contains("default 1 MiB"), "{help}");
    let ms = DEFAULT_RETIRE_TIMEOUT.as_millis();
    assert!(help.contains(&format!("Block retire timeout in milliseconds (default {ms},")), "{help}");
    assert!(
        help.contains("SIGHUP rotates the file when writing one (-w)")
            && help.contains("without -w, SIGHUP stops the capture like SIGINT")
            && help.contains("SIGUSR1 prints the counts"),
        "{help}"
    );
}

/// A file past `RLIMIT_FSIZE`: SIGXFSZ, whose default would kill the run
/// and leave the file cut mid-record, is caught; the write fails with
/// EFBIG and ends the run as a write error, the file whole to its last
/// record.
#[test]
fn a_file_size_limit_is_a_write_error_not_a_kill() {
    let l = veth();
    netring::testkit::require_tool("prlimit");
    let file = scratch("fsize.pcap");
    let path = file.to_str().unwrap();
    let capture = ["capture", "-i", &l.b.name, "--json", "-q", "--timeout-ms", "10", "-w", path];
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", l.b.ns.name(), "prlimit", "--fsize=200000", BIN]).args(capture);
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let err = std::io::BufReader::new(child.stderr.take().unwrap());
    let (tx, err_lines) = channel();
    std::thread::spawn(move || {
        for l in std::io::BufRead::lines(err).map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let first = err_lines.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(first.contains("listening on"), "{first}");
    let t0 = Instant::now();
    send_frames(&l, 1500, 1000);
    let out = finish(child, Duration::from_secs(10));
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(1), "not killed by SIGXFSZ: {out:?}");
    let err: Vec<String> = std::iter::from_fn(|| err_lines.recv_timeout(Duration::from_secs(5)).ok()).collect();
    assert_eq!(
        err.last().map(String::as_str),
        Some(format!("netring: write {path}: file too large (os error 27)").as_str()),
        "{err:?}"
    );
    let recs = records(&file);
    assert_eq!(recs.len(), (200_000 - 24) / 1016);
    assert_eq!(json_of(&out)["written"].as_u64(), Some(recs.len() as u64));
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 24 + 1016 * recs.len() as u64);
    std::fs::remove_file(file).unwrap();
}
