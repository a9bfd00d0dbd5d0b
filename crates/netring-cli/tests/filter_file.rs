//! `netring filter -r FILE [-w OUT] EXPR` against `tcpdump -r FILE -w OUT
//! EXPR` on the same pcap and pcapng files: the same records, byte for byte,
//! in the input's format. No privileges; needs `tcpdump` (`.ci/run`
//! installs it) and fails naming it otherwise.

mod common;

use std::path::Path;
use std::process::Command;

use common::{BIN, scratch};
use netring::Timestamp;
use netring::pcap::{FileFormat, PcapNgWriter, PcapWriter, Reader};
use netring::testkit::require_tool;

/// Deterministic frames of many kinds: IPv4 TCP/UDP/ICMP (with options and
/// fragments), IPv6, ARP, 802.1Q, runts, and records cut short.
fn frames() -> Vec<(Vec<u8>, u32)> {
    let mut out = Vec::new();
    let mut x: u32 = 0x1234_5678;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    for i in 0..800u32 {
        let r = next();
        let mut f = vec![2, 0, 0, 0, 0, (r % 3) as u8, 2, 0, 0, 0, 0, 1];
        if r & 0x100 != 0 {
            f.extend([0x81, 0x00, 0, (r >> 9) as u8 % 8]);
        }
        match i % 5 {
            0..=2 => {
                let proto = [6u8, 17, 1][(r as usize >> 12) % 3];
                let ihl = 5 + (r >> 14) % 3;
                f.extend([0x08, 0x00, 0x40 | ihl as u8, 0, 0, 60, 0, 1]);
                f.extend(if r & 0x800 != 0 { [0x20, 0x01] } else { [0, 0] });
                f.extend([64, proto, 0, 0, 198, 18, 0, (r >> 16) as u8 % 4, 198, 18, 0, 2]);
                f.extend(std::iter::repeat_n(1u8, (ihl as usize - 5) * 4));
                let ports = [80u16, 443, 53, 22];
                f.extend(ports[(r >> 20) as usize % 4].to_be_bytes());
                f.extend(ports[(r >> 22) as usize % 4].to_be_bytes());
                f.extend([0, 0, 0, 1, 0, 0, 0, 0, 0x50, [2u8, 0x12, 0x18][(r >> 24) as usize % 3], 0xff, 0xff]);
            }
            3 => {
                f.extend([0x86, 0xdd, 0x60, 0, 0, 0, 0, 20, [6u8, 17, 58][(r >> 12) as usize % 3], 64]);
                f.extend([0x20, 0x01, 0, 2].iter().chain(&[0; 11]).chain(&[(r >> 16) as u8 % 3]));
                f.extend([0x20, 0x01, 0, 2].iter().chain(&[0; 11]).chain(&[1]));
                f.extend(80u16.to_be_bytes());
                f.extend(((r >> 20) as u16 % 100).to_be_bytes());
            }
            _ => f.extend([0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]),
        }
        f.resize(f.len().max(60), 0xab);
        let wire = f.len() as u32;
        if r % 7 == 0 {
            f.truncate((r >> 8) as usize % wire as usize);
        }
        out.push((f, wire));
    }
    out
}

fn write(path: &Path, format: FileFormat) {
    let mut t = Timestamp::from_nanos(1_700_000_000_000_000_000);
    match format {
        FileFormat::Pcap => {
            let mut w = PcapWriter::create(path, 262_144).unwrap();
            for (f, wire) in frames() {
                t = Timestamp::from_nanos(t.as_nanos() + 1000);
                w.write(t, wire, &f).unwrap();
            }
            w.flush().unwrap();
        }
        FileFormat::PcapNg => {
            let mut w = PcapNgWriter::create(path, 262_144, Some("in")).unwrap();
            for (f, wire) in frames() {
                t = Timestamp::from_nanos(t.as_nanos() + 1000);
                w.write(t, wire, &f).unwrap();
            }
            w.finish(None).unwrap();
        }
    }
}

/// (bytes, length on the wire) of every record, and the file's format.
fn records(path: &Path) -> (Vec<(Vec<u8>, u32)>, FileFormat) {
    let mut r = Reader::open(path).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        out.push((rec.data.to_vec(), rec.original_len));
    }
    (out, r.format())
}

