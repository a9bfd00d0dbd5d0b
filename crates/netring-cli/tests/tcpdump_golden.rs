//! Golden test: `netring capture -r FILE` prints what `tcpdump -n -r FILE`
//! prints, line for line, over a corpus with every protocol netring
//! decodes (ARP, IPv4, IPv6, ICMP, ICMPv6 echo / unreachable / neighbour
//! and router discovery, a whole TCP session, UDP, DNS, a VLAN tag, an
//! unknown IP protocol and EtherType, a snap-length cut), in pcap and
//! pcapng, under tcpdump's printing flags (`-e`, `-v`…, `-t`…, `-x`…,
//! `-A`, `-S`), filters and `-c` — except for what tcpdump decodes
//! further, listed in [`FURTHER`]. Both run with `TZ=UTC`. Needs `tcpdump`
//! (not root).

#[path = "golden/corpus.rs"]
mod corpus;

use std::path::{Path, PathBuf};
use std::process::Command;

use netring::pcap::FileFormat;

const BIN: &str = env!("CARGO_BIN_EXE_netring");

/// What tcpdump decodes further than netring: each `(tcpdump's text,
/// netring's)` is replaced in tcpdump's output before comparing. Every
/// entry must be met by at least one variant, so the list stays true.
/// The `-v` forms come first: they contain the shorter ones.
const FURTHER: &[(&str, &str)] = &[
    // -v: an HTTP request to port 80 is shown header by header.
    (": HTTP, length: 27\n\tGET / HTTP/1.1\n\tHost: a\n\t\n", "\n"),
    // -v: NTP on port 123, field by field (netring: plain UDP).
    (
        "NTPv4, Client, length 48\n\
         \tLeap indicator:  (0), Stratum 0 (unspecified), poll 0 (1s), precision 0\n\
         \tRoot Delay: 0.000000, Root dispersion: 0.000000, Reference-ID: (unspec)\n\
         \t  Reference Timestamp:  0.000000000\n\
         \t  Originator Timestamp: 0.000000000\n\
         \t  Receive Timestamp:    0.000000000\n\
         \t  Transmit Timestamp:   0.000000000\n\
         \t    Originator - Receive Timestamp:  0.000000000\n\
         \t    Originator - Transmit Timestamp: 0.000000000\n",
        "UDP, length 48\n",
    ),
    // The request line of an HTTP request to port 80.
    (": HTTP: GET / HTTP/1.1\n", "\n"),
    // NTP on port 123 (netring: plain UDP).
    ("NTPv4, Client, length 48\n", "UDP, length 48\n"),
];

/// The printing flags compared (each also with the file in pcapng).
const VARIANTS: &[&[&str]] = &[
    &[],
    &["-e"],
    &["-v"],
    &["-e", "-v"],
    &["-vv"],
    &["-vvv"],
    &["-t"],
    &["-tt"],
    &["-ttt"],
    &["-tttt"],
    &["-ttttt"],
    &["-tt", "--time-stamp-precision", "nano"],
    &["-ttt", "--time-stamp-precision", "nano"],
    &["-tttt", "--time-stamp-precision", "nano"],
    &["-ttttt", "--time-stamp-precision", "nano"],
    &["-x"],
    &["-xx"],
    &["-X"],
    &["-XX"],
    &["-A"],
    &["-S"],
    &["-e", "-S", "-v", "-XX"],
    &["-c", "7"],
    &["-e", "tcp"],
    &["-v", "udp", "port", "53"],
    &["-c", "3", "icmp", "or", "icmp6"],
    &["-e", "vlan"],
    &["-S", "ip6", "and", "tcp"],
    // -n is netring's only way; accepted as tcpdump users type it.
    &["-n", "-e"],
    &["-nn", "-x"],
    // Options after the expression words, as tcpdump's getopt allows.
    &["udp", "-e", "-c", "2"],
];

fn corpus_file(name: &str, format: FileFormat) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("golden");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    corpus::write(&p, format);
    p
}

fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.env("TZ", "UTC").output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn tcpdump(file: &Path, flags: &[&str]) -> String {
    let tcpdump = ["/usr/bin/tcpdump", "/usr/sbin/tcpdump"].into_iter().find(|p| Path::new(p).exists());
    let tcpdump = tcpdump.expect("this test needs tcpdump (apt-get install tcpdump), the oracle it compares with");
    stdout_of(Command::new(tcpdump).arg("-n").arg("-r").arg(file).args(flags))
}

fn netring(file: &Path, flags: &[&str]) -> String {
    stdout_of(Command::new(BIN).args(["capture", "-r"]).arg(file).args(flags))
}

/// tcpdump's text with [`FURTHER`] applied; marks the entries met.
fn reduced(mut text: String, met: &mut [bool]) -> String {
    for (k, (theirs, ours)) in FURTHER.iter().enumerate() {
        if text.contains(theirs) {
            met[k] = true;
            text = text.replace(theirs, ours);
        }
    }
    text
}

fn compare(file: &Path, flags: &[&str], met: &mut [bool]) {
    let want = reduced(tcpdump(file, flags), met);
    let got = netring(file, flags);
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    for (i, (a, b)) in w.iter().zip(&g).enumerate() {
        assert_eq!(a, b, "{} {flags:?}: line {} differs\ntcpdump: {a:?}\nnetring: {b:?}", file.display(), i + 1);
    }
    assert_eq!(
        w.len(),
        g.len(),
        "{} {flags:?}: tcpdump printed {} lines, netring {}",
        file.display(),
        w.len(),
        g.len()
    );
    assert!(!g.is_empty(), "{flags:?}: nothing printed");
}