#[test]
fn filtering_a_file_keeps_what_tcpdump_keeps() {
    require_tool("tcpdump");
    let mut compared = 0;
    for format in [FileFormat::Pcap, FileFormat::PcapNg] {
        let input = scratch(&format!("filter-in.{format:?}"));
        write(&input, format);
        for e in [
            "tcp port 80",
            "vlan and ip",
            "ip[0] & 0xf > 5",
            "tcp[tcpflags] & tcp-syn != 0",
            "ip6 and not udp",
            "portrange 20-60",
            "arp or icmp",
            "not ip[6:2] & 0x1fff = 0",
            "greater 61",
        ] {
            let (ours, theirs) = (scratch("filter-ours"), scratch("filter-theirs"));
            let out = Command::new(BIN)
                .arg("filter")
                .arg("-r")
                .arg(&input)
                .arg("-w")
                .arg(&ours)
                .arg("--json")
                .arg(e)
                .output()
                .unwrap();
            assert!(out.status.success(), "{e}: {}", String::from_utf8_lossy(&out.stderr));
            let v = common::json_of(&out);
            let st = Command::new("tcpdump").arg("-r").arg(&input).arg("-w").arg(&theirs).arg(e).output().unwrap();
            assert!(st.status.success(), "tcpdump {e}: {}", String::from_utf8_lossy(&st.stderr));
            let ((a, fa), (b, _)) = (records(&ours), records(&theirs));
            assert_eq!(fa, format, "{e}: the output keeps the input's format");
            assert_eq!(a.len(), b.len(), "{e}: we keep {}, tcpdump {}", a.len(), b.len());
            assert_eq!(a, b, "{e}: the records differ");
            assert_eq!(v["records"], 800);
            assert_eq!(v["packets"], a.len());
            assert!(!a.is_empty() && a.len() < 800, "{e}: {} records match: the test proves little", a.len());
            compared += 1;
            std::fs::remove_file(ours).unwrap();
            std::fs::remove_file(theirs).unwrap();
        }
        std::fs::remove_file(input).unwrap();
    }
    assert_eq!(compared, 18);
}

#[test]
fn filtering_a_file_reports_bad_expressions_and_files() {
    let out = Command::new(BIN).args(["filter", "-r", "/nonexistent.pcap", "ip"]).output().unwrap();
    assert!(!out.status.success());
    let out = Command::new(BIN).args(["filter", "-r", "/dev/null", "ip and"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("column 7"), "{err}");
}

/// Issue 15, defect 7: 10,000 nested parentheses (and 100,000 `not`s) once
/// overflowed the compiler's stack (abort, exit 134). Now: exit 1 and one
/// line naming the column and the limit, for `filter` and `filter -r`.
#[test]
fn deep_expressions_get_a_one_line_error_not_an_abort() {
    let parens = format!("{}ip{}", "(".repeat(10_000), ")".repeat(10_000));
    let nots: Vec<&str> = std::iter::repeat_n("not", 100_000).chain(["ip"]).collect();
    let cases: [Vec<&str>; 3] = [
        vec!["filter", &parens],
        vec!["filter", "-r", "/dev/null", &parens],
        ["filter"].into_iter().chain(nots.iter().copied()).collect(),
    ];
    for args in cases {
        let out = Command::new(BIN).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}", &err[..err.len().min(300)]);
        assert_eq!(err.trim_end().lines().count(), 1, "{}", &err[..err.len().min(300)]);
        assert!(
            err.contains("column ") && err.contains("more than 200 levels"),
            "{}",
            &err[err.len().saturating_sub(300)..]
        );
    }
    // A 5,000-port alternation: refused quickly, naming the kernel's limit.
    let ports: Vec<String> = (1..=5000).map(|p| format!("port {p}")).collect();
    let e = ports.join(" or ");
    let t = std::time::Instant::now();
    let out = Command::new(BIN).args(["filter", &e]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", &err[err.len().saturating_sub(300)..]);
    assert!(err.contains("4096"), "{}", &err[err.len().saturating_sub(300)..]);
    assert!(t.elapsed() < std::time::Duration::from_secs(20), "{:?}", t.elapsed());
}

/// A reader that stops early (`netring filter … | head -1`) ends the listing
/// quietly: no panic on the broken pipe, exit 0. The listing (~100 KiB) is
/// larger than a pipe holds, so the write meets the closed pipe.
#[test]
fn a_listing_into_a_closed_pipe_ends_quietly() {
    use std::io::Read as _;
    let expr = (1..=200).map(|p| format!("port {p}")).collect::<Vec<_>>().join(" or ");
    let mut child = Command::new(BIN)
        .args(["filter", "-dd", &expr])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The read end is closed here, with most of the listing unwritten.
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(first[0], b'{', "the listing started");
    assert!(!err.contains("panicked"), "no panic: {err}");
    assert!(out.status.success(), "exit {:?}: {err}", out.status);
}