#[test]
fn lines_match_tcpdump_for_every_protocol_and_flag() {
    let mut met = vec![false; FURTHER.len()];
    for (name, format) in [("corpus.pcap", FileFormat::Pcap), ("corpus.pcapng", FileFormat::PcapNg)] {
        let file = corpus_file(name, format);
        for flags in VARIANTS {
            compare(&file, flags, &mut met);
        }
    }
    let unused: Vec<_> = FURTHER.iter().zip(&met).filter(|(_, m)| !**m).map(|(f, _)| f.0).collect();
    assert!(unused.is_empty(), "FURTHER entries no variant needs any more: {unused:?}");
}

/// Every snap length from inside the IPv4 header to past the longest
/// header: each protocol shows as far as it was captured and marks the
/// cut (`[|tcp]`, `[|domain]`, …) where tcpdump does, and the hex dump
/// starts where tcpdump's does (the frame's start after some cuts). Not
/// compared here: `-A` of a cut record (tcpdump leaves out its last
/// byte after some cuts).
#[test]
fn cut_records_print_as_far_as_they_go() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("golden");
    std::fs::create_dir_all(&dir).unwrap();
    let mut met = vec![false; FURTHER.len()];
    let files: Vec<PathBuf> = (30..=100)
        .chain([120, 140, 200])
        .map(|snaplen| {
            let file = dir.join(format!("cut-{snaplen}.pcap"));
            corpus::write_cut(&file, FileFormat::Pcap, snaplen);
            file
        })
        .collect();
    for file in &files {
        for flags in [&[][..], &["-e", "-S"], &["-x"], &["-X"], &["-xx"], &["-e", "-v"], &["-vvv"]] {
            compare(file, flags, &mut met);
        }
    }
    assert!(met.iter().all(|m| !m), "no exception is needed when the frames decoded further are left out");
}

#[test]
fn the_default_lines_need_no_exception_but_the_listed_ones() {
    // Beyond the golden comparison: the default lines of the protocols
    // netring decodes are exact, byte for byte, with nothing replaced.
    let file = corpus_file("exact.pcap", FileFormat::Pcap);
    let theirs = tcpdump(&file, &[]);
    let ours = netring(&file, &[]);
    let differing: Vec<(&str, &str)> = theirs.lines().zip(ours.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(differing.len(), 2, "{differing:#?}");
    assert!(differing[0].0.ends_with(": HTTP: GET / HTTP/1.1") && differing[1].0.contains("NTPv4"), "{differing:#?}");
}

#[test]
fn matching_records_are_written_with_w() {
    let file = corpus_file("for-w.pcap", FileFormat::Pcap);
    let out = file.with_file_name("matched.pcap");
    let _ = std::fs::remove_file(&out);
    let status = Command::new(BIN)
        .args(["capture", "-r"])
        .arg(&file)
        .arg("-w")
        .arg(&out)
        .args(["-c", "4", "udp"])
        .status()
        .unwrap();
    assert!(status.success());
    // The file holds exactly the first four UDP records, as tcpdump selects them.
    assert_eq!(tcpdump(&out, &["-tt"]), tcpdump(&file, &["-tt", "-c", "4", "udp"]));
    assert_eq!(tcpdump(&out, &["-tt"]).lines().count(), 4);
}

#[test]
fn json_puts_one_object_on_stdout_and_no_lines() {
    let file = corpus_file("for-json.pcap", FileFormat::Pcap);
    let out = stdout_of(Command::new(BIN).args(["capture", "--json", "-q", "-r"]).arg(&file).arg("arp"));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(out.lines().count(), 1, "{out}");
    assert_eq!(v["packets"], 2);
    assert_eq!(v["bytes"], 60 + 42);
    assert_eq!(v["read"], corpus::frames().len() as u64);
}

#[test]
fn r_dash_reads_standard_input() {
    use std::process::Stdio;
    let file = corpus_file("for-stdin.pcapng", FileFormat::PcapNg);
    let out = Command::new(BIN)
        .args(["capture", "-r", "-", "-e", "ip6"])
        .env("TZ", "UTC")
        .stdin(Stdio::from(std::fs::File::open(&file).unwrap()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got = String::from_utf8(out.stdout).unwrap();
    assert_eq!(got, tcpdump(&file, &["-e", "ip6"]));
    assert!(got.lines().count() >= 10, "{got}");
}

#[test]
fn options_of_live_captures_are_refused_with_r() {
    let file = corpus_file("for-refusal.pcap", FileFormat::Pcap);
    for (opt, extra) in [
        ("-Q", &["-Q", "in"][..]),
        ("--fanout", &["--fanout", "2"]),
        ("--promisc", &["--promisc"]),
        ("--max-total", &["-w", "/dev/null", "-C", "1", "--max-total", "5m"]),
        ("-i", &["-i", "lo"]),
    ] {
        let out = Command::new(BIN).args(["capture", "-r"]).arg(&file).args(extra).output().unwrap();
        assert!(!out.status.success(), "{opt} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(opt), "{opt}: {err}");
        assert!(out.stdout.is_empty(), "{opt}: nothing printed");
    }
}
